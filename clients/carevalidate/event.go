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
	"encoding/json"
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
	Key     string    `json:"key"`  // the same for every delivery of one event
	Type    string    `json:"type"` // may be one we do not know
	CaseID  string    `json:"case_id"`
	ShortID string    `json:"short_id,omitempty"`
	At      time.Time `json:"at"` // when it happened at CareValidate

	// From the full case, when the body carries it.
	CaseStatus    string     `json:"case_status,omitempty"`
	CaseUpdatedAt time.Time  `json:"case_updated_at,omitempty"`
	Escalated     *bool      `json:"escalated,omitempty"`
	AssignedTo    *Person    `json:"assigned_to,omitempty"`
	Submitter     *Submitter `json:"submitter,omitempty"`

	// From the activity that the event is about.
	ValueBefore string  `json:"value_before,omitempty"` // statuses only; see valueFor
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

// wire is the body as CareValidate sends it.
type wire struct {
	Event   string `json:"event"`
	CaseID  string `json:"caseId"`
	Order   *Order `json:"order"`
	Payload struct {
		CaseID   string        `json:"caseId"`
		Case     *wireCase     `json:"case"`
		Activity *wireActivity `json:"activity"`
		Payment  *Payment      `json:"payment"`
		Order    *Order        `json:"order"`
		Decision *Decision     `json:"decision"`
	} `json:"payload"`
}

type wireCase struct {
	ID          string     `json:"id"`
	ShortID     string     `json:"shortId"`
	Status      string     `json:"status"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	IsEscalated *bool      `json:"isEscalated"`
	AssignedTo  *Person    `json:"assignedTo"`
	Submitter   *Submitter `json:"submitter"`
	Decisions   []Decision `json:"decisions"`
}

type wireActivity struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Timestamp   time.Time `json:"timestamp"`
	ValueBefore any       `json:"valueBefore"`
	ValueAfter  any       `json:"valueAfter"`
	TargetUser  *Person   `json:"targetUser"`
}

// Parse reads a webhook body. Errors are ErrNotJSON or a *MissingError
// naming "event" or "case id"; none of them quotes the body.
func Parse(body []byte) (CaseEvent, error) {
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		// A body whose shape is off in a part we do not need still has to be
		// readable for the parts we do: fall back to the minimum.
		var min struct {
			Event   string `json:"event"`
			CaseID  string `json:"caseId"`
			Payload struct {
				CaseID string `json:"caseId"`
				Case   struct {
					ID      string `json:"id"`
					ShortID string `json:"shortId"`
				} `json:"case"`
			} `json:"payload"`
		}
		if json.Unmarshal(body, &min) != nil {
			return CaseEvent{}, ErrNotJSON
		}
		w = wire{Event: min.Event, CaseID: min.CaseID}
		w.Payload.CaseID = min.Payload.CaseID
		if min.Payload.Case.ID != "" {
			w.Payload.Case = &wireCase{ID: min.Payload.Case.ID, ShortID: min.Payload.Case.ShortID}
		}
	}
	ev := CaseEvent{Type: strings.TrimSpace(w.Event)}
	if ev.Type == "" {
		return CaseEvent{}, &MissingError{"event"}
	}
	c := w.Payload.Case
	switch {
	case c != nil && c.ID != "":
		ev.CaseID = c.ID
	case w.Payload.CaseID != "":
		ev.CaseID = w.Payload.CaseID
	default:
		ev.CaseID = w.CaseID
	}
	if ev.CaseID == "" {
		return CaseEvent{}, &MissingError{"case id (payload.case.id)"}
	}
	if !caseIDRe.MatchString(ev.CaseID) {
		return CaseEvent{}, &MissingError{"a well-formed case id (letters, digits, '-', '_', '.'; at most 128)"}
	}
	if c != nil {
		ev.ShortID, ev.CaseStatus, ev.CaseUpdatedAt = c.ShortID, c.Status, c.UpdatedAt
		ev.Escalated, ev.AssignedTo, ev.Submitter = c.IsEscalated, c.AssignedTo, c.Submitter
		ev.Decision = latestDecision(c.Decisions)
	}
	if a := w.Payload.Activity; a != nil {
		ev.At = a.Timestamp
		ev.ValueBefore, ev.ValueAfter = str(a.ValueBefore), str(a.ValueAfter)
		ev.TargetUser = a.TargetUser
		ev.Key = a.ID
	}
	if ev.At.IsZero() {
		ev.At = ev.CaseUpdatedAt
	}
	if w.Payload.Decision != nil {
		ev.Decision = w.Payload.Decision
	}
	ev.Payment = w.Payload.Payment
	ev.Order = w.Payload.Order
	if ev.Order == nil {
		ev.Order = w.Order
	}
	if ev.Key == "" {
		ev.Key = derivedKey(ev)
	}
	return ev, nil
}

// derivedKey stands in for a missing activity id: the same event redelivered
// has the same fields, so the same key.
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

func str(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}
