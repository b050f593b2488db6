//! The month-end B2B run: 10,000 consolidated invoices, on SQLite and on PostgreSQL.
//!
//! 10,000 monthly-account (月結) customers, each with a valid buyer 統一編號 in its invoice
//! preferences and 2–4 delivered orders (two cylinder sizes each, 30,000 orders, 180,000 invoice
//! lines in all) dated in last month, bill last month (`Invoicing::monthly_run`): one consolidated
//! B2B invoice per customer, each taking its number from the period's block inside its
//! transaction and writing its F0401 message to the outbox.
//!
//! Per backend, two fresh databases are seeded identically (not timed):
//! 1. the loop of `monthly_run` (customers to bill, then each customer's unbilled deliveries and
//!    `Invoicing::issue`) with each `issue` call timed: p50/p95/p99 per invoice;
//! 2. `Invoicing::monthly_run` end to end: throughput in invoices/s.
//!
//! SQLite is a file in a temporary folder (WAL, as `luckygas serve` opens it); PostgreSQL is a
//! fresh schema in `DATABASE_URL_PG` (default `postgres://postgres@127.0.0.1:5432/test`), skipped
//! with a message when unreachable. Not a criterion bench: one run of 10,000 invoices is the
//! measurement.
//!
//! ```sh
//! CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo bench -p benches --bench month_end
//! ```
//!
//! `MONTH_END_CUSTOMERS=N` bills N customers instead of 10,000; `MONTH_END_BACKENDS=sqlite` or
//! `postgres` runs one backend. Under `benches/quick.sh` (criterion's options on the command line)
//! it runs a 300-customer smoke version unless `MONTH_END_CUSTOMERS` says otherwise: the full run
//! takes minutes.

use chrono::{Datelike, NaiveDate};
use einvoice::ban::Ban;
use einvoice::calendar::Period;
use einvoice::number::Track;
use planner_api::domain::invoice::{Buyer, InvoiceSource, NewNumberBlock, NewPrice, PriceBasis};
use planner_api::domain::{CustomerInput, NewOrder, Priority, UsualCylinder};
use planner_api::invoicing::{Invoicing, InvoicingConfig};
use planner_api::store::Store;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Customers billed by default.
const CUSTOMERS: usize = 10_000;
/// Customers billed under `benches/quick.sh`.
const QUICK_CUSTOMERS: usize = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database and what removes it.
struct Db {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl Db {
    async fn fresh(backend: Backend) -> Result<Db, String> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
                let store = Store::open(&format!("sqlite://{}", dir.path().join("month_end.db").display())).await.map_err(|e| e.to_string())?;
                Ok(Db { store, _dir: Some(dir), schema: None })
            }
            Backend::Postgres => {
                let url = std::env::var("DATABASE_URL_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
                let mut conn = PgConnection::connect(&url).await.map_err(|e| format!("PostgreSQL is not reachable at {url}: {e}"))?;
                let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
                let schema = format!("bench_month_end_{}_{nanos}", std::process::id());
                sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.map_err(|e| e.to_string())?;
                conn.close().await.map_err(|e| e.to_string())?;
                let options = PgConnectOptions::from_str(&url).map_err(|e| e.to_string())?.options([("search_path", schema.as_str())]);
                let store = Store::open_postgres(options).await.map_err(|e| e.to_string())?;
                Ok(Db { store, _dir: None, schema: Some((url, schema)) })
            }
        }
    }

    async fn drop_it(self) {
        self.store.close().await;
        if let Some((url, schema)) = &self.schema {
            if let Ok(mut conn) = PgConnection::connect(url).await {
                let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut conn).await;
            }
        }
    }
}

/// `n` distinct valid 統一編號s.
fn bans(n: usize) -> Vec<Ban> {
    (12_000_000u32..).map(|k| format!("{k:08}")).filter(|t| Ban::is_valid(t)).take(n).map(|t| Ban::parse(&t).expect("valid")).collect()
}

/// The month before `date`'s: its first and last day and `YYYY-MM`.
fn last_month(date: NaiveDate) -> (NaiveDate, NaiveDate, String) {
    let last = date.with_day(1).expect("first of the month").pred_opt().expect("a day before");
    let first = last.with_day(1).expect("first of last month");
    (first, last, format!("{:04}-{:02}", first.year(), first.month()))
}

