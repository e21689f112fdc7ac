package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/workflows"
)

func careValidate() carevalidatetest.Sender {
	return carevalidatetest.Sender{
		URL: stack.StarterURL + "/webhooks/carevalidate", Header: "X-CareValidate-Auth",
		Secret: "sandbox-carevalidate-secret", SigningSecret: signingSecret,
	}
}

func deliver(t *testing.T, body []byte) {
	t.Helper()
	status, answer, err := careValidate().Send(body)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, status, "answer: %s", answer)
}

func caseState(t *testing.T, caseID string) (int, workflows.CaseState) {
	t.Helper()
	r := get(t, "/api/cases/"+caseID)
	var s workflows.CaseState
	if r.status == http.StatusOK {
		require.NoError(t, json.Unmarshal(r.body, &s))
	}
	return r.status, s
}

func waitCase(t *testing.T, caseID string, what string, ok func(workflows.CaseState) bool) workflows.CaseState {
	t.Helper()
	var s workflows.CaseState
	require.Eventually(t, func() bool {
		var status int
		status, s = caseState(t, caseID)
		return status == http.StatusOK && ok(s)
	}, 60*time.Second, 200*time.Millisecond, "case %s never reached: %s (last state %+v)", caseID, what, s)
	return s
}

func akuteTasks(t *testing.T, shortID string) []akute.Task {
	t.Helper()
	var all []akute.Task
	require.NoError(t, sandbox.akute.Get("/_sandbox/tasks", &all))
	var mine []akute.Task
	for _, task := range all {
		for _, tag := range task.Tags {
			if tag == "case:"+shortID {
				mine = append(mine, task)
			}
		}
	}
	return mine
}

func temporalCLI(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(stack.TemporalCLI(), append(args, "--address", stack.TemporalAddr)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "temporal %s: %s", strings.Join(args, " "), out)
}

func TestCaseLifeThroughTheWebhook(t *testing.T) {
	caseID := fmt.Sprintf("it-case-%d", time.Now().UnixNano())
	shortID := "IT-LIFE"
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: shortID}, time.Now().Add(-time.Hour))

	deliver(t, steps[0].Body) // CREATE_CASE
	waitCase(t, caseID, "patient synced", func(s workflows.CaseState) bool { return s.Akute.PatientID != "" })

	// An operator pauses the case with the real CLI: events are recorded,
	// Akute hears nothing.
	temporalCLI(t, "workflow", "signal", "--workflow-id", workflows.CaseWorkflowID(caseID), "--name", workflows.SignalPause)
	waitCase(t, caseID, "paused", func(s workflows.CaseState) bool { return s.CarebridgeStatus == workflows.StatusPaused })
	deliver(t, steps[1].Body)
	deliver(t, steps[2].Body) // the decision
	s := waitCase(t, caseID, "decision recorded", func(s workflows.CaseState) bool { return len(s.Decisions) == 1 })
	assert.Len(t, s.Pending, 1, "the decision task waits")
	time.Sleep(500 * time.Millisecond)
	assert.Empty(t, akuteTasks(t, shortID), "no task while paused")

	temporalCLI(t, "workflow", "signal", "--workflow-id", workflows.CaseWorkflowID(caseID), "--name", workflows.SignalResume)
	for _, step := range steps[3:] {
		deliver(t, step.Body)
	}
	deliver(t, steps[5].Body) // a duplicate tracking delivery
	s = waitCase(t, caseID, "done", func(s workflows.CaseState) bool {
		return s.CarebridgeStatus == workflows.StatusDone && s.Archived
	})
	assert.Equal(t, "APPROVED", s.Status)
	assert.Equal(t, "DELIVERED", s.Order.Status)
	assert.Equal(t, 8, s.EventsApplied)
	assert.Equal(t, 1, s.Duplicates)

	tasks := akuteTasks(t, shortID)
	require.Len(t, tasks, 2, "decision and tracking, once each")
	assert.Equal(t, "p2", tasks[0].Priority)
	assert.Equal(t, "p3", tasks[1].Priority)
	for _, task := range tasks {
		assert.Equal(t, s.Akute.PatientID, task.PatientID)
		assert.Equal(t, "usr-chris-tpa", task.OwnerID)
	}
	var patients []akute.Patient
	require.NoError(t, sandbox.akute.Get("/_sandbox/patients", &patients))
	found := 0
	for _, p := range patients {
		if p.ExternalID == "sub-"+caseID {
			found++
			assert.Equal(t, "LA", p.AddressState)
			assert.Equal(t, "2258675309", p.PrimaryPhoneNumber)
		}
	}
	assert.Equal(t, 1, found)

	// The case is findable by its search attributes.
	require.Eventually(t, func() bool {
		out, err := exec.Command(stack.TemporalCLI(), "workflow", "list", "--address", stack.TemporalAddr,
			"--query", `CaseShortId="IT-LIFE" AND CarebridgeStatus="done"`).CombinedOutput()
		return err == nil && bytes.Contains(out, []byte(workflows.CaseWorkflowID(caseID)))
	}, 30*time.Second, 500*time.Millisecond)
}

