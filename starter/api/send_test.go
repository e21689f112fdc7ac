package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/internal/config"
	"github.com/carebridge/carebridge/starter/api"
	"github.com/carebridge/carebridge/workflows"
)

// johnDoe is the reference's example lead.
const johnDoe = `{"form_name":"vip_tlc_bunionectomy_ect","phone":"555-123-4567","name":"John Doe","email":"john.doe@example.com","instance_name":"ect"}`

// started is what a send's start was given.
type started struct {
	options client.StartWorkflowOptions
	request workflows.SendRequest
}

// expectSends sets up sends that Temporal records and whose run's Get
// gives answer, or fails with getErr.
func (f *fixture) expectSends(t *testing.T, answer alleviate.Answer, getErr error) *[]started {
	t.Helper()
	var starts []started
	run := mocks.NewWorkflowRun(t)
	run.On("GetRunID").Return(runID).Maybe()
	get := run.On("Get", mock.Anything, mock.Anything).Return(getErr)
	if getErr == nil {
		get.Run(func(args mock.Arguments) { *args.Get(1).(*alleviate.Answer) = answer })
	}
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.AlleviateSendName, mock.Anything).
		Run(func(args mock.Arguments) {
			starts = append(starts, started{args.Get(1).(client.StartWorkflowOptions), args.Get(3).(workflows.SendRequest)})
		}).Return(run, nil)
	return &starts
}

var created = alleviate.Answer{StatusCode: http.StatusOK, ContentType: "application/json",
	Body: `{"form_name":"vip_tlc_bunionectomy_ect","message":"Participant created","participant_id":"ALV-000001","patient_id":139712,"success":true}`}

// A lead that is not one answers 400 naming each wrong field, never echoing
// a value (PHI); no workflow starts (the mock expects none).
func TestSendRejectsALeadThatIsNotOne(t *testing.T) {
	lead := func(field, value string) string {
		return strings.Replace(johnDoe, `"`+field+`":"`+fieldOf(field)+`"`, `"`+field+`":`+value, 1)
	}
	for _, c := range []struct {
		name   string
		body   string
		header []string
		fields map[string]string
	}{
		{"not JSON", `name=John Doe`, nil, map[string]string{"body": "must be a JSON object"}},
		{"a JSON array", `["John Doe"]`, nil, map[string]string{"body": "must be a JSON object"}},
		{"JSON null", `null`, nil, map[string]string{"body": "must be a JSON object"}},
		{"no field at all", `{}`, nil, map[string]string{"form_name": "required", "phone": "required", "name": "required",
			"email": "required", "instance_name": "required (or site_name)"}},
		{"an empty e-mail", lead("email", `"  "`), nil, map[string]string{"email": "required"}},
		{"a null name", lead("name", `null`), nil, map[string]string{"name": "required"}},
		{"a phone that is a number", lead("phone", `5551234567`), nil, map[string]string{"phone": "must be a string"}},
		{"an instance that is not a string, no site_name", lead("instance_name", `3`), nil, map[string]string{"instance_name": "must be a string"}},
		{"an e-mail without a dotted domain", lead("email", `"john.doe@localhost"`), nil, map[string]string{"email": "must be an e-mail address"}},
		{"an e-mail whose domain ends in a dot", lead("email", `"john.doe@example."`), nil, map[string]string{"email": "must be an e-mail address"}},
		{"an e-mail with a display name", lead("email", `"John <john.doe@example.com>"`), nil, map[string]string{"email": "must be an e-mail address"}},
		{"an e-mail without @", lead("email", `"john.doe.example.com"`), nil, map[string]string{"email": "must be an e-mail address"}},
		{"an e-mail without its local part", lead("email", `"@example.com"`), nil, map[string]string{"email": "must be an e-mail address"}},
		{"an Idempotency-Key over 255 characters", johnDoe, []string{"Idempotency-Key", strings.Repeat("k", 256)},
			map[string]string{"Idempotency-Key": "at most 255 characters"}},
	} {
		f := newFixture(t)
		rec := f.do(t, http.MethodPost, "/api/alleviate/send", c.body, c.header...)
		assert.Equal(t, http.StatusBadRequest, rec.Code, c.name)
		e := errorOf(t, rec)
		assert.Equal(t, "invalid_request", e.Code, c.name)
		assert.Equal(t, c.fields, e.Fields, c.name)
		assert.NotContains(t, strings.ToLower(rec.Body.String()), "john", "%s: no PHI in the answer", c.name)
		assert.Empty(t, rec.Header().Get("X-Workflow-Id"), c.name)
	}

	f := newFixture(t)
	rec := f.do(t, http.MethodPost, "/api/alleviate/send", tooLarge(64<<10))
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, "body_too_large", errorOf(t, rec).Code)
}

