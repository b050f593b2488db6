//! SQL of invoicing: prices, invoice preferences, number blocks (字軌), invoices, allowances and
//! the MIG messages exchanged with Turnkey.
//!
//! **Numbers.** An invoice takes its number inside the transaction that stores it: the first
//! statement increments `next_no` of the lowest open block of the period and branch (`UPDATE …
//! RETURNING`), which holds that block's row lock (PostgreSQL) or the database's write lock
//! (SQLite) until commit. Concurrent issuers therefore take numbers one after another, and a
//! transaction that fails or whose process is killed rolls its increment back: numbers are used
//! in order, never twice, never skipped.
//!
//! **Effects.** The MIG message of every issue, void and allowance is rendered inside the same
//! transaction (its number known) and written to the outbox with its `einvoice_messages` row, so a
//! message exists exactly when its invoice does.

use super::jobs::enqueue_outbox;
use super::page::{fetch_page, Bound, Conditions, IdOrder};
use super::{with_pool, Page, PageRequest, Store, StoreError};
use crate::domain::invoice::{
    Allowance, Buyer, Invoice, InvoiceItem, InvoiceSource, InvoiceStatus, MessageInfo, NewNumberBlock, NewPrice, NumberBlock, Preferences, Price, PriceBasis,
};
use crate::domain::{FieldError, FieldProblem};
use chrono::{DateTime, NaiveDate, Utc};
use einvoice::carrier::B2cDelivery;
use sqlx::Row;

/// An invoice to store; its number is taken when it is stored.
#[derive(Clone, Debug)]
pub struct InvoiceDraft {
    /// The period the invoice date falls in (`2026-11`).
    pub period: String,
    /// The branch whose blocks it uses.
    pub branch: String,
    /// The customer billed.
    pub customer_id: i64,
    /// Where it comes from.
    pub source: InvoiceSource,
    /// The month of a monthly invoice.
    pub month: Option<String>,
    /// Buyer 統一編號 (`0000000000` for B2C).
    pub buyer_ban: String,
    /// Buyer name.
    pub buyer_name: String,
    /// B2B.
    pub b2b: bool,
    /// `Y` or `N`.
    pub print_mark: String,
    /// Carrier type.
    pub carrier_type: Option<String>,
    /// Carrier id.
    pub carrier_id: Option<String>,
    /// Donation code.
    pub npoban: Option<String>,
    /// Random code.
    pub random_code: String,
    /// When.
    pub issued_at: DateTime<Utc>,
    /// SalesAmount.
    pub sales_amount: i64,
    /// FreeTaxSalesAmount.
    pub free_tax_sales_amount: i64,
    /// ZeroTaxSalesAmount.
    pub zero_tax_sales_amount: i64,
    /// Invoice tax type.
    pub tax_type: i64,
    /// TaxAmount.
    pub tax_amount: i64,
    /// TotalAmount.
    pub total_amount: i64,
    /// Lines (their `seq` is 1-based in order).
    pub items: Vec<InvoiceItem>,
    /// The orders it bills: each may be billed by one invoice in force only.
    pub order_ids: Vec<i64>,
    /// Who issues it.
    pub created_by: String,
}

/// A MIG message rendered for the outbox.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// `F0401`, …
    pub message_type: &'static str,
    /// Invoice or allowance number (period + track for E0402).
    pub reference: String,
    /// The file's name.
    pub file_name: String,
    /// The file's path relative to the Turnkey root.
    pub destination: String,
    /// The file's bytes.
    pub body: Vec<u8>,
    /// Upload deadline.
    pub deadline: DateTime<Utc>,
}

/// Renders the message of a stored invoice (its number known), or says why it cannot.
pub type RenderInvoice<'a> = &'a (dyn Fn(&Invoice) -> Result<Rendered, String> + Sync);

/// An unused range of a closed block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlankRange {
    /// The block.
    pub block_id: i64,
    /// Period (`2026-11`).
    pub period: String,
    /// Branch.
    pub branch: String,
    /// 字軌.
    pub track: String,
    /// First unused number.
    pub first: u32,
    /// Last unused number.
    pub last: u32,
}

/// Which invoices a list returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    /// Only this period (`2026-11`).
    pub period: Option<String>,
    /// Only this status.
    pub status: Option<InvoiceStatus>,
    /// Only this customer's.
    pub customer_id: Option<i64>,
    /// Only the invoice billing this order.
    pub order_id: Option<i64>,
}

/// Counts of messages waiting for Turnkey, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageBacklog {
    /// Messages without a result.
    pub pending: i64,
    /// Age in seconds of the oldest of them (0 when none).
    pub oldest_s: i64,
    /// Pending messages whose deadline is within the warning window.
    pub near_deadline: i64,
    /// Pending messages past their deadline.
    pub overdue: i64,
    /// Rejected messages not yet re-sent.
    pub rejected: i64,
}

/// One row of the period report: per message kind and tax type.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    /// `sales` (invoices issued in the period and in force), `voided` (issued in the period,
    /// voided since) or `allowances` (allowances in force issued in the period).
    pub kind: String,
    /// MIG tax type (1 taxable, 2 zero-rated, 3 exempt, 9 mixed).
    pub tax_type: i64,
    /// B2B or B2C.
    pub b2b: bool,
    /// How many.
    pub count: i64,
    /// Sales (or allowance) amounts, NT$.
    pub sales_amount: i64,
    /// Exempt sales.
    pub free_tax_sales_amount: i64,
    /// Zero-rated sales.
    pub zero_tax_sales_amount: i64,
    /// Tax.
    pub tax_amount: i64,
    /// Total.
    pub total_amount: i64,
}

const INVOICE_COLUMNS: &str =
    "id, number, period, branch, customer_id, source, month, buyer_ban, buyer_name, b2b, print_mark, carrier_type, carrier_id, npoban, \
     random_code, issued_at, sales_amount, free_tax_sales_amount, zero_tax_sales_amount, tax_type, tax_amount, total_amount, allowed_amount, paid_amount, \
     status, status_reason, status_at, created_by";
