// Package api is carebridge's HTTP API: the routes of the starter's public
// listener (the send, the case state, the partners' webhooks, /healthz) and
// the readiness of its internal one. Every route that records something
// answers 2xx only once Temporal has recorded it; docs/api.md lists every
// answer.
package api

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/carebridge/carebridge/internal/audit"
	"github.com/carebridge/carebridge/internal/auth"
	"github.com/carebridge/carebridge/internal/config"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
)

// Deps is what the API needs: Temporal, and what the deployment configured.
type Deps struct {
	Temporal      client.Client
	Namespace     string // where the search attributes must exist
	TaskQueue     string // cases and the unrouted days
	SendTaskQueue string
	// APIKeys and APITokens guard every /api/ route when either is set;
	// the webhooks keep their partners' own auth. An API key names its
	// caller (CAREBRIDGE_API_KEYS); the tokens (CAREBRIDGE_API_TOKENS,
	// deprecated) are shared, so all of them are one caller,
	// config.SharedTokenCaller.
	APIKeys   []config.APIKey
	APITokens []string
	// People are the OpenID Connect provider's tokens (nil: none): a
	// person's GET needs <Namespace>:read, anything else <Namespace>:write.
	People *auth.Verifier
	// Audit records every read of patient data and every change (nil:
	// none, development only).
	Audit *audit.Log
	Log   *slog.Logger
	// Metrics takes the API's own counters (*metrics.Registry is one); it
	// is needed with Akute's webhook on, and exports the sends' answers by
	// where they came from when set.
	Metrics interface{ Register(prometheus.Collector) }

	// DataConverter reads what a start put in a run's memo and a send's
	// result handed over in-process (the client's own, with the codec);
	// nil: the SDK's default.
	DataConverter converter.DataConverter
	// LocalResults hands the answers of sends the starter's own worker ran
	// to the requests waiting for them (nil: every answer from Temporal).
	LocalResults *LocalResults

	// The integrations. Nil is off: its routes answer 404 integration_off,
	// naming the variables that turn it on.
	Send         *Send
	CareValidate *carevalidate.Auth
	Akute        *akutewebhook.Verifier
}

// Send configures the send's routes.
type Send struct {
	Wait         time.Duration // how long a caller waits for Alleviate's answer
	EmailHashKey []byte        // keys the PatientEmailHash search attribute; empty: not set
	// Eager: the starter runs a send worker (starter/sendworker.go), so a
	// start asks for the first workflow task in its answer, which then
	// skips the trip through matching.
	Eager bool
}

// New returns the public listener's handler: every route of docs/api.md.
func New(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler) // every handler logs through it
	}
	starts := &starts{attrs: d.attributes(), log: d.Log}
	audited := trail{log: d.Audit, app: d.Log}
	mux := http.NewServeMux()
	if d.Send != nil {
		answers := newAnswerCounter()
		if d.Metrics != nil {
			d.Metrics.Register(answers)
		}
		(&sendAPI{Send: *d.Send, temporal: d.Temporal, taskQueue: d.SendTaskQueue, starts: starts, trail: audited,
			payloads: d.payloadConverter(), local: d.LocalResults, answers: answers, log: d.Log}).routes(mux)
	} else {
		integrationOff(mux, config.IntegrationSend, config.SendVariables, sendRoutes...)
	}
	if d.CareValidate != nil {
		(&caseAPI{temporal: d.Temporal, taskQueue: d.TaskQueue, auth: *d.CareValidate, log: d.Log, starts: starts, trail: audited}).routes(mux)
	} else {
		integrationOff(mux, config.IntegrationCareValidate, config.CareValidateVariables, caseRoutes...)
	}
	if d.Akute != nil {
		unrouted := newUnroutedCounter()
		d.Metrics.Register(unrouted)
		(&akuteAPI{temporal: d.Temporal, taskQueue: d.TaskQueue, verifier: *d.Akute, log: d.Log,
			unrouted: unrouted, starts: starts, trail: audited}).routes(mux)
	} else {
		integrationOff(mux, config.IntegrationAkute, config.AkuteWebhookVariables, akuteRoutes...)
	}
	mux.HandleFunc("GET /healthz", Healthz)
	return requireCaller(d.credentials(), d.People, d.Namespace, mux)
}

// Healthz answers 200 while the program runs (both listeners serve it).
func Healthz(w http.ResponseWriter, _ *http.Request) {
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
