//! Payments' SQL: virtual accounts, statement imports, payments and their allocations to
//! invoices, collections at the door, cash hand-ins, the accountant's decisions, and the reads the
//! reports are made of.
//!
//! Money moves only through [`allocate!`], [`apply_credits!`] and [`release_paid!`], inside the
//! caller's transaction. Each is a pair of conditional updates (the payment still has the money,
//! the invoice still owes it), so two transactions racing for the same money cannot both take it;
//! the schema checks the same invariants (migration 0021).

use super::{with_pool, Page, PageRequest, Store, StoreError};
use crate::domain::payment::{
    state, Adjustment, AllocationView, CashHandin, Collection, CollectionMethod, CylinderMove, Payment, PaymentKind, PaymentStatus, StatementFile,
    VirtualAccountView,
};
use crate::store::page::fetch_page;
use crate::store::page::{Bound, Conditions, IdOrder};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlx::Row;
use std::collections::{HashMap, HashSet};

/// Who the service's own work is recorded as (imports by the SFTP fetch).
pub const SYSTEM: &str = "system";

const PAYMENT_COLUMNS: &str = "id, kind, customer_id, amount, allocated, refunded, written_off, split_out, unapplied, received_on, paid_at, serial, account, \
     payer_name, payer_bank, payer_account, memo, reason, statement_id, collection_id, parent_id, created_by, created_at";
const STATEMENT_COLUMNS: &str =
    "id, source, file_name, sha256, format, encoding, bank_code, account, statement_date, deposits, total AS file_total, new_deposits, duplicates, imported_by, imported_at";
const COLLECTION_COLUMNS: &str = "id, order_id, customer_id, driver_id, delivery_date, method, cash, deposit_change, note, reported_by, reported_at";
const HANDIN_COLUMNS: &str =
    "id, driver_id, delivery_date, amount, expected, difference, status, note, resolution, recorded_by, recorded_at, resolved_by, resolved_at";

/// Rows read per query when looking up many keys (well under both backends' parameter limits).
const CHUNK: usize = 500;

fn corrupt(column: &'static str, what: &str) -> StoreError {
    StoreError::Corrupt { column, source: serde::de::Error::custom(format!("unexpected value {what:?}")) }
}

macro_rules! payment_row {
    ($r:expr) => {{
        let r = $r;
        let kind: String = r.try_get("kind")?;
        let customer_id: Option<i64> = r.try_get("customer_id")?;
        let unapplied: i64 = r.try_get("unapplied")?;
        Ok::<Payment, StoreError>(Payment {
            id: r.try_get("id")?,
            kind: PaymentKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
            status: PaymentStatus::of(customer_id, unapplied),
            customer_id,
            amount: r.try_get("amount")?,
            allocated: r.try_get("allocated")?,
            refunded: r.try_get("refunded")?,
            written_off: r.try_get("written_off")?,
            split_out: r.try_get("split_out")?,
            unapplied,
            received_on: r.try_get("received_on")?,
            paid_at: r.try_get("paid_at")?,
            serial: r.try_get("serial")?,
            account: r.try_get("account")?,
            payer_name: r.try_get("payer_name")?,
            payer_bank: r.try_get("payer_bank")?,
            payer_account: r.try_get("payer_account")?,
            memo: r.try_get("memo")?,
            reason: r.try_get("reason")?,
            statement_id: r.try_get("statement_id")?,
            collection_id: r.try_get("collection_id")?,
            parent_id: r.try_get("parent_id")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            allocations: Vec::new(),
            adjustments: Vec::new(),
        })
    }};
}

macro_rules! statement_row {
    ($r:expr) => {{
        let r = $r;
        Ok::<StatementFile, StoreError>(StatementFile {
            id: r.try_get("id")?,
            source: r.try_get("source")?,
            file_name: r.try_get("file_name")?,
            sha256: r.try_get("sha256")?,
            format: r.try_get("format")?,
            encoding: r.try_get("encoding")?,
            bank_code: r.try_get("bank_code")?,
            account: r.try_get("account")?,
            statement_date: r.try_get("statement_date")?,
            deposits: i64::from(r.try_get::<i32, _>("deposits")?),
            total: r.try_get("file_total")?,
            new_deposits: i64::from(r.try_get::<i32, _>("new_deposits")?),
            duplicates: i64::from(r.try_get::<i32, _>("duplicates")?),
            imported_by: r.try_get("imported_by")?,
            imported_at: r.try_get("imported_at")?,
        })
    }};
}

macro_rules! collection_row {
    ($r:expr) => {{
        let r = $r;
        let method: String = r.try_get("method")?;
        let cash: i64 = r.try_get("cash")?;
        let deposit_change: i64 = r.try_get("deposit_change")?;
        let for_invoice = if method == "cash" { (cash - deposit_change).max(0) } else { 0 };
        Ok::<Collection, StoreError>(Collection {
            id: r.try_get("id")?,
            order_id: r.try_get("order_id")?,
            customer_id: r.try_get("customer_id")?,
            driver_id: r.try_get("driver_id")?,
            delivery_date: r.try_get("delivery_date")?,
            method: CollectionMethod::parse(&method).ok_or_else(|| corrupt("method", &method))?,
            cash,
            deposit_change,
            for_invoice,
            cylinders: Vec::new(),
            payment_id: None,
            note: r.try_get("note")?,
            reported_by: r.try_get("reported_by")?,
            reported_at: r.try_get("reported_at")?,
        })
    }};
}

macro_rules! handin_row {
    ($r:expr) => {{
        let r = $r;
        Ok::<CashHandin, StoreError>(CashHandin {
            id: r.try_get("id")?,
            driver_id: r.try_get("driver_id")?,
            delivery_date: r.try_get("delivery_date")?,
            amount: r.try_get("amount")?,
            expected: r.try_get("expected")?,
            difference: r.try_get("difference")?,
            status: r.try_get("status")?,
            note: r.try_get("note")?,
            resolution: r.try_get("resolution")?,
            recorded_by: r.try_get("recorded_by")?,
            recorded_at: r.try_get("recorded_at")?,
            resolved_by: r.try_get("resolved_by")?,
            resolved_at: r.try_get("resolved_at")?,
            stops: Vec::new(),
        })
    }};
}

/// An allocation row joined with its invoice's number.
macro_rules! allocation_view {
    ($r:expr) => {{
        let r = $r;
        Ok::<AllocationView, StoreError>(AllocationView {
            id: r.try_get("id")?,
            payment_id: r.try_get("payment_id")?,
            invoice_id: r.try_get("invoice_id")?,
            invoice_number: r.try_get("number")?,
            amount: r.try_get("amount")?,
            rule: r.try_get("rule")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
        })
    }};
}

macro_rules! open_invoice_row {
    ($r:expr) => {{
        let r = $r;
        Ok::<OpenInvoiceRow, StoreError>(OpenInvoiceRow {
            id: r.try_get("id")?,
            number: r.try_get("number")?,
            customer_id: r.try_get("customer_id")?,
            issued_at: r.try_get("issued_at")?,
            total: r.try_get("total")?,
            balance: r.try_get("balance")?,
        })
    }};
}

