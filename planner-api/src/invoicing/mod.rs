//! The invoicing module: Taiwan e-invoices for what was delivered.
//!
//! - A stop reported delivered enqueues one `invoice.issue` job in the transaction that records
//!   the delivery (keyed by the order, so replays and retries enqueue nothing more); the job
//!   issues the customer's invoice: B2C to a carrier, a donation code or print, B2B with the
//!   buyer's 統一編號. Monthly-account customers are skipped there and billed by the month-end run
//!   (`invoice.monthly`): one consolidated invoice per customer and month.
//! - Numbers come from the registered blocks (字軌) inside the issuing transaction
//!   ([`crate::store::invoicing`]): in order, never twice, never skipped.
//! - Every message (F0401 issue, F0501 void, F0701 cancel, G0401 allowance, G0501 allowance void,
//!   E0402 blank numbers) is rendered by [`render`] in the transaction of its change and written to
//!   Turnkey's outbound folders by the outbox ([`crate::jobs`]); the recurring `turnkey.scan` job
//!   ingests Turnkey's results and marks each message accepted or rejected.
//!
//! Amounts are whole NT$ ([`einvoice::money::Ntd`]); prices are tax-inclusive; tax follows
//! [`einvoice::tax`]. The terms of the MIG are reversed from their English reading: F0501 is
//! 作廢 (`CancelInvoice`, called *void* here, as accountants say), F0701 is 註銷 (`VoidInvoice`,
//! called *cancel* here: withdrawn so that the same number is issued again with a corrected
//! carrier or donation).

pub mod render;

use crate::domain::invoice::{Allowance, Buyer, Invoice, InvoiceItem, InvoiceSource};
use crate::domain::{FieldError, FieldProblem, PaymentMethod};
use crate::jobs::{Channels, Handlers, Outcome};
use crate::store::invoicing::{BlankRange, InvoiceDraft};
use crate::store::jobs::ClaimedEffect;
use crate::store::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use einvoice::ban::Ban;
use einvoice::calendar::{taipei, Period};
use einvoice::carrier::B2cDelivery;
use einvoice::money::Ntd;
use einvoice::tax::{self, BuyerKind, Line, Quantity, TaxType};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Kinds of background jobs of this module.
pub mod kinds {
    /// Issue the invoice of one delivered order (`{"order_id": 7}`).
    pub const ISSUE: &str = "invoice.issue";
    /// Issue the consolidated invoices of a month (`{"month": "2026-12"}`).
    pub const MONTHLY: &str = "invoice.monthly";
    /// Ingest Turnkey's result files (recurring).
    pub const TURNKEY_SCAN: &str = "turnkey.scan";
}

/// The outbox channel of Turnkey files.
pub const TURNKEY_CHANNEL: &str = "turnkey";

/// Who issues the invoices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seller {
    /// 統一編號.
    pub ban: Ban,
    /// Registered name.
    pub name: String,
    /// Registered address.
    pub address: String,
}

/// Invoicing settings, from the environment (see [`InvoicingConfig::from_env`]).
#[derive(Clone)]
pub struct InvoicingConfig {
    /// The seller.
    pub seller: Seller,
    /// Turnkey's root folder: messages go under `UpCast/…/SRC`, results are read from `Unpack`.
    pub turnkey_root: PathBuf,
    /// The branch whose number blocks this process uses (empty: the only one).
    pub branch: String,
    /// The AES key of the proof's QR verification field (none: proofs cannot be printed).
    pub qr_key: Option<einvoice::proof::QrKey>,
    /// How often Turnkey's inbound folder is read.
    pub scan_every: Duration,
    /// A block more used than this (0.9) is warned about.
    pub warn_used_ratio: f64,
    /// Messages whose deadline is this close count as near their deadline.
    pub deadline_warning: chrono::Duration,
}

impl std::fmt::Debug for InvoicingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvoicingConfig")
            .field("seller", &self.seller)
            .field("turnkey_root", &self.turnkey_root)
            .field("branch", &self.branch)
            .finish_non_exhaustive()
    }
}

