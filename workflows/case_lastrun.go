package workflows

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
)

// A case's memory after its run ended: a delivery after it starts a new run,
// which first reads the last one's state.

// readLastRun gives a new run the state of the case's last run, so that a
// delivery after the case finished (a late duplicate, a decision re-sent)
// meets the case's memory instead of an empty run that repeats its effects.
// It fails closed: until the last run is read, nothing is applied and Akute
// is not called; the case needs attention (LastRunUnread) and tries again
// every minute, an operator's retry tries at once and skip starts it empty.
func (r *caseRun) readLastRun(ctx workflow.Context, c channels) {
	for {
		last, err := lastRunState(ctx, r.state.CaseID)
		if err == nil {
			if last != nil {
				r.adopt(last)
				last.Reopened++
				r.note(ctx, workflow.Now(ctx), "carebridge:reopened", "", "a delivery after the case's last run ended: its state is carried on")
			}
			return
		}
		workflow.GetLogger(ctx).Warn("the case's last run could not be read", "error", err.Error())
		r.state.Attention = &Attention{Item: WorkItem{Kind: workReadLastRun}, ErrorType: ErrTypeLastRunUnread,
			Error: "the case's last run could not be read: nothing is applied until it is (retry: read it now; skip: start the case empty)",
			Since: workflow.Now(ctx)}
		r.upsertSearchAttributes(ctx)
		_, _ = workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
			Timeout: time.Minute, TimerOptions: workflow.TimerOptions{Summary: "read the case's last run again"},
		}, func() bool { return r.state.Attention == nil || c.operatorPending() })
		c.drainOperators(ctx, r)
		if (r.state.Attention == nil && r.startEmpty) || r.state.Closed {
			r.state.Attention = nil // closed: the run ends empty, calling nothing
			return
		}
		r.state.Attention = nil
	}
}

// lastRunState is the state of the case's newest closed run (completed or
// terminated), read by querying it; nil for a new case or one whose runs
// are past the namespace's retention, and an error when Temporal did not
// answer. It is a local activity: no activity task, no second workflow
// task, for every new case.
func lastRunState(ctx workflow.Context, caseID string) (*CaseState, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		Summary:                "read the case's last run (a delivery after it ended)",
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Minute,
	})
	var last json.RawMessage
	if err := workflow.ExecuteLocalActivity(ctx, activities.LastRunStateName, CaseWorkflowID(caseID), QueryState).Get(ctx, &last); err != nil {
		return nil, err
	}
	var s CaseState
	if len(last) == 0 || string(last) == "null" {
		return nil, nil
	}
	if err := json.Unmarshal(last, &s); err != nil || s.CaseID != caseID {
		return nil, temporal.NewNonRetryableApplicationError("the last run's state is not this case's", ErrTypeLastRunUnread, err)
	}
	return &s, nil
}
