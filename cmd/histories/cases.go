package main

// The case scenarios: CareValidate deliveries, Akute webhooks and operator
// actions, each driven as the real parties would.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/workflows"
)

// caseOperatorUpdates: the operator actions as updates, refused when they
// make no sense (no trace in history) and accepted otherwise.
func caseOperatorUpdates(d *driver) ([]string, error) {
	caseID, s, err := d.syncedCase()
	if err != nil {
		return nil, err
	}
	steps := []struct {
		name     string
		accepted bool
	}{{workflows.SignalRetry, false}, {workflows.SignalPause, true}, {workflows.SignalPause, false}, {workflows.SignalResume, true}}
	for _, step := range steps {
		if err := d.update(caseID, step.name, step.accepted); err != nil {
			return nil, err
		}
	}
	if err := d.akute.Inject(fake.Fault{Status: http.StatusUnprocessableEntity, Body: `{"message":"task refused by the sandbox"}`, Times: 1}); err != nil {
		return nil, err
	}
	if err := d.deliver(s[2]); err != nil { // the decision: a task, refused
		return nil, err
	}
	if _, err := d.waitCase(caseID, "needs attention", func(s workflows.CaseState) bool { return s.Attention != nil }); err != nil {
		return nil, err
	}
	if err := d.update(caseID, workflows.SignalRetry, true); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "task created on retry", tasks(1)); err != nil {
		return nil, err
	}
	if err := d.update(caseID, workflows.SignalClose, true); err != nil {
		return nil, err
	}
	_, err = d.waitCase(caseID, "closed", func(s workflows.CaseState) bool { return s.Closed })
	return []string{workflows.CaseWorkflowID(caseID)}, err
}

// caseOperatorOrder: resume, pause, resume, pause sent while the worker is
// down, applied in one workflow task in their order.
func caseOperatorOrder(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	if err := d.deliver(script(caseID, shortID)[0]); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "patient synced", synced); err != nil {
		return nil, err
	}
	d.stack.Signal("worker", syscall.SIGTERM)
	for _, name := range []string{workflows.SignalPause, workflows.SignalResume, workflows.SignalPause} {
		if err := d.signal(caseID, name); err != nil {
			return nil, err
		}
	}
	if err := d.stack.StartWorker(); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool { return s.Paused })
}

// casePauseRetryingCall: a sync retries through an Akute outage; pause
// cancels it; resume runs it again and it goes through.
func casePauseRetryingCall(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	if err := d.outage(1000); err != nil {
		return nil, err
	}
	if err := d.deliver(script(caseID, shortID)[0]); err != nil {
		return nil, err
	}
	if err := d.waitOutageMet(); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalPause); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "paused, the call cancelled", func(s workflows.CaseState) bool {
		return s.Paused && len(s.Timeline) > 0 && s.Timeline[len(s.Timeline)-1].Type == "operator:cancelled"
	}); err != nil {
		return nil, err
	}
	if err := d.akute.Reset(); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalResume); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, synced)
}

// caseCorrectionDuringSync: the patient's address is corrected while the
// first sync retries; a second sync sends the correction.
func caseCorrectionDuringSync(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	corrected := carevalidatetest.Patient("sub-" + caseID)
	corrected["address"] = "1 Corrected Way"
	fixed := carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: shortID, Submitter: corrected}, start)
	if err := d.outage(2); err != nil {
		return nil, err
	}
	if err := d.deliver(script(caseID, shortID)[0]); err != nil {
		return nil, err
	}
	// The correction arrives once the first sync has met the outage.
	if err := d.waitOutageMet(); err != nil {
		return nil, err
	}
	if err := d.deliver(fixed[1].Body); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool {
		return synced(s) && strings.Count(timelineTypes(s), "akute:patient_") == 2
	})
}

// caseReopened: a decision redelivered after the case completed.
func caseReopened(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s...); err != nil {
		return nil, err
	}
	id := workflows.CaseWorkflowID(caseID)
	if _, err := d.runs(id); err != nil { // waits until it completed
		return nil, err
	}
	if err := d.deliver(s[2]); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "reopened, done", func(s workflows.CaseState) bool {
		return s.Reopened == 1 && s.CarebridgeStatus == workflows.StatusDone
	}); err != nil {
		return nil, err
	}
	return []string{id}, nil
}