impl InvoicingConfig {
    /// Settings for `seller` writing under `turnkey_root`, with the defaults.
    pub fn new(seller: Seller, turnkey_root: PathBuf) -> InvoicingConfig {
        InvoicingConfig {
            seller,
            turnkey_root,
            branch: String::new(),
            qr_key: None,
            scan_every: Duration::from_secs(30),
            warn_used_ratio: 0.9,
            deadline_warning: chrono::Duration::hours(12),
        }
    }

    /// Reads `LUCKYGAS_SELLER_BAN`, `LUCKYGAS_SELLER_NAME`, `LUCKYGAS_SELLER_ADDRESS`,
    /// `LUCKYGAS_TURNKEY_DIR` (default `turnkey`), `LUCKYGAS_INVOICE_BRANCH` and the QR key from
    /// `LUCKYGAS_QR_AES_KEY_FILE` (a file holding 32 hex digits; the key never lives in the
    /// repository). `Ok(None)` when no seller is configured: invoicing is off.
    pub fn from_env() -> Result<Option<InvoicingConfig>, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let Some(ban) = var("LUCKYGAS_SELLER_BAN") else { return Ok(None) };
        let ban = Ban::parse(ban.trim()).map_err(|e| format!("LUCKYGAS_SELLER_BAN: {e}"))?;
        let name = var("LUCKYGAS_SELLER_NAME").ok_or("LUCKYGAS_SELLER_NAME must be set with LUCKYGAS_SELLER_BAN")?;
        let address = var("LUCKYGAS_SELLER_ADDRESS").ok_or("LUCKYGAS_SELLER_ADDRESS must be set with LUCKYGAS_SELLER_BAN")?;
        let root = PathBuf::from(var("LUCKYGAS_TURNKEY_DIR").unwrap_or_else(|| "turnkey".into()));
        let mut config = InvoicingConfig::new(Seller { ban, name, address }, root);
        config.branch = var("LUCKYGAS_INVOICE_BRANCH").unwrap_or_default();
        if let Some(file) = var("LUCKYGAS_QR_AES_KEY_FILE") {
            let hex = std::fs::read_to_string(&file).map_err(|e| format!("LUCKYGAS_QR_AES_KEY_FILE {file}: {e}"))?;
            config.qr_key = Some(einvoice::proof::QrKey::from_hex(hex.trim()).map_err(|e| format!("LUCKYGAS_QR_AES_KEY_FILE: {e}"))?);
        }
        Ok(Some(config))
    }
}

/// Why an invoicing request cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum InvoicingError {
    /// No such invoice, order, customer or allowance.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The request does not fit the rules or the stored data (each field named).
    #[error("invalid: {0:?}")]
    Invalid(Vec<FieldError>),
    /// No numbers left.
    #[error("no invoice numbers left for period {period} branch {branch:?}")]
    NoNumbers {
        /// Period.
        period: String,
        /// Branch.
        branch: String,
    },
    /// The order is billed already.
    #[error("order {order_id} is already billed by invoice {invoice_id}")]
    AlreadyInvoiced {
        /// The order.
        order_id: i64,
        /// The invoice.
        invoice_id: i64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for InvoicingError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => InvoicingError::NotFound("invoice"),
            StoreError::Invalid(errors) => InvoicingError::Invalid(errors),
            StoreError::NoNumbers { period, branch } => InvoicingError::NoNumbers { period, branch },
            StoreError::AlreadyInvoiced { order_id, invoice_id } => InvoicingError::AlreadyInvoiced { order_id, invoice_id },
            other => InvoicingError::Store(other),
        }
    }
}

fn invalid(field: impl Into<String>, code: &'static str, zh: &'static str, en: &'static str) -> InvoicingError {
    InvoicingError::Invalid(vec![FieldError::new(field, FieldProblem::State { code, zh, en })])
}

/// A random code: 4 digits from the operating system's random source.
fn random_code() -> String {
    let mut bytes = [0u8; 2];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source works");
    einvoice::number::RandomCode::from_u16(u16::from_le_bytes(bytes)).to_string()
}

