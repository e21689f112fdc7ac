package main

import (
	"fmt"
	"maps"
	"net/http"

	"github.com/carebridge/carebridge/fakes/fake"
)

// scenario is one recorded history (or a few): run drives it and returns the
// workflow ids to export.
type scenario struct {
	name string
	run  func(d *driver) ([]string, error)
}

// scenarios are every history the replay test expects, one per life
// (workflows/testdata/histories/README.md says what each run did).
var scenarios = []scenario{
	{name: "send-succeeded", run: sendSucceeded},
	{name: "send-retried-503", run: sendRetried503},
	{name: "send-patient-not-found", run: sendPatientNotFound},
	{name: "case-full-life", run: caseFullLife},
	{name: "case-attention-retry-skip", run: caseAttentionRetrySkip},
	{name: "case-pause-resume", run: casePauseResume},
	{name: "case-resync", run: caseResync},
	{name: "case-close", run: caseClose},
	{name: "case-continued-as-new", run: caseContinuedAsNew},
	{name: "case-akute-signals", run: caseAkuteSignals},
	{name: "case-operator-order", run: caseOperatorOrder},
	{name: "case-pause-retrying-call", run: casePauseRetryingCall},
	{name: "case-correction-during-sync", run: caseCorrectionDuringSync},
	{name: "case-reopened", run: caseReopened},
	{name: "case-operator-updates", run: caseOperatorUpdates},
	{name: "akute-unrouted", run: akuteUnrouted},
}

var johnDoe = map[string]string{"form_name": "vip_tlc_bunionectomy_ect", "phone": "555-123-4567",
	"name": "John Doe", "email": "john.doe@example.com", "instance_name": "ect"}

func sendSucceeded(d *driver) ([]string, error) {
	id, err := d.send(johnDoe, http.StatusOK)
	return []string{id}, err
}

// sendRetried503: Alleviate answers 503 twice, then takes the lead.
func sendRetried503(d *driver) ([]string, error) {
	alleviate := fake.Control{URL: d.stack.SandboxURL + "/alleviate"}
	if err := alleviate.Reset(); err != nil {
		return nil, err
	}
	if err := alleviate.Inject(fake.Fault{Status: http.StatusServiceUnavailable, Times: 2}); err != nil {
		return nil, err
	}
	id, err := d.send(johnDoe, http.StatusOK)
	if err != nil {
		return nil, err
	}
	if got, err := alleviate.Requests(); err != nil || len(got) != 3 {
		return nil, fmt.Errorf("alleviate saw %d requests, want 2 refused and 1 served (%v)", len(got), err)
	}
	return []string{id}, nil
}

// sendPatientNotFound: Realtime knows no patient with the lead's e-mail.
func sendPatientNotFound(d *driver) ([]string, error) {
	lead := maps.Clone(johnDoe)
	lead["email"] = "nobody@example.com"
	id, err := d.send(lead, http.StatusNotFound)
	return []string{id}, err
}
