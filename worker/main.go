// Command worker runs carebridge's workflows and activities.
//
// Configuration is the environment only; see docs/configuration.md.
package main

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/internal/config"
	"github.com/carebridge/carebridge/internal/metrics"
	"github.com/carebridge/carebridge/internal/tracing"
	"github.com/carebridge/carebridge/worker/wiring"
	"github.com/carebridge/carebridge/workflows"
)

// stopTimeout bounds how long running activities may finish at shutdown.
const stopTimeout = 30 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		env := config.FromOS()
		os.Exit(config.Healthcheck(env.MetricsAddr(), "/metrics", env.ServesTLS()))
	}
	logger := tracing.Logger(config.Logger("worker"))
	env := config.FromOS()
	cfg := env.LoadWorker()
	if err := env.Err(); err != nil {
		config.Exit("worker", err)
	}
	tc := cfg.Temporal
	send := wiring.Send(cfg.Send)
	cases := workflows.CaseConfig{
		MaxSignals:   cmp.Or(cfg.Cases.MaxSignals, workflows.DefaultMaxSignals),
		MaxHistory:   cmp.Or(cfg.Cases.MaxHistory, workflows.DefaultMaxHistory),
		ArchiveGrace: cmp.Or(cfg.Cases.ArchiveGrace, workflows.DefaultArchiveGrace),
		ConfirmWait:  cmp.Or(cfg.Cases.ConfirmWait, workflows.DefaultConfirmWait),
	}

	tlsConfig, err := cfg.TLS.ServerConfig(logger) // re-read when its files change
	if err != nil {
		config.Exit("worker", err)
	}
	// Traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; flushed
	// after the workers stopped (internal/tracing).
	flushTraces, err := tracing.Setup(context.Background(), "worker", logger)
	if err != nil {
		config.Exit("worker", err)
	}
	defer flushTraces()
	reg := metrics.New("carebridge_worker")
	clientOptions := tc.ClientOptions(logger, reg.SDK)
	// The SDK applies a client's interceptors to its workers: every run,
	// signal and activity is traced.
	clientOptions.Interceptors = append(clientOptions.Interceptors, tracing.TemporalInterceptor())
	c, err := client.Dial(clientOptions)
	if err != nil {
		config.Exit("worker", err)
	}
	defer c.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler())
	go func() {
		listener := cfg.MetricsListener()
		listener.TLS = tlsConfig
		if err := config.ListenAndServe(listener.Server(listener.Limit(mux))); err != nil {
			logger.Error("metrics listener failed", slog.String("addr", cfg.MetricsAddr), slog.String("error", err.Error()))
		}
	}()

	w := worker.New(c, tc.TaskQueue, workerOptions(false, reg.UpstreamErrors()))
	workflows.Register(w, workflows.Activities{Send: send, Akute: wiring.Akute(cfg.Akute), Runs: activities.NewRuns(c)}, cases)
	if send != nil {
		// The sends' own queue, which the starter's eager starts use too:
		// a send never depends on the starter's worker.
		sends := worker.New(c, tc.SendTaskQueue, workerOptions(true, reg.UpstreamErrors()))
		workflows.RegisterSends(sends, send)
		if err := sends.Start(); err != nil {
			config.Exit("worker", err)
		}
		defer sends.Stop()
	}

	if cfg.Dev {
		logger.Warn("development mode (CAREBRIDGE_DEV=true): loopback only; never run it so in production")
	}
	logger.Info("worker polling", slog.String("mode", config.Mode(cfg.Dev)), slog.String("tls", cfg.TLS.String()),
		slog.String("integrations", cfg.On.String()),
		slog.String("task_queue", tc.TaskQueue), slog.String("send_task_queue", tc.SendTaskQueue), slog.String("namespace", tc.Options.Namespace),
		slog.String("temporal", tc.Options.HostPort), slog.String("metrics", cfg.MetricsAddr))
	// On SIGINT/SIGTERM: stop polling, let running activities finish (up
	// to stopTimeout), then exit.
	if err := w.Run(worker.InterruptCh()); err != nil {
		config.Exit("worker", err)
	}
	_ = reg.Close()
}

// workerOptions are a worker's options; the sends' queue runs its steps as
// local activities only, so it polls no activity tasks.
func workerOptions(sendsOnly bool, interceptors ...interceptor.WorkerInterceptor) worker.Options {
	return worker.Options{
		WorkerStopTimeout: stopTimeout,
		// More pollers than the SDK's two: a task finds a poller waiting
		// (a sync match) instead of a round trip through the backlog.
		MaxConcurrentWorkflowTaskPollers: 8,
		MaxConcurrentActivityTaskPollers: 8,
		// Heartbeats reach the server at the pace activities send them,
		// not at the SDK's default 80% of the heartbeat timeout.
		MaxHeartbeatThrottleInterval:     activities.HeartbeatEvery,
		DefaultHeartbeatThrottleInterval: activities.HeartbeatEvery,
		Interceptors:                     append(workflows.Interceptors(), interceptors...), // and the upstream errors' counter
		LocalActivityWorkerOnly:          sendsOnly,
	}
}
