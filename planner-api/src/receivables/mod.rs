//! The payments module: what customers paid against what they were invoiced.
//!
//! - **At the door** ([`Receivables::record_collection`]): a driver reporting a stop delivered
//!   reports how it is paid (cash, a promised transfer, the monthly account), the cash taken, and
//!   the cylinders lent or returned, which move the customer's deposit (押金) balance at the
//!   deposit prices of the day. Cash left after deposits becomes a cash payment applied to the
//!   stop's invoice (now, or when the invoice is issued). At the end of the day the cash handed
//!   in is recorded against what the route collected; a difference is flagged with the stops.
//! - **Virtual accounts** ([`Receivables::assign_virtual_account`]): monthly-account customers
//!   pay into numbers of the configured bank layout (`payments::virtual_account`), unique and
//!   check-digit validated.
//! - **Deposits from the bank** ([`Receivables::import`], [`fetch`]): statement files (fixed
//!   width or CSV, UTF-8 or Big5) are parsed whole or refused whole, matched
//!   (`payments::matching`: virtual account, exact amount, oldest first) and stored in one
//!   transaction; a file (by its bytes) or a deposit (by the bank's serial) is never credited
//!   twice. [`fetch`] takes the files from the bank's SFTP server on a schedule
//!   (`payments.fetch`, on the shared job runner) and on demand, moving each to the processed
//!   folder only after its import committed.
//! - **The accountant's queue**: unmatched deposits and credits are matched, split, refunded or
//!   written off ([`crate::store::payments`]); every decision is in the audit log with what it was.
//! - **Reports** ([`reports`]): receivables aging, a customer's monthly statement (CSV and a
//!   printable page), the daily reconciliation.
//!
//! Money is whole NT$ ([`einvoice::money::Ntd`] in the rules, `i64` in rows); days are Taipei's.

pub mod fetch;
pub mod reports;

use crate::domain::payment::{state, Collection, CollectionInput, CylinderMove, StatementFile, VirtualAccountView};
use crate::domain::{FieldError, FieldProblem, OrderStatus, PaymentMethod};
use crate::jobs::{Handlers, Outcome};
use crate::store::payments::{ImportOutcome, ImportedDeposit, NewCollection, NewStatementFile, OpenInvoiceRow};
use crate::store::{Store, StoreError};
use chrono::{NaiveDateTime, Utc};
use einvoice::money::Ntd;
use payments::matching::{self, Book, CreditReason, CustomerId, Rule, UnmatchedReason};
use payments::statement::{self, Encoding, Format, StatementError};
use payments::virtual_account::{self, Layout};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;

/// Kinds of background jobs of this module.
pub mod kinds {
    /// Fetch the bank's statement files over SFTP (recurring; also enqueued on demand).
    pub const FETCH: &str = "payments.fetch";
}

/// Payments settings, from the environment (see [`ReceivablesConfig::from_env`]).
#[derive(Clone, Debug, Default)]
pub struct ReceivablesConfig {
    /// The bank's virtual-account layout; none: numbers cannot be assigned and imports refuse.
    pub layout: Option<Layout>,
    /// The bank's SFTP server; none: statements are only uploaded.
    pub sftp: Option<fetch::FetchConfig>,
}

