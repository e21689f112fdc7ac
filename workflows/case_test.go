package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/akutetest"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
	"github.com/carebridge/carebridge/workflows"
)

type caseTest struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	akute *akutetest.Server
	at    time.Duration // when the next scheduled step happens
	// previous is the state of the case's last run (the LastRunState
	// activity, played by the test): nil for a new case.
	previous   *workflows.CaseState
	unreadable bool // the last run cannot be read (Temporal does not answer)
}

// newCaseTest runs a case against a fake Akute; options change the Akute
// client's configuration (its timeout, say).
func newCaseTest(t *testing.T, options ...func(*akute.Config)) *caseTest {
	t.Helper()
	f := akutetest.New("akute-key")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := akute.Config{BaseURL: srv.URL, APIKey: "akute-key"}
	for _, o := range options {
		o(&cfg)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: workflows.Interceptors()})
	workflows.Register(env, workflows.Activities{Akute: activities.NewAkute(akute.New(cfg), ""),
		Runs: activities.NewRuns(nil)}, workflows.DefaultCaseConfig())
	c := &caseTest{t: t, env: env, akute: f}
	env.OnActivity(activities.LastRunStateName, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _, _ string) (json.RawMessage, error) {
			if c.unreadable {
				return nil, errors.New("visibility did not answer")
			}
			if c.previous == nil {
				return nil, nil
			}
			return json.Marshal(c.previous)
		})
	return c
}

// then schedules fn a minute after the previous step.
func (c *caseTest) then(fn func()) {
	c.at += time.Minute
	c.env.RegisterDelayedCallback(fn, c.at)
}

func (c *caseTest) send(body []byte) {
	c.then(func() {
		ev, err := carevalidate.Parse(body)
		require.NoError(c.t, err)
		c.env.SignalWorkflow(workflows.SignalCaseEvent, ev)
	})
}

func (c *caseTest) signal(name string) { c.then(func() { c.env.SignalWorkflow(name, nil) }) }

func (c *caseTest) state() workflows.CaseState {
	v, err := c.env.QueryWorkflow(workflows.QueryState)
	require.NoError(c.t, err)
	var s workflows.CaseState
	require.NoError(c.t, v.Get(&s))
	return s
}

func (c *caseTest) run(input workflows.CaseInput) workflows.CaseState {
	c.env.ExecuteWorkflow(workflows.CaseWorkflowName, input)
	require.True(c.t, c.env.IsWorkflowCompleted())
	require.NoError(c.t, c.env.GetWorkflowError())
	var s workflows.CaseState
	require.NoError(c.t, c.env.GetWorkflowResult(&s))
	return s
}

