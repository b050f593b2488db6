//! Replanning through the API over loopback, under a bounded load of 16 concurrent clients.
//!
//! The real application (router, store, token checks, planning workers) runs on
//! `127.0.0.1:0` over a fresh SQLite file, on a runtime of its own. Half the demo distributor's
//! 300 customers get an order on each of 16 further days (150 stops, about what its 14
//! vehicles serve in a day), and each day is planned once (outside the measurement). Then 16 dispatchers, one per day's plan, each on its own keep-alive connection,
//! send one replan at the same moment: an urgent order added to the plan, and in the next round
//! that order cancelled again, so the plans keep their size. One iteration is one such round,
//! timed from sending the 16 requests to having read the 16 answers: the time of the slowest of
//! 16 concurrent replans, so its p95 bounds the p95 of a single request from above; at the end
//! the bench also prints the p50 and p95 of the single requests' own latencies. The orders a
//! round adds are created before the round's clock starts.
//!
//! `API_BENCH_CLIENTS=N` runs N dispatchers instead of 16; `API_BENCH_TIME_MS=N` asks each
//! replan for a search budget of N ms instead of the default; `API_BENCH_DEBUG=1` prints each
//! replan's search time and iterations.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use planner_api::auth::{bootstrap_admin, random_hex, AdminBootstrap, AuthConfig, KeySource};
use planner_api::http::{app, AppState};
use planner_api::store::{CustomerFilter, PageRequest, Store};
use planner_api::travel::{GreatCircle, TravelConfig};
use planner_api::worker::{Planner, WorkerConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent dispatchers, each replanning its own plan.
const CLIENTS: usize = 16;
/// The demo day; the benched plans are the 16 days after it.
const DEMO_DAY: &str = "2026-03-02";

/// One dispatcher: its plan, the version it last saw, and the order it added last round.
struct Dispatcher {
    http: reqwest::Client,
    plan: i64,
    version: i64,
    added: Option<i64>,
    customer: i64,
    date: String,
}

struct Bench {
    server: tokio::runtime::Runtime,
    clients: tokio::runtime::Runtime,
    base: String,
    dispatchers: Vec<Dispatcher>,
    _dir: tempfile::TempDir,
}

fn client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    reqwest::Client::builder().default_headers(headers).pool_max_idle_per_host(1).build().expect("client")
}

async fn post(http: &reqwest::Client, url: String, body: &Value) -> (u16, Value) {
    let (status, bytes) = post_raw(http, url, body).await;
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

/// Posts `body`; the status and the whole answer, unparsed.
async fn post_raw(http: &reqwest::Client, url: String, body: &Value) -> (u16, Vec<u8>) {
    let res = http.post(url).json(body).send().await.expect("answered");
    let status = res.status().as_u16();
    (status, res.bytes().await.expect("the answer").to_vec())
}

/// What a dispatcher's client needs of a new version to go on (the rest of it is read, not kept).
#[derive(serde::Deserialize)]
struct NewVersion {
    version: i64,
}

fn setup() -> Bench {
    let server = tokio::runtime::Builder::new_multi_thread().thread_name("server").enable_all().build().expect("runtime");
    let clients = tokio::runtime::Builder::new_multi_thread().thread_name("client").enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("luckygas.db").display());
    let (store, addr) = server.block_on(async {
        let store = Store::open(&url).await.expect("database");
        let planner = Planner::new(WorkerConfig::default(), Arc::new(GreatCircle::new(TravelConfig::default())));
        let pool = planner_api::worker::spawn(&planner, &store);
        let auth = AuthConfig::with_secret(random_hex(32).as_bytes(), KeySource::Env);
        // Sixteen dispatchers replan at once: the heavy-work bound (one per CPU) serves them one
        // after another from its queue; the wait is long enough for a loaded CI machine.
        let heavy = planner_api::http::heavy::HeavyWork::with_queue(
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            64,
            Duration::from_secs(120),
        );
        let state = AppState { planner, heavy, ..AppState::new(store.clone(), auth) };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, app(state)).await.expect("server runs");
            drop(pool);
        });
        (store, addr)
    });
    let base = format!("http://{addr}");
    let dispatchers = clients.block_on(async {
        let demo_day = chrono::NaiveDate::parse_from_str(DEMO_DAY, "%Y-%m-%d").expect("date");
        planner_api::demo::load(&store, demo_day).await.expect("demo data");
        let admin = AdminBootstrap { email: "bench@luckygas.test".to_owned(), password: random_hex(12) };
        bootstrap_admin(&store, &admin).await.expect("admin");
        let login = reqwest::Client::new()
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({ "email": admin.email, "password": admin.password }))
            .send()
            .await
            .expect("login");
        let token = login.json::<Value>().await.expect("tokens")["access_token"].as_str().expect("token").to_owned();
        let http = client(&token);
        let depots: Vec<i64> = store.list_depots(PageRequest::offset(200, 0)).await.expect("depots").items.iter().map(|d| d.id).collect();
        let customers: Vec<i64> =
            store.list_customers(&CustomerFilter::default(), PageRequest::offset(10_000, 0)).await.expect("customers").items.iter().map(|c| c.id).collect();
        let mut plans = Vec::new();
        let clients: usize = std::env::var("API_BENCH_CLIENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(CLIENTS);
        for k in 1..=clients {
            let date = (demo_day + chrono::Duration::days(k as i64)).to_string();
            for (i, &c) in customers.iter().enumerate().filter(|(i, _)| (i + k) % 2 == 0) {
                let order = json!({ "customer_id": c, "delivery_date": date, "cylinders": [{ "size_kg": 20, "quantity": 1 + (i + k) % 2 }] });
                let (status, body) = post(&http, format!("{base}/v1/orders"), &order).await;
                assert_eq!(status, 201, "{body}");
            }
            let (status, job) = post(&http, format!("{base}/v1/plans"), &json!({ "date": date, "depot_ids": depots, "options": { "time_limit_s": 1 } })).await;
            assert_eq!(status, 202, "{job}");
            plans.push((job["id"].as_i64().expect("plan id"), date));
        }
        let mut dispatchers = Vec::new();
        for (k, (plan, date)) in plans.into_iter().enumerate() {
            loop {
                let job: Value = http.get(format!("{base}/v1/plans/{plan}")).send().await.expect("plan").json().await.expect("JSON");
                match job["status"].as_str() {
                    Some("succeeded") => break,
                    Some("queued" | "running") => tokio::time::sleep(Duration::from_millis(200)).await,
                    _ => panic!("plan {plan} did not succeed: {job}"),
                }
            }
            dispatchers.push(Dispatcher { http: client(&token), plan, version: 1, added: None, customer: customers[k % customers.len()], date });
        }
        dispatchers
    });
    Bench { server, clients, base, dispatchers, _dir: dir }
}

