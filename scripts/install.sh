#!/usr/bin/env bash
# Builds a release captiontap and installs it with its man page and shell completions, all
# generated from the argument parser, plus the shipped configuration.
#
#   scripts/install.sh [PREFIX]          # default /usr/local; honours DESTDIR for staging
#
# Layout: PREFIX/bin/captiontap, PREFIX/share/man/man1/captiontap.1,
# PREFIX/share/bash-completion/completions/captiontap, PREFIX/share/zsh/site-functions/_captiontap,
# PREFIX/share/fish/vendor_completions.d/captiontap.fish, PREFIX/lib/systemd/user/captiontap.service,
# PREFIX/share/captiontap/conf/, PREFIX/share/pipewire/captiontap.conf (the system-wide default that
# libpipewire's config search finds when PREFIX is /usr; see README "Configuration"), and the
# embedded recognizer in PREFIX/lib/captiontap/recognizer/.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
root=${DESTDIR:-}${prefix}

swift build -c release --manifest-cache none --product captiontap
bin=$(swift build -c release --manifest-cache none --show-bin-path)/captiontap
man=$(mktemp -d)
trap 'rm -rf "$man"' EXIT
swift package --allow-writing-to-directory "$man" generate-manual --configuration release \
    --output-directory "$man" >/dev/null

install -D -m 755 "$bin" "$root/bin/captiontap"
install -D -m 644 "$man/captiontap.1" "$root/share/man/man1/captiontap.1"
"$bin" --generate-completion-script bash | install -D -m 644 /dev/stdin "$root/share/bash-completion/completions/captiontap"
"$bin" --generate-completion-script zsh | install -D -m 644 /dev/stdin "$root/share/zsh/site-functions/_captiontap"
"$bin" --generate-completion-script fish | install -D -m 644 /dev/stdin "$root/share/fish/vendor_completions.d/captiontap.fish"
sed "s#@BINDIR@#${prefix}/bin#" conf/systemd/captiontap.service \
    | install -D -m 644 /dev/stdin "$root/lib/systemd/user/captiontap.service"
mkdir -p "$root/share/captiontap"
cp -r conf "$root/share/captiontap/"
install -D -m 644 conf/captiontap.conf "$root/share/pipewire/captiontap.conf"
# The embedded recognizer, when this build has it: the runtime files only (libraries, models,
# tokens), where the binary's recognizer search looks first (the library is loaded with dlopen).
rec=vendor/recognizer
if [ -f "$rec/tokens.txt" ]; then
    dest=$root/lib/captiontap/recognizer
    mkdir -p "$dest/wheels/sherpa_onnx/lib" "$dest/wheels/moonshine_cpp/models" "$dest/wheels/silero_vad/data"
    cp "$rec"/wheels/sherpa_onnx/lib/*.so "$dest/wheels/sherpa_onnx/lib/"
    cp -r "$rec/wheels/moonshine_cpp/models/base-en" "$dest/wheels/moonshine_cpp/models/"
    cp "$rec/wheels/silero_vad/data/silero_vad_16k_op15.onnx" "$dest/wheels/silero_vad/data/"
    cp "$rec/tokens.txt" "$dest/"
    for models in fp32 compact; do
        if [ -d "$rec/$models" ]; then cp -r "$rec/$models" "$dest/"; fi
    done
    if [ -f "$rec/onnxruntime.cfg" ]; then cp "$rec/onnxruntime.cfg" "$dest/"; fi
fi
echo "installed captiontap into ${root}"
if [ "$prefix" != /usr ]; then
    echo "note: PipeWire searches /usr/share/pipewire, /etc/pipewire and ~/.config/pipewire for captiontap.conf;" \
        "copy ${prefix}/share/pipewire/captiontap.conf to one of the last two to use drop-ins" >&2
fi