func script(id string) []carevalidatetest.Step {
	return carevalidatetest.Script(carevalidatetest.Case{ID: id, ShortID: "CB-" + id}, time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
}

func TestCaseLifeKeepsAkuteInStep(t *testing.T) {
	c := newCaseTest(t)
	for _, step := range script("c1") {
		c.send(step.Body)
	}
	s := c.run(workflows.CaseInput{CaseID: "c1"})

	assert.Equal(t, workflows.StatusDone, s.CarebridgeStatus)
	assert.Equal(t, "APPROVED", s.Status)
	assert.True(t, s.Archived)
	assert.Equal(t, "CB-c1", s.ShortID)
	require.Len(t, s.Decisions, 1)
	assert.Equal(t, "Saxenda", s.Decisions[0].Medications[0].Medicine)
	assert.Equal(t, []workflows.PaymentView{{ID: "c1-payment", Amount: "350", Status: "PAID", At: time.Date(2026, 11, 1, 9, 3, 0, 0, time.UTC)}}, s.Payments)
	assert.Equal(t, "DELIVERED", s.Order.Status)
	assert.Equal(t, "1Z73W7720197837423", s.Order.TrackingID)
	assert.Equal(t, 8, s.EventsApplied)
	assert.Empty(t, s.Pending)

	patients := c.akute.Patients()
	require.Len(t, patients, 1)
	p := patients[0]
	assert.Equal(t, s.Akute.PatientID, p.ID)
	assert.Equal(t, akute.Patient{ID: p.ID, FirstName: "Chris", LastName: "Ordering", Status: "active", ExternalID: "sub-c1",
		DateOfBirth: "2000-05-30", Sex: "male", AddressLine1: "93492 Peachtree Dr.", AddressCity: "Baton Rouge",
		AddressState: "LA", AddressZipcode: "70360", Email: "chris.ordering@example.com",
		PrimaryPhoneNumber: "2258675309", PrimaryPhoneType: "mobile"}, p, "mapped to Akute's rules")

	tasks := c.akute.Tasks()
	require.Len(t, tasks, 2, "a decision task and a tracking task")
	assert.Equal(t, "p2", tasks[0].Priority)
	assert.Contains(t, tasks[0].Task, "Decision: approved")
	assert.Contains(t, tasks[0].Description, "Saxenda, Injection 0.6mg, Daily")
	assert.Equal(t, "p3", tasks[1].Priority)
	for _, task := range tasks {
		assert.Equal(t, p.ID, task.PatientID)
		assert.Equal(t, "usr-chris-tpa", task.OwnerID, "the doctor's Akute user")
		assert.Equal(t, []string{"carebridge", "carevalidate", "case:CB-c1"}, task.Tags)
	}
	require.Len(t, s.Tasks, 2)
	assert.Equal(t, tasks[0].ID, s.Tasks[0].TaskID)
}

func TestDuplicateDeliveriesHaveOneEffect(t *testing.T) {
	c := newCaseTest(t)
	for _, step := range script("c2") {
		c.send(step.Body)
		c.send(step.Body)
	}
	s := c.run(workflows.CaseInput{CaseID: "c2"})
	assert.Equal(t, 8, s.EventsApplied)
	assert.Equal(t, 8, s.Duplicates)
	assert.Len(t, c.akute.Tasks(), 2)
	assert.Len(t, c.akute.Patients(), 1)
}

func TestOlderStatusChangeIsIgnored(t *testing.T) {
	c := newCaseTest(t)
	change := func(id, before, after string, at string) []byte {
		return []byte(`{"event":"CHANGE_CASE_STATUS","payload":{"caseId":"c3","activity":{"id":"` + id +
			`","type":"CHANGE_CASE_STATUS","timestamp":"` + at + `","valueBefore":"` + before + `","valueAfter":"` + after + `"}}}`)
	}
	c.send(change("a2", "IN_PROGRESS", "APPROVED", "2026-11-01T10:00:00Z"))
	c.send(change("a1", "ASSIGNED", "IN_PROGRESS", "2026-11-01T09:00:00Z"))
	c.then(func() {
		s := c.state()
		assert.Equal(t, "APPROVED", s.Status)
		assert.Contains(t, s.Timeline[1].Summary, "ignored")
	})
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "c3"})
	assert.Equal(t, "APPROVED", s.Status)
	assert.True(t, s.Closed)
}

func TestUnknownEventIsKeptInTheTimeline(t *testing.T) {
	c := newCaseTest(t)
	c.send([]byte(`{"event":"FOLLOWUP_EMAIL","payload":{"caseId":"c4","activity":{"id":"x1","timestamp":"2026-11-01T10:00:00Z"}}}`))
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "c4"})
	assert.Equal(t, "FOLLOWUP_EMAIL", s.Timeline[0].Type)
}

func TestAkuteRejectionNeedsAttentionThenSkip(t *testing.T) {
	c := newCaseTest(t)
	bad := carevalidatetest.Patient("sub-c5")
	bad["state"] = "ZZ" // two letters, but no state: never sent
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: "c5", ShortID: "CB-c5", Submitter: bad}, time.Now())
	c.send(steps[0].Body) // CREATE_CASE: the patient sync fails
	c.then(func() {
		s := c.state()
		assert.Equal(t, workflows.StatusNeedsAttention, s.CarebridgeStatus)
		require.NotNil(t, s.Attention)
		assert.Equal(t, activities.ErrTypeAkuteInvalidData, s.Attention.ErrorType)
		assert.Equal(t, "submitter.state", s.Attention.Detail.Field)
		assert.Equal(t, "is not a US state or territory (its two-letter code or its name)", s.Attention.Detail.Problem)
		assert.NotContains(t, s.Attention.Error, "ZZ", "the data stays out of the message")
		assert.Empty(t, c.akute.Patients(), "nothing reached Akute")
	})
	for _, step := range steps[1:3] {
		c.send(step.Body) // still recorded while waiting
	}
	c.then(func() {
		s := c.state()
		assert.Equal(t, 3, s.EventsApplied)
		assert.Len(t, s.Decisions, 1)
		assert.Empty(t, c.akute.Tasks(), "nothing runs past the failed step")
	})
	c.signal(workflows.SignalSkip)
	for _, step := range steps[3:] {
		c.send(step.Body)
	}
	s := c.run(workflows.CaseInput{CaseID: "c5"})
	assert.Equal(t, workflows.StatusDone, s.CarebridgeStatus)
	assert.Nil(t, s.Attention)
	assert.Len(t, c.akute.Tasks(), 2, "the tasks went out after the skip, by external patient id")
	assert.Equal(t, "sub-c5", c.akute.Tasks()[0].ExternalPatientID)
}

