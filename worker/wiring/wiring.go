// Package wiring builds the activities a program runs from the data
// internal/config read: the upstream clients, then the activities over
// them. The worker runs them all; the starter runs sends too (eager sends),
// with the same clients, so both build them here.
package wiring

import (
	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/clients/realtime"
	"github.com/carebridge/carebridge/internal/config"
)

// Send returns the send's activities over their clients; nil (the send is
// off) gives nil.
func Send(cfg *config.Send) *activities.Send {
	if cfg == nil {
		return nil
	}
	return activities.NewSend(
		activepieces.New(activepieces.Config{
			WebhookURL: cfg.Activepieces.WebhookURL,
			TokenField: cfg.Activepieces.TokenField,
			Timeout:    cfg.Activepieces.Timeout,
		}),
		realtime.New(realtime.Config{
			BaseURL:    cfg.Realtime.BaseURL,
			AuthHeader: cfg.Realtime.AuthHeader,
			AuthPrefix: cfg.Realtime.AuthPrefix,
			Timeout:    cfg.Realtime.Timeout,
		}),
		alleviate.New(alleviate.Config{
			BaseURL: cfg.Alleviate.BaseURL,
			APIKey:  cfg.Alleviate.APIKey,
			Source:  cfg.Alleviate.Source,
			Timeout: cfg.Alleviate.Timeout,
		}),
	)
}

// Akute returns the Akute activities over their client; nil (Akute is off)
// gives nil.
func Akute(cfg *config.Akute) *activities.Akute {
	if cfg == nil {
		return nil
	}
	return activities.NewAkute(akute.New(akute.Config{
		BaseURL: cfg.BaseURL,
		APIKey:  cfg.APIKey,
		Timeout: cfg.Timeout,
	}), cfg.DefaultTaskOwnerID)
}
