// Package hmacsig checks hex HMAC-SHA256 signatures computed by partners over
// JSON.stringify(body): first over the raw bytes, then over the body with
// insignificant whitespace removed. It never re-encodes the body through Go
// values, which would reorder keys and change escapes and numbers.
package hmacsig

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Candidates are the forms of a body a partner may have signed: the raw
// bytes, and (when different) their json.Compact form.
func Candidates(body []byte) [][]byte {
	out := [][]byte{body}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err == nil && !bytes.Equal(compact.Bytes(), body) {
		out = append(out, compact.Bytes())
	}
	return out
}

// Sign returns the hex HMAC-SHA256 of message under secret.
func Sign(secret, message []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(message)
	return hex.EncodeToString(m.Sum(nil))
}

// Equal reports, in constant time, whether hexMAC is the HMAC of message.
func Equal(secret, message []byte, hexMAC string) bool {
	got, err := hex.DecodeString(hexMAC)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(message)
	return hmac.Equal(m.Sum(nil), got)
}

// BodyHash is a short fingerprint of a body for log lines, which must never
// carry the body itself.
func BodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:8])
}
