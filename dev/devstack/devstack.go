// Package devstack starts carebridge's whole development stack as separate
// processes, as an operator would run them: the Temporal dev server (the
// pinned CLI of tools/go.mod), the sandbox, the worker and the starter.
// `make run`, the integration tests, the fault suite, the UI test, the
// benchmark and the history recorder use it.
//
// The worker and the starter run in development mode (CAREBRIDGE_DEV=true:
// open, plain HTTP, loopback only) unless the caller asks for production
// mode (Options.Production): then their listeners serve TLS from a throwaway
// CA's certificates and they need their credentials. With ServerPostgres,
// Temporal's frontend requires TLS and client certificates (mTLS) in either
// mode, and every client of it here presents one.
package devstack

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/carebridge/carebridge/dev/identity"
	"github.com/carebridge/carebridge/internal/codec"
	"github.com/carebridge/carebridge/workflows"
)

// Options configures a Stack. Zero ports pick free ones.
type Options struct {
	RepoRoot     string            // the carebridge checkout
	DataDir      string            // Temporal's state file and the binaries live here
	TemporalPort int               // gRPC frontend
	UIPort       int               // Web UI; zero with Headless
	Headless     bool              // no Web UI (tests)
	StarterPort  int               // the starter's HTTP API
	InternalPort int               // the starter's internal listener
	SandboxPort  int               // the sandbox's one listener
	Env          map[string]string // extra environment for worker and starter
	SandboxArgs  []string          // extra flags for the sandbox
	// KeepUpstreamEnv leaves an upstream whose URL is already in the
	// environment (ALLEVIATE_BASE_URL, say) pointed there, with its own
	// credentials; the sandbox serves the rest.
	KeepUpstreamEnv bool
	Logs            io.Writer // every process's output, prefixed; nil discards
	Untuned         bool      // the dev server's defaults (benchmark comparisons)
	// Server is "" for the temporal CLI's dev server, ServerPostgres for
	// Temporal's own server on PostgreSQL (postgres.go), or ServerCluster
	// for it as a cluster of separate services behind nginx, with two
	// starters (cluster.go).
	Server string
	// Workers is how many worker processes run (default 1): "worker",
	// "worker-2", ...
	Workers int
	// Production runs the worker and the starter in production mode
	// (CAREBRIDGE_DEV=false): their listeners serve TLS with a certificate
	// of the stack's throwaway CA (StarterURL, InternalURL and
	// WorkerMetricsURL are https; HTTPClient trusts the CA), and the
	// starter needs its credentials from Env (CAREBRIDGE_API_KEYS or
	// CAREBRIDGE_API_TOKENS, CAREBRIDGE_CODEC_AUTH_TOKEN). Without it they
	// run in development mode (CAREBRIDGE_DEV=true).
	Production bool
	// DurablePostgres runs the ServerPostgres topology's PostgreSQL with
	// Debian's durability (fsync and synchronous_commit on): a commit is on
	// disk before Temporal is told. Without it fsync is off, which keeps the
	// tests fast and loses nothing unless the machine itself stops.
	DurablePostgres bool
}

// temporalServerName is the name Temporal's certificate carries, and the
// one its clients verify (TEMPORAL_TLS_SERVER_NAME).
const temporalServerName = "temporal.carebridge.test"

