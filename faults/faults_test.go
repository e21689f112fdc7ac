//go:build faults

// Package faults puts the real stack under load and breaks it: upstreams
// failing, hanging and dropping connections, the worker killed, the Temporal
// server and the starter restarted, duplicate deliveries. After each, every
// send and every case must complete, nothing lost. An Akute task is made
// exactly once: a create left without an answer is confirmed by Akute's
// webhook, or an operator decides (as the runbook says: the task is in
// Akute, skip; it is not, retry). A lead may reach Alleviate twice only where
// Alleviate saw the first attempt and its answer was lost (at-least-once).
//
// Run with `make test-faults` (go test -tags faults ./faults).
package faults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/workflows"
)

const (
	sendsPerScenario = 20
	casesPerScenario = 5
	eventsPerCase    = 8
	tasksPerCase     = 2 // the scripted case: a decision and a tracking task
)

// loadKey is the load's API key: on the production topology the starter
// knows the OpenID Connect provider, and then its API is never open.
const loadKey = "faults-load-key"

// loadKeyHash is what CAREBRIDGE_API_KEYS holds of loadKey.
func loadKeyHash() string {
	sum := sha256.Sum256([]byte(loadKey))
	return hex.EncodeToString(sum[:])
}

// server picks the Temporal server: the dev server, "postgres" for
// Temporal's own server on PostgreSQL with two workers (make test-postgres),
// or "cluster" for it as a cluster of separate services with two starters
// behind nginx and two workers (make test-cluster).
var server = flag.String("server", "", `"postgres": Temporal's own server on PostgreSQL; "cluster": the same as a cluster of separate services`)

var (
	stack   *devstack.Stack
	sandbox struct{ activepieces, realtime, alleviate, akute fake.Control }
	client  = &http.Client{Timeout: 30 * time.Second}
)

func TestMain(m *testing.M) {
	flag.Parse()
	root, _ := filepath.Abs("..")
	dir, _ := os.MkdirTemp("", "carebridge-faults-")
	defer os.RemoveAll(dir)
	logPath := filepath.Join(dir, "stack.log")
	if keep := os.Getenv("CAREBRIDGE_STACK_LOG"); keep != "" {
		logPath = keep // kept after the run, for whoever debugs it
	}
	logs, _ := os.Create(logPath)
	var err error
	workers := 1
	if *server != "" {
		workers = 2
	}
	stack, err = devstack.Start(context.Background(), devstack.Options{
		RepoRoot: root, DataDir: dir, Headless: true, Logs: logs, Server: *server, Workers: workers,
		Env: map[string]string{
			// Short client timeouts so a hung upstream is a timeout in seconds.
			"ALLEVIATE_TIMEOUT": "2s", "REALTIME_TIMEOUT": "2s", "AKUTE_TIMEOUT": "2s", "ACTIVEPIECES_TIMEOUT": "2s",
			"CAREBRIDGE_SEND_WAIT":          "3s",
			"CAREBRIDGE_CASE_ARCHIVE_GRACE": "1s",
			// An unanswered create Akute never made asks its operator soon.
			"CAREBRIDGE_CASE_CONFIRM_WAIT": "5s",
			"CAREBRIDGE_API_KEYS":          "faults:" + loadKeyHash(),
		},
	})
	if err != nil {
		fmt.Println("faults: starting the stack:", err)
		os.Exit(1)
	}
	// The temporal CLI reaches Temporal's server on PostgreSQL with an
	// operator's client certificate (mTLS): TEMPORAL_TLS_* of ClientEnv.
	// The programs run in development mode, on loopback; the load presents
	// its API key.
	for k, v := range stack.ClientEnv() {
		os.Setenv(k, v)
	}
	sandbox.activepieces = fake.Control{URL: stack.SandboxURL + "/activepieces"}
	sandbox.realtime = fake.Control{URL: stack.SandboxURL + "/realtime"}
	sandbox.alleviate = fake.Control{URL: stack.SandboxURL + "/alleviate"}
	sandbox.akute = fake.Control{URL: stack.SandboxURL + "/akute/v1"}
	code := m.Run()
	stack.Stop()
	if code != 0 {
		if b, err := os.ReadFile(filepath.Join(dir, "stack.log")); err == nil && len(b) > 30000 {
			fmt.Printf("---- stack log (tail) ----\n%s\n", b[len(b)-30000:])
		}
	}
	os.Exit(code)
}

