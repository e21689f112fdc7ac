package workflows

import (
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/internal/tracing"
)

// The Go SDK hands a workflow the signals of one workflow task through one
// channel per signal name, all buffered before any workflow code runs: a
// "resume" then a "pause" sent together arrive as two full channels, in no
// order. The inbound interceptor sees each signal as its event is applied,
// in history order (on replay too), and keeps the operators' ones in an
// arrival log that the case workflow drains in that order.

// Interceptors are the worker interceptors every carebridge worker, the
// replayer and the workflow tests run with (worker.Options.Interceptors,
// WorkflowReplayerOptions.Interceptors).
func Interceptors() []interceptor.WorkerInterceptor {
	return []interceptor.WorkerInterceptor{&arrivalInterceptor{}}
}

type arrivalInterceptor struct {
	interceptor.WorkerInterceptorBase
}

func (*arrivalInterceptor) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	in := &arrivalInbound{log: &arrivalLog{}}
	in.Next = next
	return in
}

type arrivalInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	log *arrivalLog
}

// arrivalLog is the operator signals received and not yet applied, oldest
// first; and the trace span each delivery's signal arrived under (the
// tracing interceptor's HandleSignal span), oldest first per signal name,
// so that the Akute calls a delivery causes are traced in that delivery's
// trace rather than in the run's first. Spans are runtime values, never
// state: on replay there are none, and nothing the workflow decides reads
// them.
type arrivalLog struct {
	names []string
	spans map[string][]any
}

type arrivalLogKey struct{}

func (i *arrivalInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	return i.Next.ExecuteWorkflow(workflow.WithValue(ctx, arrivalLogKey{}, i.log), in)
}

func (i *arrivalInbound) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	if operatorSignal[in.SignalName] {
		i.log.names = append(i.log.names, in.SignalName)
	}
	if deliverySignal[in.SignalName] {
		if i.log.spans == nil {
			i.log.spans = map[string][]any{}
		}
		i.log.spans[in.SignalName] = append(i.log.spans[in.SignalName], ctx.Value(tracing.SpanContextKey))
	}
	return i.Next.HandleSignal(ctx, in)
}

// deliverySignal are the partners' deliveries, each in a trace of its own.
var deliverySignal = map[string]bool{SignalCaseEvent: true, SignalAkuteTask: true, SignalAkuteMed: true}

// deliverySpan is the span the oldest delivery of name not yet received
// arrived under (nil without tracing, or on replay); each receive of the
// signal's channel takes one.
func (l *arrivalLog) deliverySpan(name string) any {
	spans := l.spans[name]
	if len(spans) == 0 {
		return nil
	}
	l.spans[name] = spans[1:]
	return spans[0]
}

// operatorSignal are the signals whose order matters.
var operatorSignal = map[string]bool{SignalPause: true, SignalResume: true, SignalRetry: true, SignalSkip: true,
	SignalResync: true, SignalClose: true}

// arrivals is the workflow's arrival log; nil without the interceptor.
func arrivals(ctx workflow.Context) *arrivalLog {
	log, _ := ctx.Value(arrivalLogKey{}).(*arrivalLog)
	return log
}
