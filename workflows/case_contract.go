package workflows

import (
	"time"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
)

// The case workflow's contract: its type, its id, its signals and query and
// what they carry. The starter, the worker, the sandbox and the tests use
// these names; none is spelled anywhere else. Every name here is recorded in
// histories: changing one breaks every open case.
const (
	CaseWorkflowName  = "CareValidateCase"
	CaseWorkflowIDPfx = "carevalidate-case-"

	SignalCaseEvent = "carevalidate-event" // a CareValidate webhook (carevalidate.CaseEvent)
	SignalAkuteTask = "akute-task"         // an Akute task of the case changed (akutewebhook.TaskUpdate)
	SignalAkuteMed  = "akute-medication"   // a prescription reached the pharmacy (akutewebhook.MedicationEvent)
	SignalPause     = "pause"              // record events, call nothing
	SignalResume    = "resume"
	SignalRetry     = "retry"  // run the failed step again
	SignalSkip      = "skip"   // drop the failed step
	SignalResync    = "resync" // push the patient to Akute again
	SignalClose     = "close"  // finish the case now
	QueryState      = "state"  // the CaseState (an AkuteUnrouted day answers its UnroutedState)

	// Carebridge statuses.
	StatusRunning        = "running"
	StatusNeedsAttention = "needs_attention"
	StatusPaused         = "paused"
	StatusDone           = "done"
)

// OperatorActions are what an operator can do to a case. Each is a signal
// (fire and forget, for tctl and older tooling) and an update of the same
// name, which a validator refuses when it makes no sense now (before it
// enters history) and which answers what it did (OperatorAnswer).
var OperatorActions = []string{SignalPause, SignalResume, SignalRetry, SignalSkip, SignalResync, SignalClose}

// ErrTypeActionRefused is the failure type of an operator update its
// validator refused; the message says why.
const ErrTypeActionRefused = "CaseActionRefused"

// OperatorAnswer is what an accepted operator update answers.
type OperatorAnswer struct {
	Action           string `json:"action"`
	Done             string `json:"done"`              // what it did, in words
	CarebridgeStatus string `json:"carebridge_status"` // the case's status after it
}

// handlerDescriptions describe every signal, query and update of the case
// (and the query of an unrouted day) in the Web UI's dialogs.
var handlerDescriptions = map[string]string{
	SignalCaseEvent: "A CareValidate webhook delivery (the starter sends these; an operator never needs to).",
	SignalAkuteTask: "An Akute task of this case changed (routed from Akute's webhook).",
	SignalAkuteMed:  "A prescription of this case's patient reached the pharmacy (routed from Akute's webhook).",
	SignalPause:     "Stop calling Akute: events are still recorded; the call in flight is cancelled and runs again on resume.",
	SignalResume:    "Call Akute again after a pause.",
	SignalRetry:     "Run the failed Akute step again now (or the call in flight, without waiting for its backoff).",
	SignalSkip:      "Drop the failed Akute step (or the call in flight) and go on with the next.",
	SignalResync:    "Push the case's patient to Akute again.",
	SignalClose:     "Finish the case now, waiting for the Akute call in flight to answer.",
	QueryState:      "The case as carebridge holds it: status, Akute patient and tasks, what waits for an operator, timeline.",
}

// CaseWorkflowID is the workflow id of a case.
func CaseWorkflowID(caseID string) string { return CaseWorkflowIDPfx + caseID }

// CaseInput starts (or continues) a case.
type CaseInput struct {
	CaseID     string                  `json:"case_id"`
	State      *CaseState              `json:"state,omitempty"`       // carried over by continue-as-new
	Submitter  *carevalidate.Submitter `json:"submitter,omitempty"`   // PHI: kept out of the state query
	MaxHistory int                     `json:"max_history,omitempty"` // default DefaultMaxHistory events
	MaxSignals int                     `json:"max_signals,omitempty"` // per run; default DefaultMaxSignals
	// ArchiveGrace is how long an archived case still absorbs late and
	// duplicate deliveries before it completes; zero means DefaultArchiveGrace.
	ArchiveGrace time.Duration `json:"archive_grace,omitempty"`
}

