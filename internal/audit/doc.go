// Package audit keeps carebridge's HIPAA audit trail (45 CFR 164.312(b)): an
// append-only, tamper-evident record of every read of patient data and every
// change to it, saying who (Principal), through what (Via), what (Action), on
// which workflow run, when (At) and with what Outcome.
//
// # No PHI
//
// An entry holds identifiers, principals, actions, times and outcomes only.
// The trail is kept for years, exported to the clinic's log system and read
// by operators who may not see patient data, so it must never hold any. The
// log cannot tell PHI from an identifier: keeping it out, above all out of
// Detail, is the caller's duty. Detail is for a handler name, a count or a
// status, never a name, a birth date, a phone number or a message. Append
// bounds every field to MaxField bytes of printable UTF-8 on one line, and
// its errors name the field, never its value.
//
// # Format
//
// One JSON object per line, in files named audit-YYYY-MM.jsonl after the UTC
// month of the entries' At (mode 0600, in a directory of mode 0700). An entry
// whose month is before the newest file's (a caller-supplied At, or a clock
// stepped back) goes into the newest file, so that reading the files in name
// order always reads the chain in order.
//
// # The chain
//
// Seq counts 1, 2, 3 … across files, without gaps. Hash is the hex SHA-256 of
// the entry's encoding/json encoding with Hash set to "": encoding/json writes
// a struct's fields in declaration order, so the encoding is deterministic and
// the hash covers every other field, Prev included. Prev is the previous
// entry's Hash, Genesis for seq 1; the first entry of a month carries the last
// Hash of the month before. A stored line is exactly that encoding with Hash
// filled in. Verify decodes every line, encodes it again and requires the same
// bytes, then recomputes the hash, so an edit that decoding would hide
// (spacing, key order, a repeated key) breaks the line too. Changing Entry's
// fields or their order therefore changes every hash: old trails would no
// longer verify.
//
// A changed field breaks its entry's hash; a removed, added or reordered line
// breaks Seq or Prev at the line after it. What the chain cannot show alone:
// entries cut from its end, files removed from its start (they look like
// retention), or a chain rewritten with fresh hashes by someone who can write
// the directory. Against those, compare with a copy held elsewhere: the
// clinic's log system receives Export's output and re-verifies it, and
// `carebridge-audit verify` prints the last hash for the operator to record.
//
// # Verifying
//
//	go run ./cmd/audit verify -dir /var/lib/carebridge/audit
//
// walks every file in order (Verify) and prints the number of entries, the seq
// range, the files and the anchor (the Prev of the first entry: Genesis, or
// after retention the last hash of the deleted months), or the file, line and
// seq of the first break and what broke.
//
// # Several writers
//
// The starter and the worker on one host append to the same directory. Each
// Append holds an exclusive flock on dir/.lock while it reads the chain's tail
// from disk, writes its line and fsyncs it, so the chain never forks and no
// process trusts a tail it remembers. Verify, Export and Tail hold the shared
// lock only while they open the files and note their sizes, then read that
// snapshot without holding appends up. flock needs a local file system.
//
// # Failures and torn lines
//
// An Append that returns an error may not have recorded the entry: the caller
// must refuse the action, so that no read of patient data goes unaudited.
//
// A crash during a write leaves at most an unfinished last line, whose Append
// never returned, so no action relied on it. Verify reports it as a truncated
// line. The next Open or Append repairs it under the lock rather than refuse
// until an operator steps in, which would stop every read of patient data,
// and records the repair as an entry of its own (ActionRepair, principal
// "carebridge-audit", via "audit"): bytes that are a whole, self-consistent
// entry lacking only its newline are kept and the newline added; anything
// else is cut off, and the repair entry gives its length and SHA-256. A last
// line that ends in a newline but does not parse is no torn write: Open and
// Append refuse to chain onto it.
//
// # Retention
//
// With Options.Retention set, Open and then the first Append of each day
// delete the month files whose every entry is older than Retention, never the
// newest file nor the one holding the chain's last entry. Before deleting a
// file, the log records an ActionPrune entry naming it and its last seq and
// hash, which is the anchor Verify then reports; a deletion that fails is
// recorded with outcome "failed" and does not fail the Append.
package audit
