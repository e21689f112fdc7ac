package activities

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"time"
	"unicode"

	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/clients/carevalidate"
)

// Error types of the Akute activities.
const (
	ErrTypeAkuteInvalidData = "AkuteInvalidData" // our data breaks Akute's rules
	ErrTypeAkuteRejected    = "AkuteRejected"    // Akute answered 4xx (classify's <Upstream>Rejected)
	ErrTypeAkuteUnavailable = "AkuteUnavailable" // 5xx, 408, 429 (classify's <Upstream>Unavailable)
)

// AkuteRejection is the detail of an Akute failure: what an operator needs
// to fix it. It can quote patient data, so it travels only as an error's
// details (encrypted payloads), never in a message or a log line.
type AkuteRejection struct {
	Field      string `json:"field,omitempty"`
	Problem    string `json:"problem,omitempty"`
	StatusCode int    `json:"status_code,omitempty"`
	Message    string `json:"message,omitempty"`
}

// Akute holds the activities that keep Akute in step with a case.
type Akute struct {
	client         *akute.Client
	defaultOwnerID string
}

// NewAkute returns the Akute activities. defaultOwnerID owns tasks whose
// doctor is not an Akute user; empty leaves them unowned.
func NewAkute(client *akute.Client, defaultOwnerID string) *Akute {
	return &Akute{client: client, defaultOwnerID: defaultOwnerID}
}

// PatientSynced says what SyncAkutePatient did.
type PatientSynced struct {
	PatientID string `json:"patient_id"`
	Action    string `json:"action"` // created, updated, unchanged
}

// SyncAkutePatient makes Akute's patient (found by external_id = the
// submitter's CareValidate id) match the case's submitter.
func (a *Akute) SyncAkutePatient(ctx context.Context, s carevalidate.Submitter) (PatientSynced, error) {
	return heartbeating(ctx, func() (PatientSynced, error) { return a.syncPatient(ctx, s) })
}

func (a *Akute) syncPatient(ctx context.Context, s carevalidate.Submitter) (PatientSynced, error) {
	want, err := PatientFromSubmitter(s)
	if err != nil {
		return PatientSynced{}, akuteError(err)
	}
	have, err := a.client.GetPatientByExternalID(ctx, want.ExternalID)
	if errors.Is(err, akute.ErrNotFound) {
		id, err := a.client.CreatePatient(ctx, want)
		var ae *akute.Error
		if errors.As(err, &ae) && ae.StatusCode == 409 {
			// Created by an earlier attempt whose answer was lost: update it.
			have, err = a.client.GetPatientByExternalID(ctx, want.ExternalID)
			if err != nil {
				return PatientSynced{}, akuteError(err)
			}
			return a.update(ctx, have, want)
		}
		if err != nil {
			return PatientSynced{}, akuteError(err)
		}
		return PatientSynced{PatientID: id, Action: "created"}, nil
	}
	if err != nil {
		return PatientSynced{}, akuteError(err)
	}
	return a.update(ctx, have, want)
}

func (a *Akute) update(ctx context.Context, have, want akute.Patient) (PatientSynced, error) {
	if samePatient(have, want) {
		return PatientSynced{PatientID: have.ID, Action: "unchanged"}, nil
	}
	if err := a.client.UpdatePatient(ctx, have.ID, want); err != nil {
		return PatientSynced{}, akuteError(err)
	}
	return PatientSynced{PatientID: have.ID, Action: "updated"}, nil
}

func samePatient(have, want akute.Patient) bool {
	want.ID, want.Properties, have.Properties = have.ID, nil, nil
	if want.MiddleName == "" {
		want.MiddleName = have.MiddleName
	}
	if want.AddressLine2 == "" {
		want.AddressLine2 = have.AddressLine2
	}
	if want.AppointmentState == "" {
		want.AppointmentState = have.AppointmentState
	}
	return reflect.DeepEqual(have, want)
}

// TaskRequest is a clinician task for a case event.
type TaskRequest struct {
	Title             string               `json:"title"`
	Description       string               `json:"description"`
	Priority          string               `json:"priority"`
	PatientID         string               `json:"patient_id,omitempty"`
	ExternalPatientID string               `json:"external_patient_id,omitempty"`
	Doctor            *carevalidate.Person `json:"doctor,omitempty"` // the case's assignedTo
	Tags              []string             `json:"tags"`
}

// TaskCreated says which task was created and who owns it.
type TaskCreated struct {
	TaskID  string `json:"task_id"`
	OwnerID string `json:"owner_id,omitempty"`
}

