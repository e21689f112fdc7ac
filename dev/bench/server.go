package bench

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// serverCounters are the Temporal server's counters of what work cost it,
// by operation: its persistence writes and reads, its visibility store's,
// the RPCs its frontend served, and the billable actions it counted (what
// Temporal Cloud would charge: its `action` metric, by action_type).
var serverCounters = map[string]struct{ kind, label string }{
	"persistence_requests":            {"persistence", "operation"},
	"visibility_persistence_requests": {"visibility", "operation"},
	"service_requests":                {"rpc", "operation"},
	"action":                          {"action", "action_type"},
}

// serverCounts are counter values keyed "<kind> <operation>".
type serverCounts map[string]float64

// serverSettle is how long the server's counters take to reach its
// metrics endpoint: its metrics library reports them every second.
const serverSettle = 2 * time.Second

// scrapeServer reads the server's counters from each of its processes'
// endpoints (one, or a cluster's members'), summed, once they have settled;
// nil when it has no metrics endpoint or one does not answer.
func scrapeServer(urls []string) serverCounts {
	if len(urls) == 0 {
		return nil
	}
	time.Sleep(serverSettle)
	out := serverCounts{}
	for _, url := range urls {
		if !scrapeInto(out, url) {
			return nil
		}
	}
	return out
}

// scrapeInto adds one endpoint's counters to out.
func scrapeInto(out serverCounts, url string) bool {
	resp, err := loadClient.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return false
	}
	for name, c := range serverCounters {
		for _, m := range families[name].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if c.kind == "rpc" && labels["service_name"] != "frontend" {
				continue // the RPCs carebridge makes, not the services' calls to each other
			}
			out[c.kind+" "+labels[c.label]] += m.GetCounter().GetValue()
		}
	}
	// Where persistence waits: its latency's sum and count by operation.
	for _, m := range families["persistence_latency"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "operation" {
				out["latency-sum "+l.GetValue()] += m.GetHistogram().GetSampleSum()
				out["latency-count "+l.GetValue()] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return true
}

// since is what was counted between before and c.
func (c serverCounts) since(before serverCounts) serverCounts {
	if c == nil || before == nil {
		return nil
	}
	out := serverCounts{}
	for k, v := range c {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// total is the sum of one kind ("persistence", "visibility", "rpc").
func (c serverCounts) total(kind string) float64 {
	t := 0.0
	for k, v := range c {
		if strings.HasPrefix(k, kind+" ") {
			t += v
		}
	}
	return t
}

// per describes the counts per unit of work, largest first within each kind:
// "persistence 6.0 (UpdateWorkflowExecution 2.0, …); visibility 2.0 (…); rpc 3.0 (…); action 2.0 (…)".
func (c serverCounts) per(n int) string {
	if c == nil {
		return "not measured (the server has no metrics endpoint)"
	}
	// Largest first, by name among equals.
	keys := slices.Sorted(maps.Keys(c))
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(c[b], c[a]) })
	var parts []string
	for _, kind := range []string{"persistence", "visibility", "rpc", "action"} {
		var ops []string
		for _, k := range keys {
			if op, ok := strings.CutPrefix(k, kind+" "); ok && c[k]/float64(n) >= 0.05 {
				ops = append(ops, fmt.Sprintf("%s %.1f", op, c[k]/float64(n)))
			}
		}
		parts = append(parts, fmt.Sprintf("%s %.1f (%s)", kind, c.total(kind)/float64(n), strings.Join(ops, ", ")))
	}
	return strings.Join(parts, "; ")
}

// latencies describes the mean persistence latency of the operations that
// took most of the time: "UpdateWorkflowExecution 3.2 ms × 3.8, …" (per
// unit of work n).
func (c serverCounts) latencies(n int) string {
	if c == nil {
		return "not measured"
	}
	type op struct {
		name        string
		total, mean float64 // seconds
		count       float64
	}
	var ops []op
	for k, sum := range c {
		name, ok := strings.CutPrefix(k, "latency-sum ")
		if count := c["latency-count "+name]; ok && count > 0 {
			ops = append(ops, op{name: name, total: sum, mean: sum / count, count: count})
		}
	}
	slices.SortFunc(ops, func(a, b op) int { return cmp.Compare(b.total, a.total) })
	var parts []string
	for _, o := range ops[:min(len(ops), 5)] {
		parts = append(parts, fmt.Sprintf("%s %.1f ms × %.1f", o.name, o.mean*1000, o.count/float64(max(n, 1))))
	}
	return strings.Join(parts, ", ")
}
