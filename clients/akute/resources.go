package akute

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
)

// Task is an Akute task.
type Task struct {
	ID                string   `json:"id,omitempty"`
	Task              string   `json:"task"` // the title
	Description       string   `json:"description,omitempty"`
	DueDate           string   `json:"due_date,omitempty"` // YYYY-MM-DD
	OwnerID           string   `json:"owner_id,omitempty"`
	PatientID         string   `json:"patient_id,omitempty"`
	ExternalPatientID string   `json:"external_patient_id,omitempty"`
	Priority          string   `json:"priority,omitempty"` // p1 (urgent) .. p3
	Status            string   `json:"status,omitempty"`   // not-started, in-progress (complete when read back)
	DateCreated       string   `json:"date_created,omitempty"`
	Tags              []string `json:"tags,omitempty"`
}

// CreateTask creates a task and returns its id.
func (c *Client) CreateTask(ctx context.Context, t Task) (string, error) {
	if err := check([]rule{
		{field: "task", value: t.Task, required: true},
		{field: "due_date", value: t.DueDate, pattern: dateRe, problem: "must be YYYY-MM-DD"},
		{field: "priority", value: t.Priority, enum: []string{"p1", "p2", "p3"}},
		{field: "status", value: t.Status, enum: []string{"not-started", "in-progress"}},
	}); err != nil {
		return "", err
	}
	t.ID = ""
	return c.create(ctx, "/tasks", t)
}

// GetTask reads a task by id.
func (c *Client) GetTask(ctx context.Context, id string) (Task, error) {
	if id == "" {
		return Task{}, &ValidationError{"id", "is required"}
	}
	var t Task
	err := c.do(ctx, "GET", "/tasks/"+url.PathEscape(id), nil, nil, &t)
	return t, notFound(err)
}

// Insurance is an insurance policy.
type Insurance struct {
	ID                          string  `json:"id,omitempty"`
	MemberID                    string  `json:"member_id"`
	Status                      string  `json:"status"` // active, cancelled
	PatientID                   string  `json:"patient_id,omitempty"`
	ExternalPatientID           string  `json:"external_patient_id,omitempty"`
	Type                        string  `json:"type,omitempty"` // rx, medical; empty creates both
	HDHP                        bool    `json:"hdhp,omitempty"`
	Order                       float64 `json:"order"` // 1, 2 or 3
	RxBIN                       string  `json:"rx_bin,omitempty"`
	RxPCN                       string  `json:"rx_pcn,omitempty"`
	RxID                        string  `json:"rx_id,omitempty"`
	RxGroup                     string  `json:"rx_group,omitempty"`
	Payor                       string  `json:"payor"`
	PBM                         string  `json:"pbm,omitempty"`
	PhoneNumber                 string  `json:"phone_number,omitempty"`
	RelationshipToSubscriber    string  `json:"relationship_to_subscriber,omitempty"`
	GroupID                     string  `json:"group_id,omitempty"`
	GroupName                   string  `json:"group_name,omitempty"`
	PayorID                     string  `json:"payor_id,omitempty"`
	SubscriberPatientID         string  `json:"subscriber_patient_id,omitempty"`
	SubscriberExternalPatientID string  `json:"subscriber_external_patient_id,omitempty"`
}

// InsuranceCreated holds the ids of the policies Akute created.
type InsuranceCreated struct {
	RxID      string `json:"rx_id,omitempty"`
	MedicalID string `json:"medical_id,omitempty"`
}

// CreateInsurance creates a policy (both rx and medical when Type is empty).
func (c *Client) CreateInsurance(ctx context.Context, in Insurance) (InsuranceCreated, error) {
	if err := check([]rule{
		{field: "member_id", value: in.MemberID, required: true},
		{field: "status", value: in.Status, required: true, enum: []string{"active", "cancelled"}},
		{field: "payor", value: in.Payor, required: true},
		{field: "type", value: in.Type, enum: []string{"rx", "medical"}},
		{field: "relationship_to_subscriber", value: in.RelationshipToSubscriber,
			enum: []string{"self", "child", "spouse", "parent", "common", "other"}},
	}); err != nil {
		return InsuranceCreated{}, err
	}
	if in.Order != 1 && in.Order != 2 && in.Order != 3 {
		return InsuranceCreated{}, &ValidationError{"order", "must be 1, 2 or 3"}
	}
	if in.PatientID == "" && in.ExternalPatientID == "" {
		return InsuranceCreated{}, &ValidationError{"patient_id", "or external_patient_id is required"}
	}
	in.ID = ""
	var out InsuranceCreated
	err := c.do(ctx, "POST", "/insurance", nil, in, &out)
	return out, err
}

