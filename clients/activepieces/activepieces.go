// Package activepieces calls an Activepieces sync webhook whose flow answers
// with the JWT that authenticates carebridge against Realtime CTMS.
//
// The webhook URL carries no other auth, so the whole URL is a secret: it is
// never logged and never part of an error message.
package activepieces

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/carebridge/carebridge/clients/upstream"
)

// DefaultTimeout is Activepieces' own sync limit (30 s) plus a margin, so
// that its 204-on-timeout reaches us rather than our own timeout firing first.
const DefaultTimeout = 35 * time.Second

// TokenFields are the JSON fields tried, in order, for the JWT when no field
// is configured: the flow's answer shape is not documented.
var TokenFields = []string{"token", "jwt", "key", "access_token"}

var (
	// ErrNoResponse is Activepieces' 204 (or empty, or {}) answer: the flow
	// timed out, ended without a Return Response step, or quota ran out.
	// Another run may answer, so it is worth retrying.
	ErrNoResponse = errors.New("activepieces: the flow returned no response")
	// ErrNoToken is a 2xx answer without a token in it: the flow answers,
	// but not with what we need, so retrying will not help.
	ErrNoToken = errors.New("activepieces: the flow's answer holds no token")
)

// Config configures a Client.
type Config struct {
	WebhookURL string            // the full sync URL, .../api/v1/webhooks/<flowId>/sync
	TokenField string            // JSON field holding the token; empty tries TokenFields
	Timeout    time.Duration     // zero means DefaultTimeout
	Transport  http.RoundTripper // nil means http.DefaultTransport
}

// Client fetches tokens from the sync webhook.
type Client struct {
	http       *resty.Client
	url        string
	tokenField string
}

// Token is a credential and its expiry (zero when the token does not say).
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// String keeps the token out of any %v a caller might print.
func (t Token) String() string { return "activepieces.Token(redacted)" }

// New returns a Client.
func New(cfg Config) *Client {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &Client{
		http:       upstream.NewClient("", timeout, cfg.Transport),
		url:        cfg.WebhookURL,
		tokenField: cfg.TokenField,
	}
}

// FetchToken runs the flow (POST with an empty body) and returns its token.
// Errors are ErrNoResponse, ErrNoToken, *upstream.StatusError or transport
// errors; none of them quotes the URL.
func (c *Client) FetchToken(ctx context.Context) (Token, error) {
	resp, err := c.http.R().SetContext(ctx).SetHeader("Accept", "application/json").Post(c.url)
	if err != nil {
		return Token{}, upstream.TransportError("activepieces", err)
	}
	if err := upstream.Check("activepieces", resp); err != nil {
		return Token{}, err
	}
	body := strings.TrimSpace(string(resp.Body()))
	if resp.StatusCode() == http.StatusNoContent || body == "" || body == "{}" {
		return Token{}, ErrNoResponse
	}
	value := c.extract(body)
	if value == "" {
		return Token{}, ErrNoToken
	}
	return Token{Value: value, ExpiresAt: expiry(value)}, nil
}

// extract finds the token in the configured field, the usual fields, or a
// bare (optionally JSON-quoted) string body.
func (c *Client) extract(body string) string {
	var obj map[string]any
	if err := json.Unmarshal([]byte(body), &obj); err == nil {
		fields := TokenFields
		if c.tokenField != "" {
			fields = []string{c.tokenField}
		}
		for _, f := range fields {
			if s, ok := obj[f].(string); ok && strings.TrimSpace(s) != "" {
				return strings.TrimSpace(s)
			}
		}
		return ""
	}
	var s string
	if err := json.Unmarshal([]byte(body), &s); err == nil {
		return strings.TrimSpace(s)
	}
	if strings.ContainsAny(body, " \t\r\n{}[]\"") {
		return ""
	}
	return body
}

// expiry reads a JWT's exp claim. The signature is not ours to verify (we are
// not Realtime), we only need to know when to stop reusing the token; a token
// that is not a JWT, or has no exp, reports zero.
func expiry(token string) time.Time {
	claims := jwt.RegisteredClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil || claims.ExpiresAt == nil {
		return time.Time{}
	}
	return claims.ExpiresAt.Time
}
