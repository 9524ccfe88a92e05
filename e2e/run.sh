#!/usr/bin/env bash
# Runs the end-to-end suite (see e2e/doc.go). Builds what it needs and is
# missing or older than its sources:
#   _build/opampsupervisor            from the wrapper module e2e/supervisor
#   _build/e2e/otelcol-opamp-e2e      with ocb ($OCB) from e2e/builder-config.yaml
# The main distro, _build/otelcol-opamp, comes from `make distro` (`make e2e`
# runs it first). Extra arguments go to `go test`, e.g. -run TestStandalone.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
GO="${GO:-go}"
OCB="${OCB:-$root/_build/bin/builder}"

distro="$root/_build/otelcol-opamp"
echo_distro="$root/_build/e2e/otelcol-opamp-e2e"
supervisor="$root/_build/opampsupervisor"

# stale TARGET SOURCE...: true when TARGET is missing or a source is newer.
# Directories are searched for non-test Go files, go.mod, go.sum and YAML;
# internal/tools is a module of its own and never linked.
stale() {
	local target="$1"
	shift
	[[ -e "$target" ]] || return 0
	[[ -n "$(find "$@" -path internal/tools -prune -o \
		\( -name '*.go' -not -name '*_test.go' -o -name go.mod -o -name go.sum -o -name '*.yaml' \) \
		-not -path '*/testdata/*' -newer "$target" -print 2>/dev/null | head -n 1)" ]]
}

# timed LABEL CMD...: runs CMD and reports how long it took.
timed() {
	local label="$1" start=$SECONDS
	shift
	"$@"
	echo "e2e: $label took $((SECONDS - start))s"
}

if [[ ! -x "$distro" ]]; then
	echo "e2e: $distro is missing: run 'make distro' (or 'make e2e')" >&2
	exit 1
fi

if stale "$supervisor" e2e/supervisor/go.mod e2e/supervisor/go.sum; then
	echo "e2e: building the OpAMP Supervisor"
	# go build writes to a temporary file and renames, so a failed build
	# leaves no half-written binary behind.
	timed "Supervisor build" bash -c "cd e2e/supervisor && '$GO' build -o '$supervisor' \
		github.com/open-telemetry/opentelemetry-collector-contrib/cmd/opampsupervisor"
fi

# The echo distro bundles the root module and e2e/echoext from this
# checkout, so any Go source of the module can make it stale.
if stale "$echo_distro" e2e/builder-config.yaml go.mod go.sum ./*.go internal e2e/echoext; then
	if [[ ! -x "$OCB" ]]; then
		echo "e2e: ocb not found at $OCB: set OCB or run 'make tools'" >&2
		exit 1
	fi
	echo "e2e: building the echo distro with $OCB"
	timed "echo distro build" "$OCB" --config=e2e/builder-config.yaml
fi

export E2E_OTELCOL="$distro" E2E_OTELCOL_ECHO="$echo_distro" E2E_SUPERVISOR="$supervisor"
timed "e2e tests" "$GO" test -tags e2e -count=1 -v -timeout 20m "$@" ./e2e/...
