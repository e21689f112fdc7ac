package activepieces_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/upstream"
	"github.com/carebridge/carebridge/fakes/activepiecestest"
	"github.com/carebridge/carebridge/fakes/fake"
)

func signed(t *testing.T, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)}).
		SignedString([]byte("k"))
	require.NoError(t, err)
	return tok
}

type received struct {
	method, path string
	body         []byte
}

// answer serves one canned answer and records what the client sent.
func answer(t *testing.T, status int, body string) (*activepieces.Client, *received) {
	t.Helper()
	got := &received{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path = r.Method, r.URL.Path
		got.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return activepieces.New(activepieces.Config{WebhookURL: srv.URL + "/api/v1/webhooks/flow/sync"}), got
}

func TestFetchTokenShapes(t *testing.T) {
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	jwtValue := signed(t, exp)
	for name, body := range map[string]string{
		"token":        `{"token":"` + jwtValue + `"}`,
		"jwt":          `{"jwt":"` + jwtValue + `"}`,
		"key":          `{"key":"` + jwtValue + `"}`,
		"access_token": `{"access_token":"` + jwtValue + `","expires_in":3600}`,
		"bare string":  jwtValue,
		"JSON string":  `"` + jwtValue + `"`,
	} {
		t.Run(name, func(t *testing.T) {
			c, req := answer(t, 200, body)
			tok, err := c.FetchToken(context.Background())
			require.NoError(t, err)
			assert.Equal(t, jwtValue, tok.Value)
			assert.True(t, tok.ExpiresAt.Equal(exp), "exp read from the JWT: %v", tok.ExpiresAt)
			assert.Equal(t, http.MethodPost, req.method)
			assert.Equal(t, "/api/v1/webhooks/flow/sync", req.path)
			assert.Empty(t, req.body, "step 1 posts an empty body")
		})
	}
}

func TestFetchTokenConfiguredField(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"token":"wrong","realtimeKey":"opaque-key"}`))
	}))
	defer srv.Close()
	c := activepieces.New(activepieces.Config{WebhookURL: srv.URL, TokenField: "realtimeKey"})
	tok, err := c.FetchToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "opaque-key", tok.Value)
	assert.True(t, tok.ExpiresAt.IsZero(), "an opaque token has no known expiry")
}

func TestFetchTokenNoResponse(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"204 sync timeout":     {204, ""},
		"204 with {}":          {204, "{}"},
		"200 empty":            {200, ""},
		"200 with {}":          {200, " {} "},
		"200 whitespace only":  {200, "\n"},
		"200 without a token?": {200, `{"other":"x"}`},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := answer(t, tc.status, tc.body)
			_, err := c.FetchToken(context.Background())
			if strings.Contains(name, "without") {
				assert.ErrorIs(t, err, activepieces.ErrNoToken)
				return
			}
			assert.ErrorIs(t, err, activepieces.ErrNoResponse)
		})
	}
}

func TestFetchTokenDocumentedFailures(t *testing.T) {
	for name, f := range activepiecestest.Presets {
		if f.Status < 300 {
			continue
		}
		t.Run(name, func(t *testing.T) {
			c, _ := answer(t, f.Status, f.Body)
			_, err := c.FetchToken(context.Background())
			var se *upstream.StatusError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, f.Status, se.StatusCode)
			assert.Equal(t, se.Temporary(), f.Status >= 500, "5xx retryable, 404/410/413 not")
			assert.NotContains(t, err.Error(), "message", "bodies stay out of error messages")
		})
	}
}

func TestFetchTokenRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	_, err := activepieces.New(activepieces.Config{WebhookURL: srv.URL}).FetchToken(context.Background())
	var se *upstream.StatusError
	require.ErrorAs(t, err, &se)
	assert.True(t, se.Temporary())
	assert.Equal(t, 7*time.Second, se.RetryAfter)
}

func TestTransportErrorHidesTheSecretURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/api/v1/webhooks/SECRET-FLOW-ID/sync"
	srv.Close() // connection refused from now on
	_, err := activepieces.New(activepieces.Config{WebhookURL: url}).FetchToken(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "SECRET-FLOW-ID")
	assert.Contains(t, err.Error(), "activepieces")
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		time.Sleep(300 * time.Millisecond) // longer than the client waits
	}))
	defer srv.Close()
	c := activepieces.New(activepieces.Config{WebhookURL: srv.URL, Timeout: 50 * time.Millisecond})
	_, err := c.FetchToken(context.Background())
	require.Error(t, err)
	var se *upstream.StatusError
	assert.False(t, errors.As(err, &se), "a timeout is no HTTP answer")
}

func TestTokenNeverPrints(t *testing.T) {
	tok := activepieces.Token{Value: "eyJ.secret.sig"}
	assert.NotContains(t, tok.String(), "secret")
}

// The sandbox fake issues tokens the client reads, with their expiry, and
// validates them for the Realtime fake.
func TestAgainstTheFake(t *testing.T) {
	f := activepiecestest.New([]byte("key"), 10*time.Minute)
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := activepieces.New(activepieces.Config{WebhookURL: srv.URL + "/api/v1/webhooks/flow/sync"})
	tok, err := c.FetchToken(context.Background())
	require.NoError(t, err)
	assert.True(t, f.Valid(tok.Value))
	assert.False(t, f.Valid(tok.Value+"x"))
	assert.WithinDuration(t, time.Now().Add(10*time.Minute), tok.ExpiresAt, 2*time.Second)
	assert.EqualValues(t, 1, f.Issued())

	require.NoError(t, f.Inject(fake.Fault{Preset: "sync_timeout", Times: 1}))
	_, err = c.FetchToken(context.Background())
	assert.ErrorIs(t, err, activepieces.ErrNoResponse)
	_, err = c.FetchToken(context.Background())
	assert.NoError(t, err, "the fault applied once")
}
