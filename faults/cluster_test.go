//go:build faults

package faults

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/dev/devstack"
)

// historyShards is deploy/temporal/postgres.yaml's numHistoryShards.
const historyShards = 4

// Temporal as a cluster (make test-cluster): under load through the proxy,
// the history host that owns shards is killed, and its shards move to the
// other; then a frontend is killed, and its clients reconnect through the
// proxy to the other. Nothing is lost; a send is answered, or answered 503
// and retried.
func TestClusterLosesAHistoryHostThenAFrontend(t *testing.T) {
	if *server != devstack.ServerCluster {
		t.Skip("needs Temporal as a cluster: run with -server cluster (make test-cluster)")
	}
	hosts := []string{"temporal-history-1", "temporal-history-2"}
	owned := map[string]float64{}
	require.Eventually(t, func() bool {
		for _, h := range hosts {
			owned[h] = metricSum(stack.TemporalMetricsURLOf(h), "numshards_gauge")
		}
		return owned[hosts[0]]+owned[hosts[1]] == historyShards
	}, 2*time.Minute, 500*time.Millisecond, "the history hosts never shared the %d shards: %v", historyShards, owned)
	sendsBefore := sendsServed()
	victim, survivor := hosts[0], hosts[1]
	if owned[survivor] > owned[victim] {
		victim, survivor = survivor, victim
	}
	t.Logf("shards before: %v; killing %s", owned, victim)

	reset(t)
	l := loadMeeting(t, "history-killed", victim)
	require.Eventually(t, func() bool {
		return metricSum(stack.TemporalMetricsURLOf(survivor), "numshards_gauge") == historyShards
	}, 2*time.Minute, 500*time.Millisecond, "%s never took the %d shards over", survivor, historyShards)
	// A worker's completion lost with the host may be retried:
	// at-least-once for Alleviate, never a second Akute task.
	l.settle(t, true)

	// The frontend the programs' connections are on (the proxy balances
	// connections, each program keeps one): the busier one.
	served := map[string]float64{}
	for _, name := range []string{"temporal-frontend-1", "temporal-frontend-2"} {
		served[name] = metricSum(stack.TemporalMetricsURLOf(name), "service_requests")
	}
	frontend := "temporal-frontend-1"
	if served["temporal-frontend-2"] > served[frontend] {
		frontend = "temporal-frontend-2"
	}
	t.Logf("requests served so far: %v; killing %s", served, frontend)
	for name, n := range served {
		assert.Positive(t, n, "the proxy gave %s none of the programs' connections", name)
	}
	reset(t)
	l = loadMeeting(t, "frontend-killed", frontend)
	l.settle(t, true)

	// The proxy spread the load over both starters.
	sendsAfter := sendsServed()
	for i, url := range stack.StarterInternalURLs() {
		assert.Greater(t, sendsAfter[i], sendsBefore[i], "the starter at %s served none of the sends", url)
	}
}

// sendsServed is how many sends each starter has answered.
func sendsServed() []float64 {
	var out []float64
	for _, url := range stack.StarterInternalURLs() {
		out = append(out, metricSum(url+"/metrics", "carebridge_starter_http_requests_total", "route", "POST /api/alleviate/send"))
	}
	return out
}

// loadMeeting starts a load and kills a process while startLoad still
// issues it (it spreads the sends over a second).
func loadMeeting(t *testing.T, name, victim string) *load {
	t.Helper()
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		time.Sleep(300 * time.Millisecond)
		stack.Signal(victim, syscall.SIGKILL)
	}()
	l := startLoad(t, name)
	<-killed
	return l
}

// metricSum is a gauge's or a counter's value at a Prometheus endpoint
// (devstack.MetricSum), or -1 when it cannot be read.
func metricSum(url, name string, labelPairs ...string) float64 {
	v, err := devstack.MetricSum(http.DefaultClient, url, name, labelPairs...)
	if err != nil {
		return -1
	}
	return v
}
