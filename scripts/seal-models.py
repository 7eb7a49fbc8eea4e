#!/usr/bin/env python3
"""Adds to model files written before stampseq sealed them the checksum it writes now: the
CRC-32 of the `stampseq` header (its JSON text) followed by the tensor data, in hex, under
the metadata key `stampseq_crc32` (src/model/file.rs, `sealed`). Weights and header are
unchanged; stampseq refuses a sealed file whose bytes no longer match.
Usage: seal-models.py MODEL.stampseq..."""
import json
import struct
import sys
import zlib


def seal(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.setdefault("__metadata__", {})
    crc = zlib.crc32(meta["stampseq"].encode("utf-8") + data) & 0xFFFFFFFF
    meta["stampseq_crc32"] = f"{crc:08x}"
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    import os
    os.replace(path + ".tmp", path)
    print(f"{path}: {crc:08x}")


for p in sys.argv[1:]:
    seal(p)
