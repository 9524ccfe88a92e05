#!/usr/bin/env bash
# Benchmarks our opamp extension side by side with contrib's
# extension/opampextension v0.158.0 and writes BENCHMARKS.md.
#
# Builds what is missing or stale under _build/bench/ (contrib's distro, two
# distros without any opamp extension, ocb v0.158.0, the fleet programs and
# bench/cmd/benchrun), runs the Go micro-benchmarks, then benchrun: process
# figures of the distros, repeated-status and fleet figures, medians of RUNS
# runs against the recording OpAMP server of bench/recorder. Our distro,
# _build/otelcol-opamp, comes from `make distro` (the bench target depends
# on it). Last, bench/apply.sh times a remote config's apply: in-process,
# through the OpAMP Supervisor v0.158.0, and the Collector's own reload.
#
# Env: OCB      ocb v0.165.0 (default _build/bin/builder)
#      RUNS     runs, figures are their medians (default 3)
#      N        fleet size (default 1000)
#      WINDOW   idle window of the process figures (default 60s)
#      OUTAGE   server outage in the fleet figures (default 3s)
#      APPLY_RUNS runs of every apply-latency mode (default 7)
#      OUT      the report (default BENCHMARKS.md)
#      REPORT_ONLY=1 rewrites the report from the last run's files in
#               _build/bench (after editing bench/FINDINGS.md or METHOD.md)
#      OURS_REV the commit everything of ours was built from, when the run
#               was made in a snapshot of it (git archive) rather than in
#               this working tree; the header names it instead of HEAD
#      BENCH_COMMAND the command line the header names (default make bench)
# About 14 minutes with warm build caches on 2 cores (2 of them the apply
# latency); the first build of the three extra distros adds about 6.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

OCB="${OCB:-_build/bin/builder}"
RUNS="${RUNS:-3}"
N="${N:-1000}"
WINDOW="${WINDOW:-60s}"
OUTAGE="${OUTAGE:-3s}"
OUT="${OUT:-BENCHMARKS.md}"
B=_build/bench
OCB158="$B/bin/builder"
OURS=_build/otelcol-opamp
CONTRIB_VERSION=v0.158.0

mkdir -p "$B/bin" "$B/work"
log() { echo "bench: $*" >&2; }

if [ "${REPORT_ONLY:-0}" != 1 ]; then
	if [ ! -x "$OURS" ]; then
		log "$OURS is missing; building it with scripts/distro.sh"
		OCB="$OCB" ./scripts/distro.sh
	fi
	if [ ! -x "$OCB" ]; then
		log "ocb v0.165.0 missing at $OCB; installing"
		GOBIN="$ROOT/$(dirname "$OCB")" go install go.opentelemetry.io/collector/cmd/builder@v0.165.0
	fi
	if [ ! -x "$OCB158" ]; then
		log "installing ocb $CONTRIB_VERSION into $B/bin (contrib's extension needs core v0.158.0)"
		GOBIN="$ROOT/$B/bin" go install go.opentelemetry.io/collector/cmd/builder@$CONTRIB_VERSION
	fi

	# build_distro NAME MANIFEST OCB: ocb writes dist.name into dist.output_path
	# (_build/bench/NAME-src); the binary is copied to _build/bench/NAME. Skipped
	# while the binary is newer than its manifest.
	build_distro() {
		local name=$1 manifest=$2 ocb=$3
		local bin="$B/$name" dist
		dist=$(sed -n 's/^  name: *//p' "$manifest" | head -n 1)
		if [ -x "$bin" ] && [ "$bin" -nt "$manifest" ]; then
			log "$bin is up to date"
			return
		fi
		log "building $bin from $manifest"
		"$ocb" --config="$manifest" >"$B/build-$name.log" 2>&1 || {
			tail -n 30 "$B/build-$name.log" >&2
			exit 1
		}
		cp "$B/$name-src/$dist" "$bin.tmp"
		mv -f "$bin.tmp" "$bin"
	}
	build_distro otelcol-contrib bench/distros/contrib/builder-config.yaml "$OCB158"
	build_distro otelcol-baseline bench/distros/baseline/builder-config.yaml "$OCB"
	build_distro otelcol-baseline-contrib bench/distros/baseline-contrib/builder-config.yaml "$OCB158"

	log "building benchrun and the fleet programs"
	go build -o "$B/benchrun" ./bench/cmd/benchrun
	go build -o "$B/fleet" ./bench/fleet
	(cd bench/contribfleet && GOWORK=off go build -o "$ROOT/$B/contribfleet" .)

	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	log "Go micro-benchmarks"
	MICRO_PKGS="./internal/health ./internal/effectiveconfig ./internal/components ./bench/microbench"
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	go test -run='^$' -bench=. -benchmem -count=1 $MICRO_PKGS | grep -E '^(Benchmark|goos|goarch|cpu|pkg)' >"$B/micro.txt"
	cat "$B/micro.txt" >&2

	log "side-by-side figures: $RUNS runs, fleet of $N, idle window $WINDOW"
	"$B/benchrun" \
		-ours "$OURS" -contrib "$B/otelcol-contrib" \
		-baseline "$B/otelcol-baseline" -baseline-contrib "$B/otelcol-baseline-contrib" \
		-fleet "$B/fleet" -contribfleet "$B/contribfleet" \
		-runs "$RUNS" -n "$N" -window "$WINDOW" -outage "$OUTAGE" \
		-workdir "$B/work" -json "$B/results.json" -table "$B/table.md" \
		-memprofile "$B/fleet-ours.pprof" -contrib-memprofile "$B/fleet-contrib.pprof" \
		-cpuprofile "$B/fleet-ours-cpu.pprof" -contrib-cpuprofile "$B/fleet-contrib-cpu.pprof"

	# Its own load figures: bench/apply.sh writes them into $B/apply.md.
	./bench/apply.sh

	LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
	{
		echo "RUN_DATE='$(date -u '+%Y-%m-%d %H:%M UTC')'"
		echo "LOAD_BEFORE='$LOAD_BEFORE'"
		echo "LOAD_AFTER='$LOAD_AFTER'"
		echo "RUNS='$RUNS' N='$N' WINDOW='$WINDOW' OUTAGE='$OUTAGE'"
	} >"$B/report.env"
