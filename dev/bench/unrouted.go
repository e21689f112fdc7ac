package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carebridge/carebridge/dev/devstack"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
	"github.com/carebridge/carebridge/workflows"
)

// unroutedLoad offers Akute deliveries that no case claims (task updates
// of tasks no case made: each looked up in visibility, then kept in the
// day's AkuteUnrouted workflow) and remembers which workflows the starter
// says kept them.
type unroutedLoad struct {
	stack *devstack.Stack
	run   int64

	mu   sync.Mutex
	kept map[string]bool // the workflows the answers named
}

func (u *unroutedLoad) request(i int) request {
	body := fmt.Appendf(nil, `{"event":"task.updated","id":"bench-unrouted-%d-%d","data":{"id":"task-nobody-%d-%d","status":"complete","tags":["other"]}}`,
		u.run, i, u.run, i)
	secret := u.stack.Env("AKUTE_WEBHOOK_SECRET")
	header := http.Header{}
	header.Set(akutewebhook.Header, akutewebhook.Sign([]byte(secret), time.Now(), body))
	return request{url: u.stack.StarterURL + "/webhooks/akute", body: body, header: header,
		ok: func(s int) bool { return s == http.StatusAccepted }}
}

// keep remembers the workflow an acknowledgement names.
func (u *unroutedLoad) keep(answer []byte) {
	var a struct {
		WorkflowID string `json:"workflow_id"`
	}
	if json.Unmarshal(answer, &a) == nil && a.WorkflowID != "" {
		u.mu.Lock()
		u.kept[a.WorkflowID] = true
		u.mu.Unlock()
	}
}

// openLoop offers perSecond deliveries a second for seconds, each retried
// a second after a refusal until acknowledged, as Akute retries its
// webhooks (for up to limit). A latency is from its first attempt to its
// 202; a failure is a delivery never acknowledged. It also says how many
// attempts were refused.
func (u *unroutedLoad) openLoop(ctx context.Context, perSecond, seconds int, limit time.Duration) (result, int) {
	u.kept = map[string]bool{}
	n := perSecond * seconds
	rec := newRecorder(n)
	var refused atomic.Int64
	sent := pace(ctx, n, time.Second/time.Duration(perSecond), func(i int) {
		t0, deadline := time.Now(), time.Now().Add(limit)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			req := u.request(i)
			if status, answer, err := send(ctx, req); err == nil && req.ok(status) {
				u.keep(answer)
				rec.record(time.Since(t0))
				return
			}
			refused.Add(1)
			time.Sleep(time.Second)
		}
		rec.failures.Add(1)
	})
	return rec.result(sent), int(refused.Load())
}

// waitRecorded waits until the workflows that kept the deliveries count
// want of them together (the day's one; two when the run crosses midnight
// UTC), and says how many workflows they were.
func (u *unroutedLoad) waitRecorded(ctx context.Context, want int, limit time.Duration) (int, error) {
	c, err := u.stack.Dial()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	deadline := time.Now().Add(limit)
	for {
		total := 0
		for id := range u.kept {
			v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryState)
			var s workflows.UnroutedState
			if err == nil && v.Get(&s) == nil {
				total += s.Count
			}
		}
		if total >= want {
			return len(u.kept), nil
		}
		if time.Now().After(deadline) {
			return len(u.kept), fmt.Errorf("the unrouted workflows recorded %d of %d deliveries within %s", total, want, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
