package activities_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/akutetest"
	"github.com/carebridge/carebridge/fakes/fake"
)

var submitter = activities.Submitter{
	ID: "sub-1", FirstName: "Chris", LastName: "Ordering", Email: "chris@example.com", DOB: "2000-05-30T00:00:00.000Z",
	Gender: "MALE", PhoneNumber: "+1 (225) 867-5309", Address: "93492 Peachtree Dr.", City: "Baton Rouge",
	State: "la", PostalCode: "70360-1234",
}

func TestPatientFromSubmitter(t *testing.T) {
	p, err := activities.PatientFromSubmitter(submitter)
	require.NoError(t, err)
	assert.Equal(t, akute.Patient{FirstName: "Chris", LastName: "Ordering", Status: "active", ExternalID: "sub-1",
		DateOfBirth: "2000-05-30", Sex: "male", AddressLine1: "93492 Peachtree Dr.", AddressCity: "Baton Rouge",
		AddressState: "LA", AddressZipcode: "70360", Email: "chris@example.com", PrimaryPhoneNumber: "2258675309",
		PrimaryPhoneType: "mobile"}, p)

	for gender, sex := range map[string]string{"FEMALE": "female", "f": "female", "M": "male", "": "unknown", "Other": "unknown"} {
		odd := submitter
		odd.Gender = gender
		p, _ = activities.PatientFromSubmitter(odd)
		assert.Equal(t, sex, p.Sex, gender)
	}
}

