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
	"time"
)

// The event types CareValidate documents.
const (
	AddCaseAssignee    = "ADD_CASE_ASSIGNEE"
	AddCaseAttachment  = "ADD_CASE_ATTACHMENT"
	AddCaseComment     = "ADD_CASE_COMMENT"
	AddCaseDecision    = "ADD_CASE_DECISION"
	AddFormResponse    = "ADD_FORM_RESPONSE"
	ArchiveCase        = "ARCHIVE_CASE"
	ChangeCaseStatus   = "CHANGE_CASE_STATUS"
	CreateCase         = "CREATE_CASE"
	DeescalateCase     = "DEESCALATE_CASE"
	DeleteAttachment   = "DELETE_ATTACHMENT"
	EscalateCase       = "ESCALATE_CASE"
	PaymentAdded       = "PAYMENT_ADDED"
	PaymentCompleted   = "PAYMENT_COMPLETED"
	RemoveCaseAssignee = "REMOVE_CASE_ASSIGNEE"
	OrderStatusChanged = "ORDER_STATUS_CHANGED"
	OrderTrackingAdded = "ORDER_TRACKING_ADDED"
)

// EventTypes lists the documented types.
var EventTypes = []string{
	AddCaseAssignee, AddCaseAttachment, AddCaseComment, AddCaseDecision, AddFormResponse, ArchiveCase,
	ChangeCaseStatus, CreateCase, DeescalateCase, DeleteAttachment, EscalateCase, PaymentAdded,
	PaymentCompleted, RemoveCaseAssignee, OrderStatusChanged, OrderTrackingAdded,
}

// CaseEvent is one webhook, reduced to what the case workflow needs.
type CaseEvent struct {
	// Key is version 0's de-duplication key: payload.activity.id, else a
	// hash that includes snapshot fields. Runs before version 1 of
	// "case-delivery-rules" use it; later runs use EventKey.
	Key string `json:"key"`
	// EventKey identifies the event itself (see eventKey): stable across
	// redeliveries, distinct for distinct events.
	EventKey string    `json:"event_key,omitempty"`
	Type     string    `json:"type"` // may be one we do not know
	CaseID   string    `json:"case_id"`
	ShortID  string    `json:"short_id,omitempty"`
	At       time.Time `json:"at"` // version 0's time: payload.activity.timestamp, else case.updatedAt
	// EventAt is when the event itself happened (its own activity's
	// timestamp); zero when the delivery does not say.
	EventAt time.Time `json:"event_at,omitempty"`

	// From the full case, when the body carries it.
	CaseType      string     `json:"case_type,omitempty"` // "GLP", say
	Product       string     `json:"product,omitempty"`   // the product bundle's name
	CaseStatus    string     `json:"case_status,omitempty"`
	CaseUpdatedAt time.Time  `json:"case_updated_at,omitempty"`
	Escalated     *bool      `json:"escalated,omitempty"`
	AssignedTo    *Person    `json:"assigned_to,omitempty"`
	Submitter     *Submitter `json:"submitter,omitempty"`

	// From the activity that the event is about.
	ValueBefore string  `json:"value_before,omitempty"` // of the event's own activity
	ValueAfter  string  `json:"value_after,omitempty"`
	TargetUser  *Person `json:"target_user,omitempty"`

	Decision *Decision `json:"decision,omitempty"`
	Payment  *Payment  `json:"payment,omitempty"`
	Order    *Order    `json:"order,omitempty"`
}

// Person is a CareValidate user (doctor, support).
type Person struct {
	ID        string `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// Submitter is the patient. Every field but ID is PHI.
type Submitter struct {
	ID          string `json:"id"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Email       string `json:"email"`
	DOB         string `json:"dob"`
	Gender      string `json:"gender"`
	PhoneNumber string `json:"phoneNumber"`
	Address     string `json:"address"`
	City        string `json:"city"`
	State       string `json:"state"`
	PostalCode  string `json:"postalCode"`
}

// Decision is a doctor's decision with its medications.
type Decision struct {
	ID         string       `json:"id"`
	IsApproved bool         `json:"isApproved"`
	NoDecision bool         `json:"isNoDecision"`
	CreatedAt  time.Time    `json:"createdAt"`
	MedInfo    []Medication `json:"medInfo"`
}

// Medication is one prescribed medicine.
type Medication struct {
	Medicine        string `json:"medicine"`
	Dosage          string `json:"dosage"`
	DosingFrequency string `json:"dosingFrequency"`
}

// Payment is a payment of the case.
type Payment struct {
	ID     string `json:"id"`
	Amount string `json:"amount"`
	Status string `json:"status"`
}

