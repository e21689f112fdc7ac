// Package config reads carebridge's configuration from the environment into
// plain data: addresses, keys, timeouts, which integrations are on. Each
// program builds its clients and activities from that data. A program
// collects every problem first and then stops with one line naming them all,
// so a newcomer fixes the environment in one go.
package config

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"

	"github.com/carebridge/carebridge/internal/auth"
	"github.com/carebridge/carebridge/internal/codec"
)

// Env reads variables and remembers what was missing or malformed, and
// which variables were looked up (docs/configuration.md must list them).
type Env struct {
	lookup   func(string) (string, bool)
	environ  func() []string
	read     map[string]bool
	missing  []string
	problems []string
	needs    []int // what production lacks (security.go)
	dev      *bool // CAREBRIDGE_DEV, once read
}

// FromOS reads the process environment.
func FromOS() *Env { return &Env{lookup: os.LookupEnv, environ: os.Environ} }

// FromMap reads a fixed environment (tests).
func FromMap(m map[string]string) *Env {
	return &Env{
		lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok },
		environ: func() []string {
			var out []string
			for k, v := range m {
				out = append(out, k+"="+v)
			}
			return out
		},
	}
}

// get looks a variable up and records its name; every read goes through it.
func (e *Env) get(name string) (string, bool) {
	if e.read == nil {
		e.read = map[string]bool{}
	}
	e.read[name] = true
	return e.lookup(name)
}