// fieldOf is the value johnDoe gives field.
func fieldOf(field string) string {
	return map[string]string{"form_name": "vip_tlc_bunionectomy_ect", "phone": "555-123-4567", "name": "John Doe",
		"email": "john.doe@example.com", "instance_name": "ect"}[field]
}

// What the send answers once Temporal recorded it: Alleviate's own answer,
// 202 while it runs, or its failure.
func TestSendAnswers(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer alleviate.Answer
		err    func(*testing.T) error // what waiting for the run gives
		status int
		code   string // an error's code
		typ    string // an error's type
	}{
		{name: "Alleviate's answer", answer: created, status: http.StatusOK},
		{name: "Alleviate's final 4xx", answer: alleviate.Answer{StatusCode: http.StatusUnprocessableEntity, ContentType: "application/json",
			Body: `{"success":false,"message":"form not found"}`}, status: http.StatusUnprocessableEntity},
		{name: "Alleviate's answer that is not JSON", answer: alleviate.Answer{StatusCode: http.StatusOK, ContentType: "text/plain",
			Body: "Participant created"}, status: http.StatusOK},
		{name: "still running", err: func(*testing.T) error { return context.DeadlineExceeded }, status: http.StatusAccepted},
		{name: "patient not found", err: func(t *testing.T) error {
			return workflowFailure(t, temporal.NewNonRetryableApplicationError("no patient", activities.ErrTypePatientNotFound, nil))
		}, status: http.StatusNotFound, code: "patient_not_found", typ: activities.ErrTypePatientNotFound},
		{name: "an upstream's final answer", err: func(t *testing.T) error {
			return workflowFailure(t, temporal.NewNonRetryableApplicationError("activepieces answered HTTP 404", activities.ErrTypeActivepiecesFlowDisabled, nil))
		}, status: http.StatusBadGateway, code: "upstream_failed", typ: activities.ErrTypeActivepiecesFlowDisabled},
		{name: "failed another way", err: func(t *testing.T) error {
			return workflowFailure(t, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil))
		}, status: http.StatusBadGateway, code: "send_failed"},
		{name: "cancelled by an operator", err: func(t *testing.T) error {
			return workflowFailure(t, temporal.NewCanceledError())
		}, status: http.StatusConflict, code: "send_stopped"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			var err error
			if c.err != nil {
				err = c.err(t)
			}
			starts := f.expectSends(t, c.answer, err)
			rec := f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe)
			require.Len(t, *starts, 1)
			id := (*starts)[0].options.ID
			assert.Equal(t, id, rec.Header().Get("X-Workflow-Id"), "every answer after the start names the run")
			assert.Equal(t, c.status, rec.Code)
			switch {
			case c.code != "":
				e := errorOf(t, rec)
				assert.Equal(t, c.code, e.Code)
				assert.Equal(t, c.typ, e.Type)
			case c.status == http.StatusAccepted:
				assert.Equal(t, map[string]any{"workflow_id": id, "status": "running", "status_url": "/api/alleviate/send/" + id}, jsonOf(t, rec))
			default:
				assert.Equal(t, c.answer.Body, rec.Body.String(), "Alleviate's body, unchanged")
				assert.Equal(t, c.answer.ContentType, rec.Header().Get("Content-Type"))
			}
		})
	}
}

