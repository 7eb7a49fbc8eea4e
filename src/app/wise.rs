//! The AllWISE counterpart of the selected object, by cone search in a local catalogue
//! (`gui --allwise CATALOGUE` or File > Load an AllWISE catalogue). The catalogue is read
//! on a worker thread; the search itself is a lookup in its HEALPix index (a few binary
//! searches whatever the catalogue's size), so it runs on the UI thread, once per object
//! and radius.

use crate::features::allwise::{AllWiseCatalogue, AllWiseSource, WiseFeatures};
use crate::sequence::neutral::ObjectSequence;
use std::path::PathBuf;
use std::sync::Arc;

/// The nearest AllWISE source of an object and the colours the models read.
#[derive(Debug, Clone, PartialEq)]
pub struct WiseMatch {
    pub source: AllWiseSource,
    pub separation_arcsec: f64,
    /// W1..W3 and W1-W2, W2-W3, g-W2, g-W3, r-W2, r-W3 (see `WISE_FEATURES`).
    pub features: WiseFeatures,
}

#[derive(Debug, Clone, PartialEq)]
struct LookupKey {
    object: crate::sequence::neutral::ObjectKey,
    detections: usize,
    radius_bits: u64,
    catalogue: usize,
}

#[derive(Debug, Default)]
pub struct WisePanel {
    pub catalogue: Option<Arc<AllWiseCatalogue>>,
    pub path: Option<PathBuf>,
    /// The job reading a catalogue, while it runs.
    pub loading: Option<u64>,
    pub error: Option<String>,
}

/// The last cone search, kept so that it runs once per object and radius, not each frame.
#[derive(Debug, Default)]
pub struct WiseLookup {
    last: Option<(LookupKey, Option<WiseMatch>)>,
}

/// The object's mean position over its detections. RA is averaged as offsets from the first
/// detection, so an object at RA 359.9999 / 0.0001 does not land at 180.
pub fn mean_position(object: &ObjectSequence) -> Option<(f64, f64)> {
    let positions: Vec<(f64, f64)> = object
        .alerts
        .iter()
        .map(|a| a.as_ref().ra_dec())
        .filter(|(ra, dec)| ra.is_finite() && dec.is_finite())
        .collect();
    let &(ra0, _) = positions.first()?;
    let n = positions.len() as f64;
    let wrap = |d: f64| (d + 540.0).rem_euclid(360.0) - 180.0;
    let ra = ra0 + positions.iter().map(|(ra, _)| wrap(ra - ra0)).sum::<f64>() / n;
    let dec = positions.iter().map(|(_, dec)| dec).sum::<f64>() / n;
    Some((ra.rem_euclid(360.0), dec))
}

/// Mean magnitude of the detections that have alerts, in g and in r (the alerts' own
/// points, as the light curve has them).
pub fn mean_g_r(object: &ObjectSequence) -> (Option<f64>, Option<f64>) {
    let points: Vec<_> = object
        .alerts
        .iter()
        .map(|a| a.as_ref().own_point().1)
        .collect();
    let mean = |band: &str| {
        let mags: Vec<f64> = points
            .iter()
            .filter(|p| p.band == band)
            .filter_map(|p| p.mag)
            .collect();
        (!mags.is_empty()).then(|| mags.iter().sum::<f64>() / mags.len() as f64)
    };
    (mean("g"), mean("r"))
}

impl WiseLookup {
    /// The nearest source of `catalogue` within `radius_arcsec` of the object's mean
    /// position; `None` when there is none or no catalogue is loaded.
    pub fn nearest(
        &mut self,
        catalogue: Option<&Arc<AllWiseCatalogue>>,
        object: &ObjectSequence,
        radius_arcsec: f64,
    ) -> Option<&WiseMatch> {
        let catalogue = catalogue?;
        let key = LookupKey {
            object: object.key.clone(),
            detections: object.alerts.len(),
            radius_bits: radius_arcsec.to_bits(),
            catalogue: Arc::as_ptr(catalogue) as usize,
        };
        if self.last.as_ref().is_none_or(|(k, _)| *k != key) {
            let found = mean_position(object).and_then(|(ra, dec)| {
                catalogue
                    .nearest(ra, dec, radius_arcsec)
                    .map(|(source, separation_arcsec)| {
                        let (g, r) = mean_g_r(object);
                        WiseMatch {
                            source: source.clone(),
                            separation_arcsec,
                            features: WiseFeatures::new(Some(source.mags), g, r),
                        }
                    })
            });
            self.last = Some((key, found));
        }
        self.last.as_ref().and_then(|(_, m)| m.as_ref())
    }
}
