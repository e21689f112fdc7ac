package config

import (
	"strings"
	"time"
)

// Worker is the worker's configuration.
type Worker struct {
	Temporal    Temporal
	Dev         bool        // development mode (CAREBRIDGE_DEV): plain HTTP allowed, loopback only
	MetricsAddr string      // the Prometheus listener
	TLS         ListenerTLS // the Prometheus listener's TLS
	On          Integrations
	Send        *Send  // nil: sends are off
	Akute       *Akute // nil: cases and Akute's deliveries are off
	Cases       Cases
}

// Cases bounds case runs; zero means the workflow's default.
type Cases struct {
	MaxSignals   int           // signals (and operator updates) a run handles before it continues as new
	MaxHistory   int           // history events after which a run continues as new
	ArchiveGrace time.Duration // how long a finished case still absorbs late deliveries
	ConfirmWait  time.Duration // how long an unanswered task create waits for Akute's webhook
}

// LoadWorker reads the worker's configuration. Only what the deployment
// configured is on: the send's variables turn on sends, Akute's turn on
// cases and Akute's deliveries.
func (e *Env) LoadWorker() Worker {
	w := Worker{Temporal: e.LoadTemporal(), Dev: e.Dev(), MetricsAddr: e.MetricsAddr(), TLS: e.listenerTLS(),
		Send: e.loadSend(), Akute: e.loadAkute()}
	e.checkListeners(w.TLS, [][2]string{{"CAREBRIDGE_METRICS_ADDR", w.MetricsAddr}})
	w.On = e.atLeastOne(Integrations{Send: w.Send != nil, CareValidate: w.Akute != nil, Akute: w.Akute != nil},
		strings.Join(SendVariables, ", ")+" (sends), or "+strings.Join(AkuteVariables, ", ")+" (cases and Akute)")
	w.Cases = Cases{
		MaxSignals:   e.Int("CAREBRIDGE_CASE_MAX_SIGNALS", 0),
		MaxHistory:   e.Int("CAREBRIDGE_CASE_MAX_HISTORY", 0),
		ArchiveGrace: e.Duration("CAREBRIDGE_CASE_ARCHIVE_GRACE", 0),
		ConfirmWait:  e.Duration("CAREBRIDGE_CASE_CONFIRM_WAIT", 0),
	}
	return w
}

// MetricsAddr is the worker's Prometheus listener (its health check calls
// it): every interface by default, loopback in development.
func (e *Env) MetricsAddr() string {
	return e.String("CAREBRIDGE_METRICS_ADDR", devDefault(e.Dev(), ":9090"))
}

// devDefault is a listener's default address: in development, on loopback.
func devDefault(dev bool, addr string) string {
	if dev {
		return "127.0.0.1" + addr
	}
	return addr
}

// ServesTLS reports whether the program's listeners serve TLS themselves
// (its health check speaks TLS then).
func (e *Env) ServesTLS() bool {
	return e.String("CAREBRIDGE_TLS_CERT_FILE", "") != "" && e.String("CAREBRIDGE_TLS_KEY_FILE", "") != ""
}

// Starter is the starter's configuration.
type Starter struct {
	Temporal         Temporal
	Dev              bool          // development mode (CAREBRIDGE_DEV): open and plain HTTP allowed, loopback only
	HTTPAddr         string        // the public listener: API, webhooks
	InternalAddr     string        // the internal listener: codec endpoint, metrics, readiness
	TLS              ListenerTLS   // both listeners' TLS
	SendWait         time.Duration // how long a send's caller waits before getting 202
	MaxInFlight      int           // requests the public listener handles at once; past it, 503
	OnCallInterval   time.Duration // how often the on-call gauges ask Temporal's visibility (metrics.OnCall)
	APITokens        []string      // bearer tokens of the /api/ routes (deprecated: shared, one caller); none and no APIKeys: open (development only)
	APIKeys          []APIKey      // the /api/ routes' named callers' keys, hashed
	CodecAuthToken   string        // bearer token of the codec endpoint; empty: open (development only)
	CodecWriteToken  string        // bearer token to encode through it (a replayed signal); empty: nobody encodes
	CodecCORSOrigins []string      // Web UI origins allowed to call the codec endpoint
	SearchHashKey    string        // keys PatientEmailHash; empty: sends carry none
	Audit            Audit         // where the reads of patient data and the changes are recorded
	On               Integrations
	// Send holds the send's upstreams when the starter runs sends itself
	// (eager sends: CAREBRIDGE_EAGER_SENDS, on by default, and the send
	// configured). With eager sends off it is nil even when On.Send: any
	// of the send's variables then turns the route on, and the starter
	// needs no credential.
	Send         *Send
	CareValidate *CareValidate // nil: CareValidate's webhook and the case API are off
	AkuteWebhook *AkuteWebhook // nil: Akute's webhook is off
}

