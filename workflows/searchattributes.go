package workflows

import (
	"go.temporal.io/sdk/temporal"
)

// Custom search attributes carebridge sets, so operators find runs in the
// Web UI (e.g. CarebridgeStatus="needs_attention"). None carries PHI. Every
// Temporal server carebridge runs on must have them registered: make run,
// the tests and docker-compose do it from SearchAttributes.
var (
	AttrKind           = temporal.NewSearchAttributeKeyKeyword("CarebridgeKind")   // send, case
	AttrStatus         = temporal.NewSearchAttributeKeyKeyword("CarebridgeStatus") // running, needs_attention, paused, done
	AttrCaseShortID    = temporal.NewSearchAttributeKeyKeyword("CaseShortId")
	AttrCaseStatus     = temporal.NewSearchAttributeKeyKeyword("CaseStatus")
	AttrAkutePatientID = temporal.NewSearchAttributeKeyKeyword("AkutePatientId")
	AttrAkuteTaskIDs   = temporal.NewSearchAttributeKeyKeywordList("AkuteTaskIds")
)

// SearchAttributes names every custom search attribute with its type, as
// `temporal server start-dev --search-attribute` and
// `temporal operator search-attribute create` take them.
var SearchAttributes = map[string]string{
	AttrKind.GetName():           "Keyword",
	AttrStatus.GetName():         "Keyword",
	AttrCaseShortID.GetName():    "Keyword",
	AttrCaseStatus.GetName():     "Keyword",
	AttrAkutePatientID.GetName(): "Keyword",
	AttrAkuteTaskIDs.GetName():   "KeywordList",
}
