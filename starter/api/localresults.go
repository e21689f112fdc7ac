package api

import (
	"context"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// LocalResults hands a send's answer from the starter's own send worker to
// the request waiting for it, without asking Temporal for the result (a
// PollWorkflowExecutionHistory long poll per send, BENCHMARKS.md).
//
// It watches the starter's own gRPC calls to Temporal: a start whose answer
// carries the run's first workflow task (eager start) means this starter's
// worker runs the send; that task's token, and the tokens of the tasks that
// follow it, lead to the workflow. The answer is handed over only once
// Temporal has accepted the worker's completion of the run, so it is the
// answer Temporal recorded. Anything else (the run failed, the task failed
// or went to another worker, the start was not eager) sends the waiting
// request to Temporal, as before.
type LocalResults struct {
	mu     sync.Mutex
	sends  map[string]*localSend // by workflow id: the sends requests wait for
	tokens map[string]*localSend // by the token of a task this starter's worker holds
}

// localSend is a send's run that requests wait for.
type localSend struct {
	waits  int
	tokens []string
	eager  chan struct{}      // closed when this starter's worker got the run
	done   chan struct{}      // closed when the run's outcome is known here
	result *commonpb.Payloads // the run's result; nil: ask Temporal

	eagerOnce, doneOnce sync.Once
}

// NewLocalResults returns an empty LocalResults; its Interceptor goes on
// the starter's Temporal client (ConnectionOptions.DialOptions).
func NewLocalResults() *LocalResults {
	return &LocalResults{sends: map[string]*localSend{}, tokens: map[string]*localSend{}}
}

// expect registers a request's wait for a send's run before its start; the
// returned func ends it.
func (l *LocalResults) expect(id string) (*localSend, func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sends[id]
	if s == nil {
		s = &localSend{eager: make(chan struct{}), done: make(chan struct{})}
		l.sends[id] = s
	}
	s.waits++
	return s, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if s.waits--; s.waits == 0 {
			delete(l.sends, id)
			for _, t := range s.tokens {
				delete(l.tokens, t)
			}
		}
	}
}

// finish records a run's outcome (nil: ask Temporal).
func (s *localSend) finish(result *commonpb.Payloads) {
	s.doneOnce.Do(func() {
		s.result = result
		close(s.done)
	})
}

// Interceptor is a gRPC client interceptor of the starter's connection to
// Temporal; it follows the calls that say who runs a send and how it ended.
func (l *LocalResults) Interceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	switch r := req.(type) {
	case *workflowservice.StartWorkflowExecutionRequest:
		if task := reply.(*workflowservice.StartWorkflowExecutionResponse).GetEagerWorkflowTask(); err == nil && task != nil {
			l.hold(r.GetWorkflowId(), task.GetTaskToken())
		}
	case *workflowservice.RespondWorkflowTaskCompletedRequest:
		l.completed(r, reply.(*workflowservice.RespondWorkflowTaskCompletedResponse), err)
	case *workflowservice.RespondWorkflowTaskFailedRequest:
		if s := l.holder(r.GetTaskToken()); s != nil {
			s.finish(nil) // retried by Temporal, perhaps on another worker
		}
	}
	return err
}

// hold notes that this starter's worker holds a task of a send's run.
func (l *LocalResults) hold(id string, token []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.sends[id]; s != nil {
		l.tokens[string(token)] = s
		s.tokens = append(s.tokens, string(token))
		s.eagerOnce.Do(func() { close(s.eager) })
	}
}

// holder is the send whose task this is, if a request waits for it.
func (l *LocalResults) holder(token []byte) *localSend {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tokens[string(token)]
}

// completed follows a workflow task's completion: the run's result once
// Temporal accepted it; the next task's token when the worker asked for one
// (a send whose local activities outlast a task); else Temporal's word.
func (l *LocalResults) completed(r *workflowservice.RespondWorkflowTaskCompletedRequest,
	reply *workflowservice.RespondWorkflowTaskCompletedResponse, err error) {
	s := l.holder(r.GetTaskToken())
	if s == nil {
		return
	}
	if err != nil {
		s.finish(nil)
		return
	}
	for _, c := range r.GetCommands() {
		if a := c.GetCompleteWorkflowExecutionCommandAttributes(); a != nil {
			s.finish(a.GetResult())
			return
		}
	}
	if next := reply.GetWorkflowTask().GetTaskToken(); len(next) > 0 {
		l.mu.Lock()
		defer l.mu.Unlock()
		if s.waits > 0 { // nobody waits any more: nothing to keep
			l.tokens[string(next)] = s
			s.tokens = append(s.tokens, string(next))
		}
		return
	}
	s.finish(nil) // failed, continued as new, or waiting on something: Temporal knows
}
