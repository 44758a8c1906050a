#!/usr/bin/env bash
# A venv of third-party Realtime speech-to-text client libraries, pinned, for the drop-in tests
# of `captiontap serve` (Tests/IntegrationTests/ServeDropInTests.swift). Separate from the main
# test venv: openai-agents needs websockets < 17. Usage: setup-venv.sh DIR
#
# Idempotent (a marker file holds the requirement list). About 800 MB, most of it pipecat's
# numba/llvmlite and livekit's native library.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$1
PYTHON=${PYTHON:-python3}

REQS="openai-agents[voice]==0.24.0
livekit-agents==1.8.9
livekit-plugins-openai==1.8.9
pipecat-ai[openai]==1.14.0
openai==3.57.0
websockets==16.1.1
numpy==2.4.6"

MARKER="$DIR/.captiontap-requirements"
if [ -x "$DIR/bin/python" ] && [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$REQS" ]; then
    exit 0
fi
if [ ! -x "$DIR/bin/python" ]; then
    "$PYTHON" -m venv "$DIR"
fi
# shellcheck disable=SC2086
"$DIR/bin/python" -m pip install --quiet --disable-pip-version-check $(echo $REQS)
"$DIR/bin/python" - <<'PY'
import agents.voice, livekit.plugins.openai, pipecat.services.openai.stt
PY
printf '%s' "$REQS" > "$MARKER"
echo "clients setup-venv: ready at $DIR" >&2
