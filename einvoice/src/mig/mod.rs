//! MIG 4.1 messages (電子發票資料交換標準訊息建置指引 Message Implementation Guideline 4.1) and
//! their XML writer.
//!
//! Each message is a plain struct that the service fills in; [`MigMessage::to_xml`] checks every
//! published limit that this crate knows of and writes UTF-8 XML in the MIG's element order, with
//! the message's own default namespace `urn:GEINV:eInvoiceMessage:<type>:4.1`.
//!
//! | type  | root element                  | what (zh)                      | Rust type          |
//! |-------|-------------------------------|--------------------------------|--------------------|
//! | F0401 | `Invoice`                     | 平台存證開立發票 (issue)        | [`Invoice`]        |
//! | F0501 | `CancelInvoice`               | 平台存證作廢發票 (void, 作廢)   | [`CancelInvoice`]  |
//! | F0701 | `VoidInvoice`                 | 平台存證註銷發票 (cancel, 註銷) | [`VoidInvoice`]    |
//! | G0401 | `Allowance`                   | 平台存證開立折讓證明單          | [`Allowance`]      |
//! | G0501 | `CancelAllowance`             | 平台存證作廢折讓證明單          | [`CancelAllowance`]|
//! | E0402 | `BranchTrackBlank`            | 空白未使用字軌 (blank numbers)  | [`BranchTrackBlank`]|
//!
//! Note the naming trap: the MIG calls 作廢 (void within the period) *Cancel* (F0501
//! `CancelInvoice`) and 註銷 (withdraw an uploaded invoice so that the same number can be issued
//! again) *Void* (F0701 `VoidInvoice`). The Rust types keep the MIG's root names.
//!
//! # Sources
//! - Ministry of Finance (財政部), *電子發票資料交換標準訊息建置指引 (MIG) 4.1* — the message
//!   trees, element order and lengths. The official PDF was not reachable from this workplace; the
//!   trees were taken from public transcriptions of it: `latte1855/turnbridge`
//!   `docs/turnkey/mig41/{F0401,F0501,F0701,G0401,G0501,E0402}.md` (GitHub), checked against
//!   public XML writers that upload through Turnkey (e.g. `ho600-ltd/django-taiwan-einvoice`).
//! - `/work/shared/DOMAIN.md`, "Taiwan e-invoice": B2C buyer `0000000000`, carriers, donation
//!   codes, B2B/B2C amount rules, `AllowanceType` 2 since 2025-01-01.
//!
//! Lengths that could not be read from the official text are *unverified*; they live in
//! [`MigLimits`] with conservative defaults (the MIG 3.2 values where MIG 4.x may allow more), so
//! a deployment can change them without a code change.

mod allowance;
mod blank;
mod check;
mod invoice;
mod void;
mod xml;

pub use allowance::{Allowance, AllowanceItem, AllowanceType, CancelAllowance};
pub use blank::{BlankRange, BranchTrackBlank};
pub use invoice::{Carrier, Invoice, InvoiceAmount, ProductItem};
pub use void::{CancelInvoice, VoidInvoice};

use crate::money::Ntd;
use std::fmt;

/// The MIG version written into every namespace.
pub const MIG_VERSION: &str = "4.1";

/// The buyer identifier of a B2C invoice (a consumer has no 統一編號).
pub const B2C_BUYER_IDENTIFIER: &str = "0000000000";

/// The most product items one message may carry (`ProductItem` 1..=9999).
pub const MAX_ITEMS: usize = 9_999;

/// The MIG message types this module writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    /// F0401: issue an invoice (平台存證開立發票).
    F0401,
    /// F0501: void an invoice (平台存證作廢發票, 作廢).
    F0501,
    /// F0701: cancel an uploaded invoice (平台存證註銷發票, 註銷).
    F0701,
    /// G0401: issue an allowance (平台存證開立折讓證明單).
    G0401,
    /// G0501: void an allowance (平台存證作廢折讓證明單).
    G0501,
    /// E0402: blank, unused invoice numbers of a period (空白未使用字軌).
    E0402,
}

impl MessageType {
    /// Every type, in the order above.
    pub const ALL: [MessageType; 6] = [MessageType::F0401, MessageType::F0501, MessageType::F0701, MessageType::G0401, MessageType::G0501, MessageType::E0402];

