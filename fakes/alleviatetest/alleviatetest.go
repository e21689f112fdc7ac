// Package alleviatetest is a fake Alleviate participant API: it checks the
// API key and the lead's fields, keeps what it accepted, and answers as
// Alleviate does.
package alleviatetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/fakes/fake"
)

// Server is the fake API.
type Server struct {
	*fake.Harness
	apiKey string

	mu    sync.Mutex
	leads []alleviate.Lead
}

// New returns a fake that accepts apiKey.
func New(apiKey string) *Server {
	s := &Server{apiKey: apiKey}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /participant-by-form-name", s.participant)
	mux.HandleFunc("GET /_sandbox/leads", func(w http.ResponseWriter, _ *http.Request) {
		fake.WriteJSON(w, http.StatusOK, s.Leads())
	})
	s.Harness = fake.New(mux, nil)
	return s
}

// Leads returns the leads accepted so far.
func (s *Server) Leads() []alleviate.Lead {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]alleviate.Lead(nil), s.leads...)
}

func (s *Server) participant(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-API-Key") != s.apiKey {
		fake.WriteJSON(w, http.StatusUnauthorized, map[string]any{"success": false, "message": "Invalid API key"})
		return
	}
	if r.URL.Query().Get("source") == "" {
		fake.WriteJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "source is required"})
		return
	}
	var lead alleviate.Lead
	if err := json.NewDecoder(r.Body).Decode(&lead); err != nil {
		fake.WriteJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "body is not JSON"})
		return
	}
	for field, empty := range map[string]bool{
		"form_name": lead.FormName == "", "phone": lead.Phone == "", "name": lead.Name == "",
		"email": lead.Email == "", "patient_id": lead.PatientID <= 0,
	} {
		if empty {
			fake.WriteJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": field + " is required"})
			return
		}
	}
	s.mu.Lock()
	s.leads = append(s.leads, lead)
	n := len(s.leads)
	s.mu.Unlock()
	fake.WriteJSON(w, http.StatusOK, map[string]any{
		"success":        true,
		"message":        "Participant created",
		"participant_id": fmt.Sprintf("ALV-%06d", n),
		"patient_id":     lead.PatientID,
		"form_name":      lead.FormName,
	})
}
