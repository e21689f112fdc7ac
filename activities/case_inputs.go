package activities

// What the case workflow hands the Akute activities of CareValidate's case:
// its patient and its doctor, as CareValidate sends them. The case
// workflow's contract (workflows/case_contract.go) names them Submitter and
// Person in its signal payloads; they are defined here, with the activities
// that take them, because workflows imports activities.

// Submitter is the patient. Every field but ID is PHI.
type Submitter struct {
	ID          string `json:"id"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Email       string `json:"email"`
	DOB         string `json:"dob"`
	Gender      string `json:"gender"`
	PhoneNumber string `json:"phoneNumber"`
	Address     string `json:"address"`
	City        string `json:"city"`
	State       string `json:"state"`
	PostalCode  string `json:"postalCode"`
}

// Person is a CareValidate user (doctor, support).
type Person struct {
	ID        string `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}