// tally is what a scenario counts.
type tally struct {
	sent, acknowledged, completed          atomic.Int64 // sends
	events, eventsAcked                    atomic.Int64 // webhook deliveries (distinct events)
	refused503                             atomic.Int64 // 503s the starter answered (then retried)
	applied, duplicated, atLeastOnce, lost int
	operatorDecisions                      int // unanswered creates an operator resolved
}

func (c *tally) String() string {
	return fmt.Sprintf("sends %d sent / %d acknowledged / %d completed; events %d sent / %d acknowledged / %d applied; "+
		"503s retried %d; operator decisions %d; duplicated %d; at-least-once %d; lost %d",
		c.sent.Load(), c.acknowledged.Load(), c.completed.Load(), c.events.Load(), c.eventsAcked.Load(), c.applied,
		c.refused503.Load(), c.operatorDecisions, c.duplicated, c.atLeastOnce, c.lost)
}

// load is one scenario's traffic: sends with Idempotency-Keys and cases'
// webhooks, each retried by its sender until acknowledged, as a careful
// client (and CareValidate) would.
type load struct {
	name   string
	phones []string
	cases  []string
	shorts []string // the cases' short ids, which tag their Akute tasks
	tally  *tally
	wg     sync.WaitGroup
}

func startLoad(t *testing.T, name string) *load {
	t.Helper()
	l := &load{name: name, tally: &tally{}}
	run := time.Now().UnixNano()
	for i := range sendsPerScenario {
		phone := fmt.Sprintf("555-%d-%04d", run%100000, i)
		l.phones = append(l.phones, phone)
		l.wg.Go(func() { l.send(t, phone, fmt.Sprintf("%s-%d-%d", name, run, i)) })
		time.Sleep(50 * time.Millisecond) // spread over the fault window
	}
	for i := range casesPerScenario {
		l.addCase(t, fmt.Sprintf("%d-%d", run, i))
	}
	return l
}

// addCase adds a case to the load, its deliveries spread over the fault
// window.
func (l *load) addCase(t *testing.T, suffix string) {
	id, short := l.name+"-"+suffix, "F"+suffix[max(0, len(suffix)-8):]
	l.cases, l.shorts = append(l.cases, id), append(l.shorts, short)
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: id, ShortID: short}, time.Now().Add(-time.Hour))
	l.wg.Go(func() {
		for _, step := range steps {
			l.deliver(t, step.Body)
			time.Sleep(150 * time.Millisecond) // a case's life spans the fault window
		}
	})
}

func (l *load) send(t *testing.T, phone, key string) {
	l.tally.sent.Add(1)
	body := fmt.Sprintf(`{"form_name":"faults","phone":%q,"name":"John Doe","email":"john.doe@example.com","instance_name":"ect"}`, phone)
	deadline := time.Now().Add(3 * time.Minute)
	acked := false
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodPost, stack.StarterURL+"/api/alleviate/send", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Authorization", "Bearer "+loadKey)
		resp, err := client.Do(req)
		if err != nil {
			time.Sleep(300 * time.Millisecond) // the starter is restarting
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			l.tally.refused503.Add(1)
			time.Sleep(300 * time.Millisecond)
			continue
		}
		if !acked && resp.Header.Get("X-Workflow-Id") != "" {
			acked = true
			l.tally.acknowledged.Add(1)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			l.tally.completed.Add(1)
			return
		case http.StatusAccepted: // still running: ask again with the same key
			time.Sleep(500 * time.Millisecond)
		default:
			t.Errorf("send %s: HTTP %d %s", key, resp.StatusCode, b)
			return
		}
	}
	t.Errorf("send %s never completed", key)
}

