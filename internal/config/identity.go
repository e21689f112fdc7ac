package config

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/carebridge/carebridge/internal/audit"
	"github.com/carebridge/carebridge/internal/auth"
)

// Identity is the OpenID Connect provider carebridge trusts (the clinic's
// Okta, Entra ID or Google; docs/security.md): people's access tokens at the
// API and the codec endpoint are verified against its keys, and a program
// with a client of its own presents that client's tokens to Temporal.
type Identity struct {
	Issuer   string // CAREBRIDGE_OIDC_ISSUER; empty: no provider
	Audience string // CAREBRIDGE_OIDC_AUDIENCE: the aud every token must carry
	// ClientID and ClientSecret are this program's own client (the client
	// credentials grant); empty: it presents no token to Temporal.
	ClientID     string // CAREBRIDGE_OIDC_CLIENT_ID
	ClientSecret string // CAREBRIDGE_OIDC_CLIENT_SECRET
	// HTTPClient reaches the provider, trusting CAREBRIDGE_OIDC_CA_FILE when
	// set (a private CA), the system's roots otherwise.
	HTTPClient *http.Client
}

// On reports whether a provider is configured.
func (i Identity) On() bool { return i.Issuer != "" }

// providerTimeout bounds one call to the provider (discovery, keys, a token).
const providerTimeout = 10 * time.Second

// identity reads the CAREBRIDGE_OIDC_* variables; half a configuration is a
// problem that names what is missing.
func (e *Env) identity() Identity {
	id := Identity{
		Issuer:       e.String("CAREBRIDGE_OIDC_ISSUER", ""),
		Audience:     e.String("CAREBRIDGE_OIDC_AUDIENCE", ""),
		ClientID:     e.String("CAREBRIDGE_OIDC_CLIENT_ID", ""),
		ClientSecret: e.String("CAREBRIDGE_OIDC_CLIENT_SECRET", ""),
	}
	caFile := e.String("CAREBRIDGE_OIDC_CA_FILE", "")
	switch {
	case id.Issuer == "" && (id.Audience != "" || id.ClientID != "" || caFile != ""):
		e.problems = append(e.problems, "CAREBRIDGE_OIDC_ISSUER is required with the other CAREBRIDGE_OIDC_* variables")
	case id.Issuer != "" && id.Audience == "":
		e.problems = append(e.problems, "CAREBRIDGE_OIDC_AUDIENCE is required with CAREBRIDGE_OIDC_ISSUER: a token for another service must not open this one")
	case (id.ClientID == "") != (id.ClientSecret == ""):
		e.problems = append(e.problems, "CAREBRIDGE_OIDC_CLIENT_ID and CAREBRIDGE_OIDC_CLIENT_SECRET go together")
	}
	if id.Issuer != "" {
		if err := auth.CheckIssuer(id.Issuer); err != nil {
			e.problems = append(e.problems, strings.TrimPrefix(err.Error(), "auth: "))
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			e.problems = append(e.problems, "CAREBRIDGE_OIDC_CA_FILE: no PEM certificate could be read from "+caFile)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	id.HTTPClient = &http.Client{Timeout: providerTimeout, Transport: transport}
	return id
}

// Audit is where the audit trail is kept (internal/audit).
type Audit struct {
	Dir       string        // CAREBRIDGE_AUDIT_DIR; empty: not kept (development only)
	Retention time.Duration // CAREBRIDGE_AUDIT_RETENTION: six years by default (HIPAA keeps documentation that long)
}

// audit reads CAREBRIDGE_AUDIT_*. In production the starter, which serves
// patient data (the API, the codec endpoint), keeps the trail.
func (e *Env) audit(dev bool) Audit {
	a := Audit{Dir: e.String("CAREBRIDGE_AUDIT_DIR", ""), Retention: e.Duration("CAREBRIDGE_AUDIT_RETENTION", audit.DefaultRetention)}
	if a.Dir == "" && !dev {
		e.need(needAuditDir)
	}
	return a
}
