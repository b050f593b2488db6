//! The database stopped and started under a running service: a PostgreSQL server of the test's
//! own (`initdb` and `pg_ctl` from `/usr/lib/postgresql/*/bin`, a temporary folder, its own port
//! and socket folder; run as the `postgres` user when the test runs as root, as in CI), the real
//! `luckygas serve` binary pointed at it. While the database is down, API calls answer `503` with
//! `Retry-After` and `/readyz` says not ready while `/healthz` answers; once it is back the
//! service recovers by itself, with no restart, and every write acknowledged before the outage is
//! there. The planning worker logs the outage once and the recovery once, not every poll.
//!
//! PostgreSQL's server binaries are required: the test fails loudly without them.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::own_postgres::{free_port, OwnPostgres};

/// Kills the server if the test fails half-way.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `path` until `ok` holds of its status, at most `within`; returns the last answer.
async fn wait_for(client: &reqwest::Client, url: &str, within: Duration, ok: impl Fn(u16) -> bool) -> (u16, Value) {
    let start = Instant::now();
    loop {
        if let Ok(res) = client.get(url).send().await {
            let status = res.status().as_u16();
            let body = res.json::<Value>().await.unwrap_or(Value::Null);
            if ok(status) {
                return (status, body);
            }
            assert!(start.elapsed() < within, "{url} still answers {status} after {within:?}: {body}");
        } else {
            assert!(start.elapsed() < within, "{url} does not answer after {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `(status, Retry-After, body)` of a request.
async fn call(req: reqwest::RequestBuilder) -> (u16, Option<String>, Value) {
    let res = req.send().await.expect("the service answers");
    let status = res.status().as_u16();
    let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or_default().trim_start_matches("https://luckygas.tw/problems/")
}

/// Lines of the service's JSON log whose message contains `text`.
fn log_lines(log: &Path, text: &str) -> usize {
    std::fs::read_to_string(log).unwrap_or_default().lines().filter(|l| l.contains(text)).count()
}

#[tokio::test]
async fn postgres_stopped_and_started_gives_503s_then_recovers_by_itself_losing_no_acknowledged_write() {
    let pg = OwnPostgres::start();
    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("serve.log");
    let password = planner_api::auth::random_hex(12);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_luckygas"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", pg.url())
        .env("LUCKYGAS_JWT_SECRET", planner_api::auth::random_hex(32))
        .env("LUCKYGAS_ADMIN_EMAIL", "ops@luckygas.test")
        .env("LUCKYGAS_ADMIN_PASSWORD", &password)
        .env("PLAN_WORKERS", "1")
        .env("PLAN_POLL_MS", "100")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn luckygas serve");
    let mut server = Server(child);
    let client = reqwest::Client::new();
    wait_for(&client, &format!("{base}/readyz"), Duration::from_secs(60), |s| s == 200).await;
    let login = json!({ "email": "ops@luckygas.test", "password": password });
    let tokens: Value = client.post(format!("{base}/v1/auth/login")).json(&login).send().await.expect("login").json().await.expect("tokens");
    let token = tokens["access_token"].as_str().expect("the admin signs in").to_owned();
    let depot = |i: usize| json!({ "name": format!("站點{i}"), "address": "新北市板橋區文化路一段 1 號", "lat": 25.013, "lon": 121.462 });

    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let (status, _, body) = call(client.post(format!("{base}/v1/depots")).bearer_auth(&token).json(&depot(i))).await;
        assert_eq!(status, 201, "{body}");
        acknowledged.push(body["id"].as_i64().expect("id"));
    }

    pg.down();
    // Writes and reads: 503 with Retry-After, in Traditional Chinese by default and English on request.
    let (status, retry, body) = call(client.post(format!("{base}/v1/depots")).bearer_auth(&token).json(&depot(99))).await;
    assert_eq!((status, retry.as_deref(), problem_type(&body)), (503, Some("5"), "database-unavailable"), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("資料庫")), "{body}");
    let (status, retry, body) = call(client.get(format!("{base}/v1/depots")).bearer_auth(&token).header("accept-language", "en")).await;
    assert_eq!((status, retry.as_deref(), problem_type(&body)), (503, Some("5"), "database-unavailable"), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("retry")), "{body}");
    let (status, _, body) = call(client.post(format!("{base}/v1/auth/login")).json(&login)).await;
    assert_eq!(status, 503, "signing in needs the database too: {body}");
    let (status, retry, body) = call(client.get(format!("{base}/readyz"))).await;
    assert_eq!((status, retry.as_deref(), body["check"].as_str()), (503, Some("5"), Some("database")), "{body}");
    assert_eq!(call(client.get(format!("{base}/healthz"))).await.0, 200, "the process itself is alive");

    pg.up();
    // No restart: the pool reconnects and readiness follows by itself.
    wait_for(&client, &format!("{base}/readyz"), Duration::from_secs(60), |s| s == 200).await;
    let (status, _, list) = call(client.get(format!("{base}/v1/depots?limit=200")).bearer_auth(&token)).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<i64> = list["items"].as_array().expect("items").iter().filter_map(|d| d["id"].as_i64()).collect();
    assert_eq!(ids, acknowledged, "every acknowledged write is there, and the refused one is not");
    let (status, _, body) = call(client.post(format!("{base}/v1/depots")).bearer_auth(&token).json(&depot(5))).await;
    assert_eq!(status, 201, "writes work again: {body}");

    // The worker said once that it could not claim, and once that it could again.
    let recovered = "planner worker claims work again";
    let start = Instant::now();
    while log_lines(&log, recovered) == 0 {
        assert!(start.elapsed() < Duration::from_secs(60), "the worker never logged its recovery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log_lines(&log, "planner worker cannot claim work"), 1, "logged once, not at every poll");
    assert_eq!(log_lines(&log, recovered), 1);

    let term = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().expect("run kill");
    assert!(term.success());
    let start = Instant::now();
    while server.0.try_wait().expect("wait").is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "serve did not stop within 30 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
