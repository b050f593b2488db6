//! How a B2C invoice reaches its buyer: printed (an invoice proof, 電子發票證明聯), stored on a
//! carrier (載具), or donated to a charity by its donation code (愛心碼) — exactly one of the three
//! (DOMAIN.md) — and the MIG F0401 fields that say which (`PrintMark`, `DonateMark`, `CarrierType`,
//! `CarrierId1`, `CarrierId2`, `NPOBAN`).
//!
//! Formats (DOMAIN.md, MIG 4.x carrier types; the Ministry's published patterns for the mobile
//! barcode are `/` + 7 characters of `0-9 A-Z . + -`):
//! - mobile barcode (手機條碼), type `3J0002`: `/` + 7 of `[0-9A-Z.+-]`, e.g. `/ABC+123`;
//! - citizen digital certificate (自然人憑證), type `CQ0001`: 2 upper-case letters + 14 digits;
//! - donation code (愛心碼): 3–7 digits.
//!
//! Only these two carrier types are accepted; others (store member cards, bank cards …) are
//! rejected by [`Carrier::parse`] with [`CarrierError::UnknownType`]. Input is not trimmed or
//! upper-cased here: a lower-case mobile barcode is an error the caller may choose to fix.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// MIG `CarrierType` of the mobile barcode (手機條碼).
pub const MOBILE_BARCODE_TYPE: &str = "3J0002";
/// MIG `CarrierType` of the citizen digital certificate (自然人憑證).
pub const CITIZEN_CERTIFICATE_TYPE: &str = "CQ0001";

/// What is wrong with a carrier or donation code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    /// The carrier type code is not one we accept.
    #[error("carrier type {0:?} is not supported (expected {MOBILE_BARCODE_TYPE} mobile barcode or {CITIZEN_CERTIFICATE_TYPE} citizen certificate)")]
    UnknownType(String),
    /// Not a mobile barcode.
    #[error("{0:?} is not a mobile barcode ('/' followed by 7 characters of 0-9, A-Z, '.', '+', '-')")]
    MobileBarcode(String),
    /// Not a citizen digital certificate number.
    #[error("{0:?} is not a citizen digital certificate number (2 upper-case letters followed by 14 digits)")]
    CitizenCertificate(String),
    /// Not a donation code.
    #[error("{0:?} is not a donation code (3 to 7 digits)")]
    DonationCode(String),
}

/// A mobile barcode (手機條碼), e.g. `/ABC+123`; valid by construction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MobileBarcode(String);

impl MobileBarcode {
    /// Parses `/` + 7 characters of `[0-9A-Z.+-]`.
    pub fn parse(text: &str) -> Result<MobileBarcode, CarrierError> {
        let b = text.as_bytes();
        let ok = b.len() == 8 && b[0] == b'/' && b[1..].iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || matches!(c, b'.' | b'+' | b'-'));
        if ok {
            Ok(MobileBarcode(text.to_owned()))
        } else {
            Err(CarrierError::MobileBarcode(text.to_owned()))
        }
    }

    /// The barcode text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A citizen digital certificate carrier number (自然人憑證), e.g. `AB12345678901234`; valid by
/// construction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CitizenCertificate(String);

impl CitizenCertificate {
    /// Parses 2 upper-case ASCII letters + 14 digits.
    pub fn parse(text: &str) -> Result<CitizenCertificate, CarrierError> {
        let b = text.as_bytes();
        let ok = b.len() == 16 && b[..2].iter().all(u8::is_ascii_uppercase) && b[2..].iter().all(u8::is_ascii_digit);
        if ok {
            Ok(CitizenCertificate(text.to_owned()))
        } else {
            Err(CarrierError::CitizenCertificate(text.to_owned()))
        }
    }

    /// The certificate number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A carrier (載具) holding a B2C invoice for its buyer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Carrier {
    /// Mobile barcode, `3J0002`.
    Mobile(MobileBarcode),
    /// Citizen digital certificate, `CQ0001`.
    Citizen(CitizenCertificate),
}

impl Carrier {
    /// Parses a carrier from its MIG type code (`3J0002`, `CQ0001`) and id.
    pub fn parse(kind_code: &str, id: &str) -> Result<Carrier, CarrierError> {
        match kind_code {
            MOBILE_BARCODE_TYPE => MobileBarcode::parse(id).map(Carrier::Mobile),
            CITIZEN_CERTIFICATE_TYPE => CitizenCertificate::parse(id).map(Carrier::Citizen),
            other => Err(CarrierError::UnknownType(other.to_owned())),
        }
    }

