package devstack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"text/template"
	"time"
)

// The production topology at scale, natively (make test-cluster): Temporal
// as a cluster of separate services on the same PostgreSQL as
// ServerPostgres, each service its own process of carebridge's build of the
// server with its own ports (deploy/temporal/postgres.yaml, the variables
// of one host): two frontends, two history hosts sharing the shards,
// matching, the internal frontend and the worker service, finding each
// other through Temporal's membership ring over loopback. Debian's nginx
// (deploy/nginx/carebridge.conf) is the one address of each tier: it
// passes TLS through to the frontends (mTLS stays end to end; a client
// whose frontend dies reconnects to the other) and proxies HTTP to two
// starters. Two starters, and Options.Workers workers.

// ServerCluster selects this topology in Options.Server.
const ServerCluster = "cluster"

// clusterStarters is how many starters run behind the proxy.
const clusterStarters = 2

// serverProcess is one process of Temporal's server: its name and its
// services.
type serverProcess struct {
	name     string
	services []string
}

// singleServer is ServerPostgres's Temporal: every service in one process.
var singleServer = []serverProcess{
	{"temporal", []string{"frontend", "internal-frontend", "history", "matching", "worker"}},
}

// clusterMembers are the cluster's server processes.
var clusterMembers = []serverProcess{
	{"temporal-frontend-1", []string{"frontend"}},
	{"temporal-frontend-2", []string{"frontend"}},
	{"temporal-internal-frontend", []string{"internal-frontend"}},
	{"temporal-history-1", []string{"history"}},
	{"temporal-history-2", []string{"history"}},
	{"temporal-matching", []string{"matching"}},
	{"temporal-worker", []string{"worker"}},
}

// member is one of the server's processes.
type member struct {
	name     string
	args     []string
	env      []string
	metrics  string // its Prometheus endpoint
	frontend string // its frontend's address, if it runs one
}

// clustered reports whether the stack runs Temporal as a cluster.
func (s *Stack) clustered() bool { return s.opts.Server == ServerCluster }

// serverPorts are one server process's ports, fresh: every service's gRPC
// and membership port and its metrics port (a process binds only its own
// services'). Membership ports are stored as PostgreSQL smallints: below
// 32768, as freePort's are.
func serverPorts() map[string]string {
	env := map[string]string{}
	for _, name := range []string{"TEMPORAL_FRONTEND_PORT", "TEMPORAL_FRONTEND_HTTP_PORT", "TEMPORAL_MATCHING_PORT",
		"TEMPORAL_HISTORY_PORT", "TEMPORAL_WORKER_PORT", "TEMPORAL_INTERNAL_FRONTEND_PORT", "TEMPORAL_METRICS_PORT",
		"TEMPORAL_FRONTEND_MEMBERSHIP_PORT", "TEMPORAL_MATCHING_MEMBERSHIP_PORT", "TEMPORAL_HISTORY_MEMBERSHIP_PORT",
		"TEMPORAL_WORKER_MEMBERSHIP_PORT", "TEMPORAL_INTERNAL_FRONTEND_MEMBERSHIP_PORT"} {
		env[name] = strconv.Itoa(freePort())
	}
	return env
}

// proxyConfig is what deploy/nginx/carebridge.conf is rendered with.
type proxyConfig struct {
	Dir            string   // pid file and temporary files
	StreamModule   string   // Debian's dynamic stream module, when nginx does not have it built in
	User           string   // the workers' user when nginx starts as root
	TemporalListen string   // clients' address of Temporal
	Frontends      []string // the frontends' gRPC addresses
	StarterListen  string   // the API's and webhooks' address
	Starters       []string // the starters' public listeners
}

