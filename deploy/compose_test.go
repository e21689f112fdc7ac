// Package deploy checks the production deployment files. No Docker engine
// runs where carebridge is developed, so their structure is what is tested.
package deploy

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/carebridge/carebridge/dev/devstack"
	"github.com/carebridge/carebridge/workflows"
)

type service struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Init        bool              `yaml:"init"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Deploy struct {
		Replicas int `yaml:"replicas"`
	} `yaml:"deploy"`
	Ports   []string `yaml:"ports"`
	Volumes []string `yaml:"volumes"`
}

type composeFile struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

func composeDoc(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var doc composeFile
	require.NoError(t, yaml.Unmarshal(b, &doc))
	return doc
}

func compose(t *testing.T) map[string]service { return composeDoc(t).Services }

// dockerfile is the Dockerfile a service is built from, relative to the
// repository's root ("" when it is not built).
func dockerfile(svc service) string {
	switch b := svc.Build.(type) {
	case string:
		return path.Join(b, "Dockerfile")
	case map[string]any:
		ctx, _ := b["context"].(string)
		if ctx == "" {
			ctx = "."
		}
		df, _ := b["dockerfile"].(string)
		if df == "" {
			df = "Dockerfile"
		}
		return path.Join(ctx, df)
	}
	return ""
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}

// flagValue is the value after name in args ("" when absent).
func flagValue(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// flagValues are the values of a repeated flag, in order.
func flagValues(args []string, name string) []string {
	var vs []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			vs = append(vs, args[i+1])
		}
	}
	return vs
}

// templateTag is one {{ … }} of a server's configuration template
// (# enable-template); envRef a variable it reads.
var (
	templateTag = regexp.MustCompile(`\{\{[^}]*\}\}`)
	envRef      = regexp.MustCompile(`env "([A-Z0-9_]+)"`)
)

// render stands a value the tests do not need for every {{ … }}.
func render(raw string) string { return templateTag.ReplaceAllString(raw, "0") }

// requiredVariables are the variables a configuration template reads
// without a default: the server fails (`fail`) or runs with an empty value
// without them.
func requiredVariables(t *testing.T, name string) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, tag := range templateTag.FindAllString(readFile(t, name), -1) {
		if strings.Contains(tag, "| default") {
			continue
		}
		for _, m := range envRef.FindAllStringSubmatch(tag, -1) {
			seen[m[1]] = true
		}
	}
	var vs []string
	for v := range seen {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	require.NotEmpty(t, vs, name)
	return vs
}

// uiConfig is deploy/ui/carebridge.yaml, the UI server's configuration.
type uiConfig struct {
	DisableWriteActions bool `yaml:"disableWriteActions"`
	Auth                struct {
		Enabled   bool `yaml:"enabled"`
		Providers []struct {
			Type string `yaml:"type"`
		} `yaml:"providers"`
	} `yaml:"auth"`
	Codec struct {
		PassAccessToken bool `yaml:"passAccessToken"`
	} `yaml:"codec"`
}

func loadUIConfig(t *testing.T) uiConfig {
	t.Helper()
	var cfg uiConfig
	require.NoError(t, yaml.Unmarshal([]byte(render(readFile(t, "ui/carebridge.yaml"))), &cfg))
	return cfg
}

// temporalConfig is deploy/temporal/postgres.yaml, the server's
// configuration `make test-postgres` runs.
type temporalConfig struct {
	Persistence struct {
		DefaultStore     string `yaml:"defaultStore"`
		VisibilityStore  string `yaml:"visibilityStore"`
		NumHistoryShards int    `yaml:"numHistoryShards"`
		Datastores       map[string]struct {
			SQL struct {
				PluginName   string `yaml:"pluginName"`
				DatabaseName string `yaml:"databaseName"`
			} `yaml:"sql"`
		} `yaml:"datastores"`
	} `yaml:"persistence"`
	Global struct {
		TLS struct {
			Frontend struct {
				Server struct {
					RequireClientAuth bool `yaml:"requireClientAuth"`
				} `yaml:"server"`
			} `yaml:"frontend"`
			Internode struct {
				Server struct {
					RequireClientAuth bool `yaml:"requireClientAuth"`
				} `yaml:"server"`
			} `yaml:"internode"`
		} `yaml:"tls"`
		Authorization struct {
			Authorizer           string `yaml:"authorizer"`
			ClaimMapper          string `yaml:"claimMapper"`
			PermissionsClaimName string `yaml:"permissionsClaimName"`
		} `yaml:"authorization"`
	} `yaml:"global"`
	Services map[string]struct {
		RPC struct {
			BindOnLocalHost bool   `yaml:"bindOnLocalHost"`
			BindOnIP        string `yaml:"bindOnIP"`
		} `yaml:"rpc"`
	} `yaml:"services"`
}

func loadTemporalConfig(t *testing.T) temporalConfig {
	t.Helper()
	var cfg temporalConfig
	require.NoError(t, yaml.Unmarshal([]byte(render(readFile(t, "temporal/postgres.yaml"))), &cfg))
	return cfg
}

// auditDir is where the images make the audit trail's mount point.
const auditDir = "/var/lib/carebridge/audit"

func TestComposeServices(t *testing.T) {
	s := compose(t)
	var names []string
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	assert.Equal(t, []string{"alertmanager", "jaeger", "postgresql", "prometheus", "starter", "temporal", "temporal-schema",
		"temporal-setup", "temporal-ui", "worker"}, names)

	// Every image is pinned, or built here (tagged locally, from Dockerfiles
	// whose bases are pinned), or the local build of another service.
	built := map[string]string{}
	for name, svc := range s {
		if df := dockerfile(svc); df != "" {
			built[svc.Image] = df
			assert.Regexp(t, `:local$`, svc.Image, "%s tags its build locally", name)
			for _, m := range regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(readFile(t, "../"+df), -1) {
				assert.Regexp(t, `^[a-z0-9./-]+:[A-Za-z0-9.-]+$`, m[1], "%s: %s pins its base", name, df)
				assert.NotContains(t, m[1], ":latest", df)
			}
		}
	}
	for name, svc := range s {
		switch {
		case svc.Build != nil:
		case strings.HasSuffix(svc.Image, ":local"):
			assert.Contains(t, built, svc.Image, "%s runs the image another service builds", name)
		default:
			assert.Regexp(t, regexp.MustCompile(`:v?[0-9][0-9.]*$`), svc.Image, "%s pins its image", name)
		}
		assert.NotContains(t, svc.Image, "temporalio/", "%s: Temporal's stock images are replaced by carebridge's builds", name)
	}
	assert.Equal(t, "Dockerfile", dockerfile(s["worker"]))
	assert.Equal(t, "deploy/temporal/Dockerfile", dockerfile(s["temporal"]), "carebridge's build of Temporal's server")
	assert.Equal(t, "deploy/ui/Dockerfile", dockerfile(s["temporal-ui"]), "Temporal's UI server, from tools/ui")
	for _, name := range []string{"temporal-schema", "temporal-setup"} {
		assert.Equal(t, s["temporal"].Image, s[name].Image, "%s runs the server's image (its sql tool, schema files and CLI)", name)
	}
	assert.Equal(t, s["worker"].Image, s["starter"].Image)

	for _, name := range []string{"postgresql", "temporal", "worker", "starter"} {
		require.NotNil(t, s[name].Healthcheck, "%s has a health check", name)
		assert.NotEmpty(t, s[name].Healthcheck.Test)
	}
	assert.Equal(t, 2, s["worker"].Deploy.Replicas)

	// The order: schemas, the server, then the namespace and the search
	// attributes, then carebridge.
	after := func(name, dep, condition string) {
		t.Helper()
		assert.Equal(t, condition, s[name].DependsOn[dep].Condition, "%s waits for %s", name, dep)
	}
	after("temporal-schema", "postgresql", "service_healthy")
	after("temporal", "postgresql", "service_healthy")
	after("temporal", "temporal-schema", "service_completed_successfully")
	after("temporal-setup", "temporal", "service_healthy")
	after("temporal-ui", "temporal", "service_healthy")
	after("worker", "temporal-setup", "service_completed_successfully")
	after("starter", "temporal-setup", "service_completed_successfully")
}

func TestComposeUIUsesTheCodecEndpoint(t *testing.T) {
	s := compose(t)
	ui := s["temporal-ui"]
	assert.Equal(t, "https://localhost:8081/codec", ui.Environment["TEMPORAL_UI_CODEC_ENDPOINT"], "the internal listener, over HTTPS")
	assert.Equal(t, ":8081", s["starter"].Environment["CAREBRIDGE_INTERNAL_ADDR"])
	assert.Contains(t, s["starter"].Ports, "8080:8080", "the public listener")
	assert.Contains(t, s["starter"].Ports, "127.0.0.1:8081:8081", "the internal one, on the host's loopback only")
	assert.Equal(t, ui.Environment["TEMPORAL_UI_PUBLIC_URL"], s["starter"].Environment["CAREBRIDGE_CODEC_CORS_ORIGINS"],
		"the codec endpoint answers the UI's origin")

	// The UI server runs deploy/ui/carebridge.yaml, mounted where it is told
	// to read it, which hands each person's token to the codec endpoint.
	args := ui.Command
	require.Equal(t, "start", args[len(args)-1], "the UI server's start")
	assert.Contains(t, ui.Volumes, "./deploy/ui:"+path.Join(flagValue(args, "--root"), flagValue(args, "--config"))+":ro",
		"deploy/ui mounted as the UI server's configuration")
	assert.Equal(t, "carebridge", flagValue(args, "--env"), "deploy/ui/carebridge.yaml")
	cfg := loadUIConfig(t)
	assert.True(t, cfg.Codec.PassAccessToken, "the codec endpoint decrypts for the signed-in person, with their token")
	for _, v := range requiredVariables(t, "ui/carebridge.yaml") {
		assert.NotEmpty(t, ui.Environment[v], "the UI server's configuration needs %s", v)
	}
}

// Nobody reaches Temporal or its Web UI from another host: the frontend is
// published nowhere, Temporal's other services do not leave its container,
// the UI is on the host's loopback. Who may do what is Temporal's
// authorizer's to decide, for the UI's signed-in people as for everyone;
// and no secrets file is committed or built into the image.
func TestComposeKeepsTemporalAndTheUIPrivate(t *testing.T) {
	s := compose(t)
	assert.Empty(t, s["temporal"].Ports, "the frontend stays on compose's own network")

	ui := s["temporal-ui"]
	require.NotEmpty(t, ui.Ports)
	for _, p := range ui.Ports {
		assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "the Web UI on the host's loopback only: %s", p)
		parts := strings.Split(p, ":")
		require.Len(t, parts, 3, p)
		assert.Equal(t, ui.Environment["TEMPORAL_UI_PORT"], parts[2], "the UI server's port is the one published")
		public, err := url.Parse(ui.Environment["TEMPORAL_UI_PUBLIC_URL"])
		require.NoError(t, err)
		assert.Equal(t, parts[1], public.Port(), "the URL people open is the published port")
		assert.Contains(t, []string{"localhost", "127.0.0.1"}, public.Hostname(), "on this host")
	}

	// The UI's write actions are on: a person's signal, update, reset or
	// terminate goes to Temporal with their token, where the authorizer
	// refuses a reader's, and the audit trail records it either way.
	assert.NotContains(t, ui.Environment, "TEMPORAL_DISABLE_WRITE_ACTIONS", "Temporal's authorizer decides, not the UI")
	cfg := loadUIConfig(t)
	assert.False(t, cfg.DisableWriteActions)
	assert.True(t, cfg.Auth.Enabled, "people sign in")
	require.Len(t, cfg.Auth.Providers, 1)
	assert.Equal(t, "oidc", cfg.Auth.Providers[0].Type, "through the clinic's OpenID Connect provider")
	tc := loadTemporalConfig(t)
	assert.Equal(t, "default", tc.Global.Authorization.Authorizer, "Temporal's default authorizer")
	assert.Equal(t, "default", tc.Global.Authorization.ClaimMapper, "Temporal's JWT claim mapper")
	assert.Equal(t, "permissions", tc.Global.Authorization.PermissionsClaimName)
	for _, v := range []string{"TEMPORAL_AUTH_JWKS_URL", "TEMPORAL_AUTH_AUDIENCE"} {
		assert.Regexp(t, `^\$\{[A-Z_]+:\?`, s["temporal"].Environment[v], "%s must be given", v)
	}

	// Temporal's services other than the frontend stay on its container's
	// loopback: the internal frontend grants admin to any certificate of the
	// internode CA, without a token. The frontend alone listens on compose's
	// network.
	require.NotEmpty(t, tc.Services)
	for name, svc := range tc.Services {
		if name == "frontend" {
			assert.False(t, svc.RPC.BindOnLocalHost, name)
			continue
		}
		assert.True(t, svc.RPC.BindOnLocalHost, "%s listens on loopback", name)
		assert.Empty(t, svc.RPC.BindOnIP, name)
	}
	env := s["temporal"].Environment
	assert.NotContains(t, env, "LOCALHOST_IP", "it would move every service's listener (bindOnLocalHost) to compose's network")
	assert.Equal(t, "0.0.0.0", env["TEMPORAL_FRONTEND_BIND_IP"], "the frontend on compose's network")
	assert.Equal(t, "7233", env["TEMPORAL_FRONTEND_PORT"])
	assert.Contains(t, readFile(t, "temporal/postgres.yaml"), `bindOnIP: "{{ env "TEMPORAL_FRONTEND_BIND_IP" | default "127.0.0.1" }}"`,
		"the frontend on loopback unless compose says otherwise")
	for name, svc := range s {
		if a, ok := svc.Environment["TEMPORAL_ADDRESS"]; ok {
			assert.Equal(t, "temporal:7233", a, "%s reaches the frontend", name)
		}
	}

	// The setup's admin token stays out of its command line (and the
	// process list): the CLI reads it from TEMPORAL_API_KEY.
	setup := s["temporal-setup"]
	assert.NotContains(t, strings.Join(setup.Command, " "), "--api-key")
	assert.True(t, strings.HasPrefix(setup.Environment["TEMPORAL_API_KEY"], "${TEMPORAL_SETUP_TOKEN:?"),
		"the operator gives the admin token")

	assert.Equal(t, "${CAREVALIDATE_AUTH_HEADER:-}", s["starter"].Environment["CAREVALIDATE_AUTH_HEADER"],
		"no default that turns the integration on without its secret")
	for _, ignore := range []string{"../.gitignore", "../.dockerignore"} {
		assert.Contains(t, strings.Split(readFile(t, ignore), "\n"), ".env", "%s keeps .env files out", ignore)
	}
}

// Compose runs in production mode: the programs' listeners on TLS, mutual
// TLS to Temporal, whose frontend and services require client certificates,
// every client of Temporal (the setup, the Web UI, the health check)
// presenting one, and the Web UI serving HTTPS.
func TestComposeSpeaksTLSEverywhere(t *testing.T) {
	s := compose(t)
	mounted := func(name string) bool {
		for _, v := range s[name].Volumes {
			if strings.HasSuffix(v, ":/certs:ro") {
				return true
			}
		}
		return false
	}
	for _, name := range []string{"worker", "starter"} {
		env := s[name].Environment
		assert.NotEmpty(t, env["CAREBRIDGE_TLS_CERT_FILE"], "%s serves TLS", name)
		assert.NotEmpty(t, env["CAREBRIDGE_TLS_KEY_FILE"], name)
		assert.NotEmpty(t, env["TEMPORAL_TLS_CLIENT_CERT_PATH"], "%s presents a client certificate to Temporal", name)
		assert.NotEmpty(t, env["TEMPORAL_TLS_SERVER_CA_CERT_PATH"], name)
		assert.Empty(t, env["CAREBRIDGE_DEV"], "%s in production mode", name)
		assert.True(t, mounted(name), "%s has the certificates", name)
	}

	tc := loadTemporalConfig(t)
	assert.True(t, tc.Global.TLS.Frontend.Server.RequireClientAuth, "the frontend requires a client certificate")
	assert.True(t, tc.Global.TLS.Internode.Server.RequireClientAuth, "so do Temporal's services of each other")
	for _, v := range []string{"TEMPORAL_SERVER_TLS_CERT_FILE", "TEMPORAL_SERVER_TLS_KEY_FILE", "TEMPORAL_SERVER_TLS_CA_FILE",
		"TEMPORAL_SERVER_TLS_CLIENT_CA_FILE"} {
		assert.True(t, strings.HasPrefix(s["temporal"].Environment[v], "/certs/"), "%s from the certificates", v)
	}
	assert.Empty(t, s["temporal"].Environment["CAREBRIDGE_DEV"], "the server keeps the audit trail")

	ui := s["temporal-ui"].Environment
	assert.NotEmpty(t, ui["TEMPORAL_TLS_CLIENT_CERT_PATH"], "the Web UI presents a client certificate")
	assert.NotEmpty(t, ui["TEMPORAL_UI_TLS_CERT_FILE"], "the Web UI serves HTTPS")
	assert.True(t, strings.HasPrefix(ui["TEMPORAL_UI_PUBLIC_URL"], "https://"), "people open it over HTTPS")
	assert.True(t, strings.HasPrefix(ui["TEMPORAL_UI_CODEC_ENDPOINT"], "https://"), "the codec endpoint over HTTPS")
	assert.Contains(t, strings.Join(s["temporal-setup"].Command, " "), "--tls-cert-path", "so does the setup")
	assert.Contains(t, s["temporal"].Healthcheck.Test, "--tls-cert-path", "and the health check")
	for _, name := range []string{"temporal", "temporal-ui", "temporal-setup", "prometheus"} {
		assert.True(t, mounted(name), "%s has the certificates", name)
	}
}

func TestComposeRegistersEverySearchAttribute(t *testing.T) {
	cmd := strings.Join(compose(t)["temporal-setup"].Command, " ")
	for name, typ := range workflows.SearchAttributes {
		assert.Contains(t, cmd, "--name "+name+" --type "+typ)
	}
	assert.Equal(t, len(workflows.SearchAttributes), strings.Count(cmd, "--name "), "carebridge's attributes, no others")
	assert.Contains(t, cmd, "temporal operator namespace create")
	assert.Contains(t, cmd, "temporal operator search-attribute create")
}

func TestComposeGivesEachProgramItsRequiredConfiguration(t *testing.T) {
	s := compose(t)
	for _, v := range []string{"TEMPORAL_ADDRESS", "CAREBRIDGE_CODEC_KEYS", "ACTIVEPIECES_WEBHOOK_URL", "REALTIME_BASE_URL",
		"ALLEVIATE_BASE_URL", "ALLEVIATE_API_KEY", "AKUTE_BASE_URL", "AKUTE_API_KEY"} {
		assert.Contains(t, s["worker"].Environment, v, "worker")
	}
	for _, v := range []string{"TEMPORAL_ADDRESS", "CAREBRIDGE_CODEC_KEYS", "CAREVALIDATE_AUTH_SECRET", "AKUTE_WEBHOOK_SECRET",
		"CAREBRIDGE_SEND_TASK_QUEUE", "CAREBRIDGE_AUDIT_DIR",
		// Eager sends run in the starter: the send's upstreams too.
		"ACTIVEPIECES_WEBHOOK_URL", "REALTIME_BASE_URL", "ALLEVIATE_BASE_URL", "ALLEVIATE_API_KEY"} {
		assert.Contains(t, s["starter"].Environment, v, "starter")
	}
	assert.Contains(t, s["worker"].Environment["CAREBRIDGE_CODEC_KEYS"], ":?", "the codec keys must be given")

	// The clinic's provider, and each program its own client: its tokens to
	// Temporal name it (and its allowed calls are left to its own records,
	// CAREBRIDGE_AUDIT_MACHINES).
	for _, name := range []string{"worker", "starter"} {
		env := s[name].Environment
		for _, v := range []string{"CAREBRIDGE_OIDC_ISSUER", "CAREBRIDGE_OIDC_AUDIENCE", "CAREBRIDGE_OIDC_CLIENT_ID",
			"CAREBRIDGE_OIDC_CLIENT_SECRET"} {
			assert.Regexp(t, `^\$\{[A-Z_]+:\?`, env[v], "%s: %s must be given", name, v)
		}
		assert.NotContains(t, env, "TEMPORAL_API_KEY", "%s: its client's tokens, not a static key", name)
	}
	for _, v := range []string{"CAREBRIDGE_OIDC_CLIENT_ID", "CAREBRIDGE_OIDC_CLIENT_SECRET"} {
		assert.NotEqual(t, s["worker"].Environment[v], s["starter"].Environment[v], "%s: each program its own client", v)
	}
	// One audience: the Web UI hands a person's token to Temporal and to the
	// codec endpoint; and one provider.
	audience := s["worker"].Environment["CAREBRIDGE_OIDC_AUDIENCE"]
	assert.Equal(t, audience, s["starter"].Environment["CAREBRIDGE_OIDC_AUDIENCE"])
	assert.Equal(t, audience, s["temporal"].Environment["TEMPORAL_AUTH_AUDIENCE"], "Temporal accepts the programs' and people's tokens")
	assert.Equal(t, audience, s["temporal-ui"].Environment["CAREBRIDGE_OIDC_AUDIENCE"])
	assert.Equal(t, s["worker"].Environment["CAREBRIDGE_OIDC_ISSUER"], s["temporal-ui"].Environment["CAREBRIDGE_OIDC_ISSUER"],
		"people sign in where the starter verifies them")

	// With the provider, the API and the codec endpoint take people's
	// tokens: API keys stay for machine callers, optional; the shared codec
	// token is gone (each decode is a person's, on the audit trail).
	assert.Equal(t, "${CAREBRIDGE_API_KEYS:-}", s["starter"].Environment["CAREBRIDGE_API_KEYS"])
	assert.NotContains(t, s["starter"].Environment, "CAREBRIDGE_CODEC_AUTH_TOKEN")
	assert.NotContains(t, s["starter"].Environment, "CAREBRIDGE_API_TOKENS")

	// An integration is on when its variables are set: empty by default,
	// never a default value (a URL defaulted without its key would stop the
	// programs as half-configured).
	for _, v := range []string{"ACTIVEPIECES_WEBHOOK_URL", "REALTIME_BASE_URL", "ALLEVIATE_BASE_URL", "ALLEVIATE_API_KEY",
		"AKUTE_BASE_URL", "AKUTE_API_KEY"} {
		assert.Equal(t, "${"+v+":-}", s["worker"].Environment[v], "worker %s", v)
	}
	for _, v := range []string{"CAREVALIDATE_AUTH_SECRET", "AKUTE_WEBHOOK_SECRET"} {
		assert.Equal(t, "${"+v+":-}", s["starter"].Environment[v], "starter %s", v)
	}
}

// The header comment says what the operator provides: every variable
// compose requires and every certificate it mounts.
func TestComposeHeaderNamesWhatTheOperatorProvides(t *testing.T) {
	raw := readFile(t, "../docker-compose.yml")
	var header strings.Builder
	for line := range strings.Lines(raw) {
		if !strings.HasPrefix(line, "#") {
			break
		}
		header.WriteString(line)
	}
	h := header.String()
	required := regexp.MustCompile(`\$\{([A-Z0-9_]+):\?`).FindAllStringSubmatch(raw, -1)
	require.NotEmpty(t, required)
	for _, m := range required {
		assert.Contains(t, h, m[1], "the header names the required %s", m[1])
	}
	for _, m := range regexp.MustCompile(`/certs/([a-z0-9-]+)\.(pem|key)`).FindAllStringSubmatch(raw, -1) {
		named := strings.Contains(h, m[1]+"."+m[2]) || m[2] == "key" && strings.Contains(h, m[1]+".pem/.key")
		assert.True(t, named, "the header names the certificate's %s", m[0])
	}
}

// The audit trail is one: Temporal's server (who changed which workflow)
// and the starter (who read patient data) append to the same directory, a
// named volume mounted at the same path, as the same non-root user.
func TestComposeSharesTheAuditTrail(t *testing.T) {
	doc := composeDoc(t)
	s := doc.Services
	assert.Contains(t, doc.Volumes, "audit", "a named volume, kept across containers")
	for _, name := range []string{"temporal", "starter"} {
		env := s[name].Environment
		assert.Equal(t, auditDir, env["CAREBRIDGE_AUDIT_DIR"], name)
		assert.Contains(t, s[name].Volumes, "audit:"+auditDir, "%s mounts the trail at CAREBRIDGE_AUDIT_DIR", name)
		assert.Equal(t, "${CAREBRIDGE_AUDIT_RETENTION:-}", env["CAREBRIDGE_AUDIT_RETENTION"], "%s: one retention, six years by default", name)
	}
	for name, svc := range s {
		if name != "temporal" && name != "starter" {
			assert.NotContains(t, svc.Environment, "CAREBRIDGE_AUDIT_DIR", name)
		}
	}
	machines := strings.Split(s["temporal"].Environment["CAREBRIDGE_AUDIT_MACHINES"], ",")
	assert.ElementsMatch(t, []string{s["worker"].Environment["CAREBRIDGE_OIDC_CLIENT_ID"], s["starter"].Environment["CAREBRIDGE_OIDC_CLIENT_ID"]},
		machines, "the programs' own clients, whose allowed calls they record themselves")

	// Both images make the mount point, owned by distroless's nonroot
	// (65532) and run as that user: the trail's files are 0600.
	carebridge := readFile(t, "../Dockerfile")
	assert.Contains(t, carebridge, "--chown=65532:65532 /audit "+auditDir)
	assert.Contains(t, carebridge, "distroless/static-debian12:nonroot")
	temporal := readFile(t, "temporal/Dockerfile")
	assert.Contains(t, temporal, "install -d -m 0700 -o 65532 -g 65532 "+auditDir)
	assert.Contains(t, temporal, "useradd --uid 65532")
}

func TestDockerfile(t *testing.T) {
	df := readFile(t, "../Dockerfile")
	assert.Equal(t, 2, strings.Count(df, "\nFROM "), "multi-stage: a build stage and a runtime stage")
	assert.Contains(t, df, "CGO_ENABLED=0", "static binaries")
	assert.Contains(t, df, "USER nonroot")
	assert.Contains(t, df, "./worker ./starter")
	assert.Contains(t, df, "-o /out/carebridge-audit ./cmd/audit", "the trail verified in place")
}

// lastStage is a Dockerfile's runtime stage.
func lastStage(df string) string { return df[strings.LastIndex(df, "\nFROM ")+1:] }

// Temporal's server and Web UI are carebridge's pinned tools (tools/server,
// tools/ui, tools/), built with the Go toolchain their modules need, static,
// and run as non-root.
func TestDockerfilesOfTemporalAndTheUI(t *testing.T) {
	server := readFile(t, "../tools/server/go.mod")
	ui := readFile(t, "../tools/ui/go.mod")
	cli := readFile(t, "../tools/go.mod")
	for _, mod := range []string{server, ui} {
		assert.Contains(t, mod, "\ngo 1.26.10\n", "the Dockerfiles build with GOTOOLCHAIN=go1.27.3 for it")
	}
	assert.Contains(t, server, "go.temporal.io/server/cmd/tools/sql", "the sql tool is tools/server's")
	assert.Contains(t, server, "go.temporal.io/server v1.32.2")
	assert.Contains(t, ui, "tool github.com/temporalio/ui-server/v2/cmd/server")
	assert.Contains(t, cli, "tool github.com/temporalio/cli/cmd/temporal")

	temporal := readFile(t, "temporal/Dockerfile")
	assert.Contains(t, temporal, "FROM golang:1.26-bookworm AS build")
	assert.Contains(t, temporal, "CGO_ENABLED=0")
	assert.Contains(t, temporal, "cd tools/server \\\n && GOTOOLCHAIN=go1.27.3 go build -trimpath -ldflags=\"-s -w\" -o /out/bin/temporal-server .")
	assert.Contains(t, temporal, "GOTOOLCHAIN=go1.27.3 go build -trimpath -ldflags=\"-s -w\" -o /out/bin/temporal-sql-tool go.temporal.io/server/cmd/tools/sql")
	assert.Contains(t, temporal, `"$(GOTOOLCHAIN=go1.27.3 go list -m -f '{{.Dir}}' go.temporal.io/server)/schema/postgresql"`,
		"the schema files of the server's own version, out of the module cache")
	assert.Contains(t, temporal, "COPY --from=build /out/schema/ /usr/local/share/temporal/schema/")
	assert.Contains(t, temporal, "cd tools && go build -trimpath -ldflags=\"-s -w\" -o /out/bin/temporal github.com/temporalio/cli/cmd/temporal")
	runtime := lastStage(temporal)
	assert.True(t, strings.HasPrefix(runtime, "FROM debian:bookworm-slim") || strings.HasPrefix(runtime, "FROM gcr.io/distroless/"), runtime)
	assert.Contains(t, runtime, "\nUSER nonroot:nonroot\n")

	uidf := readFile(t, "ui/Dockerfile")
	assert.Contains(t, uidf, "FROM golang:1.26-bookworm AS build")
	assert.Contains(t, uidf, "CGO_ENABLED=0 GOTOOLCHAIN=go1.27.3")
	assert.Contains(t, uidf, "COPY tools/ui/go.mod tools/ui/go.sum ./")
	assert.Contains(t, uidf, "go build -trimpath -ldflags=\"-s -w\" -o /out/temporal-ui-server github.com/temporalio/ui-server/v2/cmd/server")
	runtime = lastStage(uidf)
	assert.True(t, strings.HasPrefix(runtime, "FROM gcr.io/distroless/static-debian12:nonroot"), runtime)
	assert.Contains(t, runtime, "\nUSER nonroot:nonroot\n")

	// The images' defaults start what compose starts.
	s := compose(t)
	for _, image := range []struct {
		dockerfile string
		svc        service
	}{{temporal, s["temporal"]}, {uidf, s["temporal-ui"]}} {
		m := regexp.MustCompile(`(?m)^CMD (\[[^\]]*\])`).FindStringSubmatch(strings.ReplaceAll(image.dockerfile, "\\\n", ""))
		require.NotNil(t, m)
		var cmd []string
		require.NoError(t, yaml.Unmarshal([]byte(m[1]), &cmd))
		assert.Equal(t, image.svc.Command, cmd)
	}
	assert.Contains(t, temporal, `ENTRYPOINT ["/usr/local/bin/temporal-server"]`, "carebridge's build of Temporal's server")
	assert.Empty(t, s["temporal"].Entrypoint, "compose starts the image's own entrypoint")
}

// The compose file's Temporal and the topology `make test-postgres` runs
// (deploy/temporal/postgres.yaml) are one configuration: if they differ,
// what the tests proved is not what a clinic deploys. Compose runs the
// same file, mounted, with the same services, the variables it requires,
// the same dynamic configuration, and makes the databases and the namespace
// it expects.
func TestComposeTemporalMatchesTheTestedTopology(t *testing.T) {
	cfg := loadTemporalConfig(t)
	store := cfg.Persistence.Datastores[cfg.Persistence.DefaultStore].SQL
	visibility := cfg.Persistence.Datastores[cfg.Persistence.VisibilityStore].SQL
	s := compose(t)
	temporal := s["temporal"]
	env := temporal.Environment

	// deploy/temporal, mounted where the server is told to read it.
	args := temporal.Command
	require.Contains(t, args, "start", "the server's start")
	configDir := path.Join(flagValue(args, "--root"), flagValue(args, "--config"))
	assert.Contains(t, temporal.Volumes, "./deploy/temporal:"+configDir+":ro", "deploy/temporal mounted as the server's configuration")
	assert.Equal(t, "postgres", flagValue(args, "--env"), "deploy/temporal/postgres.yaml")

	// The services it starts: every one the file configures, as the file's
	// own start line (and dev/devstack) has them.
	started := flagValues(args, "--service")
	var configured []string
	for name := range cfg.Services {
		configured = append(configured, name)
	}
	assert.ElementsMatch(t, configured, started, "the services postgres.yaml configures")
	var documented []string
	for _, m := range regexp.MustCompile(`--service (\S+)`).FindAllStringSubmatch(readFile(t, "temporal/postgres.yaml"), -1) {
		documented = append(documented, m[1])
	}
	assert.Equal(t, documented, started, "postgres.yaml's start line")
	assert.Contains(t, started, "internal-frontend", "Temporal's system worker reaches it, so the frontend requires a token of everyone else")

	// Every variable the file reads without a default.
	for _, v := range requiredVariables(t, "temporal/postgres.yaml") {
		assert.NotEmpty(t, env[v], "postgres.yaml needs %s", v)
	}
	assert.Equal(t, "postgresql:5432", env["TEMPORAL_POSTGRES_ADDR"], "compose's PostgreSQL")
	assert.Equal(t, s["postgresql"].Environment["POSTGRES_USER"], env["TEMPORAL_POSTGRES_USER"])
	assert.Equal(t, s["postgresql"].Environment["POSTGRES_PASSWORD"], env["TEMPORAL_POSTGRES_PASSWORD"])

	// The same dynamic configuration, from the mounted directory: principal
	// propagation on (each history event names who caused it).
	assert.Equal(t, path.Join(configDir, "dynamicconfig.yaml"), env["TEMPORAL_DYNAMIC_CONFIG"], "the same dynamic configuration")
	var dynamic map[string][]struct {
		Value any `yaml:"value"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "temporal/dynamicconfig.yaml")), &dynamic))
	require.Len(t, dynamic["frontend.enablePrincipalPropagation"], 1)
	assert.Equal(t, true, dynamic["frontend.enablePrincipalPropagation"][0].Value, "principal propagation on")

	// The databases and schemas the file uses, by the pinned sql tool, from
	// the schema files the image copies.
	schema := s["temporal-schema"]
	assert.Equal(t, store.PluginName, schema.Environment["SQL_PLUGIN"], "persistence plugin")
	assert.Equal(t, visibility.PluginName, schema.Environment["SQL_PLUGIN"], "SQL visibility on the same PostgreSQL")
	assert.Equal(t, "postgresql", schema.Environment["SQL_HOST"])
	assert.Equal(t, env["TEMPORAL_POSTGRES_USER"], schema.Environment["SQL_USER"])
	assert.Equal(t, env["TEMPORAL_POSTGRES_PASSWORD"], schema.Environment["SQL_PASSWORD"])
	cmd := strings.Join(schema.Command, " ")
	for db, dir := range map[string]string{store.DatabaseName: "temporal", visibility.DatabaseName: "visibility"} {
		assert.Contains(t, cmd, "temporal-sql-tool --db "+db+" setup-schema -v 0.0", db)
		assert.Contains(t, cmd, "temporal-sql-tool --db "+db+" update-schema -d /usr/local/share/temporal/schema/postgresql/v12/"+dir+"/versioned", db)
	}
	assert.Contains(t, cmd, `for db in `+store.DatabaseName+` `+visibility.DatabaseName+`; do`)
	assert.Contains(t, cmd, "create-database")

	// The namespace the programs use.
	assert.Regexp(t, `temporal operator namespace create [^\n]*--namespace `+devstack.Namespace+` `, strings.Join(s["temporal-setup"].Command, " "))
	for name, svc := range s {
		if ns, ok := svc.Environment["TEMPORAL_NAMESPACE"]; ok {
			assert.Equal(t, devstack.Namespace, ns, name)
		}
	}
	assert.Equal(t, 4, cfg.Persistence.NumHistoryShards, "fixed for the cluster's life: a change needs a new cluster")
}

