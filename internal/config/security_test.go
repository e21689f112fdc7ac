package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/internal/config"
)

// The end of the line of a program that lacks what production needs.
const (
	needsPrefix = "production mode (the default) needs "
	needsAPI    = "CAREBRIDGE_API_KEYS or CAREBRIDGE_OIDC_ISSUER (or the deprecated CAREBRIDGE_API_TOKENS)"
	needsCodec  = "CAREBRIDGE_CODEC_AUTH_TOKEN or CAREBRIDGE_OIDC_ISSUER"
	needsAudit  = "CAREBRIDGE_AUDIT_DIR (the audit trail)"
	needsTLS    = "CAREBRIDGE_TLS_CERT_FILE and CAREBRIDGE_TLS_KEY_FILE (or CAREBRIDGE_TLS_TERMINATED=proxy)"
	needsTemp   = "TLS to Temporal (TEMPORAL_TLS=true, or TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS; " +
		"or CAREBRIDGE_TEMPORAL_PLAINTEXT=loopback for a Temporal on this host's loopback)"
	devHint = "; or CAREBRIDGE_DEV=true, to develop on loopback"
)

// with is base plus extra.
func with(base map[string]string, extra ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// Production is the default: without credentials and TLS a program stops
// at start with one line naming all of it, and how to develop instead.
func TestProductionIsTheDefault(t *testing.T) {
	cert, key := writePair(t, t.TempDir(), "a")
	starter := map[string]string{"CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"), "AKUTE_WEBHOOK_SECRET": "s", "CAREBRIDGE_AUDIT_DIR": t.TempDir()}
	worker := map[string]string{"CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"), "AKUTE_BASE_URL": "http://akute", "AKUTE_API_KEY": "k"}
	secured := with(starter, "CAREBRIDGE_API_KEYS", "crm:"+sha256Hex("key"), "CAREBRIDGE_CODEC_AUTH_TOKEN", "t",
		"CAREBRIDGE_TLS_CERT_FILE", cert, "CAREBRIDGE_TLS_KEY_FILE", key, "TEMPORAL_TLS", "true")
	load := map[string]func(*config.Env){
		"starter": func(e *config.Env) { e.LoadStarter() },
		"worker":  func(e *config.Env) { e.LoadWorker() },
	}
	for _, c := range []struct {
		name, program string
		env           map[string]string
		want          string // "" when it starts
	}{
		{"nothing", "starter", with(starter, "CAREBRIDGE_AUDIT_DIR", ""), needsPrefix + needsAPI + ", " + needsCodec + ", " + needsTLS + ", " + needsTemp + ", and " + needsAudit + devHint},
		{"people's tokens instead of keys and the codec token", "starter", with(secured, "CAREBRIDGE_API_KEYS", "", "CAREBRIDGE_CODEC_AUTH_TOKEN", "",
			"CAREBRIDGE_OIDC_ISSUER", "https://idp.example", "CAREBRIDGE_OIDC_AUDIENCE", "urn:carebridge"), ""},
		{"nothing", "worker", worker, needsPrefix + needsTLS + ", and " + needsTemp + devHint},
		{"without credentials", "starter", with(secured, "CAREBRIDGE_API_KEYS", "", "CAREBRIDGE_CODEC_AUTH_TOKEN", ""),
			needsPrefix + needsAPI + ", and " + needsCodec + devHint},
		{"the deprecated tokens are credentials", "starter", with(secured, "CAREBRIDGE_API_KEYS", "", "CAREBRIDGE_API_TOKENS", "t"), ""},
		{"without TLS", "starter", with(secured, "CAREBRIDGE_TLS_CERT_FILE", "", "CAREBRIDGE_TLS_KEY_FILE", "", "TEMPORAL_TLS", ""),
			needsPrefix + needsTLS + ", and " + needsTemp + devHint},
		{"secured", "starter", secured, ""},
		{"TLS terminated by a proxy", "starter", with(secured, "CAREBRIDGE_TLS_CERT_FILE", "", "CAREBRIDGE_TLS_KEY_FILE", "",
			"CAREBRIDGE_TLS_TERMINATED", "proxy"), ""},
		{"mTLS to Temporal", "worker", with(worker, "CAREBRIDGE_TLS_TERMINATED", "proxy",
			"TEMPORAL_TLS_CLIENT_CERT_PATH", cert, "TEMPORAL_TLS_CLIENT_KEY_PATH", key), ""},
		{"an API key turns TLS to Temporal on", "worker", with(worker, "CAREBRIDGE_TLS_TERMINATED", "proxy", "TEMPORAL_API_KEY", "k"), ""},
		{"Temporal on loopback, said so", "worker", with(worker, "CAREBRIDGE_TLS_TERMINATED", "proxy",
			"CAREBRIDGE_TEMPORAL_PLAINTEXT", "loopback", "TEMPORAL_ADDRESS", "localhost:7233"), ""},
		{"plaintext to a Temporal elsewhere, said so or not", "worker", with(worker, "CAREBRIDGE_TLS_TERMINATED", "proxy",
			"CAREBRIDGE_TEMPORAL_PLAINTEXT", "loopback", "TEMPORAL_ADDRESS", "temporal:7233"),
			"Temporal at temporal:7233 is not on loopback and would be reached without TLS: set TEMPORAL_TLS=true, with " +
				"TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS (TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)"},
		{"TLS switched off", "worker", with(worker, "CAREBRIDGE_TLS_TERMINATED", "proxy", "TEMPORAL_API_KEY", "k",
			"TEMPORAL_TLS", "false", "TEMPORAL_ADDRESS", "10.0.0.7:7233"),
			"Temporal at 10.0.0.7:7233 is not on loopback and would be reached without TLS: set TEMPORAL_TLS=true, with " +
				"TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS (TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)"},
		{"TLS that verifies nothing", "worker", with(worker, "CAREBRIDGE_TLS_TERMINATED", "proxy", "TEMPORAL_TLS", "true",
			"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "true"),
			"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=true accepts any server's certificate: give Temporal's CA " +
				"(TEMPORAL_TLS_SERVER_CA_CERT_PATH) and name (TEMPORAL_TLS_SERVER_NAME) instead"},
		{"malformed statements", "worker", with(worker, "CAREBRIDGE_TLS_TERMINATED", "yes", "CAREBRIDGE_TEMPORAL_PLAINTEXT", "ok",
			"CAREBRIDGE_DEV", "maybe"),
			`CAREBRIDGE_TEMPORAL_PLAINTEXT="ok": the one value is loopback; CAREBRIDGE_DEV="maybe" is not true or false; ` +
				`CAREBRIDGE_TLS_TERMINATED="yes": the one value is proxy (a proxy in front terminates TLS); ` +
				needsPrefix + needsTemp + devHint},
		{"a certificate without its key", "worker", with(worker, "CAREBRIDGE_TLS_CERT_FILE", cert, "TEMPORAL_TLS", "true"),
			"CAREBRIDGE_TLS_CERT_FILE and CAREBRIDGE_TLS_KEY_FILE go together: set both; " + needsPrefix + needsTLS + devHint},
		{"a key that is not the certificate's", "worker", with(worker, "CAREBRIDGE_TLS_CERT_FILE", cert, "CAREBRIDGE_TLS_KEY_FILE", cert,
			"TEMPORAL_TLS", "true"),
			"CAREBRIDGE_TLS_CERT_FILE, CAREBRIDGE_TLS_KEY_FILE: certificate " + cert + " with key " + cert +
				": tls: found a certificate rather than a key in the PEM for the private key"},
		{"files and a proxy", "worker", with(worker, "CAREBRIDGE_TLS_CERT_FILE", cert, "CAREBRIDGE_TLS_KEY_FILE", key,
			"CAREBRIDGE_TLS_TERMINATED", "proxy", "TEMPORAL_TLS", "true"),
			"CAREBRIDGE_TLS_TERMINATED is set beside CAREBRIDGE_TLS_CERT_FILE: say one, the listeners serve TLS or a proxy does"},
	} {
		env := config.FromMap(c.env)
		load[c.program](env)
		if c.want == "" {
			assert.NoError(t, env.Err(), "%s: %s", c.program, c.name)
		} else {
			assert.EqualError(t, env.Err(), c.want, "%s: %s", c.program, c.name)
		}
	}
}