func timelineTypes(s workflows.CaseState) string {
	var b strings.Builder
	for _, e := range s.Timeline {
		b.WriteString(e.Type + " ")
	}
	return b.String()
}

var start = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// script is a scripted case's webhook bodies: created, approved, decision,
// payment, shipped, tracking, delivered, archived.
func script(caseID, shortID string) [][]byte {
	var bodies [][]byte
	for _, step := range carevalidatetest.Script(carevalidatetest.Case{ID: caseID, ShortID: shortID}, start) {
		bodies = append(bodies, step.Body)
	}
	return bodies
}

// caseFullLife: all 16 documented event types, full-case and event-only,
// some out of order, some delivered twice, to the archive.
func caseFullLife(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	at := func(min int) time.Time { return start.Add(time.Duration(min) * time.Minute) }
	act := func(n int) string { return fmt.Sprintf("%s-extra-%02d", caseID, n) }
	only := func(n int, event string, extra map[string]any) []byte {
		return carevalidatetest.EventOnly(caseID, event, act(n), at(n), extra)
	}
	support := map[string]any{"id": "support-1", "firstName": "Sam", "lastName": "Support"}
	bodies := [][]byte{
		s[0], // CREATE_CASE
		only(1, "ADD_CASE_ASSIGNEE", map[string]any{"targetUser": support}),
		s[1], // CHANGE_CASE_STATUS OPEN -> APPROVED
		only(1, "ADD_FORM_RESPONSE", nil),
		only(2, "ADD_CASE_COMMENT", nil),
		only(2, "ADD_CASE_ATTACHMENT", nil),
		only(3, "DELETE_ATTACHMENT", nil),
		only(3, "ESCALATE_CASE", nil),
		only(4, "DEESCALATE_CASE", nil),
		s[2], s[2], // ADD_CASE_DECISION, delivered twice
		only(3, "PAYMENT_ADDED", map[string]any{"payment": map[string]any{"id": caseID + "-payment", "amount": "350", "status": "PENDING"}}),
		s[3],       // PAYMENT_COMPLETED
		s[5],       // ORDER_TRACKING_ADDED before the order's SHIPPED
		s[4],       // ORDER_STATUS_CHANGED SHIPPED
		s[6], s[4], // DELIVERED, then SHIPPED again (older: ignored)
		only(5, "REMOVE_CASE_ASSIGNEE", map[string]any{"targetUser": support}),
		only(0, "CHANGE_CASE_STATUS", map[string]any{"valueBefore": "APPROVED", "valueAfter": "OPEN"}), // stale
		s[7], // ARCHIVE_CASE
	}
	if err := d.deliver(bodies...); err != nil {
		return nil, err
	}
	_, err := d.waitCase(caseID, "done", func(s workflows.CaseState) bool { return s.CarebridgeStatus == workflows.StatusDone })
	return []string{workflows.CaseWorkflowID(caseID)}, err
}

// caseAttentionRetrySkip: Akute refuses a task; an operator retries and it
// goes through. Akute refuses the next; an operator skips it.
func caseAttentionRetrySkip(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s[0], s[1]); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "patient synced", synced); err != nil {
		return nil, err
	}
	needsAttention := func(s workflows.CaseState) bool { return s.CarebridgeStatus == workflows.StatusNeedsAttention }
	refusal := fake.Fault{Status: http.StatusUnprocessableEntity, Body: `{"message":"task refused by the sandbox"}`, Times: 1}
	if err := d.akute.Inject(refusal); err != nil {
		return nil, err
	}
	if err := d.deliver(s[2]); err != nil { // the decision: a task
		return nil, err
	}
	if _, err := d.waitCase(caseID, "needs attention", needsAttention); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalRetry); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "task created on retry", tasks(1)); err != nil {
		return nil, err
	}
	if err := d.akute.Inject(refusal); err != nil {
		return nil, err
	}
	if err := d.deliver(s[5]); err != nil { // tracking: a task
		return nil, err
	}
	if _, err := d.waitCase(caseID, "needs attention again", needsAttention); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalSkip); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool {
		return s.Attention == nil && len(s.Pending) == 0 && len(s.Tasks) == 1
	})
}

