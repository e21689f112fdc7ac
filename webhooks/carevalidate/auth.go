package carevalidate

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"

	"github.com/carebridge/carebridge/internal/hmacsig"
)

// SignatureHeader carries the optional body signature.
const SignatureHeader = "x-cv-signature"

// Why a delivery was refused, for the log line only: the answer never says
// which check failed.
const (
	FailedAuthHeader      = "auth_header"      // the partner's header is missing or carries no secret of ours
	FailedSignatureHeader = "signature_header" // signatures are on and x-cv-signature is missing or not a hex MAC
	FailedSignature       = "signature"        // x-cv-signature is not the MAC of the body
)

// Auth checks a delivery: the partner's header and secret, and, when a
// signing secret is set, the signature over JSON.stringify(body). The
// headers are checked first (CheckHeaders), so that an unauthenticated
// delivery is refused before its body, up to 20 MiB, is read.
type Auth struct {
	Header string // the header name CareValidate was given
	Secret string // its value
	// PreviousSecret is accepted too while CareValidate moves from it to
	// Secret (rotation); empty: only Secret is.
	PreviousSecret string
	SigningSecret  string // empty: signatures are not checked
}

// CheckHeaders returns "" when the headers are CareValidate's, else what
// failed (FailedAuthHeader or FailedSignatureHeader). It reads no body.
func (a Auth) CheckHeaders(h http.Header) string {
	// Hashing both sides first makes the comparison constant-time in the
	// secrets' lengths too; both secrets are always compared.
	got := sha256.Sum256([]byte(h.Get(a.Header)))
	ok := 0
	for _, secret := range []string{a.Secret, a.PreviousSecret} {
		if secret != "" {
			want := sha256.Sum256([]byte(secret))
			ok |= subtle.ConstantTimeCompare(got[:], want[:])
		}
	}
	if ok != 1 {
		return FailedAuthHeader
	}
	if a.SigningSecret != "" {
		if mac, err := hex.DecodeString(h.Get(SignatureHeader)); err != nil || len(mac) != sha256.Size {
			return FailedSignatureHeader
		}
	}
	return ""
}

// CheckSignature returns "" when signatures are off or x-cv-signature is
// the MAC of one of the body's forms, else FailedSignature. It assumes
// CheckHeaders passed.
func (a Auth) CheckSignature(h http.Header, body []byte) string {
	if a.SigningSecret == "" {
		return ""
	}
	sig := h.Get(SignatureHeader)
	for _, candidate := range hmacsig.Candidates(body) {
		if hmacsig.Equal([]byte(a.SigningSecret), candidate, sig) {
			return ""
		}
	}
	return FailedSignature
}
