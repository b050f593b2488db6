//! Invoicing's plain types: prices, customers' invoice preferences, number blocks (字軌),
//! invoices with their items, allowances (折讓) and the MIG messages exchanged with Turnkey, and
//! the validation of what clients send. The rules of a valid e-invoice (統一編號, carriers,
//! donation codes, tax) live in the `einvoice` crate; this module applies them to API inputs.

use super::validation::{FieldError, FieldProblem};
use chrono::{DateTime, NaiveDate, Utc};
use einvoice::ban::Ban;
use einvoice::calendar::Period;
use einvoice::carrier::{B2cDelivery, Carrier, DonationCode};
use einvoice::number::Track;
use serde::{Deserialize, Serialize};

/// Cylinder sizes that can be priced, in kg of gas.
pub const CYLINDER_SIZES: &[u32] = &[2, 4, 10, 16, 18, 20, 50];

fn state(field: impl Into<String>, code: &'static str, zh: &'static str, en: &'static str) -> FieldError {
    FieldError::new(field, FieldProblem::State { code, zh, en })
}

/// How a price is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceBasis {
    /// Per cylinder.
    Cylinder,
    /// Per kg of gas (a cylinder of `n` kg costs `n` × the price).
    Kg,
}

impl PriceBasis {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceBasis::Cylinder => "cylinder",
            PriceBasis::Kg => "kg",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<PriceBasis> {
        match s {
            "cylinder" => Some(PriceBasis::Cylinder),
            "kg" => Some(PriceBasis::Kg),
            _ => None,
        }
    }
}

/// A price as sent by clients.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// The customer of a contract price; none for the list price.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// Cylinder size in kg of gas.
    #[serde(default)]
    pub cylinder_kg: Option<i64>,
    /// `cylinder` or `kg`.
    #[serde(default)]
    pub basis: Option<String>,
    /// Tax-inclusive NT$ per cylinder or per kg.
    #[serde(default)]
    pub unit_price: Option<i64>,
    /// Deposit (押金) per loaned cylinder, NT$; never part of a taxable sale.
    #[serde(default)]
    pub deposit: Option<i64>,
    /// First day it applies (`YYYY-MM-DD`).
    #[serde(default)]
    pub effective_from: Option<String>,
}

/// A validated price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NewPrice {
    /// Contract customer, or none for the list price.
    pub customer_id: Option<i64>,
    /// Cylinder size in kg.
    pub cylinder_kg: u32,
    /// Per cylinder or per kg.
    pub basis: PriceBasis,
    /// Tax-inclusive NT$.
    pub unit_price: i64,
    /// Deposit per loaned cylinder, NT$.
    pub deposit: i64,
    /// First day it applies.
    pub effective_from: NaiveDate,
}

/// A stored price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Price {
    /// Identifier.
    pub id: i64,
    /// The price.
    #[serde(flatten)]
    pub data: NewPrice,
    /// Who set it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl NewPrice {
    /// Tax-inclusive NT$ of one cylinder.
    pub fn per_cylinder(&self) -> Option<i64> {
        match self.basis {
            PriceBasis::Cylinder => Some(self.unit_price),
            PriceBasis::Kg => self.unit_price.checked_mul(i64::from(self.cylinder_kg)),
        }
    }
}

/// The largest unit price or deposit accepted (NT$ 10 million): far above any cylinder, far
/// below an overflow of invoice totals of 9,999 lines.
pub const MAX_PRICE: i64 = 10_000_000;

