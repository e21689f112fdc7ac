package tracing

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

const (
	email = "john.doe@example.com"
	phone = "555-123-4567"
)

// record installs an in-memory exporter behind redacting as the global
// provider for one test.
func record(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(redacting{mem}))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(context.Background()) })
	return mem
}

// everything a span says, as text.
func spanText(s tracetest.SpanStub) string {
	var b strings.Builder
	b.WriteString(s.Name + " " + s.Status.Description)
	for _, kv := range s.Attributes {
		b.WriteString(" " + string(kv.Key) + "=" + kv.Value.String())
	}
	for _, e := range s.Events {
		b.WriteString(" " + e.Name)
		for _, kv := range e.Attributes {
			b.WriteString(" " + string(kv.Key) + "=" + kv.Value.String())
		}
	}
	return b.String()
}

// An upstream call's span names the upstream's host, never its path (a
// webhook's secret) nor its query (Realtime's lookup carries the e-mail),
// in its attributes as in a failure's message.
func TestUpstreamSpansCarryNoQueryNorPath(t *testing.T) {
	mem := record(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.NotEmpty(t, r.Header.Get("traceparent"), "the trace context reaches the upstream")
		w.WriteHeader(http.StatusOK)
	}))
	defer up.Close()
	c := &http.Client{Transport: Transport(nil)}
	ctx, parent := otel.Tracer("t").Start(context.Background(), "RunActivity:LookupRealtimePatient")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, up.URL+"/webhooks/SECRETFLOW/sync?email="+email+"&phone="+phone, nil)
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	// and one that fails: its error quotes the URL
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/webhooks/SECRETFLOW?email="+email, nil)
	_, err = c.Do(req)
	require.Error(t, err)
	parent.End()

	spans := mem.GetSpans()
	require.Len(t, spans, 3)
	for _, s := range spans {
		text := spanText(s)
		t.Log(text)
		for _, secret := range []string{email, phone, "SECRETFLOW", "email="} {
			assert.NotContains(t, text, secret)
		}
	}
	assert.Equal(t, "GET", spans[0].Name)
	assert.Contains(t, spanText(spans[0]), "url.full="+up.URL)
	assert.Equal(t, codes.Error, spans[1].Status.Code)
}

// A request's server span is named by the route the mux matched, and the
// request's log line carries its trace id.
func TestServerSpanIsNamedByItsRoute(t *testing.T) {
	mem := record(t)
	var logs bytes.Buffer
	logger := Logger(slog.New(slog.NewJSONHandler(&logs, nil)))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/cases/{case_id}", func(w http.ResponseWriter, r *http.Request) {})
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Route(mux).ServeHTTP(w, r)
		logger.InfoContext(r.Context(), "http request", slog.String("route", r.Pattern))
	})
	srv := httptest.NewServer(Server(logged))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/cases/ADA-1?email=" + email)
	require.NoError(t, err)
	resp.Body.Close()
	resp, err = http.Get(srv.URL + "/nowhere?phone=" + phone)
	require.NoError(t, err)
	resp.Body.Close()

	spans := mem.GetSpans()
	require.Len(t, spans, 2)
	assert.Equal(t, "GET /api/cases/{case_id}", spans[0].Name)
	assert.Contains(t, spanText(spans[0]), "http.route=/api/cases/{case_id}")
	assert.Equal(t, "GET", spans[1].Name)
	for _, s := range spans {
		assert.NotContains(t, spanText(s), email)
		assert.NotContains(t, spanText(s), phone)
	}
	assert.Contains(t, logs.String(), `"trace_id":"`+spans[0].SpanContext.TraceID().String()+`"`)
}

func TestRedactText(t *testing.T) {
	for in, want := range map[string]string{
		`Get "https://realtime.example/api/patients?email=a@b.c": dial tcp: refused`: `Get "https://realtime.example": dial tcp: refused`,
		"/api/patients?email=a@b.c":   "/api/patients",
		"alleviate answered HTTP 500": "alleviate answered HTTP 500",
		"alleviate-send-clinic-crm-1": "alleviate-send-clinic-crm-1",
	} {
		assert.Equal(t, want, redactText(in))
	}
}

func TestEnabled(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	assert.False(t, Enabled(env(nil)))
	assert.True(t, Enabled(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})))
	assert.True(t, Enabled(env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})))
	assert.False(t, Enabled(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"})))
	assert.False(t, Enabled(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"})))
}
