package metrics

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
)

// fakeVisibility answers counts by query and lists the cases needing attention.
type fakeVisibility struct {
	mu        sync.Mutex
	counts    map[string]int64 // by a fragment of the query
	attention []string
	down      bool
	queries   []string
}

func (f *fakeVisibility) CountWorkflow(_ context.Context, r *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.GetQuery())
	if f.down {
		return nil, errors.New("unavailable")
	}
	for fragment, n := range f.counts {
		if strings.Contains(r.GetQuery(), fragment) {
			return &workflowservice.CountWorkflowExecutionsResponse{Count: n}, nil
		}
	}
	return &workflowservice.CountWorkflowExecutionsResponse{}, nil
}

func (f *fakeVisibility) ListWorkflow(_ context.Context, r *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.GetQuery())
	if f.down {
		return nil, errors.New("unavailable")
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, id := range f.attention {
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
	}
	return resp, nil
}

func TestOnCallGaugesFromVisibility(t *testing.T) {
	r := New("test")
	v := &fakeVisibility{counts: map[string]int64{
		`CarebridgeStatus="needs_attention"`: 2, `CarebridgeStatus="paused"`: 1, `CarebridgeStatus="running"`: 7,
		`ExecutionStatus="Running" AND StartTime <`: 3, `ExecutionStatus="Failed"`: 4,
	}, attention: []string{"carevalidate-case-a", "carevalidate-case-b"}}
	o := r.NewOnCall(v, "default", nil)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o.now = func() time.Time { return now }

	o.Poll(context.Background())
	assert.Equal(t, 2.0, value(t, o.cases.WithLabelValues("needs_attention")))
	assert.Equal(t, 1.0, value(t, o.cases.WithLabelValues("paused")))
	assert.Equal(t, 7.0, value(t, o.cases.WithLabelValues("running")))
	assert.Equal(t, 3.0, value(t, o.runningLong))
	assert.Equal(t, 4.0, value(t, o.failed))
	assert.Equal(t, 1.0, value(t, o.reachable))
	assert.Equal(t, 0.0, value(t, o.oldest), "first seen now")
	assert.Contains(t, v.queries, `CarebridgeKind="case" AND CarebridgeStatus="needs_attention" AND ExecutionStatus="Running"`)
	assert.Contains(t, v.queries, `WorkflowType="AlleviateSend" AND ExecutionStatus="Running" AND StartTime < "2026-03-01T11:59:00Z"`)
	assert.Contains(t, v.queries, `WorkflowType="AlleviateSend" AND ExecutionStatus="Failed" AND CloseTime > "2026-03-01T11:00:00Z"`)

	// Five minutes on, a is handled and c is new: the oldest is b, five minutes.
	now = now.Add(5 * time.Minute)
	v.attention = []string{"carevalidate-case-b", "carevalidate-case-c"}
	o.Poll(context.Background())
	assert.Equal(t, 300.0, value(t, o.oldest))
	now = now.Add(time.Minute)
	v.attention = []string{"carevalidate-case-c"}
	o.Poll(context.Background())
	assert.Equal(t, 60.0, value(t, o.oldest))
	v.attention = nil
	o.Poll(context.Background())
	assert.Equal(t, 0.0, value(t, o.oldest))

	// Temporal down: reachable 0, the counts kept.
	v.down = true
	o.Poll(context.Background())
	assert.Equal(t, 0.0, value(t, o.reachable))
	assert.Equal(t, 2.0, value(t, o.cases.WithLabelValues("needs_attention")))

	// No label carries an id.
	families, err := r.reg.Gather()
	require.NoError(t, err)
	n := 0
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "carebridge_") {
			for _, m := range f.GetMetric() {
				n++
				for _, l := range m.GetLabel() {
					assert.Equal(t, "status", l.GetName(), f.GetName())
				}
			}
		}
	}
	assert.Equal(t, 7, n, "three case statuses and four gauges")
}

func TestOnCallRunPollsAtItsInterval(t *testing.T) {
	r := New("test")
	v := &fakeVisibility{counts: map[string]int64{`CarebridgeStatus="paused"`: 1}}
	o := r.NewOnCall(v, "default", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx, 10*time.Millisecond); close(done) }()
	require.Eventually(t, func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(v.queries) >= 12 // two polls
	}, 5*time.Second, 5*time.Millisecond)
	cancel()
	<-done
	assert.Equal(t, 1.0, value(t, o.cases.WithLabelValues("paused")))
}

func failing(errType string) func(context.Context) error {
	return func(context.Context) error {
		if errType == "" {
			return errors.New("plain")
		}
		return temporal.NewApplicationError("upstream said no", errType)
	}
}

func TestUpstreamErrorsCountsActivityFailuresByType(t *testing.T) {
	r := New("test")
	errs := r.UpstreamErrors()
	assert.Same(t, errs, r.UpstreamErrors(), "one counter per registry")
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.SetWorkerOptions(workerOptions(errs))
	env.RegisterActivityWithOptions(failing("AkuteUnavailable"), activityOptions("CreateTask"))
	env.RegisterActivityWithOptions(failing(""), activityOptions("Plain"))
	for range 2 {
		_, err := env.ExecuteActivity("CreateTask")
		require.Error(t, err)
	}
	_, err := env.ExecuteActivity("Plain")
	require.Error(t, err)
	counter := r.upstream.counter
	assert.Equal(t, 2.0, value(t, counter.WithLabelValues("CreateTask", "AkuteUnavailable")))
	ch := make(chan prometheus.Metric, 10)
	counter.Collect(ch)
	assert.Len(t, ch, 1, "an error without a type is not counted")
	var _ interceptor.WorkerInterceptor = errs
}

func workerOptions(i interceptor.WorkerInterceptor) worker.Options {
	return worker.Options{Interceptors: []interceptor.WorkerInterceptor{i}}
}

func activityOptions(name string) activity.RegisterOptions {
	return activity.RegisterOptions{Name: name}
}

// value reads a gauge's or a counter's value.
func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	if m.GetGauge() != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}

// The SDK's metrics keep their own names (temporal_..., once: the alert rules
// and the dashboard use them).
func TestSDKMetricNames(t *testing.T) {
	r := New("test")
	r.SDK.Gauge("temporal_worker_task_slots_available").Update(3)
	r.SDK.Timer("temporal_workflow_task_schedule_to_start_latency").Record(time.Millisecond)
	require.NoError(t, r.Close()) // flushes the scope
	families, err := r.reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "temporal") {
			names = append(names, f.GetName())
		}
	}
	assert.ElementsMatch(t, []string{"temporal_worker_task_slots_available", "temporal_workflow_task_schedule_to_start_latency_seconds"}, names)
}
