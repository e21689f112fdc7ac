package workflows_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/workflows"
)

// update sends an operator update and records how it ended: "accepted: what
// it did" or "refused: why".
func (c *caseTest) update(name string, outcomes *[]string) {
	c.then(func() {
		c.env.UpdateWorkflow(name, fmt.Sprintf("%s-%d", name, len(*outcomes)), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) {
				var appErr *temporal.ApplicationError
				require.ErrorAs(c.t, err, &appErr)
				assert.Equal(c.t, workflows.ErrTypeActionRefused, appErr.Type())
				*outcomes = append(*outcomes, "refused: "+appErr.Message())
			},
			OnComplete: func(result any, err error) {
				require.NoError(c.t, err)
				answer := result.(workflows.OperatorAnswer)
				*outcomes = append(*outcomes, fmt.Sprintf("accepted: %s (%s)", answer.Done, answer.CarebridgeStatus))
			},
		})
	})
}

// metadata is what the Web UI reads of a run: its handlers with their
// descriptions and its current details.
func (c *caseTest) metadata() *sdkpb.WorkflowMetadata {
	v, err := c.env.QueryWorkflow("__temporal_workflow_metadata")
	require.NoError(c.t, err)
	var m sdkpb.WorkflowMetadata
	require.NoError(c.t, v.Get(&m))
	return &m
}

// An action that makes no sense now is refused with its reason before it
// enters history; an accepted one answers what it did.
func TestOperatorUpdatesRefuseWhatMakesNoSense(t *testing.T) {
	c := newCaseTest(t)
	bad := carevalidatetest.Patient("sub-u1")
	bad["state"] = "ZZ" // Akute refuses the patient: the case needs attention
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: "u1", ShortID: "CB-u1", Submitter: bad}, time.Now())
	var outcomes []string
	for _, action := range []string{workflows.SignalRetry, workflows.SignalSkip, workflows.SignalResume, workflows.SignalResync} {
		c.update(action, &outcomes) // nothing has happened yet
	}
	c.update(workflows.SignalPause, &outcomes)
	c.update(workflows.SignalPause, &outcomes)
	c.update(workflows.SignalResume, &outcomes)
	c.send(steps[0].Body) // CREATE_CASE: the patient sync fails
	c.update(workflows.SignalRetry, &outcomes)
	c.update(workflows.SignalSkip, &outcomes)
	c.update(workflows.SignalSkip, &outcomes)
	c.update(workflows.SignalClose, &outcomes)
	c.update(workflows.SignalClose, &outcomes)
	s := c.run(workflows.CaseInput{CaseID: "u1"})

	assert.Equal(t, []string{
		"refused: retry refused: nothing to retry: no Akute step failed and no call is in flight",
		"refused: skip refused: nothing to skip: no Akute step waits for an operator and no call is in flight",
		"refused: resume refused: the case is not paused",
		"refused: resync refused: nothing to resync: no patient data received yet",
		"accepted: paused: Akute is not called until resume (paused)",
		"refused: pause refused: the case is already paused",
		"accepted: resumed: queued Akute calls run again (running)",
		"accepted: retrying sync_patient (running)",
		"accepted: skipped sync_patient (running)",
		"refused: skip refused: nothing to skip: no Akute step waits for an operator and no call is in flight",
		"accepted: closed: the case finishes once no Akute call is in flight (done)",
		// The workflow has completed: the test environment refuses as the
		// server does, without a validator.
	}, outcomes[:11])
	assert.True(t, s.Closed)
	assert.Empty(t, c.akute.Patients(), "the refused patient never reached Akute")
	var operators []string
	for _, e := range s.Timeline {
		if len(e.Type) > 9 && e.Type[:9] == "operator:" {
			operators = append(operators, e.Type)
		}
	}
	assert.Equal(t, []string{"operator:pause", "operator:resume", "operator:retry", "operator:skip", "operator:close"}, operators,
		"refused actions left no trace in the case")
}

