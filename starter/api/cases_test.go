package api_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"

	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/internal/hmacsig"
	"github.com/carebridge/carebridge/starter/api"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
	"github.com/carebridge/carebridge/workflows"
)

// exampleCase is the reference's example event, as the case workflow gets it.
var exampleCase, _ = carevalidate.Parse(carevalidatetest.Example)

// signalled is what a SignalWithStart was given.
type signalled struct {
	id, signal string
	arg        any
	options    client.StartWorkflowOptions
	input      any
}

// expectSignalWithStart sets up SignalWithStartWorkflow calls that Temporal
// records, and returns what they were given.
func (f *fixture) expectSignalWithStart(t *testing.T) *[]signalled {
	t.Helper()
	var calls []signalled
	run := mocks.NewWorkflowRun(t)
	run.On("GetRunID").Return("run-1").Maybe()
	f.temporal.On("SignalWithStartWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) {
			calls = append(calls, signalled{args.String(1), args.String(2), args.Get(3), args.Get(4).(client.StartWorkflowOptions), args.Get(6)})
		}).Return(run, nil)
	return &calls
}

// POST /webhooks/carevalidate: every answer.
func TestCareValidateWebhookAnswers(t *testing.T) {
	example := string(carevalidatetest.Example)
	for _, c := range []struct {
		name          string
		signingSecret string
		body          string
		header        []string
		status        int
		code          string            // an error's code
		message       string            // an error's message
		fields        map[string]string // an error's fields
		check         string            // a refusal's check, in the log line only
	}{
		{name: "recorded", body: example, header: []string{cvHeader, cvSecret}, status: http.StatusAccepted},
		{name: "recorded, signed", signingSecret: "signing", body: example,
			header: []string{cvHeader, cvSecret, carevalidate.SignatureHeader, hmacsig.Sign([]byte("signing"), carevalidatetest.Example)},
			status: http.StatusAccepted},
		{name: "no auth header", body: example, status: http.StatusUnauthorized, code: "unauthorized",
			message: refused, check: carevalidate.FailedAuthHeader},
		{name: "a wrong secret", body: example, header: []string{cvHeader, "guess"}, status: http.StatusUnauthorized,
			code: "unauthorized", message: refused, check: carevalidate.FailedAuthHeader},
		{name: "a signature that does not match", signingSecret: "signing", body: example,
			header: []string{cvHeader, cvSecret, carevalidate.SignatureHeader, hmacsig.Sign([]byte("other"), carevalidatetest.Example)},
			status: http.StatusUnauthorized, code: "unauthorized", message: refused, check: carevalidate.FailedSignature},
		{name: "no signature", signingSecret: "signing", body: example, header: []string{cvHeader, cvSecret},
			status: http.StatusUnauthorized, code: "unauthorized", message: refused, check: carevalidate.FailedSignatureHeader},
		{name: "not JSON", body: `event=CASE_CREATED`, header: []string{cvHeader, cvSecret},
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "no event", body: `{"payload":{"case":{"id":"c1"}}}`, header: []string{cvHeader, cvSecret},
			status: http.StatusBadRequest, code: "invalid_request", fields: map[string]string{"event": "required"}},
		{name: "no case id", body: `{"event":"CASE_CREATED","payload":{"case":{}}}`, header: []string{cvHeader, cvSecret},
			status: http.StatusBadRequest, code: "invalid_request", fields: map[string]string{"payload.case.id": "required"}},
		{name: "a malformed case id", body: `{"event":"CASE_CREATED","payload":{"case":{"id":"c 1/.."}}}`, header: []string{cvHeader, cvSecret},
			status: http.StatusBadRequest, code: "invalid_request", fields: map[string]string{"payload.case.id": "required"}},
		{name: "over 20 MiB", body: tooLarge(20 << 20), header: []string{cvHeader, cvSecret},
			status: http.StatusRequestEntityTooLarge, code: "body_too_large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.deps.CareValidate.SigningSecret = c.signingSecret
			var calls *[]signalled
			if c.status == http.StatusAccepted {
				calls = f.expectSignalWithStart(t)
			}
			rec := f.do(t, http.MethodPost, "/webhooks/carevalidate", c.body, c.header...)
			assert.Equal(t, c.status, rec.Code)
			if c.code != "" {
				e := errorOf(t, rec)
				assert.Equal(t, c.code, e.Code)
				assert.Equal(t, c.fields, e.Fields)
				if c.message != "" {
					assert.Equal(t, c.message, e.Message)
				}
				if c.status == http.StatusUnauthorized {
					assert.Contains(t, f.log.String(), `"check":"`+c.check+`"`, "the log line says which check failed")
					if c.check == carevalidate.FailedSignature {
						assert.Contains(t, f.log.String(), `"body_sha256":"`+hmacsig.BodyHash([]byte(c.body))+`"`, "the log names the body by its hash")
					} else {
						assert.NotContains(t, f.log.String(), "body_sha256", "refused before the body was read")
					}
					assert.NotContains(t, f.log.String(), "Chris", "and never quotes it")
				}
				return
			}
			id := workflows.CaseWorkflowID(exampleCase.CaseID)
			assert.Equal(t, map[string]any{"workflow_id": id}, jsonOf(t, rec))
			assert.Equal(t, id, rec.Header().Get("X-Workflow-Id"))
			require.Len(t, *calls, 1)
			call := (*calls)[0]
			assert.Equal(t, id, call.id)
			assert.Equal(t, workflows.SignalCaseEvent, call.signal)
			assert.Equal(t, exampleCase, call.arg)
			assert.Equal(t, workflows.CaseInput{CaseID: exampleCase.CaseID}, call.input)
			assert.Equal(t, id, call.options.ID)
			assert.Equal(t, "carebridge", call.options.TaskQueue)
			shortID, _ := call.options.TypedSearchAttributes.GetKeyword(workflows.AttrCaseShortID)
			assert.Equal(t, "ADA-TOSXM", shortID)
			kind, _ := call.options.TypedSearchAttributes.GetKeyword(workflows.AttrKind)
			assert.Equal(t, "case", kind)
			assert.Contains(t, f.log.String(), `"msg":"carevalidate event recorded"`)
		})
	}
}

