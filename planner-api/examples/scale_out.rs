//! Scale-out on one PostgreSQL, measured on loopback with the real binary (issue 20, point 7):
//!
//! 1. **Plans per hour, one planning worker process against two.** A fresh database holds the
//!    demo distributor with orders on `2 × --jobs` days. For `w` in 1 and 2, `w` processes of
//!    `luckygas serve` run with `PLAN_WORKERS=1` (one job at a time each, `PLAN_SOLVER_THREADS=1`)
//!    and `--jobs` plans are requested at once, each with a fixed iteration budget
//!    (`--iterations`, so every solve does the same work whatever the clock); the time until the
//!    last one succeeded gives plans per hour.
//! 2. **API p95 with one replica against two, behind a load balancer.** `r` serve-only processes
//!    (`PLAN_WORKERS=0`) sit behind a round-robin TCP load balancer on loopback (in this
//!    program: each accepted connection goes to the next replica, as a layer-4 balancer such as
//!    a Kubernetes Service does), and `--clients` keep-alive clients send `--requests` requests
//!    each through it, taking turns between creating an order, listing a day's orders and
//!    reading a plan. Both runs go through the balancer, so its cost is in both.
//!
//! A benchmark run by hand, not a test. Every process shares this machine's cores: say how many
//! when quoting the figures (ops/README.md).
//!
//! ```sh
//! cargo build --release -p planner-api --bin luckygas --example scale_out
//! target/release/examples/scale_out --binary target/release/luckygas --jobs 6 --iterations 3000
//! ```

use anyhow::{bail, Context};
use clap::Parser;
use planner_api::auth::random_hex;
use planner_api::store::{PageRequest, Store};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    /// The `luckygas` binary to run (a release build).
    #[arg(long, default_value = "target/release/luckygas")]
    binary: String,
    /// The PostgreSQL server to create the benchmark database on (dropped at the end).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
    /// Plans requested at once in each worker run.
    #[arg(long, default_value_t = 6)]
    jobs: usize,
    /// Search iterations per part of the day of every plan (a fixed budget).
    #[arg(long, default_value_t = 3000)]
    iterations: u64,
    /// Concurrent clients in the API runs.
    #[arg(long, default_value_t = 40)]
    clients: usize,
    /// Measured requests per client in the API runs.
    #[arg(long, default_value_t = 100)]
    requests: usize,
}

const FIRST_DAY: &str = "2026-03-02";
const ORDER_DAY: &str = "2026-04-30";