// Stack is a running stack.
type Stack struct {
	opts         Options
	bin          string    // worker, starter and sandbox binaries
	cliPath      string    // the pinned temporal CLI, in Go's build cache
	temporalPath string    // the Temporal server's program: the CLI (dev server) or the server tool
	members      []member  // its processes: "temporal", or the cluster's (cluster.go)
	pg           *postgres // with ServerPostgres or ServerCluster
	// TemporalAddr is where clients reach Temporal: its frontend, or the
	// cluster's proxy.
	TemporalAddr string
	// TemporalMetricsURL is the Temporal server's Prometheus endpoint (the
	// first member's, in a cluster; TemporalMetricsURLs has every member's).
	TemporalMetricsURL string
	UIURL              string
	StarterURL         string // the public listener: API and webhooks (the proxy's, in a cluster)
	InternalURL        string // the (first) starter's internal listener: codec, metrics, readiness
	starterAddrs       []string
	internalAddrs      []string // the starters' own listeners, host:port
	SandboxURL         string
	// WorkerMetricsURL is the worker's Prometheus endpoint.
	WorkerMetricsURL string
	env              []string          // the worker's and starter's environment
	given            map[string]string // what the stack set in it

	ca          *CA               // with Production or ServerPostgres
	httpClient  *http.Client      // trusts ca
	temporalTLS *tls.Config       // the harness's own client of Temporal (an operator's certificate); nil: plaintext
	programTLS  map[string]string // TEMPORAL_TLS_* of the worker and the starter (their client certificate)
	clientEnv   map[string]string // what a client process of the stack needs (ClientEnv)

	// With ServerPostgres (signin.go): the OpenID Connect provider, its
	// clients' secrets and the harness's admin token.
	idp        *identity.Provider
	secrets    map[string]string
	adminToken string

	mu    sync.Mutex
	procs map[string]*process
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited

	mu   sync.Mutex
	last string // its last line of output
}

