package activities

import (
	"context"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/clients/upstream"
)

// Error types of the Akute activities.
const (
	ErrTypeAkuteInvalidData = "AkuteInvalidData"     // our data breaks Akute's rules
	ErrTypeAkuteRejected    = "AkuteRejected"        // Akute answered 4xx (classify's <Upstream>Rejected)
	ErrTypeAkuteUnavailable = "AkuteUnavailable"     // 5xx, 408, 429 (classify's <Upstream>Unavailable)
	ErrTypeAkuteAmbiguous   = "AkuteAmbiguousCreate" // a 2xx to a create whose id cannot be read: check Akute, then retry or skip
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
func (a *Akute) SyncAkutePatient(ctx context.Context, s Submitter) (PatientSynced, error) {
	return heartbeating(ctx, func() (PatientSynced, error) { return a.syncPatient(ctx, s) })
}

func (a *Akute) syncPatient(ctx context.Context, s Submitter) (PatientSynced, error) {
	want, err := PatientFromSubmitter(s)
	if err != nil {
		return PatientSynced{}, akuteError(ctx, err)
	}
	have, err := a.client.GetPatientByExternalID(ctx, want.ExternalID)
	if errors.Is(err, akute.ErrNotFound) {
		id, err := a.client.CreatePatient(ctx, want)
		var ae *akute.Error
		if errors.As(err, &ae) && ae.StatusCode == http.StatusConflict {
			// Created by an earlier attempt whose answer was lost: update it.
			have, lookupErr := a.client.GetPatientByExternalID(ctx, want.ExternalID)
			if errors.Is(lookupErr, akute.ErrNotFound) {
				// Not ours: Akute holds another patient that conflicts on
				// some other field. Retrying cannot fix that; an operator can.
				return PatientSynced{}, akuteError(ctx, err)
			}
			if lookupErr != nil {
				return PatientSynced{}, akuteError(ctx, lookupErr)
			}
			return a.update(ctx, have, want)
		}
		if err != nil {
			return PatientSynced{}, akuteError(ctx, err)
		}
		return PatientSynced{PatientID: id, Action: "created"}, nil
	}
	if err != nil {
		return PatientSynced{}, akuteError(ctx, err)
	}
	return a.update(ctx, have, want)
}

func (a *Akute) update(ctx context.Context, have, want akute.Patient) (PatientSynced, error) {
	// A sync never sends the status: a clinician may have made the patient
	// inactive, and CareValidate has no say in that.
	want.Status = ""
	if samePatient(have, want) {
		return PatientSynced{PatientID: have.ID, Action: "unchanged"}, nil
	}
	if err := a.client.UpdatePatient(ctx, have.ID, want); err != nil {
		return PatientSynced{}, akuteError(ctx, err)
	}
	return PatientSynced{PatientID: have.ID, Action: "updated"}, nil
}

// samePatient reports whether Akute already holds every value a sync sends;
// what CareValidate does not carry (middle name, appointment state,
// properties, status) is Akute's own.
func samePatient(have, want akute.Patient) bool {
	want.ID, want.Status, want.MiddleName, want.AppointmentState, want.Properties =
		have.ID, have.Status, have.MiddleName, have.AppointmentState, have.Properties
	return reflect.DeepEqual(have, want)
}

// TaskRequest is a clinician task for a case event.
type TaskRequest struct {
	Title             string   `json:"title"`
	Description       string   `json:"description"`
	Priority          string   `json:"priority"`
	PatientID         string   `json:"patient_id,omitempty"`
	ExternalPatientID string   `json:"external_patient_id,omitempty"`
	Doctor            *Person  `json:"doctor,omitempty"` // the case's assignedTo
	Tags              []string `json:"tags"`
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
		return TaskCreated{}, akuteError(ctx, err)
	}
	id, err := a.client.CreateTask(ctx, akute.Task{
		Task: req.Title, Description: req.Description, Priority: req.Priority, OwnerID: owner,
		PatientID: req.PatientID, ExternalPatientID: req.ExternalPatientID, Status: "not-started", Tags: req.Tags,
	})
	switch {
	case err == nil:
		return TaskCreated{TaskID: id, OwnerID: owner}, nil
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		// Cancelled by an operator while the POST was out: Akute may have
		// created the task. The details tell the case so.
		return TaskCreated{}, temporal.NewCanceledError(CreateMaybeMade)
	case unanswered(err):
		// Sent, never answered (a timeout, a reset): Akute may have created
		// it, and a retry could create it twice. The case waits for Akute's
		// task.created webhook instead.
		return TaskCreated{}, temporal.NewNonRetryableApplicationError("akute did not answer the task create: it may have created it",
			ErrTypeAkuteAmbiguous, nil)
	default:
		return TaskCreated{}, akuteError(ctx, err)
	}
}

// CreateMaybeMade is the detail of a cancelled CreateAkuteTask whose request
// had been sent: Akute may have created the task.
const CreateMaybeMade = "create-maybe-made"

// unanswered reports whether a request failed without an HTTP answer after
// it may have reached the upstream: anything but an answer, a refusal to
// connect or a request never written.
func unanswered(err error) bool {
	var status *upstream.StatusError
	var op *net.OpError
	switch {
	case errors.As(err, &status), errors.Is(err, akute.ErrAmbiguousCreate):
		return false
	case errors.As(err, &op) && op.Op == "dial":
		return false
	}
	var ve *akute.ValidationError
	return !errors.As(err, &ve)
}

func (a *Akute) owner(ctx context.Context, doctor *Person) (string, error) {
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

// akuteError classifies an Akute failure as classify does any upstream's,
// adding what an operator needs to fix a refusal: the field and rule it
// breaks, or Akute's own words. Those go in the details, never the message.
// A call cancelled by an operator stays a cancellation, not an outage.
func akuteError(ctx context.Context, err error) error {
	var ve *akute.ValidationError
	var ae *akute.Error
	switch {
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &ve):
		return temporal.NewNonRetryableApplicationError("not sent to akute: "+ve.Field+" "+ve.Problem,
			ErrTypeAkuteInvalidData, nil, AkuteRejection{Field: ve.Field, Problem: ve.Problem})
	case errors.Is(err, akute.ErrAmbiguousCreate):
		// Akute may have created it: a retry could create it twice.
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeAkuteAmbiguous, nil)
	case errors.As(err, &ae) && !ae.Temporary():
		return temporal.NewNonRetryableApplicationError(ae.Error(), ErrTypeAkuteRejected, nil,
			AkuteRejection{StatusCode: ae.StatusCode, Message: ae.Message})
	default:
		return classify(err)
	}
}
