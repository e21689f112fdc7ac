package akute

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Patient is an Akute patient. Every field but ID, Status and ExternalID is PHI.
type Patient struct {
	ID                 string     `json:"id,omitempty"`
	FirstName          string     `json:"first_name,omitempty"`
	MiddleName         string     `json:"middle_name,omitempty"`
	LastName           string     `json:"last_name,omitempty"`
	Status             string     `json:"status,omitempty"` // active, inactive
	ExternalID         string     `json:"external_id,omitempty"`
	DateOfBirth        string     `json:"date_of_birth,omitempty"` // YYYY-MM-DD
	Sex                string     `json:"sex,omitempty"`           // male, female, unknown
	AddressLine1       string     `json:"address_line_1,omitempty"`
	AddressLine2       string     `json:"address_line_2,omitempty"`
	AddressCity        string     `json:"address_city,omitempty"`
	AddressState       string     `json:"address_state,omitempty"`   // two letters
	AddressZipcode     string     `json:"address_zipcode,omitempty"` // five digits
	Email              string     `json:"email,omitempty"`
	PrimaryPhoneNumber string     `json:"primary_phone_number,omitempty"` // ten digits
	PrimaryPhoneType   string     `json:"primary_phone_type,omitempty"`   // mobile, home
	AppointmentState   string     `json:"appointment_state,omitempty"`
	Properties         []Property `json:"properties,omitempty"`
}

// Property is a custom patient property.
type Property struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// ValidationError is a request the reference says Akute would refuse. It
// names the field and the rule, never the value.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string { return "akute: " + e.Field + " " + e.Problem }

// IsValidation reports whether err is a *ValidationError.
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

var (
	dateRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	stateRe = regexp.MustCompile(`^[A-Za-z]{2}$`)
	zipRe   = regexp.MustCompile(`^\d{5}$`)
	phoneRe = regexp.MustCompile(`^\d{10}$`)
)

type rule struct {
	field, value string
	required     bool
	max          int
	pattern      *regexp.Regexp
	enum         []string
	problem      string
}

