package workflows_test

import (
	"encoding/json"
	"fmt"
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
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
	"github.com/carebridge/carebridge/workflows"
)

// The case's delivery rules (docs/how-a-case-works.md): each test
// reproduces a defect that an earlier draft of the rules had.

func (c *caseTest) sendString(body string) { c.send([]byte(body)) }

// Two different events that carry the same (foreign) activity are two events.
func TestDistinctEventsSharingAnActivityBothApply(t *testing.T) {
	c := newCaseTest(t)
	c.send(script("r1")[0].Body)
	shared := `"activity":{"id":"pay-act","type":"PAYMENT_COMPLETED","timestamp":"2026-11-01T10:00:00Z"}`
	c.sendString(`{"event":"ORDER_TRACKING_ADDED","payload":{"caseId":"r1",` + shared + `,"order":{"id":"o1","status":"SHIPPED","trackingId":"1Z9"}}}`)
	c.sendString(`{"event":"ORDER_STATUS_CHANGED","payload":{"caseId":"r1",` + shared + `,"order":{"id":"o1","status":"RETURNED"}}}`)
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "r1"})
	assert.Equal(t, 0, s.Duplicates)
	assert.Equal(t, "1Z9", s.Order.TrackingID)
	assert.Equal(t, "RETURNED", s.Order.Status)
	require.Len(t, c.akute.Tasks(), 2, "a tracking task and an order-problem task")
}

// A redelivery rebuilt at send time is one event; escalate, de-escalate,
// escalate are three.
func TestKeysAreStableAndDistinct(t *testing.T) {
	c := newCaseTest(t)
	c.send(script("r2")[0].Body)
	for _, snapshot := range []string{`"status":"APPROVED","updatedAt":"2026-11-01T10:00:00Z"`, `"status":"CLOSED","updatedAt":"2026-11-02T08:00:00Z"`} {
		c.sendString(`{"event":"ORDER_STATUS_CHANGED","payload":{"case":{"id":"r2",` + snapshot + `},"order":{"id":"o1","status":"RETURNED"}}}`)
	}
	for i, typ := range []string{"ESCALATE_CASE", "DEESCALATE_CASE", "ESCALATE_CASE"} {
		c.sendString(fmt.Sprintf(`{"event":%q,"payload":{"caseId":"r2","activity":{"timestamp":"2026-11-01T11:0%d:00Z"}}}`, typ, i))
	}
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "r2"})
	assert.Equal(t, 1, s.Duplicates, "the rebuilt redelivery")
	assert.True(t, s.Escalated)
	var kinds []string
	for _, task := range c.akute.Tasks() {
		kinds = append(kinds, strings.SplitN(task.Task, ": ", 2)[1])
	}
	assert.Equal(t, []string{"Order problem: RETURNED", "Case escalated", "Case escalated"}, kinds)
}

