#!/usr/bin/env python3
"""Draws assets/icon/stampseq.png (256x256 RGBA): the three stamps the app shows, science,
reference and difference, a source brightening in the difference. Standard library only."""
import math, struct, sys, zlib

N = 256
px = [[(0, 0, 0, 0)] * N for _ in range(N)]

def rounded(x, y, x0, y0, x1, y1, r):
    cx = min(max(x, x0 + r), x1 - r); cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

def star(x, y, cx, cy, s):
    return math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))

panels = [(20, 40, 'sci'), (100, 40, 'ref'), (180, 40, 'diff')]
for y in range(N):
    for x in range(N):
        if not rounded(x + .5, y + .5, 4, 4, 252, 252, 40):
            continue
        r, g, b = 22, 27, 44  # the app's dark background
        for (px0, py0, kind) in panels:
            if px0 <= x < px0 + 56 and py0 + 60 <= y < py0 + 116:
                lx, ly = x - px0, y - py0 - 60
                v = 0.08
                if kind == 'sci':
                    v += 0.9 * star(lx, ly, 28, 28, 5) + 0.5 * star(lx, ly, 12, 42, 3)
                elif kind == 'ref':
                    v += 0.45 * star(lx, ly, 28, 28, 5) + 0.5 * star(lx, ly, 12, 42, 3)
                else:
                    d = 0.9 * star(lx, ly, 28, 28, 5)
                    r, g, b = int(30 + 225 * d), int(40 + 150 * d), int(70 + 30 * d)
                    break
                c = int(255 * min(v, 1.0))
                r, g, b = c, c, c
                break
        # the class evolution line above the stamps
        t = (x - 24) / 208
        if 0 <= t <= 1:
            yl = 70 - 38 * (1 - math.exp(-4 * t))
            if abs(y - yl) < 3.2:
                r, g, b = 120, 200, 255
        px[y][x] = (r, g, b, 255)

raw = b''.join(b'\x00' + bytes(c for p in row for c in p) for row in px)
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', N, N, 8, 6, 0, 0, 0)) \
    + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
open(sys.argv[1] if len(sys.argv) > 1 else 'assets/icon/stampseq.png', 'wb').write(png)
