// Package fake is the machinery every sandbox upstream shares: it records what
// the upstream received and injects faults (status codes, latency,
// Retry-After, dropped connections) in front of the upstream's own handler.
//
// Each fake exposes a control API under /_sandbox/ beside its own routes:
//
//	GET    /_sandbox/requests  what it received, oldest first
//	DELETE /_sandbox/requests  forget it
//	POST   /_sandbox/faults    queue a Fault (JSON); faults apply in order
//	DELETE /_sandbox/faults    clear every fault
//	PUT    /_sandbox/latency   {"latency":"50ms"}: added to every answer
//
// Other /_sandbox/ routes are the upstream's own (Alleviate's leads, say).
package fake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Fault is one injected misbehaviour. Times is how many requests it applies
// to; zero means until cleared.
type Fault struct {
	Status     int           `json:"status,omitempty"`      // answer this status instead of serving
	Body       string        `json:"body,omitempty"`        // with this body (JSON assumed)
	RetryAfter string        `json:"retry_after,omitempty"` // and this Retry-After header
	Latency    time.Duration `json:"latency,omitempty"`     // wait this long first
	AnswerLate time.Duration `json:"answer_late,omitempty"` // serve, then hold the answer this long (the work done)
	Drop       bool          `json:"drop,omitempty"`        // close the connection without an answer
	Preset     string        `json:"preset,omitempty"`      // a named fault of the upstream (see Presets)
	Times      int           `json:"times,omitempty"`
	// Only, when set, limits the fault to requests of one method whose path
	// ends so ("POST /tasks"); others pass by without consuming it.
	Only string `json:"only,omitempty"`
}

// UnmarshalJSON accepts latency and answer_late as Go duration strings
// ("250ms") or as nanoseconds.
func (f *Fault) UnmarshalJSON(data []byte) error {
	type plain Fault
	aux := struct {
		*plain
		Latency    json.RawMessage `json:"latency,omitempty"`
		AnswerLate json.RawMessage `json:"answer_late,omitempty"`
	}{plain: (*plain)(f)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	var err1, err2 error
	f.Latency, err1 = parseDuration(aux.Latency)
	f.AnswerLate, err2 = parseDuration(aux.AnswerLate)
	return errors.Join(err1, err2)
}

func parseDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return time.ParseDuration(s)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("latency: want a duration such as \"50ms\"")
	}
	return time.Duration(n), nil
}

// Request is what the upstream received.
type Request struct {
	Time   time.Time   `json:"time"`
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query,omitempty"`
	Header http.Header `json:"header"`
	Body   string      `json:"body,omitempty"`
	Fault  bool        `json:"fault,omitempty"` // answered by an injected fault
}

// Harness wraps one upstream's handler.
type Harness struct {
	next    http.Handler
	presets map[string]Fault

	mu       sync.Mutex
	requests []Request
	faults   []Fault
	latency  time.Duration
}

// New wraps next. presets names the upstream's documented failure answers so
// that a fault can ask for one by name.
func New(next http.Handler, presets map[string]Fault) *Harness {
	return &Harness{next: next, presets: presets}
}

// Requests returns a copy of what was received.
func (h *Harness) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.requests...)
}

// Inject queues a fault.
func (h *Harness) Inject(f Fault) error {
	if f.Preset != "" {
		p, ok := h.presets[f.Preset]
		if !ok {
			return fmt.Errorf("unknown preset %q", f.Preset)
		}
		times := f.Times
		f = p
		f.Times = times
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, f)
	return nil
}

// SetLatency adds a delay to every answer, faulted or not.
func (h *Harness) SetLatency(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latency = d
}

// Reset clears faults and recorded requests.
func (h *Harness) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = nil
	h.requests = nil
}

// next fault to apply to r, consuming one of its Times.
func (h *Harness) takeFault(r *http.Request) (Fault, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.faults) == 0 {
		return Fault{}, false
	}
	f := h.faults[0]
	if method, path, _ := strings.Cut(f.Only, " "); f.Only != "" && (r.Method != method || !strings.HasSuffix(r.URL.Path, path)) {
		return Fault{}, false
	}
	if f.Times > 0 {
		h.faults[0].Times--
		if h.faults[0].Times == 0 {
			h.faults = h.faults[1:]
		}
	}
	return f, true
}

func (h *Harness) record(r *http.Request, body []byte, faulted bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, Request{
		Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: string(body), Fault: faulted,
	})
}

// ServeHTTP serves the control API, or applies a fault, or passes through.
func (h *Harness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		h.control(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))

	h.mu.Lock()
	latency := h.latency
	h.mu.Unlock()
	fault, faulted := h.takeFault(r)
	h.record(r, body, faulted)
	if !sleep(r, latency+fault.Latency) {
		return
	}
	switch {
	case faulted && fault.AnswerLate > 0:
		// The upstream does the work, and its answer comes late (or, the
		// caller gone, never): what a create that timed out leaves behind.
		rec := httptest.NewRecorder()
		h.next.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
		if sleep(r, fault.AnswerLate) {
			maps.Copy(w.Header(), rec.Header())
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		}
	case !faulted || (fault.Status == 0 && !fault.Drop):
		h.next.ServeHTTP(w, r)
	case fault.Drop:
		drop(w)
	default:
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		if fault.Body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(fault.Status)
		_, _ = io.WriteString(w, fault.Body)
	}
}

// sleep waits d unless the client goes away first.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// drop closes the connection with no answer, as a crashed upstream would.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func (h *Harness) control(w http.ResponseWriter, r *http.Request) {
	switch r.Method + " " + strings.TrimPrefix(r.URL.Path, "/_sandbox/") {
	case "GET requests":
		WriteJSON(w, http.StatusOK, h.Requests())
	case "DELETE requests":
		h.mu.Lock()
		h.requests = nil
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case "POST faults":
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "fault: " + err.Error()})
			return
		}
		if err := h.Inject(f); err != nil {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "DELETE faults":
		h.mu.Lock()
		h.faults = nil
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case "PUT latency":
		var body struct {
			Latency json.RawMessage `json:"latency"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "latency: " + err.Error()})
			return
		}
		d, err := parseDuration(body.Latency)
		if err != nil {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		h.SetLatency(d)
		w.WriteHeader(http.StatusNoContent)
	default: // an upstream's own sandbox routes, such as Alleviate's leads
		h.next.ServeHTTP(w, r)
	}
}

// WriteJSON answers with a JSON body; the fakes share it.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
