package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// Bounds on what a case keeps.
const (
	timelineLimit    = 200  // newest entries kept
	seenKeysLimit    = 2000 // event keys remembered for de-duplication
	tasksLimit       = 200  // newest Akute tasks kept in the state
	earlyTaskLimit   = 100  // early task updates kept
	decisionsLimit   = 20   // newest decisions kept
	paymentsLimit    = 50   // newest payments kept
	medicationsLimit = 50   // newest medications kept
	// DefaultMaxHistory is when a case continues as new, well before
	// Temporal's own limits (50k events).
	DefaultMaxHistory = 5000
	// DefaultMaxSignals bounds a run by the signals it handled too: a
	// bound that does not depend on the server reporting history length.
	DefaultMaxSignals = 1000
	// DefaultArchiveGrace is how long a finished case (archived or closed)
	// keeps its run open, absorbing CareValidate's redeliveries against its
	// memory, before the run completes.
	DefaultArchiveGrace = 10 * time.Minute
	// DefaultConfirmWait is how long a task create without an answer waits
	// for Akute's task.created webhook before it asks for an operator.
	DefaultConfirmWait = 10 * time.Minute
)

// The kinds of work a case queues.
const (
	workSyncPatient = "sync_patient"
	workCreateTask  = "create_task"
	workReadLastRun = "read_last_run" // only ever an Attention's item
)

// CaseConfig is the worker's configuration of case runs
// (CAREBRIDGE_CASE_MAX_SIGNALS, CAREBRIDGE_CASE_MAX_HISTORY,
// CAREBRIDGE_CASE_ARCHIVE_GRACE, CAREBRIDGE_CASE_CONFIRM_WAIT). Each run
// records it when it starts, so it replays with the values it ran with,
// whatever a worker is given later.
type CaseConfig struct {
	MaxSignals   int           `json:"max_signals"`
	MaxHistory   int           `json:"max_history"`
	ArchiveGrace time.Duration `json:"archive_grace"`
	ConfirmWait  time.Duration `json:"confirm_wait"`
}

// DefaultCaseConfig is the configuration without environment.
func DefaultCaseConfig() CaseConfig {
	return CaseConfig{MaxSignals: DefaultMaxSignals, MaxHistory: DefaultMaxHistory, ArchiveGrace: DefaultArchiveGrace,
		ConfirmWait: DefaultConfirmWait}
}

