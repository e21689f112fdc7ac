// Command bench is `make bench`: carebridge against the direct design of
// alleviate-send.txt, on this machine, in one run. It prints one table and
// writes it to bench-results/results.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/dev/bench"
)

func main() {
	bench.MaybeServeBaseline() // the run's baseline, in a process of its own
	latency := flag.Duration("latency", 50*time.Millisecond, "sandbox latency per upstream call")
	sends := flag.Int("sends", 400, "sends per concurrency level (carebridge and baseline each)")
	conc := flag.String("concurrency", "1,20", "send concurrency levels, comma-separated")
	cases := flag.Int("cases", 100, "CareValidate cases (8 events each)")
	hookConc := flag.Int("webhook-concurrency", 50, "webhook concurrency")
	capLevels := flag.String("capacity", "4,8,16,32,64,128", "concurrency levels capacity runs climb through")
	hookRate := flag.Int("webhook-rate", 100, "webhook deliveries per second offered (open loop)")
	hookSeconds := flag.Int("webhook-seconds", 10, "how long the open-loop webhook load lasts")
	unroutedRate := flag.Int("unrouted-rate", 200, "unrouted Akute deliveries per second offered (open loop)")
	unroutedSeconds := flag.Int("unrouted-seconds", 10, "how long the unrouted Akute load lasts")
	untuned := flag.Bool("untuned", false, "run the dev server with its defaults")
	server := flag.String("server", "", `"postgres": Temporal's own server on PostgreSQL (the production topology; durable) instead of the dev server; "cluster": the same as a cluster of separate services, two starters behind nginx`)
	out := flag.String("out", "bench-results", "directory for state, logs and the report")
	repo := flag.String("repo", ".", "the carebridge checkout whose worker, starter and sandbox run (an older commit's worktree, to compare)")
	flag.Parse()

	levels, capacity := positives("concurrency", *conc), positives("capacity", *capLevels)
	for name, v := range map[string]int{"sends": *sends, "cases": *cases, "webhook-concurrency": *hookConc,
		"webhook-rate": *hookRate, "webhook-seconds": *hookSeconds, "unrouted-rate": *unroutedRate, "unrouted-seconds": *unroutedSeconds} {
		positive(name, v)
	}
	root, _ := filepath.Abs(*repo)
	dir, _ := filepath.Abs(*out)
	_ = os.MkdirAll(dir, 0o755)
	report, err := bench.Run(context.Background(), bench.Options{
		RepoRoot: root, Dir: dir, Latency: *latency, Sends: *sends, Concurrency: levels,
		Cases: *cases, WebhookConc: *hookConc, CapacityLevels: capacity, WebhookRate: *hookRate, WebhookSeconds: *hookSeconds,
		UnroutedRate: *unroutedRate, UnroutedSeconds: *unroutedSeconds,
		Untuned: *untuned, Server: *server, ApplyTimeout: 5 * time.Minute,
		Progress: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+f+"\n", a...) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	text := fmt.Sprintf("Machine: %s\nCommand: %s\n\n%s\n%s\n", report.Machine, strings.TrimSpace("go run ./cmd/bench "+strings.Join(os.Args[1:], " ")),
		report.Markdown(), strings.Join(report.Checks, "\n"))
	fmt.Print(text)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(text), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// positives reads a flag of comma-separated positive integers.
func positives(name, value string) []int {
	var out []int
	for _, s := range strings.Split(value, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			n = 0
		}
		out = append(out, positive(name, n))
	}
	return out
}

// positive is n when it is above zero; otherwise the run stops, naming the
// flag.
func positive(name string, n int) int {
	if n < 1 {
		fmt.Fprintf(os.Stderr, "bench: -%s wants positive integers\n", name)
		os.Exit(2)
	}
	return n
}
