package workflows

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Akute deliveries that no running case claims are kept, per day, in an
// AkuteUnrouted workflow: acknowledged only once recorded there, visible in
// the Web UI, replayable by an operator.
const (
	AkuteUnroutedName = "AkuteUnrouted"
	SignalUnrouted    = "unrouted"
	unroutedKeep      = 200 // newest deliveries kept with their bodies
)

// AkuteUnroutedID is the workflow id for a day's unrouted deliveries.
func AkuteUnroutedID(day time.Time) string { return "akute-unrouted-" + day.UTC().Format("2006-01-02") }

// UnroutedEvent is one Akute delivery nobody claimed.
type UnroutedEvent struct {
	Key        string          `json:"key"`
	Kind       string          `json:"kind"`
	Name       string          `json:"name,omitempty"`
	Reason     string          `json:"reason"`
	BodySHA256 string          `json:"body_sha256"`
	Received   time.Time       `json:"received"`
	Body       json.RawMessage `json:"body,omitempty"` // PHI: payloads are encrypted (see README)
}

// UnroutedState is the day's record.
type UnroutedState struct {
	Day        string          `json:"day"`
	Count      int             `json:"count"`
	Duplicates int             `json:"duplicates"`
	Events     []UnroutedEvent `json:"events"`
	SeenKeys   []string        `json:"seen_keys,omitempty"`
}

// UnroutedInput starts or continues a day.
type UnroutedInput struct {
	Day   string         `json:"day"` // YYYY-MM-DD, UTC
	State *UnroutedState `json:"state,omitempty"`
}

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
	seen := map[string]bool{}
	for _, k := range s.SeenKeys {
		seen[k] = true
	}
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
			if seen[ev.Key] {
				s.Duplicates++
				continue
			}
			seen[ev.Key] = true
			s.SeenKeys = append(s.SeenKeys, ev.Key)
			if len(s.SeenKeys) > seenKeysLimit {
				delete(seen, s.SeenKeys[0])
				s.SeenKeys = s.SeenKeys[1:]
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
