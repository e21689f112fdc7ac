package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// go-oidc's errors say why it refused a token only in their text (typed is
// just expiry), and that text quotes the token's issuer and audience, so
// Verify never passes them on. This file names the reason instead, from
// facts it records while go-oidc verifies, and only after a refusal: the
// decision stays go-oidc's.

// signatureOutcome is what the key set saw of one verification: go-oidc
// checks the signature before any claim, so whether it was reached, and how
// it went, tells the reasons apart.
type signatureOutcome struct {
	reached bool
	payload []byte // the signed claims, when the signature verified
	err     error
}

type signatureOutcomeKey struct{}

// withSignatureOutcome lets recordingKeySet fill in sig for the verification
// done with the returned context.
func withSignatureOutcome(ctx context.Context, sig *signatureOutcome) context.Context {
	return context.WithValue(ctx, signatureOutcomeKey{}, sig)
}

// recordingKeySet is go-oidc's remote key set (cached keys, fetched again
// for a key it has not seen) that also records its outcome.
type recordingKeySet struct {
	remote *oidc.RemoteKeySet
}

func (k recordingKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	if sig, ok := ctx.Value(signatureOutcomeKey{}).(*signatureOutcome); ok {
		*sig = signatureOutcome{reached: true, payload: payload, err: err}
	}
	return payload, err
}

// whyRefused names why go-oidc refused raw with err.
func (v *Verifier) whyRefused(ctx context.Context, raw string, sig signatureOutcome, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // the caller gave up, perhaps while keys were fetched
	}
	if !sig.reached {
		// It did not parse as a JWS with one signature by an allowed algorithm.
		if alg := headerAlg(raw); alg != "" && !slices.Contains(signingAlgs, alg) {
			return ErrUnsupportedAlgorithm
		}
		return ErrMalformedToken
	}
	if sig.err != nil {
		// RemoteKeySet wraps the error of fetching the keys (network, status,
		// body) and returns a bare one when the keys it has do not verify the
		// signature; the tests pin this down for the go-oidc in go.mod.
		if errors.Unwrap(sig.err) != nil {
			return fmt.Errorf("%w: fetching its keys: %v", ErrProviderUnavailable, sig.err)
		}
		return ErrBadSignature
	}
	if expired, ok := errors.AsType[*oidc.TokenExpiredError](err); ok {
		if expired.Expiry.IsZero() {
			return ErrMalformedToken // go-oidc takes a token without exp for expired
		}
		return ErrTokenExpired
	}
	// The signature held, so the claims are the provider's: go-oidc went on
	// to check iss, then aud, then exp and nbf.
	var claims struct {
		Issuer    string          `json:"iss"`
		Audience  json.RawMessage `json:"aud"`
		NotBefore *json.Number    `json:"nbf"`
	}
	if json.Unmarshal(sig.payload, &claims) != nil {
		return ErrMalformedToken
	}
	switch {
	case claims.Issuer != v.issuer:
		return ErrWrongIssuer
	case !audienceContains(claims.Audience, v.audience):
		return ErrWrongAudience
	case claims.NotBefore != nil && notBefore(*claims.NotBefore).After(time.Now()):
		return ErrTokenNotYetValid
	}
	return ErrMalformedToken
}

// audienceContains says whether aud, a string or an array of them, holds want.
func audienceContains(aud json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(aud, &many) == nil && slices.Contains(many, want)
}

// notBefore reads nbf, seconds since the epoch, whole or not.
func notBefore(n json.Number) time.Time {
	seconds, err := n.Float64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(int64(seconds), 0)
}

// headerAlg is the alg of a compact JWS's header, or "" when it has none
// that can be read.
func headerAlg(raw string) string {
	encoded, _, _ := strings.Cut(raw, ".")
	header, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(header, &h) != nil {
		return ""
	}
	return h.Alg
}
