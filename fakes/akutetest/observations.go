package akutetest

import (
	"encoding/json"
	"net/http"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/fake"
)

// Observations: GET /observations (laboratory results only) and
// GET /observations/{id}, seeded with AddObservation.

// observation is a lab result as GET /observations lists it: value (and
// the reference range) is a number when value_type is quantity.
type observation struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Category           string `json:"category"`
	Status             string `json:"status"`
	PatientID          string `json:"patient_id"`
	Date               string `json:"date"`
	Value              any    `json:"value"`
	ValueType          string `json:"value_type,omitempty"`
	Unit               string `json:"unit,omitempty"`
	UnitCode           string `json:"unit_code,omitempty"`
	ReferenceRangeLow  any    `json:"reference_range_low,omitempty"`
	ReferenceRangeHigh any    `json:"reference_range_high,omitempty"`
	Interpretation     string `json:"interpretation,omitempty"`
}

// AddObservation puts a lab result in a patient's chart. A quantity's value
// and range go out as JSON numbers, as Akute sends them.
func (s *Server) AddObservation(o akute.Observation) {
	asNumber := func(t akute.Text) any {
		if t == "" {
			return nil
		}
		if o.ValueType == "quantity" {
			return json.Number(t)
		}
		return string(t)
	}
	rec := observation{ID: o.ID, Name: o.Name, Category: o.Category, Status: o.Status, PatientID: o.PatientID,
		Date: o.Date, Value: asNumber(o.Value), ValueType: o.ValueType, Unit: o.Unit, UnitCode: o.UnitCode,
		ReferenceRangeLow: asNumber(o.ReferenceRangeLow), ReferenceRangeHigh: asNumber(o.ReferenceRangeHigh),
		Interpretation: o.Interpretation}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observations = append(s.observations, rec)
}

func (s *Server) listObservations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("category") != "laboratory" {
		fail(w, http.StatusBadRequest, "category must be laboratory")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	patientID := q.Get("patient_id")
	if patientID == "" {
		patientID = s.patientByExternalID(q.Get("external_patient_id"))
	}
	if _, ok := s.patients[patientID]; !ok {
		fail(w, http.StatusNotFound, "Patient not found")
		return
	}
	out := []observation{}
	for _, o := range s.observations {
		if o.PatientID == patientID {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	fake.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) getObservation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.observations {
		if o.ID == r.PathValue("id") {
			fake.WriteJSON(w, http.StatusOK, o)
			return
		}
	}
	fail(w, http.StatusNotFound, "Observation not found")
}
