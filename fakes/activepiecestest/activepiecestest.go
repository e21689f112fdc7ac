// Package activepiecestest is a fake Activepieces sync webhook: it answers a
// POST to /api/v1/webhooks/{flowId}/sync with a fresh JWT, as carebridge's
// flow does, and can be made to answer with each of the failures that
// Activepieces documents (see Presets).
package activepiecestest

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/carebridge/carebridge/fakes/fake"
)

// Presets are Activepieces' documented non-answers, by name.
var Presets = map[string]fake.Fault{
	"flow_failed":    {Status: 500, Body: `{"message":"The flow has failed and there is no response returned"}`},
	"internal_error": {Status: 500, Body: `{"message":"An internal error has occurred"}`},
	"engine_timeout": {Status: 504, Body: `{"message":"The request took too long to reply"}`},
	"sync_timeout":   {Status: 204},
	"no_response":    {Status: 204, Body: `{}`},
	"flow_disabled":  {Status: 404},
	"flow_deleted":   {Status: 410},
	"too_large":      {Status: 413},
}

// Server is the fake webhook.
type Server struct {
	*fake.Harness
	key    []byte
	ttl    time.Duration
	issued atomic.Int64
}

// New returns a fake that signs its tokens with key, valid for ttl.
func New(key []byte, ttl time.Duration) *Server {
	s := &Server{key: key, ttl: ttl}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/webhooks/{flowId}/sync", s.sync)
	s.Harness = fake.New(mux, Presets)
	return s
}

// Issued counts the tokens handed out (each one a flow run, which costs money).
func (s *Server) Issued() int64 { return s.issued.Load() }

func (s *Server) sync(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer:    "activepieces-sandbox",
		Subject:   r.PathValue("flowId"),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
		ID:        now.Format(time.RFC3339Nano),
	}).SignedString(s.key)
	if err != nil {
		fake.WriteJSON(w, http.StatusInternalServerError, map[string]string{"message": "An internal error has occurred"})
		return
	}
	s.issued.Add(1)
	fake.WriteJSON(w, http.StatusOK, map[string]string{"token": token})
}

// Valid reports whether a token is one this fake issued and has not expired;
// the Realtime fake uses it to authenticate.
func (s *Server) Valid(token string) bool {
	_, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	return err == nil
}
