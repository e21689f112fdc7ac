package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/internal/config"
)

// Half a provider's configuration stops a program at start, naming what is
// missing; a whole one makes the program present its client's tokens.
func TestIdentityVariables(t *testing.T) {
	base := map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"),
		"AKUTE_BASE_URL": "http://akute", "AKUTE_API_KEY": "k"}
	for _, c := range []struct {
		name string
		env  map[string]string
		want string // in the error; "" when it loads
	}{
		{"none", base, ""},
		{"whole", with(base, "CAREBRIDGE_OIDC_ISSUER", "https://idp.example", "CAREBRIDGE_OIDC_AUDIENCE", "urn:carebridge",
			"CAREBRIDGE_OIDC_CLIENT_ID", "worker", "CAREBRIDGE_OIDC_CLIENT_SECRET", "s"), ""},
		{"no audience", with(base, "CAREBRIDGE_OIDC_ISSUER", "https://idp.example"), "CAREBRIDGE_OIDC_AUDIENCE is required"},
		{"a client without the issuer", with(base, "CAREBRIDGE_OIDC_CLIENT_ID", "worker", "CAREBRIDGE_OIDC_CLIENT_SECRET", "s"),
			"CAREBRIDGE_OIDC_ISSUER is required"},
		{"a client without its secret", with(base, "CAREBRIDGE_OIDC_ISSUER", "https://idp.example", "CAREBRIDGE_OIDC_AUDIENCE", "a",
			"CAREBRIDGE_OIDC_CLIENT_ID", "worker"), "go together"},
		{"a CA file that is not one", with(base, "CAREBRIDGE_OIDC_ISSUER", "https://idp.example", "CAREBRIDGE_OIDC_AUDIENCE", "a",
			"CAREBRIDGE_OIDC_CA_FILE", "/nonexistent"), "CAREBRIDGE_OIDC_CA_FILE"},
		{"an API key besides the client", with(base, "CAREBRIDGE_OIDC_ISSUER", "https://idp.example", "CAREBRIDGE_OIDC_AUDIENCE", "a",
			"CAREBRIDGE_OIDC_CLIENT_ID", "worker", "CAREBRIDGE_OIDC_CLIENT_SECRET", "s", "TEMPORAL_API_KEY", "k", "TEMPORAL_TLS", "true"),
			"keep one"},
	} {
		env := config.FromMap(c.env)
		w := env.LoadWorker()
		if c.want == "" {
			require.NoError(t, env.Err(), c.name)
			assert.Equal(t, c.env["CAREBRIDGE_OIDC_CLIENT_ID"] != "", w.Temporal.Options.Credentials != nil,
				"%s: a client's tokens go to Temporal", c.name)
			continue
		}
		require.Error(t, env.Err(), c.name)
		assert.Contains(t, env.Err().Error(), c.want, c.name)
		assert.NotContains(t, env.Err().Error(), `"s"`, "%s: no secret echoed", c.name)
	}
}
