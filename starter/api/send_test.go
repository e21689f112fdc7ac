package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/alleviate"
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
	for range 2 {
		rec := f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe, "Idempotency-Key", "lead-42")
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, workflows.SendWorkflowID("lead-42"), rec.Header().Get("X-Workflow-Id"))
	}
	require.Len(t, *starts, 2)
	for _, s := range *starts {
		assert.Equal(t, workflows.SendWorkflowID("lead-42"), s.options.ID)
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
