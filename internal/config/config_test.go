package config_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/carebridge/carebridge/internal/config"
)

func TestMissingVariablesAreNamedInOneLine(t *testing.T) {
	env := config.FromMap(map[string]string{"A": "x", "EMPTY": "  "})
	assert.Equal(t, "x", env.Required("A"))
	env.Required("EMPTY")
	env.Required("B")
	assert.EqualError(t, env.Err(), "missing required environment variables EMPTY, B")
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
	env := config.FromMap(map[string]string{})
	tc := env.LoadTemporal(slog.Default())
	assert.NoError(t, env.Err())
	assert.Equal(t, "127.0.0.1:7233", tc.Options.HostPort)
	assert.Equal(t, "default", tc.Options.Namespace)
	assert.Equal(t, "carebridge", tc.TaskQueue)

	env = config.FromMap(map[string]string{
		"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "clinic", "CAREBRIDGE_TASK_QUEUE": "q",
	})
	tc = env.LoadTemporal(slog.Default())
	assert.Equal(t, "temporal:7233", tc.Options.HostPort)
	assert.Equal(t, "clinic", tc.Options.Namespace)
	assert.Equal(t, "q", tc.TaskQueue)
}