// patientMapping is the table of docs/how-a-case-works.md's "Akute mapping": each input,
// what Akute receives, or the refusal (field and reason, never the value).
var patientMapping = []struct {
	name   string
	change func(*activities.Submitter)
	want   func(*akute.Patient) // nil: refused
	field  string
	reason string
}{
	// Date of birth: the calendar date as written.
	{"dob, a date", func(s *activities.Submitter) { s.DOB = "1990-01-02" },
		func(p *akute.Patient) { p.DateOfBirth = "1990-01-02" }, "", ""},
	{"dob, midnight UTC", func(s *activities.Submitter) { s.DOB = "2000-05-30T00:00:00.000Z" },
		func(p *akute.Patient) { p.DateOfBirth = "2000-05-30" }, "", ""},
	{"dob, an offset east of UTC", func(s *activities.Submitter) { s.DOB = "2000-05-30T00:00:00+02:00" },
		func(p *akute.Patient) { p.DateOfBirth = "2000-05-30" }, "", ""},
	{"dob, an offset west of UTC", func(s *activities.Submitter) { s.DOB = "2000-05-30T23:30:00-05:00" },
		func(p *akute.Patient) { p.DateOfBirth = "2000-05-30" }, "", ""},
	{"dob, 30 February", func(s *activities.Submitter) { s.DOB = "2000-02-30" },
		nil, "submitter.dob", "is not a real calendar date"},
	{"dob, month first", func(s *activities.Submitter) { s.DOB = "05/30/2000" },
		nil, "submitter.dob", "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp"},
	{"dob, a broken timestamp", func(s *activities.Submitter) { s.DOB = "2000-05-30T25:00:00Z" },
		nil, "submitter.dob", "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp"},
	{"dob, in the future", func(s *activities.Submitter) { s.DOB = "2999-01-01" },
		nil, "submitter.dob", "is before 1900 or in the future"},
	{"dob, missing", func(s *activities.Submitter) { s.DOB = "" }, nil, "submitter.dob", "is required"},
	// Phone: any common US form; no extension, no other country.
	{"phone, dashes", func(s *activities.Submitter) { s.PhoneNumber = "225-867-5309" },
		func(p *akute.Patient) { p.PrimaryPhoneNumber = "2258675309" }, "", ""},
	{"phone, dots", func(s *activities.Submitter) { s.PhoneNumber = "225.867.5309" },
		func(p *akute.Patient) { p.PrimaryPhoneNumber = "2258675309" }, "", ""},
	{"phone, +1 and spaces", func(s *activities.Submitter) { s.PhoneNumber = "+1 225 867 5309" },
		func(p *akute.Patient) { p.PrimaryPhoneNumber = "2258675309" }, "", ""},
	{"phone, 1 and parentheses", func(s *activities.Submitter) { s.PhoneNumber = "1 (225) 867-5309" },
		func(p *akute.Patient) { p.PrimaryPhoneNumber = "2258675309" }, "", ""},
	{"phone, Puerto Rico", func(s *activities.Submitter) { s.PhoneNumber = "(787) 722-1234" },
		func(p *akute.Patient) { p.PrimaryPhoneNumber = "7877221234" }, "", ""},
	{"phone, an extension", func(s *activities.Submitter) { s.PhoneNumber = "225-867-5309 x123" },
		nil, "submitter.phoneNumber", "has an extension, which Akute cannot hold"},
	{"phone, the UK", func(s *activities.Submitter) { s.PhoneNumber = "+44 20 7946 0958" },
		nil, "submitter.phoneNumber", "is not a US number (Akute takes ten US digits, no country code)"},
	{"phone, Canada", func(s *activities.Submitter) { s.PhoneNumber = "+1 416 979 2100" },
		nil, "submitter.phoneNumber", "is not a US number (Akute takes ten US digits, no country code)"},
	{"phone, too short", func(s *activities.Submitter) { s.PhoneNumber = "867-5309" },
		nil, "submitter.phoneNumber", "is not a valid US number"},
	{"phone, words", func(s *activities.Submitter) { s.PhoneNumber = "call me" },
		nil, "submitter.phoneNumber", "is not a phone number"},
	// Zip: NNNNN or NNNNN-NNNN.
	{"zip, five digits", func(s *activities.Submitter) { s.PostalCode = "70360" },
		func(p *akute.Patient) { p.AddressZipcode = "70360" }, "", ""},
	{"zip, ZIP+4", func(s *activities.Submitter) { s.PostalCode = " 70360-1234 " },
		func(p *akute.Patient) { p.AddressZipcode = "70360" }, "", ""},
	{"zip, inside an address", func(s *activities.Submitter) { s.PostalCode = "Apt 5 70360" },
		nil, "submitter.postalCode", "must be a US ZIP code: 5 digits, or ZIP+4 (5-4)"},
	{"zip, four digits", func(s *activities.Submitter) { s.PostalCode = "7036" },
		nil, "submitter.postalCode", "must be a US ZIP code: 5 digits, or ZIP+4 (5-4)"},
	{"zip, nine digits unbroken", func(s *activities.Submitter) { s.PostalCode = "703601234" },
		nil, "submitter.postalCode", "must be a US ZIP code: 5 digits, or ZIP+4 (5-4)"},
	// State: a code or a name of a state or territory.
	{"state, lower-case code", func(s *activities.Submitter) { s.State = "la" },
		func(p *akute.Patient) { p.AddressState = "LA" }, "", ""},
	{"state, a name", func(s *activities.Submitter) { s.State = "Louisiana" },
		func(p *akute.Patient) { p.AddressState = "LA" }, "", ""},
	{"state, a two-word name", func(s *activities.Submitter) { s.State = "new  york" },
		func(p *akute.Patient) { p.AddressState = "NY" }, "", ""},
	{"state, a territory", func(s *activities.Submitter) { s.State = "Puerto Rico" },
		func(p *akute.Patient) { p.AddressState = "PR" }, "", ""},
	{"state, DC", func(s *activities.Submitter) { s.State = "Washington, DC" },
		func(p *akute.Patient) { p.AddressState = "DC" }, "", ""},
	{"state, a Canadian province", func(s *activities.Submitter) { s.State = "ON" },
		nil, "submitter.state", "is not a US state or territory (its two-letter code or its name)"},
	{"state, unknown letters", func(s *activities.Submitter) { s.State = "ZZ" },
		nil, "submitter.state", "is not a US state or territory (its two-letter code or its name)"},
	// Address: two lines of 35, broken between words.
	{"address, 35 characters", func(s *activities.Submitter) { s.Address = strings.Repeat("a", 35) },
		func(p *akute.Patient) { p.AddressLine1 = strings.Repeat("a", 35) }, "", ""},
	{"address, over 35", func(s *activities.Submitter) { s.Address = "93492 Peachtree Industrial Boulevard, Apartment 1204" },
		func(p *akute.Patient) {
			p.AddressLine1, p.AddressLine2 = "93492 Peachtree Industrial", "Boulevard, Apartment 1204"
		}, "", ""},
	{"address, over 70", func(s *activities.Submitter) { s.Address = strings.Repeat("word ", 15) },
		nil, "submitter.address", "does not fit Akute's two address lines of 35 characters"},
	{"address, one word over 35", func(s *activities.Submitter) { s.Address = strings.Repeat("a", 36) },
		nil, "submitter.address", "does not fit Akute's two address lines of 35 characters"},
	// Names and city: never cut.
	{"first name, 35 characters", func(s *activities.Submitter) { s.FirstName = strings.Repeat("é", 35) },
		func(p *akute.Patient) { p.FirstName = strings.Repeat("é", 35) }, "", ""},
	{"first name, 36 characters", func(s *activities.Submitter) { s.FirstName = strings.Repeat("é", 36) },
		nil, "submitter.firstName", "is longer than Akute's 35 characters"},
	{"city, 36 characters", func(s *activities.Submitter) { s.City = strings.Repeat("c", 36) },
		nil, "submitter.city", "is longer than Akute's 35 characters"},
	{"no id", func(s *activities.Submitter) { s.ID = " " }, nil, "submitter.id", "is required"},
}

