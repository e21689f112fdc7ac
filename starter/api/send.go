package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/workflows"
)

const (
	sendBodyLimit      = 64 << 10
	idempotencyKeySize = 255
)

// sendAPI serves POST /api/alleviate/send and GET /api/alleviate/send/{id}.
type sendAPI struct {
	Send
	temporal  client.Client
	taskQueue string
	starts    *starts
	trail     trail
	payloads  converter.DataConverter // reads the memos starts wrote and results handed over
	local     *LocalResults           // nil: every answer from Temporal
	answers   *prometheus.CounterVec  // answers waited for, by where they came from
	log       *slog.Logger
}

var sendRoutes = []string{"POST /api/alleviate/send", "GET /api/alleviate/send/{id}"}

// Where a send's answer came from: this starter's own worker, or Temporal.
const (
	answerInProcess = "in_process"
	answerTemporal  = "temporal"
)

func newAnswerCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "carebridge_starter_send_answers_total",
		Help: "Sends whose answer a request waited for, by where it came from: in_process (this starter's worker ran the send) or temporal.",
	}, []string{"from"})
}

func (a *sendAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc(sendRoutes[0], a.send)
	mux.HandleFunc(sendRoutes[1], a.status)
}

// parseSendRequest validates a lead. Field errors name the field and never
// echo its value, which is PHI.
func parseSendRequest(body []byte) (workflows.SendRequest, map[string]string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return workflows.SendRequest{}, map[string]string{"body": "must be a JSON object"}
	}
	problems := map[string]string{}
	field := func(name string) string {
		v, ok := raw[name]
		if !ok || string(v) == "null" {
			return ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			problems[name] = "must be a string"
			return ""
		}
		return strings.TrimSpace(s)
	}
	req := workflows.SendRequest{
		FormName: field("form_name"),
		Phone:    field("phone"),
		Name:     field("name"),
		Email:    field("email"),
		Instance: field("instance_name"),
	}
	if req.Instance == "" {
		if site := field("site_name"); site != "" {
			req.Instance = site
			delete(problems, "instance_name")
		}
	}
	for name, value := range map[string]string{
		"form_name": req.FormName, "phone": req.Phone, "name": req.Name, "email": req.Email,
	} {
		if value == "" && problems[name] == "" {
			problems[name] = "required"
		}
	}
	if req.Instance == "" && problems["instance_name"] == "" {
		problems["instance_name"] = "required (or site_name)"
	}
	if req.Email != "" && !isEmail(req.Email) {
		problems["email"] = "must be an e-mail address"
	}
	if len(problems) > 0 {
		return workflows.SendRequest{}, problems
	}
	return req, nil
}

// isEmail accepts a bare address (no display name) with a dotted domain.
func isEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".")
}