func (l *load) deliver(t *testing.T, body []byte) {
	l.tally.events.Add(1)
	sender := carevalidatetest.Sender{URL: stack.StarterURL + "/webhooks/carevalidate",
		Header: stack.Env("CAREVALIDATE_AUTH_HEADER"), Secret: stack.Env("CAREVALIDATE_AUTH_SECRET"), Client: client}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		status, answer, err := sender.Send(body)
		switch {
		case err != nil:
			time.Sleep(300 * time.Millisecond)
		case status == http.StatusAccepted:
			l.tally.eventsAcked.Add(1)
			return
		case status == http.StatusServiceUnavailable:
			l.tally.refused503.Add(1)
			time.Sleep(300 * time.Millisecond)
		default:
			t.Errorf("webhook: HTTP %d %s", status, answer)
			return
		}
	}
	t.Errorf("a webhook was never acknowledged")
}

// settle waits for the traffic and for every case (deciding, as an
// operator, the creates Akute neither answered nor notified), then counts
// what the upstreams received. atLeastOnce says whether the scenario can
// make Alleviate see a request whose answer was lost.
func (l *load) settle(t *testing.T, atLeastOnce bool) {
	t.Helper()
	l.wg.Wait()
	c := l.tally
	decided := map[string]bool{} // each case's attention once
	for _, id := range l.cases {
		var s workflows.CaseState
		require.Eventually(t, func() bool {
			s = caseOf(id)
			if a := s.Attention; a != nil && a.ErrorType == activities.ErrTypeAkuteAmbiguous && !decided[id+a.Since.String()] {
				decided[id+a.Since.String()] = true
				c.operatorDecisions++
				l.decide(t, id, a.Item.Task.Title)
			}
			return s.EventsApplied == eventsPerCase && len(s.Pending) == 0 && len(s.Unconfirmed) == 0 && s.Attention == nil
		}, 2*time.Minute, 200*time.Millisecond, "case %s applied %d of %d events, %d calls pending, %d unconfirmed, attention %v",
			id, s.EventsApplied, eventsPerCase, len(s.Pending), len(s.Unconfirmed), s.Attention)
		c.applied += s.EventsApplied
	}
	// Alleviate: one lead per send.
	var leads []alleviate.Lead
	require.NoError(t, sandbox.alleviate.Get("/_sandbox/leads", &leads))
	perPhone := map[string]int{}
	for _, lead := range leads {
		perPhone[lead.Phone]++
	}
	// Akute: the case tasks, exactly once each.
	tasks := akuteTasks(t)
	c.duplicated = countTasks(tasks, l.shorts) - tasksPerCase*len(l.cases)
	extra := 0
	for _, phone := range l.phones {
		switch n := perPhone[phone]; {
		case n == 0:
			c.lost++
		case n > 1:
			extra += n - 1
		}
	}
	if atLeastOnce {
		c.atLeastOnce = extra
	} else {
		c.duplicated += extra
	}
	c.lost += int(c.sent.Load()-c.completed.Load()) + int(c.events.Load()-c.eventsAcked.Load())
	t.Logf("%s: %s", l.name, c)
	assert.Zero(t, c.lost, "lost")
	assert.Zero(t, c.duplicated, "duplicated effects: Akute tasks always, Alleviate leads where it never saw a first attempt")
	assert.Equal(t, c.sent.Load(), c.completed.Load())
	assert.Equal(t, eventsPerCase*len(l.cases), c.applied)
}

// countTasks counts the Akute tasks tagged with one of the cases.
func countTasks(tasks []akute.Task, shorts []string) int {
	mine := map[string]bool{}
	for _, short := range shorts {
		mine["case:"+short] = true
	}
	n := 0
	for _, task := range tasks {
		for _, tag := range task.Tags {
			if mine[tag] {
				n++
			}
		}
	}
	return n
}

// caseOf is a case as GET /api/cases/{id} answers it (zero when it does not).
func caseOf(id string) workflows.CaseState {
	var s workflows.CaseState
	req, _ := http.NewRequest(http.MethodGet, stack.StarterURL+"/api/cases/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+loadKey)
	resp, err := client.Do(req)
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&s)
	return s
}

func akuteTasks(t *testing.T) []akute.Task {
	t.Helper()
	var tasks []akute.Task
	require.NoError(t, sandbox.akute.Get("/_sandbox/tasks", &tasks))
	return tasks
}

