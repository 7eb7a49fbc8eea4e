//! One simulated object: its scene on a real template, its epochs and its detections.
//!
//! Geometry. Real ZTF cutouts are centred on the candidate, so every object is placed near
//! the stamp centre: the template is moved (by whole pixels, mirrored at the edges) to put
//! the wanted background there. Supernovae sit 0.5..3 arcsec from the centre of their host,
//! AGN on the host's nucleus, variable stars on a point source, asteroids on empty sky.
//! Where the template has no galaxy (or star) near its centre, one is added to it: an
//! exponential disc (or a point source), so every template serves every class.
//!
//! Each epoch: science = template + source x PSF (this epoch's seeing), observed with
//! photon and read noise; difference = science - template + the template's noise. The
//! alert's `magpsf` and `sigmapsf` come from PSF photometry on that difference image at the
//! source position, and an epoch is a detection when it reaches 5 sigma; otherwise it is an
//! upper limit at `diffmaglim` (the 5 sigma limit of PSF photometry on blank sky).

use super::artefacts::{Artefact, ArtefactScene};
use super::lightcurves::{variable_star, LightCurve};
use super::physics::*;
use super::templates::Field;
use super::SimClass;
use rand::RngExt;
use std::collections::BTreeMap;

/// What was put where, for checking the images against the truth.
#[derive(Debug, Clone)]
pub struct Truth {
    /// Centre of the host galaxy (SN, AGN) in stamp pixels `(x, y)`.
    pub host_centre: Option<(f64, f64)>,
    /// Where the transient or variable source is, in stamp pixels.
    pub source: (f64, f64),
    pub artefact: Option<Artefact>,
    /// Offset of a supernova from its host centre, arcsec.
    pub host_offset_arcsec: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Epoch {
    pub jd: f64,
    pub fid: i32,
    pub zp: f64,
    pub fwhm_arcsec: f64,
    /// The flux injected into the difference image (DN); negative when fainter than in the
    /// template.
    pub true_flux: f64,
    pub phot: PsfPhotometry,
    /// 5-sigma limiting magnitude of this difference image.
    pub diffmaglim: f64,
    pub detected: bool,
    /// Stamps, only kept for detections.
    pub science: Vec<f32>,
    pub template: Vec<f32>,
    pub difference: Vec<f32>,
}

/// One simulated object, before it is turned into alerts.
#[derive(Debug, Clone)]
pub struct SimObject {
    pub object_id: String,
    pub class: SimClass,
    pub truth: Truth,
    /// Every epoch in time order, detections and upper limits.
    pub epochs: Vec<Epoch>,
    /// Sky position of the stamp centre.
    pub centre_radec: (f64, f64),
    pub field: i32,
    pub rcid: i32,
    pub template_source: String,
}

impl SimObject {
    pub fn detections(&self) -> impl Iterator<Item = &Epoch> {
        self.epochs.iter().filter(|e| e.detected)
    }
}

/// The per-band fixed part of the scene: the (moved, completed) template and the mean
/// flux of a source that the template already holds.
struct BandScene {
    template: Vec<f64>,
    zp: f64,
    /// Mean flux of the variable source in this band (AGN nucleus, star), DN.
    reference_flux: f64,
}

const TEMPLATE_FWHM_ARCSEC: f64 = 2.0;

/// What varies: the light curve and how its value becomes a difference flux.
enum Variability {
    Supernova(LightCurve),
    /// Magnitude offsets around the template's mean flux.
    Relative(LightCurve),
    Asteroid {
        mag: f64,
    },
    Artefact(ArtefactScene),
}

pub fn simulate_object<R: rand::Rng + ?Sized>(
    object_id: String,
    class: SimClass,
    field: &Field,
    detections_wanted: usize,
    rng: &mut R,
) -> SimObject {
    // Redraw when a faint draw would give too few detections; keep the best draw.
    let mut best: Option<SimObject> = None;
    for _ in 0..12 {
        let obj = simulate_once(object_id.clone(), class, field, detections_wanted, rng);
        let n = obj.detections().count();
        if n >= detections_wanted {
            return obj;
        }
        if best.as_ref().is_none_or(|b| n > b.detections().count()) {
            best = Some(obj);
        }
    }
    best.unwrap_or_else(|| simulate_once(object_id, class, field, detections_wanted, rng))
}

fn simulate_once<R: rand::Rng + ?Sized>(
    object_id: String,
    class: SimClass,
    field: &Field,
    detections_wanted: usize,
    rng: &mut R,
) -> SimObject {
    let any = field
        .bands
        .values()
        .next()
        .expect("a field has at least one band");
    let template_sigma = sigma_from_fwhm_arcsec(TEMPLATE_FWHM_ARCSEC);
    let mut placed = Placement::choose(class, field, &any.pixels, rng);
    let (dx, dy) = (placed.dx, placed.dy);

    // Sky position of the new stamp centre: North is +row, East is -column.
    let dec = any.dec + dy as f64 * ARCSEC_PER_PIXEL / 3600.0;
    let ra = any.ra - dx as f64 * ARCSEC_PER_PIXEL / 3600.0 / dec.to_radians().cos().max(0.05);

    let looks = Looks::draw(class, any.zp, rng);
    placed.truth.artefact = looks.artefact.as_ref().map(|a| a.kind);
    let scenes = band_scenes(class, field, &placed, &looks, template_sigma);

    let start = uniform(rng, 2_458_300.0, 2_460_900.0).floor() + 0.5;
    let variability = variability(class, start, any.zp, &looks, rng);
    // Asteroids and artefacts are seen once or twice after a few blank visits.
    let blank_visits = match class {
        SimClass::Asteroid | SimClass::Bogus => rng.random_range(0..4usize),
        _ => 0,
    };
    let mut sky = Sky {
        class,
        scenes: &scenes,
        source: placed.truth.source,
        template_sigma,
        blank_visits,
        variability,
    };
    let epochs = sky.observe(start, detections_wanted, rng);
    SimObject {
        object_id,
        class,
        truth: placed.truth,
        epochs,
        centre_radec: (ra, dec),
        field: any.field,
        rcid: any.rcid,
        template_source: any.source.clone(),
    }
}

/// Where the object goes: the background it needs (a host, a star, empty sky) found near
/// the centre of the original template, or added; the whole-pixel move that brings it to
/// the stamp centre, and what ends where after that move.
struct Placement {
    truth: Truth,
    /// A host galaxy to add to the template, when the template has none near its centre.
    synthetic_host: Option<(f64, f64)>,
    /// A star to add, likewise.
    synthetic_star: Option<(f64, f64)>,
    dx: i64,
    dy: i64,
}

impl Placement {
    fn choose<R: rand::Rng + ?Sized>(
        class: SimClass,
        field: &Field,
        first: &[f32],
        rng: &mut R,
    ) -> Self {
        let found =
            brightest_centroid(first, CENTRE, CENTRE, 6.0).filter(|(_, _, snr)| *snr > 15.0);
        let mut truth = Truth {
            host_centre: None,
            source: (CENTRE, CENTRE),
            artefact: None,
            host_offset_arcsec: None,
        };
        let mut synthetic_host = None;
        let mut synthetic_star = None;
        let (anchor_x, anchor_y);
        match class {
            SimClass::Sn | SimClass::Agn => {
                let (hx, hy) = match found {
                    Some((x, y, _)) if !field.star_at_centre() => (x, y),
                    _ => {
                        let h = (
                            CENTRE + uniform(rng, -1.0, 1.0),
                            CENTRE + uniform(rng, -1.0, 1.0),
                        );
                        synthetic_host = Some(h);
                        h
                    }
                };
                let (sx, sy) = if class == SimClass::Sn {
                    let r = uniform(rng, 0.5, 3.0) / ARCSEC_PER_PIXEL;
                    let a = uniform(rng, 0.0, std::f64::consts::TAU);
                    truth.host_offset_arcsec = Some(r * ARCSEC_PER_PIXEL);
                    (hx + r * a.cos(), hy + r * a.sin())
                } else {
                    (hx, hy)
                };
                truth.host_centre = Some((hx, hy));
                (anchor_x, anchor_y) = (sx, sy);
            }
            SimClass::Vs => match found {
                Some((x, y, _)) if field.star_at_centre() => (anchor_x, anchor_y) = (x, y),
                _ => {
                    let s = (
                        CENTRE + uniform(rng, -0.5, 0.5),
                        CENTRE + uniform(rng, -0.5, 0.5),
                    );
                    synthetic_star = Some(s);
                    (anchor_x, anchor_y) = s;
                }
            },
            SimClass::Asteroid | SimClass::Bogus => {
                (anchor_x, anchor_y) = emptiest_spot(first);
            }
        }
        let (dx, dy) = (
            (anchor_x - CENTRE).round() as i64,
            (anchor_y - CENTRE).round() as i64,
        );
        let moved = move |p: (f64, f64)| -> (f64, f64) { (p.0 - dx as f64, p.1 - dy as f64) };
        truth.source = (anchor_x - dx as f64, anchor_y - dy as f64);
        truth.host_centre = truth.host_centre.map(moved);
        Self {
            truth,
            synthetic_host: synthetic_host.map(moved),
            synthetic_star: synthetic_star.map(moved),
            dx,
            dy,
        }
    }
}

/// The faintest smoothed spot of the central region: empty sky.
fn emptiest_spot(first: &[f32]) -> (f64, f64) {
    let mut best = (CENTRE, CENTRE, f64::MAX);
    for r in 12..51 {
        for c in 12..51 {
            let mut s = 0.0;
            for i in r - 2..=r + 2 {
                for j in c - 2..=c + 2 {
                    s += first[i * SIDE + j] as f64;
                }
            }
            if s < best.2 {
                best = (c as f64, r as f64, s);
            }
        }
    }
    (best.0, best.1)
}

/// The object's looks, drawn once: an added host's shape and magnitude, an added star's
/// and an AGN nucleus's magnitude, and a bogus object's artefact.
struct Looks {
    /// Scale length (pixels), axis ratio, position angle and magnitude.
    host_shape: (f64, f64, f64, f64),
    star_mag: f64,
    nucleus_mag: f64,
    artefact: Option<ArtefactScene>,
}

impl Looks {
    fn draw<R: rand::Rng + ?Sized>(class: SimClass, zp: f64, rng: &mut R) -> Self {
        let host_shape = (
            uniform(rng, 1.0, 3.5),
            uniform(rng, 0.4, 1.0),
            uniform(rng, 0.0, std::f64::consts::PI),
            uniform(rng, 17.0, 19.0),
        );
        let star_mag = uniform(rng, 14.5, 18.0);
        let nucleus_mag = uniform(rng, 16.5, 18.5);
        let artefact = (class == SimClass::Bogus)
            .then(|| ArtefactScene::draw(Artefact::ALL[rng.random_range(0..4)], zp, rng));
        Self {
            host_shape,
            star_mag,
            nucleus_mag,
            artefact,
        }
    }
}

/// Each band's moved template, completed with what the object needs (host, nucleus, star,
/// artefact), and the mean flux of a source it already holds.
fn band_scenes(
    class: SimClass,
    field: &Field,
    placed: &Placement,
    looks: &Looks,
    template_sigma: f64,
) -> BTreeMap<i32, BandScene> {
    let source = placed.truth.source;
    let mut scenes: BTreeMap<i32, BandScene> = BTreeMap::new();
    for (fid, t) in &field.bands {
        let mut template: Vec<f64> = shift(&t.pixels, placed.dx, placed.dy)
            .iter()
            .map(|v| *v as f64)
            .collect();
        // Galaxies are redder than the g band: about half a magnitude brighter in r.
        let colour = if *fid == 2 { -0.5 } else { 0.0 };
        if let Some((x, y)) = placed.synthetic_host {
            let (h, q, pa, mag) = looks.host_shape;
            let g = exponential_galaxy(x, y, h, q, pa, template_sigma);
            add_scaled(&mut template, &g, mag_to_flux(mag + colour, t.zp));
        }
        let mut reference_flux = 0.0;
        if class == SimClass::Agn {
            reference_flux = mag_to_flux(looks.nucleus_mag + colour * 0.4, t.zp);
            let psf = gaussian_psf(source.0, source.1, template_sigma);
            add_scaled(&mut template, &psf, reference_flux);
        }
        if class == SimClass::Vs {
            reference_flux = match placed.synthetic_star {
                Some((x, y)) => {
                    let f = mag_to_flux(looks.star_mag, t.zp);
                    add_scaled(&mut template, &gaussian_psf(x, y, template_sigma), f);
                    f
                }
                None => {
                    // The real star's flux, by PSF photometry on the template itself.
                    let psf = gaussian_psf(source.0, source.1, template_sigma);
                    let bkg = median(&t.pixels);
                    let sub: Vec<f64> = template.iter().map(|v| v - bkg).collect();
                    let var = vec![1.0; SIDE * SIDE];
                    psf_photometry(&sub, &psf, &var)
                        .flux
                        .max(mag_to_flux(20.0, t.zp))
                }
            };
        }
        if let Some(a) = &looks.artefact {
            a.add_to_template(&mut template, template_sigma);
        }
        scenes.insert(
            *fid,
            BandScene {
                template,
                zp: t.zp,
                reference_flux,
            },
        );
    }
    scenes
}

/// The object's light curve from `start`, by class.
fn variability<R: rand::Rng + ?Sized>(
    class: SimClass,
    start: f64,
    zp: f64,
    looks: &Looks,
    rng: &mut R,
) -> Variability {
    match class {
        SimClass::Sn => {
            let peak = mag_to_flux(uniform(rng, 17.0, 19.3), zp);
            Variability::Supernova(LightCurve::bazin(
                start + uniform(rng, 4.0, 14.0),
                uniform(rng, 1.0, 5.0),
                uniform(rng, 15.0, 60.0),
                peak,
            ))
        }
        SimClass::Agn => Variability::Relative(LightCurve::drw(
            uniform(rng, 100.0, 600.0),
            uniform(rng, 0.35, 0.7),
            rng,
        )),
        SimClass::Vs => Variability::Relative(variable_star(rng)),
        SimClass::Asteroid => Variability::Asteroid {
            mag: uniform(rng, 17.0, 19.5),
        },
        SimClass::Bogus => {
            Variability::Artefact(looks.artefact.clone().expect("bogus has an artefact"))
        }
    }
}

/// The object on the sky, observed visit after visit.
struct Sky<'a> {
    class: SimClass,
    scenes: &'a BTreeMap<i32, BandScene>,
    /// Where the source is, in stamp pixels.
    source: (f64, f64),
    template_sigma: f64,
    /// Visits before an asteroid or artefact shows.
    blank_visits: usize,
    variability: Variability,
}

