package akutetest

import (
	"net/http"
	"slices"
	"time"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/fake"
)

// Tasks: POST /tasks (which notifies the webhook of task.created, see
// webhooks.go), GET /tasks/{id}, and the read-back accessor.

// task is a task as the reference writes it (POST /tasks). Status is
// complete once a clinician completes it.
type task struct {
	ID                string   `json:"id,omitempty"`
	Task              string   `json:"task"`
	Description       string   `json:"description,omitempty"`
	DueDate           string   `json:"due_date,omitempty"`
	OwnerID           string   `json:"owner_id,omitempty"`
	PatientID         string   `json:"patient_id,omitempty"`
	ExternalPatientID string   `json:"external_patient_id,omitempty"`
	Priority          string   `json:"priority,omitempty"`
	Status            string   `json:"status,omitempty"`
	DateCreated       string   `json:"date_created,omitempty"`
	Tags              []string `json:"tags,omitempty"`
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) {
	var t task
	if !decode(w, r, &t) {
		return
	}
	switch {
	case t.Task == "":
		fail(w, http.StatusBadRequest, "task is required")
		return
	case t.Priority != "" && !slices.Contains([]string{"p1", "p2", "p3"}, t.Priority):
		fail(w, http.StatusBadRequest, "priority must be one of p1, p2, p3")
		return
	case t.Status != "" && !slices.Contains([]string{"not-started", "in-progress"}, t.Status):
		fail(w, http.StatusBadRequest, "status must be one of not-started, in-progress")
		return
	case t.DueDate != "" && !realDate(t.DueDate):
		fail(w, http.StatusBadRequest, "due_date must be a date in YYYY-MM-DD format")
		return
	}
	if t.DateCreated != "" {
		if _, err := time.Parse(time.RFC3339, t.DateCreated); err != nil {
			fail(w, http.StatusBadRequest, "date_created must be an RFC 3339 date-time")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.PatientID != "" {
		if _, ok := s.patients[t.PatientID]; !ok {
			fail(w, http.StatusBadRequest, "patient_id does not exist")
			return
		}
	}
	if t.OwnerID != "" && !userExists(t.OwnerID) {
		fail(w, http.StatusBadRequest, "owner_id does not exist")
		return
	}
	if t.Status == "" {
		t.Status = "not-started"
	}
	if t.DateCreated == "" {
		t.DateCreated = time.Now().UTC().Format(time.RFC3339)
	}
	t.ID = s.nextID()
	s.tasks[t.ID] = &t
	s.taskOrder = append(s.taskOrder, t.ID)
	w.Header().Set("Location", "/v1/tasks/"+t.ID)
	fake.WriteJSON(w, http.StatusCreated, map[string]string{"id": t.ID})
	created := t
	go func() { _, _ = s.notify("task.created", "evt-"+created.ID+"-created", created) }()
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	serveOne(w, s.tasks, r.PathValue("id"), "Task not found")
}

// Tasks returns the tasks in creation order.
func (s *Server) Tasks() []akute.Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]akute.Task, 0, len(s.taskOrder))
	for _, id := range s.taskOrder {
		t := s.tasks[id]
		out = append(out, akute.Task{ID: t.ID, Task: t.Task, Description: t.Description, DueDate: t.DueDate,
			OwnerID: t.OwnerID, PatientID: t.PatientID, ExternalPatientID: t.ExternalPatientID, Priority: t.Priority,
			Status: t.Status, DateCreated: t.DateCreated, Tags: t.Tags})
	}
	return out
}

// setTaskStatus changes a task as a clinician would in Akute's UI.
func (s *Server) setTaskStatus(id, status string) (task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return task{}, false
	}
	t.Status = status
	return *t, true
}
