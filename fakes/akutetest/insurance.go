package akutetest

import (
	"net/http"
	"slices"

	"github.com/carebridge/carebridge/fakes/fake"
)

// Insurance: POST/GET /insurance. A policy without a type is stored once
// per type (rx and medical); an active policy replaces the patient's active
// one of the same type and order.

// insurance is a policy as the reference writes it (POST /insurance).
type insurance struct {
	ID                          string   `json:"id,omitempty"`
	MemberID                    string   `json:"member_id"`
	Status                      string   `json:"status"`
	PatientID                   string   `json:"patient_id,omitempty"`
	ExternalPatientID           *string  `json:"external_patient_id,omitempty"`
	Type                        string   `json:"type,omitempty"`
	HDHP                        bool     `json:"hdhp,omitempty"`
	Order                       *float64 `json:"order"`
	RxBIN                       string   `json:"rx_bin,omitempty"`
	RxPCN                       string   `json:"rx_pcn,omitempty"`
	RxID                        string   `json:"rx_id,omitempty"`
	RxGroup                     string   `json:"rx_group,omitempty"`
	Payor                       string   `json:"payor"`
	PBM                         string   `json:"pbm,omitempty"`
	PhoneNumber                 string   `json:"phone_number,omitempty"`
	RelationshipToSubscriber    string   `json:"relationship_to_subscriber,omitempty"`
	GroupID                     string   `json:"group_id,omitempty"`
	GroupName                   string   `json:"group_name,omitempty"`
	PayorID                     string   `json:"payor_id,omitempty"`
	SubscriberPatientID         *string  `json:"subscriber_patient_id,omitempty"`
	SubscriberExternalPatientID *string  `json:"subscriber_external_patient_id,omitempty"`
}

func (s *Server) createInsurance(w http.ResponseWriter, r *http.Request) {
	var in insurance
	if !decode(w, r, &in) {
		return
	}
	switch {
	case in.MemberID == "" || in.Status == "" || in.Payor == "" || in.Order == nil:
		fail(w, http.StatusBadRequest, "member_id, status, order and payor are required")
		return
	case !slices.Contains([]string{"active", "cancelled"}, in.Status):
		fail(w, http.StatusBadRequest, "status must be one of active, cancelled")
		return
	case in.Type != "" && !slices.Contains([]string{"rx", "medical"}, in.Type):
		fail(w, http.StatusBadRequest, "type must be one of rx, medical")
		return
	case !slices.Contains([]float64{1, 2, 3}, *in.Order):
		fail(w, http.StatusBadRequest, "order must be one of 1, 2, 3")
		return
	case in.RelationshipToSubscriber != "" && !slices.Contains([]string{"self", "child", "spouse", "parent", "common", "other"}, in.RelationshipToSubscriber):
		fail(w, http.StatusBadRequest, "relationship_to_subscriber must be one of self, child, spouse, parent, common, other")
		return
	case in.PatientID == "" && str(in.ExternalPatientID) == "":
		fail(w, http.StatusBadRequest, "patient_id or external_patient_id is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.PatientID == "" {
		in.PatientID = s.patientByExternalID(str(in.ExternalPatientID))
	}
	if _, ok := s.patients[in.PatientID]; !ok {
		fail(w, http.StatusBadRequest, "patient does not exist")
		return
	}
	out := map[string]string{}
	for _, typ := range []string{"rx", "medical"} {
		if in.Type != "" && in.Type != typ {
			continue
		}
		// "Will overwrite any existing active insurance policies of equal
		// type and order."
		for id, old := range s.insurance {
			if in.Status == "active" && old.PatientID == in.PatientID && old.Type == typ && old.Status == "active" && *old.Order == *in.Order {
				delete(s.insurance, id)
			}
		}
		policy := in
		policy.Type = typ
		policy.ID = s.nextID()
		s.insurance[policy.ID] = &policy
		out[typ+"_id"] = policy.ID
	}
	fake.WriteJSON(w, http.StatusCreated, out)
}

func (s *Server) getInsurance(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	serveOne(w, s.insurance, r.PathValue("id"), "Insurance not found")
}

func (s *Server) listInsurance(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	patientID := q.Get("patient_id")
	if patientID == "" && q.Get("external_patient_id") != "" {
		if patientID = s.patientByExternalID(q.Get("external_patient_id")); patientID == "" {
			fake.WriteJSON(w, http.StatusOK, []insurance{})
			return
		}
	}
	out := []*insurance{}
	for _, in := range s.insurance {
		if match(patientID, in.PatientID) && match(q.Get("status"), in.Status) && match(q.Get("type"), in.Type) &&
			match(q.Get("member_id"), in.MemberID) {
			out = append(out, in)
		}
	}
	fake.WriteJSON(w, http.StatusOK, out)
}
