package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/workflows"
)

// The case delivery rules (docs/how-a-case-works.md) through the webhook
// and the real server.

func newCase(t *testing.T, name string) (caseID, shortID string, steps []carevalidatetest.Step) {
	caseID = fmt.Sprintf("it-%s-%d", name, time.Now().UnixNano())
	shortID = fmt.Sprintf("IT-%s-%d", strings.ToUpper(name[:3]), time.Now().UnixNano()%100000)
	return caseID, shortID, carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: shortID}, time.Now().Add(-time.Hour))
}

func signalCase(t *testing.T, caseID, name string) {
	temporalCLI(t, "workflow", "signal", "--workflow-id", workflows.CaseWorkflowID(caseID), "--name", name)
}

// Two events that carry the same activity (as the reference's example does)
// both reach Akute.
func TestDistinctEventsSharingAnActivityThroughTheWebhook(t *testing.T) {
	caseID, shortID, steps := newCase(t, "shared")
	deliver(t, steps[0].Body)
	shared := `"activity":{"id":"shared-act","type":"PAYMENT_COMPLETED","timestamp":"2026-11-01T10:00:00Z"}`
	deliver(t, []byte(`{"event":"ORDER_TRACKING_ADDED","payload":{"caseId":"`+caseID+`",`+shared+`,"order":{"id":"o1","status":"SHIPPED","trackingId":"1Z1"}}}`))
	deliver(t, []byte(`{"event":"ORDER_STATUS_CHANGED","payload":{"caseId":"`+caseID+`",`+shared+`,"order":{"id":"o1","status":"RETURNED"}}}`))
	s := waitCase(t, caseID, "both tasks", func(s workflows.CaseState) bool { return len(s.Tasks) == 2 })
	assert.Equal(t, 0, s.Duplicates)
	assert.Len(t, akuteTasks(t, shortID), 2)
	signalCase(t, caseID, workflows.SignalClose)
}

// A case that needs attention is found by the runbook's query at once, with
// no other delivery to prompt it.
func TestNeedsAttentionIsFoundAtOnce(t *testing.T) {
	caseID, _, steps := newCase(t, "attention")
	deliver(t, steps[0].Body)
	waitCase(t, caseID, "synced", func(s workflows.CaseState) bool { return s.Akute.PatientID != "" && len(s.Pending) == 0 })
	require.NoError(t, sandbox.akute.Inject(fake.Fault{Status: http.StatusUnprocessableEntity, Body: `{"statusCode":422,"error":"refused"}`, Times: 1}))
	deliver(t, steps[2].Body) // a decision: its task is refused
	query := fmt.Sprintf(`WorkflowId=%q AND CarebridgeStatus="needs_attention"`, workflows.CaseWorkflowID(caseID))
	require.Eventually(t, func() bool {
		out, err := runCLI("workflow", "list", "--query", query)
		return err == nil && strings.Contains(out, workflows.CaseWorkflowID(caseID))
	}, 30*time.Second, 250*time.Millisecond)
	patient := fmt.Sprintf(`WorkflowId=%q AND AkutePatientId=%q`, workflows.CaseWorkflowID(caseID), waitCase(t, caseID, "", func(workflows.CaseState) bool { return true }).Akute.PatientID)
	out, err := runCLI("workflow", "list", "--query", patient)
	require.NoError(t, err)
	assert.Contains(t, out, workflows.CaseWorkflowID(caseID), "the synced patient routes medications at once")
	signalCase(t, caseID, workflows.SignalSkip)
	signalCase(t, caseID, workflows.SignalClose)
}

// "resume" then "pause" handled in one workflow task (the worker was down
// while an operator sent them) leave the case paused: arrival order.
func TestOperatorCommandsApplyInArrivalOrder(t *testing.T) {
	caseID, _, steps := newCase(t, "order")
	deliver(t, steps[0].Body)
	waitCase(t, caseID, "synced", func(s workflows.CaseState) bool { return s.Akute.PatientID != "" && len(s.Pending) == 0 })
	signalCase(t, caseID, workflows.SignalPause)
	waitCase(t, caseID, "paused", func(s workflows.CaseState) bool { return s.Paused })

	stack.Signal("worker", sigterm)
	signalCase(t, caseID, workflows.SignalResume)
	signalCase(t, caseID, workflows.SignalPause)
	signalCase(t, caseID, workflows.SignalResume)
	signalCase(t, caseID, workflows.SignalPause)
	require.NoError(t, stack.StartWorker())
	s := waitCase(t, caseID, "the four commands applied", func(s workflows.CaseState) bool {
		n := 0
		for _, e := range s.Timeline {
			if e.Type == "operator:pause" || e.Type == "operator:resume" {
				n++
			}
		}
		return n == 5
	})
	assert.True(t, s.Paused, "the last command was pause")
	var order []string
	for _, e := range s.Timeline {
		if strings.HasPrefix(e.Type, "operator:") {
			order = append(order, strings.TrimPrefix(e.Type, "operator:"))
		}
	}
	assert.Equal(t, []string{"pause", "resume", "pause", "resume", "pause"}, order)
	signalCase(t, caseID, workflows.SignalClose)
}

