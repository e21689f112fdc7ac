package audit

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Report is what Verify found.
type Report struct {
	Entries     int
	First, Last Entry
	Files       []string // the month files' names, oldest first
	// Anchor is the first entry's Prev: Genesis, or once retention has
	// pruned months, the last hash of the last pruned one (recorded in the
	// ActionPrune entry that deleted it).
	Anchor string
}

// BreakError locates the first line of a trail that is not sound.
type BreakError struct {
	File   string // the month file's name
	Line   int    // from 1, within File
	Seq    uint64 // the line's seq, or the one expected there when it has none; 0 when unknown
	Reason string // what broke
}

func (e *BreakError) Error() string {
	seq := "seq unknown"
	if e.Seq > 0 {
		seq = fmt.Sprintf("seq %d", e.Seq)
	}
	return fmt.Sprintf("%s line %d (%s): %s", e.File, e.Line, seq, e.Reason)
}

const truncated = "truncated line: it does not end in a newline (a torn write, or the file was cut)"

// Verify walks every month file in dir in order and checks every line: that
// it is its entry's canonical encoding, that its hash is right, and that its
// seq and prev follow the line before. The first entry may have a seq after 1
// (older months pruned); its Prev is the Report's Anchor. The first break is
// returned as a *BreakError, with the report of the entries before it. A
// directory without entries is an error too: the newest file is never
// pruned, so a trail that was ever written cannot be empty.
func Verify(dir string) (Report, error) { return VerifyFrom(dir, "") }

// VerifyFrom is Verify of a piece of a trail (an export): it may start
// from anchor, the hash of the entry before its first (the last one the
// receiver holds), besides the genesis value and a recorded prune.
func VerifyFrom(dir, anchor string) (Report, error) {
	files, err := snapshot(dir)
	if err != nil {
		return Report{}, err
	}
	defer closeAll(files)
	var r Report
	for _, f := range files {
		r.Files = append(r.Files, f.name)
	}
	// The hashes a prune record says it cut the trail after: the only
	// anchors, besides the genesis value, a trail may start from.
	pruned := map[string]bool{}
	err = walk(files, func(file string, n int, raw []byte) error {
		var expect uint64
		if r.Entries > 0 {
			expect = r.Last.Seq + 1
		}
		broken := func(seq uint64, reason string) error {
			return &BreakError{File: file, Line: n, Seq: seq, Reason: reason}
		}
		line, ok := bytes.CutSuffix(raw, []byte{'\n'})
		if !ok {
			return broken(expect, truncated)
		}
		e, reason := checkLine(line)
		switch {
		case reason != "":
			return broken(cmp.Or(e.Seq, expect), reason)
		case r.Entries == 0 && e.Seq == 0:
			return broken(0, "seq 0: the chain counts from 1")
		case r.Entries == 0 && e.Seq == 1 && e.Prev != Genesis:
			return broken(1, "seq 1 does not start from the genesis value")
		case r.Entries > 0 && e.Seq != expect:
			return broken(e.Seq, fmt.Sprintf("seq %d follows seq %d: a line was removed, added or reordered", e.Seq, r.Last.Seq))
		case r.Entries > 0 && e.Prev != r.Last.Hash:
			return broken(e.Seq, fmt.Sprintf("prev is not the hash of seq %d: a line was replaced or reordered", r.Last.Seq))
		}
		if r.Entries == 0 {
			r.First, r.Anchor = e, e.Prev
		}
		if _, hash, ok := strings.Cut(e.Detail, "last hash "); ok && e.Action == ActionPrune && e.Outcome == OutcomeOK {
			pruned[hash] = true
		}
		r.Last = e
		r.Entries++
		return nil
	})
	if err != nil {
		return r, err
	}
	if r.Entries == 0 {
		return r, fmt.Errorf("audit: no entries in %s", dir)
	}
	if r.Anchor != Genesis && r.Anchor != anchor && !pruned[r.Anchor] {
		return r, &BreakError{File: r.Files[0], Line: 1, Seq: r.First.Seq,
			Reason: fmt.Sprintf("the trail starts at seq %d and no audit.prune record says the entries before it were pruned: lines were removed from its beginning", r.First.Seq)}
	}
	return r, nil
}