impl ReceivablesConfig {
    /// Reads `LUCKYGAS_VA_LAYOUT_FILE` (a layout as TOML, see the `payments` crate) or
    /// `LUCKYGAS_VA_COMPANY_CODE` (Cathay United's 16-digit layout with this company code), and
    /// the SFTP settings ([`fetch::FetchConfig::from_lookup`]).
    pub fn from_env() -> Result<ReceivablesConfig, String> {
        ReceivablesConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`ReceivablesConfig::from_env`] over any lookup (tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ReceivablesConfig, String> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let layout = match (var("LUCKYGAS_VA_LAYOUT_FILE"), var("LUCKYGAS_VA_COMPANY_CODE")) {
            (Some(file), _) => {
                let text = std::fs::read_to_string(&file).map_err(|e| format!("LUCKYGAS_VA_LAYOUT_FILE {file}: {e}"))?;
                Some(Layout::from_toml(&text).map_err(|e| format!("LUCKYGAS_VA_LAYOUT_FILE {file}: {e}"))?)
            }
            (None, Some(code)) => Some(Layout::cathay_16(code.trim()).map_err(|e| format!("LUCKYGAS_VA_COMPANY_CODE: {e}"))?),
            (None, None) => None,
        };
        Ok(ReceivablesConfig { layout, sftp: fetch::FetchConfig::from_lookup(&lookup)? })
    }
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a statement of the layout: nothing of it was applied.
    #[error("{0}")]
    Malformed(StatementError),
    /// No virtual-account layout is configured.
    #[error("no virtual-account layout is configured (LUCKYGAS_VA_COMPANY_CODE or LUCKYGAS_VA_LAYOUT_FILE)")]
    NoLayout,
    /// Money kept moving under the matching (three tries).
    #[error("the import kept conflicting with other changes; try again")]
    Conflict,
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// The statement file as stored.
    pub file: StatementFile,
    /// `false`: these bytes were imported before and nothing was credited now.
    pub imported: bool,
    /// Deposits applied to invoices (wholly or in part).
    pub matched: usize,
    /// Money applied to invoices, NT$.
    pub allocated: i64,
    /// Deposits left (in part) as customers' credit.
    pub credits: usize,
    /// Deposits waiting in the accountant's queue.
    pub unmatched: usize,
    /// Deposits skipped as imported before.
    pub duplicates: usize,
}

/// The payments service.
#[derive(Clone, Debug)]
pub struct Receivables {
    store: Store,
    config: Arc<ReceivablesConfig>,
}

impl Receivables {
    /// Payments on `store` with `config`.
    pub fn new(store: Store, config: ReceivablesConfig) -> Receivables {
        Receivables { store, config: Arc::new(config) }
    }

    /// The settings.
    pub fn config(&self) -> &ReceivablesConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The job handlers of this module, added to `handlers`: the fetch only where a bank SFTP
    /// server is configured (a runner claims only the kinds it handles, so a replica without the
    /// settings leaves the recurring fetch to one that has them).
    pub fn register(&self, handlers: &mut Handlers) {
        if self.config.sftp.is_none() {
            return;
        }
        let this = self.clone();
        handlers.on(kinds::FETCH, move |_store, task| {
            let this = this.clone();
            async move {
                let Some(sftp) = this.config.sftp.clone() else { return Outcome::Done };
                let recurring = task.dedupe_key.as_deref() == Some(kinds::FETCH);
                match fetch::fetch(&this, &sftp).await {
                    Ok(report) => {
                        for failed in &report.failed {
                            tracing::warn!(file = %failed.file, error = %failed.error, "bank statement not imported");
                        }
                        if recurring {
                            Outcome::Every(sftp.every)
                        } else {
                            Outcome::Done
                        }
                    }
                    Err(e) if recurring => {
                        tracing::warn!(error = %e, "bank statements not fetched");
                        Outcome::Every(sftp.every)
                    }
                    Err(e) => Outcome::Fail(e.to_string()),
                }
            }
        });
    }

    /// Makes sure the recurring fetch is queued (when SFTP is configured).
    pub async fn schedule(&self) -> Result<(), StoreError> {
        if self.config.sftp.is_some() {
            self.store.enqueue_job(kinds::FETCH, Some(kinds::FETCH), "{}", Utc::now()).await?;
        }
        Ok(())
    }

    // ----- virtual accounts ---------------------------------------------------------------

