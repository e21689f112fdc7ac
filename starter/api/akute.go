package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/carebridge/carebridge/internal/hmacsig"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/workflows"
)

const (
	akuteBodyLimit    = 1 << 20
	unroutedBodyLimit = 64 << 10 // larger bodies are kept as their digest only
)

// safeID is what may go into a visibility query: ids, never free text.
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// akuteAPI receives Akute's signed webhooks and routes them to the cases
// that created their tasks or synced their patients.
type akuteAPI struct {
	temporal  client.Client
	taskQueue string
	verifier  akutewebhook.Verifier
	log       *slog.Logger
	unrouted  *prometheus.CounterVec // deliveries no case claimed, by kind and reason
	starts    *starts
	trail     trail
}

var akuteRoutes = []string{"POST /webhooks/akute"}

func newUnroutedCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "carebridge_starter_akute_unrouted_total",
		Help: "Akute webhook deliveries no running case claimed, by kind and reason.",
	}, []string{"kind", "reason"})
}

func (a *akuteAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc(akuteRoutes[0], a.webhook)
}

func (a *akuteAPI) webhook(w http.ResponseWriter, r *http.Request) {
	// The header (bounded) and its time first: a forged or oversized header
	// is refused before the body is read and before any MAC is computed.
	sig, err := a.verifier.Check(r.Header.Get(akutewebhook.Header))
	if err != nil {
		a.refuse(w, err)
		return
	}
	body, ok := readBody(w, r, akuteBodyLimit)
	if !ok {
		return
	}
	if err := a.verifier.Match(sig, body); err != nil {
		a.refuse(w, err, slog.String("body_sha256", hmacsig.BodyHash(body)))
		return
	}
	ev := akutewebhook.Decode(body)
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()

	target, signal, arg, reason, err := a.route(ctx, ev)
	// The case it changes; an unrouted delivery changes none (the day's
	// record of it holds no patient's data).
	if err == nil && !a.trail.recordAs(w, r, "akute", "akute.deliver", target) {
		return
	}
	if err == nil && target != "" {
		err = a.temporal.SignalWorkflow(ctx, target, "", signal, arg)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) { // the case closed between lookup and signal
			target, reason, err = "", "case closed", nil
		}
	}
	if err == nil && target == "" {
		target, err = a.recordUnrouted(ctx, ev, reason, body)
	}
	if err != nil {
		a.starts.refused(w, r, err, "the event could not be recorded; retry the delivery", slog.String("akute_kind", ev.Kind))
		return
	}
	a.log.Info("akute webhook recorded", slog.String("kind", ev.Kind), slog.String("workflow_id", target),
		slog.Bool("routed", reason == ""))
	writeJSON(w, http.StatusAccepted, map[string]any{"workflow_id": target, "routed": reason == ""})
}

// refuse answers a delivery that failed verification, saying why (the
// reasons of docs/api.md; never the expected MAC).
func (a *akuteAPI) refuse(w http.ResponseWriter, err error, attrs ...any) {
	reason := signatureReason(err)
	a.log.Warn("akute webhook refused", append([]any{slog.String("reason", reason)}, attrs...)...)
	writeError(w, http.StatusUnauthorized, apiError{Code: "invalid_signature", Message: err.Error(), Type: reason})
}

func signatureReason(err error) string {
	for reason, e := range map[string]error{
		"missing_header": akutewebhook.ErrMissingHeader, "malformed_header": akutewebhook.ErrMalformedHeader,
		"wrong_signature": akutewebhook.ErrNoMatch, "stale_timestamp": akutewebhook.ErrStale,
		"future_timestamp": akutewebhook.ErrFuture,
	} {
		if errors.Is(err, e) {
			return reason
		}
	}
	return "invalid"
}

// route finds the running case an event belongs to through Temporal
// visibility. No target and a reason: the event is unrouted.
func (a *akuteAPI) route(ctx context.Context, ev akutewebhook.Event) (target, signal string, arg any, reason string, err error) {
	switch ev.Kind {
	case akutewebhook.KindTask:
		query := ""
		if short := ev.Task.CaseShortID(); safeID.MatchString(short) {
			query = fmt.Sprintf("%s = %q", workflows.AttrCaseShortID.GetName(), short)
		} else if safeID.MatchString(ev.Task.TaskID) {
			query = fmt.Sprintf("%s = %q", workflows.AttrAkuteTaskIDs.GetName(), ev.Task.TaskID)
		}
		target, err = a.findCase(ctx, query)
		return target, workflows.SignalAkuteTask, ev.Task, unless(target, "no case created this task"), err
	case akutewebhook.KindMedication:
		query := ""
		if safeID.MatchString(ev.Medication.PatientID) {
			query = fmt.Sprintf("%s = %q", workflows.AttrAkutePatientID.GetName(), ev.Medication.PatientID)
		}
		target, err = a.findCase(ctx, query)
		return target, workflows.SignalAkuteMed, ev.Medication, unless(target, "no running case synced this patient"), err
	}
	return "", "", nil, "shape not recognised", nil
}

func unless(target, reason string) string {
	if target != "" {
		return ""
	}
	return reason
}

// findCase returns the newest running case matching query, if any.
func (a *akuteAPI) findCase(ctx context.Context, query string) (string, error) {
	if query == "" {
		return "", nil
	}
	resp, err := a.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query:    fmt.Sprintf("%s = %q AND ExecutionStatus = \"Running\" AND %s", workflows.AttrKind.GetName(), "case", query),
		PageSize: 2,
	})
	if err != nil {
		return "", err
	}
	if len(resp.GetExecutions()) == 0 {
		return "", nil
	}
	return resp.GetExecutions()[0].GetExecution().GetWorkflowId(), nil
}

// recordUnrouted keeps a delivery in the day's AkuteUnrouted workflow.
func (a *akuteAPI) recordUnrouted(ctx context.Context, ev akutewebhook.Event, reason string, body []byte) (string, error) {
	now := time.Now().UTC()
	record := workflows.UnroutedEvent{
		Key: ev.Key, Kind: ev.Kind, Name: ev.Name, Reason: reason,
		BodySHA256: hmacsig.BodyHash(body), Received: now,
	}
	var compact bytes.Buffer
	if len(body) <= unroutedBodyLimit && json.Compact(&compact, body) == nil {
		record.Body = compact.Bytes()
	}
	id := workflows.AkuteUnroutedID(now)
	_, err := a.temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalUnrouted, record, client.StartWorkflowOptions{
		ID: id, TaskQueue: a.taskQueue,
	}, workflows.AkuteUnroutedName, workflows.UnroutedInput{Day: now.Format("2006-01-02")})
	if err != nil {
		return "", err
	}
	a.unrouted.WithLabelValues(ev.Kind, reason).Inc()
	a.log.Info("akute webhook unrouted", slog.String("kind", ev.Kind), slog.String("reason", reason),
		slog.String("body_sha256", record.BodySHA256))
	return id, nil
}
