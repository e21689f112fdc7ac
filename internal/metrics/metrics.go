// Package metrics exposes Prometheus metrics: the Temporal SDK's own (through
// the SDK's tally contrib package) and the HTTP server's, per route. Labels
// are route patterns, methods and status codes: never a path with an id in
// it, never anything from a request body.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Registry holds one program's metrics.
type Registry struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	closer   interface{ Close() error }

	upstreamOnce sync.Once
	upstream     *upstreamErrors
	// SDK is the handler for client.Options.MetricsHandler.
	SDK client.MetricsHandler
}

// New returns a registry with Go runtime and process metrics, the SDK's
// metrics (their names start with "temporal_"), and HTTP metrics prefixed
// program's name.
func New(program string) *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: reg, Gatherer: reg})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
		// No prefix: the SDK's names start with "temporal_" already
		// (temporal_workflow_task_schedule_to_start_latency_seconds).
	}, time.Second)
	r := &Registry{
		reg:    reg,
		closer: closer,
		SDK:    sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: program + "_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: program + "_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(r.requests, r.latency)
	return r
}

// Register adds a collector (a program's own counters).
func (r *Registry) Register(c prometheus.Collector) { r.reg.MustRegister(c) }

// Handler serves /metrics.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
}

// Close flushes the SDK scope.
func (r *Registry) Close() error { return r.closer.Close() }

// Instrument counts, times and (with a logger) logs every request by its mux
// route pattern: never a query string or a body, which can carry PHI. What a
// handler adds with Annotate (the caller's name) joins the request's line.
func (r *Registry) Instrument(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		notes := &annotations{}
		req = req.WithContext(context.WithValue(req.Context(), annotationsKey{}, notes))
		next.ServeHTTP(rec, req)
		route := req.Pattern
		if route == "" {
			route = "unmatched"
		}
		r.requests.WithLabelValues(route, req.Method, strconv.Itoa(rec.status)).Inc()
		elapsed := time.Since(start)
		r.latency.WithLabelValues(route, req.Method).Observe(elapsed.Seconds())
		if logger != nil {
			attrs := append([]slog.Attr{slog.String("route", route), slog.Int("status", rec.status),
				slog.Duration("duration", elapsed), slog.String("workflow_id", rec.Header().Get("X-Workflow-Id"))}, notes.attrs...)
			logger.LogAttrs(req.Context(), slog.LevelInfo, "http request", attrs...)
		}
	})
}

// annotations are what the handlers of one request add to its line.
type annotations struct{ attrs []slog.Attr }

type annotationsKey struct{}

// Annotate adds attributes to the log line of the request whose context ctx
// is (Instrument's): ids and names, never PHI or a credential.
func Annotate(ctx context.Context, attrs ...slog.Attr) {
	if notes, ok := ctx.Value(annotationsKey{}).(*annotations); ok {
		notes.attrs = append(notes.attrs, attrs...)
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	s.status = status
	s.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
