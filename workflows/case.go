package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/akute/akutewebhook"
	"github.com/carebridge/carebridge/clients/carevalidate"
)

// Names operators and the starter use.
const (
	CaseWorkflowName  = "CareValidateCase"
	CaseWorkflowIDPfx = "carevalidate-case-"

	SignalCaseEvent = "carevalidate-event" // a CareValidate webhook (carevalidate.CaseEvent)
	SignalAkuteTask = "akute-task"         // an Akute task of the case changed (akutewebhook.TaskUpdate)
	SignalAkuteMed  = "akute-medication"   // a prescription reached the pharmacy (akutewebhook.MedicationEvent)
	SignalPause     = "pause"              // record events, call nothing
	SignalResume    = "resume"
	SignalRetry     = "retry"  // run the failed step again
	SignalSkip      = "skip"   // drop the failed step
	SignalResync    = "resync" // push the patient to Akute again
	SignalClose     = "close"  // finish the case now
	QueryState      = "state"

	// Carebridge statuses.
	StatusRunning        = "running"
	StatusNeedsAttention = "needs_attention"
	StatusPaused         = "paused"
	StatusDone           = "done"
)

// Bounds on what a case keeps.
const (
	timelineLimit = 200  // newest entries kept
	seenKeysLimit = 2000 // event keys remembered for de-duplication
	// DefaultMaxHistory is when a case continues as new, well before
	// Temporal's own limits (50k events).
	DefaultMaxHistory = 5000
	// DefaultMaxSignals bounds a run by the signals it handled too: a
	// bound that does not depend on the server reporting history length.
	DefaultMaxSignals = 1000
	// DefaultArchiveGrace: after ARCHIVE_CASE a redelivered event must still
	// meet the case's memory, not start a new run that repeats its effects.
	DefaultArchiveGrace = 10 * time.Minute
)

// CaseWorkflowID is the workflow id of a case.
func CaseWorkflowID(caseID string) string { return CaseWorkflowIDPfx + caseID }

// CaseInput starts (or continues) a case.
type CaseInput struct {
	CaseID     string                  `json:"case_id"`
	State      *CaseState              `json:"state,omitempty"`       // carried over by continue-as-new
	Submitter  *carevalidate.Submitter `json:"submitter,omitempty"`   // PHI: kept out of the state query
	MaxHistory int                     `json:"max_history,omitempty"` // default DefaultMaxHistory events
	MaxSignals int                     `json:"max_signals,omitempty"` // per run; default DefaultMaxSignals
	// ArchiveGrace is how long an archived case still absorbs late and
	// duplicate deliveries before it completes; zero means DefaultArchiveGrace.
	ArchiveGrace time.Duration `json:"archive_grace,omitempty"`
}

// CaseState is what the state query and GET /api/cases/{id} show.
type CaseState struct {
	CaseID           string               `json:"case_id"`
	ShortID          string               `json:"short_id,omitempty"`
	CarebridgeStatus string               `json:"carebridge_status"`
	Status           string               `json:"status,omitempty"`
	StatusAt         time.Time            `json:"status_at,omitempty"`
	Assignee         *carevalidate.Person `json:"assignee,omitempty"`
	Escalated        bool                 `json:"escalated"`
	Decisions        []DecisionView       `json:"decisions,omitempty"`
	Payments         []PaymentView        `json:"payments,omitempty"`
	Order            *OrderView           `json:"order,omitempty"`
	Akute            AkuteView            `json:"akute"`
	Tasks            []TaskView           `json:"tasks,omitempty"`
	OpenTasks        int                  `json:"open_tasks"`
	Medications      []MedicationView     `json:"medications,omitempty"`
	// EarlyTaskStatus holds Akute task updates that arrived before the
	// task's creation was recorded (Akute notifies as it creates).
	EarlyTaskStatus map[string]string `json:"early_task_status,omitempty"`
	Pending         []WorkItem        `json:"pending,omitempty"`
	Attention       *Attention        `json:"attention,omitempty"`
	Paused          bool              `json:"paused"`
	Archived        bool              `json:"archived"`
	Closed          bool              `json:"closed"`
	EventsApplied   int               `json:"events_applied"`
	Duplicates      int               `json:"duplicates_ignored"`
	Timeline        []TimelineEntry   `json:"timeline"`
	SeenKeys        []string          `json:"seen_keys,omitempty"`
	NextItemID      int               `json:"next_item_id"`
	Runs            int               `json:"runs"` // continue-as-new count
}

