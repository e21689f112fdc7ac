package carevalidate_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/workflows"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
)

func TestParseTheReferenceExample(t *testing.T) {
	ev, err := carevalidate.Parse(carevalidatetest.Example)
	require.NoError(t, err)
	assert.Equal(t, "ORDER_TRACKING_ADDED", ev.Type)
	assert.Equal(t, "a265d7a3-d9e2-48b5-b46b-b91e15f9b515", ev.CaseID)
	assert.Equal(t, "ADA-TOSXM", ev.ShortID)
	assert.Equal(t, "GLP", ev.CaseType)
	assert.Equal(t, "Wegovy Bundle", ev.Product)
	assert.Equal(t, "APPROVED", ev.CaseStatus)
	require.NotNil(t, ev.Order, "the top-level order")
	assert.Equal(t, "1Z73W7720197837423", ev.Order.TrackingID)
	require.NotNil(t, ev.Submitter)
	assert.Equal(t, "y1fovBDTWzTZUnHBdrCMM3GkU663", ev.Submitter.ID)
	assert.Equal(t, "LA", ev.Submitter.State)
	require.NotNil(t, ev.Decision)
	assert.Equal(t, "Saxenda", ev.Decision.MedInfo[0].Medicine)
	require.NotNil(t, ev.Payment)
	assert.Equal(t, "PAID", ev.Payment.Status)
	assert.Equal(t, "TPA Medical", ev.AssignedTo.LastName)

	b, _ := json.Marshal(ev)
	assert.NotContains(t, string(b), "JVBERi0", "attachment contents are left behind")
	assert.NotContains(t, string(b), "What is your date of birth", "form responses are left behind")
}

func TestParseEventOnlyForm(t *testing.T) {
	ev, err := carevalidate.Parse([]byte(`{"event":"ORDER_TRACKING_ADDED","payload":{"caseId":"c-1",
		"order":{"id":"o1","status":"SHIPPED","trackingId":"1Z"}}}`))
	require.NoError(t, err)
	assert.Equal(t, "c-1", ev.CaseID)
	assert.Equal(t, "1Z", ev.Order.TrackingID)
	assert.True(t, strings.HasPrefix(ev.EventKey, "event-"), "derived from what identifies the event")

	again, err := carevalidate.Parse([]byte(`{"event":"ORDER_TRACKING_ADDED","payload":{"caseId":"c-1",
		"order":{"trackingId":"1Z","id":"o1","status":"SHIPPED"}}}`))
	require.NoError(t, err)
	assert.Equal(t, ev.EventKey, again.EventKey, "the same event gets the same derived key")

	other, _ := carevalidate.Parse([]byte(`{"event":"ORDER_TRACKING_ADDED","payload":{"caseId":"c-1",
		"order":{"id":"o1","status":"SHIPPED","trackingId":"2Z"}}}`))
	assert.NotEqual(t, ev.EventKey, other.EventKey)
}

func TestParseRejects(t *testing.T) {
	for body, want := range map[string]string{
		`not json`:                               carevalidate.ErrNotJSON.Error(),
		`[]`:                                     carevalidate.ErrNotJSON.Error(),
		`{"payload":{"case":{"id":"c"}}}`:        "missing event",
		`{"event":"CREATE_CASE","payload":{}}`:   "missing case id (payload.case.id)",
		`{"event":"CREATE_CASE","caseId":"a b"}`: "missing a well-formed case id",
	} {
		_, err := carevalidate.Parse([]byte(body))
		require.Error(t, err, body)
		assert.Contains(t, err.Error(), want, body)
	}
}

func TestParseUnknownTypeAndOddShapes(t *testing.T) {
	ev, err := carevalidate.Parse([]byte(`{"event":"FOLLOWUP_EMAIL","payload":{"case":{"id":"c","decisions":"oops"}}}`))
	require.NoError(t, err, "a part we do not need in an odd shape does not lose the event")
	assert.Equal(t, "FOLLOWUP_EMAIL", ev.Type)
	assert.Equal(t, "c", ev.CaseID)
}

func TestScriptParses(t *testing.T) {
	steps := carevalidatetest.Script(carevalidatetest.Case{ID: "case-1", ShortID: "CB-1"}, time.Now())
	var types []string
	keys := map[string]bool{}
	for _, s := range steps {
		ev, err := carevalidate.Parse(s.Body)
		require.NoError(t, err)
		types = append(types, ev.Type)
		keys[ev.EventKey] = true
	}
	assert.Equal(t, []string{"CREATE_CASE", "CHANGE_CASE_STATUS", "ADD_CASE_DECISION", "PAYMENT_COMPLETED",
		"ORDER_STATUS_CHANGED", "ORDER_TRACKING_ADDED", "ORDER_STATUS_CHANGED", "ARCHIVE_CASE"}, types)
	assert.Len(t, keys, len(steps))
}

