#!/usr/bin/env python3
"""Regenerates the proof's bitmap glyphs (font24.bin, font44.bin) from Noto Sans Mono CJK TC Bold.

Needs Pillow and Debian's fonts-noto-cjk (SIL Open Font License 1.1, see LICENSE-OFL.txt beside
this file). Run from this folder: `python3 gen.py`. The output is 1-bit, thresholded at 50 %.

Record format, repeated to the end of the file (all little-endian):
  u32 code point, u8 width, u8 height, then height rows of ceil(width / 8) bytes, MSB = leftmost dot.
"""
import struct
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
INDEX = 8  # Noto Sans Mono CJK TC Bold
LABELS = "電子發票證明聯年月隨機碼總計賣方買"
CHARS = sorted(set([chr(c) for c in range(0x20, 0x7F)] + list(LABELS)))


def render(size):
    font = ImageFont.truetype(FONT, size, index=INDEX)
    if font.getname() != ("Noto Sans Mono CJK TC", "Bold"):
        raise SystemExit("unexpected face %r" % (font.getname(),))
    out = bytearray()
    for ch in CHARS:
        width = size // 2 if ord(ch) < 0x80 else size
        img = Image.new("L", (width, size), 0)
        # The ideographic em box spans 0.88 em above the baseline and 0.12 em below it.
        ImageDraw.Draw(img).text((0, round(0.88 * size)), ch, font=font, fill=255, anchor="ls")
        row_bytes = (width + 7) // 8
        out += struct.pack("<IBB", ord(ch), width, size)
        for y in range(size):
            row = bytearray(row_bytes)
            for x in range(width):
                if img.getpixel((x, y)) >= 128:
                    row[x // 8] |= 0x80 >> (x % 8)
            out += row
    return bytes(out)


for size in (24, 44):
    with open("font%d.bin" % size, "wb") as f:
        f.write(render(size))
