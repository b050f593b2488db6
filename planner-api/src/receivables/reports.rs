//! The accountant's reports: receivables aging per customer, a customer's monthly statement (CSV
//! and a printable page), and the daily reconciliation. Every figure is an exact sum of whole
//! NT$, and each report carries the identities it must satisfy, checked as it is made.

use crate::domain::payment::{CashHandin, Payment, PaymentStatus};
use crate::store::payments::{day_bounds, PaymentFilter};
use crate::store::{PageRequest, Store, StoreError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use payments::matching::OpenInvoice;
use serde::Serialize;
use std::collections::HashMap;

/// One customer's line of the aging report (NT$).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgingRow {
    /// The customer.
    pub customer_id: i64,
    /// Their code.
    pub code: String,
    /// Their name.
    pub name: String,
    /// Owed on invoices 0–30 days old.
    pub days_0_30: i64,
    /// 31–60 days.
    pub days_31_60: i64,
    /// 61–90 days.
    pub days_61_90: i64,
    /// Over 90 days.
    pub over_90: i64,
    /// The four buckets' sum.
    pub total: i64,
}

/// Receivables aging as of a day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgingReport {
    /// The day (Taipei) ages are counted to.
    pub as_of: NaiveDate,
    /// Customers owing something, by id.
    pub customers: Vec<AgingRow>,
    /// All customers: 0–30 days.
    pub days_0_30: i64,
    /// 31–60 days.
    pub days_31_60: i64,
    /// 61–90 days.
    pub days_61_90: i64,
    /// Over 90 days.
    pub over_90: i64,
    /// Everything owed (the sum of the customers' totals and of the buckets).
    pub total: i64,
    /// Customers' credits not applied yet (not netted against what they owe).
    pub credits: i64,
}

fn failed(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { column: "invoices", source: serde::de::Error::custom(what.to_string()) }
}

/// The aging of the balances owed now, by invoice age at `as_of`.
pub async fn aging(store: &Store, as_of: NaiveDate) -> Result<AgingReport, StoreError> {
    let open = store.open_invoices(None).await?;
    let invoices: Vec<OpenInvoice> = open.iter().map(crate::store::payments::OpenInvoiceRow::to_open_invoice).collect();
    let report = payments::aging::aging(&invoices, as_of).map_err(failed)?;
    let mut customers = Vec::with_capacity(report.customers.len());
    for c in &report.customers {
        let (code, name) = match store.get_customer(c.customer.0).await {
            Ok(customer) => (customer.data.code, customer.data.name),
            Err(StoreError::NotFound) => (String::new(), String::new()),
            Err(e) => return Err(e),
        };
        customers.push(AgingRow {
            customer_id: c.customer.0,
            code,
            name,
            days_0_30: c.buckets.days_0_30.0,
            days_31_60: c.buckets.days_31_60.0,
            days_61_90: c.buckets.days_61_90.0,
            over_90: c.buckets.over_90.0,
            total: c.total.0,
        });
    }
    let credits = store.credits_total().await?;
    Ok(AgingReport {
        as_of,
        customers,
        days_0_30: report.buckets.days_0_30.0,
        days_31_60: report.buckets.days_31_60.0,
        days_61_90: report.buckets.days_61_90.0,
        over_90: report.buckets.over_90.0,
        total: report.total.0,
        credits,
    })
}

/// The aging report as CSV (UTF-8 with a byte-order mark, so spreadsheets read the Chinese names).
pub fn aging_csv(r: &AgingReport) -> String {
    let mut out = String::from("\u{feff}customer_id,code,name,days_0_30,days_31_60,days_61_90,over_90,total\r\n");
    for c in &r.customers {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\r\n",
            c.customer_id,
            csv_field(&c.code),
            csv_field(&c.name),
            c.days_0_30,
            c.days_31_60,
            c.days_61_90,
            c.over_90,
            c.total
        ));
    }
    out.push_str(&format!(",,合計 total,{},{},{},{},{}\r\n", r.days_0_30, r.days_31_60, r.days_61_90, r.over_90, r.total));
    out
}

