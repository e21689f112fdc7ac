package carevalidate_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
	"github.com/carebridge/carebridge/workflows"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Event keys are computed here, in the starter, outside what the replay
// test sees, and every open case de-duplicates by the keys it recorded: a
// change to a key's derivation would make every redelivery to an open case
// a new event. These golden keys pin them; a change that fails this test is
// a change of the case's contract (docs/changing-a-workflow.md).

// deliveryShapes are the delivery shapes docs/how-a-case-works.md lists,
// each a format taking the event type.
var deliveryShapes = []struct{ name, body string }{
	{"event-only", `{"event":"%[1]s","payload":{"caseId":"case-g","order":{"id":"o1","status":"SHIPPED","trackingId":"1Z"},"decision":{"id":"d1","isApproved":true},"payment":{"id":"p1","amount":"350","status":"PAID"}}}`},
	{"activity without id", `{"event":"%[1]s","payload":{"caseId":"case-g","activity":{"type":"%[1]s","timestamp":"2026-11-01T10:00:00Z","valueBefore":"OPEN","valueAfter":"APPROVED","targetUser":{"id":"u1"}}}}`},
	{"own activity", `{"event":"%[1]s","payload":{"case":{"id":"case-g","status":"APPROVED","updatedAt":"2026-11-02T08:00:00Z"},"activity":{"id":"act-g","type":"%[1]s","timestamp":"2026-11-01T10:00:00Z"}}}`},
	{"foreign activity", `{"event":"%[1]s","payload":{"case":{"id":"case-g","activity":[{"id":"own-g","type":"%[1]s","timestamp":"2026-11-01T09:00:00Z"}]},"activity":{"id":"foreign-g","type":"SOMETHING_ELSE","timestamp":"2026-11-01T10:00:00Z"}}}`},
}

