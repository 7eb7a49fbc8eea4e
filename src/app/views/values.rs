//! Values as the details panels write them: numbers with ZTF's sentinels as a dash, dates,
//! sexagesimal positions, portal links and the grid of a record's named fields. Shared by
//! the ZTF and LSST details, which is why it is apart from both.

use crate::alert::DiffSign;

/// Portal links for a position, as astronomers paste them.
pub fn links(object_id: &str, ra: f64, dec: f64) -> Vec<(&'static str, String)> {
    vec![
        ("ALeRCE", format!("https://alerce.online/object/{object_id}")),
        ("Fink", format!("https://fink-portal.org/{object_id}")),
        (
            "TNS",
            format!(
                "https://www.wis-tns.org/search?ra={ra:.6}&decl={dec:.6}&radius=5&coords_unit=arcsec"
            ),
        ),
        (
            "SIMBAD",
            format!(
                "https://simbad.cds.unistra.fr/simbad/sim-coo?Coord={ra:.6}%20{dec:+.6}&Radius=5&Radius.unit=arcsec"
            ),
        ),
    ]
}

/// The "Links" section: each portal link and the position, with a button that copies it.
pub fn links_section(ui: &mut egui::Ui, links: Vec<(&'static str, String)>, ra: f64, dec: f64) {
    egui::CollapsingHeader::new("Links")
        .default_open(true)
        .show(ui, |ui| {
            for (name, url) in links {
                ui.horizontal(|ui| {
                    ui.hyperlink_to(name, &url);
                    if ui.small_button("copy").clicked() {
                        ui.ctx().copy_text(url.clone());
                    }
                });
            }
            ui.horizontal(|ui| {
                let pos = format!("{ra:.6} {dec:+.6}");
                ui.monospace(&pos);
                if ui.small_button("copy").clicked() {
                    ui.ctx().copy_text(pos);
                }
            });
        });
}

/// The grid row naming the file and record an alert was read from: the file's name only, so
/// the view does not depend on where the data lives; the full path is on hover.
pub fn origin_row(ui: &mut egui::Ui, origin: &crate::alert::AlertOrigin) {
    ui.label("file");
    let full = format!("{} #{}", origin.file, origin.record);
    let name = origin.file.rsplit(['/', '\\']).next().unwrap_or("");
    let short = format!("{name} #{}", origin.record);
    ui.add(egui::Label::new(egui::RichText::new(short).monospace()).truncate())
        .on_hover_text(full);
    ui.end_row();
}

// Values as an astronomer writes them. ZTF marks "none" (no PS1 source, no known asteroid
// near) with -999 and the schema with nulls; both read as a dash here, never as a number.

/// What a value that does not exist reads as.
pub const MISSING: &str = "—";

/// `v` unless it is null, not finite or ZTF's -999.
pub fn present(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && (v + 999.0).abs() > 1e-9)
}

pub fn number(v: Option<f64>, decimals: usize) -> String {
    present(v).map_or(MISSING.into(), |v| format!("{v:.decimals$}"))
}

/// A count, which -999 or any negative number cannot be.
pub fn count(v: Option<i32>) -> String {
    v.filter(|&v| v >= 0)
        .map_or(MISSING.into(), |v| v.to_string())
}

/// "18.42 ± 0.05": two decimals, three when the error is under 0.01 mag.
pub fn magnitude(mag: Option<f64>, error: Option<f64>) -> String {
    let Some(mag) = present(mag) else {
        return MISSING.into();
    };
    match present(error).filter(|e| *e >= 0.0) {
        Some(e) if e < 0.01 => format!("{mag:.3} ± {e:.3}"),
        Some(e) => format!("{mag:.2} ± {e:.2}"),
        None => format!("{mag:.2}"),
    }
}

/// An angular distance in arcseconds, as 1.23".
pub fn arcsec(v: Option<f64>) -> String {
    with_unit(number(v, 2), "\"")
}

pub(super) fn with_unit(value: String, unit: &str) -> String {
    if value == MISSING {
        value
    } else {
        value + unit
    }
}

pub fn pair(a: String, b: String) -> String {
    format!("{a} / {b}")
}

