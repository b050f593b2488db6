//! F0401 `Invoice` (平台存證開立發票): issue an invoice.
//!
//! Tree (MIG 4.1, after the transcription `latte1855/turnbridge` `docs/turnkey/mig41/F0401.md`):
//! `Invoice/Main` (InvoiceNumber, InvoiceDate, InvoiceTime, Seller, Buyer, BuyerRemark?,
//! MainRemark?, CustomsClearanceMark?, Category?, RelateNumber?, InvoiceType, GroupMark?,
//! DonateMark, CarrierType?, CarrierId1?, CarrierId2?, PrintMark, NPOBAN?, RandomNumber,
//! BondedAreaConfirm?, ZeroTaxRateReason?, Reserved1?, Reserved2?), `Invoice/Details/ProductItem`
//! 1..=9999 (Description, Quantity, Unit?, UnitPrice, TaxType, Amount, SequenceNumber, Remark?,
//! RelateNumber?), `Invoice/Amount` (SalesAmount, FreeTaxSalesAmount, ZeroTaxSalesAmount, TaxType,
//! TaxRate, TaxAmount, TotalAmount, …). Elements this product never fills are not modelled.

use super::check::{self, amount, equal, sum, text};
use super::xml::XmlWriter;
use super::{InvoiceType, MessageType, MigError, MigLimits, MigMessage, Party, TaxType, MAX_ITEMS};
use crate::money::Ntd;
use chrono::{NaiveDate, NaiveTime};

/// F0401: an invoice as uploaded to the platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoice {
    /// `InvoiceNumber`: two upper-case letters and 8 digits.
    pub invoice_number: String,
    /// `InvoiceDate` (written YYYYMMDD), Taipei date.
    pub invoice_date: NaiveDate,
    /// `InvoiceTime` (written HH:MM:SS), Taipei time.
    pub invoice_time: NaiveTime,
    /// `Seller`: `Identifier` 8 digits, `Name` and `Address` required.
    pub seller: Party,
    /// `Buyer`: a 統一編號, or `0000000000` for B2C.
    pub buyer: Party,
    /// `MainRemark` (總備註).
    pub main_remark: Option<String>,
    /// `CustomsClearanceMark` (通關方式註記): `1` not through customs, `2` through customs; zero-rated
    /// sales only.
    pub customs_clearance_mark: Option<String>,
    /// `RelateNumber` (相關號碼), e.g. our order number.
    pub relate_number: Option<String>,
    /// `InvoiceType`: 07 general.
    pub invoice_type: InvoiceType,
    /// `DonateMark`: `true` writes 1 (donated; needs `npoban`, no carrier, not printed, B2C only).
    pub donate_mark: bool,
    /// `CarrierType`, `CarrierId1`, `CarrierId2` (載具).
    pub carrier: Option<Carrier>,
    /// `PrintMark`: `true` writes Y (a proof was printed).
    pub print_mark: bool,
    /// `NPOBAN` (愛心碼), 3–7 digits, exactly when donated.
    pub npoban: Option<String>,
    /// `RandomNumber` (隨機碼): exactly 4 digits.
    pub random_number: String,
    /// `ZeroTaxRateReason` (零稅率原因, MIG 4.1, codes 71–79): required when the invoice has
    /// zero-rated sales. The code list is *unverified*; only the form (2 digits) is checked.
    pub zero_tax_rate_reason: Option<String>,
    /// `Details/ProductItem`, 1..=9999.
    pub items: Vec<ProductItem>,
    /// `Amount`.
    pub amount: InvoiceAmount,
}

/// A carrier (載具): `CarrierType` and its two ids (`CarrierId1` hidden code, `CarrierId2` visible
/// code; for a mobile barcode both are the barcode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carrier {
    /// `CarrierType`: 6 characters, e.g. `3J0002` (mobile barcode), `CQ0001` (citizen certificate).
    pub carrier_type: String,
    /// `CarrierId1`.
    pub id1: String,
    /// `CarrierId2`.
    pub id2: String,
}

impl Carrier {
    /// Carrier type of the mobile barcode (手機條碼).
    pub const MOBILE_BARCODE: &'static str = "3J0002";
    /// Carrier type of the citizen digital certificate (自然人憑證).
    pub const CITIZEN_CERTIFICATE: &'static str = "CQ0001";

