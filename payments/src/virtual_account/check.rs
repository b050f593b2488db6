//! Check digits of virtual accounts: a weighted sum over every digit of the number, check digit
//! included, that must be divisible by a modulus.
//!
//! Banks publish their check rule on the spec sheet they give a company that opens a
//! virtual-account collection service; the rule is a weighted sum modulo 10 (or 11) in every sheet
//! we know of, so the weights and the modulus are configuration, not code. The shipped layout
//! uses the weights 3, 7, 1 repeated from the left, modulo 10 — the documented check of the ABA
//! routing number (American Bankers Association; "Routing transit number", check digit
//! `3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)`) — until the bank's sheet says otherwise.
//!
//! The one form covers both ways sheets phrase the rule: "check digit = 10 − (Σ wᵢdᵢ mod 10)"
//! is weight 1 on the check digit, "check digit = Σ wᵢdᵢ mod 10" is weight 9 (≡ −1).
//!
//! What a scheme guarantees (with `Σ wᵢdᵢ ≡ 0 (mod m)` over all digits):
//! - a single changed digit (by δ ≠ 0) at position i changes the sum by `wᵢ·δ`, caught whenever
//!   `gcd(wᵢ, m) = 1`. [`CheckScheme::new`] refuses weights that are not coprime to the modulus, so
//!   **every single-digit error is caught** by every accepted scheme;
//! - swapping adjacent digits a ≠ b at positions i, i+1 changes the sum by `(wᵢ − wᵢ₊₁)(b − a)`,
//!   caught unless that is divisible by m. With 3-7-1 modulo 10 the weight differences (−4, 6, −2,
//!   −2) are even and not multiples of 5, so **a transposition is caught unless the two digits
//!   differ by 5** (0↔5, 1↔6, …, 4↔9). Modulo 11 (a prime) with adjacent weights that differ, every
//!   adjacent transposition is caught, at the price of numbers whose check value would be 10,
//!   which cannot be issued ([`CheckScheme::check_digit`] answers `None`).
//!   [`CheckScheme::catches_transposition`] states the rule for any scheme.

use serde::{Deserialize, Serialize};

/// A weighted-sum check: the digits of a number, multiplied by `weights` (repeated from the left,
/// the check digit's position included), must add up to a multiple of `modulus`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CheckConfig", into = "CheckConfig")]
pub struct CheckScheme {
    weights: Vec<u32>,
    modulus: u32,
}

/// The configuration form of a [`CheckScheme`] (TOML: `[check]` with `weights` and `modulus`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Weights, repeated from the leftmost digit.
    pub weights: Vec<u32>,
    /// 10 or 11.
    pub modulus: u32,
}

impl TryFrom<CheckConfig> for CheckScheme {
    type Error = String;
    fn try_from(c: CheckConfig) -> Result<CheckScheme, String> {
        CheckScheme::new(c.weights, c.modulus)
    }
}

