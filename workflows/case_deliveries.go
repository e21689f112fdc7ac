package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
)

// apply folds one CareValidate event into the state and queues the Akute
// calls it asks for. A key seen before has no effect.
func (r *caseRun) apply(ctx workflow.Context, ev CaseEvent) {
	s := r.state
	// One clock per field: the event's own time, or its arrival when it
	// does not say; a full-case snapshot is as of case.updatedAt.
	key, at, snapAt := ev.EventKey, ev.EventAt, ev.CaseUpdatedAt
	if at.IsZero() {
		at = workflow.Now(ctx)
	}
	if snapAt.IsZero() {
		snapAt = at
	}
	if !r.firstTime(key) {
		return
	}
	s.EventsApplied++
	if s.ShortID == "" {
		s.ShortID = ev.ShortID
	}
	summary := ""

	if ev.Submitter != nil {
		if h := submitterHash(*ev.Submitter); h != s.Akute.SubmitterHash {
			s.Akute.SubmitterHash = h
			r.submitter = ev.Submitter
			r.queueSync()
		}
	}
	if ev.CaseStatus != "" {
		r.setStatus(ev.CaseStatus, snapAt)
	}
	if ev.Escalated != nil {
		r.setEscalated(*ev.Escalated, snapAt)
	}
	if ev.AssignedTo != nil {
		r.setAssignee(ev.AssignedTo, snapAt)
	}
	if ev.Payment != nil {
		r.upsertPayment(*ev.Payment, at)
	}

	switch ev.Type {
	case ChangeCaseStatus:
		switch {
		case ev.ValueAfter != "" && r.setStatus(ev.ValueAfter, at):
			summary = fmt.Sprintf("status %s → %s", ev.ValueBefore, ev.ValueAfter)
		case ev.ValueAfter != "" && s.Status == ev.ValueAfter:
			summary = fmt.Sprintf("status %s → %s (already applied)", ev.ValueBefore, ev.ValueAfter)
		default:
			summary = "status change older than the one applied: ignored"
		}
	case AddCaseAssignee:
		if ev.TargetUser != nil {
			r.setAssignee(ev.TargetUser, at)
		}
	case RemoveCaseAssignee:
		if ev.TargetUser == nil || s.Assignee == nil || s.Assignee.ID == ev.TargetUser.ID {
			r.setAssignee(nil, at)
		}
	case EscalateCase:
		r.setEscalated(true, at)
		r.queueTask(ev, key, "escalation", "p1", "Case escalated", "CareValidate escalated this case.")
	case DeescalateCase:
		r.setEscalated(false, at)
	case AddCaseDecision:
		if d := ev.Decision; d != nil && !r.hasDecision(d.ID) {
			s.Decisions = keepLast(append(s.Decisions, DecisionView{ID: d.ID, Approved: d.IsApproved, Medications: d.MedInfo, At: d.CreatedAt}), decisionsLimit)
			verdict := "denied"
			if d.IsApproved {
				verdict = "approved"
			}
			summary = "decision: " + verdict
			r.queueTask(ev, key, "decision", "p2", "Decision: "+verdict, decisionText(verdict, d.MedInfo))
		}
	case OrderStatusChanged:
		status := ev.ValueAfter
		if ev.Order != nil && ev.Order.Status != "" {
			status = ev.Order.Status
		}
		applied := r.setOrderStatus(ev.Order, status, at)
		if applied {
			summary = "order " + status
		} else {
			summary = "order status older than the one applied: ignored"
		}
		if applied && (status == "TRANSIT_FAILURE" || status == "RETURNED") {
			r.queueTask(ev, key, "order_problem", "p1", "Order problem: "+status,
				"The pharmacy order reported "+status+". Contact the patient and the pharmacy.")
		}
	case OrderTrackingAdded:
		tracking := ev.ValueAfter
		if ev.Order != nil && ev.Order.TrackingID != "" {
			tracking = ev.Order.TrackingID
		}
		r.ensureOrder(ev.Order).TrackingID = tracking
		summary = "tracking added"
		r.queueTask(ev, key, "tracking", "p3", "Order shipped: tracking "+tracking,
			"The order shipped with tracking number "+tracking+".")
	case ArchiveCase:
		s.Archived = true
	}
	r.note(ctx, at, ev.Type, key, summary)
}

// statusRank is CareValidate's case lifecycle, the tie-break between two
// statuses of the same time: the later stage wins. Unknown statuses rank 0.
var statusRank = map[string]int{
	"OPEN": 1, "ASSIGNED": 2, "IN_PROGRESS": 3, "WAITING": 3, "APPROVED": 4, "DENIED": 4, "REJECTED": 4,
	"CANCELLED": 5, "CLOSED": 5,
}

// newer reports whether a value of time at (and, for statuses, rank) is
// newer than the one applied at applied: ties are broken by rank, else the
// value applied is kept.
func newer(at, applied time.Time, rank, appliedRank int) bool {
	if applied.IsZero() {
		return true
	}
	return at.After(applied) || (at.Equal(applied) && rank > appliedRank)
}

// setStatus applies a status unless a newer one was applied already (events
// can arrive out of order).
func (r *caseRun) setStatus(status string, at time.Time) bool {
	s := r.state
	if !newer(at, s.StatusAt, statusRank[status], statusRank[s.Status]) {
		return false
	}
	s.Status, s.StatusAt = status, at
	return true
}

