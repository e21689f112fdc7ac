package main

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
	"github.com/carebridge/carebridge/workflows"
)

func TestParseSendRequest(t *testing.T) {
	req, problems := parseSendRequest([]byte(`{"form_name":" f ","phone":"1","name":"N","email":"a@b.co","site_name":"ect","extra":1}`))
	assert.Nil(t, problems)
	assert.Equal(t, workflows.SendRequest{FormName: "f", Phone: "1", Name: "N", Email: "a@b.co", Instance: "ect"}, req)

	req, problems = parseSendRequest([]byte(`{"form_name":"f","phone":"1","name":"N","email":"a@b.co","instance_name":"ect","site_name":"nyc"}`))
	assert.Nil(t, problems)
	assert.Equal(t, "ect", req.Instance, "instance_name wins over site_name")

	_, problems = parseSendRequest([]byte(`{"form_name":"f","phone":"1","name":"N","email":"a@b.co","instance_name":3,"site_name":"nyc"}`))
	assert.Nil(t, problems, "a usable site_name stands in for a malformed instance_name")
}

func TestIsEmail(t *testing.T) {
	for s, want := range map[string]bool{
		"john.doe@example.com":       true,
		"john.doe+vip@example.co.uk": true,
		"john.doe@localhost":         false,
		"john.doe@example.":          false,
		"John <john@example.com>":    false,
		"john.doe.example.com":       false,
		"@example.com":               false,
	} {
		assert.Equal(t, want, isEmail(s), s)
	}
}

func TestSendFailure(t *testing.T) {
	status, e := sendFailure(temporal.NewNonRetryableApplicationError("x", activities.ErrTypePatientNotFound, nil))
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "patient_not_found", e.Code)

	status, e = sendFailure(temporal.NewNonRetryableApplicationError("activepieces answered HTTP 404", activities.ErrTypeActivepiecesFlowDisabled, nil))
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Equal(t, activities.ErrTypeActivepiecesFlowDisabled, e.Type)

	status, _ = sendFailure(errors.New("something else"))
	assert.Equal(t, http.StatusBadGateway, status)
}

// The Web UI's list shows what a run is about, never who.
func TestSummariesCarryNoPHI(t *testing.T) {
	req := workflows.SendRequest{FormName: "vip_tlc", Phone: "555-123-4567", Name: "John Doe", Email: "john.doe@example.com", Instance: "ect"}
	assert.Equal(t, "send vip_tlc lead (Realtime ect)", sendSummary(req))
	ev, err := carevalidate.Parse(carevalidatetest.Example)
	if assert.NoError(t, err) {
		assert.Equal(t, "case ADA-TOSXM · GLP · Wegovy Bundle", caseSummary(ev))
		for _, phi := range []string{"Chris", "Ordering", ev.Submitter.Email, ev.Submitter.PhoneNumber} {
			assert.NotContains(t, caseSummary(ev), phi)
		}
	}
	assert.Equal(t, "case c1", caseSummary(workflows.CaseEvent{CaseID: "c1"}), "the case id when CareValidate sent no short id")
}
