package akute

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/carebridge/carebridge/workflows"
)

// Akute does not document its webhook bodies, so Decode is lenient: it looks
// for the event's name and its object under the usual keys and tells task
// events from medication events by name or by the fields they carry.

// Kinds of event.
const (
	KindTask       = "task"
	KindMedication = "medication"
	KindUnknown    = "unknown"
)

// Event is a decoded delivery.
type Event struct {
	Kind       string                     `json:"kind"`
	Name       string                     `json:"name,omitempty"` // as Akute named it, e.g. task.updated
	Key        string                     `json:"key"`            // the same for every delivery of one event
	Task       *workflows.TaskUpdate      `json:"task,omitempty"`
	Medication *workflows.MedicationEvent `json:"medication,omitempty"`
}

// Decode reads a delivery. It never fails: what it cannot place is
// KindUnknown, for the caller to keep as unrouted.
func Decode(body []byte) Event {
	ev := Event{Kind: KindUnknown, Key: "akute-sha-" + digest(body)}
	var top map[string]any
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return ev
	}
	ev.Name = firstString(top, "event", "type", "event_type", "action", "topic")
	if id := firstString(top, "id", "event_id", "webhook_id", "delivery_id"); id != "" {
		ev.Key = "akute-" + id
	}
	obj := top
	for _, k := range []string{"data", "task", "medication", "prescription", "payload", "object"} {
		if inner, ok := top[k].(map[string]any); ok {
			obj = inner
			if deeper, ok := inner["data"].(map[string]any); ok {
				obj = deeper
			}
			break
		}
	}
	name := strings.ToLower(ev.Name)
	switch {
	case strings.Contains(name, "task") || (obj["task"] != nil && obj["tags"] != nil):
		task := &workflows.TaskUpdate{Key: ev.Key, Event: ev.Name,
			TaskID: firstString(obj, "task_id", "id"), Title: firstString(obj, "task", "title"), Status: firstString(obj, "status"),
			PatientID: firstString(obj, "patient_id"), Tags: stringList(obj["tags"])}
		if task.TaskID != "" {
			ev.Kind, ev.Task = KindTask, task
		}
	case strings.Contains(name, "medication") || strings.Contains(name, "prescription") ||
		obj["rx_status"] != nil || obj["display_name"] != nil || obj["prescription_id"] != nil:
		med := &workflows.MedicationEvent{Key: ev.Key, Event: ev.Name,
			PatientID: firstString(obj, "patient_id"), ExternalPatientID: firstString(obj, "patient_external_id", "external_patient_id"),
			DisplayName: firstString(obj, "display_name", "generic_name"), Status: firstString(obj, "status"),
			RxStatus: firstString(obj, "rx_status"), PrescriptionID: firstString(obj, "prescription_id")}
		if med.PatientID != "" || med.ExternalPatientID != "" {
			ev.Kind, ev.Medication = KindMedication, med
		}
	}
	return ev
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			if s := strings.TrimSpace(v); s != "" {
				return s
			}
		case float64:
			b, _ := json.Marshal(v)
			return string(b)
		}
	}
	return ""
}

func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, item := range list {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// digest fingerprints a body (compacted, so whitespace does not matter).
func digest(body []byte) string {
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil {
		body = compact.Bytes()
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:12])
}
