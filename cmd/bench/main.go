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

	"github.com/carebridge/carebridge/internal/bench"
)

func main() {
	latency := flag.Duration("latency", 50*time.Millisecond, "sandbox latency per upstream call")
	sends := flag.Int("sends", 400, "sends per concurrency level (carebridge and baseline each)")
	conc := flag.String("concurrency", "1,20", "send concurrency levels, comma-separated")
	cases := flag.Int("cases", 100, "CareValidate cases (8 events each)")
	hookConc := flag.Int("webhook-concurrency", 50, "webhook concurrency")
	untuned := flag.Bool("untuned", false, "run the dev server with its defaults")
	server := flag.String("server", "", `"postgres": Temporal's own server on PostgreSQL (the production topology) instead of the dev server`)
	out := flag.String("out", "bench-results", "directory for state, logs and the report")
	flag.Parse()

	var levels []int
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "bench: -concurrency wants positive integers")
			os.Exit(2)
		}
		levels = append(levels, n)
	}
	root, _ := os.Getwd()
	dir, _ := filepath.Abs(*out)
	_ = os.MkdirAll(dir, 0o755)
	report, err := bench.Run(context.Background(), bench.Options{
		RepoRoot: root, Dir: dir, Latency: *latency, Sends: *sends, Concurrency: levels,
		Cases: *cases, WebhookConc: *hookConc, Untuned: *untuned, Server: *server, ApplyTimeout: 5 * time.Minute,
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
