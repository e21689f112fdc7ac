// Package akute reads Akute's webhooks (imported as akutewebhook beside the
// Akute client): it verifies their signatures, to the letter of Akute's
// documentation and Stripe's scheme it follows:
//
//	x-akute-signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]
//
// The MAC is HMAC-SHA256 over "<t>.<JSON.stringify(body)>". The body is
// tried as received, whitespace-compacted, and in JSON.stringify's form
// (internal/hmacsig). Any v1 may match any configured secret (rotation on
// either side); other parts are ignored; comparisons are constant-time; t
// must be within a tolerance of now, in either direction.
package akute

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/internal/hmacsig"
)

// Header is the signature header.
const Header = "x-akute-signature"

// DefaultTolerance is Stripe's default, which Akute publishes none of.
const DefaultTolerance = 5 * time.Minute

// Why a delivery failed verification. None of them carries the expected MAC.
var (
	ErrMissingHeader   = errors.New("missing x-akute-signature header")
	ErrMalformedHeader = errors.New("malformed x-akute-signature header")
	ErrNoMatch         = errors.New("no v1 signature matches the body")
	ErrStale           = errors.New("signature timestamp is too old")
	ErrFuture          = errors.New("signature timestamp is in the future")
)

// Signature is a parsed header.
type Signature struct {
	Timestamp int64
	V1        []string // hex MACs, as given
}

// ParseHeader reads a header. It needs exactly one t (digits) and at least
// one v1; parts it does not know are ignored.
func ParseHeader(header string) (Signature, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return Signature{}, ErrMissingHeader
	}
	var sig Signature
	seenT := false
	for _, part := range strings.Split(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue // not k=v: ignored, like any unknown part
		}
		switch key {
		case "t":
			if seenT {
				return Signature{}, fmt.Errorf("%w: more than one t", ErrMalformedHeader)
			}
			if value == "" || strings.Trim(value, "0123456789") != "" || len(value) > 12 {
				return Signature{}, fmt.Errorf("%w: t is not a unix time in seconds", ErrMalformedHeader)
			}
			t, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return Signature{}, fmt.Errorf("%w: t is not a unix time in seconds", ErrMalformedHeader)
			}
			sig.Timestamp, seenT = t, true
		case "v1":
			if value != "" {
				sig.V1 = append(sig.V1, value)
			}
		}
	}
	if !seenT {
		return Signature{}, fmt.Errorf("%w: no t", ErrMalformedHeader)
	}
	if len(sig.V1) == 0 {
		return Signature{}, fmt.Errorf("%w: no v1", ErrMalformedHeader)
	}
	return sig, nil
}

// Verifier checks deliveries against one or more secrets.
type Verifier struct {
	Secrets   [][]byte
	Tolerance time.Duration // zero means DefaultTolerance
	Now       func() time.Time
}

// ParseSecrets reads a comma-separated list of secrets.
func ParseSecrets(list string) [][]byte {
	var out [][]byte
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, []byte(s))
		}
	}
	return out
}

// Verify returns nil for a delivery Akute signed, or one of the Err values
// (wrapped) saying why not. The MAC is checked before the time, so that a
// forged request learns nothing about the tolerance.
func (v Verifier) Verify(header string, body []byte) error {
	sig, err := ParseHeader(header)
	if err != nil {
		return err
	}
	if !v.matches(sig, body) {
		return ErrNoMatch
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	tolerance := v.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	at := time.Unix(sig.Timestamp, 0)
	switch {
	case now().Sub(at) > tolerance:
		return ErrStale
	case at.Sub(now()) > tolerance:
		return ErrFuture
	}
	return nil
}

func (v Verifier) matches(sig Signature, body []byte) bool {
	prefix := strconv.FormatInt(sig.Timestamp, 10) + "."
	matched := false
	// Every combination is checked, without stopping early, so timing says
	// nothing about which secret or candidate came close.
	for _, candidate := range hmacsig.Candidates(body) {
		message := append([]byte(prefix), candidate...)
		for _, secret := range v.Secrets {
			for _, mac := range sig.V1 {
				if hmacsig.Equal(secret, message, mac) {
					matched = true
				}
			}
		}
	}
	return matched
}

// Sign returns the header Akute would send for body at t, for the sandbox
// and the tests.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hmacsig.Sign(secret, append([]byte(ts+"."), body...))
}