    /// Gives a monthly-account customer a virtual account: `number` as the bank issued it
    /// (validated against the layout), or a new one built from the customer's id and `due`
    /// (required by layouts with a due date).
    pub async fn assign_virtual_account(
        &self,
        customer_id: i64,
        number: Option<&str>,
        due: Option<NaiveDateTime>,
        by: &str,
    ) -> Result<VirtualAccountView, AssignError> {
        let layout = self.config.layout.as_ref().ok_or(AssignError::NoLayout)?;
        let customer = self.store.get_customer(customer_id).await.map_err(|e| match e {
            StoreError::NotFound => AssignError::Invalid(vec![FieldError::new("customer_id", FieldProblem::UnknownReference)]),
            e => AssignError::Store(e),
        })?;
        if customer.data.payment_method != PaymentMethod::Monthly {
            return Err(AssignError::Invalid(vec![state(
                "customer_id",
                "not_monthly",
                "只有月結客戶使用虛擬帳號",
                "only monthly-account customers pay into virtual accounts",
            )]));
        }
        let account = match number {
            Some(text) => virtual_account::parse(layout, text).map_err(|e| {
                AssignError::Invalid(vec![FieldError::new(
                    "number",
                    FieldProblem::Input { code: e.code(), zh: "虛擬帳號格式或檢查碼不符", detail: e.to_string() },
                )])
            })?,
            None => {
                let has_due = layout.segments().iter().any(|s| matches!(s, virtual_account::Segment::Due { .. }));
                let due = match (due, has_due) {
                    (Some(d), _) => d,
                    (None, false) => NaiveDateTime::default(),
                    (None, true) => return Err(AssignError::Invalid(vec![FieldError::new("due", FieldProblem::Required)])),
                };
                let customer_number = u64::try_from(customer_id).unwrap_or(0);
                virtual_account::generate(layout, customer_number, due).map_err(|e| {
                    AssignError::Invalid(vec![FieldError::new(
                        if number.is_some() { "number" } else { "customer_id" },
                        FieldProblem::Input { code: e.code(), zh: "無法產生虛擬帳號", detail: e.to_string() },
                    )])
                })?
            }
        };
        let due_at = match (number, due) {
            (None, Some(d)) => Some(d),
            _ => account.due().and_then(due_datetime),
        };
        self.store.insert_virtual_account(account.as_str(), customer_id, layout.name(), due_at, by).await.map_err(|e| match e {
            StoreError::Duplicate { .. } => AssignError::Invalid(vec![state("number", "taken", "此虛擬帳號已被使用", "this virtual account number is taken")]),
            e => AssignError::Store(e),
        })
    }

    // ----- statements ---------------------------------------------------------------------

    /// The statement layout of a file, by its name: `.csv` files are CSV, others fixed width.
    pub fn format_of(file_name: &str) -> Format {
        if file_name.to_ascii_lowercase().ends_with(".csv") {
            Format::Csv
        } else {
            Format::FixedWidth
        }
    }

