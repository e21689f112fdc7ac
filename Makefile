# carebridge: `make run` starts everything locally, `make test` is the suite CI runs.
GO ?= go
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test lint unit tools bench test-faults test-postgres test-cluster nginx postgres histories test-ui test-traces jaeger promtool rules test-alerts chromium

## run: Temporal dev server, sandbox, worker and starter, in development mode (CAREBRIDGE_DEV=true: open, plain HTTP,
## loopback only); Ctrl-C stops them.
run:
	@echo "Building (the pinned temporal CLI takes a few minutes the first time)..."
	$(GO) run ./cmd/devstack

## test: formatting, vet, staticcheck, the alert rules (promtool), every test (integration included), a short fuzz run.
test: lint rules
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -run '^$$' -fuzz '^FuzzParseHeader$$' -fuzztime 150000x ./webhooks/akute/
	$(GO) test -run '^$$' -fuzz '^FuzzStringify$$' -fuzztime 150000x ./internal/hmacsig/

## bench: carebridge against the direct design (BENCHMARKS.md); flags: make bench ARGS="-sends 1000"
bench:
	$(GO) run ./cmd/bench $(ARGS)

## histories: record every replay-test history again from the real stack (workflows/testdata/histories/README.md).
## Until v1.0.0 a workflow change re-records them in the same commit; from v1.0.0 on, released ones are never replaced.
histories:
	$(GO) run ./cmd/histories -overwrite $(ARGS)

## test-faults: the real stack under load, broken in every way we know; nothing may be lost.
test-faults:
	$(GO) test -count=1 -tags faults -timeout 20m -v ./faults/

## test-traces: one send and one CareValidate delivery, traced by the real stack into Jaeger (the pinned Go tool of
## tools/jaeger, in memory, on loopback) and read back: every hop, one trace each, parents present, no PHI.
test-traces: jaeger
	$(GO) test -count=1 -tags traces -timeout 15m -v ./traces/

## jaeger: build the pinned Jaeger v2 (tools/jaeger/go.mod; cached afterwards).
jaeger:
	$(GO) -C tools/jaeger tool -n jaeger >/dev/null

## test-postgres: the production topology natively: carebridge's build of Temporal's server on PostgreSQL with mTLS and
## its authorizer, a real OpenID Connect provider (dev/oidc), two workers, the core paths with carebridge in production
## mode (TLS listeners, credentials, client-credentials tokens), who may do what (the token matrix), the audit trail,
## the security checks and three faults.
POSTGRES_CORE = TestSendReturnsAlleviatesAnswer|TestSendUnknownPatientIs404|TestSendSurvivesAnUpstreamFailingTwice|TestCaseLifeThroughTheWebhook|TestAkuteTaskCompletedReachesTheCase
POSTGRES_SECURITY = TestTemporalRequiresClientCertificates|TestProductionStarterServesTLSAndARotatedCertificate|TestTemporalEnforcesWhoMayDoWhat|TestTheAPIAndTheCodecKnowPeople|TestTheAuditTrailIsTamperEvident
POSTGRES_FAULTS = TestWorkerKilledMidLoad|TestDatabaseRestartedMidLoad|TestTemporalRestartedMidLoad
test-postgres: tools postgres
	$(GO) test -count=1 -timeout 15m -v -run '^($(POSTGRES_CORE)|$(POSTGRES_SECURITY))$$' ./integration/ -args -server postgres
	$(GO) test -count=1 -tags faults -timeout 15m -v -run '^($(POSTGRES_FAULTS))$$' ./faults/ -args -server postgres

## test-cluster: Temporal as a cluster of separate services (two frontends, two history hosts sharing the shards,
## matching, the internal frontend, the worker service: each its own process) on PostgreSQL, two starters and two
## workers, nginx in front of the frontends and of the starters; load through the proxy while the history host that
## owns shards is SIGKILLed (its shards move to the other), then a frontend: nothing lost, nothing duplicated.
test-cluster: tools postgres nginx
	$(GO) test -count=1 -tags faults -timeout 15m -v -run '^TestCluster' ./faults/ -args -server cluster

## nginx: install Debian's nginx and its stream (TCP proxy) module when they are missing.
nginx:
	@test -e /usr/lib/nginx/modules/ngx_stream_module.so || \
		{ echo "Installing nginx..."; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-stream >/dev/null; }

## postgres: install Debian's PostgreSQL when it is missing (the tests start a throwaway cluster of their own).
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || \
		{ echo "Installing PostgreSQL..."; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

## test-ui: the Temporal Web UI in Debian's Chromium (headless, playwright-core): summaries, current details decrypted
## through the codec endpoint, the update dialog's described handlers; and, on the production topology, people signing
## in through the OpenID Connect provider (an operator's update accepted, a reader's refused, both on the audit
## trail); screenshots in ui-results/.
test-ui: tools chromium postgres
	cd uitest && npm ci --no-audit --no-fund --loglevel=error
	$(GO) test -count=1 -tags ui -timeout 15m -v ./uitest/

## chromium: install Debian's Chromium when it is missing (make test-ui and make test-alerts drive it headless).
chromium:
	@command -v chromium >/dev/null 2>&1 || \
		{ echo "Installing Chromium..."; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## rules: check deploy/prometheus/alerts.yml and run its unit tests (alerts_test.yml) with promtool.
rules: promtool
	promtool check rules deploy/prometheus/alerts.yml
	cd deploy/prometheus && promtool test rules alerts_test.yml

## promtool: install Debian's Prometheus (promtool, prometheus) when promtool is missing.
promtool:
	@command -v promtool >/dev/null 2>&1 || \
		{ echo "Installing Prometheus..."; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; }

## test-alerts: the stack scraped by a real Prometheus with the alert rules, a real Alertmanager: a case needing
## attention fires its alert and resolves it after retry; every dashboard panel's query returns series; Prometheus'
## alerts page in headless Chromium shows it firing (screenshot in ui-results/).
test-alerts: tools promtool chromium
	@command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || \
		{ echo "Installing Alertmanager..."; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager >/dev/null; }
	$(GO) test -count=1 -tags alerts -timeout 15m -v -run '^TestAlerts' ./deploy/

## unit: the tests that need no Temporal server (seconds).
unit:
	$(GO) test -count=1 -short ./...

lint:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

## tools: build the pinned temporal CLI (tools/), carebridge's build of Temporal's server and its SQL tool
## (tools/server) and Temporal's UI server (tools/ui), cached afterwards. The last two need Go 1.26.10, which the go
## command fetches as go1.27.3 through the module proxy.
SERVER_GO = GOTOOLCHAIN=go1.27.3 $(GO)
tools:
	$(GO) -C tools tool -n temporal >/dev/null
	$(SERVER_GO) -C tools/server tool -n server >/dev/null
	$(SERVER_GO) -C tools/server tool -n sql >/dev/null
	$(SERVER_GO) -C tools/ui tool -n server >/dev/null
