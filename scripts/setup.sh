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
# systemd (systemd-analyze verify on the shipped unit); obs-studio (with obs-websocket 5), xvfb and
# ffmpeg (a real headless OBS, and an RTMP receiver for its stream: scripts/headless-obs.sh).
# libssl-dev: SHA-256 for obs-websocket authentication (libcrypto, already linked by libwebsockets).
# chromium and a font: headless screenshots of the --overlay page.
# jackd2 (jackd with its dummy driver, jack_metro): the JACK backend against a real JACK2 server.
$SUDO apt-get install -y --no-install-recommends \
    libpipewire-0.3-dev libspa-0.2-dev pipewire pipewire-bin wireplumber dbus \
    libwebsockets-dev libsndfile1-dev libsoxr-dev libssl-dev pkg-config ca-certificates \
    libjack-jackd2-dev pipewire-jack jackd2 \
    python3 python3-venv openssl systemd obs-studio xvfb ffmpeg chromium fonts-dejavu-core
# The embedded offline recognizer (used when there is no API key), folded to fp32 for 3-5x faster
# decoding (CAPTIONTAP_FOLD=0 keeps the shipped int8 models: 40 s less setup, 290 MB less disk).
if [ "${CAPTIONTAP_FOLD:-1}" = 0 ]; then scripts/setup-recognizer.sh; else scripts/setup-recognizer.sh --fold; fi
# Package.swift adds the recognizer only when it is installed: never reuse a manifest evaluated
# before it was.
swift build -c release --manifest-cache none
echo "built: $(swift build -c release --manifest-cache none --show-bin-path)/captiontap"