// One clock per field, the event's own, with the reference example's
// non-monotonic timestamps: what happened last wins, whatever arrives last.
func TestOrderingByTheEventsOwnTime(t *testing.T) {
	c := newCaseTest(t)
	created := carevalidatetest.Script(carevalidatetest.Case{ID: "r3", ShortID: "CB-r3"}, time.Date(2024, 8, 22, 18, 24, 53, 0, time.UTC))
	c.send(created[0].Body)
	order := func(status, at string) string {
		return fmt.Sprintf(`{"event":"ORDER_STATUS_CHANGED","payload":{"caseId":"r3","order":{"id":"o1","status":%q},"activity":{"id":"os-%s","type":"ORDER_STATUS_CHANGED","timestamp":%q,"valueAfter":%q}}}`, status, status, at, status)
	}
	// The example's order history, delivered newest first.
	c.sendString(order("RETURNED", "2024-08-30T15:54:35.235Z"))
	c.sendString(order("TRANSIT_FAILURE", "2024-08-25T16:36:34.893Z")) // older: no task
	c.sendString(order("DELIVERED", "2024-08-25T13:40:49.689Z"))
	// The example's full-body status change: the activity 1 ms before the snapshot.
	c.sendString(`{"event":"CHANGE_CASE_STATUS","payload":{"case":{"id":"r3","status":"APPROVED","updatedAt":"2024-08-22T19:34:47.843Z"},
		"activity":{"id":"st-1","type":"CHANGE_CASE_STATUS","timestamp":"2024-08-22T19:34:47.842Z","valueBefore":"IN_PROGRESS","valueAfter":"APPROVED"}}}`)
	c.sendString(`{"event":"CHANGE_CASE_STATUS","payload":{"caseId":"r3","activity":{"id":"st-0","type":"CHANGE_CASE_STATUS","timestamp":"2024-08-22T18:51:15.233Z","valueBefore":"ASSIGNED","valueAfter":"IN_PROGRESS"}}}`)
	// Assignee and payment: the newer report stays.
	c.sendString(`{"event":"ADD_CASE_ASSIGNEE","payload":{"caseId":"r3","activity":{"id":"as-2","timestamp":"2024-08-22T18:28:02Z","targetUser":{"id":"doc-2","firstName":"Dana","lastName":"Two"}}}}`)
	c.sendString(`{"event":"ADD_CASE_ASSIGNEE","payload":{"caseId":"r3","activity":{"id":"as-1","timestamp":"2024-08-22T18:00:00Z","targetUser":{"id":"doc-1","firstName":"Dee","lastName":"One"}}}}`)
	c.sendString(`{"event":"PAYMENT_COMPLETED","payload":{"caseId":"r3","payment":{"id":"p1","amount":"350","status":"PAID"},"activity":{"id":"pay-2","timestamp":"2024-08-22T18:24:56Z"}}}`)
	c.sendString(`{"event":"PAYMENT_ADDED","payload":{"caseId":"r3","payment":{"id":"p1","amount":"350","status":"PENDING"},"activity":{"id":"pay-1","timestamp":"2024-08-22T18:24:00Z"}}}`)
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "r3"})

	assert.Equal(t, "RETURNED", s.Order.Status)
	assert.Equal(t, "APPROVED", s.Status, "IN_PROGRESS is older")
	assert.Equal(t, "doc-2", s.Assignee.ID)
	require.Len(t, s.Payments, 1)
	assert.Equal(t, "PAID", s.Payments[0].Status)
	tasks := c.akute.Tasks()
	require.Len(t, tasks, 1, "an order-problem task for RETURNED, none for the stale TRANSIT_FAILURE")
	assert.Contains(t, tasks[0].Task, "RETURNED")
	for _, e := range s.Timeline {
		if e.Key == "st-1" {
			assert.Equal(t, "status IN_PROGRESS → APPROVED (already applied)", e.Summary, "not 'older: ignored'")
		}
	}
}

// An event that does not say when it happened is as new as its arrival, not
// older than everything.
func TestAnEventWithoutATimeIsOrderedByArrival(t *testing.T) {
	c := newCaseTest(t)
	c.send(script("r4")[0].Body)
	c.sendString(`{"event":"CHANGE_CASE_STATUS","payload":{"caseId":"r4","activity":{"id":"s1","timestamp":"2026-11-01T09:30:00Z","valueAfter":"APPROVED"}}}`)
	c.sendString(`{"event":"CHANGE_CASE_STATUS","payload":{"caseId":"r4","activity":{"id":"s2","valueAfter":"CLOSED"}}}`)
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "r4"})
	assert.Equal(t, "CLOSED", s.Status)
}

