// Package api is carebridge's HTTP API: the routes of the starter's public
// listener (the send, the case state, the partners' webhooks, /healthz) and
// the readiness of its internal one. Every route that records something
// answers 2xx only once Temporal has recorded it; docs/api.md lists every
// answer.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/carebridge/carebridge/internal/config"
	"github.com/carebridge/carebridge/internal/metrics"
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
	Log       *slog.Logger
	// Metrics takes the API's own counters (*metrics.Registry is one); it
	// is needed only with Akute's webhook on.
	Metrics interface{ Register(prometheus.Collector) }

	// DataConverter reads what a start put in a run's memo (the client's
	// own, with the codec); nil: the SDK's default.
	DataConverter converter.DataConverter

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
	starts := &starts{attrs: d.attributes(), log: d.Log}
	mux := http.NewServeMux()
	if d.Send != nil {
		(&sendAPI{Send: *d.Send, temporal: d.Temporal, taskQueue: d.SendTaskQueue, starts: starts, memo: d.memoConverter(), log: d.Log}).routes(mux)
	} else {
		integrationOff(mux, config.IntegrationSend, config.SendVariables, sendRoutes...)
	}
	if d.CareValidate != nil {
		(&caseAPI{temporal: d.Temporal, taskQueue: d.TaskQueue, auth: *d.CareValidate, log: d.Log, starts: starts}).routes(mux)
	} else {
		integrationOff(mux, config.IntegrationCareValidate, config.CareValidateVariables, caseRoutes...)
	}
	if d.Akute != nil {
		unrouted := newUnroutedCounter()
		d.Metrics.Register(unrouted)
		(&akuteAPI{temporal: d.Temporal, taskQueue: d.TaskQueue, verifier: *d.Akute, log: d.Log,
			unrouted: unrouted, starts: starts}).routes(mux)
	} else {
		integrationOff(mux, config.IntegrationAkute, config.AkuteWebhookVariables, akuteRoutes...)
	}
	mux.HandleFunc("GET /healthz", Healthz)
	return requireAPIToken(d.credentials(), mux)
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

// credential is one key the API accepts, as its SHA-256, and who presents it.
type credential struct {
	sha256 [sha256.Size]byte
	caller caller
}

// caller is who made a request: the name of the key it presented (never the
// key). A named caller's Idempotency-Keys are its own (scoped); the shared
// tokens' caller and an open API's anonymous one keep the unscoped ids of
// before callers had names.
type caller struct {
	name   string // "" when the API is open
	scoped bool
}

type callerContextKey struct{}

// callerOf is who made r: the zero caller when the API is open.
func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerContextKey{}).(caller)
	return c
}

// credentials are the named keys, then the shared tokens, hashed.
func (d Deps) credentials() []credential {
	var out []credential
	for _, k := range d.APIKeys {
		out = append(out, credential{sha256: k.SHA256, caller: caller{name: k.Caller, scoped: true}})
	}
	for _, t := range d.APITokens {
		out = append(out, credential{sha256: sha256.Sum256([]byte(t)), caller: caller{name: config.SharedTokenCaller}})
	}
	if len(d.APITokens) > 0 && d.Log != nil {
		d.Log.Warn("CAREBRIDGE_API_TOKENS is deprecated: its tokens are shared and name no caller; give each caller its own key in CAREBRIDGE_API_KEYS",
			slog.String("caller", config.SharedTokenCaller))
	}
	return out
}

// authenticate finds the caller whose key is authorization's bearer token:
// its SHA-256 is compared with every credential's, in constant time.
func authenticate(creds []credential, authorization string) (caller, bool) {
	scheme, key, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Bearer") || key == "" {
		return caller{}, false
	}
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i, c := range creds {
		found = subtle.ConstantTimeSelect(subtle.ConstantTimeCompare(sum[:], c.sha256[:]), i, found)
	}
	if found < 0 {
		return caller{}, false
	}
	return creds[found].caller, true
}

// requireAPIToken guards every /api/ route with a bearer key when keys or
// tokens are configured; the webhooks keep their partners' own auth. The
// request then carries its caller (callerOf), and its line in the log
// (internal/metrics) names the caller, never the key.
func requireAPIToken(creds []credential, next http.Handler) http.Handler {
	if len(creds) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		who, ok := authenticate(creds, r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge"`)
			writeError(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "a bearer token is required"})
			return
		}
		metrics.Annotate(r.Context(), slog.String("caller", who.name))
		inner := r.WithContext(context.WithValue(r.Context(), callerContextKey{}, who))
		next.ServeHTTP(w, inner)
		r.Pattern = inner.Pattern // the mux matched the copy; the request's own log line names the route
	})
}
