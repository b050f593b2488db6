//! Readers and writers of instances and solutions. All scaling and rounding happens here.

pub mod json;
pub mod rounding;
pub mod sol;
pub mod solomon;
pub mod vroom;
pub mod vrplib;

pub use rounding::Rounding;

use crate::error::ReadError;
use crate::model::Problem;
use std::path::Path;

/// Instance file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Guess from the file's content.
    Auto,
    /// VRPLIB with PyVRP's extended sections.
    Vrplib,
    /// Solomon's text format.
    Solomon,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Format::Auto),
            "vrplib" => Ok(Format::Vrplib),
            "solomon" => Ok(Format::Solomon),
            _ => Err(format!("unknown format '{s}' (expected auto, vrplib or solomon)")),
        }
    }
}

/// A problem read from a file, with what is needed to write solutions in the family's units.
#[derive(Clone, Debug)]
pub struct Instance {
    /// The validated problem.
    pub problem: Problem,
    /// Family name (VRPLIB `TYPE`, or `SOLOMON`).
    pub family: String,
    /// The convention used to read it (never `Auto`).
    pub rounding: Rounding,
    /// The `.sol` files of this family state costs as `internal cost / cost_divisor`.
    pub cost_divisor: i64,
}

impl Instance {
    /// Formats an internal cost in the units of the family's `.sol` files.
    pub fn format_cost(&self, cost: i64) -> String {
        format_scaled(cost, self.cost_divisor)
    }
}

/// Writes `value / divisor` exactly, with as many decimals as the divisor has zeros (trailing
/// zeros dropped).
pub fn format_scaled(value: i64, divisor: i64) -> String {
    if divisor <= 1 {
        return value.to_string();
    }
    let decimals = (divisor as f64).log10().round() as usize;
    let sign = if value < 0 { "-" } else { "" };
    let v = value.unsigned_abs();
    let d = divisor as u64;
    let frac = format!("{:0width$}", v % d, width = decimals);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{}", v / d)
    } else {
        format!("{sign}{}.{frac}", v / d)
    }
}

/// Reads an instance file in the given format and rounding convention.
pub fn read_instance(path: &Path, format: Format, rounding: Rounding) -> Result<Instance, ReadError> {
    let text = std::fs::read(path).map_err(|e| ReadError::new(path, 0, format!("cannot read: {e}")))?;
    let text = String::from_utf8_lossy(&text);
    let format = match format {
        Format::Auto => detect_format(&text),
        f => f,
    };
    match format {
        Format::Solomon => solomon::parse(&text, path, rounding),
        _ => vrplib::parse(&text, path, rounding),
    }
}

/// Guesses the format: Solomon files have a `VEHICLE` block and a `CUSTOMER` block.
pub fn detect_format(text: &str) -> Format {
    let upper: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).take(12).collect();
    if upper.iter().any(|l| l.eq_ignore_ascii_case("VEHICLE")) && upper.iter().any(|l| l.eq_ignore_ascii_case("CUSTOMER")) {
        Format::Solomon
    } else {
        Format::Vrplib
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_scaled_costs_exactly() {
        assert_eq!(format_scaled(424448, 10), "42444.8");
        assert_eq!(format_scaled(424440, 10), "42444");
        assert_eq!(format_scaled(3517024000, 100000), "35170.24");
        assert_eq!(format_scaled(27591, 1), "27591");
        assert_eq!(format_scaled(5, 1000), "0.005");
    }
}
