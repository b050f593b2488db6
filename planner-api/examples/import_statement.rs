//! Measures importing a bank statement through the service's own code path
//! ([`Receivables::import`]: parse, match, store in one transaction) on a fresh database: a SQLite
//! file in a temporary folder, or a new schema on the PostgreSQL server of `--pg-url` (dropped
//! afterwards).
//!
//! The month is `payments::sample::month(seed, invoices, deposits)`: `--invoices` open invoices
//! of `invoices / 2` monthly-account customers with a virtual account each, and a statement of
//! `--deposits` deposits, written as the banks send it (fixed width, Big5). Customers, virtual
//! accounts, the number block and the invoices are seeded with bulk inserts in one transaction
//! (rows as the service stores them; seeding is not what is measured). Then the statement is
//! imported once (timed), the same bytes again (nothing credited), the books are checked with SQL
//! (every payment adds up, every invoice's paid amount is its allocations, the deposits stored are
//! the statement's) and the outcome is compared with the pure matching of the same month.
//!
//! It prints each step's time, the import's counts, the peak resident memory (`VmHWM` of
//! `/proc/self/status`) and the database size. A measurement run by hand, not a test.
//!
//! ```sh
//! cargo run --release -p planner-api --example import_statement
//! cargo run --release -p planner-api --example import_statement -- --pg-url postgres://postgres@127.0.0.1:5432/test
//! cargo run --release -p planner-api --example import_statement -- --deposits 5000 --invoices 2000
//! ```

use anyhow::{bail, ensure, Context};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Parser;
use payments::matching;
use payments::sample::{self, SampleMonth};
use payments::statement::{self, Encoding, Format};
use planner_api::receivables::{Receivables, ReceivablesConfig};
use planner_api::store::Store;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Instant;

#[derive(Parser, Debug)]
struct Args {
    /// Deposits in the statement.
    #[arg(long, default_value_t = 50_000)]
    deposits: usize,
    /// Open invoices (of invoices / 2 customers).
    #[arg(long, default_value_t = 20_000)]
    invoices: usize,
    /// The sample's seed (the same month on every run).
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// A PostgreSQL server to measure on (a fresh schema, dropped afterwards) instead of SQLite.
    #[arg(long)]
    pg_url: Option<String>,
}

/// A line of `/proc/self/status` in MiB (`VmHWM`: peak resident memory; `VmRSS`: now).
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.unwrap_or(0.0) / 1024.0
}

fn mib(bytes: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    b / (1024.0 * 1024.0)
}

/// `($first, …), (…), …`: `rows` groups of `width` numbered parameters.
fn values(rows: usize, width: usize) -> String {
    (0..rows).map(|r| format!("({})", (1..=width).map(|c| format!("${}", r * width + c)).collect::<Vec<_>>().join(", "))).collect::<Vec<_>>().join(", ")
}

/// Rows per multi-row INSERT. Small: SQLite's driver binds a statement's parameters in more
/// than linear time (1,000-row batches seeded twelve times slower than 100-row ones).
const BATCH: usize = 100;

macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

