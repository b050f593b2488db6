//! Real-world units at the edge of the JSON format: clock times, calendar dates, great-circle
//! distances, and checked conversions of fractional inputs to the core's integers.

use super::JsonError;

/// Seconds in a day; `"24:00"` is this value.
pub const DAY_SECONDS: i64 = 86_400;

/// Mean earth radius in metres (IUGG), used by [`haversine_m`].
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Parses a clock time `"HH:MM"` (hours `0..=23`, or exactly `"24:00"` for the end of the day)
/// into seconds since midnight.
pub fn parse_clock(text: &str, path: &str) -> Result<i64, JsonError> {
    let bad = || JsonError::invalid(path, "bad_time", format!("'{text}' is not a time of day HH:MM between 00:00 and 24:00"));
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str, max_len: usize| !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, 2) || !digits(m, 2) || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60)
}

/// Writes seconds since midnight as `"HH:MM"` (seconds dropped).
pub fn format_clock(seconds: i64) -> String {
    let minutes = seconds.clamp(0, DAY_SECONDS) / 60;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Checks a calendar date `"YYYY-MM-DD"` (proleptic Gregorian, years 1000 to 9999).
pub fn check_date(text: &str, path: &str) -> Result<(), JsonError> {
    let bad = || JsonError::invalid(path, "bad_date", format!("'{text}' is not a date YYYY-MM-DD"));
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |s: &str| -> Result<u32, JsonError> {
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let (y, m, d) = (num(&text[0..4])?, num(&text[5..7])?, num(&text[8..10])?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if y < 1000 || d == 0 || d > days {
        return Err(bad());
    }
    Ok(())
}

/// Great-circle distance in metres between two points given in degrees (haversine formula on a
/// sphere of radius [`EARTH_RADIUS_M`]). Symmetric bit for bit.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let half_dp = (p2 - p1) / 2.0;
    let half_dl = (lon2 - lon1).to_radians() / 2.0;
    let a = half_dp.sin().powi(2) + p1.cos() * p2.cos() * half_dl.sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// Checks that `value` is finite and within `min..=max`.
pub fn check_range(value: f64, min: f64, max: f64, path: &str) -> Result<f64, JsonError> {
    if !value.is_finite() {
        return Err(JsonError::invalid(path, "out_of_range", format!("{value} is not a finite number")));
    }
    if value < 0.0 && min >= 0.0 {
        return Err(JsonError::invalid(path, "negative_value", format!("{value} is negative")));
    }
    if value < min || value > max {
        return Err(JsonError::invalid(path, "out_of_range", format!("{value} is outside {min}..={max}")));
    }
    Ok(value)
}

/// `value * scale`, rounded to the nearest integer, after checking `value` lies in `0..=max`.
pub fn scaled(value: f64, scale: f64, max: f64, path: &str) -> Result<i64, JsonError> {
    Ok((check_range(value, 0.0, max, path)? * scale).round() as i64)
}

/// Checks an integer amount lies in `0..=max`.
pub fn check_amount(value: i64, max: i64, path: &str) -> Result<i64, JsonError> {
    if value < 0 {
        return Err(JsonError::invalid(path, "negative_value", format!("{value} is negative")));
    }
    if value > max {
        return Err(JsonError::invalid(path, "out_of_range", format!("{value} is above {max}")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_clock_times_and_rejects_impossible_ones() {
        assert_eq!(parse_clock("08:00", "t").unwrap(), 8 * 3600);
        assert_eq!(parse_clock("8:05", "t").unwrap(), 8 * 3600 + 300);
        assert_eq!(parse_clock("24:00", "t").unwrap(), DAY_SECONDS);
        for bad in ["25:00", "24:01", "12:60", "12", "12:5", "-1:00", "ab:cd", "", "１２:00", "12:00:00"] {
            let err = parse_clock(bad, "x.y").unwrap_err();
            assert_eq!(err.path(), Some("x.y"), "{bad}");
        }
        assert_eq!(format_clock(13 * 3600 + 30 * 60 + 59), "13:30");
    }

    #[test]
    fn checks_calendar_dates() {
        assert!(check_date("2026-03-15", "date").is_ok());
        assert!(check_date("2024-02-29", "date").is_ok());
        for bad in ["2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "26-01-01", "2026-01-32", "２026-01-01x"] {
            assert!(check_date(bad, "date").is_err(), "{bad}");
        }
    }

    #[test]
    fn measures_taipei_101_to_taipei_main_station_as_about_five_km() {
        let d = haversine_m(25.033976, 121.564472, 25.047924, 121.517081);
        assert!((4_800.0..5_200.0).contains(&d), "{d}");
        assert_eq!(d, haversine_m(25.047924, 121.517081, 25.033976, 121.564472));
        assert_eq!(haversine_m(25.0, 121.5, 25.0, 121.5), 0.0);
    }

    #[test]
    fn rejects_non_finite_and_negative_numbers() {
        assert_eq!(scaled(1.5, 60.0, 10.0, "p").unwrap(), 90);
        assert_eq!(scaled(-1.0, 60.0, 10.0, "p").unwrap_err().code(), "negative_value");
        assert_eq!(scaled(f64::NAN, 60.0, 10.0, "p").unwrap_err().code(), "out_of_range");
        assert_eq!(scaled(11.0, 60.0, 10.0, "p").unwrap_err().code(), "out_of_range");
        assert_eq!(check_amount(-2, 5, "q").unwrap_err().code(), "negative_value");
    }
}
