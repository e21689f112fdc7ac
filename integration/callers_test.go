package integration

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/internal/codec"
)

// callers is a starter of the test's own whose API has two named callers
// (CAREBRIDGE_API_KEYS, hashed), on the stack's Temporal and sandbox and on
// queues of its own; it runs its sends itself (eager sends). The stack's
// own starter is configured with CAREBRIDGE_API_TOKENS, which names no
// caller.
type callers struct {
	url         string
	starter     *program
	alpha, beta string // the two callers' keys
}

func startCallers(t *testing.T) *callers {
	t.Helper()
	c := &callers{alpha: rand.Text(), beta: rand.Text()}
	extra := map[string]string{
		"CAREBRIDGE_API_KEYS":        "alpha:" + hashKey(c.alpha) + ",beta:" + hashKey(c.beta),
		"CAREBRIDGE_SEARCH_HASH_KEY": stack.Env("CAREBRIDGE_SEARCH_HASH_KEY"),
		"CAREBRIDGE_SEND_WAIT":       sendWait.String(),
	}
	for _, v := range []string{"ACTIVEPIECES_WEBHOOK_URL", "REALTIME_BASE_URL", "ALLEVIATE_BASE_URL", "ALLEVIATE_API_KEY"} {
		extra[v] = stack.Env(v)
	}
	env, public, _ := isolated(t, extra)
	c.url = public
	c.starter = startProgram(t, "starter", env)
	waitHealthy(t, public, c.starter)
	return c
}

// do calls the callers' starter with key as the bearer key and, when
// given, an Idempotency-Key.
func (c *callers) do(t *testing.T, method, path, key, idempotencyKey, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

// memoOf reads a run's memo field through the stack's codec, as an
// operator's tooling would.
func memoOf(t *testing.T, workflowID, field string) string {
	t.Helper()
	desc, err := temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	require.NoError(t, err)
	payload := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[field]
	require.NotNil(t, payload, "%s has no memo %q", workflowID, field)
	keys, err := codec.ParseKeys(stack.Env("CAREBRIDGE_CODEC_KEYS"))
	require.NoError(t, err)
	var value string
	require.NoError(t, keys.DataConverter().FromPayload(payload, &value))
	return value
}

// leadWithPhone is the reference's lead with another phone: another lead,
// and one to find among Alleviate's.
func leadWithPhone(phone string) string {
	return strings.Replace(johnDoe, "555-123-4567", phone, 1)
}

// uniquePhone is a phone number no other test sends.
func uniquePhone(exchange string) string {
	return fmt.Sprintf("555-%s-%07d", exchange, time.Now().UnixNano()%10_000_000)
}

// leadsWithPhone counts the leads Alleviate received with phone.
func leadsWithPhone(t *testing.T, phone string) int {
	t.Helper()
	n := 0
	for _, l := range leads(t) {
		if l.Phone == phone {
			n++
		}
	}
	return n
}

// Two callers with one Idempotency-Key make two sends: two runs, each
// naming its caller in its memo, two leads at Alleviate; each caller sees
// its own send's status only; the log names the callers, never their keys.
func TestCallersTwoCallersOneKeyGetTwoSends(t *testing.T) {
	c := startCallers(t)
	phone := uniquePhone("201")
	key := "order-" + time.Now().Format(time.RFC3339Nano)

	alpha := c.do(t, http.MethodPost, "/api/alleviate/send", c.alpha, key, leadWithPhone(phone))
	require.Equal(t, http.StatusOK, alpha.status, "%s\n%s", alpha.body, c.starter.output())
	beta := c.do(t, http.MethodPost, "/api/alleviate/send", c.beta, key, leadWithPhone(phone))
	require.Equal(t, http.StatusOK, beta.status, "%s", beta.body)
	assert.Contains(t, string(beta.body), `"success":true`, "Alleviate's own answer")

	alphaID, betaID := alpha.header.Get("X-Workflow-Id"), beta.header.Get("X-Workflow-Id")
	assert.NotEqual(t, alphaID, betaID, "one key, two callers, two sends")
	assert.Equal(t, 2, leadsWithPhone(t, phone), "Alleviate saw both")
	assert.Equal(t, "alpha", memoOf(t, alphaID, "caller"))
	assert.Equal(t, "beta", memoOf(t, betaID, "caller"))

	again := c.do(t, http.MethodPost, "/api/alleviate/send", c.alpha, key, leadWithPhone(phone))
	require.Equal(t, http.StatusOK, again.status, "%s", again.body)
	assert.Equal(t, alphaID, again.header.Get("X-Workflow-Id"), "the same caller's key finds its send")
	assert.Equal(t, string(alpha.body), string(again.body))
	assert.Equal(t, 2, leadsWithPhone(t, phone), "and sends nothing more")

	status := c.do(t, http.MethodGet, "/api/alleviate/send/"+alphaID, c.alpha, "", "")
	assert.Equal(t, http.StatusOK, status.status, "%s", status.body)
	assert.Equal(t, "completed", status.json(t)["status"])
	status = c.do(t, http.MethodGet, "/api/alleviate/send/"+alphaID, c.beta, "", "")
	assert.Equal(t, http.StatusNotFound, status.status, "another caller's send is not found: %s", status.body)

	wrong := c.do(t, http.MethodPost, "/api/alleviate/send", "not-a-key", key, leadWithPhone(phone))
	assert.Equal(t, http.StatusUnauthorized, wrong.status)

	out := c.starter.output()
	var named []string
	for line := range strings.Lines(out) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "http request" {
			continue
		}
		caller, _ := m["caller"].(string)
		wf, _ := m["workflow_id"].(string)
		if caller != "" && wf != "" {
			named = append(named, caller+" "+wf)
		}
	}
	assert.Contains(t, named, "alpha "+alphaID, "the request's line names its caller")
	assert.Contains(t, named, "beta "+betaID)
	assert.NotContains(t, out, c.alpha, "never the key")
	assert.NotContains(t, out, c.beta, "never the key")
}

