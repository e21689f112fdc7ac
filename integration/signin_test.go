package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/internal/audit"
	"github.com/carebridge/carebridge/workflows"
)

// Who may do what, in the production topology (make test-postgres): every
// token a caller might hold against every kind of call on Temporal's own
// API, carebridge's API and its codec endpoint; then the audit trail names
// who did what, and its chain verifies until a line is altered.

// tokens are the kinds of bearer a caller may present.
func tokens(t *testing.T) map[string]string {
	t.Helper()
	idp := stack.Identity()
	ctx := context.Background()
	reader, err := idp.UserToken(ctx, devstack.UIClient, devstack.Reader)
	require.NoError(t, err)
	operator, err := idp.UserToken(ctx, devstack.UIClient, devstack.Operator)
	require.NoError(t, err)
	claims := func(changes map[string]any) map[string]any {
		c := map[string]any{"iss": idp.Issuer(), "aud": devstack.Audience, "sub": devstack.Operator,
			"permissions": []string{"default:read", "default:write"},
			"iat":         time.Now().Add(-time.Minute).Unix(), "exp": time.Now().Add(10 * time.Minute).Unix()}
		for k, v := range changes {
			c[k] = v
		}
		return c
	}
	expired, err := idp.Mint(claims(map[string]any{"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()}))
	require.NoError(t, err)
	otherAudience, err := idp.Mint(claims(map[string]any{"aud": "urn:another-service"}))
	require.NoError(t, err)
	return map[string]string{
		"none": "", "reader": reader, "operator": operator, "expired": expired,
		"wrong audience": otherAudience, "another key": signedByAnotherKey(t, claims(nil)),
	}
}

// signedByAnotherKey is a token with every right claim, signed by a key the
// provider never published (with the provider's key id, as a forger would).
func signedByAnotherKey(t *testing.T, claims map[string]any) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: stack.Identity().KeyID()}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	require.NoError(t, err)
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	jws, err := signer.Sign(payload)
	require.NoError(t, err)
	s, err := jws.CompactSerialize()
	require.NoError(t, err)
	return s
}

// refused reports whether err is Temporal's refusal of who called: the
// authorizer's PermissionDenied (or Unauthenticated), however the SDK wraps
// it.
func refused(err error) bool {
	var denied *serviceerror.PermissionDenied
	if errors.As(err, &denied) {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if c := status.Code(e); c == codes.PermissionDenied || c == codes.Unauthenticated {
			return true
		}
	}
	return false
}

// temporalAs is a client of Temporal that presents token (mTLS as every
// client of the topology; the token is who it is).
func temporalAs(t *testing.T, token string) client.Client {
	t.Helper()
	opts, err := stack.CodecClientOptions()
	require.NoError(t, err)
	opts.Credentials = nil
	if token != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(token)
	}
	c, err := client.NewLazyClient(opts)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestTemporalEnforcesWhoMayDoWhat(t *testing.T) {
	if stack.Identity() == nil {
		t.Skip("the production topology only: make test-postgres")
	}
	caseID, _, steps := newCase(t, "authz")
	deliver(t, steps[0].Body)
	waitCase(t, caseID, "synced", func(s workflows.CaseState) bool { return s.Akute.PatientID != "" })
	id := workflows.CaseWorkflowID(caseID)
	all := tokens(t)

	calls := map[string]func(context.Context, client.Client) error{
		"describe": func(ctx context.Context, c client.Client) error {
			_, err := c.DescribeWorkflowExecution(ctx, id, "")
			return err
		},
		"query": func(ctx context.Context, c client.Client) error {
			_, err := c.QueryWorkflow(ctx, id, "", workflows.QueryState)
			return err
		},
		"signal": func(ctx context.Context, c client.Client) error {
			return c.SignalWorkflow(ctx, id, "", workflows.SignalResume, nil)
		},
		"update": func(ctx context.Context, c client.Client) error {
			// Pause: the operator's is accepted (the case is running).
			h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.SignalPause,
				WaitForStage: client.WorkflowUpdateStageCompleted})
			if err != nil {
				return err
			}
			return h.Get(ctx, nil)
		},
		"terminate": func(ctx context.Context, c client.Client) error {
			return c.TerminateWorkflow(ctx, id, "", "the authorization test ends")
		},
	}
	allowed := map[string]map[string]bool{
		"reader":   {"describe": true, "query": true},
		"operator": {"describe": true, "query": true, "signal": true, "update": true, "terminate": true},
	}
	// The operator goes last: its terminate ends the case.
	for _, who := range []string{"none", "expired", "wrong audience", "another key", "reader", "operator"} {
		c := temporalAs(t, all[who])
		for _, call := range []string{"describe", "query", "signal", "update", "terminate"} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := calls[call](ctx, c)
			cancel()
			if allowed[who][call] {
				assert.NoError(t, err, "%s may %s", who, call)
				continue
			}
			assert.True(t, refused(err), "%s may not %s: want PermissionDenied or Unauthenticated, got %v", who, call, err)
		}
	}

	// The trail: the people's changes, allowed and refused, with the
	// principal Temporal verified; the harness's own reads are not there.
	entries := trail(t)
	has := func(principal, action, outcome string) bool {
		for _, e := range entries {
			// Via "sdk": the Go SDK's client names itself so.
			if e.Principal == principal && e.Action == action && e.WorkflowID == id && e.Outcome == outcome && e.Via == "sdk" {
				return true
			}
		}
		return false
	}
	for _, action := range []string{"workflow.signal", "workflow.update", "workflow.terminate"} {
		assert.True(t, has(devstack.Operator, action, audit.OutcomeOK), "the operator's %s is on the trail", action)
		assert.True(t, has(devstack.Reader, action, audit.OutcomeDenied), "the reader's refused %s is on the trail", action)
		assert.True(t, has("anonymous", action, audit.OutcomeDenied), "a tokenless %s is on the trail", action)
	}
}

