package workflows

import (
	"errors"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/internal/tracing"
)

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
		// An operator's pause, retry, skip or close cancels the call (its
		// retries included) and waits for its answer.
		callCtx, cancel := workflow.WithCancel(ctx)
		if span := r.spans[item.ID]; span != nil {
			callCtx = workflow.WithValue(callCtx, tracing.SpanContextKey, span) // the delivery's trace
		}
		r.cancel = cancel
		r.busy, r.current, r.dropped = true, item.ID, false
		err := r.run(callCtx, item)
		r.busy, r.cancel = false, nil
		switch {
		case err == nil:
			r.removeItem(item.ID) // done, even if a cancel came too late
		case errors.Is(err, errMaybeCreated) && r.dropped:
			r.removeItem(item.ID)
			r.note(ctx, workflow.Now(ctx), "operator:skipped", item.EventKey, item.TaskKind+": Akute may have created it")
		case errors.Is(err, errMaybeCreated):
			// Never repeated blindly: Akute's task.created webhook confirms
			// it, or an operator decides once the wait is over.
			r.removeItem(item.ID)
			u := UnconfirmedCreate{Item: item, Since: workflow.Now(ctx)}
			r.state.Unconfirmed = append(r.state.Unconfirmed, u)
			r.note(ctx, workflow.Now(ctx), "akute:task_unconfirmed", item.EventKey, item.TaskKind)
			if !r.confirmFromEarly(ctx, item) {
				r.watchUnconfirmed(ctx, u)
			}
		case temporal.IsCanceledError(err):
			if r.dropped {
				r.removeItem(item.ID)
			}
			r.note(ctx, workflow.Now(ctx), "operator:cancelled", item.EventKey, item.Kind)
		default:
			r.state.Attention = attentionFor(ctx, item, err)
			r.note(ctx, workflow.Now(ctx), "needs_attention", item.EventKey, item.Kind+": "+r.state.Attention.ErrorType)
		}
		// A case that needs attention, a patient just synced, a task just
		// created: visible to the runbook's queries at once.
		r.upsertSearchAttributes(ctx)
	}
}

// inFlight reports whether an Akute call is in flight that an operator can
// cancel: the work coroutine keeps its cancel function exactly while the
// call runs.
func (r *caseRun) inFlight() bool { return r.cancel != nil }

var akuteRetry = &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}

// akuteGiveUp is how long one Akute call keeps retrying a transient failure
// before the case asks for an operator.
const akuteGiveUp = time.Hour

// errMaybeCreated is a task create that may have reached Akute without an
// answer: a timeout, a reset, a worker that died mid-call, an operator's
// cancel while the request was out.
var errMaybeCreated = errors.New("the task create may have reached Akute")

func (r *caseRun) run(ctx workflow.Context, item WorkItem) error {
	// A worker that dies mid-call is noticed in seconds (the activities
	// heartbeat), not after the whole StartToClose; HeartbeatTimeout leaves a
	// margin over the SDK's heartbeat throttling, so that a CPU spike does
	// not start a second attempt while the first runs.
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		Summary:                workSummary(item),
		StartToCloseTimeout:    45 * time.Second,
		HeartbeatTimeout:       activities.HeartbeatTimeout,
		WaitForCancellation:    true,
		ScheduleToCloseTimeout: akuteGiveUp,
		RetryPolicy:            akuteRetry,
	})
	s := r.state
	switch item.Kind {
	case workSyncPatient:
		if r.submitter == nil {
			return nil
		}
		// A sync is safe to repeat: it finds the patient by external_id.
		var out activities.PatientSynced
		if err := workflow.ExecuteActivity(ctx, activities.SyncAkutePatientName, *r.submitter).Get(ctx, &out); err != nil {
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
		out, err := createTask(ctx, req)
		if err != nil {
			return err
		}
		status := "not-started"
		if i := slices.IndexFunc(s.EarlyTasks, func(t EarlyTask) bool { return t.TaskID == out.TaskID }); i >= 0 {
			status = s.EarlyTasks[i].Status
			s.EarlyTasks = slices.Delete(s.EarlyTasks, i, i+1)
		}
		r.recordTask(item, out.TaskID, out.OwnerID, status)
		r.note(ctx, workflow.Now(ctx), "akute:task_created", item.EventKey, item.TaskKind)
	}
	return nil
}

