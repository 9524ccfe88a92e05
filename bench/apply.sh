#!/usr/bin/env bash
# Apply latency of a remote configuration (bench/cmd/applyrun): our
# extension in-process, the OpAMP Supervisor v0.158.0 restarting our distro,
# and the Collector's own SIGHUP reload, APPLY_RUNS runs each in one
# invocation. scripts/bench.sh runs it as part of `make bench`; `make
# bench-smoke` runs it with QUICK=1 (one run, no verdict) so that it keeps
# working.
#
# Builds what is missing: the Supervisor at _build/opampsupervisor from the
# wrapper module e2e/supervisor (the module proxy's source of
# cmd/opampsupervisor v0.158.0, the binary `make e2e` uses), and applyrun.
# Our distro is _build/otelcol-opamp (`make distro`; in a snapshot run of
# scripts/bench.sh, the snapshot's own).
#
# Writes $B/apply.md (the section of BENCHMARKS.md: command, load, table)
# and $B/apply.json (every sample with its timeline); QUICK=1 writes
# $B/apply-quick.md and .json instead, which no report reads.
#
# Env: APPLY_RUNS  runs of every mode (default 7; QUICK=1: 1)
#      QUICK       1: one run, no verdict
#      OURS        our distro (default _build/otelcol-opamp)
#      OURS_REV    the commit OURS was built from, for the report (default:
#                  HEAD, marked when the tree has uncommitted changes)
#      GO          the go command (default go)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
GO="${GO:-go}"
B=_build/bench
OURS="${OURS:-_build/otelcol-opamp}"
SUPERVISOR=_build/opampsupervisor
QUICK="${QUICK:-0}"
if [ "$QUICK" = 1 ]; then
	RUNS=1 VERDICT=false NAME=apply-quick
else
	RUNS="${APPLY_RUNS:-7}" VERDICT=true NAME=apply
fi
log() { echo "bench/apply: $*" >&2; }

mkdir -p "$B/$NAME"
if [ ! -x "$OURS" ]; then
	log "$OURS is missing: run 'make distro'"
	exit 1
fi
if [ ! -x "$SUPERVISOR" ] || [ e2e/supervisor/go.sum -nt "$SUPERVISOR" ] || [ e2e/supervisor/go.mod -nt "$SUPERVISOR" ]; then
	log "building the OpAMP Supervisor from e2e/supervisor"
	(cd e2e/supervisor && "$GO" build -o "$ROOT/$SUPERVISOR" github.com/open-telemetry/opentelemetry-collector-contrib/cmd/opampsupervisor)
fi
"$GO" build -o "$B/applyrun" ./bench/cmd/applyrun

args=(-ours "$OURS" -supervisor "$SUPERVISOR" -runs "$RUNS" -verdict="$VERDICT"
	-workdir "$B/$NAME" -json "$B/$NAME.json" -table "$B/$NAME-table.md")
log "apply latency: $RUNS run(s) of every mode"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
"$B/applyrun" "${args[@]}"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo "- Command: \`$B/applyrun ${args[*]}\` (bench/apply.sh$([ "$QUICK" = 1 ] && echo ", QUICK=1"), $(date -u '+%Y-%m-%d %H:%M UTC'))"
	rev="${OURS_REV:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' 2>/dev/null || echo ' (with uncommitted changes)')}"
	echo "- Ours: the distro built from $rev; the Supervisor: cmd/opampsupervisor v0.158.0 from the module proxy (e2e/supervisor)"
	echo "- Load average (1, 5, 15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER"
	echo
	cat "$B/$NAME-table.md"
} >"$B/$NAME.md"
log "wrote $B/$NAME.md (samples and timelines: $B/$NAME.json)"
