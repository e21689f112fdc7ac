package auth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestVerifyValid(t *testing.T) {
	rsaKey, ecKey := newRSAKey(t, "rsa-1"), newECKey(t, "ec-1")
	p := newTestProvider(t, rsaKey, ecKey)
	v := p.verifier(t)
	exp := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	for _, tc := range []struct {
		name   string
		key    signingKey
		claims map[string]any
		want   Principal
	}{
		{"RS256", rsaKey,
			p.claims(map[string]any{"exp": exp.Unix(), "permissions": []string{"default:read", "default:write"}}),
			Principal{Subject: "nurse-7", Permissions: []string{"default:read", "default:write"}, Expiry: exp}},
		{"ES256, aud an array", ecKey,
			p.claims(map[string]any{"exp": exp.Unix(), "aud": []string{"other-api", testAudience}}),
			Principal{Subject: "nurse-7", Permissions: []string{"default:read"}, Expiry: exp}},
		{"no permissions claim", rsaKey,
			p.claims(map[string]any{"exp": exp.Unix(), "permissions": nil}),
			Principal{Subject: "nurse-7", Expiry: exp}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tc.key.sign(t, tc.claims))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Subject != tc.want.Subject || !slices.Equal(got.Permissions, tc.want.Permissions) || !got.Expiry.Equal(tc.want.Expiry) {
				t.Errorf("Verify = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestVerifyNullPermissionsIsNone(t *testing.T) {
	key := newRSAKey(t, "k1")
	p := newTestProvider(t, key)
	// A nil value would drop the claim: write JSON null by hand.
	claims := p.claims(nil)
	claims["permissions"] = json.RawMessage("null")
	got, err := p.verifier(t).Verify(context.Background(), key.sign(t, claims))
	if err != nil || len(got.Permissions) != 0 {
		t.Fatalf("Verify = %+v, %v; want no permissions", got, err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	key := newRSAKey(t, "k1")
	p := newTestProvider(t, key)
	v := p.verifier(t)
	now := time.Now()
	for _, tc := range []struct {
		name  string
		token func(t *testing.T) string
		want  error
	}{
		{"not a JWT", func(*testing.T) string { return "not-a-jwt" }, ErrMalformedToken},
		{"expired", func(t *testing.T) string {
			return key.sign(t, p.claims(map[string]any{"exp": now.Add(-time.Minute).Unix(), "iat": now.Add(-time.Hour).Unix()}))
		}, ErrTokenExpired},
		{"without exp", func(t *testing.T) string { return key.sign(t, p.claims(map[string]any{"exp": nil})) }, ErrMalformedToken},
		{"not valid yet", func(t *testing.T) string {
			return key.sign(t, p.claims(map[string]any{"nbf": now.Add(time.Hour).Unix()}))
		}, ErrTokenNotYetValid},
		{"another audience", func(t *testing.T) string {
			return key.sign(t, p.claims(map[string]any{"aud": "billing-api"}))
		}, ErrWrongAudience},
		{"other audiences", func(t *testing.T) string {
			return key.sign(t, p.claims(map[string]any{"aud": []string{"billing-api", "carebridge"}}))
		}, ErrWrongAudience},
		{"another issuer", func(t *testing.T) string {
			return key.sign(t, p.claims(map[string]any{"iss": "https://idp.elsewhere.example"}))
		}, ErrWrongIssuer},
		{"another key with the provider's kid", func(t *testing.T) string {
			return newRSAKey(t, "k1").sign(t, p.claims(nil))
		}, ErrBadSignature},
		{"another key with its own kid", func(t *testing.T) string {
			return newECKey(t, "mallory").sign(t, p.claims(nil))
		}, ErrBadSignature},
		{"alg none", func(t *testing.T) string { return unsigned(t, p.claims(nil)) }, ErrUnsupportedAlgorithm},
		{"HS256 keyed with the provider's public key", func(t *testing.T) string {
			return hs256WithPublicKey(t, key, p.claims(nil))
		}, ErrUnsupportedAlgorithm},
		{"no subject", func(t *testing.T) string { return key.sign(t, p.claims(map[string]any{"sub": nil})) }, ErrMalformedToken},
		{"permissions a string", func(t *testing.T) string {
			return key.sign(t, p.claims(map[string]any{"permissions": "default:admin"}))
		}, ErrBadPermissions},
		{"permissions not all strings", func(t *testing.T) string {
			return key.sign(t, p.claims(map[string]any{"permissions": []any{"default:read", 7}}))
		}, ErrBadPermissions},
		{"permissions an object", func(t *testing.T) string {
			return key.sign(t, p.claims(map[string]any{"permissions": map[string]string{"default": "admin"}}))
		}, ErrBadPermissions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := tc.token(t)
			_, err := v.Verify(context.Background(), token)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			if got, want := Reason(err), Reason(tc.want); got != want {
				t.Errorf("Reason = %q, want %q", got, want)
			}
			assertNoTokenIn(t, token, err.Error())
			for _, claimed := range []string{"billing-api", "idp.elsewhere.example", "nurse-7", "default:"} {
				if strings.Contains(err.Error(), claimed) {
					t.Errorf("error %q repeats the token's claim %q", err, claimed)
				}
			}
		})
	}
}

func TestVerifyNoToken(t *testing.T) {
	p := newTestProvider(t, newRSAKey(t, "k1"))
	if _, err := p.verifier(t).Verify(context.Background(), ""); !errors.Is(err, ErrNoToken) || Reason(err) != "no bearer token" {
		t.Fatalf("Verify(\"\") = %v, want ErrNoToken", err)
	}
}

// TestKeyRotation: the provider replaces its key; tokens of the new one
// verify without a restart, those of the old one no longer do, and keys are
// not fetched again while the ones held verify.
func TestKeyRotation(t *testing.T) {
	oldKey, newKey := newRSAKey(t, "2026-01"), newECKey(t, "2026-02")
	p := newTestProvider(t, oldKey)
	v := p.verifier(t)
	ctx := context.Background()
	if _, err := v.Verify(ctx, oldKey.sign(t, p.claims(nil))); err != nil {
		t.Fatalf("old key, before the rotation: %v", err)
	}
	p.publish(newKey)
	if _, err := v.Verify(ctx, newKey.sign(t, p.claims(nil))); err != nil {
		t.Fatalf("new key, after the rotation: %v", err)
	}
	_, fetches := p.fetches()
	if _, err := v.Verify(ctx, newKey.sign(t, p.claims(nil))); err != nil {
		t.Fatalf("new key again: %v", err)
	}
	if _, got := p.fetches(); got != fetches {
		t.Errorf("a token of a key held fetched the JWKS again (%d fetches, were %d)", got, fetches)
	}
	if _, err := v.Verify(ctx, oldKey.sign(t, p.claims(nil))); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("old key, after the rotation: %v, want ErrBadSignature", err)
	}
}

// TestLazyDiscovery: a provider down when the program starts costs a 503
// while it is down, remembered for a moment, not the start.
func TestLazyDiscovery(t *testing.T) {
	key := newRSAKey(t, "k1")
	p := newTestProvider(t, key)
	p.set(func(p *testProvider) { p.discoveryDown = true })
	v := p.verifier(t) // does not reach the provider
	token := key.sign(t, p.claims(nil))
	ctx := context.Background()

	_, err := v.Verify(ctx, token)
	if !errors.Is(err, ErrProviderUnavailable) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify with the provider down: %v, want ErrProviderUnavailable", err)
	}
	assertNoTokenIn(t, token, err.Error())

	p.set(func(p *testProvider) { p.discoveryDown = false })
	if _, err := v.Verify(ctx, token); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("Verify within discoveryRetry of the failure: %v, want the failure remembered", err)
	}
	v.retryAfter = 0 // as if discoveryRetry had passed
	if _, err := v.Verify(ctx, token); err != nil {
		t.Fatalf("Verify once the provider is back: %v", err)
	}
}

// TestConcurrentFirstUse: requests arriving together at a new Verifier
// share one discovery and one key fetch.
func TestConcurrentFirstUse(t *testing.T) {
	key := newRSAKey(t, "k1")
	p := newTestProvider(t, key)
	v := p.verifier(t)
	token := key.sign(t, p.claims(nil))
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), token); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	wg.Wait()
	if discoveries, jwks := p.fetches(); discoveries != 1 || jwks != 1 {
		t.Errorf("%d discoveries and %d key fetches, want 1 and 1", discoveries, jwks)
	}
}