// createTask creates a task with one attempt per activity, retrying here
// what Akute answered it did not do (a 5xx, a 429, a refused connection)
// with the calls' backoff: the server would retry a timed-out attempt too,
// and a create that may have reached Akute is never repeated blindly
// (errMaybeCreated).
func createTask(ctx workflow.Context, req activities.TaskRequest) (activities.TaskCreated, error) {
	ctx = workflow.WithRetryPolicy(ctx, temporal.RetryPolicy{MaximumAttempts: 1})
	giveUp := workflow.Now(ctx).Add(akuteGiveUp)
	backoff := akuteRetry.InitialInterval
	for {
		var out activities.TaskCreated
		err := workflow.ExecuteActivity(ctx, activities.CreateAkuteTaskName, req).Get(ctx, &out)
		var appErr *temporal.ApplicationError
		var canceled *temporal.CanceledError
		var timeout *temporal.TimeoutError
		switch {
		case err == nil:
			return out, nil
		case errors.As(err, &canceled):
			var detail string
			if canceled.HasDetails() && canceled.Details(&detail) == nil && detail == activities.CreateMaybeMade {
				return out, errMaybeCreated
			}
			return out, err
		case errors.As(err, &timeout):
			switch timeout.TimeoutType() {
			case enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START, enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE:
				// Never started: an attempt that starts times out on its
				// heartbeat or its StartToClose long before the hour.
				return out, err
			}
			return out, errMaybeCreated
		case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeAkuteAmbiguous:
			return out, errMaybeCreated
		case errors.As(err, &appErr) && !appErr.NonRetryable() && workflow.Now(ctx).Add(retryDelay(appErr, backoff)).Before(giveUp):
			if err := workflow.Sleep(ctx, retryDelay(appErr, backoff)); err != nil {
				return out, err // cancelled by an operator: nothing was sent
			}
			backoff = min(2*backoff, akuteRetry.MaximumInterval)
		default:
			return out, err
		}
	}
}

// retryDelay is Akute's Retry-After when it gave one (classify's
// NextRetryDelay, which the server's retries honour too), else backoff.
func retryDelay(appErr *temporal.ApplicationError, backoff time.Duration) time.Duration {
	if d := appErr.NextRetryDelay(); d > 0 {
		return d
	}
	return backoff
}

// recordTask records a task Akute created for item.
func (r *caseRun) recordTask(item WorkItem, taskID, ownerID, status string) {
	s := r.state
	s.Tasks = keepLast(append(s.Tasks, TaskView{EventKey: item.EventKey, Kind: item.TaskKind, Priority: item.Task.Priority,
		Title: item.Task.Title, TaskID: taskID, OwnerID: ownerID, Status: status}), tasksLimit)
}

