//go:build ui

package uitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/internal/audit"
	"github.com/carebridge/carebridge/workflows"
)

// People sign in to the production topology's Web UI (Temporal's UI
// server, the OpenID Connect provider, Temporal's authorizer): an operator
// sees a case decrypted and pauses it; a reader sees it decrypted too, and
// Temporal refuses the reader's update. The audit trail then names both,
// with what each did, and its chain verifies.
func TestPeopleSignInAndTemporalDecidesWhatTheyMayDo(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	out := filepath.Join(root, "ui-results")
	require.NoError(t, os.MkdirAll(out, 0o755))
	logs, err := os.Create(filepath.Join(out, "signin-stack.log"))
	require.NoError(t, err)
	defer logs.Close()
	ctx := context.Background()
	// Not t.TempDir: its parent is private, and PostgreSQL runs as its own
	// user when the tests run as root.
	dir, err := os.MkdirTemp("", "carebridge-signin-")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	stack, err := devstack.Start(ctx, devstack.Options{RepoRoot: root, DataDir: dir, Logs: logs,
		Server: devstack.ServerPostgres, Production: true, Env: map[string]string{"CAREBRIDGE_API_KEYS": ""}})
	require.NoError(t, err)
	defer stack.Stop()

	// A running case.
	caseID := fmt.Sprintf("signin-%d", time.Now().UnixNano())
	patient := carevalidatetest.Patient("sub-" + caseID)
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: "SIGNIN", Submitter: patient}, time.Now().Add(-time.Hour))
	status, answer, err := carevalidatetest.Sender{URL: stack.StarterURL + "/webhooks/carevalidate", Client: stack.HTTPClient(),
		Header: stack.Env("CAREVALIDATE_AUTH_HEADER"), Secret: stack.Env("CAREVALIDATE_AUTH_SECRET")}.Send(steps[0].Body)
	require.NoError(t, err)
	require.Equal(t, 202, status, "%s", answer)
	c, err := stack.Dial()
	require.NoError(t, err)
	defer c.Close()
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, workflows.CaseWorkflowID(caseID), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetHistoryLength() > 3
	}, 60*time.Second, 250*time.Millisecond, "the case runs")

	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "make test-ui installs Debian's chromium")
	type saw struct {
		SignedIn    bool   `json:"signedIn"`
		CaseSummary bool   `json:"caseSummary"`
		Refused     *bool  `json:"refused"`
		AfterUpdate string `json:"afterUpdate"`
	}
	browse := func(login string) saw {
		cmd := exec.Command("node", "signin.mjs")
		cmd.Env = append(os.Environ(), "UI_URL="+stack.UIURL, "CASE_ID="+workflows.CaseWorkflowID(caseID),
			"CASE_SUMMARY=case SIGNIN", "LOGIN="+login, "OUT_DIR="+out, "CHROMIUM="+chromium)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		printed, err := cmd.Output()
		require.NoError(t, err, "signin.mjs as %s: %s", login, stderr.String())
		var s saw
		require.NoError(t, json.Unmarshal(printed, &s), "%s", printed)
		return s
	}

	operator := browse(devstack.Operator)
	assert.True(t, operator.SignedIn, "the operator signs in")
	assert.True(t, operator.CaseSummary, "the operator sees the case's summary, decrypted")
	require.NotNil(t, operator.Refused, "the operator's update came back: %s", operator.AfterUpdate)
	assert.False(t, *operator.Refused, "the operator's pause is accepted: %s", operator.AfterUpdate)
	// And it took: the case says so.
	state, err := c.QueryWorkflow(ctx, workflows.CaseWorkflowID(caseID), "", workflows.QueryState)
	require.NoError(t, err)
	var paused workflows.CaseState
	require.NoError(t, state.Get(&paused))
	assert.True(t, paused.Paused, "the operator's pause paused the case")

	reader := browse(devstack.Reader)
	assert.True(t, reader.SignedIn, "the reader signs in")
	assert.True(t, reader.CaseSummary, "the reader sees the case's summary, decrypted")
	require.NotNil(t, reader.Refused, "the reader's update came back: %s", reader.AfterUpdate)
	assert.True(t, *reader.Refused, "Temporal refuses the reader's update: %s", reader.AfterUpdate)

	// The trail names both people, with what each did, and verifies.
	var exported bytes.Buffer
	_, err = audit.Export(stack.AuditDir(), time.Time{}, &exported)
	require.NoError(t, err)
	did := map[string]bool{}
	for line := range strings.Lines(exported.String()) {
		var e audit.Entry
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		if e.WorkflowID == workflows.CaseWorkflowID(caseID) {
			did[e.Principal+" "+e.Action+" "+e.Detail+" "+e.Outcome] = true
		}
	}
	for _, want := range []string{
		devstack.Operator + " payload.decode  ok",
		devstack.Operator + " workflow.update pause ok",
		devstack.Reader + " payload.decode  ok",
		devstack.Reader + " workflow.update pause denied",
	} {
		assert.True(t, did[want], "on the trail: %q (it holds %v)", want, did)
	}
	report, err := audit.Verify(stack.AuditDir())
	require.NoError(t, err, "the trail's chain verifies")
	t.Logf("audit trail: %d entries, chain verified", report.Entries)
}
