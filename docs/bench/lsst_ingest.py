#!/usr/bin/env python3
"""The Python reference for `stampseq bench ingest` on LSST alerts: fastavro decodes the
Confluent-framed messages (writer schema by id from alert_packet's schema folder) or
pyarrow the broker Parquet rows, and astropy decodes every HDU of the three FITS cutouts
(image, variance, PSF), as stampseq does. One process, one core.

    pip install fastavro astropy pyarrow
    python docs/bench/lsst_ingest.py --make-set /tmp/lsst-bench --copies 25 \
        ../shared/data/lsst/derived-fink-v10-framed ../shared/data/lsst/boom
    python docs/bench/lsst_ingest.py --schemas ../shared/data/lsst/lsst-alert-packet/schema \
        --repeat 5 /tmp/lsst-bench

Prints one line per pass and, last, `python: N alerts in S s = R alerts/s (MB/s)` (median
pass). Parquet files are read with pyarrow (fastavro does not read Parquet).
"""

import argparse
import io
import os
import shutil
import statistics
import struct
import sys
import time

CUTOUTS = ("cutoutDifference", "cutoutScience", "cutoutTemplate")


def files_under(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                out += [os.path.join(root, n) for n in sorted(names)
                        if n.endswith((".avro", ".parquet", ".parq"))]
        else:
            out.append(p)
    return sorted(out)


def make_set(out, copies, paths):
    """Copies the alert files `copies` times into `out`, so that a pass lasts long enough
    to time (the samples are 22 alerts)."""
    os.makedirs(out, exist_ok=True)
    for i in range(copies):
        for f in files_under(paths):
            shutil.copyfile(f, os.path.join(out, f"{i:03d}-{os.path.basename(f)}"))


class Schemas:
    def __init__(self, folder):
        self.folder = folder
        self.cache = {}

    def get(self, schema_id):
        import fastavro.schema
        if schema_id not in self.cache:
            major, minor = divmod(schema_id, 100)
            path = os.path.join(self.folder, str(major), str(minor),
                                f"lsst.v{major}_{minor}.alert.avsc")
            self.cache[schema_id] = fastavro.schema.load_schema(path)
        return self.cache[schema_id]


def decode_cutouts(record):
    from astropy.io import fits
    n = 0
    for key in CUTOUTS:
        data = record.get(key)
        if not data:
            continue
        with fits.open(io.BytesIO(data), memmap=False) as hdus:
            for hdu in hdus:
                # .data decodes the pixels (big-endian float to native), as stampseq does.
                _ = hdu.data
        n += 1
    return n


def read_file(path, schemas, stamps):
    import fastavro
    with open(path, "rb") as f:
        data = f.read()
    alerts = cutouts = 0
    if data[:4] == b"PAR1":
        import pyarrow.parquet as pq
        records = pq.read_table(io.BytesIO(data)).to_pylist()
    elif data[:4] == b"Obj\x01":
        records = list(fastavro.reader(io.BytesIO(data)))
    else:
        records = []
        buf = io.BytesIO(data)
        while buf.tell() < len(data):
            magic, schema_id = struct.unpack(">bI", buf.read(5))
            if magic != 0:
                raise ValueError(f"{path}: not a Confluent-framed message")
            records.append(fastavro.schemaless_reader(buf, schemas.get(schema_id)))
    for r in records:
        alerts += 1
        if stamps:
            cutouts += decode_cutouts(r)
    return alerts, cutouts, len(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--schemas", help="alert_packet's schema/ folder")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-stamps", action="store_true")
    ap.add_argument("--make-set", metavar="DIR")
    ap.add_argument("--copies", type=int, default=25)
    args = ap.parse_args()
    if args.make_set:
        make_set(args.make_set, args.copies, args.paths)
        return
    schemas = Schemas(args.schemas or os.environ.get("STAMPSEQ_LSST_SCHEMAS", ""))
    files = files_under(args.paths)
    runs = []
    for i in range(max(1, args.repeat)):
        start = time.perf_counter()
        alerts = stamps = size = 0
        for f in files:
            a, s, b = read_file(f, schemas, not args.no_stamps)
            alerts, stamps, size = alerts + a, stamps + s, size + b
        secs = time.perf_counter() - start
        print(f"pass {i + 1}: {alerts} alerts, {stamps} stamps, {size / 1e6:.1f} MB in {secs:.3f} s",
              file=sys.stderr)
        runs.append((secs, alerts, size))
    secs, alerts, size = sorted(runs)[len(runs) // 2]
    print(f"python: {alerts} alerts in {secs:.3f} s = {alerts / secs:.0f} alerts/s "
          f"({size / 1e6 / secs:.1f} MB/s, 1 process)")


if __name__ == "__main__":
    main()