impl PriceInput {
    /// Validates every field.
    pub fn validate(self) -> Result<NewPrice, Vec<FieldError>> {
        let mut errors = Vec::new();
        let cylinder_kg = match self.cylinder_kg {
            Some(kg) if CYLINDER_SIZES.iter().any(|&s| i64::from(s) == kg) => u32::try_from(kg).unwrap_or(0),
            Some(_) => {
                errors.push(FieldError::new("cylinder_kg", FieldProblem::NotAllowed { allowed: &["2", "4", "10", "16", "18", "20", "50"] }));
                0
            }
            None => {
                errors.push(FieldError::new("cylinder_kg", FieldProblem::Required));
                0
            }
        };
        let basis = match self.basis.as_deref() {
            None => PriceBasis::Cylinder,
            Some(b) => PriceBasis::parse(b).unwrap_or_else(|| {
                errors.push(FieldError::new("basis", FieldProblem::NotAllowed { allowed: &["cylinder", "kg"] }));
                PriceBasis::Cylinder
            }),
        };
        let mut amount = |field: &'static str, value: Option<i64>, required: bool| match value {
            Some(v) if (0..=MAX_PRICE).contains(&v) => v,
            Some(_) => {
                errors.push(FieldError::new(field, FieldProblem::OutOfRange { min: 0.0, max: MAX_PRICE as f64 }));
                0
            }
            None if required => {
                errors.push(FieldError::new(field, FieldProblem::Required));
                0
            }
            None => 0,
        };
        let unit_price = amount("unit_price", self.unit_price, true);
        let deposit = amount("deposit", self.deposit, false);
        let effective_from = match self.effective_from.as_deref().map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d")) {
            Some(Ok(d)) => d,
            Some(Err(_)) => {
                errors.push(FieldError::new("effective_from", FieldProblem::Pattern { expected: "2026-12-01" }));
                NaiveDate::MIN
            }
            None => {
                errors.push(FieldError::new("effective_from", FieldProblem::Required));
                NaiveDate::MIN
            }
        };
        if errors.is_empty() {
            Ok(NewPrice { customer_id: self.customer_id, cylinder_kg, basis, unit_price, deposit, effective_from })
        } else {
            Err(errors)
        }
    }
}

/// A customer's invoice preferences as sent by clients.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    /// The buyer's 統一編號 (8 digits, passing the checksum): B2B invoices. None: B2C.
    #[serde(default)]
    pub buyer_ban: Option<String>,
    /// The buyer's name on B2B invoices (the customer's name when none).
    #[serde(default)]
    pub buyer_name: Option<String>,
    /// B2C only: `print`, `carrier` or `donate`.
    #[serde(default)]
    pub delivery: Option<String>,
    /// With `carrier`: `3J0002` (mobile barcode) or `CQ0001` (citizen certificate).
    #[serde(default)]
    pub carrier_type: Option<String>,
    /// With `carrier`: the carrier's id (`/ABC+123`).
    #[serde(default)]
    pub carrier_id: Option<String>,
    /// With `donate`: the donation code (愛心碼, 3–7 digits).
    #[serde(default)]
    pub donation_code: Option<String>,
}

/// How a customer's invoices are issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Buyer {
    /// A business: B2B invoices with its 統一編號.
    Business {
        /// 統一編號.
        ban: Ban,
        /// Name printed on the invoice (none: the customer's name).
        name: Option<String>,
    },
    /// A consumer: B2C invoices printed, on a carrier, or donated.
    Consumer(B2cDelivery),
}

/// Stored invoice preferences.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Preferences {
    /// The customer.
    pub customer_id: i64,
    /// 統一編號 for B2B invoices.
    pub buyer_ban: Option<String>,
    /// Buyer name for B2B invoices.
    pub buyer_name: Option<String>,
    /// `print`, `carrier` or `donate` (B2C).
    pub delivery: String,
    /// Carrier type code.
    pub carrier_type: Option<String>,
    /// Carrier id.
    pub carrier_id: Option<String>,
    /// Donation code (NPOBAN).
    pub donation_code: Option<String>,
    /// Who set them.
    pub updated_by: String,
    /// When.
    pub updated_at: DateTime<Utc>,
}