/// One line of a monthly statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatementLine {
    /// The day (Taipei).
    pub date: NaiveDate,
    /// `invoice`, `allowance` or `payment`.
    pub kind: String,
    /// The invoice number (and for payments where the money came from).
    pub reference: String,
    /// Charged, NT$ (negative for an allowance).
    pub charged: i64,
    /// Paid, NT$.
    pub paid: i64,
    /// Owed after this line.
    pub balance: i64,
}

/// A customer's statement of a month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CustomerStatement {
    /// The customer.
    pub customer_id: i64,
    /// Their code.
    pub code: String,
    /// Their name.
    pub name: String,
    /// Their address.
    pub address: String,
    /// The month, `2026-11`.
    pub month: String,
    /// Owed at the start of the month.
    pub opening: i64,
    /// Charged in the month (invoices less allowances).
    pub charged: i64,
    /// Paid in the month (money applied to invoices).
    pub paid: i64,
    /// Owed at the end of the month: `opening + charged − paid`.
    pub closing: i64,
    /// The month's lines, by time.
    pub lines: Vec<StatementLine>,
    /// Credit the customer holds now (money received, not applied).
    pub credit_now: i64,
}

/// Parses `2026-11`.
pub fn parse_month(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    (s.len() == 7).then(|| NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok()).flatten()
}

/// The statement of `customer_id` for the month starting on `first` (a first day of a month).
pub async fn customer_statement(store: &Store, customer_id: i64, first: NaiveDate) -> Result<CustomerStatement, StoreError> {
    let customer = store.get_customer(customer_id).await?;
    let next = if first.month() == 12 { NaiveDate::from_ymd_opt(first.year() + 1, 1, 1) } else { NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1) };
    let next = next.ok_or_else(|| failed("month out of range"))?;
    let (from, _) = day_bounds(first);
    let (until, _) = day_bounds(next);
    let (opening, ledger) = store.ledger(customer_id, from, until).await?;
    let mut balance = opening;
    let (mut charged, mut paid) = (0, 0);
    let lines = ledger
        .into_iter()
        .map(|l| {
            balance += l.debit - l.credit;
            charged += l.debit;
            paid += l.credit;
            StatementLine { date: taipei_day(l.at), kind: l.kind.to_owned(), reference: l.reference, charged: l.debit, paid: l.credit, balance }
        })
        .collect();
    let credit_now = store.customer_account(customer_id).await?.credit;
    Ok(CustomerStatement {
        customer_id,
        code: customer.data.code,
        name: customer.data.name,
        address: customer.data.address,
        month: first.format("%Y-%m").to_string(),
        opening,
        charged,
        paid,
        closing: opening + charged - paid,
        lines,
        credit_now,
    })
}

fn taipei_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&einvoice::calendar::taipei()).date_naive()
}

/// The statement as CSV (UTF-8 with a byte-order mark).
pub fn statement_csv(s: &CustomerStatement) -> String {
    let mut out = String::from("\u{feff}date,kind,reference,charged,paid,balance\r\n");
    out.push_str(&format!("{},opening,,,,{}\r\n", s.month, s.opening));
    for l in &s.lines {
        out.push_str(&format!("{},{},{},{},{},{}\r\n", l.date, l.kind, csv_field(&l.reference), l.charged, l.paid, l.balance));
    }
    out.push_str(&format!("{},closing,,{},{},{}\r\n", s.month, s.charged, s.paid, s.closing));
    out
}

