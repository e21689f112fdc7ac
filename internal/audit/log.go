package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Options configure Open.
type Options struct {
	// Retention is how long entries are kept; 0 keeps them forever. Callers
	// pass DefaultRetention unless a longer policy applies.
	Retention time.Duration
	// Now is the clock (for tests); time.Now when nil. The log calls it from
	// several goroutines.
	Now func() time.Time
}

// ErrClosed is returned by Append and Close after Close.
var ErrClosed = errors.New("audit: log is closed")

const (
	lockName = ".lock"
	// tailWindow is how much of a file's end is read to find its last line:
	// several times the longest entry (seven fields of MaxField bytes, each
	// byte escaped to at most six), so a line longer than this is corrupt.
	tailWindow = 64 << 10
	pruneEvery = 24 * time.Hour
)

// Log appends entries to the chain in one directory. It is safe for
// concurrent use, and other processes may append to the same directory.
type Log struct {
	dir       string
	retention time.Duration
	now       func() time.Time

	// turn is this process's turn at the lock file: flock excludes other
	// open files, not goroutines sharing this one, so they take turns here
	// first. It is a channel rather than a mutex so that waiting honours ctx.
	turn chan struct{}
	// Guarded by turn:
	lock      *os.File // nil once closed
	lastPrune time.Time
}

// chain is the end of the chain, as read from disk under the lock.
type chain struct {
	seq      uint64
	hash     string
	tailFile string // the file holding the last entry; "" for none
	newest   string // the newest file, perhaps empty; "" for none
}

// Open opens the trail in dir, creating dir (mode 0700) if needed. It takes
// the lock once to repair a torn last line and prune, so that a trail that
// cannot be continued stops the service at start-up rather than at the first
// read of patient data.
func Open(dir string, opts Options) (*Log, error) {
	if opts.Retention < 0 {
		return nil, errors.New("audit: negative retention")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l := &Log{dir: dir, retention: opts.Retention, now: now, turn: make(chan struct{}, 1), lock: lock}
	if err := l.locked(context.Background(), func(*chain) error { return nil }); err != nil {
		lock.Close()
		return nil, err
	}
	return l, nil
}

// Append records e and returns it as stored. It fills Seq, Prev and Hash
// (overwriting what the caller set) and At when it is zero, and returns only
// once the line is on disk (fsync). It fails for an entry out of bounds
// (Principal, Via, Action and Outcome required, Outcome one of the three,
// every string field at most MaxField bytes of printable UTF-8 on one line),
// when ctx ends before the lock is taken, and when the entry cannot be
// written. On an error the caller must refuse the action it was about to
// take: the entry may be missing.
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	if err := e.check(); err != nil {
		return Entry{}, err
	}
	var stored Entry
	err := l.locked(ctx, func(c *chain) error {
		var err error
		stored, err = l.write(c, e)
		return err
	})
	return stored, err
}

// Close releases the lock file. Appends in progress finish first, and so
// does a wait for the lock that an Append gave up on.
func (l *Log) Close() error {
	l.turn <- struct{}{}
	defer func() { <-l.turn }()
	if l.lock == nil {
		return ErrClosed
	}
	err := l.lock.Close()
	l.lock = nil
	return err
}

// locked runs fn on the end of the chain while holding this process's turn
// and the exclusive lock, after repairing a torn last line and pruning when
// due.
func (l *Log) locked(ctx context.Context, fn func(*chain) error) error {
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if l.lock == nil {
		<-l.turn
		return ErrClosed
	}
	if err := l.lockFile(ctx); err != nil {
		return err
	}
	defer func() {
		// Unlocking a held flock does not fail; closing the file would
		// release it anyway.
		flock(l.lock, syscall.LOCK_UN)
		<-l.turn
	}()
	// A caller whose ctx ended while it waited has given up on its action.
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := l.prepare()
	if err != nil {
		return err
	}
	return fn(c)
}

// lockFile takes the exclusive lock, or gives up when ctx ends. A waiter
// left behind keeps this process's turn until it gets the lock and releases
// it: otherwise another goroutine could flock the same open file, which
// succeeds at once while the lock is held through it, and the waiter's
// unlock would then release the lock under that goroutine.
func (l *Log) lockFile(ctx context.Context) error {
	got := make(chan error, 1)
	go func() { got <- flock(l.lock, syscall.LOCK_EX) }()
	select {
	case err := <-got:
		if err != nil {
			<-l.turn
			return fmt.Errorf("audit: locking %s: %w", l.dir, err)
		}
		return nil
	case <-ctx.Done():
		go func() {
			if <-got == nil {
				flock(l.lock, syscall.LOCK_UN)
			}
			<-l.turn
		}()
		return ctx.Err()
	}
}

