//! Alert packets: the `ztf.alert` fields of each detection, consistent with its images.
//!
//! Catalogue context follows the class: PS1 `sgscore1` near 1 with the star under the
//! source for variable stars, a galaxy (`sgscore1` near 0) at the host offset for SN and AGN,
//! an unrelated neighbour for asteroids and artefacts. `rb`/`drb` are high for real sources
//! and low for artefacts; `ssdistnr` is -999 except for asteroids.

use super::objects::{Epoch, SimObject};
use super::physics::{flux_to_mag, uniform, ARCSEC_PER_PIXEL, CENTRE};
use super::writer::{fits_gz, Datum, Fields};
use super::SimClass;
use rand::RngExt;

/// JD of 2017-01-01 minus one: ZTF night ids (`nid`) count nights from there.
const NID_EPOCH_JD: f64 = 2_457_754.5;

/// Per-object catalogue context, drawn once.
struct Context {
    sgscore1: f64,
    distpsnr1: f64,
    sgscore2: f64,
    distpsnr2: f64,
    sgscore3: f64,
    distpsnr3: f64,
    magnr: f64,
    distnr: f64,
    ndet_before: i64,
    ncov_before: i64,
    jd_first_before: Option<f64>,
    ssdistnr: f64,
    ssnamenr: Option<String>,
    xpos: f64,
    ypos: f64,
}

fn context<R: rand::Rng + ?Sized>(obj: &SimObject, rng: &mut R) -> Context {
    let (sg, dist) = match obj.class {
        SimClass::Vs => (uniform(rng, 0.9, 1.0), uniform(rng, 0.0, 0.4)),
        SimClass::Sn => (
            uniform(rng, 0.0, 0.25),
            obj.truth.host_offset_arcsec.unwrap_or(1.0) + uniform(rng, -0.2, 0.2),
        ),
        SimClass::Agn => (uniform(rng, 0.0, 0.5), uniform(rng, 0.0, 0.4)),
        SimClass::Asteroid | SimClass::Bogus => (uniform(rng, 0.0, 1.0), uniform(rng, 2.0, 20.0)),
    };
    let (ndet_before, ncov_before) = match obj.class {
        SimClass::Agn | SimClass::Vs => (rng.random_range(0..150), rng.random_range(150..1500)),
        _ => (0, rng.random_range(10..800)),
    };
    let asteroid = obj.class == SimClass::Asteroid;
    Context {
        sgscore1: sg,
        distpsnr1: dist.max(0.02),
        sgscore2: uniform(rng, 0.0, 1.0),
        distpsnr2: uniform(rng, dist.max(2.0), 25.0),
        sgscore3: uniform(rng, 0.0, 1.0),
        distpsnr3: uniform(rng, 10.0, 30.0),
        magnr: uniform(rng, 15.0, 20.5),
        distnr: match obj.truth.host_centre {
            Some((hx, hy)) => {
                let (sx, sy) = obj.truth.source;
                ((sx - hx).hypot(sy - hy) * ARCSEC_PER_PIXEL).max(0.05)
            }
            None if obj.class == SimClass::Vs => uniform(rng, 0.05, 0.4),
            None => uniform(rng, 2.0, 15.0),
        },
        ndet_before,
        ncov_before,
        jd_first_before: (ndet_before > 0).then(|| uniform(rng, 2_458_200.0, 2_458_290.0)),
        ssdistnr: if asteroid {
            uniform(rng, 0.0, 4.0)
        } else {
            -999.0
        },
        ssnamenr: asteroid.then(|| rng.random_range(1000..600_000).to_string()),
        xpos: uniform(rng, 60.0, 3010.0),
        ypos: uniform(rng, 60.0, 3020.0),
    }
}

fn nid(jd: f64) -> i64 {
    (jd - NID_EPOCH_JD).floor() as i64
}

/// ZTF's processing id: night, exposure time of night, readout channel.
fn pid(e: &Epoch, rcid: i32) -> i64 {
    nid(e.jd) * 1_000_000_000 + ((e.jd.fract() * 1e5) as i64) * 10_000 + rcid as i64 * 100 + 15
}

fn filename(e: &Epoch, field: i32, rcid: i32) -> String {
    let band = if e.fid == 1 { "zg" } else { "zr" };
    format!(
        "ztf_{}_{field:06}_{band}_c{:02}_o_q{}_scimrefdiffimg.fits",
        pid(e, rcid) / 100,
        rcid / 4 + 1,
        rcid % 4 + 1
    )
}

