package carevalidate

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/carebridge/carebridge/workflows"
)

// obj is a JSON object read one field at a time, so that one field in an
// unexpected shape costs that field only. Every method answers the zero
// value for a missing field, a field of another shape, or a nil obj.
type obj map[string]json.RawMessage

// object reads raw as an object; nil when it is not one.
func object(raw []byte) obj {
	var o obj
	if json.Unmarshal(raw, &o) != nil {
		return nil
	}
	return o
}

func (o obj) obj(key string) obj { return object(o[key]) }

// str is a string field; a number or a boolean is taken as its JSON text
// (an id or a phone number sent as a number is still that id); anything
// else is "".
func (o obj) str(key string) string {
	raw := bytes.TrimSpace(o[key])
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	if string(raw) == "true" || string(raw) == "false" {
		return string(raw)
	}
	return ""
}

func (o obj) time(key string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(o.str(key)))
	if err != nil {
		return time.Time{}
	}
	return t
}

// boolp is a boolean field; nil when it is missing or not a boolean
// (unknown, which is not false).
func (o obj) boolp(key string) *bool {
	var b bool
	if json.Unmarshal(o[key], &b) != nil {
		return nil
	}
	return &b
}

// is reports whether a boolean field is true.
func (o obj) is(key string) bool {
	b := o.boolp(key)
	return b != nil && *b
}

func (o obj) list(key string) []json.RawMessage {
	var l []json.RawMessage
	if json.Unmarshal(o[key], &l) != nil {
		return nil
	}
	return l
}

func person(o obj) *workflows.Person {
	if o == nil {
		return nil
	}
	return &workflows.Person{ID: o.str("id"), FirstName: o.str("firstName"), LastName: o.str("lastName")}
}

func submitter(o obj) *workflows.Submitter {
	if o == nil {
		return nil
	}
	return &workflows.Submitter{ID: o.str("id"), FirstName: o.str("firstName"), LastName: o.str("lastName"), Email: o.str("email"),
		DOB: o.str("dob"), Gender: o.str("gender"), PhoneNumber: o.str("phoneNumber"), Address: o.str("address"),
		City: o.str("city"), State: o.str("state"), PostalCode: o.str("postalCode")}
}

func decision(o obj) *workflows.Decision {
	if o == nil {
		return nil
	}
	d := &workflows.Decision{ID: o.str("id"), IsApproved: o.is("isApproved"), NoDecision: o.is("isNoDecision"),
		CreatedAt: o.time("createdAt")}
	for _, raw := range o.list("medInfo") {
		if m := object(raw); m != nil {
			d.MedInfo = append(d.MedInfo, workflows.Medication{Medicine: m.str("medicine"), Dosage: m.str("dosage"),
				DosingFrequency: m.str("dosingFrequency")})
		}
	}
	return d
}

func payment(o obj) *workflows.Payment {
	if o == nil {
		return nil
	}
	return &workflows.Payment{ID: o.str("id"), Amount: o.str("amount"), Status: o.str("status")}
}

func order(o obj) *workflows.Order {
	if o == nil {
		return nil
	}
	return &workflows.Order{ID: o.str("id"), Status: o.str("status"), TrackingID: o.str("trackingId")}
}