// CaseState is what the state query and GET /api/cases/{id} show.
type CaseState struct {
	CaseID           string               `json:"case_id"`
	ShortID          string               `json:"short_id,omitempty"`
	CarebridgeStatus string               `json:"carebridge_status"`
	Status           string               `json:"status,omitempty"`
	StatusAt         time.Time            `json:"status_at,omitempty"`
	Assignee         *carevalidate.Person `json:"assignee,omitempty"`
	AssigneeAt       time.Time            `json:"assignee_at,omitempty"`
	Escalated        bool                 `json:"escalated"`
	EscalatedAt      time.Time            `json:"escalated_at,omitempty"`
	Decisions        []DecisionView       `json:"decisions,omitempty"`
	Payments         []PaymentView        `json:"payments,omitempty"`
	Order            *OrderView           `json:"order,omitempty"`
	Akute            AkuteView            `json:"akute"`
	Tasks            []TaskView           `json:"tasks,omitempty"`
	OpenTasks        int                  `json:"open_tasks"`
	Medications      []MedicationView     `json:"medications,omitempty"`
	// EarlyTaskStatus holds Akute task updates that arrived before the
	// task's creation was recorded (Akute notifies as it creates).
	EarlyTaskStatus map[string]string `json:"early_task_status,omitempty"`
	EarlyTaskOrder  []string          `json:"early_task_order,omitempty"` // oldest first, for the bound
	Pending         []WorkItem        `json:"pending,omitempty"`
	Attention       *Attention        `json:"attention,omitempty"`
	Paused          bool              `json:"paused"`
	Archived        bool              `json:"archived"`
	Closed          bool              `json:"closed"`
	EventsApplied   int               `json:"events_applied"`
	Duplicates      int               `json:"duplicates_ignored"`
	Timeline        []TimelineEntry   `json:"timeline"`
	SeenKeys        []string          `json:"seen_keys,omitempty"`
	// LegacySeenKeys are the keys a run under version 0 of the delivery
	// rules recorded; RulesVersion is the version the case's state follows.
	LegacySeenKeys []string `json:"legacy_seen_keys,omitempty"`
	RulesVersion   int      `json:"rules_version,omitempty"`
	NextItemID     int      `json:"next_item_id"`
	Runs           int      `json:"runs"`               // continue-as-new count
	Reopened       int      `json:"reopened,omitempty"` // runs started after the case had completed
}

// DecisionView is a doctor's decision.
type DecisionView struct {
	ID          string                    `json:"id"`
	Approved    bool                      `json:"approved"`
	Medications []carevalidate.Medication `json:"medications,omitempty"`
	At          time.Time                 `json:"at"`
}

// PaymentView is a payment.
type PaymentView struct {
	ID     string    `json:"id"`
	Amount string    `json:"amount"`
	Status string    `json:"status"`
	At     time.Time `json:"at,omitzero"` // of the report applied (version 1)
}

// OrderView is the pharmacy order.
type OrderView struct {
	ID         string    `json:"id,omitempty"`
	Status     string    `json:"status,omitempty"`
	StatusAt   time.Time `json:"status_at,omitempty"`
	TrackingID string    `json:"tracking_id,omitempty"`
}

// AkuteView is the case's footprint in Akute.
type AkuteView struct {
	PatientID     string    `json:"patient_id,omitempty"`
	LastSync      string    `json:"last_sync,omitempty"` // created, updated, unchanged
	SyncedAt      time.Time `json:"synced_at,omitempty"`
	SubmitterHash string    `json:"submitter_hash,omitempty"` // what was last queued for sync
}

// TaskView is an Akute task the case created.
type TaskView struct {
	EventKey string `json:"event_key"`
	Kind     string `json:"kind"`
	Priority string `json:"priority"`
	Title    string `json:"title"`
	TaskID   string `json:"task_id"`
	OwnerID  string `json:"owner_id,omitempty"`
	Status   string `json:"status"`
}

// MedicationView is a prescription Akute reported for the case's patient.
type MedicationView struct {
	DisplayName string    `json:"display_name,omitempty"`
	Status      string    `json:"status,omitempty"`
	RxStatus    string    `json:"rx_status,omitempty"`
	Received    time.Time `json:"received"`
}

// medicationsLimit bounds the medications a case keeps.
const medicationsLimit = 50

// WorkItem is one call to Akute the case still has to make.
type WorkItem struct {
	ID       int                     `json:"id"`
	Kind     string                  `json:"kind"` // sync_patient, create_task
	EventKey string                  `json:"event_key,omitempty"`
	Task     *activities.TaskRequest `json:"task,omitempty"`
	TaskKind string                  `json:"task_kind,omitempty"`
}

// Attention is a failed step waiting for an operator.
type Attention struct {
	Item      WorkItem                   `json:"item"`
	ErrorType string                     `json:"error_type"`
	Error     string                     `json:"error"`
	Detail    *activities.AkuteRejection `json:"detail,omitempty"`
	Since     time.Time                  `json:"since"`
}

// TimelineEntry is one thing that happened to the case.
type TimelineEntry struct {
	At       time.Time `json:"at"`
	Received time.Time `json:"received"`
	Type     string    `json:"type"`
	Key      string    `json:"key,omitempty"`
	Summary  string    `json:"summary,omitempty"`
}
