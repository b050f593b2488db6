//! Invoice numbers under load, on a real PostgreSQL database (these tests fail loudly when it is
//! unreachable, like every PostgreSQL test; see `support::pg_url`).
//!
//! - 16 concurrent issuers × 500 invoices: numbers unique and gap-free across block switches,
//!   each order billed once; issuers racing for the same order use one number between them.
//! - An issuing process killed with SIGKILL mid-run: no gap, no invoice without its orders, and
//!   the background runner bills the rest, each order once.
//! - The delivery path: a delivered order enqueues `invoice.issue`; runners that claim the same
//!   job twice (a dead runner's expired lease, leases that expire while the handler runs) still
//!   bill each order once.
//!
//! The child process of the kill test is this test binary run again with
//! `LUCKYGAS_CHILD_ISSUER` set (see [`child_issuer`]).

mod support;

use chrono::{Datelike, NaiveDate, Utc};
use einvoice::calendar::Period;
use einvoice::number::Track;
use planner_api::domain::invoice::{InvoiceSource, NewNumberBlock, NewPrice, PriceBasis};
use planner_api::domain::{
    CustomerInput, DepotInput, NewOrder, OrderStatus, PlanRequestInput, PlanResult, Priority, StatusChange, UsualCylinder, VehicleInput, VehicleTypeInput,
};
use planner_api::invoicing::{kinds, Invoicing, InvoicingConfig, InvoicingError};
use planner_api::jobs::{Background, Channels, Handlers};
use planner_api::store::plans::epoch_ms;
use planner_api::store::{JobEnd, Store, StoreError};
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::io::BufRead;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Backend, Fresh};

/// Set (to the PostgreSQL schema) in the child process of the kill test.
const CHILD_ENV: &str = "LUCKYGAS_CHILD_ISSUER";

fn today() -> NaiveDate {
    einvoice::calendar::today_taipei()
}

fn period() -> Period {
    Period::of(today()).expect("today has a period")
}

fn invoicing(store: &Store, turnkey: &std::path::Path) -> Invoicing {
    Invoicing::new(store.clone(), InvoicingConfig::new(planner_api::demo::demo_seller(), turnkey.to_path_buf()))
}

