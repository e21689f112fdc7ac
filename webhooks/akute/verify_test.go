package akute

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/internal/hmacsig"
)

var (
	now    = time.Unix(1_800_000_000, 0)
	secret = []byte("whsec_current")
	body   = []byte(`{"event":"task.updated","data":{"id":"task-1","status":"complete"}}`)
)

func verifier(secrets ...string) Verifier {
	v := Verifier{Now: func() time.Time { return now }}
	for _, s := range secrets {
		v.Secrets = append(v.Secrets, []byte(s))
	}
	return v
}

func TestVerifyAccepts(t *testing.T) {
	v := verifier("whsec_current")
	assert.NoError(t, v.Verify(Sign(secret, now, body), body))

	// The documentation's own example header shape, whitespace around parts.
	h := Sign(secret, now, body)
	assert.NoError(t, v.Verify(" "+strings.ReplaceAll(h, ",", " , ")+" ", body))
	assert.NoError(t, v.Verify(h+",v0=deadbeef,scheme=x,junk", body), "unknown parts are ignored")
}

func TestVerifyCompactedBody(t *testing.T) {
	pretty := []byte("{\n  \"event\": \"task.updated\",\n  \"data\": {\"id\": \"task-1\", \"status\": \"complete\"}\n}")
	assert.NoError(t, verifier("whsec_current").Verify(Sign(secret, now, body), pretty),
		"Akute signed JSON.stringify output; a pretty-printed copy verifies through its compact form")
}

// Akute's documented verifier signs JSON.stringify(JSON.parse(body)): a
// sender whose encoder escapes é and / and writes 1.0 still verifies.
func TestVerifyTheJSONStringifyForm(t *testing.T) {
	sent := []byte(`{"event":"task.updated","data":{"id":"task-1","title":"R\u00e9vision a\/b","priority":1.0}}`)
	signed := []byte(`{"event":"task.updated","data":{"id":"task-1","title":"Révision a/b","priority":1}}`)
	header := "t=" + strconv.FormatInt(now.Unix(), 10) + ",v1=" + hmacsig.Sign(secret, append([]byte(strconv.FormatInt(now.Unix(), 10)+"."), signed...))
	assert.NoError(t, verifier("whsec_current").Verify(header, sent))
}

func TestSeveralV1AndSeveralSecrets(t *testing.T) {
	ts := "1800000000"
	good := hmacsig.Sign(secret, append([]byte(ts+"."), body...))
	other := hmacsig.Sign([]byte("old"), append([]byte(ts+"."), body...))
	v := verifier("whsec_current")
	assert.NoError(t, v.Verify("t="+ts+",v1="+other+",v1="+good, body), "Akute rolling its secret")

	rotating := verifier("whsec_next", "whsec_current")
	assert.NoError(t, rotating.Verify(Sign(secret, now, body), body), "us rolling ours")
	assert.ErrorIs(t, verifier("whsec_next").Verify(Sign(secret, now, body), body), ErrNoMatch)
}

func TestVerifyRefuses(t *testing.T) {
	v := verifier("whsec_current")
	for name, tc := range map[string]struct {
		header string
		body   []byte
		want   error
	}{
		"missing":         {"", body, ErrMissingHeader},
		"no t":            {"v1=abcd", body, ErrMalformedHeader},
		"no v1":           {"t=1800000000", body, ErrMalformedHeader},
		"t not a number":  {"t=soon,v1=abcd", body, ErrMalformedHeader},
		"negative t":      {"t=-5,v1=abcd", body, ErrMalformedHeader},
		"two t":           {"t=1,t=2,v1=abcd", body, ErrMalformedHeader},
		"garbage":         {"hello", body, ErrMalformedHeader},
		"wrong mac":       {"t=1800000000,v1=" + strings.Repeat("ab", 32), body, ErrNoMatch},
		"not hex":         {"t=1800000000,v1=zz", body, ErrNoMatch},
		"tampered body":   {Sign(secret, now, body), []byte(strings.Replace(string(body), "complete", "cancelled", 1)), ErrNoMatch},
		"re-encoded body": {Sign(secret, now, body), []byte(`{"data":{"id":"task-1","status":"complete"},"event":"task.updated"}`), ErrNoMatch},
		"stale":           {Sign(secret, now.Add(-6*time.Minute), body), body, ErrStale},
		"future":          {Sign(secret, now.Add(6*time.Minute), body), body, ErrFuture},
	} {
		t.Run(name, func(t *testing.T) {
			err := v.Verify(tc.header, tc.body)
			assert.True(t, errors.Is(err, tc.want), "got %v", err)
		})
	}
}

func TestToleranceIsConfigurable(t *testing.T) {
	v := verifier("whsec_current")
	v.Tolerance = time.Hour
	assert.NoError(t, v.Verify(Sign(secret, now.Add(-59*time.Minute), body), body))
	assert.NoError(t, v.Verify(Sign(secret, now.Add(59*time.Minute), body), body))
	assert.ErrorIs(t, v.Verify(Sign(secret, now.Add(-61*time.Minute), body), body), ErrStale)
}

func TestErrorsNeverCarryTheExpectedMAC(t *testing.T) {
	v := verifier("whsec_current")
	expected := strings.TrimPrefix(strings.Split(Sign(secret, now, body), ",")[1], "v1=")
	err := v.Verify("t=1800000000,v1=00", body)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), expected)
}

func TestParseSecrets(t *testing.T) {
	assert.Equal(t, [][]byte{[]byte("a"), []byte("b")}, ParseSecrets(" a, ,b "))
	assert.Empty(t, ParseSecrets(""))
}

// FuzzParseHeader: no header makes the parser panic, and whatever it accepts
// has a timestamp and at least one v1.
func FuzzParseHeader(f *testing.F) {
	for _, seed := range []string{
		"t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
		"t=1,v1=a,v1=b,v0=c", "", ",,,", "t=,v1=", "t=99999999999999999999,v1=a", "v1=a,t=1", "=,=", "t=1=2,v1=3",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		sig, err := ParseHeader(header)
		if err != nil {
			if !errors.Is(err, ErrMissingHeader) && !errors.Is(err, ErrMalformedHeader) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(sig.V1) == 0 || sig.Timestamp < 0 {
			t.Fatalf("accepted %q without a usable t and v1: %+v", header, sig)
		}
		_ = verifier("s").Verify(header, []byte("{}"))
	})
}
