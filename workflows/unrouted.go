package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// What a day keeps: the newest unroutedKeep deliveries, and of those, bodies
// up to unroutedBodyBytes in all, newest first; older deliveries keep their digest, reason and key, not their body.
// Temporal refuses a payload over 2 MB, and the state is one.
const (
	unroutedKeep      = 200
	unroutedBodyBytes = 1 << 20
)

// AkuteUnrouted records a day's unrouted deliveries and completes an hour
// after the day ends.
func AkuteUnrouted(ctx workflow.Context, in UnroutedInput) (*UnroutedState, error) {
	s := in.State
	if s == nil {
		s = &UnroutedState{Day: in.Day, Events: []UnroutedEvent{}}
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryState, func() (*UnroutedState, error) { return s, nil },
		workflow.QueryHandlerOptions{Description: unroutedDescriptions[QueryState]}); err != nil {
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
	ch := workflow.GetSignalChannelWithOptions(ctx, SignalUnrouted, workflow.SignalChannelOptions{Description: unroutedDescriptions[SignalUnrouted]})
	handled := 0
	for {
		_ = workflow.Await(ctx, func() bool { return ch.Len() > 0 || timer.IsReady() })
		for {
			var ev UnroutedEvent
			received, believed := receiveOwn(ch, &ev)
			if !received {
				break
			}
			handled++
			if !believed {
				s.Refused++
				continue
			}
			if !seen.firstTime(ev.Key) {
				s.Duplicates++
				continue
			}
			s.Count++
			s.Events = keepLast(append(s.Events, ev), unroutedKeep)
			dropOldBodies(s.Events, unroutedBodyBytes)
		}
		if timer.IsReady() && ch.Len() == 0 {
			return s, nil
		}
		suggested := workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		if (handled >= DefaultMaxSignals || suggested) && ch.Len() == 0 {
			return nil, workflow.NewContinueAsNewError(ctx, AkuteUnroutedName, UnroutedInput{Day: s.Day, State: s})
		}
	}
}

// dropOldBodies keeps the newest bodies that fit in limit bytes together and
// drops the bodies of the others (their digest stays).
func dropOldBodies(events []UnroutedEvent, limit int) {
	total := 0
	for i := len(events) - 1; i >= 0; i-- {
		total += len(events[i].Body)
		if total > limit {
			events[i].Body = nil
		}
	}
}
