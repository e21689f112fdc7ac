package akutetest

import (
	"fmt"
	"net/http"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/fake"
)

// Medications: GET /medications, the prescription history tests seed with
// AddMedication (or POST /_sandbox/medications, see webhooks.go).

// medication is a prescription as GET /medications lists it: pharmacy_id,
// prescription_id and dosespot_medication_id are numbers.
type medication struct {
	DisplayName          string `json:"display_name"`
	GenericName          string `json:"generic_name,omitempty"`
	NDC                  string `json:"ndc,omitempty"`
	EffectiveDate        string `json:"effective_date,omitempty"`
	Directions           string `json:"directions,omitempty"`
	Quantity             string `json:"quantity,omitempty"`
	Refills              string `json:"refills,omitempty"`
	Strength             string `json:"strength,omitempty"`
	RxStatus             string `json:"rx_status,omitempty"`
	Status               string `json:"status,omitempty"`
	PatientID            string `json:"patient_id,omitempty"`
	PatientExternalID    string `json:"patient_external_id,omitempty"`
	PrescriberID         string `json:"prescriber_id,omitempty"`
	PrescriberName       string `json:"prescriber_name,omitempty"`
	PharmacyID           int64  `json:"pharmacy_id,omitempty"`
	DosespotMedicationID int64  `json:"dosespot_medication_id,omitempty"`
	PrescriptionID       int64  `json:"prescription_id,omitempty"`
}

// AddMedication puts a prescription in a patient's history. A pharmacy id
// that is not a number is stored as 0.
func (s *Server) AddMedication(m akute.Medication) {
	var pharmacy int64
	_, _ = fmt.Sscan(string(m.PharmacyID), &pharmacy)
	s.addMedication(medication{DisplayName: m.DisplayName, GenericName: m.GenericName, NDC: m.NDC, EffectiveDate: m.EffectiveDate,
		Directions: m.Directions, Quantity: m.Quantity, Refills: m.Refills, Strength: m.Strength, RxStatus: m.RxStatus,
		Status: m.Status, PatientID: m.PatientID, PatientExternalID: m.PatientExternalID, PrescriberID: m.PrescriberID,
		PrescriberName: m.PrescriberName, PharmacyID: pharmacy, DosespotMedicationID: m.DosespotMedicationID,
		PrescriptionID: m.PrescriptionID})
}

func (s *Server) addMedication(m medication) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.medications = append(s.medications, m)
}

func (s *Server) listMedications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("patient_id") == "" && q.Get("external_patient_id") == "" {
		fail(w, http.StatusBadRequest, "patient_id is required")
		return
	}
	for _, name := range []string{"start_date", "end_date"} {
		if v := q.Get(name); v != "" && !realDate(v) {
			fail(w, http.StatusBadRequest, name+" must be a date in YYYY-MM-DD format")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []medication{}
	for _, m := range s.medications {
		if match(q.Get("patient_id"), m.PatientID) && match(q.Get("external_patient_id"), m.PatientExternalID) &&
			(q.Get("start_date") == "" || m.EffectiveDate >= q.Get("start_date")) &&
			(q.Get("end_date") == "" || m.EffectiveDate < q.Get("end_date")) {
			out = append(out, m)
		}
	}
	fake.WriteJSON(w, http.StatusOK, out)
}