// CreateAkuteTask creates the task, owned by the Akute user named as the
// case's doctor, else by the default owner.
func (a *Akute) CreateAkuteTask(ctx context.Context, req TaskRequest) (TaskCreated, error) {
	return heartbeating(ctx, func() (TaskCreated, error) { return a.createTask(ctx, req) })
}

func (a *Akute) createTask(ctx context.Context, req TaskRequest) (TaskCreated, error) {
	owner, err := a.owner(ctx, req.Doctor)
	if err != nil {
		return TaskCreated{}, akuteError(err)
	}
	id, err := a.client.CreateTask(ctx, akute.Task{
		Task: req.Title, Description: req.Description, Priority: req.Priority, OwnerID: owner,
		PatientID: req.PatientID, ExternalPatientID: req.ExternalPatientID, Status: "not-started", Tags: req.Tags,
	})
	if err != nil {
		return TaskCreated{}, akuteError(err)
	}
	return TaskCreated{TaskID: id, OwnerID: owner}, nil
}

func (a *Akute) owner(ctx context.Context, doctor *carevalidate.Person) (string, error) {
	if doctor == nil {
		return a.defaultOwnerID, nil
	}
	users, err := a.client.ListUsers(ctx)
	if err != nil {
		return "", err
	}
	for _, u := range users {
		if strings.EqualFold(strings.TrimSpace(u.FirstName), strings.TrimSpace(doctor.FirstName)) &&
			strings.EqualFold(strings.TrimSpace(u.LastName), strings.TrimSpace(doctor.LastName)) {
			return u.ID, nil
		}
	}
	return a.defaultOwnerID, nil
}

// PatientFromSubmitter maps CareValidate's patient to Akute's rules.
func PatientFromSubmitter(s carevalidate.Submitter) (akute.Patient, error) {
	if strings.TrimSpace(s.ID) == "" {
		return akute.Patient{}, &akute.ValidationError{Field: "external_id", Problem: "is required (submitter.id)"}
	}
	return akute.Patient{
		FirstName:          clip(s.FirstName),
		LastName:           clip(s.LastName),
		Status:             "active",
		ExternalID:         s.ID,
		DateOfBirth:        datePart(s.DOB),
		Sex:                sex(s.Gender),
		AddressLine1:       clip(s.Address),
		AddressCity:        clip(s.City),
		AddressState:       strings.ToUpper(strings.TrimSpace(s.State)),
		AddressZipcode:     firstDigits(s.PostalCode, 5),
		Email:              strings.TrimSpace(s.Email),
		PrimaryPhoneNumber: lastDigits(s.PhoneNumber, 10),
		PrimaryPhoneType:   "mobile",
	}, nil
}

func clip(s string) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) > 35 {
		r = r[:35]
	}
	return strings.TrimSpace(string(r))
}

func datePart(dob string) string {
	dob = strings.TrimSpace(dob)
	if t, err := time.Parse(time.RFC3339Nano, dob); err == nil {
		return t.UTC().Format("2006-01-02")
	}
	if len(dob) >= 10 {
		if _, err := time.Parse("2006-01-02", dob[:10]); err == nil {
			return dob[:10]
		}
	}
	return dob // Akute's rules will say what is wrong with it
}

func sex(gender string) string {
	switch strings.ToLower(strings.TrimSpace(gender)) {
	case "male", "m":
		return "male"
	case "female", "f":
		return "female"
	}
	return "unknown"
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

func lastDigits(s string, n int) string {
	d := digits(s)
	if len(d) > n {
		d = d[len(d)-n:]
	}
	return d
}

func firstDigits(s string, n int) string {
	d := digits(s)
	if len(d) > n {
		d = d[:n]
	}
	return d
}

// akuteError classifies an Akute failure as classify does any upstream's,
// adding what an operator needs to fix a refusal: the field and rule it
// breaks, or Akute's own words. Those go in the details, never the message.
func akuteError(err error) error {
	var ve *akute.ValidationError
	var ae *akute.Error
	switch {
	case errors.As(err, &ve):
		return temporal.NewNonRetryableApplicationError("akute would refuse "+ve.Field+": "+ve.Problem,
			ErrTypeAkuteInvalidData, nil, AkuteRejection{Field: ve.Field, Problem: ve.Problem})
	case errors.As(err, &ae) && !ae.Temporary():
		return temporal.NewNonRetryableApplicationError(ae.Error(), ErrTypeAkuteRejected, nil,
			AkuteRejection{StatusCode: ae.StatusCode, Message: ae.Message})
	default:
		return classify(err)
	}
}