func (p *process) lastLine() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// Start builds and starts everything and waits until each part answers.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.DataDir == "" {
		return nil, errors.New("devstack: DataDir is required")
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, err
	}
	s := &Stack{opts: opts, bin: filepath.Join(opts.DataDir, "bin"), procs: map[string]*process{},
		httpClient: &http.Client{Timeout: 5 * time.Second}, clientEnv: map[string]string{}}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	if opts.Production && opts.Server == ServerCluster {
		return nil, errors.New("devstack: the cluster runs the programs in development mode (its proxy speaks HTTP to the starters)")
	}
	if opts.Production || opts.Server == ServerPostgres || opts.Server == ServerCluster {
		ca, err := NewCA(filepath.Join(opts.DataDir, "tls"))
		if err != nil {
			return nil, err
		}
		s.ca = ca
		s.httpClient.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}
	}
	if err := s.build(ctx); err != nil {
		return nil, err
	}
	scheme := s.scheme()
	if opts.Production {
		s.clientEnv["SSL_CERT_FILE"] = s.ca.File // Go's programs (the sandbox, the CLI's codec calls) trust the CA
	}
	starterPort := opts.StarterPort
	if starterPort == 0 {
		starterPort = freePort()
	}
	s.StarterURL = fmt.Sprintf("%s://127.0.0.1:%d", scheme, starterPort)
	internalPort := opts.InternalPort
	if internalPort == 0 {
		internalPort = freePort()
	}
	s.InternalURL = fmt.Sprintf("%s://127.0.0.1:%d", scheme, internalPort)
	s.starterAddrs = []string{fmt.Sprintf("127.0.0.1:%d", starterPort)}
	s.internalAddrs = []string{fmt.Sprintf("127.0.0.1:%d", internalPort)}
	if s.clustered() {
		// The proxy serves StarterURL; the starters listen on ports of
		// their own.
		s.starterAddrs = nil
		for range clusterStarters {
			s.starterAddrs = append(s.starterAddrs, fmt.Sprintf("127.0.0.1:%d", freePort()))
		}
		for range clusterStarters - 1 {
			s.internalAddrs = append(s.internalAddrs, fmt.Sprintf("127.0.0.1:%d", freePort()))
		}
	}
	if err := s.startTemporal(ctx); err != nil {
		return nil, err
	}
	env := map[string]string{}
	sandboxEnv, err := s.startSandbox(ctx)
	if err != nil {
		return nil, err
	}
	for k, v := range sandboxEnv {
		// make run: a variable set in the environment wins over the
		// sandbox's, and an upstream whose URL is set keeps its own
		// credentials (the sandbox's key would not open it).
		if opts.KeepUpstreamEnv && (os.Getenv(k) != "" || upstreamConfigured(k)) {
			continue
		}
		env[k] = v
	}
	// Production: the listeners' certificate (a caller's own wins), and
	// Temporal's dev server said to be on loopback, in plaintext.
	if opts.Production {
		cert, key, err := s.ca.Issue("listeners", ServerUse, "localhost", "127.0.0.1", "::1")
		if err != nil {
			return nil, err
		}
		env["CAREBRIDGE_TLS_CERT_FILE"], env["CAREBRIDGE_TLS_KEY_FILE"] = cert, key
		if opts.Server != ServerPostgres {
			env["CAREBRIDGE_TEMPORAL_PLAINTEXT"] = "loopback"
		}
	}
	maps.Copy(env, s.programTLS) // mTLS to Temporal's server
	maps.Copy(env, opts.Env)
	env["TEMPORAL_ADDRESS"] = s.TemporalAddr
	env["CAREBRIDGE_HTTP_ADDR"] = s.starterAddrs[0]
	env["CAREBRIDGE_INTERNAL_ADDR"] = s.internalAddrs[0]
	env["CAREBRIDGE_DEV"] = fmt.Sprint(!opts.Production)
	metricsPort := freePort()
	env["CAREBRIDGE_METRICS_ADDR"] = fmt.Sprintf("127.0.0.1:%d", metricsPort)
	s.WorkerMetricsURL = fmt.Sprintf("%s://127.0.0.1:%d/metrics", scheme, metricsPort)
	// Development encrypts as production does, with keys made once and kept
	// beside Temporal's state (an environment's own keys win).
	for name, newValue := range map[string]func() string{
		"CAREBRIDGE_CODEC_KEYS":      func() string { return codec.NewKey("dev1") },
		"CAREBRIDGE_SEARCH_HASH_KEY": func() string { return rand.Text() },
	} {
		if _, set := env[name]; set || os.Getenv(name) != "" {
			continue
		}
		v, err := devSecret(filepath.Join(opts.DataDir, strings.ToLower(name)), newValue)
		if err != nil {
			return nil, err
		}
		env[name] = v
	}
	if _, set := env["CAREBRIDGE_CODEC_CORS_ORIGINS"]; !set && s.UIURL != "" && os.Getenv("CAREBRIDGE_CODEC_CORS_ORIGINS") == "" {
		// The Web UI decrypts in the browser, from its own origin.
		env["CAREBRIDGE_CODEC_CORS_ORIGINS"] = s.UIURL + "," + strings.Replace(s.UIURL, "127.0.0.1", "localhost", 1)
	}
	if _, set := env["CAREBRIDGE_AUDIT_DIR"]; !set && os.Getenv("CAREBRIDGE_AUDIT_DIR") == "" {
		env["CAREBRIDGE_AUDIT_DIR"] = s.AuditDir() // make run's trail: beside Temporal's state
	}
	s.given = env
	s.env = os.Environ()
	for k, v := range env {
		s.env = append(s.env, k+"="+v)
	}
	if err := s.StartWorker(); err != nil {
		return nil, err
	}
	// The worker serves its metrics once it has read its configuration and
	// reached Temporal: one that stops at start is named at once.
	if err := s.waitHealthy(ctx, "worker", s.WorkerMetricsURL); err != nil {
		return nil, err
	}
	for _, name := range s.workerNames()[1:] {
		// Each worker its own metrics port.
		env := append(slices.Clone(s.env), "CAREBRIDGE_METRICS_ADDR=127.0.0.1:0")
		env = append(env, s.programIdentity(WorkerClient)...)
		if err := s.spawn(name, filepath.Join(s.bin, "worker"), nil, env, nil); err != nil {
			return nil, err
		}
	}
	for i := range s.starterAddrs {
		if err := s.startStarter(ctx, i); err != nil {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// build compiles the three programs and the pinned temporal CLI. The CLI's
// first build takes minutes; later ones come from Go's build cache.
func (s *Stack) build(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(s.opts.RepoRoot, "tools", "go.mod")); err != nil {
		return fmt.Errorf("devstack: %s is not a carebridge checkout: %w", s.opts.RepoRoot, err)
	}
	s.logf("devstack", "building worker, starter, sandbox and the temporal CLI (the CLI's first build takes a few minutes)")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", s.bin+string(os.PathSeparator), "./worker", "./starter", "./cmd/sandbox")
	cmd.Dir = s.opts.RepoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("devstack: go build: %v\n%s", err, out)
	}
	cli, err := s.goTool(ctx, "tools", "temporal")
	if err != nil {
		return err
	}
	s.cliPath = cli
	s.temporalPath = s.cliPath
	return nil
}

