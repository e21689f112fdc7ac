package config_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/internal/config"
)

// sha256Hex is what `printf %s "$KEY" | sha256sum` prints of key.
func sha256Hex(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// CAREBRIDGE_API_KEYS names each caller and holds its key's SHA-256 only; a
// name may come twice (a key being rotated), and CAREBRIDGE_API_TOKENS
// (deprecated) is still read.
func TestAPIKeys(t *testing.T) {
	env := config.FromMap(map[string]string{
		"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"), "CAREVALIDATE_AUTH_SECRET": "cv",
		"CAREBRIDGE_API_KEYS": " clinic-crm:" + sha256Hex("k1") + ", intake.web_2:" + strings.ToUpper(sha256Hex("k2")) +
			",clinic-crm:" + sha256Hex("k1-next"),
		"CAREBRIDGE_API_TOKENS": "t1",
	})
	s := env.LoadStarter()
	require.NoError(t, env.Err())
	assert.Equal(t, []config.APIKey{
		{Caller: "clinic-crm", SHA256: sha256.Sum256([]byte("k1"))},
		{Caller: "intake.web_2", SHA256: sha256.Sum256([]byte("k2"))},
		{Caller: "clinic-crm", SHA256: sha256.Sum256([]byte("k1-next"))},
	}, s.APIKeys)
	assert.Equal(t, []string{"t1"}, s.APITokens)
}

// A malformed entry stops the starter, naming the entry (and the caller when
// it can), never a hash.
func TestAPIKeysProblems(t *testing.T) {
	h := sha256Hex("k1")
	for _, c := range []struct{ keys, want string }{
		{"clinic-crm", "CAREBRIDGE_API_KEYS: entry 1: want name:sha256hex (the SHA-256 of the key, 64 hex digits)"},
		{"clinic-crm:" + h[:62], "CAREBRIDGE_API_KEYS: entry 1: want name:sha256hex (the SHA-256 of the key, 64 hex digits)"},
		{"a:" + sha256Hex("x") + ",clinic-crm:k1", "CAREBRIDGE_API_KEYS: entry 2: want name:sha256hex (the SHA-256 of the key, 64 hex digits)"},
		{":" + h, "CAREBRIDGE_API_KEYS: entry 1: want name:sha256hex (the SHA-256 of the key, 64 hex digits)"},
		{"clinic crm:" + h, "CAREBRIDGE_API_KEYS: entry 1: a caller's name is 1 to 64 letters, digits, '.', '_' or '-'"},
		{strings.Repeat("n", 65) + ":" + h, "CAREBRIDGE_API_KEYS: entry 1: a caller's name is 1 to 64 letters, digits, '.', '_' or '-'"},
		{"api-tokens:" + h, `CAREBRIDGE_API_KEYS: entry 1: the name "api-tokens" is CAREBRIDGE_API_TOKENS' own`},
		{"a:" + h + ",b:" + h, "CAREBRIDGE_API_KEYS: entry 2: one key cannot name two callers (a, b)"},
		{"a:" + sha256Hex(""), "CAREBRIDGE_API_KEYS: entry 1 (a): that is the SHA-256 of an empty key"},
	} {
		env := config.FromMap(map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"), "CAREVALIDATE_AUTH_SECRET": "cv",
			"CAREBRIDGE_API_KEYS": c.keys})
		env.LoadStarter()
		assert.EqualError(t, env.Err(), c.want, c.keys)
		assert.NotContains(t, env.Err().Error(), h[:16], "never a hash")
	}
}
