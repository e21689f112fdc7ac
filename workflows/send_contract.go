package workflows

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/google/uuid"
)

// The send workflow's contract: its type, its id and its input. It has no
// signals, queries or updates; its result is Alleviate's answer
// (alleviate.Answer). The type name is recorded in histories.
const (
	AlleviateSendName    = "AlleviateSend"
	SendWorkflowIDPrefix = "alleviate-send-"
)

// SendRequest is a lead to send to Alleviate. Every field is PHI.
type SendRequest struct {
	FormName string `json:"form_name"`
	Phone    string `json:"phone"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Instance string `json:"instance_name"`
}

// SendWorkflowID names a send's run (called by the starter, never by a
// workflow). With an Idempotency-Key it is derived from the caller's name
// and the key (hashed: a caller may put anything in it), so the same
// caller's same key finds the same run and two callers with one key get two
// runs; never from the lead, which is PHI. caller is empty where callers
// have no names (an open API, the shared tokens). Without a key each send is
// a new run.
func SendWorkflowID(caller, idempotencyKey string) string {
	if idempotencyKey == "" {
		return SendWorkflowIDPrefix + uuid.NewString()
	}
	scoped := idempotencyKey
	if caller != "" {
		scoped = caller + "\x00" + idempotencyKey // NUL: in no caller's name
	}
	sum := sha256.Sum256([]byte(scoped))
	return SendWorkflowIDPrefix + "key-" + hex.EncodeToString(sum[:16])
}
