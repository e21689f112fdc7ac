package config_test

import (
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/internal/config"
)

func TestMissingVariablesAreNamedInOneLine(t *testing.T) {
	env := config.FromMap(map[string]string{"A": "x", "EMPTY": "  "})
	assert.Equal(t, "x", env.Required("A"))
	env.Required("EMPTY")
	env.Required("B")
	assert.EqualError(t, env.Err(), "missing required environment variables EMPTY, B")
}

func TestCodecKeysAreRequiredAndChecked(t *testing.T) {
	env := config.FromMap(map[string]string{"CAREBRIDGE_DEV": "true"})
	env.LoadTemporal()
	assert.EqualError(t, env.Err(), "missing required environment variable CAREBRIDGE_CODEC_KEYS")

	env = config.FromMap(map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": "k1:dG9vLXNob3J0"})
	env.LoadTemporal()
	assert.EqualError(t, env.Err(), `CAREBRIDGE_CODEC_KEYS: codec key "k1": want 32 bytes, base64-encoded`)
}

func TestDefaultsAndDurations(t *testing.T) {
	env := config.FromMap(map[string]string{"WAIT": "3s", "BAD": "soon"})
	assert.Equal(t, "def", env.String("UNSET", "def"))
	assert.Equal(t, 3*time.Second, env.Duration("WAIT", time.Second))
	assert.Equal(t, time.Second, env.Duration("UNSET", time.Second))
	env.Duration("BAD", time.Second)
	assert.EqualError(t, env.Err(), `BAD="soon" is not a duration such as 20s`)
}

func TestTemporalDefaults(t *testing.T) {
	env := config.FromMap(map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1")})
	tc := env.LoadTemporal()
	assert.NoError(t, env.Err())
	assert.NotNil(t, tc.Codec)
	assert.NotNil(t, tc.Options.DataConverter)
	assert.Equal(t, "127.0.0.1:7233", tc.Options.HostPort)
	assert.Equal(t, "default", tc.Options.Namespace)
	assert.Equal(t, "carebridge", tc.TaskQueue)

	env = config.FromMap(map[string]string{
		"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "clinic", "CAREBRIDGE_TASK_QUEUE": "q",
		"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"),
	})
	tc = env.LoadTemporal()
	assert.Equal(t, "temporal:7233", tc.Options.HostPort)
	assert.Equal(t, "clinic", tc.Options.Namespace)
	assert.Equal(t, "q", tc.TaskQueue)
}

// A program that cannot run says, in one line, everything to set: the
// integration tests check the same lines on the real programs. (In
// development mode; what production adds is in security_test.go.)
func TestAStartNamesWhatToSet(t *testing.T) {
	keys := codec.NewKey("k1")
	worker := func(e *config.Env) { e.LoadWorker() }
	starter := func(e *config.Env) { e.LoadStarter() }
	for _, c := range []struct {
		name string
		load func(*config.Env)
		env  map[string]string
		want string
	}{
		{"worker, nothing set", worker, nil,
			"missing required environment variable CAREBRIDGE_CODEC_KEYS; no integration is configured: set " +
				"ACTIVEPIECES_WEBHOOK_URL, REALTIME_BASE_URL, ALLEVIATE_BASE_URL, ALLEVIATE_API_KEY (sends), or AKUTE_BASE_URL, AKUTE_API_KEY (cases and Akute)"},
		{"starter, nothing set", starter, nil,
			"missing required environment variable CAREBRIDGE_CODEC_KEYS; no integration is configured: set " +
				"ACTIVEPIECES_WEBHOOK_URL, REALTIME_BASE_URL, ALLEVIATE_BASE_URL, ALLEVIATE_API_KEY (sends), CAREVALIDATE_AUTH_SECRET (CareValidate's webhook) or AKUTE_WEBHOOK_SECRET (Akute's webhook)"},
		{"worker, a URL without its key", worker,
			map[string]string{"CAREBRIDGE_CODEC_KEYS": keys, "AKUTE_BASE_URL": "http://akute"},
			"missing required environment variable AKUTE_API_KEY"},
		{"worker, half the send", worker,
			map[string]string{"CAREBRIDGE_CODEC_KEYS": keys, "ALLEVIATE_BASE_URL": "http://alleviate", "ALLEVIATE_API_KEY": "k"},
			"missing required environment variables ACTIVEPIECES_WEBHOOK_URL, REALTIME_BASE_URL"},
		{"worker, an optional variable turns its integration on", worker,
			map[string]string{"CAREBRIDGE_CODEC_KEYS": keys, "AKUTE_TIMEOUT": "soon"},
			`missing required environment variables AKUTE_BASE_URL, AKUTE_API_KEY; AKUTE_TIMEOUT="soon" is not a duration such as 20s`},
		{"starter, a signing secret without the auth secret", starter,
			map[string]string{"CAREBRIDGE_CODEC_KEYS": keys, "CAREVALIDATE_SIGNING_SECRET": "s"},
			"missing required environment variable CAREVALIDATE_AUTH_SECRET"},
	} {
		env := map[string]string{"CAREBRIDGE_DEV": "true"}
		maps.Copy(env, c.env)
		e := config.FromMap(env)
		c.load(e)
		assert.EqualError(t, e.Err(), c.want, c.name)
	}
}

// Each program turns on what the deployment configured, and hands on the
// values as read; an unset optional value stays zero, for the client's own
// default.
func TestWhatEachProgramTurnsOn(t *testing.T) {
	send := map[string]string{
		"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"),
		"ACTIVEPIECES_WEBHOOK_URL": "http://activepieces/sync", "REALTIME_BASE_URL": "http://realtime",
		"ALLEVIATE_BASE_URL": "http://alleviate", "ALLEVIATE_API_KEY": "alleviate-key", "ALLEVIATE_TIMEOUT": "3s",
	}
	env := config.FromMap(send)
	w := env.LoadWorker()
	require.NoError(t, env.Err())
	assert.Equal(t, "alleviate-send", w.On.String())
	assert.Nil(t, w.Akute)
	workerSend := w.Send
	require.NotNil(t, workerSend)
	assert.Equal(t, config.Send{
		Activepieces: config.Activepieces{WebhookURL: "http://activepieces/sync"},
		Realtime:     config.Realtime{BaseURL: "http://realtime"},
		Alleviate:    config.Alleviate{BaseURL: "http://alleviate", APIKey: "alleviate-key", Timeout: 3 * time.Second},
	}, *workerSend)
	assert.Equal(t, config.Cases{}, w.Cases, "the workflow's defaults")
	assert.Equal(t, "127.0.0.1:9090", w.MetricsAddr, "in development, on loopback")

	env = config.FromMap(map[string]string{
		"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"), "AKUTE_BASE_URL": "http://akute", "AKUTE_API_KEY": "akute-key",
		"CAREBRIDGE_CASE_MAX_SIGNALS": "10", "CAREBRIDGE_CASE_ARCHIVE_GRACE": "1m",
	})
	w = env.LoadWorker()
	require.NoError(t, env.Err())
	assert.Equal(t, "carevalidate-cases,akute", w.On.String(), "Akute's API turns on cases and Akute's deliveries")
	assert.Equal(t, &config.Akute{BaseURL: "http://akute", APIKey: "akute-key"}, w.Akute)
	assert.Equal(t, config.Cases{MaxSignals: 10, ArchiveGrace: time.Minute}, w.Cases)

	// The starter runs sends itself by default, with the worker's values.
	env = config.FromMap(send)
	s := env.LoadStarter()
	require.NoError(t, env.Err())
	assert.Equal(t, "alleviate-send", s.On.String())
	assert.Equal(t, workerSend, s.Send)
	assert.Equal(t, 20*time.Second, s.SendWait)
	assert.Equal(t, []string{"http://127.0.0.1:8233", "http://localhost:8233"}, s.CodecCORSOrigins)
	assert.Nil(t, s.CareValidate)
	assert.Nil(t, s.AkuteWebhook)

	// Without eager sends one send variable turns the route on, and the
	// starter needs (and holds) no credential.
	env = config.FromMap(map[string]string{
		"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"), "CAREBRIDGE_EAGER_SENDS": "false", "ALLEVIATE_BASE_URL": "http://alleviate",
		"CAREVALIDATE_AUTH_SECRET": "cv-secret", "AKUTE_WEBHOOK_SECRET": "a, b", "CAREBRIDGE_API_TOKENS": "t1, t2",
	})
	s = env.LoadStarter()
	require.NoError(t, env.Err())
	assert.Equal(t, "alleviate-send,carevalidate-cases,akute", s.On.String())
	assert.Nil(t, s.Send)
	assert.Equal(t, &config.CareValidate{AuthHeader: "X-CareValidate-Auth", AuthSecret: "cv-secret"}, s.CareValidate)
	assert.Equal(t, &config.AkuteWebhook{Secrets: "a, b"}, s.AkuteWebhook)
	assert.Equal(t, []string{"t1", "t2"}, s.APITokens)
}

