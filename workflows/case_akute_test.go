package workflows_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/workflows"
)

// notifyCreated plays Akute's task.created webhook for every task the fake
// holds, as the starter routes it to the case (by its case:<shortId> tag).
func (c *caseTest) notifyCreated() {
	c.then(func() {
		for _, task := range c.akute.Tasks() {
			c.env.SignalWorkflow(workflows.SignalAkuteTask, workflows.TaskUpdate{Key: "created-" + task.ID, Event: "task.created",
				TaskID: task.ID, Title: task.Task, Status: "not-started", Tags: task.Tags})
		}
	})
}

func timelineHas(s workflows.CaseState, typ string) bool {
	return slices.ContainsFunc(s.Timeline, func(e workflows.TimelineEntry) bool { return e.Type == typ })
}

// An operator's command while a create executes is tested through the real
// programs (integration/creates_test.go): the SDK's test environment
// answers a cancelled activity at once, without the activity's own answer.

// unansweredCreate is a case whose decision's task Akute creates at once and
// answers late, after the client's timeout: the create goes unanswered.
func unansweredCreate(t *testing.T, caseID string, timeout, late time.Duration) *caseTest {
	c := newCaseTest(t, func(cfg *akute.Config) { cfg.Timeout = timeout })
	steps := script(caseID)
	c.send(steps[0].Body) // the patient's sync
	c.then(func() {
		require.NoError(t, c.akute.Inject(fake.Fault{AnswerLate: late, Times: 1, Only: "POST /tasks"}))
	})
	c.send(steps[2].Body) // the decision: a task
	return c
}

// A create whose answer does not come within the client's timeout is not
// repeated: Akute's webhook confirms the one it made.
func TestATimedOutCreateIsConfirmedNotRepeated(t *testing.T) {
	c := unansweredCreate(t, "timeout", time.Second, 3*time.Second)
	c.then(func() {
		s := c.state()
		require.Len(t, s.Unconfirmed, 1, "no answer: maybe created")
		assert.Nil(t, s.Attention)
	})
	c.notifyCreated()
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "timeout"})
	assert.Len(t, c.akute.Tasks(), 1, "never a second task")
	require.Len(t, s.Tasks, 1)
	assert.Equal(t, c.akute.Tasks()[0].ID, s.Tasks[0].TaskID)
}

// With no webhook within the wait, the case asks an operator
// (AkuteAmbiguousCreate); skip, since the task exists, ends it.
func TestAnUnconfirmedCreateAsksForAnOperator(t *testing.T) {
	c := unansweredCreate(t, "silent", time.Second, 3*time.Second)
	c.at += workflows.DefaultConfirmWait
	c.then(func() {
		s := c.state()
		require.NotNil(t, s.Attention)
		assert.Equal(t, activities.ErrTypeAkuteAmbiguous, s.Attention.ErrorType)
		assert.Contains(t, s.Attention.Error, "check Akute for the task")
		assert.Equal(t, workflows.StatusNeedsAttention, s.CarebridgeStatus)
		assert.Empty(t, s.Unconfirmed)
	})
	c.signal(workflows.SignalSkip)
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "silent"})
	assert.Len(t, c.akute.Tasks(), 1)
	assert.Nil(t, s.Attention)
}

// A task.created webhook that arrives before the create is known to be
// unanswered (Akute notifies as it creates) still confirms it.
func TestAnEarlyWebhookConfirmsAnUnansweredCreate(t *testing.T) {
	c := unansweredCreate(t, "early", 2*time.Second, 5*time.Second)
	c.then(func() {}) // the create times out meanwhile
	c.env.RegisterDelayedCallback(func() {
		require.Eventually(t, func() bool { return len(c.akute.Tasks()) == 1 }, 5*time.Second, 10*time.Millisecond)
		task := c.akute.Tasks()[0]
		c.env.SignalWorkflow(workflows.SignalAkuteTask, workflows.TaskUpdate{Key: "created-" + task.ID, Event: "task.created",
			TaskID: task.ID, Title: task.Task, Status: "not-started", Tags: task.Tags})
	}, c.at+time.Millisecond)
	c.at += time.Minute
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "early"})
	assert.Len(t, c.akute.Tasks(), 1)
	require.Len(t, s.Tasks, 1)
	assert.Empty(t, s.EarlyTasks)
}

