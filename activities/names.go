package activities

// Activity type names. Each is recorded in the history of every run that
// calls it and replayed on every deploy, so it is written here once and never
// derived from a Go method name: renaming a method must not change it.
// workflows.Register registers each method under its name, and the
// workflows call activities by these names.
const (
	FetchRealtimeTokenName    = "FetchRealtimeToken"
	LookupRealtimePatientName = "LookupRealtimePatient"
	PostAlleviateLeadName     = "PostAlleviateLead"
	SyncAkutePatientName      = "SyncAkutePatient"
	CreateAkuteTaskName       = "CreateAkuteTask"
	LastRunStateName          = "LastRunState"
)