// caseRun is one run of a case workflow: its state and its coroutines' flags.
type caseRun struct {
	state      *CaseState
	submitter  *Submitter
	seen       *dedupe
	cfg        CaseConfig
	upserted   map[string]string   // search attributes as last upserted
	busy       bool                // an Akute call is in flight
	current    int                 // the id of the item in flight
	cancel     workflow.CancelFunc // cancels the call in flight
	dropped    bool                // an operator skipped the call in flight
	startEmpty bool                // an operator skipped reading the last run
	signals    int                 // handled by this run
	changed    bool                // an update or a coroutine changed the state since the main loop last looked
	// delivery is the trace span of the delivery being applied, and spans
	// the one of the delivery that queued each pending item, by its id:
	// its Akute call is traced there (arrival.go). Never state.
	delivery any
	spans    map[int]any
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
	if arrivals(ctx) == nil {
		// Operators' signals would be applied in no defined order: fail the
		// workflow task, loudly and retried, until a worker runs it right.
		panic("the case workflow runs only on a worker with workflows.Interceptors() (worker.Options.Interceptors)")
	}
	r := newCaseRun(in, runConfig(ctx, in, cfg))
	r.knowSearchAttributes(workflow.GetTypedSearchAttributes(ctx))
	if err := r.registerQuery(ctx); err != nil {
		return nil, err
	}
	if err := r.registerUpdates(ctx); err != nil {
		return nil, err
	}
	channels := caseChannels(ctx)
	if in.State == nil {
		r.readLastRun(ctx, channels)
	}
	r.upsertSearchAttributes(ctx)

	stop := false
	workflow.Go(ctx, func(ctx workflow.Context) { r.work(ctx, &stop) })
	for _, u := range r.state.Unconfirmed {
		r.watchUnconfirmed(ctx, u)
	}

	for {
		_ = workflow.Await(ctx, func() bool {
			return channels.pending() || r.changed || r.finished() || r.shouldContinueAsNew(ctx)
		})
		r.changed = false
		channels.drain(ctx, r)
		r.upsertSearchAttributes(ctx)
		if r.finished() && !channels.pending() {
			// Archived or closed: linger, absorbing redeliveries against the
			// case's memory (never calling Akute), until they stop.
			late, _ := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout: r.cfg.ArchiveGrace, TimerOptions: workflow.TimerOptions{Summary: "finished: absorbing late deliveries"},
			}, func() bool { return channels.pending() || r.changed })
			if late {
				continue
			}
			stop = true
			r.finishHandlers(ctx)
			return r.view(), nil
		}
		if r.shouldContinueAsNew(ctx) && !channels.pending() {
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

func newCaseRun(in CaseInput, cfg CaseConfig) *caseRun {
	r := &caseRun{submitter: in.Submitter, cfg: cfg, upserted: map[string]string{}}
	state := in.State
	if state == nil {
		state = &CaseState{CaseID: in.CaseID, CarebridgeStatus: StatusRunning, Timeline: []TimelineEntry{}}
	}
	r.adopt(state)
	return r
}

// adopt makes state the run's state.
func (r *caseRun) adopt(state *CaseState) {
	r.state = state
	r.seen = newDedupe(&state.SeenKeys, seenKeysLimit)
}

// runConfig is the run's configuration: the worker's, recorded in history,
// with the bounds the input sets (tests) in its place.
func runConfig(ctx workflow.Context, in CaseInput, cfg CaseConfig) CaseConfig {
	_ = workflow.SideEffect(ctx, func(workflow.Context) any { return cfg }).Get(&cfg)
	if in.MaxHistory > 0 {
		cfg.MaxHistory = in.MaxHistory
	}
	if in.MaxSignals > 0 {
		cfg.MaxSignals = in.MaxSignals
	}
	if in.ArchiveGrace > 0 {
		cfg.ArchiveGrace = in.ArchiveGrace
	}
	if cfg.ConfirmWait <= 0 {
		cfg.ConfirmWait = DefaultConfirmWait
	}
	return cfg
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
	return c.events.Len() > 0 || c.akuteTasks.Len() > 0 || c.medications.Len() > 0 || c.operatorPending()
}

// drain applies every buffered signal: events first, in arrival order. A
// signal carebridge did not write is refused (receiveOwn), with a timeline
// entry, and the case goes on.
func (c channels) drain(ctx workflow.Context, r *caseRun) {
	for {
		var ev CaseEvent
		received, believed := r.receive(ctx, c.events, SignalCaseEvent, &ev)
		if !received {
			break
		}
		if believed {
			r.apply(ctx, ev)
		}
	}
	for {
		var update TaskUpdate
		received, believed := r.receive(ctx, c.akuteTasks, SignalAkuteTask, &update)
		if !received {
			break
		}
		if believed {
			r.applyTaskUpdate(ctx, update)
		}
	}
	for {
		var med MedicationEvent
		received, believed := r.receive(ctx, c.medications, SignalAkuteMed, &med)
		if !received {
			break
		}
		if believed {
			r.applyMedication(ctx, med)
		}
	}
	r.delivery = nil // an operator's resync is no delivery's work
	c.drainOperators(ctx, r)
}

// receive is receiveOwn for the case: a signal counts towards the run's
// bound, and one refused leaves a timeline entry.
func (r *caseRun) receive(ctx workflow.Context, ch workflow.ReceiveChannel, name string, valuePtr any) (received, believed bool) {
	received, believed = receiveOwn(ch, valuePtr)
	if received {
		r.signals++
		r.delivery = arrivals(ctx).deliverySpan(name)
	}
	if received && !believed {
		r.note(ctx, workflow.Now(ctx), "carebridge:refused_signal", "", name+": not written by carebridge (a payload in clear): ignored")
	}
	return received, believed
}

// operatorPending reports whether an operator's signal waits.
func (c channels) operatorPending() bool {
	for _, op := range c.operators {
		if op.ch.Len() > 0 {
			return true
		}
	}
	return false
}

// drainOperators applies the operators' signals in the order they arrived
// (see arrival.go).
func (c channels) drainOperators(ctx workflow.Context, r *caseRun) {
	log := arrivals(ctx)
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

// finished reports whether the run may end (after its grace). A close waits
// for the Akute call in flight to answer (it is cancelled): a call that may
// have created a task is never abandoned unrecorded, and a create left
// unconfirmed still meets its task.created webhook during the grace.
func (r *caseRun) finished() bool {
	s := r.state
	if s.Closed {
		return !r.busy
	}
	return s.Archived && len(s.Pending) == 0 && len(s.Unconfirmed) == 0 && s.Attention == nil && !r.busy
}

func (r *caseRun) shouldContinueAsNew(ctx workflow.Context) bool {
	if r.busy {
		return false // never abandon an Akute call in flight
	}
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= r.cfg.MaxHistory ||
		r.signals >= r.cfg.MaxSignals
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
	if r.delivery != nil {
		if r.spans == nil {
			r.spans = map[int]any{}
		}
		r.spans[item.ID] = r.delivery
	}
}

func (r *caseRun) removeItem(id int) {
	delete(r.spans, id)
	pending := r.state.Pending[:0]
	for _, it := range r.state.Pending {
		if it.ID != id {
			pending = append(pending, it)
		}
	}
	r.state.Pending = pending
}
