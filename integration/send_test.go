package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/workflows"
)

const johnDoe = `{"form_name":"vip_tlc_bunionectomy_ect","phone":"555-123-4567","name":"John Doe",
	"email":"john.doe@example.com","instance_name":"ect"}`

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal(r.body, &out), "body: %s", r.body)
	return out
}

func post(t *testing.T, path, body string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, stack.StarterURL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiToken)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func get(t *testing.T, path string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, stack.StarterURL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func leads(t *testing.T) []alleviate.Lead {
	t.Helper()
	var out []alleviate.Lead
	require.NoError(t, sandbox.alleviate.Get("/_sandbox/leads", &out))
	return out
}

func resetSandbox(t *testing.T) {
	t.Helper()
	for _, c := range []fake.Control{sandbox.activepieces, sandbox.realtime, sandbox.alleviate} {
		require.NoError(t, c.Reset())
	}
}

func TestSendReturnsAlleviatesAnswer(t *testing.T) {
	resetSandbox(t)
	before := len(leads(t))
	r := post(t, "/api/alleviate/send", johnDoe, nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	body := r.json(t)
	assert.Equal(t, true, body["success"])
	assert.EqualValues(t, 139712, body["patient_id"])

	id := r.header.Get("X-Workflow-Id")
	assert.True(t, strings.HasPrefix(id, workflows.SendWorkflowIDPrefix), id)
	assert.NotContains(t, strings.ToLower(id), "john")
	assert.NotContains(t, id, "example.com")

	got := leads(t)
	require.Len(t, got, before+1)
	assert.Equal(t, alleviate.Lead{FormName: "vip_tlc_bunionectomy_ect", Phone: "555-123-4567", Name: "John Doe",
		PatientID: 139712, Email: "john.doe@example.com"}, got[len(got)-1])

	status := get(t, "/api/alleviate/send/"+id)
	require.Equal(t, http.StatusOK, status.status)
	view := status.json(t)
	assert.Equal(t, "completed", view["status"])
	assert.EqualValues(t, 200, view["answer"].(map[string]any)["status_code"])
}

// The starter's own worker runs its sends (eager start) and hands each
// answer to its request once Temporal has recorded it: no send waits on
// Temporal for its result (its PollWorkflowExecutionHistory long poll).
func TestEagerSendsAreAnsweredInProcess(t *testing.T) {
	resetSandbox(t)
	inProcess, fromTemporal := sendAnswers(t, "in_process"), sendAnswers(t, "temporal")
	for range 3 {
		r := post(t, "/api/alleviate/send", johnDoe, nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.EqualValues(t, 139712, r.json(t)["patient_id"], "Alleviate's answer, as Temporal recorded it")
		status := get(t, "/api/alleviate/send/"+r.header.Get("X-Workflow-Id"))
		recorded, err := json.Marshal(status.json(t)["answer"].(map[string]any)["body"])
		require.NoError(t, err)
		assert.JSONEq(t, string(recorded), string(r.body), "the answer is the one in history")
	}
	assert.Equal(t, inProcess+3, sendAnswers(t, "in_process"), "each answer from the starter's own worker")
	assert.Equal(t, fromTemporal, sendAnswers(t, "temporal"), "no send waited on Temporal for its answer")
}

// sendAnswers is the starter's count of answers from one place.
func sendAnswers(t *testing.T, from string) float64 {
	t.Helper()
	n, err := devstack.MetricSum(stack.HTTPClient(), stack.InternalURL+"/metrics", "carebridge_starter_send_answers_total", "from", from)
	require.NoError(t, err)
	return n
}

func TestSendWithSiteName(t *testing.T) {
	r := post(t, "/api/alleviate/send", `{"form_name":"f","phone":"1","name":"Maria Garcia",
		"email":"maria.garcia@example.com","site_name":"nyc"}`, nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.EqualValues(t, 240002, r.json(t)["patient_id"])
}

func TestSendUnknownPatientIs404(t *testing.T) {
	resetSandbox(t)
	r := post(t, "/api/alleviate/send", strings.Replace(johnDoe, "john.doe@", "nobody@", 1), nil)
	require.Equal(t, http.StatusNotFound, r.status, "body: %s", r.body)
	e := r.json(t)["error"].(map[string]any)
	assert.Equal(t, "patient_not_found", e["code"])
	assert.NotContains(t, string(r.body), "nobody@")

	reqs, err := sandbox.realtime.Requests()
	require.NoError(t, err)
	assert.Len(t, reqs, 1, "patient not found is never retried")
	alleviateReqs, err := sandbox.alleviate.Requests()
	require.NoError(t, err)
	assert.Empty(t, alleviateReqs)
}

func TestSendBadInputIs400AndStartsNothing(t *testing.T) {
	resetSandbox(t)
	for name, tc := range map[string]struct {
		body   string
		fields map[string]any
	}{
		"not JSON":      {`form_name=x`, map[string]any{"body": "must be a JSON object"}},
		"empty object":  {`{}`, map[string]any{"form_name": "required", "phone": "required", "name": "required", "email": "required", "instance_name": "required (or site_name)"}},
		"empty field":   {strings.Replace(johnDoe, `"John Doe"`, `"  "`, 1), map[string]any{"name": "required"}},
		"bad e-mail":    {strings.Replace(johnDoe, "john.doe@example.com", "john.doe.example.com", 1), map[string]any{"email": "must be an e-mail address"}},
		"number phone":  {strings.Replace(johnDoe, `"555-123-4567"`, `5551234567`, 1), map[string]any{"phone": "must be a string"}},
		"JSON array":    {`[1]`, map[string]any{"body": "must be a JSON object"}},
		"null instance": {strings.Replace(johnDoe, `"ect"`, `null`, 1), map[string]any{"instance_name": "required (or site_name)"}},
	} {
		t.Run(name, func(t *testing.T) {
			r := post(t, "/api/alleviate/send", tc.body, nil)
			require.Equal(t, http.StatusBadRequest, r.status, "body: %s", r.body)
			e := r.json(t)["error"].(map[string]any)
			assert.Equal(t, "invalid_request", e["code"])
			assert.Equal(t, tc.fields, e["fields"])
			assert.Empty(t, r.header.Get("X-Workflow-Id"), "no workflow starts")
			assert.NotContains(t, string(r.body), "john.doe", "values are never echoed")
		})
	}
	reqs, err := sandbox.activepieces.Requests()
	require.NoError(t, err)
	assert.Empty(t, reqs)
}

func TestSendBodyTooLargeIs413(t *testing.T) {
	r := post(t, "/api/alleviate/send", `{"name":"`+strings.Repeat("x", 70<<10)+`"}`, nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
}

func TestSendSurvivesAnUpstreamFailingTwice(t *testing.T) {
	resetSandbox(t)
	before := len(leads(t))
	require.NoError(t, sandbox.alleviate.Inject(fake.Fault{Status: 503, Times: 2}))
	r := post(t, "/api/alleviate/send", johnDoe, nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	reqs, err := sandbox.alleviate.Requests()
	require.NoError(t, err)
	assert.Len(t, reqs, 3, "two 503s, then the answer")
	assert.Len(t, leads(t), before+1, "one lead")
}

func TestIdempotencyKey(t *testing.T) {
	resetSandbox(t)
	before := len(leads(t))
	key := map[string]string{"Idempotency-Key": "order-" + time.Now().Format(time.RFC3339Nano)}
	first := post(t, "/api/alleviate/send", johnDoe, key)
	require.Equal(t, http.StatusOK, first.status, "body: %s", first.body)
	second := post(t, "/api/alleviate/send", johnDoe, key)
	require.Equal(t, http.StatusOK, second.status, "body: %s", second.body)

	assert.Equal(t, first.header.Get("X-Workflow-Id"), second.header.Get("X-Workflow-Id"))
	assert.Equal(t, string(first.body), string(second.body), "the same run's answer")
	assert.Len(t, leads(t), before+1, "Alleviate saw the lead once")
	assert.NotContains(t, first.header.Get("X-Workflow-Id"), "order-", "the key is hashed")
}

func TestSlowSendAnswers202AndCompletesLater(t *testing.T) {
	resetSandbox(t)
	// 1 s + 2 s + 4 s of backoff: longer than the starter waits.
	require.NoError(t, sandbox.alleviate.Inject(fake.Fault{Status: 503, Times: 3}))
	r := post(t, "/api/alleviate/send", johnDoe, nil)
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	body := r.json(t)
	id := body["workflow_id"].(string)
	assert.Equal(t, "running", body["status"])
	assert.Equal(t, "/api/alleviate/send/"+id, body["status_url"])

	assert.Equal(t, "running", get(t, body["status_url"].(string)).json(t)["status"])
	var view map[string]any
	require.Eventually(t, func() bool {
		view = get(t, body["status_url"].(string)).json(t)
		return view["status"] != "running"
	}, 60*time.Second, 250*time.Millisecond)
	assert.Equal(t, "completed", view["status"])
	answer := view["answer"].(map[string]any)
	assert.EqualValues(t, 200, answer["status_code"])
	assert.Equal(t, true, answer["body"].(map[string]any)["success"])
}

func TestStatusOfUnknownSendIs404(t *testing.T) {
	assert.Equal(t, http.StatusNotFound, get(t, "/api/alleviate/send/alleviate-send-nope").status)
	assert.Equal(t, http.StatusNotFound, get(t, "/api/alleviate/send/some-other-workflow").status)
}

// The Realtime JWT is a credential: it must not be anywhere in history.
func TestTheJWTNeverEntersHistory(t *testing.T) {
	resetSandbox(t)
	// A 401 forces a fresh token inside the lookup activity too.
	require.NoError(t, sandbox.realtime.Inject(fake.Fault{Status: 401, Times: 1}))
	r := post(t, "/api/alleviate/send", johnDoe, nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)

	reqs, err := sandbox.realtime.Requests()
	require.NoError(t, err)
	require.NotEmpty(t, reqs)
	var tokens []string
	for _, req := range reqs {
		tok := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
		require.NotEmpty(t, tok)
		tokens = append(tokens, tok)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var history bytes.Buffer
	it := temporal.GetWorkflowHistory(ctx, r.header.Get("X-Workflow-Id"), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	keys, err := codec.ParseKeys(stack.Env("CAREBRIDGE_CODEC_KEYS"))
	require.NoError(t, err)
	events := 0
	var steps []string
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		b, err := protojson.Marshal(ev)
		require.NoError(t, err)
		history.Write(b)
		events++
		if m := ev.GetMarkerRecordedEventAttributes(); m.GetMarkerName() == "LocalActivity" {
			var marker struct{ ActivityType string }
			require.NoError(t, keys.DataConverter().FromPayloads(m.GetDetails()["data"], &marker))
			steps = append(steps, marker.ActivityType)
		}
	}
	require.GreaterOrEqual(t, events, 8)
	// Payloads are base64 in protojson; check raw data too.
	raw := history.String()
	for _, tok := range tokens {
		assert.NotContains(t, raw, tok)
		for _, part := range strings.Split(tok, ".") {
			assert.NotContains(t, raw, part, "no part of the JWT, encoded or not")
		}
	}
	// Each of the reference's steps is its own step in history (a local
	// activity marker, readable through the codec).
	assert.Equal(t, []string{"FetchRealtimeToken", "LookupRealtimePatient", "PostAlleviateLead"}, steps)
}

func TestMissingConfigurationStopsWithOneLine(t *testing.T) {
	out := exitAtStart(t, "worker", nil)
	assert.Equal(t, "worker: missing required environment variable CAREBRIDGE_CODEC_KEYS; no integration is configured: set "+
		"ACTIVEPIECES_WEBHOOK_URL, REALTIME_BASE_URL, ALLEVIATE_BASE_URL, ALLEVIATE_API_KEY (sends), or AKUTE_BASE_URL, AKUTE_API_KEY (cases and Akute)\n", out)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A send runs in the starter's own send worker, handed its first workflow
// task in the start's answer (eager start): its one workflow task was taken
// by the starter's process.
func TestASendRunsEagerlyInTheStarter(t *testing.T) {
	r := post(t, "/api/alleviate/send", johnDoe, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := temporal.GetWorkflowHistory(ctx, r.header.Get("X-Workflow-Id"), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var identities []string
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowTaskStartedEventAttributes(); a != nil {
			identities = append(identities, a.GetIdentity())
		}
	}
	require.Len(t, identities, 1, "the whole send is one workflow task")
	assert.True(t, strings.HasPrefix(identities[0], fmt.Sprintf("%d@", stack.PID("starter"))),
		"taken by the starter (pid %d), not a worker: %s", stack.PID("starter"), identities[0])
}
