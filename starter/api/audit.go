package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/carebridge/carebridge/internal/audit"
)

// trail records, before it is served, every read of patient data and every
// change made through the API: who (the caller's name or the person's
// subject), what, which workflow. A request whose record cannot be kept is
// refused with 503: nothing is read or changed unaudited.
type trail struct {
	log *audit.Log // nil: no trail (development)
	app *slog.Logger
}

func (t trail) record(w http.ResponseWriter, r *http.Request, action, workflowID string) bool {
	who := callerOf(r).name
	if who == "" {
		who = "anonymous"
	}
	return t.recordAs(w, r, who, action, workflowID)
}

// recordAs records a change a partner's delivery makes (who: the partner,
// whose webhook authentication passed).
func (t trail) recordAs(w http.ResponseWriter, r *http.Request, who, action, workflowID string) bool {
	if t.log == nil {
		return true
	}
	if len(workflowID) > audit.MaxField || strings.ContainsFunc(workflowID, unicode.IsControl) {
		writeError(w, http.StatusBadRequest, apiError{Code: "invalid_request",
			Message: "the id is longer than " + strconv.Itoa(audit.MaxField) + " bytes or holds a control character"})
		return false
	}
	if _, err := t.log.Append(r.Context(), audit.Entry{Principal: who, Via: "api", Action: action, WorkflowID: workflowID, Outcome: "ok"}); err != nil {
		t.app.Error("the audit trail refused a record; the request is refused", slog.String("action", action), slog.String("error", err.Error()))
		writeError(w, http.StatusServiceUnavailable, apiError{Code: "audit_unavailable", Message: "the request could not be audited; retry it"})
		return false
	}
	return true
}
