package api_test

import (
	"bytes"
	"context"
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
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"

	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/internal/metrics"
	"github.com/carebridge/carebridge/starter/api"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
	"github.com/carebridge/carebridge/workflows"
)

// The partners' secrets the fixture's API checks.
const (
	cvHeader    = "X-CareValidate-Auth"
	cvSecret    = "cv-secret"
	akuteSecret = "akute-secret"
)

// fixture is the API over a mocked Temporal client, every integration on:
// a test sets up the calls it expects, and the mock fails the test on any
// other.
type fixture struct {
	temporal *mocks.Client
	deps     api.Deps
	metrics  *metrics.Registry
	log      bytes.Buffer
	api      http.Handler // api.New(deps), made at the first request
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{temporal: mocks.NewClient(t), metrics: metrics.New("carebridge_starter")}
	t.Cleanup(func() { _ = f.metrics.Close() })
	f.deps = api.Deps{
		Temporal: f.temporal, Namespace: "clinic", TaskQueue: "carebridge", SendTaskQueue: "carebridge-sends",
		Log:          slog.New(slog.NewJSONHandler(&f.log, nil)),
		Metrics:      f.metrics,
		Send:         &api.Send{Wait: time.Minute, EmailHashKey: []byte("hash-key"), Eager: true},
		CareValidate: &carevalidate.Auth{Header: cvHeader, Secret: cvSecret},
		Akute:        &akutewebhook.Verifier{Secrets: [][]byte{[]byte(akuteSecret)}},
	}
	return f
}

// do serves one request through api.New(f.deps), made at the first
// request (it registers its counters once); header holds name, value pairs.
func (f *fixture) do(t *testing.T, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if f.api == nil {
		f.api = api.New(f.deps)
	}
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	return rec
}

// apiError is the body of every error answer, as a caller reads it.
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Type    string            `json:"type"`
	Fields  map[string]string `json:"fields"`
	Missing []string          `json:"missing"`
	Command string            `json:"command"`
}