// AkuteTaskIds stays under Temporal's 2 KiB per value whatever the form of
// Akute's ids (undocumented): a thousand tasks of 24-hex-digit ids and of
// UUIDs are all created and every upsert fits.
func TestAkuteTaskIdsFitTheSearchAttributeLimit(t *testing.T) {
	for _, form := range []string{"24 hex digits", "uuid"} {
		t.Run(form, func(t *testing.T) {
			c := newCaseTest(t)
			if form == "uuid" {
				c.akute.UseUUIDs()
			}
			largest, upserts := 0, 0
			c.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
				if ids, ok := args.Get(0).(temporal.SearchAttributes).GetKeywordList(workflows.AttrAkuteTaskIDs); ok {
					b, _ := json.Marshal(ids)
					largest, upserts = max(largest, len(b)), upserts+1
				}
			}).Return(nil)
			c.send(script("ids")[0].Body)
			for batch := range 10 {
				c.then(func() {
					for i := batch * 100; i < (batch+1)*100; i++ {
						c.env.SignalWorkflow(workflows.SignalCaseEvent, workflows.CaseEvent{EventKey: fmt.Sprintf("track-%d", i),
							Type: workflows.OrderTrackingAdded, CaseID: "ids", ValueAfter: fmt.Sprintf("1Z%06d", i)})
					}
				})
			}
			c.signal(workflows.SignalClose)
			s := c.run(workflows.CaseInput{CaseID: "ids", MaxSignals: 5000, MaxHistory: 100000})
			assert.Len(t, c.akute.Tasks(), 1000, "every task went to Akute")
			assert.Len(t, s.Tasks, 200, "the newest 200 kept")
			assert.Equal(t, 1000, upserts, "AkuteTaskIds followed every task")
			assert.LessOrEqual(t, largest, 2048, "Temporal refuses a search attribute value over 2 KiB")
			assert.Greater(t, largest, 1024, "the list is cut by size, not emptied")
		})
	}
}

// A case closed while it needed attention is done, not needing attention:
// the runbook's query finds it no more.
func TestAClosedCaseNeedsNoAttention(t *testing.T) {
	c := newCaseTest(t)
	steps := script("closed-attention")
	c.send(steps[0].Body)
	c.then(func() {
		require.NoError(t, c.akute.Inject(fake.Fault{Status: 422, Body: `{"message":"refused"}`, Times: 1}))
	})
	c.send(steps[2].Body)
	c.then(func() { require.NotNil(t, c.state().Attention) })
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "closed-attention"})
	assert.Equal(t, workflows.StatusDone, s.CarebridgeStatus)
}

// A run reopened after the case ended holds no patient data (PHI is kept
// out of the state): resync says so, not "no patient data received yet".
func TestAReopenedRunSaysWhyItCannotResync(t *testing.T) {
	steps := script("reopened-resync")
	first := newCaseTest(t)
	for _, step := range steps { // to ARCHIVE_CASE
		first.send(step.Body)
	}
	done := first.run(workflows.CaseInput{CaseID: "reopened-resync"})

	again := newCaseTest(t)
	again.previous = &done
	var outcomes []string
	again.update(workflows.SignalResync, &outcomes)
	again.run(workflows.CaseInput{CaseID: "reopened-resync"})
	require.Len(t, outcomes, 1)
	assert.Contains(t, outcomes[0], "reopened after the case ended")
}

// When the last run cannot be read, the case fails closed: nothing applied,
// Akute untouched, needs attention; skip starts it empty.
func TestAnUnreadLastRunFailsClosed(t *testing.T) {
	c := newCaseTest(t)
	c.unreadable = true
	c.send(script("unread")[2].Body) // a decision, redelivered after the case ended
	c.then(func() {
		s := c.state()
		require.NotNil(t, s.Attention)
		assert.Equal(t, workflows.ErrTypeLastRunUnread, s.Attention.ErrorType)
		assert.Equal(t, workflows.StatusNeedsAttention, s.CarebridgeStatus)
		assert.Zero(t, s.EventsApplied, "nothing applied before the last run is read")
		assert.Empty(t, c.akute.Tasks())
	})
	c.signal(workflows.SignalSkip)
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "unread"})
	assert.Equal(t, 1, s.EventsApplied, "applied once an operator chose to start empty")
	assert.True(t, timelineHas(s, "operator:skip"))
	assert.Zero(t, s.Reopened, "started empty, not from a last run")
}

