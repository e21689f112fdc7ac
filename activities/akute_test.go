package activities

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/clients/akute/akutetest"
	"github.com/carebridge/carebridge/clients/carevalidate"
	"github.com/carebridge/carebridge/internal/fake"
)

var submitter = carevalidate.Submitter{
	ID: "sub-1", FirstName: "Chris", LastName: "Ordering", Email: "chris@example.com", DOB: "2000-05-30T00:00:00.000Z",
	Gender: "MALE", PhoneNumber: "+1 (225) 867-5309", Address: "93492 Peachtree Dr.", City: "Baton Rouge",
	State: "la", PostalCode: "70360-1234",
}

func TestPatientFromSubmitter(t *testing.T) {
	p, err := PatientFromSubmitter(submitter)
	require.NoError(t, err)
	assert.Equal(t, akute.Patient{FirstName: "Chris", LastName: "Ordering", Status: "active", ExternalID: "sub-1",
		DateOfBirth: "2000-05-30", Sex: "male", AddressLine1: "93492 Peachtree Dr.", AddressCity: "Baton Rouge",
		AddressState: "LA", AddressZipcode: "70360", Email: "chris@example.com", PrimaryPhoneNumber: "2258675309",
		PrimaryPhoneType: "mobile"}, p)

	odd := submitter
	odd.DOB, odd.Gender, odd.FirstName = "1990-01-02", "Other", strings.Repeat("é", 40)
	p, err = PatientFromSubmitter(odd)
	require.NoError(t, err)
	assert.Equal(t, "1990-01-02", p.DateOfBirth)
	assert.Equal(t, "unknown", p.Sex)
	assert.Equal(t, strings.Repeat("é", 35), p.FirstName, "35 characters, not bytes")

	for gender, sex := range map[string]string{"FEMALE": "female", "f": "female", "M": "male", "": "unknown"} {
		odd.Gender = gender
		p, _ = PatientFromSubmitter(odd)
		assert.Equal(t, sex, p.Sex, gender)
	}
	_, err = PatientFromSubmitter(carevalidate.Submitter{})
	assert.True(t, akute.IsValidation(err))
}

func newAkute(t *testing.T) (*Akute, *akutetest.Server) {
	t.Helper()
	f := akutetest.New("k")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return NewAkute(akute.New(akute.Config{BaseURL: srv.URL, APIKey: "k"}), "usr-ana-lee"), f
}

func TestSyncAkutePatientCreatesUpdatesAndLeavesAlone(t *testing.T) {
	a, f := newAkute(t)
	ctx := context.Background()
	created, err := a.SyncAkutePatient(ctx, submitter)
	require.NoError(t, err)
	assert.Equal(t, "created", created.Action)

	again, err := a.SyncAkutePatient(ctx, submitter)
	require.NoError(t, err)
	assert.Equal(t, PatientSynced{PatientID: created.PatientID, Action: "unchanged"}, again)

	moved := submitter
	moved.City = "New Orleans"
	updated, err := a.SyncAkutePatient(ctx, moved)
	require.NoError(t, err)
	assert.Equal(t, PatientSynced{PatientID: created.PatientID, Action: "updated"}, updated)
	require.Len(t, f.Patients(), 1)
	assert.Equal(t, "New Orleans", f.Patients()[0].AddressCity)
}

func TestSyncAkutePatientAfterALostCreateAnswer(t *testing.T) {
	a, f := newAkute(t)
	ctx := context.Background()
	_, err := a.SyncAkutePatient(ctx, submitter)
	require.NoError(t, err)
	// The lookup misses (a 404 injected), the create then meets Akute's 409:
	// the patient an earlier attempt created is found and used.
	require.NoError(t, f.Inject(fake.Fault{Status: 404, Body: `{"statusCode":404,"error":"Patient not found"}`, Times: 1}))
	synced, err := a.SyncAkutePatient(ctx, submitter)
	require.NoError(t, err)
	assert.Equal(t, "unchanged", synced.Action)
	assert.Len(t, f.Patients(), 1)
}

func TestSyncAkutePatientRefusals(t *testing.T) {
	a, _ := newAkute(t)
	bad := submitter
	bad.PostalCode = "7036" // four digits: our own check refuses it
	_, err := a.SyncAkutePatient(context.Background(), bad)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, ErrTypeAkuteInvalidData, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	assert.NotContains(t, appErr.Error(), "7036", "the value stays out of the message")
	var detail AkuteRejection
	require.NoError(t, appErr.Details(&detail))
	assert.Equal(t, "address_zipcode", detail.Field)

	bad = submitter
	bad.State = "ZZ" // Akute's own rule
	_, err = a.SyncAkutePatient(context.Background(), bad)
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, ErrTypeAkuteRejected, appErr.Type())
	require.NoError(t, appErr.Details(&detail))
	assert.Equal(t, 400, detail.StatusCode)
}

func TestCreateAkuteTaskOwner(t *testing.T) {
	a, f := newAkute(t)
	ctx := context.Background()
	got, err := a.CreateAkuteTask(ctx, TaskRequest{Title: "t", Priority: "p2",
		Doctor: &carevalidate.Person{FirstName: " chris ", LastName: "TPA MEDICAL"}})
	require.NoError(t, err)
	assert.Equal(t, "usr-chris-tpa", got.OwnerID, "matched by name, ignoring case and spaces")

	got, err = a.CreateAkuteTask(ctx, TaskRequest{Title: "t", Doctor: &carevalidate.Person{FirstName: "Nobody", LastName: "Here"}})
	require.NoError(t, err)
	assert.Equal(t, "usr-ana-lee", got.OwnerID, "the default owner")

	require.NoError(t, f.Inject(fake.Fault{Status: 503, RetryAfter: "2", Times: 1}))
	_, err = a.CreateAkuteTask(ctx, TaskRequest{Title: "t"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, ErrTypeAkuteUnavailable, appErr.Type())
	assert.False(t, appErr.NonRetryable())
	assert.Equal(t, "2s", appErr.NextRetryDelay().String())
	assert.Len(t, f.Tasks(), 2)
}
