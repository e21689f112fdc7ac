// Package auth says who a bearer token from carebridge's OpenID Connect
// provider names and what Temporal permissions it carries (verify.go,
// roles.go), refuses HTTP requests that lack them (middleware.go), and
// obtains tokens for carebridge's own programs (machine.go).
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Config is what carebridge reads from the environment.
type Config struct {
	Issuer           string       // CAREBRIDGE_OIDC_ISSUER: discovery at Issuer + "/.well-known/openid-configuration"
	Audience         string       // CAREBRIDGE_OIDC_AUDIENCE: the aud every token must carry
	PermissionsClaim string       // the claim holding Temporal's permissions; default "permissions", as Temporal's
	HTTPClient       *http.Client // optional (a CA for the provider's TLS); used for discovery and JWKS
}

// Principal is who a verified token names and what it says they may do.
type Principal struct {
	Subject     string   // sub
	Permissions []string // as the token says, "<namespace>:<role>"; see Can
	Expiry      time.Time
}

// defaultPermissionsClaim is Temporal's default (permissionsClaimName), so
// that one token means the same to Temporal and to carebridge.
const defaultPermissionsClaim = "permissions"

// signingAlgs are the only algorithms a token may be signed with: the
// asymmetric ones providers use. Listing them is what refuses "none" and
// HS256 signed with the provider's public key as the secret.
var signingAlgs = []string{oidc.RS256, oidc.ES256}

// Verifier checks bearer tokens of one provider for one audience. It is
// safe for concurrent use; make one per program and share it, as it caches
// the provider's discovery document and keys.
type Verifier struct {
	issuer, audience, claim string
	client                  *http.Client
	keysCtx                 context.Context // values only, for go-oidc's background key fetches

	discovered  atomic.Pointer[oidc.IDTokenVerifier]
	discovering chan struct{} // a one-slot lock around discovery, which a caller's context can give up on
	retryAfter  time.Duration
	failedAt    time.Time // of the last failed discovery; guarded by discovering
	failure     error     // what it failed with; guarded by discovering
}

// NewVerifier checks cfg and returns a Verifier, without reaching the
// provider: discovery waits for the first Verify (see discovery.go), so a
// provider that is down for a moment does not stop a program from starting.
// ctx lends its values (not its cancellation) to the key fetches made later.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if err := CheckIssuer(cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.Audience == "" {
		return nil, errors.New("auth: the OIDC audience (CAREBRIDGE_OIDC_AUDIENCE) is empty: without it a token meant for any other API of the provider would pass")
	}
	claim := cfg.PermissionsClaim
	if claim == "" {
		claim = defaultPermissionsClaim
	}
	client := providerClient(cfg.HTTPClient)
	return &Verifier{
		issuer:      cfg.Issuer,
		audience:    cfg.Audience,
		claim:       claim,
		client:      client,
		keysCtx:     oidc.ClientContext(context.WithoutCancel(ctx), client),
		discovering: make(chan struct{}, 1),
		retryAfter:  discoveryRetry,
	}, nil
}

// CheckIssuer wants an absolute https URL, or http on a loopback host (the
// dev stack's oidc-provider): the keys that decide who is who come from
// there, and over plain HTTP anyone on the path could substitute their own
// (and a program's client secret travels to it).
func CheckIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return errors.New("auth: the OIDC issuer (CAREBRIDGE_OIDC_ISSUER) must be an absolute https URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("auth: the OIDC issuer (CAREBRIDGE_OIDC_ISSUER) %q must be https (plain http only on a loopback host)", issuer)
}

// Verify checks bearer (the token, without "Bearer ") and says whom it
// names. go-oidc checks the signature against the provider's keys (fetching
// them again when a token names a key it has not seen, which is how key
// rotation goes through), iss, aud (must contain the configured audience),
// exp and nbf; Verify adds that sub is set and the permissions claim is an
// array of strings or absent. go-oidc's checks are those of an ID token,
// which for these apply equally to a JWT access token.
//
// Errors are ErrNoToken, one wrapping ErrInvalidToken (a 401: see Reason),
// one wrapping ErrProviderUnavailable, or the context's. None contains the
// token or anything it claims.
func (v *Verifier) Verify(ctx context.Context, bearer string) (Principal, error) {
	if bearer == "" {
		return Principal{}, ErrNoToken
	}
	idv, err := v.idTokenVerifier(ctx)
	if err != nil {
		return Principal{}, err
	}
	var sig signatureOutcome
	tok, err := idv.Verify(withSignatureOutcome(ctx, &sig), bearer)
	if err != nil {
		return Principal{}, v.whyRefused(ctx, bearer, sig, err)
	}
	if tok.Subject == "" {
		return Principal{}, ErrMalformedToken
	}
	perms, err := permissions(tok, v.claim)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Subject: tok.Subject, Permissions: perms, Expiry: tok.Expiry}, nil
}

// permissions reads the claim named claim: absent or null is none; anything
// but an array of strings refuses the token. (Temporal skips what it cannot
// read, which can only leave a principal with less; refusing tells the
// operator the provider's claim mapping is wrong instead of a puzzling 403.)
func permissions(tok *oidc.IDToken, claim string) ([]string, error) {
	var claims map[string]json.RawMessage
	if err := tok.Claims(&claims); err != nil {
		return nil, ErrMalformedToken
	}
	raw, ok := claims[claim]
	if !ok {
		return nil, nil
	}
	var values []any
	if err := json.Unmarshal(raw, &values); err != nil {
		return nil, ErrBadPermissions
	}
	perms := make([]string, 0, len(values))
	for _, value := range values {
		s, ok := value.(string)
		if !ok {
			return nil, ErrBadPermissions
		}
		perms = append(perms, s)
	}
	return perms, nil
}
