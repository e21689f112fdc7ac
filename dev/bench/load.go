package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one load run measured.
type result struct {
	requests  int
	failures  int
	wall      time.Duration
	latencies []time.Duration // successful requests only
}

func (r result) served() int { return r.requests - r.failures }

func (r result) perSecond() float64 { return float64(r.served()) / r.wall.Seconds() }

func (r result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	sorted := slices.Clone(r.latencies)
	slices.Sort(sorted)
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// request is one request of a load run.
type request struct {
	url    string
	body   []byte
	header http.Header
	ok     func(status int) bool
}

var loadClient = &http.Client{
	Timeout:   60 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256},
}

// recorder counts a load run's failures and keeps its latencies.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration // successful requests only
	failures  atomic.Int64
	start     time.Time
}

func newRecorder(n int) *recorder {
	return &recorder{latencies: make([]time.Duration, 0, n), start: time.Now()}
}

// measure sends one request and records how it went.
func (r *recorder) measure(ctx context.Context, req request) {
	t0 := time.Now()
	status, _, err := send(ctx, req)
	if err != nil || !req.ok(status) {
		r.failures.Add(1)
		return
	}
	r.record(time.Since(t0))
}

// record keeps a successful request's latency.
func (r *recorder) record(d time.Duration) {
	r.mu.Lock()
	r.latencies = append(r.latencies, d)
	r.mu.Unlock()
}

func (r *recorder) result(requests int) result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return result{requests: requests, failures: int(r.failures.Load()), wall: time.Since(r.start), latencies: r.latencies}
}

// drive sends n requests with the given concurrency, requests built by next.
func drive(ctx context.Context, n, concurrency int, next func(i int) request) result {
	rec := newRecorder(n)
	var issued atomic.Int64
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(issued.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				rec.measure(ctx, next(i))
			}
		})
	}
	wg.Wait()
	return rec.result(n)
}

// offer sends n requests, one every interval whatever the answers (an open
// loop): latencies are what a sender at that rate sees, not a queue's.
func offer(ctx context.Context, n int, interval time.Duration, next func(i int) request) result {
	rec := newRecorder(n)
	sent := pace(ctx, n, interval, func(i int) { rec.measure(ctx, next(i)) })
	return rec.result(sent)
}

// pace starts do(0) … do(n-1), one every interval, each in its own
// goroutine whatever the others' progress, waits for them, and says how
// many it started (fewer when ctx ends).
func pace(ctx context.Context, n int, interval time.Duration, do func(i int)) int {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range n {
		if i > 0 {
			select {
			case <-ctx.Done():
				return i
			case <-tick.C:
			}
		}
		wg.Go(func() { do(i) })
	}
	return n
}

// loadKey is the load's API key (the baseline ignores it).
const loadKey = "bench-load-key"

// loadKeyHash is what CAREBRIDGE_API_KEYS holds of loadKey.
func loadKeyHash() string {
	sum := sha256.Sum256([]byte(loadKey))
	return hex.EncodeToString(sum[:])
}

func send(ctx context.Context, r request) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = r.header.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := loadClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
