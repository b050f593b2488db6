//! The README's legacy sync figures: the lag of the dual write under a steady load of mixed
//! writes, and the drain rate of a backlog.
//!
//! ```text
//! cargo run --release -p planner-api --example legacy_sync_load -- [--database sqlite|postgres] [--rate 50] [--seconds 60] [--backlog 100000] [--clerk 10000]
//! ```
//!
//! 1. **Lag.** A fresh service database and a fresh legacy database (SQLite files, or a
//!    PostgreSQL schema and a PostgreSQL database of its own on `DATABASE_URL_PG`); the sync
//!    worker runs as the service runs it (the `legacy.sync` job's loop) while a writer makes
//!    `--rate` mixed writes a second for `--seconds` (new customers, customer edits, new orders,
//!    order edits). Lag is each change's time from its commit (the outbox row's `created_at`) to
//!    its application (`delivered_at`): p50, p95, max.
//! 2. **Drain.** With the worker stopped, `--backlog` new orders are written in bulk (one
//!    `INSERT … SELECT`, the triggers queue one change each); then the worker drains them:
//!    changes per second.
//! 3. **Pick-up.** The old program's clerk changes every customer's name and `--clerk` orders'
//!    urgency (stamped by a clerk, after the pick-up's mark); the pick-up takes them: records per
//!    second.
//! 4. **Reconciliation.** Both sides compared (every customer, the orders of the day): seconds.

use chrono::{DateTime, Utc};
use planner_api::domain::customer::UsualCylinder;
use planner_api::domain::{CustomerInput, NewOrder, Priority};
use planner_api::store::Store;
use planner_api::sync::legacy_db::LegacyDb;
use planner_api::sync::worker::Sync;
use sqlx::Connection;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    postgres: bool,
    rate: u32,
    seconds: u32,
    backlog: u32,
    clerk: u32,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args { postgres: false, rate: 50, seconds: 60, backlog: 100_000, clerk: 10_000 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"));
        match flag.as_str() {
            "--database" => a.postgres = value()? == "postgres",
            "--rate" => a.rate = value()?.parse()?,
            "--seconds" => a.seconds = value()?.parse()?,
            "--backlog" => a.backlog = value()?.parse()?,
            "--clerk" => a.clerk = value()?.parse()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

fn customer(code: String, name: String) -> anyhow::Result<planner_api::domain::NewCustomer> {
    CustomerInput {
        code,
        name,
        phone: Some("02-2345-6789".into()),
        address: "忠孝東路四段100號".into(),
        district: "大安區".into(),
        lat: Some(25.0418),
        lon: Some(121.5437),
        time_windows: vec![],
        usual_cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 }],
        access_restrictions: vec![],
        payment_method: "cash".into(),
        allowed_vehicle_type_ids: vec![],
        position_approximate: None,
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("{e:?}"))
}

async fn exec(store: &Store, sql: &str) -> anyhow::Result<u64> {
    Ok(match store {
        Store::Sqlite(pool) => sqlx::query(sql).execute(pool).await?.rows_affected(),
        Store::Postgres(pool) => sqlx::query(sql).execute(pool).await?.rows_affected(),
    })
}

async fn lags_ms(store: &Store) -> anyhow::Result<Vec<i64>> {
    let sql = "SELECT created_at, delivered_at FROM outbox WHERE channel = 'legacy' AND delivered_at IS NOT NULL";
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = match store {
        Store::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await?,
        Store::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await?,
    };
    let mut lags: Vec<i64> = rows.into_iter().map(|(c, d)| (d - c).num_milliseconds()).collect();
    lags.sort_unstable();
    Ok(lags)
}