    /// `"F0401"`, …
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::F0401 => "F0401",
            MessageType::F0501 => "F0501",
            MessageType::F0701 => "F0701",
            MessageType::G0401 => "G0401",
            MessageType::G0501 => "G0501",
            MessageType::E0402 => "E0402",
        }
    }

    /// The type named `s` (exact, upper case), if this module knows it.
    pub fn parse(s: &str) -> Option<MessageType> {
        MessageType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The root element the MIG gives this message.
    pub fn root_element(self) -> &'static str {
        match self {
            MessageType::F0401 => "Invoice",
            MessageType::F0501 => "CancelInvoice",
            MessageType::F0701 => "VoidInvoice",
            MessageType::G0401 => "Allowance",
            MessageType::G0501 => "CancelAllowance",
            MessageType::E0402 => "BranchTrackBlank",
        }
    }

    /// The message's default namespace, `urn:GEINV:eInvoiceMessage:F0401:4.1`.
    pub fn namespace(self) -> String {
        format!("urn:GEINV:eInvoiceMessage:{}:{MIG_VERSION}", self.as_str())
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A MIG message that can be written as XML.
pub trait MigMessage {
    /// Which message this is.
    fn message_type(&self) -> MessageType;

    /// Checks every limit against `limits` without writing anything.
    fn validate_with(&self, limits: &MigLimits) -> Result<(), MigError>;

    /// Checks every limit against `limits` and writes the UTF-8 XML document.
    fn to_xml_with(&self, limits: &MigLimits) -> Result<String, MigError>;

    /// The key that names this message in file names: the invoice or allowance number, or for
    /// E0402 `<BranchBan>_<YearMonth>_<InvoiceTrack>`.
    fn file_key(&self) -> String;

    /// Checks every limit against the default [`MigLimits`].
    fn validate(&self) -> Result<(), MigError> {
        self.validate_with(&MigLimits::default())
    }

    /// Checks every limit against the default [`MigLimits`] and writes the UTF-8 XML document.
    fn to_xml(&self) -> Result<String, MigError> {
        self.to_xml_with(&MigLimits::default())
    }

    /// A file name for this message in Turnkey's outbox: `F0401_FN53067850_001.xml`.
    ///
    /// `revision` tells apart messages of the same type for the same key (an invoice issued,
    /// cancelled with F0701 and issued again under the same number is two F0401 messages); the
    /// caller keeps it, starting at 1. Characters of the key other than ASCII letters, digits and
    /// `_` are replaced by `_`, so the name never leaves its folder. Turnkey picks up any `*.xml` name in a `SRC` folder and
    /// keeps the name in its `BAK` copies, so names should never repeat; public integrations use
    /// free-form names (`{routing}_{type}_{version}_{number}.xml` in
    /// `ho600-ltd/django-taiwan-einvoice` `turnkey_wrapper/models.py`). That Turnkey imposes no
    /// naming rule of its own is *unverified*.
    fn suggested_file_name(&self, revision: u32) -> String {
        let key: String = self.file_key().chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
        format!("{}_{}_{:03}.xml", self.message_type(), key, revision)
    }
}

/// Length limits of free-text fields, in characters (Unicode scalar values).
///
/// The defaults are the MIG 3.2 values as published in the public transcriptions of MIG 4.1
/// cited in the module docs; where MIG 4.x is said to allow more (e.g. 500-character
/// descriptions) the smaller, safe value is kept. All values are *unverified* against the official
/// PDF; whether Turnkey counts characters or UTF-16 units is *unverified* too (for the CJK text of
/// this product both counts agree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigLimits {
    /// `Seller/Name`, `Buyer/Name`.
    pub name: usize,
    /// `Address`.
    pub address: usize,
    /// `PersonInCharge`.
    pub person_in_charge: usize,
    /// `TelephoneNumber`, `FacsimileNumber`.
    pub telephone: usize,
    /// `EmailAddress`.
    pub email: usize,
    /// `CustomerNumber`.
    pub customer_number: usize,
    /// `RoleRemark`.
    pub role_remark: usize,
    /// `ProductItem/Description`, `ProductItem/OriginalDescription`.
    pub description: usize,
    /// `ProductItem/Unit`.
    pub unit: usize,
    /// `ProductItem/Remark`.
    pub item_remark: usize,
    /// `Main/MainRemark` and the `Remark` of F0501/F0701/G0501.
    pub remark: usize,
    /// `RelateNumber`.
    pub relate_number: usize,
    /// `CancelReason`, `VoidReason`.
    pub reason: usize,
    /// `ReturnTaxDocumentNumber` (專案作廢核准文號).
    pub return_tax_document_number: usize,
    /// `CarrierId1`, `CarrierId2`.
    pub carrier_id: usize,
    /// `AllowanceNumber`.
    pub allowance_number: usize,
}

impl Default for MigLimits {
    fn default() -> Self {
        MigLimits {
            name: 60,
            address: 100,
            person_in_charge: 30,
            telephone: 26,
            email: 80,
            customer_number: 20,
            role_remark: 40,
            description: 256,
            unit: 6,
            item_remark: 40,
            remark: 200,
            relate_number: 20,
            reason: 20,
            return_tax_document_number: 60,
            carrier_id: 64,
            allowance_number: 16,
        }
    }
}

/// A seller or buyer (`RoleDescriptionType`): `Identifier` is the 統一編號 (8 digits), or for a
/// B2C buyer [`B2C_BUYER_IDENTIFIER`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Party {
    /// `Identifier`.
    pub identifier: String,
    /// `Name` (required by the MIG, also for a B2C buyer).
    pub name: String,
    /// `Address` (required for the seller).
    pub address: Option<String>,
    /// `PersonInCharge`.
    pub person_in_charge: Option<String>,
    /// `TelephoneNumber`.
    pub telephone_number: Option<String>,
    /// `FacsimileNumber`.
    pub facsimile_number: Option<String>,
    /// `EmailAddress`.
    pub email_address: Option<String>,
    /// `CustomerNumber`.
    pub customer_number: Option<String>,
    /// `RoleRemark`.
    pub role_remark: Option<String>,
}

