package akutetest

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// Format checks the reference states for several resources: US state and
// territory codes, dates, zip codes, phone numbers, e-mail addresses, and
// the case-insensitive match the list filters use.

// states Akute accepts: the US states, DC and the territories.
var states = strings.Fields(`AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH
	NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP`)

var (
	dateRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	zipRe   = regexp.MustCompile(`^\d{5}$`)
	phoneRe = regexp.MustCompile(`^\d{10}$`)
	emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

func realDate(s string) bool {
	if !dateRe.MatchString(s) {
		return false
	}
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

func stateCode(s string) bool { return slices.Contains(states, strings.ToUpper(s)) }

func match(want, have string) bool { return want == "" || strings.EqualFold(want, have) }
