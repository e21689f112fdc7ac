package auth

import "strings"

// Role is what a permission lets its holder do in a namespace. Roles are
// cumulative: an admin may also write, a writer also read.
type Role int

// The roles, in order.
const (
	RoleRead Role = iota + 1
	RoleWrite
	RoleAdmin
)

func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleWrite:
		return "write"
	case RoleAdmin:
		return "admin"
	}
	return "unknown"
}

// systemNamespace is Temporal's own namespace (SystemLocalNamespace): a role
// held there holds in every namespace.
const systemNamespace = "temporal-system"

// Can says whether p's permissions grant need in namespace. It follows
// Temporal's default JWT claim mapper and authorizer (go.temporal.io/server
// v1.32.2, common/authorization), so that carebridge's endpoints refuse what
// Temporal's API would refuse the same token:
//
//   - a permission is "<namespace>:<role>", split at the first colon; the
//     namespace must match exactly, the role ignoring case; one of any other
//     shape grants nothing;
//   - a role in temporal-system holds in every namespace;
//   - the highest role held decides: admin ⊇ write ⊇ read;
//   - "worker" grants nothing. Temporal's roles are bits, worker the lowest
//     (1, reader 2, writer 4, admin 8), and the authorizer allows when the
//     held bits, as a number, are at least the role an API needs, so a
//     worker-only token passes no check there, not even a read (polling a
//     task queue needs write). Were worker to read here, a worker's machine
//     credential could decode patient data through the codec endpoint while
//     Temporal refuses it the same history;
//   - a need other than read, write or admin needs admin, as Temporal's
//     authorizer needs admin for an API whose access it does not know.
func (p Principal) Can(namespace string, need Role) bool {
	if need < RoleRead || need > RoleAdmin {
		need = RoleAdmin
	}
	var held Role
	for _, permission := range p.Permissions {
		ns, role, ok := strings.Cut(permission, ":")
		if ok && (ns == namespace || ns == systemNamespace) {
			held = max(held, parseRole(role))
		}
	}
	return held >= need
}

// parseRole is the role a permission names, or 0 for none (worker, and
// anything Temporal does not know).
func parseRole(s string) Role {
	switch strings.ToLower(s) {
	case "read":
		return RoleRead
	case "write":
		return RoleWrite
	case "admin":
		return RoleAdmin
	}
	return 0
}
