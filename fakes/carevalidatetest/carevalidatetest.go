// Package carevalidatetest plays CareValidate: the reference's example
// webhook, a scripted case from creation to archive, and a Sender that
// delivers them with CareValidate's auth header and optional signature.
package carevalidatetest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/carebridge/carebridge/internal/hmacsig"
)

// Example is the reference document's example payload (ORDER_TRACKING_ADDED,
// full case data), re-indented.
//
//go:embed example.json
var Example []byte

// Case describes the scripted case.
type Case struct {
	ID, ShortID string
	Submitter   map[string]any // the patient; Patient() when nil
	Doctor      map[string]any // assignedTo; Chris TPA Medical when nil
}

// Patient is the scripted case's patient (as in the reference example).
func Patient(id string) map[string]any {
	return map[string]any{
		"id": id, "firstName": "Chris", "lastName": "Ordering", "email": "chris.ordering@example.com",
		"dob": "2000-05-30T00:00:00.000Z", "gender": "MALE", "phoneNumber": "+1 (225) 867-5309",
		"address": "93492 Peachtree Dr.", "city": "Baton Rouge", "state": "la", "postalCode": "70360-1234",
	}
}

// Doctor is the example's doctor, who is an Akute user in the sandbox.
var Doctor = map[string]any{"id": "o57NMEFpTKQzmCn5um56fJv6Lfy2", "firstName": "Chris", "lastName": "TPA Medical"}

// Step is one scripted webhook.
type Step struct {
	Event string
	Body  []byte
}

// Script is a case's life in full-case webhooks: created, decision
// (approved, Saxenda), payment, shipped, tracking, delivered, archived.
func Script(c Case, start time.Time) []Step {
	if c.Submitter == nil {
		c.Submitter = Patient("sub-" + c.ID)
	}
	if c.Doctor == nil {
		c.Doctor = Doctor
	}
	at := func(i int) string {
		return start.Add(time.Duration(i) * time.Minute).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	caseData := map[string]any{
		"id": c.ID, "type": "GLP", "title": "Case " + c.ShortID, "status": "OPEN", "shortId": c.ShortID,
		"createdAt": at(0), "updatedAt": at(0), "isArchived": false, "isEscalated": false,
		"assignedTo": c.Doctor, "submitter": c.Submitter, "decisions": []any{}, "payments": []any{},
		"attachments": []any{}, "responses": []any{}, "comments": []any{},
	}
	var steps []Step
	add := func(i int, event string, mutate func(payload map[string]any, activity map[string]any)) {
		caseData["updatedAt"] = at(i)
		activity := map[string]any{
			"id": fmt.Sprintf("%s-act-%02d", c.ID, i), "type": event, "isPHI": false, "isRestricted": false,
			"timestamp": at(i), "valueBefore": nil, "valueAfter": nil, "actor": nil, "targetUser": nil,
		}
		payload := map[string]any{"case": caseData, "activity": activity}
		if mutate != nil {
			mutate(payload, activity)
		}
		body, _ := json.Marshal(map[string]any{"event": event, "payload": payload})
		steps = append(steps, Step{Event: event, Body: body})
	}
	add(0, "CREATE_CASE", nil)
	add(1, "CHANGE_CASE_STATUS", func(_, a map[string]any) {
		caseData["status"] = "APPROVED"
		a["valueBefore"], a["valueAfter"] = "OPEN", "APPROVED"
	})
	add(2, "ADD_CASE_DECISION", func(_, a map[string]any) {
		caseData["decisions"] = []any{map[string]any{
			"id": c.ID + "-decision", "isApproved": true, "isNoDecision": false, "createdAt": at(2),
			"medInfo": []any{map[string]any{"medicine": "Saxenda", "dosage": "Injection 0.6mg", "dosingFrequency": "Daily"}},
		}}
		a["valueAfter"] = "APPROVED"
	})
	payment := map[string]any{"id": c.ID + "-payment", "amount": "350", "status": "PAID", "description": "Initial payment"}
	add(3, "PAYMENT_COMPLETED", func(p, a map[string]any) {
		caseData["payments"] = []any{payment}
		p["payment"] = payment
		a["valueAfter"] = "A $350.00 USD payment was processed"
	})
	order := map[string]any{"id": c.ID + "-order", "status": "SHIPPED", "createdAt": at(4)}
	add(4, "ORDER_STATUS_CHANGED", func(p, a map[string]any) { p["order"] = order; a["valueAfter"] = "SHIPPED" })
	add(5, "ORDER_TRACKING_ADDED", func(p, a map[string]any) {
		order["trackingId"] = "1Z73W7720197837423"
		p["order"] = order
		a["valueAfter"] = "1Z73W7720197837423"
	})
	add(6, "ORDER_STATUS_CHANGED", func(p, a map[string]any) {
		delivered := map[string]any{"id": order["id"], "status": "DELIVERED", "trackingId": order["trackingId"]}
		p["order"] = delivered
		a["valueAfter"] = "DELIVERED"
	})
	add(7, "ARCHIVE_CASE", func(_, _ map[string]any) { caseData["isArchived"] = true })
	return steps
}

// Sender delivers webhooks as CareValidate does.
type Sender struct {
	URL           string // the starter's /webhooks/carevalidate
	Header        string // the auth header name
	Secret        string // its value
	SigningSecret string // when set, x-cv-signature is added
	Client        *http.Client
}

// Send posts one body and returns the status and answer.
func (s Sender) Send(body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(s.Header, s.Secret)
	if s.SigningSecret != "" {
		req.Header.Set("x-cv-signature", hmacsig.Sign([]byte(s.SigningSecret), body))
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, nil
}

// EventOnly is an event-only webhook (no case snapshot): the activity with
// its id, type and timestamp, and extra fields merged into the activity
// (targetUser, valueBefore, valueAfter) or, for payment, order and
// decision, into the payload.
func EventOnly(caseID, event, activityID string, at time.Time, extra map[string]any) []byte {
	activity := map[string]any{"id": activityID, "type": event, "timestamp": at.UTC().Format("2006-01-02T15:04:05.000Z")}
	payload := map[string]any{"caseId": caseID, "activity": activity}
	for k, v := range extra {
		switch k {
		case "payment", "order", "decision":
			payload[k] = v
		default:
			activity[k] = v
		}
	}
	body, _ := json.Marshal(map[string]any{"event": event, "payload": payload})
	return body
}