/// Description of a cylinder line: `液化石油氣 20kg`.
fn description(kg: u32) -> String {
    format!("液化石油氣 {kg}kg")
}

/// The invoicing service.
#[derive(Clone, Debug)]
pub struct Invoicing {
    store: Store,
    config: Arc<InvoicingConfig>,
}

impl Invoicing {
    /// Invoicing on `store` with `config`.
    pub fn new(store: Store, config: InvoicingConfig) -> Invoicing {
        Invoicing { store, config: Arc::new(config) }
    }

    /// The settings.
    pub fn config(&self) -> &InvoicingConfig {
        &self.config
    }

    /// The job handlers and outbox deliverers of this module, added to `handlers`/`channels`.
    pub fn register(&self, handlers: &mut Handlers, channels: &mut Channels) {
        let this = self.clone();
        handlers.on(kinds::ISSUE, move |_store, task| {
            let this = this.clone();
            async move {
                let order_id =
                    serde_json::from_str::<serde_json::Value>(&task.payload).ok().and_then(|v| v.get("order_id").and_then(serde_json::Value::as_i64));
                let Some(order_id) = order_id else { return Outcome::Fail(format!("bad payload {}", task.payload)) };
                match this.issue_for_delivery(order_id).await {
                    Ok(_) => Outcome::Done,
                    Err(InvoicingError::AlreadyInvoiced { .. }) => Outcome::Done,
                    Err(InvoicingError::Store(e)) => Outcome::Retry(e.to_string()),
                    Err(InvoicingError::NoNumbers { period, branch }) => {
                        Outcome::Retry(format!("no invoice numbers left for period {period} branch {branch:?}: register a number block"))
                    }
                    Err(e) => Outcome::Fail(e.to_string()),
                }
            }
        });
        let this = self.clone();
        handlers.on(kinds::MONTHLY, move |_store, task| {
            let this = this.clone();
            async move {
                let month =
                    serde_json::from_str::<serde_json::Value>(&task.payload).ok().and_then(|v| v.get("month").and_then(|m| m.as_str().map(str::to_owned)));
                let Some(month) = month else { return Outcome::Fail(format!("bad payload {}", task.payload)) };
                match this.monthly_run(&month).await {
                    Ok(report) if report.failed.is_empty() => Outcome::Done,
                    Ok(report) => Outcome::Retry(format!("{} customers could not be billed: {:?}", report.failed.len(), report.failed)),
                    Err(e) => Outcome::Retry(e.to_string()),
                }
            }
        });
        let this = self.clone();
        handlers.on(kinds::TURNKEY_SCAN, move |_store, _task| {
            let this = this.clone();
            async move {
                match this.scan_turnkey().await {
                    Ok(_) => Outcome::Every(this.config.scan_every),
                    Err(e) => Outcome::Retry(e),
                }
            }
        });
        let root = self.config.turnkey_root.clone();
        channels.on(TURNKEY_CHANNEL, move |effect: &ClaimedEffect| write_turnkey_file(&root, effect));
    }

    /// Makes sure the recurring jobs of this module are queued.
    pub async fn schedule(&self) -> Result<(), StoreError> {
        self.store.enqueue_job(kinds::TURNKEY_SCAN, Some(kinds::TURNKEY_SCAN), "{}", Utc::now()).await?;
        Ok(())
    }

    fn today() -> NaiveDate {
        einvoice::calendar::today_taipei()
    }

    fn period_now(&self) -> Result<Period, InvoicingError> {
        Self::period_at(Utc::now())
    }

    /// The period of the Taipei date of `t` (an invoice's date decides its period).
    fn period_at(t: DateTime<Utc>) -> Result<Period, InvoicingError> {
        Period::of(local_time(t).date_naive()).map_err(|e| InvoicingError::Store(StoreError::Database(sqlx::Error::Protocol(e.to_string()))))
    }