func TestRetryRunsTheFailedStepAgain(t *testing.T) {
	c := newCaseTest(t)
	require.NoError(t, c.akute.Inject(fake.Fault{Status: 400, Body: `{"statusCode":400,"error":"temporarily locked"}`, Times: 1}))
	steps := script("c6")
	c.send(steps[0].Body)
	c.then(func() { assert.Equal(t, workflows.StatusNeedsAttention, c.state().CarebridgeStatus) })
	c.signal(workflows.SignalRetry)
	c.then(func() {
		s := c.state()
		assert.Equal(t, workflows.StatusRunning, s.CarebridgeStatus)
		assert.NotEmpty(t, s.Akute.PatientID)
		assert.Equal(t, "created", s.Akute.LastSync)
	})
	c.signal(workflows.SignalResync)
	c.then(func() { assert.Equal(t, "unchanged", c.state().Akute.LastSync) })
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "c6"})
	assert.True(t, s.Closed)
	assert.Len(t, c.akute.Patients(), 1)
}

func TestPauseRecordsButCallsNothing(t *testing.T) {
	c := newCaseTest(t)
	steps := script("c7")
	c.signal(workflows.SignalPause)
	for _, step := range steps[:3] {
		c.send(step.Body)
	}
	c.then(func() {
		s := c.state()
		assert.Equal(t, workflows.StatusPaused, s.CarebridgeStatus)
		assert.Equal(t, 3, s.EventsApplied)
		assert.Len(t, s.Pending, 2, "a patient sync and a decision task wait")
		assert.Empty(t, c.akute.Requests(), "nothing called while paused")
	})
	c.signal(workflows.SignalResume)
	for _, step := range steps[3:] {
		c.send(step.Body)
	}
	s := c.run(workflows.CaseInput{CaseID: "c7"})
	assert.Equal(t, workflows.StatusDone, s.CarebridgeStatus)
	assert.Len(t, c.akute.Tasks(), 2)
}

func TestEscalationAndOrderProblemsAreUrgent(t *testing.T) {
	c := newCaseTest(t)
	steps := script("c8")
	c.send(steps[0].Body)
	c.send([]byte(`{"event":"ESCALATE_CASE","payload":{"caseId":"c8","activity":{"id":"e1","timestamp":"2026-11-01T10:00:00Z"}}}`))
	c.send([]byte(`{"event":"ORDER_STATUS_CHANGED","payload":{"caseId":"c8","order":{"id":"o","status":"RETURNED"},"activity":{"id":"e2","timestamp":"2026-11-01T11:00:00Z","valueAfter":"RETURNED"}}}`))
	c.send([]byte(`{"event":"DEESCALATE_CASE","payload":{"caseId":"c8","activity":{"id":"e3","timestamp":"2026-11-01T12:00:00Z"}}}`))
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "c8"})
	assert.False(t, s.Escalated)
	assert.Equal(t, "RETURNED", s.Order.Status)
	tasks := c.akute.Tasks()
	require.Len(t, tasks, 2)
	assert.Equal(t, "p1", tasks[0].Priority)
	assert.Contains(t, tasks[0].Task, "escalated")
	assert.Equal(t, "p1", tasks[1].Priority)
	assert.Contains(t, tasks[1].Task, "Order problem: RETURNED")
}