impl Preferences {
    /// The buyer these preferences describe (stored values were validated when written).
    pub fn buyer(&self) -> Option<Buyer> {
        if let Some(ban) = &self.buyer_ban {
            return Ban::parse(ban).ok().map(|ban| Buyer::Business { ban, name: self.buyer_name.clone() });
        }
        let delivery = match self.delivery.as_str() {
            "carrier" => B2cDelivery::Carrier(Carrier::parse(self.carrier_type.as_deref()?, self.carrier_id.as_deref()?).ok()?),
            "donate" => B2cDelivery::Donate(DonationCode::parse(self.donation_code.as_deref()?).ok()?),
            _ => B2cDelivery::Print,
        };
        Some(Buyer::Consumer(delivery))
    }
}

/// Validates a B2C delivery given as `delivery` + carrier or donation fields.
pub fn b2c_delivery(
    delivery: Option<&str>,
    carrier_type: Option<&str>,
    carrier_id: Option<&str>,
    donation_code: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> B2cDelivery {
    match delivery.unwrap_or("print") {
        "print" => {
            if carrier_type.is_some() || carrier_id.is_some() || donation_code.is_some() {
                errors.push(state(
                    "delivery",
                    "print_without_carrier",
                    "列印的發票不得指定載具或捐贈碼",
                    "a printed invoice takes no carrier or donation code",
                ));
            }
            B2cDelivery::Print
        }
        "carrier" => {
            if donation_code.is_some() {
                errors.push(state("donation_code", "carrier_or_donation", "發票捐贈時不得使用載具", "an invoice is either on a carrier or donated, not both"));
            }
            match (carrier_type, carrier_id) {
                (Some(t), Some(id)) => match Carrier::parse(t, id) {
                    Ok(c) => B2cDelivery::Carrier(c),
                    Err(e) => {
                        let (field, code, zh, en) = match e {
                            einvoice::carrier::CarrierError::UnknownType(_) => (
                                "carrier_type",
                                "unknown_carrier_type",
                                "載具類別須為 3J0002（手機條碼）或 CQ0001（自然人憑證）",
                                "carrier_type must be 3J0002 (mobile barcode) or CQ0001 (citizen certificate)",
                            ),
                            einvoice::carrier::CarrierError::MobileBarcode(_) => (
                                "carrier_id",
                                "invalid_mobile_barcode",
                                "手機條碼須為 / 加 7 碼（0-9、A-Z、.、+、-）",
                                "a mobile barcode is / and 7 characters of 0-9 A-Z . + -",
                            ),
                            einvoice::carrier::CarrierError::CitizenCertificate(_) => (
                                "carrier_id",
                                "invalid_citizen_certificate",
                                "自然人憑證條碼須為 2 個大寫英文字母加 14 位數字",
                                "a citizen certificate id is 2 upper-case letters and 14 digits",
                            ),
                            einvoice::carrier::CarrierError::DonationCode(_) => ("carrier_id", "invalid_carrier", "載具號碼錯誤", "invalid carrier id"),
                        };
                        errors.push(state(field, code, zh, en));
                        B2cDelivery::Print
                    }
                },
                (None, _) => {
                    errors.push(FieldError::new("carrier_type", FieldProblem::Required));
                    B2cDelivery::Print
                }
                (_, None) => {
                    errors.push(FieldError::new("carrier_id", FieldProblem::Required));
                    B2cDelivery::Print
                }
            }
        }
        "donate" => {
            if carrier_type.is_some() || carrier_id.is_some() {
                errors.push(state("carrier_id", "carrier_or_donation", "發票捐贈時不得使用載具", "an invoice is either on a carrier or donated, not both"));
            }
            match donation_code.map(DonationCode::parse) {
                Some(Ok(code)) => B2cDelivery::Donate(code),
                Some(Err(_)) => {
                    errors.push(state("donation_code", "invalid_donation_code", "捐贈碼（愛心碼）須為 3 至 7 位數字", "a donation code is 3 to 7 digits"));
                    B2cDelivery::Print
                }
                None => {
                    errors.push(FieldError::new("donation_code", FieldProblem::Required));
                    B2cDelivery::Print
                }
            }
        }
        _ => {
            errors.push(FieldError::new("delivery", FieldProblem::NotAllowed { allowed: &["print", "carrier", "donate"] }));
            B2cDelivery::Print
        }
    }
}

/// Validates a 統一編號 field.
pub fn ban_field(field: &str, value: &str, errors: &mut Vec<FieldError>) -> Option<Ban> {
    match Ban::parse(value.trim()) {
        Ok(ban) => Some(ban),
        Err(einvoice::ban::BanError::Checksum(_)) => {
            errors.push(state(field, "invalid_ban", "統一編號檢查碼錯誤", "the 統一編號 fails its checksum"));
            None
        }
        Err(_) => {
            errors.push(FieldError::new(field, FieldProblem::Pattern { expected: "04595252" }));
            None
        }
    }
}

impl PreferencesInput {
    /// Validates every field.
    pub fn validate(self) -> Result<Buyer, Vec<FieldError>> {
        let mut errors = Vec::new();
        let buyer = match self.buyer_ban.as_deref() {
            Some(ban) => {
                if self.delivery.is_some() || self.carrier_type.is_some() || self.carrier_id.is_some() || self.donation_code.is_some() {
                    errors.push(state(
                        "delivery",
                        "b2b_without_carrier",
                        "打統編的發票不得使用載具或捐贈",
                        "an invoice with a buyer 統一編號 takes no carrier or donation",
                    ));
                }
                if let Some(name) = &self.buyer_name {
                    if name.chars().count() > 60 {
                        errors.push(FieldError::new("buyer_name", FieldProblem::TooLong { max: 60 }));
                    }
                }
                ban_field("buyer_ban", ban, &mut errors).map(|ban| Buyer::Business { ban, name: self.buyer_name.clone().filter(|n| !n.trim().is_empty()) })
            }
            None => {
                if self.buyer_name.is_some() {
                    errors.push(state("buyer_name", "b2c_without_name", "未打統編的發票不印買方名稱", "a buyer name needs a buyer 統一編號"));
                }
                Some(Buyer::Consumer(b2c_delivery(
                    self.delivery.as_deref(),
                    self.carrier_type.as_deref(),
                    self.carrier_id.as_deref(),
                    self.donation_code.as_deref(),
                    &mut errors,
                )))
            }
        };
        match buyer {
            Some(b) if errors.is_empty() => Ok(b),
            _ => Err(errors),
        }
    }
}

/// A number block (字軌) as sent by clients.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberBlockInput {
    /// The two-month period, `YYYY-MM` of its first month (`2026-11`) or its ROC code (`11512`).
    #[serde(default)]
    pub period: Option<String>,
    /// The branch that uses it (empty: the only one).
    #[serde(default)]
    pub branch: Option<String>,
    /// Two upper-case letters (字軌).
    #[serde(default)]
    pub track: Option<String>,
    /// First number (8 digits, e.g. `53067850`).
    #[serde(default)]
    pub first: Option<String>,
    /// Last number, inclusive.
    #[serde(default)]
    pub last: Option<String>,
}