// Read lists, sorted, every variable looked up so far, the Temporal SDK's
// lookups included.
func (e *Env) Read() []string {
	names := make([]string, 0, len(e.read))
	for name := range e.read {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// String returns the variable, or def when unset or empty.
func (e *Env) String(name, def string) string {
	if v, ok := e.get(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// Required returns the variable and records it as missing when unset or empty.
func (e *Env) Required(name string) string {
	v := e.String(name, "")
	if v == "" {
		e.missing = append(e.missing, name)
	}
	return v
}

// Duration reads a Go duration ("20s", "1m30s").
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v := e.String(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		e.problems = append(e.problems, fmt.Sprintf("%s=%q is not a duration such as 20s", name, v))
		return def
	}
	return d
}

// List reads a comma-separated list; empty items are dropped.
func (e *Env) List(name string) []string {
	var out []string
	for _, item := range strings.Split(e.String(name, ""), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Bool reads true or false (1/0, yes/no, on/off too).
func (e *Env) Bool(name string, def bool) bool {
	v := strings.ToLower(e.String(name, ""))
	switch v {
	case "":
		return def
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	}
	e.problems = append(e.problems, fmt.Sprintf("%s=%q is not true or false", name, v))
	return def
}

// Int reads a positive integer.
func (e *Env) Int(name string, def int) int {
	v := e.String(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		e.problems = append(e.problems, fmt.Sprintf("%s=%q is not a positive integer", name, v))
		return def
	}
	return n
}

// Err reports what was missing or malformed, in one line.
func (e *Env) Err() error {
	var parts []string
	if len(e.missing) == 1 {
		parts = append(parts, "missing required environment variable "+e.missing[0])
	} else if len(e.missing) > 1 {
		parts = append(parts, "missing required environment variables "+strings.Join(e.missing, ", "))
	}
	parts = append(parts, e.problems...)
	if needs := e.needsLine(); needs != "" {
		parts = append(parts, needs)
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(parts, "; "))
}

// Exit stops a program at start with its configuration problem.
func Exit(program string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
	os.Exit(2)
}

// Temporal is how to reach Temporal.
type Temporal struct {
	TaskQueue     string // cases, Akute's deliveries, and sends started before SendTaskQueue
	SendTaskQueue string // sends: their own queue, so that the starter can run them eagerly
	// Options are the client's, with the codec's converters; ClientOptions
	// adds the program's logger and metrics.
	Options client.Options
	Codec   *codec.Codec // encrypts every payload; the starter serves it to the Web UI
	// Identity is the OpenID Connect provider: with a client of the
	// program's own, Options present its tokens to Temporal.
	Identity Identity
	// clientCert is the mTLS client certificate, re-read when its files
	// change (nil: none, or given as data).
	clientCert *Certificate
}

// The default task queues.
const (
	DefaultTaskQueue     = "carebridge"
	DefaultSendTaskQueue = "carebridge-sends"
)

// LoadTemporal reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY
// (or CAREBRIDGE_OIDC_*: a client's tokens, identity.go),
// TEMPORAL_TLS_* (the SDK's own environment conventions, through its
// envconfig package, so Temporal Cloud and self-hosted clusters need no code
// change), CAREBRIDGE_TASK_QUEUE, CAREBRIDGE_SEND_TASK_QUEUE and
// CAREBRIDGE_CODEC_KEYS (required: no payload reaches Temporal in the clear).
// The connection must be TLS, but in development or with
// CAREBRIDGE_TEMPORAL_PLAINTEXT=loopback to a Temporal on loopback
// (security.go).
func (e *Env) LoadTemporal() Temporal {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{
		EnvLookup: envLookup{e},
	})
	if err != nil {
		e.problems = append(e.problems, "temporal client configuration: "+err.Error())
	}
	if opts.HostPort == "" {
		opts.HostPort = "127.0.0.1:7233"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	e.checkTemporal(opts)
	t := Temporal{
		TaskQueue:     e.String("CAREBRIDGE_TASK_QUEUE", DefaultTaskQueue),
		SendTaskQueue: e.String("CAREBRIDGE_SEND_TASK_QUEUE", DefaultSendTaskQueue),
		Options:       opts,
		Identity:      e.identity(),
	}
	if id := t.Identity; id.ClientID != "" {
		if opts.Credentials != nil {
			e.problems = append(e.problems, "TEMPORAL_API_KEY and CAREBRIDGE_OIDC_CLIENT_ID both name this program to Temporal: keep one")
		}
		// Every call to Temporal carries the client's access token, taken
		// from the provider and renewed before it expires.
		t.Options.Credentials = auth.ClientCredentials{Issuer: id.Issuer, ClientID: id.ClientID, ClientSecret: id.ClientSecret,
			Audience: id.Audience, HTTPClient: id.HTTPClient}.TemporalCredentials(context.Background())
	}
	if keys := e.Required("CAREBRIDGE_CODEC_KEYS"); keys != "" {
		c, err := codec.ParseKeys(keys)
		if err != nil {
			e.problems = append(e.problems, "CAREBRIDGE_CODEC_KEYS: "+err.Error())
		} else {
			t.Codec = c
			t.Options.DataConverter = c.DataConverter()
			t.Options.FailureConverter = c.FailureConverter()
		}
	}
	t.reloadClientCertificate(e)
	return t
}

// reloadClientCertificate serves the mTLS client certificate of
// TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH from its
// files, re-read when they change (the SDK's envconfig read them once), so
// that a rotated client certificate is presented at the next connection
// without a restart.
func (t *Temporal) reloadClientCertificate(e *Env) {
	conf := t.Options.ConnectionOptions.TLS
	if conf == nil || len(conf.Certificates) != 1 {
		return
	}
	certFile, _ := e.get("TEMPORAL_TLS_CLIENT_CERT_PATH")
	keyFile, _ := e.get("TEMPORAL_TLS_CLIENT_KEY_PATH")
	if certFile == "" || keyFile == "" {
		return // given as data: nothing to re-read
	}
	cert, err := LoadCertificate(certFile, keyFile)
	if err != nil {
		return // the SDK loaded it a moment ago; keep what it loaded
	}
	conf = conf.Clone()
	conf.Certificates = nil
	conf.GetClientCertificate = cert.GetClientCertificate
	t.Options.ConnectionOptions.TLS = conf
	t.clientCert = cert
}

// ClientOptions are the options to dial Temporal with, logging to logger
// and reporting the SDK's metrics to metrics.
func (t Temporal) ClientOptions(logger *slog.Logger, metrics client.MetricsHandler) client.Options {
	opts := t.Options
	if t.clientCert != nil {
		t.clientCert.SetLogger(logger)
	}
	opts.Logger = sdklog.NewStructuredLogger(logger)
	opts.MetricsHandler = metrics
	return opts
}

// envLookup gives the SDK's envconfig the same environment as the rest, and
// records what it looks up.
type envLookup struct{ env *Env }

func (l envLookup) LookupEnv(k string) (string, bool) { return l.env.get(k) }
func (l envLookup) Environ() []string                 { return l.env.environ() }

// Logger is carebridge's JSON logger on stderr.
func Logger(program string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("program", program)
}

// Healthcheck is the container health check of a program (its image has no
// shell and no curl): GET path on the program's own listener (addr, as
// HTTPAddr or MetricsAddr reads it), exit 0 on 200. With TLS on the
// listener it speaks TLS but does not verify the certificate: it calls its
// own process, whose certificate names the service, not 127.0.0.1, and it
// sends nothing secret and reads only the status.
func Healthcheck(addr, path string, overTLS bool) int {
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	c := http.Client{Timeout: 3 * time.Second}
	scheme := "http://"
	if overTLS {
		scheme = "https://"
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // see above
	}
	resp, err := c.Get(scheme + addr + path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "unhealthy: HTTP", resp.StatusCode)
		return 1
	}
	return 0
}
