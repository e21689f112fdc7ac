// Command histories records the workflow histories that the replay test
// (workflows/replay_test.go) replays on every change: it starts the real
// stack (devstack: the Temporal dev server, the sandbox, the worker, the
// starter) with the test-only codec key kept beside the histories, drives
// each scenario as a user and an operator would (HTTP, the sandbox, the
// temporal CLI), and exports every run of every workflow it made with
// `temporal workflow show --output json`.
//
//	make histories                      # every scenario, on this checkout
//	go run ./cmd/histories -only case-pause-resume
//	go run ./cmd/histories -repo ../old -only send-v0   # see the histories' README
//
// Only synthetic data goes in: the sandbox's patients and scripted cases.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/workflows"
)

// Settings of the recording stack: small enough that a case continues as
// new after a burst, short enough that archived cases complete at once.
const (
	maxSignals   = "25"
	archiveGrace = "2s"
	waitLimit    = 90 * time.Second
)

func main() {
	repo := flag.String("repo", ".", "the carebridge checkout whose worker, starter and sandbox run (an older commit, for an old version)")
	out := flag.String("out", "workflows/testdata/histories", "where the histories go; its codec-keys file is the test-only key")
	only := flag.String("only", "", "comma-separated scenarios (default: every one not recorded yet, but send-v0)")
	overwrite := flag.Bool("overwrite", false, "record again over existing files (never for a released version)")
	logPath := flag.String("log", "", "write the stack's output here")
	flag.Parse()

	var names []string
	for _, s := range scenarios {
		named := slices.Contains(strings.Split(*only, ","), s.name)
		recorded := exists(*out, s.name)
		switch {
		case named && recorded && !*overwrite:
			fmt.Fprintf(os.Stderr, "histories: %s is recorded already; a released version's history is kept as it is (-overwrite to replace it)\n", s.name)
			os.Exit(2)
		case named || (*only == "" && !s.explicit && !recorded):
			names = append(names, s.name)
		}
	}
	if len(names) == 0 {
		fmt.Println("every scenario is recorded; -only names one to record")
		return
	}
	if err := record(*repo, *out, names, *logPath); err != nil {
		fmt.Fprintln(os.Stderr, "histories:", err)
		os.Exit(1)
	}
}

