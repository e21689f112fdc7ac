package akute_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/akutetest"
	"github.com/carebridge/carebridge/fakes/fake"
)

var ctx = context.Background()

func newFake(t *testing.T) (*akute.Client, *akutetest.Server) {
	t.Helper()
	f := akutetest.New("key")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return akute.New(akute.Config{BaseURL: srv.URL, APIKey: "key"}), f
}

var patient = akute.Patient{
	FirstName: "Chris", LastName: "Ordering", Status: "active", ExternalID: "y1fov", DateOfBirth: "2000-05-30",
	Sex: "male", AddressLine1: "93492 Peachtree Dr.", AddressCity: "Baton Rouge", AddressState: "LA",
	AddressZipcode: "70360", Email: "chris@example.com", PrimaryPhoneNumber: "2258675309", PrimaryPhoneType: "mobile",
}

func TestPatients(t *testing.T) {
	c, f := newFake(t)
	id, err := c.CreatePatient(ctx, patient)
	require.NoError(t, err)
	require.NotEmpty(t, id)

	got, err := c.GetPatient(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "Baton Rouge", got.AddressCity)

	byExt, err := c.GetPatientByExternalID(ctx, "y1fov")
	require.NoError(t, err)
	assert.Equal(t, id, byExt.ID)

	_, err = c.GetPatientByExternalID(ctx, "nobody")
	assert.ErrorIs(t, err, akute.ErrNotFound)
	_, err = c.GetPatient(ctx, "pat-missing")
	assert.ErrorIs(t, err, akute.ErrNotFound)

	require.NoError(t, c.UpdatePatient(ctx, id, akute.Patient{AddressCity: "New Orleans"}))
	got, _ = c.GetPatient(ctx, id)
	assert.Equal(t, "New Orleans", got.AddressCity)
	assert.Equal(t, "Chris", got.FirstName, "an update changes only what it sends")

	found, err := c.SearchPatients(ctx, akute.PatientSearch{LastName: "ordering"})
	require.NoError(t, err)
	assert.Len(t, found, 1)

	_, err = c.CreatePatient(ctx, patient)
	var ae *akute.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 409, ae.StatusCode)
	assert.Contains(t, ae.Message, "external_id", "Akute's own words are kept for operators")
	assert.Equal(t, "akute answered HTTP 409", err.Error(), "but never printed")

	reqs := f.Requests()
	assert.Equal(t, "key", reqs[0].Header.Get("X-API-Key"))
}

func TestPatientValidationBeforeSending(t *testing.T) {
	c, f := newFake(t)
	for field, mutate := range map[string]func(*akute.Patient){
		"first_name":           func(p *akute.Patient) { p.FirstName = "" },
		"last_name":            func(p *akute.Patient) { p.LastName = "A name that is far longer than thirty-five" },
		"date_of_birth":        func(p *akute.Patient) { p.DateOfBirth = "05/30/2000" },
		"sex":                  func(p *akute.Patient) { p.Sex = "MALE" },
		"address_state":        func(p *akute.Patient) { p.AddressState = "Louisiana" },
		"address_zipcode":      func(p *akute.Patient) { p.AddressZipcode = "70360-1234" },
		"email":                func(p *akute.Patient) { p.Email = "chris" },
		"primary_phone_number": func(p *akute.Patient) { p.PrimaryPhoneNumber = "+1 225 867 5309" },
		"primary_phone_type":   func(p *akute.Patient) { p.PrimaryPhoneType = "work" },
		"status":               func(p *akute.Patient) { p.Status = "" },
	} {
		p := patient
		mutate(&p)
		_, err := c.CreatePatient(ctx, p)
		var ve *akute.ValidationError
		require.ErrorAs(t, err, &ve, field)
		assert.Equal(t, field, ve.Field)
		assert.True(t, akute.IsValidation(err))
	}
	assert.Empty(t, f.Requests(), "nothing invalid left the client")
	assert.Error(t, c.UpdatePatient(ctx, "", akute.Patient{}))
	assert.Error(t, c.UpdatePatient(ctx, "pat-1", akute.Patient{AddressZipcode: "1"}))
}

