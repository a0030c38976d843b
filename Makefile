# flowtop — `make help` lists the targets.
GO        ?= go
PKGS      := ./...
FUZZTIME  ?= 10s
BENCHTIME ?= 1x
FIDELITY_ORDERS ?= 200
FIDELITY_RATE   ?= 10

# golangci-lint is built from the Go module proxy by `go install`, pinned, into
# ./bin. The file name carries the Go version it was built with: a linter built
# by an older Go refuses code for a newer one, so a toolchain bump rebuilds it.
GOLANGCI_LINT_VERSION := v2.15.0
GOVERSION             := $(shell $(GO) env GOVERSION)
GOLANGCI_LINT         := $(CURDIR)/bin/golangci-lint-$(GOLANGCI_LINT_VERSION)-$(GOVERSION)
export GOLANGCI_LINT GOLANGCI_LINT_VERSION

# CI=true (CI sets it; .ci/run runs make test): a test tool that cannot be
# installed fails the run instead of skipping what it checks.
CI_ON := $(if $(filter-out false FALSE 0,$(strip $(CI))),true,)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/flowtop
	$(GO) build -o bin/flowtop ./cmd/flowtop

.PHONY: demo
demo: ## the TUI over the embedded sandbox (no AWS account needed)
	$(GO) run ./cmd/flowtop demo

.PHONY: test
test: test-deps tidy-check vet fmt-check check-deps ## tools, tidy go.mod, vet, gofmt, import rules, golangci-lint, then go test -race
	@if [ -x "$(GOLANGCI_LINT)" ] || [ -n "$(CI_ON)" ]; then \
	  $(MAKE) --no-print-directory lint; \
	else echo "test: golangci-lint $(GOLANGCI_LINT_VERSION) is not installed (see test-deps above): lint skipped"; fi
	$(GO) test -race -timeout 8m $(PKGS)
	@# The graph's records live outside the Go heap except under -race
	@# (graph/offheap_mmap.go): run its tests once more on the mapped path.
	$(GO) test -count=1 -timeout 4m ./graph/

