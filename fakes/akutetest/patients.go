package akutetest

import (
	"net/http"
	"slices"
	"strings"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/fake"
)

// Patients: POST/PUT/GET /patients with the reference's field rules, the
// external_id lookup the other resources use, and the read-back accessors.

// patient is a patient as the reference writes it (POST/PUT/GET /patients).
type patient struct {
	ID                 string     `json:"id,omitempty"`
	FirstName          *string    `json:"first_name,omitempty"`
	MiddleName         *string    `json:"middle_name,omitempty"`
	LastName           *string    `json:"last_name,omitempty"`
	Status             *string    `json:"status,omitempty"`
	ExternalID         *string    `json:"external_id,omitempty"`
	DateOfBirth        *string    `json:"date_of_birth,omitempty"`
	Sex                *string    `json:"sex,omitempty"`
	AddressLine1       *string    `json:"address_line_1,omitempty"`
	AddressLine2       *string    `json:"address_line_2,omitempty"`
	AddressCity        *string    `json:"address_city,omitempty"`
	AddressState       *string    `json:"address_state,omitempty"`
	AddressZipcode     *string    `json:"address_zipcode,omitempty"`
	Email              *string    `json:"email,omitempty"`
	PrimaryPhoneNumber *string    `json:"primary_phone_number,omitempty"`
	PrimaryPhoneType   *string    `json:"primary_phone_type,omitempty"`
	AppointmentState   *string    `json:"appointment_state,omitempty"`
	Properties         []property `json:"properties,omitempty"`
}

type property struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// fields are the patient's string fields by their reference name.
func (p *patient) fields() map[string]*string {
	return map[string]*string{
		"first_name": p.FirstName, "middle_name": p.MiddleName, "last_name": p.LastName, "status": p.Status,
		"external_id": p.ExternalID, "date_of_birth": p.DateOfBirth, "sex": p.Sex,
		"address_line_1": p.AddressLine1, "address_line_2": p.AddressLine2, "address_city": p.AddressCity,
		"address_state": p.AddressState, "address_zipcode": p.AddressZipcode, "email": p.Email,
		"primary_phone_number": p.PrimaryPhoneNumber, "primary_phone_type": p.PrimaryPhoneType,
		"appointment_state": p.AppointmentState,
	}
}

// patientRequired are the fields POST /patients requires.
var patientRequired = []string{"first_name", "last_name", "status", "date_of_birth", "sex", "address_line_1",
	"address_city", "address_state", "address_zipcode", "email", "primary_phone_number", "primary_phone_type"}

// check applies the reference's rules for a patient: required fields on
// create, "Max 35 characters", the enums, the formats.
func (p *patient) check(create bool) string {
	f := p.fields()
	if create {
		for _, name := range patientRequired {
			if str(f[name]) == "" {
				return name + " is required"
			}
		}
	}
	for _, name := range []string{"first_name", "middle_name", "last_name", "address_line_1", "address_line_2", "address_city"} {
		if len([]rune(str(f[name]))) > 35 {
			return name + " must be at most 35 characters"
		}
	}
	enums := map[string][]string{"status": {"active", "inactive"}, "sex": {"male", "female", "unknown"},
		"primary_phone_type": {"mobile", "home"}}
	for name, allowed := range enums {
		if v := f[name]; v != nil && !slices.Contains(allowed, *v) {
			return name + " must be one of " + strings.Join(allowed, ", ")
		}
	}
	switch {
	case p.DateOfBirth != nil && !realDate(*p.DateOfBirth):
		return "date_of_birth must be a date in YYYY-MM-DD format"
	case p.AddressState != nil && !stateCode(*p.AddressState):
		return "address_state must be a US state or territory code"
	case p.AppointmentState != nil && *p.AppointmentState != "" && !stateCode(*p.AppointmentState):
		return "appointment_state must be a US state or territory code"
	case p.AddressZipcode != nil && !zipRe.MatchString(*p.AddressZipcode):
		return "address_zipcode must be 5 characters"
	case p.PrimaryPhoneNumber != nil && !phoneRe.MatchString(*p.PrimaryPhoneNumber):
		return "primary_phone_number must be 10 digits with no dashes and no country code"
	case p.Email != nil && !emailRe.MatchString(*p.Email):
		return "email must be an e-mail address"
	}
	return ""
}

