#!/usr/bin/env bash
# Installs the embedded offline recognizer: the sherpa-onnx C API (with its own onnxruntime),
# the Moonshine base-en model and the Silero VAD model, all from pinned PyPI wheels.
#
#   scripts/setup-recognizer.sh [--fold] [DIR]
#
# DIR defaults to $CAPTIONTAP_RECOGNIZER_DIR, else <repo>/vendor/recognizer. Layout:
#   DIR/wheels/     pip --target output: sherpa_onnx/{include,lib}, moonshine_cpp/models/base-en,
#                   silero_vad/data/silero_vad_16k_op15.onnx
#   DIR/tokens.txt  sherpa-onnx's token table, derived from Moonshine's tokenizer.bin
#   DIR/fp32/       with --fold: encoder_model.onnx, decoder_model_merged.onnx
#   DIR/compact/    with --fold: the same models with int8 weights (+ .onnx.data beside each)
#   DIR/onnxruntime.cfg  session options sherpa-onnx hands onnxruntime (no memory arena)
#
# --fold converts the shipped int8 .ort models into fp32 ONNX once (scripts/recognizer/
# fold_moonshine.py): the .ort decoder rebuilds its fp32 weights on every token, the folded one
# decodes 3-5x faster for about +300 MB of disk (the conversion itself needs ~1 GB of RAM and
# ~0.6 GB of temporary disk in DIR). It then makes the compact models from both
# (scripts/recognizer/compact_moonshine.py): int8 weights run by onnxruntime's 8-bit kernels, as
# fast as fp32 in a third of the memory; the default when installed.
#
# Idempotent: each step writes a stamp holding its exact pins and skips itself when it matches.
# Needs python3 with the venv module (Debian: python3-venv) and PyPI access the first time.
set -euo pipefail

usage() { echo "usage: $0 [--fold] [DIR]" >&2; exit 2; }
fold=0 dir=
for arg in "$@"; do
    case $arg in
        --fold) fold=1 ;;
        -h|--help|-*) usage ;;
        *) [ -z "$dir" ] || usage; dir=$arg ;;
    esac
done
here=$(cd "$(dirname "$0")" && pwd)
dir=${dir:-${CAPTIONTAP_RECOGNIZER_DIR:-$(dirname "$here")/vendor/recognizer}}
PYTHON=${PYTHON:-python3}

# Pinned wheels. --no-deps: silero-vad would pull in torch, and only the files are wanted.
WHEELS="sherpa-onnx-core==2.0.1 moonshine-cpp==0.1.4 silero-vad==6.2.3"
# The conversion's tools, every package pinned (installed with --no-deps): the versions it was
# verified with. onnxruntime 1.28 matches the 1.28.x runtime inside sherpa-onnx-core 2.0.1.
FOLD_TOOLS="onnxruntime==1.28.0 onnx==1.23.2 numpy==2.4.6 protobuf==7.36.2 ml_dtypes==0.6.0 \
flatbuffers==25.12.19 packaging==26.4 typing_extensions==4.16.0"
MODELS=moonshine_cpp/models/base-en

die() { echo "setup-recognizer: $*" >&2; exit 1; }
command -v "$PYTHON" >/dev/null || die "needs python3 (Debian: sudo apt-get install python3 python3-venv)"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# A second run in parallel would race on the temporary directories below.
exec 9>"$dir/.lock"
flock -n 9 || die "another setup-recognizer is running on $dir"
# Downloaded artefacts, never source: keep them out of git wherever DIR is.
[ -f "$dir/.gitignore" ] || echo '*' > "$dir/.gitignore"

