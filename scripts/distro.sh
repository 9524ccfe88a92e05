#!/usr/bin/env bash
# Builds the otelcol-opamp Collector distro (builder-config.yaml) with ocb
# and leaves the binary at _build/otelcol-opamp.
#
# The build is skipped while the binary is newer than the manifest and every
# non-test .go, go.mod and go.sum file of the extension, so `make run` is
# quick after the first time. FORCE=1 rebuilds anyway.
#
# Env: OCB  path to the ocb binary (default _build/bin/builder; `make distro`
#           installs it there).
set -euo pipefail

cd "$(dirname "$0")/.."

OCB="${OCB:-_build/bin/builder}"
MANIFEST=builder-config.yaml
NAME=otelcol-opamp
SRC_DIR=_build/${NAME}-src # dist.output_path in the manifest
BIN=_build/${NAME}

# Prints the first input newer than the binary, if any. cmd/ (the dev
# server), e2e/ and internal/tools/ (its own module) are not linked into
# the distro, and tests do not change the binary.
first_newer_input() {
	if [ "$MANIFEST" -nt "$BIN" ]; then
		echo "$MANIFEST"
		return
	fi
	find . \( -path ./_build -o -path ./.git -o -path ./cmd -o -path ./e2e -o -path ./bench -o -path ./reliability -o -path ./internal/tools \) -prune \
		-o \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) -newer "$BIN" -print |
		head -n 1
}

if [ -x "$BIN" ] && [ "${FORCE:-0}" != 1 ]; then
	changed="$(first_newer_input)"
	if [ -z "$changed" ]; then
		echo "distro: $BIN is up to date"
		exit 0
	fi
	echo "distro: rebuilding, $changed changed"
fi

if [ ! -x "$OCB" ]; then
	echo "distro: ocb not found at $OCB; run 'make distro' or set OCB" >&2
	exit 1
fi

start=$(date +%s)
"$OCB" --config="$MANIFEST"
# ocb names the binary after dist.name inside dist.output_path.
cp "$SRC_DIR/$NAME" "$BIN.tmp"
mv -f "$BIN.tmp" "$BIN"
echo "distro: built $BIN ($(du -h "$BIN" | cut -f1), $(($(date +%s) - start))s)"
