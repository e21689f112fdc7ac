package api

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// call passes req through the interceptor to a Temporal that answers
// reply (or fails with err).
func call(l *LocalResults, req, reply any, err error) error {
	return l.Interceptor(context.Background(), "", req, reply, nil,
		func(_ context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
			return err
		})
}

func eagerStart(l *LocalResults, id, token string) {
	_ = call(l, &workflowservice.StartWorkflowExecutionRequest{WorkflowId: id},
		&workflowservice.StartWorkflowExecutionResponse{EagerWorkflowTask: &workflowservice.PollWorkflowTaskQueueResponse{TaskToken: []byte(token)}}, nil)
}

func completion(token string, commands ...*commandpb.Command) *workflowservice.RespondWorkflowTaskCompletedRequest {
	return &workflowservice.RespondWorkflowTaskCompletedRequest{TaskToken: []byte(token), Commands: commands}
}

func complete(result *commonpb.Payloads) *commandpb.Command {
	return &commandpb.Command{CommandType: enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
		Attributes: &commandpb.Command_CompleteWorkflowExecutionCommandAttributes{
			CompleteWorkflowExecutionCommandAttributes: &commandpb.CompleteWorkflowExecutionCommandAttributes{Result: result}}}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

var answerPayloads = &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte(`{"lead_id":"L-1"}`)}}}

func TestLocalResultsHandOverWhatTemporalAccepted(t *testing.T) {
	l := NewLocalResults()
	send, release := l.expect("send-1")
	other, releaseOther := l.expect("send-1") // the same key, asked twice at once
	eagerStart(l, "send-1", "task-1")
	require.True(t, closed(send.eager), "the start's answer carried the run's first task: this starter runs it")

	// The local activities outlast a task: the worker completes it asking
	// for the next, whose token now leads to the send.
	require.NoError(t, call(l, completion("task-1"), &workflowservice.RespondWorkflowTaskCompletedResponse{
		WorkflowTask: &workflowservice.PollWorkflowTaskQueueResponse{TaskToken: []byte("task-2")}}, nil))
	assert.False(t, closed(send.done), "no outcome yet")

	// Temporal refuses the completion: nothing is handed over.
	refused := serviceerror.NewNotFound("workflow task not found")
	assert.Equal(t, refused, call(l, completion("task-2", complete(answerPayloads)), &workflowservice.RespondWorkflowTaskCompletedResponse{}, refused))
	require.True(t, closed(send.done))
	assert.Nil(t, send.result, "a completion Temporal did not record is no answer: ask Temporal")
	assert.Same(t, send, other, "both requests wait for the one run")
	release()
	releaseOther()
	assert.Empty(t, l.sends)
	assert.Empty(t, l.tokens, "nothing kept once nobody waits")
}

// A request that stops waiting while the worker still holds the run keeps
// nothing behind: the tokens of the run's later tasks are not kept.
func TestLocalResultsKeepNothingOnceNobodyWaits(t *testing.T) {
	l := NewLocalResults()
	_, release := l.expect("send-6")
	eagerStart(l, "send-6", "task-1")
	held := l.holder([]byte("task-1"))
	require.NotNil(t, held)
	release() // the request's wait ended (202) while a local activity runs
	l.completed(completion("task-1"), &workflowservice.RespondWorkflowTaskCompletedResponse{
		WorkflowTask: &workflowservice.PollWorkflowTaskQueueResponse{TaskToken: []byte("task-2")}}, nil)
	assert.Empty(t, l.tokens)
	assert.Empty(t, l.sends)
}

func TestLocalResultsAnswerOnceRecorded(t *testing.T) {
	l := NewLocalResults()
	send, release := l.expect("send-2")
	defer release()
	eagerStart(l, "send-2", "task-1")
	require.NoError(t, call(l, completion("task-1", complete(answerPayloads)), &workflowservice.RespondWorkflowTaskCompletedResponse{}, nil))
	require.True(t, closed(send.done))
	assert.Equal(t, answerPayloads, send.result)
}

func TestLocalResultsLeaveOtherRunsToTemporal(t *testing.T) {
	l := NewLocalResults()
	notEager, release := l.expect("send-3")
	defer release()
	_ = call(l, &workflowservice.StartWorkflowExecutionRequest{WorkflowId: "send-3"}, &workflowservice.StartWorkflowExecutionResponse{}, nil)
	assert.False(t, closed(notEager.eager), "no task in the start's answer: another worker runs it")

	failed, release4 := l.expect("send-4")
	defer release4()
	eagerStart(l, "send-4", "task-4")
	_ = call(l, &workflowservice.RespondWorkflowTaskFailedRequest{TaskToken: []byte("task-4")}, &workflowservice.RespondWorkflowTaskFailedResponse{}, nil)
	require.True(t, closed(failed.done))
	assert.Nil(t, failed.result, "a failed task is retried by Temporal, perhaps elsewhere")

	// A start that failed holds no run; nobody waiting for a run: ignored.
	eagerFailed, release5 := l.expect("send-5")
	defer release5()
	_ = call(l, &workflowservice.StartWorkflowExecutionRequest{WorkflowId: "send-5"},
		&workflowservice.StartWorkflowExecutionResponse{EagerWorkflowTask: &workflowservice.PollWorkflowTaskQueueResponse{TaskToken: []byte("t")}}, errors.New("unavailable"))
	assert.False(t, closed(eagerFailed.eager))
	eagerStart(l, "nobody-waits", "task-x")
	assert.Empty(t, l.tokens["task-x"])
}