// A send starts on the sends' queue, eagerly when the starter runs sends,
// with the lead as read, and findable in the Web UI without showing who it
// is about.
func TestSendStart(t *testing.T) {
	f := newFixture(t)
	starts := f.expectSends(t, created, nil)
	f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe)
	f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe)
	require.Len(t, *starts, 2)
	assert.NotEqual(t, (*starts)[0].options.ID, (*starts)[1].options.ID, "without a key, each send is a new run")

	s := (*starts)[0]
	assert.Equal(t, workflows.SendRequest{FormName: "vip_tlc_bunionectomy_ect", Phone: "555-123-4567", Name: "John Doe",
		Email: "john.doe@example.com", Instance: "ect"}, s.request)
	assert.True(t, strings.HasPrefix(s.options.ID, workflows.SendWorkflowIDPrefix), s.options.ID)
	assert.Equal(t, "carebridge-sends", s.options.TaskQueue)
	assert.True(t, s.options.EnableEagerStart)
	assert.Equal(t, "send vip_tlc_bunionectomy_ect lead (Realtime ect)", s.options.StaticSummary, "what, never who")
	attrs := s.options.TypedSearchAttributes
	for key, want := range map[temporal.SearchAttributeKeyKeyword]string{
		workflows.AttrKind: "send", workflows.AttrFormName: "vip_tlc_bunionectomy_ect", workflows.AttrRealtimeInstance: "ect",
		workflows.AttrPatientEmailHash: workflows.EmailHash([]byte("hash-key"), "john.doe@example.com"),
	} {
		got, _ := attrs.GetKeyword(key)
		assert.Equal(t, want, got, key.GetName())
	}

	f = newFixture(t)
	f.deps.Send.Eager, f.deps.Send.EmailHashKey = false, nil
	starts = f.expectSends(t, created, nil)
	f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe)
	require.Len(t, *starts, 1)
	s = (*starts)[0]
	assert.False(t, s.options.EnableEagerStart, "no send worker in the starter")
	assert.False(t, s.options.TypedSearchAttributes.ContainsKey(workflows.AttrPatientEmailHash), "no hash without its key")
}

// The same Idempotency-Key names the same run, which Temporal returns
// instead of starting another: Alleviate never sees the lead twice.
func TestSendIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	starts := f.expectSends(t, created, nil)
	f.describeRuns(t, starts)
	for range 2 {
		rec := f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe, "Idempotency-Key", "lead-42")
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, workflows.SendWorkflowID("", "lead-42"), rec.Header().Get("X-Workflow-Id"))
	}
	require.Len(t, *starts, 2)
	for _, s := range *starts {
		assert.Equal(t, workflows.SendWorkflowID("", "lead-42"), s.options.ID)
		assert.NotContains(t, s.options.ID, "lead-42", "the key is hashed")
		assert.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, s.options.WorkflowIDReusePolicy)
		assert.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, s.options.WorkflowIDConflictPolicy)
	}
}