    /// Issues the invoice of one delivered order, unless its customer is billed monthly.
    /// Returns `None` for monthly customers.
    pub async fn issue_for_delivery(&self, order_id: i64) -> Result<Option<Invoice>, InvoicingError> {
        let order = self.store.get_order(order_id).await.map_err(|e| match e {
            StoreError::NotFound => InvoicingError::NotFound("order"),
            other => other.into(),
        })?;
        let customer = self.store.get_customer(order.data.customer_id).await?;
        if customer.data.payment_method == PaymentMethod::Monthly {
            return Ok(None);
        }
        self.issue(&[order_id], InvoiceSource::Delivery, None, "system:invoicing").await.map(Some)
    }

    /// Issues one invoice for delivered orders of one customer.
    pub async fn issue(&self, order_ids: &[i64], source: InvoiceSource, month: Option<String>, created_by: &str) -> Result<Invoice, InvoicingError> {
        if order_ids.is_empty() {
            return Err(InvoicingError::Invalid(vec![FieldError::new("order_ids", FieldProblem::Required)]));
        }
        if order_ids.len() > tax::MAX_LINES {
            return Err(InvoicingError::Invalid(vec![FieldError::new("order_ids", FieldProblem::TooMany { max: tax::MAX_LINES })]));
        }
        let mut orders = Vec::with_capacity(order_ids.len());
        for (i, &id) in order_ids.iter().enumerate() {
            match self.store.get_order(id).await {
                Ok(o) => orders.push(o),
                Err(StoreError::NotFound) => {
                    return Err(InvoicingError::Invalid(vec![FieldError::new(format!("order_ids[{i}]"), FieldProblem::UnknownReference)]))
                }
                Err(e) => return Err(e.into()),
            }
        }
        let customer_id = orders[0].data.customer_id;
        for (i, o) in orders.iter().enumerate() {
            if o.status != crate::domain::OrderStatus::Delivered {
                return Err(invalid(format!("order_ids[{i}]"), "not_delivered", "只有已送達的訂單可以開立發票", "only delivered orders are invoiced"));
            }
            if o.data.customer_id != customer_id {
                return Err(invalid(format!("order_ids[{i}]"), "other_customer", "一張發票只能開給同一位客戶", "one invoice bills one customer"));
            }
        }
        let customer = self.store.get_customer(customer_id).await?;
        let buyer = self.store.get_preferences(customer_id).await?.and_then(|p| p.buyer()).unwrap_or(Buyer::Consumer(B2cDelivery::Print));
        // The lines: one per order and cylinder size, at the price in effect on its delivery day.
        let mut lines = Vec::new();
        let mut line_orders = Vec::new();
        // A month's orders mostly share sizes and days: each price is read once.
        let mut prices: std::collections::HashMap<_, Option<crate::domain::invoice::Price>> = std::collections::HashMap::new();
        for (i, o) in orders.iter().enumerate() {
            for c in &o.data.cylinders {
                let key = (c.size_kg, o.data.delivery_date);
                let price = match prices.entry(key) {
                    std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
                    std::collections::hash_map::Entry::Vacant(e) => e.insert(self.store.price_on(customer_id, c.size_kg, o.data.delivery_date).await?).clone(),
                };
                let Some(price) = price else {
                    return Err(invalid(
                        format!("order_ids[{i}]"),
                        "no_price",
                        "此規格在送貨日沒有有效的價格，請先設定價目",
                        "no price is in effect for this cylinder size on the delivery day; set a price first",
                    ));
                };
                let (quantity, unit, unit_price) = match price.data.basis {
                    crate::domain::invoice::PriceBasis::Cylinder => (i64::from(c.quantity), "桶", price.data.unit_price),
                    crate::domain::invoice::PriceBasis::Kg => (i64::from(c.quantity) * i64::from(c.size_kg), "kg", price.data.unit_price),
                };
                lines.push(Line {
                    description: description(c.size_kg),
                    quantity: Quantity::whole(quantity).map_err(|e| invalid("order_ids", "quantity", "數量超出範圍", quantity_problem(&e)))?,
                    unit: unit.to_owned(),
                    unit_price: Ntd(unit_price),
                    tax_type: TaxType::Taxable,
                });
                line_orders.push(o.id);
            }
        }
        let kind = match &buyer {
            Buyer::Business { .. } => BuyerKind::Business,
            Buyer::Consumer(_) => BuyerKind::Consumer,
        };
        let totals = tax::invoice_totals(&lines, kind).map_err(|e| {
            InvoicingError::Invalid(vec![FieldError::new("order_ids", FieldProblem::Input { code: "amounts", zh: "發票金額無法計算", detail: e.to_string() })])
        })?;
        let items: Vec<InvoiceItem> = lines
            .iter()
            .zip(&totals.line_amounts)
            .zip(&line_orders)
            .enumerate()
            .map(|(i, ((line, amount), &order_id))| InvoiceItem {
                seq: i64::try_from(i + 1).unwrap_or(i64::MAX),
                order_id: Some(order_id),
                description: line.description.clone(),
                quantity: line.quantity.to_string(),
                unit: line.unit.clone(),
                unit_price: line.unit_price.0,
                tax_type: i64::from(line.tax_type.code()),
                amount: amount.0,
            })
            .collect();
        let (buyer_ban, buyer_name, b2b, delivery) = match &buyer {
            Buyer::Business { ban, name } => (ban.as_str().to_owned(), name.clone().unwrap_or_else(|| customer.data.name.clone()), true, B2cDelivery::Print),
            Buyer::Consumer(d) => (einvoice::ban::B2C_BUYER.to_owned(), customer.data.name.clone(), false, d.clone()),
        };
        let mut unique_orders = order_ids.to_vec();
        unique_orders.sort_unstable();
        unique_orders.dedup();
        // One instant decides both the invoice's date and its period, also at midnight of a
        // period's last day.
        let issued_at = Utc::now();
        let draft = InvoiceDraft {
            period: Self::period_at(issued_at)?.key(),
            branch: self.config.branch.clone(),
            customer_id,
            source,
            month,
            buyer_ban,
            buyer_name: buyer_name.chars().take(60).collect(),
            b2b,
            print_mark: if b2b { "Y".into() } else { delivery.print_mark().to_owned() },
            carrier_type: delivery.carrier_type().map(str::to_owned),
            carrier_id: delivery.carrier_id().map(str::to_owned),
            npoban: delivery.npoban().map(str::to_owned),
            random_code: random_code(),
            issued_at,
            sales_amount: totals.sales_amount.0,
            free_tax_sales_amount: totals.free_tax_sales_amount.0,
            zero_tax_sales_amount: totals.zero_tax_sales_amount.0,
            tax_type: i64::from(totals.tax_type.code()),
            tax_amount: totals.tax_amount.0,
            total_amount: totals.total_amount.0,
            items,
            order_ids: unique_orders,
            created_by: created_by.to_owned(),
        };
        let seller = self.config.seller.clone();
        let invoice = self.store.issue_invoice(&draft, &move |inv: &Invoice| render::issue(&seller, inv, 1)).await?;
        self.warn_if_running_out(&draft.period).await;
        Ok(invoice)
    }