impl From<CheckScheme> for CheckConfig {
    fn from(s: CheckScheme) -> CheckConfig {
        CheckConfig { weights: s.weights, modulus: s.modulus }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl CheckScheme {
    /// The ABA routing-number weights 3, 7, 1 modulo 10 (see the module docs).
    pub fn weights_371_mod10() -> CheckScheme {
        CheckScheme { weights: vec![3, 7, 1], modulus: 10 }
    }

    /// A scheme of `weights` (1 to 32 of them, each in `1..modulus` and coprime to it) and a
    /// `modulus` of 10 or 11; the reason in words otherwise.
    pub fn new(weights: Vec<u32>, modulus: u32) -> Result<CheckScheme, String> {
        if modulus != 10 && modulus != 11 {
            return Err(format!("check modulus must be 10 or 11, not {modulus}"));
        }
        if weights.is_empty() || weights.len() > 32 {
            return Err(format!("check weights: 1 to 32 of them, not {}", weights.len()));
        }
        if let Some(w) = weights.iter().find(|w| **w == 0 || **w >= modulus || gcd(**w, modulus) != 1) {
            return Err(format!(
                "check weight {w} must be between 1 and {} and share no factor with the modulus {modulus} (or single-digit errors go unnoticed)",
                modulus - 1
            ));
        }
        Ok(CheckScheme { weights, modulus })
    }

    /// The weights, repeated from the left.
    pub fn weights(&self) -> &[u32] {
        &self.weights
    }

    /// The modulus.
    pub fn modulus(&self) -> u32 {
        self.modulus
    }

    /// The weight of the digit at `position` (0-based from the left).
    pub fn weight(&self, position: usize) -> u32 {
        self.weights[position % self.weights.len()]
    }

    /// `Σ wᵢdᵢ mod m` over `digits` (values 0..=9), skipping `skip` (the check digit's position).
    fn sum(&self, digits: &[u8], skip: Option<usize>) -> u32 {
        digits.iter().enumerate().filter(|(i, _)| Some(*i) != skip).fold(0, |s, (i, d)| (s + self.weight(i) * u32::from(*d)) % self.modulus)
    }

    /// The check digit at `position` of `digits` (whatever `digits[position]` holds now), or
    /// `None` when the check value is 10 (modulo 11 only): no such number can be issued.
    pub fn check_digit(&self, digits: &[u8], position: usize) -> Option<u8> {
        let rest = self.sum(digits, Some(position));
        let w = self.weight(position);
        // c with w·c ≡ −rest (mod m); m ≤ 11, so a search is the simplest exact inverse.
        let want = (self.modulus - rest) % self.modulus;
        let c = (0..self.modulus).find(|c| (w * c) % self.modulus == want)?;
        u8::try_from(c).ok().filter(|c| *c <= 9)
    }

    /// Whether `digits` (values 0..=9) pass the check.
    pub fn holds(&self, digits: &[u8]) -> bool {
        self.sum(digits, None) == 0
    }

    /// Whether swapping the different digits `a` and `b` at positions `i` and `i + 1` is always
    /// caught: `(wᵢ − wᵢ₊₁)(a − b) ≢ 0 (mod m)`.
    pub fn catches_transposition(&self, i: usize, a: u8, b: u8) -> bool {
        let dw = i64::from(self.weight(i)) - i64::from(self.weight(i + 1));
        let dd = i64::from(a) - i64::from(b);
        (dw * dd).rem_euclid(i64::from(self.modulus)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aba_routing_numbers_pass_the_371_check() {
        // Published routing numbers (the Federal Reserve's own and a large bank's).
        let s = CheckScheme::weights_371_mod10();
        for n in ["011000015", "021000021", "111000025"] {
            let digits: Vec<u8> = n.bytes().map(|b| b - b'0').collect();
            assert!(s.holds(&digits), "{n}");
            assert_eq!(s.check_digit(&digits, 8), Some(digits[8]), "{n}");
        }
    }

    #[test]
    fn rejects_weights_that_would_miss_single_digit_errors() {
        assert!(CheckScheme::new(vec![1, 2], 10).is_err());
        assert!(CheckScheme::new(vec![5], 10).is_err());
        assert!(CheckScheme::new(vec![0, 1], 11).is_err());
        assert!(CheckScheme::new(vec![11], 11).is_err());
        assert!(CheckScheme::new(vec![], 10).is_err());
        assert!(CheckScheme::new(vec![1, 3], 9).is_err());
        assert!(CheckScheme::new(vec![1, 3, 7, 9], 10).is_ok());
        assert!(CheckScheme::new((1..=10).collect(), 11).is_ok());
    }

    #[test]
    fn modulo_11_has_numbers_without_a_check_digit() {
        let s = CheckScheme::new((1..=10).collect(), 11).unwrap();
        let issuable = (0..100u8).filter(|n| s.check_digit(&[n / 10, n % 10, 0], 2).is_some()).count();
        assert!(issuable < 100 && issuable > 80, "{issuable}");
    }

    #[test]
    fn the_371_scheme_misses_only_transpositions_of_digits_five_apart() {
        let s = CheckScheme::weights_371_mod10();
        for i in 0..6 {
            for a in 0..10u8 {
                for b in 0..10u8 {
                    if a != b {
                        assert_eq!(s.catches_transposition(i, a, b), a.abs_diff(b) != 5, "{i} {a} {b}");
                    }
                }
            }
        }
    }
}