// Development mode runs open and in plain HTTP, on loopback only: its
// listeners default to loopback and refuse any other address. A plaintext
// Temporal elsewhere is refused in development too.
func TestDevelopmentModeIsLoopbackOnly(t *testing.T) {
	dev := map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"), "AKUTE_WEBHOOK_SECRET": "s",
		"AKUTE_BASE_URL": "http://akute", "AKUTE_API_KEY": "k"}
	env := config.FromMap(dev)
	s, w := env.LoadStarter(), env.LoadWorker()
	require.NoError(t, env.Err())
	assert.True(t, s.Dev)
	assert.Equal(t, "127.0.0.1:8080", s.HTTPAddr)
	assert.Equal(t, "127.0.0.1:8081", s.InternalAddr)
	assert.Equal(t, "127.0.0.1:9090", w.MetricsAddr)
	assert.Equal(t, "127.0.0.1:8080", config.FromMap(dev).HTTPAddr(), "the health check's address")

	env = config.FromMap(with(dev, "CAREBRIDGE_HTTP_ADDR", "0.0.0.0:8080", "CAREBRIDGE_INTERNAL_ADDR", ":8081"))
	env.LoadStarter()
	assert.EqualError(t, env.Err(), "CAREBRIDGE_HTTP_ADDR=0.0.0.0:8080: development mode (CAREBRIDGE_DEV=true) listens on loopback only: use 127.0.0.1:8080; "+
		"CAREBRIDGE_INTERNAL_ADDR=:8081: development mode (CAREBRIDGE_DEV=true) listens on loopback only: use 127.0.0.1:8081")
	env = config.FromMap(with(dev, "CAREBRIDGE_METRICS_ADDR", "192.168.1.4:9090"))
	env.LoadWorker()
	assert.EqualError(t, env.Err(), "CAREBRIDGE_METRICS_ADDR=192.168.1.4:9090: development mode (CAREBRIDGE_DEV=true) listens on loopback only: use 127.0.0.1:9090")
	env = config.FromMap(with(dev, "TEMPORAL_ADDRESS", "temporal.internal:7233"))
	env.LoadWorker()
	assert.ErrorContains(t, env.Err(), "Temporal at temporal.internal:7233 is not on loopback and would be reached without TLS")

	env = config.FromMap(with(dev, "CAREBRIDGE_DEV", "false"))
	s = env.LoadStarter()
	assert.False(t, s.Dev)
	assert.Equal(t, ":8080", s.HTTPAddr, "production listens on every interface by default")
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "127.0.0.2:8080": true, "[::1]:8080": true, "localhost:7233": true, "LOCALHOST:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.1:8080": false, "temporal:7233": false,
		"127.0.0.1": false, "": false,
	} {
		assert.Equal(t, want, config.IsLoopback(addr), addr)
	}
}

