package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// program is a worker or starter started by a test beside the stack's, with
// an environment of its own.
type program struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

func (p *program) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *program) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func startProgram(t *testing.T, name string, env map[string]string) *program {
	t.Helper()
	p := &program{cmd: exec.Command(filepath.Join(stack.Bin(), name))}
	// Development mode, as the stack's programs, unless env says otherwise
	// (the last value of a variable wins).
	p.cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "CAREBRIDGE_DEV=true"}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	})
	return p
}

// isolated is the environment of programs that share the stack's Temporal
// and sandbox but not its task queues.
func isolated(t *testing.T, extra map[string]string) (env map[string]string, public, internal string) {
	n := time.Now().UnixNano()
	public, internal = fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env = map[string]string{
		"TEMPORAL_ADDRESS":           stack.TemporalAddr,
		"CAREBRIDGE_CODEC_KEYS":      stack.Env("CAREBRIDGE_CODEC_KEYS"),
		"CAREBRIDGE_TASK_QUEUE":      fmt.Sprintf("subset-%d", n),
		"CAREBRIDGE_SEND_TASK_QUEUE": fmt.Sprintf("subset-sends-%d", n),
		"CAREBRIDGE_HTTP_ADDR":       public,
		"CAREBRIDGE_INTERNAL_ADDR":   internal,
		"CAREBRIDGE_METRICS_ADDR":    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}
	for k, v := range extra {
		env[k] = v
	}
	return env, "http://" + public, "http://" + internal
}

// exitAtStart runs a program that must stop at start (exit status 2) and
// returns what it said.
func exitAtStart(t *testing.T, name string, env map[string]string) string {
	t.Helper()
	p := startProgram(t, name, env)
	err := p.cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s exits at start: %s", name, p.output()) // never env: it holds keys
	assert.Equal(t, 2, exit.ExitCode())
	return p.output()
}

func waitHealthy(t *testing.T, url string, p *program) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "starter never healthy: %s", p.output())
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	return callAs(t, method, url, "", body)
}

// callAs is call with a bearer token (none when empty).
func callAs(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A deployment that only sends leads sets only the send's variables (and
// the codec keys): the send works, the other routes say they are off. With
// eager sends off, the standalone worker runs the send from its own queue.
func TestASendsOnlyDeployment(t *testing.T) {
	send := map[string]string{}
	for _, v := range []string{"ACTIVEPIECES_WEBHOOK_URL", "REALTIME_BASE_URL", "ALLEVIATE_BASE_URL", "ALLEVIATE_API_KEY"} {
		send[v] = stack.Env(v)
	}
	env, public, _ := isolated(t, send)
	worker := startProgram(t, "worker", env)
	env["CAREBRIDGE_EAGER_SENDS"] = "false"
	starter := startProgram(t, "starter", env)
	waitHealthy(t, public, starter)

	status, body := call(t, http.MethodPost, public+"/api/alleviate/send", johnDoe)
	require.Equal(t, http.StatusOK, status, "%s\nworker: %s", body, worker.output())
	assert.Contains(t, body, `"success":true`, "Alleviate's answer")

	for _, route := range []struct{ method, path, off string }{
		{http.MethodPost, "/webhooks/carevalidate", "carevalidate-cases"},
		{http.MethodGet, "/api/cases/c1", "carevalidate-cases"},
		{http.MethodPost, "/webhooks/akute", "akute"},
	} {
		status, body := call(t, route.method, public+route.path, `{}`)
		assert.Equal(t, http.StatusNotFound, status, route.path)
		assert.Contains(t, body, `"code":"integration_off"`, route.path)
		assert.Contains(t, body, route.off+" is not configured on this deployment", route.path)
	}
	assert.Contains(t, starter.output(), `"integrations":"alleviate-send"`, "the starter says what is on")
	assert.Contains(t, worker.output(), `"integrations":"alleviate-send"`, "the worker says what is on")
}

// A URL without its key still stops a program at start, naming the key.
func TestAHalfConfiguredIntegrationStopsTheProgram(t *testing.T) {
	for _, c := range []struct {
		program string
		env     map[string]string
		want    string
	}{
		{"worker", map[string]string{"AKUTE_BASE_URL": "http://127.0.0.1:1"}, "worker: missing required environment variable AKUTE_API_KEY\n"},
		{"worker", map[string]string{"ALLEVIATE_BASE_URL": "http://127.0.0.1:1", "ALLEVIATE_API_KEY": "k"},
			"worker: missing required environment variables ACTIVEPIECES_WEBHOOK_URL, REALTIME_BASE_URL\n"},
		{"starter", map[string]string{"CAREVALIDATE_SIGNING_SECRET": "s"}, "starter: missing required environment variable CAREVALIDATE_AUTH_SECRET\n"},
	} {
		env, _, _ := isolated(t, c.env)
		assert.Equal(t, c.want, exitAtStart(t, c.program, env))
	}
}

// A namespace without carebridge's search attributes: the starter names the
// missing ones and the command that creates them, at start, in /readyz and
// in a refused send's answer, instead of "Temporal unavailable".
func TestMissingSearchAttributesAreNamed(t *testing.T) {
	namespace := fmt.Sprintf("bare-%d", time.Now().UnixNano())
	temporalCLI(t, "operator", "namespace", "create", "--namespace", namespace)
	send := map[string]string{"TEMPORAL_NAMESPACE": namespace}
	for _, v := range []string{"ACTIVEPIECES_WEBHOOK_URL", "REALTIME_BASE_URL", "ALLEVIATE_BASE_URL", "ALLEVIATE_API_KEY"} {
		send[v] = stack.Env(v)
	}
	env, public, internal := isolated(t, send)
	starter := startProgram(t, "starter", env)
	waitHealthy(t, public, starter)

	var ready struct {
		Error struct {
			Code    string   `json:"code"`
			Missing []string `json:"missing"`
			Command string   `json:"command"`
		} `json:"error"`
	}
	require.Eventually(t, func() bool {
		status, body := call(t, http.MethodGet, internal+"/readyz", "")
		return status == http.StatusServiceUnavailable && json.Unmarshal([]byte(body), &ready) == nil && ready.Error.Code == "search_attributes_missing"
	}, 60*time.Second, 250*time.Millisecond, "the new namespace answers")
	assert.Contains(t, ready.Error.Missing, "CarebridgeKind")
	assert.Contains(t, ready.Error.Missing, "AkuteTaskIds")
	assert.Contains(t, ready.Error.Command, "temporal operator search-attribute create --namespace "+namespace+" --name AkutePatientId --type Keyword")
	assert.Contains(t, ready.Error.Command, "--name AkuteTaskIds --type KeywordList")

	status, body := call(t, http.MethodPost, public+"/api/alleviate/send", johnDoe)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body, `"code":"search_attributes_missing"`)
	assert.NotContains(t, body, "temporal_unavailable")
	require.Eventually(t, func() bool {
		return strings.Contains(starter.output(), "the Temporal namespace lacks carebridge's search attributes")
	}, 30*time.Second, 100*time.Millisecond, "said at start")

	// The command it gives, run as given, makes the starter ready.
	args := strings.Fields(strings.TrimPrefix(ready.Error.Command, "temporal "))
	temporalCLI(t, args...)
	require.Eventually(t, func() bool {
		status, _ := call(t, http.MethodGet, internal+"/readyz", "")
		return status == http.StatusOK
	}, 60*time.Second, 250*time.Millisecond, "ready once the attributes exist")
}
