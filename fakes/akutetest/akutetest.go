// Package akutetest is a fake Akute v1 API: patients, tasks, insurance,
// medications, pharmacies, users and observations in memory, checked as the
// reference says Akute checks them, answering Akute's error body on refusal.
//
// It reads and writes its own types, written from the reference (doc.go's
// field names), never the client's structs: a wrong JSON tag in the client
// is a field this fake does not know, which it refuses with 400, so the
// client's tests catch it. Read-back accessors (Patients, Tasks) convert to
// the client's types field by field for the tests' convenience.
package akutetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/fake"
)

// Users is the seeded clinician list; Chris TPA Medical is the reference
// example's doctor.
var Users = []akute.User{
	{ID: "usr-chris-tpa", FirstName: "Chris", LastName: "TPA Medical", Email: "chris.tpa@clinic.example", NPI: "1234567890"},
	{ID: "usr-ana-lee", FirstName: "Ana", LastName: "Lee", Email: "ana.lee@clinic.example", NPI: "1234567891"},
}

// Pharmacies is the seeded pharmacy directory. Ids are numeric, as
// /medications reports them (a number there, a string here).
var Pharmacies = []akute.Pharmacy{
	{ID: "1001", Name: "Peachtree Pharmacy", AddressLine1: "100 Main St", AddressCity: "Baton Rouge", AddressState: "LA",
		AddressZipcode: "70360", PrimaryPhoneNumber: "2255550100", PrimaryFaxNumber: "2255550101"},
	{ID: "1002", Name: "Hudson Drugs", AddressLine1: "5 Hudson St", AddressCity: "New York", AddressState: "NY",
		AddressZipcode: "10001", PrimaryPhoneNumber: "2125550100", PrimaryFaxNumber: "2125550101"},
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
	patients     map[string]*patient
	tasks        map[string]*task
	taskOrder    []string
	insurance    map[string]*insurance
	medications  []medication
	observations []observation
	patientPharm map[string][]string

	webhookURL    string
	webhookSecret []byte
}

// New returns a fake that accepts apiKey.
func New(apiKey string) *Server {
	s := &Server{
		apiKey: apiKey, patients: map[string]*patient{}, tasks: map[string]*task{},
		insurance: map[string]*insurance{}, patientPharm: map[string][]string{},
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
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, _ *http.Request) { fake.WriteJSON(w, 200, users()) })
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

// decode reads a request body into one of the fake's own types; a field the
// reference does not document is refused, so a client's wrong JSON tag shows.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		msg := "body is not valid JSON"
		if _, field, ok := strings.Cut(err.Error(), "unknown field "); ok {
			msg = "unknown field " + field
		} else if strings.Contains(err.Error(), "cannot unmarshal") {
			msg = "body does not match the schema"
		}
		fail(w, http.StatusBadRequest, msg)
		return false
	}
	return true
}

