package integration

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/carebridge/carebridge/dev/devstack"
)

// Secure by default, through the real programs: production is what a
// program runs in unless CAREBRIDGE_DEV=true says otherwise.

const (
	prodAPIKey     = "integration-production-api-key"
	prodCodecToken = "integration-production-codec-token"
)

// The end of the line of a program that lacks what production needs.
const (
	needsAPI   = "CAREBRIDGE_API_KEYS or CAREBRIDGE_OIDC_ISSUER (or the deprecated CAREBRIDGE_API_TOKENS)"
	needsCodec = "CAREBRIDGE_CODEC_AUTH_TOKEN or CAREBRIDGE_OIDC_ISSUER"
	needsTLS   = "CAREBRIDGE_TLS_CERT_FILE and CAREBRIDGE_TLS_KEY_FILE (or CAREBRIDGE_TLS_TERMINATED=proxy)"
	needsTemp  = "TLS to Temporal (TEMPORAL_TLS=true, or TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS; " +
		"or CAREBRIDGE_TEMPORAL_PLAINTEXT=loopback for a Temporal on this host's loopback)"
	devHint = "; or CAREBRIDGE_DEV=true, to develop on loopback"
)

// production is the environment of a starter (or worker) in production mode
// beside the stack, with its own task queues: credentials, TLS on its
// listeners with a certificate of ca, and TLS to the stack's Temporal (the
// programs' client certificate, with -server postgres) or the statement
// that the dev server is on loopback. An empty value in extra unsets the
// variable. It returns the listeners' URLs.
func production(t *testing.T, ca *devstack.CA, extra map[string]string) (env map[string]string, public, internal string) {
	t.Helper()
	cert, key, err := ca.Issue("starter", devstack.ServerUse, "localhost", "127.0.0.1")
	require.NoError(t, err)
	env, public, internal = isolated(t, map[string]string{
		"CAREBRIDGE_DEV":              "false",
		"AKUTE_WEBHOOK_SECRET":        "x",
		"CAREBRIDGE_API_KEYS":         "integration:" + hashKey(prodAPIKey),
		"CAREBRIDGE_CODEC_AUTH_TOKEN": prodCodecToken,
		"CAREBRIDGE_TLS_CERT_FILE":    cert,
		"CAREBRIDGE_TLS_KEY_FILE":     key,
		"CAREBRIDGE_AUDIT_DIR":        filepath.Join(t.TempDir(), "audit"),
	})
	for k, v := range temporalSecurity() {
		env[k] = v
	}
	for k, v := range extra {
		if v == "" {
			delete(env, k) // unset: the SDK takes a TEMPORAL_TLS_* set empty for TLS on
		} else {
			env[k] = v
		}
	}
	return env, strings.Replace(public, "http://", "https://", 1), strings.Replace(internal, "http://", "https://", 1)
}

// temporalSecurity is how a program in production mode reaches the stack's
// Temporal: with the programs' client certificate (mTLS) when the server
// asks for one, else in plaintext to the dev server on loopback, said so.
func temporalSecurity() map[string]string {
	if stack.Env("TEMPORAL_TLS_CLIENT_CERT_PATH") == "" {
		return map[string]string{"CAREBRIDGE_TEMPORAL_PLAINTEXT": "loopback"}
	}
	env := map[string]string{}
	if idp := stack.Identity(); idp != nil {
		// Temporal's authorizer wants the starter's token too.
		env["CAREBRIDGE_OIDC_ISSUER"], env["CAREBRIDGE_OIDC_AUDIENCE"] = idp.Issuer(), devstack.Audience
		env["CAREBRIDGE_OIDC_CA_FILE"] = stack.CA().File
		env["CAREBRIDGE_OIDC_CLIENT_ID"], env["CAREBRIDGE_OIDC_CLIENT_SECRET"] = devstack.StarterClient, stack.ClientSecret(devstack.StarterClient)
	}
	for _, k := range []string{"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH",
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME"} {
		env[k] = stack.Env(k)
	}
	return env
}

func newCA(t *testing.T) *devstack.CA {
	t.Helper()
	ca, err := devstack.NewCA(t.TempDir())
	require.NoError(t, err)
	return ca
}