// DecisionView is a doctor's decision.
type DecisionView struct {
	ID          string                    `json:"id"`
	Approved    bool                      `json:"approved"`
	Medications []carevalidate.Medication `json:"medications,omitempty"`
	At          time.Time                 `json:"at"`
}

// PaymentView is a payment.
type PaymentView struct {
	ID     string `json:"id"`
	Amount string `json:"amount"`
	Status string `json:"status"`
}

// OrderView is the pharmacy order.
type OrderView struct {
	ID         string    `json:"id,omitempty"`
	Status     string    `json:"status,omitempty"`
	StatusAt   time.Time `json:"status_at,omitempty"`
	TrackingID string    `json:"tracking_id,omitempty"`
}

// AkuteView is the case's footprint in Akute.
type AkuteView struct {
	PatientID     string    `json:"patient_id,omitempty"`
	LastSync      string    `json:"last_sync,omitempty"` // created, updated, unchanged
	SyncedAt      time.Time `json:"synced_at,omitempty"`
	SubmitterHash string    `json:"submitter_hash,omitempty"` // what was last queued for sync
}

// TaskView is an Akute task the case created.
type TaskView struct {
	EventKey string `json:"event_key"`
	Kind     string `json:"kind"`
	Priority string `json:"priority"`
	Title    string `json:"title"`
	TaskID   string `json:"task_id"`
	OwnerID  string `json:"owner_id,omitempty"`
	Status   string `json:"status"`
}

// MedicationView is a prescription Akute reported for the case's patient.
type MedicationView struct {
	DisplayName string    `json:"display_name,omitempty"`
	Status      string    `json:"status,omitempty"`
	RxStatus    string    `json:"rx_status,omitempty"`
	Received    time.Time `json:"received"`
}

// medicationsLimit bounds the medications a case keeps.
const medicationsLimit = 50

// WorkItem is one call to Akute the case still has to make.
type WorkItem struct {
	ID       int                     `json:"id"`
	Kind     string                  `json:"kind"` // sync_patient, create_task
	EventKey string                  `json:"event_key,omitempty"`
	Task     *activities.TaskRequest `json:"task,omitempty"`
	TaskKind string                  `json:"task_kind,omitempty"`
}

// Attention is a failed step waiting for an operator.
type Attention struct {
	Item      WorkItem                   `json:"item"`
	ErrorType string                     `json:"error_type"`
	Error     string                     `json:"error"`
	Detail    *activities.AkuteRejection `json:"detail,omitempty"`
	Since     time.Time                  `json:"since"`
}

// TimelineEntry is one thing that happened to the case.
type TimelineEntry struct {
	At       time.Time `json:"at"`
	Received time.Time `json:"received"`
	Type     string    `json:"type"`
	Key      string    `json:"key,omitempty"`
	Summary  string    `json:"summary,omitempty"`
}

const (
	workSyncPatient = "sync_patient"
	workCreateTask  = "create_task"
)

// caseRun is one run of a case workflow: its state and its coroutines' flags.
type caseRun struct {
	state     *CaseState
	submitter *carevalidate.Submitter
	seen      map[string]bool
	busy      bool // an Akute call is in flight
	signals   int  // handled by this run
}

