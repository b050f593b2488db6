//! The restore drill (issue 20, point 4), on SQLite and on PostgreSQL: `luckygas backup` taken
//! while orders are being written, `luckygas restore` into a fresh database; the restored
//! database holds every order committed before the backup started and each restored row is as it
//! was (digests of the rows up to the last restored id agree). A restore over a database refuses
//! without `--force`; a backup never overwrites one.

mod support;

use chrono::NaiveDate;
use planner_api::domain::customer::UsualCylinder;
use planner_api::domain::{CustomerInput, NewOrder, Priority};
use planner_api::store::Store;
use sqlx::Connection;
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use support::{pg_url, Backend};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database of its own: a SQLite file, or a PostgreSQL database.
struct Db {
    url: String,
    pg_name: Option<String>,
}

async fn new_db(backend: Backend, dir: &std::path::Path, tag: &str) -> Db {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    match backend {
        Backend::Sqlite => Db { url: format!("sqlite://{}", dir.join(format!("{tag}{n}.db")).display()), pg_name: None },
        Backend::Postgres => {
            let name = format!("bk_{tag}_{}_{n}", std::process::id());
            let mut conn = sqlx::PgConnection::connect(&pg_url())
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {} ({e}); this test needs it", pg_url()));
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
            conn.close().await.expect("close");
            let base = pg_url();
            let base = base.split('?').next().unwrap_or(&base).rsplit_once('/').map_or(base.clone(), |(b, _)| b.to_owned());
            Db { url: format!("{base}/{name}"), pg_name: Some(name) }
        }
    }
}

async fn drop_db(db: Db) {
    if let Some(name) = db.pg_name {
        let mut conn = sqlx::PgConnection::connect(&pg_url()).await.expect("connect");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.expect("drop database");
    }
}

/// Runs the `luckygas` binary on database `url`.
async fn luckygas(url: &str, args: &[&str]) -> Output {
    let (url, args): (String, Vec<String>) = (url.to_owned(), args.iter().map(|a| (*a).to_owned()).collect());
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_luckygas")).args(&args).env("DATABASE_URL", &url).env("RUST_LOG", "warn").output().expect("run luckygas")
    })
    .await
    .expect("join")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The largest order id, and the count and a digest of the orders up to `upto` (all when `None`).
async fn orders(store: &Store, upto: Option<i64>) -> (i64, i64, String) {
    use sha2::{Digest, Sha256};
    let upto = upto.unwrap_or(i64::MAX);
    let sql = "SELECT id, customer_id, CAST(delivery_date AS TEXT), cylinders, status, priority, COALESCE(note, '') FROM orders WHERE id <= $1 ORDER BY id";
    type Row = (i64, i64, String, String, String, String, String);
    let rows: Vec<Row> = match store {
        Store::Sqlite(pool) => sqlx::query_as(sql).bind(upto).fetch_all(pool).await.expect("orders"),
        Store::Postgres(pool) => sqlx::query_as(sql).bind(upto).fetch_all(pool).await.expect("orders"),
    };
    let mut h = Sha256::new();
    for r in &rows {
        h.update(format!("{r:?}\n").as_bytes());
    }
    let max = rows.last().map_or(0, |r| r.0);
    (max, rows.len() as i64, h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn order(customer_id: i64, n: u32) -> NewOrder {
    NewOrder {
        customer_id,
        delivery_date: NaiveDate::from_ymd_opt(2026, 12, 8).expect("date"),
        cylinders: vec![UsualCylinder { size_kg: if n.is_multiple_of(3) { 50 } else { 20 }, quantity: 1 + n % 2 }],
        time_window: None,
        preference: None,
        priority: if n.is_multiple_of(5) { Priority::Urgent } else { Priority::Normal },
        note: Some(format!("第{n}筆")),
    }
}

async fn restore_drill(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = new_db(backend, dir.path(), "src").await;
    let store = Store::open(&src.url).await.expect("open the source");
    let mut customers = Vec::new();
    for i in 0..20 {
        let input = CustomerInput {
            code: format!("C{:04}", 100 + i),
            name: format!("備份客戶{i}"),
            phone: Some("0912-000-111".into()),
            address: "信義路五段7號".into(),
            district: "信義區".into(),
            lat: Some(25.0336),
            lon: Some(121.5648),
            time_windows: vec![],
            usual_cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 }],
            access_restrictions: vec![],
            payment_method: "cash".into(),
            position_approximate: None,
        };
        customers.push(store.create_customer(&input.validate().expect("valid")).await.expect("customer").id);
    }
    for n in 0..200 {
        store.create_order(&order(customers[n as usize % customers.len()], n), "drill@test").await.expect("order");
    }

    // Orders keep coming while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop, customers) = (store.clone(), Arc::clone(&stop), customers.clone());
        tokio::spawn(async move {
            let mut n = 200u32;
            while !stop.load(Ordering::Acquire) {
                store.create_order(&order(customers[n as usize % customers.len()], n), "drill@test").await.expect("order under load");
                n += 1;
            }
            n - 200
        })
    };
    let (before, _, _) = orders(&store, None).await;
    let path = dir.path().join("luckygas.backup");
    let path_text = path.to_str().expect("utf-8");
    let out = luckygas(&src.url, &["backup", "--to", path_text]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("backup of"), "{}", text(&out));
    stop.store(true, Ordering::Release);
    let during = writer.await.expect("writer");
    let (after, _, _) = orders(&store, None).await;
    assert!(during > 0, "no order was written during the backup");

    // Restored into a fresh database.
    let dst = new_db(backend, dir.path(), "dst").await;
    let out = luckygas(&dst.url, &["restore", "--from", path_text]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("restored") && text(&out).contains("orders"), "{}", text(&out));
    let restored = Store::open(&dst.url).await.expect("open the restored database");
    let (upto, count, digest) = orders(&restored, None).await;
    assert!(upto >= before, "orders committed before the backup started are missing: restored up to {upto}, {before} before");
    assert!(upto <= after, "{upto} > {after}");
    let (_, src_count, src_digest) = orders(&store, Some(upto)).await;
    assert_eq!((count, digest), (src_count, src_digest), "the restored orders differ from the source's");
    assert_eq!(restored.customers_by_codes(&["C0100".to_owned(), "C0119".to_owned()]).await.expect("customers").len(), 2, "customers restored");
    restored.close().await;

    // A restore over a database needs --force; a backup never overwrites one.
    let out = luckygas(&dst.url, &["restore", "--from", path_text]).await;
    assert!(!out.status.success(), "{}", text(&out));
    let out = luckygas(&dst.url, &["restore", "--from", path_text, "--force"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = luckygas(&src.url, &["backup", "--to", path_text]).await;
    assert!(!out.status.success() && text(&out).contains("never overwrites"), "{}", text(&out));

    store.close().await;
    drop_db(src).await;
    drop_db(dst).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_committed_order_on_sqlite() {
    restore_drill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_committed_order_on_postgres() {
    restore_drill(Backend::Postgres).await;
}
