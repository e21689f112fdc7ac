// Package upstream is the HTTP plumbing every upstream client shares: a resty
// client with carebridge's defaults, and StatusError, an upstream's answer
// outside 2xx in a form the activities can classify for Temporal's retries.
//
// An upstream's response body can carry PHI, so it is kept on the error for
// code that needs it but never appears in Error().
package upstream

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// StatusError is an HTTP answer outside 2xx.
type StatusError struct {
	Service    string        // "activepieces", "realtime", ...
	StatusCode int           // the HTTP status
	RetryAfter time.Duration // parsed Retry-After, zero when absent
	Body       []byte        // the raw body; may hold PHI, never printed
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered HTTP %d", e.Service, e.StatusCode)
}

// Temporary reports whether the same request may succeed later: timeouts,
// throttling and server errors.
func (e *StatusError) Temporary() bool {
	return Temporary(e.StatusCode)
}

// Temporary reports whether an HTTP status is worth retrying.
func Temporary(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// New builds a StatusError from a response's status, headers and body.
func New(service string, status int, header http.Header, body []byte) *StatusError {
	return &StatusError{
		Service:    service,
		StatusCode: status,
		RetryAfter: ParseRetryAfter(header.Get("Retry-After"), time.Now()),
		Body:       body,
	}
}

// ParseRetryAfter reads a Retry-After value, either delay-seconds or an
// HTTP-date (RFC 9110 §10.2.3). Anything unreadable or in the past is zero.
func ParseRetryAfter(value string, now time.Time) time.Duration {
	if value == "" {
		return 0
	}
	if secs, err := strconv.Atoi(value); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(value); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// TransportError reports a request that got no HTTP answer (refused, reset,
// timed out) without the request URL, which can hold a secret (a webhook URL)
// or PHI (an e-mail in a query string).
func TransportError(service string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s: %s request failed: %w", service, uerr.Op, uerr.Err)
	}
	return fmt.Errorf("%s: request failed: %w", service, err)
}