// The lead as the workflow gets it: values trimmed, site_name in place of
// instance_name, unknown fields ignored.
func TestSendReadsTheLead(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       workflows.SendRequest
	}{
		{"trimmed, site_name, an extra field", `{"form_name":" f ","phone":"1","name":"N","email":"a@b.co","site_name":"ect","extra":1}`,
			workflows.SendRequest{FormName: "f", Phone: "1", Name: "N", Email: "a@b.co", Instance: "ect"}},
		{"instance_name wins over site_name", `{"form_name":"f","phone":"1","name":"N","email":"a@b.co","instance_name":"ect","site_name":"nyc"}`,
			workflows.SendRequest{FormName: "f", Phone: "1", Name: "N", Email: "a@b.co", Instance: "ect"}},
		{"a usable site_name stands in for a malformed instance_name", `{"form_name":"f","phone":"1","name":"N","email":"a@b.co","instance_name":3,"site_name":"nyc"}`,
			workflows.SendRequest{FormName: "f", Phone: "1", Name: "N", Email: "a@b.co", Instance: "nyc"}},
		{"a plus address on a deeper domain", `{"form_name":"f","phone":"1","name":"N","email":"john.doe+vip@example.co.uk","instance_name":"ect"}`,
			workflows.SendRequest{FormName: "f", Phone: "1", Name: "N", Email: "john.doe+vip@example.co.uk", Instance: "ect"}},
	} {
		f := newFixture(t)
		starts := f.expectSends(t, created, nil)
		rec := f.do(t, http.MethodPost, "/api/alleviate/send", c.body)
		assert.Equal(t, http.StatusOK, rec.Code, c.name)
		if assert.Len(t, *starts, 1, c.name) {
			assert.Equal(t, c.want, (*starts)[0].request, c.name)
		}
	}
}

// GET /api/alleviate/send/{id}: what a send became.
func TestSendStatusAnswers(t *testing.T) {
	startedAt := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	closedAt := startedAt.Add(2 * time.Second)
	const id = "alleviate-send-key-0123"
	described := func(status enumspb.WorkflowExecutionStatus) *workflowservice.DescribeWorkflowExecutionResponse {
		info := &workflowpb.WorkflowExecutionInfo{Status: status, StartTime: timestamppb.New(startedAt)}
		if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			info.CloseTime = timestamppb.New(closedAt)
		}
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}
	}
	finished := func(t *testing.T, f *fixture, answer alleviate.Answer, err error) {
		f.temporal.On("DescribeWorkflowExecution", mock.Anything, id, "").Return(described(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED), nil)
		run := mocks.NewWorkflowRun(t)
		get := run.On("Get", mock.Anything, mock.Anything).Return(err)
		if err == nil {
			get.Run(func(args mock.Arguments) { *args.Get(1).(*alleviate.Answer) = answer })
		}
		f.temporal.On("GetWorkflow", mock.Anything, id, "").Return(run)
	}
	for _, c := range []struct {
		name   string
		id     string
		setup  func(*testing.T, *fixture)
		status int
		want   map[string]any // a 200's body
		code   string         // an error's code
	}{
		{name: "running", id: id, setup: func(_ *testing.T, f *fixture) {
			f.temporal.On("DescribeWorkflowExecution", mock.Anything, id, "").Return(described(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), nil)
		}, status: http.StatusOK, want: map[string]any{"workflow_id": id, "status": "running", "started_at": "2026-05-01T09:00:00Z"}},
		{name: "completed with JSON", id: id, setup: func(t *testing.T, f *fixture) {
			finished(t, f, alleviate.Answer{StatusCode: 200, ContentType: "application/json", Body: `{"success":true}`}, nil)
		}, status: http.StatusOK, want: map[string]any{"workflow_id": id, "status": "completed",
			"answer":     map[string]any{"status_code": 200.0, "content_type": "application/json", "body": map[string]any{"success": true}},
			"started_at": "2026-05-01T09:00:00Z", "closed_at": "2026-05-01T09:00:02Z"}},
		{name: "completed with a body that is not JSON", id: id, setup: func(t *testing.T, f *fixture) {
			finished(t, f, alleviate.Answer{StatusCode: 200, ContentType: "text/plain", Body: "Participant created"}, nil)
		}, status: http.StatusOK, want: map[string]any{"workflow_id": id, "status": "completed",
			"answer":     map[string]any{"status_code": 200.0, "content_type": "text/plain", "body": "Participant created"},
			"started_at": "2026-05-01T09:00:00Z", "closed_at": "2026-05-01T09:00:02Z"}},
		{name: "failed", id: id, setup: func(t *testing.T, f *fixture) {
			finished(t, f, alleviate.Answer{}, workflowFailure(t, temporal.NewNonRetryableApplicationError("no patient", activities.ErrTypePatientNotFound, nil)))
		}, status: http.StatusOK, want: map[string]any{"workflow_id": id, "status": "failed",
			"error":      map[string]any{"code": "patient_not_found", "type": "PatientNotFound", "message": "Realtime has no patient with that e-mail on that instance"},
			"started_at": "2026-05-01T09:00:00Z", "closed_at": "2026-05-01T09:00:02Z"}},
		{name: "not a send's id: never looked up", id: "carevalidate-case-c1", status: http.StatusNotFound, code: "send_not_found"},
		{name: "no such send", id: id, setup: func(_ *testing.T, f *fixture) {
			f.temporal.On("DescribeWorkflowExecution", mock.Anything, id, "").Return(nil, serviceerror.NewNotFound("workflow not found"))
		}, status: http.StatusNotFound, code: "send_not_found"},
		{name: "Temporal unavailable", id: id, setup: func(_ *testing.T, f *fixture) {
			f.temporal.On("DescribeWorkflowExecution", mock.Anything, id, "").Return(nil, serviceerror.NewUnavailable("down"))
		}, status: http.StatusServiceUnavailable, code: "temporal_unavailable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			if c.setup != nil {
				c.setup(t, f)
			}
			rec := f.do(t, http.MethodGet, "/api/alleviate/send/"+c.id, "")
			assert.Equal(t, c.status, rec.Code)
			if c.code != "" {
				assert.Equal(t, c.code, errorOf(t, rec).Code)
				return
			}
			assert.Equal(t, c.want, jsonOf(t, rec))
		})
	}
}

