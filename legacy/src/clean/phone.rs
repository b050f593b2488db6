//! Phone numbers as clerks typed them, to one canonical form for matching and for the new system.
//!
//! The canonical form is E.164 with an RFC 3966 extension: `+886223456789`, `+886912345678`,
//! `+886223456789;ext=123`. The rules, in order:
//! 1. full-width characters (`０９１２`, `（０２）`, `－`, `＃`) become their ASCII forms, dashes of
//!    every kind `-`, the ideographic space a space;
//! 2. an extension starts at the first `#`, `轉`, `分機`, `ext` or `x` after a digit and is 1 to 6
//!    digits (`02-2345-6789#123`, `(02)2345-6789 轉 12`);
//! 3. spaces, `-`, `(`, `)`, `.` and `/` are dropped; a leading `+886`, `00886` or `886` (with an
//!    optional `(0)` after it) is Taiwan's country code and becomes the trunk `0`;
//! 4. what is left must be digits: `09` and 8 more is a mobile; `02` and 8 more a Taipei landline;
//!    another area code (`03` … `08`, `037`, `049`, `082`, `089`, `0826`, `0836`) with 9 or 10
//!    digits in all a landline elsewhere; 8 digits without an area code (`2345 6789`) a local
//!    number of Taipei and New Taipei (area code 02, where the distributor works), first digit 2
//!    to 8.
//!
//! Anything else is rejected with a [`PhoneReject`] naming why (a stable code for reports).

/// Mobile or fixed line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    /// A mobile number (`09…`).
    Mobile,
    /// A fixed line with its area code.
    Landline,
}

/// A phone number in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone {
    /// E.164: `+886` and the national number without its trunk `0` (`+886223456789`).
    pub number: String,
    /// The extension's digits, if any.
    pub extension: Option<String>,
    /// Mobile or fixed line.
    pub kind: PhoneKind,
}

impl Phone {
    /// `+886223456789` or `+886223456789;ext=123`: the key that duplicate detection compares.
    pub fn canonical(&self) -> String {
        match &self.extension {
            Some(ext) => format!("{};ext={ext}", self.number),
            None => self.number.clone(),
        }
    }
}

/// Why a typed phone number has no canonical form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneReject {
    /// Nothing typed.
    #[error("no phone number")]
    Empty,
    /// A character that has no place in a phone number (`無`, a letter).
    #[error("{0:?} has no place in a phone number")]
    Character(char),
    /// The wrong number of digits for its kind.
    #[error("{digits} digits is not a Taiwanese phone number")]
    Length {
        /// The digits counted (with the trunk `0`).
        digits: usize,
    },
    /// A country code other than Taiwan's, or an unknown prefix.
    #[error("unknown prefix {0:?}")]
    Prefix(String),
    /// An extension that is not 1 to 6 digits.
    #[error("extension {0:?} is not 1 to 6 digits")]
    Extension(String),
}

impl PhoneReject {
    /// A stable code for import reports.
    pub fn code(&self) -> &'static str {
        match self {
            PhoneReject::Empty => "phone.empty",
            PhoneReject::Character(_) => "phone.character",
            PhoneReject::Length { .. } => "phone.length",
            PhoneReject::Prefix(_) => "phone.prefix",
            PhoneReject::Extension(_) => "phone.extension",
        }
    }
}

/// The full-width forms of ASCII as ASCII, dashes as `-`, the ideographic space as a space.
fn fold(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => '-',
        _ => c,
    }
}

/// Area codes other than 02 and 09, longest first so that `037` wins over `03`.
const AREA_CODES: [&str; 13] = ["0826", "0836", "037", "049", "082", "089", "03", "04", "05", "06", "07", "08", "02"];

/// Normalises a phone number as typed (see the module docs).
pub fn normalize_phone(raw: &str) -> Result<Phone, PhoneReject> {
    let text: String = raw.chars().map(fold).collect::<String>().to_ascii_lowercase();
    let text = text.trim();
    if text.is_empty() {
        return Err(PhoneReject::Empty);
    }
    let (number, extension) = split_extension(text)?;
    let mut digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '/')).collect();
    for prefix in ["+886", "00886", "886"] {
        if let Some(rest) = digits.strip_prefix(prefix) {
            if prefix == "886" && !(9..=10).contains(&rest.len()) {
                break;
            }
            digits = if rest.starts_with('0') { rest.to_owned() } else { format!("0{rest}") };
            break;
        }
    }
    if let Some(c) = digits.chars().find(|c| !c.is_ascii_digit()) {
        return Err(if c == '+' { PhoneReject::Prefix(digits.chars().take(4).collect()) } else { PhoneReject::Character(c) });
    }
    let len = digits.len();
    let national = if let Some(mobile) = digits.strip_prefix('0').filter(|d| d.starts_with('9')) {
        if len != 10 {
            return Err(PhoneReject::Length { digits: len });
        }
        return Ok(Phone { number: format!("+886{mobile}"), extension, kind: PhoneKind::Mobile });
    } else if let Some(national) = digits.strip_prefix('0') {
        let Some(area) = AREA_CODES.iter().find(|a| digits.starts_with(*a)) else {
            return Err(PhoneReject::Prefix(digits.chars().take(3).collect()));
        };
        let ok = if *area == "02" { len == 10 } else { (9..=10).contains(&len) };
        if !ok {
            return Err(PhoneReject::Length { digits: len });
        }
        national.to_owned()
    } else if len == 8 && matches!(digits.as_bytes()[0], b'2'..=b'8') {
        format!("2{digits}")
    } else {
        return Err(PhoneReject::Length { digits: len });
    };
    Ok(Phone { number: format!("+886{national}"), extension, kind: PhoneKind::Landline })
}

