package akutetest

import (
	"net/http"
	"slices"

	"github.com/carebridge/carebridge/clients/akute"
	"github.com/carebridge/carebridge/fakes/fake"
)

// Users: GET /users and GET /users/{id} over the seeded clinicians.

// Users is the seeded clinician list; Chris TPA Medical is the reference
// example's doctor.
var Users = []akute.User{
	{ID: "usr-chris-tpa", FirstName: "Chris", LastName: "TPA Medical", Email: "chris.tpa@clinic.example", NPI: "1234567890"},
	{ID: "usr-ana-lee", FirstName: "Ana", LastName: "Lee", Email: "ana.lee@clinic.example", NPI: "1234567891"},
}

func userExists(id string) bool {
	return slices.ContainsFunc(Users, func(u akute.User) bool { return u.ID == id })
}

// user is a clinician as GET /users lists one.
type user struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email"`
	NPI       string    `json:"npi"`
	Licenses  []license `json:"licenses,omitempty"`
}

type license struct {
	Number         string `json:"number"`
	State          string `json:"state"`
	ExpirationDate string `json:"expiration_date"`
}

func users() []user {
	out := []user{}
	for _, u := range Users {
		v := user{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, NPI: u.NPI}
		for _, l := range u.Licenses {
			v.Licenses = append(v.Licenses, license{Number: l.Number, State: l.State, ExpirationDate: l.ExpirationDate})
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	for _, u := range users() {
		if u.ID == r.PathValue("id") {
			fake.WriteJSON(w, http.StatusOK, u)
			return
		}
	}
	fail(w, http.StatusNotFound, "User not found")
}
