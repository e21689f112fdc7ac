package auth

import (
	"net/http"
	"time"
)

// providerTimeout bounds one request to the provider (discovery, keys,
// tokens) when the caller gives no client of its own.
const providerTimeout = 30 * time.Second

// providerClient is c, or a client with providerTimeout: http.DefaultClient
// has none, and a provider that accepts the connection but never answers
// would then hold discovery, go-oidc's single in-flight key fetch (which
// every token naming a new key waits on) or a token refresh forever.
func providerClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: providerTimeout}
}
