#!/usr/bin/env bash
# Create (or reuse) a Python venv of pinned packages.  Usage: setup-venv.sh DIR [REQUIREMENTS]
#
# REQUIREMENTS defaults to requirements.txt beside this script (the test server, cookbook client,
# selftest and SDK validation); clients/requirements.txt holds the third-party clients. Its
# "# import:" line names the modules a smoke check imports. Idempotent: DIR/.captiontap-requirements
# holds the exact requirement list; if it matches, nothing is done. Needs python3 >= 3.11 and PyPI
# access (only the first time).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 DIR [REQUIREMENTS]" >&2
    exit 2
fi
DIR=$1
REQUIREMENTS=${2:-$(dirname "$0")/requirements.txt}
PYTHON=${PYTHON:-python3}

REQS=$(grep -v '^\s*#' "$REQUIREMENTS" | grep -v '^\s*$')
IMPORTS=$(sed -n 's/^# import: *//p' "$REQUIREMENTS")

MARKER="$DIR/.captiontap-requirements"
if [ -x "$DIR/bin/python" ] && [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$REQS" ]; then
    exit 0
fi

if [ ! -x "$DIR/bin/python" ]; then
    "$PYTHON" -m venv "$DIR"
fi
# shellcheck disable=SC2086
"$DIR/bin/python" -m pip install --quiet --disable-pip-version-check $(echo $REQS)
"$DIR/bin/python" -c "import $IMPORTS"
printf '%s' "$REQS" > "$MARKER"
echo "setup-venv: ready at $DIR ($(basename "$REQUIREMENTS"))" >&2