venv=$dir/.setup-venv
cleanup() { rm -rf "$venv" "$dir/wheels.tmp"; }
trap cleanup EXIT
# pip comes from a throwaway venv: stock Debian 12 has no python3-pip, and its system pip
# refuses to install outside a venv (PEP 668). Created only when something needs installing.
pip() {
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv" >/dev/null 2>&1 ||
            die "cannot create a venv with $PYTHON (Debian: sudo apt-get install python3-venv)"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        --no-deps --only-binary=:all: "$@"
}
stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# 1. Wheels, unpacked into DIR/wheels (built beside it and swapped in, so a failed download
#    never leaves a half-installed tree).
if ! stamp_ok "$dir/wheels/.captiontap-stamp" "$WHEELS"; then
    rm -rf "$dir/wheels.tmp"
    # shellcheck disable=SC2086
    pip --target "$dir/wheels.tmp" $WHEELS
    # moonshine-cpp's own runtime (libmoonshine.so and its private onnxruntime) is an AVX-512
    # build that dies with SIGILL on most CPUs; sherpa-onnx runs the models instead.
    rm -f "$dir/wheels.tmp/moonshine_cpp/libmoonshine.so" "$dir/wheels.tmp/moonshine_cpp/libonnxruntime.so".*
    for f in sherpa_onnx/include/sherpa-onnx/c-api/c-api.h sherpa_onnx/lib/libsherpa-onnx-c-api.so \
        sherpa_onnx/lib/libonnxruntime.so $MODELS/encoder_model.ort \
        $MODELS/decoder_model_merged.ort $MODELS/tokenizer.bin silero_vad/data/silero_vad_16k_op15.onnx; do
        [ -f "$dir/wheels.tmp/$f" ] || die "the wheels did not contain $f"
    done
    printf '%s' "$WHEELS" > "$dir/wheels.tmp/.captiontap-stamp"
    rm -rf "$dir/wheels"
    mv "$dir/wheels.tmp" "$dir/wheels"
    rm -f "$dir/tokens.txt" # derived from the old wheels
fi

# 2. tokens.txt (stdlib only, no venv needed).
if [ ! -s "$dir/tokens.txt" ]; then
    "$PYTHON" "$here/recognizer/moonshine_tokens.py" "$dir/wheels/$MODELS/tokenizer.bin" \
        "$dir/tokens.txt" >/dev/null
fi

# 3. --fold. The stamp covers the wheels, the tools and the converter itself.
fold_stamp="$WHEELS $FOLD_TOOLS $(sha256sum "$here/recognizer/fold_moonshine.py" | cut -d' ' -f1)"
if [ $fold = 1 ] && ! { stamp_ok "$dir/fp32/.captiontap-stamp" "$fold_stamp" &&
    [ -s "$dir/fp32/encoder_model.onnx" ] && [ -s "$dir/fp32/decoder_model_merged.onnx" ]; }; then
    rm -f "$dir/fp32/.captiontap-stamp"
    # shellcheck disable=SC2086
    pip $FOLD_TOOLS
    "$venv/bin/python" -sB "$here/recognizer/fold_moonshine.py" "$dir/wheels/$MODELS" "$dir/fp32"
    printf '%s' "$fold_stamp" > "$dir/fp32/.captiontap-stamp"
fi
# 4. The compact models (--fold), from the shipped and the folded ones.
compact_stamp="$fold_stamp $(cat "$here/recognizer/compact_moonshine.py" "$here/recognizer/one_graph_decoder.py" | sha256sum | cut -d' ' -f1)"
if [ $fold = 1 ] && ! { stamp_ok "$dir/compact/.captiontap-stamp" "$compact_stamp" &&
    [ -s "$dir/compact/encoder_model.onnx.data" ] && [ -s "$dir/compact/decoder_model_merged.onnx.data" ]; }; then
    rm -f "$dir/compact/.captiontap-stamp"
    # shellcheck disable=SC2086
    pip $FOLD_TOOLS
    "$venv/bin/python" -sB "$here/recognizer/compact_moonshine.py" "$dir/wheels/$MODELS" "$dir/fp32" "$dir/compact"
    printf '%s' "$compact_stamp" > "$dir/compact/.captiontap-stamp"
fi

# 5. onnxruntime session options, read by sherpa-onnx from the provider string "cpu:FILE". No
#    memory arena: the activations of a long decode go back to the heap instead of staying
#    reserved for the rest of the run.
printf 'EnableCpuMemArena=0\n' > "$dir/onnxruntime.cfg"
cleanup

size() { du -sh "$@" | cut -f1; }
fp32=
if stamp_ok "$dir/fp32/.captiontap-stamp" "$fold_stamp"; then
    fp32=", fp32 Moonshine in fp32/ $(size "$dir/fp32")"
fi
if stamp_ok "$dir/compact/.captiontap-stamp" "$compact_stamp"; then
    fp32="$fp32, compact Moonshine in compact/ $(size "$dir/compact")"
fi
echo "recognizer ready in $dir: sherpa-onnx-core 2.0.1 C API, Moonshine base-en int8 + Silero VAD" \
    "(wheels/ $(size "$dir/wheels")), tokens.txt $(size "$dir/tokens.txt")$fp32; total $(size "$dir")"
