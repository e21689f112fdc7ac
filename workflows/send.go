// Package workflows holds carebridge's Temporal workflows. They are
// deterministic: every call to the world is an activity.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/alleviate"
)

// upstreamRetry retries transient failures with exponential backoff for as
// long as ScheduleToCloseTimeout allows: a send survives an upstream outage.
var upstreamRetry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Minute,
}

// sendStepGiveUp is how long one step keeps retrying before the send fails
// and shows as failed in the Web UI for an operator to reset.
const sendStepGiveUp = 24 * time.Hour

// step runs one of the send's steps as a local activity: it runs in the
// worker that runs the workflow, without a round trip through a task queue
// each, which is most of a send's latency (BENCHMARKS.md); it is still
// recorded, retried and shown one by one, each with its summary (no PHI)
// in the Web UI.
func step(ctx workflow.Context, summary string, attemptTimeout time.Duration, activity string, args ...any) workflow.Future {
	return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		Summary:                summary,
		StartToCloseTimeout:    attemptTimeout,
		ScheduleToCloseTimeout: sendStepGiveUp,
		RetryPolicy:            upstreamRetry,
	}), activity, args...)
}

// AlleviateSend runs the reference's three steps: a Realtime token from
// Activepieces, the patient's subjectId from Realtime, the lead to Alleviate.
// It returns Alleviate's answer, whatever its status.
func AlleviateSend(ctx workflow.Context, req SendRequest) (alleviate.Answer, error) {
	// The Activepieces flow may hold the request for its full 30 s.
	var token activities.TokenStatus
	if err := step(ctx, "Realtime token from Activepieces (when the cached one is stale)", 40*time.Second, activities.FetchRealtimeTokenName).Get(ctx, &token); err != nil {
		return alleviate.Answer{}, err
	}

	// The lookup may need to fetch a token of its own (a worker that
	// restarted, a token Realtime refused), so it gets Activepieces' time too.
	var patientID int64
	query := activities.PatientQuery{Instance: req.Instance, Email: req.Email}
	if err := step(ctx, "find the patient in Realtime "+req.Instance, 60*time.Second, activities.LookupRealtimePatientName, query).Get(ctx, &patientID); err != nil {
		return alleviate.Answer{}, err
	}

	lead := alleviate.Lead{
		FormName:  req.FormName,
		Phone:     req.Phone,
		Name:      req.Name,
		PatientID: patientID,
		Email:     req.Email,
	}
	var answer alleviate.Answer
	if err := step(ctx, "post the "+req.FormName+" lead to Alleviate", 20*time.Second, activities.PostAlleviateLeadName, lead).Get(ctx, &answer); err != nil {
		return alleviate.Answer{}, err
	}
	return answer, nil
}
