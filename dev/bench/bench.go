// Package bench measures carebridge against the direct design of
// alleviate-send.txt on the same machine, in the same run, against the same
// sandbox: sends at several concurrencies, CareValidate webhooks, memory.
// `make bench` runs it; a smoke run is part of `make test`.
package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
)

// Options sizes a run.
type Options struct {
	RepoRoot    string
	Dir         string        // state, logs and the report go here
	Latency     time.Duration // added by the sandbox to every upstream answer
	Sends       int           // per concurrency, for carebridge and for the baseline
	Concurrency []int
	Cases       int // CareValidate cases, each a scripted life of 8 events
	WebhookConc int
	// CapacityLevels are the concurrencies capacity runs climb through.
	CapacityLevels []int
	// WebhookRate deliveries per second are offered for WebhookSeconds
	// (open loop).
	WebhookRate, WebhookSeconds int
	// UnroutedRate Akute deliveries no case claims are offered a second for
	// UnroutedSeconds (open loop).
	UnroutedRate, UnroutedSeconds int
	Untuned                       bool   // the dev server's defaults
	Server                        string // devstack.Options.Server: "" (dev server), "postgres" or "cluster"
	Progress                      func(format string, args ...any)
	ApplyTimeout                  time.Duration
}

// Row is one line of the report.
type Row struct {
	Figure, Carebridge, Baseline, Ratio, Target string
}

// Report is a run's table.
type Report struct {
	Rows    []Row
	Machine string
	Options Options
	Checks  []string // counts that must hold (every send answered, every event applied)
}

// Markdown renders the table.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("| figure | carebridge | baseline | ratio | target |\n|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", row.Figure, row.Carebridge, row.Baseline, row.Ratio, row.Target)
	}
	return b.String()
}

const lead = `{"form_name":"vip_tlc_bunionectomy_ect","phone":"555-123-4567","name":"John Doe","email":"john.doe@example.com","instance_name":"ect"}`

// Targets are issue 13's, as ratios against the baseline where there is one.
const (
	targetP50c1       = "≤ 0.75"
	targetSendsC20    = "≥ 0.75"
	targetP99c20      = "≤ 1.5"
	targetHookRate    = "≥ 300"
	targetHookP99Open = "≤ 100 ms"
	targetWorkerRSS   = "≤ 150 MiB"
)

// capacityP99 is the tail a load level may have and still count as served.
const capacityP99 = time.Second