// A patient correction that arrives while a sync retries through an Akute
// outage is synced after it: Akute ends with the corrected data.
func TestCorrectionDuringASyncIsSynced(t *testing.T) {
	c := newCaseTest(t)
	require.NoError(t, c.akute.Inject(fake.Fault{Status: 503, Times: 3}))
	first := carevalidatetest.Patient("sub-r5")
	corrected := carevalidatetest.Patient("sub-r5")
	corrected["address"] = "1 Corrected Way"
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: "r5", ShortID: "CB-r5", Submitter: first}, time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	fixed := carevalidatetest.Script(carevalidatetest.Case{ID: "r5", ShortID: "CB-r5", Submitter: corrected}, time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	c.send(steps[0].Body)
	// While the first sync waits for its retry (1 s, then 2 s, ...).
	c.env.RegisterDelayedCallback(func() {
		ev, err := carevalidate.Parse(fixed[1].Body)
		require.NoError(t, err)
		c.env.SignalWorkflow(workflows.SignalCaseEvent, ev)
	}, c.at+500*time.Millisecond)
	c.at += time.Minute
	c.signal(workflows.SignalClose)
	c.run(workflows.CaseInput{CaseID: "r5"})
	patients := c.akute.Patients()
	require.Len(t, patients, 1)
	assert.Equal(t, "1 Corrected Way", patients[0].AddressLine1)
}

// Thousands of tasks: the state and AkuteTaskIds stay bounded.
func TestAThousandTasksStayBounded(t *testing.T) {
	c := newCaseTest(t)
	c.send(script("r6")[0].Body)
	// In batches: the test environment queues at most ~1000 callbacks at once.
	for batch := range 12 {
		c.then(func() {
			for i := batch * 100; i < (batch+1)*100; i++ {
				ev, err := carevalidate.Parse([]byte(fmt.Sprintf(`{"event":"ESCALATE_CASE","payload":{"caseId":"r6","activity":{"id":"esc-%d","timestamp":"2026-11-01T10:00:00Z"}}}`, i)))
				require.NoError(t, err)
				c.env.SignalWorkflow(workflows.SignalCaseEvent, ev)
			}
		})
	}
	c.then(func() {
		for i := range 300 { // updates of tasks the case never recorded
			c.env.SignalWorkflow(workflows.SignalAkuteTask, akuteTaskUpdate(fmt.Sprintf("other-%d", i)))
		}
	})
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "r6", MaxSignals: 5000, MaxHistory: 100000})
	assert.Equal(t, 1200, len(c.akute.Tasks()), "every task went to Akute")
	assert.Equal(t, 200, len(s.Tasks), "the newest 200 are kept")
	assert.Equal(t, "esc-1199", s.Tasks[199].EventKey)
	assert.Len(t, s.EarlyTasks, 100, "the newest 100 updates of unknown tasks")
}

func akuteTaskUpdate(taskID string) any {
	return map[string]string{"key": "upd-" + taskID, "task_id": taskID, "status": "in-progress"}
}

// A day of hundreds of large unrouted deliveries stays far below Temporal's
// 2 MB payload limit: the newest bodies are kept up to 1 MiB.
func TestUnroutedDayIsBoundedByBytes(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	workflows.Register(env, workflows.Activities{Akute: &activities.Akute{}}, workflows.DefaultCaseConfig())
	body := json.RawMessage(`"` + strings.Repeat("x", 60<<10) + `"`)
	for batch := range 3 {
		env.RegisterDelayedCallback(func() {
			for i := batch * 100; i < (batch+1)*100; i++ {
				env.SignalWorkflow(workflows.SignalUnrouted, workflows.UnroutedEvent{Key: fmt.Sprintf("k-%d", i), Kind: "task", Reason: "r", Body: body})
			}
		}, time.Duration(batch+1)*time.Minute)
	}
	checked := false
	env.RegisterDelayedCallback(func() {
		checked = true
		v, err := env.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		var s workflows.UnroutedState
		require.NoError(t, v.Get(&s))
		assert.Equal(t, 300, s.Count)
		require.Len(t, s.Events, 200)
		total := 0
		for _, ev := range s.Events {
			total += len(ev.Body)
		}
		assert.LessOrEqual(t, total, 1<<20)
		assert.Equal(t, "k-299", s.Events[199].Key)
		assert.NotEmpty(t, s.Events[199].Body, "the newest keep their bodies")
		assert.Empty(t, s.Events[0].Body, "the oldest keep their digest only")
		b, _ := json.Marshal(s)
		assert.Less(t, len(b), 2<<20)
	}, 10*time.Minute)
	env.ExecuteWorkflow(workflows.AkuteUnroutedName, workflows.UnroutedInput{Day: env.Now().UTC().Format("2006-01-02")})
	require.True(t, env.IsWorkflowCompleted())
	assert.True(t, checked, "the day was still open when queried")
}

