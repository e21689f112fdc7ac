// Command carebridge-audit reads carebridge's HIPAA audit trail (package
// internal/audit): it verifies the chain, exports it for the clinic's log
// system and shows the latest entries.
//
//	carebridge-audit verify -dir DIR [-anchor HASH]
//	carebridge-audit export -dir DIR [-since 2026-01-02T00:00:00Z]
//	carebridge-audit tail -dir DIR [-n 20]
//
// or go run ./cmd/audit … from the repository.
//
// # The trail
//
// JSON lines in DIR/audit-YYYY-MM.jsonl, one file per UTC month. Each entry
// says who (principal), through what (via: api, codec, webui, cli, temporal,
// dev), what (action), on which workflow run, when (at) and with what outcome;
// never patient data. The entries form a hash chain: seq counts 1, 2, 3 …
// across the files; hash is the hex SHA-256 of the entry's own line with
// "hash" set to ""; prev is the hash of the entry before, 64 zeros for seq 1.
// A changed field breaks its entry's hash, and a removed, added or reordered
// line breaks the seq or prev of the line after it.
//
// # verify
//
// Walks every file in order, checks every line and prints
//
//	ok: 1234 entries, seq 1–1234, files audit-2026-01.jsonl, audit-2026-02.jsonl, anchored at genesis; last hash 9f86…
//
// and exits 0, or prints the file, line and seq of the first break and what
// broke, and exits 1. Once retention has deleted old months the chain is
// anchored at the last hash of the deleted ones, which the audit.prune entry
// that deleted them records; a trail that starts anywhere else had lines cut
// from its beginning, and breaks. An export verifies with -anchor, the hash
// of the entry before its first. Note the last hash somewhere else now and then:
// the chain cannot show entries cut from its end, or a chain rewritten with
// fresh hashes, but a noted hash that is no longer in it shows both.
//
// # export
//
// Writes the lines as stored, from the first entry at or after -since to
// the end, to standard output: the clinic's log system can re-verify them in
// the same way (recompute each hash, check each prev against the hash before).
//
// # tail
//
// Prints the last -n entries, one a line: time, seq, principal, via, action,
// workflow/run, outcome and detail.
//
// Run it as the user that runs carebridge: the files are private to it. It
// takes the trail's shared lock only while it opens the files, so it never
// holds the service's appends up. Exit status 2 means a wrong command line.
package main

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/carebridge/carebridge/internal/audit"
)

const usage = `usage: carebridge-audit verify -dir DIR [-anchor HASH]
       carebridge-audit export -dir DIR [-since 2026-01-02T00:00:00Z]
       carebridge-audit tail -dir DIR [-n 20]
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command with its arguments (without the program's name), and
// returns its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageError(stderr, "a command is required")
	}
	flags := flag.NewFlagSet("carebridge-audit "+args[0], flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(stderr, usage)
		flags.PrintDefaults()
	}
	dir := flags.String("dir", "", "the trail's directory")
	var command func(dir string) int
	switch args[0] {
	case "verify":
		anchor := flags.String("anchor", "", "the hash of the entry before an export's first (the last one the receiver holds)")
		command = func(dir string) int { return verify(dir, *anchor, stdout, stderr) }
	case "export":
		since := flags.String("since", "", "export from the first entry at or after this time (RFC 3339)")
		command = func(dir string) int {
			var from time.Time
			if *since != "" {
				var err error
				if from, err = time.Parse(time.RFC3339Nano, *since); err != nil {
					return usageError(stderr, "-since: want a time such as 2026-01-02T00:00:00Z")
				}
			}
			return export(dir, from, stdout, stderr)
		}
	case "tail":
		n := flags.Int("n", 20, "how many entries")
		command = func(dir string) int {
			if *n < 1 {
				return usageError(stderr, "-n: want at least 1")
			}
			return tail(dir, *n, stdout, stderr)
		}
	default:
		return usageError(stderr, fmt.Sprintf("unknown command %q", args[0]))
	}
	if err := flags.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case *dir == "":
		return usageError(stderr, "-dir is required")
	case flags.NArg() > 0:
		return usageError(stderr, fmt.Sprintf("unexpected argument %q", flags.Arg(0)))
	}
	return command(*dir)
}

func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "carebridge-audit: %s\n%s", msg, usage)
	return 2
}

func verify(dir, anchor string, stdout, stderr io.Writer) int {
	r, err := audit.VerifyFrom(dir, anchor)
	var broken *audit.BreakError
	switch {
	case errors.As(err, &broken):
		fmt.Fprintf(stdout, "broken: %v\nentries verified before it: %d\n", broken, r.Entries)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "carebridge-audit:", err)
		return 1
	}
	from := r.Anchor
	if from == audit.Genesis {
		from = "genesis"
	}
	fmt.Fprintf(stdout, "ok: %d entries, seq %d–%d, files %s, anchored at %s; last hash %s\n",
		r.Entries, r.First.Seq, r.Last.Seq, strings.Join(r.Files, ", "), from, r.Last.Hash)
	return 0
}

func export(dir string, since time.Time, stdout, stderr io.Writer) int {
	w := bufio.NewWriter(stdout)
	n, err := audit.Export(dir, since, w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintln(stderr, "carebridge-audit:", err)
		return 1
	}
	fmt.Fprintf(stderr, "carebridge-audit: exported %d entries\n", n)
	return 0
}

func tail(dir string, n int, stdout, stderr io.Writer) int {
	entries, err := audit.Tail(dir, n)
	if err != nil {
		fmt.Fprintln(stderr, "carebridge-audit:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, e := range entries {
		workflow := cmp.Or(e.WorkflowID, "-")
		if e.RunID != "" {
			workflow += "/" + e.RunID
		}
		row := []string{e.At.Format("2006-01-02T15:04:05.000Z07:00"), fmt.Sprint(e.Seq), e.Principal, e.Via, e.Action, workflow, e.Outcome}
		// tabwriter would pad the cell before an empty last one with spaces.
		if e.Detail != "" {
			row = append(row, e.Detail)
		}
		for i, cell := range row {
			row[i] = printable(cell)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, "carebridge-audit:", err)
		return 1
	}
	return 0
}

// printable masks what Append never writes but an edited file may hold:
// control characters, which would break the columns or drive the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}