// casePauseResume: paused, a decision arrives and waits; resumed, its task
// is created.
func casePauseResume(d *driver) ([]string, error) {
	caseID, s, err := d.syncedCase()
	if err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalPause); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "paused", func(s workflows.CaseState) bool { return s.Paused }); err != nil {
		return nil, err
	}
	if err := d.deliver(s[1], s[2]); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "decision waiting", func(s workflows.CaseState) bool { return len(s.Pending) == 1 }); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalResume); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, tasks(1))
}

// caseResync: an operator pushes the patient to Akute again.
func caseResync(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	if err := d.deliver(script(caseID, shortID)[0]); err != nil {
		return nil, err
	}
	if _, err := d.waitCase(caseID, "patient synced", synced); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalResync); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool { return s.Akute.LastSync == "unchanged" })
}

// caseClose: an operator closes a case mid-life.
func caseClose(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s[0], s[1], s[2]); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, tasks(1))
}

// caseContinuedAsNew: a burst of comments longer than a run's signal bound.
func caseContinuedAsNew(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s[0], s[1], s[2]); err != nil {
		return nil, err
	}
	for i := range 40 {
		at := start.Add(time.Duration(10+i) * time.Second)
		if err := d.deliver(carevalidatetest.EventOnly(caseID, "ADD_CASE_COMMENT", fmt.Sprintf("%s-comment-%02d", caseID, i), at, nil)); err != nil {
			return nil, err
		}
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool { return s.Runs >= 1 && s.EventsApplied == 43 && len(s.Tasks) == 1 })
}

// caseAkuteSignals: Akute tells the case its task changed and a
// prescription reached the pharmacy.
func caseAkuteSignals(d *driver) ([]string, error) {
	caseID, shortID := d.newCase()
	s := script(caseID, shortID)
	if err := d.deliver(s[0], s[1], s[2]); err != nil {
		return nil, err
	}
	st, err := d.waitCase(caseID, "task created", tasks(1))
	if err != nil {
		return nil, err
	}
	if err := d.akuteSandbox("/_sandbox/tasks/"+st.Tasks[0].TaskID+"/status", map[string]string{"status": "complete"}); err != nil {
		return nil, err
	}
	if err := d.akuteSandbox("/_sandbox/medications", akute.Medication{PatientID: st.Akute.PatientID,
		DisplayName: "Saxenda 0.6mg/0.1mL", RxStatus: "pharmacy verified", Status: "active", PrescriptionID: 4711}); err != nil {
		return nil, err
	}
	return closeCase(d, caseID, func(s workflows.CaseState) bool { return s.OpenTasks == 0 && len(s.Medications) == 1 })
}

// akuteUnrouted: Akute deliveries no case claims, one of them twice.
func akuteUnrouted(d *driver) ([]string, error) {
	for _, body := range []string{
		`{"event":"patient.updated","id":"evt-hist-unknown-1","data":{"id":"pat-hist"}}`,
		`{"event":"task.updated","id":"evt-hist-orphan-1","data":{"id":"task-nobody","status":"complete","tags":["other"]}}`,
		`{"event":"task.updated","id":"evt-hist-orphan-1","data":{"id":"task-nobody","status":"complete","tags":["other"]}}`,
	} {
		if err := d.akuteSandbox("/_sandbox/webhooks", json.RawMessage(body)); err != nil {
			return nil, err
		}
	}
	return []string{workflows.AkuteUnroutedID(time.Now())}, nil
}

func synced(s workflows.CaseState) bool { return s.Akute.PatientID != "" && len(s.Pending) == 0 }

func tasks(n int) func(workflows.CaseState) bool {
	return func(s workflows.CaseState) bool { return len(s.Tasks) == n && len(s.Pending) == 0 }
}

// closeCase waits for ready, then closes the case with the operator's
// signal and waits until it is done.
func closeCase(d *driver, caseID string, ready func(workflows.CaseState) bool) ([]string, error) {
	if _, err := d.waitCase(caseID, "ready to close", ready); err != nil {
		return nil, err
	}
	if err := d.signal(caseID, workflows.SignalClose); err != nil {
		return nil, err
	}
	_, err := d.waitCase(caseID, "closed", func(s workflows.CaseState) bool { return s.Closed })
	return []string{workflows.CaseWorkflowID(caseID)}, err
}
