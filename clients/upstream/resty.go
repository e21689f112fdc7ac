package upstream

import (
	"net/http"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/carebridge/carebridge/internal/tracing"
)

// NewClient returns a resty client for one upstream. Retries are left to
// Temporal's activity retry policy, so resty's own are off; resty's logger is
// silenced because its messages can quote URLs and bodies that carry PHI.
// Every call is traced (a client span under the activity's, when tracing is
// on).
func NewClient(baseURL string, timeout time.Duration, transport http.RoundTripper) *resty.Client {
	c := resty.New().
		SetBaseURL(baseURL).
		SetTimeout(timeout).
		SetRetryCount(0).
		SetLogger(silentLogger{}).
		SetHeader("User-Agent", "carebridge/1")
	if transport == nil {
		transport = c.GetClient().Transport // resty's own
	}
	// Each call is a client span of the activity's trace; its URL is
	// exported without path or query (internal/tracing).
	c.SetTransport(tracing.Transport(transport))
	return c
}

// Check turns a non-2xx response into a *StatusError.
func Check(service string, resp *resty.Response) error {
	if resp.IsSuccess() {
		return nil
	}
	return New(service, resp.StatusCode(), resp.Header(), resp.Body())
}

type silentLogger struct{}

func (silentLogger) Errorf(string, ...any) {}
func (silentLogger) Warnf(string, ...any)  {}
func (silentLogger) Debugf(string, ...any) {}
