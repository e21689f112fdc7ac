// Package realtime looks patients ("subjects") up in Realtime CTMS.
//
// Nothing public documents GET /api/v2/subjects, so the client is lenient in
// what it reads: a JSON array, or an object wrapping one under data, items,
// subjects or results; subjectId as a number or a numeric string.
package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/carebridge/carebridge/clients/upstream"
)

// DefaultTimeout bounds one lookup.
const DefaultTimeout = 10 * time.Second

var (
	// ErrUnauthorized is a 401: the token expired or was revoked.
	ErrUnauthorized = errors.New("realtime: token rejected (HTTP 401)")
	// ErrMalformed is a 2xx answer the client cannot read.
	ErrMalformed = errors.New("realtime: unreadable subjects answer")
)

// Config configures a Client.
type Config struct {
	BaseURL    string            // e.g. https://soms-api-us.realtime-host01.com
	AuthHeader string            // default "Authorization"
	AuthPrefix string            // default "Bearer " when AuthHeader is Authorization
	Timeout    time.Duration     // zero means DefaultTimeout
	Transport  http.RoundTripper // nil means http.DefaultTransport
}

// Client calls Realtime's subjects API.
type Client struct {
	http       *resty.Client
	authHeader string
	authPrefix string
}

// Subject is one record of the subjects answer; only its id is used.
type Subject struct {
	SubjectID int64
}

// New returns a Client.
func New(cfg Config) *Client {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	header, prefix := cfg.AuthHeader, cfg.AuthPrefix
	if header == "" {
		header = "Authorization"
		if prefix == "" {
			prefix = "Bearer "
		}
	}
	return &Client{
		http:       upstream.NewClient(cfg.BaseURL, timeout, cfg.Transport),
		authHeader: header,
		authPrefix: prefix,
	}
}

// FindSubjects returns the subjects of an instance with an e-mail, in
// Realtime's order; none is an empty slice, not an error.
func (c *Client) FindSubjects(ctx context.Context, token, instance, email string) ([]Subject, error) {
	resp, err := c.http.R().
		SetContext(ctx).
		SetHeader("Accept", "application/json").
		SetHeader(c.authHeader, c.authPrefix+token).
		SetQueryParam("instanceName", instance).
		SetQueryParam("email", email).
		Get("/api/v2/subjects")
	if err != nil {
		return nil, upstream.TransportError("realtime", err)
	}
	if resp.StatusCode() == http.StatusUnauthorized {
		return nil, ErrUnauthorized
	}
	if err := upstream.Check("realtime", resp); err != nil {
		return nil, err
	}
	return decodeSubjects(resp.Body())
}

// decodeSubjects reads the array, bare or wrapped.
func decodeSubjects(body []byte) ([]Subject, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, ErrMalformed
	}
	var records []json.RawMessage
	if body[0] == '[' {
		if err := json.Unmarshal(body, &records); err != nil {
			return nil, ErrMalformed
		}
	} else {
		var envelope map[string]json.RawMessage
		if err := json.Unmarshal(body, &envelope); err != nil {
			return nil, ErrMalformed
		}
		found := false
		for _, key := range []string{"data", "items", "subjects", "results"} {
			raw, ok := envelope[key]
			if !ok || string(raw) == "null" {
				continue
			}
			if err := json.Unmarshal(raw, &records); err != nil {
				return nil, ErrMalformed
			}
			found = true
			break
		}
		if !found {
			return nil, ErrMalformed
		}
	}
	subjects := make([]Subject, 0, len(records))
	for i, raw := range records {
		var rec struct {
			SubjectID json.RawMessage `json:"subjectId"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, fmt.Errorf("%w: record %d is not an object", ErrMalformed, i)
		}
		id, err := parseID(rec.SubjectID)
		if err != nil {
			return nil, fmt.Errorf("%w: record %d: %v", ErrMalformed, i, err)
		}
		subjects = append(subjects, Subject{SubjectID: id})
	}
	return subjects, nil
}

func parseID(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errors.New("no subjectId")
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errors.New("subjectId is not a string or number")
		}
	} else {
		s = string(raw)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errors.New("subjectId is not a positive integer")
	}
	return id, nil
}
