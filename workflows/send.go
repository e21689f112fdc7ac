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

// AlleviateSendName is the workflow type the starter starts.
const AlleviateSendName = "AlleviateSend"

// SendRequest is a lead to send to Alleviate. Every field is PHI.
type SendRequest struct {
	FormName string `json:"form_name"`
	Phone    string `json:"phone"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Instance string `json:"instance_name"`
}

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

func stepOptions(ctx workflow.Context, attemptTimeout time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    attemptTimeout,
		ScheduleToCloseTimeout: sendStepGiveUp,
		RetryPolicy:            upstreamRetry,
	})
}

// AlleviateSend runs the reference's three steps: a Realtime token from
// Activepieces, the patient's subjectId from Realtime, the lead to Alleviate.
// It returns Alleviate's answer, whatever its status.
func AlleviateSend(ctx workflow.Context, req SendRequest) (alleviate.Answer, error) {
	var a *activities.Send

	// The Activepieces flow may hold the request for its full 30 s.
	var token activities.TokenStatus
	if err := workflow.ExecuteActivity(stepOptions(ctx, 40*time.Second), a.FetchRealtimeToken).Get(ctx, &token); err != nil {
		return alleviate.Answer{}, err
	}

	// The lookup may need to fetch a token of its own (a worker that
	// restarted, a token Realtime refused), so it gets Activepieces' time too.
	var patientID int64
	query := activities.PatientQuery{Instance: req.Instance, Email: req.Email}
	if err := workflow.ExecuteActivity(stepOptions(ctx, 60*time.Second), a.LookupRealtimePatient, query).Get(ctx, &patientID); err != nil {
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
	if err := workflow.ExecuteActivity(stepOptions(ctx, 20*time.Second), a.PostAlleviateLead, lead).Get(ctx, &answer); err != nil {
		return alleviate.Answer{}, err
	}
	// Version 1 marks a finished send as done for the Web UI's filters; runs
	// started before it keep their history as it was.
	if workflow.GetVersion(ctx, "send-done-search-attribute", workflow.DefaultVersion, 1) == 1 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, AttrStatus.ValueSet(StatusDone)); err != nil {
			workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err.Error())
		}
	}
	return answer, nil
}
