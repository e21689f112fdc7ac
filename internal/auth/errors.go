package auth

import (
	"context"
	"errors"
)

// The errors of Verify. An HTTP layer answers ErrNoToken and ErrInvalidToken
// (and every Err… below that wraps it) with 401, ErrProviderUnavailable with
// 503; a valid token whose Principal cannot do what is asked is its 403.
// None of them carries the token or any of its claims: error text ends up
// in logs and responses, and a token is a credential.
var (
	ErrNoToken             = errors.New("auth: no bearer token")
	ErrInvalidToken        = errors.New("auth: invalid token")
	ErrProviderUnavailable = errors.New("auth: the identity provider could not be reached")
)

// Why a token is invalid: each wraps ErrInvalidToken, and its reason (see
// Reason) tells an operator what to look at.
var (
	ErrMalformedToken       error = tokenError("token is malformed or lacks a required claim")
	ErrUnsupportedAlgorithm error = tokenError("token is not signed with RS256 or ES256")
	ErrBadSignature         error = tokenError("token signature does not verify against the provider's keys")
	ErrWrongIssuer          error = tokenError("token was issued by another provider")
	ErrWrongAudience        error = tokenError("token is for another audience")
	ErrTokenExpired         error = tokenError("token expired")
	ErrTokenNotYetValid     error = tokenError("token is not valid yet (check the clocks)")
	ErrBadPermissions       error = tokenError("token's permissions claim is not an array of strings")
)

// tokenError is an invalid token's reason. Its values are fixed strings, so
// none can carry what a token says.
type tokenError string

func (e tokenError) Error() string { return "auth: invalid token: " + string(e) }
func (e tokenError) Unwrap() error { return ErrInvalidToken }

// Reason is a short reason for err, from Verify, to answer a caller with or
// to log: "token expired", "token is for another audience", and so on.
func Reason(err error) string {
	var invalid tokenError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &invalid):
		return string(invalid)
	case errors.Is(err, ErrNoToken):
		return "no bearer token"
	case errors.Is(err, ErrProviderUnavailable):
		return "the identity provider could not be reached"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "the request ended before its token was verified"
	}
	return "token could not be verified"
}
