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