// GetInsurance reads one policy by id.
func (c *Client) GetInsurance(ctx context.Context, id string) (Insurance, error) {
	if id == "" {
		return Insurance{}, &ValidationError{"id", "is required"}
	}
	var out Insurance
	err := c.do(ctx, "GET", "/insurance/"+url.PathEscape(id), nil, nil, &out)
	return out, notFound(err)
}

// InsuranceQuery filters policies; one of PatientID and ExternalPatientID is required.
type InsuranceQuery struct {
	PatientID, ExternalPatientID, Status, MemberID, Type string
}

// ListInsurance lists a patient's policies.
func (c *Client) ListInsurance(ctx context.Context, q InsuranceQuery) ([]Insurance, error) {
	if q.PatientID == "" && q.ExternalPatientID == "" {
		return nil, &ValidationError{"patient_id", "or external_patient_id is required"}
	}
	v := values(map[string]string{"patient_id": q.PatientID, "external_patient_id": q.ExternalPatientID,
		"status": q.Status, "member_id": q.MemberID, "type": q.Type})
	var out []Insurance
	err := c.do(ctx, "GET", "/insurance", v, nil, &out)
	return out, err
}

// Medication is one prescription of a patient's medication history.
type Medication struct {
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
	PharmacyID           Text   `json:"pharmacy_id,omitempty"` // a number here, a string in /pharmacy
	DosespotMedicationID int64  `json:"dosespot_medication_id,omitempty"`
	PrescriptionID       int64  `json:"prescription_id,omitempty"`
}

// MedicationQuery selects a patient's medications.
type MedicationQuery struct {
	PatientID, ExternalPatientID string
	StartDate, EndDate           string // YYYY-MM-DD
}

// ListMedications returns a patient's medication history.
func (c *Client) ListMedications(ctx context.Context, q MedicationQuery) ([]Medication, error) {
	if q.PatientID == "" && q.ExternalPatientID == "" {
		return nil, &ValidationError{"patient_id", "or external_patient_id is required"}
	}
	if err := check([]rule{
		{field: "start_date", value: q.StartDate, pattern: dateRe, problem: "must be YYYY-MM-DD"},
		{field: "end_date", value: q.EndDate, pattern: dateRe, problem: "must be YYYY-MM-DD"},
	}); err != nil {
		return nil, err
	}
	var out []Medication
	err := c.do(ctx, "GET", "/medications", values(map[string]string{
		"patient_id": q.PatientID, "external_patient_id": q.ExternalPatientID,
		"start_date": q.StartDate, "end_date": q.EndDate,
	}), nil, &out)
	return out, err
}

// Pharmacy is a pharmacy of Akute's directory.
type Pharmacy struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	AddressLine1        string   `json:"address_line_1,omitempty"`
	AddressLine2        string   `json:"address_line_2,omitempty"`
	AddressCity         string   `json:"address_city,omitempty"`
	AddressState        string   `json:"address_state,omitempty"`
	AddressZipcode      string   `json:"address_zipcode,omitempty"`
	PrimaryPhoneNumber  string   `json:"primary_phone_number,omitempty"`
	PrimaryFaxNumber    string   `json:"primary_fax_number,omitempty"`
	PharmacySpecialties []string `json:"pharmacy_specialties,omitempty"`
}

// PharmacySearch filters the directory.
type PharmacySearch struct {
	Name, City, State, Zip, Address, PhoneOrFax string
}

// SearchPharmacies searches Akute's pharmacy directory.
func (c *Client) SearchPharmacies(ctx context.Context, s PharmacySearch) ([]Pharmacy, error) {
	if err := check([]rule{
		{field: "state", value: s.State, pattern: stateRe, problem: "must be a two-letter state code"},
		{field: "zip", value: s.Zip, pattern: zipRe, problem: "must be five digits"},
		{field: "phoneOrFax", value: s.PhoneOrFax, pattern: phoneRe, problem: "must be ten digits"},
	}); err != nil {
		return nil, err
	}
	var out []Pharmacy
	err := c.do(ctx, "GET", "/pharmacy", values(map[string]string{"name": s.Name, "city": s.City,
		"state": s.State, "zip": s.Zip, "address": s.Address, "phoneOrFax": s.PhoneOrFax}), nil, &out)
	return out, err
}