// decide is the runbook's answer to AkuteAmbiguousCreate: look in Akute for
// the task; there, skip the create; not there, retry it.
func (l *load) decide(t *testing.T, caseID, title string) {
	t.Helper()
	action := workflows.SignalRetry
	for _, task := range akuteTasks(t) {
		if task.Task == title {
			action = workflows.SignalSkip
		}
	}
	out, err := exec.Command(stack.TemporalCLI(), "workflow", "signal", "--workflow-id", workflows.CaseWorkflowID(caseID),
		"--name", action, "--address", stack.TemporalAddr).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

func reset(t *testing.T) {
	t.Helper()
	for _, c := range []fake.Control{sandbox.activepieces, sandbox.realtime, sandbox.alleviate, sandbox.akute} {
		require.NoError(t, c.Reset())
	}
}

// faultFor injects faults, lets the load run into them, then clears them.
func faultFor(t *testing.T, d time.Duration, faults map[fake.Control]fake.Fault) {
	t.Helper()
	for c, f := range faults {
		require.NoError(t, c.Inject(f))
	}
	time.Sleep(d)
	for c := range faults {
		require.NoError(t, c.Reset())
	}
}

func TestUpstreamErrorsThenRecovery(t *testing.T) {
	reset(t)
	l := startLoad(t, "errors")
	faultFor(t, 4*time.Second, map[fake.Control]fake.Fault{
		sandbox.alleviate: {Status: 500},
		sandbox.realtime:  {Status: 503},
		sandbox.akute:     {Status: 429, RetryAfter: "1"},
	})
	l.settle(t, false)
}

func TestUpstreamsDropConnections(t *testing.T) {
	reset(t)
	l := startLoad(t, "drops")
	faultFor(t, 4*time.Second, map[fake.Control]fake.Fault{
		sandbox.alleviate: {Drop: true},
		sandbox.akute:     {Drop: true},
	})
	l.settle(t, false)
}

// A hung upstream answers after our timeout: it saw the request, we did not
// see its answer, so the retry is a second request. Counted as at-least-once.
func TestUpstreamsHangPastTheirTimeout(t *testing.T) {
	reset(t)
	l := startLoad(t, "hangs")
	faultFor(t, 4*time.Second, map[fake.Control]fake.Fault{
		sandbox.alleviate: {Latency: 3 * time.Second},
		sandbox.akute:     {Latency: 3 * time.Second},
	})
	l.settle(t, true)
}

// A worker killed mid-call may have reached an upstream: at-least-once for
// Alleviate; Akute's task is confirmed by its webhook, or an operator decides.
func TestWorkerKilledMidLoad(t *testing.T) {
	reset(t)
	require.NoError(t, sandbox.alleviate.SetLatency(300*time.Millisecond))
	require.NoError(t, sandbox.akute.SetLatency(300*time.Millisecond))
	l := startLoad(t, "sigkill")
	time.Sleep(700 * time.Millisecond)
	stack.Signal("worker", syscall.SIGKILL)
	if *server != "" {
		// Two workers: the other one finishes the work alone.
		require.NoError(t, sandbox.alleviate.SetLatency(0))
		require.NoError(t, sandbox.akute.SetLatency(0))
		l.settle(t, true)
		require.NoError(t, stack.StartWorker())
		return
	}
	time.Sleep(2 * time.Second)
	require.NoError(t, stack.StartWorker())
	require.NoError(t, sandbox.alleviate.SetLatency(0))
	require.NoError(t, sandbox.akute.SetLatency(0))
	l.settle(t, true)
}

// PostgreSQL stopped and started again mid-load: Temporal cannot record
// anything meanwhile, so the starter answers 503 and senders retry; once it
// is back nothing is lost.
func TestDatabaseRestartedMidLoad(t *testing.T) {
	if *server == "" {
		t.Skip("the dev server keeps its state in SQLite: run with -server postgres (make test-postgres)")
	}
	reset(t)
	// Stopped while startLoad still issues sends (it spreads them over a
	// second): eager sends finish in about 100 ms, so an outage after it
	// would meet only webhooks, which wait for the database instead.
	stopped := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		stopped <- stack.StopPostgres()
	}()
	l := startLoad(t, "postgres")
	require.NoError(t, <-stopped)
	time.Sleep(4 * time.Second)
	require.NoError(t, stack.StartPostgres())
	l.settle(t, false)
	assert.Positive(t, l.tally.refused503.Load(), "while PostgreSQL was down the starter answered 503")
}