/// Runs `f` on every item with `workers` tasks (items dealt round-robin).
async fn in_parallel<T, F, Fut>(items: Vec<T>, workers: usize, f: F)
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let f = std::sync::Arc::new(f);
    let mut shares: Vec<Vec<T>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        shares[i % workers].push(item);
    }
    let mut set = tokio::task::JoinSet::new();
    for share in shares {
        let f = std::sync::Arc::clone(&f);
        set.spawn(async move {
            for item in share {
                f(item).await;
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.expect("a seeding task panicked");
    }
}

/// Seeds `n` monthly customers with B2B preferences and 2–4 orders each dated in last month,
/// list prices, and a number block of today's period big enough for the run. Returns the number
/// of orders.
async fn seed(store: &Store, n: usize, bans: &[Ban], today: NaiveDate) -> usize {
    let (first, last, _) = last_month(today);
    for (kg, price) in [(16, 880), (20, 1_050)] {
        let p = NewPrice { customer_id: None, cylinder_kg: kg, basis: PriceBasis::Cylinder, unit_price: price, deposit: 1_500, effective_from: first };
        store.create_price(&p, "bench").await.expect("list price");
    }
    let period = Period::of(today).expect("today's period");
    let capacity = u32::try_from(n).expect("n fits") + 1_000;
    let block = NewNumberBlock { period, branch: String::new(), track: Track::parse("ME").expect("track"), first: 0, last: capacity - 1 };
    store.create_number_block(&block, "bench").await.expect("number block");

    let days = last.day();
    let customers: Vec<(usize, Ban)> = bans.iter().copied().enumerate().take(n).collect();
    let s = store.clone();
    in_parallel(customers, 4, move |(i, ban)| {
        let s = s.clone();
        async move {
            let c: CustomerInput = serde_json::from_value(json!({
                "code": format!("M{i:06}"),
                "name": format!("幸運小吃店 {i}"),
                "phone": "02-2345-6789",
                "address": "台北市信義區松仁路 100 巷 5 號",
                "district": "信義區",
                "lat": 25.033,
                "lon": 121.565,
                "usual_cylinders": [{ "size_kg": 20, "quantity": 2 }],
                "payment_method": "monthly"
            }))
            .expect("customer");
            let c = s.create_customer(&c.validate().expect("valid customer")).await.expect("create customer");
            let buyer = Buyer::Business { ban, name: Some(format!("幸運小吃店{i}有限公司")) };
            s.put_preferences(c.id, &buyer, "bench").await.expect("preferences");
            for k in 0..(2 + i % 3) {
                let o = NewOrder {
                    customer_id: c.id,
                    delivery_date: first + chrono::Days::new(((i * 7 + k * 9) as u64) % u64::from(days)),
                    cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 + (k % 2) as u32 }, UsualCylinder { size_kg: 16, quantity: 1 }],
                    time_window: None,
                    preference: None,
                    priority: Priority::Normal,
                    note: None,
                    alternative_addresses: Vec::new(),
                };
                s.create_order(&o, "bench").await.expect("create order");
            }
        }
    })
    .await;
    // Bulk setup: the orders are marked delivered with one statement. The delivery path (plan,
    // status change, `invoice.issue` job, which monthly customers skip anyway) is not what this
    // bench measures; the tests in planner-api/tests/invoicing_numbers.rs drive it.
    let sql = "UPDATE orders SET status = 'delivered'";
    let delivered = match store {
        Store::Postgres(pool) => sqlx::query(sql).execute(pool).await.expect("deliver").rows_affected(),
        Store::Sqlite(pool) => sqlx::query(sql).execute(pool).await.expect("deliver").rows_affected(),
    };
    // Statistics as a live database has them (PostgreSQL's autovacuum analyses tables as they
    // change): without them the planner, which last saw no delivered order, reads every
    // delivered order of the month to find one customer's.
    match store {
        Store::Postgres(pool) => sqlx::query("ANALYZE").execute(pool).await.map(|_| ()).expect("analyze"),
        Store::Sqlite(pool) => sqlx::query("ANALYZE").execute(pool).await.map(|_| ()).expect("analyze"),
    };
    usize::try_from(delivered).expect("count")
}