// exists reports whether a scenario's history (or its first run) is in dir.
func exists(dir, name string) bool {
	for _, f := range []string{name + ".json", name + ".run1.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

func record(repo, out string, names []string, logPath string) error {
	var chosen []scenario
	for _, name := range names {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == name })
		if i < 0 {
			return fmt.Errorf("no scenario %q", name)
		}
		chosen = append(chosen, scenarios[i])
	}
	keys, err := os.ReadFile(filepath.Join(out, "codec-keys"))
	if err != nil {
		return fmt.Errorf("the test-only codec key: %w", err)
	}
	repoRoot, err := filepath.Abs(repo)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "carebridge-histories-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var logs io.Writer = io.Discard
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		logs = f
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	fmt.Println("starting the stack from", repoRoot)
	stack, err := devstack.Start(ctx, devstack.Options{
		RepoRoot: repoRoot, DataDir: dir, Headless: true, Logs: logs,
		Env: map[string]string{
			"CAREBRIDGE_CODEC_KEYS":         strings.TrimSpace(string(keys)),
			"CAREBRIDGE_CASE_MAX_SIGNALS":   maxSignals,
			"CAREBRIDGE_CASE_ARCHIVE_GRACE": archiveGrace,
		},
	})
	if err != nil {
		return err
	}
	defer stack.Stop()
	c, err := codec.ParseKeys(stack.Env("CAREBRIDGE_CODEC_KEYS"))
	if err != nil {
		return err
	}
	tc, err := client.Dial(client.Options{HostPort: stack.TemporalAddr, DataConverter: c.DataConverter(),
		FailureConverter: c.FailureConverter()})
	if err != nil {
		return err
	}
	defer tc.Close()
	d := &driver{ctx: ctx, stack: stack, temporal: tc, out: out, akute: fake.Control{URL: stack.SandboxURL + "/akute/v1"}}
	for _, s := range chosen {
		fmt.Printf("%-28s ", s.name)
		d.scenario = s.name
		ids, err := s.run(d)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		files, err := d.export(ids)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if s.check != nil {
			if err := s.check(out, files); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
		fmt.Println(strings.Join(files, " "))
	}
	return nil
}

// driver drives the stack as a user, CareValidate, Akute and an operator.
type driver struct {
	ctx      context.Context
	stack    *devstack.Stack
	temporal client.Client
	out      string
	scenario string
	seq      int
	akute    fake.Control // the sandbox's Akute
}

// caseIDs are new and stable enough to read: the scenario's name and a count.
func (d *driver) newCase() (caseID, shortID string) {
	d.seq++
	caseID = fmt.Sprintf("hist-%s-%d", d.scenario, d.seq)
	return caseID, fmt.Sprintf("HIST-%d%02d", time.Now().Unix()%100000, d.seq)
}

// send posts a lead and returns its workflow id.
func (d *driver) send(lead map[string]string, wantStatus int) (string, error) {
	body, _ := json.Marshal(lead)
	resp, err := http.Post(d.stack.StarterURL+"/api/alleviate/send", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		return "", fmt.Errorf("send: HTTP %d, want %d: %s", resp.StatusCode, wantStatus, answer)
	}
	return resp.Header.Get("X-Workflow-Id"), nil
}

func (d *driver) deliver(bodies ...[]byte) error {
	sender := carevalidatetest.Sender{URL: d.stack.StarterURL + "/webhooks/carevalidate",
		Header: "X-CareValidate-Auth", Secret: d.stack.Env("CAREVALIDATE_AUTH_SECRET")}
	for _, body := range bodies {
		status, answer, err := sender.Send(body)
		if err != nil {
			return err
		}
		if status != http.StatusAccepted {
			return fmt.Errorf("carevalidate webhook: HTTP %d: %s", status, answer)
		}
	}
	return nil
}

// akuteSandbox posts to one of the Akute fake's own routes, which send
// Akute's signed webhooks to the starter.
func (d *driver) akuteSandbox(path string, body any) error {
	b, _ := json.Marshal(body)
	resp, err := http.Post(d.stack.SandboxURL+"/akute/v1"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct {
		WebhookStatus int `json:"webhook_status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.WebhookStatus != http.StatusAccepted {
		return fmt.Errorf("akute sandbox %s: HTTP %d, webhook %d", path, resp.StatusCode, answer.WebhookStatus)
	}
	return nil
}

// outage makes the sandbox's Akute answer 503 to its next n requests, with
// a clean record.
func (d *driver) outage(n int) error {
	if err := d.akute.Reset(); err != nil {
		return err
	}
	return d.akute.Inject(fake.Fault{Status: http.StatusServiceUnavailable, Times: n})
}

// waitOutageMet waits until a call has met the outage (a 503 answered).
func (d *driver) waitOutageMet() error {
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got, err := d.akute.Requests()
		if err == nil && slices.ContainsFunc(got, func(r fake.Request) bool { return r.Fault }) {
			return nil
		}
	}
	return errors.New("no call reached the sandbox's Akute")
}

// signal sends an operator's signal with the temporal CLI, as the README says.
func (d *driver) signal(caseID, name string) error {
	out, err := exec.Command(d.stack.TemporalCLI(), "workflow", "signal", "--address", d.stack.TemporalAddr,
		"--workflow-id", workflows.CaseWorkflowID(caseID), "--name", name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("temporal workflow signal %s: %v: %s", name, err, out)
	}
	return nil
}

// syncedCase starts a scripted case with its first event and waits until
// its patient is synced; it returns the case's id and script.
func (d *driver) syncedCase() (string, [][]byte, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s[0]); err != nil {
		return "", nil, err
	}
	_, err := d.waitCase(caseID, "patient synced", synced)
	return caseID, s, err
}

// update runs an operator update with the temporal CLI, as the README
// says (through the codec endpoint, which decrypts a refusal's reason), and
// checks that it was accepted or refused.
func (d *driver) update(caseID, name string, accepted bool) error {
	out, err := exec.Command(d.stack.TemporalCLI(), "workflow", "update", "execute", "--address", d.stack.TemporalAddr,
		"--workflow-id", workflows.CaseWorkflowID(caseID), "--name", name, "--codec-endpoint", d.stack.InternalURL+"/codec").CombinedOutput()
	if (err == nil) != accepted || (!accepted && !bytes.Contains(out, []byte(name+" refused"))) {
		return fmt.Errorf("temporal workflow update execute %s: accepted %v, want %v: %s", name, err == nil, accepted, out)
	}
	return nil
}

// waitCase polls GET /api/cases/{id} until ok holds.
func (d *driver) waitCase(caseID, what string, ok func(workflows.CaseState) bool) (workflows.CaseState, error) {
	deadline := time.Now().Add(waitLimit)
	var s workflows.CaseState
	for time.Now().Before(deadline) {
		resp, err := http.Get(d.stack.StarterURL + "/api/cases/" + caseID)
		if err == nil {
			s = workflows.CaseState{} // a field the answer omits is empty, not the last answer's
			if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&s) == nil && ok(s) {
				resp.Body.Close()
				return s, nil
			}
			resp.Body.Close()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return s, fmt.Errorf("case %s never reached: %s (status %s, pending %+v, attention %+v, akute %+v, %d tasks)",
		caseID, what, s.CarebridgeStatus, s.Pending, s.Attention, s.Akute, len(s.Tasks))
}

// export waits until each workflow is closed or idle, then writes every run
// of it, oldest first: <scenario>.json, or <scenario>.runN.json when the
// scenario's workflow continued as new.
func (d *driver) export(ids []string) ([]string, error) {
	var files []string
	for _, id := range ids {
		runs, err := d.runs(id)
		if err != nil {
			return nil, err
		}
		for i, run := range runs {
			name := d.scenario
			if len(ids) > 1 {
				name += "." + id
			}
			if len(runs) > 1 {
				name += fmt.Sprintf(".run%d", i+1)
			}
			file := filepath.Join(d.out, name+".json")
			out, err := exec.Command(d.stack.TemporalCLI(), "workflow", "show", "--address", d.stack.TemporalAddr,
				"--workflow-id", id, "--run-id", run, "--output", "json").Output()
			if err != nil {
				return nil, fmt.Errorf("temporal workflow show %s: %w", id, err)
			}
			if _, err := client.HistoryFromJSON(bytes.NewReader(out), client.HistoryJSONOptions{}); err != nil {
				return nil, fmt.Errorf("the exported history of %s does not load: %w", id, err)
			}
			if err := os.WriteFile(file, out, 0o644); err != nil {
				return nil, err
			}
			files = append(files, filepath.Base(file))
		}
	}
	return files, nil
}

// runs waits until the workflow's latest run is closed (or idle) and lists its runs oldest first by following
// each run's ContinuedExecutionRunId back.
func (d *driver) runs(id string) ([]string, error) {
	deadline := time.Now().Add(waitLimit)
	var latest string
	for {
		desc, err := d.temporal.DescribeWorkflowExecution(d.ctx, id, "")
		if err != nil {
			return nil, err
		}
		info := desc.GetWorkflowExecutionInfo()
		// Every scenario's workflow completes, but for a day's unrouted
		// record, which runs until the day ends: it is taken when idle.
		idle := desc.GetPendingWorkflowTask() == nil && info.GetType().GetName() == workflows.AkuteUnroutedName
		if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || idle {
			latest = info.GetExecution().GetRunId()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s never settled", id)
		}
		time.Sleep(300 * time.Millisecond)
	}
	runs := []string{latest}
	for run := latest; ; {
		iter := d.temporal.GetWorkflowHistory(d.ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		if !iter.HasNext() {
			return nil, fmt.Errorf("%s/%s has no history", id, run)
		}
		first, err := iter.Next()
		if err != nil {
			return nil, err
		}
		run = first.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if run == "" {
			slices.Reverse(runs)
			return runs, nil
		}
		runs = append(runs, run)
	}
}

// scenario is one recorded history (or a few): run drives it and returns the
// workflow ids to export; check, when set, verifies what was recorded.
type scenario struct {
	name     string
	explicit bool // recorded only when named with -only
	run      func(d *driver) ([]string, error)
	check    func(dir string, files []string) error
}

var johnDoe = map[string]string{"form_name": "vip_tlc_bunionectomy_ect", "phone": "555-123-4567",
	"name": "John Doe", "email": "john.doe@example.com", "instance_name": "ect"}

func sendSucceeded(d *driver) ([]string, error) {
	id, err := d.send(johnDoe, http.StatusOK)
	return []string{id}, err
}

// sendRetried503: Alleviate answers 503 twice, then takes the lead.
func sendRetried503(d *driver) ([]string, error) {
	alleviate := fake.Control{URL: d.stack.SandboxURL + "/alleviate"}
	if err := alleviate.Reset(); err != nil {
		return nil, err
	}
	if err := alleviate.Inject(fake.Fault{Status: http.StatusServiceUnavailable, Times: 2}); err != nil {
		return nil, err
	}
	id, err := d.send(johnDoe, http.StatusOK)
	if err != nil {
		return nil, err
	}
	if got, err := alleviate.Requests(); err != nil || len(got) != 3 {
		return nil, fmt.Errorf("alleviate saw %d requests, want 2 refused and 1 served (%v)", len(got), err)
	}
	return []string{id}, nil
}

var scenarios = []scenario{
	{name: "send-succeeded", run: sendSucceeded},
	{name: "send-retried-503", run: sendRetried503},
	{name: "send-patient-not-found", run: func(d *driver) ([]string, error) {
		lead := map[string]string{}
		for k, v := range johnDoe {
			lead[k] = v
		}
		lead["email"] = "nobody@example.com"
		id, err := d.send(lead, http.StatusNotFound)
		return []string{id}, err
	}},
	// Version 0 of send-local-steps: run from a checkout of the commit before
	// the steps became local activities (the histories' README says how).
	{name: "send-v0", explicit: true, run: sendSucceeded, check: func(dir string, files []string) error {
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte("send-local-steps")) || !bytes.Contains(b, []byte("ACTIVITY_TASK_SCHEDULED")) {
				return errors.New("this is not version 0 of send-local-steps: record it with -repo at the commit before it")
			}
		}
		return nil
	}},
	// Version 0 of case-delivery-rules and unrouted-bounds; their files were
	// recorded before version 1 and stay as they are.
	{name: "case-full-life", run: caseFullLife},
	{name: "case-attention-retry-skip", run: caseAttentionRetrySkip},
	{name: "case-pause-resume", run: casePauseResume},
	{name: "case-resync", run: caseResync},
	{name: "case-close", run: caseClose},
	{name: "case-continued-as-new", run: caseContinuedAsNew},
	{name: "case-akute-signals", run: caseAkuteSignals},
	{name: "akute-unrouted", run: akuteUnrouted},
	// Version 1: the same lives, and what version 1 does differently.
	{name: "case-full-life-rules1", run: caseFullLife},
	{name: "case-attention-retry-skip-rules1", run: caseAttentionRetrySkip},
	{name: "case-pause-resume-rules1", run: casePauseResume},
	{name: "case-resync-rules1", run: caseResync},
	{name: "case-close-rules1", run: caseClose},
	{name: "case-continued-as-new-rules1", run: caseContinuedAsNew},
	{name: "case-akute-signals-rules1", run: caseAkuteSignals},
	{name: "akute-unrouted-rules1", run: akuteUnrouted},
	{name: "case-operator-order-rules1", run: caseOperatorOrder},
	{name: "case-pause-retrying-call-rules1", run: casePauseRetryingCall},
	{name: "case-correction-during-sync-rules1", run: caseCorrectionDuringSync},
	{name: "case-reopened-rules1", run: caseReopened},
	// Send version 2 (the version in the input, started eagerly by the
	// starter) and version 2 of case-delivery-rules (search attributes
	// upserted only when they differ from the run's), with operator updates.
	{name: "send-succeeded-v2", run: sendSucceeded},
	{name: "send-retried-503-v2", run: sendRetried503},
	{name: "case-full-life-rules2", run: caseFullLife},
	{name: "case-attention-retry-skip-rules2", run: caseAttentionRetrySkip},
	{name: "case-continued-as-new-rules2", run: caseContinuedAsNew},
	{name: "case-reopened-rules2", run: caseReopened},
	{name: "case-operator-updates-rules2", run: caseOperatorUpdates},
}

// caseOperatorUpdates: the operator actions as updates, refused when they
// make no sense (no trace in history) and accepted otherwise.
func caseOperatorUpdates(d *driver) ([]string, error) {
	caseID, s, err := d.syncedCase()
	if err != nil {
		return nil, err
	}
	steps := []struct {
		name     string
		accepted bool
	}{{workflows.SignalRetry, false}, {workflows.SignalPause, true}, {workflows.SignalPause, false}, {workflows.SignalResume, true}}
	for _, step := range steps {
		if err := d.update(caseID, step.name, step.accepted); err != nil {
			return nil, err
		}
	}
	if err := d.akute.Inject(fake.Fault{Status: http.StatusUnprocessableEntity, Body: `{"message":"task refused by the sandbox"}`, Times: 1}); err != nil {
		return nil, err
	}
	if err := d.deliver(s[2]); err != nil { // the decision: a task, refused
		return nil, err
	}
	if _, err := d.waitCase(caseID, "needs attention", func(s workflows.CaseState) bool { return s.Attention != nil }); err != nil {
		return nil, err
	}
	if err := d.update(caseID, workflows.SignalRetry, true); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "task created on retry", tasks(1)); err != nil {
		return nil, err
	}
	if err := d.update(caseID, workflows.SignalClose, true); err != nil {
		return nil, err
	}
	_, err = d.waitCase(caseID, "closed", func(s workflows.CaseState) bool { return s.Closed })
	return []string{workflows.CaseWorkflowID(caseID)}, err
}

// caseOperatorOrder: resume, pause, resume, pause sent while the worker is
// down, applied in one workflow task in their order.
func caseOperatorOrder(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	if err := d.deliver(script(caseID, shortID)[0]); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "patient synced", synced); err != nil {
		return nil, err
	}
	d.stack.Signal("worker", syscall.SIGTERM)
	for _, name := range []string{workflows.SignalPause, workflows.SignalResume, workflows.SignalPause} {
		if err := d.signal(caseID, name); err != nil {
			return nil, err
		}
	}
	if err := d.stack.StartWorker(); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool { return s.Paused })
}

// casePauseRetryingCall: a sync retries through an Akute outage; pause
// cancels it; resume runs it again and it goes through.
func casePauseRetryingCall(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	if err := d.outage(1000); err != nil {
		return nil, err
	}
	if err := d.deliver(script(caseID, shortID)[0]); err != nil {
		return nil, err
	}
	if err := d.waitOutageMet(); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalPause); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "paused, the call cancelled", func(s workflows.CaseState) bool {
		return s.Paused && len(s.Timeline) > 0 && s.Timeline[len(s.Timeline)-1].Type == "operator:cancelled"
	}); err != nil {
		return nil, err
	}
	if err := d.akute.Reset(); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalResume); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, synced)
}

// caseCorrectionDuringSync: the patient's address is corrected while the
// first sync retries; a second sync sends the correction.
func caseCorrectionDuringSync(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	corrected := carevalidatetest.Patient("sub-" + caseID)
	corrected["address"] = "1 Corrected Way"
	fixed := carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: shortID, Submitter: corrected}, start)
	if err := d.outage(2); err != nil {
		return nil, err
	}
	if err := d.deliver(script(caseID, shortID)[0]); err != nil {
		return nil, err
	}
	// The correction arrives once the first sync has met the outage.
	if err := d.waitOutageMet(); err != nil {
		return nil, err
	}
	if err := d.deliver(fixed[1].Body); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool {
		return synced(s) && strings.Count(timelineTypes(s), "akute:patient_") == 2
	})
}

// caseReopened: a decision redelivered after the case completed.
func caseReopened(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s...); err != nil {
		return nil, err
	}
	id := workflows.CaseWorkflowID(caseID)
	if _, err := d.runs(id); err != nil { // waits until it completed
		return nil, err
	}
	if err := d.deliver(s[2]); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "reopened, done", func(s workflows.CaseState) bool {
		return s.Reopened == 1 && s.CarebridgeStatus == workflows.StatusDone
	}); err != nil {
		return nil, err
	}
	return []string{id}, nil
}

func timelineTypes(s workflows.CaseState) string {
	var b strings.Builder
	for _, e := range s.Timeline {
		b.WriteString(e.Type + " ")
	}
	return b.String()
}

var start = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// script is a scripted case's webhook bodies: created, approved, decision,
// payment, shipped, tracking, delivered, archived.
func script(caseID, shortID string) [][]byte {
	var bodies [][]byte
	for _, step := range carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: shortID}, start) {
		bodies = append(bodies, step.Body)
	}
	return bodies
}

// caseFullLife: all 16 documented event types, full-case and event-only,
// some out of order, some delivered twice, to the archive.
func caseFullLife(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	at := func(min int) time.Time { return start.Add(time.Duration(min) * time.Minute) }
	act := func(n int) string { return fmt.Sprintf("%s-extra-%02d", caseID, n) }
	only := func(n int, event string, extra map[string]any) []byte {
		return carevalidatetest.EventOnly(caseID, event, act(n), at(n), extra)
	}
	support := map[string]any{"id": "support-1", "firstName": "Sam", "lastName": "Support"}
	bodies := [][]byte{
		s[0], // CREATE_CASE
		only(1, "ADD_CASE_ASSIGNEE", map[string]any{"targetUser": support}),
		s[1], // CHANGE_CASE_STATUS OPEN -> APPROVED
		only(1, "ADD_FORM_RESPONSE", nil),
		only(2, "ADD_CASE_COMMENT", nil),
		only(2, "ADD_CASE_ATTACHMENT", nil),
		only(3, "DELETE_ATTACHMENT", nil),
		only(3, "ESCALATE_CASE", nil),
		only(4, "DEESCALATE_CASE", nil),
		s[2], s[2], // ADD_CASE_DECISION, delivered twice
		only(3, "PAYMENT_ADDED", map[string]any{"payment": map[string]any{"id": caseID + "-payment", "amount": "350", "status": "PENDING"}}),
		s[3],       // PAYMENT_COMPLETED
		s[5],       // ORDER_TRACKING_ADDED before the order's SHIPPED
		s[4],       // ORDER_STATUS_CHANGED SHIPPED
		s[6], s[4], // DELIVERED, then SHIPPED again (older: ignored)
		only(5, "REMOVE_CASE_ASSIGNEE", map[string]any{"targetUser": support}),
		only(0, "CHANGE_CASE_STATUS", map[string]any{"valueBefore": "APPROVED", "valueAfter": "OPEN"}), // stale
		s[7], // ARCHIVE_CASE
	}
	if err := d.deliver(bodies...); err != nil {
		return nil, err
	}
	_, err := d.waitCase(caseID, "done", func(s workflows.CaseState) bool { return s.CarebridgeStatus == workflows.StatusDone })
	return []string{workflows.CaseWorkflowID(caseID)}, err
}

// caseAttentionRetrySkip: Akute refuses a task; an operator retries and it
// goes through. Akute refuses the next; an operator skips it.
func caseAttentionRetrySkip(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s[0], s[1]); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "patient synced", synced); err != nil {
		return nil, err
	}
	needsAttention := func(s workflows.CaseState) bool { return s.CarebridgeStatus == workflows.StatusNeedsAttention }
	refusal := fake.Fault{Status: http.StatusUnprocessableEntity, Body: `{"message":"task refused by the sandbox"}`, Times: 1}
	if err := d.akute.Inject(refusal); err != nil {
		return nil, err
	}
	if err := d.deliver(s[2]); err != nil { // the decision: a task
		return nil, err
	}
	if _, err := d.waitCase(caseID, "needs attention", needsAttention); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalRetry); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "task created on retry", tasks(1)); err != nil {
		return nil, err
	}
	if err := d.akute.Inject(refusal); err != nil {
		return nil, err
	}
	if err := d.deliver(s[5]); err != nil { // tracking: a task
		return nil, err
	}
	if _, err := d.waitCase(caseID, "needs attention again", needsAttention); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalSkip); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool {
		return s.Attention == nil && len(s.Pending) == 0 && len(s.Tasks) == 1
	})
}

// casePauseResume: paused, a decision arrives and waits; resumed, its task
// is created.
func casePauseResume(d *driver) ([]string, error) {
	caseID, s, err := d.syncedCase()
	if err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalPause); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "paused", func(s workflows.CaseState) bool { return s.Paused }); err != nil {
		return nil, err
	}
	if err := d.deliver(s[1], s[2]); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "decision waiting", func(s workflows.CaseState) bool { return len(s.Pending) == 1 }); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalResume); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, tasks(1))
}

// caseResync: an operator pushes the patient to Akute again.
func caseResync(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	if err := d.deliver(script(caseID, shortID)[0]); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "patient synced", synced); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalResync); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool { return s.Akute.LastSync == "unchanged" })
}

// caseClose: an operator closes a case mid-life.
func caseClose(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s[0], s[1], s[2]); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, tasks(1))
}

// caseContinuedAsNew: a burst of comments longer than a run's signal bound.
func caseContinuedAsNew(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s[0], s[1], s[2]); err != nil {
		return nil, err
	}
	for i := range 40 {
		at := start.Add(time.Duration(10+i) * time.Second)
		if err := d.deliver(carevalidatetest.EventOnly(caseID, "ADD_CASE_COMMENT", fmt.Sprintf("%s-comment-%02d", caseID, i), at, nil)); err != nil {
			return nil, err
		}
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool { return s.Runs >= 1 && s.EventsApplied == 43 && len(s.Tasks) == 1 })
}

// caseAkuteSignals: Akute tells the case its task changed and a
// prescription reached the pharmacy.
func caseAkuteSignals(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s[0], s[1], s[2]); err != nil {
		return nil, err
	}
	st, err := d.waitCase(caseID, "task created", tasks(1))
	if err != nil {
		return nil, err
	}
	if err := d.akuteSandbox("/_sandbox/tasks/"+st.Tasks[0].TaskID+"/status", map[string]string{"status": "complete"}); err != nil {
		return nil, err
	}
	if err := d.akuteSandbox("/_sandbox/medications", akute.Medication{PatientID: st.Akute.PatientID,
		DisplayName: "Saxenda 0.6mg/0.1mL", RxStatus: "pharmacy verified", Status: "active", PrescriptionID: 4711}); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool { return s.OpenTasks == 0 && len(s.Medications) == 1 })
}

// akuteUnrouted: Akute deliveries no case claims, one of them twice.
func akuteUnrouted(d *driver) ([]string, error) {
	for _, body := range []string{
		`{"event":"patient.updated","id":"evt-hist-unknown-1","data":{"id":"pat-hist"}}`,
		`{"event":"task.updated","id":"evt-hist-orphan-1","data":{"id":"task-nobody","status":"complete","tags":["other"]}}`,
		`{"event":"task.updated","id":"evt-hist-orphan-1","data":{"id":"task-nobody","status":"complete","tags":["other"]}}`,
	} {
		if err := d.akuteSandbox("/_sandbox/webhooks", json.RawMessage(body)); err != nil {
			return nil, err
		}
	}
	return []string{workflows.AkuteUnroutedID(time.Now())}, nil
}

func synced(s workflows.CaseState) bool { return s.Akute.PatientID != "" && len(s.Pending) == 0 }

func tasks(n int) func(workflows.CaseState) bool {
	return func(s workflows.CaseState) bool { return len(s.Tasks) == n && len(s.Pending) == 0 }
}

// closeCase waits for ready, then closes the case with the operator's
// signal and waits until it is done.
func closeCase(d *driver, caseID string, ready func(workflows.CaseState) bool) ([]string, error) {
	if _, err := d.waitCase(caseID, "ready to close", ready); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalClose); err != nil {
		return nil, err
	}
	_, err := d.waitCase(caseID, "closed", func(s workflows.CaseState) bool { return s.Closed })
	return []string{workflows.CaseWorkflowID(caseID)}, err
}