/// Applies `amount` of a payment to an invoice in the caller's transaction: the payment must
/// still have it unapplied and the invoice (issued) must still owe it. Evaluates to `true` when
/// done, `false` (and nothing changed) otherwise.
macro_rules! allocate {
    ($tx:expr, $payment:expr, $invoice:expr, $amount:expr, $rule:expr, $by:expr, $now:expr) => {{
        let (payment, invoice, amount): (i64, i64, i64) = ($payment, $invoice, $amount);
        let taken = sqlx::query("UPDATE payments SET allocated = allocated + $1, unapplied = unapplied - $1 WHERE id = $2 AND unapplied >= $1")
            .bind(amount)
            .bind(payment)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if taken != 1 {
            false
        } else {
            let owed = sqlx::query(
                "UPDATE invoices SET paid_amount = paid_amount + $1 WHERE id = $2 AND status = 'issued' AND paid_amount + $1 <= total_amount - allowed_amount",
            )
            .bind(amount)
            .bind(invoice)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if owed != 1 {
                sqlx::query("UPDATE payments SET allocated = allocated - $1, unapplied = unapplied + $1 WHERE id = $2")
                    .bind(amount)
                    .bind(payment)
                    .execute(&mut *$tx)
                    .await?;
                false
            } else {
                sqlx::query("INSERT INTO allocations (payment_id, invoice_id, amount, rule, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(payment)
                    .bind(invoice)
                    .bind(amount)
                    .bind($rule)
                    .bind($by)
                    .bind($now)
                    .execute(&mut *$tx)
                    .await?;
                true
            }
        }
    }};
}
pub(crate) use allocate;

/// Applies the customer's credits (payments with money unapplied, oldest first) to one invoice,
/// as far as it owes, in the caller's transaction (a new invoice takes money paid before it).
macro_rules! apply_credits {
    ($tx:expr, $customer:expr, $invoice:expr, $by:expr, $now:expr) => {{
        let (customer, invoice): (i64, i64) = ($customer, $invoice);
        let owed: Option<i64> = sqlx::query_scalar("SELECT total_amount - allowed_amount - paid_amount FROM invoices WHERE id = $1 AND status = 'issued'")
            .bind(invoice)
            .fetch_optional(&mut *$tx)
            .await?;
        let mut left = owed.unwrap_or(0);
        if left > 0 {
            let credits: Vec<(i64, i64)> =
                sqlx::query_as("SELECT id, unapplied FROM payments WHERE customer_id = $1 AND unapplied > 0 ORDER BY received_on, id")
                    .bind(customer)
                    .fetch_all(&mut *$tx)
                    .await?;
            for (payment, unapplied) in credits {
                if left == 0 {
                    break;
                }
                let take = unapplied.min(left);
                if $crate::store::payments::allocate!($tx, payment, invoice, take, "credit", $by, $now) {
                    left -= take;
                }
            }
        }
    }};
}
pub(crate) use apply_credits;

/// Releases money paid on an invoice beyond `$keep`, newest allocations first, back to the
/// payments it came from (their credit again), in the caller's transaction: before an invoice
/// is voided (`$keep` 0) or takes an allowance that leaves it owing less than was paid.
macro_rules! release_paid {
    ($tx:expr, $invoice:expr, $keep:expr) => {{
        let (invoice, keep): (i64, i64) = ($invoice, $keep);
        let paid: i64 = sqlx::query_scalar("SELECT paid_amount FROM invoices WHERE id = $1").bind(invoice).fetch_one(&mut *$tx).await?;
        let mut excess = paid - keep.max(0);
        if excess > 0 {
            let rows: Vec<(i64, i64, i64)> = sqlx::query_as("SELECT id, payment_id, amount FROM allocations WHERE invoice_id = $1 ORDER BY id DESC")
                .bind(invoice)
                .fetch_all(&mut *$tx)
                .await?;
            for (id, payment, amount) in rows {
                if excess == 0 {
                    break;
                }
                let take = amount.min(excess);
                if take == amount {
                    sqlx::query("DELETE FROM allocations WHERE id = $1").bind(id).execute(&mut *$tx).await?;
                } else {
                    sqlx::query("UPDATE allocations SET amount = amount - $1 WHERE id = $2").bind(take).bind(id).execute(&mut *$tx).await?;
                }
                sqlx::query("UPDATE payments SET allocated = allocated - $1, unapplied = unapplied + $1 WHERE id = $2")
                    .bind(take)
                    .bind(payment)
                    .execute(&mut *$tx)
                    .await?;
                sqlx::query("UPDATE invoices SET paid_amount = paid_amount - $1 WHERE id = $2").bind(take).bind(invoice).execute(&mut *$tx).await?;
                excess -= take;
            }
        }
    }};
}
pub(crate) use release_paid;

/// A statement file about to be imported.
#[derive(Clone, Debug)]
pub struct NewStatementFile {
    /// `sftp` or `upload`.
    pub source: &'static str,
    /// The file's name.
    pub file_name: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// `fixed` or `csv`.
    pub format: &'static str,
    /// `utf-8` or `big5`.
    pub encoding: &'static str,
    /// The bank's code.
    pub bank_code: String,
    /// The collection account.
    pub account: String,
    /// The day it covers.
    pub statement_date: NaiveDate,
    /// Who imports it.
    pub imported_by: String,
}

/// One deposit of an import as stored: the statement's line with what matching decided.
#[derive(Clone, Debug)]
pub struct ImportedDeposit<'a> {
    /// The deposit.
    pub deposit: &'a payments::statement::Deposit,
    /// Its owner, when the account is known.
    pub customer_id: Option<i64>,
    /// Why it waits in the queue (a stable code), when it does.
    pub reason: Option<String>,
}

/// What [`Store::store_import`] did.
#[derive(Clone, Debug)]
pub enum ImportOutcome {
    /// Stored.
    Imported(StatementFile),
    /// The same bytes were imported before: nothing was credited.
    AlreadyImported(StatementFile),
    /// Money changed under the matching (another import or decision at the same time): nothing
    /// was stored; match again.
    Conflict,
}

/// An open invoice as matching and aging see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenInvoiceRow {
    /// The invoice.
    pub id: i64,
    /// Its number.
    pub number: String,
    /// Whose.
    pub customer_id: i64,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// Its total after allowances.
    pub total: i64,
    /// What is still owed (> 0).
    pub balance: i64,
}

impl OpenInvoiceRow {
    /// The invoice as the `payments` rules see it (issued on its Taipei day).
    pub fn to_open_invoice(&self) -> payments::matching::OpenInvoice {
        payments::matching::OpenInvoice {
            id: payments::matching::InvoiceId(self.id),
            number: self.number.clone(),
            customer: payments::matching::CustomerId(self.customer_id),
            issued: self.issued_at.with_timezone(&einvoice::calendar::taipei()).date_naive(),
            balance: einvoice::money::Ntd(self.balance),
        }
    }
}

/// A collection about to be stored.
#[derive(Clone, Debug)]
pub struct NewCollection {
    /// The delivered order.
    pub order_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// The route's driver.
    pub driver_id: Option<i64>,
    /// The delivery day.
    pub delivery_date: NaiveDate,
    /// How it is paid.
    pub method: CollectionMethod,
    /// Net cash taken.
    pub cash: i64,
    /// Cylinders moved with their deposits.
    pub cylinders: Vec<CylinderMove>,
    /// The note.
    pub note: Option<String>,
    /// Who reports it.
    pub reported_by: String,
}

