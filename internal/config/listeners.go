package config

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"slices"
	"time"
)

// Listener bounds what a client of one HTTP listener may hold: time to send
// its headers and its body, time until its answer, an idle kept-alive
// connection, header bytes, and a share of the requests in flight. Without
// these a client that trickles a byte every few seconds keeps a connection
// (and a goroutine, and a body buffer) for as long as it likes.
type Listener struct {
	Addr string
	// ReadHeaderTimeout bounds the request line and headers; ReadTimeout
	// the whole request, body included.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// WriteTimeout runs from the end of the headers to the end of the
	// answer, so it must cover reading the body, the handler's work and
	// writing the answer.
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration // between two requests on a kept-alive connection
	MaxHeaderBytes int
	// MaxInFlight bounds the requests being handled at once; one more is
	// answered 503 with Retry-After at once, instead of piling up on
	// Temporal. Paths in Exempt are not counted.
	MaxInFlight int
	Exempt      []string
	// TLS is the listener's TLS (ListenerTLS.ServerConfig: its certificate
	// re-read when the files change); nil: plain HTTP.
	TLS *tls.Config
}

// DefaultMaxInFlight is CAREBRIDGE_MAX_IN_FLIGHT's default: twice the
// concurrency at which the benchmark's throughput stopped growing (64 to
// 128, BENCHMARKS.md); past it requests only queue inside Temporal, and
// every caller waits longer.
const DefaultMaxInFlight = 256

// idleTimeout is longer than the usual load balancer's idle timeout (60 s on
// AWS's), so that the balancer, not carebridge, closes an idle connection:
// a backend that closes first races the balancer's next request on it, which
// then fails. It is also longer than a Prometheus scrape interval.
const idleTimeout = 2 * time.Minute

// publicReadTimeout bounds reading a request on the public listener. Its
// largest body is CareValidate's, 20 MiB: 30 s asks for 5.6 Mbit/s, far
// below what a partner's servers send at.
const publicReadTimeout = 30 * time.Second

// PublicListener is the starter's public listener: the API, the webhooks,
// /healthz.
func (s Starter) PublicListener() Listener {
	return Listener{
		Addr:              s.HTTPAddr,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       publicReadTimeout,
		// The longest answer is a send's: its body, then the start, then
		// up to CAREBRIDGE_SEND_WAIT waiting for Alleviate's answer; 30 s
		// more for the start's RPC and writing the answer. Shorter, a
		// send that finishes at the end of its wait would lose its answer
		// (the connection is cut mid-write). The webhooks (10 s of
		// Temporal after the body) and the case query (15 s) fit inside.
		WriteTimeout: publicReadTimeout + s.SendWait + 30*time.Second,
		IdleTimeout:  idleTimeout,
		// Ample for what reaches it: bearer keys, the partners' signature
		// headers (Akute's is refused past 1 KiB anyway), Idempotency-Key
		// (255), a proxy's X-Forwarded-*. Go's default is 1 MiB.
		MaxHeaderBytes: 64 << 10,
		MaxInFlight:    s.MaxInFlight,
		// A liveness probe must not fail because the API is busy (the
		// orchestrator would restart a healthy starter under load), and
		// /healthz holds nothing: no body, no Temporal call.
		Exempt: []string{"/healthz"},
	}
}

// InternalListener is the starter's internal listener: the codec endpoint,
// /metrics, /readyz, /healthz. Operators' tools and the Web UI call it.
func (s Starter) InternalListener() Listener {
	return Listener{
		Addr:              s.InternalAddr,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // codec bodies, up to 16 MiB, from the operators' network
		// The body, then a decode or /readyz's Temporal call (5 s), then
		// an answer as large as the body.
		WriteTimeout: time.Minute,
		IdleTimeout:  idleTimeout,
		// The Web UI calls the codec endpoint from a browser, which sends
		// the cookies of the UI's host along.
		MaxHeaderBytes: 64 << 10,
		// The Web UI and Prometheus: a browser opens at most six
		// connections to a host; a few scrapers.
		MaxInFlight: 64,
		Exempt:      []string{"/healthz"}, // as on the public listener
	}
}

// MetricsListener is the worker's Prometheus listener, also its health
// check's.
func (w Worker) MetricsListener() Listener {
	return Listener{
		Addr:              w.MetricsAddr,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second, // a GET: no body
		// Gathering and writing take milliseconds; Prometheus gives up on
		// a scrape after its own timeout (10 s by default) anyway.
		WriteTimeout:   30 * time.Second,
		IdleTimeout:    idleTimeout,
		MaxHeaderBytes: 16 << 10, // a scraper's few headers
		// One scrape at a time per Prometheus (a pair, with HA), and the
		// health check: 16 leaves room and stops a flood of gatherings.
		MaxInFlight: 16,
	}
}

// Server is an http.Server for l serving h, with l's timeouts and header
// limit. h should be behind Limit.
func (l Listener) Server(h http.Handler) *http.Server {
	return &http.Server{
		Addr:              l.Addr,
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		TLSConfig:         l.TLS,
	}
}

// ListenAndServe serves srv (made by Server) over TLS when it has a
// tls.Config, else plain HTTP, until it is shut down: then it returns nil.
func ListenAndServe(srv *http.Server) error {
	var err error
	if srv.TLSConfig != nil {
		err = srv.ListenAndServeTLS("", "") // the certificate comes from TLSConfig.GetCertificate
	} else {
		err = srv.ListenAndServe()
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// overloaded is the answer past the bound, in the API's error shape.
const overloaded = `{"error":{"code":"overloaded","message":"too many requests are in flight; retry shortly"}}` + "\n"

// Limit lets at most l.MaxInFlight requests into next at once (a
// semaphore). One more is answered 503 with Retry-After at once, rather
// than queued: a queue would hold its connection and body anyway, and the
// caller (a partner's retries, the send's client) is better told to come
// back: Retry-After is one second, as a request takes about a tenth of one
// and a slot frees soon. l.Exempt's paths pass uncounted. Put it inside any
// instrumentation, so that its 503s are counted too.
func (l Listener) Limit(next http.Handler) http.Handler {
	slots := make(chan struct{}, l.MaxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(l.Exempt, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, overloaded)
		}
	})
}