// carebridge's own API and codec endpoint take the provider's tokens too,
// with a role per route; every read of patient data is on the trail.
func TestTheAPIAndTheCodecKnowPeople(t *testing.T) {
	if stack.Identity() == nil {
		t.Skip("the production topology only: make test-postgres")
	}
	caseID, _, steps := newCase(t, "people")
	deliver(t, steps[0].Body)
	waitCase(t, caseID, "synced", func(s workflows.CaseState) bool { return s.Akute.PatientID != "" })
	all := tokens(t)
	caseURL := stack.StarterURL + "/api/cases/" + caseID
	for who, want := range map[string]int{"none": 401, "expired": 401, "wrong audience": 401, "another key": 401, "reader": 200, "operator": 200} {
		status, body := callAs(t, http.MethodGet, caseURL, all[who], "")
		assert.Equal(t, want, status, "%s reads a case: %s", who, body)
		assert.NotContains(t, body, all[who][max(0, len(all[who])-20):]+"x", "no token echoed")
	}
	lead := `{"form_name":"vip_tlc_bunionectomy_ect","phone":"555-123-4567","name":"John Doe","email":"john.doe@example.com","instance_name":"ect"}`
	status, body := callAs(t, http.MethodPost, stack.StarterURL+"/api/alleviate/send", all["reader"], lead)
	assert.Equal(t, http.StatusForbidden, status, "a reader does not send a lead: %s", body)
	assert.Contains(t, body, "default:write")

	// The codec endpoint: a reader decodes, only a writer encodes; the
	// payloads of a case's history name the case, so the trail does too.
	hist := temporal.GetWorkflowHistory(context.Background(), workflows.CaseWorkflowID(caseID), "", false, 0)
	ev, err := hist.Next()
	require.NoError(t, err)
	payloadsJSON, err := protojson.Marshal(ev.GetWorkflowExecutionStartedEventAttributes().GetInput())
	require.NoError(t, err)
	for who, want := range map[string]int{"none": 401, "expired": 401, "another key": 401, "reader": 200, "operator": 200} {
		status, body := callAs(t, http.MethodPost, stack.InternalURL+"/codec/default/decode", all[who], string(payloadsJSON))
		assert.Equal(t, want, status, "%s decodes: %s", who, body)
	}
	status, body = callAs(t, http.MethodPost, stack.InternalURL+"/codec/default/encode", all["reader"], string(payloadsJSON))
	assert.Equal(t, http.StatusForbidden, status, "a reader does not encode: %s", body)

	entries := trail(t)
	found := map[string]bool{}
	for _, e := range entries {
		if e.WorkflowID == workflows.CaseWorkflowID(caseID) && e.Outcome == audit.OutcomeOK {
			found[e.Principal+" "+e.Via+" "+e.Action] = true
		}
	}
	for _, want := range []string{"rhea api case.read", "olivia api case.read", "rhea codec payload.decode", "olivia codec payload.decode"} {
		assert.True(t, found[want], "on the trail: %s (found %v)", want, found)
	}
	for _, e := range entries {
		assert.NotContains(t, e.Detail+e.Principal+e.WorkflowID, "john", "no patient data on the trail")
	}
}

// The trail's chain verifies; altered, it does not, and says where.
func TestTheAuditTrailIsTamperEvident(t *testing.T) {
	if stack.Identity() == nil {
		t.Skip("the production topology only: make test-postgres")
	}
	trail(t) // something is on it
	report, err := audit.Verify(stack.AuditDir())
	require.NoError(t, err)
	require.Positive(t, report.Entries)

	copied := t.TempDir()
	files, err := filepath.Glob(filepath.Join(stack.AuditDir(), "audit-*.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var last string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(copied, filepath.Base(f)), b, 0o600))
		last = filepath.Join(copied, filepath.Base(f))
	}
	b, err := os.ReadFile(last)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.NotEmpty(t, lines)
	i := len(lines) / 2
	altered := strings.Replace(lines[i], `"principal":"`, `"principal":"x`, 1)
	require.NotEqual(t, lines[i], altered)
	lines[i] = altered
	require.NoError(t, os.WriteFile(last, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	_, err = audit.Verify(copied)
	require.Error(t, err, "an altered row breaks the chain")
	assert.Contains(t, err.Error(), filepath.Base(last))
}

// trail is every entry on the stack's audit trail.
func trail(t *testing.T) []audit.Entry {
	t.Helper()
	var out bytes.Buffer
	_, err := audit.Export(stack.AuditDir(), time.Time{}, &out)
	require.NoError(t, err)
	var entries []audit.Entry
	for line := range strings.Lines(out.String()) {
		var e audit.Entry
		require.NoError(t, json.Unmarshal([]byte(line), &e), "%s", line)
		entries = append(entries, e)
	}
	require.NotEmpty(t, entries)
	return entries
}