// Traces: compose's Jaeger (pinned) takes the programs' OTLP on compose's
// own network, its UI on the host's loopback only; a clinic's own endpoint
// wins.
func TestComposeSendsTracesToJaeger(t *testing.T) {
	s := compose(t)
	j := s["jaeger"]
	assert.Regexp(t, `^jaegertracing/jaeger:2\.[0-9]+\.[0-9]+$`, j.Image, "Jaeger v2, pinned")
	require.NotEmpty(t, j.Ports, "the Jaeger UI is published for the operators")
	for _, p := range j.Ports {
		assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "Jaeger on the host's loopback only: %s", p)
		assert.False(t, strings.HasSuffix(p, ":4317") || strings.HasSuffix(p, ":4318"), "OTLP stays on compose's network: %s", p)
	}
	for _, name := range []string{"worker", "starter"} {
		assert.Equal(t, "${OTEL_EXPORTER_OTLP_ENDPOINT:-http://jaeger:4318}", s[name].Environment["OTEL_EXPORTER_OTLP_ENDPOINT"],
			"%s exports its traces to compose's Jaeger unless told otherwise", name)
	}
}

// Metrics and alerts: compose's Prometheus (pinned) scrapes the starter's
// internal listener and every worker under the job names the rules and the
// dashboard use, loads the committed rules and sends to compose's
// Alertmanager; both UIs on the host's loopback only.
func TestComposeScrapesAndAlerts(t *testing.T) {
	s := compose(t)
	p, am := s["prometheus"], s["alertmanager"]
	assert.Regexp(t, `^prom/prometheus:v[0-9]+\.[0-9]+\.[0-9]+$`, p.Image, "Prometheus, pinned")
	assert.Regexp(t, `^prom/alertmanager:v[0-9]+\.[0-9]+\.[0-9]+$`, am.Image, "Alertmanager, pinned")
	assert.Contains(t, p.Volumes, "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro")
	assert.Contains(t, p.Volumes, "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro")
	assert.Contains(t, am.Volumes, "./deploy/prometheus/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro")
	assert.Contains(t, p.Command, "--config.file=/etc/prometheus/prometheus.yml")
	assert.Contains(t, am.Command, "--config.file=/etc/alertmanager/alertmanager.yml")
	for _, svc := range []service{p, am} {
		require.NotEmpty(t, svc.Ports)
		for _, port := range svc.Ports {
			assert.True(t, strings.HasPrefix(port, "127.0.0.1:"), "on the host's loopback only: %s", port)
		}
	}

	raw, err := os.ReadFile("prometheus/prometheus.yml")
	require.NoError(t, err)
	var cfg struct {
		RuleFiles []string `yaml:"rule_files"`
		Alerting  struct {
			Alertmanagers []struct {
				StaticConfigs []struct {
					Targets []string `yaml:"targets"`
				} `yaml:"static_configs"`
			} `yaml:"alertmanagers"`
		} `yaml:"alerting"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &cfg))
	assert.Equal(t, []string{"/etc/prometheus/alerts.yml"}, cfg.RuleFiles, "the mounted rules")
	require.Len(t, cfg.Alerting.Alertmanagers, 1)
	assert.Equal(t, []string{"alertmanager:9093"}, cfg.Alerting.Alertmanagers[0].StaticConfigs[0].Targets)
	jobs := map[string]int{}
	for i, j := range cfg.ScrapeConfigs {
		jobs[j.JobName] = i
	}
	require.Contains(t, jobs, "carebridge-starter")
	require.Contains(t, jobs, "carebridge-worker")
	starter := cfg.ScrapeConfigs[jobs["carebridge-starter"]]
	_, internalPort, _ := strings.Cut(s["starter"].Environment["CAREBRIDGE_INTERNAL_ADDR"], ":")
	assert.Equal(t, []string{"starter:" + internalPort}, starter.StaticConfigs[0].Targets, "the starter's internal listener")
	worker := cfg.ScrapeConfigs[jobs["carebridge-worker"]]
	require.Len(t, worker.DNSSDConfigs, 1, "every worker replica")
	assert.Equal(t, []string{"worker"}, worker.DNSSDConfigs[0].Names)
	_, metricsPort, _ := strings.Cut(s["worker"].Environment["CAREBRIDGE_METRICS_ADDR"], ":")
	assert.Equal(t, metricsPort, fmt.Sprint(worker.DNSSDConfigs[0].Port), "the workers' CAREBRIDGE_METRICS_ADDR")

	rules, err := os.ReadFile("prometheus/alerts.yml")
	require.NoError(t, err)
	for _, job := range []string{"carebridge-worker"} {
		assert.Contains(t, string(rules), `job="`+job+`"`, "the rules use the scrape job names")
	}
}