func TestTemporalRestartedMidLoad(t *testing.T) {
	reset(t)
	l := startLoad(t, "temporal")
	time.Sleep(300 * time.Millisecond)
	stack.Signal("temporal", syscall.SIGTERM)
	// Once the starter finds Temporal gone (its readiness says so), one more
	// case arrives: its deliveries meet Temporal down, whatever the load's
	// own timing, and are answered 503 until it is back.
	require.Eventually(t, func() bool {
		resp, err := client.Get(stack.InternalURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	}, time.Minute, 100*time.Millisecond, "the starter never found Temporal down")
	l.addCase(t, fmt.Sprintf("%d-down", time.Now().UnixNano()))
	// Temporal stays down until the starter has answered a delivery 503
	// (its wait for Temporal is bounded): a restart quicker than that
	// bound would otherwise let every delivery through late but whole.
	require.Eventually(t, func() bool { return l.tally.refused503.Load() > 0 }, time.Minute, 100*time.Millisecond,
		"while Temporal was down the starter never answered 503")
	require.NoError(t, stack.RestartTemporal(context.Background()))
	l.settle(t, false)
}

func TestStarterRestartedMidLoad(t *testing.T) {
	reset(t)
	l := startLoad(t, "starter")
	time.Sleep(500 * time.Millisecond)
	stack.Signal("starter", syscall.SIGTERM)
	require.NoError(t, stack.StartStarter(context.Background()))
	l.settle(t, false)
}

// The starter killed while its own send worker runs sends it started
// eagerly: their workflow tasks time out and the standalone worker, which
// polls the sends' queue too, finishes them. A send killed mid-call may
// have reached Alleviate: at-least-once.
func TestStarterKilledMidEagerSend(t *testing.T) {
	reset(t)
	// Sends stay in flight past startLoad (which spreads them over a
	// second), under the 2 s ALLEVIATE_TIMEOUT.
	require.NoError(t, sandbox.alleviate.SetLatency(1500*time.Millisecond))
	l := startLoad(t, "eager")
	time.Sleep(200 * time.Millisecond)
	stack.Signal("starter", syscall.SIGKILL)
	require.NoError(t, sandbox.alleviate.SetLatency(0))
	require.NoError(t, stack.StartStarter(context.Background()))
	l.settle(t, true)
}

func TestDuplicateDeliveryBurst(t *testing.T) {
	reset(t)
	l := &load{name: "duplicates", tally: &tally{}}
	run := time.Now().UnixNano()
	for i := range casesPerScenario {
		id, short := fmt.Sprintf("dup-%d-%d", run, i), fmt.Sprintf("D%d-%d", run%100000, i)
		l.cases, l.shorts = append(l.cases, id), append(l.shorts, short)
		steps := carevalidatetest.Script(carevalidatetest.Case{ID: id, ShortID: short}, time.Now().Add(-time.Hour))
		for _, step := range steps {
			for range 5 { // every event delivered five times at once
				l.wg.Go(func() { l.deliver(t, step.Body) })
			}
			l.wg.Wait()
		}
	}
	l.settle(t, false)
}

// Akute answers task creates after the client's timeout (2 s here), having
// made them, under load: each create is confirmed by Akute's task.created
// webhook, never made twice, and no operator is needed.
func TestAkuteAnswersCreatesAfterTheTimeout(t *testing.T) {
	reset(t)
	l := startLoad(t, "late-creates")
	faultFor(t, 4*time.Second, map[fake.Control]fake.Fault{
		sandbox.akute: {AnswerLate: 3 * time.Second, Only: "POST /tasks"},
	})
	l.settle(t, false)
	assert.Zero(t, l.tally.operatorDecisions, "every unanswered create was confirmed by Akute's webhook")
	unanswered := 0
	for _, id := range l.cases {
		for _, e := range caseOf(id).Timeline {
			if e.Type == "akute:task_unconfirmed" {
				unanswered++
			}
		}
	}
	t.Logf("creates that went unanswered and were confirmed: %d", unanswered)
	assert.Positive(t, unanswered, "the fault was met")
}