func TestContinueAsNewKeepsStateAndBufferedSignals(t *testing.T) {
	c := newCaseTest(t)
	steps := script("c9")
	c.send(steps[0].Body)
	// The test environment handles each signal as it is sent, so the run
	// reaches its bound on the twentieth; the integration suite covers
	// signals buffered on a real server while a run continues as new.
	c.then(func() {
		for i := range 18 {
			ev, _ := carevalidate.Parse([]byte(`{"event":"ADD_CASE_COMMENT","payload":{"caseId":"c9","activity":{"id":"cm` +
				strings.Repeat("x", i) + `","timestamp":"2026-11-01T10:00:00Z"}}}`))
			c.env.SignalWorkflow(workflows.SignalCaseEvent, ev)
		}
		c.env.SignalWorkflow(workflows.SignalPause, nil)
	})
	c.env.ExecuteWorkflow(workflows.CaseWorkflowName, workflows.CaseInput{CaseID: "c9", MaxSignals: 20})
	require.True(t, c.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, c.env.GetWorkflowError(), &can)

	var next workflows.CaseInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	assert.Equal(t, "c9", next.CaseID)
	assert.Equal(t, 19, next.State.EventsApplied, "every event was applied before continuing")
	assert.True(t, next.State.Paused, "and the operator's pause")
	assert.Equal(t, 1, next.State.Runs)
	require.NotNil(t, next.Submitter)
	assert.Equal(t, "sub-c9", next.Submitter.ID)
	assert.NotEmpty(t, next.State.Akute.PatientID)
	assert.Len(t, next.State.SeenKeys, 19)

	// The next run picks up where this one stopped: a duplicate is still one.
	c2 := newCaseTest(t)
	c2.send(steps[0].Body)
	c2.signal(workflows.SignalClose)
	s := c2.run(next)
	assert.Equal(t, 19, s.EventsApplied)
	assert.Equal(t, 1, s.Duplicates)
	assert.True(t, s.Closed)
}

func TestStateQueryCarriesNoPatientData(t *testing.T) {
	c := newCaseTest(t)
	c.send(script("c10")[0].Body)
	c.then(func() {
		b, _ := json.Marshal(c.state())
		for _, phi := range []string{"chris.ordering@example.com", "Peachtree", "2000-05-30", "867"} {
			assert.NotContains(t, string(b), phi)
		}
	})
	c.signal(workflows.SignalClose)
	c.run(workflows.CaseInput{CaseID: "c10"})
}

func TestAkuteTaskAndMedicationEvents(t *testing.T) {
	c := newCaseTest(t)
	steps := script("c11")
	for _, step := range steps[:3] { // created, status, decision: one task
		c.send(step.Body)
	}
	// Akute notifies about a task before the case recorded creating it.
	c.then(func() {
		c.env.SignalWorkflow(workflows.SignalAkuteTask, workflows.TaskUpdate{Key: "early", TaskID: "task-future", Status: "in-progress"})
	})
	c.then(func() {
		s := c.state()
		require.Len(t, s.Tasks, 1)
		assert.Equal(t, 1, s.OpenTasks)
		done := workflows.TaskUpdate{Key: "evt-done", TaskID: s.Tasks[0].TaskID, Status: "complete"}
		c.env.SignalWorkflow(workflows.SignalAkuteTask, done)
		c.env.SignalWorkflow(workflows.SignalAkuteTask, done) // redelivered
		c.env.SignalWorkflow(workflows.SignalAkuteMed, workflows.MedicationEvent{Key: "rx-1", PatientID: s.Akute.PatientID,
			DisplayName: "Saxenda 0.6mg", RxStatus: "pharmacy verified"})
	})
	c.then(func() {
		s := c.state()
		assert.Equal(t, "complete", s.Tasks[0].Status)
		assert.Equal(t, 0, s.OpenTasks, "a task completed in Akute is no longer open")
		assert.Equal(t, 1, s.Duplicates)
		require.Len(t, s.Medications, 1)
		assert.Equal(t, "pharmacy verified", s.Medications[0].RxStatus)
		assert.Equal(t, []workflows.EarlyTask{{TaskID: "task-future", Status: "in-progress"}}, s.EarlyTasks)
	})
	c.signal(workflows.SignalClose)
	c.run(workflows.CaseInput{CaseID: "c11"})
}

// A worker without workflows.Interceptors() would apply operators' signals in
// no defined order: it refuses to run a case at all, loudly.
func TestACaseNeedsTheInterceptors(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env, workflows.Activities{Runs: activities.NewRuns(nil), Akute: activities.NewAkute(akute.New(akute.Config{}), "")},
		workflows.DefaultCaseConfig())
	env.ExecuteWorkflow(workflows.CaseWorkflowName, workflows.CaseInput{CaseID: "no-interceptor"})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workflows.Interceptors()")
}
