package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
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
		r.cancel = cancel
		r.busy, r.current, r.dropped = true, item.ID, false
		err := r.run(callCtx, item)
		r.busy, r.cancel = false, nil
		switch {
		case err == nil:
			r.removeItem(item.ID) // done, even if a cancel came too late
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

func (r *caseRun) run(ctx workflow.Context, item WorkItem) error {
	// A worker that dies mid-call is noticed in seconds (the activities
	// heartbeat), not after the whole StartToClose; HeartbeatTimeout leaves a
	// margin over the SDK's heartbeat throttling, so that a CPU spike does
	// not start a second attempt (and a second task) while the first runs.
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
		var out activities.TaskCreated
		if err := workflow.ExecuteActivity(ctx, activities.CreateAkuteTaskName, req).Get(ctx, &out); err != nil {
			return err
		}
		status := "not-started"
		if early, ok := s.EarlyTaskStatus[out.TaskID]; ok {
			status = early
			delete(s.EarlyTaskStatus, out.TaskID)
		}
		s.Tasks = append(s.Tasks, TaskView{EventKey: item.EventKey, Kind: item.TaskKind, Priority: req.Priority,
			Title: req.Title, TaskID: out.TaskID, OwnerID: out.OwnerID, Status: status})
		s.Tasks = keepLast(s.Tasks, tasksLimit)
		s.EarlyTaskOrder = slices.DeleteFunc(s.EarlyTaskOrder, func(id string) bool { return id == out.TaskID })
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
		a.ErrorType = activities.ErrTypeAkuteUnavailable
		a.Error = "akute did not answer for " + akuteGiveUp.String()
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
