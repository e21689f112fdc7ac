package config_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/internal/config"
)

// Every listener has every bound, and the public one lets a send wait its
// whole CAREBRIDGE_SEND_WAIT (after reading its body) and still write its
// answer.
func TestEveryListenerIsBounded(t *testing.T) {
	env := config.FromMap(map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"),
		"AKUTE_WEBHOOK_SECRET": "s", "AKUTE_BASE_URL": "http://akute", "AKUTE_API_KEY": "k", "CAREBRIDGE_SEND_WAIT": "2m"})
	s, w := env.LoadStarter(), env.LoadWorker()
	require.NoError(t, env.Err())
	for name, l := range map[string]config.Listener{
		"public": s.PublicListener(), "internal": s.InternalListener(), "worker metrics": w.MetricsListener(),
	} {
		srv := l.Server(http.NotFoundHandler())
		assert.Equal(t, l.Addr, srv.Addr, name)
		for field, v := range map[string]time.Duration{"ReadHeaderTimeout": srv.ReadHeaderTimeout,
			"ReadTimeout": srv.ReadTimeout, "WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout} {
			assert.Positive(t, v, "%s: %s", name, field)
		}
		assert.LessOrEqual(t, srv.ReadHeaderTimeout, srv.ReadTimeout, name)
		assert.Greater(t, srv.WriteTimeout, srv.ReadTimeout, "%s: the answer comes after the body", name)
		assert.Positive(t, srv.MaxHeaderBytes, name)
		assert.Less(t, srv.MaxHeaderBytes, http.DefaultMaxHeaderBytes, name)
		assert.Positive(t, l.MaxInFlight, name)
	}
	public := s.PublicListener()
	assert.Greater(t, public.WriteTimeout, public.ReadTimeout+2*time.Minute, "a body, then the whole send wait")
	assert.Equal(t, []string{"/healthz"}, public.Exempt)
	assert.Equal(t, config.DefaultMaxInFlight, public.MaxInFlight)
	assert.Equal(t, s.HTTPAddr, public.Addr)
	assert.Equal(t, w.MetricsAddr, w.MetricsListener().Addr)
}

func TestMaxInFlightIsConfigurable(t *testing.T) {
	env := config.FromMap(map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"), "AKUTE_WEBHOOK_SECRET": "s",
		"CAREBRIDGE_MAX_IN_FLIGHT": "32"})
	assert.Equal(t, 32, env.LoadStarter().PublicListener().MaxInFlight)
	require.NoError(t, env.Err())

	env = config.FromMap(map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"), "AKUTE_WEBHOOK_SECRET": "s",
		"CAREBRIDGE_MAX_IN_FLIGHT": "0"})
	env.LoadStarter()
	assert.EqualError(t, env.Err(), `CAREBRIDGE_MAX_IN_FLIGHT="0" is not a positive integer`)
}

// A full listener answers 503 with Retry-After at once, in the API's error
// shape; its exempt paths still answer; a freed slot lets the next in.
func TestLimitAnswers503WhenFull(t *testing.T) {
	l := config.Listener{MaxInFlight: 2, Exempt: []string{"/healthz"}}
	entered, release := make(chan struct{}), make(chan struct{})
	h := l.Limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}))
	serve := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	var wg sync.WaitGroup
	for range l.MaxInFlight {
		wg.Go(func() { assert.Equal(t, http.StatusOK, serve("/slow").Code) })
		<-entered
	}

	full := serve("/other")
	assert.Equal(t, http.StatusServiceUnavailable, full.Code)
	assert.Equal(t, "1", full.Header().Get("Retry-After"))
	assert.Equal(t, "application/json", full.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"error":{"code":"overloaded","message":"too many requests are in flight; retry shortly"}}`, full.Body.String())
	assert.Equal(t, http.StatusOK, serve("/healthz").Code, "exempt: answers while the listener is full")

	release <- struct{}{}
	require.Eventually(t, func() bool { return serve("/other").Code == http.StatusOK }, 10*time.Second, 10*time.Millisecond,
		"a freed slot lets the next request in")
	close(release)
	wg.Wait()
}
