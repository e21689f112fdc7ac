package workflows_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/workflows"
)

// historiesDir holds the histories `make histories` recorded from the real
// stack, encrypted under the test-only key in its codec-keys file.
const historiesDir = "testdata/histories"

// recordedScenarios are the scenarios the histories must cover (the
// folder's README says what each is). A missing one fails the test: a guard
// over fewer histories than it claims is no guard.
var recordedScenarios = []string{
	"send-succeeded", "send-retried-503", "send-patient-not-found",
	"case-full-life", "case-attention-retry-skip", "case-pause-resume", "case-resync", "case-close",
	"case-continued-as-new.run1", "case-continued-as-new.run2", "case-akute-signals", "case-operator-order",
	"case-pause-retrying-call", "case-correction-during-sync", "case-reopened", "case-operator-updates",
	"akute-unrouted",
}

// replayer replays with the project's own data and failure converters, so
// that it decrypts the histories as a worker would.
func replayer(t *testing.T, register func(workflows.WorkflowRegistry)) worker.WorkflowReplayer {
	t.Helper()
	keys, err := os.ReadFile(filepath.Join(historiesDir, "codec-keys"))
	require.NoError(t, err)
	c, err := codec.ParseKeys(strings.TrimSpace(string(keys)))
	require.NoError(t, err)
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		DataConverter: c.DataConverter(), FailureConverter: c.FailureConverter(),
		Interceptors: workflows.Interceptors(),
	})
	require.NoError(t, err)
	register(r)
	return r
}

func loadHistory(t *testing.T, file string) *historypb.History {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err, file)
	return h
}

var quiet = log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// Every recorded history replays on today's code, with the workflows
// registered exactly as the worker registers them. A failure here means a
// change altered the commands of runs that may be open in production; see
// docs/changing-a-workflow.md.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	require.NoError(t, err)
	recorded := map[string]bool{}
	for _, f := range files {
		recorded[strings.TrimSuffix(filepath.Base(f), ".json")] = true
	}
	for _, want := range recordedScenarios {
		assert.True(t, recorded[want], "no recorded history %s.json in %s: run make histories", want, historiesDir)
	}

	r := replayer(t, func(r workflows.WorkflowRegistry) { workflows.RegisterWorkflows(r, workflows.DefaultCaseConfig()) })
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			err := r.ReplayWorkflowHistory(quiet, loadHistory(t, f))
			require.NoError(t, err, "%s does not replay on this code: the change alters what recorded runs did; "+
				"before v1.0.0 re-record the histories (make histories), after it put the change behind "+
				"workflow.GetVersion (docs/changing-a-workflow.md)", filepath.Base(f))
		})
	}
}

// The guard bites: a case workflow that makes another call first, without
// GetVersion, fails to replay a recorded case and is named as
// non-deterministic; the same change behind GetVersion replays.
func TestReplayCatchesAChangedCaseWorkflow(t *testing.T) {
	file := filepath.Join(historiesDir, "case-full-life.json")
	extraCallFirst := func(ctx workflow.Context) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		workflow.ExecuteActivity(ctx, activities.SyncAkutePatientName, workflows.Submitter{})
	}
	withCase := func(caseWorkflow func(workflow.Context, workflows.CaseInput) (*workflows.CaseState, error)) func(workflows.WorkflowRegistry) {
		return func(r workflows.WorkflowRegistry) {
			r.RegisterWorkflowWithOptions(caseWorkflow, workflow.RegisterOptions{Name: workflows.CaseWorkflowName})
		}
	}

	unversioned := func(ctx workflow.Context, in workflows.CaseInput) (*workflows.CaseState, error) {
		extraCallFirst(ctx)
		return workflows.CaseWorkflow(ctx, in)
	}
	err := replayer(t, withCase(unversioned)).ReplayWorkflowHistory(quiet, loadHistory(t, file))
	require.Error(t, err, "an extra activity first must not replay")
	assert.Contains(t, err.Error(), "TMPRL1100", "the SDK's code for non-determinism")

	versioned := func(ctx workflow.Context, in workflows.CaseInput) (*workflows.CaseState, error) {
		if workflow.GetVersion(ctx, "extra-call-first", workflow.DefaultVersion, 1) == 1 {
			extraCallFirst(ctx)
		}
		return workflows.CaseWorkflow(ctx, in)
	}
	require.NoError(t, replayer(t, withCase(versioned)).ReplayWorkflowHistory(quiet, loadHistory(t, file)))
}

// No failure message is in clear in any recorded history: the codec's
// failure converter encrypts messages, local activities' included (the
// SDK records those after decoding them).
func TestNoFailureMessageInClearInHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	require.NoError(t, err)
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				// carebridge's failures (and their causes): the server's own
				// (a timeout, a termination) carry its words, no data.
				for failure, ok := v["failure"].(map[string]any); ok; failure, ok = failure["cause"].(map[string]any) {
					if failure["encodedAttributes"] != nil || failure["applicationFailureInfo"] != nil {
						seen++
						assert.Equal(t, "Encoded failure", failure["message"], "%s: a failure message in clear", filepath.Base(f))
					}
				}
				for _, child := range v {
					walk(child)
				}
			case []any:
				for _, child := range v {
					walk(child)
				}
			}
		}
		var doc any
		require.NoError(t, json.Unmarshal(b, &doc))
		walk(doc)
	}
	assert.Positive(t, seen, "the histories hold carebridge failures to check")
}