// errorOf decodes an error answer, checking it is JSON.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder) apiError {
	t.Helper()
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var body struct {
		Error apiError `json:"error"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	require.NotEmpty(t, body.Error.Code, "an error answer: %s", rec.Body.String())
	return body.Error
}

// jsonOf decodes a JSON answer that is not an error.
func jsonOf(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return body
}

// namespace stands in for Temporal's operator service: it answers
// ListSearchAttributes, the only call the API makes, with custom or err.
type namespace struct {
	operatorservice.OperatorServiceClient
	custom map[string]enumspb.IndexedValueType
	err    error
}

func (n namespace) ListSearchAttributes(context.Context, *operatorservice.ListSearchAttributesRequest, ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: n.custom}, n.err
}

// withAttributes is a namespace with every carebridge search attribute
// but those named.
func withAttributes(except ...string) namespace {
	n := namespace{custom: map[string]enumspb.IndexedValueType{}}
	for name := range workflows.SearchAttributes {
		n.custom[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	for _, name := range except {
		delete(n.custom, name)
	}
	return n
}

// workflowFailure is the error a run's Get returns for a workflow that
// failed with cause, made by the SDK itself: its test environment runs a
// workflow that returns cause.
func workflowFailure(t *testing.T, cause error) error {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.ExecuteWorkflow(func(workflow.Context) error { return cause })
	err := env.GetWorkflowError()
	var failed *temporal.WorkflowExecutionError
	require.ErrorAs(t, err, &failed)
	return err
}

func TestHealthz(t *testing.T) {
	f := newFixture(t)
	f.deps.APITokens = []string{"t1"}
	rec := f.do(t, http.MethodGet, "/healthz", "")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, map[string]any{"status": "ok"}, jsonOf(t, rec), "open even with API tokens")
}

// With API tokens set every /api/ route wants one; the webhooks keep their
// partners' own auth.
func TestAPITokens(t *testing.T) {
	f := newFixture(t)
	f.deps.APITokens = []string{"t1", "t2"}
	for _, c := range []struct {
		name, method, path, authorization string
	}{
		{"no token", http.MethodGet, "/api/cases/c1", ""},
		{"a wrong token", http.MethodGet, "/api/cases/c1", "Bearer t3"},
		{"the send", http.MethodPost, "/api/alleviate/send", ""},
		{"a send's status", http.MethodGet, "/api/alleviate/send/alleviate-send-1", ""},
	} {
		rec := f.do(t, c.method, c.path, `{}`, "Authorization", c.authorization)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, c.name)
		assert.Equal(t, "unauthorized", errorOf(t, rec).Code, c.name)
		assert.Equal(t, `Bearer realm="carebridge"`, rec.Header().Get("WWW-Authenticate"), c.name)
	}

	value := mocks.NewEncodedValue(t)
	value.On("Get", mock.Anything).Return(nil)
	f.temporal.On("QueryWorkflow", mock.Anything, "carevalidate-case-c1", "", workflows.QueryState).Return(value, nil)
	rec := f.do(t, http.MethodGet, "/api/cases/c1", "", "Authorization", "Bearer t2")
	assert.Equal(t, http.StatusOK, rec.Code, "any of the tokens")

	rec = f.do(t, http.MethodPost, "/webhooks/akute", `{}`)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, "invalid_signature", errorOf(t, rec).Code, "Akute's own check, not the API token's")
}

// An integration the deployment did not configure answers 404
// integration_off on each of its routes, naming what turns it on; Temporal
// is never called (the mock has no expectations).
func TestIntegrationOff(t *testing.T) {
	f := newFixture(t)
	f.deps.Send, f.deps.CareValidate, f.deps.Akute = nil, nil, nil
	for _, c := range []struct {
		method, path, message string
	}{
		{http.MethodPost, "/api/alleviate/send", "alleviate-send is not configured on this deployment (ACTIVEPIECES_WEBHOOK_URL, REALTIME_BASE_URL, ALLEVIATE_BASE_URL, ALLEVIATE_API_KEY)"},
		{http.MethodGet, "/api/alleviate/send/alleviate-send-1", "alleviate-send is not configured on this deployment"},
		{http.MethodPost, "/webhooks/carevalidate", "carevalidate-cases is not configured on this deployment (CAREVALIDATE_AUTH_SECRET)"},
		{http.MethodGet, "/api/cases/c1", "carevalidate-cases is not configured on this deployment"},
		{http.MethodPost, "/webhooks/akute", "akute is not configured on this deployment (AKUTE_WEBHOOK_SECRET)"},
	} {
		rec := f.do(t, c.method, c.path, `{}`)
		assert.Equal(t, http.StatusNotFound, rec.Code, c.path)
		e := errorOf(t, rec)
		assert.Equal(t, "integration_off", e.Code, c.path)
		assert.Contains(t, e.Message, c.message, c.path)
	}
}

// Temporal did not record a start or a signal: every route that records
// answers 503, and says whether to wait, retry or create the namespace's
// search attributes.
func TestNotRecorded(t *testing.T) {
	refusedAttribute := serviceerror.NewInvalidArgument("search attribute AkuteTaskIds is not defined")
	routes := []struct {
		name   string
		record string // the call that fails
		do     func(*testing.T, *fixture) *httptest.ResponseRecorder
	}{
		{"send", "ExecuteWorkflow", func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
			return f.do(t, http.MethodPost, "/api/alleviate/send", johnDoe)
		}},
		{"carevalidate", "SignalWithStartWorkflow", func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
			return f.do(t, http.MethodPost, "/webhooks/carevalidate", string(carevalidatetest.Example), cvHeader, cvSecret)
		}},
		{"akute", "SignalWithStartWorkflow", func(t *testing.T, f *fixture) *httptest.ResponseRecorder {
			return f.signedAkute(t, `{"id":"evt-1","hello":"world"}`) // unknown shape: kept as unrouted
		}},
	}
	for _, route := range routes {
		for _, c := range []struct {
			name      string
			err       error
			namespace *namespace // nil: the namespace is not asked
			code      string
		}{
			{"Temporal unavailable", serviceerror.NewUnavailable("connection refused"), nil, "temporal_unavailable"},
			{"an attribute refused, the namespace lacks it", refusedAttribute, ptr(withAttributes("AkuteTaskIds", "CarebridgeKind")), "search_attributes_missing"},
			{"an attribute refused, the namespace has it", refusedAttribute, ptr(withAttributes()), "search_attributes_not_ready"},
			{"an attribute refused, the namespace does not answer", refusedAttribute, &namespace{err: serviceerror.NewUnavailable("down")}, "search_attributes_not_ready"},
		} {
			t.Run(route.name+"/"+c.name, func(t *testing.T) {
				f := newFixture(t)
				if route.record == "ExecuteWorkflow" {
					f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, c.err)
				} else {
					f.temporal.On("SignalWithStartWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, c.err)
				}
				if c.namespace != nil {
					f.temporal.On("OperatorService").Return(*c.namespace)
				}
				rec := route.do(t, f)
				assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
				e := errorOf(t, rec)
				assert.Equal(t, c.code, e.Code)
				if c.code == "search_attributes_missing" {
					assert.Equal(t, []string{"AkuteTaskIds", "CarebridgeKind"}, e.Missing)
					assert.Equal(t, "temporal operator search-attribute create --namespace clinic --name AkuteTaskIds --type KeywordList --name CarebridgeKind --type Keyword", e.Command)
				}
				assert.Contains(t, f.log.String(), `"msg":"not recorded: `, "logged once, with the caller's context")
			})
		}
	}
}