/// The sign of the subtraction as written in papers, + or − (a minus sign, not a hyphen),
/// named too: a lone minus in a table reads like the dash of a missing value.
pub fn sign(s: Option<DiffSign>) -> &'static str {
    match s {
        Some(DiffSign::Positive) => "+ (positive)",
        Some(DiffSign::Negative) => "\u{2212} (negative)",
        None => MISSING,
    }
}

pub(super) fn solar_system_name(name: Option<&str>) -> String {
    match name.map(str::trim) {
        // ZTF writes the string "null" where no object is near.
        Some(n) if !n.is_empty() && n != "null" => format!(" ({n})"),
        _ => String::new(),
    }
}

/// A model feature as the network gets it; ZTF's -999 is named, as it is a value the
/// model was trained with and not a gap.
pub fn raw_feature(v: f64) -> String {
    if (v + 999.0).abs() < 1e-9 {
        format!("{MISSING} (-999)")
    } else {
        format!("{v:.4}")
    }
}

/// Julian dates before the first alerts or after 3000 are not real observation times.
fn plausible(jd: f64) -> bool {
    jd.is_finite() && (2_400_000.5..2_816_787.5).contains(&jd)
}

pub fn julian_date(jd: f64) -> String {
    if plausible(jd) {
        format!("{jd:.5}")
    } else {
        MISSING.into()
    }
}

pub fn modified_julian_date(jd: f64) -> String {
    if plausible(jd) {
        format!("{:.5}", jd - 2_400_000.5)
    } else {
        MISSING.into()
    }
}

/// The UTC date and time of a Julian date, to the second: "2021-06-29 07:12:00".
pub fn utc(jd: f64) -> String {
    if !plausible(jd) {
        return MISSING.into();
    }
    // Rounded once, to whole seconds since the Unix epoch, so 23:59:59.7 carries into
    // the next day instead of reading 24:00.
    let seconds = ((jd - 2_440_587.5) * 86_400.0).round() as i64;
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        time / 3600,
        time / 60 % 60,
        time % 60
    )
}

/// The UTC date a position's history starts, as "2018-06-30".
pub(super) fn history_start(jd: Option<f64>) -> String {
    match jd.filter(|&jd| plausible(jd)) {
        Some(jd) => utc(jd)[..10].to_string(),
        None => MISSING.into(),
    }
}

/// Gregorian (year, month, day) of a day count from 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// RA as h:m:s to 0.01 s.
pub fn ra_hms(ra: f64) -> String {
    if !ra.is_finite() {
        return MISSING.into();
    }
    // Rounded in the last shown digit first, so 59.999 s carries into the minute.
    let centiseconds = (ra.rem_euclid(360.0) / 15.0 * 360_000.0).round() as i64 % 8_640_000;
    format!(
        "{:02}:{:02}:{:02}.{:02}",
        centiseconds / 360_000,
        centiseconds / 6000 % 60,
        centiseconds / 100 % 60,
        centiseconds % 100
    )
}

/// Dec as ±d:m:s to 0.1".
pub fn dec_dms(dec: f64) -> String {
    if !dec.is_finite() {
        return MISSING.into();
    }
    let tenths = (dec.abs() * 36_000.0).round() as i64;
    format!(
        "{}{:02}:{:02}:{:02}.{}",
        if dec < 0.0 && tenths > 0 { '-' } else { '+' },
        tenths / 36_000,
        tenths / 600 % 60,
        tenths / 10 % 60,
        tenths % 10
    )
}

