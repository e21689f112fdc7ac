package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// APIKey is one credential of the starter's /api/ routes: the caller it
// names and the SHA-256 of the key that caller presents. The environment
// holds the hash only, never the key.
type APIKey struct {
	Caller string
	SHA256 [sha256.Size]byte
}

// SharedTokenCaller is the name of whoever presents one of
// CAREBRIDGE_API_TOKENS' tokens (deprecated): they are shared, so all of them
// are this one caller. No API key may take the name.
const SharedTokenCaller = "api-tokens"

// maxCallerName bounds a caller's name, which goes in log lines and memos.
const maxCallerName = 64

// apiKeys reads CAREBRIDGE_API_KEYS: "name:sha256hex,name2:sha256hex", the
// hex SHA-256 of each key (printf %s "$KEY" | sha256sum). A name may come
// more than once (a key being rotated: old and new both work, as one
// caller); a hash may not name two callers. Problems name the entry and the
// caller, never a hash.
func (e *Env) apiKeys() []APIKey {
	const name = "CAREBRIDGE_API_KEYS"
	var keys []APIKey
	seen := map[[sha256.Size]byte]string{}
	empty := sha256.Sum256(nil)
	for i, entry := range e.List(name) {
		caller, digest, ok := strings.Cut(entry, ":")
		caller, digest = strings.TrimSpace(caller), strings.TrimSpace(digest)
		sum, err := hex.DecodeString(digest)
		switch {
		case !ok || caller == "" || err != nil || len(sum) != sha256.Size:
			e.problems = append(e.problems, fmt.Sprintf("%s: entry %d: want name:sha256hex (the SHA-256 of the key, 64 hex digits)", name, i+1))
			continue
		case !validCallerName(caller):
			e.problems = append(e.problems, fmt.Sprintf("%s: entry %d: a caller's name is 1 to %d letters, digits, '.', '_' or '-'", name, i+1, maxCallerName))
			continue
		case caller == SharedTokenCaller:
			e.problems = append(e.problems, fmt.Sprintf("%s: entry %d: the name %q is CAREBRIDGE_API_TOKENS' own", name, i+1, caller))
			continue
		}
		k := APIKey{Caller: caller, SHA256: [sha256.Size]byte(sum)}
		switch other, dup := seen[k.SHA256]; {
		case k.SHA256 == empty:
			e.problems = append(e.problems, fmt.Sprintf("%s: entry %d (%s): that is the SHA-256 of an empty key", name, i+1, caller))
		case dup && other != caller:
			e.problems = append(e.problems, fmt.Sprintf("%s: entry %d: one key cannot name two callers (%s, %s)", name, i+1, other, caller))
		case !dup:
			seen[k.SHA256] = caller
			keys = append(keys, k)
		}
	}
	return keys
}

func validCallerName(s string) bool {
	if len(s) == 0 || len(s) > maxCallerName {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
