package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// apiError is the body of every error answer:
// {"error":{"code":...,"message":...,"fields":{...}}}.
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Type    string            `json:"type,omitempty"`   // a workflow failure's type, for operators
	Fields  map[string]string `json:"fields,omitempty"` // field name -> what is wrong with it
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, e apiError) {
	writeJSON(w, status, map[string]apiError{"error": e})
}

// readBody reads a request body of at most limit bytes; past that it answers
// 413 itself and returns ok=false.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, apiError{
			Code: "body_too_large", Message: "the request body is larger than this route accepts",
		})
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, apiError{Code: "invalid_request", Message: "the request body could not be read"})
		return nil, false
	}
	return body, true
}