// runID is the run every mocked start returns.
const runID = "run-1"

// describeRuns stands in for Temporal's ids: the first start of an id makes
// its run, and DescribeWorkflowExecution shows that run's memo, encoded as
// the SDK encodes it (the default data converter here). A later start of
// the id gets that run, whatever its own memo said.
func (f *fixture) describeRuns(t *testing.T, starts *[]started) {
	t.Helper()
	f.temporal.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, runID).Return(
		func(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
			for _, s := range *starts {
				if s.options.ID == id {
					return describedWithMemo(t, s.options.Memo), nil
				}
			}
			return nil, serviceerror.NewNotFound("workflow not found")
		})
}

// describedWithMemo is a running run whose memo is memo.
func describedWithMemo(t *testing.T, memo map[string]any) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	fields := map[string]*commonpb.Payload{}
	for k, v := range memo {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		require.NoError(t, err)
		fields[k] = p
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, Memo: &commonpb.Memo{Fields: fields}}}
}

// Two named callers' keys, as CAREBRIDGE_API_KEYS gives them: hashed.
const (
	alphaKey = "alpha-key-7f3c9b1e"
	betaKey  = "beta-key-0d42aa6c"
)

func withCallers(f *fixture) {
	f.deps.APIKeys = []config.APIKey{
		{Caller: "alpha", SHA256: sha256.Sum256([]byte(alphaKey))},
		{Caller: "beta", SHA256: sha256.Sum256([]byte(betaKey))},
	}
}

func bearer(key string) string { return "Bearer " + key }

// anotherLead is johnDoe with another phone: another lead.
var anotherLead = strings.Replace(johnDoe, "555-123-4567", "555-987-6543", 1)

// A named key is accepted; its caller's name, never the key, is on the run
// (memo "caller") and in the request's line in the log.
func TestSendNamedCaller(t *testing.T) {
	f := newFixture(t)
	withCallers(f)
	starts := f.expectSends(t, created, nil)
	rec, line := f.served(t, "/api/alleviate/send", johnDoe, "Authorization", bearer(betaKey))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Len(t, *starts, 1)
	assert.Equal(t, map[string]any{"caller": "beta"}, (*starts)[0].options.Memo, "no key, no fingerprint")

	assert.Equal(t, "http request", line["msg"])
	assert.Equal(t, "beta", line["caller"])
	assert.Equal(t, "POST /api/alleviate/send", line["route"])
	assert.EqualValues(t, http.StatusOK, line["status"])
	assert.Equal(t, rec.Header().Get("X-Workflow-Id"), line["workflow_id"])
}

