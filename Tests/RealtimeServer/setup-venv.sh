#!/usr/bin/env bash
# Create (or reuse) a Python venv for the fake Realtime server, cookbook client
# and selftest.  Usage: setup-venv.sh DIR
#
# Idempotent: a marker file DIR/.captiontap-requirements holds the exact pinned
# requirement list; if it matches, nothing is done.  Needs python3 >= 3.11 and
# PyPI access (only the first time).
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$1
PYTHON=${PYTHON:-python3}

# Pinned versions. openai 3.57.0 is the version REALTIME_PROTOCOL.md was
# written against (GA types in openai.types.realtime); pydantic (pulled in by
# openai) is pinned too because the event validation depends on it.
REQS="openai==3.57.0
pydantic==2.14.4
websockets==17.4
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
# Smoke check: the GA types and the server library import.
"$DIR/bin/python" - <<'PY'
import numpy, websockets, pydantic
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
PY
printf '%s' "$REQS" > "$MARKER"
echo "setup-venv: ready at $DIR" >&2
