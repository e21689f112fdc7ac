// Command starter is carebridge's HTTP service: it starts and signals the
// workflows that the worker runs, and runs sends itself when it can (eager
// start, sendworker.go).
//
// It listens twice: the public listener serves the API and the partners'
// webhooks; the internal one (loopback by default) serves the codec
// endpoint that decrypts patient data for the Web UI, metrics and readiness.
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

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/internal/config"
	"github.com/carebridge/carebridge/internal/metrics"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
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
	internalAddr := env.String("CAREBRIDGE_INTERNAL_ADDR", "127.0.0.1:8081")
	wait := env.Duration("CAREBRIDGE_SEND_WAIT", 20*time.Second)

	// Only the integrations the deployment configured. With eager sends on
	// (the default) the starter runs sends itself and needs the send's
	// credentials; with them off, any send variable turns the route on.
	eager := env.Bool("CAREBRIDGE_EAGER_SENDS", true)
	var send *activities.Send
	sendOn := false
	if eager {
		send = env.SendActivities()
		sendOn = send != nil
	} else {
		sendOn = env.Group(nil, config.SendVariables)
	}
	cvOn, akuteOn := env.CareValidateOn(), env.AkuteWebhookOn()
	on := env.Integrations(map[string]bool{
		config.IntegrationSend: sendOn, config.IntegrationCareValidate: cvOn, config.IntegrationAkute: akuteOn,
	}, strings.Join(config.SendVariables, ", ")+" (sends), "+strings.Join(config.CareValidateVariables, ", ")+
		" (CareValidate's webhook) or "+strings.Join(config.AkuteWebhookVariables, ", ")+" (Akute's webhook)")
	cvAuth := carevalidate.Auth{
		Header:        env.String("CAREVALIDATE_AUTH_HEADER", "X-CareValidate-Auth"),
		Secret:        env.String("CAREVALIDATE_AUTH_SECRET", ""),
		SigningSecret: env.String("CAREVALIDATE_SIGNING_SECRET", ""),
	}
	akuteVerifier := akutewebhook.Verifier{
		Secrets:   akutewebhook.ParseSecrets(env.String("AKUTE_WEBHOOK_SECRET", "")),
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
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	attrs := &searchAttributeCheck{temporal: c, namespace: tc.Options.Namespace, log: logger}
	go attrs.atStart(ctx)
	starts := &starts{attrs: attrs, log: logger}

	public := http.NewServeMux()
	if sendOn {
		api := &sendAPI{temporal: c, taskQueue: tc.SendTaskQueue, eager: eager, wait: wait,
			emailHashKey: []byte(emailHashKey), log: logger, starts: starts}
		api.routes(public)
		if api.eager {
			defer hostSendWorker(ctx, c, tc.SendTaskQueue, send, logger)()
		}
	} else {
		integrationOff(public, config.IntegrationSend, config.SendVariables, sendRoutes...)
	}
	if cvOn {
		(&caseAPI{temporal: c, taskQueue: tc.TaskQueue, auth: cvAuth, log: logger, starts: starts}).routes(public)
	} else {
		integrationOff(public, config.IntegrationCareValidate, config.CareValidateVariables, caseRoutes...)
	}
	if akuteOn {
		unrouted := newUnroutedCounter()
		reg.Register(unrouted)
		(&akuteAPI{temporal: c, taskQueue: tc.TaskQueue, verifier: akuteVerifier, log: logger, unrouted: unrouted, starts: starts}).routes(public)
	} else {
		integrationOff(public, config.IntegrationAkute, config.AkuteWebhookVariables, akuteRoutes...)
	}
	public.HandleFunc("GET /healthz", healthz)

	internal := http.NewServeMux()
	internal.HandleFunc("GET /healthz", healthz)
	internal.HandleFunc("GET /readyz", attrs.readyz)
	internal.Handle("GET /metrics", reg.Handler())
	internal.Handle("/codec/", http.StripPrefix("/codec", codec.Handler(tc.Codec, codecToken, codecOrigins)))

	if len(apiTokens) == 0 {
		logger.Warn("the starter's /api routes are open to anyone who can reach it: set CAREBRIDGE_API_TOKENS")
	}
	if codecToken == "" {
		logger.Warn("the codec endpoint decrypts for anyone who can reach the internal listener: set CAREBRIDGE_CODEC_AUTH_TOKEN",
			slog.String("internal_addr", internalAddr))
	}
	if sendOn && emailHashKey == "" {
		logger.Warn("sends carry no PatientEmailHash search attribute: set CAREBRIDGE_SEARCH_HASH_KEY")
	}

	servers := []*http.Server{
		{
			Addr:              addr,
			Handler:           reg.Instrument(logger, requireAPIToken(apiTokens, public)),
			ReadHeaderTimeout: 10 * time.Second,
			// Writes wait for a send's answer, up to CAREBRIDGE_SEND_WAIT.
			WriteTimeout: wait + 30*time.Second,
		},
		{Addr: internalAddr, Handler: internal, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute},
	}
	failed := make(chan error, len(servers))
	for _, srv := range servers {
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				failed <- err
			}
		}()
	}
	logger.Info("starter listening", slog.String("addr", addr), slog.String("internal_addr", internalAddr),
		slog.String("integrations", strings.Join(on, ",")), slog.Bool("eager_sends", eager && sendOn),
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

func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// integrationOff answers the routes of an integration this deployment did
// not configure with a 404 that says so, instead of the mux's bare one.
func integrationOff(mux *http.ServeMux, name string, variables []string, routes ...string) {
	for _, route := range routes {
		mux.HandleFunc(route, func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusNotFound, apiError{
				Code:    "integration_off",
				Message: name + " is not configured on this deployment (" + strings.Join(variables, ", ") + ")",
			})
		})
	}
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