// A key that is not one of them, or not a bearer one, answers 401 and
// starts nothing (the mock expects no start).
func TestSendWrongKey(t *testing.T) {
	f := newFixture(t)
	withCallers(f)
	for _, authorization := range []string{"", bearer("alpha-key"), bearer(alphaKey + " "), "Basic " + alphaKey, alphaKey, "Bearer "} {
		rec := f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe, "Authorization", authorization, "Idempotency-Key", "k")
		assert.Equal(t, http.StatusUnauthorized, rec.Code, authorization)
		assert.Equal(t, "unauthorized", errorOf(t, rec).Code, authorization)
		assert.Empty(t, rec.Header().Get("X-Workflow-Id"), authorization)
	}
	assert.NotContains(t, f.log.String(), alphaKey)
}

// Idempotency-Keys are the caller's own: two callers with one key get two
// runs, neither the id the key alone names.
func TestSendTwoCallersOneKey(t *testing.T) {
	f := newFixture(t)
	withCallers(f)
	starts := f.expectSends(t, created, nil)
	f.describeRuns(t, starts)
	for _, key := range []string{alphaKey, betaKey} {
		rec := f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe, "Authorization", bearer(key), "Idempotency-Key", "lead-42")
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	require.Len(t, *starts, 2)
	alpha, beta := (*starts)[0].options, (*starts)[1].options
	assert.NotEqual(t, alpha.ID, beta.ID, "two callers, two sends")
	assert.NotEqual(t, workflows.SendWorkflowID("", "lead-42"), alpha.ID)
	assert.NotEqual(t, workflows.SendWorkflowID("", "lead-42"), beta.ID)
	assert.Equal(t, workflows.SendWorkflowID("alpha", "lead-42"), alpha.ID)
	assert.True(t, strings.HasPrefix(alpha.ID, workflows.SendWorkflowIDPrefix+"key-"), alpha.ID)
	assert.Equal(t, "alpha", alpha.Memo["caller"])
	assert.Equal(t, "beta", beta.Memo["caller"])
}

// The same caller with the same key and the same lead finds the same run:
// its answer, and Alleviate sees the lead once. The lead as the workflow
// reads it counts, not its bytes.
func TestSendSameCallerSameKeySameLead(t *testing.T) {
	f := newFixture(t)
	withCallers(f)
	starts := f.expectSends(t, created, nil)
	f.describeRuns(t, starts)
	reordered := `{"instance_name":"ect","email":"john.doe@example.com","name":" John Doe ","phone":"555-123-4567","form_name":"vip_tlc_bunionectomy_ect","extra":1}`
	for _, body := range []string{johnDoe, johnDoe, reordered} {
		rec := f.do(t, http.MethodPost, "/api/alleviate/send", body, "Authorization", bearer(alphaKey), "Idempotency-Key", "lead-42")
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, created.Body, rec.Body.String())
		assert.Equal(t, workflows.SendWorkflowID("alpha", "lead-42"), rec.Header().Get("X-Workflow-Id"))
	}
	require.Len(t, *starts, 3)
	for _, s := range *starts {
		assert.Equal(t, (*starts)[0].options.Memo, s.options.Memo, "one lead, one fingerprint")
	}
	fingerprint, _ := (*starts)[0].options.Memo["lead_fingerprint"].(string)
	assert.Regexp(t, `^[0-9a-f]{8}\.[0-9a-f]{64}$`, fingerprint)
	for _, value := range []string{"john", "555", "example.com"} {
		assert.NotContains(t, strings.ToLower(fingerprint), value, "no PHI in the memo")
	}
}