func (s *Stack) startTemporal(ctx context.Context) error {
	switch s.opts.Server {
	case ServerPostgres, ServerCluster:
		return s.startTemporalServer(ctx)
	case "":
	default:
		return fmt.Errorf("devstack: unknown server %q (want %q or %q)", s.opts.Server, ServerPostgres, ServerCluster)
	}
	port := s.opts.TemporalPort
	if port == 0 {
		port = freePort()
	}
	s.TemporalAddr = fmt.Sprintf("127.0.0.1:%d", port)
	metricsPort := freePort()
	s.TemporalMetricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", fmt.Sprint(port), "--metrics-port", fmt.Sprint(metricsPort),
		"--db-filename", filepath.Join(s.opts.DataDir, "temporal.db"),
		"--log-level", "warn",
	}
	if !s.opts.Untuned {
		args = append(args, devServerTuning...)
	}
	for _, name := range slices.Sorted(maps.Keys(workflows.SearchAttributes)) {
		args = append(args, "--search-attribute", name+"="+workflows.SearchAttributes[name])
	}
	if s.opts.Headless {
		args = append(args, "--headless")
	} else {
		ui := s.opts.UIPort
		if ui == 0 {
			ui = freePort()
		}
		args = append(args, "--ui-port", fmt.Sprint(ui), "--ui-codec-endpoint", s.InternalURL+"/codec")
		s.UIURL = fmt.Sprintf("http://127.0.0.1:%d", ui)
	}
	s.members = []member{{name: "temporal", args: args, env: os.Environ(), metrics: s.TemporalMetricsURL}}
	return s.RestartTemporal(ctx)
}

// RestartTemporal starts Temporal's processes again on the same state and
// ports (after Signal("temporal", …)) and waits until it answers.
//
// In a cluster the first member starts alone, and is waited for at its own
// address: each process writes the cluster's metadata into a new database
// at its start, and several at once fail ("failed to initialize current
// cluster metadata"). Then the rest, and every frontend waited for before
// anything connects through the proxy: a frontend the proxy found down is
// skipped for a while, and a client keeps the one connection it got.
func (s *Stack) RestartTemporal(ctx context.Context) error {
	for i, m := range s.members {
		if s.PID(m.name) != 0 {
			continue // still running (a cluster member that was not stopped)
		}
		if err := s.spawn(m.name, s.temporalPath, m.args, m.env, nil); err != nil {
			return err
		}
		if i == 0 && s.clustered() {
			if err := s.waitTemporalAt(ctx, m.frontend, 60*time.Second); err != nil {
				return err
			}
		}
	}
	if err := s.waitFrontends(ctx); err != nil {
		return err
	}
	return s.WaitTemporal(ctx, 60*time.Second)
}

// WaitTemporal waits until the Temporal server answers health checks.
func (s *Stack) WaitTemporal(ctx context.Context, limit time.Duration) error {
	return s.waitTemporalAt(ctx, s.TemporalAddr, limit)
}