// An operator's pause stops a call that is retrying through an outage: no
// further attempts until resume.
func TestPauseStopsARetryingCall(t *testing.T) {
	c := newCaseTest(t)
	require.NoError(t, c.akute.Inject(fake.Fault{Status: 503, Times: 100}))
	c.send(script("r7")[0].Body) // a patient sync that keeps failing
	c.env.RegisterDelayedCallback(func() { c.env.SignalWorkflow(workflows.SignalPause, nil) }, c.at+3500*time.Millisecond)
	var attempts int
	c.env.RegisterDelayedCallback(func() {
		attempts = len(c.akute.Requests())
		s := c.state()
		assert.True(t, s.Paused)
		assert.Len(t, s.Pending, 1, "the sync waits, not dropped")
		assert.Nil(t, s.Attention)
	}, c.at+10*time.Second)
	c.env.RegisterDelayedCallback(func() {
		assert.Equal(t, attempts, len(c.akute.Requests()), "no attempt while paused")
		c.akute.Reset()
		c.env.SignalWorkflow(workflows.SignalResume, nil)
	}, c.at+5*time.Minute)
	c.at += 6 * time.Minute
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "r7"})
	assert.NotEmpty(t, s.Akute.PatientID, "synced after resume")
	assert.LessOrEqual(t, attempts, 4, "attempts at 0, 1, 3 s")
}

// Skip drops a call that is retrying; retry runs it again at once.
func TestSkipAndRetryActOnARetryingCall(t *testing.T) {
	c := newCaseTest(t)
	c.send(script("r8")[0].Body)
	c.then(func() { require.NoError(t, c.akute.Inject(fake.Fault{Status: 503, Times: 100})) })
	c.send(script("r8")[2].Body) // a decision task that keeps failing
	c.env.RegisterDelayedCallback(func() { c.env.SignalWorkflow(workflows.SignalSkip, nil) }, c.at+2*time.Second)
	c.env.RegisterDelayedCallback(func() {
		s := c.state()
		assert.Empty(t, s.Pending, "skipped while retrying")
		c.akute.Reset()
		require.NoError(t, c.akute.Inject(fake.Fault{Status: 503, Times: 1}))
	}, c.at+time.Minute)
	c.at += time.Minute
	c.send(script("r8")[5].Body) // tracking: fails once, then waits 1 s for its retry
	c.env.RegisterDelayedCallback(func() { c.env.SignalWorkflow(workflows.SignalRetry, nil) }, c.at+500*time.Millisecond)
	c.at += time.Minute
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "r8"})
	require.Len(t, c.akute.Tasks(), 1, "the tracking task only")
	assert.Contains(t, c.akute.Tasks()[0].Task, "tracking")
	assert.Len(t, s.Tasks, 1)
	var summaries []string
	for _, e := range s.Timeline {
		if strings.HasPrefix(e.Type, "operator:") {
			summaries = append(summaries, e.Type+" "+e.Summary)
		}
	}
	assert.Contains(t, summaries, "operator:skip skipping the call in flight (recorded if it already succeeded)")
	assert.Contains(t, summaries, "operator:retry retrying the call in flight now")
}

