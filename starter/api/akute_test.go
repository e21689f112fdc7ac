package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/carebridge/carebridge/internal/hmacsig"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/workflows"
)

// signedAkute posts body to Akute's webhook, signed as Akute signs it now.
func (f *fixture) signedAkute(t *testing.T, body string) *httptest.ResponseRecorder {
	t.Helper()
	return f.do(t, http.MethodPost, "/webhooks/akute", body, akutewebhook.Header, akutewebhook.Sign([]byte(akuteSecret), time.Now(), []byte(body)))
}

// expectCases answers the visibility query that looks for the running case
// of query (e.g. `CaseShortId = "ADA-1"`) with ids.
func (f *fixture) expectCases(query string, ids ...string) {
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, id := range ids {
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
	}
	f.temporal.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.Query == `CarebridgeKind = "case" AND ExecutionStatus = "Running" AND `+query
	})).Return(resp, nil)
}

const (
	taskEvent       = `{"id":"evt-1","event":"task.updated","data":{"id":"task-1","status":"completed","tags":["case:ADA-1"]}}`
	untaggedTask    = `{"id":"evt-2","event":"task.updated","data":{"id":"task-2","status":"completed"}}`
	medicationEvent = `{"id":"evt-3","event":"medication.sent","data":{"patient_id":"p-1","display_name":"Wegovy","rx_status":"sent"}}`
	unknownShape    = `{"id":"evt-4","hello":"world"}`
)

// POST /webhooks/akute: every 202, with what it recorded where.
func TestAkuteWebhookRecords(t *testing.T) {
	for _, c := range []struct {
		name   string
		body   string
		setup  func(*fixture)
		target string // the case signalled; empty: the day's unrouted workflow
		signal string
		reason string // why it is unrouted
	}{
		{name: "a task routed by its case tag", body: taskEvent, setup: func(f *fixture) {
			f.expectCases(`CaseShortId = "ADA-1"`, "carevalidate-case-c1")
			f.temporal.On("SignalWorkflow", mock.Anything, "carevalidate-case-c1", "", workflows.SignalAkuteTask, mock.Anything).Return(nil)
		}, target: "carevalidate-case-c1", signal: workflows.SignalAkuteTask},
		{name: "a task routed by the id a case recorded", body: untaggedTask, setup: func(f *fixture) {
			f.expectCases(`AkuteTaskIds = "task-2"`, "carevalidate-case-c2")
			f.temporal.On("SignalWorkflow", mock.Anything, "carevalidate-case-c2", "", workflows.SignalAkuteTask, mock.Anything).Return(nil)
		}, target: "carevalidate-case-c2", signal: workflows.SignalAkuteTask},
		{name: "a medication routed by its patient", body: medicationEvent, setup: func(f *fixture) {
			f.expectCases(`AkutePatientId = "p-1"`, "carevalidate-case-c3")
			f.temporal.On("SignalWorkflow", mock.Anything, "carevalidate-case-c3", "", workflows.SignalAkuteMed, mock.Anything).Return(nil)
		}, target: "carevalidate-case-c3", signal: workflows.SignalAkuteMed},
		{name: "a task no case created", body: taskEvent, setup: func(f *fixture) {
			f.expectCases(`CaseShortId = "ADA-1"`)
		}, reason: "no case created this task"},
		{name: "a medication no running case synced", body: medicationEvent, setup: func(f *fixture) {
			f.expectCases(`AkutePatientId = "p-1"`)
		}, reason: "no running case synced this patient"},
		{name: "a case that closed between lookup and signal", body: taskEvent, setup: func(f *fixture) {
			f.expectCases(`CaseShortId = "ADA-1"`, "carevalidate-case-c1")
			f.temporal.On("SignalWorkflow", mock.Anything, "carevalidate-case-c1", "", workflows.SignalAkuteTask, mock.Anything).
				Return(serviceerror.NewNotFound("workflow not found"))
		}, reason: "case closed"},
		{name: "a shape not recognised", body: unknownShape, setup: func(*fixture) {}, reason: "shape not recognised"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			c.setup(f)
			var unrouted *[]signalled
			if c.target == "" {
				unrouted = f.expectSignalWithStart(t)
			}
			rec := f.signedAkute(t, c.body)
			assert.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
			answer := jsonOf(t, rec)
			assert.Equal(t, c.target == "", !answer["routed"].(bool))
			if c.target != "" {
				assert.Equal(t, c.target, answer["workflow_id"])
				return
			}
			require.Len(t, *unrouted, 1)
			call := (*unrouted)[0]
			assert.True(t, strings.HasPrefix(call.id, workflows.AkuteUnroutedIDPfx), call.id)
			assert.Equal(t, call.id, answer["workflow_id"])
			assert.Equal(t, call.id, call.options.ID)
			assert.Equal(t, "carebridge", call.options.TaskQueue)
			assert.Equal(t, workflows.SignalUnrouted, call.signal)
			record := call.arg.(workflows.UnroutedEvent)
			assert.Equal(t, c.reason, record.Reason)
			assert.Equal(t, hmacsig.BodyHash([]byte(c.body)), record.BodySHA256)
			assert.JSONEq(t, c.body, string(record.Body), "a small body is kept, compacted")
			assert.Contains(t, f.metricsText(t), `carebridge_starter_akute_unrouted_total{kind="`+record.Kind+`",reason="`+c.reason+`"} 1`)
		})
	}
}

