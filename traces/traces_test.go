//go:build traces

// Package traces proves carebridge's traces against a real backend: Jaeger
// v2 (the pinned Go tool of tools/jaeger, in-memory storage, OTLP on
// loopback) receives what the real stack (dev/devstack) exports for one send
// and one CareValidate delivery, and the test reads each trace back through
// Jaeger's query API: every hop present, one trace id, every parent there,
// and no PHI in any span.
//
// Run with `make test-traces` (go test -tags traces ./traces).
package traces

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/workflows"
)

const (
	apiToken = "traces-api-token"
	// The lead of the send, and the case's patient: none of it may reach a span.
	lead = `{"form_name":"vip_tlc_bunionectomy_ect","phone":"555-123-4567","name":"John Doe",` +
		`"email":"john.doe@example.com","instance_name":"ect"}`
)

// phi is what no span may hold: the lead's and the patient's e-mail, name
// and phone, as sent and as an upstream would get them.
var phi = []string{
	"john.doe@example.com", "john.doe%40example.com", "John Doe", "John+Doe", "John%20Doe",
	"555-123-4567", "5551234567", "+15551234567",
	"chris.ordering@example.com", "Ordering", "867-5309", "2258675309",
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startJaeger builds (once; Go caches it) and starts the pinned Jaeger and
// returns its query URL and its OTLP/HTTP endpoint.
func startJaeger(t *testing.T, root string, logs io.Writer) (query, otlp string) {
	t.Helper()
	toolDir := filepath.Join(root, "tools", "jaeger")
	start := time.Now()
	out, err := exec.Command("go", "-C", toolDir, "tool", "-n", "jaeger").CombinedOutput()
	require.NoError(t, err, "building the pinned jaeger: %s", out)
	bin := strings.TrimSpace(string(out))
	t.Logf("jaeger built (or found in Go's cache) in %s: %s", time.Since(start).Round(time.Second), bin)

	ports := map[string]int{}
	for _, name := range []string{"JAEGER_OTLP_HTTP", "JAEGER_OTLP_GRPC", "JAEGER_QUERY_HTTP", "JAEGER_QUERY_GRPC"} {
		ports[name] = freePort(t)
	}
	cmd := exec.Command(bin, "--config", "file:"+filepath.Join(toolDir, "config.yaml"))
	cmd.Env = os.Environ()
	for name, port := range ports {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", name, port))
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	query = fmt.Sprintf("http://127.0.0.1:%d", ports["JAEGER_QUERY_HTTP"])
	require.Eventually(t, func() bool {
		resp, err := http.Get(query + "/api/services")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 200*time.Millisecond, "jaeger's query API never answered")
	return query, fmt.Sprintf("http://127.0.0.1:%d", ports["JAEGER_OTLP_HTTP"])
}

// Jaeger's query API (v1 JSON, which Jaeger v2 serves too).
type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
}

type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	Tags      []jaegerTag                    `json:"tags"`
	Logs      []struct{ Fields []jaegerTag } `json:"logs"`
	ProcessID string                         `json:"processID"`
}

type jaegerTag struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

type jaegerProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []jaegerTag `json:"tags"`
}

func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

func (s jaegerSpan) tag(key string) string {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return fmt.Sprint(kv.Value)
		}
	}
	return ""
}

// traces lists the starter's recent traces.
func traces(t *testing.T, query string) []jaegerTrace {
	t.Helper()
	resp, err := http.Get(query + "/api/traces?service=carebridge-starter&limit=100&lookback=1h")
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct{ Data []jaegerTrace }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out.Data
}

// waitTrace waits for a trace whose root is the starter's span named root
// to hold every span of want, and returns it.
func waitTrace(t *testing.T, query, root string, want []string) jaegerTrace {
	t.Helper()
	var found jaegerTrace
	var names []string
	ok := assert.Eventually(t, func() bool {
		for _, tr := range traces(t, query) {
			names = names[:0]
			for _, s := range tr.Spans {
				names = append(names, s.OperationName)
			}
			if !slices.Contains(names, root) {
				continue
			}
			found = tr
			if !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(names, w) }) {
				return true
			}
			// Another request of the same route may hold them.
		}
		return false
	}, 60*time.Second, 500*time.Millisecond, "trace of %s never held %v", root, want)
	if !ok {
		t.Fatalf("spans of the trace found so far: %v", names)
	}
	return found
}