// CaseWorkflow keeps one CareValidate case's state and Akute in step with
// it, from its first event to ARCHIVE_CASE (or an operator's close).
func CaseWorkflow(ctx workflow.Context, in CaseInput) (*CaseState, error) {
	r := newCaseRun(in)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (*CaseState, error) { return r.view(), nil }); err != nil {
		return nil, err
	}
	limits := runLimits{history: in.MaxHistory, signals: in.MaxSignals}
	if limits.history <= 0 {
		limits.history = DefaultMaxHistory
	}
	if limits.signals <= 0 {
		limits.signals = DefaultMaxSignals
	}
	channels := caseChannels(ctx)
	upserted := map[string]string{}
	r.upsertSearchAttributes(ctx, upserted)

	grace := in.ArchiveGrace
	if grace <= 0 {
		grace = DefaultArchiveGrace
	}

	stop := false
	workflow.Go(ctx, func(ctx workflow.Context) { r.work(ctx, &stop) })

	for {
		_ = workflow.Await(ctx, func() bool {
			return channels.pending() || r.finished() || r.shouldContinueAsNew(ctx, limits)
		})
		channels.drain(ctx, r)
		r.upsertSearchAttributes(ctx, upserted)
		if r.finished() && !channels.pending() {
			if !r.state.Closed {
				// Archived: linger, deduplicating, until deliveries stop.
				late, _ := workflow.AwaitWithTimeout(ctx, grace, func() bool { return channels.pending() || r.state.Closed })
				if late {
					continue
				}
			}
			stop = true
			return r.view(), nil
		}
		if r.shouldContinueAsNew(ctx, limits) && !channels.pending() {
			stop = true
			r.state.Runs++
			workflow.GetLogger(ctx).Info("case continues as new", "events_applied", r.state.EventsApplied)
			return nil, workflow.NewContinueAsNewError(ctx, CaseWorkflowName, CaseInput{
				CaseID: r.state.CaseID, State: r.state, Submitter: r.submitter,
				MaxHistory: in.MaxHistory, MaxSignals: in.MaxSignals, ArchiveGrace: in.ArchiveGrace,
			})
		}
	}
}

func newCaseRun(in CaseInput) *caseRun {
	r := &caseRun{state: in.State, submitter: in.Submitter, seen: map[string]bool{}}
	if r.state == nil {
		r.state = &CaseState{CaseID: in.CaseID, CarebridgeStatus: StatusRunning, Timeline: []TimelineEntry{}}
	}
	for _, k := range r.state.SeenKeys {
		r.seen[k] = true
	}
	return r
}

// channels are the case's signal channels, drained in a fixed order.
type channels struct {
	events      workflow.ReceiveChannel
	akuteTasks  workflow.ReceiveChannel
	medications workflow.ReceiveChannel
	operators   []operatorChannel
}

type operatorChannel struct {
	name string
	ch   workflow.ReceiveChannel
}

func caseChannels(ctx workflow.Context) channels {
	c := channels{
		events:      workflow.GetSignalChannel(ctx, SignalCaseEvent),
		akuteTasks:  workflow.GetSignalChannel(ctx, SignalAkuteTask),
		medications: workflow.GetSignalChannel(ctx, SignalAkuteMed),
	}
	for _, name := range []string{SignalPause, SignalResume, SignalRetry, SignalSkip, SignalResync, SignalClose} {
		c.operators = append(c.operators, operatorChannel{name, workflow.GetSignalChannel(ctx, name)})
	}
	return c
}

func (c channels) pending() bool {
	if c.events.Len() > 0 || c.akuteTasks.Len() > 0 || c.medications.Len() > 0 {
		return true
	}
	for _, op := range c.operators {
		if op.ch.Len() > 0 {
			return true
		}
	}
	return false
}

// drain applies every buffered signal: events first, in arrival order.
func (c channels) drain(ctx workflow.Context, r *caseRun) {
	for {
		var ev carevalidate.CaseEvent
		if !c.events.ReceiveAsync(&ev) {
			break
		}
		r.signals++
		r.apply(ctx, ev)
	}
	for {
		var update akutewebhook.TaskUpdate
		if !c.akuteTasks.ReceiveAsync(&update) {
			break
		}
		r.signals++
		r.applyTaskUpdate(ctx, update)
	}
	for {
		var med akutewebhook.MedicationEvent
		if !c.medications.ReceiveAsync(&med) {
			break
		}
		r.signals++
		r.applyMedication(ctx, med)
	}
	for _, op := range c.operators {
		for op.ch.ReceiveAsync(nil) {
			r.signals++
			r.operate(ctx, op.name)
		}
	}
}

