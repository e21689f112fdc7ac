package activities

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/carebridge/carebridge/clients/activepieces"
)

// tokenCache keeps the Realtime JWT in the worker's memory, never in workflow
// history: every Activepieces call runs (and bills) a flow, so one token
// serves every send until shortly before it expires.
type tokenCache struct {
	fetch      func(context.Context) (activepieces.Token, error)
	margin     time.Duration // stop using a token this long before its exp
	defaultTTL time.Duration // lifetime assumed for a token without exp
	now        func() time.Time

	mu         sync.Mutex
	token      string
	validUntil time.Time

	// One fetch at a time: twenty sends arriving together start one flow run.
	flight singleflight.Group
}

// get returns a usable token and whether it was fetched just now.
func (c *tokenCache) get(ctx context.Context) (token string, validUntil time.Time, fetched bool, err error) {
	c.mu.Lock()
	if c.token != "" && c.now().Before(c.validUntil) {
		token, validUntil = c.token, c.validUntil
		c.mu.Unlock()
		return token, validUntil, false, nil
	}
	c.mu.Unlock()

	type result struct {
		token      string
		validUntil time.Time
	}
	v, err, _ := c.flight.Do("token", func() (any, error) {
		tok, err := c.fetch(ctx)
		if err != nil {
			return nil, err
		}
		until := c.now().Add(c.defaultTTL)
		if !tok.ExpiresAt.IsZero() {
			until = tok.ExpiresAt.Add(-c.margin)
		}
		c.mu.Lock()
		c.token, c.validUntil = tok.Value, until
		c.mu.Unlock()
		return result{tok.Value, until}, nil
	})
	if err != nil {
		return "", time.Time{}, false, err
	}
	r := v.(result)
	return r.token, r.validUntil, true, nil
}

// invalidate forgets token if it is still the cached one (Realtime refused
// it); a newer token fetched meanwhile is kept.
func (c *tokenCache) invalidate(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == token {
		c.token, c.validUntil = "", time.Time{}
	}
}
