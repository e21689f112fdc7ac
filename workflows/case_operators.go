package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// registerHandlers registers the state query and the operator updates,
// each with its description; the signals are described where their
// channels are opened (caseChannels).
func (r *caseRun) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryState, func() (*CaseState, error) { return r.view(), nil },
		workflow.QueryHandlerOptions{Description: handlerDescriptions[QueryState]}); err != nil {
		return err
	}
	for _, action := range OperatorActions {
		err := workflow.SetUpdateHandlerWithOptions(ctx, action,
			func(ctx workflow.Context) (OperatorAnswer, error) {
				r.signals++ // an update grows history as a signal does
				done := r.operate(ctx, action)
				r.operated = true // the main loop publishes the change
				return OperatorAnswer{Action: action, Done: done, CarebridgeStatus: r.view().CarebridgeStatus}, nil
			},
			workflow.UpdateHandlerOptions{
				Validator:   func(workflow.Context) error { return r.refusal(action) },
				Description: handlerDescriptions[action] + " Refused, with the reason, when it makes no sense now.",
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// refusal says why an operator action makes no sense in the case's state
// now, or nil. It only reads: a validator must not change the workflow.
func (r *caseRun) refusal(action string) error {
	s := r.state
	reason := ""
	nothingFailed := s.Attention == nil && !r.inFlight()
	switch {
	case s.Closed:
		reason = "the case is closed"
	case action == SignalPause && s.Paused:
		reason = "the case is already paused"
	case action == SignalResume && !s.Paused:
		reason = "the case is not paused"
	case action == SignalRetry && nothingFailed:
		reason = "nothing to retry: no Akute step failed and no call is in flight"
	case action == SignalSkip && nothingFailed:
		reason = "nothing to skip: no Akute step waits for an operator and no call is in flight"
	case action == SignalResync && r.submitter == nil:
		reason = "nothing to resync: no patient data received yet"
	}
	if reason == "" {
		return nil
	}
	return temporal.NewApplicationErrorWithOptions(action+" refused: "+reason, ErrTypeActionRefused,
		temporal.ApplicationErrorOptions{NonRetryable: true})
}

// details is the case's current details in the Web UI (markdown): its
// status, what it waits for, the attention reason in Akute's words, the
// Akute patient and open tasks. No PHI: ids, statuses and Akute's errors.
func (r *caseRun) details() string {
	s := r.view()
	var b strings.Builder
	fmt.Fprintf(&b, "**carebridge:** %s", s.CarebridgeStatus)
	if s.Status != "" {
		fmt.Fprintf(&b, " · **CareValidate:** %s", s.Status)
	}
	if s.ShortID != "" {
		fmt.Fprintf(&b, " · **case:** %s", s.ShortID)
	}
	fmt.Fprintf(&b, "\n\n**Waiting for:** %s", r.waitingFor(s))
	if a := s.Attention; a != nil {
		fmt.Fprintf(&b, "\n\n**Needs attention:** %s failed (%s): %s", a.Item.Kind, a.ErrorType, a.Error)
		if d := a.Detail; d != nil {
			if d.Field != "" && !strings.Contains(a.Error, d.Field) {
				fmt.Fprintf(&b, " — field %s %s", d.Field, d.Problem)
			}
			if d.Message != "" {
				fmt.Fprintf(&b, " — Akute (HTTP %d): %q", d.StatusCode, d.Message)
			}
		}
		b.WriteString("\n\nRetry or skip it: `temporal workflow update execute --name retry` (or `skip`).")
	}
	patient := s.Akute.PatientID
	if patient == "" {
		patient = "not synced yet"
	}
	fmt.Fprintf(&b, "\n\n**Akute patient:** %s · **open tasks:** %d", patient, s.OpenTasks)
	if ids := r.taskIDs(); len(ids) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(keepLast(ids, 10), ", "))
	}
	fmt.Fprintf(&b, "\n\n**Events applied:** %d · **duplicates ignored:** %d", s.EventsApplied, s.Duplicates)
	return b.String()
}

func (r *caseRun) waitingFor(s *CaseState) string {
	switch {
	case s.CarebridgeStatus == StatusDone && s.Archived && !s.Closed:
		return "late deliveries, until the archive grace ends; then the run completes"
	case s.CarebridgeStatus == StatusDone:
		return "nothing: the case is done"
	case s.Closed:
		return "the Akute call in flight to answer, then the case closes"
	case s.Paused:
		return "an operator's resume (paused)"
	case s.Attention != nil:
		return "an operator: retry or skip the failed step"
	case r.busy:
		return fmt.Sprintf("Akute: %s in flight (%d queued behind it)", r.currentKind(), len(s.Pending)-1)
	case len(s.Pending) > 0:
		return fmt.Sprintf("Akute: %d call(s) queued", len(s.Pending))
	default:
		return "CareValidate's next event"
	}
}

func (r *caseRun) currentKind() string {
	for _, it := range r.state.Pending {
		if it.ID == r.current {
			return workSummary(it)
		}
	}
	return "a call"
}

// workSummary names an Akute call in the Web UI ("create Akute task:
// decision"), without PHI.
func workSummary(item WorkItem) string {
	if item.Kind == workCreateTask {
		return "create Akute task: " + item.TaskKind
	}
	return "sync the patient to Akute"
}
