//! Field checks shared by the messages. Each returns the [`MigError`] that names the field.

use super::{MigError, MigLimits, Party, B2C_BUYER_IDENTIFIER};
use crate::money::Ntd;
use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};

/// A text the XML can carry: not blank when required, at most `max` characters, no character
/// XML 1.0 forbids (controls other than tab, LF, CR; U+FFFE, U+FFFF).
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<(), MigError> {
    if value.trim().is_empty() {
        return Err(MigError::Missing { field: field.to_owned() });
    }
    let len = value.chars().count();
    if len > max {
        return Err(MigError::TooLong { field: field.to_owned(), max, actual: len });
    }
    if let Some(ch) = value.chars().find(|&c| !xml_char(c)) {
        return Err(MigError::Character { field: field.to_owned(), ch });
    }
    Ok(())
}

/// [`text`] when present; an optional element that is present must not be blank either.
pub(crate) fn opt_text(field: &str, value: Option<&str>, max: usize) -> Result<(), MigError> {
    value.map_or(Ok(()), |v| text(field, v, max))
}

fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Exactly `len` ASCII digits.
pub(crate) fn digits(field: &str, value: &str, len: usize, expected: &'static str) -> Result<(), MigError> {
    if value.len() == len && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(MigError::Format { field: field.to_owned(), expected, value: value.to_owned() })
    }
}

/// A 統一編號: 8 digits (the checksum is `ban`'s business, not the MIG's).
pub(crate) fn ban(field: &str, value: &str) -> Result<(), MigError> {
    digits(field, value, 8, "a 統一編號 of 8 digits")
}

/// A buyer identifier: a 統一編號, or `0000000000` for a consumer.
pub(crate) fn buyer_id(field: &str, value: &str) -> Result<(), MigError> {
    if value == B2C_BUYER_IDENTIFIER {
        return Ok(());
    }
    digits(field, value, 8, "a 統一編號 of 8 digits or 0000000000 (B2C)")
}

/// An invoice number: two upper-case ASCII letters and 8 digits (`FN53067850`).
pub(crate) fn invoice_number(field: &str, value: &str) -> Result<(), MigError> {
    let b = value.as_bytes();
    if b.len() == 10 && b[..2].iter().all(u8::is_ascii_uppercase) && b[2..].iter().all(u8::is_ascii_digit) {
        Ok(())
    } else {
        Err(MigError::Format { field: field.to_owned(), expected: "two upper-case letters and 8 digits", value: value.to_owned() })
    }
}

/// A date the MIG's `DateType` can carry (YYYYMMDD, years 1911..=9999).
pub(crate) fn date(field: &str, value: NaiveDate) -> Result<(), MigError> {
    if (1911..=9999).contains(&value.year()) {
        Ok(())
    } else {
        Err(MigError::Range { field: field.to_owned(), min: 1911, max: 9999, value: i64::from(value.year()) })
    }
}

/// `DateType`: `YYYYMMDD`.
pub(crate) fn fmt_date(value: NaiveDate) -> String {
    value.format("%Y%m%d").to_string()
}

/// `TimeType`: `HH:MM:SS` (fractions of a second dropped; a leap second is written as :59).
pub(crate) fn fmt_time(value: NaiveTime) -> String {
    format!("{:02}:{:02}:{:02}", value.hour(), value.minute(), value.second().min(59))
}

/// An amount ≥ 0.
pub(crate) fn amount(field: &str, value: Ntd) -> Result<(), MigError> {
    if value.dollars() < 0 {
        Err(MigError::Negative { field: field.to_owned(), value })
    } else {
        Ok(())
    }
}

/// `count` within `min..=max`.
pub(crate) fn count(field: &str, count: usize, min: usize, max: usize) -> Result<(), MigError> {
    if (min..=max).contains(&count) {
        Ok(())
    } else {
        Err(MigError::Count { field: field.to_owned(), min, max, count })
    }
}

/// `actual == expected`, else a [`MigError::Mismatch`].
pub(crate) fn equal(field: &str, expected: Ntd, actual: Ntd, rule: &'static str) -> Result<(), MigError> {
    if expected == actual {
        Ok(())
    } else {
        Err(MigError::Mismatch { field: field.to_owned(), expected: expected.dollars().to_string(), actual: actual.dollars().to_string(), rule })
    }
}

