package config

import (
	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/clients/realtime"
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
	careValidateOptional  = []string{"CAREVALIDATE_AUTH_HEADER", "CAREVALIDATE_SIGNING_SECRET"}
	AkuteWebhookVariables = []string{"AKUTE_WEBHOOK_SECRET"}
	akuteWebhookOptional  = []string{"AKUTE_WEBHOOK_TOLERANCE"}
)

// Group reports whether an integration is on: any of its required or
// optional variables set. When it is, a required one that is missing is
// recorded (Err names it).
func (e *Env) Group(required, optional []string) bool {
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

// SendActivities are the send's activities over their clients, or nil when
// the send is off.
func (e *Env) SendActivities() *activities.Send {
	if !e.Group(SendVariables, sendOptional) {
		return nil
	}
	return activities.NewSend(
		activepieces.New(activepieces.Config{
			WebhookURL: e.String("ACTIVEPIECES_WEBHOOK_URL", ""),
			TokenField: e.String("ACTIVEPIECES_TOKEN_FIELD", ""),
			Timeout:    e.Duration("ACTIVEPIECES_TIMEOUT", activepieces.DefaultTimeout),
		}),
		realtime.New(realtime.Config{
			BaseURL:    e.String("REALTIME_BASE_URL", ""),
			AuthHeader: e.String("REALTIME_AUTH_HEADER", ""),
			AuthPrefix: e.String("REALTIME_AUTH_PREFIX", ""),
			Timeout:    e.Duration("REALTIME_TIMEOUT", realtime.DefaultTimeout),
		}),
		alleviate.New(alleviate.Config{
			BaseURL: e.String("ALLEVIATE_BASE_URL", ""),
			APIKey:  e.String("ALLEVIATE_API_KEY", ""),
			Source:  e.String("ALLEVIATE_SOURCE", alleviate.DefaultSource),
			Timeout: e.Duration("ALLEVIATE_TIMEOUT", alleviate.DefaultTimeout),
		}),
	)
}

// AkuteActivities are the Akute activities over their client, or nil when
// Akute is off.
func (e *Env) AkuteActivities() *activities.Akute {
	if !e.Group(AkuteVariables, akuteOptional) {
		return nil
	}
	return activities.NewAkute(akute.New(akute.Config{
		BaseURL: e.String("AKUTE_BASE_URL", ""),
		APIKey:  e.String("AKUTE_API_KEY", ""),
		Timeout: e.Duration("AKUTE_TIMEOUT", akute.DefaultTimeout),
	}), e.String("AKUTE_DEFAULT_TASK_OWNER_ID", ""))
}

// CareValidateOn reports whether CareValidate's webhook is configured.
func (e *Env) CareValidateOn() bool { return e.Group(CareValidateVariables, careValidateOptional) }

// AkuteWebhookOn reports whether Akute's webhook is configured.
func (e *Env) AkuteWebhookOn() bool { return e.Group(AkuteWebhookVariables, akuteWebhookOptional) }

// Integrations lists the integrations a program turned on, for its start
// line; with none on it records a problem naming what to set (hint).
func (e *Env) Integrations(on map[string]bool, hint string) []string {
	var names []string
	for _, name := range []string{IntegrationSend, IntegrationCareValidate, IntegrationAkute} {
		if on[name] {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		e.problems = append(e.problems, "no integration is configured: set "+hint)
	}
	return names
}
