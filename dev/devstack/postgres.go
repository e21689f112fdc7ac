package devstack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/carebridge/carebridge/workflows"
)

// The production topology, natively: Temporal's own server (the pinned
// `server` tool of tools/server/go.mod) with deploy/temporal/postgres.yaml, on a
// throwaway PostgreSQL cluster under the stack's data directory, listening
// on loopback only. Schemas are made by the pinned `sql` tool from the
// server module's own schema files; the namespace and carebridge's search
// attributes by the temporal CLI, as docker-compose.yml's setup does.
//
// Temporal's frontend requires TLS and a client certificate (mTLS), and its
// services speak mTLS to each other, with certificates of the stack's
// throwaway CA: the server's own (frontend, internode, its system worker),
// carebridge's (the worker and the starter: TEMPORAL_TLS_*), and an
// operator's (this package's clients, the temporal CLI, the tests'
// clients: ClientEnv, TemporalCLIArgs, TemporalClientOptions).
//
// Every request to the frontend carries a token of the topology's OpenID
// Connect provider too (signin.go): carebridge's programs their client
// credentials', the harness an admin's, people theirs (the Web UI's server,
// which runs here on its own, signs them in).

// ServerPostgres selects this topology in Options.Server.
const ServerPostgres = "postgres"

// Namespace is the namespace the topology registers (as the compose file's
// setup job does).
const Namespace = "default"

// pgUser is PostgreSQL's superuser in the throwaway cluster (trust
// authentication, loopback only).
const pgUser = "temporal"

type postgres struct {
	bin  string // PostgreSQL's programs
	dir  string // the cluster
	port int
	as   []string // runuser prefix when running as root
}

// findPostgres locates initdb and pg_ctl (Debian keeps them off PATH).
func findPostgres() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.Sort(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("devstack: PostgreSQL is not installed (apt-get install postgresql; make test-postgres does it)")
}

// startPostgres makes and starts the cluster. PostgreSQL refuses to run as
// root: as root, it runs as the postgres user the Debian package creates.
func (s *Stack) startPostgres(ctx context.Context) error {
	bin, err := findPostgres()
	if err != nil {
		return err
	}
	pg := &postgres{bin: bin, dir: filepath.Join(s.opts.DataDir, "postgres"), port: freePort()}
	if err := os.MkdirAll(pg.dir, 0o700); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("devstack: running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		// The data directory's parents must be reachable by that user.
		if err := os.Chmod(s.opts.DataDir, 0o755); err != nil {
			return err
		}
		if err := os.Chown(pg.dir, uid, gid); err != nil {
			return err
		}
		pg.as = []string{"runuser", "-u", "postgres", "--"}
	}
	s.pg = pg
	if err := pg.run(ctx, "initdb", "-D", pg.dir, "-U", pgUser, "--auth=trust", "--no-sync", "-E", "UTF8"); err != nil {
		return err
	}
	return s.StartPostgres()
}

func (pg *postgres) run(ctx context.Context, program string, args ...string) error {
	argv := append(append(slices.Clone(pg.as), filepath.Join(pg.bin, program)), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = pg.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("devstack: %s: %v\n%s", program, err, out)
	}
	return nil
}

// StartPostgres starts the stack's PostgreSQL (again) and waits until it
// accepts connections.
func (s *Stack) StartPostgres() error {
	pg := s.pg
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", pg.port, pg.dir)
	if !s.opts.DurablePostgres {
		opts += " -c fsync=off"
	}
	return pg.run(context.Background(), "pg_ctl", "-D", pg.dir, "-o", opts, "-l", filepath.Join(pg.dir, "log"), "-w", "-t", "60", "start")
}

// StopPostgres stops the stack's PostgreSQL at once (a crash, to the
// clients: open connections are cut).
func (s *Stack) StopPostgres() error {
	if s.pg == nil {
		return nil
	}
	return s.pg.run(context.Background(), "pg_ctl", "-D", s.pg.dir, "-m", "immediate", "-w", "stop")
}