/// The statement as a printable page (A4, zh-TW, no scripts, no outside resources).
pub fn statement_html(s: &CustomerStatement, seller: Option<&str>) -> String {
    let money = |v: i64| format_ntd(v);
    let kind = |k: &str| match k {
        "invoice" => "發票",
        "allowance" => "折讓",
        "payment" => "付款",
        _ => "",
    };
    let mut rows = String::new();
    for l in &s.lines {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>\n",
            l.date,
            kind(&l.kind),
            escape(&l.reference.replace("← cash", "← 現金").replace("← deposit", "← 虛擬帳號入帳")),
            if l.charged != 0 { money(l.charged) } else { String::new() },
            if l.paid != 0 { money(l.paid) } else { String::new() },
            money(l.balance)
        ));
    }
    format!(
        "<!doctype html>\n<html lang=zh-Hant-TW><head><meta charset=utf-8><title>對帳單 {month} {name}</title>\n<style>\
         @page {{ size: A4; margin: 18mm }} body {{ font-family: 'Noto Sans CJK TC', 'PingFang TC', sans-serif; font-size: 11pt; color: #000 }}\
         h1 {{ font-size: 16pt; margin: 0 0 4mm }} table {{ border-collapse: collapse; width: 100% }} th, td {{ border-bottom: 1px solid #999; padding: 2mm 1.5mm; text-align: left }}\
         td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums }} .sum td {{ font-weight: bold; border-top: 2px solid #000 }} .meta {{ margin-bottom: 5mm }}\
         </style></head><body>\n<h1>客戶對帳單 Statement {month}</h1>\n<div class=meta>{seller}<div>客戶 {code} {name}</div><div>{address}</div></div>\n\
         <table><thead><tr><th>日期</th><th>項目</th><th>單號</th><th class=n>應收</th><th class=n>已收</th><th class=n>餘額</th></tr></thead><tbody>\n\
         <tr><td>{month}-01</td><td>上期餘額</td><td></td><td></td><td></td><td class=n>{opening}</td></tr>\n{rows}\
         <tr class=sum><td></td><td>本期合計</td><td></td><td class=n>{charged}</td><td class=n>{paid}</td><td class=n>{closing}</td></tr>\n</tbody></table>\n\
         <p>本期應付餘額 NT${closing}{credit}</p>\n</body></html>\n",
        month = escape(&s.month),
        name = escape(&s.name),
        code = escape(&s.code),
        address = escape(&s.address),
        seller = seller.map(|n| format!("<div>{}</div>", escape(n))).unwrap_or_default(),
        opening = money(s.opening),
        charged = money(s.charged),
        paid = money(s.paid),
        closing = money(s.closing),
        credit = if s.credit_now > 0 { format!("；另有預收款 NT${} 可抵用", money(s.credit_now)) } else { String::new() },
    )
}

/// The day's reconciliation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reconciliation {
    /// The day (Taipei).
    pub date: NaiveDate,
    /// Invoices issued that day and in force.
    pub invoices_issued: i64,
    /// Their total after allowances, NT$.
    pub invoiced: i64,
    /// Of which paid by now.
    pub invoiced_paid: i64,
    /// Of which still owed: `invoiced − invoiced_paid`.
    pub invoiced_open: i64,
    /// Cash collected at the door on the day's deliveries (net of deposits paid back).
    pub cash_collected: i64,
    /// Of which cylinder deposits (押金), not sales.
    pub cash_for_deposits: i64,
    /// Cash the drivers handed in for the day.
    pub cash_handed_in: i64,
    /// Hand-ins recorded.
    pub handins: i64,
    /// Hand-ins with a difference, flagged or resolved, with their stops.
    pub differences: Vec<CashHandin>,
    /// Deposits from the bank received that day, NT$.
    pub deposits_received: i64,
    /// Their count.
    pub deposit_count: i64,
    /// Of the day's deposits: applied to invoices.
    pub deposits_allocated: i64,
    /// Left as customers' credit.
    pub deposits_credit: i64,
    /// Waiting unmatched.
    pub deposits_unmatched: i64,
    /// Refunded or written off.
    pub deposits_adjusted: i64,
    /// Split to other customers' payments.
    pub deposits_split: i64,
    /// Every item waiting in the accountant's queue now (any day), oldest first.
    pub unmatched: Vec<Payment>,
    /// Their total, NT$.
    pub unmatched_total: i64,
    /// Whether the identities hold: deposits = allocated + credit + unmatched + adjusted + split,
    /// invoiced = paid + open.
    pub balanced: bool,
}