fn pct(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let dir = tempfile::tempdir()?;
    let pg = std::env::var("DATABASE_URL_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let tag = format!("{}_{}", std::process::id(), Utc::now().timestamp());
    let (store, legacy, cleanup): (Store, LegacyDb, Option<String>) = if a.postgres {
        let mut conn = sqlx::PgConnection::connect(&pg).await?;
        sqlx::query(&format!("CREATE SCHEMA load_{tag}")).execute(&mut conn).await?;
        sqlx::query(&format!("CREATE DATABASE legacy_load_{tag}")).execute(&mut conn).await?;
        let options = sqlx::postgres::PgConnectOptions::from_str(&pg)?.options([("search_path", format!("load_{tag}").as_str())]);
        let store = Store::open_postgres(options).await?;
        let base = pg.rsplit_once('/').map_or(pg.as_str(), |(b, _)| b);
        (store, LegacyDb::open(&format!("{base}/legacy_load_{tag}"))?, Some(tag.clone()))
    } else {
        let store = Store::open(&format!("sqlite://{}", dir.path().join("luckygas.db").display())).await?;
        (store, LegacyDb::open(&format!("sqlite://{}", dir.path().join("legacy.db").display()))?, None)
    };
    store.set_legacy_sync(true).await?;
    let sync = Arc::new(Sync::new(legacy.clone()));
    sync.prepare_legacy().await?;
    println!("backend: {}", if a.postgres { "PostgreSQL (service schema + legacy database)" } else { "SQLite (two files)" });

    // 1. Lag under a steady load.
    let stop = Arc::new(AtomicBool::new(false));
    let runner = {
        let (sync, store, stop) = (Arc::clone(&sync), store.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            while !stop.load(Ordering::Acquire) {
                if let planner_api::jobs::Outcome::Every(wait) = sync.run(&store).await {
                    tokio::time::sleep(wait).await;
                }
            }
        })
    };
    let day = Utc::now().date_naive() + chrono::Days::new(1);
    let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(a.rate)));
    let (mut customers, mut orders) = (Vec::new(), Vec::new());
    let writes = a.rate * a.seconds;
    let started = Instant::now();
    for n in 0..writes {
        interval.tick().await;
        match n % 5 {
            0 => customers.push(store.create_customer(&customer(format!("C{:04}", n / 5 % 10_000), format!("客戶{n}"))?).await?),
            1 => {
                let c = &customers[customers.len() - 1];
                let mut data = c.data.clone();
                data.name = format!("{}改", data.name);
                store.update_customer(c.id, &data).await?;
            }
            2 | 3 => {
                let c = &customers[(n as usize / 7) % customers.len()];
                let o = NewOrder {
                    customer_id: c.id,
                    delivery_date: day,
                    cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 }],
                    time_window: None,
                    preference: None,
                    priority: Priority::Normal,
                    note: None,
                    alternative_addresses: Vec::new(),
                };
                orders.push(store.create_order(&o, "load@example").await?);
            }
            _ => {
                let o = &orders[orders.len() - 1];
                let mut data = o.data.clone();
                data.cylinders[0].quantity += 1;
                store.update_order(o.id, &data).await?;
            }
        }
    }
    let wrote_s = started.elapsed().as_secs_f64();
    while store.legacy_depth(Utc::now()).await?.pending > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Release);
    runner.await?;
    let lags = lags_ms(&store).await?;
    println!(
        "steady load: {writes} writes in {wrote_s:.1} s ({:.1}/s), {} changes applied; lag p50 {} ms, p95 {} ms, max {} ms",
        f64::from(writes) / wrote_s,
        lags.len(),
        pct(&lags, 0.5),
        pct(&lags, 0.95),
        lags.last().copied().unwrap_or(0)
    );

    // 2. Drain of a backlog.
    let customer_ids: Vec<i64> = customers.iter().map(|c| c.id).collect();
    let (low, high) = (customer_ids.iter().min().copied().unwrap_or(1), customer_ids.iter().max().copied().unwrap_or(1));
    let span = high - low + 1;
    let series = if a.postgres {
        format!("SELECT g FROM generate_series(1, {}) AS g", a.backlog)
    } else {
        format!("WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {}) SELECT g FROM s", a.backlog)
    };
    // Taken over the past days, 2,500 a day: the old numbering (ROC date and four digits, the
    // service's own range from 5001) numbers at most 4,999 new orders a day.
    let taken = if a.postgres {
        "to_char((now() - ((g / 2500) || ' days')::interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS+00:00')::timestamptz".to_owned()
    } else {
        "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || (g / 2500) || ' days')".to_owned()
    };
    let insert = format!(
        "INSERT INTO orders (customer_id, delivery_date, cylinders, priority, status, created_at, updated_at) \
         SELECT {low} + (g % {span}), '{day}', '[{{\"size_kg\":20,\"quantity\":1}}]', 'normal', 'received', {taken}, {taken} FROM ({series}) AS gs"
    );
    let t = Instant::now();
    let inserted = exec(&store, &insert).await?;
    println!("backlog: {inserted} new orders queued in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let (mut applied, mut failed) = (0usize, 0usize);
    loop {
        let r = sync.batch(&store).await?;
        applied += r.applied;
        failed += r.failed;
        if r.read == 0 || r.applied == 0 {
            break;
        }
    }
    let left = store.legacy_depth(Utc::now()).await?;
    println!("drain: {failed} failed attempts, {} left pending, {} dead letters", left.pending, left.dead);
    let secs = t.elapsed().as_secs_f64();
    println!("drain: {applied} changes applied in {secs:.1} s: {:.0} changes/s", applied as f64 / secs);

    // 3. Pick-up of the old program's changes.
    sync.pickup(&store).await?; // the marks: after everything written so far
    let at = (Utc::now() + chrono::Duration::seconds(60)).with_timezone(&einvoice::calendar::taipei());
    let (date, time) = (einvoice::calendar::format_roc(at.date_naive(), einvoice::calendar::RocStyle::Compact)?, at.format("%H%M%S").to_string());
    let clerk = format!(
        "UPDATE CUST_MST SET CUST_NM = RTRIM(CUST_NM) || '舊', UPD_DT = '{date}', UPD_TM = '{time}', UPD_USER = 'CLERK01';
         UPDATE ORD_HDR SET URGENT = 'Y', UPD_DT = '{date}', UPD_TM = '{time}', UPD_USER = 'CLERK01'
             WHERE ORD_NO IN (SELECT ORD_NO FROM ORD_HDR ORDER BY ORD_NO LIMIT {});",
        a.clerk
    );
    legacy.execute_script(&clerk).await?;
    let t = Instant::now();
    let mut picked = planner_api::sync::pickup::PickupReport::default();
    loop {
        let r = sync.pickup(&store).await?;
        if r.read == 0 {
            break;
        }
        picked.add(r);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "pick-up: {} records changed in the old program taken in {secs:.1} s: {:.0} records/s ({} applied here, {} not taken)",
        picked.read,
        picked.read as f64 / secs,
        picked.updated,
        picked.rejected
    );

    // 4. Reconciliation of the day.
    let t = Instant::now();
    let report = sync.reconcile(&store, day, day, None).await?;
    let compared: usize = report.buckets.iter().map(|b| b.here_count.max(b.legacy_count)).sum();
    println!("reconciliation: {compared} records compared in {:.1} s, {} drifted", t.elapsed().as_secs_f64(), report.drift.len());

    legacy.close().await;
    store.close().await;
    if let Some(tag) = cleanup {
        let mut conn = sqlx::PgConnection::connect(&pg).await?;
        sqlx::query(&format!("DROP SCHEMA load_{tag} CASCADE")).execute(&mut conn).await?;
        sqlx::query(&format!("DROP DATABASE legacy_load_{tag} WITH (FORCE)")).execute(&mut conn).await?;
    }
    Ok(())
}
