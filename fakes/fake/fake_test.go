package fake_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/fakes/fake"
)

func newServer(t *testing.T) (*fake.Harness, *httptest.Server) {
	t.Helper()
	h := fake.New(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "real answer")
	}), map[string]fake.Fault{"busy": {Status: 503, Body: `{"message":"busy"}`}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFaultsApplyInOrderThenPassThrough(t *testing.T) {
	_, srv := newServer(t)
	status, _ := do(t, "POST", srv.URL+"/_sandbox/faults", `{"status":500,"times":2}`)
	require.Equal(t, 204, status)
	status, _ = do(t, "POST", srv.URL+"/_sandbox/faults", `{"status":429,"retry_after":"3","times":1}`)
	require.Equal(t, 204, status)

	var got []int
	for range 4 {
		s, _ := do(t, "GET", srv.URL+"/x", "")
		got = append(got, s)
	}
	assert.Equal(t, []int{500, 500, 429, 200}, got)
}

func TestRetryAfterPresetAndRecording(t *testing.T) {
	h, srv := newServer(t)
	require.NoError(t, h.Inject(fake.Fault{Status: 429, RetryAfter: "7", Times: 1}))
	resp, err := http.Post(srv.URL+"/a?q=1", "application/json", strings.NewReader(`{"k":1}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "7", resp.Header.Get("Retry-After"))

	status, body := do(t, "POST", srv.URL+"/_sandbox/faults", `{"preset":"busy","times":1}`)
	require.Equal(t, 204, status, body)
	status, body = do(t, "GET", srv.URL+"/b", "")
	assert.Equal(t, 503, status)
	assert.JSONEq(t, `{"message":"busy"}`, body)

	status, _ = do(t, "POST", srv.URL+"/_sandbox/faults", `{"preset":"nope"}`)
	assert.Equal(t, 400, status, "an unknown preset is refused")

	reqs := h.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/a", reqs[0].Path)
	assert.Equal(t, "q=1", reqs[0].Query)
	assert.Equal(t, `{"k":1}`, reqs[0].Body)
	assert.True(t, reqs[0].Fault)

	status, body = do(t, "GET", srv.URL+"/_sandbox/requests", "")
	assert.Equal(t, 200, status)
	assert.Contains(t, body, `"path":"/b"`)
	status, _ = do(t, "DELETE", srv.URL+"/_sandbox/requests", "")
	assert.Equal(t, 204, status)
	assert.Empty(t, h.Requests())
}

func TestDropAndClear(t *testing.T) {
	h, srv := newServer(t)
	require.NoError(t, h.Inject(fake.Fault{Drop: true}))
	_, err := http.Get(srv.URL + "/x")
	assert.Error(t, err, "the connection is closed with no answer")
	_, err = http.Get(srv.URL + "/x")
	assert.Error(t, err, "times 0 lasts until cleared")

	status, _ := do(t, "DELETE", srv.URL+"/_sandbox/faults", "")
	require.Equal(t, 204, status)
	status, body := do(t, "GET", srv.URL+"/x", "")
	assert.Equal(t, 200, status)
	assert.Equal(t, "real answer", body)
}

// Latency is checked by what a client sees, an answer held back past its
// patience, never by timing the request.
func TestLatency(t *testing.T) {
	h, srv := newServer(t)
	impatient := &http.Client{Timeout: 100 * time.Millisecond}
	status, _ := do(t, "PUT", srv.URL+"/_sandbox/latency", `{"latency":"5s"}`)
	require.Equal(t, 204, status)
	_, err := impatient.Get(srv.URL + "/x")
	assert.Error(t, err, "every answer is held back")

	h.SetLatency(0)
	require.NoError(t, h.Inject(fake.Fault{Latency: 5 * time.Second, Times: 1}))
	_, err = impatient.Get(srv.URL + "/x")
	assert.Error(t, err, "a latency fault holds its answer back")
	require.NoError(t, h.Inject(fake.Fault{Latency: time.Millisecond, Times: 1}))
	status, body := do(t, "GET", srv.URL+"/x", "")
	assert.Equal(t, 200, status, "a latency-only fault still serves")
	assert.Equal(t, "real answer", body)
	assert.Len(t, h.Requests(), 3)

	status, _ = do(t, "PUT", srv.URL+"/_sandbox/latency", `{"latency":"soon"}`)
	assert.Equal(t, 400, status)
}