func (a *sendAPI) send(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, sendBodyLimit)
	if !ok {
		return
	}
	req, problems := parseSendRequest(body)
	if problems != nil {
		writeError(w, http.StatusBadRequest, apiError{
			Code: "invalid_request", Message: "the lead is incomplete or malformed", Fields: problems,
		})
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > idempotencyKeySize {
		writeError(w, http.StatusBadRequest, apiError{
			Code: "invalid_request", Message: "Idempotency-Key is too long",
			Fields: map[string]string{"Idempotency-Key": "at most 255 characters"},
		})
		return
	}
	if strings.ContainsFunc(key, unicode.IsControl) {
		writeError(w, http.StatusBadRequest, apiError{
			Code: "invalid_request", Message: "Idempotency-Key holds a control character",
			Fields: map[string]string{"Idempotency-Key": "printable characters only"},
		})
		return
	}

	who := callerOf(r)
	id := workflows.SendWorkflowID(who.idScope(), key)
	w.Header().Set("X-Workflow-Id", id)
	if !a.trail.record(w, r, "send.start", id) {
		return
	}
	var local *localSend
	if a.local != nil && a.Eager {
		var release func()
		local, release = a.local.expect(id)
		defer release()
	}
	var fingerprint string
	if key != "" && len(a.EmailHashKey) > 0 {
		fingerprint = leadFingerprint(a.EmailHashKey, req)
	}
	run, err := a.temporal.ExecuteWorkflow(r.Context(), client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: a.taskQueue,
		// The first workflow task comes back in the start's answer, to the
		// starter's own send worker, instead of through matching; with its
		// slots full the server dispatches as usual.
		EnableEagerStart: a.Eager,
		StaticSummary:    sendSummary(req),
		// A key already used returns that run (running or finished) instead
		// of starting another: Alleviate never sees the lead twice.
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    a.searchAttributes(req),
		Memo:                     sendMemo(who, fingerprint),
	}, workflows.AlleviateSendName, req)
	if err != nil {
		a.starts.refused(w, r, err, "the send could not be recorded; retry with the same Idempotency-Key")
		return
	}
	if fingerprint != "" {
		same, err := a.sameLead(r.Context(), id, run.GetRunID(), fingerprint)
		switch {
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, apiError{Code: "temporal_unavailable",
				Message: "the send this Idempotency-Key names could not be checked; retry with the same Idempotency-Key"})
			return
		case !same:
			writeError(w, http.StatusUnprocessableEntity, apiError{Code: "idempotency_key_reused",
				Message: "this Idempotency-Key was already used with a different lead; a new lead needs a new key",
				Fields:  map[string]string{"Idempotency-Key": "already used with a different lead"}})
			return
		}
	}

	ctx, cancel := context.WithTimeout(r.Context(), a.Wait)
	defer cancel()
	var answer alleviate.Answer
	err = a.result(ctx, local, run, &answer)
	var failed *temporal.WorkflowExecutionError
	switch {
	case err == nil:
		writeAnswer(w, answer)
	case errors.As(err, &failed):
		status, e := sendFailure(err)
		writeError(w, status, e)
	default:
		// Not finished in time (or the wait itself failed): the send is
		// recorded and Temporal carries on; the caller polls status_url.
		writeJSON(w, http.StatusAccepted, map[string]string{
			"workflow_id": id,
			"status":      "running",
			"status_url":  "/api/alleviate/send/" + id,
		})
	}
}

// result waits for a send's answer: handed over in-process when this
// starter's worker runs the send (eager start) and Temporal has recorded its
// completion, which saves the result's long poll; from Temporal otherwise
// (another worker runs it, the run failed), or when the local answer is
// late (half the wait: its task may have failed and gone elsewhere).
func (a *sendAPI) result(ctx context.Context, local *localSend, run client.WorkflowRun, answer *alleviate.Answer) error {
	if local != nil {
		select {
		case <-local.eager:
			select {
			case <-local.done:
				// An answer that does not decode is asked of Temporal, as
				// it was recorded.
				if local.result != nil && a.payloads.FromPayloads(local.result, answer) == nil {
					a.answers.WithLabelValues(answerInProcess).Inc()
					return nil
				}
			case <-time.After(a.Wait / 2):
			case <-ctx.Done():
				return ctx.Err()
			}
		default: // the run is another worker's
		}
	}
	a.answers.WithLabelValues(answerTemporal).Inc()
	return run.Get(ctx, answer)
}

// searchAttributes let operators find sends in the Web UI: by form, by
// instance, and by a keyed hash of the e-mail, never the e-mail. A send's
// state is Temporal's own ExecutionStatus: it cannot be paused or wait for
// an operator, and not updating a status attribute at its end is worth 15 %
// of throughput (BENCHMARKS.md).
func (a *sendAPI) searchAttributes(req workflows.SendRequest) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{
		workflows.AttrKind.ValueSet("send"),
		workflows.AttrFormName.ValueSet(req.FormName),
		workflows.AttrRealtimeInstance.ValueSet(req.Instance),
	}
	if len(a.EmailHashKey) > 0 {
		updates = append(updates, workflows.AttrPatientEmailHash.ValueSet(workflows.EmailHash(a.EmailHashKey, req.Email)))
	}
	return temporal.NewSearchAttributes(updates...)
}

