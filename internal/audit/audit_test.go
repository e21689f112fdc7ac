package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(s string) *clock { return &clock{t: at(s)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = at(s)
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func open(t *testing.T, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func read(principal, detail string) Entry {
	return Entry{Principal: principal, Via: "api", Action: "case.read", WorkflowID: "case-1", RunID: "run-1", Detail: detail, Outcome: OutcomeOK}
}

func appendN(t *testing.T, l *Log, n int) []Entry {
	t.Helper()
	var out []Entry
	for i := range n {
		e, err := l.Append(context.Background(), read("olivia", fmt.Sprint("handler-", i)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func verify(t *testing.T, dir string) Report {
	t.Helper()
	r, err := Verify(dir)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

// breakAt checks that Verify fails at line and seq for a reason containing why.
func breakAt(t *testing.T, dir string, line int, seq uint64, why string) {
	t.Helper()
	_, err := Verify(dir)
	var b *BreakError
	if !errors.As(err, &b) {
		t.Fatalf("Verify = %v, want a break at line %d", err, line)
	}
	if b.Line != line || b.Seq != seq || !strings.Contains(b.Reason, why) {
		t.Fatalf("Verify = %v, want line %d (seq %d): …%s…", err, line, seq, why)
	}
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(b), "\n")
}

func writeLines(t *testing.T, path string, ls []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(ls, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAppendAndVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	clk := newClock("2026-01-02T03:04:05.123456789Z")
	l := open(t, dir, Options{Now: clk.Now})
	es := appendN(t, l, 3)

	prev := Genesis
	for i, e := range es {
		if e.Seq != uint64(i+1) || e.Prev != prev || !e.At.Equal(clk.Now()) || e.At.Location() != time.UTC {
			t.Fatalf("entry %d = %+v", i, e)
		}
		if sum, _ := e.sum(); sum != e.Hash {
			t.Fatalf("entry %d: hash %s, want %s", i, e.Hash, sum)
		}
		prev = e.Hash
	}
	file := filepath.Join(dir, "audit-2026-01.jsonl")
	want, _ := json.Marshal(es[1])
	if got := lines(t, file)[1]; got != string(want)+"\n" {
		t.Fatalf("line 2 = %s, want the entry as returned: %s", got, want)
	}
	for path, mode := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, file: 0o600, filepath.Join(dir, lockName): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode(), err, mode)
		}
	}

	r := verify(t, dir)
	if r.Entries != 3 || r.First.Seq != 1 || r.Last.Hash != es[2].Hash || r.Anchor != Genesis || strings.Join(r.Files, ",") != "audit-2026-01.jsonl" {
		t.Fatalf("report = %+v", r)
	}

	// Another Log on the same directory continues the chain.
	l.Close()
	if e := appendN(t, open(t, dir, Options{Now: clk.Now}), 1)[0]; e.Seq != 4 || e.Prev != es[2].Hash {
		t.Fatalf("after reopening: %+v", e)
	}
	verify(t, dir)

	if _, err := Verify(t.TempDir()); err == nil {
		t.Error("an empty directory verified")
	}
	if _, err := Verify(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing directory verified")
	}
}

const helperEnv = "CAREBRIDGE_AUDIT_TEST_DIR"

// TestHelperProcess is the second process of TestConcurrentAppends: it
// appends from two goroutines once its standard input closes.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("the second process of TestConcurrentAppends")
	}
	l := open(t, dir, Options{})
	io.ReadAll(os.Stdin)
	appendConcurrently(t, "child", []*Log{l, l})
}

const perWriter = 40

// appendConcurrently appends perWriter entries from one goroutine per log,
// principal p, Detail "gI-N".
func appendConcurrently(t *testing.T, p string, logs []*Log) {
	var wg sync.WaitGroup
	for g, l := range logs {
		wg.Go(func() {
			for i := range perWriter {
				if _, err := l.Append(context.Background(), read(p, fmt.Sprintf("g%d-%d", g, i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Two goroutines share one Log; a third has a Log of its own, another
	// open file of the same lock.
	shared := open(t, dir, Options{})
	logs := []*Log{shared, shared, open(t, dir, Options{})}
	begin := time.Now()
	start.Close() // the child starts too
	appendConcurrently(t, "parent", logs)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("second process: %v\n%s", err, out.Bytes())
	}
	t.Logf("%d appends from 2 processes in %v", 5*perWriter, time.Since(begin))

	r := verify(t, dir)
	if r.Entries != 5*perWriter {
		t.Fatalf("%d entries, want %d", r.Entries, 5*perWriter)
	}
	// Every writer's entries are all there, each once, in its order.
	next := map[string]int{}
	switches, last := 0, ""
	es, err := Tail(dir, r.Entries)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		g, i, _ := strings.Cut(e.Detail, "-")
		writer := e.Principal + "/" + g
		if want := fmt.Sprint(next[writer]); i != want {
			t.Fatalf("seq %d: %s wrote %s, want %s", e.Seq, writer, i, want)
		}
		next[writer]++
		if e.Principal != last {
			switches++
			last = e.Principal
		}
	}
	if len(next) != 5 {
		t.Fatalf("writers %v, want 5", next)
	}
	t.Logf("the processes took turns %d times", switches-1)
}

func TestVerifyFindsTampering(t *testing.T) {
	src := t.TempDir()
	appendN(t, open(t, src, Options{Now: newClock("2026-03-04T05:06:07Z").Now}), 6)
	name := "audit-2026-03.jsonl"

	for _, tc := range []struct {
		name   string
		change func([]string) []string
		line   int
		seq    uint64
		why    string
	}{
		{"a changed principal", func(ls []string) []string {
			ls[2] = strings.Replace(ls[2], `"principal":"olivia"`, `"principal":"mallory"`, 1)
			return ls
		}, 3, 3, "hash mismatch"},
		{"a changed field with its hash recomputed", func(ls []string) []string {
			var e Entry
			json.Unmarshal([]byte(ls[2]), &e)
			e.Outcome = OutcomeDenied
			e.Hash, _ = e.sum()
			b, _ := json.Marshal(e)
			ls[2] = string(b) + "\n"
			return ls
		}, 4, 4, "prev is not the hash of seq 3"},
		{"a removed line", func(ls []string) []string {
			return append(ls[:2:2], ls[3:]...)
		}, 3, 4, "seq 4 follows seq 2"},
		{"two lines swapped", func(ls []string) []string {
			ls[2], ls[3] = ls[3], ls[2]
			return ls
		}, 3, 4, "seq 4 follows seq 2"},
		{"an added line", func(ls []string) []string {
			return append(ls[:3:3], ls[2:]...)
		}, 4, 3, "seq 3 follows seq 3"},
		{"respaced JSON", func(ls []string) []string {
			ls[4] = strings.Replace(ls[4], `"via":"api"`, `"via": "api"`, 1)
			return ls
		}, 5, 5, "canonical"},
		{"an unknown field", func(ls []string) []string {
			ls[4] = strings.Replace(ls[4], `{`, `{"note":"x",`, 1)
			return ls
		}, 5, 5, "canonical"},
		{"a garbled line", func(ls []string) []string {
			ls[1] = "not json\n"
			return ls
		}, 2, 2, "does not parse"},
		{"the file cut", func(ls []string) []string {
			ls[5] = ls[5][:40]
			return ls
		}, 6, 6, "truncated line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLines(t, filepath.Join(dir, name), tc.change(lines(t, filepath.Join(src, name))))
			breakAt(t, dir, tc.line, tc.seq, tc.why)
		})
	}
}

func TestTornLastLine(t *testing.T) {
	clk := newClock("2026-05-06T07:08:09Z")
	file := func(dir string) string { return filepath.Join(dir, "audit-2026-05.jsonl") }

	t.Run("an unfinished entry is cut off and the cut recorded", func(t *testing.T) {
		dir := t.TempDir()
		l := open(t, dir, Options{Now: clk.Now})
		appendN(t, l, 3)
		l.Close()
		torn := `{"seq":4,"at":"2026-05-06T07:0`
		f, _ := os.OpenFile(file(dir), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString(torn)
		f.Close()
		breakAt(t, dir, 4, 4, "truncated line")
		if _, err := Export(dir, time.Time{}, io.Discard); err == nil {
			t.Error("exported a torn line")
		}

		l = open(t, dir, Options{Now: clk.Now}) // Open repairs
		r := verify(t, dir)
		want := fmt.Sprintf("audit-2026-05.jsonl: cut off %d bytes of an unfinished line after seq 3, sha256 %x", len(torn), sha256.Sum256([]byte(torn)))
		if r.Entries != 4 || r.Last.Action != ActionRepair || r.Last.Detail != want || r.Last.Principal != selfPrincipal {
			t.Fatalf("after repair: %+v\nwant detail %s", r.Last, want)
		}
		if e := appendN(t, l, 1)[0]; e.Seq != 5 {
			t.Fatalf("next entry: %+v", e)
		}
		verify(t, dir)
	})

	t.Run("a whole entry without its newline is kept", func(t *testing.T) {
		dir := t.TempDir()
		l := open(t, dir, Options{Now: clk.Now})
		es := appendN(t, l, 3)
		ls := lines(t, file(dir))
		ls[2] = strings.TrimSuffix(ls[2], "\n")
		writeLines(t, file(dir), ls)
		breakAt(t, dir, 3, 3, "truncated line")

		e := appendN(t, l, 1)[0] // the open Log repairs on Append
		if e.Seq != 5 {
			t.Fatalf("next entry: %+v", e)
		}
		r := verify(t, dir)
		ls = lines(t, file(dir))
		var repair Entry
		json.Unmarshal([]byte(ls[3]), &repair)
		if r.Entries != 5 || repair.Action != ActionRepair || repair.Prev != es[2].Hash ||
			repair.Detail != "audit-2026-05.jsonl: seq 3 was written without its line end; added it" {
			t.Fatalf("after repair: %d entries, %+v", r.Entries, repair)
		}
	})

	t.Run("a whole last line that does not parse is refused", func(t *testing.T) {
		dir := t.TempDir()
		l := open(t, dir, Options{Now: clk.Now})
		appendN(t, l, 2)
		ls := lines(t, file(dir))
		ls[1] = "garbage\n"
		writeLines(t, file(dir), ls)
		if _, err := l.Append(context.Background(), read("olivia", "")); err == nil || !strings.Contains(err.Error(), "verify") {
			t.Fatalf("Append onto garbage: %v", err)
		}
		if _, err := Open(dir, Options{}); err == nil {
			t.Fatal("Open onto garbage succeeded")
		}
		breakAt(t, dir, 2, 2, "does not parse")
	})
}

func TestMonthRollover(t *testing.T) {
	dir := t.TempDir()
	clk := newClock("2026-01-31T23:59:59.999999999Z")
	l := open(t, dir, Options{Now: clk.Now})
	jan := appendN(t, l, 1)[0]
	clk.Set("2026-02-01T00:00:00Z")
	feb := appendN(t, l, 1)[0]
	// An entry dated in January but written in February (a Temporal event's
	// time) goes to the newest file, or the files would not be in chain order.
	late := read("carebridge-worker", "history")
	late.At = at("2026-01-15T12:00:00+01:00")
	late, err := l.Append(context.Background(), late)
	if err != nil {
		t.Fatal(err)
	}

	if feb.Prev != jan.Hash || late.Prev != feb.Hash || !late.At.Equal(at("2026-01-15T11:00:00Z")) || late.At.Location() != time.UTC {
		t.Fatalf("chain: %+v %+v %+v", jan, feb, late)
	}
	r := verify(t, dir)
	if r.Entries != 3 || strings.Join(r.Files, ",") != "audit-2026-01.jsonl,audit-2026-02.jsonl" {
		t.Fatalf("report: %+v", r)
	}
	if n := len(lines(t, filepath.Join(dir, "audit-2026-02.jsonl"))); n != 3 { // two lines and ""
		t.Fatalf("February holds %d lines, want 2", n-1)
	}
}

func TestRetention(t *testing.T) {
	dir := t.TempDir()
	clk := newClock("2026-01-10T00:00:00Z")
	l := open(t, dir, Options{Now: clk.Now})
	last := map[string]Entry{}
	for _, m := range []string{"01", "02", "03", "04"} {
		clk.Set("2026-" + m + "-10T00:00:00Z")
		last[m] = appendN(t, l, 2)[1]
	}
	l.Close()

	// Sixty days before 29 April noon is 28 February noon: January is past
	// retention, February's last day is not.
	clk.Set("2026-04-29T12:00:00Z")
	l = open(t, dir, Options{Now: clk.Now, Retention: 60 * 24 * time.Hour})
	r := verify(t, dir)
	want := "deleting audit-2026-01.jsonl (past retention): entries through seq 2, last hash " + last["01"].Hash
	if r.Anchor != last["01"].Hash || r.First.Seq != 3 || r.Last.Action != ActionPrune || r.Last.Detail != want ||
		strings.Join(r.Files, ",") != "audit-2026-02.jsonl,audit-2026-03.jsonl,audit-2026-04.jsonl" {
		t.Fatalf("after Open: %+v", r)
	}

	// February is past retention 13 hours later, but Append prunes daily.
	clk.Set("2026-04-30T01:00:00Z")
	appendN(t, l, 1)
	if r := verify(t, dir); r.Anchor != last["01"].Hash {
		t.Fatalf("pruned again within a day: %+v", r)
	}
	clk.Set("2026-04-30T12:00:01Z")
	appendN(t, l, 1)
	if r := verify(t, dir); r.Anchor != last["02"].Hash || len(r.Files) != 2 {
		t.Fatalf("a day later: %+v", r)
	}
	l.Close()

	// Years later every file is past retention; the one holding the chain's
	// last entry stays, so that the chain goes on.
	clk.Set("2030-01-01T00:00:00Z")
	open(t, dir, Options{Now: clk.Now, Retention: time.Hour})
	r = verify(t, dir)
	if r.Anchor != last["03"].Hash || strings.Join(r.Files, ",") != "audit-2026-04.jsonl,audit-2030-01.jsonl" {
		t.Fatalf("years later: %+v", r)
	}
}

func TestFieldBounds(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	long := strings.Repeat("x", MaxField)
	ok := read(long, long)
	if _, err := l.Append(context.Background(), ok); err != nil {
		t.Fatalf("fields of %d bytes: %v", MaxField, err)
	}
	for name, change := range map[string]func(*Entry){
		"too long":         func(e *Entry) { e.Detail = long + "x" },
		"newline":          func(e *Entry) { e.Detail = "Jane Doe\nDOB 1970-01-01" },
		"NUL":              func(e *Entry) { e.WorkflowID = "case\x00" },
		"DEL":              func(e *Entry) { e.RunID = "run\x7f" },
		"line separator":   func(e *Entry) { e.Action = "case.read\u2028" },
		"invalid UTF-8":    func(e *Entry) { e.Via = "api\xff" },
		"no principal":     func(e *Entry) { e.Principal = "" },
		"no action":        func(e *Entry) { e.Action = "" },
		"unknown outcome":  func(e *Entry) { e.Outcome = "maybe" },
		"tab in principal": func(e *Entry) { e.Principal = "Jane\tDoe" },
	} {
		e := read("olivia", "")
		change(&e)
		_, err := l.Append(context.Background(), e)
		if err == nil {
			t.Errorf("%s: appended", name)
		} else if strings.Contains(err.Error(), "Jane") {
			t.Errorf("%s: the error repeats the value: %v", name, err)
		}
	}
	if r := verify(t, dir); r.Entries != 1 {
		t.Fatalf("%d entries, want only the valid one", r.Entries)
	}
}

func TestExportAndTail(t *testing.T) {
	dir := t.TempDir()
	clk := newClock("2026-01-05T00:00:00Z")
	l := open(t, dir, Options{Now: clk.Now})
	for _, s := range []string{"2026-01-05", "2026-01-20", "2026-02-03"} {
		clk.Set(s + "T00:00:00Z")
		appendN(t, l, 1)
	}
	late := read("carebridge-worker", "history")
	late.At = at("2026-01-01T00:00:00Z")
	if _, err := l.Append(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	clk.Set("2026-02-10T00:00:00Z")
	appendN(t, l, 1)
	stored := append(lines(t, filepath.Join(dir, "audit-2026-01.jsonl"))[:2], lines(t, filepath.Join(dir, "audit-2026-02.jsonl"))...)

	for since, want := range map[string][]string{
		"0001-01-01T00:00:00Z": stored[:5],
		"2026-01-20T00:00:00Z": stored[1:5], // the late entry dated 1 January included
		"2026-02-04T00:00:00Z": stored[4:5],
		"2027-01-01T00:00:00Z": nil,
	} {
		var out bytes.Buffer
		n, err := Export(dir, at(since), &out)
		if err != nil || n != len(want) || out.String() != strings.Join(want, "") {
			t.Errorf("since %s: %d, %v\n%s\nwant\n%s", since, n, err, out.String(), strings.Join(want, ""))
		}
	}

	// An export is a piece of the chain the receiver can verify on its own.
	copyDir := t.TempDir()
	f, _ := os.Create(filepath.Join(copyDir, "audit-2026-01.jsonl"))
	Export(dir, at("2026-01-20T00:00:00Z"), f)
	f.Close()
	if _, err := Verify(copyDir); err == nil {
		t.Fatal("an export that starts mid-chain verified without its anchor")
	}
	if r, err := VerifyFrom(copyDir, verify(t, dir).First.Hash); err != nil || r.Entries != 4 {
		t.Fatalf("export verified from its anchor as %+v, %v", r, err)
	}

	// Lines cut from the beginning of the trail, with no prune record of
	// them, break it.
	cut := t.TempDir()
	jan := lines(t, filepath.Join(dir, "audit-2026-01.jsonl"))
	os.WriteFile(filepath.Join(cut, "audit-2026-01.jsonl"), []byte(strings.Join(jan[1:], "")), 0o600)
	if _, err := Verify(cut); err == nil || !strings.Contains(err.Error(), "removed from its beginning") {
		t.Fatalf("a trail cut at its beginning: %v", err)
	}

	es, err := Tail(dir, 2)
	if err != nil || len(es) != 2 || es[0].Principal != "carebridge-worker" || es[1].Seq != 5 {
		t.Fatalf("Tail 2: %+v, %v", es, err)
	}
	es, err = Tail(dir, 4) // across the month files
	if err != nil || len(es) != 4 || es[0].Seq != 2 {
		t.Fatalf("Tail 4: %+v, %v", es, err)
	}
	if es, err := Tail(dir, 100); err != nil || len(es) != 5 {
		t.Fatalf("Tail 100: %d entries, %v", len(es), err)
	}
}

func TestAppendHonoursContext(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	// Another process's lock, as far as flock can tell: another open file.
	other, err := os.Open(filepath.Join(dir, lockName))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Append(ctx, read("olivia", "gave up")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append under another's lock = %v", err)
	}
	// The waiter left behind holds this Log's turn until it gets the lock.
	done := make(chan error)
	go func() {
		_, err := l.Append(context.Background(), read("olivia", "waited"))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	syscall.Flock(int(other.Fd()), syscall.LOCK_UN)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := verify(t, dir); r.Entries != 1 || r.Last.Detail != "waited" {
		t.Fatalf("report: %+v", r)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), read("olivia", "")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
}
