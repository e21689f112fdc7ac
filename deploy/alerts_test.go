//go:build alerts

// make test-alerts: the alert rules and the dashboard proven against the
// running system. The whole stack (dev/devstack) is scraped by a real
// Prometheus (Debian's) with deploy/prometheus/alerts.yml, its "for:"
// shortened; a real Alertmanager routes to a receiver this test holds. A case
// driven into needs-attention fires CarebridgeCaseNeedsAttention; retrying it
// resolves the alert. Every panel of deploy/grafana/carebridge.json is then
// queried and must return series.
package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/internal/headless"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/workflows"
)

const (
	alertsAPIToken      = "alerts-api-token"
	alertsSigningSecret = "alerts-signing-secret"
	// The sandbox's own secrets (cmd/sandbox).
	sandboxCareValidateSecret = "sandbox-carevalidate-secret"
	sandboxAkuteWebhookSecret = "sandbox-akute-webhook-secret"
)

// notification is what Alertmanager posts to a webhook receiver.
type notification struct {
	Status string `json:"status"`
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// receiver holds what Alertmanager posted.
type receiver struct {
	mu  sync.Mutex
	got []notification
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var n notification
	if err := json.NewDecoder(req.Body).Decode(&n); err == nil {
		r.mu.Lock()
		r.got = append(r.got, n)
		r.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

// seen reports whether an alert named name arrived with status.
func (r *receiver) seen(name, status string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.got {
		for _, a := range n.Alerts {
			if a.Labels["alertname"] == name && a.Status == status {
				return true
			}
		}
	}
	return false
}

func TestAlertsAgainstTheRunningSystem(t *testing.T) {
	prometheus := binary(t, "prometheus")
	alertmanager := binary(t, "prometheus-alertmanager", "alertmanager")
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	dir := t.TempDir()
	root, _ := filepath.Abs("..")
	logs, err := os.Create(filepath.Join(dir, "stack.log"))
	require.NoError(t, err)
	defer func() {
		if t.Failed() {
			if b, err := os.ReadFile(logs.Name()); err == nil {
				if len(b) > 20000 {
					b = b[len(b)-20000:]
				}
				t.Logf("---- stack log (tail) ----\n%s", b)
			}
		}
	}()

	stack, err := devstack.Start(ctx, devstack.Options{
		RepoRoot: root, DataDir: filepath.Join(dir, "stack"), Headless: true, Logs: logs,
		Env: map[string]string{
			"CAREBRIDGE_ONCALL_METRICS_INTERVAL": "1s",
			"CAREBRIDGE_API_TOKENS":              alertsAPIToken,
			"CAREBRIDGE_CODEC_AUTH_TOKEN":        "alerts-codec-token",
			"CAREVALIDATE_SIGNING_SECRET":        alertsSigningSecret,
		},
	})
	require.NoError(t, err, "starting the stack")
	defer stack.Stop()
	t.Logf("stack up in %s", time.Since(began).Round(time.Second))

	// Alertmanager, routing every alert to the receiver at once.
	recv := &receiver{}
	hook := httptest.NewServer(recv)
	defer hook.Close()
	amAddr := freeAddr(t)
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), fmt.Sprintf(`route:
  receiver: test
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: %s
        send_resolved: true
`, hook.URL))
	start(t, logs, alertmanager, "--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "alertmanager"), "--web.listen-address="+amAddr, "--cluster.listen-address=")
	waitReady(t, "http://"+amAddr)

	// Prometheus: the committed rules with every "for:" shortened, scraping
	// the starter's internal listener and the worker every second.
	rules, err := os.ReadFile("prometheus/alerts.yml")
	require.NoError(t, err)
	short := regexp.MustCompile(`(?m)^(\s+for:\s*)\S+`).ReplaceAll(rules, []byte("${1}2s"))
	writeFile(t, filepath.Join(dir, "alerts.yml"), string(short))
	promAddr := freeAddr(t)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: carebridge-starter
    static_configs:
      - targets: [%q]
  - job_name: carebridge-worker
    static_configs:
      - targets: [%q]
`, filepath.Join(dir, "alerts.yml"), amAddr, hostOf(t, stack.InternalURL), hostOf(t, stack.WorkerMetricsURL)))
	start(t, logs, prometheus, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus"), "--web.listen-address="+promAddr)
	promURL := "http://" + promAddr
	waitReady(t, promURL)

	// Traffic for the panels: a send, an Akute delivery nobody claims, a
	// codec call without its token.
	status, body := call(t, http.MethodPost, stack.StarterURL+"/api/alleviate/send",
		`{"form_name":"vip_tlc_bunionectomy_ect","phone":"555-123-4567","name":"John Doe","email":"john.doe@example.com","instance_name":"ect"}`,
		map[string]string{"Authorization": "Bearer " + alertsAPIToken, "Content-Type": "application/json"})
	require.Equal(t, http.StatusOK, status, "the send: %s", body)
	unrouted := []byte(`not even json`)
	status, body = call(t, http.MethodPost, stack.StarterURL+"/webhooks/akute", string(unrouted),
		map[string]string{akutewebhook.Header: akutewebhook.Sign([]byte(sandboxAkuteWebhookSecret), time.Now(), unrouted)})
	require.Equal(t, http.StatusAccepted, status, "the unrouted Akute delivery: %s", body)
	status, _ = call(t, http.MethodPost, stack.InternalURL+"/codec/decode", `{"payloads":[]}`, map[string]string{"Content-Type": "application/json"})
	require.Equal(t, http.StatusUnauthorized, status, "the codec endpoint without its token")

	// A case that needs attention: Akute refuses its decision's task (422).
	caseID := fmt.Sprintf("alerts-%d", time.Now().UnixNano())
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: fmt.Sprintf("AL-%d", time.Now().UnixNano()%100000)}, time.Now().Add(-time.Hour))
	sender := carevalidatetest.Sender{URL: stack.StarterURL + "/webhooks/carevalidate", Header: "X-CareValidate-Auth",
		Secret: sandboxCareValidateSecret, SigningSecret: alertsSigningSecret}
	deliver := func(b []byte) {
		status, answer, err := sender.Send(b)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, status, "answer: %s", answer)
	}
	deliver(steps[0].Body)
	require.Eventually(t, func() bool {
		status, body := call(t, http.MethodGet, stack.StarterURL+"/api/cases/"+caseID, "", map[string]string{"Authorization": "Bearer " + alertsAPIToken})
		var s workflows.CaseState
		return status == http.StatusOK && json.Unmarshal(body, &s) == nil && s.Akute.PatientID != "" && len(s.Pending) == 0
	}, 2*time.Minute, 250*time.Millisecond, "the case synced its patient to Akute")
	akute := fake.Control{URL: stack.SandboxURL + "/akute/v1"}
	require.NoError(t, akute.Inject(fake.Fault{Status: http.StatusUnprocessableEntity, Body: `{"statusCode":422,"error":"refused"}`, Times: 1, Only: "POST /tasks"}))
	deliver(steps[2].Body) // a decision: its task is refused
	attentionAt := time.Now()

	const alert = "CarebridgeCaseNeedsAttention"
	require.Eventually(t, func() bool { return recv.seen(alert, "firing") }, 3*time.Minute, 250*time.Millisecond,
		"%s never reached the receiver firing (received: %+v)", alert, recv.got)
	t.Logf("proved: %s fired and reached Alertmanager's receiver %s after the case needed attention",
		alert, time.Since(attentionAt).Round(100*time.Millisecond))

	// What the operator sees: Prometheus' own alerts page, in a browser.
	t.Run("prometheus alerts page", func(t *testing.T) { prometheusPage(t, root, promURL, alert) })

	// Every dashboard panel's query parses and returns series.
	checkPanels(t, promURL)

	// The operator retries: the case runs again and the alert resolves.
	retryAt := time.Now()
	out, err := exec.Command(stack.TemporalCLI(), "workflow", "signal", "--workflow-id", workflows.CaseWorkflowID(caseID),
		"--name", workflows.SignalRetry, "--address", stack.TemporalAddr).CombinedOutput()
	require.NoError(t, err, "temporal workflow signal retry: %s", out)
	require.Eventually(t, func() bool { return recv.seen(alert, "resolved") }, 3*time.Minute, 250*time.Millisecond,
		"%s never reached the receiver resolved", alert)
	t.Logf("proved: %s resolved and reached the receiver %s after the retry",
		alert, time.Since(retryAt).Round(100*time.Millisecond))
	t.Logf("whole run: %s", time.Since(began).Round(time.Second))
}

// prometheusPage renders Prometheus' alerts page in headless Chromium while
// alert fires: the rendered page must show it firing; its screenshot goes to
// ui-results/prometheus-alerts.png (docs/operations.md shows it). Debian's
// Prometheus serves its classic UI (/classic/alerts); Debian's Alertmanager
// ships no web UI at all, so Prometheus' page is the one shown.
func prometheusPage(t *testing.T, root, promURL, alert string) {
	chromium := headless.Chromium(t)
	out := filepath.Join(root, "ui-results")
	require.NoError(t, os.MkdirAll(out, 0o755))
	page := promURL + "/classic/alerts"
	require.Eventually(t, func() bool {
		dom, err := headless.DOM(t, chromium, page)
		return err == nil && firingIn(dom, alert)
	}, time.Minute, time.Second, "%s: the rendered page never showed %s firing", page, alert)
	t.Logf("proved: %s, rendered in Chromium, shows %s firing", page, alert)
	shot := filepath.Join(out, "prometheus-alerts.png")
	require.NoError(t, headless.Screenshot(t, chromium, page, shot))
	t.Logf("screenshot: %s", shot)
}

// firingIn reports whether Prometheus' classic alerts page, as rendered,
// lists the rule alert with an active alert in state firing: the rule's row
// (<b>name</b> (n active)) up to the next rule's.
func firingIn(dom, alert string) bool {
	_, rest, ok := strings.Cut(dom, "<b>"+alert+"</b>")
	if !ok || !regexp.MustCompile(`^\s*\([1-9][0-9]* active\)`).MatchString(rest) {
		return false
	}
	rest, _, _ = strings.Cut(rest, "<b>")
	return strings.Contains(rest, `alertname="`+alert+`"`) && strings.Contains(rest, ">firing<")
}

// checkPanels runs every target of the dashboard against Prometheus: each
// must parse and, once the traffic above has been scraped, return series.
func checkPanels(t *testing.T, promURL string) {
	t.Helper()
	raw, err := os.ReadFile("grafana/carebridge.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.Panels)
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has a query", p.Title)
		for _, target := range p.Targets {
			var last, unparsed string
			require.Eventually(t, func() bool {
				status, body := call(t, http.MethodGet, promURL+"/api/v1/query?query="+url.QueryEscape(target.Expr), "", nil)
				last = string(body)
				if status == http.StatusBadRequest {
					unparsed = last
					return true
				}
				var answer struct {
					Status string `json:"status"`
					Data   struct {
						Result []json.RawMessage `json:"result"`
					} `json:"data"`
				}
				return status == http.StatusOK && json.Unmarshal(body, &answer) == nil && answer.Status == "success" && len(answer.Data.Result) > 0
			}, 2*time.Minute, time.Second, "panel %q: %s returned no series (last answer %s)", p.Title, target.Expr, last)
			require.Empty(t, unparsed, "panel %q: %s does not parse", p.Title, target.Expr)
			t.Logf("panel %q: %s returns series", p.Title, target.Expr)
		}
	}
}

// binary finds the first of names on PATH; make test-alerts installs them.
func binary(t *testing.T, names ...string) string {
	t.Helper()
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatalf("%s not found: make test-alerts installs Debian's prometheus and prometheus-alertmanager", strings.Join(names, " or "))
	return ""
}

// start runs a program until the test ends.
func start(t *testing.T, logs io.Writer, path string, args ...string) {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start(), "starting %s", path)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

// waitReady waits for a Prometheus-family server's /-/ready.
func waitReady(t *testing.T, base string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, 100*time.Millisecond, "%s never ready", base)
}

func call(t *testing.T, method, target, body string, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Host
}
