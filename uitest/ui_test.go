//go:build ui

package uitest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	"github.com/carebridge/carebridge/workflows"
)

const lead = `{"form_name":"vip_tlc_bunionectomy_ect","phone":"555-123-4567","name":"John Doe","email":"john.doe@example.com","instance_name":"ect"}`

// The Web UI, in a real browser, shows what an operator needs without
// insider knowledge: summaries in the list, a case's details decrypted
// through the codec endpoint, the update dialog's described handlers.
func TestTheWebUIShowsWhatAnOperatorNeeds(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	out := filepath.Join(root, "ui-results")
	require.NoError(t, os.MkdirAll(out, 0o755))
	logs, err := os.Create(filepath.Join(out, "stack.log"))
	require.NoError(t, err)
	defer logs.Close()
	ctx := context.Background()
	stack, err := devstack.Start(ctx, devstack.Options{RepoRoot: root, DataDir: t.TempDir(), Logs: logs})
	require.NoError(t, err)
	defer stack.Stop()

	// A send.
	resp, err := http.Post(stack.StarterURL+"/api/alleviate/send", "application/json", strings.NewReader(lead))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	sendID := resp.Header.Get("X-Workflow-Id")

	// A case that needs attention: Akute cannot take its patient.
	caseID := fmt.Sprintf("ui-%d", time.Now().UnixNano())
	patient := carevalidatetest.Patient("sub-" + caseID)
	patient["state"] = "ZZ"
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: "UI-CASE", Submitter: patient}, time.Now().Add(-time.Hour))
	status, answer, err := carevalidatetest.Sender{URL: stack.StarterURL + "/webhooks/carevalidate",
		Header: stack.Env("CAREVALIDATE_AUTH_HEADER"), Secret: stack.Env("CAREVALIDATE_AUTH_SECRET")}.Send(steps[0].Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, status, "%s", answer)
	require.Eventually(t, func() bool {
		resp, err := http.Get(stack.StarterURL + "/api/cases/" + caseID)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var s workflows.CaseState
		return json.NewDecoder(resp.Body).Decode(&s) == nil && s.Attention != nil
	}, 60*time.Second, 250*time.Millisecond, "the case needs attention")

	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "make test-ui installs Debian's chromium")
	cmd := exec.Command("node", "browser.mjs")
	cmd.Env = append(os.Environ(), "UI_URL="+stack.UIURL, "SEND_ID="+sendID, "SEND_SUMMARY=send vip_tlc_bunionectomy_ect lead (Realtime ect)",
		"CASE_ID="+workflows.CaseWorkflowID(caseID), "CASE_SUMMARY=case UI-CASE · GLP", "OUT_DIR="+out, "CHROMIUM="+chromium)
	cmd.Stderr = os.Stderr
	printed, err := cmd.Output()
	require.NoError(t, err, "browser.mjs: %s", printed)
	var seen struct {
		ListFindsTheCase  bool     `json:"listFindsTheCase"`
		SendSummary       bool     `json:"sendSummary"`
		SendStepSummaries bool     `json:"sendStepSummaries"`
		CaseSummary       bool     `json:"caseSummary"`
		CaseWaitingFor    bool     `json:"caseWaitingFor"`
		CaseAttention     bool     `json:"caseAttention"`
		CasePage          string   `json:"casePage"`
		UpdateOptions     []string `json:"updateOptions"`
	}
	require.NoError(t, json.Unmarshal(printed, &seen), "%s", printed)
	defer func() {
		if t.Failed() {
			t.Logf("the browser saw: %s", printed)
		}
	}()

	assert.True(t, seen.ListFindsTheCase, "the runbook's query lists the case that needs attention")
	assert.True(t, seen.SendSummary, "the send's summary, decrypted")
	assert.True(t, seen.SendStepSummaries, "each step's summary")
	assert.True(t, seen.CaseSummary, "the case's summary, decrypted")
	assert.True(t, seen.CaseWaitingFor, "the case's current details say what it waits for")
	assert.True(t, seen.CaseAttention, "and why")
	for _, phi := range []string{"Chris", "Ordering", "chris.ordering@example.com", "2258675309", "Peachtree"} {
		assert.NotContains(t, seen.CasePage, phi, "no PHI in the case's summary and details (the UI sends them to its server to render)")
	}
	// The dialog lists the workflow's updates, then a "Custom" entry of its own.
	require.Len(t, seen.UpdateOptions, len(workflows.OperatorActions)+1, "%q", seen.UpdateOptions)
	for i, action := range []string{"close", "pause", "resume", "resync", "retry", "skip"} {
		name, description, _ := strings.Cut(seen.UpdateOptions[i], "\n")
		assert.Equal(t, action, name)
		assert.Contains(t, description, "Refused, with the reason, when it makes no sense now.", "%s is described", action)
	}
	for _, shot := range []string{"workflows.png", "send.png", "case.png", "update-dialog.png"} {
		_, err := os.Stat(filepath.Join(out, shot))
		assert.NoError(t, err, "screenshot %s", shot)
	}
}