// Run starts the stack and the baseline, drives both, and reports.
func Run(ctx context.Context, o Options) (Report, error) {
	report := Report{Options: o, Machine: machine()}
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	data := filepath.Join(o.Dir, "data")
	_ = os.RemoveAll(data)
	logs, err := os.Create(filepath.Join(o.Dir, "stack.log"))
	if err != nil {
		return report, err
	}
	defer logs.Close()
	progress("starting the stack (sandbox latency %s per call)", o.Latency)
	stack, err := devstack.Start(ctx, devstack.Options{
		RepoRoot: o.RepoRoot, DataDir: data, Headless: true, Untuned: o.Untuned, Server: o.Server,
		// The figures a clinic gets: PostgreSQL as Debian ships it, every
		// commit on disk before Temporal hears of it.
		DurablePostgres: true,
		SandboxArgs:     []string{"-latency", o.Latency.String()},
		// The load's key: the production topology's starter knows the
		// OpenID Connect provider, and then its API is never open.
		Env:  map[string]string{"CAREBRIDGE_API_KEYS": "bench:" + loadKeyHash()},
		Logs: logs,
	})
	if err != nil {
		return report, err
	}
	defer stack.Stop()

	upstreams := map[string]string{}
	for _, name := range []string{"ACTIVEPIECES_WEBHOOK_URL", "REALTIME_BASE_URL", "ALLEVIATE_BASE_URL", "ALLEVIATE_API_KEY"} {
		upstreams[name] = stack.Env(name)
	}
	base, baseURL, err := startBaseline(upstreams)
	if err != nil {
		return report, err
	}
	defer func() { _ = base.Process.Kill(); _ = base.Wait() }()
	sendURL := stack.StarterURL + "/api/alleviate/send"
	baseURL += "/api/alleviate/send"

	// Carebridge's processes with Temporal's database (the dev server keeps
	// it in its own process; PostgreSQL's backends are its postmaster's
	// children), the sandbox (shared upstream) and the load generator (this
	// process) left out; the baseline's one process.
	ours := stack.PIDs()
	delete(ours, "sandbox")
	if pid := stack.PostgresPID(); pid != 0 {
		ours["postgres"] = pid
	}
	theirs := map[string]int{"baseline": base.Process.Pid}

	ok200 := func(status int) bool { return status == http.StatusOK }
	sendTo := func(url string) func(int) request {
		return func(int) request {
			return request{url: url, body: []byte(lead), header: http.Header{"Authorization": {"Bearer " + loadKey}}, ok: ok200}
		}
	}
	progress("warming up")
	drive(ctx, 10, 2, sendTo(sendURL))
	drive(ctx, 10, 2, sendTo(baseURL))

	for _, c := range o.Concurrency {
		progress("sends at concurrency %d: carebridge", c)
		// Each level warms its design up first (not counted): after the
		// other design's minute, its first requests meet cold caches and
		// connections, which would be most of a p99 over 400 requests.
		drive(ctx, 2*c, c, sendTo(sendURL))
		// The server's counters first: scraping waits for them to settle,
		// which the CPU meter must not count.
		counted, cbCPU := scrapeServer(stack.TemporalMetricsURLs()), newCPUMeter(ours)
		cb := drive(ctx, o.Sends, c, sendTo(sendURL))
		cbUse, cost := cbCPU.used(), scrapeServer(stack.TemporalMetricsURLs()).since(counted)
		progress("sends at concurrency %d: baseline", c)
		drive(ctx, 2*c, c, sendTo(baseURL))
		blCPU := newCPUMeter(theirs)
		bl := drive(ctx, o.Sends, c, sendTo(baseURL))
		blUse := blCPU.used()
		report.Checks = append(report.Checks,
			fmt.Sprintf("concurrency %d: carebridge %d/%d answered 200, baseline %d/%d", c,
				cb.requests-cb.failures, cb.requests, bl.requests-bl.failures, bl.requests),
			fmt.Sprintf("concurrency %d: CPU per send: %s; the baseline's process %s", c, cbUse.per(cb.served()), ms(blUse.total()/time.Duration(max(bl.served(), 1)))),
			fmt.Sprintf("concurrency %d: Temporal server per send: %s", c, cost.per(cb.served())))
		target := func(targets map[int]string) string { return targets[c] }
		cbPer, blPer := cbUse.total()/time.Duration(max(cb.served(), 1)), blUse.total()/time.Duration(max(bl.served(), 1))
		report.Rows = append(report.Rows,
			row(fmt.Sprintf("send p50 latency, concurrency %d", c), cb.percentile(.5), bl.percentile(.5), target(map[int]string{1: targetP50c1})),
			row(fmt.Sprintf("send p99 latency, concurrency %d", c), cb.percentile(.99), bl.percentile(.99), target(map[int]string{20: targetP99c20})),
			Row{Figure: fmt.Sprintf("sends per second, concurrency %d", c),
				Carebridge: fmt.Sprintf("%.1f", cb.perSecond()), Baseline: fmt.Sprintf("%.1f", bl.perSecond()),
				Ratio: fmt.Sprintf("%.2f", cb.perSecond()/bl.perSecond()), Target: target(map[int]string{20: targetSendsC20})},
			row(fmt.Sprintf("CPU per send, concurrency %d (all processes)", c), cbPer, blPer, ""),
		)
	}

	progress("send capacity: carebridge")
	cbCap := capacity(ctx, o.CapacityLevels, func(c int) result { return drive(ctx, max(o.Sends/2, 10*c), c, sendTo(sendURL)) })
	progress("send capacity: baseline")
	blCap := capacity(ctx, o.CapacityLevels, func(c int) result { return drive(ctx, max(o.Sends/2, 10*c), c, sendTo(baseURL)) })
	report.Rows = append(report.Rows, Row{Figure: "send capacity: sends per second with p99 under 1 s",
		Carebridge: cbCap.String(), Baseline: blCap.String(), Ratio: fmt.Sprintf("%.2f", cbCap.rate/blCap.rate)})

	hooks := &webhookLoad{stack: stack, run: time.Now().UnixNano()}
	progress("webhooks: %d cases × 8 events at concurrency %d", o.Cases, o.WebhookConc)
	t0 := time.Now()
	closed := hooks.closedLoop(ctx, o.Cases, o.WebhookConc)
	if err := hooks.waitApplied(ctx, o.ApplyTimeout); err != nil {
		return report, err
	}
	applied := time.Since(t0)
	report.Checks = append(report.Checks, fmt.Sprintf("webhooks: %d/%d acknowledged 202; every case applied all 8 events in %s",
		closed.served(), closed.requests, applied.Round(time.Millisecond)))

	progress("webhook capacity")
	hookCap := capacity(ctx, o.CapacityLevels, func(c int) result { return hooks.closedLoop(ctx, max(o.Cases/2, 2*c), c) })
	// The capacity runs' backlog applied first: the open loop measures an
	// idle service at that rate, not the queue they left.
	if err := hooks.waitApplied(ctx, o.ApplyTimeout); err != nil {
		return report, err
	}
	progress("webhooks at %d per second, open loop", o.WebhookRate)
	counted, hookCPU := scrapeServer(stack.TemporalMetricsURLs()), newCPUMeter(ours)
	open := hooks.openLoop(ctx, o.WebhookRate, o.WebhookSeconds)
	hookUse, hookCost := hookCPU.used(), scrapeServer(stack.TemporalMetricsURLs()).since(counted)
	if err := hooks.waitApplied(ctx, o.ApplyTimeout); err != nil {
		return report, err
	}
	report.Checks = append(report.Checks,
		fmt.Sprintf("webhooks at %d/s offered: %d/%d acknowledged 202, every case applied every event; CPU per event: %s",
			o.WebhookRate, open.served(), open.requests, hookUse.per(open.served())),
		fmt.Sprintf("webhooks at %d/s offered: Temporal server per event (the cases' Akute calls included): %s", o.WebhookRate, hookCost.per(open.served())),
		fmt.Sprintf("webhooks at %d/s offered: where persistence waited (mean latency × operations per event): %s", o.WebhookRate, hookCost.latencies(open.served())))

	progress("unrouted Akute deliveries at %d per second, open loop", o.UnroutedRate)
	unrouted := &unroutedLoad{stack: stack, run: time.Now().UnixNano()}
	counted, unroutedCPU := scrapeServer(stack.TemporalMetricsURLs()), newCPUMeter(ours)
	t0 = time.Now()
	unclaimed, retried := unrouted.openLoop(ctx, o.UnroutedRate, o.UnroutedSeconds, o.ApplyTimeout)
	parts, err := unrouted.waitRecorded(ctx, unclaimed.served(), o.ApplyTimeout)
	if err != nil {
		return report, err
	}
	recorded := time.Since(t0)
	unroutedUse, unroutedCost := unroutedCPU.used(), scrapeServer(stack.TemporalMetricsURLs()).since(counted)
	report.Checks = append(report.Checks,
		fmt.Sprintf("unrouted Akute deliveries at %d/s offered: %d/%d acknowledged 202 (%d attempts refused and retried), all recorded in %d workflows within %s of the first; CPU per delivery: %s",
			o.UnroutedRate, unclaimed.served(), unclaimed.requests, retried, parts, recorded.Round(time.Millisecond), unroutedUse.per(unclaimed.served())),
		fmt.Sprintf("unrouted Akute deliveries at %d/s offered: Temporal server per delivery: %s", o.UnroutedRate, unroutedCost.per(unclaimed.served())))

	report.Rows = append(report.Rows,
		Row{Figure: "webhook capacity: acknowledgements per second with p99 under 1 s", Carebridge: hookCap.String(), Target: targetHookRate},
		Row{Figure: fmt.Sprintf("webhook acknowledgement p50, %d/s offered", o.WebhookRate), Carebridge: ms(open.percentile(.5))},
		Row{Figure: fmt.Sprintf("webhook acknowledgement p99, %d/s offered", o.WebhookRate), Carebridge: ms(open.percentile(.99)), Target: targetHookP99Open},
		Row{Figure: fmt.Sprintf("CPU per webhook event, %d/s offered (all processes)", o.WebhookRate), Carebridge: ms(hookUse.total() / time.Duration(max(open.served(), 1)))},
		Row{Figure: fmt.Sprintf("time until %d events were applied (closed loop, concurrency %d)", closed.requests, o.WebhookConc), Carebridge: applied.Round(time.Millisecond).String()},
		Row{Figure: fmt.Sprintf("unrouted Akute delivery acknowledgement p50, %d/s offered (retries included)", o.UnroutedRate), Carebridge: ms(unclaimed.percentile(.5))},
		Row{Figure: fmt.Sprintf("unrouted Akute delivery acknowledgement p99, %d/s offered (retries included)", o.UnroutedRate), Carebridge: ms(unclaimed.percentile(.99))},
		Row{Figure: fmt.Sprintf("unrouted Akute deliveries acknowledged, %d/s offered", o.UnroutedRate), Carebridge: fmt.Sprintf("%d of %d (%d attempts refused, retried)", unclaimed.served(), unclaimed.requests, retried)},
		Row{Figure: fmt.Sprintf("time until %d unrouted Akute deliveries were recorded", unclaimed.requests), Carebridge: recorded.Round(time.Millisecond).String()},
		Row{Figure: "worker peak RSS", Carebridge: peakRSS(stack.PID("worker")), Target: targetWorkerRSS},
		Row{Figure: "starter peak RSS", Carebridge: peakRSS(stack.PID("starter"))},
	)
	return report, nil
}