// The same caller's key with another lead answers 422 naming
// Idempotency-Key; the run keeps its lead and no second send happens (the
// run's Get is not called again).
func TestSendSameKeyAnotherLead(t *testing.T) {
	f := newFixture(t)
	withCallers(f)
	starts := f.expectSends(t, created, nil)
	f.describeRuns(t, starts)
	first := f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe, "Authorization", bearer(alphaKey), "Idempotency-Key", "lead-42")
	require.Equal(t, http.StatusOK, first.Code)

	rec := f.do(t, http.MethodPost, "/api/alleviate/send", anotherLead, "Authorization", bearer(alphaKey), "Idempotency-Key", "lead-42")
	assert.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	e := errorOf(t, rec)
	assert.Equal(t, "idempotency_key_reused", e.Code)
	assert.Equal(t, map[string]string{"Idempotency-Key": "already used with a different lead"}, e.Fields)
	assert.Equal(t, first.Header().Get("X-Workflow-Id"), rec.Header().Get("X-Workflow-Id"), "names the key's run")
	assert.NotContains(t, rec.Body.String(), "555")

	// Another caller's same key is another send: no 422.
	rec = f.do(t, http.MethodPost, "/api/alleviate/send", anotherLead, "Authorization", bearer(betaKey), "Idempotency-Key", "lead-42")
	assert.Equal(t, http.StatusOK, rec.Code)
	// And the first lead, again, still answers.
	rec = f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe, "Authorization", bearer(alphaKey), "Idempotency-Key", "lead-42")
	assert.Equal(t, http.StatusOK, rec.Code)
}

// A run that cannot tell its lead answers as before: one started before
// fingerprints, or whose fingerprint was made under another
// CAREBRIDGE_SEARCH_HASH_KEY. Without the key nothing is fingerprinted and
// nothing described. A describe that fails answers 503: retry.
func TestSendKeyReuseThatCannotBeTold(t *testing.T) {
	id := workflows.SendWorkflowID("alpha", "lead-42")
	for _, c := range []struct {
		name string
		memo map[string]any
	}{
		{"no fingerprint", map[string]any{"caller": "alpha"}},
		{"another hash key", map[string]any{"caller": "alpha", "lead_fingerprint": "0badc0de." + strings.Repeat("0", 64)}},
		{"not a string", map[string]any{"caller": "alpha", "lead_fingerprint": 42}},
	} {
		f := newFixture(t)
		withCallers(f)
		f.expectSends(t, created, nil)
		f.temporal.On("DescribeWorkflowExecution", mock.Anything, id, runID).Return(describedWithMemo(t, c.memo), nil)
		rec := f.do(t, http.MethodPost, "/api/alleviate/send", anotherLead, "Authorization", bearer(alphaKey), "Idempotency-Key", "lead-42")
		assert.Equal(t, http.StatusOK, rec.Code, c.name)
	}

	f := newFixture(t)
	withCallers(f)
	f.deps.Send.EmailHashKey = nil
	starts := f.expectSends(t, created, nil)
	rec := f.do(t, http.MethodPost, "/api/alleviate/send", anotherLead, "Authorization", bearer(alphaKey), "Idempotency-Key", "lead-42")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, map[string]any{"caller": "alpha"}, (*starts)[0].options.Memo)

	f = newFixture(t)
	withCallers(f)
	run := mocks.NewWorkflowRun(t)
	run.On("GetRunID").Return(runID) // and no Get: nothing is waited for
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.AlleviateSendName, mock.Anything).Return(run, nil)
	f.temporal.On("DescribeWorkflowExecution", mock.Anything, id, runID).Return(nil, serviceerror.NewUnavailable("down"))
	rec = f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe, "Authorization", bearer(alphaKey), "Idempotency-Key", "lead-42")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "temporal_unavailable", errorOf(t, rec).Code)
	assert.Equal(t, id, rec.Header().Get("X-Workflow-Id"), "the send is recorded: retry with the key")
}

