package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// discoveryRetry is how long a failed discovery is remembered: Verify fails
// at once with it meanwhile, rather than every request waiting on a
// provider that just failed, and then one request tries again.
const discoveryRetry = 5 * time.Second

// idTokenVerifier returns go-oidc's verifier for the provider, discovering
// it on first use. Discovery is lazy, rather than in NewVerifier, so that a
// provider down for a moment costs the requests of that moment a 503 and
// not the program its start (and a restart loop); once it succeeds it is
// kept for the life of the Verifier, as jwks_uri does not change, while the
// keys behind it are fetched again whenever a token names an unknown one.
func (v *Verifier) idTokenVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	if idv := v.discovered.Load(); idv != nil {
		return idv, nil
	}
	select {
	case v.discovering <- struct{}{}:
		defer func() { <-v.discovering }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if idv := v.discovered.Load(); idv != nil {
		return idv, nil // another request discovered it while this one waited
	}
	if v.failure != nil && time.Since(v.failedAt) < v.retryAfter {
		return nil, v.failure
	}
	idv, err := v.discover(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the caller gave up: not the provider's failure to remember
		}
		v.failure, v.failedAt = fmt.Errorf("%w: discovery at %s: %v", ErrProviderUnavailable, v.issuer, err), time.Now()
		return nil, v.failure
	}
	v.discovered.Store(idv)
	return idv, nil
}

// discover reads the provider's discovery document (go-oidc checks that it
// names the configured issuer exactly) for its jwks_uri, and makes the
// verifier: signatures by the keys there, RS256 or ES256 only, aud
// containing the configured audience.
func (v *Verifier) discover(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, v.client), v.issuer)
	if err != nil {
		return nil, err
	}
	var metadata struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := provider.Claims(&metadata); err != nil {
		return nil, err
	}
	if metadata.JWKSURI == "" {
		return nil, errors.New("the discovery document has no jwks_uri")
	}
	keys := recordingKeySet{oidc.NewRemoteKeySet(v.keysCtx, metadata.JWKSURI)}
	return oidc.NewVerifier(v.issuer, keys, &oidc.Config{ClientID: v.audience, SupportedSigningAlgs: signingAlgs}), nil
}
