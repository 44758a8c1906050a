#!/usr/bin/env bash
# The soak: an hour of audio (read fast) through `captiontap run` against the loopback test server
# with a fault every 40 commits (drop, error, garbage, hang), then `serve` under client churn;
# prints RSS over time and the caption count, and a JSON summary last (Tests/Soak/soak.py).
#   scripts/soak.sh [--minutes 60] [--fault-every 40] [--churn 20] [--churn-batches 6]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${CAPTIONTAP_VENV:-$PWD/.build/realtime-venv}
Tests/RealtimeServer/setup-venv.sh "$venv" >/dev/null
swift build -c release --manifest-cache none --product captiontap >/dev/null
exec "$venv/bin/python" Tests/Soak/soak.py --captiontap "$(swift build -c release --show-bin-path)/captiontap" "$@"