// A starter in production mode without its credentials stops at start and
// names them, in one line.
func TestProductionStarterWithoutCredentialsNamesThem(t *testing.T) {
	env, _, _ := production(t, newCA(t), map[string]string{"CAREBRIDGE_API_KEYS": "", "CAREBRIDGE_CODEC_AUTH_TOKEN": ""})
	assert.Equal(t, "starter: production mode (the default) needs "+needsAPI+", and "+needsCodec+devHint+"\n",
		exitAtStart(t, "starter", env))

	// Production is the default: an environment without CAREBRIDGE_DEV at
	// all. The deprecated tokens are credentials.
	delete(env, "CAREBRIDGE_DEV")
	env["CAREBRIDGE_API_TOKENS"] = "a-deprecated-token"
	cmd := exec.Command(filepath.Join(stack.Bin(), "starter"))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Equal(t, "starter: production mode (the default) needs "+needsCodec+devHint+"\n", string(out))
}

// hashKey is what CAREBRIDGE_API_KEYS holds of a key: printf %s "$KEY" | sha256sum.
func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// A program in production mode without TLS (on its listeners, to Temporal)
// stops at start, naming the TLS variables; a plaintext Temporal that is
// not on loopback is refused in either mode.
func TestProductionProgramsWithoutTLSNameTheTLSVariables(t *testing.T) {
	plain := map[string]string{"CAREBRIDGE_TLS_CERT_FILE": "", "CAREBRIDGE_TLS_KEY_FILE": "", "CAREBRIDGE_TEMPORAL_PLAINTEXT": "",
		"TEMPORAL_TLS_CLIENT_CERT_PATH": "", "TEMPORAL_TLS_CLIENT_KEY_PATH": "", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "", "TEMPORAL_TLS_SERVER_NAME": ""}
	env, _, _ := production(t, newCA(t), plain)
	assert.Equal(t, "starter: production mode (the default) needs "+needsTLS+", and "+needsTemp+devHint+"\n", exitAtStart(t, "starter", env))

	env["AKUTE_BASE_URL"], env["AKUTE_API_KEY"] = stack.SandboxURL+"/akute/v1", "k"
	assert.Equal(t, "worker: production mode (the default) needs "+needsTLS+", and "+needsTemp+devHint+"\n", exitAtStart(t, "worker", env))

	for _, dev := range []string{"false", "true"} {
		env, _, _ := production(t, newCA(t), map[string]string{"CAREBRIDGE_DEV": dev, "TEMPORAL_ADDRESS": "192.0.2.10:7233",
			"TEMPORAL_TLS_CLIENT_CERT_PATH": "", "TEMPORAL_TLS_CLIENT_KEY_PATH": "", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "", "TEMPORAL_TLS_SERVER_NAME": ""})
		assert.Equal(t, "starter: Temporal at 192.0.2.10:7233 is not on loopback and would be reached without TLS: set TEMPORAL_TLS=true, "+
			"with TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS (TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)\n",
			exitAtStart(t, "starter", env), "CAREBRIDGE_DEV=%s", dev)
	}
}

// In development mode a program listens on loopback only: asked to bind
// every interface, it stops at start.
func TestDevelopmentProgramsRefuseToBindEveryInterface(t *testing.T) {
	env, _, _ := isolated(t, map[string]string{"CAREBRIDGE_DEV": "true", "AKUTE_WEBHOOK_SECRET": "x", "CAREBRIDGE_HTTP_ADDR": "0.0.0.0:18080"})
	assert.Equal(t, "starter: CAREBRIDGE_HTTP_ADDR=0.0.0.0:18080: development mode (CAREBRIDGE_DEV=true) listens on loopback only: "+
		"use 127.0.0.1:18080\n", exitAtStart(t, "starter", env))

	env, _, _ = isolated(t, map[string]string{"CAREBRIDGE_DEV": "true", "AKUTE_BASE_URL": "http://127.0.0.1:1", "AKUTE_API_KEY": "k",
		"CAREBRIDGE_METRICS_ADDR": ":19090"})
	assert.Equal(t, "worker: CAREBRIDGE_METRICS_ADDR=:19090: development mode (CAREBRIDGE_DEV=true) listens on loopback only: "+
		"use 127.0.0.1:19090\n", exitAtStart(t, "worker", env))
}