// Export writes the trail's lines to w as stored, so that the clinic's log
// system can re-verify them, from the first entry whose At is at or after
// since to the end, and returns how many it wrote. Every entry after that
// one is written even if its At is earlier (a caller-supplied At, such as
// the time of a Temporal event, or a clock stepped back): dropping it would
// break the chain the receiver verifies, and an incremental export from the
// last exported At would never send it. Lines before the start that do not
// decode are passed over (Verify reports them); a line without its newline
// is a torn write, not an entry, and stops the export with a *BreakError.
func Export(dir string, since time.Time, w io.Writer) (int, error) {
	files, err := snapshot(dir)
	if err != nil {
		return 0, err
	}
	defer closeAll(files)
	n, started := 0, false
	err = walk(files, func(file string, line int, raw []byte) error {
		if !bytes.HasSuffix(raw, []byte{'\n'}) {
			return &BreakError{File: file, Line: line, Reason: truncated}
		}
		if !started {
			var e Entry
			if json.Unmarshal(raw, &e) != nil || e.At.Before(since) {
				return nil
			}
			started = true
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// Tail returns the last n entries of the trail in dir, oldest first, reading
// only as many of the newest files as it needs. It decodes them without
// checking the chain, which is Verify's work.
func Tail(dir string, n int) ([]Entry, error) {
	files, err := snapshot(dir)
	if err != nil {
		return nil, err
	}
	defer closeAll(files)
	var out []Entry
	for i := len(files) - 1; i >= 0 && len(out) < n; i-- {
		var month []Entry
		err := walk(files[i:i+1], func(file string, line int, raw []byte) error {
			b, ok := bytes.CutSuffix(raw, []byte{'\n'})
			if !ok {
				return &BreakError{File: file, Line: line, Reason: truncated}
			}
			var e Entry
			if err := json.Unmarshal(b, &e); err != nil {
				return &BreakError{File: file, Line: line, Reason: "does not parse as an entry: " + err.Error()}
			}
			month = append(month, e)
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(month[max(0, len(month)-(n-len(out))):], out...)
	}
	return out, nil
}

// snapFile is a month file opened for reading, and its size when opened.
type snapFile struct {
	name string
	f    *os.File
	size int64
}

// snapshot opens every month file in dir and notes its size while holding
// the shared lock, so that a reader sees whole appends only (never a line
// being written, which would look torn) and can still read a file pruned
// meanwhile, without holding appends up for the whole read. A directory
// without a lock file, such as a copy, is read as it is.
func snapshot(dir string) ([]snapFile, error) {
	lock, err := os.Open(filepath.Join(dir, lockName))
	switch {
	case err == nil:
		defer lock.Close() // which releases the lock
		if err := flock(lock, syscall.LOCK_SH); err != nil {
			return nil, fmt.Errorf("audit: locking %s: %w", dir, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("audit: %w", err)
	}
	names, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	files := make([]snapFile, 0, len(names))
	for _, name := range names {
		f, err := os.Open(filepath.Join(dir, name))
		if err == nil {
			var fi os.FileInfo
			if fi, err = f.Stat(); err == nil {
				files = append(files, snapFile{name: name, f: f, size: fi.Size()})
				continue
			}
			f.Close()
		}
		closeAll(files)
		return nil, fmt.Errorf("audit: %w", err)
	}
	return files, nil
}

func closeAll(files []snapFile) {
	for _, f := range files {
		f.f.Close()
	}
}

// walk calls fn with each line of files in order, its newline included (a
// last line without one is torn), and its number within its file.
func walk(files []snapFile, fn func(file string, line int, raw []byte) error) error {
	for _, sf := range files {
		r := bufio.NewReader(io.NewSectionReader(sf.f, 0, sf.size))
		for n := 1; ; n++ {
			raw, err := r.ReadBytes('\n')
			if len(raw) > 0 {
				if err := fn(sf.name, n, raw); err != nil {
					return err
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("audit: reading %s: %w", sf.name, err)
			}
		}
	}
	return nil
}
