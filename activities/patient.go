package activities

import (
	"regexp"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/carebridge/carebridge/clients/akute"
)

// akuteFieldMax is Akute's limit on names, address lines and city.
const akuteFieldMax = 35

// PatientFromSubmitter maps CareValidate's patient to Akute's patient, value
// for value: a value is sent exactly as given (trimmed of surrounding
// spaces), or in the one form Akute takes that means the same thing (a
// state's name as its code, a phone number's ten digits, a ZIP+4's five), or
// refused. A refusal is an *akute.ValidationError naming CareValidate's
// field and what is wrong, never the value: the case stops for an operator,
// and nothing is guessed, cut or reformatted into something else.
//
// The status (active) is part of the mapping for a create only: a sync of
// an existing patient leaves the status a clinician set (see update).
func PatientFromSubmitter(s Submitter) (akute.Patient, error) {
	if strings.TrimSpace(s.ID) == "" {
		return akute.Patient{}, refuse("id", "is required")
	}
	p := akute.Patient{
		Status:           "active",
		ExternalID:       s.ID,
		Sex:              sex(s.Gender),
		Email:            strings.TrimSpace(s.Email),
		PrimaryPhoneType: "mobile",
	}
	var err error
	for _, step := range []func() error{
		func() (err error) { p.FirstName, err = upTo35("firstName", s.FirstName); return },
		func() (err error) { p.LastName, err = upTo35("lastName", s.LastName); return },
		func() (err error) { p.DateOfBirth, err = dateOfBirth(s.DOB); return },
		func() (err error) { p.AddressLine1, p.AddressLine2, err = addressLines(s.Address); return },
		func() (err error) { p.AddressCity, err = upTo35("city", s.City); return },
		func() (err error) { p.AddressState, err = stateCode(s.State); return },
		func() (err error) { p.AddressZipcode, err = zipCode(s.PostalCode); return },
		func() (err error) { p.PrimaryPhoneNumber, err = usPhone(s.PhoneNumber); return },
	} {
		if err = step(); err != nil {
			return akute.Patient{}, err
		}
	}
	return p, nil
}

// refuse names CareValidate's field (submitter.<name>) and the problem.
func refuse(field, problem string) error {
	return &akute.ValidationError{Field: "submitter." + field, Problem: problem}
}

func upTo35(field, value string) (string, error) {
	v := strings.TrimSpace(value)
	if n := len([]rune(v)); n > akuteFieldMax {
		return "", refuse(field, "is longer than Akute's 35 characters")
	}
	return v, nil
}

// dateOfBirth takes the calendar date as written: "2000-05-30", or the date
// part of a timestamp ("2000-05-30T00:00:00+02:00" is 30 May, whatever the
// offset). It must be a real date, not in the future.
func dateOfBirth(value string) (string, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return "", refuse("dob", "is required")
	}
	date, _, timed := strings.Cut(v, "T")
	if timed {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			return "", refuse("dob", "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp")
		}
	}
	if !dateRe.MatchString(date) {
		return "", refuse("dob", "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp")
	}
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		return "", refuse("dob", "is not a real calendar date")
	}
	if d.Year() < 1900 || d.After(time.Now()) {
		return "", refuse("dob", "is before 1900 or in the future")
	}
	return date, nil
}

var dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// addressLines puts an address into Akute's two 35-character lines, breaking
// between words; what fits in neither is refused.
func addressLines(value string) (string, string, error) {
	v := strings.Join(strings.Fields(value), " ")
	if v == "" {
		return "", "", refuse("address", "is required")
	}
	if len([]rune(v)) <= akuteFieldMax {
		return v, "", nil
	}
	words := strings.Fields(v)
	line1 := ""
	i := 0
	for ; i < len(words); i++ {
		next := strings.TrimSpace(line1 + " " + words[i])
		if len([]rune(next)) > akuteFieldMax {
			break
		}
		line1 = next
	}
	line2 := strings.Join(words[i:], " ")
	if line1 == "" || len([]rune(line2)) > akuteFieldMax {
		return "", "", refuse("address", "does not fit Akute's two address lines of 35 characters")
	}
	return line1, line2, nil
}

var zipRe = regexp.MustCompile(`^(\d{5})(-\d{4})?$`)

// zipCode accepts NNNNN and NNNNN-NNNN (Akute takes the five digits).
func zipCode(value string) (string, error) {
	m := zipRe.FindStringSubmatch(strings.TrimSpace(value))
	if m == nil {
		return "", refuse("postalCode", "must be a US ZIP code: 5 digits, or ZIP+4 (5-4)")
	}
	return m[1], nil
}

// usPhone accepts a US number written any common way (+1, dots, spaces,
// dashes, parentheses) and returns its ten digits; extensions and numbers of
// other countries are refused (Akute has no field for either).
func usPhone(value string) (string, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return "", refuse("phoneNumber", "is required")
	}
	n, err := phonenumbers.Parse(v, "US")
	if err != nil {
		return "", refuse("phoneNumber", "is not a phone number")
	}
	if n.GetExtension() != "" {
		return "", refuse("phoneNumber", "has an extension, which Akute cannot hold")
	}
	notUS := refuse("phoneNumber", "is not a US number (Akute takes ten US digits, no country code)")
	if n.GetCountryCode() != 1 {
		return "", notUS
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", refuse("phoneNumber", "is not a valid US number")
	}
	if !usRegions[phonenumbers.GetRegionCodeForNumber(n)] {
		return "", notUS // Canada and the Caribbean share +1
	}
	return phonenumbers.GetNationalSignificantNumber(n), nil
}

// usRegions are the numbering regions of the US and its territories.
var usRegions = map[string]bool{"US": true, "PR": true, "GU": true, "VI": true, "AS": true, "MP": true}

// stateCode accepts a state's or territory's code or name, in any case.
func stateCode(value string) (string, error) {
	v := strings.ToUpper(strings.Join(strings.Fields(value), " "))
	if v == "" {
		return "", refuse("state", "is required")
	}
	if _, ok := usStates[v]; ok {
		return v, nil
	}
	for code, name := range usStates {
		if strings.ToUpper(name) == v {
			return code, nil
		}
	}
	if code, ok := stateAliases[v]; ok {
		return code, nil
	}
	return "", refuse("state", "is not a US state or territory (its two-letter code or its name)")
}

// usStates are the codes Akute takes: the states, DC and the territories.
var usStates = map[string]string{
	"AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
	"CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho",
	"IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
	"ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
	"MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
	"NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
	"ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
	"RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
	"UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia",
	"WI": "Wisconsin", "WY": "Wyoming",
	"DC": "District of Columbia", "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands",
	"AS": "American Samoa", "MP": "Northern Mariana Islands",
}

// stateAliases are other common names of the same places.
var stateAliases = map[string]string{
	"WASHINGTON DC": "DC", "WASHINGTON, DC": "DC", "WASHINGTON D.C.": "DC", "WASHINGTON, D.C.": "DC",
	"VIRGIN ISLANDS": "VI", "US VIRGIN ISLANDS": "VI", "UNITED STATES VIRGIN ISLANDS": "VI",
}

func sex(gender string) string {
	switch strings.ToLower(strings.TrimSpace(gender)) {
	case "male", "m":
		return "male"
	case "female", "f":
		return "female"
	}
	return "unknown"
}
