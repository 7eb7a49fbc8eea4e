"""Structure-aware mutations of real ZTF alerts: each output file is one real alert with
one or a few of its values made hostile (NaN, inf, huge, empty, odd stamps...), written with
the alert's own schema. Usage: ztf.py OUTDIR N SEED"""
import copy, gzip, io, math, os, random, sys
import fastavro

DATA = os.environ.get("STAMPSEQ_DATA", os.path.join(os.path.dirname(__file__), "../../../shared/data"))
import numpy as np
from astropy.io import fits

SRC = [
    DATA + "/ztf/fixture/v4.02_3005140370015010009.avro",
    DATA + "/ztf/fixture/v3.0_595147624915010001.avro",
    DATA + "/ztf/fixture/v4.01_2475433850015010009.avro",
    DATA + "/ztf/fixture/2019_01_10_739260766315010006.avro",
]

HOSTILE_FLOATS = [float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1e300, -1e300,
                  1e-310, -99.0, -999.0, 99.0, 1e9, -1e9]
HOSTILE_INTS = [0, -1, 1, 2**31 - 1, -2**31, 99, 3, 4]


def fits_bytes(arr, bitpix=None, gz=True, extra=None):
    hdu = fits.PrimaryHDU(arr)
    buf = io.BytesIO()
    hdu.writeto(buf)
    b = buf.getvalue()
    if extra:
        b = extra(b)
    return gzip.compress(b) if gz else b


def stamp_mutation(rng):
    kind = rng.choice(["nan", "inf", "allnan", "tiny", "zero_dim", "big", "rect", "int16",
                       "f64", "3d", "nogzip", "garbage", "truncgz", "truncfits", "empty",
                       "const", "huge_vals", "noend"])
    if kind == "nan":
        a = np.random.default_rng(rng.randrange(1 << 30)).normal(size=(63, 63)).astype(">f4")
        a[rng.randrange(63), :] = np.nan
        return fits_bytes(a)
    if kind == "inf":
        a = np.ones((63, 63), ">f4"); a[31, 31] = np.inf; a[0, 0] = -np.inf
        return fits_bytes(a)
    if kind == "allnan":
        return fits_bytes(np.full((63, 63), np.nan, ">f4"))
    if kind == "tiny":
        return fits_bytes(np.ones((1, 1), ">f4"))
    if kind == "zero_dim":
        return fits_bytes(np.zeros((0, 63), ">f4"))
    if kind == "big":
        return fits_bytes(np.ones((401, 401), ">f4"))
    if kind == "rect":
        return fits_bytes(np.ones((rng.randrange(1, 80), rng.randrange(1, 80)), ">f4"))
    if kind == "int16":
        return fits_bytes(np.ones((63, 63), ">i2"))
    if kind == "f64":
        return fits_bytes(np.ones((63, 63), ">f8"))
    if kind == "3d":
        return fits_bytes(np.ones((3, 63, 63), ">f4"))
    if kind == "nogzip":
        return fits_bytes(np.ones((63, 63), ">f4"), gz=False)
    if kind == "garbage":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 5000)))
    if kind == "truncgz":
        b = fits_bytes(np.ones((63, 63), ">f4"))
        return b[: rng.randrange(1, len(b))]
    if kind == "truncfits":
        b = fits_bytes(np.ones((63, 63), ">f4"), gz=False)
        return gzip.compress(b[: rng.randrange(1, len(b))])
    if kind == "empty":
        return b""
    if kind == "const":
        return fits_bytes(np.full((63, 63), 5.0, ">f4"))
    if kind == "huge_vals":
        return fits_bytes(np.full((63, 63), 3e38, ">f4"))
    if kind == "noend":
        return fits_bytes(np.ones((63, 63), ">f4"), extra=lambda b: b.replace(b"END" + b" " * 77, b" " * 80, 1))
    raise AssertionError(kind)


