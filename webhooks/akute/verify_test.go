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

// The header is bounded before any MAC: at most MaxV1 v1 values and
// MaxHeaderSize bytes.
func TestHeaderBounds(t *testing.T) {
	v := verifier("whsec_current")
	good := Sign(secret, now, body)
	wrong := ",v1=" + strings.Repeat("ab", 32)
	assert.NoError(t, v.Verify(good+strings.Repeat(wrong, MaxV1-1), body), "%d v1 values, one of them right", MaxV1)
	assert.ErrorIs(t, v.Verify(good+strings.Repeat(wrong, MaxV1), body), ErrMalformedHeader, "one v1 too many")
	assert.ErrorIs(t, v.Verify(good+",x="+strings.Repeat("a", MaxHeaderSize), body), ErrMalformedHeader, "over 1 KiB")
}

// The attack the bounds stop: 10,000 v1 values over a 0.9 MB body cost one
// HMAC each before (15 s of a core for 14,000); now the header is refused
// before any. The bound is generous: the refusal takes microseconds.
func TestTenThousandV1ValuesAreRefusedAtOnce(t *testing.T) {
	large := []byte(strings.Repeat("x", 900_000))
	for name, v1 := range map[string]string{"one-byte values": "00", "MAC-long values": strings.Repeat("ab", 32)} {
		header := "t=" + strconv.FormatInt(now.Unix(), 10) + strings.Repeat(",v1="+v1, 10_000)
		start := time.Now()
		err := verifier("whsec_current", "whsec_next").Verify(header, large)
		assert.ErrorIs(t, err, ErrMalformedHeader, name)
		assert.Less(t, time.Since(start), time.Second, name)
	}
}

// The time is checked before any MAC: a stale or future t is refused
// whatever its MACs, so an old header costs no hashing.
func TestTimeIsCheckedBeforeTheMAC(t *testing.T) {
	v := verifier("whsec_current")
	_, err := v.Check(Sign(secret, now.Add(-time.Hour), body))
	assert.ErrorIs(t, err, ErrStale)
	_, err = v.Check("t=" + strconv.FormatInt(now.Add(time.Hour).Unix(), 10) + ",v1=00")
	assert.ErrorIs(t, err, ErrFuture)
	sig, err := v.Check(Sign(secret, now, body))
	require.NoError(t, err)
	assert.NoError(t, v.Match(sig, body))
}

// Match computes one MAC per body form and secret and compares it with
// every v1: more v1 values cost a hex decoding each, never another HMAC
// (whose allocations, hmac.New and Sum, would show here).
func TestMatchComputesNoMACPerV1(t *testing.T) {
	v := verifier("whsec_current")
	wrong := strings.Repeat("ab", 32)
	one := Signature{Timestamp: now.Unix(), V1: []string{wrong}}
	eight := Signature{Timestamp: now.Unix(), V1: []string{wrong, wrong, wrong, wrong, wrong, wrong, wrong, wrong}}
	raw := []byte("not JSON: one body form")
	allocs := func(sig Signature) float64 {
		return testing.AllocsPerRun(20, func() { _ = v.Match(sig, raw) })
	}
	extra := allocs(eight) - allocs(one)
	assert.LessOrEqual(t, extra, float64(2*7), "seven more v1 values: their decoding and the slice only")
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
