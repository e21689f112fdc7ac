package workflows_test

import (
	"maps"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"

	"github.com/carebridge/carebridge/activities"
	"github.com/carebridge/carebridge/workflows"
)

// names records what Register registers.
type names struct {
	workflows  map[string]string // type name -> Go function
	activities map[string]string
}

func (n *names) RegisterWorkflowWithOptions(w any, o workflow.RegisterOptions) {
	n.workflows[o.Name] = funcName(w)
}

func (n *names) RegisterActivityWithOptions(a any, o activity.RegisterOptions) {
	n.activities[o.Name] = funcName(a)
}

func funcName(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	name = strings.TrimSuffix(name, "-fm") // a method value
	return name[strings.LastIndex(name, ".")+1:]
}

// The type names recorded in histories are literals, never derived from Go
// names: renaming a method (the right-hand side) leaves them as they are.
func TestRegisterNamesEveryWorkflowAndActivityExplicitly(t *testing.T) {
	n := &names{workflows: map[string]string{}, activities: map[string]string{}}
	workflows.Register(n, workflows.Activities{Send: &activities.Send{}, Akute: &activities.Akute{}}, workflows.DefaultCaseConfig())
	assert.ElementsMatch(t, []string{"AlleviateSend", "CareValidateCase", "AkuteUnrouted"}, slices.Collect(maps.Keys(n.workflows)))
	assert.Equal(t, map[string]string{
		"FetchRealtimeToken":    "FetchRealtimeToken",
		"LookupRealtimePatient": "LookupRealtimePatient",
		"PostAlleviateLead":     "PostAlleviateLead",
		"SyncAkutePatient":      "SyncAkutePatient",
		"CreateAkuteTask":       "CreateAkuteTask",
	}, n.activities)

	only := &names{workflows: map[string]string{}, activities: map[string]string{}}
	workflows.Register(only, workflows.Activities{Send: &activities.Send{}}, workflows.DefaultCaseConfig())
	assert.Equal(t, []string{"AlleviateSend"}, slices.Collect(maps.Keys(only.workflows)), "a deployment of sends only runs no case")
	assert.Len(t, only.activities, 3, "the send's activities only")

	sends := &names{workflows: map[string]string{}, activities: map[string]string{}}
	workflows.RegisterSends(sends, &activities.Send{})
	assert.Equal(t, only, sends, "the sends' task queue: the send and its activities")
}

func TestSendWorkflowID(t *testing.T) {
	a, b := workflows.SendWorkflowID("", ""), workflows.SendWorkflowID("", "")
	assert.NotEqual(t, a, b, "no key: a new run each time")
	k := workflows.SendWorkflowID("", "john.doe@example.com")
	assert.Equal(t, k, workflows.SendWorkflowID("", "john.doe@example.com"), "the same key, the same run")
	assert.True(t, strings.HasPrefix(k, workflows.SendWorkflowIDPrefix))
	assert.NotContains(t, k, "john")
	alpha := workflows.SendWorkflowID("alpha", "lead-42")
	assert.Equal(t, alpha, workflows.SendWorkflowID("alpha", "lead-42"), "a caller's key finds its run")
	assert.NotEqual(t, alpha, workflows.SendWorkflowID("beta", "lead-42"), "another caller's same key is another run")
	assert.NotEqual(t, alpha, workflows.SendWorkflowID("", "lead-42"))
}