fi
# shellcheck disable=SC1091 # written by the measuring part above
. "$B/report.env"

# top_profile PROFILE BINARY [pprof options]: the 12 largest sites.
top_profile() {
	local prof=$1 bin=$2
	shift 2
	go tool pprof -top -nodecount=12 "$@" "$bin" "$prof" 2>/dev/null | sed -n '/^Duration/p; /flat%/,$p'
}

{
	echo "# Benchmarks: ours beside contrib's extension/opampextension $CONTRIB_VERSION"
	echo
	echo "Generated by \`make bench\` (scripts/bench.sh) on $RUN_DATE; do not edit by hand."
	echo
	echo "- Command: \`${BENCH_COMMAND:-make bench}\` (RUNS=$RUNS N=$N WINDOW=$WINDOW OUTAGE=$OUTAGE)"
	echo "- Machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), Linux $(uname -r), $(go version | cut -d' ' -f3)"
	if [ -n "${OURS_REV:-}" ]; then
		ours_at="$OURS_REV (distro, fleet and micro-benchmarks built from a snapshot of that commit)"
	else
		ours_at="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' 2>/dev/null || echo ' (with uncommitted changes)')"
	fi
	echo "- Ours: github.com/opampext/opampextension at $ours_at, core v1.71.0/v0.165.0, opamp-go v0.23.0"
	echo "- Contrib: extension/opampextension $CONTRIB_VERSION, core v1.64.0/$CONTRIB_VERSION, opamp-go v0.23.0"
	echo "- Load average (1, 5, 15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER. The machine is shared: timings (start-up, CPU) move with other work on it; byte and message counts do not."
	echo "- Figures are medians of $RUNS runs made in this one invocation; \"contrib, earlier run\" is contrib's figure measured on this kind of machine before, for reference only."
	echo
	echo "## Side by side"
	echo
	cat "$B/table.md"
	echo
	if [ -f "$B/apply.md" ]; then
		echo "## Remote config: apply latency, in-process beside the Supervisor's restart"
		echo
		cat "$B/apply.md"
		echo
		cat bench/APPLY-METHOD.md
		echo
		if [ -f bench/APPLY-FINDINGS.md ]; then
			cat bench/APPLY-FINDINGS.md
			echo
		fi
	fi
	cat bench/METHOD.md
	echo
	echo "## Go micro-benchmarks"
	echo
	echo '```'
	cat "$B/micro.txt"
	echo '```'
	echo
	echo "## Profiles of the fleets (last run, top 12)"
	echo
	echo "Live heap at the measure point, ours (\`go tool pprof -sample_index=inuse_space $B/fleet $B/fleet-ours.pprof\`):"
	echo
	echo '```'
	top_profile "$B/fleet-ours.pprof" "$B/fleet" -sample_index=inuse_space
	echo '```'
	echo
	echo "Live heap, contrib's (\`$B/fleet-contrib.pprof\`):"
	echo
	echo '```'
	top_profile "$B/fleet-contrib.pprof" "$B/contribfleet" -sample_index=inuse_space
	echo '```'
	echo
	echo "CPU while idle, ours (\`$B/fleet-ours-cpu.pprof\`), cumulative:"
	echo
	echo '```'
	top_profile "$B/fleet-ours-cpu.pprof" "$B/fleet" -cum
	echo '```'
	echo
	echo "CPU while idle, contrib's (\`$B/fleet-contrib-cpu.pprof\`), cumulative:"
	echo
	echo '```'
	top_profile "$B/fleet-contrib-cpu.pprof" "$B/contribfleet" -cum
	echo '```'
	if [ -f bench/FINDINGS.md ]; then
		echo
		cat bench/FINDINGS.md
	fi
} >"$OUT"
log "wrote $OUT (raw figures: $B/results.json)"
