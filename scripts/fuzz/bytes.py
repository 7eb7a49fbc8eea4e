"""Byte-level mutations (flips, truncation, splices) of real alert files of every format.
Usage: bytes.py OUTDIR N SEED"""
import glob, os, random, sys

DATA = os.environ.get("STAMPSEQ_DATA", os.path.join(os.path.dirname(__file__), "../../../shared/data"))
SRC = (glob.glob(DATA + "/ztf/fixture/*.avro")
       + glob.glob(DATA + "/lsst/derived-fink-v10-framed/*.avro")[:3]
       + glob.glob(DATA + "/lsst/boom/*.avro")
       + glob.glob(DATA + "/lsst/fink-science/*.parquet")
       + glob.glob(DATA + "/ztf/extra/**/*.parquet", recursive=True))
outdir, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
os.makedirs(outdir, exist_ok=True)
log = open(os.path.join(outdir, "ops.txt"), "w")
for i in range(n):
    src = rng.choice(SRC)
    b = bytearray(open(src, "rb").read())
    op = rng.choice(["flip", "flip", "trunc", "splice", "zero", "ff"])
    if op == "flip":
        for _ in range(rng.choice([1, 2, 5, 20])):
            j = rng.randrange(len(b)); b[j] ^= 1 << rng.randrange(8)
    elif op == "trunc":
        b = b[: rng.randrange(len(b))]
    elif op == "splice":
        j = rng.randrange(len(b)); k = rng.randrange(len(b)); b = b[:j] + b[k:]
    elif op == "zero":
        j = rng.randrange(len(b)); b[j:j + 64] = bytes(len(b[j:j + 64]))
    elif op == "ff":
        j = rng.randrange(len(b)); b[j:j + 16] = b"\xff" * len(b[j:j + 16])
    ext = src.split(".", 1)[1] if "parquet" not in src else "parquet"
    name = f"b{seed}_{i:04d}.{os.path.basename(src)}"
    open(os.path.join(outdir, name), "wb").write(bytes(b))
    log.write(f"{name} {op}\n")
