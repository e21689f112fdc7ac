package devstack

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/dev/identity"
	"github.com/carebridge/carebridge/internal/auth"
)

// Who may get in, in the production topology: a real OpenID Connect
// provider (dev/oidc, npm's certified oidc-provider) issues every token;
// Temporal's server verifies them against its keys (deploy/temporal/
// postgres.yaml), and so do carebridge's API and codec endpoint. People sign
// in with the authorization-code flow (the Web UI); machines use client
// credentials.

// Audience is the aud of every token of the topology's provider: Temporal,
// carebridge's API and its codec endpoint accept only that one, because the
// Web UI hands one person's token to all three.
const Audience = "urn:carebridge"

// The people of the topology's provider (docs/security.md, "Who may do
// what"): an operator steers cases, a reader only looks.
// Both hold temporal-system:read too: the Web UI lists the namespaces and
// reads the cluster's information, which Temporal's authorizer grants on
// the system namespace's role (which reads every namespace).
const (
	Operator = "olivia" // default:read, default:write, temporal-system:read
	Reader   = "rhea"   // default:read, temporal-system:read
)

// The machines: carebridge's worker and starter, the Web UI's server (a
// confidential client that signs people in), and the harness's own admin
// (it registers the namespace and search attributes, as a clinic's setup
// job does).
const (
	WorkerClient  = "carebridge-worker"
	StarterClient = "carebridge-starter"
	AdminClient   = "carebridge-admin"
	UIClient      = "temporal-ui"
)

// tokenLifetime is long enough for any test: the harness takes its admin
// token once, for the temporal CLI's --api-key.
const tokenLifetime = time.Hour

// startIdentity starts the provider over TLS with the stack's CA, its
// clients' secrets made here. uiCallback is the Web UI server's callback.
func (s *Stack) startIdentity(ctx context.Context, uiCallback string) error {
	cert, key, err := s.ca.Issue("oidc", ServerUse, "127.0.0.1", "localhost")
	if err != nil {
		return err
	}
	s.secrets = map[string]string{}
	for _, c := range []string{WorkerClient, StarterClient, AdminClient, UIClient} {
		s.secrets[c] = rand.Text()
	}
	idp, err := identity.Start(ctx, identity.Options{
		Dir: filepath.Join(s.opts.DataDir, "oidc"), Audience: Audience, AccessTokenTTL: tokenLifetime,
		TLSCertFile: cert, TLSKeyFile: key, CAFile: s.ca.File,
		Users: map[string]identity.User{
			Operator: {Name: "Olivia Operator", Permissions: []string{"default:read", "default:write", "temporal-system:read"}},
			Reader:   {Name: "Rhea Reader", Permissions: []string{"default:read", "temporal-system:read"}},
		},
		Clients: []identity.Client{
			{ID: WorkerClient, Secret: s.secrets[WorkerClient], Permissions: []string{"default:write"}},
			{ID: StarterClient, Secret: s.secrets[StarterClient], Permissions: []string{"default:write"}},
			{ID: AdminClient, Secret: s.secrets[AdminClient], Permissions: []string{"temporal-system:admin"}},
			{ID: UIClient, Secret: s.secrets[UIClient], RedirectURIs: []string{uiCallback}},
		},
		Log: prefixed{s, "oidc"},
	})
	if err != nil {
		return err
	}
	s.idp = idp
	if s.adminToken, err = idp.ClientToken(ctx, AdminClient); err != nil {
		return err
	}
	// The temporal CLI (and an SDK's envconfig) started by a test reads it.
	s.clientEnv["TEMPORAL_API_KEY"] = s.adminToken
	return nil
}

// Identity is the production topology's provider (nil on the dev server).
func (s *Stack) Identity() *identity.Provider { return s.idp }

// ClientSecret is the secret of one of the provider's clients (the tests
// take machine tokens with it).
func (s *Stack) ClientSecret(client string) string { return s.secrets[client] }