/// One dispatcher's replan: `(the event, the order created for it)`.
async fn prepare(d: &Dispatcher, base: &str) -> (Value, Option<i64>) {
    match d.added {
        Some(order) => (json!({ "type": "order_cancelled", "order_id": order }), None),
        None => {
            let order = json!({ "customer_id": d.customer, "delivery_date": d.date, "cylinders": [{ "size_kg": 20, "quantity": 1 }], "priority": "urgent" });
            let (status, body) = post(&d.http, format!("{base}/v1/orders"), &order).await;
            assert_eq!(status, 201, "{body}");
            let id = body["id"].as_i64().expect("order id");
            (json!({ "type": "order_added", "order_id": id }), Some(id))
        }
    }
}

/// One round: every dispatcher replans at once. Returns the time until the last answer.
async fn round(dispatchers: &mut [Dispatcher], base: &str, latencies: &mut Vec<Duration>) -> Duration {
    let mut events = Vec::with_capacity(dispatchers.len());
    for d in dispatchers.iter() {
        events.push(prepare(d, base).await);
    }
    let start = Instant::now();
    let sends: Vec<_> = dispatchers
        .iter()
        .zip(&events)
        .map(|(d, (event, _))| {
            let mut body = json!({ "base_version": d.version, "at": "10:00", "events": [event] });
            if let Some(ms) = std::env::var("API_BENCH_TIME_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
                body["time_limit_ms"] = json!(ms);
            }
            let (http, url) = (d.http.clone(), format!("{base}/v1/plans/{}/events", d.plan));
            tokio::spawn(async move {
                let (status, bytes) = post_raw(&http, url, &body).await;
                let version = serde_json::from_slice::<NewVersion>(&bytes).ok().map(|v| v.version);
                ((status, version, bytes), start.elapsed())
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(sends.len());
    for s in sends {
        let (answer, latency) = s.await.expect("a client task");
        latencies.push(latency);
        answers.push(answer);
    }
    let took = start.elapsed();
    for ((d, (_, created)), (status, version, bytes)) in dispatchers.iter_mut().zip(events).zip(answers) {
        assert_eq!(status, 201, "replan of plan {}: {}", d.plan, String::from_utf8_lossy(&bytes));
        if std::env::var("API_BENCH_DEBUG").is_ok() {
            let body: Value = serde_json::from_slice(&bytes).expect("JSON");
            eprintln!(
                "plan {} v{} {} bytes elapsed {} it {} routes {} unassigned {}",
                d.plan,
                body["version"],
                bytes.len(),
                body["plan"]["elapsed_s"],
                body["plan"]["iterations"],
                body["plan"]["routes"].as_array().map_or(0, Vec::len),
                body["plan"]["unassigned"].as_array().map_or(0, Vec::len)
            );
        }
        d.version = version.expect("a version number");
        d.added = created;
    }
    took
}

fn api(c: &mut Criterion) {
    let mut bench = setup();
    let mut latencies = Vec::new();
    let mut group = c.benchmark_group("api_replan");
    group.bench_function("urgent_order_or_cancel_16_clients", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += bench.clients.block_on(round(&mut bench.dispatchers, &bench.base, &mut latencies));
            }
            total
        })
    });
    group.finish();
    // Criterion times rounds; each request's own latency (warm-up rounds included) as well.
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1].as_secs_f64() * 1e3;
    if !latencies.is_empty() {
        println!(
            "api_replan single requests: {} replans by {} concurrent clients, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            latencies.len(),
            bench.dispatchers.len(),
            at(0.5),
            at(0.95),
            at(1.0)
        );
    }
    drop(bench.clients);
    drop(bench.server);
}

criterion_group!(benches, api);
criterion_main!(benches);
