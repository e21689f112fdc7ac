package workflows

import (
	"encoding/json"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
)

// Bounds on what a case keeps.
const (
	timelineLimit  = 200  // newest entries kept
	seenKeysLimit  = 2000 // event keys remembered for de-duplication
	tasksLimit     = 500  // newest Akute tasks kept in the state (version 1)
	taskIDsLimit   = 100  // newest task ids in AkuteTaskIds (version 1)
	earlyTaskLimit = 100  // early task updates kept (version 1)
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

const (
	workSyncPatient = "sync_patient"
	workCreateTask  = "create_task"
)

// caseRulesChange versions the case workflow's handling of deliveries. Runs
// started before it (DefaultVersion) keep version 0's rules to their end;
// every run started after (new cases, and every continue-as-new) takes
// version 1 (README, "How a case works"):
//   - events are de-duplicated by CaseEvent.EventKey (keys a version 0 run
//     recorded are still compared with the key version 0 computed);
//   - each field is ordered by the event's own time (EventAt, or its arrival
//     when the event does not say), status ties broken by CareValidate's order;
//   - a patient correction during a sync queues another sync;
//   - search attributes follow every state change, Akute calls' included;
//   - task lists and early task updates are bounded;
//   - run limits are the worker's (CaseConfig), recorded when a run starts;
//   - Akute calls heartbeat with a margin.
//
// Version 2 upserts only what differs from the run's search attributes as
// they stand (those the starter set at start, or a continued run carried):
// a new run no longer writes them again, one visibility write less per run;
// and it reads the last completed run with a local activity.
const (
	caseRulesChange  = "case-delivery-rules"
	caseRulesVersion = 2
)

// CaseConfig is the worker's configuration of case runs
// (CAREBRIDGE_CASE_MAX_SIGNALS, CAREBRIDGE_CASE_MAX_HISTORY,
// CAREBRIDGE_CASE_ARCHIVE_GRACE). Each run records it when it starts, so it
// replays with the values it ran with, whatever a worker is given later.
type CaseConfig struct {
	MaxSignals   int           `json:"max_signals"`
	MaxHistory   int           `json:"max_history"`
	ArchiveGrace time.Duration `json:"archive_grace"`
}

// DefaultCaseConfig is the configuration without environment.
func DefaultCaseConfig() CaseConfig {
	return CaseConfig{MaxSignals: DefaultMaxSignals, MaxHistory: DefaultMaxHistory, ArchiveGrace: DefaultArchiveGrace}
}

// caseRun is one run of a case workflow: its state and its coroutines' flags.
type caseRun struct {
	state     *CaseState
	submitter *carevalidate.Submitter
	seen      *dedupe
	legacy    map[string]bool // keys recorded under version 0's rules
	rules     workflow.Version
	upserted  map[string]string   // search attributes as last upserted
	busy      bool                // an Akute call is in flight
	current   int                 // the id of the item in flight
	cancel    workflow.CancelFunc // cancels the call in flight (version 1)
	dropped   bool                // an operator skipped the call in flight
	signals   int                 // handled by this run
	operated  bool                // an operator update changed the state since the main loop last looked
}

// CaseWorkflow keeps one CareValidate case's state and Akute in step with
// it, from its first event to ARCHIVE_CASE (or an operator's close), with
// the default configuration.
func CaseWorkflow(ctx workflow.Context, in CaseInput) (*CaseState, error) {
	return caseWorkflow(ctx, in, DefaultCaseConfig())
}

// Workflow is the case workflow as a worker with this configuration runs it.
func (cfg CaseConfig) Workflow() func(workflow.Context, CaseInput) (*CaseState, error) {
	return func(ctx workflow.Context, in CaseInput) (*CaseState, error) { return caseWorkflow(ctx, in, cfg) }
}

func caseWorkflow(ctx workflow.Context, in CaseInput, cfg CaseConfig) (*CaseState, error) {
	rules := workflow.GetVersion(ctx, caseRulesChange, workflow.DefaultVersion, caseRulesVersion)
	var reopened bool
	var unread error
	if rules >= 1 && in.State == nil {
		in.State, unread = lastRunState(ctx, in.CaseID, rules)
		reopened = in.State != nil
	}
	r := newCaseRun(in, rules)
	if rules >= 2 {
		r.knowSearchAttributes(workflow.GetTypedSearchAttributes(ctx))
	}
	switch {
	case unread != nil:
		// The case starts empty rather than not at all, and says so.
		workflow.GetLogger(ctx).Warn("the case's earlier runs could not be read", "error", unread.Error())
		r.note(ctx, workflow.Now(ctx), "carebridge:history_unread", "", "earlier runs could not be read: started empty")
	case reopened:
		r.state.Reopened++
		r.note(ctx, workflow.Now(ctx), "carebridge:reopened", "", "a delivery after the case's run completed: its state is carried on")
	}
	if err := r.registerHandlers(ctx); err != nil {
		return nil, err
	}
	limits, grace := r.limits(ctx, in, cfg)
	channels := caseChannels(ctx)
	r.upsertSearchAttributes(ctx)

	stop := false
	workflow.Go(ctx, func(ctx workflow.Context) { r.work(ctx, &stop) })

	for {
		_ = workflow.Await(ctx, func() bool {
			return channels.pending() || r.operated || r.finished() || r.shouldContinueAsNew(ctx, limits)
		})
		r.operated = false
		channels.drain(ctx, r)
		r.upsertSearchAttributes(ctx)
		if r.finished() && !channels.pending() {
			if !r.state.Closed {
				// Archived: linger, deduplicating, until deliveries stop.
				late, _ := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
					Timeout: grace, TimerOptions: workflow.TimerOptions{Summary: "archive grace: absorbing late deliveries"},
				}, func() bool { return channels.pending() || r.operated || r.state.Closed })
				if late {
					continue
				}
			}
			stop = true
			r.finishHandlers(ctx)
			return r.view(), nil
		}
		if r.shouldContinueAsNew(ctx, limits) && !channels.pending() {
			stop = true
			r.finishHandlers(ctx)
			r.state.Runs++
			workflow.GetLogger(ctx).Info("case continues as new", "events_applied", r.state.EventsApplied)
			next := CaseInput{CaseID: r.state.CaseID, State: r.state, Submitter: r.submitter}
			if r.rules == workflow.DefaultVersion {
				// Version 0 carried the starter's limits; later runs take the worker's.
				next.MaxHistory, next.MaxSignals, next.ArchiveGrace = in.MaxHistory, in.MaxSignals, in.ArchiveGrace
			}
			return nil, workflow.NewContinueAsNewError(ctx, CaseWorkflowName, next)
		}
	}
}

