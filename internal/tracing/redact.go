package tracing

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// redacting is the exporter every span leaves through. The
// instrumentations record what they know of a request: otelhttp's client
// span puts the full URL in url.full, and an error's message (a *url.Error
// quotes its URL) in the status and an exception event. A URL's query can
// hold PHI (Realtime's patient lookup carries the e-mail) and an upstream's
// path a secret (Activepieces' webhook), so:
//
//   - url.query (and the older http.query) is dropped;
//   - a path (url.path, http.target) keeps its path, without its query;
//   - every other URL in any string value, the span's name and status, and
//     its events' attributes (url.full, http.url, exception.message) is
//     reduced to its scheme and host.
type redacting struct{ sdktrace.SpanExporter }

func (r redacting) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = redactedSpan{s}
	}
	return r.SpanExporter.ExportSpans(ctx, out)
}

// redactedSpan is a span as exported: its name, status, attributes and
// events' attributes redacted.
type redactedSpan struct{ sdktrace.ReadOnlySpan }

func (s redactedSpan) Name() string { return redactText(s.ReadOnlySpan.Name()) }

func (s redactedSpan) Attributes() []attribute.KeyValue {
	return redactAttrs(s.ReadOnlySpan.Attributes())
}

func (s redactedSpan) Status() sdktrace.Status {
	st := s.ReadOnlySpan.Status()
	st.Description = "" // an error's message: see dropped; the code stays
	return st
}

func (s redactedSpan) Events() []sdktrace.Event {
	events := s.ReadOnlySpan.Events()
	out := make([]sdktrace.Event, len(events))
	for i, e := range events {
		e.Name = redactText(e.Name)
		e.Attributes = redactAttrs(e.Attributes)
		out[i] = e
	}
	return out
}

func (s redactedSpan) Links() []sdktrace.Link {
	links := s.ReadOnlySpan.Links()
	out := make([]sdktrace.Link, len(links))
	for i, l := range links {
		l.Attributes = redactAttrs(l.Attributes)
		out[i] = l
	}
	return out
}

// dropped are attributes never exported: query strings, and an error's
// message, which can quote the data it failed on (the codec keeps failure
// messages encrypted in history for that reason; exception.type stays).
var dropped = map[attribute.Key]bool{"url.query": true, "http.query": true, "exception.message": true}

// paths are attributes holding a path and maybe a query: the query goes.
var paths = map[attribute.Key]bool{"url.path": true, "http.target": true}

func redactAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(attrs))
	for _, kv := range attrs {
		switch {
		case dropped[kv.Key]:
			continue
		case kv.Value.Type() == attribute.STRING && paths[kv.Key]:
			p, _, _ := strings.Cut(kv.Value.AsString(), "?")
			kv = kv.Key.String(p)
		case kv.Value.Type() == attribute.STRING:
			kv = kv.Key.String(redactText(kv.Value.AsString()))
		case kv.Value.Type() == attribute.STRINGSLICE:
			vs := kv.Value.AsStringSlice()
			for i := range vs {
				vs[i] = redactText(vs[i])
			}
			kv = kv.Key.StringSlice(vs)
		}
		out = append(out, kv)
	}
	return out
}

// anyURL finds absolute URLs in free text (up to a space or a quote).
var anyURL = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)

// redactText reduces every absolute URL in s to its scheme and host, and
// cuts a query off whatever else looks like one ("?email=" in a bare path).
func redactText(s string) string {
	if strings.Contains(s, "://") {
		s = anyURL.ReplaceAllStringFunc(s, func(raw string) string {
			u, err := url.Parse(raw)
			if err != nil || u.Host == "" {
				scheme, _, _ := strings.Cut(raw, "://")
				return scheme + "://…"
			}
			return u.Scheme + "://" + u.Host
		})
	}
	if i := strings.IndexByte(s, '?'); i >= 0 && strings.Contains(s[i:], "=") {
		s = s[:i]
	}
	return s
}
