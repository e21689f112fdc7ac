package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/clients/akute/akutewebhook"
	"github.com/carebridge/carebridge/clients/carevalidate"
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
	s.Timeline = keepLast(append(s.Timeline, TimelineEntry{At: at, Received: workflow.Now(ctx), Type: typ, Key: key, Summary: summary}), timelineLimit)
}

// firstTime reports whether an event key is new, and remembers it; a
// repeated delivery is counted and has no other effect.
func (r *caseRun) firstTime(key string) bool {
	s := r.state
	if r.seen[key] {
		s.Duplicates++
		return false
	}
	r.seen[key] = true
	s.SeenKeys = append(s.SeenKeys, key)
	if len(s.SeenKeys) > seenKeysLimit {
		delete(r.seen, s.SeenKeys[0])
		s.SeenKeys = s.SeenKeys[1:]
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