/// A validated number block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNumberBlock {
    /// The period.
    pub period: Period,
    /// The branch.
    pub branch: String,
    /// 字軌.
    pub track: Track,
    /// First number.
    pub first: u32,
    /// Last number.
    pub last: u32,
}

/// Parses a period given as `2026-11` or `11512`.
pub fn parse_period(text: &str) -> Option<Period> {
    text.parse::<Period>().ok().or_else(|| Period::parse_roc_code(text).ok())
}

impl NumberBlockInput {
    /// Validates every field. Blocks come in multiples of 50 numbers (the Ministry hands out
    /// tracks in booklets of 50), starting at a multiple of 50.
    pub fn validate(self) -> Result<NewNumberBlock, Vec<FieldError>> {
        let mut errors = Vec::new();
        let period = match self.period.as_deref().map(parse_period) {
            Some(Some(p)) => Some(p),
            Some(None) => {
                errors.push(FieldError::new("period", FieldProblem::Pattern { expected: "2026-11" }));
                None
            }
            None => {
                errors.push(FieldError::new("period", FieldProblem::Required));
                None
            }
        };
        let branch = self.branch.unwrap_or_default().trim().to_owned();
        if branch.chars().count() > 20 {
            errors.push(FieldError::new("branch", FieldProblem::TooLong { max: 20 }));
        }
        let track = match self.track.as_deref().map(Track::parse) {
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => {
                errors.push(FieldError::new("track", FieldProblem::Pattern { expected: "FN" }));
                None
            }
            None => {
                errors.push(FieldError::new("track", FieldProblem::Required));
                None
            }
        };
        let mut number = |field: &'static str, value: Option<&str>| -> Option<u32> {
            match value {
                Some(v) if v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()) => v.parse().ok(),
                Some(_) => {
                    errors.push(FieldError::new(field, FieldProblem::Pattern { expected: "53067850" }));
                    None
                }
                None => {
                    errors.push(FieldError::new(field, FieldProblem::Required));
                    None
                }
            }
        };
        let first = number("first", self.first.as_deref());
        let last = number("last", self.last.as_deref());
        if let (Some(f), Some(l)) = (first, last) {
            if f > l {
                errors.push(state("last", "block_order", "字軌迄號須大於或等於起號", "last must not be below first"));
            } else if f % 50 != 0 || (l + 1) % 50 != 0 {
                errors.push(state(
                    "first",
                    "block_booklets",
                    "字軌號碼以 50 號為一本：起號須為 50 的倍數，迄號加 1 亦同",
                    "blocks are whole booklets of 50: first a multiple of 50, last + 1 too",
                ));
            }
        }
        match (period, track, first, last) {
            (Some(period), Some(track), Some(first), Some(last)) if errors.is_empty() => Ok(NewNumberBlock { period, branch, track, first, last }),
            _ => Err(errors),
        }
    }
}