.PHONY: tidy-check
tidy-check: ## fail if go.mod or go.sum is not what go mod tidy would write
	@$(GO) mod tidy -diff || { echo "tidy-check: go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

.PHONY: vet
vet: ## go vet
	$(GO) vet $(PKGS)

.PHONY: fmt-check
fmt-check: ## fail if any file is not gofmt-clean
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

.PHONY: fmt
fmt: $(GOLANGCI_LINT) ## gofumpt every file (golangci-lint fmt)
	$(GOLANGCI_LINT) fmt $(PKGS)

.PHONY: check-deps
check-deps: ## import rules without golangci-lint (lint's depguard checks the same and more)
	@bad=$$($(GO) list -deps ./graph/... ./tracing/... ./tui/... 2>/dev/null | grep -E 'aws-sdk-go-v2|flowtop/collectors|flowtop/sandbox|flowtop/replay|flowtop/engine' || true); \
	if [ -n "$$bad" ]; then echo "forbidden imports under graph/, tracing/ or tui/:"; echo "$$bad"; exit 1; fi
	@bad=$$($(GO) list -f '{{.ImportPath}}: {{join .Imports " "}}' $(PKGS) | grep -v -E '^github.com/flowtop/flowtop/(cmd|tui)(/|:)' | grep -E ' github.com/flowtop/flowtop/tui(/|$$| )' || true); \
	if [ -n "$$bad" ]; then echo "only cmd/ may import tui/ (tui's own packages may import each other):"; echo "$$bad"; exit 1; fi
	@bad=$$($(GO) list -f '{{.ImportPath}}: {{join .Imports " "}}' $(PKGS) | grep -E ' github.com/flowtop/flowtop/cmd(/|$$| )' || true); \
	if [ -n "$$bad" ]; then echo "nothing imports cmd/:"; echo "$$bad"; exit 1; fi
	@echo "check-deps: ok"

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint: depguard, errorlint, godot, sloglint, staticcheck, gofumpt, ... (.golangci.yml)
	$(GOLANGCI_LINT) run $(PKGS)

# errorlint's own fixes are left out: they break `if ...; else if ...` chains of
# type assertions (invalid Go) and wrap plain assertions in closures; fix those
# by hand with errors.As. `make lint` still reports them.
.PHONY: lint-fix
lint-fix: $(GOLANGCI_LINT) ## apply the fixes golangci-lint can make safely (gofumpt, godot, sloglint, ...), then lint
	$(GOLANGCI_LINT) run --fix --disable errorlint $(PKGS) >/dev/null || true
	$(GOLANGCI_LINT) run $(PKGS)

.PHONY: tools
tools: $(GOLANGCI_LINT) ## build the pinned golangci-lint into bin/

$(GOLANGCI_LINT):
	@mkdir -p $(CURDIR)/bin/.install
	GOBIN=$(CURDIR)/bin/.install $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(CURDIR)/bin/.install/golangci-lint $@
	@rmdir $(CURDIR)/bin/.install

.PHONY: fidelity
fidelity: ## score what flowtop shows against the sandbox world's recorded truth (a longer world; FIDELITY_ORDERS)
	@out=$$($(GO) test -count=1 -timeout 10m -run '^TestFidelity$$' -v ./sandbox/fidelity -args -fidelity.orders=$(FIDELITY_ORDERS) -fidelity.rate=$(FIDELITY_RATE) 2>&1); rc=$$?; \
	echo "$$out" | grep -E '^(fidelity|map):'; \
	if [ $$rc -ne 0 ]; then echo "$$out"; fi; exit $$rc

.PHONY: bench
# The whole-process figures first, each benchmark as its comment says how to
# run it: the OTLP receiver end to end (CPU µs per span at batch 100 and 1000,
# heap per held span; E2E_EXPORTS exports per batch size), one held event's
# RSS and live heap in a process of its own, the / filter per keystroke over
# 1M events (exact answers, then as the console asks: each read's worst
# wall and CPU ms, first keystroke, next ones, backspace, status:dead), and
# the console's idle cost with a filter standing, and each key's time from
# its bytes on the input to the frame that answers it, through the real
# terminal layer at both frame rates. Then every other benchmark once.
E2E_EXPORTS ?= 400
WHOLE_BENCH := ^(BenchmarkReceiverE2E|BenchmarkHeldRSS1M|BenchmarkFilter1M|BenchmarkFilterKeys1M|BenchmarkIdleFilter1M|BenchmarkKeyToFrame)$$
bench: ## the speed and memory benchmarks: whole-process figures first (see the closing notes for figures)
	$(GO) test -run '^$$' -bench '^BenchmarkReceiverE2E$$' -benchtime $(E2E_EXPORTS)x ./collectors/otlp
	$(GO) test -run '^$$' -bench '^(BenchmarkHeldRSS1M|BenchmarkFilter1M|BenchmarkFilterKeys1M)$$' -benchtime 1x ./graph
	$(GO) test -run '^$$' -bench '^BenchmarkIdleFilter1M$$' -benchtime 5x ./tui
	$(GO) test -run '^$$' -bench '^BenchmarkKeyToFrame$$' -benchtime 1x ./tui
	$(GO) test -run '^$$' -skip '$(WHOLE_BENCH)' -bench . -benchmem -benchtime $(BENCHTIME) ./...

.PHONY: fuzz
# Every Fuzz target of every package, found by go test -list: a package
# whose tests do not build fails the run instead of skipping its targets.
fuzz: ## run every fuzz target for FUZZTIME (default 10s) each
	@n=0; for pkg in $$($(GO) list ./...); do \
	  list=$$($(GO) test -list '^Fuzz' $$pkg) || { echo "fuzz: $$pkg: go test -list failed"; echo "$$list"; exit 1; }; \
	  for f in $$(echo "$$list" | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; n=$$((n+1)); \
	  done; \
	done; echo "fuzz: $$n targets, $(FUZZTIME) each"

.PHONY: golden
golden: ## rewrite the TUI golden files (review the diff!)
	$(GO) test ./tui/... -update

.PHONY: test-deps
test-deps: ## install the tools tests drive (AWS CLI, Graphviz, jq, golangci-lint); under CI=true a missing one fails
	@./scripts/test-deps.sh
