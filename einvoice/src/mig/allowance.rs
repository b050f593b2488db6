//! G0401 `Allowance` (平台存證開立折讓證明單) and G0501 `CancelAllowance` (平台存證作廢折讓證明單).
//!
//! Trees after the transcriptions `latte1855/turnbridge` `docs/turnkey/mig41/G0401.md` and
//! `G0501.md`:
//! - `Allowance/Main`: AllowanceNumber (≤ 16), AllowanceDate, Seller, Buyer, AllowanceType;
//!   `Allowance/Details/ProductItem` 1..=9999: OriginalInvoiceDate, OriginalInvoiceNumber,
//!   OriginalSequenceNumber?, OriginalDescription, Quantity, Unit?, UnitPrice, Amount (tax
//!   excluded), Tax, AllowanceSequenceNumber, TaxType; `Allowance/Amount`: TaxAmount, TotalAmount
//!   (tax excluded).
//! - `CancelAllowance`: CancelAllowanceNumber, AllowanceType, AllowanceDate, BuyerId, SellerId,
//!   CancelDate, CancelTime, CancelReason (≤ 20), Remark? (≤ 200). `AllowanceType` in G0501 comes
//!   from that transcription only (MIG 3.2's D0501 had none): *unverified*, so it is optional here.
//!
//! Since 2025-01-01 the seller issues allowances, `AllowanceType` 2 (DOMAIN.md); an allowance dated
//! from then on with type 1 is refused.

use super::check::{self, amount, equal, sum, text};
use super::xml::XmlWriter;
use super::{MessageType, MigError, MigLimits, MigMessage, Party, TaxType, MAX_ITEMS};
use crate::money::Ntd;
use chrono::{NaiveDate, NaiveTime};

/// 折讓種類 (`AllowanceType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AllowanceType {
    /// 1: issued by the buyer (買方開立折讓證明單); not allowed from 2025-01-01.
    BuyerIssued,
    /// 2: issued by the seller (賣方折讓證明通知單).
    SellerIssued,
}

impl AllowanceType {
    /// `"1"` or `"2"`.
    pub fn code(self) -> &'static str {
        match self {
            AllowanceType::BuyerIssued => "1",
            AllowanceType::SellerIssued => "2",
        }
    }
}

/// The first day on which only seller-issued allowances (type 2) are accepted.
pub(crate) fn seller_only_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).expect("a valid date")
}

/// G0401: an allowance (折讓證明單) against one or more issued invoices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// `AllowanceNumber` (折讓證明單號碼), ≤ 16 ASCII letters or digits.
    pub allowance_number: String,
    /// `AllowanceDate`.
    pub allowance_date: NaiveDate,
    /// `Seller`.
    pub seller: Party,
    /// `Buyer`.
    pub buyer: Party,
    /// `AllowanceType`: [`AllowanceType::SellerIssued`] since 2025.
    pub allowance_type: AllowanceType,
    /// `Details/ProductItem`, 1..=9999.
    pub items: Vec<AllowanceItem>,
    /// `Amount/TaxAmount`: the sum of the items' `Tax`.
    pub tax_amount: Ntd,
    /// `Amount/TotalAmount`: the sum of the items' `Amount` (tax excluded).
    pub total_amount: Ntd,
}

/// One `Details/ProductItem` of an allowance, referring to a line of an original invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowanceItem {
    /// `OriginalInvoiceDate`.
    pub original_invoice_date: NaiveDate,
    /// `OriginalInvoiceNumber`.
    pub original_invoice_number: String,
    /// `OriginalSequenceNumber`: the original line's `SequenceNumber`.
    pub original_sequence_number: Option<u16>,
    /// `OriginalDescription`.
    pub original_description: String,
    /// `Quantity`, whole units.
    pub quantity: i64,
    /// `Unit`.
    pub unit: Option<String>,
    /// `UnitPrice`, tax excluded.
    pub unit_price: Ntd,
    /// `Amount` = `Quantity` × `UnitPrice`, tax excluded.
    pub amount: Ntd,
    /// `Tax`: the tax on `Amount`.
    pub tax: Ntd,
    /// `AllowanceSequenceNumber`, 1..=9999, unique in the allowance.
    pub allowance_sequence_number: u16,
    /// `TaxType`: never [`TaxType::Mixed`].
    pub tax_type: TaxType,
}

