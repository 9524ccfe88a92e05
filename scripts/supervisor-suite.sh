#!/usr/bin/env bash
# Runs the OpAMP Supervisor's own end-to-end suite (contrib
# cmd/opampsupervisor, e2e_test.go, build tag e2e) against our distro.
#
# The Supervisor's code is not kept in this repository: its module source is
# fetched with the go command at SUPERVISOR_VERSION and copied under
# _build/supervisor-suite/, laid out as in contrib so that the executable
# path of its test templates, ../../bin/otelcontribcol_<os>_<arch>, resolves
# to contrib/bin/ there, where our distro is copied. In the copy, only what
# cannot build here is removed:
#   - the tests that import contrib's testbed, which the module proxy refuses
#     (DROP_TESTS; scripts/supsuite removes them and their unused imports),
#   - the replace directives of its go.mod (they point into the contrib
#     monorepo) and its requirement on testbed;
# and the test scripts get back the executable bit module zips drop.
# The tests are compiled once into suite.test (rebuilt when the copy
# changes), and each top-level test runs in its own process and process
# group, bounded by BOUND (SLOW_BOUND for tests that build Go code), so one
# test's leftover collectors cannot disturb the next: the group is killed
# when the test ends.
#
# Prints "PASS Name (1.2s)" or "FAIL Name (1.2s)" per test, then the log
# path and tail of each failure, and last, alone on its line,
# "N passed, M failed". Exits non-zero when a test failed.
#
# Env: RUN         regular expression selecting top-level tests (default all)
#      BOUND       per-test time limit, as 90, 90s, 3m or 1h (default 180s)
#      SLOW_BOUND  limit for TestSupervisorBinarySize, which runs go build
#                  (default 900s)
#      RETRY_RACE  1 (default): run a test again once when it failed with
#                  the signature of a known Supervisor race (see below); 0:
#                  never
#      DISTRO      the Collector to test (default _build/otelcol-opamp)
#      GO          the go command (default go)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

GO="${GO:-go}"
RUN="${RUN:-.*}"
BOUND="${BOUND:-180s}"
SLOW_BOUND="${SLOW_BOUND:-900s}"
DISTRO="${DISTRO:-$root/_build/otelcol-opamp}"

SUPERVISOR_MODULE=github.com/open-telemetry/opentelemetry-collector-contrib/cmd/opampsupervisor
# v0.158.0 is the newest version the module proxy serves.
SUPERVISOR_VERSION=v0.158.0
TESTBED_MODULE=github.com/open-telemetry/opentelemetry-collector-contrib/testbed
DROP_TESTS=TestSupervisorRemoteConfigApplyStatus,TestSupervisorEmitBootstrapTelemetry
# A failed test runs once more when its log shows a known race of the
# Supervisor itself, not of the Collector. In HUP-reload mode the Supervisor
# rewrites effective.yaml in place (os.WriteFile: truncate, then write) when
# a remote config arrives, while the collector it has just started may be
# reading that file; the collector then reads an empty file, exits with
# "invalid configuration: empty configuration file", and the Supervisor,
# busy waiting for the agent, only logs RACE_SIGNATURE after 10 s. Any test
# with a HUPReload subtest can hit it (about 1 in 20 subtest runs here).
RACE_SIGNATURE='Failed to HUP restart agent.*agent has not started after'
RETRY_RACE="${RETRY_RACE:-1}"

work="$root/_build/supervisor-suite"
moddir="$work/contrib/cmd/opampsupervisor"
suite="$moddir/suite.test"
logs="$work/logs"
stamp="$work/source.stamp"

log() { echo "supervisor-suite: $*"; }

# timed LABEL CMD...: runs CMD and reports how long it took.
timed() {
	local label="$1" start=$SECONDS
	shift
	"$@"
	log "$label took $((SECONDS - start))s"
}

# What the prepared copy depends on: when it changes, the copy is redone.
source_key() {
	printf '%s@%s drop=%s\n' "$SUPERVISOR_MODULE" "$SUPERVISOR_VERSION" "$DROP_TESTS"
	sha256sum scripts/supsuite/main.go scripts/supervisor-suite.sh | cut -d' ' -f1
}

# prepare copies the module source, removes what cannot build here and
# records the key of what it did.
prepare() {
	local dir
	dir="$("$GO" mod download -json "$SUPERVISOR_MODULE@$SUPERVISOR_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
	[[ -d "$dir" ]] || {
		log "go mod download gave no source directory" >&2
		exit 1
	}
	rm -rf "$moddir" "$stamp"
	mkdir -p "$(dirname "$moddir")"
	cp -r "$dir" "$moddir"
	# Module zips keep no file modes: give the test scripts back the
	# executable bit they have in contrib's repository.
	chmod -R u+w "$moddir"
	find "$moddir" -name '*.sh' -exec chmod +x {} +
	"$GO" run ./scripts/supsuite -file "$moddir/e2e_test.go" -drop "$DROP_TESTS"
	(
		cd "$moddir"
		# After -fmt, a replace directive is a "replace ..." line or a
		# "replace (" ... ")" block.
		"$GO" mod edit -fmt
		awk '/^replace \($/ { block = 1; next }
			block && /^\)$/ { block = 0; next }
			block || /^replace / { next }
			{ print }' go.mod >go.mod.tmp
		mv go.mod.tmp go.mod
		"$GO" mod edit -droprequire="$TESTBED_MODULE"
	)
	source_key >"$stamp"
}

