//! A bounded load generator for the planning service on loopback: it starts the real application
//! (the same router, store, worker pool and token checks as `luckygas serve`) on `127.0.0.1:0` on
//! a fresh database (a SQLite file in a temporary folder, or a new PostgreSQL database created on
//! the server of `--pg-url` and dropped afterwards), loads the demo distributor, signs in over
//! HTTP, plans the demo day through the API, then lets `--clients` concurrent clients (one
//! keep-alive connection each) send `--requests` requests each, taking turns between
//!
//! - `create_order`: `POST /v1/orders` for a random customer on the day after the demo day;
//! - `list_orders`: `GET /v1/orders` filtered by day and status (a page of 20 at an offset
//!   that moves), or by customer;
//! - `get_plan`: `GET /v1/plans/{id}` of the completed plan (routes, stops, loads, progress).
//!
//! It prints, per operation, the count, the non-2xx answers, p50, p95, p99 and max latency
//! (measured by the client, from sending the request to having read the whole body), then the
//! first few error bodies. It exits 1 if any request failed. This is a benchmark run by hand, not
//! a test: nothing here asserts a time.
//!
//! ```sh
//! cargo run --release -p planner-api --example load -- --database sqlite --clients 50 --requests 60
//! cargo run --release -p planner-api --example load -- --database postgres --clients 50 --requests 60
//! ```

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use planner_api::auth::{bootstrap_admin, random_hex, AdminBootstrap, AuthConfig, KeySource};
use planner_api::http::{app, AppState};
use planner_api::store::{CustomerFilter, PageRequest, Store};
use planner_api::travel::{GreatCircle, TravelConfig};
use planner_api::worker::{Planner, WorkerConfig};
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The demo day that is planned; orders created under load are for the day after.
const DAY: &str = "2026-03-02";
const NEXT_DAY: &str = "2026-03-03";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Loopback load benchmark of the planning service.
#[derive(Parser, Debug)]
struct Args {
    /// Which database the server uses.
    #[arg(long, value_enum, default_value = "sqlite")]
    database: Backend,
    /// The PostgreSQL server to create the benchmark database on (any database of it; a fresh
    /// `luckygas_load_…` database is created there and dropped at the end).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
    /// Concurrent clients, each with its own connection.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Measured requests per client (operations taken in turn).
    #[arg(long, default_value_t = 60)]
    requests: usize,
    /// Unmeasured requests per client first (connections opened, caches warm).
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Search time of the plan made before the load, seconds.
    #[arg(long, default_value_t = 2.0)]
    plan_time_limit: f64,
}

/// The operations measured, in the order clients take them.
const OPERATIONS: [&str; 3] = ["create_order", "list_orders", "get_plan"];

/// One measured request.
struct Sample {
    op: usize,
    latency: Duration,
    status: u16,
}