// startProxy renders deploy/nginx/carebridge.conf and starts nginx.
func (s *Stack) startProxy(cfg proxyConfig) error {
	nginx, err := findNginx()
	if err != nil {
		return err
	}
	cfg.Dir = filepath.Join(s.opts.DataDir, "nginx")
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(streamModule); err == nil {
		cfg.StreamModule = streamModule
	}
	if os.Geteuid() == 0 {
		cfg.User = "root" // its workers write the temporary files under Dir
	}
	tmpl, err := template.ParseFiles(filepath.Join(s.opts.RepoRoot, "deploy", "nginx", "carebridge.conf"))
	if err != nil {
		return err
	}
	conf := filepath.Join(cfg.Dir, "nginx.conf")
	f, err := os.Create(conf)
	if err != nil {
		return err
	}
	err = tmpl.Execute(f, cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("devstack: rendering nginx's configuration: %w", err)
	}
	if out, err := exec.Command(nginx, "-t", "-q", "-e", "stderr", "-p", cfg.Dir, "-c", conf).CombinedOutput(); err != nil {
		return fmt.Errorf("devstack: nginx refuses its configuration: %v\n%s", err, out)
	}
	return s.spawn("nginx", nginx, []string{"-e", "stderr", "-p", cfg.Dir, "-c", conf}, os.Environ(), nil)
}

// streamModule is where Debian's libnginx-mod-stream puts nginx's TCP proxy.
const streamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

// findNginx locates Debian's nginx (in /usr/sbin, off a user's PATH).
func findNginx() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", errors.New("devstack: nginx is not installed (apt-get install nginx libnginx-mod-stream; make test-cluster does it)")
}

// serverMembers makes the server's processes from their common
// environment: each its own ports; in a cluster every one names the proxy
// as the cluster's address.
func (s *Stack) serverMembers(topology []serverProcess, common map[string]string) []member {
	var members []member
	for _, m := range topology {
		env := serverPorts()
		maps.Copy(env, common)
		if s.clustered() {
			env["TEMPORAL_CLUSTER_ADDRESS"] = s.TemporalAddr
		}
		args := []string{"--root", s.opts.RepoRoot, "--config", "deploy/temporal", "--env", "postgres", "start"}
		for _, svc := range m.services {
			args = append(args, "--service", svc)
		}
		var frontend string
		if slices.Contains(m.services, "frontend") {
			frontend = "127.0.0.1:" + env["TEMPORAL_FRONTEND_PORT"]
		}
		members = append(members, member{name: m.name, args: args, env: append(os.Environ(), sortedEnv(env)...),
			metrics: "http://127.0.0.1:" + env["TEMPORAL_METRICS_PORT"] + "/metrics", frontend: frontend})
	}
	return members
}

// frontends are the addresses of the server's frontends.
func (s *Stack) frontends() []string {
	var out []string
	for _, m := range s.members {
		if m.frontend != "" {
			out = append(out, m.frontend)
		}
	}
	return out
}

// TemporalMetricsURLs are the Prometheus endpoints of every one of the
// server's processes (one, or a cluster's members').
func (s *Stack) TemporalMetricsURLs() []string {
	var urls []string
	for _, m := range s.members {
		urls = append(urls, m.metrics)
	}
	return urls
}

// waitFrontends waits until every frontend accepts connections, each at
// its own address. A client keeps its one gRPC connection for as long as it
// lives, and the proxy balances connections, not calls: a program that
// connected while a frontend was still starting would have all its calls
// on the other.
func (s *Stack) waitFrontends(ctx context.Context) error {
	for _, addr := range s.frontends() {
		deadline := time.Now().Add(60 * time.Second)
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("devstack: the frontend at %s does not accept connections: %w", addr, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// TemporalProcesses are the names of the Temporal server's processes:
// "temporal", or the cluster's members.
func (s *Stack) TemporalProcesses() []string {
	var names []string
	for _, m := range s.members {
		names = append(names, m.name)
	}
	return names
}

// TemporalMetricsURLOf is one of the server's processes' Prometheus
// endpoint, or "".
func (s *Stack) TemporalMetricsURLOf(name string) string {
	for _, m := range s.members {
		if m.name == name {
			return m.metrics
		}
	}
	return ""
}

// StarterInternalURLs are every starter's internal listener (codec,
// metrics, readiness): InternalURL, and in a cluster the second starter's.
func (s *Stack) StarterInternalURLs() []string {
	var urls []string
	for _, addr := range s.internalAddrs {
		urls = append(urls, s.scheme()+"://"+addr)
	}
	return urls
}

// starterNames are the starters' process names: "starter", "starter-2", ...
func (s *Stack) starterNames() []string {
	names := []string{"starter"}
	for i := 2; i <= len(s.starterAddrs); i++ {
		names = append(names, fmt.Sprintf("starter-%d", i))
	}
	return names
}