// Order is the pharmacy order.
type Order struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	TrackingID string `json:"trackingId"`
}

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
func Parse(body []byte) (CaseEvent, error) {
	root := object(body)
	if root == nil {
		return CaseEvent{}, ErrNotJSON
	}
	payload := root.obj("payload")
	c := payload.obj("case")
	ev := CaseEvent{Type: strings.TrimSpace(root.str("event"))}
	if ev.Type == "" {
		return CaseEvent{}, &MissingError{"event"}
	}
	for _, id := range []string{c.str("id"), payload.str("caseId"), root.str("caseId")} {
		if ev.CaseID == "" {
			ev.CaseID = id
		}
	}
	if ev.CaseID == "" {
		return CaseEvent{}, &MissingError{"case id (payload.case.id)"}
	}
	if !caseIDRe.MatchString(ev.CaseID) {
		return CaseEvent{}, &MissingError{"a well-formed case id (letters, digits, '-', '_', '.'; at most 128)"}
	}
	if c != nil {
		ev.ShortID, ev.CaseStatus, ev.CaseUpdatedAt = c.str("shortId"), c.str("status"), c.time("updatedAt")
		ev.CaseType, ev.Product = c.str("type"), c.obj("productBundle").str("name")
		ev.Escalated, ev.AssignedTo, ev.Submitter = c.boolp("isEscalated"), person(c.obj("assignedTo")), submitter(c.obj("submitter"))
		var ds []Decision
		for _, d := range c.list("decisions") {
			if dec := decision(object(d)); dec != nil {
				ds = append(ds, *dec)
			}
		}
		ev.Decision = latestDecision(ds)
	}
	a := payload.obj("activity")
	if a != nil {
		ev.At = a.time("timestamp")
		ev.ValueBefore, ev.ValueAfter = a.str("valueBefore"), a.str("valueAfter")
		ev.TargetUser = person(a.obj("targetUser"))
		ev.Key = a.str("id")
	}
	if ev.At.IsZero() {
		ev.At = ev.CaseUpdatedAt
	}
	if d := decision(payload.obj("decision")); d != nil {
		ev.Decision = d
	}
	ev.Payment = payment(payload.obj("payment"))
	ev.Order = order(payload.obj("order"))
	if ev.Order == nil {
		ev.Order = order(root.obj("order"))
	}
	if ev.Key == "" {
		ev.Key = derivedKey(ev)
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
func ownActivity(ev CaseEvent, a, c obj) obj {
	if a != nil && (a.str("type") == ev.Type || a.str("type") == "") {
		return a
	}
	value := ""
	switch {
	case ev.Type == OrderTrackingAdded && ev.Order != nil:
		value = ev.Order.TrackingID
	case ev.Type == OrderStatusChanged && ev.Order != nil:
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
func eventKey(ev CaseEvent, own obj) string {
	if id := own.str("id"); id != "" {
		return id
	}
	parts := []string{ev.Type, ev.CaseID}
	switch ev.Type {
	case CreateCase, ArchiveCase:
		// Once per case: nothing else identifies them.
	case OrderStatusChanged, OrderTrackingAdded:
		if o := ev.Order; o != nil {
			parts = append(parts, o.ID, o.Status, o.TrackingID)
		}
	case AddCaseDecision:
		if d := ev.Decision; d != nil {
			parts = append(parts, d.ID)
		}
	case PaymentAdded, PaymentCompleted:
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

// derivedKey is version 0's key for a body without activity id
// (CaseEvent.Key): it hashes snapshot fields, so it is not stable across
// redeliveries; EventKey replaces it.
func derivedKey(ev CaseEvent) string {
	parts := []string{ev.Type, ev.CaseID, ev.At.UTC().Format(time.RFC3339Nano), ev.CaseUpdatedAt.UTC().Format(time.RFC3339Nano),
		ev.CaseStatus, ev.ValueBefore, ev.ValueAfter}
	if ev.Order != nil {
		parts = append(parts, ev.Order.ID, ev.Order.Status, ev.Order.TrackingID)
	}
	if ev.Payment != nil {
		parts = append(parts, ev.Payment.ID, ev.Payment.Status)
	}
	if ev.Decision != nil {
		parts = append(parts, ev.Decision.ID)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x1f")))
	return "derived-" + hex.EncodeToString(sum[:12])
}

func latestDecision(ds []Decision) *Decision {
	if len(ds) == 0 {
		return nil
	}
	sorted := append([]Decision(nil), ds...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].CreatedAt.Before(sorted[j].CreatedAt) })
	return &sorted[len(sorted)-1]
}
