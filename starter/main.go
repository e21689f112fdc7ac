// Command starter is carebridge's HTTP service: it starts and signals the
// workflows that the worker runs.
//
// Configuration is the environment only; see README.md.
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/carebridge/carebridge/clients/akute/akutewebhook"
	"github.com/carebridge/carebridge/clients/carevalidate"
	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/internal/config"
	"github.com/carebridge/carebridge/internal/metrics"
)

// shutdownGrace bounds how long in-flight requests may finish at shutdown.
const shutdownGrace = 30 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(config.Healthcheck("CAREBRIDGE_HTTP_ADDR", ":8080", "/healthz"))
	}
	logger := config.Logger("starter")
	env := config.FromOS()
	reg := metrics.New("carebridge_starter")
	tc := env.LoadTemporal(logger, reg.SDK)
	apiTokens := env.List("CAREBRIDGE_API_TOKENS")
	codecToken := env.String("CAREBRIDGE_CODEC_AUTH_TOKEN", "")
	codecOrigins := env.List("CAREBRIDGE_CODEC_CORS_ORIGINS")
	if len(codecOrigins) == 0 {
		codecOrigins = []string{"http://127.0.0.1:8233", "http://localhost:8233"}
	}
	emailHashKey := env.String("CAREBRIDGE_SEARCH_HASH_KEY", "")
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
	(&sendAPI{temporal: c, taskQueue: tc.TaskQueue, wait: wait, emailHashKey: []byte(emailHashKey), log: logger}).routes(mux)
	(&caseAPI{temporal: c, taskQueue: tc.TaskQueue, auth: cvAuth, log: logger}).routes(mux)
	unrouted := newUnroutedCounter()
	reg.Register(unrouted)
	(&akuteAPI{temporal: c, taskQueue: tc.TaskQueue, verifier: akuteVerifier, log: logger, unrouted: unrouted}).routes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			writeError(w, http.StatusServiceUnavailable, apiError{Code: "temporal_unavailable", Message: "Temporal is not reachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", reg.Handler())
	mux.Handle("/codec/", http.StripPrefix("/codec", codec.Handler(tc.Codec, codecToken, codecOrigins)))
	if len(apiTokens) == 0 {
		logger.Warn("the starter's /api routes are open to anyone who can reach it: set CAREBRIDGE_API_TOKENS")
	}
	if codecToken == "" {
		logger.Warn("the codec endpoint decrypts for anyone who can reach it: set CAREBRIDGE_CODEC_AUTH_TOKEN")
	}
	if emailHashKey == "" {
		logger.Warn("sends carry no PatientEmailHash search attribute: set CAREBRIDGE_SEARCH_HASH_KEY")
	}

	srv := &http.Server{
		Addr:              addr,
		Handler:           reg.Instrument(logger, requireAPIToken(apiTokens, mux)),
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
	_ = reg.Close()
}

// requireAPIToken guards every /api/ route with a bearer token when tokens
// are configured; the webhooks keep their partners' own auth.
func requireAPIToken(tokens []string, next http.Handler) http.Handler {
	if len(tokens) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			ok := 0
			for _, t := range tokens {
				ok |= subtle.ConstantTimeCompare([]byte(got), []byte(t))
			}
			if ok != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge"`)
				writeError(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "a bearer token is required"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
