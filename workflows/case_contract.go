package workflows

import (
	"strings"
	"time"

	"github.com/carebridge/carebridge/activities"
)

// The case workflow's contract: its type, its id, its signals and query and
// what they carry. The starter, the worker, the sandbox and the tests use
// these names; none is spelled anywhere else. Every name here is recorded in
// histories: changing one breaks every open case.
const (
	CaseWorkflowName  = "CareValidateCase"
	CaseWorkflowIDPfx = "carevalidate-case-"

	SignalCaseEvent = "carevalidate-event" // a CareValidate webhook (CaseEvent)
	SignalAkuteTask = "akute-task"         // an Akute task of the case changed (TaskUpdate)
	SignalAkuteMed  = "akute-medication"   // a prescription reached the pharmacy (MedicationEvent)
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

// Attention error types the case itself gives (besides the activities').
const (
	// ErrTypeLastRunUnread: a new run could not read the case's last run;
	// nothing is applied until it can (retry), or an operator skips.
	ErrTypeLastRunUnread = "LastRunUnread"
	// ErrTypeCallTimedOut: an Akute call got no answer within its hour:
	// Akute did not answer, or no worker ran it.
	ErrTypeCallTimedOut = "AkuteCallTimedOut"
)

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
	CaseID     string     `json:"case_id"`
	State      *CaseState `json:"state,omitempty"`       // carried over by continue-as-new
	Submitter  *Submitter `json:"submitter,omitempty"`   // PHI: kept out of the state query
	MaxHistory int        `json:"max_history,omitempty"` // default DefaultMaxHistory events
	MaxSignals int        `json:"max_signals,omitempty"` // per run; default DefaultMaxSignals
	// ArchiveGrace is how long an archived case still absorbs late and
	// duplicate deliveries before it completes; zero means DefaultArchiveGrace.
	ArchiveGrace time.Duration `json:"archive_grace,omitempty"`
}

// CaseState is what the state query and GET /api/cases/{id} show.
type CaseState struct {
	CaseID           string           `json:"case_id"`
	ShortID          string           `json:"short_id,omitempty"`
	CarebridgeStatus string           `json:"carebridge_status"`
	Status           string           `json:"status,omitempty"`
	StatusAt         time.Time        `json:"status_at,omitempty"`
	Assignee         *Person          `json:"assignee,omitempty"`
	AssigneeAt       time.Time        `json:"assignee_at,omitempty"`
	Escalated        bool             `json:"escalated"`
	EscalatedAt      time.Time        `json:"escalated_at,omitempty"`
	Decisions        []DecisionView   `json:"decisions,omitempty"`
	Payments         []PaymentView    `json:"payments,omitempty"`
	Order            *OrderView       `json:"order,omitempty"`
	Akute            AkuteView        `json:"akute"`
	Tasks            []TaskView       `json:"tasks,omitempty"`
	OpenTasks        int              `json:"open_tasks"`
	Medications      []MedicationView `json:"medications,omitempty"`
	// EarlyTasks are Akute task updates that arrived before the task's
	// creation was recorded (Akute notifies as it creates), oldest first.
	EarlyTasks []EarlyTask `json:"early_tasks,omitempty"`
	Pending    []WorkItem  `json:"pending,omitempty"`
	// Unconfirmed are task creates that may have reached Akute without an
	// answer (a timeout, a reset, an operator's cancel): never repeated
	// blindly, each waits for Akute's task.created webhook to match it.
	Unconfirmed   []UnconfirmedCreate `json:"unconfirmed,omitempty"`
	Attention     *Attention          `json:"attention,omitempty"`
	Paused        bool                `json:"paused"`
	Archived      bool                `json:"archived"`
	Closed        bool                `json:"closed"`
	EventsApplied int                 `json:"events_applied"`
	Duplicates    int                 `json:"duplicates_ignored"`
	Timeline      []TimelineEntry     `json:"timeline"`
	SeenKeys      []string            `json:"seen_keys,omitempty"` // digests of the newest event keys applied (dedupe.go)
	NextItemID    int                 `json:"next_item_id"`
	Runs          int                 `json:"runs"`               // continue-as-new count
	Reopened      int                 `json:"reopened,omitempty"` // runs started after the case had completed
}

// DecisionView is a doctor's decision.
type DecisionView struct {
	ID          string       `json:"id"`
	Approved    bool         `json:"approved"`
	Medications []Medication `json:"medications,omitempty"`
	At          time.Time    `json:"at"`
}

