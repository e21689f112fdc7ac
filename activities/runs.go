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

// LastRunState is the answer to query of the newest closed run (completed,
// terminated, failed) of workflowID, as JSON, or null when it has none (a
// new workflow, or runs past the namespace's retention). It queries the
// run, which a worker replays: a terminated run has no result, but it has
// its state.
func (r *Runs) LastRunState(ctx context.Context, workflowID, query string) (json.RawMessage, error) {
	resp, err := r.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		// Workflow ids carry no quotes: case ids are checked by the starter.
		Query:    fmt.Sprintf(`WorkflowId = %q AND ExecutionStatus != "Running"`, workflowID),
		PageSize: 1, // newest first
	})
	if err != nil {
		return nil, fmt.Errorf("listing the earlier runs of %s: %w", workflowID, err)
	}
	if len(resp.GetExecutions()) == 0 {
		return nil, nil
	}
	run := resp.GetExecutions()[0].GetExecution()
	answer, err := r.temporal.QueryWorkflow(ctx, workflowID, run.GetRunId(), query)
	if err != nil {
		return nil, fmt.Errorf("querying %s/%s: %w", workflowID, run.GetRunId(), err)
	}
	var out json.RawMessage
	if err := answer.Get(&out); err != nil {
		return nil, fmt.Errorf("reading the state of %s/%s: %w", workflowID, run.GetRunId(), err)
	}
	return out, nil
}