impl NewCollection {
    /// Deposits owed (+) or returned (−) by the cylinders moved.
    pub fn deposit_change(&self) -> i64 {
        self.cylinders.iter().map(|c| (i64::from(c.lent) - i64::from(c.returned)) * c.deposit_each).sum()
    }
}

/// Filters of the payments list.
#[derive(Clone, Debug, Default)]
pub struct PaymentFilter {
    /// Where they stand.
    pub status: Option<PaymentStatus>,
    /// Whose.
    pub customer_id: Option<i64>,
    /// Deposits or cash.
    pub kind: Option<PaymentKind>,
    /// Received on this day.
    pub received_on: Option<NaiveDate>,
    /// In this statement file.
    pub statement_id: Option<i64>,
}

/// A customer's money at a glance.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CustomerAccount {
    /// The customer.
    pub customer_id: i64,
    /// Owed on open invoices, NT$.
    pub owed: i64,
    /// Open invoices.
    pub open_invoices: i64,
    /// Credit: money received and not applied, NT$.
    pub credit: i64,
    /// Cylinder deposits (押金) held for the customer, NT$.
    pub deposits_held: i64,
    /// Cylinders the customer holds, per size: (kg, count).
    pub cylinders_held: Vec<(u32, i64)>,
    /// The customer's virtual accounts.
    pub virtual_accounts: Vec<VirtualAccountView>,
}

/// What the payments gauges show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentsBacklog {
    /// Payments waiting in the accountant's queue.
    pub unmatched: i64,
    /// Their NT$.
    pub unmatched_amount: i64,
    /// Hand-ins with a difference not resolved.
    pub handins_flagged: i64,
    /// Seconds since the last fetch that reached the bank, if any did.
    pub last_fetch_ok_age_s: Option<i64>,
    /// Whether the latest fetch failed.
    pub latest_fetch_failed: bool,
}

/// Sums of one day, for the reconciliation (all NT$).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaySums {
    /// Invoices issued that day (in force now).
    pub invoices_issued: i64,
    /// Their total after allowances.
    pub invoiced: i64,
    /// Of which paid by now.
    pub invoiced_paid: i64,
    /// Cash collected at the door (net of deposits paid back).
    pub cash_collected: i64,
    /// Of which cylinder deposits.
    pub cash_for_deposits: i64,
    /// Cash handed in by the drivers for that day.
    pub cash_handed_in: i64,
    /// Hand-ins recorded.
    pub handins: i64,
    /// Hand-ins with a difference not resolved.
    pub handins_flagged: i64,
    /// Deposits from the bank received that day.
    pub deposits_received: i64,
    /// Their count.
    pub deposit_count: i64,
    /// Of the day's deposits: applied to invoices, left as credit, waiting unmatched, refunded or
    /// written off, split to other payments.
    pub deposits_allocated: i64,
    /// Credit.
    pub deposits_credit: i64,
    /// Unmatched.
    pub deposits_unmatched: i64,
    /// Refunded or written off.
    pub deposits_adjusted: i64,
    /// Split off.
    pub deposits_split: i64,
}

/// One line of a customer's monthly statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerLine {
    /// When.
    pub at: DateTime<Utc>,
    /// `invoice`, `allowance` or `payment`.
    pub kind: &'static str,
    /// The invoice number, or the payment's reference.
    pub reference: String,
    /// Charged (+) to the customer.
    pub debit: i64,
    /// Paid (applied) by the customer.
    pub credit: i64,
}

impl Store {
    // ----- virtual accounts ---------------------------------------------------------------

