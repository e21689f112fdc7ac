package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/google/uuid"
)

// The send workflow's contract: its type, its id and its input. It has no
// signals, queries or updates; its result is Alleviate's answer
// (alleviate.Answer). The type name is recorded in histories.
const (
	AlleviateSendName    = "AlleviateSend"
	SendWorkflowIDPrefix = "alleviate-send-"
)

// SendRequest is a lead to send to Alleviate. Every field but Version is PHI.
type SendRequest struct {
	FormName string `json:"form_name"`
	Phone    string `json:"phone"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Instance string `json:"instance_name"`
	// Version is the send's version, set by the starter (SendVersion) and
	// fixed in the run's input; zero in runs started before it existed,
	// which take their version from a marker (workflow.GetVersion).
	Version int `json:"version,omitempty"`
}

// SendVersion is the version the starter gives new sends. Version 2 runs as
// version 1 (local steps) without a version marker: the marker's
// TemporalChangeVersion upsert was a visibility write per send
// (BENCHMARKS.md), and a version in the input costs nothing.
const SendVersion = 2

// SendVersionSearchValue is the TemporalChangeVersion the starter sets on a
// send of SendVersion at its start (part of the start's own visibility
// record), so that the runs of a version are found as the marker's are:
// TemporalChangeVersion="send-version-2".
var SendVersionSearchValue = "send-version-" + strconv.Itoa(SendVersion)

// SendWorkflowID names a send's run (called by the starter, never by a
// workflow). With an Idempotency-Key it is derived from the key (hashed: a
// caller may put anything in it), so the same key finds the same run;
// never from the lead, which is PHI. Without a key each send is a new run.
func SendWorkflowID(idempotencyKey string) string {
	if idempotencyKey == "" {
		return SendWorkflowIDPrefix + uuid.NewString()
	}
	sum := sha256.Sum256([]byte(idempotencyKey))
	return SendWorkflowIDPrefix + "key-" + hex.EncodeToString(sum[:16])
}