// LoadStarter reads the starter's configuration.
func (e *Env) LoadStarter() Starter {
	s := Starter{
		Temporal:         e.LoadTemporal(),
		Dev:              e.Dev(),
		APITokens:        e.List("CAREBRIDGE_API_TOKENS"),
		APIKeys:          e.apiKeys(),
		CodecAuthToken:   e.String("CAREBRIDGE_CODEC_AUTH_TOKEN", ""),
		CodecWriteToken:  e.String("CAREBRIDGE_CODEC_WRITE_TOKEN", ""),
		CodecCORSOrigins: e.List("CAREBRIDGE_CODEC_CORS_ORIGINS"),
		SearchHashKey:    e.String("CAREBRIDGE_SEARCH_HASH_KEY", ""),
		HTTPAddr:         e.HTTPAddr(),
		InternalAddr:     e.String("CAREBRIDGE_INTERNAL_ADDR", "127.0.0.1:8081"),
		SendWait:         e.Duration("CAREBRIDGE_SEND_WAIT", 20*time.Second),
		MaxInFlight:      e.Int("CAREBRIDGE_MAX_IN_FLIGHT", DefaultMaxInFlight),
		OnCallInterval:   e.Duration("CAREBRIDGE_ONCALL_METRICS_INTERVAL", 30*time.Second),
		TLS:              e.listenerTLS(),
	}
	s.Audit = e.audit(s.Dev)
	e.checkListeners(s.TLS, [][2]string{{"CAREBRIDGE_HTTP_ADDR", s.HTTPAddr}, {"CAREBRIDGE_INTERNAL_ADDR", s.InternalAddr}})
	if !s.Dev {
		if e.String("CAREBRIDGE_API_KEYS", "") == "" && len(s.APITokens) == 0 && !s.Temporal.Identity.On() {
			e.need(needAPIKeys)
		}
		if s.CodecAuthToken == "" && !s.Temporal.Identity.On() {
			e.need(needCodecToken)
		}
	}
	if len(s.CodecCORSOrigins) == 0 {
		s.CodecCORSOrigins = []string{"http://127.0.0.1:8233", "http://localhost:8233"}
	}
	if e.Bool("CAREBRIDGE_EAGER_SENDS", true) {
		s.Send = e.loadSend()
		s.On.Send = s.Send != nil
	} else {
		s.On.Send = e.group(nil, SendVariables)
	}
	s.CareValidate, s.AkuteWebhook = e.loadCareValidate(), e.loadAkuteWebhook()
	s.On.CareValidate, s.On.Akute = s.CareValidate != nil, s.AkuteWebhook != nil
	s.On = e.atLeastOne(s.On, strings.Join(SendVariables, ", ")+" (sends), "+strings.Join(CareValidateVariables, ", ")+
		" (CareValidate's webhook) or "+strings.Join(AkuteWebhookVariables, ", ")+" (Akute's webhook)")
	return s
}

// HTTPAddr is the starter's public listener (its health check calls it):
// every interface by default, loopback in development.
func (e *Env) HTTPAddr() string {
	return e.String("CAREBRIDGE_HTTP_ADDR", devDefault(e.Dev(), ":8080"))
}