    /// Logs a warning when the open blocks of `period` are more used than the warning ratio.
    async fn warn_if_running_out(&self, period: &str) {
        if let Ok((left, total)) = self.store.numbers_left(period, &self.config.branch).await {
            if total > 0 && (total - left) as f64 >= self.config.warn_used_ratio * total as f64 {
                tracing::warn!(period, branch = %self.config.branch, left, total, "invoice number blocks are running out: register the next block");
            }
        }
    }

    /// Issues the consolidated invoices of `month` (`YYYY-MM`): one per monthly-account customer
    /// with delivered, unbilled orders dated in that month. Customers already billed for the
    /// month are skipped; the run can be repeated.
    pub async fn monthly_run(&self, month: &str) -> Result<MonthlyReport, InvoicingError> {
        let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .map_err(|_| InvoicingError::Invalid(vec![FieldError::new("month", FieldProblem::Pattern { expected: "2026-12" })]))?;
        let last = first.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(first);
        let mut report = MonthlyReport { month: month.to_owned(), ..MonthlyReport::default() };
        for customer_id in self.store.monthly_customers_to_bill(first, last).await? {
            let orders: Vec<i64> = self.store.unbilled_deliveries(Some(customer_id), first, last).await?.into_iter().map(|(id, _)| id).collect();
            if orders.is_empty() {
                continue;
            }
            match self.issue(&orders, InvoiceSource::Monthly, Some(month.to_owned()), "system:invoicing").await {
                Ok(invoice) => report.issued.push(invoice.id),
                Err(InvoicingError::Store(StoreError::Duplicate { .. })) => report.skipped.push(customer_id),
                Err(InvoicingError::NoNumbers { period, branch }) => return Err(InvoicingError::NoNumbers { period, branch }),
                Err(e) => report.failed.push((customer_id, e.to_string())),
            }
        }
        Ok(report)
    }

