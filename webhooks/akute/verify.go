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
//
// The header arrives unauthenticated, so what it may cost is bounded before
// any MAC is computed: at most MaxHeaderSize bytes and MaxV1 v1 values, and
// a t within the tolerance (Check, which needs no body). Then one MAC is
// computed per body form and secret and compared with every v1 (Match): the
// hashing never grows with the number of v1 values.
package akute

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

// The bounds of a header. Akute sends one v1 (two while it rolls its
// secret); a timestamp and eight 64-digit MACs take about 560 bytes.
const (
	MaxHeaderSize = 1 << 10
	MaxV1         = 8
)

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

// ParseHeader reads a header. It needs exactly one t (digits) and one to
// MaxV1 v1 values, in at most MaxHeaderSize bytes; parts it does not know are
// ignored.
func ParseHeader(header string) (Signature, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return Signature{}, ErrMissingHeader
	}
	if len(header) > MaxHeaderSize {
		return Signature{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHeader, MaxHeaderSize)
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
			if value == "" {
				continue
			}
			if len(sig.V1) == MaxV1 {
				return Signature{}, fmt.Errorf("%w: more than %d v1 values", ErrMalformedHeader, MaxV1)
			}
			sig.V1 = append(sig.V1, value)
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
// (wrapped) saying why not: Check, then Match.
func (v Verifier) Verify(header string, body []byte) error {
	sig, err := v.Check(header)
	if err != nil {
		return err
	}
	return v.Match(sig, body)
}

// Check does what needs no body and no MAC: it parses the header (bounded)
// and checks its time, so that a caller refuses a bad header before it reads
// the body. The tolerance it reveals is documented anyway.
func (v Verifier) Check(header string) (Signature, error) {
	sig, err := ParseHeader(header)
	if err != nil {
		return Signature{}, err
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
		return Signature{}, ErrStale
	case at.Sub(now()) > tolerance:
		return Signature{}, ErrFuture
	}
	return sig, nil
}

// Match returns nil when one of sig's v1 values is the MAC of body under
// one of the secrets, else ErrNoMatch. It computes one MAC per body form and
// secret, never one per v1, and checks every combination without stopping
// early, so timing says nothing about which secret or form came close.
func (v Verifier) Match(sig Signature, body []byte) error {
	var given [][]byte
	for _, h := range sig.V1 {
		if mac, err := hex.DecodeString(h); err == nil {
			given = append(given, mac)
		}
	}
	prefix := strconv.FormatInt(sig.Timestamp, 10) + "."
	matched := false
	for _, candidate := range hmacsig.Candidates(body) {
		for _, secret := range v.Secrets {
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(prefix))
			m.Write(candidate)
			want := m.Sum(nil)
			for _, mac := range given {
				if hmac.Equal(want, mac) {
					matched = true
				}
			}
		}
	}
	if !matched {
		return ErrNoMatch
	}
	return nil
}

// Sign returns the header Akute would send for body at t, for the sandbox
// and the tests.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hmacsig.Sign(secret, append([]byte(ts+"."), body...))
}