/// A stored number block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NumberBlock {
    /// Identifier.
    pub id: i64,
    /// Period (`2026-11`).
    pub period: String,
    /// Branch.
    pub branch: String,
    /// 字軌.
    pub track: String,
    /// First number (8 digits).
    pub first: String,
    /// Last number.
    pub last: String,
    /// The next number to use (none when used up).
    pub next: Option<String>,
    /// Numbers used.
    pub used: i64,
    /// Numbers left.
    pub remaining: i64,
    /// When the period was closed (unused numbers reported by E0402).
    pub closed_at: Option<DateTime<Utc>>,
    /// Who registered it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Where an invoice comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceSource {
    /// One delivered order.
    Delivery,
    /// A monthly-account customer's month of deliveries.
    Monthly,
    /// Issued by an accountant for orders they named.
    Manual,
}

impl InvoiceSource {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceSource::Delivery => "delivery",
            InvoiceSource::Monthly => "monthly",
            InvoiceSource::Manual => "manual",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<InvoiceSource> {
        match s {
            "delivery" => Some(InvoiceSource::Delivery),
            "monthly" => Some(InvoiceSource::Monthly),
            "manual" => Some(InvoiceSource::Manual),
            _ => None,
        }
    }
}

/// An invoice's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// In force.
    Issued,
    /// Voided (作廢, F0501).
    Voided,
}

impl InvoiceStatus {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::Voided => "voided",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<InvoiceStatus> {
        match s {
            "issued" => Some(InvoiceStatus::Issued),
            "voided" => Some(InvoiceStatus::Voided),
            _ => None,
        }
    }
}

/// One line of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InvoiceItem {
    /// 1-based sequence number.
    pub seq: i64,
    /// The delivered order it bills.
    pub order_id: Option<i64>,
    /// Description (`液化石油氣 20kg`).
    pub description: String,
    /// Quantity (`2`, `2.5`).
    pub quantity: String,
    /// Unit (`桶`, `kg`).
    pub unit: String,
    /// Tax-inclusive unit price, NT$.
    pub unit_price: i64,
    /// MIG tax type of the line (1 taxable, 2 zero-rated, 3 exempt).
    pub tax_type: i64,
    /// The line's amount on the invoice (tax-exclusive for B2B), NT$.
    pub amount: i64,
}

