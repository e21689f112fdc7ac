package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/workflows"
)

// Task creates under a real Akute's behaviour, through the real programs:
// Akute creates a task and answers late (or never), notifies it with its
// task.created webhook, and hands out ids of its own form.

// answerLate makes the sandbox's Akute create the next task at once and
// hold its answer back for d.
func answerLate(t *testing.T, d time.Duration) {
	t.Helper()
	require.NoError(t, sandbox.akute.Inject(fake.Fault{AnswerLate: d, Times: 1, Only: "POST /tasks"}))
}

// syncedCase is a case whose patient is in Akute, with its script.
func syncedCase(t *testing.T, name string) (caseID, shortID string, decision []byte) {
	caseID, shortID, steps := newCase(t, name)
	deliver(t, steps[0].Body)
	waitCase(t, caseID, "synced", func(s workflows.CaseState) bool { return s.Akute.PatientID != "" && len(s.Pending) == 0 })
	return caseID, shortID, steps[2].Body
}

// taskCreates counts the task creates Akute received for a case.
func taskCreates(t *testing.T, shortID string) int {
	t.Helper()
	reqs, err := sandbox.akute.Requests()
	require.NoError(t, err)
	n := 0
	for _, r := range reqs {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/tasks") && strings.Contains(r.Body, "case:"+shortID) {
			n++
		}
	}
	return n
}

// oneTaskRecorded waits until the case has recorded exactly the one task
// Akute holds for it, and nothing waits for an operator.
func oneTaskRecorded(t *testing.T, caseID, shortID string) workflows.CaseState {
	t.Helper()
	s := waitCase(t, caseID, "the task recorded once", func(s workflows.CaseState) bool {
		return len(s.Tasks) == 1 && len(s.Unconfirmed) == 0 && len(s.Pending) == 0
	})
	tasks := akuteTasks(t, shortID)
	require.Len(t, tasks, 1, "one task in Akute")
	assert.Equal(t, 1, taskCreates(t, shortID), "the create was never repeated")
	assert.Equal(t, tasks[0].ID, s.Tasks[0].TaskID)
	assert.Nil(t, s.Attention, "an operator's command is not an outage")
	return s
}

// An operator's command while the task create is executing (Akute created
// the task and answers 6 s later) never leaves the case needing attention
// and never makes the task twice: the cancelled create, which may have
// reached Akute, is confirmed by Akute's task.created webhook.
func TestOperatorCommandsDuringAnExecutingCreate(t *testing.T) {
	for _, action := range []string{workflows.SignalPause, workflows.SignalRetry, workflows.SignalSkip, workflows.SignalClose} {
		t.Run(action, func(t *testing.T) {
			caseID, shortID, decision := syncedCase(t, "op"+action)
			answerLate(t, 6*time.Second)
			deliver(t, decision)
			require.Eventually(t, func() bool { return len(akuteTasks(t, shortID)) == 1 }, 30*time.Second, 50*time.Millisecond,
				"Akute created the task; its answer is held back")
			signalCase(t, caseID, action)

			switch action {
			case workflows.SignalPause:
				waitCase(t, caseID, "paused, the create settled", func(s workflows.CaseState) bool { return s.Paused && len(s.Pending) == 0 })
				signalCase(t, caseID, workflows.SignalResume)
				oneTaskRecorded(t, caseID, shortID)
			case workflows.SignalRetry:
				oneTaskRecorded(t, caseID, shortID)
			case workflows.SignalSkip:
				// Skipped, or recorded if the answer came before the cancel.
				s := waitCase(t, caseID, "the create settled", func(s workflows.CaseState) bool {
					return len(s.Pending) == 0 && len(s.Unconfirmed) == 0
				})
				assert.Nil(t, s.Attention)
				assert.LessOrEqual(t, len(s.Tasks), 1)
				assert.Len(t, akuteTasks(t, shortID), 1)
				assert.Equal(t, 1, taskCreates(t, shortID))
			case workflows.SignalClose:
				s := oneTaskRecorded(t, caseID, shortID)
				assert.True(t, s.Closed)
				assert.Equal(t, workflows.StatusDone, s.CarebridgeStatus)
			}
			if action != workflows.SignalClose {
				signalCase(t, caseID, workflows.SignalClose)
			}
		})
	}
}

// A create whose answer comes after the client's timeout (AKUTE_TIMEOUT,
// 15 s) is not repeated: the case waits for Akute's task.created webhook,
// which records the one task Akute made.
func TestACreateAnsweredAfterTheTimeoutMakesOneTask(t *testing.T) {
	caseID, shortID, decision := syncedCase(t, "late")
	answerLate(t, 20*time.Second)
	deliver(t, decision)
	s := oneTaskRecorded(t, caseID, shortID)
	assert.True(t, hasTimeline(s, "akute:task_unconfirmed"), "the create went unanswered")
	assert.True(t, hasTimeline(s, "akute:task_confirmed"), "and was confirmed by Akute's webhook")
	signalCase(t, caseID, workflows.SignalClose)
}

// With Akute's ids of 24 hex digits (the sandbox's, as MongoDB's), 120
// tracking events on one case make 120 tasks: AkuteTaskIds, bounded by its
// size, never stops the case.
func TestManyTasksWithLongIDs(t *testing.T) {
	caseID, shortID, _ := syncedCase(t, "many")
	for i := range 120 {
		deliver(t, []byte(fmt.Sprintf(`{"event":"ORDER_TRACKING_ADDED","payload":{"caseId":%q,"activity":{"id":"%s-track-%d","type":"ORDER_TRACKING_ADDED","timestamp":"2026-11-01T10:00:00Z"},"order":{"id":"o1","trackingId":"1Z%06d"}}}`,
			caseID, caseID, i, i)))
	}
	s := waitCase(t, caseID, "120 tasks", func(s workflows.CaseState) bool { return len(s.Tasks) == 120 && len(s.Pending) == 0 })
	assert.Nil(t, s.Attention)
	assert.Len(t, s.Tasks[0].TaskID, 24, "an id of 24 hex digits")
	assert.Len(t, akuteTasks(t, shortID), 120)
	signalCase(t, caseID, workflows.SignalClose)
}

// A run an operator terminated is still the case's memory: the decision
// redelivered after it meets the terminated run's state (read by query)
// and makes no second task.
func TestATerminatedRunIsRemembered(t *testing.T) {
	caseID, shortID, decision := syncedCase(t, "terminated")
	deliver(t, decision)
	waitCase(t, caseID, "task created", func(s workflows.CaseState) bool { return len(s.Tasks) == 1 && len(s.Pending) == 0 })
	temporalCLI(t, "workflow", "terminate", "--workflow-id", workflows.CaseWorkflowID(caseID), "--reason", "an operator's mistake")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.Eventually(t, func() bool {
		desc, err := temporal.DescribeWorkflowExecution(ctx, workflows.CaseWorkflowID(caseID), "")
		return err == nil && desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED
	}, 30*time.Second, 100*time.Millisecond)

	deliver(t, decision) // redelivered
	s := waitCase(t, caseID, "reopened, the decision a duplicate", func(s workflows.CaseState) bool {
		return s.Reopened == 1 && s.Duplicates >= 1 && len(s.Pending) == 0
	})
	assert.Len(t, s.Tasks, 1)
	assert.Len(t, akuteTasks(t, shortID), 1, "no second task")
	signalCase(t, caseID, workflows.SignalClose)
}
