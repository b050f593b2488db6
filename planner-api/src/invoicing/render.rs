//! From stored invoices to what leaves the service: MIG 4.1 messages for Turnkey (written by the
//! `einvoice` crate's checked writer) and the printed proof. One function per message type; each
//! returns a [`Rendered`] file for the outbox.

use super::Seller;
use crate::domain::invoice::{Allowance, Invoice};
use crate::store::invoicing::{BlankRange, Rendered};
use chrono::{DateTime, FixedOffset, Utc};
use einvoice::calendar::{taipei, upload_deadline, Period};
use einvoice::mig::{self, MigMessage, Party};
use einvoice::money::Ntd;
use einvoice::turnkey::{Route, TurnkeyLayout};
use std::path::Path;

fn local(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&taipei())
}

fn tax_type(code: i64) -> mig::TaxType {
    match code {
        2 => mig::TaxType::ZeroRated,
        3 => mig::TaxType::Exempt,
        4 => mig::TaxType::Special,
        9 => mig::TaxType::Mixed,
        _ => mig::TaxType::Taxable,
    }
}

fn seller_party(seller: &Seller) -> Party {
    let mut party = Party::new(seller.ban.as_str(), seller.name.clone());
    party.address = Some(seller.address.clone());
    party
}

fn buyer_party(invoice: &Invoice) -> Party {
    // The MIG requires a buyer name; for consumers it is conventionally the buyer id again
    // (*unverified*: some integrations write 4 zeros or the carrier id).
    let name = if invoice.b2b { invoice.buyer_name.clone() } else { invoice.buyer_ban.clone() };
    Party::new(invoice.buyer_ban.clone(), name)
}

/// The outbox file of `message` with `revision` (1 for the first message of its type and key).
fn file(message: &impl MigMessage, revision: u32, deadline: DateTime<Utc>) -> Result<Rendered, String> {
    let xml = message.to_xml().map_err(|e| e.to_string())?;
    let file_name = message.suggested_file_name(revision);
    let message_type = message.message_type();
    // Every message goes to the storage route (存證): this seller does not exchange B2B
    // invoices with its buyers over the platform.
    let dir = TurnkeyLayout::default().outbound_dir(Path::new(""), message_type, Route::Storage);
    let destination = dir.join(&file_name).to_string_lossy().into_owned();
    Ok(Rendered { message_type: message_type.as_str(), reference: message.file_key(), file_name, destination, body: xml.into_bytes(), deadline })
}

/// How many messages of `message_type` about `reference` were written before (for the revision).
pub(crate) fn revision(invoice: &Invoice, message_type: &str) -> u32 {
    u32::try_from(invoice.messages.iter().filter(|m| m.message_type == message_type).count()).unwrap_or(u32::MAX - 1) + 1
}