// A caller's key reused with another lead answers 422 naming
// Idempotency-Key, and sends nothing; the key still answers for its own
// lead.
func TestCallersReusedKeyWithAnotherLeadIs422(t *testing.T) {
	c := startCallers(t)
	first, second := uniquePhone("202"), uniquePhone("203")
	key := "order-" + time.Now().Format(time.RFC3339Nano)

	sent := c.do(t, http.MethodPost, "/api/alleviate/send", c.alpha, key, leadWithPhone(first))
	require.Equal(t, http.StatusOK, sent.status, "%s\n%s", sent.body, c.starter.output())
	id := sent.header.Get("X-Workflow-Id")

	reused := c.do(t, http.MethodPost, "/api/alleviate/send", c.alpha, key, leadWithPhone(second))
	require.Equal(t, http.StatusUnprocessableEntity, reused.status, "%s", reused.body)
	var answer struct {
		Error struct {
			Code   string            `json:"code"`
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(reused.body, &answer), "%s", reused.body)
	assert.Equal(t, "idempotency_key_reused", answer.Error.Code)
	assert.Contains(t, answer.Error.Fields, "Idempotency-Key")
	assert.Equal(t, "application/json", reused.header.Get("Content-Type"))
	assert.Equal(t, id, reused.header.Get("X-Workflow-Id"), "it names the key's send")
	assert.NotContains(t, string(reused.body), second, "no PHI in the answer")
	assert.Zero(t, leadsWithPhone(t, second), "the other lead was not sent")

	again := c.do(t, http.MethodPost, "/api/alleviate/send", c.alpha, key, leadWithPhone(first))
	require.Equal(t, http.StatusOK, again.status, "%s", again.body)
	assert.Equal(t, string(sent.body), string(again.body), "the key's own lead still answers")
	assert.Equal(t, 1, leadsWithPhone(t, first))

	other := c.do(t, http.MethodPost, "/api/alleviate/send", c.beta, key, leadWithPhone(second))
	require.Equal(t, http.StatusOK, other.status, "another caller's same key is its own: %s", other.body)
	assert.Equal(t, 1, leadsWithPhone(t, second))

	fingerprint := memoOf(t, id, "lead_fingerprint")
	assert.Regexp(t, `^[0-9a-f]{8}\.[0-9a-f]{64}$`, fingerprint, "an HMAC, never the lead")
}