/// Named values of a record in name order (an LSST record's fields, the columns a broker
/// added to an alert of either survey); null (or NaN, read as null) shows as a dash.
pub(super) fn fields_grid<'a>(
    ui: &mut egui::Ui,
    id: &str,
    fields: impl IntoIterator<Item = (&'a String, &'a serde_json::Value)>,
) {
    let mut fields: Vec<(&String, &serde_json::Value)> = fields.into_iter().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    egui::Grid::new(id).striped(true).show(ui, |ui| {
        for (name, value) in fields {
            ui.label(name.as_str());
            let text = match value {
                serde_json::Value::Null => MISSING.to_string(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            ui.add(egui::Label::new(egui::RichText::new(text).monospace()).truncate());
            ui.end_row();
        }
    });
}

/// One row of a details grid: the field's name, with what it means on hover where that is
/// said, and its value.
pub(super) fn grid_row(ui: &mut egui::Ui, name: &str, value: String, why: &str) {
    let label = ui.label(name);
    if !why.is_empty() {
        label.on_hover_text(why);
    }
    ui.monospace(value);
    ui.end_row();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_and_ztf_sentinels_read_as_a_dash() {
        assert_eq!(number(None, 2), MISSING);
        assert_eq!(number(Some(-999.0), 2), MISSING);
        assert_eq!(number(Some(f64::NAN), 2), MISSING);
        assert_eq!(number(Some(-0.5), 2), "-0.50");
        assert_eq!(arcsec(Some(-999.0)), MISSING);
        assert_eq!(arcsec(Some(1.234)), "1.23\"");
        assert_eq!(count(Some(-999)), MISSING);
        assert_eq!(count(Some(998)), "998");
        assert_eq!(pair(count(Some(998)), count(Some(2077))), "998 / 2077");
        assert_eq!(pair(count(None), count(Some(3))), "— / 3");
        assert_eq!(raw_feature(-999.0), "— (-999)");
        assert_eq!(raw_feature(0.25), "0.2500");
        assert_eq!(solar_system_name(Some("null")), "");
        assert_eq!(solar_system_name(Some("12345")), " (12345)");
    }

    #[test]
    fn magnitudes_carry_their_errors() {
        assert_eq!(magnitude(Some(18.4213), Some(0.0512)), "18.42 ± 0.05");
        assert_eq!(magnitude(Some(16.12345), Some(0.0041)), "16.123 ± 0.004");
        assert_eq!(magnitude(Some(17.9), None), "17.90");
        assert_eq!(magnitude(Some(17.9), Some(-999.0)), "17.90");
        assert_eq!(magnitude(Some(-999.0), Some(0.1)), MISSING);
    }

    #[test]
    fn the_subtraction_sign_is_plus_or_minus() {
        assert_eq!(sign(Some(DiffSign::Positive)), "+ (positive)");
        assert_eq!(sign(Some(DiffSign::Negative)), "\u{2212} (negative)");
        assert_eq!(sign(None), MISSING);
    }

    #[test]
    fn julian_dates_read_as_mjd_and_utc() {
        assert_eq!(utc(2_451_545.0), "2000-01-01 12:00:00");
        assert_eq!(utc(2_459_394.8), "2021-06-29 07:12:00");
        assert_eq!(modified_julian_date(2_459_394.8), "59394.30000");
        assert_eq!(julian_date(2_459_394.8), "2459394.80000");
        // Half a second before midnight carries into the next day.
        assert_eq!(utc(2_459_394.5 - 0.4 / 86_400.0), "2021-06-29 00:00:00");
        // Leap day.
        assert_eq!(utc(2_460_370.25), "2024-02-29 18:00:00");
        assert_eq!(history_start(Some(2_458_299.71)), "2018-06-30");
        for bad in [0.0, -999.0, f64::NAN, 1e12] {
            assert_eq!(utc(bad), MISSING);
            assert_eq!(modified_julian_date(bad), MISSING);
        }
        assert_eq!(history_start(Some(-999.0)), MISSING);
    }

    fn sexagesimal(ra: f64, dec: f64) -> String {
        format!("{} {}", ra_hms(ra), dec_dms(dec))
    }

    #[test]
    fn positions_read_in_sexagesimal() {
        assert_eq!(sexagesimal(0.0, 0.0), "00:00:00.00 +00:00:00.0");
        assert_eq!(
            sexagesimal(210.802_25, 54.348_94),
            "14:03:12.54 +54:20:56.2"
        );
        assert_eq!(sexagesimal(359.999_999_99, -0.5), "00:00:00.00 -00:30:00.0");
        // A value that rounds up to 60 s carries into the minute.
        assert_eq!(
            sexagesimal(15.0 * (59.999_999 / 3600.0), -12.999_999_99),
            "00:01:00.00 -13:00:00.0"
        );
        assert_eq!(ra_hms(f64::NAN), MISSING);
        assert_eq!(dec_dms(f64::INFINITY), MISSING);
    }
}
