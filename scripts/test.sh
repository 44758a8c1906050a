#!/usr/bin/env bash
# The test command: builds, starts a private headless PipeWire (session D-Bus, pipewire,
# wireplumber, a null sink), runs every test against it, and stops only what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
pwdir=$(mktemp -d /tmp/captiontap-pw.XXXXXX)
trap 'scripts/headless-pipewire.sh stop "$pwdir"; rm -rf "$pwdir"' EXIT
scripts/headless-pipewire.sh start "$pwdir"
# shellcheck disable=SC1091
source "$pwdir/env"
export CAPTIONTAP_PW_DIR=$pwdir
swift test --skip-build "$@"
