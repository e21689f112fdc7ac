package config

import (
	"strings"
	"time"
)

// A deployment turns on only the integrations it uses: an integration is on
// when any of its variables is set, and then every one it requires must be
// (a URL without its key stops the program at start, naming the key). The
// names below are what the programs report at start and in their errors.
const (
	IntegrationSend         = "alleviate-send"     // POST /api/alleviate/send
	IntegrationCareValidate = "carevalidate-cases" // CareValidate's webhook and /api/cases (cases keep Akute in step)
	IntegrationAkute        = "akute"              // the Akute EHR: the worker's client, the starter's webhook
)

// The variables of each integration.
var (
	SendVariables         = []string{"ACTIVEPIECES_WEBHOOK_URL", "REALTIME_BASE_URL", "ALLEVIATE_BASE_URL", "ALLEVIATE_API_KEY"}
	sendOptional          = []string{"ACTIVEPIECES_TOKEN_FIELD", "ACTIVEPIECES_TIMEOUT", "REALTIME_AUTH_HEADER", "REALTIME_AUTH_PREFIX", "REALTIME_TIMEOUT", "ALLEVIATE_SOURCE", "ALLEVIATE_TIMEOUT"}
	AkuteVariables        = []string{"AKUTE_BASE_URL", "AKUTE_API_KEY"}
	akuteOptional         = []string{"AKUTE_TIMEOUT", "AKUTE_DEFAULT_TASK_OWNER_ID"}
	CareValidateVariables = []string{"CAREVALIDATE_AUTH_SECRET"}
	careValidateOptional  = []string{"CAREVALIDATE_AUTH_HEADER", "CAREVALIDATE_AUTH_SECRET_PREVIOUS", "CAREVALIDATE_SIGNING_SECRET"}
	AkuteWebhookVariables = []string{"AKUTE_WEBHOOK_SECRET"}
	akuteWebhookOptional  = []string{"AKUTE_WEBHOOK_TOLERANCE"}
)

// Integrations says which integrations a program turned on.
type Integrations struct{ Send, CareValidate, Akute bool }

// String lists them as a program's start line does:
// "alleviate-send,carevalidate-cases,akute".
func (i Integrations) String() string {
	var names []string
	for _, it := range []struct {
		on   bool
		name string
	}{{i.Send, IntegrationSend}, {i.CareValidate, IntegrationCareValidate}, {i.Akute, IntegrationAkute}} {
		if it.on {
			names = append(names, it.name)
		}
	}
	return strings.Join(names, ",")
}

// atLeastOne records a problem naming what to set (hint) when none is on.
func (e *Env) atLeastOne(on Integrations, hint string) Integrations {
	if on == (Integrations{}) {
		e.problems = append(e.problems, "no integration is configured: set "+hint)
	}
	return on
}

// group reports whether an integration is on: any of its required or
// optional variables set. When it is, a required one that is missing is
// recorded (Err names it).
func (e *Env) group(required, optional []string) bool {
	on := false
	for _, name := range append(append([]string{}, required...), optional...) {
		if e.String(name, "") != "" {
			on = true
		}
	}
	if on {
		for _, name := range required {
			e.Required(name)
		}
	}
	return on
}

// Send is the send's upstreams. An empty optional value and a zero timeout
// mean the client's own default.
type Send struct {
	Activepieces Activepieces
	Realtime     Realtime
	Alleviate    Alleviate
}

// Activepieces is the flow that hands out Realtime's JWT.
type Activepieces struct {
	WebhookURL string // a secret: never logged
	TokenField string // the field of the flow's answer that holds the JWT
	Timeout    time.Duration
}

// Realtime is Realtime CTMS, where the patient is looked up.
type Realtime struct {
	BaseURL    string
	AuthHeader string // the header that carries the JWT
	AuthPrefix string // put directly before the JWT
	Timeout    time.Duration
}

// Alleviate is where the lead is posted.
type Alleviate struct {
	BaseURL string
	APIKey  string
	Source  string // the source query parameter
	Timeout time.Duration
}

