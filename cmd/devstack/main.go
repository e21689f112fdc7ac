// Command devstack is `make run`: the Temporal dev server (state kept in
// .data/temporal.db, Web UI on 8233), the sandbox for every upstream whose
// URL is not set, the worker and the starter, in development mode
// (CAREBRIDGE_DEV=true: open, plain HTTP, loopback only). Ctrl-C stops all
// of it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/carebridge/carebridge/dev/devstack"
)

func main() {
	root, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	stack, err := devstack.Start(ctx, devstack.Options{
		RepoRoot:        root,
		DataDir:         filepath.Join(root, ".data"),
		TemporalPort:    7233,
		UIPort:          8233,
		StarterPort:     8080,
		SandboxPort:     8099,
		InternalPort:    8081,
		KeepUpstreamEnv: true,
		Logs:            os.Stdout,
	})
	if err != nil {
		fail(err)
	}
	defer stack.Stop()

	fmt.Printf(`
carebridge is running in development mode (CAREBRIDGE_DEV=true): the API and the codec endpoint are open and
everything speaks plain HTTP, on loopback only. Never run so in production (docs/security.md).
  API            %[1]s  (POST /api/alleviate/send, POST /webhooks/carevalidate)
  Temporal UI    %[2]s  (payloads are encrypted; the UI decrypts through %[6]s/codec)
  Temporal gRPC  %[3]s
  Sandbox        %[4]s
  Internal       %[6]s  (codec, /metrics, /readyz; worker metrics %[5]s)
  Dev keys       .data/carebridge_codec_keys, .data/carebridge_search_hash_key
  Audit trail    %[7]s  (go run ./cmd/audit tail -dir %[7]s)

Send the reference's example lead:

  curl -s -X POST %[1]s/api/alleviate/send \
    -H 'Content-Type: application/json' \
    -d '{"form_name":"vip_tlc_bunionectomy_ect","phone":"555-123-4567","name":"John Doe","email":"john.doe@example.com","instance_name":"ect"}'

Play a CareValidate case: go run ./cmd/sandbox send-case, then curl %[1]s/api/cases/<case id>

Ctrl-C stops everything.
`, stack.StarterURL, stack.UIURL, stack.TemporalAddr, stack.SandboxURL, stack.WorkerMetricsURL, stack.InternalURL,
		stack.AuditDir())

	exited := make(chan string, 1)
	go func() { exited <- stack.Wait() }()
	select {
	case <-ctx.Done():
		fmt.Println("\nstopping...")
	case name := <-exited:
		fmt.Fprintf(os.Stderr, "devstack: the %s exited (%s); stopping the rest\n", name, stack.LastLine(name))
		stack.Stop()
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