/// G0501: void (作廢) an allowance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelAllowance {
    /// `CancelAllowanceNumber`.
    pub cancel_allowance_number: String,
    /// `AllowanceType` of the voided allowance; written when present (*unverified*, see module).
    pub allowance_type: Option<AllowanceType>,
    /// `AllowanceDate`: the voided allowance's date.
    pub allowance_date: NaiveDate,
    /// `BuyerId`.
    pub buyer_id: String,
    /// `SellerId`.
    pub seller_id: String,
    /// `CancelDate`.
    pub cancel_date: NaiveDate,
    /// `CancelTime`.
    pub cancel_time: NaiveTime,
    /// `CancelReason`.
    pub cancel_reason: String,
    /// `Remark`.
    pub remark: Option<String>,
}

fn allowance_number(field: &str, value: &str, limits: &MigLimits) -> Result<(), MigError> {
    text(field, value, limits.allowance_number)?;
    if value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(MigError::Format { field: field.into(), expected: "ASCII letters and digits", value: value.into() })
    }
}

fn allowance_type(field: &str, t: AllowanceType, date: NaiveDate) -> Result<(), MigError> {
    if t == AllowanceType::BuyerIssued && date >= seller_only_from() {
        return Err(MigError::Rule { field: field.into(), rule: "since 2025-01-01 the seller issues allowances (AllowanceType 2)" });
    }
    Ok(())
}

impl Allowance {
    fn check(&self, limits: &MigLimits) -> Result<(), MigError> {
        allowance_number("Main/AllowanceNumber", &self.allowance_number, limits)?;
        check::date("Main/AllowanceDate", self.allowance_date)?;
        check::party("Main/Seller", &self.seller, true, limits)?;
        check::party("Main/Buyer", &self.buyer, false, limits)?;
        allowance_type("Main/AllowanceType", self.allowance_type, self.allowance_date)?;

        check::count("Details/ProductItem", self.items.len(), 1, MAX_ITEMS)?;
        let mut seen = std::collections::HashSet::with_capacity(self.items.len());
        for (i, item) in self.items.iter().enumerate() {
            let f = |name: &str| format!("Details/ProductItem[{}]/{name}", i + 1);
            check::date(&f("OriginalInvoiceDate"), item.original_invoice_date)?;
            if item.original_invoice_date > self.allowance_date {
                return Err(MigError::Rule { field: f("OriginalInvoiceDate"), rule: "after the allowance's date" });
            }
            check::invoice_number(&f("OriginalInvoiceNumber"), &item.original_invoice_number)?;
            if let Some(n) = item.original_sequence_number {
                if !(1..=MAX_ITEMS as u16).contains(&n) {
                    return Err(MigError::Range { field: f("OriginalSequenceNumber"), min: 1, max: MAX_ITEMS as i64, value: i64::from(n) });
                }
            }
            text(&f("OriginalDescription"), &item.original_description, limits.description)?;
            if item.quantity < 0 {
                return Err(MigError::Range { field: f("Quantity"), min: 0, max: i64::MAX, value: item.quantity });
            }
            check::opt_text(&f("Unit"), item.unit.as_deref(), limits.unit)?;
            amount(&f("UnitPrice"), item.unit_price)?;
            amount(&f("Amount"), item.amount)?;
            amount(&f("Tax"), item.tax)?;
            let line = item.unit_price.times(item.quantity).map_err(|_| MigError::Overflow { field: f("Amount") })?;
            equal(&f("Amount"), line, item.amount, "Amount = Quantity x UnitPrice")?;
            if !(1..=MAX_ITEMS as u16).contains(&item.allowance_sequence_number) {
                return Err(MigError::Range {
                    field: f("AllowanceSequenceNumber"),
                    min: 1,
                    max: MAX_ITEMS as i64,
                    value: i64::from(item.allowance_sequence_number),
                });
            }
            if !seen.insert(item.allowance_sequence_number) {
                return Err(MigError::Duplicate { field: f("AllowanceSequenceNumber"), value: item.allowance_sequence_number.to_string() });
            }
            if item.tax_type == TaxType::Mixed {
                return Err(MigError::Rule { field: f("TaxType"), rule: "an item's TaxType is 1, 2, 3 or 4" });
            }
            if matches!(item.tax_type, TaxType::ZeroRated | TaxType::Exempt) && item.tax.dollars() != 0 {
                return Err(MigError::Rule { field: f("Tax"), rule: "no tax on zero-rated or exempt items" });
            }
        }
        amount("Amount/TaxAmount", self.tax_amount)?;
        amount("Amount/TotalAmount", self.total_amount)?;
        equal("Amount/TaxAmount", sum("Amount/TaxAmount", self.items.iter().map(|i| i.tax))?, self.tax_amount, "the sum of the items' Tax")?;
        equal(
            "Amount/TotalAmount",
            sum("Amount/TotalAmount", self.items.iter().map(|i| i.amount))?,
            self.total_amount,
            "the sum of the items' Amount (tax excluded)",
        )
    }
}

