package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A day's unrouted deliveries are spread over its parts: a key always in
// the same one (its duplicates are recognised there), the keys of a busy
// day over all of them, none taking much more than its share.
func TestUnroutedDeliveriesAreSpreadOverTheDaysParts(t *testing.T) {
	day := time.Date(2026, 12, 6, 23, 59, 0, 0, time.FixedZone("EST", -5*3600)) // the 7th, in UTC
	assert.Equal(t, AkuteUnroutedID(day, "akute-evt-1"), AkuteUnroutedID(day.Add(-time.Hour), "akute-evt-1"), "same key, same part")
	perPart := map[string]int{}
	const keys = 3200
	for i := range keys {
		id := AkuteUnroutedID(day, fmt.Sprintf("akute-evt-%d", i))
		assert.True(t, strings.HasPrefix(id, AkuteUnroutedIDPfx+"2026-12-07-"), id)
		perPart[id]++
	}
	assert.Len(t, perPart, UnroutedParts)
	for id, n := range perPart {
		assert.Less(t, n, 2*keys/UnroutedParts, "%s takes %d of %d", id, n, keys)
	}
}
