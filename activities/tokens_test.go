package activities

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/clients/activepieces"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newCache(clk *clock, exp time.Duration) (*tokenCache, *atomic.Int64) {
	var fetches atomic.Int64
	return &tokenCache{
		fetch: func(context.Context) (activepieces.Token, error) {
			n := fetches.Add(1)
			time.Sleep(10 * time.Millisecond) // let concurrent callers pile up
			tok := activepieces.Token{Value: "token-" + string(rune('0'+n))}
			if exp > 0 {
				tok.ExpiresAt = clk.Now().Add(exp)
			}
			return tok, nil
		},
		margin:     time.Minute,
		defaultTTL: 5 * time.Minute,
		now:        clk.Now,
	}, &fetches
}

func TestTokenReusedUntilExpiryLessMargin(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c, fetches := newCache(clk, 10*time.Minute)

	tok, until, fetched, err := c.get(context.Background())
	require.NoError(t, err)
	assert.True(t, fetched)
	assert.Equal(t, clk.Now().Add(9*time.Minute), until, "exp less the one-minute margin")

	clk.Add(8*time.Minute + 59*time.Second)
	again, _, fetched, err := c.get(context.Background())
	require.NoError(t, err)
	assert.False(t, fetched)
	assert.Equal(t, tok, again)

	clk.Add(time.Second)
	renewed, _, fetched, err := c.get(context.Background())
	require.NoError(t, err)
	assert.True(t, fetched, "inside the margin the token is replaced")
	assert.NotEqual(t, tok, renewed)
	assert.EqualValues(t, 2, fetches.Load())
}

func TestTokenWithoutExpUsesDefaultTTL(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c, fetches := newCache(clk, 0)
	_, until, _, err := c.get(context.Background())
	require.NoError(t, err)
	assert.Equal(t, clk.Now().Add(5*time.Minute), until)
	clk.Add(5 * time.Minute)
	_, _, _, _ = c.get(context.Background())
	assert.EqualValues(t, 2, fetches.Load())
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c, fetches := newCache(clk, 10*time.Minute)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, _, _, err := c.get(context.Background())
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, fetches.Load(), "twenty sends, one Activepieces flow run")
}

func TestInvalidateOnlyForgetsTheRefusedToken(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c, fetches := newCache(clk, 10*time.Minute)
	first, _, _, _ := c.get(context.Background())
	c.invalidate("some-older-token")
	same, _, _, _ := c.get(context.Background())
	assert.Equal(t, first, same)
	c.invalidate(first)
	second, _, fetched, _ := c.get(context.Background())
	assert.True(t, fetched)
	assert.NotEqual(t, first, second)
	assert.EqualValues(t, 2, fetches.Load())
}

func TestFetchErrorIsNotCached(t *testing.T) {
	calls := 0
	c := &tokenCache{
		fetch: func(context.Context) (activepieces.Token, error) {
			calls++
			if calls == 1 {
				return activepieces.Token{}, activepieces.ErrNoResponse
			}
			return activepieces.Token{Value: "t"}, nil
		},
		defaultTTL: time.Minute, now: time.Now,
	}
	_, _, _, err := c.get(context.Background())
	assert.True(t, errors.Is(err, activepieces.ErrNoResponse))
	tok, _, _, err := c.get(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t", tok)
}