    /// Voids an invoice (F0501, 作廢): only in the period it was issued in; across periods an
    /// allowance corrects it instead.
    pub async fn void(&self, id: i64, reason: &str) -> Result<Invoice, InvoicingError> {
        let invoice = self.store.get_invoice(id).await?;
        if invoice.period != self.period_now()?.key() {
            return Err(invalid(
                "id",
                "period_closed",
                "發票已跨期，不能作廢，請改開折讓",
                "the invoice belongs to an earlier period: issue an allowance instead",
            ));
        }
        let seller = self.config.seller.clone();
        let now = Utc::now();
        Ok(self.store.void_invoice(id, reason, now, &move |inv: &Invoice| render::void(&seller, inv, now)).await?)
    }

    /// Cancels (F0701, 註銷) a B2C invoice of this period and issues it again (F0401) under its
    /// number with a corrected carrier or donation.
    pub async fn cancel(&self, id: i64, reason: &str, delivery: &B2cDelivery) -> Result<Invoice, InvoicingError> {
        let invoice = self.store.get_invoice(id).await?;
        if invoice.period != self.period_now()?.key() {
            return Err(invalid("id", "period_closed", "發票已跨期，不能註銷重開", "the invoice belongs to an earlier period and cannot be re-issued"));
        }
        let now = Utc::now();
        let (s1, s2) = (self.config.seller.clone(), self.config.seller.clone());
        let reason = reason.to_owned();
        let issue_revision = render::revision(&invoice, "F0401");
        Ok(self
            .store
            .cancel_and_reissue(
                id,
                delivery,
                &move |inv: &Invoice| render::cancel(&s1, inv, &reason, now),
                &move |inv: &Invoice| render::issue(&s2, inv, issue_revision),
                now,
            )
            .await?)
    }

    /// Issues an allowance of `total` NT$ (tax included) on an invoice.
    pub async fn allowance(&self, invoice_id: i64, total: i64, reason: &str, created_by: &str) -> Result<Allowance, InvoicingError> {
        let invoice = self.store.get_invoice(invoice_id).await?;
        if total <= 0 {
            return Err(InvoicingError::Invalid(vec![FieldError::new("amount", FieldProblem::OutOfRange { min: 1.0, max: invoice.total_amount as f64 })]));
        }
        let kind = if invoice.b2b { BuyerKind::Business } else { BuyerKind::Consumer };
        let split = tax::allowance_split(Ntd(total), kind).map_err(|e| {
            InvoicingError::Invalid(vec![FieldError::new("amount", FieldProblem::Input { code: "amounts", zh: "折讓金額無法計算", detail: e.to_string() })])
        })?;
        let seller = self.config.seller.clone();
        let now = Utc::now();
        let period = Self::period_at(now)?.key();
        Ok(self
            .store
            .issue_allowance(invoice_id, &period, split.amount.0, split.tax.0, reason, created_by, now, &move |inv: &Invoice, a: &Allowance| {
                render::allowance(&seller, inv, a)
            })
            .await?)
    }

