//! Money: whole New Taiwan dollars (NT$). E-invoices carry no cents (MIG 4.1 amounts are whole
//! dollars), so every amount of the product is an `i64` of NT$ and arithmetic is checked: an
//! overflow is an error, never a wrap.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of whole New Taiwan dollars. May be negative (a credit) where a caller allows it;
/// invoice amounts are validated to be ≥ 0 where they are built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ntd(pub i64);

/// An arithmetic result does not fit in an `i64` of NT$.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("amount out of range")]
pub struct Overflow;

impl Ntd {
    /// Zero dollars.
    pub const ZERO: Ntd = Ntd(0);

    /// `self + other`, or [`Overflow`].
    // Checked, returning a `Result`: not `std::ops::Add`, whose `add` cannot fail.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, other: Ntd) -> Result<Ntd, Overflow> {
        self.0.checked_add(other.0).map(Ntd).ok_or(Overflow)
    }

    /// `self − other`, or [`Overflow`].
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, other: Ntd) -> Result<Ntd, Overflow> {
        self.0.checked_sub(other.0).map(Ntd).ok_or(Overflow)
    }

    /// `self × n`, or [`Overflow`].
    pub fn times(self, n: i64) -> Result<Ntd, Overflow> {
        self.0.checked_mul(n).map(Ntd).ok_or(Overflow)
    }

    /// The sum of `amounts`, or [`Overflow`].
    pub fn sum<I: IntoIterator<Item = Ntd>>(amounts: I) -> Result<Ntd, Overflow> {
        amounts.into_iter().try_fold(Ntd::ZERO, Ntd::add)
    }

    /// The whole dollars.
    pub fn dollars(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Ntd {
    /// `NT$1,380`, `-NT$50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}NT${grouped}")
    }
}

/// Divides `numerator / denominator` rounding half away from zero (the rounding of whole-dollar
/// tax amounts, 四捨五入). `denominator` must be positive.
pub fn div_round_half_up(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0);
    let q = numerator / denominator;
    let r = numerator % denominator;
    if 2 * r.abs() >= denominator {
        q + numerator.signum()
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_groups_thousands() {
        assert_eq!(Ntd(1380).to_string(), "NT$1,380");
        assert_eq!(Ntd(-50).to_string(), "-NT$50");
        assert_eq!(Ntd(1_234_567).to_string(), "NT$1,234,567");
        assert_eq!(Ntd(0).to_string(), "NT$0");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Ntd(i64::MAX).add(Ntd(1)), Err(Overflow));
        assert_eq!(Ntd(3).times(4), Ok(Ntd(12)));
        assert_eq!(Ntd::sum([Ntd(1), Ntd(2)]), Ok(Ntd(3)));
    }

    #[test]
    fn rounding_half_up() {
        assert_eq!(div_round_half_up(1380 * 100, 105), 1314);
        assert_eq!(div_round_half_up(5, 10), 1);
        assert_eq!(div_round_half_up(4, 10), 0);
        assert_eq!(div_round_half_up(-5, 10), -1);
    }
}
