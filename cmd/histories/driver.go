package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/workflows"
)

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

// signal sends an operator's signal with the temporal CLI, as docs/operations.md says.
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

// update runs an operator update with the temporal CLI, as docs/operations.md
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