// The Web UI shows what a case is and what it waits for, and lists every
// handler with its description.
func TestDetailsSayWhatTheCaseWaitsFor(t *testing.T) {
	c := newCaseTest(t)
	bad := carevalidatetest.Patient("sub-u2")
	bad["state"] = "ZZ"
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: "u2", ShortID: "CB-u2", Submitter: bad}, time.Now())
	c.send(steps[0].Body)
	c.then(func() {
		m := c.metadata()
		details := m.GetCurrentDetails()
		assert.Contains(t, details, "**carebridge:** needs_attention")
		assert.Contains(t, details, "**case:** CB-u2")
		assert.Contains(t, details, "**Waiting for:** an operator: retry or skip the failed step")
		assert.Contains(t, details, "sync_patient failed ("+activities.ErrTypeAkuteInvalidData+")")
		assert.Contains(t, details, "submitter.state is not a US state or territory")
		assert.Contains(t, details, "**Akute patient:** not synced yet · **open tasks:** 0")
		for _, phi := range []string{"Chris", "Ordering", "example.com", "2258675309", "Peachtree", "2000-05-30"} {
			assert.NotContains(t, details, phi)
		}

		described := map[string]string{}
		for _, d := range append(append(m.GetDefinition().GetSignalDefinitions(), m.GetDefinition().GetQueryDefinitions()...),
			m.GetDefinition().GetUpdateDefinitions()...) {
			described[d.GetName()] = d.GetDescription()
		}
		for _, name := range append([]string{workflows.SignalCaseEvent, workflows.SignalAkuteTask, workflows.SignalAkuteMed, workflows.QueryState},
			workflows.OperatorActions...) {
			assert.NotEmpty(t, described[name], "%s is described", name)
		}
		assert.Len(t, m.GetDefinition().GetUpdateDefinitions(), len(workflows.OperatorActions))
	})
	c.signal(workflows.SignalSkip)
	c.then(func() {
		assert.Contains(t, c.metadata().GetCurrentDetails(), "**Waiting for:** CareValidate's next event")
	})
	c.signal(workflows.SignalClose)
	c.run(workflows.CaseInput{CaseID: "u2"})
}

// A run upserts only the search attributes that differ from its own: those
// the starter set with the start are not written again (one visibility write
// less per run).
func TestACaseUpsertsOnlyWhatChanged(t *testing.T) {
	c := newCaseTest(t)
	require.NoError(t, c.env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
		workflows.AttrKind.ValueSet("case"), workflows.AttrStatus.ValueSet(workflows.StatusRunning),
		workflows.AttrCaseShortID.ValueSet("CB-u3"))))
	var upserts [][]string
	c.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		var names []string
		for key := range args.Get(0).(temporal.SearchAttributes).GetUntypedValues() {
			names = append(names, key.GetName())
		}
		slices.Sort(names)
		upserts = append(upserts, names)
	}).Return(nil)
	steps := script("u3")
	c.send(steps[0].Body) // CREATE_CASE: status OPEN, then the patient's sync
	c.send(steps[0].Body) // a duplicate: nothing changes
	c.signal(workflows.SignalClose)
	c.run(workflows.CaseInput{CaseID: "u3"})

	assert.Equal(t, [][]string{{"CaseStatus"}, {"AkutePatientId"}, {"CarebridgeStatus"}}, upserts,
		"CarebridgeKind, CarebridgeStatus=running and CaseShortId came with the start")
}

// An update during the archive grace is acted on like a signal: a resync
// of an archived case reaches Akute before the run completes.
func TestAnUpdateDuringTheArchiveGraceIsActedOn(t *testing.T) {
	c := newCaseTest(t)
	for _, step := range script("u4") {
		c.send(step.Body)
	}
	var outcomes []string
	c.update(workflows.SignalResync, &outcomes) // a minute after ARCHIVE_CASE: within the grace
	s := c.run(workflows.CaseInput{CaseID: "u4"})
	assert.Equal(t, []string{"accepted: a patient sync is queued (running)"}, outcomes)
	assert.True(t, s.Archived)
	assert.Empty(t, s.Pending, "the sync ran before the run completed")
	last := s.Timeline[len(s.Timeline)-1]
	assert.Equal(t, "akute:patient_unchanged", last.Type, "the resync reached Akute (nothing had changed)")
}

// Akute's own words can quote the data it refused: they stay in the state
// (encrypted), never in the current details the Web UI's server renders.
func TestDetailsNeverQuoteAkute(t *testing.T) {
	c := newCaseTest(t)
	steps := script("u5")
	c.send(steps[0].Body)
	c.then(func() {
		require.NoError(t, c.akute.Inject(fake.Fault{Status: 422, Body: `{"statusCode":422,"error":"phone 2258675309 of Chris Ordering is taken"}`, Times: 1}))
	})
	c.send(steps[2].Body)
	c.then(func() {
		details := c.metadata().GetCurrentDetails()
		assert.Contains(t, details, "create_task failed ("+activities.ErrTypeAkuteRejected+")")
		assert.Contains(t, details, "Akute answered HTTP 422")
		for _, quoted := range []string{"2258675309", "Chris", "taken"} {
			assert.NotContains(t, details, quoted)
		}
		s := c.state()
		require.NotNil(t, s.Attention)
		require.NotNil(t, s.Attention.Detail)
		assert.Contains(t, s.Attention.Detail.Message, "taken", "Akute's words, for an operator, in the state")
	})
	c.signal(workflows.SignalSkip)
	c.signal(workflows.SignalClose)
	c.run(workflows.CaseInput{CaseID: "u5"})
}