/// The reconciliation of `date`.
pub async fn reconciliation(store: &Store, date: NaiveDate) -> Result<Reconciliation, StoreError> {
    let sums = store.day_sums(date).await?;
    let mut differences = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_handins(Some(date), None, PageRequest::after(200, after)).await?;
        differences.extend(page.items.iter().filter(|h| h.difference != 0).cloned());
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let mut unmatched = Vec::new();
    let mut after = None;
    let filter = PaymentFilter { status: Some(PaymentStatus::Unmatched), ..PaymentFilter::default() };
    loop {
        let page = store.list_payments(&filter, PageRequest::after(200, after)).await?;
        unmatched.extend(page.items.iter().cloned());
        match page.next {
            Some(n) if unmatched.len() < 10_000 => after = Some(n),
            _ => break,
        }
    }
    unmatched.reverse();
    let unmatched_total = unmatched.iter().map(|p| p.unapplied).sum();
    let balanced = sums.deposits_received
        == sums.deposits_allocated + sums.deposits_credit + sums.deposits_unmatched + sums.deposits_adjusted + sums.deposits_split
        && sums.invoiced >= sums.invoiced_paid;
    Ok(Reconciliation {
        date,
        invoices_issued: sums.invoices_issued,
        invoiced: sums.invoiced,
        invoiced_paid: sums.invoiced_paid,
        invoiced_open: sums.invoiced - sums.invoiced_paid,
        cash_collected: sums.cash_collected,
        cash_for_deposits: sums.cash_for_deposits,
        cash_handed_in: sums.cash_handed_in,
        handins: sums.handins,
        differences,
        deposits_received: sums.deposits_received,
        deposit_count: sums.deposit_count,
        deposits_allocated: sums.deposits_allocated,
        deposits_credit: sums.deposits_credit,
        deposits_unmatched: sums.deposits_unmatched,
        deposits_adjusted: sums.deposits_adjusted,
        deposits_split: sums.deposits_split,
        unmatched,
        unmatched_total,
        balanced,
    })
}

/// The reconciliation as CSV: one `item,amount` line per figure.
pub fn reconciliation_csv(r: &Reconciliation) -> String {
    let mut out = String::from("\u{feff}item,amount\r\n");
    let rows: [(&str, i64); 16] = [
        ("invoices_issued", r.invoices_issued),
        ("invoiced", r.invoiced),
        ("invoiced_paid", r.invoiced_paid),
        ("invoiced_open", r.invoiced_open),
        ("cash_collected", r.cash_collected),
        ("cash_for_deposits", r.cash_for_deposits),
        ("cash_handed_in", r.cash_handed_in),
        ("handins", r.handins),
        ("deposits_received", r.deposits_received),
        ("deposit_count", r.deposit_count),
        ("deposits_allocated", r.deposits_allocated),
        ("deposits_credit", r.deposits_credit),
        ("deposits_unmatched", r.deposits_unmatched),
        ("deposits_adjusted", r.deposits_adjusted),
        ("deposits_split", r.deposits_split),
        ("unmatched_total", r.unmatched_total),
    ];
    for (item, amount) in rows {
        out.push_str(&format!("{item},{amount}\r\n"));
    }
    let mut by_driver: HashMap<i64, i64> = HashMap::new();
    for h in &r.differences {
        *by_driver.entry(h.driver_id).or_default() += h.difference;
    }
    let mut drivers: Vec<_> = by_driver.into_iter().collect();
    drivers.sort_unstable();
    for (driver, difference) in drivers {
        out.push_str(&format!("handin_difference_driver_{driver},{difference}\r\n"));
    }
    out
}

/// `12,345` (negative `-12,345`).
pub fn format_ntd(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A CSV field, quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or `@`
/// is prefixed with `'` so spreadsheets do not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_money_and_quotes_csv_fields() {
        assert_eq!(format_ntd(0), "0");
        assert_eq!(format_ntd(1234567), "1,234,567");
        assert_eq!(format_ntd(-1000), "-1,000");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
        assert_eq!(parse_month("2026-11"), NaiveDate::from_ymd_opt(2026, 11, 1));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("2026-1"), None);
    }
}