func TestEventKeysAreGolden(t *testing.T) {
	golden := []struct{ shape, event, key string }{
		{"event-only", "ADD_CASE_ASSIGNEE", "event-d1e64c42247c753d77511e98"},
		{"event-only", "ADD_CASE_ATTACHMENT", "event-557e55ae2b9d31a865f5a43d"},
		{"event-only", "ADD_CASE_COMMENT", "event-e28dbfe21a36f2e6cf0c4300"},
		{"event-only", "ADD_CASE_DECISION", "event-41e0a8ecbf1aeab98d706226"},
		{"event-only", "ADD_FORM_RESPONSE", "event-b5a26c373081262da1ee91cd"},
		{"event-only", "ARCHIVE_CASE", "event-6243ad72a5fe1f36944733d3"},
		{"event-only", "CHANGE_CASE_STATUS", "event-a3afdeccfda2972b77457309"},
		{"event-only", "CREATE_CASE", "event-c3112f82954862289a408fda"},
		{"event-only", "DEESCALATE_CASE", "event-80cc71e3b826ed0111be2359"},
		{"event-only", "DELETE_ATTACHMENT", "event-3b081c71befc6c88a81b9bc8"},
		{"event-only", "ESCALATE_CASE", "event-43327d80a80ffe98f84b6375"},
		{"event-only", "PAYMENT_ADDED", "event-64ebc5c9dbb0f3028a0db6ab"},
		{"event-only", "PAYMENT_COMPLETED", "event-53142acfbe2238e5d77346ea"},
		{"event-only", "REMOVE_CASE_ASSIGNEE", "event-e9558d24dd6bdc560286d020"},
		{"event-only", "ORDER_STATUS_CHANGED", "event-7394f0583f223bd8ffcbd7ea"},
		{"event-only", "ORDER_TRACKING_ADDED", "event-93fc11458208d493dbff23e5"},
		{"activity without id", "ADD_CASE_ASSIGNEE", "event-0e84d4dd8695ac82918ef827"},
		{"activity without id", "ADD_CASE_ATTACHMENT", "event-a3da103873517e3c40e07e0a"},
		{"activity without id", "ADD_CASE_COMMENT", "event-be9f807ce2aa26fd0dc92647"},
		{"activity without id", "ADD_CASE_DECISION", "event-ca211033a6789018687646e3"},
		{"activity without id", "ADD_FORM_RESPONSE", "event-16168c7a75187fb2dcc4a8c3"},
		{"activity without id", "ARCHIVE_CASE", "event-94d7a4c4139979e1f9cce69b"},
		{"activity without id", "CHANGE_CASE_STATUS", "event-c5b10393972eadeeedeb97be"},
		{"activity without id", "CREATE_CASE", "event-9888234f22be41a6d515e0c3"},
		{"activity without id", "DEESCALATE_CASE", "event-e51882679c3b666caec03b24"},
		{"activity without id", "DELETE_ATTACHMENT", "event-fc028427940bb6cd4732e969"},
		{"activity without id", "ESCALATE_CASE", "event-d5e69d00ba8417c3ad135d2b"},
		{"activity without id", "PAYMENT_ADDED", "event-8bf999e8cefc5eb98ef393af"},
		{"activity without id", "PAYMENT_COMPLETED", "event-699be8758f096f97c3d5f6f7"},
		{"activity without id", "REMOVE_CASE_ASSIGNEE", "event-3d10b4655e7347e6dce32ccf"},
		{"activity without id", "ORDER_STATUS_CHANGED", "event-1cd5fbd49f4ff82d8a79111a"},
		{"activity without id", "ORDER_TRACKING_ADDED", "event-10a56a5b0ffa3d0445f0bd7d"},
		{"own activity", "ADD_CASE_ASSIGNEE", "act-g"},
		{"own activity", "ADD_CASE_ATTACHMENT", "act-g"},
		{"own activity", "ADD_CASE_COMMENT", "act-g"},
		{"own activity", "ADD_CASE_DECISION", "act-g"},
		{"own activity", "ADD_FORM_RESPONSE", "act-g"},
		{"own activity", "ARCHIVE_CASE", "act-g"},
		{"own activity", "CHANGE_CASE_STATUS", "act-g"},
		{"own activity", "CREATE_CASE", "act-g"},
		{"own activity", "DEESCALATE_CASE", "act-g"},
		{"own activity", "DELETE_ATTACHMENT", "act-g"},
		{"own activity", "ESCALATE_CASE", "act-g"},
		{"own activity", "PAYMENT_ADDED", "act-g"},
		{"own activity", "PAYMENT_COMPLETED", "act-g"},
		{"own activity", "REMOVE_CASE_ASSIGNEE", "act-g"},
		{"own activity", "ORDER_STATUS_CHANGED", "act-g"},
		{"own activity", "ORDER_TRACKING_ADDED", "act-g"},
		{"foreign activity", "ADD_CASE_ASSIGNEE", "own-g"},
		{"foreign activity", "ADD_CASE_ATTACHMENT", "own-g"},
		{"foreign activity", "ADD_CASE_COMMENT", "own-g"},
		{"foreign activity", "ADD_CASE_DECISION", "own-g"},
		{"foreign activity", "ADD_FORM_RESPONSE", "own-g"},
		{"foreign activity", "ARCHIVE_CASE", "own-g"},
		{"foreign activity", "CHANGE_CASE_STATUS", "own-g"},
		{"foreign activity", "CREATE_CASE", "own-g"},
		{"foreign activity", "DEESCALATE_CASE", "own-g"},
		{"foreign activity", "DELETE_ATTACHMENT", "own-g"},
		{"foreign activity", "ESCALATE_CASE", "own-g"},
		{"foreign activity", "PAYMENT_ADDED", "own-g"},
		{"foreign activity", "PAYMENT_COMPLETED", "own-g"},
		{"foreign activity", "REMOVE_CASE_ASSIGNEE", "own-g"},
		{"foreign activity", "ORDER_STATUS_CHANGED", "own-g"},
		{"foreign activity", "ORDER_TRACKING_ADDED", "own-g"},
	}
	require.Len(t, golden, len(deliveryShapes)*len(workflows.EventTypes), "every documented event type in every shape")
	for _, g := range golden {
		i := slices.IndexFunc(deliveryShapes, func(s struct{ name, body string }) bool { return s.name == g.shape })
		ev, err := carevalidate.Parse([]byte(fmt.Sprintf(deliveryShapes[i].body, g.event)))
		require.NoError(t, err)
		assert.Equal(t, g.key, ev.EventKey, "%s, %s", g.shape, g.event)
	}
}

// The reference's example carries two events in one body: the tracking
// number (its own activity, found in the case's list) and the payment (the
// delivery's activity).
func TestTheReferenceExamplesKeysAreGolden(t *testing.T) {
	for event, key := range map[string]string{
		"ORDER_TRACKING_ADDED": "a21f3d85-5ca0-4a51-a31f-9ac9e5316cd2",
		"PAYMENT_COMPLETED":    "26b44dbd-34c2-42d0-a037-3e99cedb7c89",
	} {
		body := strings.Replace(string(carevalidatetest.Example), `"event": "ORDER_TRACKING_ADDED"`, `"event": "`+event+`"`, 1)
		ev, err := carevalidate.Parse([]byte(body))
		require.NoError(t, err)
		assert.Equal(t, key, ev.EventKey, event)
	}
}