func TestPatientMappingTable(t *testing.T) {
	base, err := activities.PatientFromSubmitter(submitter)
	require.NoError(t, err)
	for _, tc := range patientMapping {
		in := submitter
		tc.change(&in)
		got, err := activities.PatientFromSubmitter(in)
		if tc.want == nil {
			var ve *akute.ValidationError
			require.ErrorAs(t, err, &ve, tc.name)
			assert.Equal(t, tc.field, ve.Field, tc.name)
			assert.Equal(t, tc.reason, ve.Problem, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		want := base
		tc.want(&want)
		assert.Equal(t, want, got, tc.name)
	}
}

func newAkute(t *testing.T) (*activities.Akute, *akutetest.Server) {
	t.Helper()
	f := akutetest.New("k")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return activities.NewAkute(akute.New(akute.Config{BaseURL: srv.URL, APIKey: "k"}), "usr-ana-lee"), f
}

func TestSyncAkutePatientCreatesUpdatesAndLeavesAlone(t *testing.T) {
	a, f := newAkute(t)
	ctx := context.Background()
	created, err := a.SyncAkutePatient(ctx, submitter)
	require.NoError(t, err)
	assert.Equal(t, "created", created.Action)

	again, err := a.SyncAkutePatient(ctx, submitter)
	require.NoError(t, err)
	assert.Equal(t, activities.PatientSynced{PatientID: created.PatientID, Action: "unchanged"}, again)

	moved := submitter
	moved.City = "New Orleans"
	updated, err := a.SyncAkutePatient(ctx, moved)
	require.NoError(t, err)
	assert.Equal(t, activities.PatientSynced{PatientID: created.PatientID, Action: "updated"}, updated)
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
	a, f := newAkute(t)
	bad := submitter
	bad.PostalCode = "Apt 5 70360"
	_, err := a.SyncAkutePatient(context.Background(), bad)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrTypeAkuteInvalidData, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	assert.Equal(t, "not sent to akute: submitter.postalCode must be a US ZIP code: 5 digits, or ZIP+4 (5-4)", appErr.Message())
	assert.NotContains(t, appErr.Error(), "70360", "the value stays out of the message")
	var detail activities.AkuteRejection
	require.NoError(t, appErr.Details(&detail))
	assert.Equal(t, "submitter.postalCode", detail.Field)
	assert.Empty(t, f.Requests(), "nothing reached Akute")

	// Akute's own refusal: an injected 400.
	require.NoError(t, f.Inject(fake.Fault{Status: 400, Body: `{"statusCode":400,"error":"address_state is invalid"}`, Times: 2}))
	_, err = a.SyncAkutePatient(context.Background(), submitter)
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrTypeAkuteRejected, appErr.Type())
	require.NoError(t, appErr.Details(&detail))
	assert.Equal(t, 400, detail.StatusCode)
}

// A sync never sends the status: a patient a clinician made inactive stays so.
func TestSyncAkutePatientSendsStatusOnlyOnCreate(t *testing.T) {
	a, f := newAkute(t)
	ctx := context.Background()
	created, err := a.SyncAkutePatient(ctx, submitter)
	require.NoError(t, err)
	require.True(t, f.SetPatientStatus(created.PatientID, "inactive"))

	again, err := a.SyncAkutePatient(ctx, submitter)
	require.NoError(t, err)
	assert.Equal(t, "unchanged", again.Action, "the status is Akute's, not a difference")
	moved := submitter
	moved.Address = "93492 Peachtree Industrial Boulevard, Apartment 1204"
	updated, err := a.SyncAkutePatient(ctx, moved)
	require.NoError(t, err)
	assert.Equal(t, "updated", updated.Action)
	p := f.Patients()[0]
	assert.Equal(t, "inactive", p.Status)
	assert.Equal(t, "Boulevard, Apartment 1204", p.AddressLine2)
	for _, r := range f.Requests() {
		if r.Method == "PUT" {
			assert.NotContains(t, string(r.Body), `"status"`)
		}
	}

	// Back to a one-line address: the second line is cleared, not kept.
	_, err = a.SyncAkutePatient(ctx, submitter)
	require.NoError(t, err)
	assert.Empty(t, f.Patients()[0].AddressLine2)
	assert.Equal(t, "93492 Peachtree Dr.", f.Patients()[0].AddressLine1)
}

// A 409 that is not our external_id (another patient conflicts) is a
// refusal for an operator, not an outage to retry for an hour.
func TestSyncAkutePatientConflictThatIsNotOurs(t *testing.T) {
	a, f := newAkute(t)
	require.NoError(t, f.Inject(fake.Fault{Status: 404, Body: `{"statusCode":404,"error":"Patient not found"}`, Times: 1}))
	require.NoError(t, f.Inject(fake.Fault{Status: 409, Body: `{"statusCode":409,"error":"Duplicate email"}`, Times: 1}))
	_, err := a.SyncAkutePatient(context.Background(), submitter)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrTypeAkuteRejected, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	var detail activities.AkuteRejection
	require.NoError(t, appErr.Details(&detail))
	assert.Equal(t, activities.AkuteRejection{StatusCode: 409, Message: "Duplicate email"}, detail)
}

// A create answered 2xx without a readable id is recorded for an operator,
// never retried into a second task.
func TestCreateAkuteTaskAmbiguousAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`<html>ok</html>`))
	}))
	t.Cleanup(srv.Close)
	a := activities.NewAkute(akute.New(akute.Config{BaseURL: srv.URL, APIKey: "k"}), "")
	_, err := a.CreateAkuteTask(context.Background(), activities.TaskRequest{Title: "t"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrTypeAkuteAmbiguous, appErr.Type())
	assert.True(t, appErr.NonRetryable())
}

func TestCreateAkuteTaskOwner(t *testing.T) {
	a, f := newAkute(t)
	ctx := context.Background()
	got, err := a.CreateAkuteTask(ctx, activities.TaskRequest{Title: "t", Priority: "p2",
		Doctor: &activities.Person{FirstName: " chris ", LastName: "TPA MEDICAL"}})
	require.NoError(t, err)
	assert.Equal(t, "usr-chris-tpa", got.OwnerID, "matched by name, ignoring case and spaces")

	got, err = a.CreateAkuteTask(ctx, activities.TaskRequest{Title: "t", Doctor: &activities.Person{FirstName: "Nobody", LastName: "Here"}})
	require.NoError(t, err)
	assert.Equal(t, "usr-ana-lee", got.OwnerID, "the default owner")

	require.NoError(t, f.Inject(fake.Fault{Status: 503, RetryAfter: "2", Times: 1}))
	_, err = a.CreateAkuteTask(ctx, activities.TaskRequest{Title: "t"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrTypeAkuteUnavailable, appErr.Type())
	assert.False(t, appErr.NonRetryable())
	assert.Equal(t, "2s", appErr.NextRetryDelay().String())
	assert.Len(t, f.Tasks(), 2)
}
