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
//
// A deployment registers only what it turned on: the send with its
// activities, the case and unrouted workflows with Akute's. Sends started
// before they had a task queue of their own (SendTaskQueue) run here too.
func Register(r Registry, acts Activities, cases CaseConfig) {
	if s := acts.Send; s != nil {
		RegisterSends(r, s)
	}
	if a := acts.Akute; a != nil {
		registerCaseWorkflows(r, cases)
		registerActivity(r, a.SyncAkutePatient, activities.SyncAkutePatientName)
		registerActivity(r, a.CreateAkuteTask, activities.CreateAkuteTaskName)
	}
	if runs := acts.Runs; runs != nil {
		registerActivity(r, runs.LastRunState, activities.LastRunStateName)
	}
}

// RegisterSends registers the send workflow and its three activities: the
// registration of a worker on the sends' own task queue (the worker's, and
// the one the starter hosts for eager starts), and part of Register.
func RegisterSends(r Registry, s *activities.Send) {
	r.RegisterWorkflowWithOptions(AlleviateSend, workflow.RegisterOptions{Name: AlleviateSendName})
	registerActivity(r, s.FetchRealtimeToken, activities.FetchRealtimeTokenName)
	registerActivity(r, s.LookupRealtimePatient, activities.LookupRealtimePatientName)
	registerActivity(r, s.PostAlleviateLead, activities.PostAlleviateLeadName)
}

// RegisterWorkflows registers every workflow under its contract name (the
// replayer, which runs no activities).
func RegisterWorkflows(r WorkflowRegistry, cases CaseConfig) {
	r.RegisterWorkflowWithOptions(AlleviateSend, workflow.RegisterOptions{Name: AlleviateSendName})
	registerCaseWorkflows(r, cases)
}

func registerCaseWorkflows(r WorkflowRegistry, cases CaseConfig) {
	r.RegisterWorkflowWithOptions(cases.Workflow(), workflow.RegisterOptions{Name: CaseWorkflowName})
	r.RegisterWorkflowWithOptions(AkuteUnrouted, workflow.RegisterOptions{Name: AkuteUnroutedName})
}

func registerActivity(r Registry, fn any, name string) {
	r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
}
