package workflows

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
)

// Bounds on what a case keeps.
const (
	timelineLimit  = 200  // newest entries kept
	seenKeysLimit  = 2000 // event keys remembered for de-duplication
	tasksLimit     = 500  // newest Akute tasks kept in the state
	taskIDsLimit   = 100  // newest task ids in AkuteTaskIds
	earlyTaskLimit = 100  // early task updates kept
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
	submitter *Submitter
	seen      *dedupe
	upserted  map[string]string   // search attributes as last upserted
	busy      bool                // an Akute call is in flight
	current   int                 // the id of the item in flight
	cancel    workflow.CancelFunc // cancels the call in flight
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
	var reopened bool
	var unread error
	if in.State == nil {
		in.State, unread = lastRunState(ctx, in.CaseID)
		reopened = in.State != nil
	}
	r := newCaseRun(in)
	r.knowSearchAttributes(workflow.GetTypedSearchAttributes(ctx))
	switch {
	case unread != nil:
		// The case starts empty rather than not at all, and says so.
		workflow.GetLogger(ctx).Warn("the case's earlier runs could not be read", "error", unread.Error())
		r.note(ctx, workflow.Now(ctx), "carebridge:history_unread", "", "earlier runs could not be read: started empty")
	case reopened:
		r.state.Reopened++
		r.note(ctx, workflow.Now(ctx), "carebridge:reopened", "", "a delivery after the case's run completed: its state is carried on")
	}
	if err := r.registerQuery(ctx); err != nil {
		return nil, err
	}
	if err := r.registerUpdates(ctx); err != nil {
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

func newCaseRun(in CaseInput) *caseRun {
	r := &caseRun{state: in.State, submitter: in.Submitter, upserted: map[string]string{}}
	if r.state == nil {
		r.state = &CaseState{CaseID: in.CaseID, CarebridgeStatus: StatusRunning, Timeline: []TimelineEntry{}}
	}
	r.seen = newDedupe(&r.state.SeenKeys, seenKeysLimit)
	return r
}

// lastRunState is what the case's last completed run applied, so that a
// delivery after it (a late duplicate, a decision re-sent) meets the case's
// memory instead of an empty run that repeats its effects; nil for a new
// case, and an error when Temporal's visibility did not answer. It is a
// local activity: no activity task, no second workflow task, for every new
// case.
func lastRunState(ctx workflow.Context, caseID string) (*CaseState, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		Summary:                "read the case's last completed run (a delivery after it completed)",
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Minute,
	})
	var last json.RawMessage
	if err := workflow.ExecuteLocalActivity(ctx, activities.LastCompletedResultName, CaseWorkflowID(caseID)).Get(ctx, &last); err != nil {
		return nil, err
	}
	var s CaseState
	if len(last) == 0 || string(last) == "null" || json.Unmarshal(last, &s) != nil || s.CaseID != caseID {
		return nil, nil
	}
	return &s, nil
}

// limits are the run's bounds and archive grace: the input's when it sets
// them, else the worker's, recorded in history.
func (r *caseRun) limits(ctx workflow.Context, in CaseInput, cfg CaseConfig) (runLimits, time.Duration) {
	_ = workflow.SideEffect(ctx, func(workflow.Context) any { return cfg }).Get(&cfg)
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
		var ev CaseEvent
		if !c.events.ReceiveAsync(&ev) {
			break
		}
		r.signals++
		r.apply(ctx, ev)
	}
	for {
		var update TaskUpdate
		if !c.akuteTasks.ReceiveAsync(&update) {
			break
		}
		r.signals++
		r.applyTaskUpdate(ctx, update)
	}
	for {
		var med MedicationEvent
		if !c.medications.ReceiveAsync(&med) {
			break
		}
		r.signals++
		r.applyMedication(ctx, med)
	}
	if log := arrivals(ctx); log != nil {
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
	for _, op := range c.operators { // without the interceptor: a fixed order
		for op.ch.ReceiveAsync(nil) {
			r.signals++
			r.operate(ctx, op.name)
		}
	}
}

// finished reports whether the run may end. A close waits for the Akute
// call in flight to answer (it is cancelled): a call that may have created
// a task is never abandoned unrecorded.
func (r *caseRun) finished() bool {
	s := r.state
	if s.Closed {
		return !r.busy
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

func (r *caseRun) note(ctx workflow.Context, at time.Time, typ, key, summary string) {
	s := r.state
	s.Timeline = keepLast(append(s.Timeline, TimelineEntry{At: at, Received: workflow.Now(ctx), Type: typ, Key: key, Summary: summary}), timelineLimit)
}

// firstTime reports whether an event is new, and remembers its key; a
// repeated delivery is counted and has no other effect.
func (r *caseRun) firstTime(key string) bool {
	if !r.seen.firstTime(key) {
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

func (r *caseRun) removeItem(id int) {
	pending := r.state.Pending[:0]
	for _, it := range r.state.Pending {
		if it.ID != id {
			pending = append(pending, it)
		}
	}
	r.state.Pending = pending
}