// The state, carried through every continue-as-new, stays under Temporal's
// 256 KB payload warning in the worst case the bounds allow: every list full
// of the longest values CareValidate and Akute send (UUID keys and ids, long
// tracking numbers and titles, decisions of five medications).
func TestTheWorstCaseStateStaysUnder256KB(t *testing.T) {
	c := newCaseTest(t)
	c.akute.UseUUIDs()
	c.send(script("big")[0].Body)
	key := func(kind string, i int) string { return fmt.Sprintf("%s-%08d-0000-4000-8000-%012d", kind[:8], i, i) }
	meds := []workflows.Medication{}
	for range 5 {
		meds = append(meds, workflows.Medication{Medicine: strings.Repeat("m", 40), Dosage: strings.Repeat("d", 20), DosingFrequency: strings.Repeat("f", 30)})
	}
	for batch := range 25 {
		c.then(func() {
			for i := batch * 100; i < (batch+1)*100; i++ {
				ev := workflows.CaseEvent{EventKey: key("trackingx", i), Type: workflows.OrderTrackingAdded, CaseID: "big",
					ValueAfter: strings.Repeat("T", 34) + fmt.Sprintf("%06d", i)}
				switch i % 4 {
				case 1:
					ev = workflows.CaseEvent{EventKey: key("decision", i), Type: workflows.AddCaseDecision, CaseID: "big",
						Decision: &workflows.Decision{ID: key("decision", i), IsApproved: true, MedInfo: meds}}
				case 2:
					ev = workflows.CaseEvent{EventKey: key("payments", i), Type: workflows.PaymentCompleted, CaseID: "big",
						Payment: &workflows.Payment{ID: key("payments", i), Amount: "1234567.89", Status: "COMPLETED"}}
				}
				c.env.SignalWorkflow(workflows.SignalCaseEvent, ev)
			}
		})
	}
	c.then(func() {
		for i := range 300 {
			c.env.SignalWorkflow(workflows.SignalAkuteTask, workflows.TaskUpdate{Key: key("earlyupd", i), TaskID: key("othertsk", i),
				Title: strings.Repeat("t", 120), Status: "in-progress"})
			c.env.SignalWorkflow(workflows.SignalAkuteMed, workflows.MedicationEvent{Key: key("medicatn", i),
				DisplayName: strings.Repeat("n", 60), Status: "active", RxStatus: "pharmacy verified"})
		}
	})
	c.signal(workflows.SignalClose)
	s := c.run(workflows.CaseInput{CaseID: "big", MaxSignals: 10000, MaxHistory: 1000000})
	b, err := json.Marshal(s)
	require.NoError(t, err)
	t.Logf("the worst-case state: %d bytes (tasks %d, seen keys %d, timeline %d, decisions %d, payments %d)",
		len(b), len(s.Tasks), len(s.SeenKeys), len(s.Timeline), len(s.Decisions), len(s.Payments))
	assert.Less(t, len(b), 200<<10, "a margin under Temporal's 256 KB warning")
}

// An Akute call no worker ran for its hour (the workers were down) is not
// reported as Akute's silence: the case says a worker may be missing.
func TestACallNoWorkerRanSaysSo(t *testing.T) {
	c := newCaseTest(t)
	c.env.OnActivity(activities.SyncAkutePatientName, mock.Anything, mock.Anything).
		Return(activities.PatientSynced{}, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, nil)).Once()
	c.send(script("no-worker")[0].Body)
	c.then(func() {
		s := c.state()
		require.NotNil(t, s.Attention)
		assert.Equal(t, workflows.ErrTypeCallTimedOut, s.Attention.ErrorType)
		assert.Contains(t, s.Attention.Error, "no worker ran the call")
	})
	c.signal(workflows.SignalSkip)
	c.signal(workflows.SignalClose)
	c.run(workflows.CaseInput{CaseID: "no-worker"})
}