    /// A mobile barcode carrier, `/` + 7 characters of `[0-9A-Z.+-]`.
    pub fn mobile_barcode(code: impl Into<String>) -> Carrier {
        let code = code.into();
        Carrier { carrier_type: Carrier::MOBILE_BARCODE.into(), id1: code.clone(), id2: code }
    }

    fn check(&self, limits: &MigLimits) -> Result<(), MigError> {
        let t = &self.carrier_type;
        if t.len() != 6 || !t.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return Err(MigError::Format { field: "Main/CarrierType".into(), expected: "6 upper-case letters or digits", value: t.clone() });
        }
        text("Main/CarrierId1", &self.id1, limits.carrier_id)?;
        text("Main/CarrierId2", &self.id2, limits.carrier_id)?;
        let (form_ok, expected): (fn(&str) -> bool, &'static str) = match t.as_str() {
            Carrier::MOBILE_BARCODE => (mobile_barcode, "a mobile barcode: '/' and 7 of [0-9A-Z.+-]"),
            Carrier::CITIZEN_CERTIFICATE => (citizen_certificate, "a citizen certificate id: 2 upper-case letters and 14 digits"),
            _ => return Ok(()),
        };
        for (field, id) in [("Main/CarrierId1", &self.id1), ("Main/CarrierId2", &self.id2)] {
            if !form_ok(id) {
                return Err(MigError::Format { field: field.into(), expected, value: id.clone() });
            }
        }
        Ok(())
    }
}

fn mobile_barcode(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8 && b[0] == b'/' && b[1..].iter().all(|&c| c.is_ascii_digit() || c.is_ascii_uppercase() || matches!(c, b'.' | b'+' | b'-'))
}

fn citizen_certificate(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 16 && b[..2].iter().all(u8::is_ascii_uppercase) && b[2..].iter().all(u8::is_ascii_digit)
}

/// One `Details/ProductItem`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductItem {
    /// `Description` (品名).
    pub description: String,
    /// `Quantity`: whole units (the MIG allows decimals; this product sells whole cylinders).
    pub quantity: i64,
    /// `Unit` (單位), e.g. 桶.
    pub unit: Option<String>,
    /// `UnitPrice`.
    pub unit_price: Ntd,
    /// `TaxType` of the item: never [`TaxType::Mixed`].
    pub tax_type: TaxType,
    /// `Amount` = `Quantity` × `UnitPrice` (MIG 4.1 rejects lines where they disagree).
    pub amount: Ntd,
    /// `SequenceNumber` (明細排列序號), 1..=9999, unique in the invoice.
    pub sequence_number: u16,
    /// `Remark` of the line.
    pub remark: Option<String>,
}

/// `Amount` of an invoice.
///
/// B2C (buyer `0000000000`): `SalesAmount` is the tax-inclusive total of the taxable items and
/// `TaxAmount` is 0. B2B: tax is shown separately (`SalesAmount` + `TaxAmount`). In both,
/// `TotalAmount = SalesAmount + FreeTaxSalesAmount + ZeroTaxSalesAmount + TaxAmount`
/// (DOMAIN.md, "Taiwan e-invoice").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceAmount {
    /// `SalesAmount` (應稅銷售額).
    pub sales_amount: Ntd,
    /// `FreeTaxSalesAmount` (免稅銷售額).
    pub free_tax_sales_amount: Ntd,
    /// `ZeroTaxSalesAmount` (零稅率銷售額).
    pub zero_tax_sales_amount: Ntd,
    /// `TaxType` of the invoice (9 when items of several tax types are mixed).
    pub tax_type: TaxType,
    /// `TaxRate` in whole percent (written `0.05` for 5): 5 for taxable and mixed, 0 for zero-rated
    /// and exempt; special rates (特種稅額) 1..=25 — which special rates exist is *unverified*.
    pub tax_rate_percent: u8,
    /// `TaxAmount` (營業稅額), whole NT$.
    pub tax_amount: Ntd,
    /// `TotalAmount` (總計).
    pub total_amount: Ntd,
}