func (r *caseRun) setEscalated(escalated bool, at time.Time) {
	s := r.state
	if newer(at, s.EscalatedAt, 0, 0) || (at.Equal(s.EscalatedAt) && escalated) {
		s.Escalated, s.EscalatedAt = escalated, at
	}
}

func (r *caseRun) setAssignee(p *Person, at time.Time) {
	s := r.state
	if newer(at, s.AssigneeAt, 0, 0) {
		s.Assignee, s.AssigneeAt = p, at
	}
}

func (r *caseRun) ensureOrder(o *Order) *OrderView {
	if r.state.Order == nil {
		r.state.Order = &OrderView{}
	}
	if o != nil && o.ID != "" {
		r.state.Order.ID = o.ID
	}
	return r.state.Order
}

func (r *caseRun) setOrderStatus(o *Order, status string, at time.Time) bool {
	view := r.ensureOrder(o)
	if status == "" || !newer(at, view.StatusAt, 0, 0) {
		return false
	}
	view.Status, view.StatusAt = status, at
	return true
}

// upsertPayment records a payment; an older report of a payment never
// overwrites a newer one.
func (r *caseRun) upsertPayment(p Payment, at time.Time) {
	view := PaymentView{ID: p.ID, Amount: p.Amount, Status: p.Status, At: at}
	for i, have := range r.state.Payments {
		if have.ID == p.ID {
			if !newer(at, have.At, 0, 0) {
				return
			}
			r.state.Payments[i] = view
			return
		}
	}
	r.state.Payments = keepLast(append(r.state.Payments, view), paymentsLimit)
}

func (r *caseRun) hasDecision(id string) bool {
	for _, d := range r.state.Decisions {
		if d.ID == id {
			return true
		}
	}
	return false
}

func decisionText(verdict string, meds []Medication) string {
	var b strings.Builder
	b.WriteString("The doctor's decision: " + verdict + ".")
	for _, m := range meds {
		fmt.Fprintf(&b, "\n- %s, %s, %s", m.Medicine, m.Dosage, m.DosingFrequency)
	}
	return b.String()
}

// queueSync queues a patient sync unless one is already waiting. A sync in
// flight (or retrying) is not waiting: it carries the
// data it started with, so a correction that arrives meanwhile needs a sync
// of its own after it.
func (r *caseRun) queueSync() {
	for _, it := range r.state.Pending {
		inFlight := r.inFlight() && r.current == it.ID
		if it.Kind == workSyncPatient && !inFlight && (r.state.Attention == nil || r.state.Attention.Item.ID != it.ID) {
			return
		}
	}
	r.enqueue(WorkItem{Kind: workSyncPatient})
}

func (r *caseRun) queueTask(ev CaseEvent, key, kind, priority, title, description string) {
	s := r.state
	short := s.ShortID
	if short == "" {
		short = s.CaseID
	}
	r.enqueue(WorkItem{Kind: workCreateTask, EventKey: key, TaskKind: kind, Task: &activities.TaskRequest{
		Title:       "CareValidate " + short + ": " + title,
		Description: description,
		Priority:    priority,
		Doctor:      s.Assignee,
		Tags:        []string{"carebridge", "carevalidate", "case:" + short},
	}})
}

// applyTaskUpdate shows an Akute task's status in the case; a task completed
// in Akute is no longer open.
func (r *caseRun) applyTaskUpdate(ctx workflow.Context, u TaskUpdate) {
	s := r.state
	if !r.firstTime(u.Key) {
		return
	}
	r.note(ctx, workflow.Now(ctx), "akute:task_"+u.Status, u.Key, u.TaskID)
	if i := slices.IndexFunc(s.Tasks, func(t TaskView) bool { return t.TaskID == u.TaskID }); i >= 0 {
		s.Tasks[i].Status = u.Status
		return
	}
	created := u.Event == akuteTaskCreated
	if created && r.confirm(ctx, u.TaskID, u.Title, u.Status) {
		return
	}
	// Not recorded yet (Akute notifies as it creates): kept, bounded, since
	// updates of tasks this case never records (another system's, or older
	// than the task list keeps) must not pile up.
	if i := slices.IndexFunc(s.EarlyTasks, func(t EarlyTask) bool { return t.TaskID == u.TaskID }); i >= 0 {
		s.EarlyTasks[i].Status = u.Status
		return
	}
	early := EarlyTask{TaskID: u.TaskID, Status: u.Status}
	if created {
		early.Title = u.Title // only a creation can confirm an unanswered create
	}
	s.EarlyTasks = keepLast(append(s.EarlyTasks, early), earlyTaskLimit)
}

// applyMedication records a prescription Akute reported.
func (r *caseRun) applyMedication(ctx workflow.Context, m MedicationEvent) {
	s := r.state
	if !r.firstTime(m.Key) {
		return
	}
	s.Medications = keepLast(append(s.Medications, MedicationView{DisplayName: m.DisplayName, Status: m.Status,
		RxStatus: m.RxStatus, Received: workflow.Now(ctx)}), medicationsLimit)
	r.note(ctx, workflow.Now(ctx), "akute:medication", m.Key, m.RxStatus)
}

// submitterHash tells whether the patient data changed, without keeping it.
func submitterHash(s Submitter) string {
	b, _ := json.Marshal(s)
	return digest(b)
}