// CAREVALIDATE_AUTH_SECRET_PREVIOUS is accepted beside the secret while
// CareValidate rotates; set alone it turns the webhook on and asks for the
// current secret.
func TestCareValidatePreviousSecret(t *testing.T) {
	env := config.FromMap(map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"),
		"CAREVALIDATE_AUTH_SECRET": "new", "CAREVALIDATE_AUTH_SECRET_PREVIOUS": "old"})
	s := env.LoadStarter()
	require.NoError(t, env.Err())
	assert.Equal(t, &config.CareValidate{AuthHeader: "X-CareValidate-Auth", AuthSecret: "new", PreviousAuthSecret: "old"}, s.CareValidate)

	env = config.FromMap(map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"), "CAREVALIDATE_AUTH_SECRET_PREVIOUS": "old"})
	env.LoadStarter()
	assert.EqualError(t, env.Err(), "missing required environment variable CAREVALIDATE_AUTH_SECRET")
}

// REALTIME_AUTH_PREFIX is a scheme word: the JWT follows after a space,
// whether or not the value (trimmed, as every value is) ended in one.
func TestRealtimeAuthPrefixIsFollowedByASpace(t *testing.T) {
	for _, prefix := range []string{"JWT", "JWT "} {
		env := config.FromMap(map[string]string{
			"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"),
			"ACTIVEPIECES_WEBHOOK_URL": "http://activepieces/sync", "REALTIME_BASE_URL": "http://realtime",
			"ALLEVIATE_BASE_URL": "http://alleviate", "ALLEVIATE_API_KEY": "alleviate-key",
			"REALTIME_AUTH_HEADER": "X-Realtime-Token", "REALTIME_AUTH_PREFIX": prefix,
		})
		w := env.LoadWorker()
		require.NoError(t, env.Err())
		assert.Equal(t, "JWT ", w.Send.Realtime.AuthPrefix, "%q", prefix)
	}
}
