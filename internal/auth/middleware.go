package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

type principalKey struct{}

// PrincipalFrom is the Principal that Require let through, for the handler
// (to log who did what, or to check a further namespace with Can).
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Require lets a request on to next only with a bearer token that v
// verifies and whose Principal Can(namespace, need); next finds the
// Principal with PrincipalFrom. It refuses in the API's error shape,
// {"error":{"code":…,"message":…}}:
//
//   - 401 "unauthorized", no token or an invalid one, the message saying
//     why (Reason), with WWW-Authenticate as RFC 6750 has it: error=
//     "invalid_token" only when a token came;
//   - 403 "forbidden", a valid token without the permission, naming the
//     permission needed;
//   - 503 "unavailable", the provider could not be reached to check it:
//     not the caller's fault, so no 401 that would send them to log in again.
//
// Nothing it answers contains the token or what it claims.
func Require(v *Verifier, namespace string, need Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := FromRequest(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge"`)
			refuse(w, http.StatusUnauthorized, "unauthorized", "a bearer token is required")
			return
		}
		p, err := v.Verify(r.Context(), token)
		switch {
		case errors.Is(err, ErrInvalidToken):
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="carebridge", error="invalid_token", error_description=%q`, Reason(err)))
			refuse(w, http.StatusUnauthorized, "unauthorized", Reason(err))
			return
		case err != nil:
			refuse(w, http.StatusServiceUnavailable, "unavailable", "the token could not be checked: "+Reason(err)+"; retry shortly")
			return
		case !p.Can(namespace, need):
			w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge", error="insufficient_scope"`)
			refuse(w, http.StatusForbidden, "forbidden", fmt.Sprintf("the token does not grant %s on namespace %q", need, namespace))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// refuse answers status with the API's error body.
func refuse(w http.ResponseWriter, status int, code, message string) {
	type apiError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error apiError `json:"error"`
	}{apiError{code, message}})
}
