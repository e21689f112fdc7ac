package carevalidate

import (
	"crypto/subtle"
	"net/http"

	"github.com/carebridge/carebridge/internal/hmacsig"
)

// SignatureHeader carries the optional body signature.
const SignatureHeader = "x-cv-signature"

// Auth checks a delivery: the partner's header and secret, and, when a
// signing secret is set, the signature over JSON.stringify(body).
type Auth struct {
	Header        string // the header name CareValidate was given
	Secret        string // its value
	SigningSecret string // empty: signatures are not checked
}

// Check returns "" when the request is CareValidate's, else what failed:
// "auth" or "signature".
func (a Auth) Check(h http.Header, body []byte) string {
	got := h.Get(a.Header)
	if a.Secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(a.Secret)) != 1 {
		return "auth"
	}
	if a.SigningSecret == "" {
		return ""
	}
	sig := h.Get(SignatureHeader)
	for _, candidate := range hmacsig.Candidates(body) {
		if hmacsig.Equal([]byte(a.SigningSecret), candidate, sig) {
			return ""
		}
	}
	return "signature"
}
