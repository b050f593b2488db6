//! Measures a big day end to end through the service's own code paths: seeds a fresh database
//! (a SQLite file in a temporary folder, or a new schema on the PostgreSQL server of
//! `--pg-url`) with a generated day of `--orders` orders around `--depots` Taiwanese depots
//! ([`planner_api::planning::sample`]), queues the planning job as `POST /v1/plans` does (with
//! the `PLAN_MAX_ORDERS` cap), lets the planning worker pool solve and save it, replans one
//! cancellation as `POST /v1/plans/{id}/events` does, lists every order of the day by key (as
//! `GET /v1/orders?after=`) and once by offset with its count, and optionally writes the
//! streamed solver input with its matrices (`--download`).
//!
//! It prints the peak resident memory (`VmHWM` of `/proc/self/status`), the database size, the
//! bytes stored for the plan and each step's time. A measurement run by hand, not a test.
//!
//! ```sh
//! cargo run --release -p planner-api --example big_day -- --orders 10000
//! cargo run --release -p planner-api --example big_day -- --orders 10000 --pg-url postgres://postgres@127.0.0.1:5432/test
//! ```

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::Parser;
use planner_api::domain::replan::{EventInput, EventsInput};
use planner_api::domain::{JobStatus, PlanRequestInput};
use planner_api::planning::{self, sample, Mode, Planner, WorkerConfig};
use planner_api::store::{OrderFilter, PageRequest, Store};
use planner_api::travel::{GreatCircle, TravelConfig};
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    /// Orders of the day.
    #[arg(long, default_value_t = 10_000)]
    orders: usize,
    /// Depots (1–6).
    #[arg(long, default_value_t = 5)]
    depots: usize,
    /// Search iterations per part (with the seed, the plan is the same on every run).
    #[arg(long, default_value_t = 200)]
    max_iterations: u64,
    /// Search time limit of the whole day, seconds.
    #[arg(long, default_value_t = 120.0)]
    time_limit_s: f64,
    /// A PostgreSQL server to measure on (a fresh schema, dropped afterwards) instead of SQLite.
    #[arg(long)]
    pg_url: Option<String>,
    /// Also stream the solver input with its travel matrices (to nowhere), as a download would.
    #[arg(long)]
    download: bool,
}

/// Peak resident memory of this process so far, MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.unwrap_or(0.0) / 1024.0
}

fn mib(bytes: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    b / (1024.0 * 1024.0)
}

