//! F0501 `CancelInvoice` (平台存證作廢發票, 作廢) and F0701 `VoidInvoice` (平台存證註銷發票, 註銷).
//!
//! 作廢 (F0501) voids an invoice within its period, before the tax filing; the number stays used.
//! 註銷 (F0701) withdraws an uploaded invoice, e.g. to correct it: the same number is then issued
//! again with a new F0401. Trees after the transcriptions `latte1855/turnbridge`
//! `docs/turnkey/mig41/F0501.md` and `F0701.md`:
//! - `CancelInvoice`: CancelInvoiceNumber, InvoiceDate, BuyerId, SellerId, CancelDate, CancelTime,
//!   CancelReason (≤ 20), ReturnTaxDocumentNumber? (≤ 60), Remark? (≤ 200);
//! - `VoidInvoice`: VoidInvoiceNumber, InvoiceDate, BuyerId, SellerId, VoidDate, VoidTime,
//!   VoidReason (≤ 20), Remark? (≤ 200).

use super::check::{self, text};
use super::xml::XmlWriter;
use super::{MessageType, MigError, MigLimits, MigMessage};
use chrono::{NaiveDate, NaiveTime};

/// F0501: void (作廢) an issued invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelInvoice {
    /// `CancelInvoiceNumber`: the voided invoice's number.
    pub cancel_invoice_number: String,
    /// `InvoiceDate`: the voided invoice's date.
    pub invoice_date: NaiveDate,
    /// `BuyerId`: 統一編號 or `0000000000`.
    pub buyer_id: String,
    /// `SellerId`: 統一編號.
    pub seller_id: String,
    /// `CancelDate`.
    pub cancel_date: NaiveDate,
    /// `CancelTime`.
    pub cancel_time: NaiveTime,
    /// `CancelReason` (作廢原因).
    pub cancel_reason: String,
    /// `ReturnTaxDocumentNumber` (專案作廢核准文號).
    pub return_tax_document_number: Option<String>,
    /// `Remark`.
    pub remark: Option<String>,
}

/// F0701: cancel (註銷) an uploaded invoice so that its number can be issued again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoidInvoice {
    /// `VoidInvoiceNumber`: the cancelled invoice's number.
    pub void_invoice_number: String,
    /// `InvoiceDate`: the cancelled invoice's date.
    pub invoice_date: NaiveDate,
    /// `BuyerId`: 統一編號 or `0000000000`.
    pub buyer_id: String,
    /// `SellerId`: 統一編號.
    pub seller_id: String,
    /// `VoidDate`.
    pub void_date: NaiveDate,
    /// `VoidTime`.
    pub void_time: NaiveTime,
    /// `VoidReason` (註銷原因).
    pub void_reason: String,
    /// `Remark`.
    pub remark: Option<String>,
}

/// The checks both messages share.
#[allow(clippy::too_many_arguments)]
fn check_common(
    number: (&str, &str),
    invoice_date: NaiveDate,
    buyer_id: &str,
    seller_id: &str,
    when: (&str, NaiveDate),
    reason: (&str, &str),
    remark: Option<&str>,
    limits: &MigLimits,
) -> Result<(), MigError> {
    check::invoice_number(number.0, number.1)?;
    check::date("InvoiceDate", invoice_date)?;
    check::buyer_id("BuyerId", buyer_id)?;
    check::ban("SellerId", seller_id)?;
    check::date(when.0, when.1)?;
    if when.1 < invoice_date {
        return Err(MigError::Rule { field: when.0.into(), rule: "before the invoice's date" });
    }
    text(reason.0, reason.1, limits.reason)?;
    check::opt_text("Remark", remark, limits.remark)
}

impl MigMessage for CancelInvoice {
    fn message_type(&self) -> MessageType {
        MessageType::F0501
    }

    fn validate_with(&self, limits: &MigLimits) -> Result<(), MigError> {
        check::opt_text("ReturnTaxDocumentNumber", self.return_tax_document_number.as_deref(), limits.return_tax_document_number)?;
        check_common(
            ("CancelInvoiceNumber", &self.cancel_invoice_number),
            self.invoice_date,
            &self.buyer_id,
            &self.seller_id,
            ("CancelDate", self.cancel_date),
            ("CancelReason", &self.cancel_reason),
            self.remark.as_deref(),
            limits,
        )
    }

    fn to_xml_with(&self, limits: &MigLimits) -> Result<String, MigError> {
        self.validate_with(limits)?;
        let mut w = XmlWriter::new(MessageType::F0501);
        w.leaf("CancelInvoiceNumber", &self.cancel_invoice_number);
        w.leaf("InvoiceDate", &check::fmt_date(self.invoice_date));
        w.leaf("BuyerId", &self.buyer_id);
        w.leaf("SellerId", &self.seller_id);
        w.leaf("CancelDate", &check::fmt_date(self.cancel_date));
        w.leaf("CancelTime", &check::fmt_time(self.cancel_time));
        w.leaf("CancelReason", &self.cancel_reason);
        w.opt_leaf("ReturnTaxDocumentNumber", self.return_tax_document_number.as_deref());
        w.opt_leaf("Remark", self.remark.as_deref());
        Ok(w.finish())
    }

    fn file_key(&self) -> String {
        self.cancel_invoice_number.clone()
    }
}

impl MigMessage for VoidInvoice {
    fn message_type(&self) -> MessageType {
        MessageType::F0701
    }

    fn validate_with(&self, limits: &MigLimits) -> Result<(), MigError> {
        check_common(
            ("VoidInvoiceNumber", &self.void_invoice_number),
            self.invoice_date,
            &self.buyer_id,
            &self.seller_id,
            ("VoidDate", self.void_date),
            ("VoidReason", &self.void_reason),
            self.remark.as_deref(),
            limits,
        )
    }

    fn to_xml_with(&self, limits: &MigLimits) -> Result<String, MigError> {
        self.validate_with(limits)?;
        let mut w = XmlWriter::new(MessageType::F0701);
        w.leaf("VoidInvoiceNumber", &self.void_invoice_number);
        w.leaf("InvoiceDate", &check::fmt_date(self.invoice_date));
        w.leaf("BuyerId", &self.buyer_id);
        w.leaf("SellerId", &self.seller_id);
        w.leaf("VoidDate", &check::fmt_date(self.void_date));
        w.leaf("VoidTime", &check::fmt_time(self.void_time));
        w.leaf("VoidReason", &self.void_reason);
        w.opt_leaf("Remark", self.remark.as_deref());
        Ok(w.finish())
    }

    fn file_key(&self) -> String {
        self.void_invoice_number.clone()
    }
}
