//! Bogus detections: the subtraction artefacts that make up most of ZTF's raw candidates.
//!
//! - Dipole: a bright source misregistered between science and template by 0.6..1.5 px
//!   leaves a positive and a negative lobe side by side in the difference.
//! - Cosmic ray: a particle hit deposits charge in one to four adjacent pixels with no PSF
//!   around it, sharper than any astronomical source can be through the atmosphere.
//! - Bad column: a hot CCD column, a vertical line through the stamp.
//! - Saturated star: a bright star's core is clipped at the detector's full well in the
//!   science image and its seeing differs from the template's, so the difference shows a
//!   negative core inside a positive ring.

use super::physics::{add_scaled, gaussian_psf, uniform, CENTRE, SIDE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artefact {
    Dipole,
    CosmicRay,
    BadColumn,
    SaturatedStar,
}

impl Artefact {
    pub const ALL: [Artefact; 4] = [
        Self::Dipole,
        Self::CosmicRay,
        Self::BadColumn,
        Self::SaturatedStar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Dipole => "dipole",
            Self::CosmicRay => "cosmic ray",
            Self::BadColumn => "bad column",
            Self::SaturatedStar => "saturated star",
        }
    }
}

/// Full well of the ZTF CCDs in DN, where a saturated core flattens.
pub const SATURATION_DN: f64 = 50_000.0;

/// The fixed part of an artefact: what the template holds and where things are.
#[derive(Debug, Clone)]
pub struct ArtefactScene {
    pub kind: Artefact,
    /// Position of the bright source (dipole, saturated star) or of the hit.
    pub x: f64,
    pub y: f64,
    /// Flux of the bright source in DN.
    pub flux: f64,
    /// Misregistration of a dipole, pixels.
    pub shift: (f64, f64),
    pub column: usize,
}

impl ArtefactScene {
    pub fn draw<R: rand::Rng + ?Sized>(kind: Artefact, zp: f64, rng: &mut R) -> Self {
        let angle = uniform(rng, 0.0, std::f64::consts::TAU);
        let len = uniform(rng, 0.6, 1.5);
        let mag = match kind {
            Artefact::SaturatedStar => uniform(rng, 10.0, 12.0),
            _ => uniform(rng, 14.0, 16.5),
        };
        Self {
            kind,
            x: CENTRE + uniform(rng, -0.5, 0.5),
            y: CENTRE + uniform(rng, -0.5, 0.5),
            flux: super::physics::mag_to_flux(mag, zp),
            shift: (len * angle.cos(), len * angle.sin()),
            column: (CENTRE as usize) + (uniform(rng, -1.0, 2.0) as usize),
        }
    }

    /// The bright source the template holds, drawn with the template's seeing.
    pub fn add_to_template(&self, template: &mut [f64], template_sigma: f64) {
        if matches!(self.kind, Artefact::Dipole | Artefact::SaturatedStar) {
            let psf = gaussian_psf(self.x, self.y, template_sigma);
            add_scaled(template, &psf, self.flux);
        }
    }

    /// The science image before noise, given the template and this epoch's seeing.
    pub fn science_expected(&self, template: &[f64], sigma: f64, template_sigma: f64) -> Vec<f64> {
        let mut sci = template.to_vec();
        match self.kind {
            Artefact::Dipole => {
                // The same star, displaced: what the template shows at (x, y) the science
                // shows at (x, y) + shift.
                let here = gaussian_psf(self.x, self.y, template_sigma);
                let there =
                    gaussian_psf(self.x + self.shift.0, self.y + self.shift.1, template_sigma);
                add_scaled(&mut sci, &here, -self.flux);
                add_scaled(&mut sci, &there, self.flux);
            }
            Artefact::SaturatedStar => {
                let t = gaussian_psf(self.x, self.y, template_sigma);
                let s = gaussian_psf(self.x, self.y, sigma);
                for ((v, a), b) in sci.iter_mut().zip(&t).zip(&s) {
                    *v = (*v - self.flux * a + self.flux * b).min(SATURATION_DN);
                }
            }
            Artefact::CosmicRay | Artefact::BadColumn => {}
        }
        sci
    }

    /// What happens after the exposure, on the noisy science pixels.
    pub fn after_readout<R: rand::Rng + ?Sized>(&self, science: &mut [f64], rng: &mut R) {
        match self.kind {
            Artefact::CosmicRay => {
                let (r0, c0) = (self.y.round() as usize, self.x.round() as usize);
                let hits = 1 + (uniform(rng, 0.0, 4.0) as usize).min(3);
                let (mut r, mut c) = (r0, c0);
                for _ in 0..hits {
                    science[r * SIDE + c] += uniform(rng, 800.0, 6000.0);
                    // A grazing particle leaves a short track of touching pixels.
                    if rng.random::<bool>() {
                        c = (c + 1).min(SIDE - 1);
                    } else {
                        r = (r + 1).min(SIDE - 1);
                    }
                }
            }
            Artefact::BadColumn => {
                let level = uniform(rng, 150.0, 1500.0);
                for r in 0..SIDE {
                    science[r * SIDE + self.column] += level * uniform(rng, 0.85, 1.15);
                }
            }
            Artefact::Dipole | Artefact::SaturatedStar => {}
        }
    }
}

use rand::RngExt;
