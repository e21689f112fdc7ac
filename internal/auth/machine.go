package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.temporal.io/sdk/client"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ClientCredentials is one of carebridge's programs (the worker, the
// starter) as a client of the provider, getting its own tokens with the
// OAuth 2.0 client credentials grant to present to Temporal.
type ClientCredentials struct {
	// TokenURL is the provider's token endpoint; empty, it is read from
	// Issuer's discovery document when the first token is needed (so that a
	// program starts while the provider is briefly down).
	TokenURL     string
	Issuer       string
	ClientID     string
	ClientSecret string
	// Audience is the API the tokens are for (Temporal's audience), sent as
	// both resource (RFC 8707; oidc-provider) and audience (Auth0, Okta).
	// Leave it empty for a provider that names the API by scope instead
	// (Entra ID v2: Scopes {"api://<app>/.default"}), which refuses resource.
	Audience   string
	Scopes     []string
	HTTPClient *http.Client // optional, as Config.HTTPClient
}

// refreshMargin is how long before its expiry a token is replaced: one
// handed to a call then is still valid when a server whose clock runs a
// little ahead checks it, after the call's retries.
const refreshMargin = time.Minute

// TokenSource returns c's tokens: one is fetched when first asked for, and
// given again until refreshMargin before it expires. ctx is kept for every
// fetch, so it must live as long as the program (oauth2's contract); its
// cancellation stops the refreshes. The client authenticates with its
// secret in the Authorization header or in the form, whichever the token
// endpoint takes (oauth2 tries the header first and remembers).
func (c ClientCredentials) TokenSource(ctx context.Context) oauth2.TokenSource {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, providerClient(c.HTTPClient))
	if c.TokenURL == "" {
		return oauth2.ReuseTokenSourceWithExpiry(nil, &discovered{ctx: ctx, c: c}, refreshMargin)
	}
	return oauth2.ReuseTokenSourceWithExpiry(nil, c.config().TokenSource(ctx), refreshMargin)
}

func (c ClientCredentials) config() *clientcredentials.Config {
	cfg := &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     c.TokenURL,
		Scopes:       c.Scopes,
	}
	if c.Audience != "" {
		cfg.EndpointParams = url.Values{"resource": {c.Audience}, "audience": {c.Audience}}
	}
	return cfg
}

// discovered finds the token endpoint in the issuer's discovery document
// at the first token, and again after a failure. ReuseTokenSource
// serializes its calls.
type discovered struct {
	ctx    context.Context
	c      ClientCredentials
	source oauth2.TokenSource
}

func (d *discovered) Token() (*oauth2.Token, error) {
	if d.source == nil {
		p, err := oidc.NewProvider(d.ctx, d.c.Issuer)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrProviderUnavailable, d.c.Issuer, err)
		}
		d.c.TokenURL = p.Endpoint().TokenURL
		d.source = d.c.config().TokenSource(d.ctx)
	}
	return d.source.Token()
}

// TemporalCredentials makes every gRPC call of a Temporal client carry
// "Authorization: Bearer <token>" with a token of c's, refreshed as
// TokenSource says (ctx as there). They turn TLS on unless the client's
// options disable it: a bearer token is not for plain text. A call fails
// with the token endpoint's error when no token can be had, rather than go
// out without one.
func (c ClientCredentials) TemporalCredentials(ctx context.Context) client.Credentials {
	ts := c.TokenSource(ctx)
	return client.NewAPIKeyDynamicCredentials(func(context.Context) (string, error) {
		tok, err := ts.Token()
		if err != nil {
			return "", fmt.Errorf("auth: no token for client %q from the provider: %w", c.ClientID, err)
		}
		if tok.AccessToken == "" {
			// The SDK would send the call without credentials.
			return "", errors.New("auth: the provider's token response has no access_token")
		}
		return tok.AccessToken, nil
	})
}