// A listener's certificate is re-read when its files change: a rotated
// certificate is served without a restart, and a pair that does not load
// leaves the previous one in use.
func TestListenerCertificateRotatesWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePair(t, dir, "first")
	conf, err := config.ListenerTLS{CertFile: cert, KeyFile: key}.ServerConfig(nil)
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	require.NoError(t, err)
	defer ln.Close()
	go func() { _ = http.Serve(ln, http.NotFoundHandler()) }()

	served := func() string {
		// A new connection each time: no session resumption, no keep-alive.
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reads the certificate served
		require.NoError(t, err)
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	assert.Equal(t, "first", served())

	// Half a rotation: the certificate is new, the key still the old one.
	newCert, newKey := writePair(t, t.TempDir(), "second")
	replace(t, newCert, cert)
	time.Sleep(config.CertCheckEvery + 100*time.Millisecond)
	assert.Equal(t, "first", served(), "a pair that does not load: the previous certificate")
	replace(t, newKey, key)
	require.Eventually(t, func() bool { return served() == "second" }, 3*config.CertCheckEvery, 100*time.Millisecond,
		"the rotated certificate, without a restart")
}

// Temporal's mTLS client certificate is re-read when its files change too.
func TestTemporalClientCertificateRotates(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePair(t, dir, "client-1")
	env := config.FromMap(map[string]string{"CAREBRIDGE_DEV": "true", "CAREBRIDGE_CODEC_KEYS": codec.NewKey("k1"),
		"TEMPORAL_TLS_CLIENT_CERT_PATH": cert, "TEMPORAL_TLS_CLIENT_KEY_PATH": key})
	tc := env.LoadTemporal()
	require.NoError(t, env.Err())
	conf := tc.ClientOptions(config.Logger("test"), nil).ConnectionOptions.TLS
	require.NotNil(t, conf)
	assert.Empty(t, conf.Certificates, "presented through GetClientCertificate")
	presented := func() string {
		c, err := conf.GetClientCertificate(&tls.CertificateRequestInfo{})
		require.NoError(t, err)
		return c.Leaf.Subject.CommonName
	}
	assert.Equal(t, "client-1", presented())
	newCert, newKey := writePair(t, t.TempDir(), "client-2")
	replace(t, newKey, key)
	replace(t, newCert, cert)
	require.Eventually(t, func() bool { return presented() == "client-2" }, 3*config.CertCheckEvery, 100*time.Millisecond)
}

// A listener serves TLS from its tls.Config, plain HTTP without one.
func TestListenerServesTLSWhenConfigured(t *testing.T) {
	cert, key := writePair(t, t.TempDir(), "127.0.0.1")
	conf, err := config.ListenerTLS{CertFile: cert, KeyFile: key}.ServerConfig(nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	l := config.Listener{Addr: addr, TLS: conf, MaxInFlight: 1}
	srv := l.Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	done := make(chan error, 1)
	go func() { done <- config.ListenAndServe(srv) }()
	defer func() { require.NoError(t, srv.Close()); require.NoError(t, <-done) }()

	pool := x509.NewCertPool()
	certPEM, err := os.ReadFile(cert)
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(certPEM))
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	require.Eventually(t, func() bool {
		resp, err := c.Get("https://" + addr + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusTeapot
	}, 5*time.Second, 50*time.Millisecond)
	resp, err := http.Get("http://" + addr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP to a TLS listener")
	assert.Equal(t, 0, config.Healthcheck(addr, "/healthz", true), "the health check speaks TLS to a TLS listener")
	assert.Equal(t, 1, config.Healthcheck(addr, "/healthz", false))
}

// writePair writes a self-signed certificate for 127.0.0.1 named cn, and its
// key, under dir.
func writePair(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+"-key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}

// replace moves from over to, as a rotation does (a rename), with a new
// modification time.
func replace(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, os.Chtimes(from, time.Now(), time.Now().Add(time.Second)))
	require.NoError(t, os.Rename(from, to))
}