func (r *caseRun) finished() bool {
	s := r.state
	return s.Closed || (s.Archived && len(s.Pending) == 0 && s.Attention == nil && !r.busy)
}

type runLimits struct{ history, signals int }

func (r *caseRun) shouldContinueAsNew(ctx workflow.Context, limits runLimits) bool {
	if r.busy {
		return false // never abandon an Akute call in flight
	}
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= limits.history ||
		r.signals >= limits.signals
}

// view is the state as operators see it.
func (r *caseRun) view() *CaseState {
	s := r.state
	switch {
	case s.Attention != nil:
		s.CarebridgeStatus = StatusNeedsAttention
	case r.finished():
		s.CarebridgeStatus = StatusDone
	case s.Paused:
		s.CarebridgeStatus = StatusPaused
	default:
		s.CarebridgeStatus = StatusRunning
	}
	return s
}

func (r *caseRun) upsertSearchAttributes(ctx workflow.Context, done map[string]string) {
	s := r.view()
	var updates []temporal.SearchAttributeUpdate
	for _, kv := range []struct {
		key   temporal.SearchAttributeKeyKeyword
		value string
	}{
		{AttrKind, "case"}, {AttrStatus, s.CarebridgeStatus}, {AttrCaseShortID, s.ShortID},
		{AttrCaseStatus, s.Status}, {AttrAkutePatientID, s.Akute.PatientID},
	} {
		if kv.value != "" && done[kv.key.GetName()] != kv.value {
			done[kv.key.GetName()] = kv.value
			updates = append(updates, kv.key.ValueSet(kv.value))
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

func (r *caseRun) note(ctx workflow.Context, at time.Time, typ, key, summary string) {
	s := r.state
	s.Timeline = append(s.Timeline, TimelineEntry{At: at, Received: workflow.Now(ctx), Type: typ, Key: key, Summary: summary})
	if len(s.Timeline) > timelineLimit {
		s.Timeline = s.Timeline[len(s.Timeline)-timelineLimit:]
	}
}

func (r *caseRun) remember(key string) {
	s := r.state
	r.seen[key] = true
	s.SeenKeys = append(s.SeenKeys, key)
	if len(s.SeenKeys) > seenKeysLimit {
		delete(r.seen, s.SeenKeys[0])
		s.SeenKeys = s.SeenKeys[1:]
	}
}

func (r *caseRun) enqueue(item WorkItem) {
	r.state.NextItemID++
	item.ID = r.state.NextItemID
	r.state.Pending = append(r.state.Pending, item)
}

// apply folds one CareValidate event into the state and queues the Akute
// calls it asks for. A key seen before has no effect.
func (r *caseRun) apply(ctx workflow.Context, ev carevalidate.CaseEvent) {
	s := r.state
	if r.seen[ev.Key] {
		s.Duplicates++
		return
	}
	r.remember(ev.Key)
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
		r.setStatus(ev.CaseStatus, ev.CaseUpdatedAt)
	}
	if ev.Escalated != nil && ev.Type != carevalidate.EscalateCase && ev.Type != carevalidate.DeescalateCase {
		s.Escalated = *ev.Escalated
	}
	if ev.AssignedTo != nil {
		s.Assignee = ev.AssignedTo
	}
	if ev.Payment != nil {
		r.upsertPayment(*ev.Payment)
	}

	switch ev.Type {
	case carevalidate.ChangeCaseStatus:
		if ev.ValueAfter != "" && r.setStatus(ev.ValueAfter, ev.At) {
			summary = fmt.Sprintf("status %s → %s", ev.ValueBefore, ev.ValueAfter)
		} else {
			summary = "status change older than the one applied: ignored"
		}
	case carevalidate.AddCaseAssignee:
		if ev.AssignedTo == nil && ev.TargetUser != nil {
			s.Assignee = ev.TargetUser
		}
	case carevalidate.RemoveCaseAssignee:
		if ev.AssignedTo == nil {
			s.Assignee = nil
		}
	case carevalidate.EscalateCase:
		s.Escalated = true
		r.queueTask(ev, "escalation", "p1", "Case escalated", "CareValidate escalated this case.")
	case carevalidate.DeescalateCase:
		s.Escalated = false
	case carevalidate.AddCaseDecision:
		if d := ev.Decision; d != nil && !r.hasDecision(d.ID) {
			s.Decisions = append(s.Decisions, DecisionView{ID: d.ID, Approved: d.IsApproved, Medications: d.MedInfo, At: d.CreatedAt})
			verdict := "denied"
			if d.IsApproved {
				verdict = "approved"
			}
			summary = "decision: " + verdict
			r.queueTask(ev, "decision", "p2", "Decision: "+verdict, decisionText(verdict, d.MedInfo))
		}
	case carevalidate.OrderStatusChanged:
		status := ev.ValueAfter
		if ev.Order != nil && ev.Order.Status != "" {
			status = ev.Order.Status
		}
		if r.setOrderStatus(ev.Order, status, ev.At) {
			summary = "order " + status
		} else {
			summary = "order status older than the one applied: ignored"
		}
		if status == "TRANSIT_FAILURE" || status == "RETURNED" {
			r.queueTask(ev, "order_problem", "p1", "Order problem: "+status,
				"The pharmacy order reported "+status+". Contact the patient and the pharmacy.")
		}
	case carevalidate.OrderTrackingAdded:
		tracking := ev.ValueAfter
		if ev.Order != nil && ev.Order.TrackingID != "" {
			tracking = ev.Order.TrackingID
		}
		r.ensureOrder(ev.Order).TrackingID = tracking
		summary = "tracking added"
		r.queueTask(ev, "tracking", "p3", "Order shipped: tracking "+tracking,
			"The order shipped with tracking number "+tracking+".")
	case carevalidate.ArchiveCase:
		s.Archived = true
	}
	r.note(ctx, ev.At, ev.Type, ev.Key, summary)
}

// setStatus applies a status unless a newer one was applied already (events
// can arrive out of order).
func (r *caseRun) setStatus(status string, at time.Time) bool {
	s := r.state
	if !s.StatusAt.IsZero() && at.Before(s.StatusAt) {
		return false
	}
	s.Status, s.StatusAt = status, at
	return true
}

func (r *caseRun) ensureOrder(o *carevalidate.Order) *OrderView {
	if r.state.Order == nil {
		r.state.Order = &OrderView{}
	}
	if o != nil && o.ID != "" {
		r.state.Order.ID = o.ID
	}
	return r.state.Order
}

func (r *caseRun) setOrderStatus(o *carevalidate.Order, status string, at time.Time) bool {
	view := r.ensureOrder(o)
	if status == "" || (!view.StatusAt.IsZero() && at.Before(view.StatusAt)) {
		return false
	}
	view.Status, view.StatusAt = status, at
	return true
}

func (r *caseRun) upsertPayment(p carevalidate.Payment) {
	for i := range r.state.Payments {
		if r.state.Payments[i].ID == p.ID {
			r.state.Payments[i] = PaymentView{ID: p.ID, Amount: p.Amount, Status: p.Status}
			return
		}
	}
	r.state.Payments = append(r.state.Payments, PaymentView{ID: p.ID, Amount: p.Amount, Status: p.Status})
}

func (r *caseRun) hasDecision(id string) bool {
	for _, d := range r.state.Decisions {
		if d.ID == id {
			return true
		}
	}
	return false
}

func decisionText(verdict string, meds []carevalidate.Medication) string {
	var b strings.Builder
	b.WriteString("The doctor's decision: " + verdict + ".")
	for _, m := range meds {
		fmt.Fprintf(&b, "\n- %s, %s, %s", m.Medicine, m.Dosage, m.DosingFrequency)
	}
	return b.String()
}

// queueSync queues a patient sync unless one is already waiting.
func (r *caseRun) queueSync() {
	for _, it := range r.state.Pending {
		if it.Kind == workSyncPatient && (r.state.Attention == nil || r.state.Attention.Item.ID != it.ID) {
			return
		}
	}
	r.enqueue(WorkItem{Kind: workSyncPatient})
}

func (r *caseRun) queueTask(ev carevalidate.CaseEvent, kind, priority, title, description string) {
	s := r.state
	short := s.ShortID
	if short == "" {
		short = s.CaseID
	}
	r.enqueue(WorkItem{Kind: workCreateTask, EventKey: ev.Key, TaskKind: kind, Task: &activities.TaskRequest{
		Title:       "CareValidate " + short + ": " + title,
		Description: description,
		Priority:    priority,
		Doctor:      s.Assignee,
		Tags:        []string{"carebridge", "carevalidate", "case:" + short},
	}})
}

// operate applies an operator's signal.
func (r *caseRun) operate(ctx workflow.Context, name string) {
	s := r.state
	summary := ""
	switch name {
	case SignalPause:
		s.Paused = true
	case SignalResume:
		s.Paused = false
	case SignalRetry:
		if s.Attention != nil {
			summary = "retrying " + s.Attention.Item.Kind
			s.Attention = nil
		}
	case SignalSkip:
		if a := s.Attention; a != nil {
			summary = "skipped " + a.Item.Kind
			r.removeItem(a.Item.ID)
			s.Attention = nil
		}
	case SignalResync:
		if r.submitter != nil {
			r.enqueue(WorkItem{Kind: workSyncPatient})
		} else {
			summary = "no patient data received yet: nothing to resync"
		}
	case SignalClose:
		s.Closed = true
	}
	r.note(ctx, workflow.Now(ctx), "operator:"+name, "", summary)
}

func (r *caseRun) removeItem(id int) {
	pending := r.state.Pending[:0]
	for _, it := range r.state.Pending {
		if it.ID != id {
			pending = append(pending, it)
		}
	}
	r.state.Pending = pending
}

// work runs the queued Akute calls one at a time, while the case is neither
// paused nor waiting for an operator.
func (r *caseRun) work(ctx workflow.Context, stop *bool) {
	for {
		_ = workflow.Await(ctx, func() bool {
			s := r.state
			return *stop || (!s.Paused && s.Attention == nil && !s.Closed && len(s.Pending) > 0)
		})
		if *stop {
			return
		}
		item := r.state.Pending[0]
		r.busy = true
		err := r.run(ctx, item)
		r.busy = false
		if err != nil {
			r.state.Attention = attentionFor(ctx, item, err)
			r.note(ctx, workflow.Now(ctx), "needs_attention", item.EventKey, item.Kind+": "+r.state.Attention.ErrorType)
			continue
		}
		r.removeItem(item.ID)
	}
}

var akuteRetry = &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}

// akuteGiveUp is how long one Akute call keeps retrying a transient failure
// before the case asks for an operator.
const akuteGiveUp = time.Hour

func (r *caseRun) run(ctx workflow.Context, item WorkItem) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    45 * time.Second,
		ScheduleToCloseTimeout: akuteGiveUp,
		RetryPolicy:            akuteRetry,
	})
	var a *activities.Akute
	s := r.state
	switch item.Kind {
	case workSyncPatient:
		if r.submitter == nil {
			return nil
		}
		var out activities.PatientSynced
		if err := workflow.ExecuteActivity(ctx, a.SyncAkutePatient, *r.submitter).Get(ctx, &out); err != nil {
			return err
		}
		s.Akute.PatientID, s.Akute.LastSync, s.Akute.SyncedAt = out.PatientID, out.Action, workflow.Now(ctx)
		r.note(ctx, workflow.Now(ctx), "akute:patient_"+out.Action, "", "")
	case workCreateTask:
		req := *item.Task
		req.PatientID = s.Akute.PatientID
		if req.PatientID == "" && r.submitter != nil {
			req.ExternalPatientID = r.submitter.ID
		}
		var out activities.TaskCreated
		if err := workflow.ExecuteActivity(ctx, a.CreateAkuteTask, req).Get(ctx, &out); err != nil {
			return err
		}
		status := "not-started"
		if early, ok := s.EarlyTaskStatus[out.TaskID]; ok {
			status = early
			delete(s.EarlyTaskStatus, out.TaskID)
		}
		s.Tasks = append(s.Tasks, TaskView{EventKey: item.EventKey, Kind: item.TaskKind, Priority: req.Priority,
			Title: req.Title, TaskID: out.TaskID, OwnerID: out.OwnerID, Status: status})
		r.countOpenTasks()
		r.note(ctx, workflow.Now(ctx), "akute:task_created", item.EventKey, item.TaskKind)
	}
	return nil
}

