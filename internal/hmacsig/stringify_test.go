package hmacsig

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The vectors are Node's own JSON.stringify(JSON.parse(input)), made by
// testdata/stringify-vectors.js.
func TestStringifyMatchesNode(t *testing.T) {
	b, err := os.ReadFile("testdata/stringify-vectors.json")
	require.NoError(t, err)
	var vectors []struct{ Input, Output string }
	require.NoError(t, json.Unmarshal(b, &vectors))
	require.NotEmpty(t, vectors)
	for _, v := range vectors {
		got, err := Stringify([]byte(v.Input))
		require.NoError(t, err, v.Input)
		assert.Equal(t, v.Output, string(got), "input %s", v.Input)
	}
}

func TestStringifyRefusesWhatJSONParseRefuses(t *testing.T) {
	for _, body := range []string{``, `{`, `{"a":}`, `{"a":1,}`, `[1,]`, `01`, `1.`, `.5`, `-`, `1e`, `"\x"`, `"\u12"`,
		"\"a\nb\"", `{"a" 1}`, `{a:1}`, `tru`, `nul`, `[1] x`, `'a'`, `NaN`, `Infinity`} {
		_, err := Stringify([]byte(body))
		assert.Error(t, err, "%q", body)
	}
}

// A signer whose encoder differs from JSON.stringify (escapes é and /, writes
// 1.0, puts integer-like keys last) is verified through Stringify, as a
// documented verifier would.
func TestCandidatesIncludeJSONStringify(t *testing.T) {
	secret := []byte("s")
	sent := []byte(`{"name":"Ren\u00e9e","url":"a\/b","n":1.0,"b":1,"10":2}`)
	mac := Sign(secret, []byte(`{"10":2,"name":"Renée","url":"a/b","n":1,"b":1}`))
	verified := false
	for _, c := range Candidates(sent) {
		verified = verified || Equal(secret, c, mac)
	}
	assert.True(t, verified)
	assert.Len(t, Candidates([]byte(`{"a":1}`)), 1, "one form when all agree")
}

// Stringify reads webhook bodies before they are verified: whatever comes,
// it never panics, accepts exactly what is JSON, and writes JSON.
func FuzzStringify(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,"\u00e9\ud800"],"1":null}`, `"x"`, `[]`, `{"a":1,"a":2}`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := Stringify(body)
		if json.Valid(body) != (err == nil) {
			t.Fatalf("json.Valid %v, Stringify error %v", json.Valid(body), err)
		}
		if err == nil && !json.Valid(out) {
			t.Fatalf("wrote invalid JSON %q", out)
		}
	})
}
