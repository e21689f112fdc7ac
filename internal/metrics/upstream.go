package metrics

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

// UpstreamErrorsName is the counter of activities' failures by error type.
const UpstreamErrorsName = "carebridge_upstream_errors_total"

// UpstreamErrors is a worker interceptor that counts every activity (local
// ones too: a send's steps) that fails with a Temporal application error,
// by activity type and error type (activities' ErrType constants:
// AkuteUnavailable, RealtimeRejected, UpstreamUnreachable, ...). The
// labels are names from carebridge's code, never a message or a body. Each
// attempt counts: a call retried five times through an outage counts five.
// A registry has one such counter; every call returns the same interceptor.
func (r *Registry) UpstreamErrors() interceptor.WorkerInterceptor {
	r.upstreamOnce.Do(func() {
		counter := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: UpstreamErrorsName,
			Help: "Activity attempts that failed, by activity type and error type (the upstream and what it answered).",
		}, []string{"activity", "type"})
		r.reg.MustRegister(counter)
		r.upstream = &upstreamErrors{counter: counter}
	})
	return r.upstream
}

type upstreamErrors struct {
	interceptor.WorkerInterceptorBase
	counter *prometheus.CounterVec
}

func (u *upstreamErrors) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &upstreamActivity{counter: u.counter}
	a.Next = next
	return a
}

type upstreamActivity struct {
	interceptor.ActivityInboundInterceptorBase
	counter *prometheus.CounterVec
}

func (a *upstreamActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	result, err := a.Next.ExecuteActivity(ctx, in)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() != "" {
		a.counter.WithLabelValues(activity.GetInfo(ctx).ActivityType.Name, appErr.Type()).Inc()
	}
	return result, err
}
