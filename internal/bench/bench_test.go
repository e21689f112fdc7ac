package bench

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSmoke runs the benchmark for seconds so that it cannot rot. It checks
// that every figure is produced and every request answered, never a timing.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	report, err := Run(context.Background(), Options{
		RepoRoot: root, Dir: t.TempDir(), Latency: 5 * time.Millisecond, Sends: 5, Concurrency: []int{1, 3},
		Cases: 3, WebhookConc: 4, ApplyTimeout: 2 * time.Minute,
	})
	require.NoError(t, err)
	table := report.Markdown()
	for _, figure := range []string{"send p50 latency, concurrency 1", "sends per second, concurrency 3",
		"webhook events acknowledged per second", "time until every event was applied", "worker peak RSS"} {
		assert.Contains(t, table, figure)
	}
	assert.Equal(t, []string{
		"concurrency 1: carebridge 5/5 answered 200, baseline 5/5",
		"concurrency 3: carebridge 5/5 answered 200, baseline 5/5",
	}, report.Checks[:2])
	assert.True(t, strings.HasPrefix(report.Checks[2], "webhooks: 24/24 acknowledged 202; every case applied all 8 events"), report.Checks[2])
	assert.NotContains(t, table, "n/a", "peak RSS was read")
}