const MESSAGE_COLUMNS: &str = "id, message_type, reference, file_name, status, error_code, error_message, created_at, deadline_at, acknowledged_at";
const BLOCK_COLUMNS: &str = "id, period, branch, track, first_no, last_no, next_no, closed_at, created_by, created_at";
const ALLOWANCE_COLUMNS: &str = "id, number, invoice_id, period, issued_at, amount, tax_amount, total, reason, status, status_at, created_by";
const PRICE_COLUMNS: &str = "id, customer_id, cylinder_kg, basis, unit_price, deposit, effective_from, created_by, created_at";

fn corrupt(column: &'static str, what: &str) -> StoreError {
    StoreError::Corrupt { column, source: <serde_json::Error as serde::de::Error>::custom(what) }
}

fn state(field: impl Into<String>, code: &'static str, zh: &'static str, en: &'static str) -> StoreError {
    StoreError::Invalid(vec![FieldError::new(field, FieldProblem::State { code, zh, en })])
}

macro_rules! invoice_row {
    ($r:expr) => {{
        let r = $r;
        let source: String = r.try_get("source")?;
        let status: String = r.try_get("status")?;
        Ok::<Invoice, StoreError>(Invoice {
            id: r.try_get("id")?,
            number: r.try_get("number")?,
            period: r.try_get("period")?,
            branch: r.try_get("branch")?,
            customer_id: r.try_get("customer_id")?,
            source: InvoiceSource::parse(&source).ok_or_else(|| corrupt("source", &source))?,
            month: r.try_get("month")?,
            buyer_ban: r.try_get("buyer_ban")?,
            buyer_name: r.try_get("buyer_name")?,
            b2b: r.try_get("b2b")?,
            print_mark: r.try_get("print_mark")?,
            carrier_type: r.try_get("carrier_type")?,
            carrier_id: r.try_get("carrier_id")?,
            npoban: r.try_get("npoban")?,
            random_code: r.try_get("random_code")?,
            issued_at: r.try_get("issued_at")?,
            sales_amount: r.try_get("sales_amount")?,
            free_tax_sales_amount: r.try_get("free_tax_sales_amount")?,
            zero_tax_sales_amount: r.try_get("zero_tax_sales_amount")?,
            tax_type: i64::from(r.try_get::<i32, _>("tax_type")?),
            tax_amount: r.try_get("tax_amount")?,
            total_amount: r.try_get("total_amount")?,
            allowed_amount: r.try_get("allowed_amount")?,
            paid_amount: r.try_get("paid_amount")?,
            balance: if status == "issued" {
                r.try_get::<i64, _>("total_amount")? - r.try_get::<i64, _>("allowed_amount")? - r.try_get::<i64, _>("paid_amount")?
            } else {
                0
            },
            status: InvoiceStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            status_reason: r.try_get("status_reason")?,
            status_at: r.try_get("status_at")?,
            created_by: r.try_get("created_by")?,
            items: Vec::new(),
            order_ids: Vec::new(),
            messages: Vec::new(),
        })
    }};
}

macro_rules! message_row {
    ($r:expr) => {{
        let r = $r;
        Ok::<MessageInfo, StoreError>(MessageInfo {
            id: r.try_get("id")?,
            message_type: r.try_get("message_type")?,
            reference: r.try_get("reference")?,
            file_name: r.try_get("file_name")?,
            status: r.try_get("status")?,
            error_code: r.try_get("error_code")?,
            error_message: r.try_get("error_message")?,
            created_at: r.try_get("created_at")?,
            deadline_at: r.try_get("deadline_at")?,
            acknowledged_at: r.try_get("acknowledged_at")?,
        })
    }};
}

macro_rules! block_row {
    ($r:expr) => {{
        let r = $r;
        let first: i64 = r.try_get("first_no")?;
        let last: i64 = r.try_get("last_no")?;
        let next: i64 = r.try_get("next_no")?;
        let track: String = r.try_get("track")?;
        Ok::<NumberBlock, StoreError>(NumberBlock {
            id: r.try_get("id")?,
            period: r.try_get("period")?,
            branch: r.try_get("branch")?,
            first: format!("{first:08}"),
            last: format!("{last:08}"),
            next: (next <= last).then(|| format!("{next:08}")),
            used: next - first,
            remaining: last + 1 - next,
            track,
            closed_at: r.try_get("closed_at")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
        })
    }};
}

macro_rules! allowance_row {
    ($r:expr) => {{
        let r = $r;
        Ok::<Allowance, StoreError>(Allowance {
            id: r.try_get("id")?,
            number: r.try_get("number")?,
            invoice_id: r.try_get("invoice_id")?,
            period: r.try_get("period")?,
            issued_at: r.try_get("issued_at")?,
            amount: r.try_get("amount")?,
            tax_amount: r.try_get("tax_amount")?,
            total: r.try_get("total")?,
            reason: r.try_get("reason")?,
            status: r.try_get("status")?,
            status_at: r.try_get("status_at")?,
            created_by: r.try_get("created_by")?,
        })
    }};
}

macro_rules! price_row {
    ($r:expr) => {{
        let r = $r;
        let basis: String = r.try_get("basis")?;
        Ok::<Price, StoreError>(Price {
            id: r.try_get("id")?,
            data: NewPrice {
                customer_id: r.try_get("customer_id")?,
                cylinder_kg: u32::try_from(r.try_get::<i32, _>("cylinder_kg")?).map_err(|_| corrupt("cylinder_kg", "negative"))?,
                basis: PriceBasis::parse(&basis).ok_or_else(|| corrupt("basis", &basis))?,
                unit_price: r.try_get("unit_price")?,
                deposit: r.try_get("deposit")?,
                effective_from: r.try_get("effective_from")?,
            },
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
        })
    }};
}

/// Inserts a rendered message and its outbox row in the caller's transaction.
macro_rules! insert_message {
    ($tx:expr, $m:expr, $invoice_id:expr, $allowance_id:expr, $now:expr) => {{
        let m: &Rendered = $m;
        sqlx::query(
            "INSERT INTO einvoice_messages (message_type, reference, invoice_id, allowance_id, file_name, status, created_at, deadline_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
        )
        .bind(m.message_type)
        .bind(&m.reference)
        .bind($invoice_id)
        .bind($allowance_id)
        .bind(&m.file_name)
        .bind($now)
        .bind(m.deadline)
        .execute(&mut *$tx)
        .await?;
        enqueue_outbox!(&mut *$tx, "turnkey", &m.destination, &m.body[..], $now)?;
    }};
}

