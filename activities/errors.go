package activities

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/realtime"
	"github.com/carebridge/carebridge/clients/upstream"
)

// Error types that operators see in the Web UI and that callers map to HTTP.
const (
	ErrTypePatientNotFound          = "PatientNotFound"
	ErrTypeActivepiecesNoResponse   = "ActivepiecesNoResponse"
	ErrTypeActivepiecesNoToken      = "ActivepiecesNoToken"
	ErrTypeActivepiecesFlowDisabled = "ActivepiecesFlowDisabled"
	ErrTypeActivepiecesFlowDeleted  = "ActivepiecesFlowDeleted"
	ErrTypeRealtimeUnauthorized     = "RealtimeUnauthorized"
	ErrTypeRealtimeMalformed        = "RealtimeMalformedAnswer"
	ErrTypeUpstreamUnreachable      = "UpstreamUnreachable"
)

// classify turns a client error into the Temporal error that says whether
// retrying can help. Messages name the upstream and the status, never a
// body, URL or token.
func classify(err error) error {
	var status *upstream.StatusError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, activepieces.ErrNoResponse):
		return temporal.NewApplicationError(err.Error(), ErrTypeActivepiecesNoResponse)
	case errors.Is(err, activepieces.ErrNoToken):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeActivepiecesNoToken, nil)
	case errors.Is(err, realtime.ErrUnauthorized):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRealtimeUnauthorized, nil)
	case errors.Is(err, realtime.ErrMalformed):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRealtimeMalformed, nil)
	case errors.As(err, &status):
		return classifyStatus(status)
	default:
		// No HTTP answer at all: refused, reset, timed out. Worth retrying.
		return temporal.NewApplicationError(err.Error(), ErrTypeUpstreamUnreachable)
	}
}

func classifyStatus(e *upstream.StatusError) error {
	name := titled(e.Service)
	if e.Temporary() {
		return temporal.NewApplicationErrorWithOptions(e.Error(), name+"Unavailable", temporal.ApplicationErrorOptions{
			NextRetryDelay: e.RetryAfter, // zero keeps the policy's backoff
		})
	}
	errType := fmt.Sprintf("%sRejected", name)
	if e.Service == "activepieces" {
		switch e.StatusCode {
		case http.StatusNotFound:
			errType = ErrTypeActivepiecesFlowDisabled
		case http.StatusGone:
			errType = ErrTypeActivepiecesFlowDeleted
		}
	}
	return temporal.NewNonRetryableApplicationError(e.Error(), errType, nil)
}

func titled(s string) string {
	if s == "" {
		return "Upstream"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