var (
	dateRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	zipRe   = regexp.MustCompile(`^\d{5}$`)
	phoneRe = regexp.MustCompile(`^\d{10}$`)
	emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

func realDate(s string) bool {
	if !dateRe.MatchString(s) {
		return false
	}
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

func stateCode(s string) bool { return slices.Contains(states, strings.ToUpper(s)) }

func match(want, have string) bool { return want == "" || strings.EqualFold(want, have) }

// serveOne answers one resource by id, or Akute's 404.
func serveOne[T any](w http.ResponseWriter, m map[string]*T, id, notFound string) {
	if v, ok := m[id]; ok {
		fake.WriteJSON(w, http.StatusOK, v)
		return
	}
	fail(w, http.StatusNotFound, notFound)
}

// ---- Patients ----

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
	p.ID = s.nextID("pat")
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

// ---- Tasks ----

// task is a task as the reference writes it (POST /tasks). Status is
// complete once a clinician completes it.
type task struct {
	ID                string   `json:"id,omitempty"`
	Task              string   `json:"task"`
	Description       string   `json:"description,omitempty"`
	DueDate           string   `json:"due_date,omitempty"`
	OwnerID           string   `json:"owner_id,omitempty"`
	PatientID         string   `json:"patient_id,omitempty"`
	ExternalPatientID string   `json:"external_patient_id,omitempty"`
	Priority          string   `json:"priority,omitempty"`
	Status            string   `json:"status,omitempty"`
	DateCreated       string   `json:"date_created,omitempty"`
	Tags              []string `json:"tags,omitempty"`
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) {
	var t task
	if !decode(w, r, &t) {
		return
	}
	switch {
	case t.Task == "":
		fail(w, http.StatusBadRequest, "task is required")
		return
	case t.Priority != "" && !slices.Contains([]string{"p1", "p2", "p3"}, t.Priority):
		fail(w, http.StatusBadRequest, "priority must be one of p1, p2, p3")
		return
	case t.Status != "" && !slices.Contains([]string{"not-started", "in-progress"}, t.Status):
		fail(w, http.StatusBadRequest, "status must be one of not-started, in-progress")
		return
	case t.DueDate != "" && !realDate(t.DueDate):
		fail(w, http.StatusBadRequest, "due_date must be a date in YYYY-MM-DD format")
		return
	}
	if t.DateCreated != "" {
		if _, err := time.Parse(time.RFC3339, t.DateCreated); err != nil {
			fail(w, http.StatusBadRequest, "date_created must be an RFC 3339 date-time")
			return
		}
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
	w.Header().Set("Location", "/v1/tasks/"+t.ID)
	fake.WriteJSON(w, http.StatusCreated, map[string]string{"id": t.ID})
	created := t
	go func() { _, _ = s.notify("task.created", "evt-"+created.ID+"-created", created) }()
}

func userExists(id string) bool {
	return slices.ContainsFunc(Users, func(u akute.User) bool { return u.ID == id })
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	serveOne(w, s.tasks, r.PathValue("id"), "Task not found")
}

// Tasks returns the tasks in creation order.
func (s *Server) Tasks() []akute.Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]akute.Task, 0, len(s.taskOrder))
	for _, id := range s.taskOrder {
		t := s.tasks[id]
		out = append(out, akute.Task{ID: t.ID, Task: t.Task, Description: t.Description, DueDate: t.DueDate,
			OwnerID: t.OwnerID, PatientID: t.PatientID, ExternalPatientID: t.ExternalPatientID, Priority: t.Priority,
			Status: t.Status, DateCreated: t.DateCreated, Tags: t.Tags})
	}
	return out
}

// setTaskStatus changes a task as a clinician would in Akute's UI.
func (s *Server) setTaskStatus(id, status string) (task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return task{}, false
	}
	t.Status = status
	return *t, true
}

// ---- Insurance ----

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
		policy.ID = s.nextID("ins")
		s.insurance[policy.ID] = &policy
		out[typ+"_id"] = policy.ID
	}
	fake.WriteJSON(w, http.StatusCreated, out)
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

// ---- Medications, pharmacies ----

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

// ---- Users ----

// user is a clinician as GET /users lists one.
type user struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email"`
	NPI       string    `json:"npi"`
	Licenses  []license `json:"licenses,omitempty"`
}

type license struct {
	Number         string `json:"number"`
	State          string `json:"state"`
	ExpirationDate string `json:"expiration_date"`
}

func users() []user {
	out := []user{}
	for _, u := range Users {
		v := user{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, NPI: u.NPI}
		for _, l := range u.Licenses {
			v.Licenses = append(v.Licenses, license{Number: l.Number, State: l.State, ExpirationDate: l.ExpirationDate})
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	for _, u := range users() {
		if u.ID == r.PathValue("id") {
			fake.WriteJSON(w, http.StatusOK, u)
			return
		}
	}
	fail(w, http.StatusNotFound, "User not found")
}

// ---- Observations ----

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