/// A `luckygas serve` process, stopped on drop.
struct Replica {
    child: Child,
    base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Env {
    binary: String,
    url: String,
    jwt: String,
    admin: (String, String),
}

async fn start(env: &Env, plan_workers: usize) -> anyhow::Result<Replica> {
    let port = free_port()?;
    let child = Command::new(&env.binary)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &env.url)
        .env("LUCKYGAS_JWT_SECRET", &env.jwt)
        .env("LUCKYGAS_ADMIN_EMAIL", &env.admin.0)
        .env("LUCKYGAS_ADMIN_PASSWORD", &env.admin.1)
        .env("PLAN_WORKERS", plan_workers.to_string())
        .env("PLAN_SOLVER_THREADS", "1")
        .env("PLAN_POLL_MS", "100")
        .env("LUCKYGAS_BACKGROUND_WORKERS", "0")
        .env("LUCKYGAS_RATE_LIMIT_USER_PER_MIN", "1000000")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run {}", env.binary))?;
    let replica = Replica { child, base: format!("http://127.0.0.1:{port}") };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if http.get(format!("{}/readyz", replica.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(replica);
        }
        if Instant::now() > deadline {
            bail!("{} is not ready after a minute", replica.base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sign_in(env: &Env, base: &str) -> anyhow::Result<reqwest::Client> {
    let res = reqwest::Client::new().post(format!("{base}/v1/auth/login")).json(&json!({ "email": env.admin.0, "password": env.admin.1 })).send().await?;
    if !res.status().is_success() {
        bail!("sign-in answered {}", res.status());
    }
    let token = res.json::<Value>().await?["access_token"].as_str().context("no access token")?.to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    Ok(reqwest::Client::builder().default_headers(headers).pool_max_idle_per_host(1).timeout(Duration::from_secs(120)).build()?)
}

/// Requests `days` plans at once and waits for all; returns the wall time.
async fn plan_all(http: &reqwest::Client, base: &str, days: &[String], depots: &[i64], iterations: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut ids = Vec::new();
    for day in days {
        let body = json!({ "date": day, "depot_ids": depots, "options": { "time_limit_s": 300.0, "max_iterations": iterations, "seed": 7 } });
        let res = http.post(format!("{base}/v1/plans")).json(&body).send().await?;
        if res.status().as_u16() != 202 {
            bail!("POST /v1/plans answered {}: {}", res.status(), res.text().await?);
        }
        ids.push(res.json::<Value>().await?["id"].as_i64().context("no plan id")?);
    }
    for id in ids {
        loop {
            let job: Value = http.get(format!("{base}/v1/plans/{id}")).send().await?.json().await?;
            match job["status"].as_str() {
                Some("succeeded") => break,
                Some("failed" | "cancelled") => bail!("plan {id} ended {}: {}", job["status"], job["error"]),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    Ok(started.elapsed())
}

/// A round-robin layer-4 load balancer on loopback: each accepted connection is piped to the
/// next backend. Returns its address.
async fn balancer(backends: Vec<String>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let next = Arc::new(AtomicUsize::new(0));
    let targets: Vec<String> = backends.iter().map(|b| b.trim_start_matches("http://").to_owned()).collect();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = targets[next.fetch_add(1, Ordering::Relaxed) % targets.len()].clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Ok(format!("http://{addr}"))
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `--clients` clients through `base`; returns (latencies sorted, failures, wall time).
async fn api_load(env: &Env, base: &str, args: &Args, customers: &[i64], plan_id: i64) -> anyhow::Result<(Vec<Duration>, usize, Duration)> {
    let customers = Arc::new(customers.to_vec());
    let barrier = Arc::new(tokio::sync::Barrier::new(args.clients));
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let http = sign_in(env, base).await?;
        let (customers, barrier, base, requests) = (Arc::clone(&customers), Arc::clone(&barrier), base.to_owned(), args.requests);
        tasks.push(tokio::spawn(async move {
            let (mut samples, mut failures) = (Vec::with_capacity(requests), 0usize);
            let mut rng = (c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            for i in 0..requests + 3 {
                if i == 3 {
                    barrier.wait().await;
                }
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let customer = customers[usize::try_from(rng % customers.len() as u64).unwrap_or(0)];
                let req = match (c + i) % 3 {
                    0 => http.post(format!("{base}/v1/orders")).json(&json!({
                        "customer_id": customer, "delivery_date": ORDER_DAY,
                        "cylinders": [{ "size_kg": 20, "quantity": 1 + (rng >> 16) % 3 }],
                    })),
                    1 => http.get(format!("{base}/v1/orders?date={ORDER_DAY}&limit=20&offset={}", (rng >> 4) % 200)),
                    _ => http.get(format!("{base}/v1/plans/{plan_id}")),
                };
                let sent = Instant::now();
                let ok = match req.send().await {
                    Ok(res) => res.status().is_success() && res.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if i >= 3 {
                    samples.push(sent.elapsed());
                    failures += usize::from(!ok);
                }
            }
            (samples, failures)
        }));
    }
    let started = Instant::now();
    let (mut all, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (s, f) = t.await?;
        all.extend(s);
        failed += f;
    }
    let wall = started.elapsed();
    all.sort();
    Ok((all, failed, wall))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.jobs == 0 || args.clients == 0 || args.requests == 0 {
        bail!("--jobs, --clients and --requests must be at least 1");
    }
    let name = format!("luckygas_scale_{}", std::process::id());
    let mut admin = PgConnection::connect(&args.pg_url).await.with_context(|| format!("cannot reach PostgreSQL at {}", args.pg_url))?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let base_url = args.pg_url.split('?').next().unwrap_or(&args.pg_url).rsplit_once('/').map_or(args.pg_url.clone(), |(b, _)| b.to_owned());
    let url = format!("{base_url}/{name}");
    let outcome = run(&args, &url).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
    outcome
}

async fn run(args: &Args, url: &str) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let store = Store::open(url).await?;
    let first = chrono::NaiveDate::parse_from_str(FIRST_DAY, "%Y-%m-%d")?;
    let days: Vec<String> = (0..2 * args.jobs).map(|d| (first + chrono::Days::new(d as u64)).to_string()).collect();
    let mut orders_per_day = 0;
    for day in &days {
        orders_per_day = planner_api::demo::load(&store, chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")?).await?.orders.max(orders_per_day);
    }
    let depots: Vec<i64> = store.list_depots(PageRequest::offset(100, 0)).await?.items.iter().map(|d| d.id).collect();
    let customers: Vec<i64> =
        store.list_customers(&planner_api::store::CustomerFilter::default(), PageRequest::offset(10_000, 0)).await?.items.iter().map(|c| c.id).collect();
    store.close().await;
    let env = Env { binary: args.binary.clone(), url: url.to_owned(), jwt: random_hex(32), admin: ("scale@luckygas.test".to_owned(), random_hex(12)) };
    println!("PostgreSQL database {url}; {cores} cores; demo distributor, {} days of about {orders_per_day} orders", days.len());

    // 1. Plans per hour.
    let mut plan_id = 0;
    for (run, workers) in [1usize, 2].into_iter().enumerate() {
        let mut replicas = Vec::new();
        for _ in 0..workers {
            replicas.push(start(&env, 1).await?);
        }
        let http = sign_in(&env, &replicas[0].base).await?;
        let batch = &days[run * args.jobs..(run + 1) * args.jobs];
        let wall = plan_all(&http, &replicas[0].base, batch, &depots, args.iterations).await?;
        let per_hour = args.jobs as f64 / wall.as_secs_f64() * 3600.0;
        println!(
            "plans: {workers} worker process(es): {} plans of {} iterations in {:.1} s = {per_hour:.0} plans/hour",
            args.jobs,
            args.iterations,
            wall.as_secs_f64()
        );
        let listed: Value = http.get(format!("{}/v1/plans?limit=1", replicas[0].base)).send().await?.json().await?;
        plan_id = listed["items"][0]["id"].as_i64().unwrap_or(plan_id);
    }

    // 2. API latency through the balancer.
    for replicas in [1usize, 2] {
        let mut procs = Vec::new();
        for _ in 0..replicas {
            procs.push(start(&env, 0).await?);
        }
        let lb = balancer(procs.iter().map(|p| p.base.clone()).collect()).await?;
        let (lat, failed, wall) = api_load(&env, &lb, args, &customers, plan_id).await?;
        println!(
            "api: {replicas} replica(s) behind the balancer: {} requests from {} clients in {:.1} s ({:.0}/s): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, {failed} failed",
            lat.len(),
            args.clients,
            wall.as_secs_f64(),
            lat.len() as f64 / wall.as_secs_f64(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.95)),
            ms(percentile(&lat, 0.99))
        );
    }
    Ok(())
}
