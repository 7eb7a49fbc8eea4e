"""Structure-aware mutations of real LSST v10 alerts (Confluent-framed), written framed with
the same schema id. Usage: lsst.py OUTDIR N SEED"""
import copy, glob, io, os, random, sys
import fastavro, fastavro.schema
import numpy as np
from astropy.io import fits

sys.path.insert(0, os.path.dirname(__file__))
from ztf import DATA, HOSTILE_FLOATS, HOSTILE_INTS, mutate_dict  # noqa: E402

SCHEMA = fastavro.schema.load_schema(
    DATA + "/lsst/lsst-alert-packet/schema/10/0/lsst.v10_0.alert.avsc")
FILES = sorted(glob.glob(DATA + "/lsst/derived-fink-v10-framed/*.avro"))


def fits_cutout(rng):
    kind = rng.choice(["nan", "tiny", "big", "rect", "garbage", "empty", "trunc", "gz", "3d", "int"])
    if kind == "garbage":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 3000)))
    if kind == "empty":
        return b""
    shape = {"nan": (30, 30), "tiny": (1, 1), "big": (300, 300), "rect": (rng.randrange(1, 60), rng.randrange(1, 60)),
             "trunc": (30, 30), "gz": (30, 30), "3d": (2, 30, 30), "int": (30, 30)}[kind]
    a = np.ones(shape, ">i4" if kind == "int" else ">f4")
    if kind == "nan":
        a[:] = np.nan
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(a)]).writeto(buf)
    b = buf.getvalue()
    if kind == "trunc":
        b = b[: rng.randrange(1, len(b))]
    if kind == "gz":
        import gzip
        b = gzip.compress(b)
    return b


def mutate(rec, rng):
    ops = []
    for _ in range(rng.randrange(1, 4)):
        op = rng.choice(["src", "src", "obj", "prv", "prv_empty", "prv_long", "forced", "cutout",
                         "cutout_null", "band", "obj_null", "ss"])
        ops.append(op)
        if op == "src":
            mutate_dict(rec["diaSource"], rng, rng.randrange(1, 8))
        elif op == "obj" and rec.get("diaObject"):
            mutate_dict(rec["diaObject"], rng, rng.randrange(1, 8))
        elif op == "obj_null":
            rec["diaObject"] = None
        elif op == "prv" and rec.get("prvDiaSources"):
            for p in rec["prvDiaSources"]:
                mutate_dict(p, rng, rng.randrange(1, 4))
        elif op == "prv_empty":
            rec["prvDiaSources"] = rng.choice([[], None])
        elif op == "prv_long" and rec.get("prvDiaSources"):
            rec["prvDiaSources"] = [copy.deepcopy(rng.choice(rec["prvDiaSources"])) for _ in range(1000)]
        elif op == "forced" and rec.get("prvDiaForcedSources"):
            for p in rec["prvDiaForcedSources"]:
                mutate_dict(p, rng, rng.randrange(1, 4))
        elif op == "cutout":
            rec[rng.choice(["cutoutDifference", "cutoutScience", "cutoutTemplate"])] = fits_cutout(rng)
        elif op == "cutout_null":
            rec[rng.choice(["cutoutDifference", "cutoutScience", "cutoutTemplate"])] = None
        elif op == "band":
            rec["diaSource"]["band"] = rng.choice(["", "x", "Y", "u", "zz", None])
        elif op == "ss":
            rec["diaSource"]["ssObjectId"] = rng.choice([0, -1, 2**63 - 1, None])
    return ops


def main():
    outdir, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    recs = []
    for f in FILES:
        b = open(f, "rb").read()
        recs.append((os.path.basename(f), b[:5], fastavro.schemaless_reader(io.BytesIO(b[5:]), SCHEMA)))
    log = open(os.path.join(outdir, "ops.txt"), "w")
    for i in range(n):
        name0, head, rec = rng.choice(recs)
        rec = copy.deepcopy(rec)
        uid = 9 * 10**17 + seed * 10**6 + i
        rec["diaSourceId"] = rec["diaSource"]["diaSourceId"] = uid
        if rec["diaSource"].get("diaObjectId"):
            rec["diaSource"]["diaObjectId"] = uid + 1
            if rec.get("diaObject"):
                rec["diaObject"]["diaObjectId"] = uid + 1
        ops = mutate(rec, rng)
        buf = io.BytesIO()
        try:
            fastavro.schemaless_writer(buf, SCHEMA, rec)
        except Exception:
            continue
        name = f"l{seed}_{i:04d}.v10_0.confluent.avro"
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(head + buf.getvalue())
        log.write(f"{name} {name0} {' '.join(ops)}\n")


if __name__ == "__main__":
    main()