func flock(f *os.File, how int) error {
	for {
		if err := syscall.Flock(int(f.Fd()), how); err != syscall.EINTR {
			return err
		}
	}
}

// tornLine is what follows a file's last newline.
type tornLine struct {
	file string
	at   int64 // its offset
	data []byte
}

// prepare reads the end of the chain from disk, where another process may
// have moved it, repairs a torn last line and prunes when due.
func (l *Log) prepare() (*chain, error) {
	names, err := listFiles(l.dir)
	if err != nil {
		return nil, err
	}
	c := &chain{hash: Genesis}
	if len(names) > 0 {
		c.newest = names[len(names)-1]
	}
	// The newest files may be empty (a crash between creating a file and
	// writing to it, or a torn line cut off), so look back to the last entry.
	var torn *tornLine
	for i := len(names) - 1; i >= 0; i-- {
		line, rest, at, err := lastLine(filepath.Join(l.dir, names[i]))
		if err != nil {
			return nil, err
		}
		if len(rest) > 0 {
			if torn != nil {
				return nil, fmt.Errorf("audit: %s and %s both end in an unfinished line; run carebridge-audit verify -dir %s", names[i], torn.file, l.dir)
			}
			torn = &tornLine{file: names[i], at: at, data: rest}
		}
		if line == nil {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil || e.Seq == 0 || len(e.Hash) != len(Genesis) {
			return nil, fmt.Errorf("audit: the last entry of %s is not an entry, so the chain cannot be continued; run carebridge-audit verify -dir %s", names[i], l.dir)
		}
		c.seq, c.hash, c.tailFile = e.Seq, e.Hash, names[i]
		break
	}
	if torn != nil {
		if err := l.repair(c, torn); err != nil {
			return nil, err
		}
	}
	now := l.now()
	if l.retention > 0 && (l.lastPrune.IsZero() || now.Sub(l.lastPrune) >= pruneEvery) {
		if err := l.prune(c, names, now); err != nil {
			return nil, err
		}
		l.lastPrune = now
	}
	return c, nil
}

// write appends e after the end of the chain c and moves c past it.
func (l *Log) write(c *chain, e Entry) (Entry, error) {
	e.Seq, e.Prev = c.seq+1, c.hash
	if e.At.IsZero() {
		e.At = l.now()
	}
	e.At = e.At.UTC()
	name := max(fileName(e.At), c.newest)
	var err error
	if e.Hash, err = e.sum(); err != nil {
		return Entry{}, fmt.Errorf("audit: %w", err)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: %w", err)
	}
	// A name after the newest is a file this write creates.
	if err := appendTo(l.dir, name, append(line, '\n'), name > c.newest); err != nil {
		return Entry{}, fmt.Errorf("audit: writing seq %d to %s: %w", e.Seq, name, err)
	}
	c.seq, c.hash, c.tailFile, c.newest = e.Seq, e.Hash, name, name
	return e, nil
}

// appendTo appends b to a file of dir and syncs it, and dir too when the file
// is new, so that its name is as durable as its line.
func appendTo(dir, name string, b []byte, created bool) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && created {
		err = syncDir(dir)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// repair completes or cuts off a torn last line, as the package comment
// explains, and records what it did.
func (l *Log) repair(c *chain, t *tornLine) error {
	var detail string
	if e, reason := checkLine(t.data); reason == "" {
		if err := appendTo(l.dir, t.file, []byte{'\n'}, false); err != nil {
			return fmt.Errorf("audit: completing the last line of %s: %w", t.file, err)
		}
		c.seq, c.hash, c.tailFile = e.Seq, e.Hash, t.file
		detail = fmt.Sprintf("%s: seq %d was written without its line end; added it", t.file, e.Seq)
	} else {
		if err := truncate(filepath.Join(l.dir, t.file), t.at); err != nil {
			return fmt.Errorf("audit: cutting off the unfinished last line of %s: %w", t.file, err)
		}
		detail = fmt.Sprintf("%s: cut off %d bytes of an unfinished line after seq %d, sha256 %x", t.file, len(t.data), c.seq, sha256.Sum256(t.data))
	}
	_, err := l.write(c, Entry{Principal: selfPrincipal, Via: selfVia, Action: ActionRepair, Detail: detail, Outcome: OutcomeOK})
	return err
}

func truncate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// prune deletes the month files past retention, oldest first, recording each
// deletion before it happens: a crash in between leaves a record of a file
// still there, which the next prune deletes, rather than an unrecorded
// deletion. A deletion that fails is recorded, not returned, since retention
// is no reason to refuse a read of patient data.
func (l *Log) prune(c *chain, names []string, now time.Time) error {
	cutoff := now.Add(-l.retention)
	// The file holding the last entry stays, or the next entry would start a
	// new chain at seq 1. Taken before the records below move the end.
	keep := c.tailFile
	removed := false
	for _, name := range names {
		month, _ := monthOf(name)
		// Every entry of a file is from before the end of its month (write
		// never puts an entry into an earlier month's file).
		if name >= keep || month.AddDate(0, 1, 0).After(cutoff) {
			break
		}
		detail, outcome := pruneDetail(filepath.Join(l.dir, name), name)
		if _, err := l.write(c, Entry{Principal: selfPrincipal, Via: selfVia, Action: ActionPrune, Detail: detail, Outcome: outcome}); err != nil {
			return err
		}
		if outcome != OutcomeOK {
			continue
		}
		if err := os.Remove(filepath.Join(l.dir, name)); err != nil {
			failed := Entry{Principal: selfPrincipal, Via: selfVia, Action: ActionPrune, Detail: clip("deleting " + name + ": " + err.Error()), Outcome: OutcomeFailed}
			if _, err := l.write(c, failed); err != nil {
				return err
			}
			continue
		}
		removed = true
	}
	if removed {
		// A deletion lost in a crash is harmless (the next prune repeats it),
		// but the directory is synced so that the records tell the truth.
		return syncDir(l.dir)
	}
	return nil
}

// pruneDetail describes a file about to be pruned by its last entry, whose
// hash becomes Verify's anchor. A file whose end cannot be read is kept.
func pruneDetail(path, name string) (detail, outcome string) {
	line, _, _, err := lastLine(path)
	if err != nil {
		return clip("not deleting " + name + ": " + err.Error()), OutcomeFailed
	}
	if line == nil {
		return fmt.Sprintf("deleting %s (past retention): it holds no entry", name), OutcomeOK
	}
	var e Entry
	if err := json.Unmarshal(line, &e); err != nil {
		return fmt.Sprintf("not deleting %s: its last line does not parse; run carebridge-audit verify", name), OutcomeFailed
	}
	return clip(fmt.Sprintf("deleting %s (past retention): entries through seq %d, last hash %s", name, e.Seq, e.Hash)), OutcomeOK
}

// clip makes a message of the log's own into a Detail within Entry's bounds.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if unprintable(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) <= MaxField {
		return s
	}
	// Cut at the start of a rune.
	end := MaxField
	for end > 0 && s[end]&0xC0 == 0x80 {
		end--
	}
	return s[:end]
}

// lastLine reads the end of a file: its last complete line without the
// newline (nil if it has none) and the bytes after it, a torn write when
// there are any, which start at offset at.
func lastLine(path string) (line, rest []byte, at int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, 0, err
	}
	off := max(0, fi.Size()-tailWindow)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, nil, 0, err
	}
	end := bytes.LastIndexByte(buf, '\n')
	start := bytes.LastIndexByte(buf[:max(end, 0)], '\n') + 1
	if off > 0 && start == 0 {
		return nil, nil, 0, fmt.Errorf("audit: %s does not end in an entry (no line in its last %d bytes); run carebridge-audit verify", filepath.Base(path), tailWindow)
	}
	if end < 0 {
		return nil, buf, 0, nil
	}
	return buf[start:end], buf[end+1:], off + int64(end) + 1, nil
}

// listFiles returns the names of dir's month files, oldest first.
func listFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var names []string
	for _, d := range des {
		if _, ok := monthOf(d.Name()); ok && d.Type().IsRegular() {
			names = append(names, d.Name()) // ReadDir sorts by name, which is by month
		}
	}
	return names, nil
}
