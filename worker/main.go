// Command worker runs carebridge's workflows and activities.
//
// Configuration is the environment only; see README.md.
package main

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/clients/realtime"
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
	send := activities.NewSend(
		activepieces.New(activepieces.Config{
			WebhookURL: env.Required("ACTIVEPIECES_WEBHOOK_URL"),
			TokenField: env.String("ACTIVEPIECES_TOKEN_FIELD", ""),
			Timeout:    env.Duration("ACTIVEPIECES_TIMEOUT", activepieces.DefaultTimeout),
		}),
		realtime.New(realtime.Config{
			BaseURL:    env.Required("REALTIME_BASE_URL"),
			AuthHeader: env.String("REALTIME_AUTH_HEADER", ""),
			AuthPrefix: env.String("REALTIME_AUTH_PREFIX", ""),
			Timeout:    env.Duration("REALTIME_TIMEOUT", realtime.DefaultTimeout),
		}),
		alleviate.New(alleviate.Config{
			BaseURL: env.Required("ALLEVIATE_BASE_URL"),
			APIKey:  env.Required("ALLEVIATE_API_KEY"),
			Source:  env.String("ALLEVIATE_SOURCE", alleviate.DefaultSource),
			Timeout: env.Duration("ALLEVIATE_TIMEOUT", alleviate.DefaultTimeout),
		}),
	)
	akuteActivities := activities.NewAkute(akute.New(akute.Config{
		BaseURL: env.Required("AKUTE_BASE_URL"),
		APIKey:  env.Required("AKUTE_API_KEY"),
		Timeout: env.Duration("AKUTE_TIMEOUT", akute.DefaultTimeout),
	}), env.String("AKUTE_DEFAULT_TASK_OWNER_ID", ""))
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

	w := worker.New(c, tc.TaskQueue, worker.Options{
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
	})
	workflows.Register(w, workflows.Activities{Send: send, Akute: akuteActivities, Runs: activities.NewRuns(c)}, cases)

	logger.Info("worker polling", slog.String("task_queue", tc.TaskQueue), slog.String("namespace", tc.Options.Namespace),
		slog.String("temporal", tc.Options.HostPort), slog.String("metrics", metricsAddr))
	// On SIGINT/SIGTERM: stop polling, let running activities finish (up
	// to stopTimeout), then exit.
	if err := w.Run(worker.InterruptCh()); err != nil {
		config.Exit("worker", err)
	}
	_ = reg.Close()
}