// A starter in production mode with certificate files serves HTTPS on both
// listeners, with its credentials required, and serves a rotated
// certificate without a restart. So does the worker's metrics listener.
func TestProductionStarterServesTLSAndARotatedCertificate(t *testing.T) {
	ca := newCA(t)
	env, public, internal := production(t, ca, nil)
	starter := startProgram(t, "starter", env)
	https := &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}}
	require.Eventually(t, func() bool {
		resp, err := https.Get(public + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "starter never healthy over HTTPS: %s", starter.output())
	require.Eventually(t, func() bool { return strings.Contains(starter.output(), `"mode":"production","tls":"on"`) },
		5*time.Second, 50*time.Millisecond, "its start line: %s", starter.output())
	assert.NotContains(t, starter.output(), "open to anyone", "no open route to warn of")

	// Plain HTTP is not served.
	resp, err := http.Get(strings.Replace(public, "https://", "http://", 1) + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP to the TLS listener")

	// The codec endpoint, over TLS on the internal listener, wants its token.
	for token, want := range map[string]int{"": http.StatusUnauthorized, "wrong": http.StatusUnauthorized, prodCodecToken: http.StatusOK} {
		req, _ := http.NewRequest(http.MethodPost, internal+"/codec/decode", strings.NewReader(`{"payloads":[]}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := https.Do(req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "codec with token %q", token)
	}

	// The container health check speaks TLS to it.
	check := exec.Command(filepath.Join(stack.Bin(), "starter"), "healthcheck")
	check.Env = starter.cmd.Env
	out, err := check.CombinedOutput()
	assert.NoError(t, err, "starter healthcheck: %s", out)

	// Rotation: new files in place of the old, the same process.
	served := func(url string) string {
		host := strings.TrimPrefix(url, "https://")
		c, err := tls.Dial("tcp", host, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
		if err != nil {
			return "error: " + err.Error()
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	first := served(public)
	require.NotContains(t, first, "error")
	assert.Equal(t, first, served(internal), "both listeners serve the one certificate")
	_, _, err = ca.Issue("starter", devstack.ServerUse, "localhost", "127.0.0.1") // the same files, a new certificate
	require.NoError(t, err)
	var second string
	require.Eventually(t, func() bool {
		second = served(public)
		return second != first && !strings.Contains(second, "error")
	}, 15*time.Second, 200*time.Millisecond, "the rotated certificate is served")
	assert.Equal(t, second, served(internal))
	assert.NoError(t, starter.cmd.Process.Signal(syscall.Signal(0)), "the starter was not restarted: the same process serves it")
	require.Eventually(t, func() bool { return strings.Contains(starter.output(), "TLS certificate reloaded") },
		5*time.Second, 100*time.Millisecond, "the reload is logged")

	// The worker's metrics listener serves TLS too.
	wenv := withEnv(env, "AKUTE_BASE_URL", stack.SandboxURL+"/akute/v1", "AKUTE_API_KEY", "k")
	worker := startProgram(t, "worker", wenv)
	metrics := "https://" + wenv["CAREBRIDGE_METRICS_ADDR"] + "/metrics"
	require.Eventually(t, func() bool {
		resp, err := https.Get(metrics)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "worker metrics over HTTPS: %s", worker.output())
	require.Eventually(t, func() bool { return strings.Contains(worker.output(), `"mode":"production","tls":"on"`) },
		5*time.Second, 50*time.Millisecond, "its start line: %s", worker.output())
}

// withEnv is m with pairs set (a copy).
func withEnv(m map[string]string, pairs ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		out[pairs[i]] = pairs[i+1]
	}
	return out
}

// With -server postgres, Temporal's frontend refuses a client without a
// certificate its CA signed, and one in plaintext (make test-postgres).
func TestTemporalRequiresClientCertificates(t *testing.T) {
	if *server != devstack.ServerPostgres {
		t.Skip("the dev server speaks plaintext on loopback; run with -server postgres")
	}
	dial := func(conf *tls.Config) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := client.DialContext(ctx, client.Options{HostPort: stack.TemporalAddr, Logger: quiet{},
			ConnectionOptions: client.ConnectionOptions{TLS: conf}})
		if err == nil {
			c.Close()
		}
		return err
	}
	require.NoError(t, dial(stack.TemporalClientOptions().ConnectionOptions.TLS), "an operator's client certificate")
	assert.Error(t, dial(nil), "plaintext")
	assert.Error(t, dial(&tls.Config{RootCAs: stack.CA().Pool(), ServerName: "temporal.carebridge.test"}), "TLS without a client certificate")
	stranger := newCA(t)
	cert, key, err := stranger.Issue("stranger", devstack.ClientUse, "stranger")
	require.NoError(t, err)
	conf, err := stranger.ClientTLS(cert, key, "temporal.carebridge.test")
	require.NoError(t, err)
	conf.RootCAs = stack.CA().Pool()
	assert.Error(t, dial(conf), "a client certificate of another CA")
	out, err := exec.Command(stack.TemporalCLI(), "operator", "namespace", "describe", "--namespace", devstack.Namespace,
		"--address", stack.TemporalAddr, "--tls=false").CombinedOutput()
	assert.Error(t, err, "the CLI in plaintext: %s", out)
	_, err = runCLI("operator", "namespace", "describe", "--namespace", devstack.Namespace)
	assert.NoError(t, err, "the CLI with an operator's certificate")
}

type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