func TestBufferedEventsSurviveContinueAsNew(t *testing.T) {
	caseID := fmt.Sprintf("it-burst-%d", time.Now().UnixNano())
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: "IT-BURST"}, time.Now().Add(-time.Hour))
	deliver(t, steps[0].Body)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			deliver(t, []byte(fmt.Sprintf(`{"event":"ADD_CASE_COMMENT","payload":{"caseId":%q,"activity":{"id":"burst-%d","timestamp":"2026-11-01T10:00:00Z"}}}`, caseID, i)))
		})
	}
	wg.Wait()
	// Ten signals a run: the case continues as new once its Akute call is
	// done, carrying every event that was buffered meanwhile.
	s := waitCase(t, caseID, "every event applied in a later run", func(s workflows.CaseState) bool {
		return s.EventsApplied == 41 && s.Runs >= 1
	})
	assert.Equal(t, 0, s.Duplicates)
	temporalCLI(t, "workflow", "signal", "--workflow-id", workflows.CaseWorkflowID(caseID), "--name", workflows.SignalClose)
}

func TestWebhookRefusesWhatIsNotCareValidates(t *testing.T) {
	caseID := fmt.Sprintf("it-refused-%d", time.Now().UnixNano())
	body := carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: "IT-NO"}, time.Now())[0].Body

	wrong := careValidate()
	wrong.Secret = "guess"
	status, answer, err := wrong.Send(body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, string(answer), "could not be authenticated")

	unsigned := careValidate()
	unsigned.SigningSecret = "another-secret"
	status, unsignedAnswer, err := unsigned.Send(body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, string(answer), string(unsignedAnswer), "a 401 does not say which check failed")

	code, _ := caseState(t, caseID)
	assert.Equal(t, http.StatusNotFound, code, "nothing was recorded")

	for body, field := range map[string]string{
		`{"payload":{"case":{"id":"x"}}}`: "event",
		`{"event":"CREATE_CASE"}`:         "payload.case.id",
	} {
		status, answer, err := careValidate().Send([]byte(body))
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Contains(t, string(answer), field)
	}
	status, _, err = careValidate().Send([]byte(`not json`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, status)

	big := bytes.Repeat([]byte(" "), 20<<20+1)
	status, _, err = careValidate().Send(big)
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
}

func TestWebhookAcceptsLargeAttachmentsAndUnknownEvents(t *testing.T) {
	caseID := fmt.Sprintf("it-big-%d", time.Now().UnixNano())
	attachment := strings.Repeat("QUJD", 4<<20) // 16 MiB of Base64
	deliver(t, []byte(fmt.Sprintf(`{"event":"ADD_CASE_ATTACHMENT","payload":{"case":{"id":%q,"shortId":"IT-BIG",
		"attachments":[{"fileName":"x.pdf","content":%q}]},"activity":{"id":"att-1","timestamp":"2026-11-01T10:00:00Z"}}}`, caseID, attachment)))
	deliver(t, []byte(fmt.Sprintf(`{"event":"SOMETHING_NEW","payload":{"caseId":%q,"activity":{"id":"new-1"}}}`, caseID)))
	s := waitCase(t, caseID, "both recorded", func(s workflows.CaseState) bool { return s.EventsApplied == 2 })
	assert.Equal(t, "SOMETHING_NEW", s.Timeline[len(s.Timeline)-1].Type)
	temporalCLI(t, "workflow", "signal", "--workflow-id", workflows.CaseWorkflowID(caseID), "--name", workflows.SignalClose)
}

func TestUnknownCaseIs404(t *testing.T) {
	code, _ := caseState(t, "no-such-case")
	assert.Equal(t, http.StatusNotFound, code)
}

// With Temporal out of reach the webhook answers 503, so CareValidate
// retries: an acknowledgement always means recorded.
func TestWebhookAnswers503WithoutTemporal(t *testing.T) {
	port := freePort(t)
	cmd := exec.Command(filepath.Join(stack.Bin(), "starter"))
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS=127.0.0.1:1", fmt.Sprintf("CAREBRIDGE_HTTP_ADDR=127.0.0.1:%d", port),
		"CAREVALIDATE_AUTH_SECRET=sandbox-carevalidate-secret", "AKUTE_WEBHOOK_SECRET=x",
		"CAREBRIDGE_CODEC_KEYS="+stack.Env("CAREBRIDGE_CODEC_KEYS"))
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sender := careValidate()
	sender.URL = fmt.Sprintf("http://127.0.0.1:%d/webhooks/carevalidate", port)
	sender.SigningSecret = ""
	var status int
	require.Eventually(t, func() bool {
		var err error
		status, _, err = sender.Send(carevalidatetest.Example)
		return err == nil
	}, 10*time.Second, 100*time.Millisecond)
	assert.Equal(t, http.StatusServiceUnavailable, status)

	body := []byte(`{"event":"task.updated","id":"evt-503","data":{"id":"task-1","status":"complete","tags":["case:X"]}}`)
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/webhooks/akute", port), bytes.NewReader(body))
	req.Header.Set(akutewebhook.Header, akutewebhook.Sign([]byte("x"), time.Now(), body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "Akute's deliveries too")
}
