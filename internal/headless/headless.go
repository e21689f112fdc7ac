// Package headless renders a page in Debian's Chromium, headless, for the
// tests that show what an operator sees (make test-alerts, make test-traces):
// the rendered DOM to assert on and a screenshot for the docs.
package headless

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Width and Height are the window size: modest, so that the screenshots the
// docs show stay small.
const Width, Height = 1400, 900

// Chromium returns the path of Debian's chromium. When it is absent the test
// is skipped, unless CI is set: in CI a missing browser fails it (the
// Makefile's targets install it).
func Chromium(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("chromium not found (CI is set): the make target installs Debian's chromium")
	}
	t.Skip("chromium not found: the make target installs Debian's chromium; skipping the browser part")
	return ""
}

func args(dir string, extra ...string) []string {
	return append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--user-data-dir=" + dir, "--virtual-time-budget=8000",
		"--window-size=" + strconv.Itoa(Width) + "," + strconv.Itoa(Height)}, extra...)
}

func run(t testing.TB, chromium string, a []string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, a...)
	cmd.WaitDelay = 5 * time.Second
	var stderr limited
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("chromium %v: %v\n%s", a, err, stderr.b)
	}
	return out, err
}

// DOM loads url and returns its DOM once rendered (scripts run, within
// Chromium's virtual time budget).
func DOM(t testing.TB, chromium, url string) (string, error) {
	t.Helper()
	out, err := run(t, chromium, args(t.TempDir(), "--dump-dom", url))
	return string(out), err
}

// Screenshot loads url and saves what the window shows, as PNG, at file.
func Screenshot(t testing.TB, chromium, url, file string) error {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	_, err = run(t, chromium, args(t.TempDir(), "--screenshot="+abs, url))
	if err != nil {
		return err
	}
	_, err = os.Stat(abs)
	return err
}

// limited keeps the first 8 KB written to it.
type limited struct{ b []byte }

func (l *limited) Write(p []byte) (int, error) {
	if room := 8192 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
