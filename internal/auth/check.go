package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Refusal is how an endpoint answers a request whose bearer token does not
// let it through, in carebridge's error shape,
// {"error":{"code":…,"message":…}}:
//
//   - 401 "unauthorized": no token or an invalid one, the message saying why
//     (Reason), with WWW-Authenticate as RFC 6750 has it (error=
//     "invalid_token" only when a token came);
//   - 403 "forbidden": a valid token without the permission, naming it;
//   - 503 "unavailable": the provider could not be reached to check it, not
//     the caller's fault, so no 401 that would send them to log in again.
//
// Nothing in it holds the token or what it claims.
type Refusal struct {
	Status    int
	Code      string
	Message   string
	Challenge string // WWW-Authenticate; empty for a 503
}

// Check verifies r's bearer token and whether it grants need in namespace:
// the Principal it names, or the Refusal to answer with. The API and the
// codec endpoint both check people so.
func (v *Verifier) Check(r *http.Request, namespace string, need Role) (Principal, *Refusal) {
	token, ok := FromRequest(r)
	if !ok {
		return Principal{}, &Refusal{http.StatusUnauthorized, "unauthorized", "a bearer token is required", `Bearer realm="carebridge"`}
	}
	p, err := v.Verify(r.Context(), token)
	switch {
	case errors.Is(err, ErrInvalidToken):
		return Principal{}, &Refusal{http.StatusUnauthorized, "unauthorized", Reason(err),
			fmt.Sprintf(`Bearer realm="carebridge", error="invalid_token", error_description=%q`, Reason(err))}
	case err != nil:
		return Principal{}, &Refusal{Status: http.StatusServiceUnavailable, Code: "unavailable",
			Message: "the token could not be checked: " + Reason(err) + "; retry shortly"}
	case !p.Can(namespace, need):
		return p, &Refusal{http.StatusForbidden, "forbidden", fmt.Sprintf("this needs the %s:%s permission", namespace, need),
			`Bearer realm="carebridge", error="insufficient_scope"`}
	}
	return p, nil
}

// Write answers the refusal.
func (f *Refusal) Write(w http.ResponseWriter) {
	type apiError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if f.Challenge != "" {
		w.Header().Set("WWW-Authenticate", f.Challenge)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Error apiError `json:"error"`
	}{apiError{f.Code, f.Message}})
}