/// What Turnkey said of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MessageInfo {
    /// Identifier.
    pub id: i64,
    /// `F0401`, `F0501`, `F0701`, `G0401`, `G0501`, `E0402`.
    pub message_type: String,
    /// The invoice or allowance number (or period and track for E0402).
    pub reference: String,
    /// The file written into Turnkey's outbound folder.
    pub file_name: String,
    /// `pending`, `accepted`, `rejected` or `superseded` (re-sent).
    pub status: String,
    /// Turnkey's error code when rejected.
    pub error_code: Option<String>,
    /// Turnkey's error message when rejected.
    pub error_message: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it must be uploaded by (48 h B2C, 7 days B2B).
    pub deadline_at: DateTime<Utc>,
    /// When Turnkey's result arrived.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// An issued invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Invoice {
    /// Identifier.
    pub id: i64,
    /// Invoice number (`FN53067850`).
    pub number: String,
    /// Period (`2026-11`).
    pub period: String,
    /// Branch.
    pub branch: String,
    /// The customer billed.
    pub customer_id: i64,
    /// Where it comes from.
    pub source: InvoiceSource,
    /// The month a monthly invoice consolidates (`2026-12`).
    pub month: Option<String>,
    /// Buyer 統一編號 (`0000000000` for B2C).
    pub buyer_ban: String,
    /// Buyer name.
    pub buyer_name: String,
    /// Whether the buyer is a business.
    pub b2b: bool,
    /// `Y` when printed.
    pub print_mark: String,
    /// Carrier type.
    pub carrier_type: Option<String>,
    /// Carrier id.
    pub carrier_id: Option<String>,
    /// Donation code.
    pub npoban: Option<String>,
    /// Four-digit random code.
    pub random_code: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// SalesAmount.
    pub sales_amount: i64,
    /// FreeTaxSalesAmount.
    pub free_tax_sales_amount: i64,
    /// ZeroTaxSalesAmount.
    pub zero_tax_sales_amount: i64,
    /// Invoice-level tax type.
    pub tax_type: i64,
    /// TaxAmount.
    pub tax_amount: i64,
    /// TotalAmount.
    pub total_amount: i64,
    /// Sum of allowances in force (tax included).
    pub allowed_amount: i64,
    /// Paid: money of payments applied to it (cash at the door, bank deposits, credits).
    pub paid_amount: i64,
    /// Still owed: `total_amount − allowed_amount − paid_amount`, never negative (0 once voided).
    pub balance: i64,
    /// Issued or voided.
    pub status: InvoiceStatus,
    /// Why it was voided.
    pub status_reason: Option<String>,
    /// When it was voided.
    pub status_at: Option<DateTime<Utc>>,
    /// Who issued it (the job runner for deliveries).
    pub created_by: String,
    /// Its lines.
    pub items: Vec<InvoiceItem>,
    /// The delivered orders it bills (while in force).
    pub order_ids: Vec<i64>,
    /// The MIG messages written for it and what Turnkey said.
    pub messages: Vec<MessageInfo>,
}

/// An allowance (折讓) on an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Allowance {
    /// Identifier.
    pub id: i64,
    /// Allowance number.
    pub number: String,
    /// The invoice.
    pub invoice_id: i64,
    /// The period it was issued in.
    pub period: String,
    /// When.
    pub issued_at: DateTime<Utc>,
    /// Amount (tax-exclusive for B2B), NT$.
    pub amount: i64,
    /// Tax, NT$.
    pub tax_amount: i64,
    /// Amount + tax.
    pub total: i64,
    /// Why.
    pub reason: String,
    /// `issued` or `voided`.
    pub status: String,
    /// When it was voided.
    pub status_at: Option<DateTime<Utc>>,
    /// Who issued it.
    pub created_by: String,
}
