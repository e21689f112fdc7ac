package auth

import (
	"net/http"
	"strings"
)

// FromRequest returns the token of r's "Authorization: Bearer <token>"
// (the scheme in any case, as RFC 7235 has it), or false when r has no such
// header, more than one, or another scheme: two headers could each be read
// by a different layer, so neither is trusted.
func FromRequest(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}
