package devstack_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/fakes/carevalidatetest"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the stack")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	return root
}

// make run: a program that exits at start stops the start at once, with
// the program's last line, instead of a health check's timeout.
func TestAProgramExitingAtStartStopsTheStartAtOnce(t *testing.T) {
	root := repoRoot(t)
	var logs bytes.Buffer
	stack, err := devstack.Start(context.Background(), devstack.Options{
		RepoRoot: root, DataDir: t.TempDir(), Headless: true, Logs: &logs,
		Env: map[string]string{"CAREBRIDGE_CASE_MAX_SIGNALS": "many"},
	})
	if stack != nil {
		stack.Stop()
	}
	require.Error(t, err)
	assert.Equal(t, `devstack: the worker exited at start: worker: CAREBRIDGE_CASE_MAX_SIGNALS="many" is not a positive integer`, err.Error())
}

// make run: a variable set in the environment wins over the sandbox's (a
// real CareValidate secret is not replaced by the sandbox's).
func TestTheEnvironmentWinsOverTheSandbox(t *testing.T) {
	root := repoRoot(t)
	t.Setenv("CAREVALIDATE_AUTH_SECRET", "from-the-environment")
	var logs bytes.Buffer
	stack, err := devstack.Start(context.Background(), devstack.Options{
		RepoRoot: root, DataDir: t.TempDir(), Headless: true, Logs: &logs, KeepUpstreamEnv: true,
	})
	require.NoError(t, err, logs.String())
	defer stack.Stop()
	body := carevalidatetest.Script(carevalidatetest.Case{ID: "env-wins", ShortID: "ENV"}, time.Now())[0].Body
	for secret, want := range map[string]int{"from-the-environment": http.StatusAccepted, "sandbox-carevalidate-secret": http.StatusUnauthorized} {
		status, answer, err := carevalidatetest.Sender{URL: stack.StarterURL + "/webhooks/carevalidate",
			Header: "X-CareValidate-Auth", Secret: secret}.Send(body)
		require.NoError(t, err)
		assert.Equal(t, want, status, "%s: %s", secret, answer)
	}
}

// The throwaway CA issues certificates its pool verifies, for the hosts and
// usages asked; issuing a name again replaces its files (a rotation).
func TestCAIssuesVerifiableCertificates(t *testing.T) {
	ca, err := devstack.NewCA(t.TempDir())
	require.NoError(t, err)
	certFile, keyFile, err := ca.Issue("listener", devstack.ServerUse, "localhost", "127.0.0.1")
	require.NoError(t, err)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	leaf := pair.Leaf
	for _, host := range []string{"localhost", "127.0.0.1"} {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		assert.NoError(t, err, host)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.Error(t, err, "a server certificate is no client's")
	info, err := os.Stat(keyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the key is its owner's only")

	again, _, err := ca.Issue("listener", devstack.ServerUse, "localhost")
	require.NoError(t, err)
	assert.Equal(t, certFile, again, "the same files")
	rotated, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	assert.NotEqual(t, leaf.SerialNumber, rotated.Leaf.SerialNumber)

	other, err := devstack.NewCA(t.TempDir())
	require.NoError(t, err)
	_, err = rotated.Leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: other.Pool()})
	assert.Error(t, err, "another CA does not vouch for it")
}

// Production mode on the dev server: the programs serve HTTPS with the
// stack's CA, want their credentials, and reach the dev server in plaintext
// on loopback because the stack says so.
func TestProductionMode(t *testing.T) {
	root := repoRoot(t)
	logs := &syncBuffer{}
	stack, err := devstack.Start(context.Background(), devstack.Options{
		RepoRoot: root, DataDir: t.TempDir(), Headless: true, Logs: logs, Production: true,
		Env: map[string]string{"CAREBRIDGE_API_TOKENS": "devstack-token", "CAREBRIDGE_CODEC_AUTH_TOKEN": "devstack-codec"},
	})
	require.NoError(t, err, logs.String())
	defer stack.Stop()
	for _, url := range []string{stack.StarterURL, stack.InternalURL, stack.WorkerMetricsURL} {
		assert.True(t, strings.HasPrefix(url, "https://127.0.0.1:"), url)
	}
	assert.Equal(t, "false", stack.Env("CAREBRIDGE_DEV"))
	assert.Equal(t, "loopback", stack.Env("CAREBRIDGE_TEMPORAL_PLAINTEXT"))
	assert.Equal(t, stack.CA().File, stack.ClientEnv()["SSL_CERT_FILE"])

	resp, err := stack.HTTPClient().Get(stack.StarterURL + "/api/cases/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the API wants its key")
	resp, err = stack.HTTPClient().Get(stack.WorkerMetricsURL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = http.Get(stack.StarterURL + "/healthz")
	assert.Error(t, err, "a client that does not trust the stack's CA")
	assert.Contains(t, logs.String(), `"mode":"production","tls":"on"`)
}

// syncBuffer is a log the stack's processes write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
