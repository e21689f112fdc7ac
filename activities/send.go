// Package activities holds carebridge's Temporal activities: every call to an
// upstream is one, so that Temporal retries it durably.
package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/clients/realtime"
)

// Token lifetime rules for the Realtime JWT.
const (
	TokenExpiryMargin = time.Minute     // refetch this long before exp
	TokenDefaultTTL   = 5 * time.Minute // lifetime assumed when a token has no exp
)

// Send holds the activities of an Alleviate send: the three steps of the
// reference, each its own activity so that each is its own step in the Web UI.
type Send struct {
	realtime  *realtime.Client
	alleviate *alleviate.Client
	tokens    *tokenCache
}

// NewSend returns the send activities over their clients.
func NewSend(ap *activepieces.Client, rt *realtime.Client, al *alleviate.Client) *Send {
	return &Send{
		realtime:  rt,
		alleviate: al,
		tokens: &tokenCache{
			fetch:      ap.FetchToken,
			margin:     TokenExpiryMargin,
			defaultTTL: TokenDefaultTTL,
			now:        time.Now,
		},
	}
}

// TokenStatus is what step 1 records in history: whether a token was fetched
// and until when it is used. The token itself stays in the worker's memory.
type TokenStatus struct {
	Fetched    bool      `json:"fetched"`
	ValidUntil time.Time `json:"valid_until"`
}

// PatientQuery is what step 2 looks up.
type PatientQuery struct {
	Instance string `json:"instance"`
	Email    string `json:"email"`
}

// FetchRealtimeToken is step 1: make sure the worker holds a Realtime JWT,
// running the Activepieces flow when it does not.
func (s *Send) FetchRealtimeToken(ctx context.Context) (TokenStatus, error) {
	_, until, fetched, err := s.tokens.get(ctx)
	if err != nil {
		return TokenStatus{}, classify(err)
	}
	return TokenStatus{Fetched: fetched, ValidUntil: until}, nil
}

// LookupRealtimePatient is step 2: the subjectId of the first subject with
// this e-mail on this instance. A token Realtime refuses is replaced once;
// a worker that restarted since step 1 fetches its own.
func (s *Send) LookupRealtimePatient(ctx context.Context, q PatientQuery) (int64, error) {
	subjects, err := s.findSubjects(ctx, q)
	if errors.Is(err, realtime.ErrUnauthorized) {
		subjects, err = s.findSubjects(ctx, q)
	}
	if err != nil {
		return 0, classify(err)
	}
	if len(subjects) == 0 {
		return 0, temporal.NewNonRetryableApplicationError(
			"realtime has no patient with that e-mail on that instance", ErrTypePatientNotFound, nil)
	}
	return subjects[0].SubjectID, nil
}

func (s *Send) findSubjects(ctx context.Context, q PatientQuery) ([]realtime.Subject, error) {
	token, _, _, err := s.tokens.get(ctx)
	if err != nil {
		return nil, err
	}
	subjects, err := s.realtime.FindSubjects(ctx, token, q.Instance, q.Email)
	if errors.Is(err, realtime.ErrUnauthorized) {
		s.tokens.invalidate(token)
	}
	return subjects, err
}

// PostAlleviateLead is step 3: post the lead and return Alleviate's answer.
func (s *Send) PostAlleviateLead(ctx context.Context, lead alleviate.Lead) (alleviate.Answer, error) {
	answer, err := s.alleviate.PostLead(ctx, lead)
	if err != nil {
		return alleviate.Answer{}, classify(err)
	}
	return answer, nil
}
