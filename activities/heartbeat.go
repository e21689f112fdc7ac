package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// HeartbeatEvery is how often a long activity reports that its worker is
// alive; the workflow's HeartbeatTimeout is a few of these.
const HeartbeatEvery = 2 * time.Second

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
