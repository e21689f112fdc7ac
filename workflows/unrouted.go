package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// unroutedKeep is how many of the newest deliveries a day keeps with their bodies.
const unroutedKeep = 200

// AkuteUnrouted records a day's unrouted deliveries and completes an hour
// after the day ends.
func AkuteUnrouted(ctx workflow.Context, in UnroutedInput) (*UnroutedState, error) {
	s := in.State
	if s == nil {
		s = &UnroutedState{Day: in.Day, Events: []UnroutedEvent{}}
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (*UnroutedState, error) { return s, nil }); err != nil {
		return nil, err
	}
	seen := newDedupe(&s.SeenKeys, seenKeysLimit)
	_ = workflow.UpsertTypedSearchAttributes(ctx, AttrKind.ValueSet("akute-unrouted"))

	day, err := time.Parse("2006-01-02", in.Day)
	if err != nil {
		day = workflow.Now(ctx)
	}
	// The day's record closes an hour after the day ends (late deliveries).
	timer := workflow.NewTimer(ctx, max(day.Add(25*time.Hour).Sub(workflow.Now(ctx)), time.Second))
	ch := workflow.GetSignalChannel(ctx, SignalUnrouted)
	handled := 0
	for {
		_ = workflow.Await(ctx, func() bool { return ch.Len() > 0 || timer.IsReady() })
		for {
			var ev UnroutedEvent
			if !ch.ReceiveAsync(&ev) {
				break
			}
			handled++
			if !seen.firstTime(ev.Key) {
				s.Duplicates++
				continue
			}
			s.Count++
			s.Events = keepLast(append(s.Events, ev), unroutedKeep)
		}
		if timer.IsReady() && ch.Len() == 0 {
			return s, nil
		}
		if handled >= DefaultMaxSignals && ch.Len() == 0 {
			return nil, workflow.NewContinueAsNewError(ctx, AkuteUnroutedName, UnroutedInput{Day: s.Day, State: s})
		}
	}
}