func TestNewVerifierDoesNotReachProvider(t *testing.T) {
	// Nothing listens on port 1.
	if _, err := NewVerifier(context.Background(), Config{Issuer: "https://127.0.0.1:1", Audience: testAudience}); err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
}

func TestNewVerifierChecksConfig(t *testing.T) {
	for _, issuer := range []string{"https://idp.example/tenant", "http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000"} {
		if _, err := NewVerifier(context.Background(), Config{Issuer: issuer, Audience: testAudience}); err != nil {
			t.Errorf("issuer %q: %v", issuer, err)
		}
	}
	for _, issuer := range []string{"", "idp.example", "http://idp.example", "ftp://idp.example"} {
		if _, err := NewVerifier(context.Background(), Config{Issuer: issuer, Audience: testAudience}); err == nil {
			t.Errorf("issuer %q: no error", issuer)
		}
	}
	if _, err := NewVerifier(context.Background(), Config{Issuer: "https://idp.example"}); err == nil {
		t.Error("no audience: no error")
	}
}

// TestIssuerMismatch: an issuer configured otherwise than the provider
// names itself (here a trailing slash) fails discovery, never a token.
func TestIssuerMismatch(t *testing.T) {
	key := newRSAKey(t, "k1")
	p := newTestProvider(t, key)
	v, err := NewVerifier(context.Background(), Config{Issuer: p.srv.URL + "/", Audience: testAudience, HTTPClient: p.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), key.sign(t, p.claims(nil))); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("Verify: %v, want ErrProviderUnavailable", err)
	}
}

