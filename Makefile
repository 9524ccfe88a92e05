# opampextension: build, test and maintenance targets.
GO          ?= go
BUILD_DIR   := _build
TOOLS_BIN   := $(abspath $(BUILD_DIR)/bin)

GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(TOOLS_BIN)/golangci-lint
MDATAGEN              := $(TOOLS_BIN)/mdatagen

.PHONY: all test vet fmt-check lint generate tools clean distro run e2e bench bench-smoke fuzz supervisor-suite

OCB_VERSION := v0.165.0
OCB         := $(TOOLS_BIN)/builder
DISTRO      := $(BUILD_DIR)/otelcol-opamp

all: test

## test: go vet, gofmt check, then every test with the race detector.
test: vet fmt-check
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' | grep -v '^internal/tools/'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## lint: golangci-lint at a pinned version (installed into _build/bin).
lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run --build-tags e2e ./...

$(GOLANGCI_LINT):
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

## generate: regenerate internal/metadata and the generated tests with mdatagen.
# mdatagen names generated test packages after the directory, so it runs in a
# copy of the module whose directory is called opampextension.
generate: $(MDATAGEN)
	rm -rf $(BUILD_DIR)/gen && mkdir -p $(BUILD_DIR)/gen/opampextension
	cp go.mod go.sum metadata.yaml $(BUILD_DIR)/gen/opampextension/
	printf 'package opampextension\n' > $(BUILD_DIR)/gen/opampextension/doc.go
	cd $(BUILD_DIR)/gen/opampextension && $(MDATAGEN) metadata.yaml
	cp $(BUILD_DIR)/gen/opampextension/generated_*.go $(BUILD_DIR)/gen/opampextension/documentation.md .
	rm -rf internal/metadata internal/metadatatest
	cp -r $(BUILD_DIR)/gen/opampextension/internal/metadata $(BUILD_DIR)/gen/opampextension/internal/metadatatest internal/

# mdatagen is only installable through its own tools module (see internal/tools).
$(MDATAGEN):
	cd internal/tools && $(GO) build -o $(MDATAGEN) go.opentelemetry.io/collector/cmd/mdatagen

tools: $(GOLANGCI_LINT) $(MDATAGEN) $(OCB)

## distro: build the otelcol-opamp Collector distro with ocb into _build/.
distro: $(OCB)
	OCB=$(OCB) ./scripts/distro.sh

$(OCB):
	GOBIN=$(TOOLS_BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

## run: build the distro if needed and run it against the local OpAMP dev server.
run: distro
	./scripts/run.sh

## bench: build the three distros and print/record our figures beside contrib's (BENCHMARKS.md).
bench: distro $(OCB)
	OCB=$(OCB) ./scripts/bench.sh

## bench-smoke: every Go benchmark once, so they keep compiling and working (CI).
bench-smoke:
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./...

## fuzz: run every fuzz target for FUZZTIME each (seed corpora run in `make test`).
# FUZZTIME is a duration (30s) or a count of executions (2000x). With a
# duration, Go 1.26 may end a clean run with "context deadline exceeded"
# (golang/go#75804): that is the toolchain, not a crash; no input is written.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## e2e: end-to-end tests of the distro, standalone and under the real OpAMP Supervisor.
e2e: distro
	OCB=$(OCB) ./e2e/run.sh

## supervisor-suite: the OpAMP Supervisor's own e2e suite against the distro (RUN='regex' for some tests).
supervisor-suite: distro
	./scripts/supervisor-suite.sh

clean:
	rm -rf $(BUILD_DIR)
