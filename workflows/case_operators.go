package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// registerUpdates registers the operator updates, each with its
// description and validator; the signals are described where their
// channels are opened (caseChannels).
func (r *caseRun) registerUpdates(ctx workflow.Context) error {
	for _, action := range OperatorActions {
		err := workflow.SetUpdateHandlerWithOptions(ctx, action,
			func(ctx workflow.Context) (OperatorAnswer, error) {
				r.signals++ // an update grows history as a signal does
				done := r.operate(ctx, action)
				r.changed = true // the main loop publishes the change
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
		reason = r.noPatientData()
	}
	if reason == "" {
		return nil
	}
	return temporal.NewApplicationErrorWithOptions(action+" refused: "+reason, ErrTypeActionRefused,
		temporal.ApplicationErrorOptions{NonRetryable: true})
}

// operate applies an operator's signal or update and says what it did.
func (r *caseRun) operate(ctx workflow.Context, name string) string {
	s := r.state
	summary := ""
	inFlight := r.inFlight()
	switch name {
	case SignalPause:
		s.Paused = true
		if inFlight {
			summary = "the call in flight is cancelled; it runs again on resume"
			r.cancel()
		}
	case SignalResume:
		s.Paused = false
	case SignalRetry:
		switch {
		case s.Attention != nil:
			summary = "retrying " + s.Attention.Item.Kind
			s.Attention = nil
		case inFlight:
			summary = "retrying the call in flight now"
			r.cancel()
		}
	case SignalSkip:
		switch a := s.Attention; {
		case a != nil:
			summary = "skipped " + a.Item.Kind
			r.startEmpty = a.Item.Kind == workReadLastRun
			r.removeItem(a.Item.ID)
			s.Attention = nil
		case inFlight:
			summary = "skipping the call in flight (recorded if it already succeeded)"
			r.dropped = true
			r.cancel()
		}
	case SignalResync:
		if r.submitter != nil {
			r.enqueue(WorkItem{Kind: workSyncPatient})
		} else {
			summary = r.noPatientData()
		}
	case SignalClose:
		s.Closed = true
		if inFlight {
			r.cancel()
		}
	}
	r.note(ctx, workflow.Now(ctx), "operator:"+name, "", summary)
	if summary != "" {
		return summary
	}
	return operatedByDefault[name]
}

// operatedByDefault says what an action did when the timeline has no
// summary for it.
var operatedByDefault = map[string]string{
	SignalPause:  "paused: Akute is not called until resume",
	SignalResume: "resumed: queued Akute calls run again",
	SignalRetry:  "nothing to retry",
	SignalSkip:   "nothing to skip",
	SignalResync: "a patient sync is queued",
	SignalClose:  "closed: the case finishes once no Akute call is in flight",
}

// noPatientData says why a resync has nothing to send: the patient data
// is PHI, kept out of the state, so a run reopened after the case ended has
// none until CareValidate's next full-case delivery brings it.
func (r *caseRun) noPatientData() string {
	if r.state.Akute.SubmitterHash != "" {
		return "nothing to resync: this run was reopened after the case ended and holds no patient data until CareValidate's next full-case delivery"
	}
	return "nothing to resync: no patient data received yet"
}
