// Command worker runs carebridge's workflows and activities.
//
// Configuration is the environment only; see README.md.
package main

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/internal/config"
	"github.com/carebridge/carebridge/internal/metrics"
	"github.com/carebridge/carebridge/workflows"
)

// stopTimeout bounds how long running activities may finish at shutdown.
const stopTimeout = 30 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(config.Healthcheck("CAREBRIDGE_METRICS_ADDR", ":9090", "/metrics"))
	}
	logger := config.Logger("worker")
	env := config.FromOS()
	reg := metrics.New("carebridge_worker")
	tc := env.LoadTemporal(logger, reg.SDK)
	metricsAddr := env.String("CAREBRIDGE_METRICS_ADDR", ":9090")
	// Only what the deployment configured: the send's variables turn on
	// sends, Akute's turn on cases and Akute's deliveries.
	send := env.SendActivities()
	akuteActivities := env.AkuteActivities()
	on := env.Integrations(map[string]bool{
		config.IntegrationSend: send != nil, config.IntegrationCareValidate: akuteActivities != nil, config.IntegrationAkute: akuteActivities != nil,
	}, strings.Join(config.SendVariables, ", ")+" (sends), or "+strings.Join(config.AkuteVariables, ", ")+" (cases and Akute)")
	cases := workflows.CaseConfig{
		MaxSignals:   env.Int("CAREBRIDGE_CASE_MAX_SIGNALS", workflows.DefaultMaxSignals),
		MaxHistory:   env.Int("CAREBRIDGE_CASE_MAX_HISTORY", workflows.DefaultMaxHistory),
		ArchiveGrace: env.Duration("CAREBRIDGE_CASE_ARCHIVE_GRACE", workflows.DefaultArchiveGrace),
	}
	if err := env.Err(); err != nil {
		config.Exit("worker", err)
	}

	c, err := client.Dial(tc.Options)
	if err != nil {
		config.Exit("worker", err)
	}
	defer c.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler())
	go func() {
		srv := &http.Server{Addr: metricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener failed", slog.String("addr", metricsAddr), slog.String("error", err.Error()))
		}
	}()

	w := worker.New(c, tc.TaskQueue, workerOptions(false))
	workflows.Register(w, workflows.Activities{Send: send, Akute: akuteActivities, Runs: activities.NewRuns(c)}, cases)
	if send != nil {
		// The sends' own queue, which the starter's eager starts use too:
		// a send never depends on the starter's worker.
		sends := worker.New(c, tc.SendTaskQueue, workerOptions(true))
		workflows.RegisterSends(sends, send)
		if err := sends.Start(); err != nil {
			config.Exit("worker", err)
		}
		defer sends.Stop()
	}

	logger.Info("worker polling", slog.String("integrations", strings.Join(on, ",")),
		slog.String("task_queue", tc.TaskQueue), slog.String("send_task_queue", tc.SendTaskQueue), slog.String("namespace", tc.Options.Namespace),
		slog.String("temporal", tc.Options.HostPort), slog.String("metrics", metricsAddr))
	// On SIGINT/SIGTERM: stop polling, let running activities finish (up
	// to stopTimeout), then exit.
	if err := w.Run(worker.InterruptCh()); err != nil {
		config.Exit("worker", err)
	}
	_ = reg.Close()
}

// workerOptions are a worker's options; the sends' queue runs its steps as
// local activities only, so it polls no activity tasks.
func workerOptions(sendsOnly bool) worker.Options {
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
		Interceptors:                     workflows.Interceptors(),
		LocalActivityWorkerOnly:          sendsOnly,
	}
}