def mutate_dict(d, rng, nmut):
    keys = [k for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for _ in range(nmut):
        if not keys:
            return
        k = rng.choice(keys)
        if isinstance(d[k], float):
            d[k] = rng.choice(HOSTILE_FLOATS)
        else:
            d[k] = rng.choice(HOSTILE_INTS)


def nullable(field_schema):
    t = field_schema["type"]
    return isinstance(t, list) and "null" in t


def mutate(rec, schema_fields, rng):
    ops = []
    n = rng.randrange(1, 4)
    for _ in range(n):
        op = rng.choice(["cand", "cand", "cand_null", "prv", "prv_null", "prv_long", "prv_empty",
                         "stamp", "stamp", "objid", "isdiffpos", "fid", "jd_order", "cutout_null"])
        ops.append(op)
        c = rec["candidate"]
        if op == "cand":
            mutate_dict(c, rng, rng.randrange(1, 6))
        elif op == "cand_null":
            nk = [f["name"] for f in schema_fields["candidate"] if nullable(f)]
            for k in rng.sample(nk, min(len(nk), rng.randrange(1, 20))):
                c[k] = None
        elif op == "prv" and rec.get("prv_candidates"):
            for p in rng.sample(rec["prv_candidates"], min(3, len(rec["prv_candidates"]))):
                mutate_dict(p, rng, rng.randrange(1, 5))
        elif op == "prv_null" and rec.get("prv_candidates"):
            nk = [f["name"] for f in schema_fields["prv_candidate"] if nullable(f)]
            for p in rec["prv_candidates"]:
                for k in rng.sample(nk, min(len(nk), rng.randrange(1, 30))):
                    p[k] = None
        elif op == "prv_long" and rec.get("prv_candidates"):
            base = rec["prv_candidates"]
            rec["prv_candidates"] = [copy.deepcopy(rng.choice(base)) for _ in range(rng.choice([200, 2000]))]
        elif op == "prv_empty":
            rec["prv_candidates"] = rng.choice([[], None]) if schema_fields["prv_nullable"] else []
        elif op == "stamp":
            which = rng.choice(["cutoutScience", "cutoutTemplate", "cutoutDifference"])
            if rec.get(which) is not None:
                rec[which]["stampData"] = stamp_mutation(rng)
        elif op == "cutout_null":
            which = rng.choice(["cutoutScience", "cutoutTemplate", "cutoutDifference"])
            rec[which] = None
        elif op == "objid":
            rec["objectId"] = rng.choice(["", "x" * 5000, "ZTF\u00e9\u4e2d", "../../etc/passwd", "ZTF 18 a"])
        elif op == "isdiffpos":
            c["isdiffpos"] = rng.choice(["", "x", "0", "1", "tt", "T", "f"])
        elif op == "fid":
            c["fid"] = rng.choice([0, -1, 3, 4, 99, 2**31 - 1])
        elif op == "jd_order" and rec.get("prv_candidates"):
            for p in rec["prv_candidates"]:
                p["jd"] = rng.choice([c["jd"], c["jd"] + 10, float("nan"), 0.0])
    return ops


def schema_fields(schema):
    out = {"prv_nullable": False}
    for f in schema["fields"]:
        t = f["type"]
        if f["name"] == "candidate":
            out["candidate"] = t["fields"] if isinstance(t, dict) else None
        if f["name"] == "prv_candidates":
            out["prv_nullable"] = isinstance(t, list) and "null" in t
            arr = [x for x in (t if isinstance(t, list) else [t]) if isinstance(x, dict)][0]
            out["prv_candidate"] = arr["items"]["fields"] if isinstance(arr["items"], dict) else []
    return out


def main():
    outdir, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    sources = []
    for path in SRC:
        with open(path, "rb") as f:
            r = fastavro.reader(f)
            schema = r.writer_schema
            recs = list(r)
        sources.append((path, schema, recs))
    log = open(os.path.join(outdir, "ops.txt"), "w")
    for i in range(n):
        path, schema, recs = rng.choice(sources)
        rec = copy.deepcopy(rng.choice(recs))
        # Unique ids, so that no mutated alert is dropped as a duplicate of another.
        rec["candid"] = rec["candidate"]["candid"] = 10**17 + seed * 10**6 + i
        rec["objectId"] = f"ZTF99fz{seed:03d}{i:05d}"
        try:
            sf = schema_fields(schema)
            ops = mutate(rec, sf, rng)
            buf = io.BytesIO()
            fastavro.writer(buf, fastavro.parse_schema(schema), [rec])
        except Exception as e:  # a mutation the schema cannot hold: skip it
            continue
        name = f"m{seed}_{i:04d}.avro"
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(buf.getvalue())
        log.write(f"{name} {os.path.basename(path)} {' '.join(ops)}\n")


if __name__ == "__main__":
    main()