// PostgresPID is the PostgreSQL server's main process (its postmaster;
// every backend is its child), or 0.
func (s *Stack) PostgresPID() int {
	if s.pg == nil {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(s.pg.dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// PostgresAddr is the stack's PostgreSQL, host:port.
func (s *Stack) PostgresAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.pg.port) }

// setupTemporalOnPostgres creates Temporal's databases and schemas with the
// pinned sql tool, as the compose file's temporal-schema job does.
func (s *Stack) setupTemporalOnPostgres(ctx context.Context) error {
	schema, err := s.goOutputIn(ctx, "tools/server", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/server")
	if err != nil {
		return err
	}
	sqlTool, err := s.goTool(ctx, "tools/server", "sql")
	if err != nil {
		return err
	}
	for db, dir := range map[string]string{"temporal": "temporal", "temporal_visibility": "visibility"} {
		common := []string{"--plugin", "postgres12", "--ep", "127.0.0.1", "-p", strconv.Itoa(s.pg.port), "-u", pgUser, "--db", db}
		for _, step := range [][]string{
			{"create-database"},
			{"setup-schema", "-v", "0.0"},
			{"update-schema", "-d", filepath.Join(schema, "schema", "postgresql", "v12", dir, "versioned")},
		} {
			cmd := exec.CommandContext(ctx, sqlTool, append(slices.Clone(common), step...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("devstack: temporal-sql-tool %s %s: %v\n%s", db, step[0], err, out)
			}
		}
	}
	return nil
}

// toolchains are the Go toolchains that tools/'s modules need beyond the
// machine's own: Temporal's server v1.32.2 and its UI server v2.58.1 need Go
// 1.26.10, which Go fetches through the module proxy as go1.27.3.
var toolchains = map[string]string{"tools/server": "go1.27.3", "tools/ui": "go1.27.3"}

// goOutputIn runs the go command in a module of the checkout (dir, relative)
// and returns what it printed (a tool's path, a module's directory).
func (s *Stack) goOutputIn(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Join(s.opts.RepoRoot, dir)
	cmd.Env = os.Environ()
	if tc := toolchains[dir]; tc != "" {
		cmd.Env = append(cmd.Env, "GOTOOLCHAIN="+tc)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("devstack: go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// startTemporalServer starts Temporal's server on the stack's PostgreSQL,
// then registers the namespace and the search attributes.
func (s *Stack) startTemporalServer(ctx context.Context) error {
	if err := s.startPostgres(ctx); err != nil {
		return err
	}
	if err := s.setupTemporalOnPostgres(ctx); err != nil {
		return err
	}
	// carebridge's build of Temporal's server (tools/server): the stock
	// server, with the audit trail on its authorizer.
	server, err := s.goTool(ctx, "tools/server", "server")
	if err != nil {
		return err
	}
	tlsEnv, err := s.temporalCertificates()
	if err != nil {
		return err
	}
	// The Web UI's server: its URL is the provider's redirect target.
	uiPort := s.opts.UIPort
	if uiPort == 0 {
		uiPort = freePort()
	}
	s.UIURL = fmt.Sprintf("https://127.0.0.1:%d", uiPort)
	if err := s.startIdentity(ctx, s.UIURL+"/auth/sso/callback"); err != nil {
		return err
	}
	env := map[string]string{
		"TEMPORAL_POSTGRES_ADDR": s.PostgresAddr(), "TEMPORAL_POSTGRES_USER": pgUser,
		"TEMPORAL_DYNAMIC_CONFIG": filepath.Join(s.opts.RepoRoot, "deploy", "temporal", "dynamicconfig.yaml"),
		// Tokens: the provider's keys and audience; its TLS is the stack's CA.
		"TEMPORAL_AUTH_JWKS_URL": s.idp.JWKSURL(), "TEMPORAL_AUTH_AUDIENCE": Audience, "SSL_CERT_FILE": s.ca.File,
		// Who changed which workflow, on carebridge's audit trail; the
		// programs' own allowed calls are theirs to record.
		"CAREBRIDGE_AUDIT_DIR": s.AuditDir(), "CAREBRIDGE_AUDIT_MACHINES": WorkerClient + "," + StarterClient,
	}
	maps.Copy(env, tlsEnv)
	s.temporalPath = server
	topology := singleServer
	if s.clustered() {
		topology = clusterMembers
		s.TemporalAddr = fmt.Sprintf("127.0.0.1:%d", freePort()) // the proxy's
	}
	s.members = s.serverMembers(topology, env)
	if s.clustered() {
		if err := s.startProxy(proxyConfig{TemporalListen: s.TemporalAddr, Frontends: s.frontends(),
			StarterListen: strings.TrimPrefix(s.StarterURL, "http://"), Starters: s.starterAddrs}); err != nil {
			return err
		}
	} else {
		s.TemporalAddr = s.members[0].frontend
	}
	s.TemporalMetricsURL = s.members[0].metrics
	if err := s.RestartTemporal(ctx); err != nil {
		return err
	}
	if err := s.registerNamespace(ctx); err != nil {
		return err
	}
	if err := s.waitSearchAttributesAccepted(ctx); err != nil {
		return err
	}
	if s.opts.Headless {
		s.UIURL = ""
		return nil
	}
	return s.startWebUI(ctx, uiPort)
}

// temporalCertificates issues the server's certificate (frontend and
// internode, for 127.0.0.1 and temporalServerName; it is its own services'
// client certificate too), carebridge's client certificate and an
// operator's, and returns the server's TEMPORAL_SERVER_TLS_* variables
// (deploy/temporal/postgres.yaml).
func (s *Stack) temporalCertificates() (map[string]string, error) {
	serverCert, serverKey, err := s.ca.Issue("temporal", BothUses, temporalServerName, "localhost", "127.0.0.1", "::1")
	if err != nil {
		return nil, err
	}
	programCert, programKey, err := s.ca.Issue("carebridge", ClientUse, "carebridge")
	if err != nil {
		return nil, err
	}
	operatorCert, operatorKey, err := s.ca.Issue("operator", ClientUse, "carebridge-operator")
	if err != nil {
		return nil, err
	}
	s.temporalTLS, err = s.ca.ClientTLS(operatorCert, operatorKey, temporalServerName)
	if err != nil {
		return nil, err
	}
	clientEnv := func(cert, key string) map[string]string {
		return map[string]string{
			"TEMPORAL_TLS_CLIENT_CERT_PATH": cert, "TEMPORAL_TLS_CLIENT_KEY_PATH": key,
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH": s.ca.File, "TEMPORAL_TLS_SERVER_NAME": temporalServerName,
		}
	}
	s.programTLS = clientEnv(programCert, programKey)
	maps.Copy(s.clientEnv, clientEnv(operatorCert, operatorKey))
	return map[string]string{
		"TEMPORAL_SERVER_TLS_CERT_FILE": serverCert, "TEMPORAL_SERVER_TLS_KEY_FILE": serverKey,
		"TEMPORAL_SERVER_TLS_CA_FILE": s.ca.File, "TEMPORAL_SERVER_TLS_CLIENT_CA_FILE": s.ca.File,
		"TEMPORAL_SERVER_TLS_SERVER_NAME": temporalServerName,
	}, nil
}

// waitSearchAttributesAccepted waits until the server accepts a start that
// carries every carebridge search attribute: its services cache the
// attributes (refreshed every minute, deploy/temporal/dynamicconfig.yaml),
// so attributes created a moment ago may still be refused. The probe run is
// terminated at once.
func (s *Stack) waitSearchAttributesAccepted(ctx context.Context) error {
	opts := s.TemporalClientOptions()
	opts.Namespace, opts.Logger = Namespace, quietLogger{}
	c, err := client.Dial(opts)
	if err != nil {
		return err
	}
	defer c.Close()
	var updates []temporal.SearchAttributeUpdate
	for name, typ := range workflows.SearchAttributes {
		if typ == "KeywordList" {
			updates = append(updates, temporal.NewSearchAttributeKeyKeywordList(name).ValueSet([]string{"probe"}))
		} else {
			updates = append(updates, temporal.NewSearchAttributeKeyKeyword(name).ValueSet("probe"))
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; ; i++ {
		id := fmt.Sprintf("devstack-search-attribute-probe-%d", i)
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "devstack-probe",
			TypedSearchAttributes: temporal.NewSearchAttributes(updates...)}, "devstack-probe")
		if err == nil {
			return c.TerminateWorkflow(ctx, id, "", "devstack: the search attributes are accepted")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devstack: the server does not accept carebridge's search attributes: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// registerNamespace creates the default namespace and carebridge's search
// attributes with the temporal CLI, retrying while the server settles.
func (s *Stack) registerNamespace(ctx context.Context) error {
	cli := s.cliPath
	attrs := []string{"operator", "search-attribute", "create", "--namespace", Namespace}
	for _, name := range slices.Sorted(maps.Keys(workflows.SearchAttributes)) {
		attrs = append(attrs, "--name", name, "--type", workflows.SearchAttributes[name])
	}
	for _, args := range [][]string{
		append([]string{"operator", "namespace", "create", "--namespace", Namespace, "--retention", "24h"}, s.TemporalCLIArgs()...),
		append(attrs, s.TemporalCLIArgs()...),
	} {
		deadline := time.Now().Add(90 * time.Second)
		for {
			out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
			if err == nil || strings.Contains(string(out), "already") {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("devstack: temporal %s: %v\n%s", strings.Join(args[:3], " "), err, out)
			}
			time.Sleep(time.Second)
		}
	}
	return nil
}

// sortedEnv is env as NAME=value lines, by name.
func sortedEnv(env map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