/// A checked sum, or [`MigError::Overflow`] naming `field`.
pub(crate) fn sum(field: &str, amounts: impl IntoIterator<Item = Ntd>) -> Result<Ntd, MigError> {
    Ntd::sum(amounts).map_err(|_| MigError::Overflow { field: field.to_owned() })
}

/// A seller or buyer: identifier, name, and the optional texts within their limits.
pub(crate) fn party(path: &str, p: &Party, seller: bool, limits: &MigLimits) -> Result<(), MigError> {
    let f = |name: &str| format!("{path}/{name}");
    if seller {
        ban(&f("Identifier"), &p.identifier)?;
    } else {
        buyer_id(&f("Identifier"), &p.identifier)?;
    }
    text(&f("Name"), &p.name, limits.name)?;
    if seller && p.address.is_none() {
        return Err(MigError::Missing { field: f("Address") });
    }
    opt_text(&f("Address"), p.address.as_deref(), limits.address)?;
    opt_text(&f("PersonInCharge"), p.person_in_charge.as_deref(), limits.person_in_charge)?;
    opt_text(&f("TelephoneNumber"), p.telephone_number.as_deref(), limits.telephone)?;
    opt_text(&f("FacsimileNumber"), p.facsimile_number.as_deref(), limits.telephone)?;
    opt_text(&f("EmailAddress"), p.email_address.as_deref(), limits.email)?;
    opt_text(&f("CustomerNumber"), p.customer_number.as_deref(), limits.customer_number)?;
    opt_text(&f("RoleRemark"), p.role_remark.as_deref(), limits.role_remark)?;
    Ok(())
}

/// Writes a `RoleDescriptionType` element in the MIG's order. `with_role_remark`: G0401's parties
/// have no `RoleRemark` in the published tree.
pub(crate) fn write_party(w: &mut super::xml::XmlWriter, name: &'static str, p: &Party, with_role_remark: bool) {
    w.open(name);
    w.leaf("Identifier", &p.identifier);
    w.leaf("Name", &p.name);
    w.opt_leaf("Address", p.address.as_deref());
    w.opt_leaf("PersonInCharge", p.person_in_charge.as_deref());
    w.opt_leaf("TelephoneNumber", p.telephone_number.as_deref());
    w.opt_leaf("FacsimileNumber", p.facsimile_number.as_deref());
    w.opt_leaf("EmailAddress", p.email_address.as_deref());
    w.opt_leaf("CustomerNumber", p.customer_number.as_deref());
    if with_role_remark {
        w.opt_leaf("RoleRemark", p.role_remark.as_deref());
    }
    w.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert!(text("f", "瓦斯", 2).is_ok());
        assert_eq!(text("f", "瓦斯桶", 2), Err(MigError::TooLong { field: "f".into(), max: 2, actual: 3 }));
        assert_eq!(text("f", "  ", 2), Err(MigError::Missing { field: "f".into() }));
        assert_eq!(text("f", "a\u{1}", 9), Err(MigError::Character { field: "f".into(), ch: '\u{1}' }));
    }

    #[test]
    fn identifiers() {
        assert!(invoice_number("n", "FN53067850").is_ok());
        assert!(invoice_number("n", "fN53067850").is_err());
        assert!(invoice_number("n", "FN5306785").is_err());
        assert!(invoice_number("n", "ＦN53067850").is_err());
        assert!(buyer_id("b", "0000000000").is_ok());
        assert!(buyer_id("b", "000000000").is_err());
        assert!(ban("s", "0000000000").is_err());
        assert!(ban("s", "1234567a").is_err());
    }

    #[test]
    fn times() {
        let t = NaiveTime::from_hms_milli_opt(9, 5, 7, 999).unwrap();
        assert_eq!(fmt_time(t), "09:05:07");
        assert_eq!(fmt_date(NaiveDate::from_ymd_opt(2025, 1, 9).unwrap()), "20250109");
    }
}