    /// Voids an allowance (G0501).
    pub async fn void_allowance(&self, allowance_id: i64) -> Result<Allowance, InvoicingError> {
        let seller = self.config.seller.clone();
        self.store.void_allowance(allowance_id, Utc::now(), &move |inv: &Invoice, a: &Allowance| render::void_allowance(&seller, inv, a)).await.map_err(|e| {
            match e {
                StoreError::NotFound => InvoicingError::NotFound("allowance"),
                other => other.into(),
            }
        })
    }

    /// Closes a period that has ended: its open blocks take no more numbers and their unused
    /// numbers are reported (E0402).
    pub async fn close_period(&self, period: &Period) -> Result<Vec<BlankRange>, InvoicingError> {
        if period.last_day() >= Self::today() {
            return Err(invalid("period", "period_open", "期別尚未結束，不能結算空白字軌", "the period has not ended yet"));
        }
        let seller = self.config.seller.clone();
        let now = Utc::now();
        Ok(self.store.close_period(&period.key(), now, &move |range: &BlankRange| render::blank(&seller, range, now)).await?)
    }

    /// Re-sends a rejected message, re-rendered from the invoice or allowance as stored now.
    pub async fn resend(&self, message_id: i64) -> Result<crate::domain::invoice::MessageInfo, InvoicingError> {
        let (message, invoice_id, allowance_id) = self.store.get_message(message_id).await.map_err(|e| match e {
            StoreError::NotFound => InvoicingError::NotFound("message"),
            other => other.into(),
        })?;
        if message.status != "rejected" {
            return Err(invalid("id", "not_rejected", "只有被退回的訊息可以重送", "only a rejected message can be re-sent"));
        }
        let Some(invoice_id) = invoice_id else {
            return Err(invalid("id", "not_resendable", "空白字軌訊息請重新結算", "blank-number reports are not re-sent this way"));
        };
        let invoice = self.store.get_invoice(invoice_id).await?;
        let seller = &self.config.seller;
        let rendered = match (message.message_type.as_str(), allowance_id) {
            ("F0401", _) => render::issue(seller, &invoice, render::revision(&invoice, "F0401")),
            ("F0501", _) => render::void(seller, &invoice, Utc::now()).map(|mut r| {
                r.file_name = r.file_name.replace(".xml", &format!("_r{message_id}.xml"));
                r.destination = r.destination.replace(".xml", &format!("_r{message_id}.xml"));
                r
            }),
            (kind @ ("G0401" | "G0501"), Some(aid)) => {
                let a = self.store.get_allowance(aid).await?;
                let r = if kind == "G0401" { render::allowance(seller, &invoice, &a) } else { render::void_allowance(seller, &invoice, &a) };
                r.map(|mut r| {
                    r.file_name = r.file_name.replace(".xml", &format!("_r{message_id}.xml"));
                    r.destination = r.destination.replace(".xml", &format!("_r{message_id}.xml"));
                    r
                })
            }
            _ => return Err(invalid("id", "not_resendable", "此訊息無法重送", "this message cannot be re-sent")),
        }
        .map_err(|e| {
            InvoicingError::Invalid(vec![FieldError::new("id", FieldProblem::Input { code: "mig_limit", zh: "電子發票訊息超出 MIG 4.1 欄位限制", detail: e })])
        })?;
        Ok(self.store.resend_message(message_id, &rendered, Utc::now()).await?)
    }