/// Fields every entry of an object's history shares: when, where, which exposure.
fn exposure_fields(obj: &SimObject, e: &Epoch) -> Fields {
    let mut f = Fields::new();
    f.insert("jd", e.jd.into());
    f.insert("fid", e.fid.into());
    f.insert("pid", pid(e, obj.rcid).into());
    f.insert("diffmaglim", e.diffmaglim.into());
    f.insert("pdiffimfilename", filename(e, obj.field, obj.rcid).into());
    f.insert("programpi", "Kulkarni".into());
    f.insert("programid", 1i64.into());
    f.insert("nid", nid(e.jd).into());
    f.insert("rcid", obj.rcid.into());
    f.insert("field", obj.field.into());
    f.insert("magzpsci", e.zp.into());
    f.insert("magzpsciunc", 1.0e-5.into());
    f.insert("magzpscirms", 0.035.into());
    f.insert("clrcoeff", if e.fid == 1 { -0.06 } else { 0.09 }.into());
    f.insert("clrcounc", 1.0e-5.into());
    f.insert("rbversion", "t17_f5_c3".into());
    f
}

/// The `candidate` record of one detection. `index` is the detection's serial number
/// within the object, `serial` the object's within the run (for the candid).
fn candidate<R: rand::Rng + ?Sized>(
    obj: &SimObject,
    ctx: &Context,
    e: &Epoch,
    serial: u64,
    history: (i64, i64, f64),
    rng: &mut R,
) -> (i64, Fields) {
    let mut f = exposure_fields(obj, e);
    let candid = pid(e, obj.rcid) * 1_000_000 + (serial % 1_000_000) as i64;
    let flux = e.phot.flux;
    let magpsf = flux_to_mag(flux, e.zp);
    let sigmapsf = 1.085_736 * e.phot.sigma / flux.abs().max(1e-9);
    // Positions: the stamp centre moved to the source, plus ~0.1 arcsec of centroiding
    // scatter, as repeated ZTF detections show.
    let (ra0, dec0) = obj.centre_radec;
    let (sx, sy) = obj.truth.source;
    let jitter = 0.08 / 3600.0;
    let dec = dec0 + (sy - CENTRE) * ARCSEC_PER_PIXEL / 3600.0 + jitter * uniform(rng, -1.0, 1.0);
    let ra = ra0 - (sx - CENTRE) * ARCSEC_PER_PIXEL / 3600.0 / dec0.to_radians().cos().max(0.05)
        + jitter * uniform(rng, -1.0, 1.0);
    let real = !matches!(obj.class, SimClass::Bogus);
    let magap = magpsf + uniform(rng, -0.05, 0.05);
    let sigmagap = sigmapsf * 0.8;
    put(&mut f, "candid", candid.into());
    put(
        &mut f,
        "isdiffpos",
        if flux >= 0.0 { "t" } else { "f" }.into(),
    );
    put(&mut f, "tblid", rng.random_range(0..40i64).into());
    put(&mut f, "xpos", (ctx.xpos + uniform(rng, -2.0, 2.0)).into());
    put(&mut f, "ypos", (ctx.ypos + uniform(rng, -2.0, 2.0)).into());
    put(&mut f, "ra", ra.into());
    put(&mut f, "dec", dec.into());
    put(&mut f, "magpsf", magpsf.into());
    put(&mut f, "sigmapsf", sigmapsf.into());
    put(
        &mut f,
        "chipsf",
        (if real {
            uniform(rng, 0.5, 3.0)
        } else {
            uniform(rng, 3.0, 60.0)
        })
        .into(),
    );
    put(&mut f, "magap", magap.into());
    put(&mut f, "sigmagap", sigmagap.into());
    put(&mut f, "distnr", ctx.distnr.into());
    put(&mut f, "magnr", ctx.magnr.into());
    put(&mut f, "sigmagnr", 0.02.into());
    put(&mut f, "chinr", uniform(rng, 0.3, 3.0).into());
    put(&mut f, "sharpnr", uniform(rng, -0.1, 0.1).into());
    put(&mut f, "sky", uniform(rng, -0.5, 0.5).into());
    put(&mut f, "magdiff", (magap - magpsf).into());
    put(&mut f, "fwhm", e.fwhm_arcsec.into());
    put(
        &mut f,
        "classtar",
        (if obj.class == SimClass::Vs {
            uniform(rng, 0.8, 1.0)
        } else {
            uniform(rng, 0.3, 1.0)
        })
        .into(),
    );
    put(
        &mut f,
        "mindtoedge",
        ctx.xpos.min(ctx.ypos).min(3072.0 - ctx.xpos).into(),
    );
    put(&mut f, "magfromlim", (e.diffmaglim - magap).into());
    put(&mut f, "seeratio", uniform(rng, 0.7, 1.6).into());
    shape_fields(&mut f, obj, e, real, rng);
    neighbour_fields(&mut f, ctx, (magpsf, magap, sigmagap), (ra0, dec0), rng);
    history_and_reference_fields(&mut f, obj, ctx, e, history, rng);
    (candid, f)
}