func TestAkuteRefusesWhatOnlyItKnows(t *testing.T) {
	c, _ := newFake(t)
	p := patient
	p.AddressState = "ZZ" // two letters, but no state
	_, err := c.CreatePatient(ctx, p)
	var ae *akute.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 400, ae.StatusCode)
	assert.False(t, ae.Temporary())
}

func TestTasks(t *testing.T) {
	c, f := newFake(t)
	pid, err := c.CreatePatient(ctx, patient)
	require.NoError(t, err)
	id, err := c.CreateTask(ctx, akute.Task{Task: "Review decision", PatientID: pid, Priority: "p2",
		OwnerID: "usr-chris-tpa", Tags: []string{"carebridge", "case:ADA-TOSXM"}})
	require.NoError(t, err)
	task, err := c.GetTask(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "not-started", task.Status)
	assert.Equal(t, []string{"carebridge", "case:ADA-TOSXM"}, task.Tags)
	assert.Len(t, f.Tasks(), 1)

	_, err = c.GetTask(ctx, "task-missing")
	assert.ErrorIs(t, err, akute.ErrNotFound)
	_, err = c.CreateTask(ctx, akute.Task{Task: "x", Priority: "urgent"})
	assert.True(t, akute.IsValidation(err))
	_, err = c.CreateTask(ctx, akute.Task{})
	assert.True(t, akute.IsValidation(err))
	_, err = c.CreateTask(ctx, akute.Task{Task: "x", OwnerID: "usr-nobody"})
	var ae *akute.Error
	assert.ErrorAs(t, err, &ae)
}

func TestInsurance(t *testing.T) {
	c, _ := newFake(t)
	pid, _ := c.CreatePatient(ctx, patient)
	created, err := c.CreateInsurance(ctx, akute.Insurance{MemberID: "M1", Status: "active", Order: 1, Payor: "UHC Choice Plus", PatientID: pid})
	require.NoError(t, err)
	assert.NotEmpty(t, created.RxID)
	assert.NotEmpty(t, created.MedicalID, "no type creates both policies")

	policy, err := c.GetInsurance(ctx, created.RxID)
	require.NoError(t, err)
	assert.Equal(t, "rx", policy.Type)
	list, err := c.ListInsurance(ctx, akute.InsuranceQuery{PatientID: pid})
	require.NoError(t, err)
	assert.Len(t, list, 2)

	_, err = c.CreateInsurance(ctx, akute.Insurance{MemberID: "M1", Status: "active", Order: 4, Payor: "P", PatientID: pid})
	assert.True(t, akute.IsValidation(err))
	_, err = c.CreateInsurance(ctx, akute.Insurance{MemberID: "M1", Status: "active", Order: 1, Payor: "P"})
	assert.True(t, akute.IsValidation(err), "a patient is required")
	_, err = c.ListInsurance(ctx, akute.InsuranceQuery{})
	assert.True(t, akute.IsValidation(err))
}

