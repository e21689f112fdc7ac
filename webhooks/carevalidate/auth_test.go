package carevalidate_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carebridge/carebridge/internal/hmacsig"
	"github.com/carebridge/carebridge/webhooks/carevalidate"
)

func TestAuthHeaders(t *testing.T) {
	auth := carevalidate.Auth{Header: "X-CV-Auth", Secret: "s3cret"}
	h := http.Header{}
	assert.Equal(t, carevalidate.FailedAuthHeader, auth.CheckHeaders(h))
	h.Set("X-CV-Auth", "wrong")
	assert.Equal(t, carevalidate.FailedAuthHeader, auth.CheckHeaders(h))
	h.Set("X-CV-Auth", "s3cret-and-more")
	assert.Equal(t, carevalidate.FailedAuthHeader, auth.CheckHeaders(h), "a longer value is not a prefix match")
	h.Set("X-CV-Auth", "s3cret")
	assert.Equal(t, "", auth.CheckHeaders(h))

	assert.Equal(t, carevalidate.FailedAuthHeader, carevalidate.Auth{Header: "X"}.CheckHeaders(http.Header{"X": {""}}),
		"no secret configured: nothing passes")
}

// Rotation: while CareValidate moves to the new secret, the previous one
// opens too; an empty previous secret opens nothing.
func TestAuthAcceptsThePreviousSecret(t *testing.T) {
	auth := carevalidate.Auth{Header: "X-CV-Auth", Secret: "new", PreviousSecret: "old"}
	for value, want := range map[string]string{"new": "", "old": "", "older": carevalidate.FailedAuthHeader, "": carevalidate.FailedAuthHeader} {
		assert.Equal(t, want, auth.CheckHeaders(http.Header{"X-Cv-Auth": {value}}), "%q", value)
	}
}

// With signatures on, a missing or malformed x-cv-signature is refused from
// the headers alone, before the body is read.
func TestSignatureHeaderCheckedBeforeTheBody(t *testing.T) {
	body := []byte(`{"event":"CREATE_CASE"}`)
	auth := carevalidate.Auth{Header: "X-CV-Auth", Secret: "s3cret", SigningSecret: "sign"}
	h := http.Header{"X-Cv-Auth": {"s3cret"}}
	assert.Equal(t, carevalidate.FailedSignatureHeader, auth.CheckHeaders(h), "missing")
	h.Set(carevalidate.SignatureHeader, "zz")
	assert.Equal(t, carevalidate.FailedSignatureHeader, auth.CheckHeaders(h), "not hex")
	h.Set(carevalidate.SignatureHeader, "abcd")
	assert.Equal(t, carevalidate.FailedSignatureHeader, auth.CheckHeaders(h), "not a SHA-256 MAC's length")
	h.Set(carevalidate.SignatureHeader, hmacsig.Sign([]byte("other"), body))
	assert.Equal(t, "", auth.CheckHeaders(h), "well-formed: the body decides")
	assert.Equal(t, carevalidate.FailedSignature, auth.CheckSignature(h, body))
}

func TestAuthSignature(t *testing.T) {
	body := []byte(`{"event":"CREATE_CASE"}`)
	auth := carevalidate.Auth{Header: "X-CV-Auth", Secret: "s3cret"}
	h := http.Header{"X-Cv-Auth": {"s3cret"}}
	assert.Equal(t, "", auth.CheckSignature(h, body), "signatures off")

	auth.SigningSecret = "sign"
	assert.Equal(t, carevalidate.FailedSignature, auth.CheckSignature(h, body))
	h.Set(carevalidate.SignatureHeader, hmacsig.Sign([]byte("sign"), body))
	assert.Equal(t, "", auth.CheckHeaders(h))
	assert.Equal(t, "", auth.CheckSignature(h, body))
	assert.Equal(t, "", auth.CheckSignature(h, []byte("{\n \"event\": \"CREATE_CASE\"\n}")), "whitespace-compacted form")
	assert.Equal(t, carevalidate.FailedSignature, auth.CheckSignature(h, []byte(`{"event":"CREATE_CASE","x":1}`)))

	// CareValidate signs JSON.stringify(body): a sender whose encoder wrote
	// \u00e9 and 1.0 verifies through the exact JSON.stringify form.
	h.Set(carevalidate.SignatureHeader, hmacsig.Sign([]byte("sign"), []byte(`{"event":"CREATE_CASE","name":"Renée","n":1}`)))
	assert.Equal(t, "", auth.CheckSignature(h, []byte(`{"event":"CREATE_CASE","name":"Ren\u00e9e","n":1.0}`)))
}
