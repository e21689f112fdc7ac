// Package tracing is carebridge's OpenTelemetry tracing: one trace per send
// and per webhook delivery, from the starter's HTTP handler through
// Temporal's start or signal, the workflow and each activity, to each
// upstream HTTP call.
//
// Traces are exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, with the OTLP exporter's own
// handling of the standard OTEL_* variables; otherwise the tracer provider
// is OpenTelemetry's no-op one and nothing is recorded.
//
// No span carries PHI. Span names are route patterns, Temporal operations
// and HTTP methods; no body or header is recorded; every span passes through
// redact (redact.go) on its way out, which drops query strings (Realtime's
// lookup carries the e-mail in its query) and reduces every other URL to its
// scheme and host (Activepieces' webhook path is a secret).
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Enabled reports whether the environment asks for traces: an OTLP
// endpoint is set, and neither OTEL_SDK_DISABLED=true nor
// OTEL_TRACES_EXPORTER=none turns them off.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") ||
		strings.EqualFold(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")), "none") {
		return false
	}
	return strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" ||
		strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != ""
}

// Setup installs the global tracer provider and propagator of a program
// ("starter", "worker") from the process environment. Without an OTLP
// endpoint it installs nothing (the global provider stays the no-op one)
// and returns a shutdown that does nothing. The returned shutdown flushes
// the spans still buffered; call it after the program's last span ended
// (after its workers stopped): it waits up to five seconds.
func Setup(ctx context.Context, program string, logger *slog.Logger) (shutdown func(), err error) {
	nothing := func() {}
	if !Enabled(os.Getenv) {
		return nothing, nil
	}
	var exporter sdktrace.SpanExporter
	// The OTLP specification's default protocol is http/protobuf; each
	// exporter reads the rest of OTEL_EXPORTER_OTLP_* itself.
	protocol := cmpOr(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf")
	switch strings.TrimSpace(protocol) {
	case "grpc":
		exporter, err = otlptracegrpc.New(ctx)
	case "http/protobuf":
		exporter, err = otlptracehttp.New(ctx)
	default:
		return nothing, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: carebridge exports traces over grpc or http/protobuf", protocol)
	}
	if err != nil {
		return nothing, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	// The service's name is carebridge-<program> unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES says otherwise (the later option wins).
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("carebridge-"+program)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil && res == nil {
		return nothing, fmt.Errorf("trace resource: %w", err)
	}
	// The SDK reads OTEL_TRACES_SAMPLER(_ARG) and OTEL_BSP_* itself.
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithBatcher(redacting{exporter}),
	)
	otel.SetTracerProvider(tp)
	// W3C trace context only: baggage could carry anything, so none is
	// propagated.
	otel.SetTextMapPropagator(propagation.TraceContext{})
	if logger != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			logger.Warn("tracing", slog.String("error", redactText(err.Error())))
		}))
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tp.Shutdown(ctx)
	}, nil
}

func cmpOr(values ...string) string {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// SpanContextKey is where the Temporal interceptor keeps the current span
// in a workflow's context: a workflow that sets another span there (a
// delivery's, for the work it caused) has its activities traced under it.
var SpanContextKey any = spanContextKey{}

type spanContextKey struct{}

// TemporalInterceptor is the Temporal SDK's OpenTelemetry tracing
// interceptor over the global tracer provider: set on a client's options,
// it traces the client's starts, signals and queries, and (the SDK applies
// a client's interceptors to the workers built on it) every workflow run,
// signal, update and activity of those workers. With tracing off it records
// nothing and writes no header.
func TemporalInterceptor() interceptor.ClientInterceptor {
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer:            otel.GetTracerProvider().Tracer("go.temporal.io/sdk"),
		TextMapPropagator: propagation.TraceContext{},
		DisableBaggage:    true,
		// A run started before tracing was on, or by a client of another
		// tracer, still runs.
		AllowInvalidParentSpans: true,
		// Workflow code reads and sets the span it works under by this key:
		// a case calls Akute under the span of the delivery that asked for
		// the call (workflows/arrival.go).
		SpanContextKey: SpanContextKey,
	})
	if err != nil {
		// Only an invalid option errs, and these are fixed.
		panic(err)
	}
	return i
}

// Server traces each request of a listener: a server span named, once the
// mux has matched, by its route pattern ("POST /api/alleviate/send"), never
// by the URL. Wrap the outermost handler with Server and the mux (or what
// passes it the same request, such as the metrics' instrumentation's inner
// handler) with Route: the span's name comes from the request the mux
// matched.
func Server(next http.Handler) http.Handler {
	return otelhttp.NewHandler(next, "carebridge",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.Method // not matched (yet): the method only
		}),
	)
}

// Route names the request's server span after the mux's route pattern, and
// records it as http.route. A request no route matched keeps the method as
// its name.
func Route(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if r.Pattern == "" {
			return
		}
		span := trace.SpanFromContext(r.Context())
		span.SetName(r.Pattern)
		route := r.Pattern
		if _, path, ok := strings.Cut(route, " "); ok {
			route = path
		}
		span.SetAttributes(attribute.String("http.route", route))
	})
}

// Transport traces each request of an upstream client (a client span,
// named by the method, whose URL is reduced to the upstream's scheme and
// host on export) and passes the trace context on. A nil base is
// http.DefaultTransport.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}

// LogHandler adds the trace id (and span id) of the context a record is
// logged with, when it has a span: a request's log line then leads to its
// trace.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

// Logger is logger with LogHandler.
func Logger(logger *slog.Logger) *slog.Logger { return slog.New(LogHandler(logger.Handler())) }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