fn put(f: &mut Fields, k: &'static str, v: Datum) {
    f.insert(k, v);
}

/// The candidate's shape (elongation, negative and bad pixels) and its real/bogus scores.
fn shape_fields<R: rand::Rng + ?Sized>(
    f: &mut Fields,
    obj: &SimObject,
    e: &Epoch,
    real: bool,
    rng: &mut R,
) {
    let a = e.fwhm_arcsec / 2.355 / ARCSEC_PER_PIXEL;
    let elong = if real {
        uniform(rng, 1.0, 1.3)
    } else {
        uniform(rng, 1.0, 3.0)
    };
    put(f, "aimage", (a * elong.sqrt()).into());
    put(f, "bimage", (a / elong.sqrt()).into());
    put(f, "aimagerat", (a * elong.sqrt() / e.fwhm_arcsec).into());
    put(f, "bimagerat", (a / elong.sqrt() / e.fwhm_arcsec).into());
    put(f, "elong", elong.into());
    put(
        f,
        "nneg",
        (if real {
            rng.random_range(0..4i64)
        } else {
            rng.random_range(3..20i64)
        })
        .into(),
    );
    put(
        f,
        "nbad",
        (if real {
            0i64
        } else {
            rng.random_range(0..3i64)
        })
        .into(),
    );
    let (rb, drb) = match obj.class {
        SimClass::Bogus => (uniform(rng, 0.05, 0.45), uniform(rng, 0.0, 0.3)),
        _ => (uniform(rng, 0.55, 0.97), uniform(rng, 0.85, 1.0)),
    };
    put(f, "rb", rb.into());
    put(f, "drb", drb.into());
    put(f, "drbversion", "d6_m7".into());
}

/// The solar-system and Pan-STARRS / Gaia neighbours, given the candidate's PSF and
/// aperture magnitudes and aperture sigma, and the sky position of the stamp centre.
fn neighbour_fields<R: rand::Rng + ?Sized>(
    f: &mut Fields,
    ctx: &Context,
    (magpsf, magap, sigmagap): (f64, f64, f64),
    (ra0, dec0): (f64, f64),
    rng: &mut R,
) {
    put(f, "ssdistnr", ctx.ssdistnr.into());
    put(
        f,
        "ssmagnr",
        (if ctx.ssnamenr.is_some() {
            magpsf + uniform(rng, -0.3, 0.3)
        } else {
            -999.0
        })
        .into(),
    );
    put(
        f,
        "ssnamenr",
        ctx.ssnamenr.clone().unwrap_or_else(|| "null".into()).into(),
    );
    put(f, "sumrat", uniform(rng, 0.85, 1.0).into());
    put(f, "magapbig", (magap + uniform(rng, -0.03, 0.03)).into());
    put(f, "sigmagapbig", (sigmagap * 1.1).into());
    put(f, "ranr", ra0.into());
    put(f, "decnr", dec0.into());
    for (k, v) in [
        ("sgmag1", ctx.magnr + 0.3),
        ("srmag1", ctx.magnr),
        ("simag1", ctx.magnr - 0.2),
        ("szmag1", ctx.magnr - 0.3),
    ] {
        put(f, k, v.into());
    }
    put(f, "sgscore1", ctx.sgscore1.into());
    put(f, "distpsnr1", ctx.distpsnr1.into());
    put(f, "sgscore2", ctx.sgscore2.into());
    put(f, "distpsnr2", ctx.distpsnr2.into());
    put(f, "sgscore3", ctx.sgscore3.into());
    put(f, "distpsnr3", ctx.distpsnr3.into());
    for k in [
        "sgmag2", "srmag2", "simag2", "szmag2", "sgmag3", "srmag3", "simag3", "szmag3",
    ] {
        put(f, k, uniform(rng, 18.0, 22.0).into());
    }
    for k in ["objectidps1", "objectidps2", "objectidps3"] {
        put(
            f,
            k,
            rng.random_range(100_000_000_000_000_000i64..200_000_000_000_000_000)
                .into(),
        );
    }
    put(f, "nmtchps", rng.random_range(1..12i64).into());
}

