//! Payments' plain types: money received (bank deposits, cash at the door), how it was applied to
//! invoices, the drivers' collections and cash hand-ins, the virtual accounts of monthly
//! customers, imported statement files, and the validation of what clients send. The rules
//! (virtual-account check digits, statement layouts, matching, aging) live in the `payments`
//! crate; the service's module is [`crate::receivables`].

use super::validation::{FieldError, FieldProblem};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The largest amount accepted from a client, NT$ (a statement's own limit).
pub const MAX_AMOUNT: i64 = payments::statement::MAX_AMOUNT;
/// The most cylinder lines of one collection.
pub const MAX_CYLINDER_LINES: usize = 16;
/// The most parts of one split or match.
pub const MAX_PARTS: usize = 50;

/// A [`FieldProblem::State`] error of `field`.
pub fn state_error(field: impl Into<String>, code: &'static str, zh: &'static str, en: &'static str) -> FieldError {
    state(field, code, zh, en)
}

pub(crate) fn state(field: impl Into<String>, code: &'static str, zh: &'static str, en: &'static str) -> FieldError {
    FieldError::new(field, FieldProblem::State { code, zh, en })
}

/// Where money came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// A bank deposit into a virtual account, from a statement file.
    Deposit,
    /// Cash collected at the door.
    Cash,
}

impl PaymentKind {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::Deposit => "deposit",
            PaymentKind::Cash => "cash",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<PaymentKind> {
        match s {
            "deposit" => Some(PaymentKind::Deposit),
            "cash" => Some(PaymentKind::Cash),
            _ => None,
        }
    }
}

/// Where a payment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Money unapplied and no customer known: waits in the accountant's queue.
    Unmatched,
    /// Money unapplied of a known customer: their credit (over-payment, paid before an invoice).
    Credit,
    /// Nothing left to apply.
    Settled,
}

impl PaymentStatus {
    /// The names clients use.
    pub const NAMES: &'static [&'static str] = &["unmatched", "credit", "settled"];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Unmatched => "unmatched",
            PaymentStatus::Credit => "credit",
            PaymentStatus::Settled => "settled",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<PaymentStatus> {
        match s {
            "unmatched" => Some(PaymentStatus::Unmatched),
            "credit" => Some(PaymentStatus::Credit),
            "settled" => Some(PaymentStatus::Settled),
            _ => None,
        }
    }

    /// The status of a payment with `unapplied` money and maybe a customer.
    pub fn of(customer_id: Option<i64>, unapplied: i64) -> PaymentStatus {
        match (customer_id, unapplied > 0) {
            (_, false) => PaymentStatus::Settled,
            (None, true) => PaymentStatus::Unmatched,
            (Some(_), true) => PaymentStatus::Credit,
        }
    }
}

/// Money of a payment applied to an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AllocationView {
    /// Its id.
    pub id: i64,
    /// The payment.
    pub payment_id: i64,
    /// The invoice.
    pub invoice_id: i64,
    /// The invoice's number.
    pub invoice_number: String,
    /// NT$.
    pub amount: i64,
    /// Why this invoice: `exact` (the balance equalled the deposit), `oldest` (the customer's
    /// oldest invoices first), `door` (cash for this delivery), `credit` (a credit applied to a new
    /// invoice), `manual` (the accountant).
    pub rule: String,
    /// Who.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A refund or a write-off of money on a payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Adjustment {
    /// Its id.
    pub id: i64,
    /// `refund` or `write_off`.
    pub kind: String,
    /// NT$.
    pub amount: i64,
    /// Why.
    pub reason: String,
    /// Who.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Money received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Payment {
    /// Its id.
    pub id: i64,
    /// Where it came from.
    pub kind: PaymentKind,
    /// Where it stands.
    pub status: PaymentStatus,
    /// Whose it is, once known.
    pub customer_id: Option<i64>,
    /// NT$ received.
    pub amount: i64,
    /// Applied to invoices.
    pub allocated: i64,
    /// Paid back.
    pub refunded: i64,
    /// Written off.
    pub written_off: i64,
    /// Moved to other payments by a split.
    pub split_out: i64,
    /// Not applied yet: the customer's credit, or the queue's.
    pub unapplied: i64,
    /// The day it was received (Taipei).
    pub received_on: NaiveDate,
    /// When the bank recorded it.
    pub paid_at: Option<DateTime<Utc>>,
    /// The bank's serial (deposits).
    pub serial: Option<String>,
    /// The virtual account paid into (deposits).
    pub account: Option<String>,
    /// The payer's name, as the bank gives it.
    pub payer_name: Option<String>,
    /// The payer's bank code.
    pub payer_bank: Option<String>,
    /// The payer's account.
    pub payer_account: Option<String>,
    /// The bank's memo.
    pub memo: Option<String>,
    /// Why matching left it unapplied (a stable code), if it did.
    pub reason: Option<String>,
    /// The statement file it came in.
    pub statement_id: Option<i64>,
    /// The collection at the door it came from.
    pub collection_id: Option<i64>,
    /// The payment it was split from.
    pub parent_id: Option<i64>,
    /// Who recorded it (`system` for imports).
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Its money applied to invoices.
    pub allocations: Vec<AllocationView>,
    /// Its refunds and write-offs.
    pub adjustments: Vec<Adjustment>,
}

