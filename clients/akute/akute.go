// Package akute is a typed client for the Akute Health API v1: patients,
// tasks, insurance, medications, pharmacies, users and observations.
//
// Requests are validated against what the reference marks required before
// they go out, so a request Akute would refuse never leaves. Akute's error
// body ({"statusCode":…,"error":…}) comes back as *Error.
package akute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/carebridge/carebridge/clients/upstream"
)

// DefaultTimeout bounds one Akute call.
const DefaultTimeout = 15 * time.Second

// ErrNotFound is a lookup that found nothing (404, or an empty answer).
var ErrNotFound = errors.New("akute: not found")

// ErrAmbiguousCreate is a create Akute answered with a 2xx whose id cannot be
// read (no id in the body, none in the Location header, or a body that is
// not JSON): the resource may exist, so retrying could create it twice.
var ErrAmbiguousCreate = errors.New("akute: created, but the answer names no id")

// Error is Akute's answer outside 2xx: the shared *upstream.StatusError
// (status, Retry-After, Temporary) and Akute's own text. Message can quote
// the data Akute refused: it is kept for operators' eyes (a case's state),
// never printed by Error().
type Error struct {
	*upstream.StatusError
	Message string
}

// Unwrap lets callers classify it as any upstream's StatusError.
func (e *Error) Unwrap() error { return e.StatusError }

// Config configures a Client.
type Config struct {
	BaseURL   string // e.g. https://api.staging.akutehealth.com/v1
	APIKey    string // sent as X-API-Key
	Timeout   time.Duration
	Transport http.RoundTripper
}

// Client calls Akute.
type Client struct {
	http *resty.Client
}

// New returns a Client.
func New(cfg Config) *Client {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &Client{http: upstream.NewClient(cfg.BaseURL, timeout, cfg.Transport).
		SetHeader("X-API-Key", cfg.APIKey).
		SetHeader("Accept", "application/json")}
}

// send sends a request: a transport failure or an answer outside 2xx is an
// error (Akute's own body read by akuteStatusError).
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) (*resty.Response, error) {
	req := c.http.R().SetContext(ctx)
	if query != nil {
		req.SetQueryParamsFromValues(query)
	}
	if body != nil {
		req.SetBody(body)
	}
	resp, err := req.Execute(method, path)
	if err != nil {
		return nil, upstream.TransportError("akute", err)
	}
	if !resp.IsSuccess() {
		return nil, akuteStatusError(resp)
	}
	return resp, nil
}

// do sends a request and decodes a 2xx JSON answer into out (when non-nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	if out == nil || len(resp.Body()) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Body(), out); err != nil {
		return fmt.Errorf("akute: unreadable answer to %s %s", method, path)
	}
	return nil
}

// create posts a new resource to collection (/patients, /tasks) and returns
// its id: the answer's id, else the last segment of the Location header the
// reference promises ("URI of created resource with :id appended").
func (c *Client) create(ctx context.Context, collection string, body any) (string, error) {
	resp, err := c.send(ctx, http.MethodPost, collection, nil, body)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if len(resp.Body()) > 0 && json.Unmarshal(resp.Body(), &out) != nil {
		return "", ErrAmbiguousCreate
	}
	if id := strings.TrimSpace(out.ID); id != "" {
		return id, nil
	}
	if u, err := url.Parse(resp.Header().Get("Location")); err == nil {
		// <base>/<collection>/<id>: the id only under its own collection.
		trimmed := strings.TrimRight(u.Path, "/")
		if dir, id := path.Split(trimmed); id != "" && strings.HasSuffix(strings.TrimRight(dir, "/"), collection) {
			return id, nil
		}
	}
	return "", ErrAmbiguousCreate
}

// akuteStatusError reads Akute's error body ({"statusCode":…,"error":…}).
func akuteStatusError(resp *resty.Response) error {
	var e struct {
		StatusCode int    `json:"statusCode"`
		Error      string `json:"error"`
	}
	_ = json.Unmarshal(resp.Body(), &e)
	return &Error{StatusError: upstream.New("akute", resp.StatusCode(), resp.Header(), nil), Message: e.Error}
}