func TestMedicationsPharmaciesUsersObservations(t *testing.T) {
	c, f := newFake(t)
	pid, _ := c.CreatePatient(ctx, patient)
	f.AddMedication(akute.Medication{DisplayName: "Saxenda 0.6mg", PatientID: pid, RxStatus: "pharmacy verified"})
	meds, err := c.ListMedications(ctx, akute.MedicationQuery{PatientID: pid})
	require.NoError(t, err)
	require.Len(t, meds, 1)
	assert.Equal(t, "Saxenda 0.6mg", meds[0].DisplayName)
	_, err = c.ListMedications(ctx, akute.MedicationQuery{})
	assert.True(t, akute.IsValidation(err))
	_, err = c.ListMedications(ctx, akute.MedicationQuery{PatientID: pid, StartDate: "yesterday"})
	assert.True(t, akute.IsValidation(err))

	pharmacies, err := c.SearchPharmacies(ctx, akute.PharmacySearch{State: "LA"})
	require.NoError(t, err)
	require.Len(t, pharmacies, 1)
	require.NoError(t, c.AddPharmacyToPatient(ctx, akute.PatientPharmacy{PatientID: pid, PharmacyID: pharmacies[0].ID, SetAsPrimary: true}))
	assert.Error(t, c.AddPharmacyToPatient(ctx, akute.PatientPharmacy{PatientID: pid, PharmacyID: "9999"}))
	assert.True(t, akute.IsValidation(c.AddPharmacyToPatient(ctx, akute.PatientPharmacy{PharmacyID: "ph-1"})))
	_, err = c.SearchPharmacies(ctx, akute.PharmacySearch{Zip: "123"})
	assert.True(t, akute.IsValidation(err))

	users, err := c.ListUsers(ctx)
	require.NoError(t, err)
	assert.Equal(t, akutetest.Users, users)
	u, err := c.GetUser(ctx, "usr-ana-lee")
	require.NoError(t, err)
	assert.Equal(t, "Lee", u.LastName)
	_, err = c.GetUser(ctx, "usr-x")
	assert.ErrorIs(t, err, akute.ErrNotFound)

	obs, err := c.ListObservations(ctx, pid, "")
	require.NoError(t, err)
	assert.Empty(t, obs, "204 No Content is an empty list")
	f.AddObservation(akute.Observation{ID: "obs-1", Name: "A1C", Category: "laboratory", PatientID: pid, Value: "5.4"})
	obs, err = c.ListObservations(ctx, pid, "")
	require.NoError(t, err)
	assert.Len(t, obs, 1)
	one, err := c.GetObservation(ctx, "obs-1")
	require.NoError(t, err)
	assert.Equal(t, akute.Text("5.4"), one.Value)
	_, err = c.ListObservations(ctx, "", "")
	assert.True(t, akute.IsValidation(err))
}

func TestErrorsAndTransientAnswers(t *testing.T) {
	c, f := newFake(t)
	bad := akute.New(akute.Config{BaseURL: "http://" + "127.0.0.1:1", APIKey: "key"})
	_, err := bad.ListUsers(ctx)
	require.Error(t, err)

	require.NoError(t, f.Inject(fake.Fault{Status: 503, RetryAfter: "4", Times: 1}))
	_, err = c.ListUsers(ctx)
	var ae *akute.Error
	require.ErrorAs(t, err, &ae)
	assert.True(t, ae.Temporary())
	assert.EqualValues(t, 4e9, ae.RetryAfter)

	wrongKey := akute.New(akute.Config{BaseURL: serverURL(t, f), APIKey: "nope"})
	_, err = wrongKey.ListUsers(ctx)
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 401, ae.StatusCode)
	assert.Equal(t, "Invalid API key", ae.Message)
}

func TestUnreadableAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>"))
	}))
	defer srv.Close()
	_, err := akute.New(akute.Config{BaseURL: srv.URL}).ListUsers(ctx)
	assert.EqualError(t, err, "akute: unreadable answer to GET /users")
}

func serverURL(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// answer is an httptest server answering every request with one response.
func answer(t *testing.T, status int, header map[string]string, body string) *akute.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return akute.New(akute.Config{BaseURL: srv.URL, APIKey: "key"})
}

