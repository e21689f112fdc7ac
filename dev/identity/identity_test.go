package identity_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/carebridge/carebridge/dev/identity"
)

const audience = "carebridge"

var (
	worker = identity.Client{ID: "carebridge-worker", Secret: "worker-secret", Permissions: []string{"default:write"}}
	ui     = identity.Client{ID: "temporal-ui", Secret: "ui-secret", RedirectURIs: []string{"https://127.0.0.1:8080/auth/sso/callback"}}
	users  = map[string]identity.User{
		"olivia": {Name: "Olivia Operator", Permissions: []string{"default:read", "default:write"}},
		"rhea":   {Name: "Rhea Reader", Permissions: []string{"default:read"}},
	}
)

type accessClaims struct {
	Subject     string   `json:"sub"`
	ClientID    string   `json:"client_id"`
	Scope       string   `json:"scope"`
	Permissions []string `json:"permissions"`
}

func TestProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Node.js OIDC provider")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH")
	}
	t.Run("https", func(t *testing.T) {
		dir := t.TempDir()
		ca, cert, key := writeTLS(t, dir)
		testProvider(t, identity.Options{TLSCertFile: cert, TLSKeyFile: key, CAFile: ca})
	})
	t.Run("http", func(t *testing.T) {
		testProvider(t, identity.Options{})
	})
}