    /// Reads Turnkey's result files, records each result, and moves every read file into
    /// `Unpack/.processed` (unreadable ones into `Unpack/.unreadable`, logged). Returns how many
    /// results were recorded.
    pub async fn scan_turnkey(&self) -> Result<usize, String> {
        let root = self.config.turnkey_root.clone();
        let files = tokio::task::spawn_blocking(move || einvoice::turnkey::scan_inbound(&root)).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        let inbound = einvoice::turnkey::TurnkeyLayout::default().inbound_dir(&self.config.turnkey_root);
        let mut recorded = 0;
        for file in files {
            let target = match &file.parsed {
                Ok(parsed) => {
                    for r in parsed.results() {
                        let (Some(kind), Some(reference)) = (&r.message_type, &r.reference_number) else { continue };
                        let accepted = r.status == einvoice::turnkey::Status::Accepted;
                        match self.store.record_message_result(kind, reference, accepted, r.error_code.as_deref(), r.error_message.as_deref(), Utc::now()).await
                        {
                            Ok(true) => recorded += 1,
                            Ok(false) => tracing::warn!(kind = %kind, reference = %reference, "Turnkey result for a message we did not send"),
                            Err(e) => return Err(e.to_string()),
                        }
                        if !accepted {
                            tracing::warn!(kind = %kind, reference = %reference, code = ?r.error_code, message = ?r.error_message, "Turnkey rejected a message");
                        }
                    }
                    ".processed"
                }
                Err(e) => {
                    tracing::error!(path = %file.path.display(), error = %e, "unreadable Turnkey result file");
                    ".unreadable"
                }
            };
            move_aside(&inbound, &file.path, target).map_err(|e| format!("cannot move {}: {e}", file.path.display()))?;
        }
        Ok(recorded)
    }

    /// The printed proof of a B2C invoice as PDF or PNG.
    pub fn proof(&self, invoice: &Invoice, png: bool) -> Result<Vec<u8>, InvoicingError> {
        if invoice.print_mark != "Y" {
            return Err(invalid("id", "not_printed", "此發票存於載具或已捐贈，不印證明聯", "this invoice is on a carrier or donated: it has no printed proof"));
        }
        let Some(key) = &self.config.qr_key else {
            return Err(invalid(
                "id",
                "no_qr_key",
                "尚未設定 QR Code 加密金鑰（LUCKYGAS_QR_AES_KEY_FILE）",
                "no QR key is configured (LUCKYGAS_QR_AES_KEY_FILE)",
            ));
        };
        let data = render::proof_data(&self.config.seller, invoice);
        let out = if png { einvoice::proof::render_png(&data, key) } else { einvoice::proof::render_pdf(&data, key) };
        out.map_err(|e| {
            InvoicingError::Invalid(vec![FieldError::new("id", FieldProblem::Input { code: "proof", zh: "證明聯無法產生", detail: e.to_string() })])
        })
    }
}

/// The English text of a quantity that does not fit.
fn quantity_problem(e: &tax::TaxError) -> &'static str {
    match e {
        tax::TaxError::Overflow => "amount out of range",
        _ => "invalid quantity",
    }
}

/// What a month-end run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct MonthlyReport {
    /// The month.
    pub month: String,
    /// Invoices issued.
    pub issued: Vec<i64>,
    /// Customers already billed for the month.
    pub skipped: Vec<i64>,
    /// Customers that could not be billed, and why.
    pub failed: Vec<(i64, String)>,
}

/// Writes one outbox file under Turnkey's root, atomically; an identical file already there is
/// success (the outbox delivers at least once).
fn write_turnkey_file(root: &Path, effect: &ClaimedEffect) -> Result<(), String> {
    let relative = Path::new(&effect.destination);
    if relative.is_absolute() || relative.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(format!("refusing destination outside the Turnkey root: {}", effect.destination));
    }
    let path = root.join(relative);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Err(format!("bad destination {}", effect.destination));
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    einvoice::turnkey::write_atomically(dir, name, &effect.body).map(|_| ()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Moves `path` into `<inbound>/<folder>/`, keeping its path below `inbound`.
fn move_aside(inbound: &Path, path: &Path, folder: &str) -> std::io::Result<()> {
    let relative = path.strip_prefix(inbound).unwrap_or(path);
    let target = inbound.join(folder).join(relative);
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::rename(path, target)
}

/// When an invoice was issued, in Taipei.
pub fn local_time(t: DateTime<Utc>) -> chrono::DateTime<chrono::FixedOffset> {
    t.with_timezone(&taipei())
}