// finishHandlers lets an operator update accepted in the run's last
// workflow task answer before the run ends: it would otherwise fail for its
// caller with the run it targeted.
func (r *caseRun) finishHandlers(ctx workflow.Context) {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

func newCaseRun(in CaseInput, rules workflow.Version) *caseRun {
	r := &caseRun{state: in.State, submitter: in.Submitter, rules: rules, upserted: map[string]string{}, legacy: map[string]bool{}}
	if r.state == nil {
		r.state = &CaseState{CaseID: in.CaseID, CarebridgeStatus: StatusRunning, Timeline: []TimelineEntry{}}
	}
	s := r.state
	if rules >= 1 && s.RulesVersion == 0 {
		// The first run under version 1 of a case that ran under version 0:
		// its keys were computed by version 0's rules.
		s.LegacySeenKeys, s.SeenKeys, s.RulesVersion = s.SeenKeys, nil, int(rules)
	}
	for _, k := range s.LegacySeenKeys {
		r.legacy[k] = true
	}
	r.seen = newDedupe(&s.SeenKeys, seenKeysLimit)
	return r
}

// lastRunState is what the case's last completed run applied, so that a
// delivery after it (a late duplicate, a decision re-sent) meets the case's
// memory instead of an empty run that repeats its effects; nil for a new
// case, and an error when Temporal's visibility did not answer. From
// version 2 on it is a local activity: no activity task, no second
// workflow task, for every new case.
func lastRunState(ctx workflow.Context, caseID string, rules workflow.Version) (*CaseState, error) {
	const summary = "read the case's last completed run (a delivery after it completed)"
	start, giveUp := 10*time.Second, 2*time.Minute
	var future workflow.Future
	if rules >= 2 {
		future = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			Summary: summary, StartToCloseTimeout: start, ScheduleToCloseTimeout: giveUp,
		}), activities.LastCompletedResultName, CaseWorkflowID(caseID))
	} else {
		future = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			Summary: summary, StartToCloseTimeout: start, ScheduleToCloseTimeout: giveUp,
		}), activities.LastCompletedResultName, CaseWorkflowID(caseID))
	}
	var last json.RawMessage
	if err := future.Get(ctx, &last); err != nil {
		return nil, err
	}
	var s CaseState
	if len(last) == 0 || string(last) == "null" || json.Unmarshal(last, &s) != nil || s.CaseID != caseID {
		return nil, nil
	}
	return &s, nil
}

