#!/usr/bin/env bash
# Installs what captiontap and its tests need on Debian 12 and builds a release binary.
# (.ci/run runs exactly this, then scripts/test.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# Build and run: PipeWire, WirePlumber, a session bus, libwebsockets, libsndfile, libsoxr.
# Tests: python3-venv (the loopback Realtime server), openssl (a wss:// test certificate),
# systemd (systemd-analyze verify on the shipped unit).
$SUDO apt-get install -y --no-install-recommends \
    libpipewire-0.3-dev libspa-0.2-dev pipewire pipewire-bin wireplumber dbus \
    libwebsockets-dev libsndfile1-dev libsoxr-dev pkg-config ca-certificates \
    python3 python3-venv openssl systemd
swift build -c release
echo "built: $(swift build -c release --show-bin-path)/captiontap"