/// Where the server's database lives, to be removed at the end.
enum Database {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.clients == 0 || args.requests == 0 {
        bail!("--clients and --requests must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    // The server gets its own runtime, as it would in its own process; the clients another.
    let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(cores).thread_name("server").enable_all().build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(cores).thread_name("client").enable_all().build()?;

    let (store, database) = server_rt.block_on(open_fresh(&args))?;
    let (addr, stop) = server_rt.block_on(start_server(store.clone()))?;
    let base = format!("http://{addr}");
    println!("server: {base}, database: {:?}, {cores} cores", args.database);

    let outcome = client_rt.block_on(run(&args, &store, &base));
    // Stop the server and drop the database whatever happened.
    let _ = stop.send(());
    server_rt.block_on(async {
        store.close().await;
        if let Database::Postgres { admin_url, name } = &database {
            if let Err(e) = drop_database(admin_url, name).await {
                eprintln!("could not drop the benchmark database {name}: {e}");
            }
        }
    });
    drop(database);
    let errors = outcome?;
    if errors > 0 {
        bail!("{errors} requests did not answer 2xx");
    }
    Ok(())
}

/// A fresh, migrated database of the chosen backend.
async fn open_fresh(args: &Args) -> anyhow::Result<(Store, Database)> {
    match args.database {
        Backend::Sqlite => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("luckygas.db").display());
            let store = Store::open(&url).await?;
            Ok((store, Database::Sqlite(dir)))
        }
        Backend::Postgres => {
            let name = format!("luckygas_load_{}_{}", std::process::id(), random_hex(3));
            let mut conn = PgConnection::connect(&args.pg_url).await.with_context(|| format!("cannot reach PostgreSQL at {}", args.pg_url))?;
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
            conn.close().await?;
            let options = PgConnectOptions::from_str(&args.pg_url)?.database(&name);
            let store = Store::open_postgres(options).await?;
            Ok((store, Database::Postgres { admin_url: args.pg_url.clone(), name }))
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Starts the application as `luckygas serve` does (worker settings from `PLAN_*`, rate limits and
/// connection settings from `LUCKYGAS_*`, the same accept loop), on the current runtime; sending
/// on the returned channel stops it. The clients all sign in as one admin from one address, so
/// the default limits (1,000 requests a minute per user) refuse most of a run: raise them, e.g.
/// `LUCKYGAS_RATE_LIMIT_USER_PER_MIN=1000000`, to measure what counting costs.
async fn start_server(store: Store) -> anyhow::Result<(std::net::SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let config = WorkerConfig::from_env().map_err(anyhow::Error::msg)?;
    let planner = Planner::new(config, Arc::new(GreatCircle::new(TravelConfig::default())));
    let pool = planner_api::worker::spawn(&planner, &store);
    let auth = AuthConfig::with_secret(random_hex(32).as_bytes(), KeySource::Env);
    let env = |k: &str| std::env::var(k).ok();
    let edge = planner_api::http::edge::EdgeConfig::from_lookup(env).map_err(anyhow::Error::msg)?;
    let server = planner_api::http::server::ServerConfig::from_lookup(env).map_err(anyhow::Error::msg)?;
    let state = AppState { planner: planner.clone(), edge: Arc::new(planner_api::http::edge::Edge::new(edge)), ..AppState::new(store, auth) };
    planner.attach_metrics(state.metrics.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
            planner.stop();
        };
        let connections = state.metrics.connections();
        planner_api::http::server::run(listener, app(state), server, connections, shutdown).await;
        pool.shutdown().await;
    });
    Ok((addr, stop))
}

/// Loads the data, plans the day, runs the clients and prints the report; returns the number of
/// failed requests.
async fn run(args: &Args, store: &Store, base: &str) -> anyhow::Result<usize> {
    let setup = Instant::now();
    let date = chrono::NaiveDate::from_str(DAY)?;
    let loaded = planner_api::demo::load(store, date).await?;
    let admin = AdminBootstrap { email: "load@luckygas.test".to_owned(), password: random_hex(12) };
    bootstrap_admin(store, &admin).await?;
    let anon = reqwest::Client::new();
    let res = anon.post(format!("{base}/v1/auth/login")).json(&json!({ "email": admin.email, "password": admin.password })).send().await?;
    if !res.status().is_success() {
        bail!("sign-in answered {}", res.status());
    }
    let token = res.json::<Value>().await?["access_token"].as_str().context("no access token")?.to_owned();
    let authed = client(&token)?;
    let depots: Vec<i64> = store.list_depots(PageRequest::offset(200, 0)).await?.items.iter().map(|d| d.id).collect();
    let customers: Vec<i64> = store.list_customers(&CustomerFilter::default(), PageRequest::offset(10_000, 0)).await?.items.iter().map(|c| c.id).collect();
    let plan_id = plan_day(&authed, base, &depots, args.plan_time_limit).await?;
    println!(
        "setup: {} depots, {} vehicles, {} customers, {} orders loaded; plan {plan_id} of {DAY} succeeded ({:.1} s)",
        loaded.depots,
        loaded.vehicles,
        loaded.customers,
        loaded.orders,
        setup.elapsed().as_secs_f64()
    );

    let customers = Arc::new(customers);
    let start = Arc::new(tokio::sync::Barrier::new(args.clients));
    let mut tasks = Vec::with_capacity(args.clients);
    for c in 0..args.clients {
        let (http, customers, start, base) = (client(&token)?, Arc::clone(&customers), Arc::clone(&start), base.to_owned());
        let (warmup, requests) = (args.warmup, args.requests);
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(requests);
            let mut failures = Vec::new();
            let mut rng = (c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            for i in 0..warmup + requests {
                if i == warmup {
                    start.wait().await;
                }
                let op = (c + i) % OPERATIONS.len();
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let req = request(&http, &base, op, i, rng, &customers, plan_id);
                let sent = Instant::now();
                let (status, body) = match req.send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        (status, res.text().await.unwrap_or_else(|e| format!("(body unreadable: {e})")))
                    }
                    Err(e) => (0, format!("(no answer: {e})")),
                };
                let latency = sent.elapsed();
                if !(200..300).contains(&status) {
                    failures.push(format!("{} {status}: {}", OPERATIONS[op], body.chars().take(300).collect::<String>()));
                }
                if i >= warmup {
                    samples.push(Sample { op, latency, status });
                }
            }
            (samples, failures)
        }));
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut failures = Vec::new();
    for t in tasks {
        let (s, f) = t.await?;
        samples.extend(s);
        failures.extend(f);
    }
    let wall = started.elapsed();
    report(args, &samples, wall);
    for f in failures.iter().take(10) {
        println!("error: {f}");
    }
    Ok(failures.len())
}

