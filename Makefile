# carebridge: `make run` starts everything locally, `make test` is the suite CI runs.
GO ?= go
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test lint unit tools bench test-faults histories

## run: Temporal dev server, sandbox, worker and starter; Ctrl-C stops them.
run:
	@echo "Building (the pinned temporal CLI takes a few minutes the first time)..."
	$(GO) run ./cmd/devstack

## test: formatting, vet, staticcheck, every test (integration included), a short fuzz run.
test: lint
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -run '^$$' -fuzz '^FuzzParseHeader$$' -fuzztime 5s ./clients/akute/akutewebhook/
	$(GO) test -run '^$$' -fuzz '^FuzzStringify$$' -fuzztime 5s ./internal/hmacsig/

## bench: carebridge against the direct design (BENCHMARKS.md); flags: make bench ARGS="-sends 1000"
bench:
	$(GO) run ./cmd/bench $(ARGS)

## histories: record the replay test's histories from the real stack (workflows/testdata/histories/README.md).
histories:
	$(GO) run ./cmd/histories $(ARGS)

## test-faults: the real stack under load, broken in every way we know; nothing may be lost.
test-faults:
	$(GO) test -count=1 -tags faults -timeout 20m -v ./faults/

## unit: the tests that need no Temporal server (seconds).
unit:
	$(GO) test -count=1 -short ./...

lint:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

## tools: build the pinned temporal CLI (cached afterwards).
tools:
	$(GO) -C tools tool -n temporal >/dev/null