func TestEveryDocumentedEventParses(t *testing.T) {
	require.Len(t, workflows.EventTypes, 16)
	keys := map[string]bool{}
	for _, typ := range workflows.EventTypes {
		ev, err := carevalidate.Parse([]byte(`{"event":"` + typ + `","payload":{"caseId":"c-1","activity":{"timestamp":"2026-11-01T10:00:00Z"}}}`))
		require.NoError(t, err, typ)
		assert.Equal(t, typ, ev.Type)
		keys[ev.EventKey] = true
	}
	assert.Len(t, keys, 16, "without an activity id, each event type still gets its own key")
}

// The reference's own example delivers ORDER_TRACKING_ADDED carrying a
// PAYMENT_COMPLETED activity: the event is keyed and timed by its own
// activity, found in the case's activity list by its tracking number.
func TestEventKeyIsTheEventsOwnActivity(t *testing.T) {
	ev, err := carevalidate.Parse(carevalidatetest.Example)
	require.NoError(t, err)
	assert.Equal(t, "a21f3d85-5ca0-4a51-a31f-9ac9e5316cd2", ev.EventKey)
	assert.Equal(t, time.Date(2024, 8, 22, 14, 39, 55, 927e6, time.UTC), ev.EventAt)
	assert.Equal(t, "1Z73W7720197837423", ev.ValueAfter, "the event's own value, not the payment's")

	// The payment the same activity describes is another event, with its own key.
	payment := strings.Replace(string(carevalidatetest.Example), `"event": "ORDER_TRACKING_ADDED"`, `"event": "PAYMENT_COMPLETED"`, 1)
	pev, err := carevalidate.Parse([]byte(payment))
	require.NoError(t, err)
	assert.Equal(t, "26b44dbd-34c2-42d0-a037-3e99cedb7c89", pev.EventKey)
	assert.NotEqual(t, ev.EventKey, pev.EventKey, "two events, one shared activity: two keys")
}

func TestEventKeysWithoutActivityIDs(t *testing.T) {
	parse := func(body string) workflows.CaseEvent {
		t.Helper()
		ev, err := carevalidate.Parse([]byte(body))
		require.NoError(t, err, body)
		return ev
	}
	// Two events sharing a foreign activity differ by what identifies them.
	shared := `"activity":{"id":"pay-act","type":"PAYMENT_COMPLETED","timestamp":"2026-11-01T10:00:00Z"}`
	tracking := parse(`{"event":"ORDER_TRACKING_ADDED","payload":{"caseId":"c1",` + shared + `,"order":{"id":"o1","status":"SHIPPED","trackingId":"1Z"}}}`)
	status := parse(`{"event":"ORDER_STATUS_CHANGED","payload":{"caseId":"c1",` + shared + `,"order":{"id":"o1","status":"DELIVERED"}}}`)
	assert.NotEqual(t, tracking.EventKey, status.EventKey)
	assert.NotEqual(t, "pay-act", tracking.EventKey)

	// A redelivery rebuilt at send time (a newer snapshot) is the same event.
	first := parse(`{"event":"ORDER_STATUS_CHANGED","payload":{"case":{"id":"c1","status":"APPROVED","updatedAt":"2026-11-01T10:00:00Z"},"order":{"id":"o1","status":"SHIPPED"}}}`)
	rebuilt := parse(`{"event":"ORDER_STATUS_CHANGED","payload":{"case":{"id":"c1","status":"CLOSED","updatedAt":"2026-11-02T08:00:00Z"},"order":{"id":"o1","status":"SHIPPED"}}}`)
	assert.Equal(t, first.EventKey, rebuilt.EventKey)

	// Escalate, de-escalate, escalate: three events.
	keys := map[string]bool{}
	for i, typ := range []string{"ESCALATE_CASE", "DEESCALATE_CASE", "ESCALATE_CASE"} {
		keys[parse(`{"event":"`+typ+`","payload":{"caseId":"c1","activity":{"timestamp":"2026-11-01T10:0`+string(rune('0'+i))+`:00Z"}}}`).EventKey] = true
	}
	assert.Len(t, keys, 3)
}

// One field in an unexpected shape costs that field, never the event's ids.
func TestParseIsLenientPerField(t *testing.T) {
	ev, err := carevalidate.Parse([]byte(`{"event":"CHANGE_CASE_STATUS","payload":{
		"case":{"id":"c1","shortId":12345,"status":"APPROVED","isEscalated":"no","decisions":"oops",
			"submitter":{"id":"sub-1","phoneNumber":2258675309,"postalCode":70360}},
		"activity":{"id":"act-7","type":"CHANGE_CASE_STATUS","timestamp":"2026-11-01T10:00:00Z","valueBefore":1,"valueAfter":"APPROVED","targetUser":"someone"}}}`))
	require.NoError(t, err)
	assert.Equal(t, "act-7", ev.EventKey)
	assert.Equal(t, "12345", ev.ShortID)
	assert.Equal(t, "2258675309", ev.Submitter.PhoneNumber, "a number where a string was documented is its text")
	assert.Equal(t, "70360", ev.Submitter.PostalCode)
	assert.Nil(t, ev.Escalated, "not a boolean: unknown, not false")
	assert.Nil(t, ev.TargetUser)
	assert.Equal(t, "APPROVED", ev.ValueAfter)
}
