// Command histories records the workflow histories that the replay test
// (workflows/replay_test.go) replays on every change: it starts the real
// stack (devstack: the Temporal dev server, the sandbox, the worker, the
// starter) with the test-only codec key kept beside the histories, drives
// each scenario as a user and an operator would (HTTP, the sandbox, the
// temporal CLI), and exports every run of every workflow it made with
// `temporal workflow show --output json`.
//
//	make histories                                  # every scenario, replacing the files (until v1.0.0)
//	go run ./cmd/histories -only case-pause-resume  # one that is not recorded yet
//
// Only synthetic data goes in: the sandbox's patients and scripted cases.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/fake"
)

// Settings of the recording stack: small enough that a case continues as
// new after a burst, short enough that archived cases complete at once.
const (
	maxSignals   = "25"
	archiveGrace = "2s"
	waitLimit    = 90 * time.Second
)

func main() {
	out := flag.String("out", "workflows/testdata/histories", "where the histories go; its codec-keys file is the test-only key")
	only := flag.String("only", "", "comma-separated scenarios (default: every one not recorded yet)")
	overwrite := flag.Bool("overwrite", false, "record again over existing files (before v1.0.0 only: docs/changing-a-workflow.md)")
	logPath := flag.String("log", "", "write the stack's output here")
	flag.Parse()

	var names []string
	for _, s := range scenarios {
		named := slices.Contains(strings.Split(*only, ","), s.name)
		recorded := exists(*out, s.name)
		switch {
		case named && recorded && !*overwrite:
			fmt.Fprintf(os.Stderr, "histories: %s is recorded already; a released history is kept as it is (-overwrite to replace it before v1.0.0)\n", s.name)
			os.Exit(2)
		case named || *only == "" && (*overwrite || !recorded):
			names = append(names, s.name)
		}
	}
	if len(names) == 0 {
		fmt.Println("every scenario is recorded; -only names one to record")
		return
	}
	if err := record(*out, names, *logPath); err != nil {
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

func record(out string, names []string, logPath string) error {
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
	repoRoot, err := filepath.Abs(".")
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
	tc, err := stack.Dial()
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
		fmt.Println(strings.Join(files, " "))
	}
	return nil
}