    /// Stores a customer's virtual account; a number already taken is [`StoreError::Duplicate`].
    pub async fn insert_virtual_account(
        &self,
        number: &str,
        customer_id: i64,
        layout: &str,
        due_at: Option<NaiveDateTime>,
        created_by: &str,
    ) -> Result<VirtualAccountView, StoreError> {
        let now = Utc::now();
        let due = due_at.map(|d| d.format("%Y-%m-%dT%H:%M").to_string());
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO virtual_accounts (number, customer_id, layout, due_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(number).bind(customer_id).bind(layout).bind(due_at.map(taipei_to_utc)).bind(created_by).bind(now)
                .execute(pool).await.map_err(super::unique("number"))?;
        });
        Ok(VirtualAccountView { number: number.to_owned(), customer_id, layout: layout.to_owned(), due, created_by: created_by.to_owned(), created_at: now })
    }

    /// Virtual accounts, of one customer or all, by number.
    pub async fn list_virtual_accounts(&self, customer_id: Option<i64>) -> Result<Vec<VirtualAccountView>, StoreError> {
        let sql = "SELECT number, customer_id, layout, due_at, created_by, created_at FROM virtual_accounts WHERE ($1 IS NULL OR customer_id = $1) ORDER BY customer_id, number";
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(customer_id).fetch_all(pool).await?;
            rows.iter().map(|r| {
                let due: Option<DateTime<Utc>> = r.try_get("due_at")?;
                Ok(VirtualAccountView {
                    number: r.try_get("number")?,
                    customer_id: r.try_get("customer_id")?,
                    layout: r.try_get("layout")?,
                    due: due.map(|d| d.with_timezone(&einvoice::calendar::taipei()).format("%Y-%m-%dT%H:%M").to_string()),
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                })
            }).collect()
        })
    }

    /// The owners of these account numbers (unknown numbers are left out).
    pub async fn account_owners(&self, numbers: &[String]) -> Result<HashMap<String, i64>, StoreError> {
        let mut out = HashMap::with_capacity(numbers.len());
        for chunk in numbers.chunks(CHUNK) {
            let sql = format!("SELECT number, customer_id FROM virtual_accounts WHERE number IN ({})", super::jobs::placeholders(1, chunk.len()));
            let rows: Vec<(String, i64)> = with_pool!(self, pool => {
                let mut q = sqlx::query_as(&sql);
                for n in chunk {
                    q = q.bind(n);
                }
                q.fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    // ----- open invoices ------------------------------------------------------------------

    /// Open invoices (issued, owing something) of these customers, or of all when `None`.
    pub async fn open_invoices(&self, customers: Option<&[i64]>) -> Result<Vec<OpenInvoiceRow>, StoreError> {
        const COLUMNS: &str = "SELECT id, number, customer_id, issued_at, total_amount - allowed_amount AS total, \
                               total_amount - allowed_amount - paid_amount AS balance FROM invoices \
                               WHERE status = 'issued' AND total_amount - allowed_amount - paid_amount > 0";
        let mut out = Vec::new();
        match customers {
            None => {
                let sql = format!("{COLUMNS} ORDER BY customer_id, issued_at, id");
                with_pool!(self, pool => {
                    for r in sqlx::query(&sql).fetch_all(pool).await? {
                        out.push(open_invoice_row!(&r)?);
                    }
                });
            }
            Some(customers) => {
                for chunk in customers.chunks(CHUNK) {
                    let sql = format!("{COLUMNS} AND customer_id IN ({}) ORDER BY customer_id, issued_at, id", super::jobs::placeholders(1, chunk.len()));
                    with_pool!(self, pool => {
                        let mut q = sqlx::query(&sql);
                        for c in chunk {
                            q = q.bind(c);
                        }
                        for r in q.fetch_all(pool).await? {
                            out.push(open_invoice_row!(&r)?);
                        }
                    });
                }
            }
        }
        Ok(out)
    }

    /// The serials among `serials` already stored.
    pub async fn known_serials(&self, serials: &[String]) -> Result<HashSet<String>, StoreError> {
        let mut out = HashSet::new();
        for chunk in serials.chunks(CHUNK) {
            let sql = format!("SELECT serial FROM payments WHERE serial IN ({})", super::jobs::placeholders(1, chunk.len()));
            let rows: Vec<String> = with_pool!(self, pool => {
                let mut q = sqlx::query_scalar(&sql);
                for s in chunk {
                    q = q.bind(s);
                }
                q.fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    // ----- statement imports --------------------------------------------------------------

    /// The statement file with these bytes' SHA-256, if imported.
    pub async fn statement_by_sha(&self, sha256: &str) -> Result<Option<StatementFile>, StoreError> {
        let sql = format!("SELECT {STATEMENT_COLUMNS} FROM statement_files WHERE sha256 = $1");
        with_pool!(self, pool => {
            match sqlx::query(&sql).bind(sha256).fetch_optional(pool).await? {
                Some(r) => Ok(Some(statement_row!(&r)?)),
                None => Ok(None),
            }
        })
    }

    /// One statement file.
    pub async fn get_statement_file(&self, id: i64) -> Result<StatementFile, StoreError> {
        let sql = format!("SELECT {STATEMENT_COLUMNS} FROM statement_files WHERE id = $1");
        with_pool!(self, pool => {
            let r = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            statement_row!(&r)
        })
    }

    /// Statement files, newest first.
    pub async fn list_statement_files(&self, date: Option<NaiveDate>, page: PageRequest) -> Result<Page<StatementFile>, StoreError> {
        let mut conditions = Conditions::default();
        if let Some(date) = date {
            conditions.eq("statement_date", Bound::Date(date));
        }
        let query = page.query(STATEMENT_COLUMNS, "statement_files", conditions, IdOrder::Descending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| statement_row!(r)));
        Ok(query.page(items, total, |s| s.id))
    }

    /// Stores an import in one transaction: the file, one payment per deposit not seen before
    /// (`deposits`, with owner and queue reason), the `allocations` (serial, invoice, amount,
    /// rule) and, for imports by the service itself, an audit entry. The same bytes imported
    /// before, or by a concurrent import, give [`ImportOutcome::AlreadyImported`]; money that
    /// moved since the matching gives [`ImportOutcome::Conflict`]; either way nothing is stored.
    pub async fn store_import(
        &self,
        file: &NewStatementFile,
        deposits: &[ImportedDeposit<'_>],
        allocations: &[(&str, i64, i64, &'static str)],
        duplicates: usize,
    ) -> Result<ImportOutcome, StoreError> {
        let now = Utc::now();
        let total: i64 = deposits.iter().map(|d| d.deposit.amount.0).sum();
        let insert_file = format!(
            "INSERT INTO statement_files (source, file_name, sha256, format, encoding, bank_code, account, statement_date, deposits, total, new_deposits, \
             duplicates, imported_by, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING {STATEMENT_COLUMNS}"
        );
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let outcome = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(&insert_file)
                .bind(file.source).bind(&file.file_name).bind(&file.sha256).bind(file.format).bind(file.encoding).bind(&file.bank_code)
                .bind(&file.account).bind(file.statement_date).bind(count(deposits.len() + duplicates)).bind(total).bind(count(deposits.len()))
                .bind(count(duplicates)).bind(&file.imported_by).bind(now)
                .fetch_one(&mut *tx).await;
            let r = match r {
                Ok(r) => r,
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    tx.rollback().await?;
                    return match self.statement_by_sha(&file.sha256).await? {
                        Some(f) => Ok(ImportOutcome::AlreadyImported(f)),
                        None => Ok(ImportOutcome::Conflict),
                    };
                }
                Err(e) => return Err(e.into()),
            };
            let stored = statement_row!(&r)?;
            let mut ids: HashMap<&str, i64> = HashMap::with_capacity(deposits.len());
            for d in deposits {
                let dep = d.deposit;
                let inserted = sqlx::query_scalar::<_, i64>(
                    "INSERT INTO payments (kind, customer_id, amount, unapplied, received_on, paid_at, serial, account, payer_name, payer_bank, payer_account, \
                     memo, reason, statement_id, created_by, created_at) VALUES ('deposit', $1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id")
                    .bind(d.customer_id).bind(dep.amount.0).bind(dep.paid_at.date()).bind(taipei_to_utc(dep.paid_at)).bind(&dep.serial).bind(&dep.account)
                    .bind(&dep.payer_name).bind(&dep.payer_bank).bind(&dep.payer_account).bind(&dep.memo).bind(&d.reason).bind(stored.id)
                    .bind(&file.imported_by).bind(now)
                    .fetch_one(&mut *tx).await;
                match inserted {
                    Ok(id) => {
                        ids.insert(dep.serial.as_str(), id);
                    }
                    Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                        tx.rollback().await?;
                        return Ok(ImportOutcome::Conflict);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            for (serial, invoice, amount, rule) in allocations {
                let Some(&payment) = ids.get(serial) else {
                    tx.rollback().await?;
                    return Ok(ImportOutcome::Conflict);
                };
                if !allocate!(tx, payment, *invoice, *amount, *rule, &file.imported_by, now) {
                    tx.rollback().await?;
                    return Ok(ImportOutcome::Conflict);
                }
            }
            if file.source == "sftp" {
                let detail = serde_json::json!({
                    "statement_id": stored.id, "file": file.file_name, "deposits": deposits.len(), "duplicates": duplicates, "total": total,
                    "allocations": allocations.len(), "allocated": allocations.iter().map(|a| a.2).sum::<i64>(),
                });
                sqlx::query("INSERT INTO audit_log (at, user_id, actor, method, path, route, status, request_id, detail) VALUES ($1, 0, $2, 'IMPORT', $3, $4, 200, NULL, $5)")
                    .bind(now).bind(&file.imported_by).bind(format!("/v1/deposits/statements/{}", stored.id)).bind("/v1/deposits/statements/{id}")
                    .bind(detail.to_string()).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            ImportOutcome::Imported(stored)
        });
        Ok(outcome)
    }

    // ----- fetches from the bank ----------------------------------------------------------

    /// Records a fetch from the bank's SFTP server.
    pub async fn record_fetch(&self, ok: bool, imported: usize, failed: usize, error: Option<&str>) -> Result<(), StoreError> {
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO bank_fetches (at, ok, imported, failed, error) VALUES ($1, $2, $3, $4, $5)")
                .bind(Utc::now()).bind(ok).bind(count(imported)).bind(count(failed)).bind(error).execute(pool).await?;
        });
        Ok(())
    }

    /// The payments gauges: items waiting in the accountant's queue and their NT$, flagged
    /// hand-ins, seconds since the last fetch that reached the bank (none: `None`) and whether
    /// the latest fetch failed.
    pub async fn payments_backlog(&self, now: DateTime<Utc>) -> Result<PaymentsBacklog, StoreError> {
        with_pool!(self, pool => {
            let (unmatched, amount): (i64, Option<i64>) =
                sqlx::query_as("SELECT COUNT(*), CAST(SUM(unapplied) AS BIGINT) FROM payments WHERE customer_id IS NULL AND unapplied > 0").fetch_one(pool).await?;
            let flagged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cash_handins WHERE status = 'flagged'").fetch_one(pool).await?;
            let last_ok: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT at FROM bank_fetches WHERE ok ORDER BY id DESC LIMIT 1").fetch_optional(pool).await?;
            let latest_ok: Option<bool> = sqlx::query_scalar("SELECT ok FROM bank_fetches ORDER BY id DESC LIMIT 1").fetch_optional(pool).await?;
            Ok(PaymentsBacklog {
                unmatched,
                unmatched_amount: amount.unwrap_or(0),
                handins_flagged: flagged,
                last_fetch_ok_age_s: last_ok.map(|t| (now - t).num_seconds().max(0)),
                latest_fetch_failed: latest_ok == Some(false),
            })
        })
    }

    // ----- payments -----------------------------------------------------------------------

    /// One payment with its allocations and adjustments.
    pub async fn get_payment(&self, id: i64) -> Result<Payment, StoreError> {
        let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1");
        let mut payment = with_pool!(self, pool => {
            let r = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            payment_row!(&r)?
        });
        self.fill_payment(&mut payment).await?;
        Ok(payment)
    }

    async fn fill_payment(&self, p: &mut Payment) -> Result<(), StoreError> {
        let id = p.id;
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT a.id, a.payment_id, a.invoice_id, i.number, a.amount, a.rule, a.created_by, a.created_at FROM allocations a \
                                    JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = $1 ORDER BY a.id")
                .bind(id).fetch_all(pool).await?;
            p.allocations = rows.iter().map(|r| allocation_view!(r)).collect::<Result<_, _>>()?;
            let rows = sqlx::query("SELECT id, kind, amount, reason, created_by, created_at FROM payment_adjustments WHERE payment_id = $1 ORDER BY id")
                .bind(id).fetch_all(pool).await?;
            p.adjustments = rows.iter().map(|r| Ok::<_, StoreError>(Adjustment {
                id: r.try_get("id")?, kind: r.try_get("kind")?, amount: r.try_get("amount")?, reason: r.try_get("reason")?,
                created_by: r.try_get("created_by")?, created_at: r.try_get("created_at")?,
            })).collect::<Result<_, _>>()?;
        });
        Ok(())
    }

    /// Payments matching `filter`, newest first.
    pub async fn list_payments(&self, filter: &PaymentFilter, page: PageRequest) -> Result<Page<Payment>, StoreError> {
        let mut conditions = Conditions::default();
        match filter.status {
            None => {}
            Some(PaymentStatus::Unmatched) => conditions.term("customer_id IS NULL AND unapplied > 0".to_owned()),
            Some(PaymentStatus::Credit) => conditions.term("customer_id IS NOT NULL AND unapplied > 0".to_owned()),
            Some(PaymentStatus::Settled) => conditions.term("unapplied = 0".to_owned()),
        }
        if let Some(c) = filter.customer_id {
            conditions.eq("customer_id", Bound::Int(c));
        }
        if let Some(k) = filter.kind {
            conditions.eq("kind", Bound::Text(k.as_str().into()));
        }
        if let Some(d) = filter.received_on {
            conditions.eq("received_on", Bound::Date(d));
        }
        if let Some(s) = filter.statement_id {
            conditions.eq("statement_id", Bound::Int(s));
        }
        let query = page.query(PAYMENT_COLUMNS, "payments", conditions, IdOrder::Descending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| payment_row!(r)));
        let mut page = query.page(items, total, |p| p.id);
        for p in &mut page.items {
            self.fill_payment(p).await?;
        }
        Ok(page)
    }

    /// The accountant matches a payment: it becomes `customer_id`'s (when given; every invoice
    /// must be theirs) and `parts` (invoice, amount) are applied. Refused whole when a part is
    /// more than the payment has left or than the invoice owes.
    pub async fn match_payment(&self, id: i64, customer_id: Option<i64>, parts: &[(i64, i64)], by: &str) -> Result<Payment, StoreError> {
        let now = Utc::now();
        let payment = self.get_payment(id).await?;
        let owner = customer_id.or(payment.customer_id);
        if payment.customer_id.is_some() && customer_id.is_some_and(|c| Some(c) != payment.customer_id) {
            return Err(StoreError::Invalid(vec![state(
                "customer_id",
                "other_customer",
                "此款項已屬於其他客戶，請用拆分",
                "this payment is another customer's; split it instead",
            )]));
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(c) = owner {
                let known: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE id = $1").bind(c).fetch_optional(&mut *tx).await?;
                if known.is_none() {
                    tx.rollback().await?;
                    return Err(StoreError::UnknownReference(vec!["customer_id"]));
                }
                sqlx::query("UPDATE payments SET customer_id = $1 WHERE id = $2").bind(c).bind(id).execute(&mut *tx).await?;
            }
            for (i, &(invoice, amount)) in parts.iter().enumerate() {
                let of: Option<i64> = sqlx::query_scalar("SELECT customer_id FROM invoices WHERE id = $1").bind(invoice).fetch_optional(&mut *tx).await?;
                let field = format!("allocations[{i}].invoice_id");
                let problem = match of {
                    None => Some(state(field, "unknown_invoice", "沒有這張發票", "no such invoice")),
                    Some(c) if owner.is_some_and(|o| o != c) || owner.is_none() => {
                        Some(state(field, "other_customer", "發票不屬於此款項的客戶", "the invoice is not the payment's customer's"))
                    }
                    Some(_) => None,
                };
                if let Some(p) = problem {
                    tx.rollback().await?;
                    return Err(StoreError::Invalid(vec![p]));
                }
                if !allocate!(tx, id, invoice, amount, "manual", by, now) {
                    tx.rollback().await?;
                    return Err(StoreError::Invalid(vec![state(format!("allocations[{i}].amount"), "over_allocated",
                        "金額超過款項未沖銷餘額或發票未付餘額", "more than the payment has left or than the invoice owes")]));
                }
            }
            tx.commit().await?;
        });
        self.get_payment(id).await
    }

    /// The accountant splits a payment: each part (customer, amount) becomes a new payment of
    /// that customer (`parent_id` this one), applied at once to the customer's open invoices,
    /// oldest first; what is left of each part is the customer's credit.
    pub async fn split_payment(&self, id: i64, parts: &[(i64, i64)], by: &str) -> Result<Vec<Payment>, StoreError> {
        let now = Utc::now();
        let total: i64 = parts.iter().map(|p| p.1).sum();
        let mut children = Vec::new();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let taken = sqlx::query("UPDATE payments SET split_out = split_out + $1, unapplied = unapplied - $1 WHERE id = $2 AND unapplied >= $1")
                .bind(total).bind(id).execute(&mut *tx).await?.rows_affected();
            if taken != 1 {
                tx.rollback().await?;
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM payments WHERE id = $1").bind(id).fetch_optional(pool).await?;
                return Err(match exists {
                    None => StoreError::NotFound,
                    Some(_) => StoreError::Invalid(vec![state("parts", "over_allocated", "拆分金額合計超過款項未沖銷餘額", "the parts add up to more than the payment has left")]),
                });
            }
            for (i, &(customer, amount)) in parts.iter().enumerate() {
                let known: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE id = $1").bind(customer).fetch_optional(&mut *tx).await?;
                if known.is_none() {
                    tx.rollback().await?;
                    return Err(StoreError::Invalid(vec![state(format!("parts[{i}].customer_id"), "unknown_customer", "沒有這位客戶", "no such customer")]));
                }
                let child: i64 = sqlx::query_scalar(
                    "INSERT INTO payments (kind, customer_id, amount, unapplied, received_on, paid_at, account, payer_name, payer_bank, payer_account, memo, \
                     statement_id, collection_id, parent_id, created_by, created_at) \
                     SELECT kind, $1, $2, $2, received_on, paid_at, account, payer_name, payer_bank, payer_account, memo, statement_id, NULL, id, $3, $4 \
                     FROM payments WHERE id = $5 RETURNING id")
                    .bind(customer).bind(amount).bind(by).bind(now).bind(id).fetch_one(&mut *tx).await?;
                let open: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT id, total_amount - allowed_amount - paid_amount FROM invoices WHERE customer_id = $1 AND status = 'issued' \
                     AND total_amount - allowed_amount - paid_amount > 0 ORDER BY issued_at, id")
                    .bind(customer).fetch_all(&mut *tx).await?;
                let mut left = amount;
                for (invoice, owed) in open {
                    if left == 0 {
                        break;
                    }
                    let take = owed.min(left);
                    if allocate!(tx, child, invoice, take, "oldest", by, now) {
                        left -= take;
                    }
                }
                children.push(child);
            }
            tx.commit().await?;
        });
        let mut out = Vec::with_capacity(children.len());
        for c in children {
            out.push(self.get_payment(c).await?);
        }
        Ok(out)
    }

    /// The accountant refunds (`refund`) or writes off (`write_off`) money left on a payment.
    pub async fn adjust_payment(&self, id: i64, kind: &'static str, amount: i64, reason: &str, by: &str) -> Result<Payment, StoreError> {
        let now = Utc::now();
        let column = if kind == "refund" { "refunded" } else { "written_off" };
        let sql = format!("UPDATE payments SET {column} = {column} + $1, unapplied = unapplied - $1 WHERE id = $2 AND unapplied >= $1");
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(&sql).bind(amount).bind(id).execute(&mut *tx).await?.rows_affected();
            if done != 1 {
                tx.rollback().await?;
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM payments WHERE id = $1").bind(id).fetch_optional(pool).await?;
                return Err(match exists {
                    None => StoreError::NotFound,
                    Some(_) => StoreError::Invalid(vec![state("amount", "over_allocated", "金額超過款項未沖銷餘額", "more than the payment has left")]),
                });
            }
            sqlx::query("INSERT INTO payment_adjustments (payment_id, kind, amount, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id).bind(kind).bind(amount).bind(reason).bind(by).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        self.get_payment(id).await
    }

    // ----- collections at the door --------------------------------------------------------

    /// Stores what was collected at a delivered stop, in one transaction: the collection, its
    /// cylinder moves and, when cash is left for the invoice, a cash payment applied to the
    /// order's invoice if it is issued already (else the customer's credit, which the invoice
    /// takes when issued). The same report again returns the stored one (`false`: not new); a
    /// different one for the same order is refused.
    pub async fn record_collection(&self, c: &NewCollection) -> Result<(Collection, bool), StoreError> {
        if let Some(existing) = self.collection_of_order(c.order_id).await? {
            let same = existing.method == c.method
                && existing.cash == c.cash
                && existing.note == c.note
                && existing.cylinders.iter().map(|m| (m.kg, m.lent, m.returned)).eq(c.cylinders.iter().map(|m| (m.kg, m.lent, m.returned)));
            return if same {
                Ok((existing, false))
            } else {
                Err(StoreError::Invalid(vec![state(
                    "order_id",
                    "already_collected",
                    "此訂單已回報收款，如需更正請洽會計",
                    "this stop's collection is already reported; ask an accountant to correct it",
                )]))
            };
        }
        let now = Utc::now();
        let deposit_change = c.deposit_change();
        // Only cash pays at the door; deposits of cylinders returned by a monthly or transfer
        // customer stay in their deposit balance.
        let for_invoice = if c.method == CollectionMethod::Cash { (c.cash - deposit_change).max(0) } else { 0 };
        let insert = "INSERT INTO collections (order_id, customer_id, driver_id, delivery_date, method, cash, deposit_change, note, reported_by, reported_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = match sqlx::query_scalar(insert).bind(c.order_id).bind(c.customer_id).bind(c.driver_id).bind(c.delivery_date).bind(c.method.as_str())
                .bind(c.cash).bind(deposit_change).bind(&c.note).bind(&c.reported_by).bind(now).fetch_one(&mut *tx).await {
                Ok(id) => id,
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    // A concurrent report of the same stop won.
                    tx.rollback().await?;
                    return Err(StoreError::Invalid(vec![state("order_id", "already_collected", "此訂單已回報收款", "this stop's collection is already reported")]));
                }
                Err(e) => return Err(e.into()),
            };
            for m in &c.cylinders {
                sqlx::query("INSERT INTO cylinder_movements (collection_id, customer_id, cylinder_kg, lent, returned, deposit_each) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(id).bind(c.customer_id).bind(m.kg as i32).bind(m.lent as i32).bind(m.returned as i32).bind(m.deposit_each)
                    .execute(&mut *tx).await?;
            }
            if for_invoice > 0 {
                let payment: i64 = sqlx::query_scalar(
                    "INSERT INTO payments (kind, customer_id, amount, unapplied, received_on, collection_id, created_by, created_at) \
                     VALUES ('cash', $1, $2, $2, $3, $4, $5, $6) RETURNING id")
                    .bind(c.customer_id).bind(for_invoice).bind(c.delivery_date).bind(id).bind(&c.reported_by).bind(now).fetch_one(&mut *tx).await?;
                let invoice: Option<i64> = sqlx::query_scalar("SELECT invoice_id FROM invoice_orders WHERE order_id = $1").bind(c.order_id).fetch_optional(&mut *tx).await?;
                if let Some(invoice) = invoice {
                    let owed: i64 = sqlx::query_scalar("SELECT total_amount - allowed_amount - paid_amount FROM invoices WHERE id = $1").bind(invoice).fetch_one(&mut *tx).await?;
                    let take = owed.min(for_invoice);
                    if take > 0 {
                        allocate!(tx, payment, invoice, take, "door", &c.reported_by, now);
                    }
                }
            }
            tx.commit().await?;
        });
        let stored = self.collection_of_order(c.order_id).await?.ok_or(StoreError::NotFound)?;
        Ok((stored, true))
    }

    /// The collection reported for an order, if any.
    pub async fn collection_of_order(&self, order_id: i64) -> Result<Option<Collection>, StoreError> {
        let sql = format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE order_id = $1");
        let found = with_pool!(self, pool => match sqlx::query(&sql).bind(order_id).fetch_optional(pool).await? {
            Some(r) => Some(collection_row!(&r)?),
            None => None,
        });
        match found {
            Some(mut c) => {
                self.fill_collections(std::slice::from_mut(&mut c)).await?;
                Ok(Some(c))
            }
            None => Ok(None),
        }
    }

    async fn fill_collections(&self, cs: &mut [Collection]) -> Result<(), StoreError> {
        for c in cs.iter_mut() {
            let id = c.id;
            with_pool!(self, pool => {
                let rows = sqlx::query("SELECT cylinder_kg, lent, returned, deposit_each FROM cylinder_movements WHERE collection_id = $1 ORDER BY cylinder_kg")
                    .bind(id).fetch_all(pool).await?;
                c.cylinders = rows.iter().map(|r| Ok::<_, StoreError>(CylinderMove {
                    kg: u32::try_from(r.try_get::<i32, _>("cylinder_kg")?).unwrap_or(0),
                    lent: u32::try_from(r.try_get::<i32, _>("lent")?).unwrap_or(0),
                    returned: u32::try_from(r.try_get::<i32, _>("returned")?).unwrap_or(0),
                    deposit_each: r.try_get("deposit_each")?,
                })).collect::<Result<_, _>>()?;
                c.payment_id = sqlx::query_scalar("SELECT id FROM payments WHERE collection_id = $1").bind(id).fetch_optional(pool).await?;
            });
        }
        Ok(())
    }

    /// Collections of a day, of one driver (or all), by id.
    pub async fn list_collections(&self, date: NaiveDate, driver_id: Option<i64>) -> Result<Vec<Collection>, StoreError> {
        let sql = format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE delivery_date = $1 AND ($2 IS NULL OR driver_id = $2) ORDER BY id");
        let mut out = with_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(date).bind(driver_id).fetch_all(pool).await?;
            rows.iter().map(|r| collection_row!(r)).collect::<Result<Vec<_>, _>>()?
        });
        self.fill_collections(&mut out).await?;
        Ok(out)
    }

    // ----- cash hand-ins ------------------------------------------------------------------

    /// Records the cash a driver handed in for a day against what the day's collections say
    /// they hold; a difference is `flagged` with the stops. One hand-in per driver and day.
    pub async fn record_handin(&self, driver_id: i64, date: NaiveDate, amount: i64, note: Option<&str>, by: &str) -> Result<CashHandin, StoreError> {
        let now = Utc::now();
        let insert = format!(
            "INSERT INTO cash_handins (driver_id, delivery_date, amount, expected, difference, status, note, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {HANDIN_COLUMNS}"
        );
        let mut handin = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let known: Option<i64> = sqlx::query_scalar("SELECT id FROM drivers WHERE id = $1").bind(driver_id).fetch_optional(&mut *tx).await?;
            if known.is_none() {
                tx.rollback().await?;
                return Err(StoreError::UnknownReference(vec!["driver_id"]));
            }
            let expected: Option<i64> = sqlx::query_scalar("SELECT CAST(SUM(cash) AS BIGINT) FROM collections WHERE driver_id = $1 AND delivery_date = $2")
                .bind(driver_id).bind(date).fetch_one(&mut *tx).await?;
            let expected = expected.unwrap_or(0);
            let difference = amount - expected;
            let status = if difference == 0 { "balanced" } else { "flagged" };
            let r = sqlx::query(&insert).bind(driver_id).bind(date).bind(amount).bind(expected).bind(difference).bind(status).bind(note).bind(by).bind(now)
                .fetch_one(&mut *tx).await.map_err(super::unique("delivery_date"))?;
            let h = handin_row!(&r)?;
            tx.commit().await?;
            h
        });
        handin.stops = self.list_collections(date, Some(driver_id)).await?.into_iter().filter(|c| c.cash != 0).collect();
        Ok(handin)
    }

    /// One hand-in with its day's stops.
    pub async fn get_handin(&self, id: i64) -> Result<CashHandin, StoreError> {
        let sql = format!("SELECT {HANDIN_COLUMNS} FROM cash_handins WHERE id = $1");
        let mut h = with_pool!(self, pool => {
            let r = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            handin_row!(&r)?
        });
        h.stops = self.list_collections(h.delivery_date, Some(h.driver_id)).await?.into_iter().filter(|c| c.cash != 0).collect();
        Ok(h)
    }

    /// Hand-ins of a day and/or status, newest first.
    pub async fn list_handins(&self, date: Option<NaiveDate>, status: Option<&str>, page: PageRequest) -> Result<Page<CashHandin>, StoreError> {
        let mut conditions = Conditions::default();
        if let Some(d) = date {
            conditions.eq("delivery_date", Bound::Date(d));
        }
        if let Some(s) = status {
            conditions.eq("status", Bound::Text(s.to_owned().into()));
        }
        let query = page.query(HANDIN_COLUMNS, "cash_handins", conditions, IdOrder::Descending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| handin_row!(r)));
        let mut page = query.page(items, total, |h| h.id);
        for h in &mut page.items {
            h.stops = self.list_collections(h.delivery_date, Some(h.driver_id)).await?.into_iter().filter(|c| c.cash != 0).collect();
        }
        Ok(page)
    }

    /// The accountant resolves a flagged hand-in, saying how.
    pub async fn resolve_handin(&self, id: i64, resolution: &str, by: &str) -> Result<CashHandin, StoreError> {
        let now = Utc::now();
        let done = with_pool!(self, pool => sqlx::query("UPDATE cash_handins SET status = 'resolved', resolution = $1, resolved_by = $2, resolved_at = $3 WHERE id = $4 AND status = 'flagged'")
            .bind(resolution).bind(by).bind(now).bind(id).execute(pool).await?.rows_affected());
        if done != 1 {
            // Not found, or not flagged.
            self.get_handin(id).await?;
            return Err(StoreError::Invalid(vec![state("id", "not_flagged", "此繳款沒有待處理的差額", "this hand-in has no difference to resolve")]));
        }
        self.get_handin(id).await
    }

    // ----- reads for reports --------------------------------------------------------------

    /// All customers' credits: money received from known customers and not applied.
    pub async fn credits_total(&self) -> Result<i64, StoreError> {
        let sum: Option<i64> = with_pool!(self, pool => sqlx::query_scalar("SELECT CAST(SUM(unapplied) AS BIGINT) FROM payments WHERE customer_id IS NOT NULL AND unapplied > 0")
            .fetch_one(pool).await?);
        Ok(sum.unwrap_or(0))
    }

    /// A customer's money at a glance.
    pub async fn customer_account(&self, customer_id: i64) -> Result<CustomerAccount, StoreError> {
        let (owed, open, credit, held, cylinders) = with_pool!(self, pool => {
            let known: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE id = $1").bind(customer_id).fetch_optional(pool).await?;
            if known.is_none() {
                return Err(StoreError::NotFound);
            }
            let (owed, open): (Option<i64>, i64) = sqlx::query_as("SELECT CAST(SUM(total_amount - allowed_amount - paid_amount) AS BIGINT), COUNT(*) FROM invoices \
                WHERE customer_id = $1 AND status = 'issued' AND total_amount - allowed_amount - paid_amount > 0").bind(customer_id).fetch_one(pool).await?;
            let credit: Option<i64> = sqlx::query_scalar("SELECT CAST(SUM(unapplied) AS BIGINT) FROM payments WHERE customer_id = $1 AND unapplied > 0").bind(customer_id).fetch_one(pool).await?;
            let held: Option<i64> = sqlx::query_scalar("SELECT CAST(SUM(deposit_change) AS BIGINT) FROM collections WHERE customer_id = $1").bind(customer_id).fetch_one(pool).await?;
            let cylinders: Vec<(i32, i64)> = sqlx::query_as("SELECT cylinder_kg, CAST(SUM(lent - returned) AS BIGINT) FROM cylinder_movements WHERE customer_id = $1 \
                GROUP BY cylinder_kg ORDER BY cylinder_kg").bind(customer_id).fetch_all(pool).await?;
            (owed.unwrap_or(0), open, credit.unwrap_or(0), held.unwrap_or(0), cylinders)
        });
        Ok(CustomerAccount {
            customer_id,
            owed,
            open_invoices: open,
            credit,
            deposits_held: held,
            cylinders_held: cylinders.into_iter().filter(|c| c.1 != 0).map(|(kg, n)| (u32::try_from(kg).unwrap_or(0), n)).collect(),
            virtual_accounts: self.list_virtual_accounts(Some(customer_id)).await?,
        })
    }

    /// The sums of one Taipei day for the reconciliation.
    pub async fn day_sums(&self, day: NaiveDate) -> Result<DaySums, StoreError> {
        let (from, until) = day_bounds(day);
        with_pool!(self, pool => {
            let (issued, invoiced, paid): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), CAST(SUM(total_amount - allowed_amount) AS BIGINT), CAST(SUM(paid_amount) AS BIGINT) FROM invoices WHERE status = 'issued' AND issued_at >= $1 AND issued_at < $2")
                .bind(from).bind(until).fetch_one(pool).await?;
            let (cash, deposits_part): (Option<i64>, Option<i64>) = sqlx::query_as(
                "SELECT CAST(SUM(cash) AS BIGINT), CAST(SUM(CASE WHEN method = 'cash' THEN deposit_change ELSE 0 END) AS BIGINT) FROM collections WHERE delivery_date = $1")
                .bind(day).fetch_one(pool).await?;
            let (handed, handins, flagged): (Option<i64>, i64, Option<i64>) = sqlx::query_as(
                "SELECT CAST(SUM(amount) AS BIGINT), COUNT(*), CAST(SUM(CASE WHEN status = 'flagged' THEN 1 ELSE 0 END) AS BIGINT) FROM cash_handins WHERE delivery_date = $1")
                .bind(day).fetch_one(pool).await?;
            type Sums = (i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
            let (count, received, allocated, credit, unmatched, adjusted, split): Sums = sqlx::query_as(
                "SELECT COUNT(*), CAST(SUM(amount) AS BIGINT), CAST(SUM(allocated) AS BIGINT), CAST(SUM(CASE WHEN customer_id IS NOT NULL THEN unapplied ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN customer_id IS NULL THEN unapplied ELSE 0 END) AS BIGINT), CAST(SUM(refunded + written_off) AS BIGINT), CAST(SUM(split_out) AS BIGINT) \
                 FROM payments WHERE kind = 'deposit' AND parent_id IS NULL AND received_on = $1")
                .bind(day).fetch_one(pool).await?;
            Ok(DaySums {
                invoices_issued: issued,
                invoiced: invoiced.unwrap_or(0),
                invoiced_paid: paid.unwrap_or(0),
                cash_collected: cash.unwrap_or(0),
                cash_for_deposits: deposits_part.unwrap_or(0),
                cash_handed_in: handed.unwrap_or(0),
                handins,
                handins_flagged: flagged.unwrap_or(0),
                deposits_received: received.unwrap_or(0),
                deposit_count: count,
                deposits_allocated: allocated.unwrap_or(0),
                deposits_credit: credit.unwrap_or(0),
                deposits_unmatched: unmatched.unwrap_or(0),
                deposits_adjusted: adjusted.unwrap_or(0),
                deposits_split: split.unwrap_or(0),
            })
        })
    }

    /// A customer's ledger between two instants: invoices and allowances charged, money applied
    /// (allocations), each dated; and the balance owed before `from`.
    pub async fn ledger(&self, customer_id: i64, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<(i64, Vec<LedgerLine>), StoreError> {
        with_pool!(self, pool => {
            let known: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE id = $1").bind(customer_id).fetch_optional(pool).await?;
            if known.is_none() {
                return Err(StoreError::NotFound);
            }
            let charged: Option<i64> = sqlx::query_scalar("SELECT CAST(SUM(total_amount) AS BIGINT) FROM invoices WHERE customer_id = $1 AND status = 'issued' AND issued_at < $2")
                .bind(customer_id).bind(from).fetch_one(pool).await?;
            let allowed: Option<i64> = sqlx::query_scalar("SELECT CAST(SUM(a.total) AS BIGINT) FROM allowances a JOIN invoices i ON i.id = a.invoice_id \
                WHERE i.customer_id = $1 AND i.status = 'issued' AND a.status = 'issued' AND a.issued_at < $2").bind(customer_id).bind(from).fetch_one(pool).await?;
            let applied: Option<i64> = sqlx::query_scalar("SELECT CAST(SUM(a.amount) AS BIGINT) FROM allocations a JOIN invoices i ON i.id = a.invoice_id \
                WHERE i.customer_id = $1 AND i.status = 'issued' AND a.created_at < $2").bind(customer_id).bind(from).fetch_one(pool).await?;
            let opening = charged.unwrap_or(0) - allowed.unwrap_or(0) - applied.unwrap_or(0);
            let mut lines = Vec::new();
            let rows: Vec<(DateTime<Utc>, String, i64)> = sqlx::query_as("SELECT issued_at, number, total_amount FROM invoices WHERE customer_id = $1 AND status = 'issued' \
                AND issued_at >= $2 AND issued_at < $3").bind(customer_id).bind(from).bind(until).fetch_all(pool).await?;
            lines.extend(rows.into_iter().map(|(at, number, total)| LedgerLine { at, kind: "invoice", reference: number, debit: total, credit: 0 }));
            let rows: Vec<(DateTime<Utc>, String, i64)> = sqlx::query_as("SELECT a.issued_at, a.number, a.total FROM allowances a JOIN invoices i ON i.id = a.invoice_id \
                WHERE i.customer_id = $1 AND i.status = 'issued' AND a.status = 'issued' AND a.issued_at >= $2 AND a.issued_at < $3")
                .bind(customer_id).bind(from).bind(until).fetch_all(pool).await?;
            lines.extend(rows.into_iter().map(|(at, number, total)| LedgerLine { at, kind: "allowance", reference: number, debit: -total, credit: 0 }));
            let rows: Vec<PaymentLine> = sqlx::query_as(
                "SELECT a.created_at, i.number, a.amount, p.kind, p.serial FROM allocations a JOIN invoices i ON i.id = a.invoice_id JOIN payments p ON p.id = a.payment_id \
                 WHERE i.customer_id = $1 AND i.status = 'issued' AND a.created_at >= $2 AND a.created_at < $3")
                .bind(customer_id).bind(from).bind(until).fetch_all(pool).await?;
            lines.extend(rows.into_iter().map(|(at, number, amount, kind, serial)| LedgerLine {
                at,
                kind: "payment",
                reference: match serial {
                    Some(s) => format!("{number} ← {kind} {s}"),
                    None => format!("{number} ← {kind}"),
                },
                debit: 0,
                credit: amount,
            }));
            lines.sort_by(|a, b| (a.at, a.kind, &a.reference).cmp(&(b.at, b.kind, &b.reference)));
            Ok((opening, lines))
        })
    }
}

/// An allocation as a statement line: when, invoice number, amount, payment kind and serial.
type PaymentLine = (DateTime<Utc>, String, i64, String, Option<String>);

/// A Taipei wall-clock time as UTC.
pub fn taipei_to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    (t - chrono::Duration::hours(8)).and_utc()
}

/// The UTC instants bounding a Taipei day: `[from, until)`.
pub fn day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = taipei_to_utc(day.and_hms_opt(0, 0, 0).unwrap_or_default());
    (start, start + chrono::Duration::days(1))
}