/// Runs `f` on every item, `workers` at a time (items dealt round-robin); results unordered.
async fn in_parallel<T, R, F, Fut>(items: Vec<T>, workers: usize, f: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let f = Arc::new(f);
    let mut shares: Vec<Vec<T>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        shares[i % workers].push(item);
    }
    let mut set = tokio::task::JoinSet::new();
    for share in shares {
        let f = Arc::clone(&f);
        set.spawn(async move {
            let mut out = Vec::with_capacity(share.len());
            for item in share {
                out.push(f(item).await);
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(done) = set.join_next().await {
        all.extend(done.expect("a worker task panicked"));
    }
    all
}

/// List prices from the first of last month, and the number blocks `(track, first, last)` of
/// today's period, registered in this order (the order they are used in).
async fn prices_and_blocks(store: &Store, blocks: &[(&str, u32, u32)]) {
    let from = today().with_day(1).expect("first of the month") - chrono::Months::new(1);
    for (kg, price) in [(16, 880), (20, 1_050)] {
        let p = NewPrice { customer_id: None, cylinder_kg: kg, basis: PriceBasis::Cylinder, unit_price: price, deposit: 1_500, effective_from: from };
        store.create_price(&p, "test").await.expect("list price");
    }
    for &(track, first, last) in blocks {
        let b = NewNumberBlock { period: period(), branch: String::new(), track: Track::parse(track).expect("track"), first, last };
        store.create_number_block(&b, "test").await.expect("number block");
    }
}

/// `customers` B2C (cash) customers with `per_customer` orders each for today, planned by a
/// finished planning job and reported delivered through `change_order_status`, the path a driver's
/// report takes (each delivery enqueues its `invoice.issue` job). Returns the order ids, sorted.
async fn delivered_orders(store: &Store, tag: &str, customers: usize, per_customer: usize) -> Vec<i64> {
    let date = today();
    let codes: Vec<String> = (0..customers).map(|i| format!("{tag}{i:05}")).collect();
    let s = store.clone();
    let customer_ids = in_parallel(codes, 8, move |code| {
        let s = s.clone();
        async move {
            let mut c: CustomerInput = serde_json::from_value(support::customer(&code, "信義區")).expect("customer fixture");
            c.access_restrictions.clear();
            s.create_customer(&c.validate().expect("valid customer")).await.expect("create customer").id
        }
    })
    .await;
    let orders: Vec<(i64, u32)> = customer_ids.iter().flat_map(|&c| (0..per_customer).map(move |k| (c, (k % 2) as u32 + 1))).collect();
    let s = store.clone();
    let mut ids = in_parallel(orders, 8, move |(customer_id, quantity)| {
        let s = s.clone();
        async move {
            let o = NewOrder {
                customer_id,
                delivery_date: date,
                cylinders: vec![UsualCylinder { size_kg: 20, quantity }, UsualCylinder { size_kg: 16, quantity: 1 }],
                time_window: None,
                preference: None,
                priority: Priority::Normal,
                note: None,
                alternative_addresses: Vec::new(),
            };
            s.create_order(&o, "test").await.expect("create order").id
        }
    })
    .await;
    ids.sort_unstable();
    plan(store, date, tag, &ids).await;
    let s = store.clone();
    in_parallel(ids.clone(), 8, move |id| {
        let s = s.clone();
        async move {
            let change = StatusChange { status: OrderStatus::Delivered, changed_by: "driver@luckygas.test".into(), at_s: None, note: None };
            let o = s.change_order_status(id, &change).await.expect("deliver");
            assert_eq!(o.status, OrderStatus::Delivered);
        }
    })
    .await;
    ids
}

/// Plans every received order of `date` (`expected`) with a planning job that a worker claims and
/// finishes with all of them routed: they become `planned`, as after a real search.
async fn plan(store: &Store, date: NaiveDate, tag: &str, expected: &[i64]) {
    let depot: DepotInput = serde_json::from_value(support::depot(&format!("{tag}站"))).expect("depot");
    let depot = store.create_depot(&depot.validate().expect("valid depot")).await.expect("create depot");
    let vt: VehicleTypeInput = serde_json::from_value(json!({
        "name": format!("{tag} 小貨車"), "kind": "truck", "cylinder_slots": [{ "size_kg": 20, "count": 30 }], "max_load_kg": 1500, "max_gas_kg": 600
    }))
    .expect("type");
    let vt = store.create_vehicle_type(&vt.validate().expect("valid type")).await.expect("create type");
    let v: VehicleInput =
        serde_json::from_value(json!({ "plate": format!("{tag}{tag}-0001"), "vehicle_type_id": vt.id, "depot_id": depot.id })).expect("vehicle");
    store.create_vehicle(&v.validate().expect("valid vehicle")).await.expect("create vehicle");
    let r: PlanRequestInput = serde_json::from_value(json!({ "date": date.to_string(), "depot_ids": [depot.id] })).expect("request");
    let job = store.create_plan_job(&r.validate(60.0).expect("valid request"), planner_api::planning::DEFAULT_MAX_ORDERS).await.expect("queue plan job");
    assert_eq!(job.order_ids, expected, "the plan job holds exactly the orders made for it");
    let now = Utc::now();
    let claimed = store.claim_plan_job("test-planner", now, epoch_ms(now) + 60_000).await.expect("claim").expect("the plan job");
    let result: PlanResult = serde_json::from_value(json!({
        "depots": [], "routes": [], "unassigned": [], "distance_m": 0, "duration_s": 0, "cost_ntd": 0, "feasible": true, "iterations": 0, "elapsed_s": 0.0
    }))
    .expect("plan result");
    let end = JobEnd::Succeeded { result: Box::new(result), problem: None, model: None, planned: job.order_ids.clone() };
    assert!(store.finish_plan_job(claimed.id, "test-planner", &end, &[]).await.expect("finish plan job"));
}

/// Runs a read-only query on either backend and maps its rows.
macro_rules! query_rows {
    ($store:expr, $sql:expr, |$r:ident| $map:expr) => {{
        use sqlx::Row as _;
        match $store {
            Store::Postgres(pool) => sqlx::query($sql).fetch_all(pool).await.expect("query").iter().map(|$r| $map).collect::<Vec<_>>(),
            Store::Sqlite(pool) => sqlx::query($sql).fetch_all(pool).await.expect("query").iter().map(|$r| $map).collect::<Vec<_>>(),
        }
    }};
}

/// What the database says about invoices, checked for the invariants of numbering.
struct Ledger {
    /// Invoice id → number.
    numbers: BTreeMap<i64, String>,
    /// Order → the invoices billing it.
    billed: HashMap<i64, Vec<i64>>,
}

/// Checks that the invoice numbers are unique and exactly the first N numbers of the period's
/// blocks in block order (every block before the last used one full, none after it touched),
/// taken in the order the invoices were stored; that each block's `next` agrees with the
/// invoices issued from it; and that every invoice bills at least one order, has items and has its
/// F0401 message. Returns the ledger.
async fn check_numbers(store: &Store) -> Ledger {
    let blocks = store.list_number_blocks(Some(&period().key())).await.expect("blocks");
    let rows = query_rows!(store, "SELECT id, number, block_id FROM invoices ORDER BY id", |r| (
        r.get::<i64, _>("id"),
        r.get::<String, _>("number"),
        r.get::<i64, _>("block_id")
    ));
    let unique: BTreeSet<&str> = rows.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(unique.len(), rows.len(), "invoice numbers are unique");

    // The expected numbers: the first `rows.len()` of the blocks, in block order.
    let mut expected = Vec::new();
    let mut exhausted_before = true;
    for b in &blocks {
        let first: u32 = b.first.parse().expect("first");
        let last: u32 = b.last.parse().expect("last");
        let used = u32::try_from(b.used).expect("used");
        assert!(exhausted_before || used == 0, "block {} ({}) was used while an earlier block still had numbers: {blocks:?}", b.id, b.track);
        exhausted_before = first + used == last + 1;
        let from_block = rows.iter().filter(|(_, _, block)| *block == b.id).count();
        assert_eq!(from_block, used as usize, "block {} next agrees with the invoices issued from it", b.id);
        expected.extend((first..first + used).map(|n| format!("{}{n:08}", b.track)));
    }
    let taken: Vec<&str> = rows.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(taken.len(), expected.len(), "as many numbers used as the blocks say");
    if taken != expected.iter().map(String::as_str).collect::<Vec<_>>() {
        let first_diff = taken.iter().zip(&expected).position(|(a, b)| a != b);
        panic!("numbers are not the blocks' first numbers in order (first difference at {first_diff:?})");
    }

    let links = query_rows!(store, "SELECT order_id, invoice_id FROM invoice_orders", |r| (r.get::<i64, _>("order_id"), r.get::<i64, _>("invoice_id")));
    let mut billed: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut invoice_orders: HashMap<i64, usize> = HashMap::new();
    for (order, invoice) in links {
        billed.entry(order).or_default().push(invoice);
        *invoice_orders.entry(invoice).or_default() += 1;
    }
    let items = query_rows!(store, "SELECT DISTINCT invoice_id FROM invoice_items", |r| r.get::<i64, _>("invoice_id"));
    let items: BTreeSet<i64> = items.into_iter().collect();
    let messages = query_rows!(store, "SELECT invoice_id FROM einvoice_messages WHERE message_type = 'F0401'", |r| r.get::<i64, _>("invoice_id"));
    let mut message_count: HashMap<i64, usize> = HashMap::new();
    for m in messages {
        *message_count.entry(m).or_default() += 1;
    }
    for (id, number, _) in &rows {
        assert!(invoice_orders.get(id).copied().unwrap_or(0) >= 1, "invoice {number} bills at least one order");
        assert!(items.contains(id), "invoice {number} has items");
        assert_eq!(message_count.get(id).copied(), Some(1), "invoice {number} has one F0401 message");
    }
    Ledger { numbers: rows.into_iter().map(|(id, n, _)| (id, n)).collect(), billed }
}

/// Every order in `orders` is billed by exactly one invoice, and nothing else is billed.
fn assert_each_billed_once(ledger: &Ledger, orders: &[i64]) {
    for o in orders {
        let invoices = ledger.billed.get(o).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(invoices.len(), 1, "order {o} is billed by exactly one invoice, not {invoices:?}");
    }
    let all: BTreeSet<i64> = orders.iter().copied().collect();
    assert!(ledger.billed.keys().all(|o| all.contains(o)), "only these orders are billed");
}

async fn blocks_next(store: &Store) -> Vec<(i64, Option<String>)> {
    store.list_number_blocks(Some(&period().key())).await.expect("blocks").into_iter().map(|b| (b.id, b.next)).collect()
}

/// 16 issuers × 500 invoices on PostgreSQL (the issue's figure).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_issuers_use_every_number_once_in_block_order() {
    concurrent_issuers(Backend::Postgres, 500).await;
}

/// The same on SQLite, smaller (16 × 50): its writers queue on the database's write lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_issuers_on_sqlite_use_every_number_once_in_block_order() {
    concurrent_issuers(Backend::Sqlite, 50).await;
}

async fn concurrent_issuers(backend: Backend, per_issuer: usize) {
    const ISSUERS: usize = 16;
    const RACED: usize = 8;
    let db = Fresh::new(backend, true).await;
    let turnkey = tempfile::tempdir().expect("turnkey dir");
    // 16 × per_issuer × 9/8 numbers over four blocks of unequal sizes: the run switches blocks
    // three times and ends in the fourth, half used.
    let s = u32::try_from(per_issuer / 50).expect("scale");
    prices_and_blocks(&db.store, &[("AA", 0, 200 * s - 1), ("AB", 5_000, 5_000 + 300 * s - 1), ("AC", 0, 200 * s - 1), ("AD", 100, 100 + 200 * s - 1)]).await;
    let started = Instant::now();
    let orders = delivered_orders(&db.store, "L", ISSUERS * per_issuer / 8, 8).await;
    assert_eq!(orders.len(), ISSUERS * per_issuer);
    eprintln!("setup: {} delivered orders in {:.1} s", orders.len(), started.elapsed().as_secs_f64());

    // Four pools of four issuers each, as four processes would be: up to 32 connections, so
    // every issuer has its own transaction open at once. (One pool per issuer would be up to
    // 16 × 8 connections: more than PostgreSQL's default `max_connections` of 100.)
    let mut pools = Vec::new();
    for _ in 0..ISSUERS / 4 {
        pools.push(db.another_store().await);
    }
    let stores: Vec<Store> = (0..ISSUERS).map(|k| pools[k % pools.len()].clone()).collect();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (k, store) in stores.iter().enumerate() {
        let inv = invoicing(store, turnkey.path());
        let mine: Vec<i64> = orders.iter().copied().skip(k).step_by(ISSUERS).collect();
        assert_eq!(mine.len(), per_issuer);
        set.spawn(async move {
            let mut issued = Vec::with_capacity(mine.len());
            for id in mine {
                let invoice = inv
                    .issue(&[id], InvoiceSource::Delivery, None, &format!("test:issuer-{k}"))
                    .await
                    .unwrap_or_else(|e| panic!("issuer {k}, order {id}: {e}"));
                assert_eq!(invoice.order_ids, vec![id]);
                issued.push((id, invoice.id, invoice.number));
            }
            issued
        });
    }
    let mut issued = Vec::new();
    while let Some(done) = set.join_next().await {
        issued.extend(done.expect("an issuer panicked"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!("{ISSUERS} issuers × {per_issuer} on {backend:?}: {} invoices in {elapsed:.1} s ({:.0}/s)", issued.len(), issued.len() as f64 / elapsed);
    assert_eq!(issued.len(), ISSUERS * per_issuer);

    let ledger = check_numbers(&db.store).await;
    assert_each_billed_once(&ledger, &orders);
    for (order, invoice, number) in &issued {
        assert_eq!(ledger.numbers.get(invoice), Some(number), "what issue returned is what is stored");
        assert_eq!(ledger.billed[order], vec![*invoice]);
    }
    let blocks = db.store.list_number_blocks(Some(&period().key())).await.expect("blocks");
    let used: Vec<i64> = blocks.iter().map(|b| b.used).collect();
    assert_eq!(used, [200, 300, 200, 100].map(|u| u * i64::from(s)).to_vec(), "three blocks exhausted, the fourth half used");

    // Issuers asking for orders billed already get AlreadyInvoiced and use no number.
    let before = blocks_next(&db.store).await;
    let mut set = tokio::task::JoinSet::new();
    for (k, store) in stores.iter().enumerate() {
        let inv = invoicing(store, turnkey.path());
        let theirs: Vec<i64> = orders.iter().copied().skip(k * 7).step_by(ISSUERS * 25).collect();
        set.spawn(async move {
            for id in theirs {
                match inv.issue(&[id], InvoiceSource::Manual, None, "test:again").await {
                    Err(InvoicingError::AlreadyInvoiced { order_id, .. }) => assert_eq!(order_id, id),
                    other => panic!("order {id} billed already: {other:?}"),
                }
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.expect("an issuer panicked");
    }
    assert_eq!(blocks_next(&db.store).await, before, "refused issues use no number");

    // Issuers racing for the same new orders: one wins each, the others use no number.
    let raced = delivered_orders(&db.store, "R", RACED, 1).await;
    let mut set = tokio::task::JoinSet::new();
    for store in &stores {
        let inv = invoicing(store, turnkey.path());
        let raced = raced.clone();
        set.spawn(async move {
            let mut won = Vec::new();
            for id in raced {
                match inv.issue(&[id], InvoiceSource::Delivery, None, "test:race").await {
                    Ok(invoice) => won.push((id, invoice.id)),
                    Err(InvoicingError::AlreadyInvoiced { order_id, .. }) => assert_eq!(order_id, id),
                    Err(e) => panic!("order {id}: {e}"),
                }
            }
            won
        });
    }
    let mut won = Vec::new();
    while let Some(done) = set.join_next().await {
        won.extend(done.expect("an issuer panicked"));
    }
    let winners: BTreeSet<i64> = won.iter().map(|(id, _)| *id).collect();
    assert_eq!(won.len(), RACED, "one issuer wins each raced order: {won:?}");
    assert_eq!(winners.len(), RACED);
    let ledger = check_numbers(&db.store).await;
    let all: Vec<i64> = orders.iter().chain(&raced).copied().collect();
    assert_each_billed_once(&ledger, &all);
    assert_eq!(ledger.numbers.len(), ISSUERS * per_issuer + RACED, "the losers of the race used no number");

    for s in pools {
        s.close().await;
    }
    db.cleanup().await;
}

/// The child of [`a_killed_issuer_leaves_no_gap_and_the_runner_bills_the_rest`]: does nothing
/// unless `LUCKYGAS_CHILD_ISSUER` names a PostgreSQL schema; then issues the invoices of the
/// unbilled deliveries of today with four concurrent issuers, printing `issued <order> <number>`
/// after each, until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_issuer() {
    let Ok(schema) = std::env::var(CHILD_ENV) else { return };
    let options = PgConnectOptions::from_str(&support::pg_url()).expect("DATABASE_URL_PG parses").options([("search_path", schema.as_str())]);
    let store = Store::open_postgres(options).await.expect("child connects");
    let turnkey = tempfile::tempdir().expect("turnkey dir");
    let inv = invoicing(&store, turnkey.path());
    let orders: Vec<i64> = store.unbilled_deliveries(None, today(), today()).await.expect("unbilled").into_iter().map(|(id, _)| id).collect();
    println!("child: {} orders to bill", orders.len());
    // `println!` writes each line whole and flushes it (stdout is line-buffered; `--nocapture`).
    in_parallel(orders, 4, move |id| {
        let inv = inv.clone();
        async move {
            match inv.issue_for_delivery(id).await {
                Ok(Some(invoice)) => println!("issued {id} {}", invoice.number),
                other => panic!("child: order {id}: {other:?}"),
            }
        }
    })
    .await;
    println!("child: done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_issuer_leaves_no_gap_and_the_runner_bills_the_rest() {
    const ORDERS: usize = 400;
    const KILL_AFTER: usize = 150;
    let db = Fresh::new(Backend::Postgres, true).await;
    let schema = db.schema().expect("a PostgreSQL schema").to_owned();
    let turnkey = tempfile::tempdir().expect("turnkey dir");
    prices_and_blocks(&db.store, &[("KA", 0, 99), ("KB", 200, 349), ("KC", 0, 499)]).await;
    let orders = delivered_orders(&db.store, "K", ORDERS / 4, 4).await;
    assert_eq!(db.store.count_tasks(kinds::ISSUE, "queued").await.expect("count"), ORDERS as i64, "each delivery enqueued its invoice job");

    // The child: this test binary again, in child mode, on the same schema.
    let exe = std::env::current_exe().expect("test binary");
    let mut child = std::process::Command::new(exe)
        .args(["--exact", "child_issuer", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &schema)
        .env("DATABASE_URL_PG", support::pg_url())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the child issuer");
    let stdout = child.stdout.take().expect("child stdout");
    // Read its progress until it has issued KILL_AFTER invoices (past the first block switch),
    // then kill it with SIGKILL while its issuers are mid-transaction.
    let (reported, mut child) = tokio::task::spawn_blocking(move || {
        let mut reported = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.expect("child output");
            if let Some(rest) = line.strip_prefix("issued ") {
                let (order, number) = rest.split_once(' ').expect("issued <order> <number>");
                reported.push((order.parse::<i64>().expect("order id"), number.to_owned()));
                if reported.len() == KILL_AFTER {
                    child.kill().expect("SIGKILL the child");
                    break;
                }
            } else {
                eprintln!("{line}");
            }
        }
        (reported, child)
    })
    .await
    .expect("reader");
    let status = child.wait().expect("reap the child");
    assert_eq!(reported.len(), KILL_AFTER, "the child issued {KILL_AFTER} invoices before the kill (it exited {status:?})");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "the child died of SIGKILL: {status:?}");

    // What the dead child committed: gap-free, unique, each invoice with its order.
    let ledger = check_numbers(&db.store).await;
    let committed = ledger.numbers.len();
    assert!((KILL_AFTER..ORDERS).contains(&committed), "the child committed {committed} invoices, {KILL_AFTER} reported");
    let stored: BTreeSet<(i64, String)> = ledger.billed.iter().map(|(o, i)| (*o, ledger.numbers[&i[0]].clone())).collect();
    for r in &reported {
        assert!(stored.contains(r), "what the child reported issued is stored: {r:?}");
    }
    assert!(ledger.billed.values().all(|i| i.len() == 1), "no order billed twice");
    eprintln!("child killed after reporting {KILL_AFTER}; {committed} invoices committed");

    // The survivor: the background runner works through the delivery jobs; those whose order the
    // child billed end as AlreadyInvoiced (done, no number used), the rest are issued now.
    let mut handlers = Handlers::default();
    let mut channels = Channels::default();
    invoicing(&db.store, turnkey.path()).register(&mut handlers, &mut channels);
    let mut background = Background::new(db.store.clone(), handlers, channels);
    background.poll = Duration::from_millis(20);
    let pool = background.spawn(4);
    wait_for_jobs(&db.store, ORDERS, Duration::from_secs(120)).await;
    pool.shutdown().await;
    let ledger = check_numbers(&db.store).await;
    assert_each_billed_once(&ledger, &orders);
    assert_eq!(ledger.numbers.len(), ORDERS);
    assert_eq!(db.store.count_tasks(kinds::ISSUE, "failed").await.expect("count"), 0);
    db.cleanup().await;
}

/// Waits until `n` `invoice.issue` jobs are done (the runner works in the background).
async fn wait_for_jobs(store: &Store, n: usize, deadline: Duration) {
    let started = Instant::now();
    loop {
        let done = store.count_tasks(kinds::ISSUE, "done").await.expect("count");
        if done == n as i64 {
            return;
        }
        let failed = store.count_tasks(kinds::ISSUE, "failed").await.expect("count");
        assert_eq!(failed, 0, "no invoice job fails");
        assert!(started.elapsed() < deadline, "only {done} of {n} invoice jobs done after {deadline:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delivery_jobs_claimed_twice_bill_each_order_once() {
    const ORDERS: usize = 12;
    let db = Fresh::new(Backend::Postgres, true).await;
    let turnkey = tempfile::tempdir().expect("turnkey dir");
    prices_and_blocks(&db.store, &[("DA", 0, 4), ("DB", 50, 99)]).await;
    let orders = delivered_orders(&db.store, "D", ORDERS / 2, 2).await;
    assert_eq!(db.store.count_tasks(kinds::ISSUE, "queued").await.expect("count"), ORDERS as i64, "each delivery enqueued one invoice job");
    // A delivery reported again is refused and enqueues nothing more.
    let again = StatusChange { status: OrderStatus::Delivered, changed_by: "driver@luckygas.test".into(), at_s: None, note: None };
    assert!(matches!(db.store.change_order_status(orders[0], &again).await, Err(StoreError::InvalidTransition { .. })));
    assert_eq!(db.store.count_tasks(kinds::ISSUE, "queued").await.expect("count"), ORDERS as i64);

    // A runner claims a job, issues its invoice as the handler does, and dies before recording
    // that the job is done: its lease runs out and another runner claims the job again.
    let inv = invoicing(&db.store, turnkey.path());
    let now = Utc::now();
    let dead = db.store.claim_task("dead-runner", now, epoch_ms(now) + 100, &[kinds::ISSUE]).await.expect("claim").expect("a job");
    assert_eq!(dead.kind, kinds::ISSUE);
    let order: i64 = serde_json::from_str::<serde_json::Value>(&dead.payload).expect("payload")["order_id"].as_i64().expect("order id");
    inv.issue_for_delivery(order).await.expect("issue").expect("a B2C invoice");

    // Two runners on two pools whose leases expire at once: every job is claimed again while its
    // handler runs, so handlers for the same order run concurrently.
    let mut pools = Vec::new();
    let mut stores = Vec::new();
    for _ in 0..2 {
        let store = db.another_store().await;
        let mut handlers = Handlers::default();
        let mut channels = Channels::default();
        invoicing(&store, turnkey.path()).register(&mut handlers, &mut channels);
        let mut background = Background::new(store.clone(), handlers, channels);
        background.lease = Duration::from_millis(1);
        background.poll = Duration::from_millis(10);
        pools.push(background.spawn(4));
        stores.push(store);
    }
    wait_for_jobs(&db.store, ORDERS, Duration::from_secs(60)).await;
    for pool in pools {
        pool.shutdown().await;
    }
    let attempts = query_rows!(&db.store, "SELECT payload, attempts FROM jobs WHERE kind = 'invoice.issue'", |r| (
        r.get::<String, _>("payload"),
        r.get::<i64, _>("attempts")
    ));
    let dead_attempts = attempts.iter().find(|(p, _)| p.contains(&format!(":{order}}}"))).map(|(_, a)| *a);
    assert!(dead_attempts.is_some_and(|a| a >= 2), "the dead runner's job was claimed again: {attempts:?}");
    let claimed_twice = attempts.iter().filter(|(_, a)| *a >= 2).count();
    eprintln!("jobs claimed more than once: {claimed_twice} of {ORDERS} (attempts {:?})", attempts.iter().map(|(_, a)| a).collect::<Vec<_>>());

    let ledger = check_numbers(&db.store).await;
    assert_each_billed_once(&ledger, &orders);
    assert_eq!(ledger.numbers.len(), ORDERS, "one number per delivered order, however often its job ran");
    for s in stores {
        s.close().await;
    }
    db.cleanup().await;
}

/// The last number of the last block is used, then issuing stops with a clear error that stores
/// nothing and uses no number, until the next block is registered.
#[tokio::test]
async fn running_out_of_numbers_is_a_clear_error_that_stores_nothing() {
    let db = Fresh::new(Backend::Sqlite, true).await;
    let turnkey = tempfile::tempdir().expect("turnkey dir");
    prices_and_blocks(&db.store, &[("RN", 0, 49)]).await;
    let orders = delivered_orders(&db.store, "R", 51, 1).await;
    let inv = invoicing(&db.store, turnkey.path());
    for &order in &orders[..50] {
        inv.issue(&[order], InvoiceSource::Manual, None, "test").await.expect("a number is left");
    }
    let (left, total) = db.store.numbers_left(&period().key(), "").await.expect("numbers left");
    assert_eq!((left, total), (0, 50));
    let last = inv.issue(&[orders[50]], InvoiceSource::Manual, None, "test").await;
    assert!(matches!(last, Err(InvoicingError::NoNumbers { ref period, .. }) if *period == self::period().key()), "{last:?}");
    let filter = planner_api::store::invoicing::InvoiceFilter { order_id: Some(orders[50]), ..Default::default() };
    let billed = db.store.list_invoices(&filter, planner_api::store::PageRequest::offset(10, 0)).await.expect("list");
    assert_eq!(billed.total, Some(0), "nothing half-issued");
    let b = NewNumberBlock { period: period(), branch: String::new(), track: Track::parse("RP").expect("track"), first: 50, last: 99 };
    db.store.create_number_block(&b, "test").await.expect("the next block");
    let issued = inv.issue(&[orders[50]], InvoiceSource::Manual, None, "test").await.expect("issued from the new block");
    assert_eq!(issued.number, "RP00000050");
    db.cleanup().await;
}
