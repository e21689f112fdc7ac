// Package akutetest is a fake Akute v1 API: patients, tasks, insurance,
// medications, pharmacies, users and observations in memory, checked as
// Akute checks them, answering Akute's error body on refusal.
package akutetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/internal/fake"
)

// Users is the seeded clinician list; Chris TPA Medical is the reference
// example's doctor.
var Users = []akute.User{
	{ID: "usr-chris-tpa", FirstName: "Chris", LastName: "TPA Medical", Email: "chris.tpa@clinic.example", NPI: "1234567890"},
	{ID: "usr-ana-lee", FirstName: "Ana", LastName: "Lee", Email: "ana.lee@clinic.example", NPI: "1234567891"},
}

// Pharmacies is the seeded pharmacy directory.
var Pharmacies = []akute.Pharmacy{
	{ID: "ph-1001", Name: "Peachtree Pharmacy", AddressCity: "Baton Rouge", AddressState: "LA", AddressZipcode: "70360"},
	{ID: "ph-1002", Name: "Hudson Drugs", AddressCity: "New York", AddressState: "NY", AddressZipcode: "10001"},
}

// states Akute accepts: the US states, DC and the territories.
var states = strings.Fields(`AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH
	NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP`)

// Server is the fake.
type Server struct {
	*fake.Harness
	apiKey string

	mu           sync.Mutex
	seq          int
	patients     map[string]*akute.Patient
	tasks        map[string]*akute.Task
	taskOrder    []string
	insurance    map[string]*akute.Insurance
	medications  []akute.Medication
	observations []akute.Observation
	patientPharm map[string][]string

	webhookURL    string
	webhookSecret []byte
}

// New returns a fake that accepts apiKey.
func New(apiKey string) *Server {
	s := &Server{
		apiKey: apiKey, patients: map[string]*akute.Patient{}, tasks: map[string]*akute.Task{},
		insurance: map[string]*akute.Insurance{}, patientPharm: map[string][]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /patients", s.createPatient)
	mux.HandleFunc("PUT /patients/{id}", s.updatePatient)
	mux.HandleFunc("GET /patients/{id}", s.getPatient)
	mux.HandleFunc("GET /patients", s.queryPatients)
	mux.HandleFunc("POST /tasks", s.createTask)
	mux.HandleFunc("GET /tasks/{id}", s.getTask)
	mux.HandleFunc("POST /insurance", s.createInsurance)
	mux.HandleFunc("GET /insurance/{id}", s.getInsurance)
	mux.HandleFunc("GET /insurance", s.listInsurance)
	mux.HandleFunc("GET /medications", s.listMedications)
	mux.HandleFunc("GET /pharmacy", s.searchPharmacies)
	mux.HandleFunc("POST /pharmacy", s.addPharmacy)
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, _ *http.Request) { fake.WriteJSON(w, 200, Users) })
	mux.HandleFunc("GET /users/{id}", s.getUser)
	mux.HandleFunc("GET /observations", s.listObservations)
	mux.HandleFunc("GET /observations/{id}", s.getObservation)
	mux.HandleFunc("GET /_sandbox/patients", func(w http.ResponseWriter, _ *http.Request) { fake.WriteJSON(w, 200, s.Patients()) })
	mux.HandleFunc("GET /_sandbox/tasks", func(w http.ResponseWriter, _ *http.Request) { fake.WriteJSON(w, 200, s.Tasks()) })
	s.webhookRoutes(mux)
	s.Harness = fake.New(auth(apiKey, mux), nil)
	return s
}

func auth(key string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/_sandbox/") && r.Header.Get("X-API-Key") != key {
			fail(w, http.StatusUnauthorized, "Invalid API key")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func fail(w http.ResponseWriter, status int, msg string) {
	fake.WriteJSON(w, status, map[string]any{"statusCode": status, "error": msg})
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%06d", prefix, s.seq)
}

// Patients returns the patients, in no particular order.
func (s *Server) Patients() []akute.Patient {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]akute.Patient, 0, len(s.patients))
	for _, p := range s.patients {
		out = append(out, *p)
	}
	return out
}

// Tasks returns the tasks in creation order.
func (s *Server) Tasks() []akute.Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]akute.Task, 0, len(s.taskOrder))
	for _, id := range s.taskOrder {
		out = append(out, *s.tasks[id])
	}
	return out
}

// SetTaskStatus changes a task as a clinician would in Akute's UI.
func (s *Server) SetTaskStatus(id, status string) (akute.Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return akute.Task{}, false
	}
	t.Status = status
	return *t, true
}