// refused is every refused CareValidate delivery's message.
const refused = "the delivery could not be authenticated"

// A refusal says nothing of which check failed: its answer is the same,
// byte for byte, for a wrong secret and for a wrong signature.
func TestCareValidateRefusalsAreAllAlike(t *testing.T) {
	example := string(carevalidatetest.Example)
	signed := hmacsig.Sign([]byte("signing"), carevalidatetest.Example)
	var answers []string
	for _, header := range [][]string{
		{},
		{cvHeader, "guess", carevalidate.SignatureHeader, signed},
		{cvHeader, cvSecret},
		{cvHeader, cvSecret, carevalidate.SignatureHeader, "not hex"},
		{cvHeader, cvSecret, carevalidate.SignatureHeader, hmacsig.Sign([]byte("other"), carevalidatetest.Example)},
	} {
		f := newFixture(t)
		f.deps.CareValidate.SigningSecret = "signing"
		rec := f.do(t, http.MethodPost, "/webhooks/carevalidate", example, header...)
		require.Equal(t, http.StatusUnauthorized, rec.Code, "%v", header)
		assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
		answers = append(answers, rec.Body.String())
	}
	for _, a := range answers[1:] {
		assert.Equal(t, answers[0], a)
	}
	assert.JSONEq(t, `{"error":{"code":"unauthorized","message":"`+refused+`"}}`, answers[0])
}

// unread is a request body that records whether it was read.
type unread struct {
	io.Reader
	read bool
}

func (u *unread) Read(p []byte) (int, error) { u.read = true; return u.Reader.Read(p) }

// serveBody serves one request whose body is b, through api.New(f.deps).
func (f *fixture) serveBody(path string, b io.Reader, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, b)
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

// The auth header is checked before the body is read: an unauthenticated
// sender cannot make the starter read (and hold) 20 MiB.
func TestCareValidateChecksTheHeaderBeforeTheBody(t *testing.T) {
	for name, header := range map[string][]string{
		"no auth header":    {},
		"a wrong secret":    {cvHeader, "guess"},
		"no signature":      {cvHeader, cvSecret},
		"a wrong signature": {cvHeader, cvSecret, carevalidate.SignatureHeader, "zz"},
	} {
		f := newFixture(t)
		f.deps.CareValidate.SigningSecret = "signing"
		body := &unread{Reader: strings.NewReader(tooLarge(19 << 20))}
		rec := f.serveBody("/webhooks/carevalidate", body, header...)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, name)
		assert.False(t, body.read, "%s: refused before the body was read", name)
	}
}