/// The detection history, the reference image and the calibration of this exposure.
fn history_and_reference_fields<R: rand::Rng + ?Sized>(
    f: &mut Fields,
    obj: &SimObject,
    ctx: &Context,
    e: &Epoch,
    (ndethist, ncovhist, jdstarthist): (i64, i64, f64),
    rng: &mut R,
) {
    put(f, "ndethist", ndethist.into());
    put(f, "ncovhist", ncovhist.into());
    put(f, "jdstarthist", jdstarthist.into());
    put(f, "jdendhist", e.jd.into());
    put(f, "scorr", e.phot.snr().abs().into());
    put(f, "tooflag", 0i64.into());
    put(
        f,
        "rfid",
        (obj.field as i64 * 1_000_000 + obj.rcid as i64 * 1000 + 100 + e.fid as i64).into(),
    );
    put(f, "jdstartref", 2_458_200.0.into());
    put(f, "jdendref", 2_458_360.0.into());
    put(f, "nframesref", rng.random_range(15..40i64).into());
    put(f, "dsnrms", uniform(rng, 5.0, 40.0).into());
    put(f, "ssnrms", uniform(rng, 20.0, 120.0).into());
    put(f, "dsdiff", uniform(rng, -80.0, -10.0).into());
    put(f, "nmatches", rng.random_range(300..2000i64).into());
    put(f, "zpclrcov", (-1.0e-5).into());
    put(f, "zpmed", (e.zp + uniform(rng, -0.05, 0.05)).into());
    put(f, "clrmed", uniform(rng, 0.4, 0.8).into());
    put(f, "clrrms", uniform(rng, 0.2, 0.3).into());
    put(
        f,
        "neargaia",
        (ctx.distpsnr1 + uniform(rng, 0.0, 0.1)).into(),
    );
    put(f, "neargaiabright", (-999.0).into());
    put(f, "maggaia", (ctx.magnr + uniform(rng, -0.2, 0.2)).into());
    put(f, "maggaiabright", (-999.0).into());
    put(f, "exptime", 30.0.into());
}

fn cutout(kind: &str, candid: i64, pid: i64, pixels: &[f32]) -> Datum {
    let mut c = Fields::new();
    c.insert(
        "fileName",
        format!("candid{candid}_pid{pid}_targ_{kind}.fits.gz").into(),
    );
    c.insert("stampData", Datum::Bytes(fits_gz(pixels)));
    Datum::Record(c)
}

/// One alert packet per detection, as `(candid, record)`, in time order.
pub fn alert_records<R: rand::Rng + ?Sized>(
    obj: &SimObject,
    serial: u64,
    schema_version: &str,
    rng: &mut R,
) -> Vec<(i64, Fields)> {
    let ctx = context(obj, rng);
    let mut out = Vec::new();
    // History entries as they will appear in later packets' prv_candidates.
    let mut history: Vec<(f64, Datum)> = Vec::new();
    let (mut ndet, mut ncov) = (ctx.ndet_before, ctx.ncov_before);
    let mut jdstart = ctx.jd_first_before;
    for e in &obj.epochs {
        ncov += 1;
        if !e.detected {
            history.push((e.jd, Datum::Record(exposure_fields(obj, e))));
            continue;
        }
        ndet += 1;
        let start = *jdstart.get_or_insert(e.jd);
        let (candid, cand) = candidate(obj, &ctx, e, serial, (ndet, ncov, start), rng);
        let pid = pid(e, obj.rcid);
        let prv: Vec<Datum> = history
            .iter()
            .filter(|(jd, _)| e.jd - jd <= 30.0)
            .map(|(_, d)| d.clone())
            .collect();
        let mut alert = Fields::new();
        alert.insert("schemavsn", schema_version.into());
        alert.insert("publisher", "stampseq simulate".into());
        alert.insert("objectId", obj.object_id.clone().into());
        alert.insert("candid", candid.into());
        alert.insert("prv_candidates", Datum::Array(prv));
        alert.insert("fp_hists", Datum::Null);
        alert.insert("cutoutScience", cutout("sci", candid, pid, &e.science));
        alert.insert("cutoutTemplate", cutout("ref", candid, pid, &e.template));
        alert.insert(
            "cutoutDifference",
            cutout("diff", candid, pid, &e.difference),
        );
        history.push((e.jd, Datum::Record(cand.clone())));
        alert.insert("candidate", Datum::Record(cand));
        out.push((candid, alert));
    }
    out
}