// A create's id comes from the body, else from the Location header the
// reference promises; with neither, the create is ambiguous, never "".
func TestCreateReadsTheIDFromTheBodyOrTheLocation(t *testing.T) {
	for _, tc := range []struct {
		name, location, body, want string
	}{
		{"id in the body", "", `{"id":"pat-1"}`, "pat-1"},
		{"Location, absolute", "https://api.staging.akutehealth.com/v1/patients/pat-2", ``, "pat-2"},
		{"Location, a path", "/v1/patients/pat-3/", `{}`, "pat-3"},
		{"empty id, Location", "/v1/patients/pat-4", `{"id":""}`, "pat-4"},
	} {
		c := answer(t, http.StatusCreated, map[string]string{"Location": tc.location}, tc.body)
		id, err := c.CreatePatient(ctx, patient)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, id, tc.name)
	}
	for _, tc := range []struct{ name, location, body string }{
		{"nothing at all", "", ``},
		{"empty id, no Location", "", `{"id":""}`},
		{"Location names the collection", "/v1/patients", `{}`},
		{"a body that is not JSON", "/v1/patients/pat-5", `<html>`},
	} {
		c := answer(t, http.StatusCreated, map[string]string{"Location": tc.location}, tc.body)
		id, err := c.CreatePatient(ctx, patient)
		assert.ErrorIs(t, err, akute.ErrAmbiguousCreate, tc.name)
		assert.Empty(t, id, tc.name)
		_, err = c.CreateTask(ctx, akute.Task{Task: "t"})
		assert.ErrorIs(t, err, akute.ErrAmbiguousCreate, tc.name)
	}
}

// Fields the reference documents in two JSON types decode in both.
func TestNumbersOrStringsDecode(t *testing.T) {
	c := answer(t, http.StatusOK, nil, `[{"id":"o1","value":7.10,"value_type":"quantity","reference_range_low":4,"reference_range_high":"5.6"},
		{"id":"o2","value":"negative","value_type":"string","reference_range_low":null}]`)
	obs, err := c.ListObservations(ctx, "pat-1", "")
	require.NoError(t, err)
	assert.Equal(t, akute.Text("7.10"), obs[0].Value, "a number exactly as written")
	assert.Equal(t, akute.Text("4"), obs[0].ReferenceRangeLow)
	assert.Equal(t, akute.Text("5.6"), obs[0].ReferenceRangeHigh)
	assert.Equal(t, akute.Text("negative"), obs[1].Value)

	c = answer(t, http.StatusOK, nil, `[{"display_name":"A","pharmacy_id":1001},{"display_name":"B","pharmacy_id":"1002"}]`)
	meds, err := c.ListMedications(ctx, akute.MedicationQuery{PatientID: "pat-1"})
	require.NoError(t, err)
	assert.Equal(t, akute.Text("1001"), meds[0].PharmacyID)
	assert.Equal(t, akute.Text("1002"), meds[1].PharmacyID)

	c = answer(t, http.StatusOK, nil, `[{"id":"o1","value":{"nested":true}}]`)
	_, err = c.ListObservations(ctx, "pat-1", "")
	assert.EqualError(t, err, "akute: unreadable answer to GET /observations", "an object is neither")
}

func TestDocumentedNotFounds(t *testing.T) {
	c, f := newFake(t)
	assert.ErrorIs(t, c.UpdatePatient(ctx, "pat-missing", akute.Patient{AddressCity: "X"}), akute.ErrNotFound)
	_, err := c.ListObservations(ctx, "pat-missing", "")
	assert.ErrorIs(t, err, akute.ErrNotFound)
	assert.NotEmpty(t, f.Requests())
}

// Every one of GET /patients' 15 documented filters reaches Akute.
func TestSearchPatientsByEveryFilter(t *testing.T) {
	c, _ := newFake(t)
	p := patient
	p.MiddleName, p.AddressLine2, p.AppointmentState = "Q", "Apt 5", "NJ"
	_, err := c.CreatePatient(ctx, p)
	require.NoError(t, err)
	all := akute.PatientSearch{FirstName: "chris", MiddleName: "Q", LastName: "Ordering", Status: "active",
		DateOfBirth: "2000-05-30", Sex: "male", AddressLine1: "93492 Peachtree Dr.", AddressLine2: "Apt 5",
		AddressCity: "Baton Rouge", AddressState: "LA", AddressZipcode: "70360", Email: "chris@example.com",
		PrimaryPhoneNumber: "2258675309", PrimaryPhoneType: "mobile", AppointmentState: "NJ"}
	found, err := c.SearchPatients(ctx, all)
	require.NoError(t, err)
	assert.Len(t, found, 1)
	// Each filter on its own, with a value that matches no one, finds no one:
	// so each one is sent, under the name Akute reads.
	v := reflect.ValueOf(&all).Elem()
	for i := range v.NumField() {
		one := akute.PatientSearch{}
		reflect.ValueOf(&one).Elem().Field(i).SetString("no-such-value")
		found, err := c.SearchPatients(ctx, one)
		require.NoError(t, err, v.Type().Field(i).Name)
		assert.Empty(t, found, v.Type().Field(i).Name)
	}
	assert.Equal(t, 15, v.NumField())
}