/// The number part and the extension's digits.
fn split_extension(text: &str) -> Result<(&str, Option<String>), PhoneReject> {
    let first_digit = text.find(|c: char| c.is_ascii_digit()).unwrap_or(text.len());
    let marker = ["#", "轉", "分機", "ext", "x"].iter().filter_map(|m| text[first_digit..].find(m).map(|i| (first_digit + i, m.len()))).min();
    let Some((at, len)) = marker else { return Ok((text, None)) };
    let ext = text[at + len..].trim_matches(|c: char| c == ' ' || c == '.' || c == ':');
    if (1..=6).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_digit()) {
        Ok((&text[..at], Some(ext.to_owned())))
    } else {
        Err(PhoneReject::Extension(ext.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(raw: &str) -> String {
        normalize_phone(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}")).canonical()
    }

    #[test]
    fn every_way_of_typing_a_taipei_landline_is_one_number() {
        for raw in [
            "(02)2345-6789",
            "02-2345-6789",
            "02 2345 6789",
            "0223456789",
            "2345 6789",
            "2345-6789",
            "23456789",
            "（０２）２３４５－６７８９",
            "+886-2-2345-6789",
            "+886 (0)2 2345 6789",
            "886223456789",
            " 02.2345.6789 ",
        ] {
            assert_eq!(canonical(raw), "+886223456789", "{raw:?}");
        }
        assert_eq!(normalize_phone("02-2345-6789").unwrap().kind, PhoneKind::Landline);
    }

    #[test]
    fn mobiles_in_any_format() {
        for raw in ["0912-345-678", "0912345678", "0912 345 678", "+886 912 345 678", "+886912345678", "０９１２３４５６７８", "0912‐345‐678"] {
            assert_eq!(canonical(raw), "+886912345678", "{raw:?}");
        }
        assert_eq!(normalize_phone("0912345678").unwrap().kind, PhoneKind::Mobile);
    }

    #[test]
    fn extensions_after_hash_zhuan_or_ext() {
        for raw in ["02-2345-6789#123", "(02)2345-6789 轉 123", "02-2345-6789 分機123", "02-2345-6789 ext. 123", "0223456789x123", "02-2345-6789＃１２３"]
        {
            assert_eq!(canonical(raw), "+886223456789;ext=123", "{raw:?}");
        }
        assert_eq!(normalize_phone("02-2345-6789#"), Err(PhoneReject::Extension(String::new())));
        assert_eq!(normalize_phone("02-2345-6789#12a"), Err(PhoneReject::Extension("12a".into())));
    }

    #[test]
    fn landlines_outside_taipei_keep_their_area_code() {
        assert_eq!(canonical("(03)425-1234"), "+88634251234");
        assert_eq!(canonical("037-123456"), "+88637123456");
        assert_eq!(canonical("04-2345-6789"), "+886423456789");
        assert_eq!(canonical("(049)223-4567"), "+886492234567");
    }

    #[test]
    fn rejects_what_is_not_a_number_with_a_reason() {
        assert_eq!(normalize_phone(""), Err(PhoneReject::Empty));
        assert_eq!(normalize_phone("  "), Err(PhoneReject::Empty));
        assert_eq!(normalize_phone("無"), Err(PhoneReject::Character('無')));
        assert_eq!(normalize_phone("0912-345-67"), Err(PhoneReject::Length { digits: 9 }));
        assert_eq!(normalize_phone("2345-678"), Err(PhoneReject::Length { digits: 7 }));
        assert_eq!(normalize_phone("02-2345-678"), Err(PhoneReject::Length { digits: 9 }));
        assert_eq!(normalize_phone("+1 415 555 0100"), Err(PhoneReject::Prefix("+141".into())));
        assert_eq!(normalize_phone("0012345678"), Err(PhoneReject::Prefix("001".into())));
        assert_eq!(normalize_phone("12345678"), Err(PhoneReject::Length { digits: 8 }));
        for reject in [
            PhoneReject::Empty,
            PhoneReject::Character('a'),
            PhoneReject::Length { digits: 1 },
            PhoneReject::Prefix(String::new()),
            PhoneReject::Extension(String::new()),
        ] {
            assert!(reject.code().starts_with("phone."));
        }
    }
}
