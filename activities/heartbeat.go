package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// HeartbeatEvery is how often a long activity reports that its worker is
// alive. Workers send heartbeats on at this pace (their
// MaxHeartbeatThrottleInterval), and HeartbeatTimeout leaves four missed
// ones of margin: a worker that died is noticed in 10 s, a slow one is not
// mistaken for dead.
const (
	HeartbeatEvery   = 2 * time.Second
	HeartbeatTimeout = 5 * HeartbeatEvery
)

// heartbeating runs fn while heartbeating, so that a worker that dies in the
// middle of an upstream call is noticed within the heartbeat timeout instead
// of the call's whole StartToClose timeout.
func heartbeating[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(HeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return fn()
}
