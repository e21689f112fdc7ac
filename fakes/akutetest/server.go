// Package akutetest is a fake Akute v1 API: patients, tasks, insurance,
// medications, pharmacies, users and observations in memory, checked as the
// reference says Akute checks them, answering Akute's error body on refusal.
//
// It reads and writes its own types, written from the reference (doc.go's
// field names), never the client's structs: a wrong JSON tag in the client
// is a field this fake does not know, which it refuses with 400, so the
// client's tests catch it. Read-back accessors (Patients, Tasks) convert to
// the client's types field by field for the tests' convenience.
package akutetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/carebridge/carebridge/fakes/fake"
)

// The Server type, its routes, the API key check, Akute's error body and
// the body decoding every handler shares. Fault injection, latency and the
// request record come from the embedded fake.Harness (its /_sandbox/
// control API); each resource's handlers live in the file named after it.

// Server is the fake.
type Server struct {
	*fake.Harness
	apiKey string

	mu           sync.Mutex
	seq          int
	instance     uint64 // the random part of its ids
	uuids        bool   // ids as UUIDs (UseUUIDs)
	patients     map[string]*patient
	tasks        map[string]*task
	taskOrder    []string
	insurance    map[string]*insurance
	medications  []medication
	observations []observation
	patientPharm map[string][]string

	webhookURL    string
	webhookSecret []byte
}

// New returns a fake that accepts apiKey.
func New(apiKey string) *Server {
	s := &Server{
		apiKey: apiKey, patients: map[string]*patient{}, tasks: map[string]*task{},
		insurance: map[string]*insurance{}, patientPharm: map[string][]string{},
		instance: rand.Uint64() & 0xffffffffff,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /patients", s.createPatient)
	mux.HandleFunc("PUT /patients/{id}", s.updatePatient)
	mux.HandleFunc("GET /patients/{id}", s.getPatient)
	mux.HandleFunc("GET /patients", s.queryPatients)
	mux.HandleFunc("POST /tasks", s.createTask)
	mux.HandleFunc("GET /tasks/{id}", s.getTask)
	mux.HandleFunc("POST /insurance", s.createInsurance)
	mux.HandleFunc("GET /insurance/{id}", s.getInsurance)
	mux.HandleFunc("GET /insurance", s.listInsurance)
	mux.HandleFunc("GET /medications", s.listMedications)
	mux.HandleFunc("GET /pharmacy", s.searchPharmacies)
	mux.HandleFunc("POST /pharmacy", s.addPharmacy)
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, _ *http.Request) { fake.WriteJSON(w, 200, users()) })
	mux.HandleFunc("GET /users/{id}", s.getUser)
	mux.HandleFunc("GET /observations", s.listObservations)
	mux.HandleFunc("GET /observations/{id}", s.getObservation)
	mux.HandleFunc("GET /_sandbox/patients", func(w http.ResponseWriter, _ *http.Request) { fake.WriteJSON(w, 200, s.Patients()) })
	mux.HandleFunc("GET /_sandbox/tasks", func(w http.ResponseWriter, _ *http.Request) { fake.WriteJSON(w, 200, s.Tasks()) })
	s.webhookRoutes(mux)
	s.Harness = fake.New(auth(apiKey, mux), nil)
	return s
}

func auth(key string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/_sandbox/") && r.Header.Get("X-API-Key") != key {
			fail(w, http.StatusUnauthorized, "Invalid API key")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func fail(w http.ResponseWriter, status int, msg string) {
	fake.WriteJSON(w, status, map[string]any{"statusCode": status, "error": msg})
}

func (s *Server) nextID() string {
	s.seq++
	if s.uuids {
		return uuid.NewString()
	}
	// A MongoDB ObjectId's shape: seconds, a process's random part, a count.
	return fmt.Sprintf("%08x%010x%06x", uint32(time.Now().Unix()), s.instance, s.seq&0xffffff)
}

// UseUUIDs makes the fake give ids as UUIDs (36 characters) instead of
// 24 hex digits: Akute does not document its ids' form, and carebridge must
// hold either.
func (s *Server) UseUUIDs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uuids = true
}

// decode reads a request body into one of the fake's own types; a field the
// reference does not document is refused, so a client's wrong JSON tag shows.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		msg := "body is not valid JSON"
		if _, field, ok := strings.Cut(err.Error(), "unknown field "); ok {
			msg = "unknown field " + field
		} else if strings.Contains(err.Error(), "cannot unmarshal") {
			msg = "body does not match the schema"
		}
		fail(w, http.StatusBadRequest, msg)
		return false
	}
	return true
}

// serveOne answers one resource by id, or Akute's 404.
func serveOne[T any](w http.ResponseWriter, m map[string]*T, id, notFound string) {
	if v, ok := m[id]; ok {
		fake.WriteJSON(w, http.StatusOK, v)
		return
	}
	fail(w, http.StatusNotFound, notFound)
}