    /// Imports one statement file: parsed whole or refused whole, matched, stored in one
    /// transaction. The same bytes again credit nothing (`imported: false`).
    pub async fn import(&self, file_name: &str, bytes: &[u8], source: &'static str, by: &str) -> Result<ImportReport, ImportError> {
        let layout = self.config.layout.as_ref().ok_or(ImportError::NoLayout)?;
        let sha256 = hex(&Sha256::digest(bytes));
        if let Some(file) = self.store.statement_by_sha(&sha256).await? {
            return Ok(ImportReport { duplicates: file.deposits as usize, file, imported: false, matched: 0, allocated: 0, credits: 0, unmatched: 0 });
        }
        let format = Receivables::format_of(file_name);
        let encoding = Encoding::detect(bytes);
        let parsed = statement::parse_as(format, encoding, file_name, bytes).map_err(ImportError::Malformed)?;
        let mut accounts: Vec<String> = parsed.deposits.iter().map(|d| d.account.clone()).collect::<HashSet<_>>().into_iter().collect();
        accounts.sort_unstable();
        let serials: Vec<String> = parsed.deposits.iter().map(|d| d.serial.clone()).collect();
        for _ in 0..3 {
            let owners = self.store.account_owners(&accounts).await?;
            let mut customers: Vec<i64> = owners.values().copied().collect::<HashSet<_>>().into_iter().collect();
            customers.sort_unstable();
            let open = self.store.open_invoices(Some(&customers)).await?;
            let invoices = open.iter().map(OpenInvoiceRow::to_open_invoice).collect();
            let book = Book::new(layout.clone(), owners.iter().map(|(a, c)| (a.clone(), CustomerId(*c))).collect(), invoices)
                .map_err(|e| ImportError::Store(StoreError::Corrupt { column: "virtual_accounts", source: serde::de::Error::custom(e.to_string()) }))?;
            let seen = self.store.known_serials(&serials).await?;
            let m = matching::match_deposits(&book, &parsed.deposits, &seen);
            let duplicates: HashSet<&str> = m.duplicates.iter().map(String::as_str).collect();
            let mut reasons: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
            for u in &m.unmatched {
                reasons.insert(&u.serial, unmatched_code(&u.reason).to_owned());
            }
            for c in &m.credits {
                let code = match c.reason {
                    CreditReason::Overpaid => "overpaid",
                    CreditReason::NoOpenInvoice => "no_open_invoice",
                };
                reasons.insert(&c.serial, code.to_owned());
            }
            // Only the first deposit of a serial repeated in the file is stored.
            let mut stored: HashSet<&str> = HashSet::new();
            let deposits: Vec<ImportedDeposit<'_>> = parsed
                .deposits
                .iter()
                .filter(|d| d.amount > Ntd::ZERO && !seen.contains(&d.serial) && stored.insert(d.serial.as_str()))
                .map(|d| ImportedDeposit { deposit: d, customer_id: owners.get(&d.account).copied(), reason: reasons.get(d.serial.as_str()).cloned() })
                .collect();
            let skipped = parsed.deposits.len() - deposits.len();
            debug_assert!(skipped >= duplicates.len().min(skipped));
            let allocations: Vec<(&str, i64, i64, &'static str)> = m
                .allocations
                .iter()
                .map(|a| {
                    let rule = match a.rule {
                        Rule::ExactAmount => "exact",
                        Rule::OldestFirst => "oldest",
                    };
                    (a.serial.as_str(), a.invoice.0, a.amount.0, rule)
                })
                .collect();
            let file = NewStatementFile {
                source,
                file_name: file_name.to_owned(),
                sha256: sha256.clone(),
                format: match format {
                    Format::FixedWidth => "fixed",
                    Format::Csv => "csv",
                },
                encoding: match encoding {
                    Encoding::Utf8 => "utf-8",
                    Encoding::Big5 => "big5",
                },
                bank_code: parsed.bank_code.clone(),
                account: parsed.account.clone(),
                statement_date: parsed.date,
                imported_by: by.to_owned(),
            };
            match self.store.store_import(&file, &deposits, &allocations, skipped).await? {
                ImportOutcome::Imported(file) => {
                    let matched: HashSet<&str> = m.allocations.iter().map(|a| a.serial.as_str()).collect();
                    return Ok(ImportReport {
                        file,
                        imported: true,
                        matched: matched.len(),
                        allocated: m.allocations.iter().map(|a| a.amount.0).sum(),
                        credits: m.credits.len(),
                        unmatched: m.unmatched.len(),
                        duplicates: skipped,
                    });
                }
                ImportOutcome::AlreadyImported(file) => {
                    return Ok(ImportReport { duplicates: file.deposits as usize, file, imported: false, matched: 0, allocated: 0, credits: 0, unmatched: 0 });
                }
                ImportOutcome::Conflict => continue,
            }
        }
        Err(ImportError::Conflict)
    }

    // ----- at the door --------------------------------------------------------------------

    /// Records what was collected at a delivered stop (see the module docs); `reporting_driver`
    /// is the reporting driver, else the driver of the stop's route. Returns the collection and
    /// whether it is new (the same report again is no change).
    pub async fn record_collection(
        &self,
        order_id: i64,
        input: CollectionInput,
        reporting_driver: Option<i64>,
        reported_by: &str,
    ) -> Result<(Collection, bool), StoreError> {
        let c = self.prepare_collection(order_id, input, reporting_driver, reported_by, "").await?;
        let order = self.store.get_order(order_id).await?;
        if order.status != OrderStatus::Delivered {
            return Err(StoreError::Invalid(vec![state(
                "order_id",
                "not_delivered",
                "訂單尚未送達，不能回報收款",
                "the order is not delivered; report it delivered first",
            )]));
        }
        self.store.record_collection(&c).await
    }

    /// Checks a collection report of an order and prices its cylinder deposits, without storing
    /// it (a status change checks it before the order becomes delivered); fields are named
    /// under `prefix`.
    pub async fn prepare_collection(
        &self,
        order_id: i64,
        input: CollectionInput,
        reporting_driver: Option<i64>,
        reported_by: &str,
        prefix: &str,
    ) -> Result<NewCollection, StoreError> {
        let f = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        let report = input.validate(prefix).map_err(StoreError::Invalid)?;
        let order = self.store.get_order(order_id).await?;
        let customer = self.store.get_customer(order.data.customer_id).await?;
        if report.method == crate::domain::payment::CollectionMethod::Monthly && customer.data.payment_method != PaymentMethod::Monthly {
            return Err(StoreError::Invalid(vec![state(f("method"), "not_monthly", "此客戶不是月結客戶", "this customer has no monthly account")]));
        }
        let mut cylinders = Vec::with_capacity(report.cylinders.len());
        for (i, &(kg, lent, returned)) in report.cylinders.iter().enumerate() {
            let deposit_each = match self.store.price_on(order.data.customer_id, kg, order.data.delivery_date).await? {
                Some(price) => price.data.deposit,
                None => {
                    return Err(StoreError::Invalid(vec![state(
                        f(&format!("cylinders[{i}].kg")),
                        "no_deposit_price",
                        "此尺寸在送貨日沒有押金價格",
                        "no price (with its deposit) of this size on the delivery day",
                    )]))
                }
            };
            cylinders.push(CylinderMove { kg, lent, returned, deposit_each });
        }
        let driver_id = match reporting_driver {
            Some(d) => Some(d),
            None => self.driver_of_order(&order).await?,
        };
        let c = NewCollection {
            order_id,
            customer_id: order.data.customer_id,
            driver_id,
            delivery_date: order.data.delivery_date,
            method: report.method,
            cash: report.cash,
            cylinders,
            note: report.note,
            reported_by: reported_by.to_owned(),
        };
        if c.method == crate::domain::payment::CollectionMethod::Cash && c.cash < c.deposit_change() {
            return Err(StoreError::Invalid(vec![state(
                f("cash"),
                "cash_below_deposits",
                "收取現金少於借出鋼瓶的押金",
                "the cash taken is less than the deposits of the cylinders lent",
            )]));
        }
        Ok(c)
    }

    /// Stores a collection checked by [`Receivables::prepare_collection`].
    pub async fn store_collection(&self, c: &NewCollection) -> Result<(Collection, bool), StoreError> {
        self.store.record_collection(c).await
    }
}

impl Receivables {
    /// The driver of the route that holds `order` in the latest version of its plan.
    async fn driver_of_order(&self, order: &crate::domain::Order) -> Result<Option<i64>, StoreError> {
        let Some(plan_id) = order.plan_id else { return Ok(None) };
        let unavailable = |e: crate::planning::PlanningError| match e {
            crate::planning::PlanningError::Store(e) => e,
            _ => StoreError::NotFound,
        };
        let job = match crate::planning::job(&self.store, plan_id).await {
            Ok(job) if job.status == crate::domain::JobStatus::Succeeded => job,
            Ok(_) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let plan = crate::planning::latest_version(&self.store, &job).await.map_err(unavailable)?.plan;
        let vehicle = plan.routes.iter().find(|r| r.trips.iter().any(|t| t.stops.iter().any(|s| s.order_id == order.id))).map(|r| r.vehicle_id);
        let Some(vehicle) = vehicle else { return Ok(None) };
        Ok(self.store.drivers_on(job.date).await?.get(&vehicle).map(|d| d.0))
    }
}

/// Why a virtual account was not assigned.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    /// No layout is configured.
    #[error("no virtual-account layout is configured")]
    NoLayout,
    /// Bad input, each field named.
    #[error("invalid: {0:?}")]
    Invalid(Vec<FieldError>),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The due date and hour a number carries as a Taipei time: a layout without the year (Cathay's
/// `MMDDHH`) means the nearest such day from today, within six months back; without the hour,
/// the end of the day.
fn due_datetime(d: virtual_account::DueStamp) -> Option<NaiveDateTime> {
    let today = einvoice::calendar::today_taipei();
    let year = match d.year {
        Some(y) => y,
        None => {
            use chrono::Datelike;
            let this = chrono::NaiveDate::from_ymd_opt(today.year(), d.month, d.day)?;
            if (today - this).num_days() > 183 {
                today.year() + 1
            } else {
                today.year()
            }
        }
    };
    chrono::NaiveDate::from_ymd_opt(year, d.month, d.day)?.and_hms_opt(d.hour.unwrap_or(23), if d.hour.is_some() { 0 } else { 59 }, 0)
}

/// The stable code of why a deposit waits in the queue.
pub fn unmatched_code(reason: &UnmatchedReason) -> &'static str {
    match reason {
        UnmatchedReason::InvalidAccount(e) => e.code(),
        UnmatchedReason::UnknownAccount => "unknown_account",
        UnmatchedReason::NotPositive => "not_positive",
    }
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
