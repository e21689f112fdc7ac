package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/workflows"
)

// rawHistory reads a workflow's history as stored, without the codec.
func rawHistory(t *testing.T, workflowID string) string {
	t.Helper()
	raw, err := client.Dial(client.Options{HostPort: stack.TemporalAddr})
	require.NoError(t, err)
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b strings.Builder
	it := raw.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		j, _ := protojson.Marshal(ev)
		b.Write(j)
	}
	return b.String()
}

var phi = []string{"john.doe@example.com", "John Doe", "555-123-4567", "chris.ordering@example.com", "Peachtree",
	"8675309", "2000-05-30"}

func assertNoPHI(t *testing.T, history string) {
	t.Helper()
	require.NotEmpty(t, history)
	for _, s := range phi {
		assert.NotContains(t, history, s)
		assert.NotContains(t, history, b64(s), "not even base64-encoded")
	}
}

// b64 is s base64-encoded without padding: a substring of any encoding of
// a payload that starts with s at a multiple of three bytes.
func b64(s string) string { return strings.TrimRight(base64Std(s), "=") }

func TestHistoryIsEncrypted(t *testing.T) {
	r := post(t, "/api/alleviate/send", johnDoe, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	send := rawHistory(t, r.header.Get("X-Workflow-Id"))
	assertNoPHI(t, send)
	assert.Contains(t, send, base64Std(codec.MetadataEncoding), "payloads are marked encrypted")

	caseID := fmt.Sprintf("it-enc-%d", time.Now().UnixNano())
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: "IT-ENC"}, time.Now().Add(-time.Hour))
	for _, step := range steps {
		deliver(t, step.Body)
	}
	waitCase(t, caseID, "done", func(s workflows.CaseState) bool { return s.CarebridgeStatus == workflows.StatusDone })
	assertNoPHI(t, rawHistory(t, workflows.CaseWorkflowID(caseID)))

	// The codec endpoint decrypts for the token's holder only.
	history := rawHistory(t, r.header.Get("X-Workflow-Id"))
	start := strings.Index(history, `"input":`)
	require.Positive(t, start)
	var payloads strings.Builder
	payloads.WriteString(`{"payloads":`)
	depth, i := 0, strings.Index(history[start:], "[")+start
	for j := i; j < len(history); j++ {
		switch history[j] {
		case '[':
			depth++
		case ']':
			depth--
		}
		if depth == 0 {
			payloads.WriteString(history[i : j+1])
			break
		}
	}
	payloads.WriteString("}")
	decode := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, stack.InternalURL+"/codec/default/decode", strings.NewReader(payloads.String()))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, _ := decode("")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = decode("guess")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, out := decode(codecToken)
	require.Equal(t, http.StatusOK, status, out)
	decodedLead := base64Std(`{"form_name":"vip_tlc_bunionectomy_ect","phone":"555-123-4567"`[:30])
	assert.Contains(t, out, decodedLead, "the decoded payload is the lead")

	// And the CLI reads it through the endpoint, as an operator would.
	cli, err := runCLI("workflow", "show", "--workflow-id", r.header.Get("X-Workflow-Id"),
		"--codec-endpoint", stack.InternalURL+"/codec", "--codec-auth", "Bearer "+codecToken, "--output", "json")
	require.NoError(t, err, cli)
	assert.Contains(t, cli, decodedLead)
}

