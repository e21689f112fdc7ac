package alleviate_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/clients/upstream"
	"github.com/carebridge/carebridge/fakes/alleviatetest"
	"github.com/carebridge/carebridge/fakes/fake"
)

var lead = alleviate.Lead{
	FormName: "vip_tlc_bunionectomy_ect", Phone: "555-123-4567", Name: "John Doe",
	PatientID: 139712, Email: "john.doe@example.com",
}

func TestPostLeadRequest(t *testing.T) {
	var seen *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Clone(context.Background())
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := alleviate.New(alleviate.Config{BaseURL: srv.URL, APIKey: "k1"})
	answer, err := c.PostLead(context.Background(), lead)
	require.NoError(t, err)

	assert.Equal(t, http.MethodPost, seen.Method)
	assert.Equal(t, "/participant-by-form-name", seen.URL.Path)
	assert.Equal(t, "patients_vip", seen.URL.Query().Get("source"))
	assert.Equal(t, "k1", seen.Header.Get("X-API-Key"))
	assert.JSONEq(t, `{"form_name":"vip_tlc_bunionectomy_ect","phone":"555-123-4567","name":"John Doe",
		"patient_id":139712,"email":"john.doe@example.com"}`, string(body), "the reference's body, patient_id a number")
	assert.Equal(t, 200, answer.StatusCode)
	assert.Equal(t, `{"ok":true}`, answer.Body)
	assert.Equal(t, "application/json", answer.ContentType)
}

func TestPostLeadSource(t *testing.T) {
	var source string
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		source = r.URL.Query().Get("source")
	}))
	defer srv.Close()
	_, err := alleviate.New(alleviate.Config{BaseURL: srv.URL, Source: "patients_other"}).PostLead(context.Background(), lead)
	require.NoError(t, err)
	assert.Equal(t, "patients_other", source)
}

func TestPostLeadFinalAnswersPassThrough(t *testing.T) {
	for _, status := range []int{200, 201, 400, 401, 404, 409, 422} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(status)
			_, _ = w.Write([]byte("answer body"))
		}))
		answer, err := alleviate.New(alleviate.Config{BaseURL: srv.URL}).PostLead(context.Background(), lead)
		srv.Close()
		require.NoError(t, err, "status %d is Alleviate's answer, not an error", status)
		assert.Equal(t, status, answer.StatusCode)
		assert.Equal(t, "answer body", answer.Body)
		assert.Equal(t, "text/plain", answer.ContentType)
	}
}

func TestPostLeadTransientAnswersAreErrors(t *testing.T) {
	for _, status := range []int{408, 429, 500, 502, 503, 504} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(status)
		}))
		_, err := alleviate.New(alleviate.Config{BaseURL: srv.URL}).PostLead(context.Background(), lead)
		srv.Close()
		var se *upstream.StatusError
		require.ErrorAs(t, err, &se, "status %d", status)
		assert.True(t, se.Temporary())
		assert.Equal(t, 3*time.Second, se.RetryAfter)
	}
}

func TestAgainstTheFake(t *testing.T) {
	f := alleviatetest.New("key")
	srv := httptest.NewServer(f)
	defer srv.Close()

	answer, err := alleviate.New(alleviate.Config{BaseURL: srv.URL, APIKey: "key"}).PostLead(context.Background(), lead)
	require.NoError(t, err)
	assert.Equal(t, 200, answer.StatusCode)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(answer.Body), &body))
	assert.Equal(t, true, body["success"])
	assert.Equal(t, []alleviate.Lead{lead}, f.Leads())

	answer, err = alleviate.New(alleviate.Config{BaseURL: srv.URL, APIKey: "wrong"}).PostLead(context.Background(), lead)
	require.NoError(t, err)
	assert.Equal(t, 401, answer.StatusCode, "a wrong key is Alleviate's answer")

	noID := lead
	noID.PatientID = 0
	answer, err = alleviate.New(alleviate.Config{BaseURL: srv.URL, APIKey: "key"}).PostLead(context.Background(), noID)
	require.NoError(t, err)
	assert.Equal(t, 400, answer.StatusCode)
	assert.Len(t, f.Leads(), 1, "rejected leads are not kept")

	require.NoError(t, f.Inject(fake.Fault{Status: 503, RetryAfter: "1", Times: 1}))
	_, err = alleviate.New(alleviate.Config{BaseURL: srv.URL, APIKey: "key"}).PostLead(context.Background(), lead)
	var se *upstream.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, time.Second, se.RetryAfter)
	assert.Len(t, f.Leads(), 1, "a faulted request never reaches the fake's handler")
}
