package api

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/internal/hmacsig"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
	"github.com/carebridge/carebridge/workflows"
)

// webhookBodyLimit: CareValidate sends attachments inline as Base64.
const webhookBodyLimit = 20 << 20

// caseAPI serves CareValidate's webhook and the case state API.
type caseAPI struct {
	temporal  client.Client
	taskQueue string
	auth      carevalidate.Auth
	log       *slog.Logger
	starts    *starts
	trail     trail
}

var caseRoutes = []string{"POST /webhooks/carevalidate", "GET /api/cases/{case_id}"}

func (a *caseAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc(caseRoutes[0], a.webhook)
	mux.HandleFunc(caseRoutes[1], a.state)
}

// webhook hands one CareValidate event to its case's workflow. It answers
// 202 only once Temporal has recorded the signal, so a sender that sees
// anything else retries and nothing is lost.
func (a *caseAPI) webhook(w http.ResponseWriter, r *http.Request) {
	// The headers first: an unauthenticated sender gets its 401 before it
	// has made us read (and hold) up to 20 MiB.
	if failed := a.auth.CheckHeaders(r.Header); failed != "" {
		a.log.Warn("carevalidate webhook refused", slog.String("check", failed))
		refuseCareValidate(w)
		return
	}
	body, ok := readBody(w, r, webhookBodyLimit)
	if !ok {
		return
	}
	if failed := a.auth.CheckSignature(r.Header, body); failed != "" {
		a.log.Warn("carevalidate webhook refused", slog.String("check", failed), slog.String("body_sha256", hmacsig.BodyHash(body)))
		refuseCareValidate(w)
		return
	}
	ev, err := carevalidate.Parse(body)
	if err != nil {
		e := apiError{Code: "invalid_request", Message: err.Error()}
		var missing *carevalidate.MissingError
		if errors.As(err, &missing) {
			field := "event"
			if missing.Field != "event" {
				field = "payload.case.id"
			}
			e.Fields = map[string]string{field: "required"}
		}
		writeError(w, http.StatusBadRequest, e)
		return
	}

	id := workflows.CaseWorkflowID(ev.CaseID)
	if !a.trail.recordAs(w, r, "carevalidate", "case.deliver", id) {
		return
	}
	input := workflows.CaseInput{CaseID: ev.CaseID}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	run, err := a.temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalCaseEvent, ev, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             a.taskQueue,
		TypedSearchAttributes: caseStartAttributes(ev),
		StaticSummary:         caseSummary(ev),
	}, workflows.CaseWorkflowName, input)
	w.Header().Set("X-Workflow-Id", id)
	if err != nil {
		a.starts.refused(w, r, err, "the event could not be recorded; retry the delivery", slog.String("event", ev.Type))
		return
	}
	a.log.Info("carevalidate event recorded", slog.String("workflow_id", id), slog.String("run_id", run.GetRunID()),
		slog.String("event", ev.Type))
	writeJSON(w, http.StatusAccepted, map[string]string{"workflow_id": id})
}

// refuseCareValidate is every refused delivery's answer, the same whichever
// check failed: the answer must not tell a prober which secret it got right.
// The log line says which.
func refuseCareValidate(w http.ResponseWriter) {
	writeError(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "the delivery could not be authenticated"})
}

// caseSummary is what the Web UI's list shows of a case: CareValidate's
// short id, type and product, never who the patient is.
func caseSummary(ev workflows.CaseEvent) string {
	parts := []string{"case " + cmp.Or(ev.ShortID, ev.CaseID)}
	for _, p := range []string{ev.CaseType, ev.Product} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " · ")
}

func caseStartAttributes(ev workflows.CaseEvent) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{
		workflows.AttrKind.ValueSet("case"), workflows.AttrStatus.ValueSet(workflows.StatusRunning),
	}
	if ev.ShortID != "" {
		updates = append(updates, workflows.AttrCaseShortID.ValueSet(ev.ShortID))
	}
	return temporal.NewSearchAttributes(updates...)
}

// state answers the case workflow's state query.
func (a *caseAPI) state(w http.ResponseWriter, r *http.Request) {
	caseID := r.PathValue("case_id")
	if !a.trail.record(w, r, "case.read", workflows.CaseWorkflowID(caseID)) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	v, err := a.temporal.QueryWorkflow(ctx, workflows.CaseWorkflowID(caseID), "", workflows.QueryState)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, apiError{Code: "case_not_found", Message: "no case has that id"})
		return
	case err != nil:
		a.log.Error("case state query failed", slog.String("workflow_id", workflows.CaseWorkflowID(caseID)), slog.String("error", err.Error()))
		writeError(w, http.StatusServiceUnavailable, apiError{Code: "temporal_unavailable", Message: "the case state could not be read"})
		return
	}
	var s workflows.CaseState
	if err := v.Get(&s); err != nil {
		writeError(w, http.StatusInternalServerError, apiError{Code: "internal", Message: "the case state could not be decoded"})
		return
	}
	s.SeenKeys = nil // bookkeeping, not state an operator reads
	writeJSON(w, http.StatusOK, s)
}