impl Sky<'_> {
    /// Epochs from `start` until `detections_wanted` detections (an asteroid: one) or 40
    /// visits.
    fn observe<R: rand::Rng + ?Sized>(
        &mut self,
        start: f64,
        detections_wanted: usize,
        rng: &mut R,
    ) -> Vec<Epoch> {
        let fids: Vec<i32> = self.scenes.keys().copied().collect();
        let mut epochs = Vec::new();
        let mut t = start + uniform(rng, 0.15, 0.48);
        let mut found_count = 0;
        while found_count < detections_wanted && epochs.len() < 40 {
            let fid = fids[rng.random_range(0..fids.len())];
            let epoch = self.visit(fid, t, epochs.len(), rng);
            let detected = epoch.detected;
            epochs.push(epoch);
            if detected {
                found_count += 1;
                if self.class == SimClass::Asteroid {
                    break;
                }
            }
            // ZTF often revisits within the night in the other band, else every few nights.
            t += if rng.random::<f64>() < 0.25 {
                uniform(rng, 0.02, 0.06)
            } else {
                uniform(rng, 1.0, 4.0).round() + uniform(rng, -0.1, 0.1)
            };
        }
        epochs
    }

    /// One visit in band `fid` at time `t`: science, difference, photometry, detection.
    fn visit<R: rand::Rng + ?Sized>(
        &mut self,
        fid: i32,
        t: f64,
        visit: usize,
        rng: &mut R,
    ) -> Epoch {
        let (class, blank_visits, template_sigma) =
            (self.class, self.blank_visits, self.template_sigma);
        let scene = &self.scenes[&fid];
        let fwhm = uniform(rng, 1.6, 3.0);
        let sigma = sigma_from_fwhm_arcsec(fwhm);
        let extra_sky = uniform(rng, 30.0, 400.0);
        let source_flux = match &mut self.variability {
            Variability::Supernova(lc) => lc.flux(t),
            Variability::Relative(lc) => {
                scene.reference_flux * (10f64.powf(-0.4 * lc.delta_mag(t, rng)) - 1.0)
            }
            Variability::Asteroid { mag } if visit >= blank_visits => mag_to_flux(*mag, scene.zp),
            Variability::Asteroid { .. } => 0.0,
            Variability::Artefact(_) => 0.0,
        };
        let psf = gaussian_psf(self.source.0, self.source.1, sigma);
        let mut expected = match &self.variability {
            Variability::Artefact(a) if visit >= blank_visits => {
                a.science_expected(&scene.template, sigma, template_sigma)
            }
            _ => scene.template.clone(),
        };
        add_scaled(&mut expected, &psf, source_flux);
        let mut science = observe(&expected, extra_sky, rng);
        if let Variability::Artefact(a) = &self.variability {
            if visit >= blank_visits {
                a.after_readout(&mut science, rng);
            }
        }
        let tnoise = rand_distr::Normal::new(0.0, TEMPLATE_NOISE_DN).expect("positive sigma");
        let difference: Vec<f64> = science
            .iter()
            .zip(&scene.template)
            .map(|(s, t)| s - t + rand_distr::Distribution::sample(&tnoise, rng))
            .collect();
        let variance = difference_variance(&expected, extra_sky);
        let phot = psf_photometry(&difference, &psf, &variance);
        let blank_var = difference_variance(&scene.template, extra_sky);
        let limit_sigma = psf_photometry(&difference, &psf, &blank_var).sigma;
        let diffmaglim = flux_to_mag(DETECTION_SNR * limit_sigma, scene.zp);
        let detected = match class {
            // The pipeline flagged these by construction; their photometry is what it is.
            SimClass::Bogus => visit >= blank_visits,
            _ => phot.snr().abs() >= DETECTION_SNR,
        };
        let keep = |img: &[f64]| -> Vec<f32> {
            if detected {
                img.iter().map(|v| *v as f32).collect()
            } else {
                Vec::new()
            }
        };
        Epoch {
            jd: t,
            fid,
            zp: scene.zp,
            fwhm_arcsec: fwhm,
            true_flux: source_flux,
            phot,
            diffmaglim,
            detected,
            science: keep(&science),
            template: keep(&scene.template),
            difference: keep(&difference),
        }
    }
}