impl Party {
    /// A party with only the required `Identifier` and `Name`.
    pub fn new(identifier: impl Into<String>, name: impl Into<String>) -> Party {
        Party { identifier: identifier.into(), name: name.into(), ..Party::default() }
    }

    /// Whether this is a B2C buyer (`Identifier` = `0000000000`).
    pub fn is_consumer(&self) -> bool {
        self.identifier == B2C_BUYER_IDENTIFIER
    }
}

/// 課稅別 (`TaxType`): 1 taxable, 2 zero-rated, 3 exempt, 4 special rate, 9 mixed (only in an
/// invoice's `Amount`, never on an item).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaxType {
    /// 1 應稅.
    Taxable,
    /// 2 零稅率.
    ZeroRated,
    /// 3 免稅.
    Exempt,
    /// 4 特種稅率.
    Special,
    /// 9 混合應稅與免稅或零稅率 (F0401 `Amount` only).
    Mixed,
}

impl TaxType {
    /// The MIG code, `"1"` … `"9"`.
    pub fn code(self) -> &'static str {
        match self {
            TaxType::Taxable => "1",
            TaxType::ZeroRated => "2",
            TaxType::Exempt => "3",
            TaxType::Special => "4",
            TaxType::Mixed => "9",
        }
    }
}

/// 發票類別 (`InvoiceType`): 07 general (一般稅額), 08 special (特種稅額).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InvoiceType {
    /// 07 一般稅額計算之電子發票.
    #[default]
    General,
    /// 08 特種稅額計算之電子發票.
    Special,
}

impl InvoiceType {
    /// `"07"` or `"08"`.
    pub fn code(self) -> &'static str {
        match self {
            InvoiceType::General => "07",
            InvoiceType::Special => "08",
        }
    }
}

/// A message breaks a MIG limit. `field` is the MIG path of the element (`Main/Buyer/Identifier`,
/// `Details/ProductItem[2]/Amount`, 1-based indices).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MigError {
    /// A required element is empty or absent.
    #[error("{field}: required")]
    Missing {
        /// The element.
        field: String,
    },
    /// A text is longer than its limit.
    #[error("{field}: {actual} characters, at most {max} allowed")]
    TooLong {
        /// The element.
        field: String,
        /// The limit.
        max: usize,
        /// The text's length.
        actual: usize,
    },
    /// A value does not have its required form.
    #[error("{field}: {value:?} is not {expected}")]
    Format {
        /// The element.
        field: String,
        /// The form required, in words.
        expected: &'static str,
        /// The value given.
        value: String,
    },
    /// A text holds a character XML 1.0 cannot carry (a control character).
    #[error("{field}: character U+{:04X} is not allowed in XML", *.ch as u32)]
    Character {
        /// The element.
        field: String,
        /// The character.
        ch: char,
    },
    /// An amount is negative; MIG amounts are ≥ 0.
    #[error("{field}: {value} is negative, amounts must be >= 0")]
    Negative {
        /// The element.
        field: String,
        /// The amount.
        value: Ntd,
    },
    /// A list has too few or too many entries.
    #[error("{field}: {count} entries, allowed {min}..={max}")]
    Count {
        /// The list element.
        field: String,
        /// Fewest allowed.
        min: usize,
        /// Most allowed.
        max: usize,
        /// Entries given.
        count: usize,
    },
    /// A number is outside its range.
    #[error("{field}: {value} is outside {min}..={max}")]
    Range {
        /// The element.
        field: String,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
        /// The value.
        value: i64,
    },
    /// A value must equal one computed from others (totals, tax rate).
    #[error("{field}: {actual}, expected {expected} ({rule})")]
    Mismatch {
        /// The element.
        field: String,
        /// The value computed.
        expected: String,
        /// The value given.
        actual: String,
        /// The rule, in words.
        rule: &'static str,
    },
    /// A value repeats where it must be unique.
    #[error("{field}: {value} appears more than once")]
    Duplicate {
        /// The element.
        field: String,
        /// The repeated value.
        value: String,
    },
    /// A rule between fields is broken.
    #[error("{field}: {rule}")]
    Rule {
        /// The element.
        field: String,
        /// The rule, in words.
        rule: &'static str,
    },
    /// A sum does not fit in an `i64` of NT$.
    #[error("{field}: amount out of range")]
    Overflow {
        /// The element.
        field: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_and_roots() {
        assert_eq!(MessageType::F0401.namespace(), "urn:GEINV:eInvoiceMessage:F0401:4.1");
        assert_eq!(MessageType::F0701.root_element(), "VoidInvoice");
        assert_eq!(MessageType::F0501.root_element(), "CancelInvoice");
        for t in MessageType::ALL {
            assert_eq!(MessageType::parse(t.as_str()), Some(t));
        }
        assert_eq!(MessageType::parse("f0401"), None);
    }
}
