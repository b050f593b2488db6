//! Invoice numbers (發票號碼): a track (字軌) of two upper-case letters and eight digits, e.g.
//! `FN53067850`, allocated per two-month period in blocks the seller downloads and used in order
//! (DOMAIN.md); and the four-digit random code (`RandomNumber`, 隨機碼) printed on the proof and
//! used by the buyer to look the invoice up.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The largest eight-digit invoice number.
pub const MAX_NUMBER: u32 = 99_999_999;

/// What is wrong with an invoice number, track or random code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not two upper-case letters A–Z.
    #[error("{0:?} is not an invoice track (two upper-case letters A-Z)")]
    Track(String),
    /// Not two upper-case letters followed by eight digits.
    #[error("{0:?} is not an invoice number (two upper-case letters followed by 8 digits, e.g. FN53067850)")]
    InvoiceNumber(String),
    /// The number part exceeds eight digits.
    #[error("invoice number {0} has more than 8 digits")]
    NumberOutOfRange(u32),
    /// Not exactly four digits.
    #[error("{0:?} is not a random code (exactly 4 digits)")]
    RandomCode(String),
}

/// A track (字軌): two upper-case ASCII letters, e.g. `FN`. Serde: the string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Track([u8; 2]);

impl Track {
    /// Parses two upper-case ASCII letters.
    pub fn parse(text: &str) -> Result<Track, NumberError> {
        match text.as_bytes() {
            &[a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Track([a, b])),
            _ => Err(NumberError::Track(text.to_owned())),
        }
    }

    /// The two letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// An invoice number: a [`Track`] and a number 0..=[`MAX_NUMBER`], written with eight digits.
/// Orders by track, then number. Serde: the string `"FN53067850"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InvoiceNumber {
    track: Track,
    number: u32,
}

impl InvoiceNumber {
    /// The invoice number `number` of `track`; an error when `number` has more than eight digits.
    pub fn new(track: Track, number: u32) -> Result<InvoiceNumber, NumberError> {
        if number > MAX_NUMBER {
            return Err(NumberError::NumberOutOfRange(number));
        }
        Ok(InvoiceNumber { track, number })
    }

    /// Parses two upper-case letters followed by exactly eight digits (`FN53067850`).
    pub fn parse(text: &str) -> Result<InvoiceNumber, NumberError> {
        let err = || NumberError::InvoiceNumber(text.to_owned());
        let b = text.as_bytes();
        if b.len() != 10 || !b[2..].iter().all(u8::is_ascii_digit) {
            return Err(err());
        }
        let track = Track::parse(&text[..2]).map_err(|_| err())?;
        let number = text[2..].parse().map_err(|_| err())?;
        Ok(InvoiceNumber { track, number })
    }

    /// The track.
    pub fn track(&self) -> Track {
        self.track
    }

    /// The eight-digit number as an integer.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The next number of the same track; `None` after `99999999`.
    pub fn next(&self) -> Option<InvoiceNumber> {
        InvoiceNumber::new(self.track, self.number.checked_add(1)?).ok()
    }
}

impl fmt::Display for Track {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Track {
    type Err = NumberError;

    fn from_str(text: &str) -> Result<Track, NumberError> {
        Track::parse(text)
    }
}

impl Serialize for Track {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Track {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Track, D::Error> {
        crate::serde_str::deserialize(deserializer)
    }
}

impl fmt::Display for InvoiceNumber {
    /// `FN53067850`: the track and eight zero-padded digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:08}", self.track, self.number)
    }
}

impl FromStr for InvoiceNumber {
    type Err = NumberError;

    fn from_str(text: &str) -> Result<InvoiceNumber, NumberError> {
        InvoiceNumber::parse(text)
    }
}

impl Serialize for InvoiceNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::serde_str::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for InvoiceNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<InvoiceNumber, D::Error> {
        crate::serde_str::deserialize(deserializer)
    }
}

/// The four-digit random code (MIG `RandomNumber`), 0000–9999. Serde: the zero-padded string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RandomCode(u16);

impl RandomCode {
    /// The code for `n`; values above 9999 are reduced modulo 10000, so the caller may pass any
    /// random `u16` (for a uniform code pass a value already uniform in 0..10000).
    pub fn from_u16(n: u16) -> RandomCode {
        RandomCode(n % 10_000)
    }