func TestAPIRequiresItsToken(t *testing.T) {
	for _, token := range []string{"", "wrong"} {
		req, _ := http.NewRequest(http.MethodPost, stack.StarterURL+"/api/alleviate/send", strings.NewReader(johnDoe))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, stack.StarterURL+"/api/cases/x", nil)
	req.Header.Set("Authorization", "Bearer other-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "any configured token opens the API")
}

func TestMetricsHealthAndReadiness(t *testing.T) {
	post(t, "/api/alleviate/send", johnDoe, nil)
	scrape := func(url string) string {
		resp, err := http.Get(url)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	starter := scrape(stack.InternalURL + "/metrics")
	assert.Contains(t, starter, `carebridge_starter_http_requests_total{code="200",method="POST",route="POST /api/alleviate/send"}`)
	assert.Contains(t, starter, "carebridge_starter_http_request_duration_seconds_bucket")
	assert.Contains(t, starter, "temporal_request_total", "the SDK's client metrics")
	assert.NotContains(t, starter, "john.doe")

	// The send's steps ran in the starter (eager start) or in a worker.
	var both string
	require.Eventually(t, func() bool {
		both = scrape(stack.InternalURL+"/metrics") + scrape(stack.WorkerMetricsURL)
		return strings.Contains(both, `activity_type="PostAlleviateLead"`)
	}, 10*time.Second, 250*time.Millisecond)
	assert.Contains(t, both, "temporal_workflow_task_execution_latency_seconds")

	assert.Equal(t, http.StatusOK, get(t, "/healthz").status)
	status, _ := call(t, http.MethodGet, stack.InternalURL+"/readyz", "")
	assert.Equal(t, http.StatusOK, status)
}

// The public listener serves the API and the webhooks only: what decrypts
// patient data (the codec), metrics and readiness are on the internal one.
func TestInternalRoutesAreNotPublic(t *testing.T) {
	for _, path := range []string{"/metrics", "/readyz", "/codec/default/decode"} {
		req, err := http.NewRequest(http.MethodPost, stack.StarterURL+path, strings.NewReader(`{"payloads":[]}`))
		require.NoError(t, err)
		if path != "/codec/default/decode" {
			req.Method = http.MethodGet
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "public %s", path)
	}
	req, err := http.NewRequest(http.MethodPost, stack.InternalURL+"/codec/default/decode", strings.NewReader(`{"payloads":[]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+codecToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the codec on the internal listener")
	assert.True(t, strings.HasPrefix(stack.InternalURL, "http://127.0.0.1:"), "internal listener on loopback")
}

func TestSearchAttributesFindRuns(t *testing.T) {
	r := post(t, "/api/alleviate/send", strings.Replace(johnDoe, "john.doe@", "JOHN.DOE@", 1), nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	hash := workflows.EmailHash([]byte(stack.Env("CAREBRIDGE_SEARCH_HASH_KEY")), "john.doe@example.com")
	query := fmt.Sprintf(`CarebridgeKind="send" AND PatientEmailHash=%q AND FormName="vip_tlc_bunionectomy_ect" AND RealtimeInstance="ect" AND ExecutionStatus="Completed"`, hash)
	require.Eventually(t, func() bool {
		out, err := runCLI("workflow", "list", "--query", query)
		return err == nil && strings.Contains(out, r.header.Get("X-Workflow-Id"))
	}, 30*time.Second, 500*time.Millisecond)
}

// Keys roll: with a new key first, runs encrypted under the old one still
// read, and new runs use the new one.
func TestCodecKeyRotation(t *testing.T) {
	old := stack.Env("CAREBRIDGE_CODEC_KEYS")
	r := post(t, "/api/alleviate/send", johnDoe, nil)
	require.Equal(t, http.StatusOK, r.status)
	oldID := r.header.Get("X-Workflow-Id")

	stack.SetEnv("CAREBRIDGE_CODEC_KEYS", codec.NewKey("rotated")+","+old)
	stack.Signal("starter", sigterm)
	stack.Signal("worker", sigterm)
	require.NoError(t, stack.StartWorker())
	require.NoError(t, stack.StartStarter(context.Background()))
	rotated, err := stack.Dial()
	require.NoError(t, err)
	temporal.Close()
	temporal = rotated

	view := get(t, "/api/alleviate/send/"+oldID)
	require.Equal(t, http.StatusOK, view.status, "%s", view.body)
	assert.Equal(t, "completed", view.json(t)["status"], "the old run's result decodes")

	r = post(t, "/api/alleviate/send", johnDoe, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Contains(t, rawHistory(t, r.header.Get("X-Workflow-Id")), base64Std("rotated"), "new runs name the new key")
}
