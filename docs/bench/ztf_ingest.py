#!/usr/bin/env python3
"""The Python reference for `stampseq bench ingest` on ZTF alerts: fastavro reads each Avro
container file (ZTF writes one alert per file) and, with stamps, gzip plus astropy decode
the three cutouts of every alert into pixel arrays, as stampseq does. One process, one
core.

    pip install fastavro astropy
    python docs/bench/ztf_ingest.py --repeat 3 ../shared/data/ztf/night-20231018

Prints one line per pass and, last, `python: N alerts in S s = R alerts/s (MB/s)` (median
pass). `--no-stamps` reads the records only.
"""

import argparse
import gzip
import io
import os
import statistics
import time

CUTOUTS = ("cutoutScience", "cutoutTemplate", "cutoutDifference")


def files_under(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                out += [os.path.join(root, n) for n in sorted(names) if n.endswith(".avro")]
        else:
            out.append(p)
    return sorted(out)


def decode_cutouts(record):
    from astropy.io import fits
    n = 0
    for key in CUTOUTS:
        cutout = record.get(key)
        data = cutout.get("stampData") if isinstance(cutout, dict) else cutout
        if not data:
            continue
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        with fits.open(io.BytesIO(data), memmap=False) as hdus:
            # .data decodes the pixels (big-endian float to native), as stampseq does.
            _ = hdus[0].data
        n += 1
    return n


def read_file(path, stamps):
    import fastavro
    with open(path, "rb") as f:
        data = f.read()
    alerts = cutouts = 0
    for r in fastavro.reader(io.BytesIO(data)):
        alerts += 1
        if stamps:
            cutouts += decode_cutouts(r)
    return alerts, cutouts, len(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-stamps", action="store_true")
    args = ap.parse_args()
    files = files_under(args.paths)
    runs = []
    for i in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        c0 = time.process_time()
        alerts = cutouts = size = 0
        for f in files:
            a, c, n = read_file(f, not args.no_stamps)
            alerts += a
            cutouts += c
            size += n
        secs = time.perf_counter() - t0
        # CPU time too: on a machine shared with other work it says what a pass cost the
        # core, whatever the wait for one.
        cpu = time.process_time() - c0
        print(f"pass {i + 1}: {alerts} alerts, {cutouts} stamps, {size / 1e6:.1f} MB in {secs:.3f} s "
              f"({cpu:.3f} s CPU)", flush=True)
        runs.append((secs, alerts, size))
    secs = statistics.median(r[0] for r in runs)
    alerts, size = runs[0][1], runs[0][2]
    print(f"python: {alerts} alerts in {secs:.3f} s = {alerts / secs:.0f} alerts/s "
          f"({size / 1e6 / secs:.1f} MB/s)")


if __name__ == "__main__":
    main()
