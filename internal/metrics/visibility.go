package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/carebridge/carebridge/workflows"
)

// The on-call gauges, read from Temporal's visibility (docs/operations.md,
// "Alerts"). They count runs; no label carries an id, a name or anything
// of a patient's.
const (
	CasesName            = "carebridge_cases"
	AttentionOldestName  = "carebridge_case_attention_oldest_seconds"
	SendsRunningLongName = "carebridge_sends_running_long"
	SendsFailedName      = "carebridge_sends_failed_last_hour"
	TemporalUpName       = "carebridge_temporal_reachable"
)

// CaseStatuses are the CarebridgeStatus values counted among running cases.
var CaseStatuses = []string{workflows.StatusNeedsAttention, workflows.StatusPaused, workflows.StatusRunning}

// Visibility queries (docs/operations.md's runbooks use the same ones).
var (
	caseQuery = workflows.AttrKind.GetName() + `="case" AND ` + workflows.AttrStatus.GetName() +
		`=%q AND ExecutionStatus="Running"`
	sendsRunningQuery = `WorkflowType="` + workflows.AlleviateSendName + `" AND ExecutionStatus="Running" AND StartTime < %q`
	sendsFailedQuery  = `WorkflowType="` + workflows.AlleviateSendName + `" AND ExecutionStatus="Failed" AND CloseTime > %q`
)

// SendRunningLong is how long a send runs before it counts as running long.
const SendRunningLong = time.Minute

// sendFailedWindow is how far back a failed send counts.
const sendFailedWindow = time.Hour

// attentionListLimit bounds the cases listed per poll to date the oldest.
const attentionListLimit = 10000

// Visibility is what the on-call gauges ask Temporal (a client.Client).
type Visibility interface {
	CountWorkflow(ctx context.Context, request *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error)
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// OnCall polls Temporal's visibility and keeps the on-call gauges: running
// cases by CarebridgeStatus, how long the oldest case has needed attention,
// sends running past a minute, sends failed in the last hour, and whether
// Temporal answered the last poll.
type OnCall struct {
	temporal  Visibility
	namespace string
	log       *slog.Logger
	now       func() time.Time

	cases       *prometheus.GaugeVec
	oldest      prometheus.Gauge
	runningLong prometheus.Gauge
	failed      prometheus.Gauge
	reachable   prometheus.Gauge

	mu        sync.Mutex
	attention map[string]time.Time // workflow id → when a poll first saw it needing attention
	failing   bool                 // the last poll failed (logged once per streak)
}

// NewOnCall registers the on-call gauges in r; Run keeps them.
func (r *Registry) NewOnCall(temporal Visibility, namespace string, log *slog.Logger) *OnCall {
	o := &OnCall{
		temporal: temporal, namespace: namespace, log: log, now: time.Now,
		cases: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: CasesName,
			Help: "Running cases by CarebridgeStatus (Temporal visibility)."}, []string{"status"}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{Name: AttentionOldestName,
			Help: "How long the oldest case needing attention has needed it, in seconds, as this starter saw it (0: none)."}),
		runningLong: prometheus.NewGauge(prometheus.GaugeOpts{Name: SendsRunningLongName,
			Help: "Sends still running a minute after they started (retrying an upstream)."}),
		failed: prometheus.NewGauge(prometheus.GaugeOpts{Name: SendsFailedName,
			Help: "Sends that closed Failed in the last hour."}),
		reachable: prometheus.NewGauge(prometheus.GaugeOpts{Name: TemporalUpName,
			Help: "1 when Temporal answered the last visibility poll, 0 when it did not."}),
		attention: map[string]time.Time{},
	}
	for _, status := range CaseStatuses {
		o.cases.WithLabelValues(status)
	}
	r.reg.MustRegister(o.cases, o.oldest, o.runningLong, o.failed, o.reachable)
	return o
}

// Run polls every interval until ctx is done, the first time at once.
func (o *OnCall) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		o.Poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll asks visibility once and updates the gauges. When Temporal does not
// answer, the gauges keep their last values and reachable goes to 0.
func (o *OnCall) Poll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := o.poll(ctx)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil {
		o.reachable.Set(0)
		if !o.failing && o.log != nil {
			o.log.Warn("on-call metrics: Temporal's visibility did not answer", slog.String("error", err.Error()))
		}
		o.failing = true
		return
	}
	o.reachable.Set(1)
	o.failing = false
}

func (o *OnCall) poll(ctx context.Context) error {
	now := o.now()
	counts := map[string]int64{}
	for _, status := range CaseStatuses {
		n, err := o.count(ctx, fmt.Sprintf(caseQuery, status))
		if err != nil {
			return err
		}
		counts[status] = n
	}
	runningLong, err := o.count(ctx, fmt.Sprintf(sendsRunningQuery, now.Add(-SendRunningLong).UTC().Format(time.RFC3339Nano)))
	if err != nil {
		return err
	}
	failed, err := o.count(ctx, fmt.Sprintf(sendsFailedQuery, now.Add(-sendFailedWindow).UTC().Format(time.RFC3339Nano)))
	if err != nil {
		return err
	}
	ids, err := o.needingAttention(ctx)
	if err != nil {
		return err
	}
	for status, n := range counts {
		o.cases.WithLabelValues(status).Set(float64(n))
	}
	o.runningLong.Set(float64(runningLong))
	o.failed.Set(float64(failed))

	o.mu.Lock()
	defer o.mu.Unlock()
	seen := map[string]time.Time{}
	oldest := now
	for _, id := range ids {
		since, ok := o.attention[id]
		if !ok {
			since = now
		}
		seen[id] = since
		if since.Before(oldest) {
			oldest = since
		}
	}
	o.attention = seen
	o.oldest.Set(now.Sub(oldest).Seconds())
	return nil
}

func (o *OnCall) count(ctx context.Context, query string) (int64, error) {
	resp, err := o.temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: o.namespace, Query: query})
	if err != nil {
		return 0, err
	}
	return resp.GetCount(), nil
}

// needingAttention lists the workflow ids of the running cases that need
// attention (a case keeps its id across continue-as-new).
func (o *OnCall) needingAttention(ctx context.Context) ([]string, error) {
	var ids []string
	var token []byte
	for len(ids) < attentionListLimit {
		resp, err := o.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: o.namespace, PageSize: 1000, NextPageToken: token, Query: fmt.Sprintf(caseQuery, "needs_attention"),
		})
		if err != nil {
			return nil, err
		}
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return ids, nil
}