    /// Parses exactly four ASCII digits (`"0042"`).
    pub fn parse(text: &str) -> Result<RandomCode, NumberError> {
        if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().map(RandomCode).map_err(|_| NumberError::RandomCode(text.to_owned()))
        } else {
            Err(NumberError::RandomCode(text.to_owned()))
        }
    }

    /// The code as a number, 0..=9999.
    pub fn value(&self) -> u16 {
        self.0
    }
}

impl fmt::Display for RandomCode {
    /// Four digits, zero-padded: `0042`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

impl FromStr for RandomCode {
    type Err = NumberError;

    fn from_str(text: &str) -> Result<RandomCode, NumberError> {
        RandomCode::parse(text)
    }
}

impl Serialize for RandomCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::serde_str::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for RandomCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RandomCode, D::Error> {
        crate::serde_str::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_displays_invoice_numbers() {
        let n = InvoiceNumber::parse("FN53067850").unwrap();
        assert_eq!((n.track().as_str(), n.number()), ("FN", 53_067_850));
        assert_eq!(n.to_string(), "FN53067850");
        assert_eq!(InvoiceNumber::parse("AB00000001").unwrap().to_string(), "AB00000001");
        assert_eq!(n.next().unwrap().to_string(), "FN53067851");
        assert_eq!(InvoiceNumber::parse("FN99999999").unwrap().next(), None);
    }

    #[test]
    fn rejects_malformed_invoice_numbers() {
        for bad in ["", "FN5306785", "FN530678500", "fn53067850", "F153067850", "FN5306785a", "FN-3067850", "FN+3067850", " FN5306785", "ＦN53067850"] {
            assert_eq!(InvoiceNumber::parse(bad), Err(NumberError::InvoiceNumber(bad.into())), "{bad:?}");
        }
        let track = Track::parse("FN").unwrap();
        assert_eq!(InvoiceNumber::new(track, 100_000_000), Err(NumberError::NumberOutOfRange(100_000_000)));
        assert_eq!(InvoiceNumber::new(track, 7).unwrap().to_string(), "FN00000007");
    }

    #[test]
    fn tracks_are_two_upper_case_letters() {
        assert_eq!(Track::parse("FN").unwrap().to_string(), "FN");
        for bad in ["", "F", "FNX", "fN", "F1", "Ｆ"] {
            assert_eq!(Track::parse(bad), Err(NumberError::Track(bad.into())), "{bad:?}");
        }
    }

    #[test]
    fn random_codes_are_four_digits() {
        assert_eq!(RandomCode::from_u16(42).to_string(), "0042");
        assert_eq!(RandomCode::from_u16(12_345).value(), 2345);
        assert_eq!(RandomCode::parse("0042").unwrap().value(), 42);
        for bad in ["", "42", "00042", "+042", "004a", " 042"] {
            assert_eq!(RandomCode::parse(bad), Err(NumberError::RandomCode(bad.into())), "{bad:?}");
        }
    }

    #[test]
    fn serde_uses_the_written_forms() {
        let n = InvoiceNumber::parse("FN53067850").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"FN53067850\"");
        assert_eq!(serde_json::from_str::<InvoiceNumber>("\"FN53067850\"").unwrap(), n);
        assert!(serde_json::from_str::<InvoiceNumber>("\"fn53067850\"").is_err());
        assert_eq!(serde_json::to_string(&RandomCode::from_u16(7)).unwrap(), "\"0007\"");
        assert_eq!(serde_json::from_str::<RandomCode>("\"0007\"").unwrap(), RandomCode::from_u16(7));
        assert_eq!(serde_json::from_str::<Track>("\"FN\"").unwrap(), Track::parse("FN").unwrap());
    }

    proptest! {
        #[test]
        fn invoice_numbers_round_trip(a in b'A'..=b'Z', b in b'A'..=b'Z', number in 0..=MAX_NUMBER) {
            let n = InvoiceNumber::new(Track([a, b]), number).unwrap();
            prop_assert_eq!(InvoiceNumber::parse(&n.to_string()), Ok(n));
            if let Some(next) = n.next() {
                prop_assert!(next > n);
                prop_assert_eq!(next.number(), number + 1);
            }
        }

        #[test]
        fn random_codes_round_trip(n in any::<u16>()) {
            let code = RandomCode::from_u16(n);
            prop_assert!(code.value() <= 9999);
            prop_assert_eq!(RandomCode::parse(&code.to_string()), Ok(code));
        }

        #[test]
        fn never_panics(text in "\\PC{0,12}") {
            let _ = InvoiceNumber::parse(&text);
            let _ = Track::parse(&text);
            let _ = RandomCode::parse(&text);
        }
    }
}