func check(rules []rule) error {
	for _, r := range rules {
		if r.value == "" {
			if r.required {
				return &ValidationError{r.field, "is required"}
			}
			continue
		}
		if r.max > 0 && len([]rune(r.value)) > r.max {
			return &ValidationError{r.field, "is longer than 35 characters"}
		}
		if r.pattern != nil && !r.pattern.MatchString(r.value) {
			return &ValidationError{r.field, r.problem}
		}
		if r.enum != nil && !contains(r.enum, r.value) {
			return &ValidationError{r.field, "must be one of " + strings.Join(r.enum, ", ")}
		}
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// validate checks a patient; full is a create (required fields), otherwise
// an update (every field optional, the same formats).
func (p Patient) validate(full bool) error {
	return check([]rule{
		{field: "first_name", value: p.FirstName, required: full, max: 35},
		{field: "middle_name", value: p.MiddleName, max: 35},
		{field: "last_name", value: p.LastName, required: full, max: 35},
		{field: "status", value: p.Status, required: full, enum: []string{"active", "inactive"}},
		{field: "date_of_birth", value: p.DateOfBirth, required: full, pattern: dateRe, problem: "must be YYYY-MM-DD"},
		{field: "sex", value: p.Sex, required: full, enum: []string{"male", "female", "unknown"}},
		{field: "address_line_1", value: p.AddressLine1, required: full, max: 35},
		{field: "address_line_2", value: p.AddressLine2, max: 35},
		{field: "address_city", value: p.AddressCity, required: full, max: 35},
		{field: "address_state", value: p.AddressState, required: full, pattern: stateRe, problem: "must be a two-letter state code"},
		{field: "address_zipcode", value: p.AddressZipcode, required: full, pattern: zipRe, problem: "must be five digits"},
		{field: "email", value: p.Email, required: full, pattern: emailRe, problem: "must be an e-mail address"},
		{field: "primary_phone_number", value: p.PrimaryPhoneNumber, required: full, pattern: phoneRe, problem: "must be ten digits"},
		{field: "primary_phone_type", value: p.PrimaryPhoneType, required: full, enum: []string{"mobile", "home"}},
		{field: "appointment_state", value: p.AppointmentState, pattern: stateRe, problem: "must be a two-letter state code"},
	})
}

var emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// CreatePatient creates a patient and returns its Akute id.
func (c *Client) CreatePatient(ctx context.Context, p Patient) (string, error) {
	if err := p.validate(true); err != nil {
		return "", err
	}
	p.ID = ""
	return c.create(ctx, "/patients", p)
}

// UpdatePatient changes the fields set in p.
func (c *Client) UpdatePatient(ctx context.Context, id string, p Patient) error {
	if id == "" {
		return &ValidationError{"id", "is required"}
	}
	if err := p.validate(false); err != nil {
		return err
	}
	p.ID = ""
	body := patientUpdate{Patient: p}
	if p.AddressLine1 != "" {
		// The two lines are one address: a new first line clears a
		// second line that the new address does not have.
		body.AddressLine2 = &p.AddressLine2
	}
	return notFound(c.do(ctx, "PUT", "/patients/"+url.PathEscape(id), nil, body, nil))
}

// patientUpdate is a PUT body: address_line_2 is sent even when empty.
type patientUpdate struct {
	Patient
	AddressLine2 *string `json:"address_line_2,omitempty"`
}

// GetPatient reads a patient by Akute id.
func (c *Client) GetPatient(ctx context.Context, id string) (Patient, error) {
	if id == "" {
		return Patient{}, &ValidationError{"id", "is required"}
	}
	return c.onePatient(ctx, "/patients/"+url.PathEscape(id), nil)
}

// GetPatientByExternalID reads a patient by the id we gave it.
func (c *Client) GetPatientByExternalID(ctx context.Context, externalID string) (Patient, error) {
	if externalID == "" {
		return Patient{}, &ValidationError{"external_id", "is required"}
	}
	return c.onePatient(ctx, "/patients", url.Values{"external_id": {externalID}})
}

func (c *Client) onePatient(ctx context.Context, path string, q url.Values) (Patient, error) {
	var p Patient
	err := c.do(ctx, "GET", path, q, nil, &p)
	var ae *Error
	if errors.As(err, &ae) && ae.StatusCode == 404 {
		return Patient{}, ErrNotFound
	}
	if err == nil && p.ID == "" {
		return Patient{}, ErrNotFound // {} for no such patient
	}
	return p, err
}

// PatientSearch is a search by the patient's fields, the reference's
// filters of GET /patients; empty fields are ignored.
type PatientSearch struct {
	FirstName, MiddleName, LastName, Status, DateOfBirth, Sex string
	AddressLine1, AddressLine2, AddressCity, AddressState     string
	AddressZipcode, Email, PrimaryPhoneNumber                 string
	PrimaryPhoneType, AppointmentState                        string
}

func (s PatientSearch) query() url.Values {
	return values(map[string]string{
		"first_name": s.FirstName, "middle_name": s.MiddleName, "last_name": s.LastName, "status": s.Status,
		"date_of_birth": s.DateOfBirth, "sex": s.Sex, "address_line_1": s.AddressLine1,
		"address_line_2": s.AddressLine2, "address_city": s.AddressCity, "address_state": s.AddressState,
		"address_zipcode": s.AddressZipcode, "email": s.Email, "primary_phone_number": s.PrimaryPhoneNumber,
		"primary_phone_type": s.PrimaryPhoneType, "appointment_state": s.AppointmentState,
	})
}

// SearchPatients lists the patients matching every field set.
func (c *Client) SearchPatients(ctx context.Context, s PatientSearch) ([]Patient, error) {
	q := s.query()
	if len(q) == 0 {
		return nil, &ValidationError{"search", "needs at least one field"}
	}
	var out []Patient
	err := c.do(ctx, "GET", "/patients", q, nil, &out)
	var ae *Error
	if errors.As(err, &ae) && ae.StatusCode == 404 {
		return nil, nil
	}
	return out, err
}