// PatientPharmacy adds a pharmacy to a patient's list.
type PatientPharmacy struct {
	PatientID         string `json:"patient_id,omitempty"`
	ExternalPatientID string `json:"external_patient_id,omitempty"`
	PharmacyID        string `json:"pharmacy_id"`
	SetAsPrimary      bool   `json:"set_as_primary"`
}

// AddPharmacyToPatient adds a pharmacy to a patient's list, as default when
// SetAsPrimary.
func (c *Client) AddPharmacyToPatient(ctx context.Context, p PatientPharmacy) error {
	if p.PatientID == "" && p.ExternalPatientID == "" {
		return &ValidationError{"patient_id", "or external_patient_id is required"}
	}
	if p.PharmacyID == "" {
		return &ValidationError{"pharmacy_id", "is required"}
	}
	return c.do(ctx, "POST", "/pharmacy", nil, p, nil)
}

// User is an Akute user (a clinician).
type User struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email,omitempty"`
	NPI       string    `json:"npi,omitempty"`
	Licenses  []License `json:"licenses,omitempty"`
}

// License is a clinician's state license.
type License struct {
	Number         string `json:"number"`
	State          string `json:"state"`
	ExpirationDate string `json:"expiration_date"`
}

// ListUsers lists the account's users.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var out []User
	err := c.do(ctx, "GET", "/users", nil, nil, &out)
	return out, err
}

// GetUser reads one user.
func (c *Client) GetUser(ctx context.Context, id string) (User, error) {
	if id == "" {
		return User{}, &ValidationError{"id", "is required"}
	}
	var out User
	err := c.do(ctx, "GET", "/users/"+url.PathEscape(id), nil, nil, &out)
	return out, notFound(err)
}

// Observation is a lab result.
type Observation struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Category           string `json:"category"`
	Status             string `json:"status"`
	PatientID          string `json:"patient_id"`
	Date               string `json:"date"`
	Value              Text   `json:"value"` // a number when value_type is quantity
	ValueType          string `json:"value_type,omitempty"`
	Unit               string `json:"unit,omitempty"`
	UnitCode           string `json:"unit_code,omitempty"`
	ReferenceRangeLow  Text   `json:"reference_range_low,omitempty"`
	ReferenceRangeHigh Text   `json:"reference_range_high,omitempty"`
	Interpretation     string `json:"interpretation,omitempty"`
}

// ListObservations lists a patient's lab observations (category laboratory,
// the only one Akute supports).
func (c *Client) ListObservations(ctx context.Context, patientID, externalPatientID string) ([]Observation, error) {
	if patientID == "" && externalPatientID == "" {
		return nil, &ValidationError{"patient_id", "or external_patient_id is required"}
	}
	var out []Observation
	err := c.do(ctx, "GET", "/observations", values(map[string]string{
		"patient_id": patientID, "external_patient_id": externalPatientID, "category": "laboratory",
	}), nil, &out)
	return out, notFound(err) // 204 No Content: nil, no error
}

// GetObservation reads one observation.
func (c *Client) GetObservation(ctx context.Context, id string) (Observation, error) {
	if id == "" {
		return Observation{}, &ValidationError{"id", "is required"}
	}
	var out Observation
	err := c.do(ctx, "GET", "/observations/"+url.PathEscape(id), nil, nil, &out)
	return out, notFound(err)
}

func notFound(err error) error {
	var ae *Error
	if errors.As(err, &ae) && ae.StatusCode == 404 {
		return ErrNotFound
	}
	return err
}

func values(m map[string]string) url.Values {
	v := url.Values{}
	for k, s := range m {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Text is a value Akute sends as a JSON string or a JSON number (the
// reference documents both for the same field): kept as its text, a number
// exactly as written ("7.10" stays "7.10"), so no answer is undecodable for
// it and no value is rounded. null is "".
type Text string

// UnmarshalJSON accepts a string, a number or null.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*t = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("akute: want a string or a number")
	}
	*t = Text(n.String())
	return nil
}
