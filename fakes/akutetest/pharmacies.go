package akutetest

import (
	"net/http"
	"slices"
	"strings"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/fake"
)

// Pharmacies: GET /pharmacy searches the seeded directory, POST /pharmacy
// adds one to a patient.

// Pharmacies is the seeded pharmacy directory. Ids are numeric, as
// /medications reports them (a number there, a string here).
var Pharmacies = []akute.Pharmacy{
	{ID: "1001", Name: "Peachtree Pharmacy", AddressLine1: "100 Main St", AddressCity: "Baton Rouge", AddressState: "LA",
		AddressZipcode: "70360", PrimaryPhoneNumber: "2255550100", PrimaryFaxNumber: "2255550101"},
	{ID: "1002", Name: "Hudson Drugs", AddressLine1: "5 Hudson St", AddressCity: "New York", AddressState: "NY",
		AddressZipcode: "10001", PrimaryPhoneNumber: "2125550100", PrimaryFaxNumber: "2125550101"},
}

// pharmacy is a directory entry as GET /pharmacy lists it: its id a string.
type pharmacy struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	AddressLine1        string   `json:"address_line_1"`
	AddressLine2        string   `json:"address_line_2"`
	AddressCity         string   `json:"address_city"`
	AddressState        string   `json:"address_state"`
	AddressZipcode      string   `json:"address_zipcode"`
	PrimaryPhoneNumber  string   `json:"primary_phone_number"`
	PrimaryFaxNumber    string   `json:"primary_fax_number"`
	PharmacySpecialties []string `json:"pharmacy_specialties"`
}

func (s *Server) searchPharmacies(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("state") != "" && !stateCode(q.Get("state")):
		fail(w, http.StatusBadRequest, "state must be a 2 letter state abbreviation")
		return
	case q.Get("zip") != "" && !zipRe.MatchString(q.Get("zip")):
		fail(w, http.StatusBadRequest, "zip must be a 5 number zipcode")
		return
	case q.Get("phoneOrFax") != "" && !phoneRe.MatchString(q.Get("phoneOrFax")):
		fail(w, http.StatusBadRequest, "phoneOrFax must be a 10 digit phone or fax number")
		return
	}
	contains := func(have, want string) bool {
		return want == "" || strings.Contains(strings.ToLower(have), strings.ToLower(want))
	}
	out := []pharmacy{}
	for _, p := range Pharmacies {
		phone := q.Get("phoneOrFax")
		if contains(p.Name, q.Get("name")) && match(q.Get("city"), p.AddressCity) && match(q.Get("state"), p.AddressState) &&
			match(q.Get("zip"), p.AddressZipcode) && contains(p.AddressLine1+" "+p.AddressLine2, q.Get("address")) &&
			(phone == "" || phone == p.PrimaryPhoneNumber || phone == p.PrimaryFaxNumber) {
			out = append(out, pharmacy{ID: p.ID, Name: p.Name, AddressLine1: p.AddressLine1, AddressLine2: p.AddressLine2,
				AddressCity: p.AddressCity, AddressState: p.AddressState, AddressZipcode: p.AddressZipcode,
				PrimaryPhoneNumber: p.PrimaryPhoneNumber, PrimaryFaxNumber: p.PrimaryFaxNumber,
				PharmacySpecialties: append([]string{}, p.PharmacySpecialties...)})
		}
	}
	fake.WriteJSON(w, http.StatusOK, out)
}

// patientPharmacy is POST /pharmacy's body.
type patientPharmacy struct {
	PatientID         string `json:"patient_id"`
	ExternalPatientID string `json:"external_patient_id"`
	PharmacyID        string `json:"pharmacy_id"`
	SetAsPrimary      *bool  `json:"set_as_primary"`
}

func (s *Server) addPharmacy(w http.ResponseWriter, r *http.Request) {
	var p patientPharmacy
	if !decode(w, r, &p) {
		return
	}
	if p.SetAsPrimary == nil {
		fail(w, http.StatusBadRequest, "set_as_primary is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.PatientID == "" {
		p.PatientID = s.patientByExternalID(p.ExternalPatientID)
	}
	if _, ok := s.patients[p.PatientID]; !ok {
		fail(w, http.StatusBadRequest, "patient_id does not exist")
		return
	}
	if !slices.ContainsFunc(Pharmacies, func(ph akute.Pharmacy) bool { return ph.ID == p.PharmacyID }) {
		fail(w, http.StatusBadRequest, "pharmacy_id does not exist")
		return
	}
	s.patientPharm[p.PatientID] = append(s.patientPharm[p.PatientID], p.PharmacyID)
	w.WriteHeader(http.StatusOK)
}
