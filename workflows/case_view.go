package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// How a case shows itself: the state query's view, its current details in
// the Web UI and its search attributes. None carries PHI but the state
// query's answer, which the codec encrypts.

// registerQuery answers the state query with the view.
func (r *caseRun) registerQuery(ctx workflow.Context) error {
	return workflow.SetQueryHandlerWithOptions(ctx, QueryState, func() (*CaseState, error) { return r.view(), nil },
		workflow.QueryHandlerOptions{Description: handlerDescriptions[QueryState]})
}

// view is the state as operators see it: a copy, so that a query never
// writes into the live state.
func (r *caseRun) view() *CaseState {
	v := *r.state
	s := &v
	s.OpenTasks = openTasks(s.Tasks)
	switch {
	case r.finished():
		s.CarebridgeStatus = StatusDone // a closed case needs no one, whatever had failed
	case s.Attention != nil:
		s.CarebridgeStatus = StatusNeedsAttention
	case s.Paused:
		s.CarebridgeStatus = StatusPaused
	default:
		s.CarebridgeStatus = StatusRunning
	}
	return s
}

// knowSearchAttributes records the run's search attributes as they stand,
// so that upsertSearchAttributes writes only what differs.
func (r *caseRun) knowSearchAttributes(sa temporal.SearchAttributes) {
	for _, attr := range caseKeywords {
		if v, ok := sa.GetKeyword(attr.key); ok {
			r.upserted[attr.key.GetName()] = v
		}
	}
	if ids, ok := sa.GetKeywordList(AttrAkuteTaskIDs); ok {
		r.upserted[AttrAkuteTaskIDs.GetName()] = strings.Join(ids, ",")
	}
}

// caseKeywords are a case's keyword search attributes, each with its value
// in the case's state; AkuteTaskIds, a list, is handled beside them.
var caseKeywords = []struct {
	key temporal.SearchAttributeKeyKeyword
	of  func(*CaseState) string
}{
	{AttrKind, func(*CaseState) string { return "case" }},
	{AttrStatus, func(s *CaseState) string { return s.CarebridgeStatus }},
	{AttrCaseShortID, func(s *CaseState) string { return s.ShortID }},
	{AttrCaseStatus, func(s *CaseState) string { return s.Status }},
	{AttrAkutePatientID, func(s *CaseState) string { return s.Akute.PatientID }},
}

// upsertSearchAttributes publishes the case's state: its current details
// in the Web UI (no history event) and the search attributes that changed.
func (r *caseRun) upsertSearchAttributes(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, r.details())
	s, done := r.view(), r.upserted
	var updates []temporal.SearchAttributeUpdate
	for _, attr := range caseKeywords {
		if value := attr.of(s); value != "" && done[attr.key.GetName()] != value {
			done[attr.key.GetName()] = value
			updates = append(updates, attr.key.ValueSet(value))
		}
	}
	if ids := r.taskIDs(); len(ids) > 0 && done[AttrAkuteTaskIDs.GetName()] != strings.Join(ids, ",") {
		done[AttrAkuteTaskIDs.GetName()] = strings.Join(ids, ",")
		updates = append(updates, AttrAkuteTaskIDs.ValueSet(ids))
	}
	if len(updates) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err.Error())
	}
}

// taskIDsBytes bounds AkuteTaskIds as Temporal encodes it (JSON), with a
// margin under its 2 KiB limit on a search attribute's value
// (limit.searchAttributeSize): Akute's ids are undocumented strings, and a
// UUID or a 24-hex-digit id fills a count-bounded list past the limit.
const taskIDsBytes = 1536

// taskIDs are the case's newest Akute task ids that fit taskIDsBytes, for
// the AkuteTaskIds search attribute, oldest first; the Akute webhook routes
// older tasks by their case:<shortId> tag.
func (r *caseRun) taskIDs() []string {
	var ids []string
	size := len("[]")
	for i := len(r.state.Tasks) - 1; i >= 0; i-- {
		id := r.state.Tasks[i].TaskID
		encoded, _ := json.Marshal(id)
		size += len(encoded) + len(",")
		if size > taskIDsBytes {
			break
		}
		ids = append(ids, id)
	}
	slices.Reverse(ids)
	return ids
}

func openTasks(tasks []TaskView) int {
	open := 0
	for _, t := range tasks {
		if !(TaskUpdate{Status: t.Status}).Completed() {
			open++
		}
	}
	return open
}

// details is the case's current details in the Web UI (markdown): its
// status, what it waits for, the attention reason, the Akute patient and
// open tasks. The Web UI renders it through its own server, so it carries
// carebridge's own words only: ids, statuses, error types and HTTP codes,
// never an upstream's error text, which can quote the data it refused (that
// stays in the state query's attention.detail, encrypted).
func (r *caseRun) details() string {
	s := r.view()
	var b strings.Builder
	fmt.Fprintf(&b, "**carebridge:** %s", s.CarebridgeStatus)
	if s.Status != "" {
		fmt.Fprintf(&b, " · **CareValidate:** %s", s.Status)
	}
	if s.ShortID != "" {
		fmt.Fprintf(&b, " · **case:** %s", s.ShortID)
	}
	fmt.Fprintf(&b, "\n\n**Waiting for:** %s", r.waitingFor(s))
	if a := s.Attention; a != nil {
		fmt.Fprintf(&b, "\n\n**Needs attention:** %s failed (%s): %s", a.Item.Kind, a.ErrorType, a.Error)
		if d := a.Detail; d != nil {
			if d.Field != "" && !strings.Contains(a.Error, d.Field) {
				fmt.Fprintf(&b, " — field %s %s", d.Field, d.Problem)
			}
			if d.StatusCode != 0 {
				fmt.Fprintf(&b, " — Akute answered HTTP %d (its words: the case's state, attention.detail)", d.StatusCode)
			}
		}
		b.WriteString("\n\nRetry or skip it: `temporal workflow update execute --name retry` (or `skip`).")
	}
	patient := s.Akute.PatientID
	if patient == "" {
		patient = "not synced yet"
	}
	fmt.Fprintf(&b, "\n\n**Akute patient:** %s · **open tasks:** %d", patient, s.OpenTasks)
	if ids := r.taskIDs(); len(ids) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(keepLast(ids, 10), ", "))
	}
	fmt.Fprintf(&b, "\n\n**Events applied:** %d · **duplicates ignored:** %d", s.EventsApplied, s.Duplicates)
	return b.String()
}

func (r *caseRun) waitingFor(s *CaseState) string {
	switch {
	case s.CarebridgeStatus == StatusDone && s.Archived && !s.Closed:
		return "late deliveries, until the archive grace ends; then the run completes"
	case s.CarebridgeStatus == StatusDone:
		return "nothing: the case is done"
	case s.Closed:
		return "the Akute call in flight to answer, then the case closes"
	case s.Paused:
		return "an operator's resume (paused)"
	case s.Attention != nil:
		return "an operator: retry or skip the failed step"
	case r.busy:
		return fmt.Sprintf("Akute: %s in flight (%d queued behind it)", r.currentKind(), len(s.Pending)-1)
	case len(s.Pending) > 0:
		return fmt.Sprintf("Akute: %d call(s) queued", len(s.Pending))
	default:
		return "CareValidate's next event"
	}
}

func (r *caseRun) currentKind() string {
	for _, it := range r.state.Pending {
		if it.ID == r.current {
			return workSummary(it)
		}
	}
	return "a call"
}