/// A client sending `token` on one keep-alive connection.
fn client(token: &str) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    Ok(reqwest::Client::builder().default_headers(headers).pool_max_idle_per_host(1).timeout(Duration::from_secs(60)).build()?)
}

/// The `i`-th request of a client, of operation `op`; `rng` picks customers and pages.
fn request(http: &reqwest::Client, base: &str, op: usize, i: usize, rng: u64, customers: &[i64], plan_id: i64) -> reqwest::RequestBuilder {
    let customer = customers[usize::try_from(rng % customers.len() as u64).unwrap_or(0)];
    match op {
        0 => {
            let sizes = [4, 10, 16, 20, 50];
            let size = sizes[usize::try_from((rng >> 8) % 5).unwrap_or(0)];
            let body = json!({
                "customer_id": customer, "delivery_date": NEXT_DAY,
                "cylinders": [{ "size_kg": size, "quantity": 1 + (rng >> 16) % 3 }],
                "preference": if rng.is_multiple_of(2) { "morning" } else { "afternoon" },
                "priority": if rng.is_multiple_of(10) { "urgent" } else { "normal" },
            });
            http.post(format!("{base}/v1/orders")).json(&body)
        }
        1 if i.is_multiple_of(2) => http.get(format!("{base}/v1/orders?date={NEXT_DAY}&status=received&limit=20&offset={}", (rng >> 4) % 200)),
        1 => http.get(format!("{base}/v1/orders?customer_id={customer}&limit=20")),
        _ => http.get(format!("{base}/v1/plans/{plan_id}")),
    }
}

/// Plans the demo day through the API and waits for the job to succeed.
async fn plan_day(http: &reqwest::Client, base: &str, depots: &[i64], time_limit: f64) -> anyhow::Result<i64> {
    let body = json!({ "date": DAY, "depot_ids": depots, "options": { "time_limit_s": time_limit } });
    let res = http.post(format!("{base}/v1/plans")).json(&body).send().await?;
    if res.status().as_u16() != 202 {
        bail!("POST /v1/plans answered {}: {}", res.status(), res.text().await?);
    }
    let id = res.json::<Value>().await?["id"].as_i64().context("no plan id")?;
    let deadline = Instant::now() + Duration::from_secs_f64(time_limit * 10.0 + 60.0);
    loop {
        let job: Value = http.get(format!("{base}/v1/plans/{id}")).send().await?.json().await?;
        match job["status"].as_str() {
            Some("succeeded") => return Ok(id),
            Some("failed" | "cancelled") => bail!("the plan ended {}: {}", job["status"], job["error"]),
            _ if Instant::now() > deadline => bail!("the plan did not finish in time"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The value below which a share `q` of the sorted `values` lie (nearest rank).
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(args: &Args, samples: &[Sample], wall: Duration) {
    println!(
        "{} clients x {} requests ({} measured) in {:.2} s: {:.0} requests/s",
        args.clients,
        args.requests,
        samples.len(),
        wall.as_secs_f64(),
        samples.len() as f64 / wall.as_secs_f64()
    );
    println!("{:<14} {:>6} {:>7} {:>9} {:>9} {:>9} {:>9}", "operation", "count", "non2xx", "p50 ms", "p95 ms", "p99 ms", "max ms");
    for (op, name) in OPERATIONS.iter().enumerate() {
        let mut latencies: Vec<Duration> = samples.iter().filter(|s| s.op == op).map(|s| s.latency).collect();
        latencies.sort_unstable();
        let errors = samples.iter().filter(|s| s.op == op && !(200..300).contains(&s.status)).count();
        println!(
            "{name:<14} {:>6} {errors:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            latencies.len(),
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.95)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies.last().copied().unwrap_or_default()),
        );
    }
}