// loadSend reads the send's upstreams, or nil when the send is off.
func (e *Env) loadSend() *Send {
	if !e.group(SendVariables, sendOptional) {
		return nil
	}
	return &Send{
		Activepieces: Activepieces{
			WebhookURL: e.String("ACTIVEPIECES_WEBHOOK_URL", ""),
			TokenField: e.String("ACTIVEPIECES_TOKEN_FIELD", ""),
			Timeout:    e.Duration("ACTIVEPIECES_TIMEOUT", 0),
		},
		Realtime: Realtime{
			BaseURL:    e.String("REALTIME_BASE_URL", ""),
			AuthHeader: e.String("REALTIME_AUTH_HEADER", ""),
			AuthPrefix: authScheme(e.String("REALTIME_AUTH_PREFIX", "")),
			Timeout:    e.Duration("REALTIME_TIMEOUT", 0),
		},
		Alleviate: Alleviate{
			BaseURL: e.String("ALLEVIATE_BASE_URL", ""),
			APIKey:  e.String("ALLEVIATE_API_KEY", ""),
			Source:  e.String("ALLEVIATE_SOURCE", ""),
			Timeout: e.Duration("ALLEVIATE_TIMEOUT", 0),
		},
	}
}

// Akute is the Akute EHR's API, which cases keep in step. A zero timeout
// means the client's own default.
type Akute struct {
	BaseURL string
	APIKey  string
	Timeout time.Duration
	// DefaultTaskOwnerID owns the tasks whose doctor is not an Akute user;
	// empty: they are unowned.
	DefaultTaskOwnerID string
}

// loadAkute reads Akute's API, or nil when it is off.
func (e *Env) loadAkute() *Akute {
	if !e.group(AkuteVariables, akuteOptional) {
		return nil
	}
	return &Akute{
		BaseURL:            e.String("AKUTE_BASE_URL", ""),
		APIKey:             e.String("AKUTE_API_KEY", ""),
		Timeout:            e.Duration("AKUTE_TIMEOUT", 0),
		DefaultTaskOwnerID: e.String("AKUTE_DEFAULT_TASK_OWNER_ID", ""),
	}
}

// CareValidate is how CareValidate's webhook proves itself.
type CareValidate struct {
	AuthHeader string // the header name CareValidate was given
	AuthSecret string // its value
	// PreviousAuthSecret is accepted too while CareValidate moves to
	// AuthSecret (rotation); empty: only AuthSecret is.
	PreviousAuthSecret string
	SigningSecret      string // empty: signatures are not checked
}

// loadCareValidate reads CareValidate's webhook, or nil when it is off.
func (e *Env) loadCareValidate() *CareValidate {
	if !e.group(CareValidateVariables, careValidateOptional) {
		return nil
	}
	return &CareValidate{
		AuthHeader:         e.String("CAREVALIDATE_AUTH_HEADER", "X-CareValidate-Auth"),
		AuthSecret:         e.String("CAREVALIDATE_AUTH_SECRET", ""),
		PreviousAuthSecret: e.String("CAREVALIDATE_AUTH_SECRET_PREVIOUS", ""),
		SigningSecret:      e.String("CAREVALIDATE_SIGNING_SECRET", ""),
	}
}

// AkuteWebhook is how Akute's webhook is verified.
type AkuteWebhook struct {
	// Secrets is one or more secrets, comma-separated (rotation), as the
	// webhook's verifier parses them.
	Secrets string
	// Tolerance is how far a signature's time may be from now; zero means
	// the verifier's default.
	Tolerance time.Duration
}

// loadAkuteWebhook reads Akute's webhook, or nil when it is off.
func (e *Env) loadAkuteWebhook() *AkuteWebhook {
	if !e.group(AkuteWebhookVariables, akuteWebhookOptional) {
		return nil
	}
	return &AkuteWebhook{
		Secrets:   e.String("AKUTE_WEBHOOK_SECRET", ""),
		Tolerance: e.Duration("AKUTE_WEBHOOK_TOLERANCE", 0),
	}
}

// authScheme is REALTIME_AUTH_PREFIX as it goes before the JWT: a scheme
// word and a space ("Bearer" and "Bearer " alike: values are trimmed).
func authScheme(prefix string) string {
	if prefix == "" {
		return ""
	}
	return prefix + " "
}
