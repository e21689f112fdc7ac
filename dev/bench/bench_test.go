package bench

import (
	"context"
	"os"
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
		Cases: 3, WebhookConc: 4, CapacityLevels: []int{1, 2}, WebhookRate: 20, WebhookSeconds: 1, UnroutedRate: 20, UnroutedSeconds: 1, ApplyTimeout: 2 * time.Minute,
	})
	require.NoError(t, err)
	table := report.Markdown()
	for _, figure := range []string{"send p50 latency, concurrency 1", "sends per second, concurrency 3",
		"CPU per send, concurrency 3", "send capacity", "webhook capacity", "webhook acknowledgement p99, 20/s offered",
		"CPU per webhook event", "time until 24 events were applied", "worker peak RSS"} {
		assert.Contains(t, table, figure)
	}
	require.Len(t, report.Checks, 12)
	assert.Equal(t, "concurrency 1: carebridge 5/5 answered 200, baseline 5/5", report.Checks[0])
	assert.Equal(t, "concurrency 3: carebridge 5/5 answered 200, baseline 5/5", report.Checks[3])
	assert.Contains(t, report.Checks[4], "; the baseline's process ", "the baseline's CPU was read from its own process")
	assert.Contains(t, report.Checks[5], "Temporal server per send: persistence ", "the server's counters were read")
	assert.Contains(t, report.Checks[5], "rpc ")
	assert.NotContains(t, report.Checks[5], "rpc 0.0", "a send costs the frontend RPCs")
	assert.True(t, strings.HasPrefix(report.Checks[6], "webhooks: 24/24 acknowledged 202; every case applied all 8 events"), report.Checks[6])
	assert.True(t, strings.HasPrefix(report.Checks[7], "webhooks at 20/s offered: 16/16 acknowledged 202"), report.Checks[7])
	assert.True(t, strings.HasPrefix(report.Checks[10], "unrouted Akute deliveries at 20/s offered: 20/20 acknowledged 202 ("), report.Checks[10])
	assert.Contains(t, report.Checks[9], "where persistence waited (mean latency × operations per event): ")
	assert.Contains(t, report.Checks[11], "Temporal server per delivery: persistence ")
	assert.Contains(t, table, "| unrouted Akute deliveries acknowledged, 20/s offered | 20 of 20 (")
	assert.NotContains(t, table, "| none |", "every capacity run served its first level")
	assert.NotContains(t, table, "RSS | n/a", "peak RSS was read")
}

// TestMain lets Run start this binary again as the baseline.
func TestMain(m *testing.M) {
	MaybeServeBaseline()
	os.Exit(m.Run())
}
