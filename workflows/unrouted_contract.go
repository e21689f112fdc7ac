package workflows

import (
	"encoding/json"
	"time"
)

// Akute deliveries that no running case claims are kept, per day, in an
// AkuteUnrouted workflow: acknowledged only once recorded there, visible in
// the Web UI, replayable by an operator.
//
// The day's contract: its type, its id, its signal (an UnroutedEvent) and
// what its QueryState answers (UnroutedState). Names are recorded in
// histories.
const (
	AkuteUnroutedName  = "AkuteUnrouted"
	AkuteUnroutedIDPfx = "akute-unrouted-"
	SignalUnrouted     = "unrouted"
)

// unroutedDescriptions describe the day's handlers in the Web UI's dialogs.
var unroutedDescriptions = map[string]string{
	SignalUnrouted: "An Akute delivery no running case claimed (the starter sends these).",
	QueryState:     "The day's unrouted deliveries: kind, reason, digest and (the newest) bodies, to replay by hand.",
}

// AkuteUnroutedID is the workflow id for a day's unrouted deliveries.
func AkuteUnroutedID(day time.Time) string {
	return AkuteUnroutedIDPfx + day.UTC().Format("2006-01-02")
}

// UnroutedEvent is one Akute delivery nobody claimed.
type UnroutedEvent struct {
	Key        string          `json:"key"`
	Kind       string          `json:"kind"`
	Name       string          `json:"name,omitempty"`
	Reason     string          `json:"reason"`
	BodySHA256 string          `json:"body_sha256"`
	Received   time.Time       `json:"received"`
	Body       json.RawMessage `json:"body,omitempty"` // PHI: payloads are encrypted (docs/deployment.md)
}

// UnroutedState is the day's record.
type UnroutedState struct {
	Day        string          `json:"day"`
	Count      int             `json:"count"`
	Duplicates int             `json:"duplicates"`
	Refused    int             `json:"refused,omitempty"` // signals carebridge did not write (a payload in clear)
	Events     []UnroutedEvent `json:"events"`
	SeenKeys   []string        `json:"seen_keys,omitempty"`
}

// UnroutedInput starts or continues a day.
type UnroutedInput struct {
	Day   string         `json:"day"` // YYYY-MM-DD, UTC
	State *UnroutedState `json:"state,omitempty"`
}