/// F0401: issue an invoice.
pub fn issue(seller: &Seller, invoice: &Invoice, revision: u32) -> Result<Rendered, String> {
    let at = local(invoice.issued_at);
    let carrier = match (&invoice.carrier_type, &invoice.carrier_id) {
        (Some(t), Some(id)) => Some(mig::Carrier { carrier_type: t.clone(), id1: id.clone(), id2: id.clone() }),
        _ => None,
    };
    let items = invoice
        .items
        .iter()
        .map(|item| {
            let quantity = einvoice::tax::Quantity::parse(&item.quantity).map_err(|e| e.to_string())?;
            let whole = quantity.thousandths() / einvoice::tax::Quantity::SCALE;
            if quantity.thousandths() % einvoice::tax::Quantity::SCALE != 0 || whole <= 0 {
                return Err(format!("line {}: quantity {} is not a whole number", item.seq, item.quantity));
            }
            // The printed unit price of a B2B line is its tax-exclusive share, rounded.
            let unit_price =
                if invoice.b2b { Ntd(einvoice::money::div_round_half_up(i128::from(item.amount), i128::from(whole)) as i64) } else { Ntd(item.unit_price) };
            Ok(mig::ProductItem {
                description: item.description.clone(),
                quantity: whole,
                unit: Some(item.unit.clone()),
                unit_price,
                tax_type: tax_type(item.tax_type),
                amount: Ntd(item.amount),
                sequence_number: u16::try_from(item.seq).map_err(|_| "too many lines".to_owned())?,
                remark: None,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let message = mig::Invoice {
        invoice_number: invoice.number.clone(),
        invoice_date: at.date_naive(),
        invoice_time: at.time(),
        seller: seller_party(seller),
        buyer: buyer_party(invoice),
        main_remark: None,
        customs_clearance_mark: None,
        relate_number: None,
        invoice_type: mig::InvoiceType::General,
        donate_mark: invoice.npoban.is_some(),
        carrier,
        print_mark: invoice.print_mark == "Y",
        npoban: invoice.npoban.clone(),
        random_number: invoice.random_code.clone(),
        zero_tax_rate_reason: None,
        items,
        amount: mig::InvoiceAmount {
            sales_amount: Ntd(invoice.sales_amount),
            free_tax_sales_amount: Ntd(invoice.free_tax_sales_amount),
            zero_tax_sales_amount: Ntd(invoice.zero_tax_sales_amount),
            tax_type: tax_type(invoice.tax_type),
            tax_rate_percent: if invoice.sales_amount > 0 { 5 } else { 0 },
            tax_amount: Ntd(invoice.tax_amount),
            total_amount: Ntd(invoice.total_amount),
        },
    };
    let deadline = upload_deadline(at, invoice.b2b).with_timezone(&Utc);
    file(&message, revision, deadline)
}

/// F0501 (作廢發票): void an invoice within its period.
pub fn void(seller: &Seller, invoice: &Invoice, now: DateTime<Utc>) -> Result<Rendered, String> {
    let at = local(now);
    let message = mig::CancelInvoice {
        cancel_invoice_number: invoice.number.clone(),
        invoice_date: local(invoice.issued_at).date_naive(),
        buyer_id: invoice.buyer_ban.clone(),
        seller_id: seller.ban.as_str().to_owned(),
        cancel_date: at.date_naive(),
        cancel_time: at.time(),
        cancel_reason: invoice.status_reason.clone().unwrap_or_default(),
        return_tax_document_number: None,
        remark: None,
    };
    file(&message, revision(invoice, "F0501"), upload_deadline(at, invoice.b2b).with_timezone(&Utc))
}

/// F0701 (註銷發票): cancel a B2C invoice so it can be issued again under its number with
/// corrected carrier or donation.
pub fn cancel(seller: &Seller, invoice: &Invoice, reason: &str, now: DateTime<Utc>) -> Result<Rendered, String> {
    let at = local(now);
    let message = mig::VoidInvoice {
        void_invoice_number: invoice.number.clone(),
        invoice_date: local(invoice.issued_at).date_naive(),
        buyer_id: invoice.buyer_ban.clone(),
        seller_id: seller.ban.as_str().to_owned(),
        void_date: at.date_naive(),
        void_time: at.time(),
        void_reason: reason.to_owned(),
        remark: None,
    };
    file(&message, revision(invoice, "F0701"), upload_deadline(at, invoice.b2b).with_timezone(&Utc))
}

/// G0401: an allowance on an invoice, one line referring to the whole invoice.
pub fn allowance(seller: &Seller, invoice: &Invoice, allowance: &Allowance) -> Result<Rendered, String> {
    let at = local(allowance.issued_at);
    let message = mig::Allowance {
        allowance_number: allowance.number.clone(),
        allowance_date: at.date_naive(),
        seller: seller_party(seller),
        buyer: buyer_party(invoice),
        allowance_type: mig::AllowanceType::SellerIssued,
        items: vec![mig::AllowanceItem {
            original_invoice_date: local(invoice.issued_at).date_naive(),
            original_invoice_number: invoice.number.clone(),
            original_sequence_number: None,
            original_description: format!("折讓：{}", allowance.reason.chars().take(200).collect::<String>()),
            quantity: 1,
            unit: None,
            unit_price: Ntd(allowance.amount),
            amount: Ntd(allowance.amount),
            tax: Ntd(allowance.tax_amount),
            allowance_sequence_number: 1,
            tax_type: if invoice.tax_type == 9 { mig::TaxType::Taxable } else { tax_type(invoice.tax_type) },
        }],
        tax_amount: Ntd(allowance.tax_amount),
        total_amount: Ntd(allowance.amount),
    };
    file(&message, 1, upload_deadline(at, invoice.b2b).with_timezone(&Utc))
}

/// G0501: void an allowance.
pub fn void_allowance(seller: &Seller, invoice: &Invoice, allowance: &Allowance) -> Result<Rendered, String> {
    let now = allowance.status_at.unwrap_or_else(Utc::now);
    let at = local(now);
    let message = mig::CancelAllowance {
        cancel_allowance_number: allowance.number.clone(),
        allowance_type: Some(mig::AllowanceType::SellerIssued),
        allowance_date: local(allowance.issued_at).date_naive(),
        buyer_id: invoice.buyer_ban.clone(),
        seller_id: seller.ban.as_str().to_owned(),
        cancel_date: at.date_naive(),
        cancel_time: at.time(),
        cancel_reason: "折讓作廢".into(),
        remark: None,
    };
    file(&message, 1, upload_deadline(at, invoice.b2b).with_timezone(&Utc))
}

/// E0402: the unused numbers of a closed block.
pub fn blank(seller: &Seller, range: &BlankRange, now: DateTime<Utc>) -> Result<Rendered, String> {
    let period: Period = range.period.parse().map_err(|e: einvoice::calendar::CalendarError| e.to_string())?;
    let message = mig::BranchTrackBlank {
        head_ban: seller.ban.as_str().to_owned(),
        branch_ban: seller.ban.as_str().to_owned(),
        invoice_type: mig::InvoiceType::General,
        year: period.year(),
        month: period.last_month(),
        invoice_track: range.track.clone(),
        ranges: vec![mig::BlankRange { begin: range.first, end: range.last }],
    };
    // Due by the 10th of the next period's first month; the file is written at once.
    let due = period.blank_report_due().and_hms_opt(23, 59, 59).and_then(|t| t.and_local_timezone(taipei()).single());
    let deadline = due.map_or(now, |d| d.with_timezone(&Utc));
    let mut rendered = file(&message, 1, deadline)?;
    // One block per report: the block id keeps two blocks of one track apart.
    rendered.file_name = rendered.file_name.replace(".xml", &format!("_{}.xml", range.block_id));
    rendered.destination = rendered.destination.replace(".xml", &format!("_{}.xml", range.block_id));
    Ok(rendered)
}

/// The printed proof's data of a B2C invoice.
pub fn proof_data(seller: &Seller, invoice: &Invoice) -> einvoice::proof::ProofData {
    einvoice::proof::ProofData {
        seller_ban: seller.ban.as_str().to_owned(),
        seller_name: seller.name.clone(),
        buyer_ban: invoice.b2b.then(|| invoice.buyer_ban.clone()),
        invoice_number: invoice.number.clone(),
        issued_at: local(invoice.issued_at),
        random_code: invoice.random_code.clone(),
        sales_amount: Ntd(invoice.sales_amount),
        tax_amount: Ntd(invoice.tax_amount),
        total_amount: Ntd(invoice.total_amount),
        items: invoice
            .items
            .iter()
            .map(|i| einvoice::proof::ProofItem {
                description: i.description.clone(),
                quantity: i.quantity.clone(),
                unit_price: Ntd(i.unit_price),
                amount: Ntd(i.amount),
            })
            .collect(),
    }
}
