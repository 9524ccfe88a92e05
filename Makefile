# opampextension: build, test and maintenance targets.
GO          ?= go
BUILD_DIR   := _build
TOOLS_BIN   := $(abspath $(BUILD_DIR)/bin)

GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(TOOLS_BIN)/golangci-lint
MDATAGEN              := $(TOOLS_BIN)/mdatagen

.PHONY: all help test vet fmt-check lint generate tools clean distro distro-compat run e2e bench bench-smoke fuzz supervisor-suite conformance

OCB_VERSION := v0.165.0
OCB         := $(TOOLS_BIN)/builder
DISTRO      := $(BUILD_DIR)/otelcol-opamp

all: test

## help: list the targets with what each does.
help:
	@sed -n 's/^## \([a-z0-9-]*\): /\1\t/p' $(MAKEFILE_LIST) | expand -t 18

# The race detector needs cgo and a C compiler; without them the tests run
# without it, after saying so.
RACE := $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)

## test: go vet, gofmt check, then every test with the race detector (needs cgo and a C compiler, e.g. gcc).
test: vet fmt-check
	@[ -n "$(RACE)" ] || echo "make test: no C compiler for cgo ($$($(GO) env CC)), so the tests run WITHOUT the race detector; install gcc for -race" >&2
	$(GO) test $(RACE) -count=1 ./...

vet:
	$(GO) vet ./...

# Every Go file of the tree, whether or not it is a git checkout.
fmt-check:
	@files="$$(find . \( -path ./_build -o -path ./.git -o -path ./internal/tools \) -prune -o -name '*.go' -print)"; \
	[ -n "$$files" ] || { echo "fmt-check: no Go files found" >&2; exit 1; }; \
	out="$$(gofmt -l $$files)" || exit 1; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## conformance: regenerate CONFORMANCE.md from conformance/rules.go, then run the OpAMP conformance suite.
conformance:
	$(GO) run ./conformance/gen CONFORMANCE.md
	$(GO) test $(RACE) -count=1 ./conformance/

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

# The previous core release, which a user's distro may still be on.
COMPAT_OCB_VERSION := v0.164.0
COMPAT_OCB         := $(TOOLS_BIN)/builder-$(COMPAT_OCB_VERSION)

## distro-compat: build a distro of the previous core release (v0.164) with this extension, as a user's would.
distro-compat: $(COMPAT_OCB)
	$(COMPAT_OCB) --config=e2e/compat/builder-config.yaml
	_build/compat/otelcol-opamp-compat components | grep -q 'name: opamp'
	@echo "distro-compat: ocb $(COMPAT_OCB_VERSION) built _build/compat/otelcol-opamp-compat with this extension"

$(COMPAT_OCB):
	rm -rf $(BUILD_DIR)/compat-ocb && GOBIN=$(abspath $(BUILD_DIR)/compat-ocb) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(COMPAT_OCB_VERSION)
	mv $(BUILD_DIR)/compat-ocb/builder $@

## run: build the distro if needed and run it against the local OpAMP dev server (CONFIG=file picks the Collector config).
run: distro
	./scripts/run.sh

## bench: build the three distros and print/record our figures beside contrib's, and a remote config's apply latency beside the Supervisor's (BENCHMARKS.md).
bench: distro $(OCB)
	OCB=$(OCB) ./scripts/bench.sh

## bench-smoke: every Go benchmark once, and one apply-latency run without verdict, so they keep compiling and working (CI).
bench-smoke: distro
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./...
	QUICK=1 ./bench/apply.sh

## fuzz: run every fuzz target for FUZZTIME each (seed corpora run in `make test`).
# FUZZTIME is a duration (30s) or a count of executions (2000x). With a
# duration, Go 1.26 may end a clean run with "context deadline exceeded"
# (golang/go#75804): that is the toolchain, not a crash; no input is written.
# Targets in FUZZ_SLOW drive a real agent and server for every input (tens
# of ms each, more while the fuzzer minimises): FUZZTIME_SLOW bounds them.
FUZZTIME ?= 30s
FUZZTIME_SLOW ?= $(FUZZTIME)
FUZZ_SLOW := FuzzReportedStrings
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    t=$(FUZZTIME); case " $(FUZZ_SLOW) " in *" $$f "*) t=$(FUZZTIME_SLOW);; esac; \
	    echo "== $$pkg $$f ($$t)"; \
	    $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$$t $$pkg || exit 1; \
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
