package activities

import (
	"errors"
	"net/http"

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

// Error types of an upstream's HTTP answer outside 2xx, by upstream:
// <Upstream>Unavailable for an answer worth retrying (5xx, 408, 429),
// <Upstream>Rejected for any other (4xx). Workflow histories record them,
// so their values never change. Akute's pair is in akute.go.
const (
	ErrTypeActivepiecesUnavailable = "ActivepiecesUnavailable"
	ErrTypeActivepiecesRejected    = "ActivepiecesRejected" // but 404 and 410: FlowDisabled, FlowDeleted
	ErrTypeRealtimeUnavailable     = "RealtimeUnavailable"
	ErrTypeRealtimeRejected        = "RealtimeRejected"
	ErrTypeAlleviateUnavailable    = "AlleviateUnavailable"
	ErrTypeAlleviateRejected       = "AlleviateRejected"
	ErrTypeUpstreamUnavailable     = "UpstreamUnavailable" // a StatusError that names no service
	ErrTypeUpstreamRejected        = "UpstreamRejected"
)

// statusErrTypes are each upstream's two StatusError types, by the
// StatusError's Service.
var statusErrTypes = map[string]struct{ unavailable, rejected string }{
	"activepieces": {ErrTypeActivepiecesUnavailable, ErrTypeActivepiecesRejected},
	"realtime":     {ErrTypeRealtimeUnavailable, ErrTypeRealtimeRejected},
	"alleviate":    {ErrTypeAlleviateUnavailable, ErrTypeAlleviateRejected},
	"akute":        {ErrTypeAkuteUnavailable, ErrTypeAkuteRejected},
	"":             {ErrTypeUpstreamUnavailable, ErrTypeUpstreamRejected},
}

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
	unavailable, rejected := statusErrorTypes(e.Service)
	if e.Temporary() {
		return temporal.NewApplicationErrorWithOptions(e.Error(), unavailable, temporal.ApplicationErrorOptions{
			NextRetryDelay: e.RetryAfter, // zero keeps the policy's backoff
		})
	}
	errType := rejected
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

// statusErrorTypes are the Unavailable and Rejected types of service's
// answers; a service missing from statusErrTypes (a new client: give it
// constants above) gets the Upstream pair.
func statusErrorTypes(service string) (unavailable, rejected string) {
	t, ok := statusErrTypes[service]
	if !ok {
		t = statusErrTypes[""]
	}
	return t.unavailable, t.rejected
}
