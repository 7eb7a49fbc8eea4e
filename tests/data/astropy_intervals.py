"""Known answers for the display intervals: astropy's ZScaleInterval and PercentileInterval
(with their defaults) on real ZTF cutouts of ../shared/data. Regenerate with
`python3 tests/data/astropy_intervals.py > tests/data/astropy_intervals.csv`
(needs fastavro, astropy, numpy)."""
import glob, gzip, io, os, sys
import fastavro
import numpy as np
from astropy.io import fits
from astropy.visualization import PercentileInterval, ZScaleInterval

root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "ztf")
files = sorted(glob.glob(os.path.join(root, "fixture", "sequence_ZTF19abegmle", "*.avro")))
files += [os.path.join(root, "fixture", "edge_nonsquare_stamp_000010510300844919.avro")]
print("file,cutout,zscale_vmin,zscale_vmax,p99_vmin,p99_vmax,p90_vmin,p90_vmax")
for path in files:
    with open(path, "rb") as f:
        alert = next(fastavro.reader(f))
    for cutout in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
        data = fits.open(io.BytesIO(gzip.decompress(alert[cutout]["stampData"])))[0].data
        z = ZScaleInterval().get_limits(data)
        p = PercentileInterval(99.0).get_limits(data)
        p90 = PercentileInterval(90.0).get_limits(data)
        rel = os.path.relpath(path, root)
        print(f"{rel},{cutout},{float(z[0])!r},{float(z[1])!r},{float(p[0])!r},{float(p[1])!r},{float(p90[0])!r},{float(p90[1])!r}")
