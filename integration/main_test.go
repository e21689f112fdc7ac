// Package integration drives carebridge as a user would: the real Temporal
// dev server, the sandbox, the worker and the starter as separate processes,
// and nothing but HTTP (and Temporal's own API to read histories).
package integration

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/fake"
)

// sendWait is CAREBRIDGE_SEND_WAIT for the suite: short, so the 202 path
// is quick to reach.
const sendWait = 4 * time.Second

// The starter's API and codec endpoint are closed in the suite, as in production.
const (
	apiToken        = "integration-api-token"
	codecToken      = "integration-codec-token"
	codecWriteToken = "integration-codec-write-token"
)

// signingSecret turns on CareValidate's optional x-cv-signature.
const signingSecret = "integration-signing-secret"

// server picks the Temporal server: the dev server, or "postgres" for the
// production topology (make test-postgres): Temporal's own server on
// PostgreSQL with mTLS, two workers, and carebridge's programs in
// production mode (TLS on their listeners, credentials required).
var server = flag.String("server", "", `"postgres": run against Temporal's own server on PostgreSQL`)

var (
	stack    *devstack.Stack
	temporal client.Client
	sandbox  struct{ activepieces, realtime, alleviate, akute fake.Control }
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		fmt.Println("integration: skipped with -short")
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, _ := filepath.Abs("..")
	dir, err := os.MkdirTemp("", "carebridge-integration-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	logPath := filepath.Join(dir, "stack.log")
	if keep := os.Getenv("CAREBRIDGE_STACK_LOG"); keep != "" {
		logPath = keep // kept after the run, for whoever debugs it
	}
	logs, _ := os.Create(logPath)

	workers, production := 1, *server == devstack.ServerPostgres
	if production {
		workers = 2
	}
	stack, err = devstack.Start(ctx, devstack.Options{
		RepoRoot:   root,
		DataDir:    dir,
		Headless:   true,
		Server:     *server,
		Workers:    workers,
		Production: production,
		Env: map[string]string{
			"CAREBRIDGE_SEND_WAIT":        sendWait.String(),
			"CAREVALIDATE_SIGNING_SECRET": signingSecret,
			// Small runs: every case here continues as new several times.
			"CAREBRIDGE_CASE_MAX_SIGNALS":   "10",
			"CAREBRIDGE_CASE_ARCHIVE_GRACE": "2s",
			"CAREBRIDGE_API_TOKENS":         "other-token," + apiToken,
			"CAREBRIDGE_CODEC_AUTH_TOKEN":   codecToken,
			"CAREBRIDGE_CODEC_WRITE_TOKEN":  codecWriteToken,
		},
		Logs: logs,
	})
	if err != nil {
		fmt.Println("integration: starting the stack:", err)
		return 1
	}
	defer stack.Stop()
	// This process and the programs it starts are clients of the stack:
	// the temporal CLI finds Temporal's client certificate in TEMPORAL_TLS_*,
	// HTTP clients trust the stack's CA. Programs a test starts with this
	// environment run in development mode, as the stack's do, unless the
	// stack runs in production mode.
	for k, v := range stack.ClientEnv() {
		os.Setenv(k, v)
	}
	if ca := stack.CA(); ca != nil && production {
		http.DefaultTransport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	}
	os.Setenv("CAREBRIDGE_DEV", fmt.Sprint(!production))
	temporal, err = stack.Dial()
	if err != nil {
		fmt.Println("integration: dialing temporal:", err)
		return 1
	}
	defer func() { temporal.Close() }()
	sandbox.activepieces = fake.Control{URL: stack.SandboxURL + "/activepieces"}
	sandbox.realtime = fake.Control{URL: stack.SandboxURL + "/realtime"}
	sandbox.alleviate = fake.Control{URL: stack.SandboxURL + "/alleviate"}
	sandbox.akute = fake.Control{URL: stack.SandboxURL + "/akute/v1"}

	code := m.Run()
	if code != 0 {
		// Keep what the processes said for whoever reads the failure.
		if b, err := os.ReadFile(logPath); err == nil {
			tail := b
			if len(tail) > 20000 {
				tail = tail[len(tail)-20000:]
			}
			fmt.Printf("---- stack log (tail) ----\n%s\n", tail)
		}
	}
	return code
}

const sigterm = syscall.SIGTERM

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// runCLI runs the pinned temporal CLI against the suite's server.
func runCLI(args ...string) (string, error) {
	out, err := exec.Command(stack.TemporalCLI(), append(args, stack.TemporalCLIArgs()...)...).CombinedOutput()
	return string(out), err
}