// A worker that stalls mid-call (a CPU spike, a GC pause, a VM descheduled)
// for 6.5 s, less than the Akute calls' heartbeat timeout (10 s), creates one
// task: with a heartbeat timeout of three heartbeats (6 s) Temporal gave up
// on the call and started a second attempt while the first still ran, and
// both reached Akute.
func TestAStalledWorkerCreatesOneTask(t *testing.T) {
	caseID, shortID, steps := newCase(t, "stall")
	deliver(t, steps[0].Body)
	waitCase(t, caseID, "synced", func(s workflows.CaseState) bool { return s.Akute.PatientID != "" && len(s.Pending) == 0 })
	require.NoError(t, sandbox.akute.Reset())
	require.NoError(t, sandbox.akute.Inject(fake.Fault{Latency: 4 * time.Second, Times: 2}))
	deliver(t, steps[2].Body) // a decision: its task call is slow
	require.Eventually(t, func() bool {
		reqs, err := sandbox.akute.Requests()
		return err == nil && slices.ContainsFunc(reqs, func(r fake.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/tasks")
		})
	}, 30*time.Second, 20*time.Millisecond, "the task's creation reached Akute")
	// Akute creates the task 4 s later, while the worker is stalled.
	pid := stack.PID("worker")
	require.NotZero(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	time.Sleep(6500 * time.Millisecond) // the stall itself: what this test is about
	require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
	// Once the case recorded its task, every attempt that could create one
	// has reached Akute: a second attempt (with a tighter heartbeat timeout)
	// would be the one whose answer the case records, the first served
	// during the stall.
	waitCase(t, caseID, "task recorded", func(s workflows.CaseState) bool { return len(s.Tasks) == 1 && len(s.Pending) == 0 })
	assert.Len(t, akuteTasks(t, shortID), 1)
	signalCase(t, caseID, workflows.SignalClose)
}

// A decision redelivered after the case's run completed has no second
// effect: the new run starts from the last one.
func TestACaseRemembersAfterItCompleted(t *testing.T) {
	caseID, shortID, steps := newCase(t, "reopen")
	for _, step := range steps {
		deliver(t, step.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.Eventually(t, func() bool {
		desc, err := temporal.DescribeWorkflowExecution(ctx, workflows.CaseWorkflowID(caseID), "")
		return err == nil && desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, 60*time.Second, 250*time.Millisecond, "archived, then completed after its grace")
	require.Len(t, akuteTasks(t, shortID), 2)

	deliver(t, steps[2].Body) // the decision, late
	s := waitCase(t, caseID, "reopened, the delivery handled", func(s workflows.CaseState) bool {
		return s.Reopened == 1 && s.Duplicates >= 1 && len(s.Pending) == 0
	})
	assert.Equal(t, 8, s.EventsApplied, "the late decision was a duplicate: nothing queued")
	assert.Len(t, akuteTasks(t, shortID), 2, "no task created twice")
}

// After an Akute outage, the runbook's one command retries every case that
// needs attention (a batch signal by visibility query); an update answers
// what it did or refuses with the reason.
func TestBulkRetryAndOperatorUpdates(t *testing.T) {
	var ids []string
	for i := range 2 {
		caseID, _, steps := newCase(t, fmt.Sprintf("bulk%d", i))
		deliver(t, steps[0].Body)
		waitCase(t, caseID, "synced", func(s workflows.CaseState) bool { return s.Akute.PatientID != "" && len(s.Pending) == 0 })
		require.NoError(t, sandbox.akute.Inject(fake.Fault{Status: http.StatusUnprocessableEntity, Body: `{"statusCode":422,"error":"outage"}`, Times: 1}))
		deliver(t, steps[2].Body) // a decision: its task is refused
		waitCase(t, caseID, "needs attention", func(s workflows.CaseState) bool { return s.Attention != nil })
		ids = append(ids, caseID)
	}
	for _, caseID := range ids {
		require.Eventually(t, func() bool {
			out, err := runCLI("workflow", "list", "--query", fmt.Sprintf(`WorkflowId=%q AND CarebridgeStatus="needs_attention"`, workflows.CaseWorkflowID(caseID)))
			return err == nil && strings.Contains(out, workflows.CaseWorkflowID(caseID))
		}, 30*time.Second, 250*time.Millisecond, "visible to the batch's query")
	}

	// docs/operations.md: the bulk retry.
	temporalCLI(t, "workflow", "signal", "--query", `CarebridgeStatus="needs_attention" AND ExecutionStatus="Running"`, "--name", workflows.SignalRetry,
		"--reason", "Akute outage over", "--yes")
	for _, caseID := range ids {
		s := waitCase(t, caseID, "retried", func(s workflows.CaseState) bool { return s.Attention == nil && len(s.Tasks) == 1 })
		assert.Equal(t, workflows.StatusRunning, s.CarebridgeStatus)
	}

	update := func(caseID, name string) (string, error) {
		return runCLI("workflow", "update", "execute", "--workflow-id", workflows.CaseWorkflowID(caseID), "--name", name,
			"--codec-endpoint", stack.InternalURL+"/codec", "--codec-auth", "Bearer "+codecToken)
	}
	out, err := update(ids[0], workflows.SignalRetry)
	require.Error(t, err, "nothing failed: refused")
	assert.Contains(t, out, "retry refused: nothing to retry")
	out, err = update(ids[0], workflows.SignalPause)
	require.NoError(t, err, out)
	assert.Contains(t, out, "paused: Akute is not called until resume")
	for _, caseID := range ids {
		out, err := update(caseID, workflows.SignalClose)
		require.NoError(t, err, out)
		assert.Contains(t, out, "closed")
	}
}
