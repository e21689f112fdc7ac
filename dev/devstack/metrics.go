package devstack

import (
	"fmt"
	"net/http"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// MetricSum reads a Prometheus endpoint (a program's, a Temporal server
// process's) and sums a gauge's or a counter's series whose labels include
// the pairs given (name, value, name, value, …). A metric with no series
// yet is 0.
func MetricSum(c *http.Client, url, name string, labelPairs ...string) (float64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("devstack: %s answered %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, m := range families[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		matches := true
		for i := 0; i+1 < len(labelPairs); i += 2 {
			matches = matches && labels[labelPairs[i]] == labelPairs[i+1]
		}
		if matches {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum, nil
}