// Close while a call retries: the run waits for the call's answer, and ends
// with the call still pending, never abandoned in mid-air.
func TestCloseWaitsForTheCallInFlight(t *testing.T) {
	c := newCaseTest(t)
	require.NoError(t, c.akute.Inject(fake.Fault{Status: 503, Times: 100}))
	c.send(script("r9")[0].Body)
	c.env.RegisterDelayedCallback(func() { c.env.SignalWorkflow(workflows.SignalClose, nil) }, c.at+2*time.Second)
	s := c.run(workflows.CaseInput{CaseID: "r9"})
	assert.True(t, s.Closed)
	assert.Len(t, s.Pending, 1, "the sync is recorded as not done")
	assert.Empty(t, c.akute.Patients())
	last := s.Timeline[len(s.Timeline)-1]
	assert.Equal(t, "operator:cancelled", last.Type, "the call's answer came before the end")
}

// A delivery after the case's run completed meets the case's memory: a
// redelivered decision does not create its task again.
func TestARunAfterCloseStartsFromTheLastRun(t *testing.T) {
	steps := script("r10")
	first := newCaseTest(t)
	for _, step := range steps {
		first.send(step.Body)
	}
	done := first.run(workflows.CaseInput{CaseID: "r10"})
	require.Len(t, first.akute.Tasks(), 2)

	again := newCaseTest(t)
	again.previous = &done
	again.send(steps[2].Body) // the decision, redelivered late
	again.sendString(`{"event":"ADD_CASE_COMMENT","payload":{"caseId":"r10","activity":{"id":"late-comment","timestamp":"2026-11-02T09:00:00Z"}}}`)
	s := again.run(workflows.CaseInput{CaseID: "r10"})
	assert.Empty(t, again.akute.Tasks(), "no task created twice")
	assert.Equal(t, done.Duplicates+1, s.Duplicates)
	assert.Equal(t, done.EventsApplied+1, s.EventsApplied, "the new comment applied")
	assert.Equal(t, 1, s.Reopened)
	assert.Equal(t, "DELIVERED", s.Order.Status)
}

// The worker's configuration bounds a run (CAREBRIDGE_CASE_MAX_SIGNALS), not
// the starter's, and the state query reads the state without writing into it.
func TestWorkerConfigBoundsARunAndQueriesOnlyRead(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: workflows.Interceptors()})
	workflows.Register(env, workflows.Activities{Akute: &activities.Akute{}, Runs: activities.NewRuns(nil)},
		workflows.CaseConfig{MaxSignals: 3, MaxHistory: 1000, ArchiveGrace: time.Minute})
	env.OnActivity(activities.LastRunStateName, mock.Anything, mock.Anything, mock.Anything).Return(nil, nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalPause, nil) }, time.Minute)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		var s workflows.CaseState
		require.NoError(t, v.Get(&s))
		assert.Equal(t, workflows.StatusPaused, s.CarebridgeStatus)
	}, 2*time.Minute)
	for i := range 2 {
		env.RegisterDelayedCallback(func() {
			ev, err := carevalidate.Parse([]byte(fmt.Sprintf(`{"event":"ADD_CASE_COMMENT","payload":{"caseId":"r11","activity":{"id":"c%d"}}}`, i)))
			require.NoError(t, err)
			env.SignalWorkflow(workflows.SignalCaseEvent, ev)
		}, time.Duration(3+i)*time.Minute)
	}
	env.ExecuteWorkflow(workflows.CaseWorkflowName, workflows.CaseInput{CaseID: "r11"})
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can, "continued as new after the worker's 3 signals")
	var next workflows.CaseInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	assert.Equal(t, 2, next.State.EventsApplied)
	assert.Zero(t, next.MaxSignals, "the worker's limits are not frozen into the next run")
	assert.Equal(t, workflows.StatusRunning, next.State.CarebridgeStatus, "the query computed a view; it wrote nothing")
}
