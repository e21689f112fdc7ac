package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/internal/audit"
)

// trail writes three entries, on 5, 6 and 7 January 2026, and returns its
// directory and the stored entries.
func trail(t *testing.T) (string, []audit.Entry) {
	t.Helper()
	dir := t.TempDir()
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	l, err := audit.Open(dir, audit.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var es []audit.Entry
	for i, action := range []string{"case.read", "send.start", "workflow.signal"} {
		now = now.AddDate(0, 0, min(i, 1))
		e, err := l.Append(context.Background(), audit.Entry{
			Principal: "olivia", Via: "webui", Action: action, WorkflowID: "case-7", RunID: "run-1", Detail: "handler", Outcome: audit.OutcomeOK,
		})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	return dir, es
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

const file = "audit-2026-01.jsonl"

func TestVerify(t *testing.T) {
	dir, es := trail(t)
	code, out, _ := runCmd("verify", "-dir", dir)
	want := "ok: 3 entries, seq 1–3, files audit-2026-01.jsonl, anchored at genesis; last hash " + es[2].Hash + "\n"
	if code != 0 || out != want {
		t.Fatalf("verify: %d\n%s\nwant\n%s", code, out, want)
	}

	path := filepath.Join(dir, file)
	b, _ := os.ReadFile(path)
	b = bytes.Replace(b, []byte(`"action":"send.start"`), []byte(`"action":"case.read"`), 1)
	os.WriteFile(path, b, 0o600)
	code, out, _ = runCmd("verify", "-dir", dir)
	want = "broken: audit-2026-01.jsonl line 2 (seq 2): hash mismatch: the entry was changed after it was written\nentries verified before it: 1\n"
	if code != 1 || out != want {
		t.Fatalf("verify of an edited trail: %d\n%s\nwant\n%s", code, out, want)
	}

	if code, _, errOut := runCmd("verify", "-dir", filepath.Join(dir, "missing")); code != 1 || !strings.Contains(errOut, "missing") {
		t.Fatalf("verify of a missing directory: %d %s", code, errOut)
	}
}

func TestExport(t *testing.T) {
	dir, _ := trail(t)
	stored, _ := os.ReadFile(filepath.Join(dir, file))
	code, out, errOut := runCmd("export", "-dir", dir)
	if code != 0 || out != string(stored) || errOut != "carebridge-audit: exported 3 entries\n" {
		t.Fatalf("export: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCmd("export", "-dir", dir, "-since", "2026-01-06T09:00:00Z")
	if ls := strings.SplitAfter(string(stored), "\n"); code != 0 || out != ls[1]+ls[2] {
		t.Fatalf("export -since: %d\n%s", code, out)
	}
}

func TestTail(t *testing.T) {
	dir, _ := trail(t)
	code, out, _ := runCmd("tail", "-dir", dir, "-n", "2")
	want := "" +
		"2026-01-06T09:00:00.000Z  2  olivia  webui  send.start       case-7/run-1  ok  handler\n" +
		"2026-01-07T09:00:00.000Z  3  olivia  webui  workflow.signal  case-7/run-1  ok  handler\n"
	if code != 0 || out != want {
		t.Fatalf("tail: %d\n%s\nwant\n%s", code, out, want)
	}

	// tail does not verify, so an edited line may hold a terminal's escape.
	path := filepath.Join(dir, file)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte(`"detail":"handler"`), []byte(`"detail":"\u001b[2J"`), 1), 0o600)
	if code, out, _ := runCmd("tail", "-dir", dir, "-n", "3"); code != 0 || !strings.Contains(out, "  ok  ?[2J\n") {
		t.Fatalf("tail of an escape: %d\n%q", code, out)
	}
}

func TestUsage(t *testing.T) {
	dir, _ := trail(t)
	for _, args := range [][]string{
		{},
		{"prune", "-dir", dir},
		{"verify"},
		{"verify", "-dir", dir, "extra"},
		{"verify", "-dir", dir, "-n", "3"},
		{"export", "-dir", dir, "-since", "yesterday"},
		{"tail", "-dir", dir, "-n", "0"},
	} {
		if code, out, errOut := runCmd(args...); code != 2 || out != "" || !strings.Contains(errOut, "usage: carebridge-audit verify -dir DIR") {
			t.Errorf("%q: %d\n%s%s", args, code, out, errOut)
		}
	}
	if code, _, _ := runCmd("tail", "-h"); code != 0 {
		t.Errorf("tail -h: %d", code)
	}
}
