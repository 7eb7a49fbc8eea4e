//! Sky coordinates derived from (ra, dec) J2000, computed the way ALeRCE computed its
//! training features (PyEphem / libastro, epoch J2000), so that the features match what
//! the network was trained on.

use std::f64::consts::PI;

/// Mean obliquity of the ecliptic at J2000 (IAU 1976, as libastro's `obliquity()` at
/// t = 0), in degrees.
const OBLIQUITY_J2000_DEG: f64 = 23.439_291_1;

/// Galactic frame as libastro defines it: RA and Dec of the north galactic pole and the
/// galactic longitude of the ascending node on the equator, J2000.
const NGP_RA_DEG: f64 = 192.859_48;
const NGP_DEC_DEG: f64 = 27.128_25;
const NODE_LON_DEG: f64 = 32.931_92;

fn wrap_two_pi(mut a: f64) -> f64 {
    a %= 2.0 * PI;
    if a < 0.0 {
        a += 2.0 * PI;
    }
    a
}

/// Ecliptic (latitude, longitude) in degrees of the ecliptic of J2000.
pub fn ecliptic(ra_deg: f64, dec_deg: f64) -> (f64, f64) {
    let eps = OBLIQUITY_J2000_DEG.to_radians();
    let (se, ce) = eps.sin_cos();
    let (sx, cx) = ra_deg.to_radians().sin_cos();
    let (sy, mut cy) = dec_deg.to_radians().sin_cos();
    if cy.abs() < 1e-20 {
        cy = 1e-20;
    }
    let ty = sy / cy;
    let sq = (sy * ce - cy * se * sx).clamp(-1.0, 1.0);
    let lat = sq.asin();
    let mut lon = ((sx * ce + ty * se) / cx).atan();
    if cx < 0.0 {
        lon += PI;
    }
    (lat.to_degrees(), wrap_two_pi(lon).to_degrees())
}

/// Galactic (latitude, longitude) in degrees.
pub fn galactic(ra_deg: f64, dec_deg: f64) -> (f64, f64) {
    let gpr = NGP_RA_DEG.to_radians();
    let (sgpd, cgpd) = NGP_DEC_DEG.to_radians().sin_cos();
    let an = NODE_LON_DEG.to_radians();
    let (sy, cy) = dec_deg.to_radians().sin_cos();
    let a = ra_deg.to_radians() - gpr;
    let (sa, ca) = a.sin_cos();
    let sq = cy * cgpd * ca + sy * sgpd;
    let lat = sq.asin();
    let c = sy - sq * sgpd;
    let mut d = cy * sa * cgpd;
    if d.abs() < 1e-20 {
        d = 1e-20;
    }
    let mut lon = (c / d).atan() + an;
    if d < 0.0 {
        lon += PI;
    }
    if lon < 0.0 {
        lon += 2.0 * PI;
    }
    if lon > 2.0 * PI {
        lon -= 2.0 * PI;
    }
    (lat.to_degrees(), lon.to_degrees())
}

/// How far from the galactic plane and from the ecliptic a position is, in degrees: the
/// two sky-position features every tabular feature set carries (variable stars crowd the
/// plane, asteroids the ecliptic, AGN are seen away from both). Named fields, because a
/// tuple's latitude and longitude were once swapped in three feature sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbsLatitudes {
    pub galactic: f64,
    pub ecliptic: f64,
}

pub fn abs_latitudes(ra_deg: f64, dec_deg: f64) -> AbsLatitudes {
    AbsLatitudes {
        galactic: galactic(ra_deg, dec_deg).0.abs(),
        ecliptic: ecliptic(ra_deg, dec_deg).0.abs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn galactic_centre_and_pole_land_where_they_should() {
        // Sgr A* region: (266.405, -28.936) J2000 is close to l = 0, b = 0.
        let (b, l) = galactic(266.405, -28.936);
        assert!(b.abs() < 0.1 && !(0.1..=359.9).contains(&l), "b {b} l {l}");
        // The north galactic pole itself.
        let (b, _) = galactic(NGP_RA_DEG, NGP_DEC_DEG);
        assert!((b - 90.0).abs() < 1e-6);
    }

    #[test]
    fn the_equinox_and_the_ecliptic_pole() {
        let (lat, lon) = ecliptic(0.0, 0.0);
        assert!(lat.abs() < 1e-9 && (lon.abs() < 1e-9 || (lon - 360.0).abs() < 1e-9));
        // The north ecliptic pole is at RA 18h, Dec 90 - obliquity.
        let (lat, _) = ecliptic(270.0, 90.0 - OBLIQUITY_J2000_DEG);
        assert!((lat - 90.0).abs() < 1e-6);
        // The summer solstice point: RA 6h, Dec +obliquity -> longitude 90.
        let (lat, lon) = ecliptic(90.0, OBLIQUITY_J2000_DEG);
        assert!(lat.abs() < 1e-9 && (lon - 90.0).abs() < 1e-9);
    }

    #[test]
    fn absolute_latitudes_are_latitudes_not_longitudes() {
        // The south galactic pole and the north ecliptic pole: 90 degrees from each plane.
        let south_pole = abs_latitudes(12.859_48, -27.128_25);
        assert!((south_pole.galactic - 90.0).abs() < 1e-4, "{south_pole:?}");
        let ecliptic_pole = abs_latitudes(270.0, 90.0 - OBLIQUITY_J2000_DEG);
        assert!(
            (ecliptic_pole.ecliptic - 90.0).abs() < 1e-6,
            "{ecliptic_pole:?}"
        );
        // The summer solstice point lies on the ecliptic at longitude 90: a longitude
        // read as a latitude would give 90 here.
        assert!(abs_latitudes(90.0, OBLIQUITY_J2000_DEG).ecliptic < 1e-9);
    }
}
