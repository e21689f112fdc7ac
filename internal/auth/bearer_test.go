package auth

import (
	"net/http/httptest"
	"testing"
)

func TestFromRequest(t *testing.T) {
	for _, tc := range []struct {
		headers []string
		token   string
		ok      bool
	}{
		{[]string{"Bearer abc.def.ghi"}, "abc.def.ghi", true},
		{[]string{"bearer abc.def.ghi"}, "abc.def.ghi", true},
		{[]string{"BEARER  abc.def.ghi"}, "abc.def.ghi", true},
		{nil, "", false},
		{[]string{""}, "", false},
		{[]string{"Bearer"}, "", false},
		{[]string{"Bearer "}, "", false},
		{[]string{"Basic dXNlcjpwYXNz"}, "", false},
		{[]string{"Bearerabc"}, "", false},
		{[]string{"Bearer abc def"}, "", false},
		{[]string{"Bearer abc", "Bearer def"}, "", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		for _, h := range tc.headers {
			r.Header.Add("Authorization", h)
		}
		token, ok := FromRequest(r)
		if token != tc.token || ok != tc.ok {
			t.Errorf("Authorization %q: %q, %v; want %q, %v", tc.headers, token, ok, tc.token, tc.ok)
		}
	}
}