// metricsText is what /metrics shows.
func (f *fixture) metricsText(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	f.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(b)
}

// POST /webhooks/akute: every answer but a 202 (TestNotRecorded has the
// 503s of a failed record).
func TestAkuteWebhookRefuses(t *testing.T) {
	now := time.Now()
	sign := func(secret string, at time.Time) string {
		return akutewebhook.Sign([]byte(secret), at, []byte(taskEvent))
	}
	for _, c := range []struct {
		name      string
		body      string
		signature string
		status    int
		code      string
		typ       string
	}{
		{"no signature", taskEvent, "", http.StatusUnauthorized, "invalid_signature", "missing_header"},
		{"a malformed signature", taskEvent, "v1=abc", http.StatusUnauthorized, "invalid_signature", "malformed_header"},
		{"another secret's signature", taskEvent, sign("other", now), http.StatusUnauthorized, "invalid_signature", "wrong_signature"},
		{"a stale signature", taskEvent, sign(akuteSecret, now.Add(-10*time.Minute)), http.StatusUnauthorized, "invalid_signature", "stale_timestamp"},
		{"a signature from the future", taskEvent, sign(akuteSecret, now.Add(10*time.Minute)), http.StatusUnauthorized, "invalid_signature", "future_timestamp"},
		{"more than 8 v1", taskEvent, sign(akuteSecret, now) + strings.Repeat(",v1=00", 8), http.StatusUnauthorized, "invalid_signature", "malformed_header"},
		{"over 1 MiB", tooLarge(1 << 20), sign(akuteSecret, now), http.StatusRequestEntityTooLarge, "body_too_large", ""},
	} {
		f := newFixture(t)
		rec := f.do(t, http.MethodPost, "/webhooks/akute", c.body, akutewebhook.Header, c.signature)
		assert.Equal(t, c.status, rec.Code, c.name)
		e := errorOf(t, rec)
		assert.Equal(t, c.code, e.Code, c.name)
		assert.Equal(t, c.typ, e.Type, c.name)
		if c.status == http.StatusUnauthorized {
			assert.NotContains(t, rec.Body.String(), sign(akuteSecret, now), "%s: the expected MAC is never revealed", c.name)
			assert.Contains(t, f.log.String(), `"reason":"`+c.typ+`"`, c.name)
			if c.typ == "wrong_signature" {
				assert.Contains(t, f.log.String(), `"body_sha256":"`+hmacsig.BodyHash([]byte(c.body))+`"`, c.name)
			} else {
				assert.NotContains(t, f.log.String(), "body_sha256", "%s: refused before the body was read", c.name)
			}
		}
	}

	// A lookup Temporal does not answer is not recorded either.
	f := newFixture(t)
	f.temporal.On("ListWorkflow", mock.Anything, mock.Anything).Return(nil, serviceerror.NewUnavailable("down"))
	rec := f.signedAkute(t, taskEvent)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "temporal_unavailable", errorOf(t, rec).Code)
}

// A header over its bounds, or out of its time, is refused before the body
// is read and before any MAC: 10,000 v1 values over a 0.9 MB body once cost
// 10,000 HMACs of it.
func TestAkuteChecksTheHeaderBeforeTheBody(t *testing.T) {
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	for name, c := range map[string]struct{ header, typ string }{
		"10,000 v1 values": {"t=" + ts + strings.Repeat(",v1="+strings.Repeat("ab", 32), 10_000), "malformed_header"},
		"a stale time":     {akutewebhook.Sign([]byte(akuteSecret), now.Add(-time.Hour), []byte(taskEvent)), "stale_timestamp"},
		"no header":        {"", "missing_header"},
	} {
		f := newFixture(t)
		body := &unread{Reader: strings.NewReader(strings.Repeat("x", 900_000))}
		rec := f.serveBody("/webhooks/akute", body, akutewebhook.Header, c.header)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, name)
		assert.Equal(t, c.typ, errorOf(t, rec).Type, name)
		assert.False(t, body.read, "%s: refused before the body was read", name)
	}
}
