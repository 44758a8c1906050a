#!/usr/bin/env bash
# The test command: builds, starts a private headless PipeWire (session D-Bus, pipewire,
# wireplumber, a null sink), runs every test against it, and stops only what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# The embedded recognizer (idempotent: instant when scripts/setup.sh installed it already).
scripts/setup-recognizer.sh
# The code is formatted by swift-format (.swift-format); any finding fails the run
# (fix with: swift format format -i -r --parallel Sources Tests Package.swift).
swift format lint --strict -r --parallel Sources Tests Package.swift
# Package.swift adds the recognizer only when it is installed: re-evaluate it every time.
swift build --build-tests --manifest-cache none
# The loopback Realtime test server and SDK validation run in a venv of pinned packages.
venv=${CAPTIONTAP_VENV:-$PWD/.build/realtime-venv}
Tests/RealtimeServer/setup-venv.sh "$venv"
export CAPTIONTAP_PYTHON=$venv/bin/python
# Third-party Realtime client libraries for serve's drop-in tests, in a venv of their own.
clients_venv=${CAPTIONTAP_CLIENTS_VENV:-$PWD/.build/clients-venv}
Tests/RealtimeServer/setup-venv.sh "$clients_venv" Tests/RealtimeServer/clients/requirements.txt
export CAPTIONTAP_CLIENTS_PYTHON=$clients_venv/bin/python
# The install step: binary, man page and completions generated from the argument parser.
scripts/check-install.sh
# The test server checks itself first (protocol shapes, each fault flag).
"$CAPTIONTAP_PYTHON" Tests/RealtimeServer/selftest.py
pwdir=$(mktemp -d /tmp/captiontap-pw.XXXXXX)
trap 'scripts/headless-pipewire.sh stop "$pwdir"; rm -rf "$pwdir"' EXIT
# The daemon also loads the shipped persistent "Captions" sink snippet and WirePlumber routing
# rule, as a user's would (the rule set to route the test app "CaptiontapRoutedApp").
scripts/headless-pipewire.sh start "$pwdir" conf/pipewire.conf.d/50-captiontap-sink.conf \
    conf/wireplumber scripts/test-config/wireplumber
# shellcheck disable=SC1091
source "$pwdir/env"
# The OBS tests start their own headless OBS per test (scripts/headless-obs.sh, ~1 s each); this
# says OBS is installed (scripts/setup.sh), so they run rather than skip.
export CAPTIONTAP_OBS=1
# The private config home is for the daemons; SwiftPM would otherwise keep its own config there.
unset XDG_CONFIG_HOME
export CAPTIONTAP_PW_DIR=$pwdir
swift test --skip-build --manifest-cache none "$@"