func testProvider(t *testing.T, opts identity.Options) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	opts.Dir = t.TempDir()
	opts.Audience = audience
	opts.Users = users
	opts.Clients = []identity.Client{worker, ui}
	opts.Log = testLog{t}
	start := time.Now()
	p, err := identity.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	t.Logf("provider %s ready in %v", p.Issuer(), time.Since(start).Round(time.Millisecond))

	wantScheme := "http://"
	if opts.TLSCertFile != "" {
		wantScheme = "https://"
	}
	if !strings.HasPrefix(p.Issuer(), wantScheme+"127.0.0.1:") {
		t.Errorf("issuer %q, want %s127.0.0.1:PORT", p.Issuer(), wantScheme)
	}
	for name, u := range map[string]string{"JWKSURL": p.JWKSURL(), "TokenURL": p.TokenURL()} {
		if !strings.HasPrefix(u, p.Issuer()+"/") {
			t.Errorf("%s %q is not under the issuer %q", name, u, p.Issuer())
		}
	}

	octx := oidc.ClientContext(ctx, p.HTTPClient())
	op, err := oidc.NewProvider(octx, p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifier := op.Verifier(&oidc.Config{ClientID: audience})
	verify := func(t *testing.T, token string) accessClaims {
		t.Helper()
		tok, err := verifier.Verify(octx, token)
		if err != nil {
			t.Fatalf("verifying the access token: %v", err)
		}
		var c accessClaims
		if err := tok.Claims(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("client credentials", func(t *testing.T) {
		token, err := p.ClientToken(ctx, worker.ID)
		if err != nil {
			t.Fatal(err)
		}
		assertKid(t, token, p.KeyID())
		c := verify(t, token)
		if !slices.Equal(c.Permissions, worker.Permissions) {
			t.Errorf("permissions %q, want %q", c.Permissions, worker.Permissions)
		}
		if c.Subject != worker.ID || c.ClientID != worker.ID {
			t.Errorf("sub %q client_id %q, want both %q", c.Subject, c.ClientID, worker.ID)
		}
	})

	t.Run("client_secret_post", func(t *testing.T) {
		status, body := postToken(t, p, url.Values{
			"grant_type": {"client_credentials"}, "resource": {p.Resource()},
			"client_id": {worker.ID}, "client_secret": {worker.Secret},
		}, "")
		if status != http.StatusOK {
			t.Fatalf("client_secret_post: %d %s", status, body)
		}
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(body, &tr); err != nil {
			t.Fatal(err)
		}
		verify(t, tr.AccessToken)
	})

	t.Run("wrong secret", func(t *testing.T) {
		for name, form := range map[string]url.Values{
			"basic": {"grant_type": {"client_credentials"}},
			"post":  {"grant_type": {"client_credentials"}, "client_id": {worker.ID}, "client_secret": {"not-" + worker.Secret}},
		} {
			basic := ""
			if name == "basic" {
				basic = "not-" + worker.Secret
			}
			status, body := postToken(t, p, form, basic)
			if status != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_client") {
				t.Errorf("%s: wrong secret answered %d %s, want 401 invalid_client", name, status, body)
			}
		}
	})

	t.Run("user rhea", func(t *testing.T) {
		tokens, err := p.UserTokens(ctx, ui.ID, "rhea")
		if err != nil {
			t.Fatal(err)
		}
		assertKid(t, tokens.AccessToken, p.KeyID())
		c := verify(t, tokens.AccessToken)
		if want := []string{"default:read"}; !slices.Equal(c.Permissions, want) {
			t.Errorf("permissions %q, want %q", c.Permissions, want)
		}
		if c.Subject != "rhea" || c.ClientID != ui.ID {
			t.Errorf("sub %q client_id %q, want rhea and %s", c.Subject, c.ClientID, ui.ID)
		}
		if !strings.Contains(" "+c.Scope+" ", " openid ") {
			t.Errorf("scope %q, want openid among them", c.Scope)
		}
		id, err := op.Verifier(&oidc.Config{ClientID: ui.ID}).Verify(octx, tokens.IDToken)
		if err != nil {
			t.Fatalf("verifying the ID token: %v", err)
		}
		var idc struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		}
		if err := id.Claims(&idc); err != nil {
			t.Fatal(err)
		}
		if id.Subject != "rhea" || idc.Name != "Rhea Reader" || idc.Email != "" {
			t.Errorf("ID token sub %q name %q email %q, want rhea, Rhea Reader and none", id.Subject, idc.Name, idc.Email)
		}
		if tokens.RefreshToken == "" {
			t.Error("no refresh token for the UI client")
		}
	})

	t.Run("user olivia", func(t *testing.T) {
		token, err := p.UserToken(ctx, ui.ID, "olivia")
		if err != nil {
			t.Fatal(err)
		}
		c := verify(t, token)
		if want := users["olivia"].Permissions; !slices.Equal(c.Permissions, want) || c.Subject != "olivia" {
			t.Errorf("sub %q permissions %q, want olivia %q", c.Subject, c.Permissions, want)
		}
	})

	t.Run("unknown login", func(t *testing.T) {
		token, err := p.UserToken(ctx, ui.ID, "mallory")
		var ae *identity.AuthorizeError
		if !errors.As(err, &ae) || ae.Code != "access_denied" {
			t.Fatalf("unknown login got token %q, error %v; want an access_denied AuthorizeError", token, err)
		}
	})

	t.Run("mint", func(t *testing.T) {
		now := time.Now()
		claims := map[string]any{
			"iss": p.Issuer(), "aud": audience, "sub": "olivia", "client_id": ui.ID,
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			"permissions": []string{"temporal-system:admin"},
		}
		fresh, err := p.Mint(claims)
		if err != nil {
			t.Fatal(err)
		}
		assertKid(t, fresh, p.KeyID())
		if c := verify(t, fresh); !slices.Equal(c.Permissions, []string{"temporal-system:admin"}) {
			t.Errorf("minted permissions %q", c.Permissions)
		}

		claims["iat"] = now.Add(-time.Hour).Unix()
		claims["exp"] = now.Add(-30 * time.Minute).Unix()
		expired, err := p.Mint(claims)
		if err != nil {
			t.Fatal(err)
		}
		_, err = verifier.Verify(octx, expired)
		var te *oidc.TokenExpiredError
		if !errors.As(err, &te) {
			t.Fatalf("expired token: %v, want a TokenExpiredError", err)
		}
	})
}

// postToken posts form to the token endpoint, with Basic authentication as
// worker when basicSecret is set.
func postToken(t *testing.T, p *identity.Provider, form url.Values, basicSecret string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicSecret != "" {
		req.SetBasicAuth(worker.ID, basicSecret)
	}
	resp, err := p.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// assertKid checks the JWT's header names the provider's key.
func assertKid(t *testing.T, token, kid string) {
	t.Helper()
	header, _, ok := strings.Cut(token, ".")
	if !ok {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Alg, Kid string
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	if h.Alg != "RS256" || h.Kid != kid {
		t.Errorf("JWT header alg %q kid %q, want RS256 and %q", h.Alg, h.Kid, kid)
	}
}

// writeTLS writes a throwaway CA and a server certificate for 127.0.0.1
// signed by it; it returns the CA, certificate and key paths.
func writeTLS(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "identity test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return write("ca.pem", "CERTIFICATE", caDER),
		write("cert.pem", "CERTIFICATE", srvDER),
		write("key.pem", "PRIVATE KEY", keyDER)
}

// testLog writes the provider's output to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Logf("oidc: %s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