async fn scalar(store: &Store, sql: &str) -> anyhow::Result<i64> {
    Ok(match store {
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
    })
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let db_path = dir.path().join("big_day.db");
    let schema = format!("big_day_{}", std::process::id());
    let store = match &args.pg_url {
        None => Store::open(&format!("sqlite://{}", db_path.display())).await?,
        Some(url) => {
            let mut conn = PgConnection::connect(url).await.context("connect to PostgreSQL")?;
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await?;
            conn.close().await?;
            Store::open_postgres(PgConnectOptions::from_str(url)?.options([("search_path", schema.as_str())])).await?
        }
    };
    let date = NaiveDate::from_ymd_opt(2026, 3, 2).context("date")?;
    let t = Instant::now();
    let day = sample::seed(&store, date, args.orders, args.depots, "b").await?;
    println!("seeded {} orders, {} depots, {} vehicles in {:.1} s", day.order_ids.len(), day.depot_ids.len(), day.vehicles, t.elapsed().as_secs_f64());

    let config = WorkerConfig { workers: 1, poll: Duration::from_millis(100), ..WorkerConfig::from_env().map_err(anyhow::Error::msg)? };
    let planner = Planner::new(config, Arc::new(GreatCircle::new(TravelConfig::from_env()?)));
    let workers = planner_api::worker::spawn(&planner, &store);
    let input: PlanRequestInput = serde_json::from_value(json!({
        "date": date.to_string(), "depot_ids": day.depot_ids,
        "options": { "seed": 7, "max_iterations": args.max_iterations, "time_limit_s": args.time_limit_s }
    }))?;
    let request = input.validate(planner.config().max_time_limit_s).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let rss_before = peak_rss_mib();
    let t = Instant::now();
    let job = store.create_plan_job(&request, planner.config().max_orders).await?;
    planner.wake();
    let job = loop {
        let j = store.get_plan_job(job.id).await?;
        if j.status.is_final() {
            break j;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let plan_s = t.elapsed().as_secs_f64();
    if job.status != JobStatus::Succeeded {
        bail!("the plan {}: {:?}", job.status.as_str(), job.error);
    }
    let result = job.result.as_ref().context("a plan")?;
    let routed: Vec<i64> = result.routes.iter().flat_map(|r| r.trips.iter().flat_map(|t| t.stops.iter().map(|s| s.order_id))).collect();
    println!(
        "planned in {plan_s:.1} s: {} routes, {} orders routed, {} unassigned, feasible {}, {} iterations; peak RSS {:.0} MiB (before planning {rss_before:.0} MiB)",
        result.routes.len(),
        routed.len(),
        result.unassigned.len(),
        result.feasible,
        result.iterations,
        peak_rss_mib()
    );
    let stored_sql = format!(
        "SELECT CAST(COALESCE(LENGTH(request), 0) + COALESCE(LENGTH(order_ids), 0) + COALESCE(LENGTH(progress), 0) + COALESCE(LENGTH(problem), 0) \
         + COALESCE(LENGTH(result), 0) + COALESCE(LENGTH(model), 0) AS BIGINT) FROM plan_jobs WHERE id = {}",
        job.id
    );
    let versions_sql = format!(
        "SELECT CAST(COALESCE(SUM(LENGTH(events) + LENGTH(execution) + LENGTH(diff) + LENGTH(result) + COALESCE(LENGTH(model), 0)), 0) AS BIGINT) \
         FROM plan_versions WHERE plan_id = {}",
        job.id
    );
    println!("stored for the plan: {:.1} MiB", mib(scalar(&store, &stored_sql).await?));

    let cancelled = *routed.first().context("a routed order")?;
    let events = EventsInput {
        base_version: Some(1),
        at: Some("09:00".into()),
        events: vec![EventInput { kind: "order_cancelled".into(), order_id: Some(cancelled), ..Default::default() }],
        ..Default::default()
    };
    let t = Instant::now();
    let v = planning::replan(&store, &planner, job.id, events, "big_day", Mode::Commit).await.map_err(|e| anyhow::anyhow!("replan: {e:?}"))?;
    println!(
        "replanned one cancellation in {:.2} s: version {}, {} stops moved or retimed; peak RSS {:.0} MiB",
        t.elapsed().as_secs_f64(),
        v.0.version,
        v.0.diff.moved.len() + v.0.diff.retimed.len(),
        peak_rss_mib()
    );
    let stored = scalar(&store, &stored_sql).await? + scalar(&store, &versions_sql).await?;
    println!("stored for the plan with two versions: {:.1} MiB", mib(stored));

    let filter = OrderFilter { date: Some(date), ..OrderFilter::default() };
    let mut after = None;
    let mut pages = Vec::new();
    let mut listed = 0;
    loop {
        let t = Instant::now();
        let page = store.list_orders(&filter, PageRequest::after(200, after)).await?;
        pages.push(t.elapsed().as_secs_f64() * 1000.0);
        listed += page.items.len();
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let t = Instant::now();
    let counted = store.list_orders(&filter, PageRequest::offset(200, 5000)).await?;
    let offset_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "listed {listed} orders in {} keyset pages of 200: p50 {:.1} ms, max {:.1} ms; one offset page with its count ({}): {offset_ms:.1} ms",
        pages.len(),
        median(pages.clone()),
        pages.iter().copied().fold(0.0, f64::max),
        counted.total.unwrap_or_default()
    );

    if args.download {
        let doc = planning::solver_doc(&store, &job, None).await.map_err(|e| anyhow::anyhow!("{e:?}"))?.context("a solver input")?;
        let t = Instant::now();
        let mut bytes = 0usize;
        let travel = planner.travel();
        let bytes = tokio::task::spawn_blocking(move || {
            planning::solver_input::write(&doc, true, travel.as_ref(), &mut |chunk| {
                bytes += chunk.len();
                true
            })
            .map(|()| bytes)
        })
        .await?
        .map_err(anyhow::Error::msg)?;
        let (bytes, secs) = (i64::try_from(bytes).unwrap_or(i64::MAX), t.elapsed().as_secs_f64());
        println!("streamed the solver input with matrices: {:.0} MiB in {secs:.1} s; peak RSS {:.0} MiB", mib(bytes), peak_rss_mib());
    }

    let size = match &store {
        Store::Sqlite(_) => {
            scalar(&store, "PRAGMA wal_checkpoint(TRUNCATE)").await.ok();
            std::fs::metadata(&db_path).map(|m| m.len()).unwrap_or(0) as i64
        }
        Store::Postgres(_) => {
            let sql = format!(
                "SELECT CAST(SUM(pg_total_relation_size(format('%I.%I', schemaname, tablename))) AS BIGINT) FROM pg_tables WHERE schemaname = '{schema}'"
            );
            scalar(&store, &sql).await?
        }
    };
    println!("database size: {:.1} MiB; peak RSS {:.0} MiB", mib(size), peak_rss_mib());
    planner.stop();
    workers.shutdown().await;
    store.close().await;
    if let Some(url) = &args.pg_url {
        let mut conn = PgConnection::connect(url).await?;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut conn).await?;
    }
    Ok(())
}
