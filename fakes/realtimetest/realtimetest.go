// Package realtimetest is a fake Realtime CTMS subjects API with a small
// seeded patient directory.
package realtimetest

import (
	"net/http"
	"strings"
	"sync"

	"github.com/carebridge/carebridge/fakes/fake"
)

// Subject is one patient of the directory.
type Subject struct {
	SubjectID    int64  `json:"subjectId"`
	InstanceName string `json:"instanceName"`
	Email        string `json:"email"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
}

// Seed is the directory the sandbox starts with. john.doe@example.com on
// instance ect is the reference's example patient.
var Seed = []Subject{
	{SubjectID: 139712, InstanceName: "ect", Email: "john.doe@example.com", FirstName: "John", LastName: "Doe"},
	{SubjectID: 139713, InstanceName: "ect", Email: "jane.roe@example.com", FirstName: "Jane", LastName: "Roe"},
	{SubjectID: 240001, InstanceName: "nyc", Email: "john.doe@example.com", FirstName: "John", LastName: "Doe"},
	{SubjectID: 240002, InstanceName: "nyc", Email: "maria.garcia@example.com", FirstName: "Maria", LastName: "Garcia"},
}

// Server is the fake subjects API.
type Server struct {
	*fake.Harness
	authorize func(token string) bool

	mu       sync.Mutex
	subjects []Subject
}

// New returns a fake that accepts the bearer tokens authorize accepts and
// knows the subjects given.
func New(authorize func(token string) bool, subjects []Subject) *Server {
	s := &Server{authorize: authorize, subjects: append([]Subject(nil), subjects...)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2/subjects", s.list)
	s.Harness = fake.New(mux, nil)
	return s
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.authorize(token) {
		fake.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "Unauthorized"})
		return
	}
	instance := r.URL.Query().Get("instanceName")
	email := r.URL.Query().Get("email")
	if instance == "" || email == "" {
		fake.WriteJSON(w, http.StatusBadRequest, map[string]string{"message": "instanceName and email are required"})
		return
	}
	s.mu.Lock()
	matches := []Subject{}
	for _, sub := range s.subjects {
		if strings.EqualFold(sub.InstanceName, instance) && strings.EqualFold(sub.Email, email) {
			matches = append(matches, sub)
		}
	}
	s.mu.Unlock()
	fake.WriteJSON(w, http.StatusOK, map[string]any{"data": matches, "total": len(matches)})
}
