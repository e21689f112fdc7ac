// Package bench measures carebridge against the direct design of
// alleviate-send.txt on the same machine, in the same run, against the same
// sandbox: sends at several concurrencies, CareValidate webhooks, memory.
// `make bench` runs it; a smoke run is part of `make test`.
package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/clients/carevalidate/carevalidatetest"
	"github.com/carebridge/carebridge/clients/realtime"
	"github.com/carebridge/carebridge/internal/devstack"
)

// Options sizes a run.
type Options struct {
	RepoRoot     string
	Dir          string        // state, logs and the report go here
	Latency      time.Duration // added by the sandbox to every upstream answer
	Sends        int           // per concurrency, for carebridge and for the baseline
	Concurrency  []int
	Cases        int // CareValidate cases, each a scripted life of 8 events
	WebhookConc  int
	Untuned      bool   // the dev server's defaults
	Server       string // devstack.Options.Server: "" (dev server) or "postgres"
	Progress     func(format string, args ...any)
	ApplyTimeout time.Duration
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
		SandboxArgs: []string{"-latency", o.Latency.String()},
		Logs:        logs,
	})
	if err != nil {
		return report, err
	}
	defer stack.Stop()

	base := &baseline{
		activepieces: activepieces.New(activepieces.Config{WebhookURL: stack.Env("ACTIVEPIECES_WEBHOOK_URL")}),
		realtime:     realtime.New(realtime.Config{BaseURL: stack.Env("REALTIME_BASE_URL")}),
		alleviate:    alleviate.New(alleviate.Config{BaseURL: stack.Env("ALLEVIATE_BASE_URL"), APIKey: stack.Env("ALLEVIATE_API_KEY")}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return report, err
	}
	baseSrv := &http.Server{Handler: base, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = baseSrv.Serve(ln) }()
	defer baseSrv.Close()
	baseURL := "http://" + ln.Addr().String() + "/api/alleviate/send"
	sendURL := stack.StarterURL + "/api/alleviate/send"

	ok200 := func(status int) bool { return status == http.StatusOK }
	sendTo := func(url string) func(int) request {
		return func(int) request { return request{url: url, body: []byte(lead), header: http.Header{}, ok: ok200} }
	}
	progress("warming up")
	drive(ctx, 10, 2, sendTo(sendURL))
	drive(ctx, 10, 2, sendTo(baseURL))

	for _, c := range o.Concurrency {
		progress("sends at concurrency %d: carebridge", c)
		cb := drive(ctx, o.Sends, c, sendTo(sendURL))
		progress("sends at concurrency %d: baseline", c)
		bl := drive(ctx, o.Sends, c, sendTo(baseURL))
		report.Checks = append(report.Checks,
			fmt.Sprintf("concurrency %d: carebridge %d/%d answered 200, baseline %d/%d", c,
				cb.requests-cb.failures, cb.requests, bl.requests-bl.failures, bl.requests))
		target := func(t string) string {
			if c == 1 || c == 20 {
				return t
			}
			return ""
		}
		report.Rows = append(report.Rows,
			row(fmt.Sprintf("send p50 latency, concurrency %d", c), cb.percentile(.5), bl.percentile(.5), target(map[int]string{1: "≤ 0.8", 20: ""}[c])),
			row(fmt.Sprintf("send p99 latency, concurrency %d", c), cb.percentile(.99), bl.percentile(.99), target(map[int]string{20: "≤ 1.5"}[c])),
			Row{Figure: fmt.Sprintf("sends per second, concurrency %d", c),
				Carebridge: fmt.Sprintf("%.1f", cb.perSecond()), Baseline: fmt.Sprintf("%.1f", bl.perSecond()),
				Ratio: fmt.Sprintf("%.2f", cb.perSecond()/bl.perSecond()), Target: target(map[int]string{20: "≥ 0.9"}[c])},
		)
	}

	progress("webhooks: %d cases × 8 events at concurrency %d", o.Cases, o.WebhookConc)
	hooks, applied, err := webhooks(ctx, stack, o)
	if err != nil {
		return report, err
	}
	report.Checks = append(report.Checks, fmt.Sprintf("webhooks: %d/%d acknowledged 202; every case applied all 8 events in %s",
		hooks.requests-hooks.failures, hooks.requests, applied.Round(time.Millisecond)))
	report.Rows = append(report.Rows,
		Row{Figure: "webhook events acknowledged per second", Carebridge: fmt.Sprintf("%.0f", hooks.perSecond()), Target: "≥ 300"},
		Row{Figure: "webhook acknowledgement p50", Carebridge: ms(hooks.percentile(.5))},
		Row{Figure: "webhook acknowledgement p99", Carebridge: ms(hooks.percentile(.99)), Target: "≤ 100 ms"},
		Row{Figure: "time until every event was applied", Carebridge: applied.Round(time.Millisecond).String()},
		Row{Figure: "worker peak RSS", Carebridge: peakRSS(stack.PID("worker")), Target: "≤ 150 MiB"},
		Row{Figure: "starter peak RSS", Carebridge: peakRSS(stack.PID("starter"))},
	)
	return report, nil
}

func row(figure string, cb, bl time.Duration, target string) Row {
	return Row{Figure: figure, Carebridge: ms(cb), Baseline: ms(bl),
		Ratio: fmt.Sprintf("%.2f", float64(cb)/float64(bl)), Target: target}
}

// webhooks delivers every case's scripted life, step by step across cases,
// then waits until each case has applied all of it.
func webhooks(ctx context.Context, stack *devstack.Stack, o Options) (result, time.Duration, error) {
	start := time.Now()
	run := time.Now().UnixNano()
	var bodies [][]byte
	var ids []string
	scripts := make([][]carevalidatetest.Step, o.Cases)
	for i := range scripts {
		id := fmt.Sprintf("bench-%d-%d", run, i)
		ids = append(ids, id)
		scripts[i] = carevalidatetest.Script(carevalidatetest.Case{ID: id, ShortID: fmt.Sprintf("B%d-%d", run%100000, i)}, start.Add(-time.Hour))
	}
	for step := range scripts[0] {
		for i := range scripts {
			bodies = append(bodies, scripts[i][step].Body)
		}
	}
	header := http.Header{}
	header.Set(stack.Env("CAREVALIDATE_AUTH_HEADER"), stack.Env("CAREVALIDATE_AUTH_SECRET"))
	hooks := drive(ctx, len(bodies), o.WebhookConc, func(i int) request {
		return request{url: stack.StarterURL + "/webhooks/carevalidate", body: bodies[i], header: header,
			ok: func(s int) bool { return s == http.StatusAccepted }}
	})
	deadline := time.Now().Add(o.ApplyTimeout)
	for _, id := range ids {
		for {
			n, err := eventsApplied(ctx, stack.StarterURL, id)
			if err == nil && n == len(scripts[0]) {
				break
			}
			if time.Now().After(deadline) {
				return hooks, 0, fmt.Errorf("case %s applied %d of %d events within %s", id, n, len(scripts[0]), o.ApplyTimeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return hooks, time.Since(start), nil
}
