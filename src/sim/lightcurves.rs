//! Light curves: the flux of the variable part of each class as a function of time.
//!
//! - Supernovae: the Bazin et al. (2009) function
//!   `f(t) = A exp(-(t - t0) / tau_fall) / (1 + exp(-(t - t0) / tau_rise))`, a fast rise and
//!   a slower decline, scaled so its maximum is the drawn peak flux. Zero before explosion in
//!   practice: the rise term makes it vanish a few `tau_rise` before `t0`.
//! - AGN: a damped random walk (Ornstein-Uhlenbeck process) in magnitude, the standard
//!   description of quasar optical variability (Kelly et al. 2009; MacLeod et al. 2010),
//!   with time scale `tau` of hundreds of days and asymptotic structure function `SF_inf`.
//!   It is sampled exactly: `X(t + dt) = X(t) e^(-dt/tau) + sigma sqrt(1 - e^(-2 dt/tau)) N`.
//! - Variable stars: a sinusoid (e.g. ellipsoidal or Cepheid-like), an RR Lyrae-like
//!   sawtooth (rise over 15% of the period, linear decline), or an irregular short-`tau`
//!   damped random walk (e.g. young or semi-regular stars).
//!
//! AGN and stars are in the template at their mean flux, so their difference flux is
//! `F(t) - F_mean` and can be negative (`isdiffpos = 'f'`).

use super::physics::uniform;
use rand_distr::{Distribution, StandardNormal};

/// A light curve in magnitude offsets from the reference (template) brightness, or, for
/// supernovae, in absolute flux.
#[derive(Debug, Clone)]
pub enum LightCurve {
    Bazin {
        t0: f64,
        tau_rise: f64,
        tau_fall: f64,
        /// Chosen so that the maximum equals the drawn peak flux.
        amplitude: f64,
    },
    /// Damped random walk in magnitudes, advanced as it is sampled.
    Drw {
        tau: f64,
        sigma: f64,
        state: f64,
        last_t: Option<f64>,
    },
    Sinusoid {
        period: f64,
        amplitude: f64,
        phase: f64,
    },
    Sawtooth {
        period: f64,
        amplitude: f64,
        phase: f64,
    },
}

impl LightCurve {
    pub fn bazin(t0: f64, tau_rise: f64, tau_fall: f64, peak_flux: f64) -> Self {
        let shape = |t: f64| (-(t - t0) / tau_fall).exp() / (1.0 + (-(t - t0) / tau_rise).exp());
        // The analytic maximum is at t0 + tau_rise ln(tau_fall / tau_rise - 1); a numeric scan
        // stays right when tau_fall is close to tau_rise too.
        let peak = (0..4000)
            .map(|i| shape(t0 - 20.0 + i as f64 * 0.05))
            .fold(0.0, f64::max);
        Self::Bazin {
            t0,
            tau_rise,
            tau_fall,
            amplitude: peak_flux / peak,
        }
    }

    pub fn drw<R: rand::Rng + ?Sized>(tau: f64, sf_inf: f64, rng: &mut R) -> Self {
        let sigma = sf_inf / std::f64::consts::SQRT_2;
        let z: f64 = StandardNormal.sample(rng);
        Self::Drw {
            tau,
            sigma,
            state: sigma * z,
            last_t: None,
        }
    }

    /// Magnitude offset (for AGN and stars) at time `t`; call in time order, as the random
    /// walk advances.
    pub fn delta_mag<R: rand::Rng + ?Sized>(&mut self, t: f64, rng: &mut R) -> f64 {
        match self {
            Self::Bazin { .. } => 0.0,
            Self::Drw {
                tau,
                sigma,
                state,
                last_t,
            } => {
                if let Some(prev) = *last_t {
                    let decay = (-(t - prev).abs() / *tau).exp();
                    let z: f64 = StandardNormal.sample(rng);
                    *state = *state * decay + *sigma * (1.0 - decay * decay).sqrt() * z;
                }
                *last_t = Some(t);
                *state
            }
            Self::Sinusoid {
                period,
                amplitude,
                phase,
            } => 0.5 * *amplitude * (std::f64::consts::TAU * (t / *period + *phase)).sin(),
            Self::Sawtooth {
                period,
                amplitude,
                phase,
            } => {
                let p = (t / *period + *phase).rem_euclid(1.0);
                // Brightest (most negative magnitude) at the end of the short rise.
                let rise = 0.15;
                let level = if p < rise {
                    1.0 - p / rise
                } else {
                    (p - rise) / (1.0 - rise)
                };
                *amplitude * (level - 0.5)
            }
        }
    }

    /// Supernova flux at time `t` (zero for the other kinds).
    pub fn flux(&self, t: f64) -> f64 {
        match self {
            Self::Bazin {
                t0,
                tau_rise,
                tau_fall,
                amplitude,
            } => {
                let x = (t - t0) / tau_rise;
                if x < -30.0 {
                    return 0.0;
                }
                amplitude * (-(t - t0) / tau_fall).exp() / (1.0 + (-x).exp())
            }
            _ => 0.0,
        }
    }
}

/// A variable star's light curve: periodic or irregular, with realistic amplitudes.
pub fn variable_star<R: rand::Rng + ?Sized>(rng: &mut R) -> LightCurve {
    let phase = uniform(rng, 0.0, 1.0);
    match (uniform(rng, 0.0, 3.0)) as u32 {
        0 => LightCurve::Sinusoid {
            period: 10f64.powf(uniform(rng, -0.6, 1.5)),
            amplitude: uniform(rng, 0.4, 1.2),
            phase,
        },
        1 => LightCurve::Sawtooth {
            period: uniform(rng, 0.45, 0.8),
            amplitude: uniform(rng, 0.5, 1.2),
            phase,
        },
        _ => LightCurve::drw(uniform(rng, 3.0, 40.0), uniform(rng, 0.4, 0.9), rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn bazin_peaks_at_the_requested_flux_and_declines() {
        let lc = LightCurve::bazin(100.0, 2.0, 30.0, 1000.0);
        let max = (0..2000)
            .map(|i| lc.flux(80.0 + i as f64 * 0.05))
            .fold(0.0, f64::max);
        assert!((max - 1000.0).abs() < 5.0, "{max}");
        assert!(lc.flux(80.0) < 10.0);
        assert!(lc.flux(160.0) < 300.0);
    }

    #[test]
    fn sawtooth_spans_its_amplitude() {
        let mut lc = LightCurve::Sawtooth {
            period: 0.5,
            amplitude: 1.0,
            phase: 0.0,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let v: Vec<f64> = (0..500)
            .map(|i| lc.delta_mag(i as f64 * 0.001, &mut rng))
            .collect();
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |a, b| (a.0.min(*b), a.1.max(*b)));
        assert!((hi - lo - 1.0).abs() < 0.02);
    }
}
