#!/usr/bin/env bash
# Runs the local OpAMP dev server (cmd/opampdev) and the otelcol-opamp
# distro against it. Ctrl-C, or either process exiting, stops both.
#
# Env: CONFIG         collector config (default examples/collector.yaml;
#                     examples/remote-config.yaml accepts remote config from
#                     the page: `make run CONFIG=examples/remote-config.yaml`)
#      LISTEN         opampdev's OpAMP listeners (default :4320; with
#                     CONFIG=examples/connection-settings.yaml also :4330,
#                     so the page can move the agent between the two)
#      COLLECTOR_LOG  where collector output goes (default _build/otelcol-opamp.log;
#                     "-" for the terminal)
# Needs _build/otelcol-opamp: `make run` builds it first (see scripts/distro.sh).
set -euo pipefail

cd "$(dirname "$0")/.."

COL_BIN=_build/otelcol-opamp
DEV_BIN=_build/opampdev
CONFIG="${CONFIG:-examples/collector.yaml}"
COLLECTOR_LOG="${COLLECTOR_LOG:-_build/otelcol-opamp.log}"
OPAMP_PORT=4320 # the examples point here
if [ -z "${LISTEN:-}" ]; then
	LISTEN="0.0.0.0:$OPAMP_PORT"
	case "$CONFIG" in
	*connection-settings.yaml) LISTEN="0.0.0.0:$OPAMP_PORT,0.0.0.0:4330" ;;
	esac
fi
PAGE_URL=http://localhost:4321/

if [ ! -f "$CONFIG" ]; then
	echo "run: CONFIG=$CONFIG: no such file" >&2
	exit 1
fi
if [ ! -x "$COL_BIN" ]; then
	echo "run: $COL_BIN not found; run 'make distro' first" >&2
	exit 1
fi
# A binary rather than `go run`, so the PID we signal is the server itself.
go build -o "$DEV_BIN" ./cmd/opampdev

dev_pid=""
col_pid=""

# Stops the collector first, so it can say goodbye to the server, then the
# server; waits for each so no process outlives the script.
cleanup() {
	trap - EXIT INT TERM
	for pid in $col_pid $dev_pid; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$DEV_BIN" -listen "$LISTEN" &
dev_pid=$!

# Wait until the OpAMP port accepts connections (up to 10 s).
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$OPAMP_PORT") 2>/dev/null; then
		break
	fi
	if ! kill -0 "$dev_pid" 2>/dev/null; then
		echo "run: opampdev exited before listening (is port $OPAMP_PORT in use?)" >&2
		exit 1
	fi
	sleep 0.1
done

if [ "$COLLECTOR_LOG" = "-" ]; then
	"$COL_BIN" --config "$CONFIG" &
else
	"$COL_BIN" --config "$CONFIG" >"$COLLECTOR_LOG" 2>&1 &
fi
col_pid=$!

echo "run: agents on $PAGE_URL (JSON: ${PAGE_URL}api/agents); collector config: $CONFIG; log: $COLLECTOR_LOG; Ctrl-C stops both"

# Returns when either process ends (or a trapped signal interrupts it).
status=0
wait -n "$dev_pid" "$col_pid" || status=$?
if ! kill -0 "$col_pid" 2>/dev/null; then
	echo "run: the collector exited (status $status); stopping opampdev" >&2
	if [ "$COLLECTOR_LOG" != "-" ]; then
		tail -n 20 "$COLLECTOR_LOG" >&2
	fi
else
	echo "run: opampdev exited (status $status); stopping the collector" >&2
fi
exit "$status"