// The fake reads its own types, written from the reference: a field under a
// name the reference does not have is refused, so a wrong tag cannot pass.
func TestTheFakeRefusesUndocumentedFields(t *testing.T) {
	_, f := newFake(t)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	for path, body := range map[string]string{
		"/patients":  `{"first_name":"A","last_name":"B","status":"active","date_of_birth":"2000-01-01","sex":"male","address_line_1":"1 St","address_city":"C","address_state":"LA","address_zipcode":"70360","email":"a@b.co","primary_phone_number":"2258675309","primary_phone_type":"mobile","phone":"x"}`,
		"/tasks":     `{"task":"t","title":"x"}`,
		"/insurance": `{"member_id":"M","status":"active","order":1,"payor":"P","patient_id":"p","memberId":"x"}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("X-API-Key", "key")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, path)
		assert.Contains(t, string(b), "unknown field", path)
	}
}

// The fake applies the reference's rules the client does not check itself.
func TestTheFakeAppliesTheDocumentedRules(t *testing.T) {
	c, _ := newFake(t)
	refused := func(err error) int {
		var ae *akute.Error
		if errors.As(err, &ae) {
			return ae.StatusCode
		}
		return 0
	}
	id, err := c.CreatePatient(ctx, patient)
	require.NoError(t, err)
	p := patient
	p.ExternalID, p.AddressState = "other", "ON" // a Canadian province
	_, err = c.CreatePatient(ctx, p)
	assert.Equal(t, 400, refused(err), "not a US state")

	// Insurance: a new active policy of the same type and order overwrites.
	first, err := c.CreateInsurance(ctx, akute.Insurance{MemberID: "M1", Status: "active", PatientID: id, Type: "rx", Order: 1, Payor: "UHC"})
	require.NoError(t, err)
	second, err := c.CreateInsurance(ctx, akute.Insurance{MemberID: "M2", Status: "active", PatientID: id, Type: "rx", Order: 1, Payor: "Aetna"})
	require.NoError(t, err)
	_, err = c.GetInsurance(ctx, first.RxID)
	assert.ErrorIs(t, err, akute.ErrNotFound, "overwritten")
	byMember, err := c.ListInsurance(ctx, akute.InsuranceQuery{ExternalPatientID: "y1fov", MemberID: "M2"})
	require.NoError(t, err)
	require.Len(t, byMember, 1)
	assert.Equal(t, second.RxID, byMember[0].ID)
	_, err = c.CreateInsurance(ctx, akute.Insurance{MemberID: "M3", Status: "active", PatientID: id, Type: "rx", Order: 2, Payor: "Cigna"})
	require.NoError(t, err)
	all, _ := c.ListInsurance(ctx, akute.InsuranceQuery{PatientID: id})
	assert.Len(t, all, 2, "another order is another policy")

	// Pharmacies by address and by phone or fax.
	byAddress, err := c.SearchPharmacies(ctx, akute.PharmacySearch{Address: "hudson st"})
	require.NoError(t, err)
	require.Len(t, byAddress, 1)
	byFax, err := c.SearchPharmacies(ctx, akute.PharmacySearch{PhoneOrFax: "2255550101"})
	require.NoError(t, err)
	require.Len(t, byFax, 1)
	assert.Equal(t, "Peachtree Pharmacy", byFax[0].Name)
}