/// Seeds the month's customers (monthly accounts), their virtual accounts, a number block and
/// the open invoices, in one transaction. Returns the number of customers.
async fn seed(store: &Store, month: &SampleMonth) -> anyhow::Result<usize> {
    let now = Utc::now();
    let layout = month.layout.name().to_owned();
    let due = NaiveDate::from_ymd_opt(2026, 12, 10).and_then(|d| d.and_hms_opt(23, 0, 0)).context("due")?;
    let due = (due - chrono::Duration::hours(8)).and_utc();
    // The sample's customer numbers, in order; each becomes a customer coded `M` + number.
    let mut numbers: Vec<i64> = month.accounts.iter().map(|(_, c)| c.0).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let period = einvoice::calendar::Period::of(NaiveDate::from_ymd_opt(2026, 11, 1).context("date")?)?.key();
    let last = i64::try_from(month.invoices.len()).context("invoices")?;
    on_pool!(store, pool => {
        let mut tx = pool.begin().await?;
        for chunk in numbers.chunks(BATCH) {
            let sql = format!(
                "INSERT INTO customers (code, name, address, district, lat, lon, time_windows, usual_cylinders, access_restrictions, payment_method, \
                 created_at, updated_at) VALUES {}",
                values(chunk.len(), 12)
            );
            let mut q = sqlx::query(&sql);
            for n in chunk {
                q = q.bind(format!("M{n:06}")).bind(format!("月結客戶{n}")).bind(format!("新北市板橋區文化路一段 {n} 號")).bind("板橋區")
                    .bind(25.013).bind(121.462).bind("[]").bind("[{\"size_kg\":20,\"quantity\":1}]").bind("[]").bind("monthly").bind(now).bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        let ids: Vec<(i64, String)> = sqlx::query_as("SELECT id, code FROM customers").fetch_all(&mut *tx).await?;
        let id_of: HashMap<String, i64> = ids.into_iter().map(|(id, code)| (code, id)).collect();
        let customer = |n: i64| id_of.get(&format!("M{n:06}")).copied().with_context(|| format!("customer {n} was not stored"));
        for chunk in month.accounts.chunks(BATCH) {
            let sql = format!("INSERT INTO virtual_accounts (number, customer_id, layout, due_at, created_by, created_at) VALUES {}", values(chunk.len(), 6));
            let mut q = sqlx::query(&sql);
            for (number, c) in chunk {
                q = q.bind(number).bind(customer(c.0)?).bind(&layout).bind(due).bind("bench").bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        let block: i64 = sqlx::query_scalar(
            "INSERT INTO number_blocks (period, branch, track, first_no, last_no, next_no, created_by, created_at) \
             VALUES ($1, 'bench', 'AB', 1, $2, $3, 'bench', $4) RETURNING id",
        )
        .bind(&period).bind(last).bind(last + 1).bind(now)
        .fetch_one(&mut *tx).await?;
        for chunk in month.invoices.chunks(BATCH) {
            // Invoices as the service issues them, tax included, nothing paid yet; the rows of
            // a generator, so the constant columns are literals.
            let rows = (0..chunk.len())
                .map(|r| {
                    let p = |c: usize| format!("${}", r * 5 + c);
                    format!(
                        "({}, '{period}', 'bench', {block}, {}, 'delivery', NULL, '0000000000', '月結客戶', FALSE, 'N', NULL, NULL, NULL, '1234', {}, {}, 0, 0, 1, 0, {}, 'issued', 'bench')",
                        p(1), p(2), p(3), p(4), p(5)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO invoices (number, period, branch, block_id, customer_id, source, month, buyer_ban, buyer_name, b2b, print_mark, carrier_type, \
                 carrier_id, npoban, random_code, issued_at, sales_amount, free_tax_sales_amount, zero_tax_sales_amount, tax_type, tax_amount, total_amount, \
                 status, created_by) VALUES {rows}"
            );
            let mut q = sqlx::query(&sql);
            for i in chunk {
                let issued: DateTime<Utc> = (i.issued.and_hms_opt(10, 0, 0).context("time")? - chrono::Duration::hours(8)).and_utc();
                q = q.bind(&i.number).bind(customer(i.customer.0)?).bind(issued).bind(i.balance.0).bind(i.balance.0);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    });
    Ok(numbers.len())
}

/// The books after the import, read with SQL.
#[derive(Debug)]
struct Books {
    /// Payments whose parts do not add up or whose `allocated` is not their allocations.
    bad_payments: i64,
    /// Invoices whose `paid_amount` is not their allocations or exceeds what they ask.
    bad_invoices: i64,
    /// Allocations paying another customer's invoice.
    foreign: i64,
    /// Σ paid_amount, Σ allocations, Σ payments.allocated.
    paid: i64,
    allocations: i64,
    allocated: i64,
    /// Deposits stored: count and sum; credit (customers' money unapplied) and unmatched money.
    deposits: i64,
    deposited: i64,
    credit: i64,
    unmatched: i64,
    /// Statement files stored.
    files: i64,
}

async fn read_books(store: &Store) -> anyhow::Result<Books> {
    let bad_payments = "SELECT COUNT(*) FROM payments p LEFT JOIN (SELECT payment_id, SUM(amount) AS s FROM allocations GROUP BY payment_id) a \
                        ON a.payment_id = p.id WHERE p.allocated <> COALESCE(a.s, 0) \
                        OR p.amount <> p.allocated + p.refunded + p.written_off + p.split_out + p.unapplied \
                        OR p.allocated < 0 OR p.refunded < 0 OR p.written_off < 0 OR p.split_out < 0 OR p.unapplied < 0";
    let bad_invoices = "SELECT COUNT(*) FROM invoices i LEFT JOIN (SELECT invoice_id, SUM(amount) AS s FROM allocations GROUP BY invoice_id) a \
                        ON a.invoice_id = i.id WHERE i.paid_amount <> COALESCE(a.s, 0) OR i.paid_amount < 0 OR i.paid_amount > i.total_amount - i.allowed_amount";
    let foreign = "SELECT COUNT(*) FROM allocations a JOIN payments p ON p.id = a.payment_id JOIN invoices i ON i.id = a.invoice_id \
                   WHERE p.customer_id IS NULL OR p.customer_id <> i.customer_id";
    let sums =
        "SELECT (SELECT CAST(COALESCE(SUM(paid_amount), 0) AS BIGINT) FROM invoices), (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM allocations), \
                (SELECT CAST(COALESCE(SUM(allocated), 0) AS BIGINT) FROM payments)";
    let deposits = "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN customer_id IS NOT NULL THEN unapplied ELSE 0 END), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN customer_id IS NULL THEN unapplied ELSE 0 END), 0) AS BIGINT) \
                    FROM payments WHERE kind = 'deposit' AND parent_id IS NULL";
    Ok(on_pool!(store, pool => {
        let count = |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await };
        let (paid, allocations, allocated): (i64, i64, i64) = sqlx::query_as(sums).fetch_one(pool).await?;
        let (count_, deposited, credit, unmatched): (i64, i64, i64, i64) = sqlx::query_as(deposits).fetch_one(pool).await?;
        Books {
            bad_payments: count(bad_payments).await?,
            bad_invoices: count(bad_invoices).await?,
            foreign: count(foreign).await?,
            paid,
            allocations,
            allocated,
            deposits: count_,
            deposited,
            credit,
            unmatched,
            files: count("SELECT COUNT(*) FROM statement_files").await?,
        }
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let t = Instant::now();
    let month = sample::month(args.seed, args.invoices, args.deposits);
    let bytes = statement::write(Format::FixedWidth, &month.statement, Encoding::Big5)?;
    let file_name = format!("VA{}.txt", month.statement.date.format("%Y%m%d"));
    println!(
        "sample month (seed {}): {} open invoices, {} deposits; statement {file_name}: {:.1} MiB, fixed width, Big5 (built in {:.1} s)",
        args.seed,
        month.invoices.len(),
        month.statement.deposits.len(),
        mib(bytes.len() as u64),
        t.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir()?;
    let db_path = dir.path().join("import_statement.db");
    let schema = format!("import_statement_{}", std::process::id());
    let store = match &args.pg_url {
        None => Store::open(&format!("sqlite://{}", db_path.display())).await?,
        Some(url) => {
            let mut conn = PgConnection::connect(url).await.context("connect to PostgreSQL")?;
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await?;
            conn.close().await?;
            Store::open_postgres(PgConnectOptions::from_str(url)?.options([("search_path", schema.as_str())])).await?
        }
    };
    let backend = if args.pg_url.is_some() { "PostgreSQL" } else { "SQLite" };
    let outcome = run(&store, &month, &bytes, &file_name, backend).await;

    let size = match &store {
        Store::Sqlite(pool) => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await.ok();
            std::fs::metadata(&db_path).map(|m| m.len()).unwrap_or(0)
        }
        Store::Postgres(pool) => {
            let sql = format!(
                "SELECT CAST(SUM(pg_total_relation_size(format('%I.%I', schemaname, tablename))) AS BIGINT) FROM pg_tables WHERE schemaname = '{schema}'"
            );
            let bytes: Option<i64> = sqlx::query_scalar(&sql).fetch_one(pool).await?;
            u64::try_from(bytes.unwrap_or(0)).unwrap_or(0)
        }
    };
    println!("database size: {:.1} MiB ({backend})", mib(size));
    store.close().await;
    if let Some(url) = &args.pg_url {
        let mut conn = PgConnection::connect(url).await?;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut conn).await?;
    }
    outcome
}

async fn run(store: &Store, month: &SampleMonth, bytes: &[u8], file_name: &str, backend: &str) -> anyhow::Result<()> {
    let t = Instant::now();
    let customers = seed(store, month).await?;
    println!("seeded {customers} customers with virtual accounts and {} open invoices in {:.1} s ({backend})", month.invoices.len(), t.elapsed().as_secs_f64());

    let receivables = Receivables::new(store.clone(), ReceivablesConfig { layout: Some(month.layout.clone()), sftp: None });
    let (rss, peak) = (status_mib("VmRSS:"), status_mib("VmHWM:"));
    println!("before the import: RSS {rss:.1} MiB, peak RSS {peak:.1} MiB");
    let t = Instant::now();
    let report = receivables.import(file_name, bytes, "upload", "bench").await?;
    let took = t.elapsed().as_secs_f64();
    ensure!(report.imported, "the first import of the file credited nothing: {report:?}");
    println!(
        "import (parse + match + store, one transaction): {took:.2} s; {} deposits: {} matched to invoices, {} left credit, {} unmatched, {} duplicates; NT${} allocated",
        report.file.deposits, report.matched, report.credits, report.unmatched, report.duplicates, report.allocated
    );
    println!("peak RSS (VmHWM) after the import: {:.1} MiB (RSS now {:.1} MiB)", status_mib("VmHWM:"), status_mib("VmRSS:"));

    let t = Instant::now();
    let again = receivables.import(file_name, bytes, "upload", "bench").await?;
    ensure!(!again.imported && again.allocated == 0, "the same bytes again credited something: {again:?}");
    println!("the same file again: {:.1} ms, nothing credited", t.elapsed().as_secs_f64() * 1000.0);

    // The books, read with SQL.
    let t = Instant::now();
    let books = read_books(store).await?;
    let total: i64 = month.statement.deposits.iter().map(|d| d.amount.0).sum();
    let serials: HashSet<&str> = month.statement.deposits.iter().map(|d| d.serial.as_str()).collect();
    let expected_deposits = i64::try_from(serials.len())?;
    if books.bad_payments != 0 || books.bad_invoices != 0 || books.foreign != 0 {
        bail!("invariants broken: {books:?}");
    }
    ensure!(books.paid == books.allocations && books.allocated == books.allocations && books.allocations == report.allocated, "sums differ: {books:?}");
    ensure!(books.deposits == expected_deposits && books.deposited == total && books.files == 1, "deposits stored differ from the statement's: {books:?}");
    ensure!(books.allocated + books.credit + books.unmatched == total, "deposited money is not allocated + credit + unmatched: {books:?}");
    println!(
        "invariants: ok (every payment adds up, paid = allocations = NT${}, {} deposits = NT${} = allocated + credit NT${} + unmatched NT${}; checked in {:.2} s)",
        books.allocations,
        books.deposits,
        books.deposited,
        books.credit,
        books.unmatched,
        t.elapsed().as_secs_f64()
    );

    // The pure parse and matching of the same month say the same (and show what of the import's
    // time is the database's).
    let book = month.book();
    let t = Instant::now();
    let parsed = statement::parse_as(Format::FixedWidth, Encoding::Big5, file_name, bytes)?;
    let pure = matching::match_deposits(&book, &parsed.deposits, &HashSet::new());
    let pure_took = t.elapsed().as_secs_f64();
    let matched: HashSet<&str> = pure.allocations.iter().map(|a| a.serial.as_str()).collect();
    let allocated: i64 = pure.allocations.iter().map(|a| a.amount.0).sum();
    ensure!(
        (matched.len(), pure.credits.len(), pure.unmatched.len(), allocated) == (report.matched, report.credits, report.unmatched, report.allocated),
        "the store's import differs from the pure matching: {} matched, {} credits, {} unmatched, NT${allocated}",
        matched.len(),
        pure.credits.len(),
        pure.unmatched.len()
    );
    println!(
        "the pure parse + match of the same file agrees ({} allocations) and takes {:.0} ms: the rest of the import is the database's",
        pure.allocations.len(),
        pure_took * 1000.0
    );
    Ok(())
}
