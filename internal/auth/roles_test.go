package auth

import "testing"

func TestCan(t *testing.T) {
	type want struct{ read, write, admin bool }
	for _, tc := range []struct {
		perms []string
		want  want // in namespace "default"
	}{
		{nil, want{}},
		{[]string{"default:read"}, want{read: true}},
		{[]string{"default:write"}, want{read: true, write: true}},
		{[]string{"default:admin"}, want{true, true, true}},
		{[]string{"default:READ"}, want{read: true}}, // the role ignores case, as Temporal's
		{[]string{"temporal-system:admin"}, want{true, true, true}},
		{[]string{"temporal-system:read"}, want{read: true}},
		{[]string{"temporal-system:read", "default:write"}, want{read: true, write: true}},
		{[]string{"other-namespace:admin"}, want{}},
		{[]string{"Default:admin"}, want{}}, // the namespace does not
		{[]string{"default:worker"}, want{}},
		{[]string{"default:worker", "default:read"}, want{read: true}},
		{[]string{"default", "default:", ":admin", "default:read:write", "default:owner", "*:admin"}, want{}},
	} {
		p := Principal{Subject: "s", Permissions: tc.perms}
		got := want{p.Can("default", RoleRead), p.Can("default", RoleWrite), p.Can("default", RoleAdmin)}
		if got != tc.want {
			t.Errorf("%q: read, write, admin in default = %v, want %v", tc.perms, got, tc.want)
		}
	}
}

// TestCanUnknownRole: a need that is no role needs admin, as Temporal's
// authorizer does for an API whose access it does not know.
func TestCanUnknownRole(t *testing.T) {
	writer := Principal{Permissions: []string{"default:write"}}
	admin := Principal{Permissions: []string{"default:admin"}}
	for _, need := range []Role{0, -1, RoleAdmin + 1} {
		if writer.Can("default", need) || !admin.Can("default", need) {
			t.Errorf("need %d: a writer can (%v), an admin can (%v); want only the admin", need, writer.Can("default", need), admin.Can("default", need))
		}
	}
}
