package akutetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/carebridge/carebridge/fakes/fake"
	akutewebhook "github.com/carebridge/carebridge/webhooks/akute"
)

// Akute notifies its webhook of task creates and updates and of medications
// reaching the pharmacy. The fake does the same, signed as Akute signs, when
// EnableWebhooks gave it a URL and a secret:
//
//	after POST /tasks                      task.created (in the background)
//	POST /_sandbox/tasks/{id}/status       {"status":"complete"}: task.updated
//	POST /_sandbox/medications             a Medication: medication.pharmacy_received
//	POST /_sandbox/webhooks                any {"event":…,"data":…}, signed and sent as is
//
// The last three answer {"webhook_status": <the receiver's status>}.

var webhookClient = &http.Client{Timeout: 15 * time.Second}

// EnableWebhooks makes the fake call url, signing with secret.
func (s *Server) EnableWebhooks(url string, secret []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL, s.webhookSecret = url, secret
}

func (s *Server) webhookRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_sandbox/tasks/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status string `json:"status"`
		}
		if !decode(w, r, &body) {
			return
		}
		task, ok := s.setTaskStatus(r.PathValue("id"), body.Status)
		if !ok {
			fail(w, http.StatusNotFound, "Task not found")
			return
		}
		s.answerWebhook(w, "task.updated", fmt.Sprintf("evt-%s-%s", task.ID, task.Status), task)
	})
	mux.HandleFunc("POST /_sandbox/medications", func(w http.ResponseWriter, r *http.Request) {
		var m medication
		if !decode(w, r, &m) {
			return
		}
		s.addMedication(m)
		s.answerWebhook(w, "medication.pharmacy_received", fmt.Sprintf("evt-rx-%d-%d", m.PrescriptionID, time.Now().UnixNano()), m)
	})
	mux.HandleFunc("POST /_sandbox/webhooks", func(w http.ResponseWriter, r *http.Request) {
		var raw json.RawMessage
		if !decode(w, r, &raw) {
			return
		}
		status, err := s.deliver(raw)
		if err != nil {
			fail(w, http.StatusBadGateway, err.Error())
			return
		}
		fake.WriteJSON(w, http.StatusOK, map[string]int{"webhook_status": status})
	})
}

func (s *Server) answerWebhook(w http.ResponseWriter, event, id string, data any) {
	status, err := s.notify(event, id, data)
	if err != nil {
		fail(w, http.StatusBadGateway, err.Error())
		return
	}
	fake.WriteJSON(w, http.StatusOK, map[string]int{"webhook_status": status})
}

// notify sends one event; no configured URL is status 0.
func (s *Server) notify(event, id string, data any) (int, error) {
	body, err := json.Marshal(map[string]any{"event": event, "id": id, "created_at": time.Now().UTC(), "data": data})
	if err != nil {
		return 0, err
	}
	return s.deliver(body)
}

func (s *Server) deliver(body []byte) (int, error) {
	s.mu.Lock()
	url, secret := s.webhookURL, s.webhookSecret
	s.mu.Unlock()
	if url == "" {
		return 0, nil
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(akutewebhook.Header, akutewebhook.Sign(secret, time.Now(), body))
	resp, err := webhookClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook delivery failed: %w", err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
