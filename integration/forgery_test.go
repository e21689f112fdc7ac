package integration

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/workflows"
)

// A signal that did not come through carebridge (sent in clear with the
// temporal CLI by anyone who reaches Temporal) is refused: the forged
// address never reaches the patient's record in Akute, the case records the
// refusal and goes on.
func TestAPlaintextSignalIsRefused(t *testing.T) {
	caseID, shortID, decision := syncedCase(t, "forged")
	before := waitCase(t, caseID, "synced", func(s workflows.CaseState) bool { return s.Akute.PatientID != "" })
	requestsBefore, err := sandbox.akute.Requests()
	require.NoError(t, err)

	forged := `{"event_key":"forged-1","type":"CHANGE_CASE_STATUS","case_id":"` + caseID + `","value_after":"CLOSED",` +
		`"submitter":{"id":"sub-` + caseID + `","firstName":"Chris","lastName":"Ordering","address":"1 Forged Street","city":"Nowhere","state":"LA","postalCode":"70360","email":"forged@example.com","phoneNumber":"2258675309","dob":"2000-05-30","gender":"male"}}`
	temporalCLI(t, "workflow", "signal", "--workflow-id", workflows.CaseWorkflowID(caseID), "--name", workflows.SignalCaseEvent, "--input", forged)

	s := waitCase(t, caseID, "the forged signal refused", func(s workflows.CaseState) bool { return hasTimeline(s, "carebridge:refused_signal") })
	assert.Equal(t, before.EventsApplied, s.EventsApplied, "nothing applied")
	assert.NotEqual(t, "CLOSED", s.Status)
	requests, err := sandbox.akute.Requests()
	require.NoError(t, err)
	assert.Len(t, requests, len(requestsBefore), "Akute untouched")
	var patients []akute.Patient
	require.NoError(t, sandbox.akute.Get("/_sandbox/patients", &patients))
	for _, p := range patients {
		assert.NotEqual(t, "1 Forged Street", p.AddressLine1)
	}

	deliver(t, decision) // carebridge's own deliveries still work
	waitCase(t, caseID, "the decision's task", func(s workflows.CaseState) bool { return len(s.Tasks) == 1 })
	assert.Len(t, akuteTasks(t, shortID), 1)
	signalCase(t, caseID, workflows.SignalClose)
}

// The runbook's replay of an unrouted Akute delivery encodes its input
// through the codec endpoint, with its write token (a reader's token does
// not encode), so the case believes it and applies it.
func TestTheRunbooksReplayThroughTheCodecIsApplied(t *testing.T) {
	caseID, _, decision := syncedCase(t, "replay")
	deliver(t, decision)
	s := waitCase(t, caseID, "task created", func(s workflows.CaseState) bool { return len(s.Tasks) == 1 && len(s.Pending) == 0 })
	replay := `{"key":"replay-1","task_id":"` + s.Tasks[0].TaskID + `","status":"complete"}`
	temporalCLI(t, "workflow", "signal", "--workflow-id", workflows.CaseWorkflowID(caseID), "--name", workflows.SignalAkuteTask,
		"--input", replay, "--codec-endpoint", stack.InternalURL+"/codec", "--codec-auth", "Bearer "+codecWriteToken)
	s = waitCase(t, caseID, "the replayed update applied", func(s workflows.CaseState) bool { return s.OpenTasks == 0 })
	assert.False(t, hasTimeline(s, "carebridge:refused_signal"))
	signalCase(t, caseID, workflows.SignalClose)
}
