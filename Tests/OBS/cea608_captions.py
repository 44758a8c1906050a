#!/usr/bin/env python3
"""The CEA-608 captions a viewer's player would show, from an H.264 Annex B stream.

    cea608_captions.py STREAM.h264

Prints one caption per line, in stream order. Written for the OBS tests: OBS carries
`SendStreamCaption` text as CEA-608 byte pairs in ATSC A/53 user data (SEI payload type 4,
ITU-T T.35 country 0xB5, "GA94", user_data_type 3), and Debian's ffmpeg 5.1 does not decode
OBS's SEI ("Late SEI is not implemented"), so this reads it directly:

- NAL units are split on start codes and emulation-prevention bytes removed;
- every SEI message of type 4 with a GA94 cc_data block is read; valid field-1 pairs
  (cc_valid set, cc_type 0) are kept;
- parity bits are dropped; 0x20-0x7F are characters (with 608's own glyphs for the few codes that
  differ from ASCII); 0x10-0x1F start a control pair (positioning, carriage return, erase), which
  ends the current caption line.

Only the basic character set is decoded (special and extended characters are control pairs);
captiontap's test captions are plain ASCII. Standard library only.
"""
import re
import sys

# CEA-608 basic characters that differ from ASCII.
GLYPHS = {0x2A: "á", 0x5C: "é", 0x5E: "í", 0x5F: "ó", 0x60: "ú", 0x7B: "ç", 0x7C: "÷", 0x7D: "Ñ", 0x7E: "ñ", 0x7F: "█"}


def sei_value(rbsp: bytes, i: int) -> tuple[int, int]:
    """An SEI payload type or size (a run of 0xFF bytes, each adding 255, then the rest); the next index."""
    value = 0
    while rbsp[i] == 0xFF:
        value += 255
        i += 1
    return value + rbsp[i], i + 1


def sei_messages(rbsp: bytes):
    """(payload type, payload) for each message in an SEI RBSP."""
    i = 0
    while i < len(rbsp) and rbsp[i] != 0x80:  # 0x80: rbsp trailing bits
        kind, i = sei_value(rbsp, i)
        size, i = sei_value(rbsp, i)
        yield kind, rbsp[i:i + size]
        i += size


def cc_pairs(payload: bytes):
    """Field-1 CEA-608 byte pairs of one A/53 user data payload, parity bits dropped."""
    if len(payload) < 10 or payload[0] != 0xB5 or payload[3:7] != b"GA94" or payload[7] != 3:
        return
    count = payload[8] & 0x1F
    for k in range(count):
        flags, b1, b2 = payload[10 + 3 * k:13 + 3 * k]
        if flags & 0x04 and flags & 0x03 == 0:
            yield b1 & 0x7F, b2 & 0x7F


def captions(stream: bytes) -> list[str]:
    lines, current = [], []
    for nal in re.split(b"\x00\x00\x01", stream):
        nal = nal.rstrip(b"\x00")
        if not nal or nal[0] & 0x1F != 6:  # 6: SEI
            continue
        rbsp = nal[1:].replace(b"\x00\x00\x03", b"\x00\x00")
        for kind, payload in sei_messages(rbsp):
            if kind != 4:
                continue
            for c1, c2 in cc_pairs(payload):
                if 0x10 <= c1 <= 0x1F:
                    if current:
                        lines.append("".join(current).strip())
                        current = []
                    continue
                current.extend(GLYPHS.get(c, chr(c)) for c in (c1, c2) if c >= 0x20)
    if current:
        lines.append("".join(current).strip())
    return [line for line in lines if line]


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        for line in captions(f.read()):
            print(line)