func attentionFor(ctx workflow.Context, item WorkItem, err error) *Attention {
	a := &Attention{Item: item, ErrorType: "Unknown", Error: err.Error(), Since: workflow.Now(ctx)}
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	switch {
	case errors.As(err, &appErr):
		a.ErrorType, a.Error = appErr.Type(), appErr.Error()
		var detail activities.AkuteRejection
		if appErr.HasDetails() && appErr.Details(&detail) == nil {
			a.Detail = &detail
		}
	case errors.As(err, &timeoutErr):
		a.ErrorType = "AkuteUnavailable"
		a.Error = "akute did not answer for " + akuteGiveUp.String()
	}
	return a
}

// applyTaskUpdate shows an Akute task's status in the case; a task completed
// in Akute is no longer open.
func (r *caseRun) applyTaskUpdate(ctx workflow.Context, u akutewebhook.TaskUpdate) {
	s := r.state
	if r.seen[u.Key] {
		s.Duplicates++
		return
	}
	r.remember(u.Key)
	found := false
	for i := range s.Tasks {
		if s.Tasks[i].TaskID == u.TaskID {
			s.Tasks[i].Status, found = u.Status, true
		}
	}
	if !found {
		if s.EarlyTaskStatus == nil {
			s.EarlyTaskStatus = map[string]string{}
		}
		s.EarlyTaskStatus[u.TaskID] = u.Status
	}
	r.countOpenTasks()
	r.note(ctx, workflow.Now(ctx), "akute:task_"+u.Status, u.Key, u.TaskID)
}

