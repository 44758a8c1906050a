#!/usr/bin/env python3
"""Write sherpa-onnx's tokens.txt for a Moonshine model from its tokenizer.bin.

Usage: moonshine_tokens.py TOKENIZER_BIN OUT_TXT

tokenizer.bin (shipped with the moonshine-cpp wheel) is a flat list of
length-prefixed byte strings, one per token id, in id order. The length is one
byte if it is below 128; otherwise two bytes, b0 and b1, giving
(b0 - 128) + 128 * b1.

tokens.txt, as sherpa-onnx reads it for Moonshine, has one line per id:
the base64 of the token's bytes, a space, and the id. Base64 keeps tokens that
are not valid UTF-8 on their own, or that contain spaces, intact.

The base-en vocabulary has 32000 tokens and starts with <unk>, <s>, </s>;
anything else means the file is not what this script expects, so it stops
without writing.
"""

import base64
import os
import sys

EXPECTED_COUNT = 32000
EXPECTED_FIRST = (b"<unk>", b"<s>", b"</s>")


def read_tokens(data):
    tokens, i = [], 0
    while i < len(data):
        length = data[i]
        i += 1
        if length >= 128:
            if i >= len(data):
                raise ValueError(f"truncated length prefix at byte {i - 1}")
            length = (length - 128) + 128 * data[i]
            i += 1
        if i + length > len(data):
            raise ValueError(f"token {len(tokens)} runs past the end of the file")
        tokens.append(data[i:i + length])
        i += length
    return tokens


def main(argv):
    if len(argv) != 3:
        raise SystemExit("usage: moonshine_tokens.py TOKENIZER_BIN OUT_TXT")
    src, out = argv[1], argv[2]
    with open(src, "rb") as f:
        try:
            tokens = read_tokens(f.read())
        except ValueError as e:
            raise SystemExit(f"{src}: {e}")
    if len(tokens) != EXPECTED_COUNT:
        raise SystemExit(f"{src}: {len(tokens)} tokens, expected {EXPECTED_COUNT}")
    if tuple(tokens[:3]) != EXPECTED_FIRST:
        raise SystemExit(f"{src}: ids 0-2 are {tokens[:3]}, expected {list(EXPECTED_FIRST)}")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        for token_id, token in enumerate(tokens):
            f.write(f"{base64.b64encode(token).decode('ascii')} {token_id}\n")
    os.replace(tmp, out)  # never leave a half-written tokens.txt behind
    print(f"wrote {out}: {len(tokens)} tokens")


if __name__ == "__main__":
    main(sys.argv)
