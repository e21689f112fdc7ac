package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/carebridge/carebridge/workflows"
)

// Idempotency-Keys: a caller's key names one send of one lead. The run's id
// derives from the caller and the key; its memo keeps who started it and a
// fingerprint of its lead, so that the key reused with another lead is
// refused (422) and another caller's send is not found.

// What a send's start puts in its run's memo (encrypted by the codec like
// every payload): who started it, and with an Idempotency-Key, the lead's
// fingerprint. Neither is PHI.
const (
	memoCaller          = "caller"
	memoLeadFingerprint = "lead_fingerprint"
)

// payloadConverter decodes what a start put in a run's memo, and a run's
// result handed over by LocalResults.
func (d Deps) payloadConverter() converter.DataConverter {
	if d.DataConverter != nil {
		return d.DataConverter
	}
	return converter.GetDefaultDataConverter()
}

// sendMemo is what a send's run keeps of who started it and of its lead:
// the caller's name and the lead's fingerprint, when there are.
func sendMemo(who caller, fingerprint string) map[string]any {
	memo := map[string]any{}
	if who.name != "" {
		memo[memoCaller] = who.name
	}
	if fingerprint != "" {
		memo[memoLeadFingerprint] = fingerprint
	}
	if len(memo) == 0 {
		return nil
	}
	return memo
}

// leadFingerprint tells leads apart without keeping one: an HMAC-SHA256,
// under CAREBRIDGE_SEARCH_HASH_KEY, of the lead as the workflow gets it
// (trimmed, site_name read as instance_name: the JSON array of its five
// values in a fixed order), never the lead nor a plain hash of it. It is
// "<key id>.<hex HMAC>": the key id (8 hex digits of an HMAC of a constant)
// tells a fingerprint made under another key, which cannot be compared.
func leadFingerprint(hashKey []byte, req workflows.SendRequest) string {
	canonical, _ := json.Marshal([]string{req.FormName, req.Phone, req.Name, req.Email, req.Instance})
	m := hmac.New(sha256.New, hashKey)
	m.Write([]byte("carebridge send lead v1\x00"))
	m.Write(canonical)
	return fingerprintKeyID(hashKey) + "." + hex.EncodeToString(m.Sum(nil))
}

func fingerprintKeyID(hashKey []byte) string {
	m := hmac.New(sha256.New, hashKey)
	m.Write([]byte("carebridge send lead key id"))
	return hex.EncodeToString(m.Sum(nil))[:8]
}

// sameLead says whether the run a start returned (new, or the key's
// existing one) was started with the lead whose fingerprint is given: it
// reads the run's memo. A run without a fingerprint (started before
// fingerprints, or without CAREBRIDGE_SEARCH_HASH_KEY), with one made under
// another hash key, or with one that cannot be decoded cannot tell, and
// answers as before: the run's own answer.
func (a *sendAPI) sameLead(ctx context.Context, id, runID, fingerprint string) (bool, error) {
	desc, err := a.temporal.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return false, err
	}
	payload := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[memoLeadFingerprint]
	if payload == nil {
		return true, nil
	}
	var theirs string
	if err := a.payloads.FromPayload(payload, &theirs); err != nil {
		a.log.LogAttrs(ctx, slog.LevelWarn, "a send's lead fingerprint could not be read: its Idempotency-Key is not checked",
			slog.String("workflow_id", id), slog.String("error", err.Error()))
		return true, nil
	}
	theirKey, _, _ := strings.Cut(theirs, ".")
	ourKey, _, _ := strings.Cut(fingerprint, ".")
	if theirKey != ourKey {
		return true, nil
	}
	return hmac.Equal([]byte(theirs), []byte(fingerprint)), nil
}

// ownedByAnother says whether the run described, started by a named
// caller, is not who's: another caller's send is not found. A run that
// names no caller (started before callers had names, or while the API was
// open) is anyone's, as before; a name that cannot be read is another's.
func (a *sendAPI) ownedByAnother(desc *workflowservice.DescribeWorkflowExecutionResponse, who caller) bool {
	if who.name == "" {
		return false // an open API
	}
	payload := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[memoCaller]
	if payload == nil {
		return false
	}
	var owner string
	if err := a.payloads.FromPayload(payload, &owner); err != nil {
		return true
	}
	return owner != who.name
}
