#!/usr/bin/env bash
# A private, headless PipeWire session for tests: session D-Bus, pipewire, wireplumber, and a
# null sink "test-sink" (the default sink) that exists from every daemon start.
#
#   scripts/headless-pipewire.sh start DIR [CONF...]  # then: source DIR/env
#                                                     # CONF: extra pipewire.conf.d snippets
#   scripts/headless-pipewire.sh restart DIR  # kill and restart pipewire + wireplumber (same bus)
#   scripts/headless-pipewire.sh stop DIR
#
# Only PIDs this script started (saved in DIR/*.pid) are ever killed.
set -euo pipefail
cmd=${1:?usage: $0 start|stop|restart DIR}
dir=${2:?usage: $0 start|stop|restart DIR}

wait_for() { # description, tries (0.1 s each), command...
    local what=$1 tries=$2; shift 2
    for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "headless-pipewire: timed out waiting for $what" >&2
    return 1
}

kill_saved() {
    local pidfile=$dir/$1.pid
    [ -f "$pidfile" ] || return 0
    local pid; pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

start_daemons() {
    # shellcheck disable=SC1091
    source "$dir/env"
    setsid pipewire >>"$dir/pipewire.log" 2>&1 &
    echo $! >"$dir/pipewire.pid"
    wait_for "pipewire" 100 pw-cli info 0
    setsid wireplumber >>"$dir/wireplumber.log" 2>&1 &
    echo $! >"$dir/wireplumber.pid"
    wait_for "test-sink to become the default sink" 100 sh -c 'wpctl inspect @DEFAULT_AUDIO_SINK@ | grep -q test-sink'
}

case $cmd in
start)
    mkdir -p "$dir/runtime" "$dir/config/pipewire/pipewire.conf.d" "$dir/config/wireplumber"
    chmod 700 "$dir/runtime"
    cat >"$dir/config/pipewire/pipewire.conf.d/10-test-sink.conf" <<'CONF'
context.objects = [
    { factory = adapter
      args = { factory.name = support.null-audio-sink node.name = "test-sink"
               node.description = "Test Sink" media.class = Audio/Sink
               object.linger = true audio.position = [ FL FR ]
               priority.session = 2000 priority.driver = 2000 } }
]
CONF
    # Extra configuration: pipewire.conf.d snippets (files) or WirePlumber config trees (directories).
    for extra in "${@:3}"; do
        if [ -d "$extra" ]; then cp -r "$extra/." "$dir/config/wireplumber/"
        else cp "$extra" "$dir/config/pipewire/pipewire.conf.d/"; fi
    done
    export XDG_RUNTIME_DIR=$dir/runtime XDG_CONFIG_HOME=$dir/config
    dbus-daemon --session --fork --print-address=1 --print-pid=3 3>"$dir/dbus.pid" >"$dir/dbus.addr"
    cat >"$dir/env" <<ENV
export XDG_RUNTIME_DIR='$dir/runtime'
export XDG_CONFIG_HOME='$dir/config'
export DBUS_SESSION_BUS_ADDRESS='$(head -n1 "$dir/dbus.addr")'
unset PIPEWIRE_REMOTE PIPEWIRE_RUNTIME_DIR
ENV
    start_daemons
    ;;
restart)
    kill_saved wireplumber
    kill_saved pipewire
    start_daemons
    ;;
stop)
    kill_saved wireplumber
    kill_saved pipewire
    kill_saved dbus
    ;;
*)
    echo "usage: $0 start|stop|restart DIR" >&2
    exit 2
    ;;
esac
