// Package deploy checks the production deployment files. No Docker engine
// runs where carebridge is developed, so their structure is what is tested.
package deploy

import (
	"fmt"
	"os"
	"regexp"
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

func compose(t *testing.T) map[string]service {
	t.Helper()
	b, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var doc struct {
		Services map[string]service `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(b, &doc))
	return doc.Services
}

func TestComposeServices(t *testing.T) {
	s := compose(t)
	var names []string
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	assert.Equal(t, []string{"alertmanager", "jaeger", "postgresql", "prometheus", "starter", "temporal", "temporal-admin-tools", "temporal-ui", "worker"}, names)

	for name, svc := range s {
		if svc.Image != "" && !strings.HasPrefix(svc.Image, "carebridge:") { // our own build is tagged locally
			assert.Regexp(t, regexp.MustCompile(`:v?[0-9][0-9.]*$`), svc.Image, "%s pins its image", name)
		}
	}
	for _, name := range []string{"postgresql", "temporal", "worker", "starter"} {
		require.NotNil(t, s[name].Healthcheck, "%s has a health check", name)
		assert.NotEmpty(t, s[name].Healthcheck.Test)
	}
	assert.Equal(t, 2, s["worker"].Deploy.Replicas)
	assert.Equal(t, "service_healthy", s["temporal"].DependsOn["postgresql"].Condition)
	assert.Equal(t, "service_completed_successfully", s["worker"].DependsOn["temporal-admin-tools"].Condition)
	assert.Equal(t, "service_completed_successfully", s["starter"].DependsOn["temporal-admin-tools"].Condition)
	assert.Contains(t, s["temporal"].Image, "temporalio/auto-setup")
	assert.Equal(t, "postgres12", s["temporal"].Environment["DB"])
	assert.Contains(t, s["temporal-ui"].Image, "temporalio/ui")
}

func TestComposeUIUsesTheCodecEndpoint(t *testing.T) {
	s := compose(t)
	assert.Equal(t, "https://localhost:8081/codec", s["temporal-ui"].Environment["TEMPORAL_CODEC_ENDPOINT"], "the internal listener")
	assert.Equal(t, ":8081", s["starter"].Environment["CAREBRIDGE_INTERNAL_ADDR"])
	assert.Contains(t, s["starter"].Ports, "8080:8080", "the public listener")
	assert.Contains(t, s["starter"].Ports, "127.0.0.1:8081:8081", "the internal one, on the host's loopback only")
	assert.Contains(t, s["starter"].Environment["CAREBRIDGE_CODEC_CORS_ORIGINS"], "localhost:8233")
}

// Nobody reaches Temporal or its Web UI from another host: the frontend is
// published nowhere, the UI on the host's loopback with its write actions
// off; and no secrets file is committed or built into the image.
func TestComposeKeepsTemporalAndTheUIPrivate(t *testing.T) {
	s := compose(t)
	assert.Empty(t, s["temporal"].Ports, "the frontend stays on compose's own network")
	for _, p := range s["temporal-ui"].Ports {
		assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "the Web UI on the host's loopback only: %s", p)
	}
	assert.Equal(t, "true", s["temporal-ui"].Environment["TEMPORAL_DISABLE_WRITE_ACTIONS"], "no terminate, reset, signal or update from the UI")
	assert.Equal(t, "${CAREVALIDATE_AUTH_HEADER:-}", s["starter"].Environment["CAREVALIDATE_AUTH_HEADER"],
		"no default that turns the integration on without its secret")
	for _, ignore := range []string{"../.gitignore", "../.dockerignore"} {
		b, err := os.ReadFile(ignore)
		require.NoError(t, err)
		assert.Contains(t, strings.Split(string(b), "\n"), ".env", "%s keeps .env files out", ignore)
	}
}

// Compose runs in production mode: the programs' listeners on TLS, mutual
// TLS to Temporal, whose frontend requires client certificates, and every
// client of Temporal (the admin tools, the Web UI) presenting one.
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
	assert.Equal(t, "true", s["temporal"].Environment["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"])
	assert.NotEmpty(t, s["temporal"].Environment["TEMPORAL_TLS_FRONTEND_CERT"])
	assert.NotEmpty(t, s["temporal-ui"].Environment["TEMPORAL_TLS_CERT"], "the Web UI presents a client certificate")
	assert.Contains(t, strings.Join(s["temporal-admin-tools"].Command, " "), "--tls-cert-path", "so do the admin tools")
	for _, name := range []string{"temporal", "temporal-ui", "temporal-admin-tools", "prometheus"} {
		assert.True(t, mounted(name), "%s has the certificates", name)
	}
	assert.True(t, strings.HasPrefix(s["temporal-ui"].Environment["TEMPORAL_CODEC_ENDPOINT"], "https://"), "the codec endpoint over HTTPS")
}

func TestComposeRegistersEverySearchAttribute(t *testing.T) {
	cmd := strings.Join(compose(t)["temporal-admin-tools"].Command, " ")
	for name, typ := range workflows.SearchAttributes {
		assert.Contains(t, cmd, name+"="+typ)
	}
}

func TestComposeGivesEachProgramItsRequiredConfiguration(t *testing.T) {
	s := compose(t)
	for _, v := range []string{"TEMPORAL_ADDRESS", "CAREBRIDGE_CODEC_KEYS", "ACTIVEPIECES_WEBHOOK_URL", "REALTIME_BASE_URL",
		"ALLEVIATE_BASE_URL", "ALLEVIATE_API_KEY", "AKUTE_BASE_URL", "AKUTE_API_KEY"} {
		assert.Contains(t, s["worker"].Environment, v, "worker")
	}
	for _, v := range []string{"TEMPORAL_ADDRESS", "CAREBRIDGE_CODEC_KEYS", "CAREVALIDATE_AUTH_SECRET", "AKUTE_WEBHOOK_SECRET",
		"CAREBRIDGE_API_KEYS", "CAREBRIDGE_CODEC_AUTH_TOKEN", "CAREBRIDGE_SEND_TASK_QUEUE",
		// Eager sends run in the starter: the send's upstreams too.
		"ACTIVEPIECES_WEBHOOK_URL", "REALTIME_BASE_URL", "ALLEVIATE_BASE_URL", "ALLEVIATE_API_KEY"} {
		assert.Contains(t, s["starter"].Environment, v, "starter")
	}
	assert.Contains(t, s["worker"].Environment["CAREBRIDGE_CODEC_KEYS"], ":?", "the codec keys must be given")
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

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	df := string(b)
	assert.Equal(t, 2, strings.Count(df, "\nFROM "), "multi-stage: a build stage and a runtime stage")
	assert.Contains(t, df, "CGO_ENABLED=0", "static binaries")
	assert.Contains(t, df, "USER nonroot")
	assert.Contains(t, df, "./worker ./starter")
}

// The compose file's Temporal and the topology `make test-postgres` runs
// (deploy/temporal/postgres.yaml) are one configuration: if they differ,
// what the tests proved is not what a clinic deploys.
func TestComposeTemporalMatchesTheTestedTopology(t *testing.T) {
	raw, err := os.ReadFile("temporal/postgres.yaml")
	require.NoError(t, err)
	// The file is a template of the server's own (# enable-template): every
	// {{ … }} stands for a value the test does not need.
	rendered := regexp.MustCompile(`\{\{[^}]*\}\}`).ReplaceAllString(string(raw), "0")
	var cfg struct {
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
	}
	require.NoError(t, yaml.Unmarshal([]byte(rendered), &cfg))
	store := cfg.Persistence.Datastores[cfg.Persistence.DefaultStore].SQL
	visibility := cfg.Persistence.Datastores[cfg.Persistence.VisibilityStore].SQL

	env := compose(t)["temporal"].Environment
	assert.Equal(t, store.PluginName, env["DB"], "persistence plugin")
	assert.Equal(t, visibility.PluginName, env["DB"], "SQL visibility on the same PostgreSQL")
	assert.Equal(t, store.DatabaseName, env["DBNAME"])
	assert.Equal(t, visibility.DatabaseName, env["VISIBILITY_DBNAME"])
	assert.Equal(t, fmt.Sprint(cfg.Persistence.NumHistoryShards), env["NUM_HISTORY_SHARDS"])
	assert.Equal(t, devstack.Namespace, env["DEFAULT_NAMESPACE"])
	for name, svc := range compose(t) {
		if ns, ok := svc.Environment["TEMPORAL_NAMESPACE"]; ok {
			assert.Equal(t, devstack.Namespace, ns, name)
		}
	}
	assert.Contains(t, compose(t)["temporal"].Volumes,
		"./deploy/temporal/dynamicconfig.yaml:"+env["DYNAMIC_CONFIG_FILE_PATH"]+":ro", "the same dynamic configuration")
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