    /// The MIG `CarrierType`.
    pub fn type_code(&self) -> &'static str {
        match self {
            Carrier::Mobile(_) => MOBILE_BARCODE_TYPE,
            Carrier::Citizen(_) => CITIZEN_CERTIFICATE_TYPE,
        }
    }

    /// The carrier id (for these two types both MIG `CarrierId1` and `CarrierId2`).
    pub fn id(&self) -> &str {
        match self {
            Carrier::Mobile(m) => m.as_str(),
            Carrier::Citizen(c) => c.as_str(),
        }
    }
}

/// A donation code (愛心碼, MIG `NPOBAN`) of a registered charity: 3–7 digits. Serde: the string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DonationCode(String);

impl DonationCode {
    /// Parses 3 to 7 ASCII digits.
    pub fn parse(text: &str) -> Result<DonationCode, CarrierError> {
        if (3..=7).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(DonationCode(text.to_owned()))
        } else {
            Err(CarrierError::DonationCode(text.to_owned()))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DonationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DonationCode {
    type Err = CarrierError;

    fn from_str(text: &str) -> Result<DonationCode, CarrierError> {
        DonationCode::parse(text)
    }
}

impl Serialize for DonationCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DonationCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DonationCode, D::Error> {
        crate::serde_str::deserialize(deserializer)
    }
}

/// How a B2C invoice is delivered: exactly one of printed, on a carrier, or donated.
///
/// Serde (for the JSON API), tagged by `kind`, validated when deserialized:
/// `{"kind":"print"}`, `{"kind":"carrier","carrier_type":"3J0002","carrier_id":"/ABC+123"}`,
/// `{"kind":"donate","donation_code":"168"}`. Unknown fields are rejected.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "DeliveryJson", into = "DeliveryJson")]
pub enum B2cDelivery {
    /// Printed on paper (the invoice proof).
    Print,
    /// Stored on the buyer's carrier.
    Carrier(Carrier),
    /// Donated to the charity with this code.
    Donate(DonationCode),
}

impl B2cDelivery {
    /// MIG `PrintMark`: `"Y"` when printed, else `"N"`.
    pub fn print_mark(&self) -> &'static str {
        if matches!(self, B2cDelivery::Print) {
            "Y"
        } else {
            "N"
        }
    }

    /// MIG `DonateMark`: `"1"` when donated, else `"0"`.
    pub fn donate_mark(&self) -> &'static str {
        if matches!(self, B2cDelivery::Donate(_)) {
            "1"
        } else {
            "0"
        }
    }

    /// MIG `CarrierType`, present only for a carrier.
    pub fn carrier_type(&self) -> Option<&'static str> {
        match self {
            B2cDelivery::Carrier(c) => Some(c.type_code()),
            _ => None,
        }
    }

    /// MIG `CarrierId1` and `CarrierId2` (the same text for the supported types), only for a carrier.
    pub fn carrier_id(&self) -> Option<&str> {
        match self {
            B2cDelivery::Carrier(c) => Some(c.id()),
            _ => None,
        }
    }

    /// MIG `NPOBAN`, present only when donated.
    pub fn npoban(&self) -> Option<&str> {
        match self {
            B2cDelivery::Donate(code) => Some(code.as_str()),
            _ => None,
        }
    }
}

/// The JSON shape of [`B2cDelivery`], before validation.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum DeliveryJson {
    // A struct variant, not a unit one: serde ignores unknown fields next to a unit variant's tag.
    Print {},
    Carrier { carrier_type: String, carrier_id: String },
    Donate { donation_code: String },
}

impl TryFrom<DeliveryJson> for B2cDelivery {
    type Error = CarrierError;

    fn try_from(json: DeliveryJson) -> Result<B2cDelivery, CarrierError> {
        Ok(match json {
            DeliveryJson::Print {} => B2cDelivery::Print,
            DeliveryJson::Carrier { carrier_type, carrier_id } => B2cDelivery::Carrier(Carrier::parse(&carrier_type, &carrier_id)?),
            DeliveryJson::Donate { donation_code } => B2cDelivery::Donate(DonationCode::parse(&donation_code)?),
        })
    }
}