// watchUnconfirmed gives an unconfirmed create until its wait is over to be
// confirmed; then, with no other step waiting for an operator, the case
// needs one: Akute did not answer and did not notify, so whether the task
// exists is for a person to check (skip: it exists; retry: create it).
func (r *caseRun) watchUnconfirmed(ctx workflow.Context, u UnconfirmedCreate) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		waiting := func() bool {
			return slices.ContainsFunc(r.state.Unconfirmed, func(c UnconfirmedCreate) bool { return c.Item.ID == u.Item.ID })
		}
		left := max(u.Since.Add(r.cfg.ConfirmWait).Sub(workflow.Now(ctx)), time.Millisecond)
		confirmed, _ := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
			Timeout: left, TimerOptions: workflow.TimerOptions{Summary: "wait for Akute to confirm a task create: " + u.Item.TaskKind},
		}, func() bool { return !waiting() })
		if confirmed {
			return
		}
		_ = workflow.Await(ctx, func() bool { return !waiting() || r.state.Attention == nil })
		if !waiting() {
			return
		}
		r.state.Unconfirmed = slices.DeleteFunc(r.state.Unconfirmed, func(c UnconfirmedCreate) bool { return c.Item.ID == u.Item.ID })
		r.state.Pending = append([]WorkItem{u.Item}, r.state.Pending...)
		r.state.Attention = &Attention{Item: u.Item, ErrorType: activities.ErrTypeAkuteAmbiguous, Since: workflow.Now(ctx),
			Error: "Akute did not answer the task create and did not notify it within " + r.cfg.ConfirmWait.String() +
				": check Akute for the task, then skip (it exists) or retry (create it)"}
		r.note(ctx, workflow.Now(ctx), "needs_attention", u.Item.EventKey, u.Item.Kind+": "+activities.ErrTypeAkuteAmbiguous)
		r.changed = true
	})
}

// akuteTaskCreated is the event of Akute's webhook for a task it created:
// the only one that can confirm an unanswered create (an update of an older
// task of the same title must not).
const akuteTaskCreated = "task.created"

// confirm records the unconfirmed create a task Akute notified creating
// matches (by its title: the webhook is routed to this case by its
// case:<shortId> tag), and reports whether one did.
func (r *caseRun) confirm(ctx workflow.Context, taskID, title, status string) bool {
	s := r.state
	i := slices.IndexFunc(s.Unconfirmed, func(c UnconfirmedCreate) bool { return title != "" && c.Item.Task.Title == title })
	if i < 0 {
		return false
	}
	item := s.Unconfirmed[i].Item
	s.Unconfirmed = slices.Delete(s.Unconfirmed, i, i+1)
	if status == "" {
		status = "not-started"
	}
	r.recordTask(item, taskID, "", status)
	r.note(ctx, workflow.Now(ctx), "akute:task_confirmed", item.EventKey, item.TaskKind)
	r.changed = true
	return true
}

// confirmFromEarly confirms a create that went unanswered from a
// task.created webhook that arrived before the case knew.
func (r *caseRun) confirmFromEarly(ctx workflow.Context, item WorkItem) bool {
	s := r.state
	i := slices.IndexFunc(s.EarlyTasks, func(t EarlyTask) bool { return t.Title != "" && t.Title == item.Task.Title })
	if i < 0 {
		return false
	}
	early := s.EarlyTasks[i]
	s.EarlyTasks = slices.Delete(s.EarlyTasks, i, i+1)
	return r.confirm(ctx, early.TaskID, early.Title, early.Status)
}

func attentionFor(ctx workflow.Context, item WorkItem, err error) *Attention {
	a := &Attention{Item: item, ErrorType: "Unknown", Error: err.Error(), Since: workflow.Now(ctx)}
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	switch {
	case errors.As(err, &timeoutErr):
		// The last attempt's failure, when there was one, says whose fault it is.
		a.ErrorType, a.Error = ErrTypeCallTimedOut, "no answer within "+akuteGiveUp.String()+
			": Akute did not answer, or no worker ran the call (are the workers up?)"
		if errors.As(timeoutErr, &appErr) {
			a.ErrorType, a.Error = appErr.Type(), "still failing after "+akuteGiveUp.String()+": "+appErr.Error()
		}
	case errors.As(err, &appErr):
		a.ErrorType, a.Error = appErr.Type(), appErr.Error()
		var detail activities.AkuteRejection
		if appErr.HasDetails() && appErr.Details(&detail) == nil {
			a.Detail = &detail
		}
	}
	return a
}

// workSummary names an Akute call in the Web UI ("create Akute task:
// decision"), without PHI.
func workSummary(item WorkItem) string {
	if item.Kind == workCreateTask {
		return "create Akute task: " + item.TaskKind
	}
	return "sync the patient to Akute"
}
