package config_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

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
	env := config.FromMap(map[string]string{})
	env.LoadTemporal(slog.Default(), nil)
	assert.EqualError(t, env.Err(), "missing required environment variable CAREBRIDGE_CODEC_KEYS")

	env = config.FromMap(map[string]string{"CAREBRIDGE_CODEC_KEYS": "k1:dG9vLXNob3J0"})
	env.LoadTemporal(slog.Default(), nil)
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
	env := config.FromMap(map[string]string{"CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1")})
	tc := env.LoadTemporal(slog.Default(), nil)
	assert.NoError(t, env.Err())
	assert.NotNil(t, tc.Codec)
	assert.NotNil(t, tc.Options.DataConverter)
	assert.Equal(t, "127.0.0.1:7233", tc.Options.HostPort)
	assert.Equal(t, "default", tc.Options.Namespace)
	assert.Equal(t, "carebridge", tc.TaskQueue)

	env = config.FromMap(map[string]string{
		"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "clinic", "CAREBRIDGE_TASK_QUEUE": "q",
		"CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"),
	})
	tc = env.LoadTemporal(slog.Default(), nil)
	assert.Equal(t, "temporal:7233", tc.Options.HostPort)
	assert.Equal(t, "clinic", tc.Options.Namespace)
	assert.Equal(t, "q", tc.TaskQueue)
}
