package upstream_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/carebridge/carebridge/clients/upstream"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for value, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"30":                            30 * time.Second,
		"-5":                            0,
		"soon":                          0,
		"Sat, 21 Nov 2026 12:00:45 GMT": 45 * time.Second,
		"Sat, 21 Nov 2026 11:00:00 GMT": 0, // in the past
	} {
		assert.Equal(t, want, upstream.ParseRetryAfter(value, now), "Retry-After %q", value)
	}
}

func TestStatusErrorKeepsTheBodyOutOfItsMessage(t *testing.T) {
	err := upstream.New("alleviate", 500, http.Header{}, []byte(`{"email":"john.doe@example.com"}`))
	assert.Equal(t, "alleviate answered HTTP 500", err.Error())
	assert.True(t, err.Temporary())
	assert.False(t, upstream.New("alleviate", 400, http.Header{}, nil).Temporary())
}

func TestTransportErrorDropsTheURL(t *testing.T) {
	err := upstream.TransportError("realtime", &url.Error{
		Op: "Get", URL: "http://x/api?email=john.doe@example.com", Err: errors.New("connection refused"),
	})
	assert.Equal(t, "realtime: Get request failed: connection refused", err.Error())
}