// AddMedication puts a prescription in a patient's history.
func (s *Server) AddMedication(m akute.Medication) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.medications = append(s.medications, m)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "body is not valid JSON")
		return false
	}
	return true
}

// checkPatient applies Akute's rules, beyond the client's own format checks:
// a real state code, lengths, enums.
func checkPatient(p *akute.Patient, full bool) string {
	req := map[string]string{"first_name": p.FirstName, "last_name": p.LastName, "status": p.Status,
		"date_of_birth": p.DateOfBirth, "sex": p.Sex, "address_line_1": p.AddressLine1, "address_city": p.AddressCity,
		"address_state": p.AddressState, "address_zipcode": p.AddressZipcode, "email": p.Email,
		"primary_phone_number": p.PrimaryPhoneNumber, "primary_phone_type": p.PrimaryPhoneType}
	for field, v := range req {
		if full && v == "" {
			return field + " is required"
		}
	}
	for field, v := range map[string]string{"first_name": p.FirstName, "last_name": p.LastName,
		"address_line_1": p.AddressLine1, "address_line_2": p.AddressLine2, "address_city": p.AddressCity} {
		if len([]rune(v)) > 35 {
			return field + " must be at most 35 characters"
		}
	}
	if p.AddressState != "" && !contains(states, strings.ToUpper(p.AddressState)) {
		return "address_state must be a US state or territory code"
	}
	if p.DateOfBirth != "" {
		if _, err := time.Parse("2006-01-02", p.DateOfBirth); err != nil {
			return "date_of_birth must be a date in YYYY-MM-DD format"
		}
	}
	if p.Sex != "" && !contains([]string{"male", "female", "unknown"}, p.Sex) {
		return "sex must be male, female or unknown"
	}
	if p.AddressZipcode != "" && len(p.AddressZipcode) != 5 {
		return "address_zipcode must be 5 characters"
	}
	if p.PrimaryPhoneNumber != "" && len(p.PrimaryPhoneNumber) != 10 {
		return "primary_phone_number must be 10 characters"
	}
	return ""
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func (s *Server) createPatient(w http.ResponseWriter, r *http.Request) {
	var p akute.Patient
	if !decode(w, r, &p) {
		return
	}
	if msg := checkPatient(&p, true); msg != "" {
		fail(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, other := range s.patients {
		if p.ExternalID != "" && other.ExternalID == p.ExternalID {
			fail(w, http.StatusConflict, "A patient with this external_id already exists")
			return
		}
	}
	p.ID = s.nextID("pat")
	s.patients[p.ID] = &p
	w.Header().Set("Location", "/patients/"+p.ID)
	fake.WriteJSON(w, http.StatusCreated, map[string]string{"id": p.ID})
}

func (s *Server) updatePatient(w http.ResponseWriter, r *http.Request) {
	var changes map[string]json.RawMessage
	if !decode(w, r, &changes) {
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
	current, _ := json.Marshal(p)
	var all map[string]json.RawMessage
	_ = json.Unmarshal(current, &all)
	for k, v := range changes {
		all[k] = v
	}
	b, _ := json.Marshal(all)
	if err := json.Unmarshal(b, &merged); err != nil {
		fail(w, http.StatusBadRequest, "body does not match the patient schema")
		return
	}
	if msg := checkPatient(&merged, false); msg != "" {
		fail(w, http.StatusBadRequest, msg)
		return
	}
	merged.ID = p.ID
	*p = merged
	fake.WriteJSON(w, http.StatusOK, map[string]string{"id": p.ID})
}

func (s *Server) getPatient(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	serveOne(w, s.patients, r.PathValue("id"), "Patient not found")
}

// serveOne answers one resource by id, or Akute's 404.
func serveOne[T any](w http.ResponseWriter, m map[string]*T, id, notFound string) {
	if v, ok := m[id]; ok {
		fake.WriteJSON(w, http.StatusOK, v)
		return
	}
	fail(w, http.StatusNotFound, notFound)
}

func (s *Server) queryPatients(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if ext := q.Get("external_id"); ext != "" {
		for _, p := range s.patients {
			if p.ExternalID == ext {
				fake.WriteJSON(w, http.StatusOK, p)
				return
			}
		}
		fail(w, http.StatusNotFound, "Patient not found")
		return
	}
	out := []akute.Patient{}
	for _, p := range s.patients {
		if match(q.Get("first_name"), p.FirstName) && match(q.Get("last_name"), p.LastName) &&
			match(q.Get("email"), p.Email) && match(q.Get("date_of_birth"), p.DateOfBirth) &&
			match(q.Get("primary_phone_number"), p.PrimaryPhoneNumber) && match(q.Get("status"), p.Status) {
			out = append(out, *p)
		}
	}
	fake.WriteJSON(w, http.StatusOK, out)
}

func match(want, have string) bool { return want == "" || strings.EqualFold(want, have) }

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) {
	var t akute.Task
	if !decode(w, r, &t) {
		return
	}
	if t.Task == "" {
		fail(w, http.StatusBadRequest, "task is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.PatientID != "" {
		if _, ok := s.patients[t.PatientID]; !ok {
			fail(w, http.StatusBadRequest, "patient_id does not exist")
			return
		}
	}
	if t.OwnerID != "" && !userExists(t.OwnerID) {
		fail(w, http.StatusBadRequest, "owner_id does not exist")
		return
	}
	if t.Status == "" {
		t.Status = "not-started"
	}
	if t.DateCreated == "" {
		t.DateCreated = time.Now().UTC().Format(time.RFC3339)
	}
	t.ID = s.nextID("task")
	s.tasks[t.ID] = &t
	s.taskOrder = append(s.taskOrder, t.ID)
	fake.WriteJSON(w, http.StatusCreated, map[string]string{"id": t.ID})
	created := t
	go func() { _, _ = s.notify("task.created", "evt-"+created.ID+"-created", created) }()
}

func userExists(id string) bool {
	for _, u := range Users {
		if u.ID == id {
			return true
		}
	}
	return false
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	serveOne(w, s.tasks, r.PathValue("id"), "Task not found")
}

func (s *Server) createInsurance(w http.ResponseWriter, r *http.Request) {
	var in akute.Insurance
	if !decode(w, r, &in) {
		return
	}
	if in.MemberID == "" || in.Status == "" || in.Payor == "" || in.Order == 0 {
		fail(w, http.StatusBadRequest, "member_id, status, order and payor are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := akute.InsuranceCreated{}
	for _, typ := range []string{"rx", "medical"} {
		if in.Type != "" && in.Type != typ {
			continue
		}
		policy := in
		policy.Type = typ
		policy.ID = s.nextID("ins")
		s.insurance[policy.ID] = &policy
		if typ == "rx" {
			out.RxID = policy.ID
		} else {
			out.MedicalID = policy.ID
		}
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
	out := []akute.Insurance{}
	for _, in := range s.insurance {
		if match(q.Get("patient_id"), in.PatientID) && match(q.Get("external_patient_id"), in.ExternalPatientID) &&
			match(q.Get("status"), in.Status) && match(q.Get("type"), in.Type) {
			out = append(out, *in)
		}
	}
	fake.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) listMedications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("patient_id") == "" && q.Get("external_patient_id") == "" {
		fail(w, http.StatusBadRequest, "patient_id is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []akute.Medication{}
	for _, m := range s.medications {
		if match(q.Get("patient_id"), m.PatientID) && match(q.Get("external_patient_id"), m.PatientExternalID) {
			out = append(out, m)
		}
	}
	fake.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) searchPharmacies(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []akute.Pharmacy{}
	for _, p := range Pharmacies {
		if (q.Get("name") == "" || strings.Contains(strings.ToLower(p.Name), strings.ToLower(q.Get("name")))) &&
			match(q.Get("city"), p.AddressCity) && match(q.Get("state"), p.AddressState) && match(q.Get("zip"), p.AddressZipcode) {
			out = append(out, p)
		}
	}
	fake.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) addPharmacy(w http.ResponseWriter, r *http.Request) {
	var p akute.PatientPharmacy
	if !decode(w, r, &p) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.patients[p.PatientID]; !ok && p.ExternalPatientID == "" {
		fail(w, http.StatusBadRequest, "patient_id does not exist")
		return
	}
	known := false
	for _, ph := range Pharmacies {
		known = known || ph.ID == p.PharmacyID
	}
	if !known {
		fail(w, http.StatusBadRequest, "pharmacy_id does not exist")
		return
	}
	key := p.PatientID + p.ExternalPatientID
	s.patientPharm[key] = append(s.patientPharm[key], p.PharmacyID)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	for _, u := range Users {
		if u.ID == r.PathValue("id") {
			fake.WriteJSON(w, http.StatusOK, u)
			return
		}
	}
	fail(w, http.StatusNotFound, "User not found")
}

func (s *Server) listObservations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("category") != "laboratory" {
		fail(w, http.StatusBadRequest, "category must be laboratory")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []akute.Observation{}
	for _, o := range s.observations {
		if o.PatientID == q.Get("patient_id") {
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

// AddObservation puts a lab result in a patient's chart.
func (s *Server) AddObservation(o akute.Observation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observations = append(s.observations, o)
}