if [[ ! -f "$stamp" || "$(source_key)" != "$(cat "$stamp")" ]]; then
	log "preparing $SUPERVISOR_MODULE@$SUPERVISOR_VERSION in $moddir"
	timed "source preparation" prepare
fi

# The test binary is rebuilt when any file of the copy is newer than it.
if [[ ! -x "$suite" || -n "$(find "$moddir" -path "$suite" -prune -o -type f -newer "$suite" -print | head -n 1)" ]]; then
	log "compiling the suite"
	# -mod=mod: the replaced modules have no go.sum lines in the original;
	# the go command adds them for exactly the packages this build needs
	# (go mod tidy would look at every test of the module, testbed's too).
	timed "suite build" bash -c "cd '$moddir' && '$GO' test -mod=mod -c -tags e2e -o '$suite.tmp' . && mv -f '$suite.tmp' '$suite'"
fi

if [[ ! -x "$DISTRO" ]]; then
	log "$DISTRO is missing: run 'make distro' (or 'make supervisor-suite')" >&2
	exit 1
fi

collector="$work/contrib/bin/otelcontribcol_$("$GO" env GOOS)_$("$GO" env GOARCH)"
if ! cmp -s "$DISTRO" "$collector"; then
	mkdir -p "$(dirname "$collector")"
	cp "$DISTRO" "$collector.tmp"
	mv -f "$collector.tmp" "$collector"
fi

# seconds DURATION: a bound given as 90, 90s, 3m or 1h, in seconds.
seconds() {
	local n
	case "$1" in
	"" | [smh] | *[!0-9]*[smh] | *[!0-9smh]*) ;;
	*h) n=${1%h} && echo $((n * 3600)) && return ;;
	*m) n=${1%m} && echo $((n * 60)) && return ;;
	*) echo "${1%s}" && return ;;
	esac
	log "bad duration '$1': use a number of seconds, minutes (m) or hours (h)" >&2
	exit 2
}
bound_s=$(seconds "$BOUND")
slow_bound_s=$(seconds "$SLOW_BOUND")

cd "$moddir"
mapfile -t tests < <("$suite" -test.list "$RUN" | grep '^Test' || true)
if [[ ${#tests[@]} -eq 0 ]]; then
	log "no test matches RUN='$RUN'" >&2
	exit 1
fi
mkdir -p "$logs"

group=""
# kill_group ends what is left of the current test's process group.
kill_group() {
	[[ -n "$group" ]] || return 0
	if kill -0 -- "-$group" 2>/dev/null; then
		kill -TERM -- "-$group" 2>/dev/null || true
		sleep 1
		kill -KILL -- "-$group" 2>/dev/null || true
	fi
	group=""
}
trap 'kill_group; exit 130' INT TERM

# run_one NAME LOG BOUND: runs one top-level test in a process group of its
# own and returns its exit status.
run_one() {
	local rc=0
	# setsid makes the test the leader of a new process group (this script
	# runs without job control, so setsid does not fork and $! is that
	# leader); the collectors the Supervisor starts stay in it. The outer
	# timeout is a backstop for a binary that hangs past -test.timeout.
	setsid timeout -k 10s "$(($3 + 30))s" \
		"$suite" -test.run "^${1}\$" -test.timeout "${3}s" -test.v -test.count 1 >"$2" 2>&1 &
	group=$!
	wait "$group" || rc=$?
	kill_group
	return "$rc"
}

passed=0 failed=0 skipped=0
failures=()
start_all=$SECONDS
for name in "${tests[@]}"; do
	bound=$bound_s
	[[ "$name" == TestSupervisorBinarySize ]] && bound=$slow_bound_s
	out="$logs/$name.log"
	rm -f "$logs/$name".*
	t0=$(date +%s.%N)
	rc=0
	run_one "$name" "$out" "$bound" || rc=$?
	note=""
	if [[ $rc -ne 0 && $RETRY_RACE == 1 ]] && grep -q -- "$RACE_SIGNATURE" "$out"; then
		mv "$out" "$logs/$name.first.log"
		rc=0
		run_one "$name" "$out" "$bound" || rc=$?
		note=", on retry after the Supervisor's config-rewrite race: $logs/$name.first.log"
	fi
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if [[ $rc -eq 0 ]] && grep -q -- "^--- SKIP: ${name} " "$out"; then
		echo "SKIP $name (${secs}s)"
		skipped=$((skipped + 1))
	elif [[ $rc -eq 0 ]]; then
		echo "PASS $name (${secs}s$note)"
		passed=$((passed + 1))
	else
		echo "FAIL $name (${secs}s)"
		failed=$((failed + 1))
		failures+=("$name")
	fi
done
trap - INT TERM

for name in "${failures[@]}"; do
	echo
	echo "=== $name: $logs/$name.log (last 30 lines)"
	tail -n 30 "$logs/$name.log"
done
echo
log "tests took $((SECONDS - start_all))s"
[[ $skipped -eq 0 ]] || echo "$skipped skipped"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