// sendSummary is what the Web UI's list shows of a send: its form and
// Realtime instance, never who the lead is.
func sendSummary(req workflows.SendRequest) string {
	return "send " + req.FormName + " lead (Realtime " + req.Instance + ")"
}

// writeAnswer hands Alleviate's answer back unchanged.
func writeAnswer(w http.ResponseWriter, answer alleviate.Answer) {
	if answer.ContentType != "" {
		w.Header().Set("Content-Type", answer.ContentType)
	}
	w.WriteHeader(answer.StatusCode)
	_, _ = io.WriteString(w, answer.Body)
}

// sendFailure maps a failed send to its HTTP answer.
func sendFailure(err error) (int, apiError) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if appErr.Type() == activities.ErrTypePatientNotFound {
			return http.StatusNotFound, apiError{
				Code: "patient_not_found", Message: "Realtime has no patient with that e-mail on that instance",
				Type: appErr.Type(),
			}
		}
		return http.StatusBadGateway, apiError{Code: "upstream_failed", Message: appErr.Error(), Type: appErr.Type()}
	}
	var terminated *temporal.TerminatedError
	var canceled *temporal.CanceledError
	if errors.As(err, &terminated) || errors.As(err, &canceled) {
		return http.StatusConflict, apiError{Code: "send_stopped", Message: "an operator stopped this send"}
	}
	return http.StatusBadGateway, apiError{Code: "send_failed", Message: "the send failed; see the workflow in the Temporal Web UI"}
}

type sendStatus struct {
	WorkflowID string      `json:"workflow_id"`
	Status     string      `json:"status"`
	Answer     *answerView `json:"answer,omitempty"`
	Error      *apiError   `json:"error,omitempty"`
	StartedAt  *time.Time  `json:"started_at,omitempty"`
	ClosedAt   *time.Time  `json:"closed_at,omitempty"`
}

// answerView shows Alleviate's answer inside our JSON: its body inline when
// it is JSON, as a string otherwise.
type answerView struct {
	StatusCode  int             `json:"status_code"`
	ContentType string          `json:"content_type,omitempty"`
	Body        json.RawMessage `json:"body"`
}

func viewAnswer(a alleviate.Answer) *answerView {
	body := json.RawMessage(a.Body)
	if !json.Valid(body) {
		quoted, _ := json.Marshal(a.Body)
		body = quoted
	}
	return &answerView{StatusCode: a.StatusCode, ContentType: a.ContentType, Body: body}
}

func (a *sendAPI) status(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	notFound := apiError{Code: "send_not_found", Message: "no send has that workflow id"}
	if !strings.HasPrefix(id, workflows.SendWorkflowIDPrefix) {
		writeError(w, http.StatusNotFound, notFound)
		return
	}
	if !a.trail.record(w, r, "send.read", id) {
		return
	}
	desc, err := a.temporal.DescribeWorkflowExecution(r.Context(), id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, notFound)
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, apiError{Code: "temporal_unavailable", Message: "Temporal could not be reached"})
		return
	}
	if a.ownedByAnother(desc, callerOf(r)) {
		writeError(w, http.StatusNotFound, notFound)
		return
	}
	info := desc.GetWorkflowExecutionInfo()
	out := sendStatus{WorkflowID: id}
	if t := info.GetStartTime(); t != nil {
		st := t.AsTime()
		out.StartedAt = &st
	}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		out.Status = "running"
		writeJSON(w, http.StatusOK, out)
		return
	}
	if t := info.GetCloseTime(); t != nil {
		ct := t.AsTime()
		out.ClosedAt = &ct
	}
	var answer alleviate.Answer
	if err := a.temporal.GetWorkflow(r.Context(), id, "").Get(r.Context(), &answer); err != nil {
		_, e := sendFailure(err)
		out.Status, out.Error = "failed", &e
	} else {
		out.Status, out.Answer = "completed", viewAnswer(answer)
	}
	writeJSON(w, http.StatusOK, out)
}
