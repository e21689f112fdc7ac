package workflows_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/clients/activepieces"
	"github.com/carebridge/carebridge/clients/alleviate"
	"github.com/carebridge/carebridge/clients/realtime"
	"github.com/carebridge/carebridge/fakes/activepiecestest"
	"github.com/carebridge/carebridge/fakes/alleviatetest"
	"github.com/carebridge/carebridge/fakes/fake"
	"github.com/carebridge/carebridge/fakes/realtimetest"
	"github.com/carebridge/carebridge/workflows"
)

// upstreams are the sandbox fakes, in-process, behind the real clients.
type upstreams struct {
	activepieces *activepiecestest.Server
	realtime     *realtimetest.Server
	alleviate    *alleviatetest.Server
	send         *activities.Send
}

func newUpstreams(t *testing.T) *upstreams {
	t.Helper()
	u := &upstreams{activepieces: activepiecestest.New([]byte("test-key"), time.Hour)}
	u.realtime = realtimetest.New(u.activepieces.Valid, realtimetest.Seed)
	u.alleviate = alleviatetest.New("alleviate-key")
	ap, rt, al := httptest.NewServer(u.activepieces), httptest.NewServer(u.realtime), httptest.NewServer(u.alleviate)
	t.Cleanup(func() { ap.Close(); rt.Close(); al.Close() })
	u.send = activities.NewSend(
		activepieces.New(activepieces.Config{WebhookURL: ap.URL + "/api/v1/webhooks/f/sync"}),
		realtime.New(realtime.Config{BaseURL: rt.URL}),
		alleviate.New(alleviate.Config{BaseURL: al.URL, APIKey: "alleviate-key"}),
	)
	return u
}

var johnDoe = workflows.SendRequest{
	FormName: "vip_tlc_bunionectomy_ect", Phone: "555-123-4567", Name: "John Doe",
	Email: "john.doe@example.com", Instance: "ect",
}

func run(t *testing.T, u *upstreams, req workflows.SendRequest) (alleviate.Answer, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	workflows.Register(env, workflows.Activities{Send: u.send}, workflows.DefaultCaseConfig())
	env.ExecuteWorkflow(workflows.AlleviateSendName, req)
	require.True(t, env.IsWorkflowCompleted())
	var answer alleviate.Answer
	err := env.GetWorkflowError()
	if err == nil {
		require.NoError(t, env.GetWorkflowResult(&answer))
	}
	return answer, err
}

func TestSendPostsTheLeadWithTheRealtimePatientID(t *testing.T) {
	u := newUpstreams(t)
	answer, err := run(t, u, johnDoe)
	require.NoError(t, err)
	assert.Equal(t, 200, answer.StatusCode)
	assert.Contains(t, answer.Body, `"success":true`)
	assert.Equal(t, []alleviate.Lead{{
		FormName: johnDoe.FormName, Phone: johnDoe.Phone, Name: johnDoe.Name, PatientID: 139712, Email: johnDoe.Email,
	}}, u.alleviate.Leads())
}

func TestSendReusesTheToken(t *testing.T) {
	u := newUpstreams(t)
	for range 3 {
		_, err := run(t, u, johnDoe)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, u.activepieces.Issued(), "three sends, one Activepieces flow run")
	assert.Len(t, u.alleviate.Leads(), 3)
}

func TestSendFetchesANewTokenWhenRealtimeRefusesIt(t *testing.T) {
	u := newUpstreams(t)
	_, err := run(t, u, johnDoe)
	require.NoError(t, err)
	require.NoError(t, u.realtime.Inject(fake.Fault{Status: 401, Times: 1}))
	_, err = run(t, u, johnDoe)
	require.NoError(t, err)
	assert.EqualValues(t, 2, u.activepieces.Issued())
}

func TestPatientNotFoundIsNotRetried(t *testing.T) {
	u := newUpstreams(t)
	req := johnDoe
	req.Email = "nobody@example.com"
	_, err := run(t, u, req)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrTypePatientNotFound, appErr.Type())
	assert.Len(t, u.realtime.Requests(), 1, "never retried")
	assert.Empty(t, u.alleviate.Leads())
	assert.NotContains(t, err.Error(), "nobody@example.com")
}

func TestTransientFailuresAreRetried(t *testing.T) {
	u := newUpstreams(t)
	require.NoError(t, u.activepieces.Inject(fake.Fault{Preset: "sync_timeout", Times: 1}))
	require.NoError(t, u.activepieces.Inject(fake.Fault{Preset: "engine_timeout", Times: 1}))
	require.NoError(t, u.realtime.Inject(fake.Fault{Status: 502, Times: 2}))
	require.NoError(t, u.alleviate.Inject(fake.Fault{Status: 429, RetryAfter: "30", Times: 1}))
	require.NoError(t, u.alleviate.Inject(fake.Fault{Drop: true, Times: 1}))

	answer, err := run(t, u, johnDoe)
	require.NoError(t, err)
	assert.Equal(t, 200, answer.StatusCode)
	assert.Len(t, u.activepieces.Requests(), 3, "204, 504, then a token")
	assert.Len(t, u.realtime.Requests(), 3)
	assert.Len(t, u.alleviate.Requests(), 3)
	assert.Len(t, u.alleviate.Leads(), 1)
}

func TestNonRetryableUpstreamAnswersFailTheSend(t *testing.T) {
	for preset, wantType := range map[string]string{
		"flow_disabled": activities.ErrTypeActivepiecesFlowDisabled,
		"flow_deleted":  activities.ErrTypeActivepiecesFlowDeleted,
	} {
		t.Run(preset, func(t *testing.T) {
			u := newUpstreams(t)
			require.NoError(t, u.activepieces.Inject(fake.Fault{Preset: preset}))
			_, err := run(t, u, johnDoe)
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			assert.Equal(t, wantType, appErr.Type())
			assert.Len(t, u.activepieces.Requests(), 1)
			assert.Empty(t, u.alleviate.Requests())
		})
	}
}

func TestAlleviateRejectionIsItsAnswer(t *testing.T) {
	u := newUpstreams(t)
	require.NoError(t, u.alleviate.Inject(fake.Fault{Status: 422, Body: `{"message":"unknown form"}`, Times: 1}))
	answer, err := run(t, u, johnDoe)
	require.NoError(t, err)
	assert.Equal(t, 422, answer.StatusCode)
	assert.JSONEq(t, `{"message":"unknown form"}`, answer.Body)
	assert.Len(t, u.alleviate.Requests(), 1, "a final answer is not retried")
}
