package auth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	key := newRSAKey(t, "k1")
	p := newTestProvider(t, key)
	v := p.verifier(t)
	var reached Principal
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal, refusal := v.Check(r, "default", RoleWrite)
		if refusal != nil {
			refusal.Write(w)
			return
		}
		reached = principal
		w.WriteHeader(http.StatusNoContent)
	})
	writer := key.sign(t, p.claims(map[string]any{"sub": "ops-1", "permissions": []string{"default:write"}}))
	reader := key.sign(t, p.claims(nil))
	expired := key.sign(t, p.claims(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}))

	for _, tc := range []struct {
		name          string
		authorization string
		status        int
		code, message string
		challenge     string
	}{
		{"writer", "Bearer " + writer, http.StatusNoContent, "", "", ""},
		{"no token", "", http.StatusUnauthorized, "unauthorized", "a bearer token is required", `Bearer realm="carebridge"`},
		{"another scheme", "Basic b3BzOnB3", http.StatusUnauthorized, "unauthorized", "a bearer token is required", `Bearer realm="carebridge"`},
		{"expired", "Bearer " + expired, http.StatusUnauthorized, "unauthorized", "token expired",
			`Bearer realm="carebridge", error="invalid_token", error_description="token expired"`},
		{"reader", "Bearer " + reader, http.StatusForbidden, "forbidden", `this needs the default:write permission`,
			`Bearer realm="carebridge", error="insufficient_scope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reached = Principal{}
			r := httptest.NewRequest("POST", "/api/cases", nil)
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if tc.code == "" {
				if reached.Subject != "ops-1" {
					t.Errorf("next got Principal %+v, want ops-1's", reached)
				}
				return
			}
			assertRefusal(t, w, tc.code, tc.message)
			_, token, _ := strings.Cut(tc.authorization, " ")
			assertNoTokenIn(t, token, w.Body.String())
			assertNoTokenIn(t, token, w.Header().Get("WWW-Authenticate"))
		})
	}
}

// TestCheckProviderDown: a token that cannot be checked is the provider's
// failure, 503, not the caller's 401.
func TestCheckProviderDown(t *testing.T) {
	key := newRSAKey(t, "k1")
	p := newTestProvider(t, key)
	p.set(func(p *testProvider) { p.discoveryDown = true })
	v := p.verifier(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, refusal := v.Check(r, "default", RoleRead); refusal != nil {
			refusal.Write(w)
		}
	})
	token := key.sign(t, p.claims(nil))
	r := httptest.NewRequest("POST", "/default/decode", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503; body %s", w.Code, w.Body)
	}
	assertRefusal(t, w, "unavailable", "the token could not be checked: the identity provider could not be reached; retry shortly")
	assertNoTokenIn(t, token, w.Body.String())
}

// assertRefusal checks the API's error shape, and nothing else, in w.
func assertRefusal(t *testing.T, w *httptest.ResponseRecorder, code, message string) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(w.Body.String()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("body %q: more after the error object", w.Body)
	}
	if body.Error.Code != code || body.Error.Message != message {
		t.Errorf("error %+v, want code %q, message %q", body.Error, code, message)
	}
}
