package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/workflows"
)

const akuteWebhookSecret = "sandbox-akute-webhook-secret"

// akuteSandbox posts to one of the Akute sandbox's own routes.
func akuteSandbox(t *testing.T, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(stack.SandboxURL+"/akute/v1"+path, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", out)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m))
	return m
}

// postAkute sends a webhook as Akute would, with the header given.
func postAkute(t *testing.T, header string, body []byte) response {
	t.Helper()
	return post(t, "/webhooks/akute", string(body), map[string]string{akutewebhook.Header: header})
}

func TestAkuteTaskCompletedReachesTheCase(t *testing.T) {
	caseID := fmt.Sprintf("it-akute-%d", time.Now().UnixNano())
	shortID := fmt.Sprintf("IT-AK-%d", time.Now().UnixNano()%100000)
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: shortID}, time.Now().Add(-time.Hour))
	for _, step := range steps[:3] { // created, approved, decision: one task
		deliver(t, step.Body)
	}
	s := waitCase(t, caseID, "task created and its creation notified", func(s workflows.CaseState) bool {
		return len(s.Tasks) == 1 && s.OpenTasks == 1 && hasTimeline(s, "akute:task_not-started")
	})
	taskID := s.Tasks[0].TaskID

	// A clinician completes the task in Akute; Akute notifies us.
	answer := akuteSandbox(t, "/_sandbox/tasks/"+taskID+"/status", map[string]string{"status": "complete"})
	assert.EqualValues(t, http.StatusAccepted, answer["webhook_status"])
	s = waitCase(t, caseID, "task complete", func(s workflows.CaseState) bool { return s.OpenTasks == 0 })
	assert.Equal(t, "complete", s.Tasks[0].Status)

	// A prescription for the case's patient reaches the pharmacy.
	answer = akuteSandbox(t, "/_sandbox/medications", map[string]any{"patient_id": s.Akute.PatientID,
		"display_name": "Saxenda 0.6mg/0.1mL", "rx_status": "pharmacy verified", "status": "active", "prescription_id": 4711})
	assert.EqualValues(t, http.StatusAccepted, answer["webhook_status"])
	s = waitCase(t, caseID, "medication shown", func(s workflows.CaseState) bool { return len(s.Medications) == 1 })
	assert.Equal(t, "pharmacy verified", s.Medications[0].RxStatus)

	// The same delivery twice has one effect.
	body := []byte(fmt.Sprintf(`{"event":"task.updated","id":"evt-replay-%s","data":{"id":%q,"status":"in-progress","tags":["case:%s"]}}`, taskID, taskID, shortID))
	for range 2 {
		r := postAkute(t, akutewebhook.Sign([]byte(akuteWebhookSecret), time.Now(), body), body)
		require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
		assert.Equal(t, true, r.json(t)["routed"])
	}
	s = waitCase(t, caseID, "replay counted once", func(s workflows.CaseState) bool { return s.Duplicates == 1 })
	assert.Equal(t, "in-progress", s.Tasks[0].Status)
	assert.Equal(t, 1, s.OpenTasks)

	// A tampered and a stale delivery are refused and change nothing.
	tampered := bytes.Replace(body, []byte("in-progress"), []byte("complete"), 1)
	r := postAkute(t, akutewebhook.Sign([]byte(akuteWebhookSecret), time.Now(), body), tampered)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "wrong_signature", r.json(t)["error"].(map[string]any)["type"])
	stale := []byte(fmt.Sprintf(`{"event":"task.updated","id":"evt-stale","data":{"id":%q,"status":"complete","tags":["case:%s"]}}`, taskID, shortID))
	r = postAkute(t, akutewebhook.Sign([]byte(akuteWebhookSecret), time.Now().Add(-10*time.Minute), stale), stale)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "stale_timestamp", r.json(t)["error"].(map[string]any)["type"])
	r = postAkute(t, "", stale)
	assert.Equal(t, "missing_header", r.json(t)["error"].(map[string]any)["type"])
	r = postAkute(t, "t=abc", stale)
	assert.Equal(t, "malformed_header", r.json(t)["error"].(map[string]any)["type"])
	r = postAkute(t, akutewebhook.Sign([]byte(akuteWebhookSecret), time.Now().Add(10*time.Minute), stale), stale)
	assert.Equal(t, "future_timestamp", r.json(t)["error"].(map[string]any)["type"])

	time.Sleep(time.Second)
	_, s = caseState(t, caseID)
	assert.Equal(t, "in-progress", s.Tasks[0].Status, "refused deliveries changed nothing")
	assert.Equal(t, 1, s.Duplicates)

	temporalCLI(t, "workflow", "signal", "--workflow-id", workflows.CaseWorkflowID(caseID), "--name", workflows.SignalClose)
}

func TestUnknownAkuteEventsAreKeptUnrouted(t *testing.T) {
	for _, body := range [][]byte{
		[]byte(`{"event":"patient.updated","id":"evt-unknown-1","data":{"id":"pat-x"}}`),
		[]byte(`{"event":"task.updated","id":"evt-orphan-1","data":{"id":"task-nobody","status":"complete","tags":["other"]}}`),
		[]byte(`not even json`),
	} {
		r := postAkute(t, akutewebhook.Sign([]byte(akuteWebhookSecret), time.Now(), body), body)
		require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
		assert.Equal(t, false, r.json(t)["routed"])
	}
	id := workflows.AkuteUnroutedID(time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	v, err := temporal.QueryWorkflow(ctx, id, "", workflows.QueryState)
	require.NoError(t, err)
	var s workflows.UnroutedState
	require.NoError(t, v.Get(&s))
	reasons := map[string]bool{}
	for _, ev := range s.Events {
		reasons[ev.Reason] = true
	}
	assert.GreaterOrEqual(t, s.Count, 3)
	assert.True(t, reasons["shape not recognised"])
	assert.True(t, reasons["no case created this task"])

	resp, err := http.Get(stack.InternalURL + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(metrics), `carebridge_starter_akute_unrouted_total{kind="unknown",reason="shape not recognised"}`)
}

func hasTimeline(s workflows.CaseState, typ string) bool {
	for _, e := range s.Timeline {
		if e.Type == typ {
			return true
		}
	}
	return false
}
