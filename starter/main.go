// Command starter is carebridge's HTTP service: it starts and signals the
// workflows that the worker runs.
//
// Configuration is the environment only; see README.md.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/carebridge/carebridge/clients/akute/akutewebhook"
	"github.com/carebridge/carebridge/clients/carevalidate"
	"github.com/carebridge/carebridge/internal/config"
	"github.com/carebridge/carebridge/workflows"
)

// shutdownGrace bounds how long in-flight requests may finish at shutdown.
const shutdownGrace = 30 * time.Second

func main() {
	logger := config.Logger("starter")
	env := config.FromOS()
	tc := env.LoadTemporal(logger)
	addr := env.String("CAREBRIDGE_HTTP_ADDR", ":8080")
	wait := env.Duration("CAREBRIDGE_SEND_WAIT", 20*time.Second)
	cvAuth := carevalidate.Auth{
		Header:        env.String("CAREVALIDATE_AUTH_HEADER", "X-CareValidate-Auth"),
		Secret:        env.Required("CAREVALIDATE_AUTH_SECRET"),
		SigningSecret: env.String("CAREVALIDATE_SIGNING_SECRET", ""),
	}
	akuteVerifier := akutewebhook.Verifier{
		Secrets:   akutewebhook.ParseSecrets(env.Required("AKUTE_WEBHOOK_SECRET")),
		Tolerance: env.Duration("AKUTE_WEBHOOK_TOLERANCE", akutewebhook.DefaultTolerance),
	}
	caseInput := workflows.CaseInput{
		MaxSignals:   env.Int("CAREBRIDGE_CASE_MAX_SIGNALS", workflows.DefaultMaxSignals),
		ArchiveGrace: env.Duration("CAREBRIDGE_CASE_ARCHIVE_GRACE", workflows.DefaultArchiveGrace),
	}
	if err := env.Err(); err != nil {
		config.Exit("starter", err)
	}

	// Lazy: the starter comes up (and answers 503) while Temporal is down,
	// and reconnects when it is back.
	c, err := client.NewLazyClient(tc.Options)
	if err != nil {
		config.Exit("starter", err)
	}
	defer c.Close()

	mux := http.NewServeMux()
	(&sendAPI{temporal: c, taskQueue: tc.TaskQueue, wait: wait, log: logger}).routes(mux)
	(&caseAPI{temporal: c, taskQueue: tc.TaskQueue, auth: cvAuth, caseInput: caseInput, log: logger}).routes(mux)
	(&akuteAPI{temporal: c, taskQueue: tc.TaskQueue, verifier: akuteVerifier, log: logger}).routes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})

	srv := &http.Server{
		Addr:              addr,
		Handler:           logRequests(logger, mux),
		ReadHeaderTimeout: 10 * time.Second,
		// Writes wait for a send's answer, up to CAREBRIDGE_SEND_WAIT.
		WriteTimeout: wait + 30*time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()

	logger.Info("starter listening", slog.String("addr", addr), slog.String("temporal", tc.Options.HostPort),
		slog.String("namespace", tc.Options.Namespace), slog.String("task_queue", tc.TaskQueue))
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		config.Exit("starter", err)
	}
}

// logRequests logs each request's route, status and duration: never a
// query string or a body, which can carry PHI.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		logger.Info("http request",
			slog.String("route", route),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)),
			slog.String("workflow_id", rec.Header().Get("X-Workflow-Id")))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
