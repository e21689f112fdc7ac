package workflows

import (
	"crypto/sha256"
	"encoding/hex"
)

// dedupe remembers the newest keys a workflow has applied, so that a
// redelivery has no effect: keys is the list kept in the workflow's state
// (carried across continue-as-new), oldest first, at most limit long. It
// holds each key's digest, a fixed 16 characters whatever the key's length,
// so that the list's size is bounded (a collision among a few thousand
// 64-bit digests is about one in 10^12).
type dedupe struct {
	keys  *[]string
	set   map[string]bool
	limit int
}

func newDedupe(keys *[]string, limit int) *dedupe {
	d := &dedupe{keys: keys, set: make(map[string]bool, len(*keys)), limit: limit}
	for _, k := range *keys {
		d.set[k] = true
	}
	return d
}

// firstTime reports whether key is new, and remembers it.
func (d *dedupe) firstTime(key string) bool {
	digest := digest([]byte(key))
	if d.set[digest] {
		return false
	}
	d.set[digest] = true
	*d.keys = append(*d.keys, digest)
	if len(*d.keys) > d.limit {
		delete(d.set, (*d.keys)[0])
		*d.keys = (*d.keys)[1:]
	}
	return true
}

// digest is a fixed 16 characters of SHA-256 of b: what a workflow keeps to
// recognise a value (an event key, the patient data) without keeping it.
func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
