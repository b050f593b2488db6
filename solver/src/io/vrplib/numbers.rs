//! Checked conversion of input tokens to numbers, shared by the VRPLIB and Solomon readers.
//!
//! Every number read from a file goes through here, so the limits that keep the core free of
//! overflow are enforced in one place: at most [`MAX_DIMENSION`] locations, and integers (after
//! scaling) of magnitude at most [`MAX_VALUE`], so that a sum over all locations still fits an
//! `i64`.

use crate::error::ReadError;
use crate::io::Rounding;
use std::path::Path;

/// The most locations an instance may have (a larger `DIMENSION` is refused before anything is
/// allocated).
pub(in crate::io) const MAX_DIMENSION: usize = 100_000;

/// The largest magnitude of any integer read from a file, after scaling (10^13): a sum of
/// [`MAX_DIMENSION`] of them stays far below `i64::MAX`.
pub(in crate::io) const MAX_VALUE: i64 = 10_000_000_000_000;

/// Builds the errors of one file.
#[derive(Clone, Copy)]
pub(in crate::io) struct Numbers<'p> {
    /// The file the tokens come from.
    pub path: &'p Path,
}

impl<'p> Numbers<'p> {
    /// An error at `line` of the file.
    pub fn err(&self, line: usize, message: impl Into<String>) -> ReadError {
        ReadError::new(self.path, line, message)
    }

    /// A finite real number.
    pub fn real(&self, line: usize, token: &str, what: &str) -> Result<f64, ReadError> {
        match token.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => Err(self.err(line, format!("{what}: '{token}' is not a finite number"))),
            Err(_) => Err(self.err(line, format!("{what}: '{token}' is not a number"))),
        }
    }

    /// An integer of magnitude at most [`MAX_VALUE`]; a real with no fractional part (`10.0`)
    /// is accepted.
    pub fn integer(&self, line: usize, token: &str, what: &str) -> Result<i64, ReadError> {
        let v = match token.parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                let x = self.real(line, token, what)?;
                if x.fract() != 0.0 {
                    return Err(self.err(line, format!("{what}: '{token}' is not an integer")));
                }
                if x.abs() > MAX_VALUE as f64 {
                    return Err(self.too_large(line, token, what));
                }
                x as i64
            }
        };
        if !matches!(v.checked_abs(), Some(a) if a <= MAX_VALUE) {
            return Err(self.too_large(line, token, what));
        }
        Ok(v)
    }

    /// A non-negative integer (an amount, a count, an index).
    pub fn amount(&self, line: usize, token: &str, what: &str) -> Result<i64, ReadError> {
        let v = self.integer(line, token, what)?;
        if v < 0 {
            return Err(self.err(line, format!("{what}: {v} is negative")));
        }
        Ok(v)
    }

    /// A non-negative integer of at most `max`, as a `usize`.
    pub fn count(&self, line: usize, token: &str, what: &str, max: usize) -> Result<usize, ReadError> {
        let v = self.amount(line, token, what)?;
        match usize::try_from(v) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(self.err(line, format!("{what}: {v} is above the supported maximum of {max}"))),
        }
    }

    /// A raw value scaled and rounded by `rounding`; it must not be negative after rounding.
    pub fn scaled(&self, line: usize, token: &str, what: &str, rounding: Rounding) -> Result<i64, ReadError> {
        let raw = self.real(line, token, what)?;
        // `apply` saturates on overflow; the bound below turns that into an error.
        let v = rounding.apply(raw);
        if !matches!(v.checked_abs(), Some(a) if a <= MAX_VALUE) {
            return Err(self.too_large(line, token, what));
        }
        if v < 0 {
            return Err(self.err(line, format!("{what}: {token} is negative")));
        }
        Ok(v)
    }

    fn too_large(&self, line: usize, token: &str, what: &str) -> ReadError {
        self.err(line, format!("{what}: '{token}' is too large (at most {MAX_VALUE} after scaling)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums() -> Numbers<'static> {
        Numbers { path: Path::new("t.vrp") }
    }

    #[test]
    fn reads_integers_and_integral_reals() {
        assert_eq!(nums().integer(1, "42", "x").unwrap(), 42);
        assert_eq!(nums().integer(1, "-7", "x").unwrap(), -7);
        assert_eq!(nums().integer(1, "10.0", "x").unwrap(), 10);
        assert!(nums().integer(1, "10.5", "x").is_err());
        assert!(nums().integer(1, "abc", "x").is_err());
    }

    #[test]
    fn rejects_non_finite_and_huge_values() {
        for t in ["nan", "inf", "-infinity", "1e400"] {
            let e = nums().real(3, t, "coordinate").unwrap_err();
            assert_eq!(e.line, 3);
        }
        assert!(nums().integer(1, "9223372036854775807", "x").is_err());
        assert!(nums().integer(1, "-9223372036854775808", "x").is_err());
        assert!(nums().integer(1, "1e300", "x").is_err());
        assert!(nums().scaled(1, "1e300", "x", Rounding::Exact).is_err());
        assert!(nums().count(1, "100001", "DIMENSION", MAX_DIMENSION).is_err());
    }

    #[test]
    fn scales_and_refuses_negative_results() {
        assert_eq!(nums().scaled(1, "12.34", "t", Rounding::Dimacs).unwrap(), 123);
        assert_eq!(nums().scaled(1, "12.3456", "t", Rounding::Exact).unwrap(), 12346);
        assert_eq!(nums().scaled(1, "-0.04", "t", Rounding::Round).unwrap(), 0);
        let e = nums().scaled(9, "-1", "service time", Rounding::Round).unwrap_err();
        assert_eq!(e.line, 9);
        assert!(e.message.contains("negative"));
        assert!(nums().amount(1, "-1", "demand").is_err());
    }
}
