# Surge — make targets. `make` alone lists them.
SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO          ?= go
BIN         := $(CURDIR)/bin
# Debian packages the integration tests and the demo start privately on 127.0.0.1.
APT_PACKAGES := rabbitmq-server prometheus
# Unit tests run with -race; integration tests start one control plane per package.
TEST_TIMEOUT ?= 45m
TEST_P       ?= 2
PKGS         ?= ./...

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install what is missing: Debian packages (RabbitMQ, Prometheus) and Go modules
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo ">> installing Debian packages:$$missing (about 1-2 minutes)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq; \
	  apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
	  { echo ">> apt-get failed once (a transient dpkg error is known here); retrying"; \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; }; \
	fi
	@echo ">> downloading Go modules"; $(GO) mod download; (cd test/controlplane && $(GO) mod download)

.PHONY: controlplane
controlplane: ## Build the embedded control plane once per machine (first time: 11-17 min on 2 cores)
	@$(GO) run ./test/harness/cpbuild >/dev/null

.PHONY: build
build: ## Build surge, surge-scaler, surge-vnode and bench-worker into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/... ./bench/cmd/...

.PHONY: lint
lint: ## go vet and gofmt check
	@echo ">> go vet"; $(GO) vet ./...
	@echo ">> gofmt"; out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^test/controlplane/') test/controlplane/*.go); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: generate
generate: ## Regenerate deepcopy code and CRDs (controller-gen, pinned in go.mod)
	$(GO) tool controller-gen object paths=./scaler/api/... crd paths=./scaler/api/... output:crd:dir=charts/surge-scaler/crds

.PHONY: test-unit
test-unit: ## Unit tests with -race (no external components)
	@echo ">> unit tests (-race -short)"
	$(GO) test -race -short -count=1 $(PKGS)

.PHONY: test-integration
test-integration: controlplane ## Integration and end-to-end tests (control plane, RabbitMQ, Prometheus, kfake)
	@echo ">> integration and end-to-end tests (one control plane and broker per package, $(TEST_P) packages at a time)"
	$(GO) test -count=1 -p $(TEST_P) -timeout $(TEST_TIMEOUT) $(PKGS)

.PHONY: test
test: deps lint controlplane test-unit test-integration ## Install what is missing, then lint, unit and integration tests
	@echo ">> make test: all green"

.PHONY: bench
bench: deps controlplane build ## Go benchmarks (benchstat format) and scale-up scenarios into bench/results/DATE
	@out=bench/results/$$(date +%Y%m%d-%H%M%S); mkdir -p $$out; \
	echo ">> go benchmarks -> $$out/go-bench.txt (compare runs with: go run golang.org/x/perf/cmd/benchstat old new)"; \
	$(GO) test -run '^$$' -bench . -benchmem -count 5 -timeout 60m ./... | tee $$out/go-bench.txt; \
	echo ">> scenarios -> $$out"; \
	for s in burst ramp scale-in; do $(BIN)/surge bench $$s --out $$out || exit 1; done; \
	echo ">> results in $$out"

.PHONY: demo
demo: deps controlplane build ## The whole product: control plane, RabbitMQ, scaler, virtual node, a burst, a live timeline
	$(BIN)/surge demo

.PHONY: clean
clean: ## Remove bin/ (the control-plane cache in ~/.cache/surge stays)
	rm -rf $(BIN)
