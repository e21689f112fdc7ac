// Package alleviate posts leads to Alleviate's participant-by-form-name API.
package alleviate

import (
	"context"
	"net/http"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/carebridge/carebridge/clients/upstream"
)

// DefaultTimeout bounds one post.
const DefaultTimeout = 15 * time.Second

// DefaultSource is the reference's source query parameter.
const DefaultSource = "patients_vip"

// Config configures a Client.
type Config struct {
	BaseURL   string // e.g. https://search.alleviatehealth.care
	APIKey    string // sent as X-API-Key
	Source    string // query parameter source; empty means DefaultSource
	Timeout   time.Duration
	Transport http.RoundTripper
}

// Client posts leads.
type Client struct {
	http   *resty.Client
	source string
}

// Lead is the body Alleviate takes. Every field is PHI.
type Lead struct {
	FormName  string `json:"form_name"`
	Phone     string `json:"phone"`
	Name      string `json:"name"`
	PatientID int64  `json:"patient_id"`
	Email     string `json:"email"`
}

// Answer is Alleviate's answer, handed back to our caller unchanged. Body is
// text (JSON, as Alleviate answers), so that an operator reading the run
// through the codec sees it as Alleviate wrote it.
type Answer struct {
	StatusCode  int    `json:"status_code"`
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body"`
}

// New returns a Client.
func New(cfg Config) *Client {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	source := cfg.Source
	if source == "" {
		source = DefaultSource
	}
	return &Client{
		http:   upstream.NewClient(cfg.BaseURL, timeout, cfg.Transport).SetHeader("X-API-Key", cfg.APIKey),
		source: source,
	}
}

// PostLead sends a lead. A final answer (2xx, or a 4xx other than 408 and
// 429) is returned as an Answer, whatever its status: it is Alleviate's word
// to the caller. Answers worth retrying are a *upstream.StatusError.
func (c *Client) PostLead(ctx context.Context, lead Lead) (Answer, error) {
	resp, err := c.http.R().
		SetContext(ctx).
		SetHeader("Accept", "application/json").
		SetQueryParam("source", c.source).
		SetBody(lead).
		Post("/participant-by-form-name")
	if err != nil {
		return Answer{}, upstream.TransportError("alleviate", err)
	}
	if upstream.Temporary(resp.StatusCode()) {
		return Answer{}, upstream.New("alleviate", resp.StatusCode(), resp.Header(), resp.Body())
	}
	return Answer{
		StatusCode:  resp.StatusCode(),
		ContentType: resp.Header().Get("Content-Type"),
		Body:        string(resp.Body()),
	}, nil
}