// waitTemporalAt waits until a frontend at addr answers.
func (s *Stack) waitTemporalAt(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		opts := s.TemporalClientOptions()
		opts.HostPort, opts.Logger = addr, quietLogger{}
		c, err := client.Dial(opts)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devstack: the temporal server is not ready after %s: %w", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// startSandbox starts the sandbox and reads the environment it prints.
func (s *Stack) startSandbox(ctx context.Context) (map[string]string, error) {
	port := s.opts.SandboxPort
	if port == 0 {
		port = freePort()
	}
	lines := make(chan string, 16)
	args := append([]string{"-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"-akute-webhook-url", s.StarterURL + "/webhooks/akute"}, s.opts.SandboxArgs...)
	sandboxEnv := os.Environ()
	if cas := s.clientEnv["SSL_CERT_FILE"]; cas != "" {
		sandboxEnv = append(sandboxEnv, "SSL_CERT_FILE="+cas) // its Akute posts webhooks to the starter's TLS listener
	}
	if err := s.spawn("sandbox", filepath.Join(s.bin, "sandbox"), args, sandboxEnv, lines); err != nil {
		return nil, err
	}
	s.SandboxURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	env := map[string]string{}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return nil, errors.New("devstack: the sandbox exited at start")
			}
			if line == "READY" {
				return env, nil
			}
			if k, v, found := strings.Cut(line, "="); found && strings.ToUpper(k) == k {
				env[k] = v
			}
		case <-timeout:
			return nil, errors.New("devstack: the sandbox did not start within 30s")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// SetEnv changes a variable for the worker and starter started after it
// (a key rotation, say).
func (s *Stack) SetEnv(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.given[name] = value
	s.env = append(s.env, name+"="+value) // the last one wins
}

// Env is a variable the stack gave the worker and the starter.
func (s *Stack) Env(name string) string { return s.given[name] }

// TemporalCLI is the path of the pinned temporal CLI. With ServerPostgres
// it needs ClientEnv's variables (or TemporalCLIArgs) to connect.
func (s *Stack) TemporalCLI() string { return s.cliPath }

// ClientEnv is what a client process of the stack needs in its environment
// (the temporal CLI, a test's own HTTP calls): with ServerPostgres the
// TEMPORAL_TLS_* of an operator's client certificate, which the CLI and the
// SDK's envconfig read; in production mode SSL_CERT_FILE, the CA that
// signed the listeners' certificate. Empty for the dev server in
// development mode. A test's TestMain sets them in its own environment.
func (s *Stack) ClientEnv() map[string]string { return maps.Clone(s.clientEnv) }

// TemporalCLIArgs are the temporal CLI's flags to reach the stack's server:
// --address, and with ServerPostgres the --tls-* flags of an operator's
// client certificate and --api-key with an admin's token (an hour's).
func (s *Stack) TemporalCLIArgs() []string {
	args := []string{"--address", s.TemporalAddr}
	if s.temporalTLS != nil {
		args = append(args, "--tls-cert-path", s.clientEnv["TEMPORAL_TLS_CLIENT_CERT_PATH"],
			"--tls-key-path", s.clientEnv["TEMPORAL_TLS_CLIENT_KEY_PATH"],
			"--tls-ca-path", s.ca.File, "--tls-server-name", temporalServerName)
	}
	if s.adminToken != "" {
		args = append(args, "--api-key", s.adminToken)
	}
	return args
}

// TemporalClientOptions are the options of an SDK client of the stack's
// server: its address, and with ServerPostgres TLS with an operator's client
// certificate and an admin's tokens, renewed as they expire.
func (s *Stack) TemporalClientOptions() client.Options {
	opts := client.Options{HostPort: s.TemporalAddr}
	if s.temporalTLS != nil {
		opts.ConnectionOptions.TLS = s.temporalTLS.Clone()
	}
	if s.idp != nil {
		opts.Credentials = s.adminCredentials().TemporalCredentials(context.Background())
	}
	return opts
}

// CodecClientOptions are TemporalClientOptions that read and write
// payloads through the programs' codec, as an operator's decoding client
// does.
func (s *Stack) CodecClientOptions() (client.Options, error) {
	keys, err := codec.ParseKeys(s.Env("CAREBRIDGE_CODEC_KEYS"))
	if err != nil {
		return client.Options{}, err
	}
	opts := s.TemporalClientOptions()
	opts.DataConverter, opts.FailureConverter = keys.DataConverter(), keys.FailureConverter()
	return opts, nil
}

// Dial is the harness's own client of the stack's Temporal, with
// CodecClientOptions.
func (s *Stack) Dial() (client.Client, error) {
	opts, err := s.CodecClientOptions()
	if err != nil {
		return nil, err
	}
	return client.Dial(opts)
}

// HTTPClient is a client of the stack's listeners: it trusts the stack's
// CA (production mode's TLS).
func (s *Stack) HTTPClient() *http.Client { return s.httpClient }

// AuditDir is the audit trail the stack's programs (and with ServerPostgres
// Temporal's server) keep: who read patient data, who changed what.
func (s *Stack) AuditDir() string { return filepath.Join(s.opts.DataDir, "audit") }

// CA is the stack's throwaway CA, or nil (the dev server in development
// mode).
func (s *Stack) CA() *CA { return s.ca }

// PID is a running process's id, or 0.
func (s *Stack) PID(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.procs[name]; p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// PIDs are the running processes' ids by name ("temporal", "worker",
// "starter", "sandbox", ...).
func (s *Stack) PIDs() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for name, p := range s.procs {
		out[name] = p.cmd.Process.Pid
	}
	return out
}

// Bin is the directory holding the worker, starter and sandbox binaries.
func (s *Stack) Bin() string { return s.bin }

// workerNames are the worker processes' names: "worker", "worker-2", ...
func (s *Stack) workerNames() []string {
	names := []string{"worker"}
	for i := 2; i <= s.opts.Workers; i++ {
		names = append(names, fmt.Sprintf("worker-%d", i))
	}
	return names
}

// StartWorker starts (or restarts) the worker.
func (s *Stack) StartWorker() error {
	return s.spawn("worker", filepath.Join(s.bin, "worker"), nil, append(slices.Clone(s.env), s.programIdentity(WorkerClient)...), nil)
}

// StartStarter starts (or restarts) the (first) starter and waits for
// /healthz.
func (s *Stack) StartStarter(ctx context.Context) error { return s.startStarter(ctx, 0) }

// startStarter starts starter i ("starter", "starter-2", ...) on its own
// listeners and waits for /healthz.
func (s *Stack) startStarter(ctx context.Context, i int) error {
	name, addr := s.starterNames()[i], s.starterAddrs[i]
	env := append(slices.Clone(s.env), "CAREBRIDGE_HTTP_ADDR="+addr, "CAREBRIDGE_INTERNAL_ADDR="+s.internalAddrs[i])
	env = append(env, s.programIdentity(StarterClient)...)
	if err := s.spawn(name, filepath.Join(s.bin, "starter"), nil, env, nil); err != nil {
		return err
	}
	return s.waitHealthy(ctx, name, s.scheme()+"://"+addr+"/healthz")
}

// scheme is the programs' listeners' scheme.
func (s *Stack) scheme() string {
	if s.opts.Production {
		return "https"
	}
	return "http"
}

// waitHealthy waits until url answers 200 (a program's health), failing at
// once, with its last line, if any process exits meanwhile.
func (s *Stack) waitHealthy(ctx context.Context, name, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := s.exitedAtStart(); err != nil {
			return err
		}
		resp, err := s.httpClient.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s.exitedAtStart()
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devstack: the %s did not answer %s within 30s", name, url)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// exitedAtStart names a process that has already exited, with its last
// line (a configuration problem, say), so that a start fails at once
// instead of waiting for a health check.
func (s *Stack) exitedAtStart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(s.procs)) {
		p := s.procs[name]
		select {
		case <-p.done:
			return fmt.Errorf("devstack: the %s exited at start: %s", name, p.lastLine())
		default:
		}
	}
	return nil
}

// Signal sends sig to one process (SIGKILL for a crash, SIGTERM for a stop)
// and waits for it to exit.
func (s *Stack) Signal(name string, sig syscall.Signal) {
	s.mu.Lock()
	p := s.procs[name]
	delete(s.procs, name)
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Stop stops every process: the starter first, Temporal (and its
// PostgreSQL) last.
func (s *Stack) Stop() {
	names := append(append([]string{"webui"}, s.starterNames()...), s.workerNames()...)
	names = append(append(names, "sandbox", "nginx"), s.TemporalProcesses()...)
	for _, name := range names {
		s.Signal(name, syscall.SIGTERM)
	}
	if s.idp != nil {
		s.idp.Stop()
	}
	if s.pg != nil {
		_ = s.StopPostgres()
	}
}

// LastLine is a process's last line of output.
func (s *Stack) LastLine(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.procs[name]; p != nil {
		return p.lastLine()
	}
	return ""
}

// Wait blocks until any process exits and names it.
func (s *Stack) Wait() string {
	s.mu.Lock()
	exited := make(chan string, len(s.procs))
	for name, p := range s.procs {
		go func() { <-p.done; exited <- name }()
	}
	s.mu.Unlock()
	return <-exited
}

func (s *Stack) spawn(name, path string, args, env []string, lines chan<- string) error {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stop its children with it
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("devstack: starting %s: %w", name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer func() { _ = cmd.Wait() }()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if lines != nil {
				select {
				case lines <- sc.Text():
				default:
				}
			}
			s.logf(name, "%s", sc.Text())
			p.mu.Lock()
			p.last = sc.Text()
			p.mu.Unlock()
		}
		if lines != nil {
			close(lines)
		}
	}()
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	return nil
}

func (s *Stack) logf(name, format string, args ...any) {
	if s.opts.Logs == nil {
		return
	}
	fmt.Fprintf(s.opts.Logs, "%-8s | %s\n", name, fmt.Sprintf(format, args...))
}

// devSecret reads a development secret from path, making it once.
func devSecret(path string, newValue func() string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	v := newValue()
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("devstack: writing %s: %w", path, err)
	}
	return v, nil
}

// devServerTuning makes the dev server answer as fast as carebridge needs
// (BENCHMARKS.md says what each bought): one task queue partition, so a
// task never waits for a poller on another partition; eager workflow start
// (the server's default, said outright); the search-attribute cache used
// as production uses it (the CLI's dev server reads the attributes from
// its database on every start and upsert, six reads a send; carebridge's
// are registered with the server's start, before anything runs); 500
// visibility queries a second, not 10 (each Akute delivery makes one, as
// deploy/temporal/dynamicconfig.yaml says); SQLite in
// WAL mode without a sync per commit, which keeps state across restarts of
// the process (not of the machine).
var devServerTuning = []string{
	"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
	"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
	"--dynamic-config-value", "system.enableEagerWorkflowStart=true",
	"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=false",
	"--dynamic-config-value", "frontend.namespaceRPS.visibility=500",
	"--sqlite-pragma", "journal_mode=wal",
	"--sqlite-pragma", "synchronous=normal",
}

// upstreamConfigured reports whether the environment already points the
// upstream of a variable (ALLEVIATE_API_KEY: Alleviate) somewhere: a variable
// with the same prefix ending in _URL is set.
func upstreamConfigured(name string) bool {
	prefix, _, _ := strings.Cut(name, "_")
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, prefix+"_") && strings.HasSuffix(k, "_URL") && v != "" {
			return true
		}
	}
	return false
}

type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