impl From<B2cDelivery> for DeliveryJson {
    fn from(delivery: B2cDelivery) -> DeliveryJson {
        match delivery {
            B2cDelivery::Print => DeliveryJson::Print {},
            B2cDelivery::Carrier(c) => DeliveryJson::Carrier { carrier_type: c.type_code().to_owned(), carrier_id: c.id().to_owned() },
            B2cDelivery::Donate(code) => DeliveryJson::Donate { donation_code: code.0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_two_carrier_types() {
        let m = Carrier::parse("3J0002", "/ABC+123").unwrap();
        assert_eq!((m.type_code(), m.id()), ("3J0002", "/ABC+123"));
        assert!(Carrier::parse("3J0002", "/A.B-C+1").is_ok());
        let c = Carrier::parse("CQ0001", "AB12345678901234").unwrap();
        assert_eq!((c.type_code(), c.id()), ("CQ0001", "AB12345678901234"));
    }

    #[test]
    fn rejects_malformed_carriers_naming_the_problem() {
        for bad in ["ABC+1234", "/ABC+12", "/ABC+1234", "/abc+123", "/ABC 123", "/ABC_123", "", "/ＡBC+123"] {
            assert_eq!(Carrier::parse("3J0002", bad), Err(CarrierError::MobileBarcode(bad.into())), "{bad:?}");
        }
        for bad in ["A12345678901234", "ab12345678901234", "AB1234567890123", "AB123456789012345", "1B12345678901234", "AB1234567890123X"] {
            assert_eq!(Carrier::parse("CQ0001", bad), Err(CarrierError::CitizenCertificate(bad.into())), "{bad:?}");
        }
        assert_eq!(Carrier::parse("EJ0113", "123"), Err(CarrierError::UnknownType("EJ0113".into())));
        assert!(CarrierError::MobileBarcode("x".into()).to_string().contains("mobile barcode"));
    }

    #[test]
    fn donation_codes_are_3_to_7_digits() {
        for ok in ["168", "8585", "5200000"] {
            assert_eq!(DonationCode::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "12", "12345678", "12a", " 168", "１６８"] {
            assert_eq!(DonationCode::parse(bad), Err(CarrierError::DonationCode(bad.into())), "{bad:?}");
        }
    }

    #[test]
    fn mig_marks_follow_the_delivery() {
        let print = B2cDelivery::Print;
        assert_eq!((print.print_mark(), print.donate_mark(), print.carrier_type(), print.carrier_id(), print.npoban()), ("Y", "0", None, None, None));
        let carrier = B2cDelivery::Carrier(Carrier::parse("3J0002", "/ABC+123").unwrap());
        assert_eq!(
            (carrier.print_mark(), carrier.donate_mark(), carrier.carrier_type(), carrier.carrier_id(), carrier.npoban()),
            ("N", "0", Some("3J0002"), Some("/ABC+123"), None)
        );
        let donate = B2cDelivery::Donate(DonationCode::parse("168").unwrap());
        assert_eq!(
            (donate.print_mark(), donate.donate_mark(), donate.carrier_type(), donate.carrier_id(), donate.npoban()),
            ("N", "1", None, None, Some("168"))
        );
    }

    #[test]
    fn delivery_json_round_trips_and_validates() {
        let cases = [
            (B2cDelivery::Print, r#"{"kind":"print"}"#),
            (B2cDelivery::Carrier(Carrier::parse("3J0002", "/ABC+123").unwrap()), r#"{"kind":"carrier","carrier_type":"3J0002","carrier_id":"/ABC+123"}"#),
            (B2cDelivery::Donate(DonationCode::parse("168").unwrap()), r#"{"kind":"donate","donation_code":"168"}"#),
        ];
        for (value, json) in cases {
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
            assert_eq!(serde_json::from_str::<B2cDelivery>(json).unwrap(), value);
        }
        let err = serde_json::from_str::<B2cDelivery>(r#"{"kind":"carrier","carrier_type":"3J0002","carrier_id":"/abc+123"}"#).unwrap_err();
        assert!(err.to_string().contains("mobile barcode"), "{err}");
        assert!(serde_json::from_str::<B2cDelivery>(r#"{"kind":"donate","donation_code":"12"}"#).is_err());
        assert!(serde_json::from_str::<B2cDelivery>(r#"{"kind":"print","carrier_id":"/ABC+123"}"#).is_err());
        assert!(serde_json::from_str::<B2cDelivery>(r#"{"kind":"email"}"#).is_err());
        assert!(serde_json::from_str::<B2cDelivery>(r#"{}"#).is_err());
    }

    proptest! {
        #[test]
        fn valid_mobile_barcodes_parse_and_keep_their_text(id in "/[0-9A-Z.+-]{7}") {
            let c = Carrier::parse("3J0002", &id).unwrap();
            prop_assert_eq!(c.id(), id.as_str());
        }

        #[test]
        fn never_panics(kind in "\\PC{0,8}", id in "\\PC{0,20}") {
            let _ = Carrier::parse(&kind, &id);
            let _ = Carrier::parse("3J0002", &id);
            let _ = Carrier::parse("CQ0001", &id);
            let _ = DonationCode::parse(&id);
        }
    }
}