/// The value at quantile `q` of sorted `xs`, interpolating between the two closest ranks.
fn quantile(xs: &[Duration], q: f64) -> Duration {
    if xs.is_empty() {
        return Duration::ZERO;
    }
    let pos = q * (xs.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let w = pos - lo as f64;
    xs[lo].mul_f64(1.0 - w) + xs[hi].mul_f64(w)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn invoicing(store: &Store, turnkey: &std::path::Path) -> Invoicing {
    Invoicing::new(store.clone(), InvoicingConfig::new(planner_api::demo::demo_seller(), turnkey.to_path_buf()))
}

async fn bench_backend(backend: Backend, n: usize, bans: &[Ban]) {
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let today = einvoice::calendar::today_taipei();
    let (first, last, month) = last_month(today);
    let turnkey = tempfile::tempdir().expect("turnkey dir");

    // 1. The loop of monthly_run, each issue timed.
    let db = match Db::fresh(backend).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("month_end/{name}: SKIPPED — {e}");
            eprintln!("month_end/{name}: set DATABASE_URL_PG or start PostgreSQL on 127.0.0.1:5432 to measure it");
            return;
        }
    };
    let started = Instant::now();
    let orders = seed(&db.store, n, bans, today).await;
    println!("month_end/{name}: seeded {n} monthly customers, {orders} delivered orders in {:.1} s (not timed)", started.elapsed().as_secs_f64());
    let inv = invoicing(&db.store, turnkey.path());
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(n);
    let mut lookups = Vec::with_capacity(n);
    let mut lines = 0usize;
    for customer in db.store.monthly_customers_to_bill(first, last).await.expect("customers to bill") {
        let t = Instant::now();
        let orders: Vec<i64> = db.store.unbilled_deliveries(Some(customer), first, last).await.expect("unbilled").into_iter().map(|(id, _)| id).collect();
        lookups.push(t.elapsed());
        let t = Instant::now();
        let invoice = inv.issue(&orders, InvoiceSource::Monthly, Some(month.clone()), "system:invoicing").await.expect("issue");
        latencies.push(t.elapsed());
        assert!(invoice.b2b && invoice.buyer_ban != einvoice::ban::B2C_BUYER);
        lines += invoice.items.len();
    }
    let total = started.elapsed();
    assert_eq!(latencies.len(), n, "one invoice per customer");
    latencies.sort_unstable();
    println!(
        "month_end/{name}/issue_loop: {n} invoices ({lines} lines) in {:.1} s = {:.0} invoices/s; per invoice p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        ms(quantile(&latencies, 0.50)),
        ms(quantile(&latencies, 0.95)),
        ms(quantile(&latencies, 0.99)),
        ms(latencies[latencies.len() - 1]),
    );
    // The lookup of each customer's unbilled deliveries, in billing order: first and last tenth.
    let tenth = (lookups.len() / 10).max(1);
    let mean = |xs: &[Duration]| ms(xs.iter().sum::<Duration>()) / xs.len().max(1) as f64;
    println!(
        "month_end/{name}/issue_loop: unbilled_deliveries per customer: mean {:.2} ms over the first tenth of customers, {:.2} ms over the last tenth",
        mean(&lookups[..tenth]),
        mean(&lookups[lookups.len() - tenth..]),
    );
    db.drop_it().await;

    // 2. monthly_run end to end on a fresh database.
    let db = Db::fresh(backend).await.expect("a second fresh database");
    let started = Instant::now();
    seed(&db.store, n, bans, today).await;
    println!("month_end/{name}: seeded again in {:.1} s (not timed)", started.elapsed().as_secs_f64());
    let inv = invoicing(&db.store, turnkey.path());
    let started = Instant::now();
    let report = inv.monthly_run(&month).await.expect("monthly run");
    let total = started.elapsed();
    assert!(report.failed.is_empty(), "no customer failed: {:?}", report.failed.first());
    assert_eq!(report.issued.len(), n, "one invoice per customer");
    println!(
        "month_end/{name}/monthly_run: {n} invoices in {:.1} s = {:.0} invoices/s ({:.2} ms per invoice on average)",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        ms(total) / n as f64,
    );
    let again = inv.monthly_run(&month).await.expect("monthly run again");
    assert!(again.issued.is_empty(), "a repeated run bills nothing more");
    db.drop_it().await;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A filter given to criterion (`cargo bench -p benches -- FILTER`, `quick.sh FILTER`) that
    // does not match this bench skips it.
    if let Some(filter) = args.iter().find(|a| !a.starts_with('-') && a.parse::<f64>().is_err()) {
        if !"month_end".contains(filter.as_str()) {
            return;
        }
    }
    let quick = args.iter().any(|a| a == "--sample-size" || a == "--quick");
    let n = std::env::var("MONTH_END_CUSTOMERS").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick { QUICK_CUSTOMERS } else { CUSTOMERS });
    let backends: Vec<Backend> = match std::env::var("MONTH_END_BACKENDS").as_deref() {
        Ok("sqlite") => vec![Backend::Sqlite],
        Ok("postgres") => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    let bans = bans(n);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        for backend in backends {
            bench_backend(backend, n, &bans).await;
        }
    });
}