func (s *Server) createPatient(w http.ResponseWriter, r *http.Request) {
	var p patient
	if !decode(w, r, &p) {
		return
	}
	if msg := p.check(true); msg != "" {
		fail(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, other := range s.patients {
		if str(p.ExternalID) != "" && str(other.ExternalID) == str(p.ExternalID) {
			fail(w, http.StatusConflict, "A patient with this external_id already exists")
			return
		}
	}
	p.ID = s.nextID()
	s.patients[p.ID] = &p
	w.Header().Set("Location", "/v1/patients/"+p.ID)
	fake.WriteJSON(w, http.StatusCreated, map[string]string{"id": p.ID})
}

// updatePatient sets the fields the body carries (an empty string clears an
// optional one) and checks the result.
func (s *Server) updatePatient(w http.ResponseWriter, r *http.Request) {
	var changes patient
	if !decode(w, r, &changes) {
		return
	}
	if msg := changes.check(false); msg != "" {
		fail(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.patients[r.PathValue("id")]
	if !ok {
		fail(w, http.StatusNotFound, "Patient not found")
		return
	}
	merged := *p
	have, set := merged.fieldPointers(), changes.fields()
	for name, v := range set {
		if v != nil {
			*have[name] = v
		}
	}
	if changes.Properties != nil {
		merged.Properties = changes.Properties
	}
	for _, name := range patientRequired {
		if str(merged.fields()[name]) == "" {
			fail(w, http.StatusBadRequest, name+" is required")
			return
		}
	}
	*p = merged
	fake.WriteJSON(w, http.StatusOK, map[string]string{"id": p.ID})
}

// fieldPointers are the addresses of the patient's field pointers.
func (p *patient) fieldPointers() map[string]**string {
	return map[string]**string{
		"first_name": &p.FirstName, "middle_name": &p.MiddleName, "last_name": &p.LastName, "status": &p.Status,
		"external_id": &p.ExternalID, "date_of_birth": &p.DateOfBirth, "sex": &p.Sex,
		"address_line_1": &p.AddressLine1, "address_line_2": &p.AddressLine2, "address_city": &p.AddressCity,
		"address_state": &p.AddressState, "address_zipcode": &p.AddressZipcode, "email": &p.Email,
		"primary_phone_number": &p.PrimaryPhoneNumber, "primary_phone_type": &p.PrimaryPhoneType,
		"appointment_state": &p.AppointmentState,
	}
}

func (s *Server) getPatient(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	serveOne(w, s.patients, r.PathValue("id"), "Patient not found")
}

// patientFilters are GET /patients' query filters (external_id aside).
var patientFilters = []string{"first_name", "middle_name", "last_name", "status", "date_of_birth", "sex",
	"address_line_1", "address_line_2", "address_city", "address_state", "address_zipcode", "email",
	"primary_phone_number", "primary_phone_type", "appointment_state"}

func (s *Server) queryPatients(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if ext := q.Get("external_id"); ext != "" {
		for _, p := range s.patients {
			if str(p.ExternalID) == ext {
				fake.WriteJSON(w, http.StatusOK, p)
				return
			}
		}
		fail(w, http.StatusNotFound, "Patient not found")
		return
	}
	for name := range q {
		if !slices.Contains(patientFilters, name) {
			fail(w, http.StatusBadRequest, "unknown query parameter "+name)
			return
		}
	}
	out := []*patient{}
	for _, p := range s.patients {
		f, all := p.fields(), true
		for _, name := range patientFilters {
			all = all && match(q.Get(name), str(f[name]))
		}
		if all {
			out = append(out, p)
		}
	}
	fake.WriteJSON(w, http.StatusOK, out)
}

// Patients returns the patients, in no particular order.
func (s *Server) Patients() []akute.Patient {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]akute.Patient, 0, len(s.patients))
	for _, p := range s.patients {
		out = append(out, p.client())
	}
	return out
}

func (p *patient) client() akute.Patient {
	out := akute.Patient{ID: p.ID, FirstName: str(p.FirstName), MiddleName: str(p.MiddleName), LastName: str(p.LastName),
		Status: str(p.Status), ExternalID: str(p.ExternalID), DateOfBirth: str(p.DateOfBirth), Sex: str(p.Sex),
		AddressLine1: str(p.AddressLine1), AddressLine2: str(p.AddressLine2), AddressCity: str(p.AddressCity),
		AddressState: str(p.AddressState), AddressZipcode: str(p.AddressZipcode), Email: str(p.Email),
		PrimaryPhoneNumber: str(p.PrimaryPhoneNumber), PrimaryPhoneType: str(p.PrimaryPhoneType),
		AppointmentState: str(p.AppointmentState)}
	for _, pr := range p.Properties {
		out.Properties = append(out.Properties, akute.Property{Name: pr.Name, Values: pr.Values})
	}
	return out
}

// SetPatientStatus changes a patient's status as a clinician would in
// Akute's UI (inactive patients are hidden from the EHR).
func (s *Server) SetPatientStatus(id, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.patients[id]
	if ok {
		p.Status = &status
	}
	return ok
}

// patientByExternalID is the Akute id of the patient with that external
// id, or "".
func (s *Server) patientByExternalID(ext string) string {
	for id, p := range s.patients {
		if ext != "" && str(p.ExternalID) == ext {
			return id
		}
	}
	return ""
}
