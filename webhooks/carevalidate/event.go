// Package carevalidate reads CareValidate's case webhooks: it checks their
// auth and optional signature, and turns a body (full-case or event-only
// form) into a compact CaseEvent for the case workflow.
//
// A CaseEvent keeps what the case workflow acts on and leaves the rest
// behind: attachment contents (inline Base64, up to megabytes), form
// responses and comments never reach Temporal.
package carevalidate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"sort"
	"strings"

	"github.com/carebridge/carebridge/workflows"
)

// MissingError names what a body lacks.
type MissingError struct{ Field string }

func (e *MissingError) Error() string { return "missing " + e.Field }

// ErrNotJSON is a body that is not a JSON object.
var ErrNotJSON = errors.New("the body is not a JSON object")

var caseIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Parse reads a webhook body. Errors are ErrNotJSON or a *MissingError
// naming "event" or "case id"; none of them quotes the body.
//
// Parsing is lenient field by field: a field in a shape we do not expect (a
// number where a string was documented, an object for a list) is read as
// best it can be (a number as its text) or left empty, and never costs the
// rest of the event, its ids above all.
func Parse(body []byte) (workflows.CaseEvent, error) {
	root := object(body)
	if root == nil {
		return workflows.CaseEvent{}, ErrNotJSON
	}
	payload := root.obj("payload")
	c := payload.obj("case")
	ev := workflows.CaseEvent{Type: strings.TrimSpace(root.str("event"))}
	if ev.Type == "" {
		return workflows.CaseEvent{}, &MissingError{"event"}
	}
	for _, id := range []string{c.str("id"), payload.str("caseId"), root.str("caseId")} {
		if ev.CaseID == "" {
			ev.CaseID = id
		}
	}
	if ev.CaseID == "" {
		return workflows.CaseEvent{}, &MissingError{"case id (payload.case.id)"}
	}
	if !caseIDRe.MatchString(ev.CaseID) {
		return workflows.CaseEvent{}, &MissingError{"a well-formed case id (letters, digits, '-', '_', '.'; at most 128)"}
	}
	if c != nil {
		ev.ShortID, ev.CaseStatus, ev.CaseUpdatedAt = c.str("shortId"), c.str("status"), c.time("updatedAt")
		ev.CaseType, ev.Product = c.str("type"), c.obj("productBundle").str("name")
		ev.Escalated, ev.AssignedTo, ev.Submitter = c.boolp("isEscalated"), person(c.obj("assignedTo")), submitter(c.obj("submitter"))
		var ds []workflows.Decision
		for _, d := range c.list("decisions") {
			if dec := decision(object(d)); dec != nil {
				ds = append(ds, *dec)
			}
		}
		ev.Decision = latestDecision(ds)
	}
	a := payload.obj("activity")
	if a != nil {
		ev.ValueBefore, ev.ValueAfter = a.str("valueBefore"), a.str("valueAfter")
		ev.TargetUser = person(a.obj("targetUser"))
	}
	if d := decision(payload.obj("decision")); d != nil {
		ev.Decision = d
	}
	ev.Payment = payment(payload.obj("payment"))
	ev.Order = order(payload.obj("order"))
	if ev.Order == nil {
		ev.Order = order(root.obj("order"))
	}
	own := ownActivity(ev, a, c)
	ev.EventKey, ev.EventAt = eventKey(ev, own), own.time("timestamp")
	if own != nil && own.str("id") != a.str("id") {
		// The case's own record of the event: its values are the event's.
		ev.ValueBefore, ev.ValueAfter, ev.TargetUser = own.str("valueBefore"), own.str("valueAfter"), person(own.obj("targetUser"))
	}
	return ev, nil
}

// ownActivity is the activity that records this event: payload.activity
// when it is of the event's type (or names no type), else the newest of the
// case's activities of that type (for orders, the one that carries the
// event's tracking number or status). The
// reference's own example delivers ORDER_TRACKING_ADDED with a
// PAYMENT_COMPLETED payload.activity: the activity a delivery carries need
// not be its event's. Nil when none is known.
func ownActivity(ev workflows.CaseEvent, a, c obj) obj {
	if a != nil && (a.str("type") == ev.Type || a.str("type") == "") {
		return a
	}
	value := ""
	switch {
	case ev.Type == workflows.OrderTrackingAdded && ev.Order != nil:
		value = ev.Order.TrackingID
	case ev.Type == workflows.OrderStatusChanged && ev.Order != nil:
		value = ev.Order.Status
	}
	var best obj
	for _, raw := range c.list("activity") {
		act := object(raw)
		if act == nil || act.str("type") != ev.Type || act.str("id") == "" || (value != "" && act.str("valueAfter") != value) {
			continue
		}
		if best == nil || act.time("timestamp").After(best.time("timestamp")) {
			best = act
		}
	}
	return best
}

// eventKey identifies the event, not the delivery: the same for every
// redelivery of one event, however its body was rebuilt, and different for
// two events. It is the id of the event's own activity when one is known,
// else derived from what identifies that event (never from a snapshot such
// as case.updatedAt or case.status, which change between deliveries).
func eventKey(ev workflows.CaseEvent, own obj) string {
	if id := own.str("id"); id != "" {
		return id
	}
	parts := []string{ev.Type, ev.CaseID}
	switch ev.Type {
	case workflows.CreateCase, workflows.ArchiveCase:
		// Once per case: nothing else identifies them.
	case workflows.OrderStatusChanged, workflows.OrderTrackingAdded:
		if o := ev.Order; o != nil {
			parts = append(parts, o.ID, o.Status, o.TrackingID)
		}
	case workflows.AddCaseDecision:
		if d := ev.Decision; d != nil {
			parts = append(parts, d.ID)
		}
	case workflows.PaymentAdded, workflows.PaymentCompleted:
		if p := ev.Payment; p != nil {
			parts = append(parts, p.ID, p.Status)
		}
	}
	// What the event itself says, when it says it.
	parts = append(parts, own.str("timestamp"), own.str("valueBefore"), own.str("valueAfter"))
	if u := person(own.obj("targetUser")); u != nil {
		parts = append(parts, u.ID)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x1f")))
	return "event-" + hex.EncodeToString(sum[:12])
}

func latestDecision(ds []workflows.Decision) *workflows.Decision {
	if len(ds) == 0 {
		return nil
	}
	sorted := append([]workflows.Decision(nil), ds...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].CreatedAt.Before(sorted[j].CreatedAt) })
	return &sorted[len(sorted)-1]
}
