package workflows

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
)

// WorkflowRegistry takes workflows: a worker, the SDK's test environment or
// a worker.WorkflowReplayer.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Registry takes workflows and activities: a worker or the SDK's test
// environment.
type Registry interface {
	WorkflowRegistry
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Activities are the activity structs a worker runs, each holding its
// clients. A nil one is not registered (a test that needs only the send).
type Activities struct {
	Send  *activities.Send
	Akute *activities.Akute
	Runs  *activities.Runs
}

// Register registers every carebridge workflow and activity under its
// explicit name, exactly as the worker runs them, cases with the worker's
// configuration. The worker, the workflow tests and (through
// RegisterWorkflows) the replay test use it, so what replays in CI is what
// runs in production.
func Register(r Registry, acts Activities, cases CaseConfig) {
	RegisterWorkflows(r, cases)
	if s := acts.Send; s != nil {
		registerActivity(r, s.FetchRealtimeToken, activities.FetchRealtimeTokenName)
		registerActivity(r, s.LookupRealtimePatient, activities.LookupRealtimePatientName)
		registerActivity(r, s.PostAlleviateLead, activities.PostAlleviateLeadName)
	}
	if a := acts.Akute; a != nil {
		registerActivity(r, a.SyncAkutePatient, activities.SyncAkutePatientName)
		registerActivity(r, a.CreateAkuteTask, activities.CreateAkuteTaskName)
	}
	if runs := acts.Runs; runs != nil {
		registerActivity(r, runs.LastCompletedResult, activities.LastCompletedResultName)
	}
}

// RegisterWorkflows registers every workflow under its contract name.
func RegisterWorkflows(r WorkflowRegistry, cases CaseConfig) {
	r.RegisterWorkflowWithOptions(AlleviateSend, workflow.RegisterOptions{Name: AlleviateSendName})
	r.RegisterWorkflowWithOptions(cases.Workflow(), workflow.RegisterOptions{Name: CaseWorkflowName})
	r.RegisterWorkflowWithOptions(AkuteUnrouted, workflow.RegisterOptions{Name: AkuteUnroutedName})
}

func registerActivity(r Registry, fn any, name string) {
	r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
}