// checkTrace asserts one trace id, every parent present and one root, and
// no PHI in any span's name, tags, logs or process; it logs the spans as a
// tree.
func checkTrace(t *testing.T, tr jaegerTrace, root string) {
	t.Helper()
	byID := map[string]jaegerSpan{}
	for _, s := range tr.Spans {
		byID[s.SpanID] = s
	}
	var roots []string
	for _, s := range tr.Spans {
		assert.Equal(t, tr.TraceID, s.TraceID, "span %s", s.OperationName)
		p := s.parent()
		if p == "" {
			roots = append(roots, s.OperationName)
			continue
		}
		_, ok := byID[p]
		assert.True(t, ok, "%s: its parent %s is not in the trace", s.OperationName, p)
	}
	assert.Equal(t, []string{root}, roots, "one root: the starter's HTTP span")

	for _, s := range tr.Spans {
		text := []string{s.OperationName}
		for _, kv := range s.Tags {
			text = append(text, kv.Key+"="+fmt.Sprint(kv.Value))
		}
		for _, l := range s.Logs {
			for _, kv := range l.Fields {
				text = append(text, kv.Key+"="+fmt.Sprint(kv.Value))
			}
		}
		for _, kv := range tr.Processes[s.ProcessID].Tags {
			text = append(text, kv.Key+"="+fmt.Sprint(kv.Value))
		}
		all := strings.Join(text, " ")
		for i, p := range phi {
			// Never the value itself in the test's output: it is PHI.
			assert.False(t, strings.Contains(strings.ToLower(all), strings.ToLower(p)), "span %s holds PHI (pattern %d)", s.OperationName, i)
		}
		for _, kv := range s.Tags {
			if v := fmt.Sprint(kv.Value); strings.Contains(v, "?") && strings.Contains(v, "=") {
				t.Errorf("span %s: tag %s keeps a query", s.OperationName, kv.Key)
			}
		}
	}

	// The tree, for whoever reads the log.
	children := map[string][]jaegerSpan{}
	for _, s := range tr.Spans {
		children[s.parent()] = append(children[s.parent()], s)
	}
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		kids := children[parent]
		slices.SortFunc(kids, func(a, b jaegerSpan) int { return strings.Compare(a.SpanID, b.SpanID) })
		for _, s := range kids {
			extra := ""
			if u := s.tag("url.full"); u != "" {
				extra = " url.full=" + strings.SplitN(u, "?", 2)[0] // a query could hold PHI
			}
			if c := s.tag("http.response.status_code"); c != "" {
				extra += " status=" + c
			}
			t.Logf("%s%s [%s]%s", strings.Repeat("  ", depth), s.OperationName, tr.Processes[s.ProcessID].ServiceName, extra)
			walk(s.SpanID, depth+1)
		}
	}
	t.Logf("trace %s (%d spans):", tr.TraceID, len(tr.Spans))
	walk("", 1)
}

func count(tr jaegerTrace, name string) int {
	n := 0
	for _, s := range tr.Spans {
		if s.OperationName == name {
			n++
		}
	}
	return n
}

