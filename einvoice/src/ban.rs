//! 統一編號 (Unified Business Number, BAN): the eight-digit identifier of a business, the seller's
//! and a business buyer's `Identifier` in MIG messages.
//!
//! The check (DOMAIN.md; 財政部「營利事業統一編號檢查碼邏輯修正說明」, in force since 2023-04-01, as
//! reported by 北區國稅局 <https://smartcpa.tw/ko/news/content/E3F2E9817E12A3140DDE3EBD406D22F2>):
//! multiply the digits by the weights 1,2,1,2,1,2,4,1, add the digits of each product, and the
//! number is valid when the sum is divisible by 5 (before 2023: by 10; every number valid under
//! the old rule stays valid). When the 7th digit is 7, its product 28 gives 2+8 = 10, whose digits
//! give 1 or, taken once more, 0: the number is valid if either sum is divisible by 5.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The buyer `Identifier` of a B2C invoice (a consumer has no 統一編號): ten zeros (DOMAIN.md).
pub const B2C_BUYER: &str = "0000000000";

/// The weights of the 統一編號 check, digit by digit.
const WEIGHTS: [u32; 8] = [1, 2, 1, 2, 1, 2, 4, 1];

/// Why a text is not a 統一編號.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BanError {
    /// It does not have eight characters.
    #[error("a 統一編號 has 8 digits, this has {0} characters")]
    Length(usize),
    /// A character is not an ASCII digit (position counted from 1).
    #[error("a 統一編號 is digits only; character {position} is {found:?}")]
    NonDigit {
        /// 1-based position of the first offending character.
        position: usize,
        /// The character found there.
        found: char,
    },
    /// Eight digits, but the check fails: a typing mistake.
    #[error("{0} is not a valid 統一編號 (check digit mismatch)")]
    Checksum(String),
}

/// A valid 統一編號: eight ASCII digits that pass the check. Serde: the string, validated when
/// deserialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ban([u8; 8]);

impl Ban {
    /// Parses and checks a 統一編號. No trimming: the caller decides what input to clean.
    pub fn parse(text: &str) -> Result<Ban, BanError> {
        let count = text.chars().count();
        if let Some((i, found)) = text.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            // Report a wrong length first when the text is clearly not a BAN-shaped string.
            if count != 8 {
                return Err(BanError::Length(count));
            }
            return Err(BanError::NonDigit { position: i + 1, found });
        }
        let digits: [u8; 8] = text.as_bytes().try_into().map_err(|_| BanError::Length(count))?;
        if checksum_ok(&digits) {
            Ok(Ban(digits))
        } else {
            Err(BanError::Checksum(text.to_owned()))
        }
    }

    /// Whether `text` is a valid 統一編號.
    pub fn is_valid(text: &str) -> bool {
        Ban::parse(text).is_ok()
    }

    /// The eight digits.
    pub fn as_str(&self) -> &str {
        // Always ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The check on eight ASCII digits (see the module docs).
fn checksum_ok(digits: &[u8; 8]) -> bool {
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| {
            let p = u32::from(d - b'0') * w;
            p / 10 + p % 10
        })
        .sum();
    // With a 7th digit of 7 the sum above counts 28 as 2+8 = 10; the rule counts it as 1 or 0.
    if digits[6] == b'7' {
        let base = sum - 10;
        (base + 1).is_multiple_of(5) || base.is_multiple_of(5)
    } else {
        sum.is_multiple_of(5)
    }
}

impl fmt::Display for Ban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ban {
    type Err = BanError;

    fn from_str(text: &str) -> Result<Ban, BanError> {
        Ban::parse(text)
    }
}

impl Serialize for Ban {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Ban {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Ban, D::Error> {
        crate::serde_str::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_domain_test_vectors() {
        for ok in ["04595252", "04595257", "10458570", "10458574", "10458575"] {
            assert!(Ban::is_valid(ok), "{ok}");
            assert_eq!(Ban::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_12345678_by_checksum() {
        assert_eq!(Ban::parse("12345678"), Err(BanError::Checksum("12345678".into())));
    }

    #[test]
    fn the_divisible_by_5_rule_admits_numbers_the_old_rule_rejected() {
        // 04595252: the digit sum is 35, divisible by 5 but not by 10.
        assert!(Ban::is_valid("04595252"));
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(Ban::parse(""), Err(BanError::Length(0)));
        assert_eq!(Ban::parse("0459525"), Err(BanError::Length(7)));
        assert_eq!(Ban::parse("045952520"), Err(BanError::Length(9)));
        assert_eq!(Ban::parse("0459525a"), Err(BanError::NonDigit { position: 8, found: 'a' }));
        assert_eq!(Ban::parse("０4595252"), Err(BanError::NonDigit { position: 1, found: '０' }));
        assert_eq!(Ban::parse(" 4595252"), Err(BanError::NonDigit { position: 1, found: ' ' }));
        assert_eq!(Ban::parse("abc"), Err(BanError::Length(3)));
    }

    #[test]
    fn serde_is_the_string_and_validates() {
        let ban = Ban::parse("04595252").unwrap();
        assert_eq!(serde_json::to_string(&ban).unwrap(), "\"04595252\"");
        assert_eq!(serde_json::from_str::<Ban>("\"04595252\"").unwrap(), ban);
        let err = serde_json::from_str::<Ban>("\"12345678\"").unwrap_err().to_string();
        assert!(err.contains("not a valid"), "{err}");
        assert!(serde_json::from_str::<Ban>("4595252").is_err());
    }

    #[test]
    fn b2c_buyer_is_ten_zeros() {
        assert_eq!(B2C_BUYER.len(), 10);
        assert!(B2C_BUYER.bytes().all(|b| b == b'0'));
    }

    /// A literal reading of the rule, written independently: both sums for a 7th digit of 7.
    fn reference(text: &str) -> bool {
        let d: Vec<u32> = text.bytes().map(|b| u32::from(b - b'0')).collect();
        let parts: Vec<u32> = d.iter().zip(WEIGHTS).map(|(d, w)| (d * w).to_string().bytes().map(|b| u32::from(b - b'0')).sum()).collect();
        let sum: u32 = parts.iter().sum();
        if d[6] == 7 {
            let without = sum - parts[6];
            (without + 1).is_multiple_of(5) || without.is_multiple_of(5)
        } else {
            sum.is_multiple_of(5)
        }
    }

    proptest! {
        #[test]
        fn agrees_with_a_literal_reading_of_the_rule(text in "[0-9]{8}") {
            prop_assert_eq!(Ban::is_valid(&text), reference(&text));
        }

        #[test]
        fn never_panics(text in "\\PC{0,12}") {
            let _ = Ban::parse(&text);
        }
    }
}
