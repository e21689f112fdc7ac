package bench

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/clients/realtime"
)

// baseline is the design of alleviate-send.txt, as a plain HTTP handler:
// three calls in a row, a new token for every request, nothing durable. It
// uses the same clients as carebridge, so the comparison is of designs.
type baseline struct {
	activepieces *activepieces.Client
	realtime     *realtime.Client
	alleviate    *alleviate.Client
}

func (b *baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var lead struct {
		FormName string `json:"form_name"`
		Phone    string `json:"phone"`
		Name     string `json:"name"`
		Email    string `json:"email"`
		Instance string `json:"instance_name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&lead); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	token, err := b.activepieces.FetchToken(r.Context())
	if err != nil {
		http.Error(w, "activepieces failed", http.StatusBadGateway)
		return
	}
	subjects, err := b.realtime.FindSubjects(r.Context(), token.Value, lead.Instance, lead.Email)
	if err != nil {
		http.Error(w, "realtime failed", http.StatusBadGateway)
		return
	}
	if len(subjects) == 0 {
		http.Error(w, "patient not found", http.StatusNotFound)
		return
	}
	answer, err := b.alleviate.PostLead(r.Context(), alleviate.Lead{
		FormName: lead.FormName, Phone: lead.Phone, Name: lead.Name, PatientID: subjects[0].SubjectID, Email: lead.Email,
	})
	if err != nil {
		http.Error(w, "alleviate failed", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", answer.ContentType)
	w.WriteHeader(answer.StatusCode)
	_, _ = io.WriteString(w, answer.Body)
}
