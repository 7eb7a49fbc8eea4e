//! How each survey's data is drawn, asked of the survey so that the app's views and the
//! exported plots decide it in one place: the colour of each band and the time scale its
//! dates are in.

use super::neutral::Survey;

impl Survey {
    /// The time scale of the survey's dates: ZTF's are UTC, LSST's (`midpointMjdTai`) TAI.
    pub fn time_scale(self) -> &'static str {
        match self {
            Survey::Ztf => "UTC",
            Survey::Lsst => "TAI",
        }
    }

    /// A band's colour as RGB in the survey's convention, for a dark or a light background:
    /// ZTF's g r i as ALeRCE draws them (on either); Rubin's u g r i z y as RTN-045 and
    /// `lsst.utils.plotting` draw them. An unknown band is grey.
    pub fn band_rgb(self, band: &str, dark: bool) -> (u8, u8, u8) {
        let hex: u32 = match (self, band, dark) {
            (Survey::Ztf, "g", _) => 0x3caa5a,
            (Survey::Ztf, "r", _) => 0xdc463c,
            (Survey::Ztf, "i", _) => 0x9664c8,
            (Survey::Lsst, "u", true) => 0x3eb7ff,
            (Survey::Lsst, "g", true) => 0x30c39f,
            (Survey::Lsst, "r", true) => 0xff7e00,
            (Survey::Lsst, "i", true) => 0x2af5ff,
            (Survey::Lsst, "z", true) => 0xa7f9c1,
            (Survey::Lsst, "y", true) => 0xfdc900,
            (Survey::Lsst, "u", false) => 0x0c71ff,
            (Survey::Lsst, "g", false) => 0x49be61,
            (Survey::Lsst, "r", false) => 0xc61c00,
            (Survey::Lsst, "i", false) => 0xffc200,
            (Survey::Lsst, "z", false) => 0xf341a2,
            (Survey::Lsst, "y", false) => 0x5d0000,
            _ => 0x808080,
        };
        ((hex >> 16) as u8, (hex >> 8) as u8, hex as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_keep_their_surveys_colours() {
        assert_eq!(Survey::Ztf.band_rgb("g", true), (60, 170, 90));
        assert_eq!(Survey::Ztf.band_rgb("r", false), (220, 70, 60));
        assert_eq!(Survey::Ztf.band_rgb("i", false), (150, 100, 200));
        assert_eq!(Survey::Lsst.band_rgb("r", false), (0xc6, 0x1c, 0x00));
        assert_eq!(Survey::Lsst.band_rgb("q", true), (128, 128, 128));
        assert_eq!(Survey::Lsst.time_scale(), "TAI");
    }
}