// PaymentView is a payment.
type PaymentView struct {
	ID     string    `json:"id"`
	Amount string    `json:"amount"`
	Status string    `json:"status"`
	At     time.Time `json:"at,omitzero"` // of the report applied
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

// EarlyTask is an Akute task update for a task the case has not recorded
// yet: its status, and its title to match a create left unconfirmed.
type EarlyTask struct {
	TaskID string `json:"task_id"`
	Status string `json:"status,omitempty"`
	Title  string `json:"title,omitempty"`
}

// UnconfirmedCreate is a task create without an answer, since when.
type UnconfirmedCreate struct {
	Item  WorkItem  `json:"item"`
	Since time.Time `json:"since"`
}

// MedicationView is a prescription Akute reported for the case's patient.
type MedicationView struct {
	DisplayName string    `json:"display_name,omitempty"`
	Status      string    `json:"status,omitempty"`
	RxStatus    string    `json:"rx_status,omitempty"`
	Received    time.Time `json:"received"`
}

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

// The signal payloads. A CareValidate delivery (webhooks/carevalidate.Parse)
// and an Akute delivery (webhooks/akute.Decode) are reduced to these before
// they are signalled; what they leave behind (attachments, form responses,
// comments) never reaches Temporal.

// The event types CareValidate documents.
const (
	AddCaseAssignee    = "ADD_CASE_ASSIGNEE"
	AddCaseAttachment  = "ADD_CASE_ATTACHMENT"
	AddCaseComment     = "ADD_CASE_COMMENT"
	AddCaseDecision    = "ADD_CASE_DECISION"
	AddFormResponse    = "ADD_FORM_RESPONSE"
	ArchiveCase        = "ARCHIVE_CASE"
	ChangeCaseStatus   = "CHANGE_CASE_STATUS"
	CreateCase         = "CREATE_CASE"
	DeescalateCase     = "DEESCALATE_CASE"
	DeleteAttachment   = "DELETE_ATTACHMENT"
	EscalateCase       = "ESCALATE_CASE"
	PaymentAdded       = "PAYMENT_ADDED"
	PaymentCompleted   = "PAYMENT_COMPLETED"
	RemoveCaseAssignee = "REMOVE_CASE_ASSIGNEE"
	OrderStatusChanged = "ORDER_STATUS_CHANGED"
	OrderTrackingAdded = "ORDER_TRACKING_ADDED"
)

// EventTypes lists the documented types.
var EventTypes = []string{
	AddCaseAssignee, AddCaseAttachment, AddCaseComment, AddCaseDecision, AddFormResponse, ArchiveCase,
	ChangeCaseStatus, CreateCase, DeescalateCase, DeleteAttachment, EscalateCase, PaymentAdded,
	PaymentCompleted, RemoveCaseAssignee, OrderStatusChanged, OrderTrackingAdded,
}

// CaseEvent is one webhook, reduced to what the case workflow needs.
type CaseEvent struct {
	// EventKey identifies the event itself (see eventKey): stable across
	// redeliveries, distinct for distinct events.
	EventKey string `json:"event_key,omitempty"`
	Type     string `json:"type"` // may be one we do not know
	CaseID   string `json:"case_id"`
	ShortID  string `json:"short_id,omitempty"`
	// EventAt is when the event itself happened (its own activity's
	// timestamp); zero when the delivery does not say.
	EventAt time.Time `json:"event_at,omitempty"`

	// From the full case, when the body carries it.
	CaseType      string     `json:"case_type,omitempty"` // "GLP", say
	Product       string     `json:"product,omitempty"`   // the product bundle's name
	CaseStatus    string     `json:"case_status,omitempty"`
	CaseUpdatedAt time.Time  `json:"case_updated_at,omitempty"`
	Escalated     *bool      `json:"escalated,omitempty"`
	AssignedTo    *Person    `json:"assigned_to,omitempty"`
	Submitter     *Submitter `json:"submitter,omitempty"`

	// From the activity that the event is about.
	ValueBefore string  `json:"value_before,omitempty"` // of the event's own activity
	ValueAfter  string  `json:"value_after,omitempty"`
	TargetUser  *Person `json:"target_user,omitempty"`

	Decision *Decision `json:"decision,omitempty"`
	Payment  *Payment  `json:"payment,omitempty"`
	Order    *Order    `json:"order,omitempty"`
}

// Person is a CareValidate user (doctor, support): the doctor a task is for.
type Person = activities.Person

// Submitter is the patient, as SyncAkutePatient takes it. Every field but
// ID is PHI.
type Submitter = activities.Submitter

// Decision is a doctor's decision with its medications.
type Decision struct {
	ID         string       `json:"id"`
	IsApproved bool         `json:"isApproved"`
	NoDecision bool         `json:"isNoDecision"`
	CreatedAt  time.Time    `json:"createdAt"`
	MedInfo    []Medication `json:"medInfo"`
}

// Medication is one prescribed medicine.
type Medication struct {
	Medicine        string `json:"medicine"`
	Dosage          string `json:"dosage"`
	DosingFrequency string `json:"dosingFrequency"`
}

// Payment is a payment of the case.
type Payment struct {
	ID     string `json:"id"`
	Amount string `json:"amount"`
	Status string `json:"status"`
}

// Order is the pharmacy order.
type Order struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	TrackingID string `json:"trackingId"`
}

// TaskUpdate is a task's new state.
type TaskUpdate struct {
	Key       string   `json:"key"`
	Event     string   `json:"event,omitempty"`
	TaskID    string   `json:"task_id"`
	Title     string   `json:"title,omitempty"` // to match a create left unconfirmed
	Status    string   `json:"status,omitempty"`
	PatientID string   `json:"patient_id,omitempty"`
	Tags      []string `json:"tags,omitempty"`
}

// Completed reports whether the task is done in Akute.
func (t TaskUpdate) Completed() bool {
	switch strings.ToLower(strings.TrimSpace(t.Status)) {
	case "complete", "completed", "done", "closed":
		return true
	}
	return false
}

// CaseShortID is the case a carebridge task belongs to (its case:<shortId> tag).
func (t TaskUpdate) CaseShortID() string {
	for _, tag := range t.Tags {
		if short, ok := strings.CutPrefix(strings.TrimSpace(tag), "case:"); ok && short != "" {
			return short
		}
	}
	return ""
}

// MedicationEvent is a prescription that reached the pharmacy.
type MedicationEvent struct {
	Key               string `json:"key"`
	Event             string `json:"event,omitempty"`
	PatientID         string `json:"patient_id,omitempty"`
	ExternalPatientID string `json:"external_patient_id,omitempty"`
	DisplayName       string `json:"display_name,omitempty"`
	Status            string `json:"status,omitempty"`
	RxStatus          string `json:"rx_status,omitempty"`
	PrescriptionID    string `json:"prescription_id,omitempty"`
}