func ptr[T any](v T) *T { return &v }

// The internal listener's readiness.
func TestReadyz(t *testing.T) {
	for _, c := range []struct {
		name      string
		namespace namespace
		status    int
		code      string
	}{
		{"ready", withAttributes(), http.StatusOK, ""},
		{"Temporal unavailable", namespace{err: serviceerror.NewUnavailable("down")}, http.StatusServiceUnavailable, "temporal_unavailable"},
		{"search attributes missing", withAttributes("PatientEmailHash"), http.StatusServiceUnavailable, "search_attributes_missing"},
	} {
		f := newFixture(t)
		f.temporal.On("OperatorService").Return(c.namespace)
		rec := httptest.NewRecorder()
		api.Readyz(f.deps).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		assert.Equal(t, c.status, rec.Code, c.name)
		if c.code == "" {
			assert.Equal(t, map[string]any{"status": "ready"}, jsonOf(t, rec), c.name)
			continue
		}
		e := errorOf(t, rec)
		assert.Equal(t, c.code, e.Code, c.name)
		if c.code == "search_attributes_missing" {
			assert.Equal(t, []string{"PatientEmailHash"}, e.Missing)
			assert.Equal(t, "temporal operator search-attribute create --namespace clinic --name PatientEmailHash --type Keyword", e.Command)
		}
	}
}

// At start the starter says which search attributes the namespace lacks,
// once Temporal answers.
func TestLogMissingSearchAttributes(t *testing.T) {
	f := newFixture(t)
	f.temporal.On("OperatorService").Return(withAttributes("CaseShortId"))
	api.LogMissingSearchAttributes(context.Background(), f.deps)
	line := f.log.String()
	assert.Contains(t, line, `"msg":"the Temporal namespace lacks carebridge's search attributes: every start will be refused until they exist"`)
	assert.Contains(t, line, `"missing":"CaseShortId"`)
	assert.Contains(t, line, `"create_with":"temporal operator search-attribute create --namespace clinic --name CaseShortId --type Keyword"`)

	// It gives up when the starter stops before Temporal answers.
	f = newFixture(t)
	f.temporal.On("OperatorService").Return(namespace{err: serviceerror.NewUnavailable("down")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	api.LogMissingSearchAttributes(ctx, f.deps)
	assert.Empty(t, f.log.String())
}

// tooLarge is a body one byte over limit.
func tooLarge(limit int) string { return strings.Repeat(" ", limit+1) }