/// How a stop is paid, as the driver reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CollectionMethod {
    /// Cash taken at the door.
    Cash,
    /// The customer promised a transfer.
    Transfer,
    /// A monthly-account customer: billed at month end.
    Monthly,
}

impl CollectionMethod {
    /// The names clients use.
    pub const NAMES: &'static [&'static str] = &["cash", "transfer", "monthly"];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionMethod::Cash => "cash",
            CollectionMethod::Transfer => "transfer",
            CollectionMethod::Monthly => "monthly",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<CollectionMethod> {
        match s {
            "cash" => Some(CollectionMethod::Cash),
            "transfer" => Some(CollectionMethod::Transfer),
            "monthly" => Some(CollectionMethod::Monthly),
            _ => None,
        }
    }
}

/// Cylinders of one size lent or taken back at a stop.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CylinderMoveInput {
    /// Cylinder size, kg of gas.
    #[serde(default)]
    pub kg: Option<i64>,
    /// Cylinders left with the customer (a deposit is owed on each).
    #[serde(default)]
    pub lent: Option<i64>,
    /// The customer's cylinders taken back (their deposit is returned).
    #[serde(default)]
    pub returned: Option<i64>,
}

/// What a driver reports collected at a delivered stop.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionInput {
    /// `cash`, `transfer` (promised) or `monthly`.
    #[serde(default)]
    pub method: String,
    /// Cash taken, NT$, net of deposits paid back at the door (0 unless `cash`; may be negative
    /// when the driver paid back more deposit than they took).
    #[serde(default)]
    pub cash: Option<i64>,
    /// Cylinders lent and returned, per size.
    #[serde(default)]
    pub cylinders: Vec<CylinderMoveInput>,
    /// A note (optional).
    #[serde(default)]
    pub note: Option<String>,
}

/// A validated collection report (without what the store looks up).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionReport {
    /// How the stop is paid.
    pub method: CollectionMethod,
    /// Net cash taken.
    pub cash: i64,
    /// (kg, lent, returned), one per size.
    pub cylinders: Vec<(u32, u32, u32)>,
    /// The note.
    pub note: Option<String>,
}

impl CollectionInput {
    /// Validates every field; returns the report or all failing fields (under `prefix`).
    pub fn validate(self, prefix: &str) -> Result<CollectionReport, Vec<FieldError>> {
        let f = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        let mut errors = Vec::new();
        let method = CollectionMethod::parse(self.method.trim());
        if method.is_none() {
            let problem = if self.method.trim().is_empty() { FieldProblem::Required } else { FieldProblem::NotAllowed { allowed: CollectionMethod::NAMES } };
            errors.push(FieldError::new(f("method"), problem));
        }
        let cash = self.cash.unwrap_or(0);
        if cash.abs() > MAX_AMOUNT {
            errors.push(FieldError::new(f("cash"), FieldProblem::OutOfRange { min: -MAX_AMOUNT as f64, max: MAX_AMOUNT as f64 }));
        }
        if method.is_some_and(|m| m != CollectionMethod::Cash) && cash != 0 {
            errors.push(state(f("cash"), "cash_without_cash_method", "付款方式不是現金時，收現金額須為 0", "cash must be 0 unless the method is cash"));
        }
        if self.cylinders.len() > MAX_CYLINDER_LINES {
            errors.push(FieldError::new(f("cylinders"), FieldProblem::TooMany { max: MAX_CYLINDER_LINES }));
        }
        let mut cylinders: Vec<(u32, u32, u32)> = Vec::new();
        for (i, line) in self.cylinders.iter().enumerate().take(MAX_CYLINDER_LINES) {
            let at = |name: &str| f(&format!("cylinders[{i}].{name}"));
            let kg = match line.kg {
                None => {
                    errors.push(FieldError::new(at("kg"), FieldProblem::Required));
                    None
                }
                Some(kg) if !super::invoice::CYLINDER_SIZES.contains(&u32::try_from(kg).unwrap_or(0)) => {
                    errors.push(FieldError::new(at("kg"), FieldProblem::NotAllowed { allowed: &["2", "4", "10", "16", "18", "20", "50"] }));
                    None
                }
                Some(kg) => Some(kg as u32),
            };
            let mut count = |name: &str, v: Option<i64>| match v.unwrap_or(0) {
                n @ 0..=999 => n as u32,
                _ => {
                    errors.push(FieldError::new(at(name), FieldProblem::OutOfRange { min: 0.0, max: 999.0 }));
                    0
                }
            };
            let (lent, returned) = (count("lent", line.lent), count("returned", line.returned));
            if let Some(kg) = kg {
                if cylinders.iter().any(|c| c.0 == kg) {
                    errors.push(state(at("kg"), "duplicate_size", "同一尺寸只能列一次", "each cylinder size may be listed once"));
                } else if lent > 0 || returned > 0 {
                    cylinders.push((kg, lent, returned));
                }
            }
        }
        let note = self.note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            errors.push(FieldError::new(f("note"), FieldProblem::TooLong { max: 500 }));
        }
        match method {
            Some(method) if errors.is_empty() => {
                cylinders.sort_unstable();
                Ok(CollectionReport { method, cash, cylinders, note })
            }
            _ => Err(errors),
        }
    }
}

