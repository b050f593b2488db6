//! Property tests of the payments store on SQLite and PostgreSQL: a deterministic pseudo-random
//! sequence of what happens to money (statement imports with deposits into owned, unknown and
//! mistyped accounts, files imported again, serials the bank repeats; the accountant's matches,
//! splits, refunds and write-offs, often too large; new invoices that take credits; voids and
//! allowances that give paid money back) run through the real store and the real import service.
//! After every operation the books are read back whole and checked:
//!
//! - a payment's parts add up (amount = allocated + refunded + written_off + split_out +
//!   unapplied, each >= 0) and `allocated` is the sum of its allocations;
//! - an invoice's `paid_amount` is the sum of its allocations, 0 <= paid <= total − allowed, a
//!   voided invoice has no allocations and nothing paid; a customer's money pays only that
//!   customer's invoices, and a deposit as imported only invoices issued by the day it was paid;
//! - the deposits stored are exactly those imported once by serial: a serial seen again or a file
//!   imported again credits nothing, and a statement file's total is its new deposits';
//! - a split's children add up to the parent's `split_out`;
//! - a refused operation changes nothing, and an accepted one does what a small model says (a new
//!   invoice takes min(total, credit) of the customer's credit, a void gives what was paid back as
//!   credit, an allowance releases what was paid beyond what the invoice still asks, …).
//!
//! A failure names the seed, the step and the last operations.

mod support;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use einvoice::calendar::{taipei, Period};
use einvoice::money::Ntd;
use einvoice::number::Track;
use payments::statement::{self, Deposit, Encoding, Format, Statement};
use payments::virtual_account::{self, Layout};
use planner_api::domain::invoice::{Allowance, Invoice, InvoiceSource, NewNumberBlock};
use planner_api::domain::{NewCustomer, PaymentMethod, UsualCylinder};
use planner_api::receivables::{Receivables, ReceivablesConfig};
use planner_api::store::invoicing::{InvoiceDraft, Rendered};
use planner_api::store::Store;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use support::{Backend, Fresh};

/// Cases (each a fresh database) and operations per case.
const SEEDS: [u64; 10] = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
const OPS: usize = 150;
/// An id no row has.
const NOBODY: i64 = 9_999_999;
const BY: &str = "props";
const BRANCH: &str = "props";

/// SplitMix64: small, deterministic, good enough to choose operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// `lo..=hi` (`lo` when the range is empty).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> Option<T> {
        if xs.is_empty() {
            None
        } else {
            Some(xs[self.below(xs.len() as u64) as usize].clone())
        }
    }
}

macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PaymentRow {
    id: i64,
    kind: String,
    customer_id: Option<i64>,
    amount: i64,
    allocated: i64,
    refunded: i64,
    written_off: i64,
    split_out: i64,
    unapplied: i64,
    received_on: NaiveDate,
    serial: Option<String>,
    parent_id: Option<i64>,
    statement_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct AllocationRow {
    id: i64,
    payment_id: i64,
    invoice_id: i64,
    amount: i64,
    rule: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct InvoiceRow {
    id: i64,
    customer_id: i64,
    status: String,
    issued_at: DateTime<Utc>,
    total: i64,
    allowed: i64,
    paid: i64,
}

impl InvoiceRow {
    fn balance(&self) -> i64 {
        self.total - self.allowed - self.paid
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct AllowanceRow {
    id: i64,
    invoice_id: i64,
    total: i64,
    status: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FileRow {
    id: i64,
    deposits: i32,
    new_deposits: i32,
    duplicates: i32,
    total: i64,
}

/// Violations counted by SQL, and sums.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SqlChecks {
    bad_payments: i64,
    bad_invoices: i64,
    bad_splits: i64,
    foreign_allocations: i64,
    deposits_total: i64,
    deposits: i64,
    distinct_serials: i64,
    paid_total: i64,
    allocations_total: i64,
    allocated_total: i64,
}

/// Everything about money, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Books {
    payments: Vec<PaymentRow>,
    allocations: Vec<AllocationRow>,
    invoices: Vec<InvoiceRow>,
    allowances: Vec<AllowanceRow>,
    files: Vec<FileRow>,
    adjustments: i64,
    sql: SqlChecks,
}

impl Books {
    fn payment(&self, id: i64) -> Option<&PaymentRow> {
        self.payments.iter().find(|p| p.id == id)
    }

    fn invoice(&self, id: i64) -> Option<&InvoiceRow> {
        self.invoices.iter().find(|i| i.id == id)
    }

    /// A customer's credit: money of theirs not applied.
    fn credit(&self, customer: i64) -> i64 {
        self.payments.iter().filter(|p| p.customer_id == Some(customer)).map(|p| p.unapplied).sum()
    }

    /// What a customer owes on invoices in force.
    fn owed(&self, customer: i64) -> i64 {
        self.invoices.iter().filter(|i| i.customer_id == customer && i.status == "issued").map(|i| i.balance().max(0)).sum()
    }
}

const PAYMENT_VIOLATIONS: &str =
    "SELECT COUNT(*) FROM payments p WHERE p.allocated <> (SELECT COALESCE(SUM(a.amount), 0) FROM allocations a WHERE a.payment_id = p.id) \
     OR p.amount <> p.allocated + p.refunded + p.written_off + p.split_out + p.unapplied \
     OR p.allocated < 0 OR p.refunded < 0 OR p.written_off < 0 OR p.split_out < 0 OR p.unapplied < 0";
const INVOICE_VIOLATIONS: &str =
    "SELECT COUNT(*) FROM invoices i WHERE i.paid_amount <> (SELECT COALESCE(SUM(a.amount), 0) FROM allocations a WHERE a.invoice_id = i.id) \
     OR i.paid_amount < 0 OR i.paid_amount > i.total_amount - i.allowed_amount \
     OR (i.status = 'voided' AND (i.paid_amount <> 0 OR EXISTS (SELECT 1 FROM allocations a WHERE a.invoice_id = i.id)))";
const SPLIT_VIOLATIONS: &str =
    "SELECT COUNT(*) FROM payments p WHERE p.split_out <> (SELECT COALESCE(SUM(c.amount), 0) FROM payments c WHERE c.parent_id = p.id)";
const FOREIGN_ALLOCATIONS: &str = "SELECT COUNT(*) FROM allocations a JOIN payments p ON p.id = a.payment_id JOIN invoices i ON i.id = a.invoice_id \
     WHERE p.customer_id IS NULL OR p.customer_id <> i.customer_id";
const DEPOSIT_SUMS: &str =
    "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT), COUNT(*), COUNT(DISTINCT serial) FROM payments WHERE kind = 'deposit' AND parent_id IS NULL";
const MONEY_SUMS: &str = "SELECT (SELECT CAST(COALESCE(SUM(paid_amount), 0) AS BIGINT) FROM invoices), \
     (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM allocations), (SELECT CAST(COALESCE(SUM(allocated), 0) AS BIGINT) FROM payments)";

type PaymentTuple = (i64, String, Option<i64>, i64, i64, i64, i64, i64, i64, NaiveDate, Option<String>, Option<i64>, Option<i64>);
type InvoiceTuple = (i64, i64, String, DateTime<Utc>, i64, i64, i64);

async fn read_books(store: &Store) -> Books {
    on_pool!(store, pool => {
        let payments: Vec<PaymentTuple> = sqlx::query_as(
            "SELECT id, kind, customer_id, amount, allocated, refunded, written_off, split_out, unapplied, received_on, serial, parent_id, statement_id \
             FROM payments ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .expect("read payments");
        let allocations: Vec<(i64, i64, i64, i64, String)> =
            sqlx::query_as("SELECT id, payment_id, invoice_id, amount, rule FROM allocations ORDER BY id").fetch_all(pool).await.expect("read allocations");
        let invoices: Vec<InvoiceTuple> =
            sqlx::query_as("SELECT id, customer_id, status, issued_at, total_amount, allowed_amount, paid_amount FROM invoices ORDER BY id")
                .fetch_all(pool)
                .await
                .expect("read invoices");
        let allowances: Vec<(i64, i64, i64, String)> =
            sqlx::query_as("SELECT id, invoice_id, total, status FROM allowances ORDER BY id").fetch_all(pool).await.expect("read allowances");
        let files: Vec<(i64, i32, i32, i32, i64)> = sqlx::query_as("SELECT id, deposits, new_deposits, duplicates, total FROM statement_files ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("read statement files");
        let adjustments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_adjustments").fetch_one(pool).await.expect("count adjustments");
        let count = |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}")) };
        let (bad_payments, bad_invoices, bad_splits, foreign_allocations) =
            (count(PAYMENT_VIOLATIONS).await, count(INVOICE_VIOLATIONS).await, count(SPLIT_VIOLATIONS).await, count(FOREIGN_ALLOCATIONS).await);
        let (deposits_total, deposits, distinct_serials): (i64, i64, i64) = sqlx::query_as(DEPOSIT_SUMS).fetch_one(pool).await.expect("deposit sums");
        let (paid_total, allocations_total, allocated_total): (i64, i64, i64) = sqlx::query_as(MONEY_SUMS).fetch_one(pool).await.expect("money sums");
        Books {
            payments: payments
                .into_iter()
                .map(|p| PaymentRow {
                    id: p.0,
                    kind: p.1,
                    customer_id: p.2,
                    amount: p.3,
                    allocated: p.4,
                    refunded: p.5,
                    written_off: p.6,
                    split_out: p.7,
                    unapplied: p.8,
                    received_on: p.9,
                    serial: p.10,
                    parent_id: p.11,
                    statement_id: p.12,
                })
                .collect(),
            allocations: allocations.into_iter().map(|a| AllocationRow { id: a.0, payment_id: a.1, invoice_id: a.2, amount: a.3, rule: a.4 }).collect(),
            invoices: invoices
                .into_iter()
                .map(|i| InvoiceRow { id: i.0, customer_id: i.1, status: i.2, issued_at: i.3, total: i.4, allowed: i.5, paid: i.6 })
                .collect(),
            allowances: allowances.into_iter().map(|a| AllowanceRow { id: a.0, invoice_id: a.1, total: a.2, status: a.3 }).collect(),
            files: files.into_iter().map(|f| FileRow { id: f.0, deposits: f.1, new_deposits: f.2, duplicates: f.3, total: f.4 }).collect(),
            adjustments,
            sql: SqlChecks {
                bad_payments,
                bad_invoices,
                bad_splits,
                foreign_allocations,
                deposits_total,
                deposits,
                distinct_serials,
                paid_total,
                allocations_total,
                allocated_total,
            },
        }
    })
}

/// Renders a dummy MIG message (the outbox row is all the store needs; nothing sends it).
fn rendered(kind: &'static str, reference: &str) -> Result<Rendered, String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let file_name = format!("{kind}-{reference}-{n}.xml");
    Ok(Rendered {
        message_type: kind,
        reference: reference.to_owned(),
        destination: format!("props/{file_name}"),
        file_name,
        body: b"<props/>".to_vec(),
        deadline: Utc::now() + chrono::Duration::days(2),
    })
}

fn render_issue(invoice: &Invoice) -> Result<Rendered, String> {
    rendered("F0401", &invoice.number)
}

fn render_void(invoice: &Invoice) -> Result<Rendered, String> {
    rendered("F0501", &invoice.number)
}

fn render_allowance(_: &Invoice, allowance: &Allowance) -> Result<Rendered, String> {
    rendered("G0401", &allowance.number)
}

fn render_allowance_void(_: &Invoice, allowance: &Allowance) -> Result<Rendered, String> {
    rendered("G0501", &allowance.number)
}

/// A Taipei wall-clock time as UTC.
fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    (t - chrono::Duration::hours(8)).and_utc()
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    day.and_hms_opt(hour, minute, 0).expect("a valid time")
}

/// One case: a fresh database, the model of what was deposited, the random source.
struct World {
    store: Store,
    receivables: Receivables,
    seed: u64,
    step: usize,
    rng: Rng,
    /// The first day deposits are paid; invoices are issued around it.
    day0: NaiveDate,
    period: String,
    customers: Vec<i64>,
    /// Virtual accounts and their owners.
    owned: Vec<(String, i64)>,
    /// Accounts nobody owns: valid numbers, a mistyped one, one of the wrong length.
    strangers: Vec<String>,
    /// The model: every serial credited, with its amount.
    deposited: BTreeMap<String, i64>,
    /// Every statement imported: name, bytes, statement.
    files: Vec<(String, Vec<u8>, Statement)>,
    /// The bytes of every file imported (a file is imported once by its bytes).
    imported: HashSet<Vec<u8>>,
    next_serial: u64,
    trail: Vec<String>,
    books: Books,
}

impl World {
    async fn new(db: &Fresh, seed: u64) -> World {
        let store = db.store.clone();
        let layout = Layout::cathay_16("9527").expect("Cathay's layout");
        let receivables = Receivables::new(store.clone(), ReceivablesConfig { layout: Some(layout.clone()), sftp: None });
        let day0 = NaiveDate::from_ymd_opt(2026, 11, 11).expect("a date");
        let period = Period::of(day0).expect("a period");
        store
            .create_number_block(&NewNumberBlock { period, branch: BRANCH.into(), track: Track::parse("PM").expect("a track"), first: 0, last: 99_999 }, BY)
            .await
            .expect("a number block");
        let mut customers = Vec::new();
        for k in 0..4 {
            let c = store
                .create_customer(&NewCustomer {
                    code: format!("P{seed:04}{k:02}"),
                    name: format!("月結客戶{k}"),
                    phone: None,
                    address: format!("新北市板橋區文化路一段 {k} 號"),
                    district: "板橋區".into(),
                    lat: 25.013,
                    lon: 121.462,
                    time_windows: vec![],
                    usual_cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 }],
                    access_restrictions: vec![],
                    payment_method: PaymentMethod::Monthly,
                    allowed_vehicle_type_ids: vec![],
                })
                .await
                .expect("a customer");
            customers.push(c.id);
        }
        let dues = [at(NaiveDate::from_ymd_opt(2026, 12, 10).expect("a date"), 23, 0), at(NaiveDate::from_ymd_opt(2027, 1, 10).expect("a date"), 23, 0)];
        let mut owned = Vec::new();
        for (k, &c) in customers.iter().enumerate() {
            for due in dues.iter().take(if k % 2 == 0 { 2 } else { 1 }) {
                let number = virtual_account::generate(&layout, c as u64, *due).expect("a virtual account").to_string();
                store.insert_virtual_account(&number, c, layout.name(), Some(*due), BY).await.expect("store the virtual account");
                owned.push((number, c));
            }
        }
        let mut strangers: Vec<String> =
            [90_001, 90_002].iter().map(|&n| virtual_account::generate(&layout, n, dues[0]).expect("a virtual account").to_string()).collect();
        let mut typo = owned[0].0.clone().into_bytes();
        typo[15] = b'0' + (typo[15] - b'0' + 1) % 10;
        strangers.push(String::from_utf8(typo).expect("digits"));
        strangers.push("95271234".into());
        let books = read_books(&store).await;
        let mut w = World {
            store,
            receivables,
            seed,
            step: 0,
            rng: Rng(seed),
            day0,
            period: period.key(),
            customers,
            owned,
            strangers,
            deposited: BTreeMap::new(),
            files: Vec::new(),
            imported: HashSet::new(),
            next_serial: 0,
            trail: Vec::new(),
            books,
        };
        for _ in 0..8 {
            w.new_invoice().await;
        }
        w
    }

    fn context(&self) -> String {
        let from = self.trail.len().saturating_sub(12);
        format!("seed {}, step {}; last operations:\n  {}", self.seed, self.step, self.trail[from..].join("\n  "))
    }

    /// Reads the books back, checks every invariant, and checks that an operation was accepted
    /// exactly when the model says it should be and that a refused one changed nothing. Returns
    /// the books before the operation.
    async fn settle<T>(&mut self, what: String, outcome: &Result<T, String>, predicted: bool) -> Books {
        self.trail.push(format!("{what} -> {}", if outcome.is_ok() { "accepted" } else { "refused" }));
        let after = read_books(&self.store).await;
        check_books(&after, self);
        let before = std::mem::replace(&mut self.books, after);
        match outcome {
            Ok(_) => assert!(predicted, "accepted though the model refuses it; {}", self.context()),
            Err(e) => {
                assert!(!predicted, "refused ({e}) though the model accepts it; {}", self.context());
                assert_eq!(before, self.books, "a refused operation changed the books; {}", self.context());
            }
        }
        before
    }

    fn open_payments(&self) -> Vec<PaymentRow> {
        self.books.payments.iter().filter(|p| p.unapplied > 0).cloned().collect()
    }

    // ----- operations ---------------------------------------------------------------------

    /// A new statement of 1–6 deposits: most into owned accounts (half of them paying an open
    /// invoice's balance exactly), some into accounts nobody owns or mistyped; now and then a
    /// serial the bank used before.
    async fn import_new(&mut self) {
        let day = self.day0 + chrono::Duration::days(self.rng.range(0, 9));
        let count = self.rng.range(1, 6);
        let mut deposits = Vec::new();
        let mut serials = HashSet::new();
        let known: Vec<String> = self.deposited.keys().cloned().collect();
        for k in 0..count {
            let reused = if k > 0 && self.rng.percent(15) { self.rng.pick(&known).filter(|s| !serials.contains(s)) } else { None };
            let serial = reused.unwrap_or_else(|| {
                self.next_serial += 1;
                format!("S{:03}X{:010}", self.seed, self.next_serial)
            });
            serials.insert(serial.clone());
            let roll = self.rng.below(100);
            let (account, amount) = if roll < 70 {
                let (account, owner) = self.rng.pick(&self.owned).expect("accounts");
                let open: Vec<i64> = self
                    .books
                    .invoices
                    .iter()
                    .filter(|i| i.customer_id == owner && i.status == "issued" && i.balance() > 0 && i.issued_at.with_timezone(&taipei()).date_naive() <= day)
                    .map(InvoiceRow::balance)
                    .collect();
                let exact = if self.rng.percent(50) { self.rng.pick(&open) } else { None };
                let amount = exact.unwrap_or_else(|| self.rng.range(1, 4_000));
                (account, amount)
            } else {
                (self.rng.pick(&self.strangers).expect("strangers"), self.rng.range(1, 4_000))
            };
            let paid_at = at(day, 8 + k as u32, self.rng.below(60) as u32);
            deposits.push(Deposit {
                serial,
                paid_at,
                value_date: day,
                account,
                amount: Ntd(amount),
                payer_name: "王小明".into(),
                payer_bank: "0120012".into(),
                payer_account: "********1234".into(),
                memo: "瓦斯費".into(),
            });
        }
        let csv = self.rng.percent(30);
        let (format, ext) = if csv { (Format::Csv, "csv") } else { (Format::FixedWidth, "txt") };
        let encoding = if self.rng.percent(50) { Encoding::Big5 } else { Encoding::Utf8 };
        let s = Statement { bank_code: "013".into(), bank_name: "國泰世華商業銀行".into(), account: "001234567890".into(), date: day, deposits };
        let name = format!("VA{}-{}.{ext}", day.format("%Y%m%d"), self.files.len());
        let bytes = statement::write(format, &s, encoding).expect("a valid statement");
        let new: Vec<(String, i64)> = s.deposits.iter().filter(|d| !self.deposited.contains_key(&d.serial)).map(|d| (d.serial.clone(), d.amount.0)).collect();
        let what = format!("import {name}: {} deposits, {} new", s.deposits.len(), new.len());
        self.import(what, name, bytes, s, new).await;
    }

    /// Imports `bytes`; `new` are the deposits the model has not seen (credited only when the
    /// bytes are new).
    async fn import(&mut self, what: String, name: String, bytes: Vec<u8>, s: Statement, new: Vec<(String, i64)>) {
        let first_time = !self.imported.contains(&bytes);
        let report = self.receivables.import(&name, &bytes, "upload", BY).await.map_err(|e| e.to_string());
        let report = match report {
            Ok(r) => r,
            Err(e) => panic!("an import failed: {e}; {}", self.context()),
        };
        if first_time {
            for (serial, amount) in &new {
                self.deposited.insert(serial.clone(), *amount);
            }
            self.imported.insert(bytes.clone());
            self.files.push((name, bytes, s.clone()));
        }
        let before = self.settle(what, &Ok::<_, String>(()), true).await;
        assert_eq!(report.imported, first_time, "imported again: {report:?}; {}", self.context());
        if !first_time {
            assert_eq!(before, self.books, "a file imported again changed the books; {}", self.context());
            return;
        }
        assert_eq!(report.duplicates, s.deposits.len() - new.len(), "{report:?}; {}", self.context());
        let allocated = self.books.sql.allocations_total - before.sql.allocations_total;
        assert_eq!(report.allocated, allocated, "the report's allocated is what was applied; {report:?}; {}", self.context());
        let owners: HashMap<&str, i64> = self.owned.iter().map(|(a, c)| (a.as_str(), *c)).collect();
        for d in &s.deposits {
            let Some(p) = self.books.payments.iter().find(|p| p.serial.as_deref() == Some(d.serial.as_str())) else {
                panic!("deposit {} is not stored; {}", d.serial, self.context());
            };
            if new.iter().any(|(serial, _)| serial == &d.serial) {
                assert_eq!(
                    (p.amount, p.customer_id, p.received_on),
                    (d.amount.0, owners.get(d.account.as_str()).copied(), d.paid_at.date()),
                    "deposit {}; {}",
                    d.serial,
                    self.context()
                );
            }
        }
    }

    /// A file imported before, again: nothing is credited.
    async fn import_again(&mut self) {
        let Some((name, bytes, s)) = self.rng.pick(&self.files) else { return self.import_new().await };
        self.import(format!("import {name} again"), name, bytes, s, Vec::new()).await;
    }

    /// A statement imported before, written in the other layout or encoding (other bytes, the
    /// same serials): stored as a file, nothing credited.
    async fn import_rewritten(&mut self) {
        let Some((name, _, s)) = self.rng.pick(&self.files) else { return self.import_new().await };
        let (format, ext) = if self.rng.percent(50) { (Format::Csv, "csv") } else { (Format::FixedWidth, "txt") };
        let encoding = if self.rng.percent(50) { Encoding::Big5 } else { Encoding::Utf8 };
        let bytes = statement::write(format, &s, encoding).expect("a valid statement");
        let what = format!("import {name} rewritten as {ext} {encoding:?}");
        let new = s.deposits.iter().filter(|d| !self.deposited.contains_key(&d.serial)).map(|d| (d.serial.clone(), d.amount.0)).collect();
        self.import(what, format!("{name}.{ext}"), bytes, s, new).await;
    }

    /// The accountant applies a payment to one or two invoices, naming its customer or not;
    /// amounts are often more than the payment has or the invoice owes.
    async fn match_payment(&mut self) {
        let open = self.open_payments();
        let Some(p) = self.rng.pick(&open) else { return self.import_new().await };
        let customer = match p.customer_id {
            None => match self.rng.below(100) {
                0..15 => None,
                15..25 => Some(NOBODY),
                _ => self.rng.pick(&self.customers),
            },
            Some(c) => match self.rng.below(100) {
                0..70 => None,
                70..85 => Some(c),
                _ => self.rng.pick(&self.customers),
            },
        };
        let owner = customer.or(p.customer_id);
        let parts_wanted = if self.rng.percent(20) { 2 } else { 1 };
        let mut parts = Vec::new();
        for _ in 0..parts_wanted {
            let theirs: Vec<InvoiceRow> = self.books.invoices.iter().filter(|i| Some(i.customer_id) == owner).cloned().collect();
            let invoice = if self.rng.percent(85) { self.rng.pick(&theirs) } else { None };
            let Some(invoice) = invoice.or_else(|| self.rng.pick(&self.books.invoices)) else { break };
            let fits = p.unapplied.min(invoice.balance()).max(0);
            let amount = match self.rng.below(100) {
                0..40 => fits,
                40..55 => invoice.balance(),
                55..70 => p.unapplied,
                70..90 => self.rng.range(1, fits.max(1)),
                90..95 => fits + 1,
                _ => 0,
            };
            parts.push((invoice.id, amount));
        }
        // The model: refused whole if any part cannot be applied in full, in order.
        let known_customer = owner.is_none_or(|c| self.customers.contains(&c));
        let mut predicted = known_customer && !(p.customer_id.is_some() && customer.is_some_and(|c| Some(c) != p.customer_id));
        let mut left = p.unapplied;
        let mut balances: HashMap<i64, i64> = HashMap::new();
        for &(invoice, amount) in &parts {
            let Some(i) = self.books.invoice(invoice) else {
                predicted = false;
                continue;
            };
            let balance = balances.entry(invoice).or_insert(i.balance());
            if owner != Some(i.customer_id) || i.status != "issued" || amount <= 0 || amount > left || amount > *balance {
                predicted = false;
            } else {
                left -= amount;
                *balance -= amount;
            }
        }
        let outcome = self.store.match_payment(p.id, customer, &parts, BY).await.map_err(|e| e.to_string());
        let before = self.settle(format!("match payment {} (unapplied {}) to {parts:?} as {customer:?}", p.id, p.unapplied), &outcome, predicted).await;
        if outcome.is_ok() {
            let now = self.books.payment(p.id).expect("the payment");
            let applied: i64 = parts.iter().map(|x| x.1).sum();
            assert_eq!((now.allocated, now.customer_id), (p.allocated + applied, owner), "{}", self.context());
            for &(invoice, _) in &parts {
                let paid: i64 = parts.iter().filter(|x| x.0 == invoice).map(|x| x.1).sum();
                let was = before.invoice(invoice).expect("the invoice").paid;
                assert_eq!(self.books.invoice(invoice).expect("the invoice").paid, was + paid, "{}", self.context());
            }
        }
    }

    /// The accountant splits a payment between customers; each part pays its customer's open
    /// invoices oldest first at once.
    async fn split_payment(&mut self) {
        let open = self.open_payments();
        let Some(mut p) = self.rng.pick(&open) else { return self.import_new().await };
        if self.rng.percent(4) {
            p.id = NOBODY;
        }
        let count = self.rng.range(1, 3);
        let mut parts = Vec::new();
        for _ in 0..count {
            let customer = if self.rng.percent(5) { NOBODY } else { self.rng.pick(&self.customers).expect("customers") };
            parts.push((customer, self.rng.range(1, (p.unapplied / count).max(1))));
        }
        match self.rng.below(100) {
            0..10 => parts[0].1 += p.unapplied,
            10..15 => parts[0].1 = 0,
            _ => {}
        }
        let total: i64 = parts.iter().map(|x| x.1).sum();
        let predicted = p.id != NOBODY && total <= p.unapplied && parts.iter().all(|&(c, amount)| amount > 0 && self.customers.contains(&c));
        let outcome = self.store.split_payment(p.id, &parts, BY).await.map_err(|e| e.to_string());
        let before = self.settle(format!("split payment {} (unapplied {}) into {parts:?}", p.id, p.unapplied), &outcome, predicted).await;
        if let Ok(children) = outcome {
            let parent = self.books.payment(p.id).expect("the parent");
            assert_eq!(parent.split_out, p.split_out + total, "{}", self.context());
            assert_eq!(children.len(), parts.len(), "{}", self.context());
            let mut owed: HashMap<i64, i64> = self.customers.iter().map(|&c| (c, before.owed(c))).collect();
            for (child, &(customer, amount)) in children.iter().zip(&parts) {
                let row = self.books.payment(child.id).expect("the child");
                let takes = amount.min(owed[&customer]);
                *owed.entry(customer).or_default() -= takes;
                assert_eq!(
                    (row.parent_id, row.customer_id, row.amount, row.allocated, row.serial.as_deref()),
                    (Some(p.id), Some(customer), amount, takes, None),
                    "a split's part pays its customer's open invoices at once; {}",
                    self.context()
                );
            }
        }
    }

    /// The accountant refunds or writes off money left on a payment, sometimes more than is left.
    async fn adjust_payment(&mut self) {
        let Some(p) = self.rng.pick(&self.books.payments) else { return self.import_new().await };
        let kind = if self.rng.percent(50) { "refund" } else { "write_off" };
        let amount = match self.rng.below(100) {
            0..50 => self.rng.range(1, p.unapplied.max(1)),
            50..70 => p.unapplied,
            70..90 => p.unapplied + self.rng.range(1, 100),
            _ => 0,
        };
        let predicted = amount > 0 && amount <= p.unapplied;
        let outcome = self.store.adjust_payment(p.id, kind, amount, "props", BY).await.map_err(|e| e.to_string());
        self.settle(format!("{kind} {amount} of payment {} (unapplied {})", p.id, p.unapplied), &outcome, predicted).await;
        if outcome.is_ok() {
            let now = self.books.payment(p.id).expect("the payment");
            let (refunded, written_off) = if kind == "refund" { (p.refunded + amount, p.written_off) } else { (p.refunded, p.written_off + amount) };
            assert_eq!((now.refunded, now.written_off, now.unapplied), (refunded, written_off, p.unapplied - amount), "{}", self.context());
        }
    }

    /// A new invoice for a customer: it takes the customer's credit at once, as far as it goes.
    async fn new_invoice(&mut self) {
        let customer = self.rng.pick(&self.customers).expect("customers");
        let total = self.rng.range(200, 5_000);
        let day = self.day0 + chrono::Duration::days(self.rng.range(-8, 9));
        let issued_at = utc(at(day, 10, self.rng.below(60) as u32));
        let draft = InvoiceDraft {
            period: self.period.clone(),
            branch: BRANCH.into(),
            customer_id: customer,
            source: InvoiceSource::Manual,
            month: None,
            buyer_ban: "0000000000".into(),
            buyer_name: "月結客戶".into(),
            b2b: false,
            print_mark: "N".into(),
            carrier_type: None,
            carrier_id: None,
            npoban: None,
            random_code: "1234".into(),
            issued_at,
            sales_amount: total,
            free_tax_sales_amount: 0,
            zero_tax_sales_amount: 0,
            tax_type: 1,
            tax_amount: 0,
            total_amount: total,
            items: vec![],
            order_ids: vec![],
            created_by: BY.into(),
        };
        let credit = self.books.credit(customer);
        let outcome = self.store.issue_invoice(&draft, &render_issue).await.map_err(|e| e.to_string());
        self.settle(format!("invoice {total} to customer {customer} (credit {credit})"), &outcome, true).await;
        if let Ok(invoice) = outcome {
            let row = self.books.invoice(invoice.id).expect("the invoice");
            assert_eq!(row.paid, total.min(credit), "a new invoice takes the customer's credit; {}", self.context());
            assert_eq!(self.books.credit(customer), credit - row.paid, "{}", self.context());
        }
    }

    /// Voids an invoice: what was paid on it goes back to the payments as credit.
    async fn void_invoice(&mut self) {
        let Some(i) = self.rng.pick(&self.books.invoices) else { return };
        let predicted = i.status == "issued" && i.allowed == 0;
        let credit = self.books.credit(i.customer_id);
        let outcome = self.store.void_invoice(i.id, "props", Utc::now(), &render_void).await.map_err(|e| e.to_string());
        self.settle(format!("void invoice {} ({}, paid {}, allowed {})", i.id, i.status, i.paid, i.allowed), &outcome, predicted).await;
        if outcome.is_ok() {
            let row = self.books.invoice(i.id).expect("the invoice");
            assert_eq!((row.status.as_str(), row.paid), ("voided", 0), "{}", self.context());
            assert_eq!(self.books.credit(i.customer_id), credit + i.paid, "a void gives what was paid back as credit; {}", self.context());
        }
    }

    /// An allowance on an invoice, sometimes more than is left of it: what was paid beyond
    /// what the invoice then asks goes back as credit.
    async fn allowance(&mut self) {
        let Some(i) = self.rng.pick(&self.books.invoices) else { return };
        let left = i.total - i.allowed;
        let amount = match self.rng.below(100) {
            0..45 => self.rng.range(1, left.max(1)),
            45..65 => left.max(1),
            65..80 => left.max(0) + self.rng.range(1, 100),
            _ => self.rng.range(1, (i.paid + 1).max(1)),
        };
        let predicted = i.status == "issued" && amount <= left;
        let credit = self.books.credit(i.customer_id);
        let outcome = self.store.issue_allowance(i.id, &self.period, amount, 0, "props", BY, Utc::now(), &render_allowance).await.map_err(|e| e.to_string());
        self.settle(
            format!("allowance {amount} on invoice {} ({}, total {}, allowed {}, paid {})", i.id, i.status, i.total, i.allowed, i.paid),
            &outcome,
            predicted,
        )
        .await;
        if outcome.is_ok() {
            let row = self.books.invoice(i.id).expect("the invoice");
            let paid = i.paid.min(left - amount);
            assert_eq!((row.allowed, row.paid), (i.allowed + amount, paid), "{}", self.context());
            assert_eq!(self.books.credit(i.customer_id), credit + i.paid - paid, "{}", self.context());
        }
    }

    /// Voids an allowance: the invoice asks for that much again; nothing paid moves.
    async fn void_allowance(&mut self) {
        let Some(a) = self.rng.pick(&self.books.allowances) else { return self.allowance().await };
        let predicted = a.status == "issued";
        let outcome = self.store.void_allowance(a.id, Utc::now(), &render_allowance_void).await.map_err(|e| e.to_string());
        let before = self.settle(format!("void allowance {} ({}, {} on invoice {})", a.id, a.status, a.total, a.invoice_id), &outcome, predicted).await;
        if outcome.is_ok() {
            let (was, now) = (before.invoice(a.invoice_id).expect("the invoice"), self.books.invoice(a.invoice_id).expect("the invoice"));
            assert_eq!((now.allowed, now.paid), (was.allowed - a.total, was.paid), "{}", self.context());
        }
    }
}

/// Every invariant of the books, and the model's deposits.
fn check_books(b: &Books, w: &World) {
    let ctx = || w.context();
    let s = &b.sql;
    assert_eq!(
        (s.bad_payments, s.bad_invoices, s.bad_splits, s.foreign_allocations),
        (0, 0, 0, 0),
        "SQL finds payments, invoices, splits or allocations that do not add up; {}",
        ctx()
    );
    assert!(s.paid_total == s.allocations_total && s.allocated_total == s.allocations_total, "sums: {s:?}; {}", ctx());
    let model_total: i64 = w.deposited.values().sum();
    let model_count = w.deposited.len() as i64;
    assert_eq!(
        (s.deposits_total, s.deposits, s.distinct_serials),
        (model_total, model_count, model_count),
        "the deposits stored are those imported once by serial; {}",
        ctx()
    );

    let mut by_payment: HashMap<i64, i64> = HashMap::new();
    let mut by_invoice: HashMap<i64, i64> = HashMap::new();
    let payments: HashMap<i64, &PaymentRow> = b.payments.iter().map(|p| (p.id, p)).collect();
    let invoices: HashMap<i64, &InvoiceRow> = b.invoices.iter().map(|i| (i.id, i)).collect();
    for a in &b.allocations {
        assert!(a.amount > 0, "allocation {a:?}; {}", ctx());
        *by_payment.entry(a.payment_id).or_default() += a.amount;
        *by_invoice.entry(a.invoice_id).or_default() += a.amount;
        let (Some(p), Some(i)) = (payments.get(&a.payment_id), invoices.get(&a.invoice_id)) else {
            panic!("allocation {a:?} of a missing payment or invoice; {}", ctx());
        };
        assert_eq!(p.customer_id, Some(i.customer_id), "money of one customer pays only their invoices: {a:?}; {}", ctx());
        if p.parent_id.is_none() && p.statement_id.is_some() && matches!(a.rule.as_str(), "exact" | "oldest") {
            let issued = i.issued_at.with_timezone(&taipei()).date_naive();
            assert!(issued <= p.received_on, "a deposit paid {} pays invoice {} issued {issued}; {}", p.received_on, i.id, ctx());
        }
    }
    let mut children: HashMap<i64, i64> = HashMap::new();
    let mut serials: BTreeMap<String, i64> = BTreeMap::new();
    let mut per_file: HashMap<i64, (i64, i32)> = HashMap::new();
    for p in &b.payments {
        let parts = [p.allocated, p.refunded, p.written_off, p.split_out, p.unapplied];
        assert!(p.amount > 0 && parts.iter().all(|&x| x >= 0), "payment {p:?}; {}", ctx());
        assert_eq!(p.amount, parts.iter().sum::<i64>(), "payment {p:?} does not add up; {}", ctx());
        assert_eq!(p.allocated, by_payment.get(&p.id).copied().unwrap_or(0), "payment {p:?}: allocated is its allocations; {}", ctx());
        match p.parent_id {
            Some(parent) => {
                *children.entry(parent).or_default() += p.amount;
                assert!(p.serial.is_none(), "a split's part has no serial: {p:?}; {}", ctx());
                assert!(payments.get(&parent).is_some_and(|q| q.kind == p.kind), "split part {p:?}; {}", ctx());
            }
            None => {
                assert_eq!(p.kind, "deposit", "only deposits in this test: {p:?}; {}", ctx());
                let serial = p.serial.clone().unwrap_or_else(|| panic!("a deposit without a serial: {p:?}; {}", ctx()));
                assert!(serials.insert(serial, p.amount).is_none(), "a serial stored twice: {p:?}; {}", ctx());
                let file = p.statement_id.unwrap_or_else(|| panic!("a deposit of no statement: {p:?}; {}", ctx()));
                let entry = per_file.entry(file).or_default();
                entry.0 += p.amount;
                entry.1 += 1;
            }
        }
    }
    for p in &b.payments {
        assert_eq!(p.split_out, children.get(&p.id).copied().unwrap_or(0), "payment {p:?}: its split parts add up to split_out; {}", ctx());
    }
    assert!(serials == w.deposited, "the deposits stored, by serial, are the model's; {}", ctx());

    let mut allowed: HashMap<i64, i64> = HashMap::new();
    for a in b.allowances.iter().filter(|a| a.status == "issued") {
        *allowed.entry(a.invoice_id).or_default() += a.total;
    }
    for i in &b.invoices {
        let paid = by_invoice.get(&i.id).copied().unwrap_or(0);
        assert_eq!(i.paid, paid, "invoice {i:?}: paid is its allocations; {}", ctx());
        assert!((0..=i.total - i.allowed).contains(&i.paid), "invoice {i:?}: paid within what it asks; {}", ctx());
        assert_eq!(i.allowed, allowed.get(&i.id).copied().unwrap_or(0), "invoice {i:?}: allowed is its allowances in force; {}", ctx());
        if i.status != "issued" {
            assert!(i.paid == 0 && !by_invoice.contains_key(&i.id), "a voided invoice holds no money: {i:?}; {}", ctx());
        }
    }
    assert_eq!(b.files.len(), w.imported.len(), "a statement file per distinct file imported; {}", ctx());
    for f in &b.files {
        let (total, count) = per_file.get(&f.id).copied().unwrap_or((0, 0));
        assert_eq!(
            (f.total, f.new_deposits, f.deposits),
            (total, count, count + f.duplicates),
            "statement file {f:?}: its total is its new deposits'; {}",
            ctx()
        );
    }
}

async fn run_case(backend: Backend, seed: u64) -> usize {
    let db = Fresh::new(backend, true).await;
    let mut w = World::new(&db, seed).await;
    for step in 0..OPS {
        w.step = step;
        match w.rng.below(100) {
            0..22 => w.import_new().await,
            22..28 => w.import_again().await,
            28..32 => w.import_rewritten().await,
            32..50 => w.match_payment().await,
            50..60 => w.split_payment().await,
            60..72 => w.adjust_payment().await,
            72..84 => w.new_invoice().await,
            84..90 => w.void_invoice().await,
            90..97 => w.allowance().await,
            _ => w.void_allowance().await,
        }
    }
    let accepted = w.trail.iter().filter(|t| t.ends_with("accepted")).count();
    db.cleanup().await;
    accepted
}

async fn random_payments_keep_the_books(backend: Backend) {
    let started = std::time::Instant::now();
    let mut accepted = 0;
    for seed in SEEDS {
        accepted += run_case(backend, seed).await;
    }
    let total = SEEDS.len() * OPS;
    // The operations must mostly do something, or the invariants prove little.
    assert!(accepted * 2 > total, "only {accepted} of {total} operations were accepted");
    eprintln!("{backend:?}: {total} operations ({accepted} accepted) in {:.1} s", started.elapsed().as_secs_f64());
}

each_backend!(random_payments_keep_the_books);