func row(figure string, cb, bl time.Duration, target string) Row {
	ratio := "n/a" // a baseline too small to measure (CPU in 10 ms ticks)
	if bl > 0 {
		ratio = fmt.Sprintf("%.2f", float64(cb)/float64(bl))
	}
	return Row{Figure: figure, Carebridge: ms(cb), Baseline: ms(bl), Ratio: ratio, Target: target}
}

// capacityResult is the best rate a load reached with its p99 under
// capacityP99, and at which concurrency.
type capacityResult struct {
	rate        float64
	concurrency int
	p99         time.Duration
}

func (c capacityResult) String() string {
	if c.concurrency == 0 {
		return "none"
	}
	return fmt.Sprintf("%.0f (c=%d, p99 %s)", c.rate, c.concurrency, ms(c.p99))
}

// capacity raises the concurrency level by level until the rate stops
// growing (two levels in a row without 5 % more than the best: one noisy
// level does not end the climb) or the p99 passes capacityP99.
func capacity(ctx context.Context, levels []int, run func(concurrency int) result) capacityResult {
	var best capacityResult
	flat := 0
	for _, c := range levels {
		if ctx.Err() != nil {
			break
		}
		r := run(c)
		p99 := r.percentile(.99)
		if r.failures > 0 || p99 >= capacityP99 {
			break
		}
		rate := r.perSecond()
		grew := rate > best.rate*1.05
		if rate > best.rate {
			best = capacityResult{rate: rate, concurrency: c, p99: p99}
		}
		if flat = flat + 1; grew {
			flat = 0
		}
		if flat == 2 {
			break
		}
	}
	return best
}

