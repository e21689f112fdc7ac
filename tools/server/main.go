// Command server is Temporal's server (go.temporal.io/server, the version
// this module pins) as carebridge runs it in production: the stock server's
// start, with one addition through Temporal's documented extension point
// (temporal.WithAuthorizer): every call that changes a workflow — a signal,
// an update, a terminate, a reset, a cancel, a batch operation, a start by
// hand — is recorded on carebridge's audit trail with the principal the
// authorizer verified, allowed or denied, whoever made it (the Web UI, the
// temporal CLI, an SDK). Temporal's own JWT claim mapper and default
// authorizer decide (deploy/temporal/postgres.yaml, "authorization").
//
//	server --root . --config deploy/temporal --env postgres start \
//	  --service frontend --service internal-frontend --service history --service matching --service worker
//
// CAREBRIDGE_AUDIT_DIR is the audit trail's directory (internal/audit);
// without it the server refuses to start, unless CAREBRIDGE_DEV=true.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/temporal"

	"github.com/carebridge/carebridge/internal/audit"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// services is the repeatable --service flag.
type services []string

func (s *services) String() string     { return strings.Join(*s, ",") }
func (s *services) Set(v string) error { *s = append(*s, v); return nil }

func run(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	root := fs.String("root", ".", "root directory of the configuration")
	configDir := fs.String("config", "config", "configuration directory, relative to --root")
	env := fs.String("env", "development", "configuration environment (<config>/<env>.yaml)")
	var start services
	fs.Var(&start, "service", "a service to start (repeat); default: frontend, history, matching, worker")
	// The stock server's form is `server [flags] start [--service ...]`.
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.Arg(0) != "start" {
		return fmt.Errorf("usage: server --root DIR --config DIR --env NAME start [--service NAME ...]")
	}
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return err
	}
	if len(start) == 0 {
		start = temporal.DefaultServices
	}
	cfg, err := config.Load(config.WithEnv(*env), config.WithConfigDir(filepath.Join(*root, *configDir)))
	if err != nil {
		return fmt.Errorf("loading the configuration: %w", err)
	}
	logger := log.NewZapLogger(log.BuildZapLogger(cfg.Log))

	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return fmt.Errorf("the authorizer: %w", err)
	}
	if authorization.IsNoopAuthorizer(authorizer) {
		return fmt.Errorf("global.authorization.authorizer is not set: carebridge's Temporal never runs open")
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return fmt.Errorf("the claim mapper: %w", err)
	}
	audienceMapper, err := authorization.GetAudienceMapperFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return fmt.Errorf("the audience mapper: %w", err)
	}
	trail, err := openTrail()
	if err != nil {
		return err
	}
	if trail != nil {
		defer trail.Close()
		machines := map[string]bool{}
		for _, m := range strings.Split(os.Getenv("CAREBRIDGE_AUDIT_MACHINES"), ",") {
			if m = strings.TrimSpace(m); m != "" {
				machines[m] = true
			}
		}
		authorizer = &auditing{next: authorizer, trail: trail, machines: machines, logger: logger}
	}

	s, err := temporal.NewServer(
		temporal.ForServices(start),
		temporal.WithConfig(cfg),
		temporal.WithLogger(logger),
		temporal.InterruptOn(temporal.InterruptCh()),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithAudienceGetter(func(*config.Config) authorization.JWTAudienceMapper { return audienceMapper }),
	)
	if err != nil {
		return fmt.Errorf("creating the server: %w", err)
	}
	return s.Start() // until SIGINT or SIGTERM
}

// openTrail opens CAREBRIDGE_AUDIT_DIR (retention CAREBRIDGE_AUDIT_RETENTION,
// six years by default), as carebridge's own programs do.
func openTrail() (*audit.Log, error) {
	dir := os.Getenv("CAREBRIDGE_AUDIT_DIR")
	if dir == "" {
		if os.Getenv("CAREBRIDGE_DEV") == "true" {
			fmt.Fprintln(os.Stderr, "server: development mode (CAREBRIDGE_DEV=true) without CAREBRIDGE_AUDIT_DIR: no audit trail of who changed which workflow; never run so in production")
			return nil, nil
		}
		return nil, fmt.Errorf("set CAREBRIDGE_AUDIT_DIR: the audit trail of who changed which workflow (or CAREBRIDGE_DEV=true, to develop)")
	}
	retention := audit.DefaultRetention
	if v := os.Getenv("CAREBRIDGE_AUDIT_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("CAREBRIDGE_AUDIT_RETENTION: want a duration such as 52584h")
		}
		retention = d
	}
	return audit.Open(dir, audit.Options{Retention: retention})
}
