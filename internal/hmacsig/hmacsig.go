// Package hmacsig checks hex HMAC-SHA256 signatures computed by partners over
// JSON.stringify(body): over the raw bytes, over the body with insignificant
// whitespace removed, and over JSON.stringify's exact serialization of the
// parsed body (Stringify). It never re-encodes the body through Go values,
// which would reorder keys and change escapes and numbers.
package hmacsig

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Candidates are the forms of a body a partner may have signed: the raw
// bytes, their json.Compact form, and what a documented verifier signs,
// JSON.stringify of the parsed body (Stringify); each once.
func Candidates(body []byte) [][]byte {
	out := [][]byte{body}
	add := func(c []byte) {
		for _, have := range out {
			if bytes.Equal(have, c) {
				return
			}
		}
		out = append(out, c)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err == nil {
		add(compact.Bytes())
	}
	if s, err := Stringify(body); err == nil {
		add(s)
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