func TestTraces(t *testing.T) {
	root, _ := filepath.Abs("..")
	dir := t.TempDir()
	logs, err := os.Create(filepath.Join(dir, "stack.log"))
	require.NoError(t, err)
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			t.Logf("---- stack and jaeger log (tail) ----\n%s", b)
		}
	}()
	query, otlp := startJaeger(t, root, logs)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	stack, err := devstack.Start(ctx, devstack.Options{
		RepoRoot: root, DataDir: dir, Headless: true, Logs: logs,
		Env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": otlp,
			"OTEL_BSP_SCHEDULE_DELAY":     "200",
			"CAREBRIDGE_API_TOKENS":       apiToken,
			// The case ends soon after its close, so that its run's span ends.
			"CAREBRIDGE_CASE_ARCHIVE_GRACE": "1s",
		},
	})
	require.NoError(t, err)
	defer stack.Stop()

	t.Run("send", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, stack.StarterURL+"/api/alleviate/send", strings.NewReader(lead))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "answer: %s", body)

		const rootSpan = "POST /api/alleviate/send"
		tr := waitTrace(t, query, rootSpan, []string{
			rootSpan,
			"StartWorkflow:" + workflows.AlleviateSendName,
			"RunWorkflow:" + workflows.AlleviateSendName,
			"RunActivity:FetchRealtimeToken", "RunActivity:LookupRealtimePatient", "RunActivity:PostAlleviateLead",
			"POST", "GET",
		})
		checkTrace(t, tr, rootSpan)
		// Three steps, three upstream calls (token, lookup, lead).
		assert.Equal(t, 3, count(tr, "GET")+count(tr, "POST"), "one client span per upstream call")
		for _, s := range tr.Spans {
			if s.OperationName == "GET" || s.OperationName == "POST" {
				p := byIDName(tr, s.parent())
				assert.True(t, strings.HasPrefix(p, "RunActivity:"), "upstream call %s under %s", s.OperationName, p)
			}
		}
	})

	t.Run("carevalidate delivery", func(t *testing.T) {
		c := carevalidatetest.Case{ID: "trace-case-1", ShortID: "TRC-00001"}
		steps := carevalidatetest.Script(c, time.Now())
		status, answer, err := carevalidatetest.Sender{
			URL: stack.StarterURL + "/webhooks/carevalidate", Header: "X-CareValidate-Auth",
			Secret: "sandbox-carevalidate-secret",
		}.Send(steps[0].Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, status, "answer: %s", answer)

		// The case's run lives until the case ends: close it (as an operator
		// does) so that its RunWorkflow span ends and is exported.
		const rootSpan = "POST /webhooks/carevalidate"
		waitTrace(t, query, rootSpan, []string{"RunActivity:SyncAkutePatient"})

		// A later delivery (a decision: Akute gets a task) is a trace of its
		// own, and the task's Akute call is in it, under that delivery's
		// signal, not in the run's first trace.
		status, answer, err = carevalidatetest.Sender{
			URL: stack.StarterURL + "/webhooks/carevalidate", Header: "X-CareValidate-Auth",
			Secret: "sandbox-carevalidate-secret",
		}.Send(steps[2].Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, status, "answer: %s", answer)
		var later jaegerTrace
		require.Eventually(t, func() bool {
			for _, tr := range traces(t, query) {
				if count(tr, "RunActivity:"+activities.CreateAkuteTaskName) > 0 && count(tr, "RunWorkflow:"+workflows.CaseWorkflowName) == 0 {
					later = tr
					return true
				}
			}
			return false
		}, 60*time.Second, 500*time.Millisecond, "the decision's task create is traced in the decision's own trace")
		checkTrace(t, later, rootSpan)
		for _, s := range later.Spans {
			if s.OperationName == "StartActivity:"+activities.CreateAkuteTaskName {
				assert.Equal(t, "HandleSignal:"+workflows.SignalCaseEvent, byIDName(later, s.parent()), "the call under the delivery's signal")
			}
		}
		closeCase(t, ctx, stack, workflows.CaseWorkflowID(c.ID))

		tr := waitTrace(t, query, rootSpan, []string{
			rootSpan,
			"SignalWithStartWorkflow:" + workflows.CaseWorkflowName,
			"RunWorkflow:" + workflows.CaseWorkflowName,
			"HandleSignal:" + workflows.SignalCaseEvent,
			"StartActivity:SyncAkutePatient", "RunActivity:SyncAkutePatient",
		})
		checkTrace(t, tr, rootSpan)
		var upstream int
		for _, s := range tr.Spans {
			if s.OperationName == "GET" || s.OperationName == "POST" || s.OperationName == "PUT" || s.OperationName == "PATCH" {
				upstream++
				assert.True(t, strings.HasPrefix(byIDName(tr, s.parent()), "RunActivity:"), "upstream call under an activity")
			}
		}
		assert.Positive(t, upstream, "the Akute calls are in the trace")
	})
}

func byIDName(tr jaegerTrace, id string) string {
	for _, s := range tr.Spans {
		if s.SpanID == id {
			return s.OperationName
		}
	}
	return ""
}

// closeCase closes a case with the operators' close update and waits for
// its run to complete.
func closeCase(t *testing.T, ctx context.Context, stack *devstack.Stack, id string) {
	t.Helper()
	c, err := stack.Dial()
	require.NoError(t, err)
	defer c.Close()
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.SignalClose, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	require.NoError(t, h.Get(ctx, nil))
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, c.GetWorkflow(wctx, id, "").Get(wctx, nil))
}
