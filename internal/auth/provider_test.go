package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testAudience is the audience the test verifiers want.
const testAudience = "carebridge-api"

// testProvider is an OpenID Connect provider as far as verification sees
// one: a discovery document and a JWKS, over TLS, from keys the test holds.
type testProvider struct {
	srv *httptest.Server

	mu            sync.Mutex
	keys          []signingKey // published in the JWKS
	discoveryDown bool         // discovery answers 503
	jwksDown      bool         // the JWKS answers 500
	jwksFetches   int
	discoveries   int // discovery documents served
}

func newTestProvider(t *testing.T, keys ...signingKey) *testProvider {
	t.Helper()
	p := &testProvider{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.discoveryDown
		p.discoveries++
		p.mu.Unlock()
		if down {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, map[string]any{
			"issuer":                                p.srv.URL,
			"jwks_uri":                              p.srv.URL + "/jwks",
			"token_endpoint":                        p.srv.URL + "/token",
			"authorization_endpoint":                p.srv.URL + "/auth",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.jwksFetches++
		if p.jwksDown {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		var set jose.JSONWebKeySet
		for _, k := range p.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.key.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
		}
		writeJSON(w, set)
	})
	p.srv = httptest.NewTLSServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// publish replaces the JWKS's keys (a rotation).
func (p *testProvider) publish(keys ...signingKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = keys
}

// fetches is how often the discovery document and the JWKS were asked for.
func (p *testProvider) fetches() (discoveries, jwks int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.discoveries, p.jwksFetches
}

func (p *testProvider) set(f func(p *testProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// verifier is a Verifier of p's tokens for testAudience, trusting p's TLS
// certificate through Config.HTTPClient.
func (p *testProvider) verifier(t *testing.T) *Verifier {
	t.Helper()
	v, err := NewVerifier(context.Background(), Config{Issuer: p.srv.URL, Audience: testAudience, HTTPClient: p.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// claims are those of a valid token of p's, with changes (a nil value
// removes the claim).
func (p *testProvider) claims(changes map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":         p.srv.URL,
		"aud":         testAudience,
		"sub":         "nurse-7",
		"iat":         now.Unix(),
		"exp":         now.Add(time.Hour).Unix(),
		"permissions": []string{"default:read"},
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// signingKey is a key of the provider's (or of someone else's).
type signingKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func newRSAKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, alg: jose.RS256, key: k}
}

func newECKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, alg: jose.ES256, key: k}
}

// sign makes a compact JWS access token (typ at+jwt, RFC 9068) of claims.
func (k signingKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.key, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"),
	)
	if err != nil {
		t.Fatal(err)
	}
	return signWith(t, signer, claims)
}

// signWith is claims as a compact JWS of signer.
func signWith(t *testing.T, signer jose.Signer, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}
