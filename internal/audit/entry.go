package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Entry is one audit record. Its field order is part of the format: the
// hash is computed over the JSON encoding, which follows it.
type Entry struct {
	Seq        uint64    `json:"seq"`       // 1, 2, 3 … within the chain, no gaps
	At         time.Time `json:"at"`        // UTC
	Principal  string    `json:"principal"` // an OIDC subject, a machine client, an API caller, or "anonymous" in development
	Via        string    `json:"via"`       // "api", "codec", "webui", "cli", "temporal", "dev"
	Action     string    `json:"action"`    // "case.read", "send.start", "payload.decode", "workflow.signal" …
	WorkflowID string    `json:"workflow_id,omitempty"`
	RunID      string    `json:"run_id,omitempty"`
	Detail     string    `json:"detail,omitempty"` // a handler name, a count, a status; never PHI (the caller's duty)
	Outcome    string    `json:"outcome"`          // OutcomeOK, OutcomeDenied or OutcomeFailed
	Prev       string    `json:"prev"`             // the previous entry's Hash; Genesis for seq 1
	Hash       string    `json:"hash"`             // hex SHA-256 of the encoding with Hash ""
}

// Outcomes of an audited action.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
	OutcomeFailed = "failed"
)

// Actions of the entries the log writes about itself, as principal
// "carebridge-audit" via "audit".
const (
	ActionRepair = "audit.repair" // a torn last line was completed or cut off
	ActionPrune  = "audit.prune"  // a month file past retention is deleted
)

const (
	selfPrincipal = "carebridge-audit"
	selfVia       = "audit"
)

// Genesis is the Prev of seq 1: 64 zeros, the length of a hex SHA-256.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// MaxField is the most bytes Append accepts in one string field, so that a
// caller cannot grow the trail (or smuggle a document into it) unboundedly.
const MaxField = 256

// DefaultRetention is six years, how long HIPAA requires documentation to be
// kept (45 CFR 164.316(b)(2)); callers pass it as Options.Retention.
const DefaultRetention = 52584 * time.Hour

// check rejects an entry a caller may not append. Its errors name the field
// but never repeat its value, which might be the PHI that must not be logged.
func (e *Entry) check() error {
	fields := []struct {
		name, value string
		required    bool
	}{
		{"principal", e.Principal, true},
		{"via", e.Via, true},
		{"action", e.Action, true},
		{"workflow_id", e.WorkflowID, false},
		{"run_id", e.RunID, false},
		{"detail", e.Detail, false},
		{"outcome", e.Outcome, true},
	}
	for _, f := range fields {
		switch {
		case f.required && f.value == "":
			return fmt.Errorf("audit: %s is required", f.name)
		case len(f.value) > MaxField:
			return fmt.Errorf("audit: %s is %d bytes, more than %d", f.name, len(f.value), MaxField)
		case !utf8.ValidString(f.value):
			return fmt.Errorf("audit: %s is not valid UTF-8", f.name)
		case strings.ContainsFunc(f.value, unprintable):
			return fmt.Errorf("audit: %s holds a control character or a line break", f.name)
		}
	}
	switch e.Outcome {
	case OutcomeOK, OutcomeDenied, OutcomeFailed:
		return nil
	}
	return fmt.Errorf("audit: outcome must be %q, %q or %q", OutcomeOK, OutcomeDenied, OutcomeFailed)
}

// unprintable reports the runes that would break a line or a terminal when an
// operator reads the trail, although JSON would escape them.
func unprintable(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// sum is the entry's Hash: the hex SHA-256 of its encoding with Hash "".
func (e Entry) sum() (string, error) {
	e.Hash = ""
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// checkLine decodes a stored line (without its newline) and checks it against
// itself: canonical encoding, then hash. reason is "" for a sound line; e is
// the zero Entry when the line does not decode.
func checkLine(line []byte) (e Entry, reason string) {
	if err := json.Unmarshal(line, &e); err != nil {
		return Entry{}, "does not parse as an entry: " + err.Error()
	}
	canonical, err := json.Marshal(e)
	if err != nil || !bytes.Equal(canonical, line) {
		return e, "not in canonical form: the line was edited"
	}
	if sum, err := e.sum(); err != nil || sum != e.Hash {
		return e, "hash mismatch: the entry was changed after it was written"
	}
	return e, ""
}

// fileName is the month file of t.
func fileName(t time.Time) string {
	return "audit-" + t.UTC().Format("2006-01") + ".jsonl"
}

// monthOf is the first instant of a month file's month; ok is false for a
// name that is not a month file.
func monthOf(name string) (month time.Time, ok bool) {
	s, ok1 := strings.CutPrefix(name, "audit-")
	s, ok2 := strings.CutSuffix(s, ".jsonl")
	if !ok1 || !ok2 {
		return time.Time{}, false
	}
	m, err := time.Parse("2006-01", s)
	if err != nil || m.Format("2006-01") != s {
		return time.Time{}, false
	}
	return m, true
}
