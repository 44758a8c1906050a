#!/usr/bin/env bash
# Installs what captiontap needs on Debian 12 and builds it (release).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
    libpipewire-0.3-dev libspa-0.2-dev pipewire pipewire-bin wireplumber dbus \
    libwebsockets-dev libsndfile1-dev libsoxr-dev pkg-config ca-certificates
swift build -c release
echo "built: $(swift build -c release --show-bin-path)/captiontap"