// programIdentity is the environment that names a program to Temporal and
// lets it verify people's tokens: its own client's credentials, the
// provider and the audience.
func (s *Stack) programIdentity(client string) []string {
	if s.idp == nil {
		return nil
	}
	return []string{
		"TEMPORAL_API_KEY=", // not the harness's admin token, which a test's environment holds
		"CAREBRIDGE_OIDC_ISSUER=" + s.idp.Issuer(), "CAREBRIDGE_OIDC_AUDIENCE=" + Audience,
		"CAREBRIDGE_OIDC_CA_FILE=" + s.ca.File,
		"CAREBRIDGE_OIDC_CLIENT_ID=" + client, "CAREBRIDGE_OIDC_CLIENT_SECRET=" + s.secrets[client],
	}
}

// adminCredentials are the harness's own: an admin's client credentials,
// refreshed as they expire.
func (s *Stack) adminCredentials() auth.ClientCredentials {
	return auth.ClientCredentials{TokenURL: s.idp.TokenURL(), ClientID: AdminClient, ClientSecret: s.secrets[AdminClient],
		Audience: Audience, HTTPClient: s.httpClient}
}

// startWebUI starts Temporal's UI server (the pinned tool of tools/ui) on
// port with deploy/ui/carebridge.yaml: HTTPS with the stack's CA, people
// signed in through the provider, their token forwarded to Temporal and to
// the codec endpoint, mTLS to Temporal with the operator's certificate.
func (s *Stack) startWebUI(ctx context.Context, port int) error {
	server, err := s.goTool(ctx, "tools/ui", "server")
	if err != nil {
		return err
	}
	cert, key, err := s.ca.Issue("ui", ServerUse, "127.0.0.1", "localhost")
	if err != nil {
		return err
	}
	// SSL_CERT_FILE: the UI server reaches the provider over TLS.
	env := append(os.Environ(), "SSL_CERT_FILE="+s.ca.File,
		"TEMPORAL_UI_PORT="+strconv.Itoa(port), "TEMPORAL_UI_PUBLIC_URL="+s.UIURL, "TEMPORAL_ADDRESS="+s.TemporalAddr,
		"CAREBRIDGE_OIDC_ISSUER="+s.idp.Issuer(), "CAREBRIDGE_OIDC_AUDIENCE="+Audience,
		"TEMPORAL_UI_OIDC_CLIENT_ID="+UIClient, "TEMPORAL_UI_OIDC_CLIENT_SECRET="+s.secrets[UIClient],
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH="+s.ca.File, "TEMPORAL_TLS_SERVER_NAME="+temporalServerName,
		"TEMPORAL_TLS_CLIENT_CERT_PATH="+s.clientEnv["TEMPORAL_TLS_CLIENT_CERT_PATH"],
		"TEMPORAL_TLS_CLIENT_KEY_PATH="+s.clientEnv["TEMPORAL_TLS_CLIENT_KEY_PATH"],
		"TEMPORAL_UI_TLS_CERT_FILE="+cert, "TEMPORAL_UI_TLS_KEY_FILE="+key,
		"TEMPORAL_UI_CODEC_ENDPOINT="+s.InternalURL+"/codec")
	args := []string{"--root", s.opts.RepoRoot, "--config", "deploy/ui", "--env", "carebridge", "start"}
	if err := s.spawn("webui", server, args, env, nil); err != nil {
		return err
	}
	return s.waitHealthy(ctx, "webui", s.UIURL+"/healthz")
}

// goTool is the path of a pinned tool of one of tools/'s modules, built
// once (then from Go's build cache). tools/server and tools/ui need the Go
// toolchain their modules name (toolchains).
func (s *Stack) goTool(ctx context.Context, module, name string) (string, error) {
	return s.goOutputIn(ctx, module, "tool", "-n", name)
}

// prefixed writes a helper process's output into the stack's log.
type prefixed struct {
	s    *Stack
	name string
}

func (p prefixed) Write(b []byte) (int, error) {
	for line := range strings.Lines(string(b)) {
		p.s.logf(p.name, "%s", strings.TrimRight(line, "\n"))
	}
	return len(b), nil
}

var _ io.Writer = prefixed{}