/// `TaxRate` as the MIG writes it: a decimal fraction, `0.05`, `0`.
fn fmt_rate(percent: u8) -> String {
    if percent == 0 {
        "0".into()
    } else if percent.is_multiple_of(10) {
        format!("0.{}", percent / 10)
    } else {
        format!("0.{percent:02}")
    }
}

impl Invoice {
    /// Whether this is a B2C invoice (buyer `0000000000`).
    pub fn is_b2c(&self) -> bool {
        self.buyer.is_consumer()
    }

    fn check_main(&self, limits: &MigLimits) -> Result<(), MigError> {
        check::invoice_number("Main/InvoiceNumber", &self.invoice_number)?;
        check::date("Main/InvoiceDate", self.invoice_date)?;
        check::party("Main/Seller", &self.seller, true, limits)?;
        check::party("Main/Buyer", &self.buyer, false, limits)?;
        check::opt_text("Main/MainRemark", self.main_remark.as_deref(), limits.remark)?;
        check::opt_text("Main/RelateNumber", self.relate_number.as_deref(), limits.relate_number)?;
        if let Some(mark) = &self.customs_clearance_mark {
            if mark != "1" && mark != "2" {
                return Err(MigError::Format { field: "Main/CustomsClearanceMark".into(), expected: "1 or 2", value: mark.clone() });
            }
        }
        check::digits("Main/RandomNumber", &self.random_number, 4, "4 digits")?;
        if let Some(reason) = &self.zero_tax_rate_reason {
            check::digits("Main/ZeroTaxRateReason", reason, 2, "a 2-digit reason code (71-79)")?;
        }

        // Donation, carrier, printing (DOMAIN.md: a B2C invoice is printed, on a carrier, or donated).
        if let Some(carrier) = &self.carrier {
            carrier.check(limits)?;
            if self.print_mark {
                return Err(MigError::Rule { field: "Main/PrintMark".into(), rule: "an invoice stored on a carrier is not printed (PrintMark must be N)" });
            }
        }
        match (&self.npoban, self.donate_mark) {
            (Some(code), true) => {
                if !(3..=7).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(MigError::Format { field: "Main/NPOBAN".into(), expected: "a donation code of 3-7 digits", value: code.clone() });
                }
                if self.carrier.is_some() {
                    return Err(MigError::Rule { field: "Main/CarrierType".into(), rule: "a donated invoice (DonateMark=1) has no carrier" });
                }
                if self.print_mark {
                    return Err(MigError::Rule { field: "Main/PrintMark".into(), rule: "a donated invoice (DonateMark=1) is not printed" });
                }
                if !self.is_b2c() {
                    return Err(MigError::Rule { field: "Main/DonateMark".into(), rule: "only a B2C invoice (buyer 0000000000) can be donated" });
                }
            }
            (None, true) => return Err(MigError::Rule { field: "Main/NPOBAN".into(), rule: "required when DonateMark=1" }),
            (Some(_), false) => return Err(MigError::Rule { field: "Main/NPOBAN".into(), rule: "only allowed when DonateMark=1" }),
            (None, false) => {}
        }
        if self.is_b2c() && !self.print_mark && !self.donate_mark && self.carrier.is_none() {
            return Err(MigError::Rule { field: "Main/PrintMark".into(), rule: "a B2C invoice is printed (PrintMark=Y), stored on a carrier, or donated" });
        }
        Ok(())
    }

    fn check_items(&self, limits: &MigLimits) -> Result<(), MigError> {
        check::count("Details/ProductItem", self.items.len(), 1, MAX_ITEMS)?;
        let mut seen = std::collections::HashSet::with_capacity(self.items.len());
        for (i, item) in self.items.iter().enumerate() {
            let f = |name: &str| format!("Details/ProductItem[{}]/{name}", i + 1);
            text(&f("Description"), &item.description, limits.description)?;
            if item.quantity < 0 {
                return Err(MigError::Range { field: f("Quantity"), min: 0, max: i64::MAX, value: item.quantity });
            }
            check::opt_text(&f("Unit"), item.unit.as_deref(), limits.unit)?;
            amount(&f("UnitPrice"), item.unit_price)?;
            amount(&f("Amount"), item.amount)?;
            if item.tax_type == TaxType::Mixed {
                return Err(MigError::Rule { field: f("TaxType"), rule: "an item's TaxType is 1, 2, 3 or 4; 9 (mixed) is for the invoice only" });
            }
            if self.amount.tax_type != TaxType::Mixed && item.tax_type != self.amount.tax_type {
                return Err(MigError::Rule { field: f("TaxType"), rule: "differs from Amount/TaxType, which must then be 9 (mixed)" });
            }
            let line = item.unit_price.times(item.quantity).map_err(|_| MigError::Overflow { field: f("Amount") })?;
            equal(&f("Amount"), line, item.amount, "Amount = Quantity x UnitPrice")?;
            if !(1..=MAX_ITEMS as u16).contains(&item.sequence_number) {
                return Err(MigError::Range { field: f("SequenceNumber"), min: 1, max: MAX_ITEMS as i64, value: i64::from(item.sequence_number) });
            }
            if !seen.insert(item.sequence_number) {
                return Err(MigError::Duplicate { field: f("SequenceNumber"), value: item.sequence_number.to_string() });
            }
            check::opt_text(&f("Remark"), item.remark.as_deref(), limits.item_remark)?;
        }
        Ok(())
    }

    fn check_amount(&self) -> Result<(), MigError> {
        let a = &self.amount;
        amount("Amount/SalesAmount", a.sales_amount)?;
        amount("Amount/FreeTaxSalesAmount", a.free_tax_sales_amount)?;
        amount("Amount/ZeroTaxSalesAmount", a.zero_tax_sales_amount)?;
        amount("Amount/TaxAmount", a.tax_amount)?;
        amount("Amount/TotalAmount", a.total_amount)?;

        let rate_ok = match a.tax_type {
            TaxType::Taxable | TaxType::Mixed => a.tax_rate_percent == 5,
            TaxType::ZeroRated | TaxType::Exempt => a.tax_rate_percent == 0,
            TaxType::Special => (1..=25).contains(&a.tax_rate_percent),
        };
        if !rate_ok {
            return Err(MigError::Mismatch {
                field: "Amount/TaxRate".into(),
                expected: match a.tax_type {
                    TaxType::Taxable | TaxType::Mixed => "0.05".into(),
                    TaxType::ZeroRated | TaxType::Exempt => "0".into(),
                    TaxType::Special => "a special rate 0.01..0.25".into(),
                },
                actual: fmt_rate(a.tax_rate_percent),
                rule: "TaxRate follows TaxType",
            });
        }
        if self.is_b2c() {
            equal("Amount/TaxAmount", Ntd::ZERO, a.tax_amount, "a B2C invoice's SalesAmount includes the tax and TaxAmount is 0")?;
        }
        if matches!(a.tax_type, TaxType::ZeroRated | TaxType::Exempt) {
            equal("Amount/TaxAmount", Ntd::ZERO, a.tax_amount, "no tax on zero-rated or exempt sales")?;
        }
        let total = sum("Amount/TotalAmount", [a.sales_amount, a.free_tax_sales_amount, a.zero_tax_sales_amount, a.tax_amount])?;
        equal("Amount/TotalAmount", total, a.total_amount, "TotalAmount = SalesAmount + FreeTaxSalesAmount + ZeroTaxSalesAmount + TaxAmount")?;

        let by_type = |pred: fn(TaxType) -> bool| sum("Details/ProductItem", self.items.iter().filter(|i| pred(i.tax_type)).map(|i| i.amount));
        let taxable = by_type(|t| matches!(t, TaxType::Taxable | TaxType::Special))?;
        let exempt = by_type(|t| t == TaxType::Exempt)?;
        let zero = by_type(|t| t == TaxType::ZeroRated)?;
        equal("Amount/FreeTaxSalesAmount", exempt, a.free_tax_sales_amount, "the sum of the exempt (TaxType 3) items")?;
        equal("Amount/ZeroTaxSalesAmount", zero, a.zero_tax_sales_amount, "the sum of the zero-rated (TaxType 2) items")?;
        // B2B items may be written with or without tax; B2C items always include it.
        let with_tax = sum("Amount/SalesAmount", [a.sales_amount, a.tax_amount])?;
        if taxable != a.sales_amount && (self.is_b2c() || taxable != with_tax) {
            equal("Amount/SalesAmount", taxable, a.sales_amount, "the sum of the taxable (TaxType 1, 4) items")?;
        }
        if a.zero_tax_sales_amount.dollars() > 0 && self.zero_tax_rate_reason.is_none() {
            return Err(MigError::Rule { field: "Main/ZeroTaxRateReason".into(), rule: "required when the invoice has zero-rated sales (MIG 4.1)" });
        }
        Ok(())
    }

    fn write(&self) -> String {
        let mut w = XmlWriter::new(MessageType::F0401);
        w.open("Main");
        w.leaf("InvoiceNumber", &self.invoice_number);
        w.leaf("InvoiceDate", &check::fmt_date(self.invoice_date));
        w.leaf("InvoiceTime", &check::fmt_time(self.invoice_time));
        check::write_party(&mut w, "Seller", &self.seller, true);
        check::write_party(&mut w, "Buyer", &self.buyer, true);
        w.opt_leaf("MainRemark", self.main_remark.as_deref());
        w.opt_leaf("CustomsClearanceMark", self.customs_clearance_mark.as_deref());
        w.opt_leaf("RelateNumber", self.relate_number.as_deref());
        w.leaf("InvoiceType", self.invoice_type.code());
        w.leaf("DonateMark", if self.donate_mark { "1" } else { "0" });
        if let Some(c) = &self.carrier {
            w.leaf("CarrierType", &c.carrier_type);
            w.leaf("CarrierId1", &c.id1);
            w.leaf("CarrierId2", &c.id2);
        }
        w.leaf("PrintMark", if self.print_mark { "Y" } else { "N" });
        w.opt_leaf("NPOBAN", self.npoban.as_deref());
        w.leaf("RandomNumber", &self.random_number);
        w.opt_leaf("ZeroTaxRateReason", self.zero_tax_rate_reason.as_deref());
        w.close();

        w.open("Details");
        for item in &self.items {
            w.open("ProductItem");
            w.leaf("Description", &item.description);
            w.leaf("Quantity", &item.quantity.to_string());
            w.opt_leaf("Unit", item.unit.as_deref());
            w.leaf("UnitPrice", &item.unit_price.dollars().to_string());
            w.leaf("TaxType", item.tax_type.code());
            w.leaf("Amount", &item.amount.dollars().to_string());
            w.leaf("SequenceNumber", &item.sequence_number.to_string());
            w.opt_leaf("Remark", item.remark.as_deref());
            w.close();
        }
        w.close();

        let a = &self.amount;
        w.open("Amount");
        w.leaf("SalesAmount", &a.sales_amount.dollars().to_string());
        w.leaf("FreeTaxSalesAmount", &a.free_tax_sales_amount.dollars().to_string());
        w.leaf("ZeroTaxSalesAmount", &a.zero_tax_sales_amount.dollars().to_string());
        w.leaf("TaxType", a.tax_type.code());
        w.leaf("TaxRate", &fmt_rate(a.tax_rate_percent));
        w.leaf("TaxAmount", &a.tax_amount.dollars().to_string());
        w.leaf("TotalAmount", &a.total_amount.dollars().to_string());
        w.close();
        w.finish()
    }
}

impl MigMessage for Invoice {
    fn message_type(&self) -> MessageType {
        MessageType::F0401
    }

    fn validate_with(&self, limits: &MigLimits) -> Result<(), MigError> {
        self.check_main(limits)?;
        self.check_items(limits)?;
        self.check_amount()
    }

    fn to_xml_with(&self, limits: &MigLimits) -> Result<String, MigError> {
        self.validate_with(limits)?;
        Ok(self.write())
    }

    fn file_key(&self) -> String {
        self.invoice_number.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_rates_are_decimal_fractions() {
        assert_eq!(fmt_rate(5), "0.05");
        assert_eq!(fmt_rate(0), "0");
        assert_eq!(fmt_rate(25), "0.25");
        assert_eq!(fmt_rate(10), "0.1");
        assert_eq!(fmt_rate(2), "0.02");
    }

    #[test]
    fn carrier_forms() {
        assert!(mobile_barcode("/ABC+-.9"));
        assert!(!mobile_barcode("/abc1234"));
        assert!(!mobile_barcode("ABC12345"));
        assert!(citizen_certificate("AB12345678901234"));
        assert!(!citizen_certificate("AB1234567890123"));
    }
}