// webhookLoad delivers scripted CareValidate case lives and remembers every
// case it started, to wait until each has applied all of its events.
type webhookLoad struct {
	stack *devstack.Stack
	run   int64
	next  int      // cases made so far
	ids   []string // every case delivered
	steps int      // events per case
}

// bodies are the deliveries of n new cases, step by step across cases.
func (w *webhookLoad) bodies(n int) [][]byte {
	start := time.Now()
	scripts := make([][]carevalidatetest.Step, n)
	for i := range scripts {
		id := fmt.Sprintf("bench-%d-%d", w.run, w.next)
		w.next++
		w.ids = append(w.ids, id)
		scripts[i] = carevalidatetest.Script(carevalidatetest.Case{ID: id, ShortID: fmt.Sprintf("B%d-%d", w.run%100000, w.next)}, start.Add(-time.Hour))
	}
	var out [][]byte
	w.steps = len(scripts[0])
	for step := range scripts[0] {
		for i := range scripts {
			out = append(out, scripts[i][step].Body)
		}
	}
	return out
}

func (w *webhookLoad) request(body []byte) request {
	header := http.Header{}
	header.Set(w.stack.Env("CAREVALIDATE_AUTH_HEADER"), w.stack.Env("CAREVALIDATE_AUTH_SECRET"))
	return request{url: w.stack.StarterURL + "/webhooks/carevalidate", body: body, header: header,
		ok: func(s int) bool { return s == http.StatusAccepted }}
}

// closedLoop delivers the lives of n new cases with the given concurrency.
func (w *webhookLoad) closedLoop(ctx context.Context, cases, concurrency int) result {
	bodies := w.bodies(cases)
	return drive(ctx, len(bodies), concurrency, func(i int) request { return w.request(bodies[i]) })
}

// openLoop offers deliveries at a fixed rate for about a number of seconds
// (whole case lives), whatever the answers: the latency CareValidate sees
// below capacity.
func (w *webhookLoad) openLoop(ctx context.Context, perSecond, seconds int) result {
	bodies := w.bodies(max(perSecond*seconds/8, 1))
	return offer(ctx, len(bodies), time.Second/time.Duration(perSecond), func(i int) request { return w.request(bodies[i]) })
}

// waitApplied waits until every case delivered has applied all its events.
func (w *webhookLoad) waitApplied(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, id := range w.ids {
		for {
			n, err := eventsApplied(ctx, w.stack.StarterURL, id)
			if err == nil && n == w.steps {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("case %s applied %d of %d events within %s", id, n, w.steps, limit)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}
