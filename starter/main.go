// Command starter is carebridge's HTTP service: it starts and signals the
// workflows that the worker runs, and runs sends itself when it can (eager
// start, sendworker.go).
//
// It listens twice: the public listener serves the API and the partners'
// webhooks (package api); the internal one (loopback by default) serves the
// codec endpoint that decrypts patient data for the Web UI, metrics and
// readiness. This file only wires them.
//
// Configuration is the environment only; see docs/configuration.md.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"

	"github.com/carebridge/carebridge/internal/audit"
	"github.com/carebridge/carebridge/internal/auth"
	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/internal/config"
	"github.com/carebridge/carebridge/internal/metrics"
	"github.com/carebridge/carebridge/internal/tracing"
	"github.com/carebridge/carebridge/starter/api"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
	"github.com/carebridge/carebridge/worker/wiring"
)

// shutdownGrace bounds how long in-flight requests may finish at shutdown.
const shutdownGrace = 30 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		env := config.FromOS()
		os.Exit(config.Healthcheck(env.HTTPAddr(), "/healthz", env.ServesTLS()))
	}
	logger := tracing.Logger(config.Logger("starter")) // a request's line carries its trace_id
	env := config.FromOS()
	cfg := env.LoadStarter()
	if err := env.Err(); err != nil {
		config.Exit("starter", err)
	}
	tc := cfg.Temporal
	// Traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; flushed
	// after the send worker and the client stopped (internal/tracing).
	flushTraces, err := tracing.Setup(context.Background(), "starter", logger)
	if err != nil {
		config.Exit("starter", err)
	}
	defer flushTraces()
	// The certificate is re-read when its files change (rotation without
	// a restart); both listeners serve it.
	tlsConfig, err := cfg.TLS.ServerConfig(logger)
	if err != nil {
		config.Exit("starter", err)
	}
	reg := metrics.New("carebridge_starter")

	// Lazy: the starter comes up (and answers 503) while Temporal is down,
	// and reconnects when it is back.
	clientOptions := tc.ClientOptions(logger, reg.SDK)
	// Starts and signals, and the send worker's runs and steps, are traced.
	clientOptions.Interceptors = append(clientOptions.Interceptors, tracing.TemporalInterceptor())
	// Eager sends: the starter runs them itself, with the worker's clients,
	// and hands each answer to its request in-process.
	eager := cfg.Send != nil
	var local *api.LocalResults
	if eager {
		local = api.NewLocalResults()
		clientOptions.ConnectionOptions.DialOptions = append(clientOptions.ConnectionOptions.DialOptions,
			grpc.WithChainUnaryInterceptor(local.Interceptor))
	}
	c, err := client.NewLazyClient(clientOptions)
	if err != nil {
		config.Exit("starter", err)
	}
	defer c.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// Who may get in (docs/security.md): people's tokens of the clinic's
	// provider, verified against its keys, beside the machines' keys; and
	// the trail of who read or changed what.
	var people *auth.Verifier
	if id := tc.Identity; id.On() {
		if people, err = auth.NewVerifier(ctx, auth.Config{Issuer: id.Issuer, Audience: id.Audience, HTTPClient: id.HTTPClient}); err != nil {
			config.Exit("starter", err)
		}
	}
	var trail *audit.Log
	if cfg.Audit.Dir != "" {
		if trail, err = audit.Open(cfg.Audit.Dir, audit.Options{Retention: cfg.Audit.Retention}); err != nil {
			config.Exit("starter", err)
		}
		defer trail.Close()
	}
	deps := api.Deps{
		Temporal: c, Namespace: tc.Options.Namespace, TaskQueue: tc.TaskQueue, SendTaskQueue: tc.SendTaskQueue,
		APITokens: cfg.APITokens, APIKeys: cfg.APIKeys, People: people, Audit: trail,
		DataConverter: tc.Options.DataConverter, LocalResults: local, Log: logger, Metrics: reg,
	}
	if cfg.On.Send {
		deps.Send = &api.Send{Wait: cfg.SendWait, EmailHashKey: []byte(cfg.SearchHashKey), Eager: eager}
	}
	if eager {
		defer hostSendWorker(ctx, c, tc.SendTaskQueue, wiring.Send(cfg.Send), logger, reg.UpstreamErrors())()
	}
	if cv := cfg.CareValidate; cv != nil {
		deps.CareValidate = &carevalidate.Auth{Header: cv.AuthHeader, Secret: cv.AuthSecret,
			PreviousSecret: cv.PreviousAuthSecret, SigningSecret: cv.SigningSecret}
	}
	if ak := cfg.AkuteWebhook; ak != nil {
		deps.Akute = &akutewebhook.Verifier{Secrets: akutewebhook.ParseSecrets(ak.Secrets), Tolerance: ak.Tolerance}
	}
	go api.LogMissingSearchAttributes(ctx, deps)
	// The on-call gauges: cases by status, sends running long or failed,
	// Temporal reachable (docs/operations.md, "Alerts").
	go reg.NewOnCall(c, tc.Options.Namespace, logger).Run(ctx, cfg.OnCallInterval)

	internal := http.NewServeMux()
	internal.HandleFunc("GET /healthz", api.Healthz)
	internal.Handle("GET /readyz", api.Readyz(deps))
	internal.Handle("GET /metrics", reg.Handler())
	internal.Handle("/codec/", http.StripPrefix("/codec", codec.Handler(tc.Codec, codec.Access{
		ReadToken: cfg.CodecAuthToken, WriteToken: cfg.CodecWriteToken, People: people, Namespace: tc.Options.Namespace,
		Audit: trail, Log: logger,
	}, cfg.CodecCORSOrigins)))

	// In production the configuration stops the starter before it gets
	// here without credentials or TLS; in development it may run open.
	if cfg.Dev {
		logger.Warn("development mode (CAREBRIDGE_DEV=true): loopback only; never run it so in production")
	}
	if len(cfg.APITokens) == 0 && len(cfg.APIKeys) == 0 && people == nil {
		logger.Warn("the starter's /api routes are open to anyone who can reach it: set CAREBRIDGE_API_KEYS")
	}
	if cfg.CodecAuthToken == "" && people == nil {
		logger.Warn("the codec endpoint decrypts for anyone who can reach the internal listener: set CAREBRIDGE_CODEC_AUTH_TOKEN",
			slog.String("internal_addr", cfg.InternalAddr))
	}
	if cfg.On.Send && cfg.SearchHashKey == "" {
		logger.Warn("sends carry no PatientEmailHash search attribute: set CAREBRIDGE_SEARCH_HASH_KEY")
	}

	// Each listener bounds its timeouts, headers and requests in flight
	// (config.Listener says which values and why). The public bound sits
	// inside the instrumentation, so that its 503s are counted too (as
	// route "unmatched": the mux never saw them).
	public, private := cfg.PublicListener(), cfg.InternalListener()
	public.TLS, private.TLS = tlsConfig, tlsConfig
	servers := []*http.Server{
		// A trace per request, its span named by the route the mux matched.
		public.Server(tracing.Server(reg.Instrument(logger, tracing.Route(public.Limit(api.New(deps)))))),
		// Counted too (not logged): the codec endpoint's 401s alert.
		private.Server(reg.Instrument(nil, private.Limit(internal))), // its 503s counted, as the public one's
	}
	failed := make(chan error, len(servers))
	for _, srv := range servers {
		go func() {
			if err := config.ListenAndServe(srv); err != nil {
				failed <- err
			}
		}()
	}
	logger.Info("starter listening", slog.String("mode", config.Mode(cfg.Dev)), slog.String("tls", cfg.TLS.String()),
		slog.String("addr", cfg.HTTPAddr), slog.String("internal_addr", cfg.InternalAddr),
		slog.String("integrations", cfg.On.String()), slog.Bool("eager_sends", eager),
		slog.String("temporal", tc.Options.HostPort), slog.String("namespace", tc.Options.Namespace),
		slog.String("task_queue", tc.TaskQueue), slog.String("send_task_queue", tc.SendTaskQueue))
	select {
	case err := <-failed:
		config.Exit("starter", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	_ = reg.Close()
}
