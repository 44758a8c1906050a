#!/usr/bin/env bash
# Checks scripts/install.sh in a staging DESTDIR: the binary runs, the man page and the bash,
# zsh and fish completions are generated from the argument parser and know the subcommands.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# A real prefix (no DESTDIR), so the unit's ExecStart points at the installed binary.
root=$stage/usr
scripts/install.sh "$root" >/dev/null 2>&1 || { echo "install check: scripts/install.sh failed" >&2; exit 1; }
fail() { echo "install check: $*" >&2; exit 1; }
checks=0
check() { checks=$((checks + 1)); "$@" || fail "failed: $*"; }

check "$root/bin/captiontap" --help >/dev/null
check grep -q '^\.Dt CAPTIONTAP 1' "$root/share/man/man1/captiontap.1"
check grep -q 'virtual-sink' "$root/share/man/man1/captiontap.1"
check bash -n "$root/share/bash-completion/completions/captiontap"
check bash -c "source '$root/share/bash-completion/completions/captiontap' && complete -p captiontap >/dev/null"
check grep -q 'devices' "$root/share/bash-completion/completions/captiontap"
check grep -q '#compdef captiontap' "$root/share/zsh/site-functions/_captiontap"
check grep -q "complete -c 'captiontap'" "$root/share/fish/vendor_completions.d/captiontap.fish"
check test -f "$root/share/captiontap/conf/README.md"
check test -f "$root/share/captiontap/conf/pipewire.conf.d/50-captiontap-sink.conf"
check test -f "$root/share/captiontap/conf/wireplumber/scripts/captiontap-route.lua"
# The system-wide captiontap.conf, where libpipewire's search finds it for PREFIX=/usr (here:
# pointed at with PIPEWIRE_CONFIG_DIR), is read and is all defaults; a drop-in beside it applies.
check cmp -s conf/captiontap.conf "$root/share/pipewire/captiontap.conf"
mkdir -p "$root/share/pipewire/captiontap.conf.d"
echo 'captiontap.properties = { silence-ms = 900 }' >"$root/share/pipewire/captiontap.conf.d/50-check.conf"
check sh -c "PIPEWIRE_CONFIG_DIR='$root/share/pipewire' '$root/bin/captiontap' run --print-config | grep -q 'silence-ms = 900 .*50-check.conf:1'"
check sh -c "PIPEWIRE_CONFIG_DIR='$root/share/pipewire' '$root/bin/captiontap' run --print-config | grep -q 'vad-threshold = 0.6 .*# default'"
# The installed binary uses the installed recognizer (library and models), not the build tree's.
if [ -f vendor/recognizer/tokens.txt ]; then
    check test -f "$root/lib/captiontap/recognizer/tokens.txt"
    # Loaded with dlopen only when the embedded backend starts: not a link-time dependency.
    check sh -c "! ldd '$root/bin/captiontap' | grep -q sherpa"
    check sh -c "env -u OPENAI_API_KEY '$root/bin/captiontap' run -v --input Tests/Fixtures/speech/goforward.wav 2>&1 | grep -q 'recognizer loaded from $root/lib/captiontap/recognizer'"
    check sh -c "env -u OPENAI_API_KEY '$root/bin/captiontap' run -q --input Tests/Fixtures/speech/goforward.wav | grep -qi 'go forward'"
fi
# systemd-analyze prints warnings but exits 0 for bad values: require silence as well.
unit=$root/lib/systemd/user/captiontap.service
check grep -q "^ExecStart=$root/bin/captiontap run " "$unit"
mkdir -m 700 "$stage/runtime"
verify=$(XDG_RUNTIME_DIR=$stage/runtime systemd-analyze verify --user "$unit" 2>&1) || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"
checks=$((checks + 1))
echo "install check ok ($checks checks)"