/// Cylinders of one size moved at a stop, with the deposit of each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CylinderMove {
    /// Size, kg.
    pub kg: u32,
    /// Lent.
    pub lent: u32,
    /// Returned.
    pub returned: u32,
    /// The deposit of one cylinder of this size, NT$ (from the prices on the day).
    pub deposit_each: i64,
}

/// What was collected at a delivered stop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Collection {
    /// Its id.
    pub id: i64,
    /// The order delivered.
    pub order_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// The driver of the route, when the stop was on one.
    pub driver_id: Option<i64>,
    /// The delivery day.
    pub delivery_date: NaiveDate,
    /// How it is paid.
    pub method: CollectionMethod,
    /// Net cash taken, NT$.
    pub cash: i64,
    /// Deposits owed (+) or returned (−) by the cylinders moved, NT$.
    pub deposit_change: i64,
    /// Cash left for the invoice: `cash − deposit_change` when paid in cash (the cash payment,
    /// when positive), else 0.
    pub for_invoice: i64,
    /// The cylinders moved.
    pub cylinders: Vec<CylinderMove>,
    /// The cash payment made of it.
    pub payment_id: Option<i64>,
    /// The note.
    pub note: Option<String>,
    /// Who reported it.
    pub reported_by: String,
    /// When.
    pub reported_at: DateTime<Utc>,
}

/// The cash a driver handed in for a day, against what their route collected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CashHandin {
    /// Its id.
    pub id: i64,
    /// The driver.
    pub driver_id: i64,
    /// The delivery day.
    pub delivery_date: NaiveDate,
    /// Cash handed in, NT$.
    pub amount: i64,
    /// What the day's collections say the driver holds.
    pub expected: i64,
    /// `amount − expected`: short (−) or over (+).
    pub difference: i64,
    /// `balanced`, `flagged` (a difference for the accountant) or `resolved`.
    pub status: String,
    /// The note of who recorded it.
    pub note: Option<String>,
    /// How the accountant resolved a difference.
    pub resolution: Option<String>,
    /// Who recorded it.
    pub recorded_by: String,
    /// When.
    pub recorded_at: DateTime<Utc>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The day's stops with cash, to check a difference against.
    pub stops: Vec<Collection>,
}

/// A virtual account of a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VirtualAccountView {
    /// The number (digits only).
    pub number: String,
    /// Whose.
    pub customer_id: i64,
    /// The layout's name (`cathay-16`).
    pub layout: String,
    /// The due date and hour in the number, when the layout has one (Taipei, `2026-12-10T23:00`).
    pub due: Option<String>,
    /// Who assigned it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// An imported statement file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatementFile {
    /// Its id.
    pub id: i64,
    /// `sftp` or `upload`.
    pub source: String,
    /// The file's name.
    pub file_name: String,
    /// SHA-256 of its bytes (hex): the same file is imported once.
    pub sha256: String,
    /// `fixed` or `csv`.
    pub format: String,
    /// `utf-8` or `big5`.
    pub encoding: String,
    /// The bank's code.
    pub bank_code: String,
    /// The collection account.
    pub account: String,
    /// The day it covers.
    pub statement_date: NaiveDate,
    /// Deposits in the file.
    pub deposits: i64,
    /// Their total, NT$.
    pub total: i64,
    /// Deposits credited by this import.
    pub new_deposits: i64,
    /// Deposits skipped as imported before (their serials).
    pub duplicates: i64,
    /// Who imported it (`system` for the SFTP fetch).
    pub imported_by: String,
    /// When.
    pub imported_at: DateTime<Utc>,
}
