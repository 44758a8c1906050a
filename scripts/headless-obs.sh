#!/usr/bin/env bash
# A private, headless OBS Studio with obs-websocket for tests: Xvfb on a free display, OBS with
# its own HOME and config (never the user's), one scene with a Text (FreeType 2) input "Captions",
# a tiny video canvas (640x360 at 10 fps) and a custom RTMP service pointing at loopback.
#
#   scripts/headless-obs.sh start DIR PORT PASSWORD [RTMP_PORT]  # websocket on PORT (all interfaces:
#                                                                # obs-websocket 5.1 cannot bind loopback)
#                                                                # streams to rtmp://127.0.0.1:RTMP_PORT/live/test
#   scripts/headless-obs.sh restart DIR  # SIGKILL OBS (a crash) and start it again, same display and config
#   scripts/headless-obs.sh stop DIR
#
# Checked with obs-studio 29.0.2 (obs-websocket 5.1.0) on Debian 12; see docs/OBS.md.
# Only PIDs this script started (saved in DIR/*.pid) are ever killed.
set -euo pipefail
usage="usage: $0 start DIR PORT PASSWORD [RTMP_PORT] | restart DIR | stop DIR"
cmd=${1:?$usage}
dir=${2:?$usage}

# Alive and not a zombie: the daemons are reparented to PID 1, which may reap them late.
alive() { local state; state=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${state:0:1}" != Z ]; }

kill_saved() { # name [signal]
    local pidfile=$dir/$1.pid
    [ -f "$pidfile" ] || return 0
    local pid; pid=$(cat "$pidfile")
    if kill "-${2:-TERM}" "$pid" 2>/dev/null; then
        for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_obs() {
    local port; port=$(cat "$dir/port")
    # obs-websocket's server listens once the plugin has loaded the frontend; then OBS is ready.
    (
        cd "$dir"
        export HOME=$dir/home XDG_CONFIG_HOME=$dir/home/.config DISPLAY=":$(cat "$dir/display")"
        export LIBGL_ALWAYS_SOFTWARE=1 QT_QPA_PLATFORM=xcb
        unset WAYLAND_DISPLAY
        exec setsid obs --multi --disable-updater --disable-missing-files-check \
            >>"$dir/obs.log" 2>&1 </dev/null
    ) &
    echo $! >"$dir/obs.pid"
    for _ in $(seq 200); do
        port_answers "$port" && return 0
        alive "$(cat "$dir/obs.pid")" || { echo "headless-obs: obs exited; see $dir/obs.log" >&2; return 1; }
        sleep 0.1
    done
    echo "headless-obs: timed out waiting for obs-websocket on port $port; see $dir/obs.log" >&2
    return 1
}

case $cmd in
start)
    port=${3:?$usage}
    password=${4:?$usage}
    rtmp_port=${5:-1935}
    cfg=$dir/home/.config/obs-studio
    mkdir -p "$cfg/basic/profiles/captiontap" "$cfg/basic/scenes"
    chmod 700 "$dir/home"
    echo "$port" >"$dir/port"
    # LastVersion is 29.0.2 packed as major<<24 | minor<<16 | patch: no "what's new" dialog.
    # FirstLoad=false keeps obs-websocket from generating its own password.
    cat >"$cfg/global.ini" <<INI
[General]
FirstRun=true
LastVersion=486539266
ConfirmOnExit=false
EnableAutoUpdates=false

[Basic]
Profile=captiontap
ProfileDir=captiontap
SceneCollection=captiontap
SceneCollectionFile=captiontap

[BasicWindow]
PreviewEnabled=false
SysTrayEnabled=false
SysTrayWhenStarted=false

[OBSWebSocket]
FirstLoad=false
ServerEnabled=true
ServerPort=$port
AlertsEnabled=false
AuthRequired=true
ServerPassword=$password
INI
    chmod 600 "$cfg/global.ini"
    cat >"$cfg/basic/profiles/captiontap/basic.ini" <<'INI'
[General]
Name=captiontap

[Video]
BaseCX=640
BaseCY=360
OutputCX=640
OutputCY=360
FPSType=1
FPSInt=10

[Audio]
SampleRate=48000
ChannelSetup=Stereo

[Output]
Mode=Simple

[SimpleOutput]
StreamEncoder=x264
VBitrate=200
ABitrate=64
Preset=ultrafast
INI
    cat >"$cfg/basic/profiles/captiontap/service.json" <<JSON
{"type": "rtmp_custom", "settings": {"server": "rtmp://127.0.0.1:$rtmp_port/live", "key": "test", "use_auth": false}}
JSON
    cat >"$cfg/basic/scenes/captiontap.json" <<'JSON'
{
    "name": "captiontap",
    "current_scene": "Scene",
    "current_program_scene": "Scene",
    "scene_order": [{"name": "Scene"}],
    "sources": [
        {
            "id": "scene", "versioned_id": "scene", "name": "Scene",
            "settings": {
                "id_counter": 1, "custom_size": false,
                "items": [{"name": "Captions", "id": 1, "visible": true, "locked": false,
                           "pos": {"x": 0.0, "y": 0.0}, "scale": {"x": 1.0, "y": 1.0}, "rot": 0.0,
                           "align": 5, "bounds_type": 0, "bounds": {"x": 0.0, "y": 0.0}}]
            }
        },
        {
            "id": "text_ft2_source", "versioned_id": "text_ft2_source_v2", "name": "Captions",
            "settings": {"text": "", "font": {"face": "Sans", "size": 32, "style": "Regular", "flags": 0}}
        }
    ],
    "transitions": [],
    "current_transition": "Fade",
    "transition_duration": 300
}
JSON
    # Xvfb picks a free display and writes its number to the fd given with -displayfd.
    rm -f "$dir/display"
    setsid Xvfb -displayfd 5 -screen 0 1280x720x24 -nolisten tcp 5>"$dir/display" >>"$dir/xvfb.log" 2>&1 </dev/null &
    echo $! >"$dir/xvfb.pid"
    for _ in $(seq 100); do [ -s "$dir/display" ] && break; sleep 0.1; done
    [ -s "$dir/display" ] || { echo "headless-obs: Xvfb did not start; see $dir/xvfb.log" >&2; exit 1; }
    start_obs
    ;;
restart)
    kill_saved obs KILL
    start_obs
    ;;
stop)
    kill_saved obs
    kill_saved xvfb
    ;;
*)
    echo "$usage" >&2
    exit 2
    ;;
esac
