package bench

import (
	"bytes"
	"context"
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

// drive sends n requests with the given concurrency, requests built by next.
func drive(ctx context.Context, n, concurrency int, next func(i int) request) result {
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, n)
		failures  atomic.Int64
		issued    atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(issued.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				req := next(i)
				t0 := time.Now()
				status, err := send(ctx, req)
				d := time.Since(t0)
				if err != nil || !req.ok(status) {
					failures.Add(1)
					continue
				}
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return result{requests: n, failures: int(failures.Load()), wall: time.Since(start), latencies: latencies}
}

// offer sends n requests, one every interval whatever the answers (an open
// loop): latencies are what a sender at that rate sees, not a queue's.
func offer(ctx context.Context, n int, interval time.Duration, next func(i int) request) result {
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, n)
		failures  atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range n {
		if i > 0 {
			select {
			case <-ctx.Done():
				return result{requests: i, failures: int(failures.Load()), wall: time.Since(start), latencies: latencies}
			case <-tick.C:
			}
		}
		req := next(i)
		wg.Go(func() {
			t0 := time.Now()
			status, err := send(ctx, req)
			d := time.Since(t0)
			if err != nil || !req.ok(status) {
				failures.Add(1)
				return
			}
			mu.Lock()
			latencies = append(latencies, d)
			mu.Unlock()
		})
	}
	wg.Wait()
	return result{requests: n, failures: int(failures.Load()), wall: time.Since(start), latencies: latencies}
}

func send(ctx context.Context, r request) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return 0, err
	}
	req.Header = r.header.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := loadClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
