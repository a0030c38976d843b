# flowtop — `make help` lists the targets.
GO        ?= go
PKGS      := ./...
FUZZTIME  ?= 10s
BENCHTIME ?= 1x
FIDELITY_ORDERS ?= 200
FIDELITY_RATE   ?= 10

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
test: vet fmt-check check-deps test-deps ## vet, gofmt check, import rules, then go test -race
	$(GO) test -race -timeout 8m $(PKGS)

.PHONY: vet
vet: ## go vet
	$(GO) vet $(PKGS)

.PHONY: fmt-check
fmt-check: ## fail if any file is not gofmt-clean
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

.PHONY: fmt
fmt: ## gofmt -w every file
	gofmt -w $$(git ls-files '*.go')

.PHONY: check-deps
check-deps: ## graph/, tracing/ and tui/ import no AWS SDK or collectors; nothing imports tui/ or cmd/ but cmd
	@bad=$$($(GO) list -deps ./graph/... ./tracing/... ./tui/... 2>/dev/null | grep -E 'aws-sdk-go-v2|flowtop/collectors|flowtop/sandbox|flowtop/replay' || true); \
	if [ -n "$$bad" ]; then echo "forbidden imports under graph/, tracing/ or tui/:"; echo "$$bad"; exit 1; fi
	@bad=$$($(GO) list -f '{{.ImportPath}}: {{join .Imports " "}}' $(PKGS) | grep -v '^github.com/flowtop/flowtop/cmd/' | grep -E ' github.com/flowtop/flowtop/(tui|cmd)(/|$$| )' || true); \
	if [ -n "$$bad" ]; then echo "only cmd/ may import tui/, and nothing imports cmd/:"; echo "$$bad"; exit 1; fi
	@echo "check-deps: ok"

.PHONY: lint
lint: vet fmt-check check-deps ## vet, gofmt and the import rules

.PHONY: fidelity
fidelity: ## score what flowtop shows against the sandbox world's recorded truth (a longer world; FIDELITY_ORDERS)
	@out=$$($(GO) test -count=1 -timeout 10m -run '^TestFidelity$$' -v ./sandbox/fidelity -args -fidelity.orders=$(FIDELITY_ORDERS) -fidelity.rate=$(FIDELITY_RATE) 2>&1); rc=$$?; \
	echo "$$out" | grep -E '^(fidelity|map):'; \
	if [ $$rc -ne 0 ]; then echo "$$out"; fi; exit $$rc

.PHONY: bench
bench: ## the speed and memory benchmarks (see the closing notes for figures)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME (default 10s) each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

.PHONY: golden
golden: ## rewrite the TUI golden files (review the diff!)
	$(GO) test ./tui/... -update

.PHONY: test-deps
test-deps: ## install the AWS CLI and Graphviz that some tests drive, if missing and possible
	@./scripts/test-deps.sh
