//! Dates: Julian dates as the calendar dates people read. Kept at the bottom floor because
//! labels, fine-tuned model names and the app's views all print dates.

/// The Julian date of the Unix epoch (1970-01-01 00:00 UTC).
const UNIX_EPOCH_JD: f64 = 2_440_587.5;

/// The Julian date of a Unix time in seconds.
pub fn unix_seconds_to_jd(unix_seconds: f64) -> f64 {
    unix_seconds / 86_400.0 + UNIX_EPOCH_JD
}

/// Turns a Julian date into a calendar date and time (UTC), as "2021-06-29 07:12".
pub fn jd_to_calendar(jd: f64) -> String {
    if !jd.is_finite() {
        return "-".into();
    }
    // Fliegel & Van Flandern's algorithm on the civil day, then the fraction.
    let z = (jd + 0.5).floor() as i64;
    let frac = jd + 0.5 - z as f64;
    let a = z + 32044;
    let b = (4 * a + 3) / 146097;
    let c = a - 146097 * b / 4;
    let d = (4 * c + 3) / 1461;
    let e = c - 1461 * d / 4;
    let m = (5 * e + 2) / 153;
    let day = e - (153 * m + 2) / 5 + 1;
    let month = m + 3 - 12 * (m / 10);
    let year = 100 * b + d - 4800 + m / 10;
    let minutes = (frac * 1440.0).round() as i64;
    let (minutes, day_carry) = if minutes >= 1440 {
        (0, 1)
    } else {
        (minutes, 0)
    };
    // A carry past midnight is rare enough to show as 24:00 rather than redo the calendar.
    if day_carry == 1 {
        return format!("{year:04}-{month:02}-{day:02} 24:00");
    }
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        minutes / 60,
        minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn julian_dates_read_as_calendar_dates() {
        assert_eq!(jd_to_calendar(2_451_545.0), "2000-01-01 12:00");
        // astropy: Time(2459394.8, format="jd").iso == "2021-06-29 07:12:00.000"
        assert_eq!(jd_to_calendar(2_459_394.8), "2021-06-29 07:12");
    }

    #[test]
    fn the_unix_epoch_is_its_julian_date() {
        assert_eq!(jd_to_calendar(unix_seconds_to_jd(0.0)), "1970-01-01 00:00");
    }
}