impl MigMessage for Allowance {
    fn message_type(&self) -> MessageType {
        MessageType::G0401
    }

    fn validate_with(&self, limits: &MigLimits) -> Result<(), MigError> {
        self.check(limits)
    }

    fn to_xml_with(&self, limits: &MigLimits) -> Result<String, MigError> {
        self.check(limits)?;
        let mut w = XmlWriter::new(MessageType::G0401);
        w.open("Main");
        w.leaf("AllowanceNumber", &self.allowance_number);
        w.leaf("AllowanceDate", &check::fmt_date(self.allowance_date));
        check::write_party(&mut w, "Seller", &self.seller, false);
        check::write_party(&mut w, "Buyer", &self.buyer, false);
        w.leaf("AllowanceType", self.allowance_type.code());
        w.close();
        w.open("Details");
        for item in &self.items {
            w.open("ProductItem");
            w.leaf("OriginalInvoiceDate", &check::fmt_date(item.original_invoice_date));
            w.leaf("OriginalInvoiceNumber", &item.original_invoice_number);
            w.opt_leaf("OriginalSequenceNumber", item.original_sequence_number.map(|n| n.to_string()).as_deref());
            w.leaf("OriginalDescription", &item.original_description);
            w.leaf("Quantity", &item.quantity.to_string());
            w.opt_leaf("Unit", item.unit.as_deref());
            w.leaf("UnitPrice", &item.unit_price.dollars().to_string());
            w.leaf("Amount", &item.amount.dollars().to_string());
            w.leaf("Tax", &item.tax.dollars().to_string());
            w.leaf("AllowanceSequenceNumber", &item.allowance_sequence_number.to_string());
            w.leaf("TaxType", item.tax_type.code());
            w.close();
        }
        w.close();
        w.open("Amount");
        w.leaf("TaxAmount", &self.tax_amount.dollars().to_string());
        w.leaf("TotalAmount", &self.total_amount.dollars().to_string());
        w.close();
        Ok(w.finish())
    }

    fn file_key(&self) -> String {
        self.allowance_number.clone()
    }
}

impl MigMessage for CancelAllowance {
    fn message_type(&self) -> MessageType {
        MessageType::G0501
    }

    fn validate_with(&self, limits: &MigLimits) -> Result<(), MigError> {
        allowance_number("CancelAllowanceNumber", &self.cancel_allowance_number, limits)?;
        if let Some(t) = self.allowance_type {
            allowance_type("AllowanceType", t, self.allowance_date)?;
        }
        check::date("AllowanceDate", self.allowance_date)?;
        check::buyer_id("BuyerId", &self.buyer_id)?;
        check::ban("SellerId", &self.seller_id)?;
        check::date("CancelDate", self.cancel_date)?;
        if self.cancel_date < self.allowance_date {
            return Err(MigError::Rule { field: "CancelDate".into(), rule: "before the allowance's date" });
        }
        text("CancelReason", &self.cancel_reason, limits.reason)?;
        check::opt_text("Remark", self.remark.as_deref(), limits.remark)
    }

    fn to_xml_with(&self, limits: &MigLimits) -> Result<String, MigError> {
        self.validate_with(limits)?;
        let mut w = XmlWriter::new(MessageType::G0501);
        w.leaf("CancelAllowanceNumber", &self.cancel_allowance_number);
        w.opt_leaf("AllowanceType", self.allowance_type.map(AllowanceType::code));
        w.leaf("AllowanceDate", &check::fmt_date(self.allowance_date));
        w.leaf("BuyerId", &self.buyer_id);
        w.leaf("SellerId", &self.seller_id);
        w.leaf("CancelDate", &check::fmt_date(self.cancel_date));
        w.leaf("CancelTime", &check::fmt_time(self.cancel_time));
        w.leaf("CancelReason", &self.cancel_reason);
        w.opt_leaf("Remark", self.remark.as_deref());
        Ok(w.finish())
    }

    fn file_key(&self) -> String {
        self.cancel_allowance_number.clone()
    }
}