impl Store {
    // ----- prices -------------------------------------------------------------------------

    /// Stores a price. The same customer (or list), size and first day twice is a conflict.
    pub async fn create_price(&self, p: &NewPrice, created_by: &str) -> Result<Price, StoreError> {
        let sql = format!(
            "INSERT INTO prices (customer_id, cylinder_kg, basis, unit_price, deposit, effective_from, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {PRICE_COLUMNS}"
        );
        let kg = i32::try_from(p.cylinder_kg).unwrap_or(i32::MAX);
        with_pool!(self, pool => {
            let r = sqlx::query(&sql)
                .bind(p.customer_id).bind(kg).bind(p.basis.as_str()).bind(p.unit_price).bind(p.deposit).bind(p.effective_from)
                .bind(created_by).bind(Utc::now())
                .fetch_one(pool).await.map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::UnknownReference(vec!["customer_id"]),
                    _ => super::unique("effective_from")(e),
                })?;
            price_row!(&r)
        })
    }

    /// Prices, newest first: a customer's contract prices, or the list prices.
    pub async fn list_prices(&self, customer_id: Option<i64>) -> Result<Vec<Price>, StoreError> {
        let sql = format!(
            "SELECT {PRICE_COLUMNS} FROM prices WHERE ($1 IS NULL AND customer_id IS NULL) OR customer_id = $1 ORDER BY cylinder_kg, effective_from DESC, id DESC"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(customer_id).fetch_all(pool).await?;
            rows.iter().map(|r| price_row!(r)).collect()
        })
    }

    /// The price of a `kg` cylinder for `customer_id` on `date`: the customer's contract price
    /// in effect, else the list price in effect.
    pub async fn price_on(&self, customer_id: i64, kg: u32, date: NaiveDate) -> Result<Option<Price>, StoreError> {
        let sql = format!(
            "SELECT {PRICE_COLUMNS} FROM prices WHERE (customer_id = $1 OR customer_id IS NULL) AND cylinder_kg = $2 AND effective_from <= $3 \
             ORDER BY CASE WHEN customer_id IS NULL THEN 1 ELSE 0 END, effective_from DESC LIMIT 1"
        );
        let kg = i32::try_from(kg).unwrap_or(i32::MAX);
        with_pool!(self, pool => {
            match sqlx::query(&sql).bind(customer_id).bind(kg).bind(date).fetch_optional(pool).await? {
                Some(r) => Ok(Some(price_row!(&r)?)),
                None => Ok(None),
            }
        })
    }

    // ----- preferences --------------------------------------------------------------------

    /// Sets a customer's invoice preferences.
    pub async fn put_preferences(&self, customer_id: i64, buyer: &Buyer, updated_by: &str) -> Result<Preferences, StoreError> {
        let (ban, name, delivery, ctype, cid, npoban) = match buyer {
            Buyer::Business { ban, name } => (Some(ban.as_str().to_owned()), name.clone(), "print", None, None, None),
            Buyer::Consumer(B2cDelivery::Print) => (None, None, "print", None, None, None),
            Buyer::Consumer(B2cDelivery::Carrier(c)) => (None, None, "carrier", Some(c.type_code().to_owned()), Some(c.id().to_owned()), None),
            Buyer::Consumer(B2cDelivery::Donate(d)) => (None, None, "donate", None, None, Some(d.as_str().to_owned())),
        };
        let sql = "INSERT INTO invoice_preferences (customer_id, buyer_ban, buyer_name, delivery, carrier_type, carrier_id, npoban, updated_by, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                   ON CONFLICT (customer_id) DO UPDATE SET buyer_ban = $2, buyer_name = $3, delivery = $4, carrier_type = $5, carrier_id = $6, npoban = $7, \
                   updated_by = $8, updated_at = $9";
        with_pool!(self, pool => {
            sqlx::query(sql).bind(customer_id).bind(&ban).bind(&name).bind(delivery).bind(&ctype).bind(&cid).bind(&npoban).bind(updated_by).bind(Utc::now())
                .execute(pool).await.map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
                    _ => StoreError::Database(e),
                })?;
        });
        self.get_preferences(customer_id).await?.ok_or(StoreError::NotFound)
    }

    /// A customer's invoice preferences, if set.
    pub async fn get_preferences(&self, customer_id: i64) -> Result<Option<Preferences>, StoreError> {
        let sql = "SELECT customer_id, buyer_ban, buyer_name, delivery, carrier_type, carrier_id, npoban, updated_by, updated_at \
                   FROM invoice_preferences WHERE customer_id = $1";
        with_pool!(self, pool => {
            match sqlx::query(sql).bind(customer_id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(Preferences {
                    customer_id: r.try_get("customer_id")?,
                    buyer_ban: r.try_get("buyer_ban")?,
                    buyer_name: r.try_get("buyer_name")?,
                    delivery: r.try_get("delivery")?,
                    carrier_type: r.try_get("carrier_type")?,
                    carrier_id: r.try_get("carrier_id")?,
                    donation_code: r.try_get("npoban")?,
                    updated_by: r.try_get("updated_by")?,
                    updated_at: r.try_get("updated_at")?,
                })),
                None => Ok(None),
            }
        })
    }

    // ----- number blocks ------------------------------------------------------------------

    /// Registers a number block; one overlapping another of the same track and period is refused.
    pub async fn create_number_block(&self, b: &NewNumberBlock, created_by: &str) -> Result<NumberBlock, StoreError> {
        let period = b.period.key();
        let track = b.track.as_str().to_owned();
        let (first, last) = (i64::from(b.first), i64::from(b.last));
        let insert = format!(
            "INSERT INTO number_blocks (period, branch, track, first_no, last_no, next_no, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $4, $6, $7) RETURNING {BLOCK_COLUMNS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // Numbers are unique across periods too (a track letter pair is reissued each period,
            // but the same number twice in one period is never allowed).
            let overlap: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM number_blocks WHERE period = $1 AND track = $2 AND first_no <= $4 AND last_no >= $3")
                .bind(&period).bind(&track).bind(first).bind(last).fetch_one(&mut *tx).await?;
            if overlap > 0 {
                tx.rollback().await?;
                return Err(state("first", "block_overlap", "此字軌號碼區間與已登錄的區間重疊", "these numbers overlap a block already registered"));
            }
            let r = sqlx::query(&insert).bind(&period).bind(&b.branch).bind(&track).bind(first).bind(last).bind(created_by).bind(Utc::now())
                .fetch_one(&mut *tx).await.map_err(super::unique("first"))?;
            let block = block_row!(&r)?;
            tx.commit().await?;
            Ok(block)
        })
    }

    /// Number blocks, optionally of one period (`2026-11`), in the order they are used.
    pub async fn list_number_blocks(&self, period: Option<&str>) -> Result<Vec<NumberBlock>, StoreError> {
        let sql = format!("SELECT {BLOCK_COLUMNS} FROM number_blocks WHERE $1 IS NULL OR period = $1 ORDER BY period, branch, id");
        with_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(period).fetch_all(pool).await?;
            rows.iter().map(|r| block_row!(r)).collect()
        })
    }

    /// Closes every open block of `period` and records one blank-number report (E0402) per block
    /// with unused numbers, rendered by `render` inside the transaction. Returns the ranges.
    pub async fn close_period(
        &self,
        period: &str,
        now: DateTime<Utc>,
        render: &(dyn Fn(&BlankRange) -> Result<Rendered, String> + Sync),
    ) -> Result<Vec<BlankRange>, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query("UPDATE number_blocks SET closed_at = $1 WHERE period = $2 AND closed_at IS NULL RETURNING id, period, branch, track, next_no, last_no")
                .bind(now).bind(period).fetch_all(&mut *tx).await?;
            let mut ranges = Vec::new();
            for r in &rows {
                let (next, last): (i64, i64) = (r.try_get("next_no")?, r.try_get("last_no")?);
                if next > last {
                    continue;
                }
                let range = BlankRange {
                    block_id: r.try_get("id")?,
                    period: r.try_get("period")?,
                    branch: r.try_get("branch")?,
                    track: r.try_get("track")?,
                    first: u32::try_from(next).map_err(|_| corrupt("next_no", "out of range"))?,
                    last: u32::try_from(last).map_err(|_| corrupt("last_no", "out of range"))?,
                };
                let message = render(&range).map_err(|e| render_failed("period", e))?;
                insert_message!(tx, &message, None::<i64>, None::<i64>, now);
                ranges.push(range);
            }
            tx.commit().await?;
            ranges.sort_by(|a, b| (a.branch.as_str(), a.track.as_str(), a.first).cmp(&(b.branch.as_str(), b.track.as_str(), b.first)));
            Ok(ranges)
        })
    }

    /// Numbers left in the open blocks of `period` and `branch`, and the numbers they held.
    pub async fn numbers_left(&self, period: &str, branch: &str) -> Result<(i64, i64), StoreError> {
        let sql =
            "SELECT CAST(COALESCE(SUM(last_no + 1 - next_no), 0) AS BIGINT) AS left_, CAST(COALESCE(SUM(last_no + 1 - first_no), 0) AS BIGINT) AS total_ \
                   FROM number_blocks WHERE period = $1 AND branch = $2 AND closed_at IS NULL";
        with_pool!(self, pool => {
            let r = sqlx::query(sql).bind(period).bind(branch).fetch_one(pool).await?;
            Ok((r.try_get::<i64, _>("left_")?, r.try_get::<i64, _>("total_")?))
        })
    }

    // ----- invoices -----------------------------------------------------------------------

    /// Stores an invoice in one transaction: takes the next number of the period and branch,
    /// inserts the invoice, its items and the orders it bills, renders its message into the
    /// outbox. An order already billed gives [`StoreError::AlreadyInvoiced`]; no open block with
    /// numbers left gives [`StoreError::NoNumbers`]. Either way nothing is stored and no number
    /// is used.
    pub async fn issue_invoice(&self, d: &InvoiceDraft, render: RenderInvoice<'_>) -> Result<Invoice, StoreError> {
        let take = "UPDATE number_blocks SET next_no = next_no + 1 \
                    WHERE id = (SELECT id FROM number_blocks WHERE period = $1 AND branch = $2 AND closed_at IS NULL AND next_no <= last_no ORDER BY id LIMIT 1) \
                    AND closed_at IS NULL AND next_no <= last_no RETURNING id, track, next_no - 1 AS taken";
        let insert = format!(
            "INSERT INTO invoices (number, period, branch, block_id, customer_id, source, month, buyer_ban, buyer_name, b2b, print_mark, carrier_type, \
             carrier_id, npoban, random_code, issued_at, sales_amount, free_tax_sales_amount, zero_tax_sales_amount, tax_type, tax_amount, total_amount, \
             status, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, 'issued', $23) \
             RETURNING {INVOICE_COLUMNS}"
        );
        let now = Utc::now();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // The number first: on SQLite this takes the write lock before any read, so the
            // transaction never has to upgrade a read lock under contention.
            let mut taken = None;
            for _ in 0..16 {
                // Another issuer may exhaust the block chosen by the subquery while this one
                // waits for its lock: the outer condition then matches nothing; try the next.
                if let Some(r) = sqlx::query(take).bind(&d.period).bind(&d.branch).fetch_optional(&mut *tx).await? {
                    taken = Some((r.try_get::<i64, _>("id")?, r.try_get::<String, _>("track")?, r.try_get::<i64, _>("taken")?));
                    break;
                }
                let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM number_blocks WHERE period = $1 AND branch = $2 AND closed_at IS NULL AND next_no <= last_no")
                    .bind(&d.period).bind(&d.branch).fetch_one(&mut *tx).await?;
                if open == 0 {
                    break;
                }
            }
            let Some((block_id, track, number)) = taken else {
                tx.rollback().await?;
                return Err(StoreError::NoNumbers { period: d.period.clone(), branch: d.branch.clone() });
            };
            for &order_id in &d.order_ids {
                let billed: Option<i64> = sqlx::query_scalar("SELECT invoice_id FROM invoice_orders WHERE order_id = $1").bind(order_id).fetch_optional(&mut *tx).await?;
                if let Some(invoice_id) = billed {
                    tx.rollback().await?;
                    return Err(StoreError::AlreadyInvoiced { order_id, invoice_id });
                }
            }
            let r = sqlx::query(&insert)
                .bind(format!("{track}{number:08}")).bind(&d.period).bind(&d.branch).bind(block_id).bind(d.customer_id).bind(d.source.as_str())
                .bind(&d.month).bind(&d.buyer_ban).bind(&d.buyer_name).bind(d.b2b).bind(&d.print_mark).bind(&d.carrier_type).bind(&d.carrier_id)
                .bind(&d.npoban).bind(&d.random_code).bind(d.issued_at).bind(d.sales_amount).bind(d.free_tax_sales_amount).bind(d.zero_tax_sales_amount)
                .bind(i32::try_from(d.tax_type).unwrap_or(0)).bind(d.tax_amount).bind(d.total_amount).bind(&d.created_by)
                .fetch_one(&mut *tx).await;
            let r = match r {
                Ok(r) => r,
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    // The monthly index: this customer's month is already billed.
                    tx.rollback().await?;
                    return Err(StoreError::Duplicate { field: "month" });
                }
                Err(e) => return Err(e.into()),
            };
            let mut invoice = invoice_row!(&r)?;
            for item in &d.items {
                sqlx::query("INSERT INTO invoice_items (invoice_id, seq, order_id, description, quantity_milli, unit, unit_price, tax_type, amount) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(invoice.id).bind(i32::try_from(item.seq).unwrap_or(i32::MAX)).bind(item.order_id).bind(&item.description)
                    .bind(einvoice::tax::Quantity::parse(&item.quantity).map(|q| q.thousandths()).unwrap_or(0))
                    .bind(&item.unit).bind(item.unit_price).bind(i32::try_from(item.tax_type).unwrap_or(0)).bind(item.amount)
                    .execute(&mut *tx).await?;
            }
            for &order_id in &d.order_ids {
                let done = sqlx::query("INSERT INTO invoice_orders (order_id, invoice_id) VALUES ($1, $2)").bind(order_id).bind(invoice.id).execute(&mut *tx).await;
                if let Err(sqlx::Error::Database(db)) = &done {
                    if db.is_unique_violation() {
                        tx.rollback().await?;
                        return Err(StoreError::AlreadyInvoiced { order_id, invoice_id: 0 });
                    }
                }
                done?;
            }
            invoice.items = d.items.clone();
            invoice.order_ids = d.order_ids.clone();
            let message = match render(&invoice) {
                Ok(m) => m,
                Err(e) => {
                    tx.rollback().await?;
                    return Err(render_failed("items", e));
                }
            };
            insert_message!(tx, &message, Some(invoice.id), None::<i64>, now);
            // Money the customer paid before this invoice (cash at the door, a deposit) pays it.
            crate::store::payments::apply_credits!(tx, d.customer_id, invoice.id, &d.created_by, now);
            tx.commit().await?;
            Ok(invoice)
        })
    }

    /// One invoice with its items, orders and messages.
    pub async fn get_invoice(&self, id: i64) -> Result<Invoice, StoreError> {
        let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1");
        let mut invoice = with_pool!(self, pool => {
            let r = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            invoice_row!(&r)?
        });
        self.fill_invoice(&mut invoice).await?;
        Ok(invoice)
    }

    async fn fill_invoice(&self, invoice: &mut Invoice) -> Result<(), StoreError> {
        let id = invoice.id;
        let messages = format!("SELECT {MESSAGE_COLUMNS} FROM einvoice_messages WHERE invoice_id = $1 ORDER BY id");
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT seq, order_id, description, quantity_milli, unit, unit_price, tax_type, amount FROM invoice_items WHERE invoice_id = $1 ORDER BY seq")
                .bind(id).fetch_all(pool).await?;
            invoice.items = rows.iter().map(|r| Ok::<_, StoreError>(InvoiceItem {
                seq: i64::from(r.try_get::<i32, _>("seq")?),
                order_id: r.try_get("order_id")?,
                description: r.try_get("description")?,
                quantity: einvoice::tax::Quantity::from_thousandths(r.try_get("quantity_milli")?).to_string(),
                unit: r.try_get("unit")?,
                unit_price: r.try_get("unit_price")?,
                tax_type: i64::from(r.try_get::<i32, _>("tax_type")?),
                amount: r.try_get("amount")?,
            })).collect::<Result<_, _>>()?;
            invoice.order_ids = sqlx::query_scalar("SELECT order_id FROM invoice_orders WHERE invoice_id = $1 ORDER BY order_id").bind(id).fetch_all(pool).await?;
            let rows = sqlx::query(&messages).bind(id).fetch_all(pool).await?;
            invoice.messages = rows.iter().map(|r| message_row!(r)).collect::<Result<_, _>>()?;
        });
        Ok(())
    }

    /// Invoices matching `filter`, newest first, a page at a time (by offset or by key). Only the
    /// filters set are in the query, so a period's or a customer's keyset pages scan their index
    /// ending with the id (migration 0020), and an order's invoices are found through the order
    /// id's keys of `invoice_orders` and `invoice_items`.
    pub async fn list_invoices(&self, filter: &InvoiceFilter, page: PageRequest) -> Result<Page<Invoice>, StoreError> {
        let mut conditions = Conditions::default();
        if let Some(period) = &filter.period {
            conditions.eq("period", Bound::Text(period.into()));
        }
        if let Some(status) = filter.status {
            conditions.eq("status", Bound::Text(status.as_str().into()));
        }
        if let Some(customer_id) = filter.customer_id {
            conditions.eq("customer_id", Bound::Int(customer_id));
        }
        if let Some(order_id) = filter.order_id {
            let p = conditions.param(Bound::Int(order_id));
            conditions.term(format!(
                "(id IN (SELECT invoice_id FROM invoice_orders WHERE order_id = {p}) OR id IN (SELECT invoice_id FROM invoice_items WHERE order_id = {p}))"
            ));
        }
        let query = page.query(INVOICE_COLUMNS, "invoices", conditions, IdOrder::Descending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| invoice_row!(r)));
        let mut page = query.page(items, total, |i| i.id);
        for invoice in &mut page.items {
            self.fill_invoice(invoice).await?;
        }
        Ok(page)
    }

    /// Voids an invoice in force (F0501): no allowance may be in force on it. Its orders are
    /// free to be billed again. The message is rendered inside the transaction.
    pub async fn void_invoice(&self, id: i64, reason: &str, now: DateTime<Utc>, render: RenderInvoice<'_>) -> Result<Invoice, StoreError> {
        let mut invoice = self.get_invoice(id).await?;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // What was paid on it goes back to the payments, as the customer's credit.
            crate::store::payments::release_paid!(tx, id, 0);
            let updated = sqlx::query("UPDATE invoices SET status = 'voided', status_reason = $1, status_at = $2 WHERE id = $3 AND status = 'issued' AND allowed_amount = 0")
                .bind(reason).bind(now).bind(id).execute(&mut *tx).await?.rows_affected();
            if updated != 1 {
                tx.rollback().await?;
                return Err(if invoice.status == InvoiceStatus::Voided {
                    state("id", "already_voided", "此發票已作廢", "this invoice is already voided")
                } else {
                    state("id", "has_allowances", "此發票已有折讓，請先作廢折讓", "this invoice has allowances in force; void them first")
                });
            }
            sqlx::query("DELETE FROM invoice_orders WHERE invoice_id = $1").bind(id).execute(&mut *tx).await?;
            invoice.status = InvoiceStatus::Voided;
            invoice.status_reason = Some(reason.to_owned());
            invoice.status_at = Some(now);
            let message = match render(&invoice) {
                Ok(m) => m,
                Err(e) => {
                    tx.rollback().await?;
                    return Err(render_failed("reason", e));
                }
            };
            insert_message!(tx, &message, Some(id), None::<i64>, now);
            tx.commit().await?;
        });
        self.get_invoice(id).await
    }

    /// Re-issues an invoice with corrected B2C delivery fields after cancelling (註銷) it: the
    /// cancel message and the new issue message are both written, in one transaction.
    pub async fn cancel_and_reissue(
        &self,
        id: i64,
        delivery: &B2cDelivery,
        render_cancel: RenderInvoice<'_>,
        render_issue: RenderInvoice<'_>,
        now: DateTime<Utc>,
    ) -> Result<Invoice, StoreError> {
        let before = self.get_invoice(id).await?;
        if before.status != InvoiceStatus::Issued || before.b2b {
            return Err(state("id", "not_cancellable", "只有有效的 B2C 發票可以註銷重開", "only a B2C invoice in force can be cancelled and re-issued"));
        }
        let mut after = before.clone();
        after.print_mark = delivery.print_mark().to_owned();
        after.carrier_type = delivery.carrier_type().map(str::to_owned);
        after.carrier_id = delivery.carrier_id().map(str::to_owned);
        after.npoban = delivery.npoban().map(str::to_owned);
        let cancel = render_cancel(&before).map_err(|e| render_failed("id", e))?;
        let issue = render_issue(&after).map_err(|e| render_failed("id", e))?;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query("UPDATE invoices SET print_mark = $1, carrier_type = $2, carrier_id = $3, npoban = $4 WHERE id = $5 AND status = 'issued' AND random_code = $6")
                .bind(&after.print_mark).bind(&after.carrier_type).bind(&after.carrier_id).bind(&after.npoban).bind(id).bind(&before.random_code)
                .execute(&mut *tx).await?.rows_affected();
            if updated != 1 {
                tx.rollback().await?;
                return Err(state("id", "not_cancellable", "只有有效的 B2C 發票可以註銷重開", "only a B2C invoice in force can be cancelled and re-issued"));
            }
            insert_message!(tx, &cancel, Some(id), None::<i64>, now);
            insert_message!(tx, &issue, Some(id), None::<i64>, now);
            tx.commit().await?;
        });
        self.get_invoice(id).await
    }

    // ----- allowances ---------------------------------------------------------------------

    /// Issues an allowance of `total` (tax included) split as `amount` + `tax` on an invoice in
    /// force: never above what is left of the invoice after its other allowances.
    #[allow(clippy::too_many_arguments)]
    pub async fn issue_allowance(
        &self,
        invoice_id: i64,
        period: &str,
        amount: i64,
        tax: i64,
        reason: &str,
        created_by: &str,
        now: DateTime<Utc>,
        render: &(dyn Fn(&Invoice, &Allowance) -> Result<Rendered, String> + Sync),
    ) -> Result<Allowance, StoreError> {
        let invoice = self.get_invoice(invoice_id).await?;
        let total = amount.checked_add(tax).ok_or_else(|| state("amount", "overflow", "金額超出範圍", "amount out of range"))?;
        let insert = format!(
            "INSERT INTO allowances (number, invoice_id, period, issued_at, amount, tax_amount, total, reason, status, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'issued', $9) RETURNING {ALLOWANCE_COLUMNS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // Paid beyond what the invoice asks after the allowance goes back to the payments.
            let left: Option<i64> = sqlx::query_scalar("SELECT total_amount - allowed_amount FROM invoices WHERE id = $1").bind(invoice_id).fetch_optional(&mut *tx).await?;
            if let Some(left) = left.filter(|l| *l >= total) {
                crate::store::payments::release_paid!(tx, invoice_id, left - total);
            }
            let updated = sqlx::query("UPDATE invoices SET allowed_amount = allowed_amount + $1 WHERE id = $2 AND status = 'issued' AND allowed_amount + $1 <= total_amount")
                .bind(total).bind(invoice_id).execute(&mut *tx).await?.rows_affected();
            if updated != 1 {
                tx.rollback().await?;
                return Err(if invoice.status == InvoiceStatus::Voided {
                    state("invoice_id", "voided", "已作廢的發票不能折讓", "a voided invoice takes no allowance")
                } else {
                    state("amount", "allowance_exceeds_invoice", "折讓金額超過發票剩餘可折讓金額", "the allowance is more than what is left of the invoice")
                });
            }
            let seq: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM allowances WHERE invoice_id = $1").bind(invoice_id).fetch_one(&mut *tx).await?;
            let number = format!("{}A{:02}", invoice.number, seq + 1);
            let r = sqlx::query(&insert).bind(&number).bind(invoice_id).bind(period).bind(now).bind(amount).bind(tax).bind(total).bind(reason).bind(created_by)
                .fetch_one(&mut *tx).await?;
            let allowance = allowance_row!(&r)?;
            let message = match render(&invoice, &allowance) {
                Ok(m) => m,
                Err(e) => {
                    tx.rollback().await?;
                    return Err(render_failed("amount", e));
                }
            };
            insert_message!(tx, &message, Some(invoice_id), Some(allowance.id), now);
            tx.commit().await?;
            Ok(allowance)
        })
    }

    /// Voids an allowance in force (G0501): its amount is allowable again.
    pub async fn void_allowance(
        &self,
        allowance_id: i64,
        now: DateTime<Utc>,
        render: &(dyn Fn(&Invoice, &Allowance) -> Result<Rendered, String> + Sync),
    ) -> Result<Allowance, StoreError> {
        let mut allowance = self.get_allowance(allowance_id).await?;
        let invoice = self.get_invoice(allowance.invoice_id).await?;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query("UPDATE allowances SET status = 'voided', status_at = $1 WHERE id = $2 AND status = 'issued'")
                .bind(now).bind(allowance_id).execute(&mut *tx).await?.rows_affected();
            if updated != 1 {
                tx.rollback().await?;
                return Err(state("id", "already_voided", "此折讓已作廢", "this allowance is already voided"));
            }
            sqlx::query("UPDATE invoices SET allowed_amount = allowed_amount - $1 WHERE id = $2").bind(allowance.total).bind(allowance.invoice_id).execute(&mut *tx).await?;
            allowance.status = "voided".into();
            allowance.status_at = Some(now);
            let message = match render(&invoice, &allowance) {
                Ok(m) => m,
                Err(e) => {
                    tx.rollback().await?;
                    return Err(render_failed("id", e));
                }
            };
            insert_message!(tx, &message, Some(allowance.invoice_id), Some(allowance_id), now);
            tx.commit().await?;
        });
        Ok(allowance)
    }

    /// One allowance.
    pub async fn get_allowance(&self, id: i64) -> Result<Allowance, StoreError> {
        let sql = format!("SELECT {ALLOWANCE_COLUMNS} FROM allowances WHERE id = $1");
        with_pool!(self, pool => {
            let r = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            allowance_row!(&r)
        })
    }

    /// An invoice's allowances, oldest first.
    pub async fn list_allowances(&self, invoice_id: i64) -> Result<Vec<Allowance>, StoreError> {
        let sql = format!("SELECT {ALLOWANCE_COLUMNS} FROM allowances WHERE invoice_id = $1 ORDER BY id");
        with_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(invoice_id).fetch_all(pool).await?;
            rows.iter().map(|r| allowance_row!(r)).collect()
        })
    }

    // ----- messages -----------------------------------------------------------------------

    /// Records Turnkey's result for the newest pending or rejected message of `message_type`
    /// about `reference`. Returns whether a message was found.
    pub async fn record_message_result(
        &self,
        message_type: &str,
        reference: &str,
        accepted: bool,
        error_code: Option<&str>,
        error_message: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let status = if accepted { "accepted" } else { "rejected" };
        let sql = "UPDATE einvoice_messages SET status = $1, error_code = $2, error_message = $3, acknowledged_at = $4 \
                   WHERE id = (SELECT id FROM einvoice_messages WHERE message_type = $5 AND reference = $6 AND status IN ('pending', 'rejected') ORDER BY id DESC LIMIT 1)";
        with_pool!(self, pool => {
            let done = sqlx::query(sql).bind(status).bind(error_code).bind(error_message).bind(at).bind(message_type).bind(reference).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// One message.
    pub async fn get_message(&self, id: i64) -> Result<(MessageInfo, Option<i64>, Option<i64>), StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS}, invoice_id, allowance_id FROM einvoice_messages WHERE id = $1");
        with_pool!(self, pool => {
            let r = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            Ok((message_row!(&r)?, r.try_get("invoice_id")?, r.try_get("allowance_id")?))
        })
    }

    /// Marks a rejected message superseded and writes its corrected re-rendering (a new file).
    pub async fn resend_message(&self, id: i64, message: &Rendered, now: DateTime<Utc>) -> Result<MessageInfo, StoreError> {
        let (_, invoice_id, allowance_id) = self.get_message(id).await?;
        let new_id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query("UPDATE einvoice_messages SET status = 'superseded' WHERE id = $1 AND status = 'rejected'").bind(id).execute(&mut *tx).await?.rows_affected();
            if updated != 1 {
                tx.rollback().await?;
                return Err(state("id", "not_rejected", "只有被退回的訊息可以重送", "only a rejected message can be re-sent"));
            }
            insert_message!(tx, message, invoice_id, allowance_id, now);
            let new_id: i64 = sqlx::query_scalar("SELECT id FROM einvoice_messages WHERE file_name = $1").bind(&message.file_name).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            new_id
        });
        Ok(self.get_message(new_id).await?.0)
    }

    /// Messages in `status` (all when none), newest first, a page at a time (by offset or by
    /// key; a status's keyset pages scan `einvoice_messages_status_id`, migration 0020).
    pub async fn list_messages(&self, status: Option<&str>, page: PageRequest) -> Result<Page<MessageInfo>, StoreError> {
        let mut conditions = Conditions::default();
        if let Some(status) = status {
            conditions.eq("status", Bound::Text(status.into()));
        }
        let query = page.query(MESSAGE_COLUMNS, "einvoice_messages", conditions, IdOrder::Descending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| message_row!(r)));
        Ok(query.page(items, total, |m| m.id))
    }

    /// Messages waiting for Turnkey at `now`; "near" their deadline within `warn_within`.
    pub async fn message_backlog(&self, now: DateTime<Utc>, warn_within: chrono::Duration) -> Result<MessageBacklog, StoreError> {
        let soon = now + warn_within;
        with_pool!(self, pool => {
            let r = sqlx::query(
                "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest, \
                 CAST(COALESCE(SUM(CASE WHEN deadline_at > $1 AND deadline_at <= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS near, \
                 CAST(COALESCE(SUM(CASE WHEN deadline_at <= $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS overdue FROM einvoice_messages WHERE status = 'pending'",
            )
            .bind(now).bind(soon).fetch_one(pool).await?;
            let rejected: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM einvoice_messages WHERE status = 'rejected'").fetch_one(pool).await?;
            let oldest: Option<DateTime<Utc>> = r.try_get("oldest")?;
            Ok(MessageBacklog {
                pending: r.try_get("pending")?,
                oldest_s: oldest.map_or(0, |t| (now - t).num_seconds().max(0)),
                near_deadline: r.try_get("near")?,
                overdue: r.try_get("overdue")?,
                rejected,
            })
        })
    }

    // ----- deliveries to bill -------------------------------------------------------------

    /// Delivered orders no invoice in force bills (an anti-join on `invoice_orders`' key, so a
    /// month-end run stays linear in its customers), of `customer_id` (all when none) with a
    /// delivery date in `from..=until`, oldest first.
    pub async fn unbilled_deliveries(&self, customer_id: Option<i64>, from: NaiveDate, until: NaiveDate) -> Result<Vec<(i64, i64)>, StoreError> {
        // Two texts rather than `($1 IS NULL OR customer_id = $1)`, which keeps both databases from
        // using the customer index: one customer's orders are then found by the index, not a scan.
        let unbilled = "status = 'delivered' AND delivery_date >= $1 AND delivery_date <= $2 \
                        AND NOT EXISTS (SELECT 1 FROM invoice_orders io WHERE io.order_id = orders.id)";
        let one = format!("SELECT id, customer_id FROM orders WHERE customer_id = $3 AND {unbilled} ORDER BY delivery_date, id");
        let all = format!("SELECT id, customer_id FROM orders WHERE {unbilled} ORDER BY customer_id, delivery_date, id");
        with_pool!(self, pool => {
            let rows = match customer_id {
                Some(c) => sqlx::query(&one).bind(from).bind(until).bind(c).fetch_all(pool).await?,
                None => sqlx::query(&all).bind(from).bind(until).fetch_all(pool).await?,
            };
            rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("customer_id")?))).collect()
        })
    }

    /// Monthly-account customers with delivered, unbilled orders dated in `from..=until`.
    pub async fn monthly_customers_to_bill(&self, from: NaiveDate, until: NaiveDate) -> Result<Vec<i64>, StoreError> {
        let sql = "SELECT DISTINCT o.customer_id FROM orders o JOIN customers c ON c.id = o.customer_id \
                   WHERE c.payment_method = 'monthly' AND o.status = 'delivered' AND o.delivery_date >= $1 AND o.delivery_date <= $2 \
                   AND NOT EXISTS (SELECT 1 FROM invoice_orders io WHERE io.order_id = o.id) ORDER BY o.customer_id";
        with_pool!(self, pool => Ok(sqlx::query_scalar(sql).bind(from).bind(until).fetch_all(pool).await?))
    }

    // ----- the period report --------------------------------------------------------------

    /// What the 401 filing of `period` needs: sales in force, voided sales and allowances in
    /// force, per tax type and buyer kind.
    pub async fn period_report(&self, period: &str) -> Result<Vec<ReportRow>, StoreError> {
        let invoices = "SELECT CASE WHEN status = 'issued' THEN 'sales' ELSE 'voided' END AS kind, tax_type, b2b, COUNT(*) AS n, \
                        CAST(SUM(sales_amount) AS BIGINT) AS sales, CAST(SUM(free_tax_sales_amount) AS BIGINT) AS free, CAST(SUM(zero_tax_sales_amount) AS BIGINT) AS zero, \
                        CAST(SUM(tax_amount) AS BIGINT) AS tax, CAST(SUM(total_amount) AS BIGINT) AS total \
                        FROM invoices WHERE period = $1 GROUP BY 1, tax_type, b2b ORDER BY 1, tax_type, b2b";
        let allowances = "SELECT 'allowances' AS kind, i.tax_type, i.b2b, COUNT(*) AS n, CAST(SUM(a.amount) AS BIGINT) AS sales, CAST(0 AS BIGINT) AS free, CAST(0 AS BIGINT) AS zero, \
                          CAST(SUM(a.tax_amount) AS BIGINT) AS tax, CAST(SUM(a.total) AS BIGINT) AS total FROM allowances a JOIN invoices i ON i.id = a.invoice_id WHERE a.period = $1 AND a.status = 'issued' \
                          GROUP BY i.tax_type, i.b2b ORDER BY i.tax_type, i.b2b";
        with_pool!(self, pool => {
            let mut out = Vec::new();
            for sql in [invoices, allowances] {
                for r in sqlx::query(sql).bind(period).fetch_all(pool).await? {
                    out.push(ReportRow {
                        kind: r.try_get("kind")?,
                        tax_type: i64::from(r.try_get::<i32, _>("tax_type")?),
                        b2b: r.try_get("b2b")?,
                        count: r.try_get("n")?,
                        sales_amount: r.try_get("sales")?,
                        free_tax_sales_amount: r.try_get("free")?,
                        zero_tax_sales_amount: r.try_get("zero")?,
                        tax_amount: r.try_get("tax")?,
                        total_amount: r.try_get("total")?,
                    });
                }
            }
            Ok(out)
        })
    }
}

/// A message that cannot be written within the MIG's limits: the request is refused whole.
fn render_failed(field: &'static str, detail: String) -> StoreError {
    StoreError::Invalid(vec![FieldError::new(field, FieldProblem::Input { code: "mig_limit", zh: "電子發票訊息超出 MIG 4.1 欄位限制", detail })])
}
