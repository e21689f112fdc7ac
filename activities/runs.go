package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// Runs reads a workflow's earlier runs: a case that receives a delivery
// after its run completed starts again from what that run applied.
type Runs struct {
	temporal client.Client
}

// NewRuns returns the activity over the worker's Temporal client (with the
// worker's codec, so it reads encrypted results).
func NewRuns(c client.Client) *Runs { return &Runs{temporal: c} }

// LastCompletedResult is the result of the newest completed run of
// workflowID, as JSON, or null when it never completed one.
func (r *Runs) LastCompletedResult(ctx context.Context, workflowID string) (json.RawMessage, error) {
	resp, err := r.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		// Workflow ids carry no quotes: case ids are checked by the starter.
		Query:    fmt.Sprintf(`WorkflowId = %q AND ExecutionStatus = "Completed"`, workflowID),
		PageSize: 1, // newest first
	})
	if err != nil {
		return nil, fmt.Errorf("listing the earlier runs of %s: %w", workflowID, err)
	}
	if len(resp.GetExecutions()) == 0 {
		return nil, nil
	}
	run := resp.GetExecutions()[0].GetExecution()
	var out json.RawMessage
	if err := r.temporal.GetWorkflow(ctx, workflowID, run.GetRunId()).Get(ctx, &out); err != nil {
		return nil, fmt.Errorf("reading the result of %s/%s: %w", workflowID, run.GetRunId(), err)
	}
	return out, nil
}
