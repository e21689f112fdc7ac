package hmacsig

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCandidatesAndEqual(t *testing.T) {
	secret := []byte("s")
	stringified := []byte(`{"a":1,"b":"<x>"}`)
	pretty := []byte("{\n  \"a\": 1,\n  \"b\": \"<x>\"\n}")
	mac := Sign(secret, stringified)

	assert.Len(t, Candidates(stringified), 1, "already compact")
	found := false
	for _, c := range Candidates(pretty) {
		found = found || Equal(secret, c, mac)
	}
	assert.True(t, found, "a pretty-printed body verifies through its compact form")
	assert.False(t, Equal([]byte("other"), stringified, mac))
	assert.False(t, Equal(secret, stringified, "zz"), "not hex")
	assert.False(t, Equal(secret, stringified, mac[:10]), "truncated")
	assert.Len(t, BodyHash(pretty), 16)
}