// CAREBRIDGE_API_TOKENS (deprecated) still opens the API: its tokens are
// one caller, whose keys keep the ids they had before callers had names.
func TestSendSharedTokens(t *testing.T) {
	f := newFixture(t)
	withCallers(f)
	f.deps.APITokens = []string{"t1", "t2"}
	starts := f.expectSends(t, created, nil)
	f.describeRuns(t, starts)
	for _, token := range []string{"t1", "t2"} {
		rec := f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe, "Authorization", bearer(token), "Idempotency-Key", "lead-42")
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, workflows.SendWorkflowID("", "lead-42"), rec.Header().Get("X-Workflow-Id"))
	}
	require.Len(t, *starts, 2)
	assert.Equal(t, "api-tokens", (*starts)[0].options.Memo["caller"])
	assert.Contains(t, f.log.String(), "CAREBRIDGE_API_TOKENS is deprecated")
}

// An Idempotency-Key holding a control character is refused: a key is
// text, and a NUL would blur whose key it is.
func TestSendRefusesAControlCharacterInTheKey(t *testing.T) {
	f := newFixture(t)
	withCallers(f)
	rec := f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe, "Authorization", bearer(alphaKey), "Idempotency-Key", "lead\x0042")
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, map[string]string{"Idempotency-Key": "printable characters only"}, errorOf(t, rec).Fields)
}

// A send's status is its caller's: another named caller is told there is
// no such send. A run that names no caller (older, or started while the API
// was open) is anyone's, as before.
func TestSendStatusIsTheCallers(t *testing.T) {
	const id = "alleviate-send-key-0123"
	for _, c := range []struct {
		name   string
		memo   map[string]any
		key    string
		status int
	}{
		{"its caller", map[string]any{"caller": "alpha"}, alphaKey, http.StatusOK},
		{"another caller", map[string]any{"caller": "alpha"}, betaKey, http.StatusNotFound},
		{"a name that cannot be read", map[string]any{"caller": 42}, alphaKey, http.StatusNotFound},
		{"no caller on the run", nil, betaKey, http.StatusOK},
	} {
		f := newFixture(t)
		withCallers(f)
		f.temporal.On("DescribeWorkflowExecution", mock.Anything, id, "").Return(describedWithMemo(t, c.memo), nil)
		rec := f.do(t, http.MethodGet, "/api/alleviate/send/"+id, "", "Authorization", bearer(c.key))
		assert.Equal(t, c.status, rec.Code, c.name)
		if c.status == http.StatusNotFound {
			assert.Equal(t, "send_not_found", errorOf(t, rec).Code, c.name)
		} else {
			assert.Equal(t, "running", jsonOf(t, rec)["status"], c.name)
		}
	}
}

// The request's own line (internal/metrics) still names the route a named
// caller's request matched, as it did before requests carried a caller.
func TestSendNamedCallerRequestLineKeepsItsRoute(t *testing.T) {
	f := newFixture(t)
	withCallers(f)
	f.expectSends(t, created, nil)
	rec, line := f.served(t, "/api/alleviate/send", johnDoe, "Authorization", bearer(alphaKey))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "POST /api/alleviate/send", line["route"])
}

// served serves one POST the way the starter does (internal/metrics around
// api.New) and returns the answer and the request's line in the log.
func (f *fixture) served(t *testing.T, path, body string, header ...string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	var lines bytes.Buffer
	handler := f.metrics.Instrument(slog.New(slog.NewJSONHandler(&lines, nil)), api.New(f.deps))
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	var line map[string]any
	require.NoError(t, json.Unmarshal(lines.Bytes(), &line), "one line: %s", lines.String())
	assert.NotContains(t, lines.String(), alphaKey, "never a key")
	assert.NotContains(t, lines.String(), betaKey, "never a key")
	assert.NotContains(t, lines.String(), "john", "never the lead")
	return rec, line
}