// limits are the run's bounds and archive grace: from version 1 on, the
// input's when it sets them, else the worker's, recorded in history.
func (r *caseRun) limits(ctx workflow.Context, in CaseInput, cfg CaseConfig) (runLimits, time.Duration) {
	if r.rules >= 1 {
		_ = workflow.SideEffect(ctx, func(workflow.Context) any { return cfg }).Get(&cfg)
	} else {
		cfg = DefaultCaseConfig()
	}
	limits, grace := runLimits{history: cfg.MaxHistory, signals: cfg.MaxSignals}, cfg.ArchiveGrace
	if in.MaxHistory > 0 {
		limits.history = in.MaxHistory
	}
	if in.MaxSignals > 0 {
		limits.signals = in.MaxSignals
	}
	if in.ArchiveGrace > 0 {
		grace = in.ArchiveGrace
	}
	return limits, grace
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
	signal := func(name string) workflow.ReceiveChannel {
		return workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: handlerDescriptions[name]})
	}
	c := channels{events: signal(SignalCaseEvent), akuteTasks: signal(SignalAkuteTask), medications: signal(SignalAkuteMed)}
	for _, name := range OperatorActions {
		c.operators = append(c.operators, operatorChannel{name, signal(name)})
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
	if log := arrivals(ctx); r.rules >= 1 && log != nil {
		// In arrival order (see arrival.go).
		for _, name := range log.names {
			for _, op := range c.operators {
				if op.name == name && op.ch.ReceiveAsync(nil) {
					r.signals++
					r.operate(ctx, op.name)
				}
			}
		}
		log.names = log.names[:0]
	}
	for _, op := range c.operators { // version 0's fixed order
		for op.ch.ReceiveAsync(nil) {
			r.signals++
			r.operate(ctx, op.name)
		}
	}
}

// finished reports whether the run may end. From version 1 on, a close
// waits for the Akute call in flight to answer (it is cancelled): a call
// that may have created a task is never abandoned unrecorded.
func (r *caseRun) finished() bool {
	s := r.state
	if s.Closed {
		return r.rules == workflow.DefaultVersion || !r.busy
	}
	return s.Archived && len(s.Pending) == 0 && s.Attention == nil && !r.busy
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

// view is the state as operators see it: a copy, so that a query never
// writes into the live state.
func (r *caseRun) view() *CaseState {
	v := *r.state
	s := &v
	s.OpenTasks = openTasks(s.Tasks)
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

func (r *caseRun) note(ctx workflow.Context, at time.Time, typ, key, summary string) {
	s := r.state
	s.Timeline = keepLast(append(s.Timeline, TimelineEntry{At: at, Received: workflow.Now(ctx), Type: typ, Key: key, Summary: summary}), timelineLimit)
}

// firstTime reports whether an event is new, and remembers its key; a
// repeated delivery is counted and has no other effect. legacyKey is the
// key version 0 computed for it, compared with the keys version 0 recorded.
func (r *caseRun) firstTime(key, legacyKey string) bool {
	if (legacyKey != "" && r.legacy[legacyKey]) || !r.seen.firstTime(key) {
		r.state.Duplicates++
		return false
	}
	return true
}

// keepLast bounds a list to its newest n entries.
func keepLast[T any](list []T, n int) []T {
	if len(list) > n {
		return list[len(list)-n:]
	}
	return list
}

func (r *caseRun) enqueue(item WorkItem) {
	r.state.NextItemID++
	item.ID = r.state.NextItemID
	r.state.Pending = append(r.state.Pending, item)
}