// While CareValidate moves to a new secret, the previous one opens too.
func TestCareValidateAcceptsThePreviousSecret(t *testing.T) {
	for _, secret := range []string{cvSecret, "cv-previous"} {
		f := newFixture(t)
		f.deps.CareValidate.PreviousSecret = "cv-previous"
		f.expectSignalWithStart(t)
		rec := f.do(t, http.MethodPost, "/webhooks/carevalidate", string(carevalidatetest.Example), cvHeader, secret)
		assert.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	}
}

// The Web UI's list shows what a case is about, never who.
func TestCaseSummaryCarriesNoPHI(t *testing.T) {
	for _, c := range []struct {
		name, body, want string
	}{
		{"the example", string(carevalidatetest.Example), "case ADA-TOSXM · GLP · Wegovy Bundle"},
		{"no short id", `{"event":"CASE_CREATED","payload":{"case":{"id":"c1"}}}`, "case c1"},
	} {
		f := newFixture(t)
		calls := f.expectSignalWithStart(t)
		rec := f.do(t, http.MethodPost, "/webhooks/carevalidate", c.body, cvHeader, cvSecret)
		require.Equal(t, http.StatusAccepted, rec.Code, c.name)
		summary := (*calls)[0].options.StaticSummary
		assert.Equal(t, c.want, summary, c.name)
		for _, phi := range []string{"Chris", "Ordering", exampleCase.Submitter.Email, exampleCase.Submitter.PhoneNumber} {
			assert.NotContains(t, summary, phi, c.name)
		}
	}
}

// GET /api/cases/{case_id}: every answer.
func TestCaseStateAnswers(t *testing.T) {
	const id = "carevalidate-case-c1"
	for _, c := range []struct {
		name   string
		query  func(*testing.T) (converter.EncodedValue, error)
		status int
		code   string
	}{
		{"the state", func(t *testing.T) (converter.EncodedValue, error) {
			v := mocks.NewEncodedValue(t)
			v.On("Get", mock.Anything).Run(func(args mock.Arguments) {
				*args.Get(0).(*workflows.CaseState) = workflows.CaseState{CaseID: "c1", CarebridgeStatus: workflows.StatusRunning,
					SeenKeys: []string{"carevalidate-evt-1"}}
			}).Return(nil)
			return v, nil
		}, http.StatusOK, ""},
		{"no such case", func(*testing.T) (converter.EncodedValue, error) {
			return nil, serviceerror.NewNotFound("workflow not found")
		},
			http.StatusNotFound, "case_not_found"},
		{"Temporal unavailable", func(*testing.T) (converter.EncodedValue, error) { return nil, serviceerror.NewUnavailable("down") },
			http.StatusServiceUnavailable, "temporal_unavailable"},
		{"no worker to answer", func(*testing.T) (converter.EncodedValue, error) {
			return nil, serviceerror.NewDeadlineExceeded("query timed out")
		},
			http.StatusServiceUnavailable, "temporal_unavailable"},
		{"an answer that does not decode", func(t *testing.T) (converter.EncodedValue, error) {
			v := mocks.NewEncodedValue(t)
			v.On("Get", mock.Anything).Return(errors.New("payload: unknown encoding"))
			return v, nil
		}, http.StatusInternalServerError, "internal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			value, err := c.query(t)
			f.temporal.On("QueryWorkflow", mock.Anything, id, "", workflows.QueryState).Return(value, err)
			rec := f.do(t, http.MethodGet, "/api/cases/c1", "")
			assert.Equal(t, c.status, rec.Code)
			if c.code != "" {
				assert.Equal(t, c.code, errorOf(t, rec).Code)
				return
			}
			state := jsonOf(t, rec)
			assert.Equal(t, "c1", state["case_id"])
			assert.Equal(t, workflows.StatusRunning, state["carebridge_status"])
			assert.NotContains(t, state, "seen_keys", "bookkeeping, not state")
			assert.False(t, strings.Contains(rec.Body.String(), "carevalidate-evt-1"))
		})
	}
}
