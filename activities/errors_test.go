package activities

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/realtime"
	"github.com/carebridge/carebridge/clients/upstream"
)

func TestClassify(t *testing.T) {
	status := func(service string, code int, retryAfter string) error {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return upstream.New(service, code, h, []byte("body with PHI"))
	}
	for name, tc := range map[string]struct {
		err          error
		wantType     string
		nonRetryable bool
		nextDelay    time.Duration
	}{
		"activepieces 204":      {activepieces.ErrNoResponse, ErrTypeActivepiecesNoResponse, false, 0},
		"activepieces no token": {activepieces.ErrNoToken, ErrTypeActivepiecesNoToken, true, 0},
		"activepieces 500":      {status("activepieces", 500, ""), "ActivepiecesUnavailable", false, 0},
		"activepieces 404":      {status("activepieces", 404, ""), ErrTypeActivepiecesFlowDisabled, true, 0},
		"activepieces 410":      {status("activepieces", 410, ""), ErrTypeActivepiecesFlowDeleted, true, 0},
		"activepieces 413":      {status("activepieces", 413, ""), "ActivepiecesRejected", true, 0},
		"realtime 401":          {realtime.ErrUnauthorized, ErrTypeRealtimeUnauthorized, true, 0},
		"realtime malformed":    {realtime.ErrMalformed, ErrTypeRealtimeMalformed, true, 0},
		"realtime 400":          {status("realtime", 400, ""), "RealtimeRejected", true, 0},
		"realtime 429":          {status("realtime", 429, "12"), "RealtimeUnavailable", false, 12 * time.Second},
		"alleviate 503":         {status("alleviate", 503, ""), "AlleviateUnavailable", false, 0},
		"connection refused":    {errors.New("alleviate: Post request failed: refused"), ErrTypeUpstreamUnreachable, false, 0},
	} {
		t.Run(name, func(t *testing.T) {
			err := classify(tc.err)
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			assert.Equal(t, tc.wantType, appErr.Type())
			assert.Equal(t, tc.nonRetryable, appErr.NonRetryable())
			assert.Equal(t, tc.nextDelay, appErr.NextRetryDelay())
			assert.NotContains(t, appErr.Error(), "PHI")
		})
	}
}
