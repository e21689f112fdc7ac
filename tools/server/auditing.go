package main

import (
	"context"
	"strings"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/headers"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"google.golang.org/grpc/metadata"

	"github.com/carebridge/carebridge/internal/audit"
)

// auditing records the authorizer's decision on every call that changes a
// workflow, with the principal the claim mapper verified. Reads are not
// recorded here: what they return is encrypted, and decrypting it goes
// through carebridge's codec endpoint, which records who did.
type auditing struct {
	next  authorization.Authorizer
	trail *audit.Log
	// machines are carebridge's own programs' principals
	// (CAREBRIDGE_AUDIT_MACHINES): their allowed starts and signals (a start
	// per send, a signal per webhook delivery) are on the trail already, as
	// the API's send.start and the starter's records of each delivery;
	// anything else they do, and whatever is refused them, is recorded.
	machines map[string]bool
	logger   log.Logger
}

func (a *auditing) Authorize(ctx context.Context, claims *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	result, err := a.next.Authorize(ctx, claims, target)
	action, workflowID, detail := change(target.Request)
	if action == "" {
		return result, err
	}
	e := audit.Entry{Principal: "anonymous", Via: via(ctx), Action: action, WorkflowID: workflowID, Detail: detail,
		Outcome: audit.OutcomeDenied}
	if claims != nil && claims.Subject != "" {
		e.Principal = claims.Subject
	}
	if err == nil && result.Decision == authorization.DecisionAllow {
		if a.machines[e.Principal] && machineRoutine[action] {
			return result, err
		}
		e.Outcome = audit.OutcomeOK
	}
	if _, aerr := a.trail.Append(ctx, e); aerr != nil {
		// A change nobody recorded must not happen: refuse it.
		a.logger.Error("the audit trail refused a record; the call is refused", tag.Error(aerr))
		return authorization.Result{Decision: authorization.DecisionDeny, Reason: "the call could not be audited"}, nil
	}
	return result, err
}

// machineRoutine are the changes carebridge's own programs make as routine,
// recorded by carebridge itself.
var machineRoutine = map[string]bool{"workflow.start": true, "workflow.signal": true, "workflow.signal_with_start": true}

// change names the audited change a request makes: its action, the
// workflow and a detail (the signal's or update's name); "" for the rest.
// Nothing a person typed (a reason, an input) is recorded: it may hold
// patient data.
func change(request any) (action, workflowID, detail string) {
	switch r := request.(type) {
	case *workflowservice.SignalWorkflowExecutionRequest:
		return "workflow.signal", r.GetWorkflowExecution().GetWorkflowId(), r.GetSignalName()
	case *workflowservice.SignalWithStartWorkflowExecutionRequest:
		return "workflow.signal_with_start", r.GetWorkflowId(), r.GetSignalName()
	case *workflowservice.UpdateWorkflowExecutionRequest:
		return "workflow.update", r.GetWorkflowExecution().GetWorkflowId(), r.GetRequest().GetInput().GetName()
	case *workflowservice.TerminateWorkflowExecutionRequest:
		return "workflow.terminate", r.GetWorkflowExecution().GetWorkflowId(), ""
	case *workflowservice.ResetWorkflowExecutionRequest:
		return "workflow.reset", r.GetWorkflowExecution().GetWorkflowId(), ""
	case *workflowservice.RequestCancelWorkflowExecutionRequest:
		return "workflow.cancel", r.GetWorkflowExecution().GetWorkflowId(), ""
	case *workflowservice.DeleteWorkflowExecutionRequest:
		return "workflow.delete", r.GetWorkflowExecution().GetWorkflowId(), ""
	case *workflowservice.StartWorkflowExecutionRequest:
		return "workflow.start", r.GetWorkflowId(), r.GetWorkflowType().GetName()
	case *workflowservice.StartBatchOperationRequest:
		return "workflow.batch", "", r.GetJobId()
	case *workflowservice.ResetActivityRequest:
		return "activity.reset", r.GetExecution().GetWorkflowId(), ""
	case *workflowservice.PauseActivityRequest:
		return "activity.pause", r.GetExecution().GetWorkflowId(), ""
	case *workflowservice.UpdateActivityOptionsRequest:
		return "activity.options", r.GetExecution().GetWorkflowId(), ""
	case *workflowservice.UnpauseActivityRequest:
		return "activity.unpause", r.GetExecution().GetWorkflowId(), ""
	case *workflowservice.RespondActivityTaskCompletedByIdRequest:
		return "activity.complete", r.GetWorkflowId(), r.GetActivityId()
	case *workflowservice.RespondActivityTaskFailedByIdRequest:
		return "activity.fail", r.GetWorkflowId(), r.GetActivityId()
	case *workflowservice.RespondActivityTaskCanceledByIdRequest:
		return "activity.cancel", r.GetWorkflowId(), r.GetActivityId()
	case *workflowservice.PauseWorkflowExecutionRequest:
		return "workflow.pause", r.GetWorkflowId(), ""
	case *workflowservice.UnpauseWorkflowExecutionRequest:
		return "workflow.unpause", r.GetWorkflowId(), ""
	case *workflowservice.UpdateWorkflowExecutionOptionsRequest:
		return "workflow.options", r.GetWorkflowExecution().GetWorkflowId(), ""
	case *workflowservice.ExecuteMultiOperationRequest:
		// Update-with-start: the start and the update, one record.
		for _, op := range r.GetOperations() {
			if u := op.GetUpdateWorkflow(); u != nil {
				return "workflow.update_with_start", u.GetWorkflowExecution().GetWorkflowId(), u.GetRequest().GetInput().GetName()
			}
		}
		return "workflow.multi_operation", "", ""
	case *workflowservice.CreateScheduleRequest:
		return "schedule.create", "", r.GetScheduleId()
	case *workflowservice.UpdateScheduleRequest:
		return "schedule.update", "", r.GetScheduleId()
	case *workflowservice.PatchScheduleRequest:
		return "schedule.patch", "", r.GetScheduleId()
	case *workflowservice.DeleteScheduleRequest:
		return "schedule.delete", "", r.GetScheduleId()
	case *workflowservice.StopBatchOperationRequest:
		return "workflow.batch_stop", "", r.GetJobId()
	}
	return "", "", ""
}

// via is the client the call came from, as it names itself (its
// client-name header): the Web UI, the temporal CLI or an SDK. It is what
// the client says, not a credential; the principal is the credential.
func via(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	name := ""
	if v := md.Get(headers.ClientNameHeaderName); len(v) > 0 {
		name = v[0]
	}
	switch {
	case strings.Contains(name, "ui"):
		return "webui"
	case strings.Contains(name, "cli"):
		return "cli"
	case name == "":
		return "temporal"
	}
	return "sdk"
}
