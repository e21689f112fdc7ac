package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/carebridge/carebridge/internal/auth"
	"github.com/carebridge/carebridge/internal/config"
	"github.com/carebridge/carebridge/internal/metrics"
)

// Callers: the named API keys (CAREBRIDGE_API_KEYS, stored as their
// SHA-256) and the deprecated shared tokens, checked on every /api/ route.

// credential is one key the API accepts, as its SHA-256, and who presents it.
type credential struct {
	sha256 [sha256.Size]byte
	caller caller
}

// caller is who made a request: the name of the key it presented (never the
// key), or a person's subject at the provider; "" when the API is open.
type caller struct {
	name   string
	person bool // a person's access token, not a key
}

// idScope scopes the caller's Idempotency-Keys (workflows.SendWorkflowID):
// a named caller's keys are its own; the shared tokens' caller and an open
// API's keep the key alone, the ids of before callers had names.
func (c caller) idScope() string {
	switch {
	case c.name == config.SharedTokenCaller:
		return ""
	case c.person:
		return "person:" + c.name // no key's name holds ':', so no key shares a person's ids
	}
	return c.name
}

type callerContextKey struct{}

// callerOf is who made r: the zero caller when the API is open.
func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerContextKey{}).(caller)
	return c
}

// credentials are the named keys, then the shared tokens, hashed.
func (d Deps) credentials() []credential {
	var out []credential
	for _, k := range d.APIKeys {
		out = append(out, credential{sha256: k.SHA256, caller: caller{name: k.Caller}})
	}
	for _, t := range d.APITokens {
		out = append(out, credential{sha256: sha256.Sum256([]byte(t)), caller: caller{name: config.SharedTokenCaller}})
	}
	if len(d.APITokens) > 0 && d.Log != nil {
		d.Log.Warn("CAREBRIDGE_API_TOKENS is deprecated: its tokens are shared and name no caller; give each caller its own key in CAREBRIDGE_API_KEYS",
			slog.String("caller", config.SharedTokenCaller))
	}
	return out
}

// authenticate finds the caller whose key is authorization's bearer token:
// its SHA-256 is compared with every credential's, in constant time.
func authenticate(creds []credential, authorization string) (caller, bool) {
	scheme, key, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Bearer") || key == "" {
		return caller{}, false
	}
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i, c := range creds {
		found = subtle.ConstantTimeSelect(subtle.ConstantTimeCompare(sum[:], c.sha256[:]), i, found)
	}
	if found < 0 {
		return caller{}, false
	}
	return creds[found].caller, true
}

// requireCaller guards every /api/ route when keys, tokens or a provider
// are configured; the webhooks keep their partners' own auth. A bearer is
// first a named key (a machine: every route), else a person's access token
// from the provider (People), whose permissions pick the routes: reading
// (GET) needs <namespace>:read, anything else <namespace>:write, as
// Temporal's own authorizer rules. The request then carries its caller
// (callerOf), and its line in the log (internal/metrics) names the caller,
// never the key or token.
func requireCaller(creds []credential, people *auth.Verifier, namespace string, next http.Handler) http.Handler {
	if len(creds) == 0 && people == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		who, ok := authenticate(creds, r.Header.Get("Authorization"))
		if !ok && people != nil {
			need := auth.RoleWrite
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				need = auth.RoleRead
			}
			p, refusal := people.Check(r, namespace, need)
			if refusal != nil {
				refusal.Write(w)
				return
			}
			who, ok = caller{name: p.Subject, person: true}, true
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge"`)
			writeError(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "a bearer token is required"})
			return
		}
		metrics.Annotate(r.Context(), slog.String("caller", who.name))
		inner := r.WithContext(context.WithValue(r.Context(), callerContextKey{}, who))
		next.ServeHTTP(w, inner)
		r.Pattern = inner.Pattern // the mux matched the copy; the request's own log line names the route
	})
}