func (r *caseRun) countOpenTasks() {
	open := 0
	for _, t := range r.state.Tasks {
		if !(akutewebhook.TaskUpdate{Status: t.Status}).Completed() {
			open++
		}
	}
	r.state.OpenTasks = open
}

// applyMedication records a prescription Akute reported.
func (r *caseRun) applyMedication(ctx workflow.Context, m akutewebhook.MedicationEvent) {
	s := r.state
	if r.seen[m.Key] {
		s.Duplicates++
		return
	}
	r.remember(m.Key)
	s.Medications = append(s.Medications, MedicationView{DisplayName: m.DisplayName, Status: m.Status,
		RxStatus: m.RxStatus, Received: workflow.Now(ctx)})
	if len(s.Medications) > medicationsLimit {
		s.Medications = s.Medications[len(s.Medications)-medicationsLimit:]
	}
	r.note(ctx, workflow.Now(ctx), "akute:medication", m.Key, m.RxStatus)
}

func (r *caseRun) taskIDs() []string {
	ids := make([]string, 0, len(r.state.Tasks))
	for _, t := range r.state.Tasks {
		ids = append(ids, t.TaskID)
	}
	return ids
}

// submitterHash tells whether the patient data changed, without keeping it.
func submitterHash(s carevalidate.Submitter) string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
