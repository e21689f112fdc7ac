package workflows

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Custom search attributes carebridge sets, so operators find runs in the
// Web UI (e.g. CarebridgeStatus="needs_attention"). None carries PHI. Every
// Temporal server carebridge runs on must have them registered: make run,
// the tests and docker-compose do it from SearchAttributes.
var (
	AttrKind           = temporal.NewSearchAttributeKeyKeyword("CarebridgeKind")   // send, case
	AttrStatus         = temporal.NewSearchAttributeKeyKeyword("CarebridgeStatus") // cases: running, needs_attention, paused, done
	AttrCaseShortID    = temporal.NewSearchAttributeKeyKeyword("CaseShortId")
	AttrCaseStatus     = temporal.NewSearchAttributeKeyKeyword("CaseStatus")
	AttrAkutePatientID = temporal.NewSearchAttributeKeyKeyword("AkutePatientId")
	AttrAkuteTaskIDs   = temporal.NewSearchAttributeKeyKeywordList("AkuteTaskIds")
	// Sends.
	AttrFormName         = temporal.NewSearchAttributeKeyKeyword("FormName")
	AttrRealtimeInstance = temporal.NewSearchAttributeKeyKeyword("RealtimeInstance")
	AttrPatientEmailHash = temporal.NewSearchAttributeKeyKeyword("PatientEmailHash") // EmailHash, never the e-mail
)

// SearchAttributes names every custom search attribute with its type, as
// `temporal server start-dev --search-attribute` and
// `temporal operator search-attribute create` take them.
var SearchAttributes = map[string]string{
	AttrKind.GetName():             "Keyword",
	AttrStatus.GetName():           "Keyword",
	AttrCaseShortID.GetName():      "Keyword",
	AttrCaseStatus.GetName():       "Keyword",
	AttrAkutePatientID.GetName():   "Keyword",
	AttrAkuteTaskIDs.GetName():     "KeywordList",
	AttrFormName.GetName():         "Keyword",
	AttrRealtimeInstance.GetName(): "Keyword",
	AttrPatientEmailHash.GetName(): "Keyword",
}

// EmailHash is the PatientEmailHash of an e-mail: HMAC-SHA256 under the
// deployment's CAREBRIDGE_SEARCH_HASH_KEY of the trimmed, lower-cased
// address. Without the key it cannot be computed, so it reveals nothing.
func EmailHash(key []byte, email string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(m.Sum(nil))[:32]
}