// TestKeysUnavailable: a JWKS that cannot be fetched is the provider's
// failure (503), not a bad signature (401). It pins down how go-oidc's
// RemoteKeySet tells the two apart, which refusal.go relies on.
func TestKeysUnavailable(t *testing.T) {
	key := newRSAKey(t, "k1")
	p := newTestProvider(t, key)
	p.set(func(p *testProvider) { p.jwksDown = true })
	token := key.sign(t, p.claims(nil))
	_, err := p.verifier(t).Verify(context.Background(), token)
	if !errors.Is(err, ErrProviderUnavailable) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify: %v, want ErrProviderUnavailable", err)
	}
	assertNoTokenIn(t, token, err.Error())
}

func TestVerifyContextDone(t *testing.T) {
	key := newRSAKey(t, "k1")
	p := newTestProvider(t, key)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.verifier(t).Verify(ctx, key.sign(t, p.claims(nil)))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("Verify: %v, want context.Canceled", err)
	}
}

// assertNoTokenIn fails when text holds token or any of its three parts.
func assertNoTokenIn(t *testing.T, token, text string) {
	t.Helper()
	for part := range strings.SplitSeq(token, ".") {
		if len(part) > 8 && strings.Contains(text, part) {
			t.Errorf("%q contains (part of) the token", text)
		}
	}
}

// unsigned is an "alg": "none" JWT of claims.
func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

// hs256WithPublicKey is the algorithm confusion attack: an HMAC keyed with
// the provider's public key (which anyone can fetch), under its kid.
func hs256WithPublicKey(t *testing.T, k signingKey, claims map[string]any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: secret, KeyID: k.kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return signWith(t, signer, claims)
}
