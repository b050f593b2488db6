//! End-to-end tests of `luckygas migrate` and `luckygas serve`: the real binary on a real SQLite
//! file and on a PostgreSQL schema named in `DATABASE_URL`, spoken to over HTTP, stopped with
//! SIGTERM, or killed with SIGKILL in the middle of a planning job and started again. The JWT key
//! and the first admin's password come from mounted files, as in production.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

fn luckygas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_luckygas"))
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Kills the server if the test fails half-way.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn migrate_then_serve_on_a_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("lg.db");
    let url = format!("sqlite://{}", db.display());
    migrate_then_serve(&url).await;
    assert!(db.is_file(), "migrate creates the SQLite file");
}

#[tokio::test]
async fn migrate_then_serve_on_postgres() {
    // An empty schema, named in the URL's `options`, so the run does not touch other tests.
    let db = support::Fresh::new(support::Backend::Postgres, false).await;
    let schema = db.schema().expect("a PostgreSQL schema").to_owned();
    migrate_then_serve(&pg_schema_url(&schema)).await;
    db.store.ready().await.expect("the schema named in the URL was migrated");
    db.cleanup().await;
}

#[test]
fn refuses_an_unknown_database_url() {
    let out = luckygas().arg("migrate").env("DATABASE_URL", "mysql://localhost/lg").output().expect("run luckygas migrate");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

#[test]
fn refuses_a_short_jwt_secret_before_touching_the_database() {
    let out = luckygas()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", "mysql://not-even-supported")
        .env("LUCKYGAS_JWT_SECRET", "too-short")
        .output()
        .expect("run luckygas serve");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 32 bytes"), "{}", String::from_utf8_lossy(&out.stderr));
}

async fn migrate_then_serve(url: &str) {
    let out = luckygas().arg("migrate").env("DATABASE_URL", url).output().expect("run luckygas migrate");
    assert!(out.status.success(), "migrate failed: {}", String::from_utf8_lossy(&out.stderr));
    let again = luckygas().arg("migrate").env("DATABASE_URL", url).output().expect("run luckygas migrate again");
    assert!(again.status.success(), "migrate is idempotent: {}", String::from_utf8_lossy(&again.stderr));

    // Secrets as files, like Kubernetes or Docker secrets, with the trailing newline editors add.
    let secrets = tempfile::tempdir().expect("temp dir");
    let (key_file, password_file) = (secrets.path().join("jwt_secret"), secrets.path().join("admin_password"));
    let password = planner_api::auth::random_hex(12);
    std::fs::write(&key_file, format!("{}\n", planner_api::auth::random_hex(32))).expect("write key file");
    std::fs::write(&password_file, format!("{password}\n")).expect("write password file");

    let port = free_port();
    let child = luckygas()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", url)
        .env("LUCKYGAS_JWT_SECRET_FILE", &key_file)
        .env("LUCKYGAS_ADMIN_EMAIL", "ops@luckygas.test")
        .env("LUCKYGAS_ADMIN_PASSWORD_FILE", &password_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn luckygas serve");
    let mut server = Server(child);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");

    // Poll until the server answers, at most 200 times 50 ms.
    let mut up = false;
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        assert!(server.0.try_wait().ok().flatten().is_none(), "luckygas serve exited early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "luckygas serve did not answer /healthz within 10 s");

    let ready = client.get(format!("{base}/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);
    let body = json!({ "name": "板橋站", "address": "新北市板橋區文化路一段 1 號", "lat": 25.013, "lon": 121.462 });
    let anonymous = client.post(format!("{base}/v1/depots")).json(&body).send().await.expect("create depot");
    assert_eq!(anonymous.status().as_u16(), 401, "writes need a token");
    let login = json!({ "email": "ops@luckygas.test", "password": password });
    let tokens: serde_json::Value = client.post(format!("{base}/v1/auth/login")).json(&login).send().await.expect("login").json().await.expect("token JSON");
    let token = tokens["access_token"].as_str().expect("the admin from the environment signs in");
    let created = client.post(format!("{base}/v1/depots")).bearer_auth(token).json(&body).send().await.expect("create depot");
    assert_eq!(created.status().as_u16(), 201);

    // SIGTERM: the server stops gracefully and exits 0.
    let term = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().expect("run kill");
    assert!(term.success());
    let mut status = None;
    for _ in 0..200 {
        status = server.0.try_wait().expect("wait for luckygas serve");
        if status.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(status.is_some_and(|s| s.success()), "serve exits 0 on SIGTERM, got {status:?}");
}

/// The signing key of the servers these tests start (one per test process).
fn test_secret() -> &'static str {
    static SECRET: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SECRET.get_or_init(|| planner_api::auth::random_hex(32))
}

/// A client carrying an admin token signed with [`test_secret`] (the first user of a fresh
/// database is the admin from `LUCKYGAS_ADMIN_EMAIL`; tokens are checked by signature).
fn admin_client() -> reqwest::Client {
    use planner_api::auth::token::{Claims, JwtKeys};
    let now = chrono::Utc::now().timestamp();
    let claims = Claims { sub: "1".into(), role: planner_api::domain::Role::Admin, driver_id: None, iat: now, exp: now + 3600 };
    let token = JwtKeys::new(test_secret().as_bytes()).sign(&claims);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header value"));
    reqwest::Client::builder().default_headers(headers).build().expect("client")
}

/// The URL of a fresh PostgreSQL schema, named in the URL's `options`.
fn pg_schema_url(schema: &str) -> String {
    let base = support::pg_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// Starts `luckygas serve` on `url` with one planning worker and a 2 s lease, and waits until it
/// answers `/healthz`.
async fn start_serve(url: &str, port: u16, client: &reqwest::Client) -> Server {
    start_serve_with(url, port, client, &[]).await
}

/// As [`start_serve`], with more arguments to `luckygas serve`.
async fn start_serve_with(url: &str, port: u16, client: &reqwest::Client, extra: &[&str]) -> Server {
    start_serve_env(url, port, client, extra, &[]).await
}

/// As [`start_serve_with`], with more environment variables.
async fn start_serve_env(url: &str, port: u16, client: &reqwest::Client, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let child = luckygas()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .envs(env.iter().copied())
        .env("LUCKYGAS_JWT_SECRET", test_secret())
        .env("LUCKYGAS_ADMIN_EMAIL", "admin@luckygas.test")
        .env("LUCKYGAS_ADMIN_PASSWORD", planner_api::auth::random_hex(12))
        .env("DATABASE_URL", url)
        .env("PLAN_WORKERS", "1")
        .env("PLAN_LEASE_SECONDS", "2")
        .env("PLAN_POLL_MS", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn luckygas serve");
    let mut server = Server(child);
    let start = std::time::Instant::now();
    loop {
        if client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        assert!(server.0.try_wait().ok().flatten().is_none(), "luckygas serve exited early");
        assert!(start.elapsed() < Duration::from_secs(30), "luckygas serve did not answer /healthz within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kills `luckygas serve` with SIGKILL while it plans, starts it again on the same database, and
/// checks that the job is taken up again once its lease expires and completes with every order
/// planned or unassigned exactly once.
async fn a_killed_planning_job_completes_after_restart(url: &str) {
    let client = admin_client();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start_serve(url, port, &client).await;
    let day = support::seed_day(&client, &base, 25, "2026-03-02", 1).await;
    let request = json!({ "date": "2026-03-02", "depot_ids": [day.depot_id], "options": { "time_limit_s": 4 } });
    let res = client.post(format!("{base}/v1/plans")).json(&request).send().await.expect("POST plan");
    assert_eq!(res.status().as_u16(), 202);
    let id = res.json::<Value>().await.expect("job")["id"].as_i64().expect("id");

    // Wait until the worker has claimed the job and reported progress, then kill the process.
    let start = std::time::Instant::now();
    loop {
        let job: Value = client.get(format!("{base}/v1/plans/{id}")).send().await.expect("GET").json().await.expect("JSON");
        if job["status"] == "running" && job["progress"].as_array().is_some_and(|p| !p.is_empty()) {
            break;
        }
        assert!(matches!(job["status"].as_str(), Some("queued" | "running")), "the job must still be in progress when killed: {job}");
        assert!(start.elapsed() < Duration::from_secs(30), "the job never reported progress: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.0.kill().expect("SIGKILL luckygas serve");
    server.0.wait().expect("reap luckygas serve");
    drop(server);

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = start_serve(url, port, &client).await;
    let job = support::wait_for_plan(&client, &base, id, Duration::from_secs(90)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2, "claimed once before the kill and once after");
    support::check_plan_with_solver(&client, &base, &job).await;

    let plan = &job["result"];
    let routed: Vec<i64> = plan["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .flat_map(|r| r["trips"].as_array().cloned().unwrap_or_default())
        .flat_map(|t| t["stops"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s["order_id"].as_i64())
        .collect();
    let unassigned: Vec<i64> = plan["unassigned"].as_array().expect("unassigned").iter().filter_map(|u| u["order_id"].as_i64()).collect();
    let all: BTreeSet<i64> = routed.iter().chain(&unassigned).copied().collect();
    assert_eq!(all.len(), routed.len() + unassigned.len(), "no order planned twice");
    assert_eq!(all, day.order_ids.iter().copied().collect::<BTreeSet<_>>(), "no order lost");
    for &order in &routed {
        let history: Value = client.get(format!("{base}/v1/orders/{order}/history")).send().await.expect("GET").json().await.expect("JSON");
        let planned = history.as_array().expect("history").iter().filter(|e| e["to_status"] == "planned").count();
        assert_eq!(planned, 1, "order {order} planned exactly once: {history}");
    }
}

#[tokio::test]
async fn a_killed_planning_job_completes_after_restart_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    a_killed_planning_job_completes_after_restart(&format!("sqlite://{}", dir.path().join("lg.db").display())).await;
}

#[tokio::test]
async fn a_killed_planning_job_completes_after_restart_on_postgres() {
    let db = support::Fresh::new(support::Backend::Postgres, false).await;
    let url = pg_schema_url(db.schema().expect("a PostgreSQL schema"));
    a_killed_planning_job_completes_after_restart(&url).await;
    db.cleanup().await;
}

/// SIGTERM while a client watches a long planning job: the event stream ends, the server exits 0
/// promptly, and the job is back in the queue for the next process (not lost, not cancelled).
async fn sigterm_requeues_a_running_job_and_ends_its_event_stream(url: &str) {
    let client = admin_client();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start_serve(url, port, &client).await;
    let day = support::seed_day(&client, &base, 10, "2026-03-02", 1).await;
    let request = json!({ "date": "2026-03-02", "depot_ids": [day.depot_id], "options": { "time_limit_s": 120 } });
    let job: Value = client.post(format!("{base}/v1/plans")).json(&request).send().await.expect("POST").json().await.expect("job");
    let id = job["id"].as_i64().expect("id");
    let mut events = client.get(format!("{base}/v1/plans/{id}/events")).send().await.expect("events");
    let mut text = String::new();
    let running = async {
        while let Some(chunk) = events.chunk().await.expect("chunk") {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("\"status\":\"running\"") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), running).await.expect("the job starts running");

    let term = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().expect("run kill");
    assert!(term.success());
    let rest = async {
        while let Some(chunk) = events.chunk().await.expect("chunk") {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(20), rest).await.expect("the event stream ends on SIGTERM");
    assert!(text.contains("event: shutdown"), "{text}");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "serve did not stop within 20 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    let store = planner_api::store::Store::open(url).await.expect("open the database");
    let job = store.get_plan_job(id).await.expect("job");
    assert_eq!((job.status, job.attempts), (planner_api::domain::JobStatus::Queued, 0), "a clean restart is no attempt: {job:?}");
    store.close().await;
}

#[tokio::test]
async fn sigterm_requeues_a_running_job_and_ends_its_event_stream_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    sigterm_requeues_a_running_job_and_ends_its_event_stream(&format!("sqlite://{}", dir.path().join("lg.db").display())).await;
}

#[tokio::test]
async fn sigterm_requeues_a_running_job_and_ends_its_event_stream_on_postgres() {
    let db = support::Fresh::new(support::Backend::Postgres, false).await;
    let url = pg_schema_url(db.schema().expect("a PostgreSQL schema"));
    sigterm_requeues_a_running_job_and_ends_its_event_stream(&url).await;
    db.cleanup().await;
}

/// `serve --demo` loads the demo distributor once (a restart with `--demo` adds nothing), and its
/// day plans into routes the solver's checker accepts.
async fn the_demo_distributor_loads_once_and_plans(url: &str) {
    let client = admin_client();
    let demo = ["--demo", "--demo-date", "2026-03-09"];
    let get = |base: String, path: &'static str| {
        let client = client.clone();
        async move { client.get(format!("{base}{path}")).send().await.expect("GET").json::<Value>().await.expect("JSON") }
    };
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = start_serve_with(url, port, &client, &demo).await;
    let customers = get(base.clone(), "/v1/customers?limit=1").await;
    assert_eq!(customers["total"], 300, "{customers}");
    let orders = get(base.clone(), "/v1/orders?date=2026-03-09&limit=1").await;
    let order_count = orders["total"].as_i64().expect("total");
    assert!(order_count > 30, "a day of orders: {orders}");
    let depots = get(base.clone(), "/v1/depots").await;
    let depot_ids: Vec<i64> = depots["items"].as_array().expect("items").iter().filter_map(|d| d["id"].as_i64()).collect();
    assert_eq!(depot_ids.len(), 2);
    drop(server);

    // Restarted with --demo on the same database: nothing is loaded twice.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = start_serve_with(url, port, &client, &demo).await;
    assert_eq!(get(base.clone(), "/v1/customers?limit=1").await["total"], 300);
    assert_eq!(get(base.clone(), "/v1/orders?date=2026-03-09&limit=1").await["total"], order_count);

    let request = json!({ "date": "2026-03-09", "depot_ids": depot_ids, "options": { "time_limit_s": 3, "max_trips": 2 } });
    let res = client.post(format!("{base}/v1/plans")).json(&request).send().await.expect("POST plan");
    assert_eq!(res.status().as_u16(), 202);
    let id = res.json::<Value>().await.expect("job")["id"].as_i64().expect("id");
    let job = support::wait_for_plan(&client, &base, id, Duration::from_secs(90)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["feasible"], true, "the demo fleet can serve its day");
    support::check_plan_with_solver(&client, &base, &job).await;
    let routed = job["result"]["routes"].as_array().expect("routes").len();
    assert!(routed >= 2, "the demo day needs several vehicles: {routed} routes");
}

#[tokio::test]
async fn the_demo_distributor_loads_once_and_plans_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    the_demo_distributor_loads_once_and_plans(&format!("sqlite://{}", dir.path().join("demo.db").display())).await;
}

#[tokio::test]
async fn the_demo_distributor_loads_once_and_plans_on_postgres() {
    let schema = support::Fresh::new(support::Backend::Postgres, false).await;
    let url = pg_schema_url(schema.schema().expect("a PostgreSQL schema"));
    the_demo_distributor_loads_once_and_plans(&url).await;
    schema.cleanup().await;
}

/// SIGTERM while one client has sent half a request head and another half a request body: the
/// server stops accepting, and when the drain deadline passes it drops both and exits 0. Before
/// that, the request in flight outlived the header-read and idle timeouts (they never cut a
/// request being served), and the request log carried the client address and the user id.
#[tokio::test]
async fn sigterm_with_half_open_clients_exits_within_the_drain_deadline() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("lg.db").display());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let password = planner_api::auth::random_hex(12);
    let mut child = luckygas()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &url)
        .env("LUCKYGAS_JWT_SECRET", test_secret())
        .env("LUCKYGAS_ADMIN_EMAIL", "admin@luckygas.test")
        .env("LUCKYGAS_ADMIN_PASSWORD", &password)
        .env("LUCKYGAS_HEADER_READ_TIMEOUT_SECS", "1")
        .env("LUCKYGAS_IDLE_TIMEOUT_SECS", "1")
        .env("LUCKYGAS_DRAIN_SECONDS", "2")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn luckygas serve");
    // Collect the log as it comes, so the pipe never fills.
    let stderr = child.stderr.take().expect("stderr");
    let log = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut server = Server(child);
    let client = reqwest::Client::new();
    let start = std::time::Instant::now();
    while !client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(server.0.try_wait().ok().flatten().is_none(), "luckygas serve exited early");
        assert!(start.elapsed() < Duration::from_secs(30), "luckygas serve did not answer /healthz within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let login = json!({ "email": "admin@luckygas.test", "password": password });
    let tokens: Value = client.post(format!("{base}/v1/auth/login")).json(&login).send().await.expect("login").json().await.expect("JSON");
    let token = tokens["access_token"].as_str().expect("access token").to_owned();

    // Half a body: the request is in flight, its handler waits for the rest.
    let mut half_body = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    half_body
        .write_all(b"POST /v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"email\":")
        .await
        .expect("write");
    // A signed-in request on a third connection: once it is answered, the loop (which accepts in
    // order) has accepted both half-open connections.
    let mut half_head = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    half_head.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-").await.expect("write");
    let res = client.get(format!("{base}/v1/depots")).bearer_auth(&token).send().await.expect("GET");
    assert_eq!(res.status().as_u16(), 200);
    // Past both timeouts: the half head is cut, the half body (in flight) is not.
    let cut = tokio::time::timeout(Duration::from_secs(15), async {
        let mut buf = [0u8; 256];
        loop {
            match tokio::io::AsyncReadExt::read(&mut half_head, &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    cut.await.expect("the header-read timeout closes the half-open head");

    let term = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().expect("run kill");
    assert!(term.success());
    let stopping = std::time::Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(15), "serve still running 15 s after SIGTERM with a 2 s drain deadline");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    drop(half_body);
    let log = log.join().expect("log reader");
    assert!(log.contains("drain deadline passed"), "the half body was still in flight at the deadline:\n{log}");
    let served = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["span"]["path"] == "/v1/depots" && l["fields"]["message"] == "finished processing request")
        .unwrap_or_else(|| panic!("a request log line for /v1/depots:\n{log}"));
    assert_eq!(served["span"]["client"], "127.0.0.1", "{served}");
    assert_eq!(served["span"]["user_id"], 1, "{served}");
}

/// The road-graph tests' extract: `planner-api/osm/tests/fixtures/taipei-block.osm` (six corners
/// of a Taipei block, a one-way street, a freeway trucks only take, a 2 m lane only motorcycles
/// take), turned into PBF by Debian's osmium-tool.
fn block_extract(dir: &std::path::Path) -> std::path::PathBuf {
    let xml = concat!(env!("CARGO_MANIFEST_DIR"), "/osm/tests/fixtures/taipei-block.osm");
    let out = dir.join("block.osm.pbf");
    let status = Command::new("osmium")
        .args(["cat", xml, "--no-progress", "-o"])
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run osmium ({e}): install Debian's osmium-tool (.ci/run does)"));
    assert!(status.success(), "osmium cat failed: {status}");
    out
}

#[tokio::test]
async fn serves_plans_on_the_road_graph_it_is_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let extract = block_extract(dir.path());
    let url = format!("sqlite://{}", dir.path().join("lg.db").display());
    let out = luckygas().arg("migrate").env("DATABASE_URL", &url).output().expect("run luckygas migrate");
    assert!(out.status.success(), "migrate failed: {}", String::from_utf8_lossy(&out.stderr));

    // A missing extract, or two road sources at once, stop the server before it listens.
    for env in [
        vec![("LUCKYGAS_ROAD_GRAPH", "/nonexistent/taipei.osm.pbf")],
        vec![("LUCKYGAS_ROAD_GRAPH", extract.to_str().expect("path")), ("LUCKYGAS_OSRM_URL", "http://127.0.0.1:9")],
        vec![("LUCKYGAS_ROAD_GRAPH", extract.to_str().expect("path")), ("LUCKYGAS_ROAD_SNAP_M", "0")],
    ] {
        let out = luckygas()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", &url)
            .env("LUCKYGAS_JWT_SECRET", test_secret())
            .envs(env.iter().copied())
            .output()
            .expect("run luckygas serve");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{env:?}: {stderr}");
        assert!(["/nonexistent/taipei.osm.pbf", "choose one", "LUCKYGAS_ROAD_SNAP_M"].iter().any(|m| stderr.contains(m)), "{env:?}: {stderr}");
    }

    let client = admin_client();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let road = [("LUCKYGAS_ROAD_GRAPH", extract.to_str().expect("path")), ("LUCKYGAS_ROAD_SNAP_M", "250")];
    let _server = start_serve_env(&url, port, &client, &[], &road).await;

    // A depot at the block's south-west corner; customers at three corners and at the end of
    // the 2 m lane, which only a motorcycle reaches.
    let date = "2026-03-02";
    let post = |path: &'static str, body: Value| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let res = client.post(format!("{base}{path}")).json(&body).send().await.expect("POST");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("JSON");
            assert_eq!(status, 201, "{path}: {body}");
            body["id"].as_i64().expect("id")
        }
    };
    let depot = post("/v1/depots", json!({ "name": "大安站", "address": "台北市大安區", "lat": 25.0400, "lon": 121.5400 })).await;
    let truck = post(
        "/v1/vehicle-types",
        json!({ "name": "小貨車", "kind": "truck", "cylinder_slots": [{ "size_kg": 20, "count": 30 }], "max_load_kg": 1500, "max_gas_kg": 900 }),
    )
    .await;
    let moto = post(
        "/v1/vehicle-types",
        json!({ "name": "重型機車", "kind": "heavy_motorcycle", "cylinder_slots": [{ "size_kg": 20, "count": 2 }], "max_load_kg": 80, "max_gas_kg": 60 }),
    )
    .await;
    for (plate, kind) in [("TRK-0001", truck), ("MTR-0001", moto)] {
        post("/v1/vehicles", json!({ "plate": plate, "vehicle_type_id": kind, "depot_id": depot })).await;
    }
    let corners = [(25.0400, 121.5440, false), (25.0420, 121.5440, false), (25.0420, 121.5400, false), (25.0435, 121.5420, true)];
    for (i, &(lat, lon, lane)) in corners.iter().enumerate() {
        let customer = post(
            "/v1/customers",
            json!({
                "code": format!("R{i:04}"), "name": format!("巷口{i}"), "address": "台北市大安區", "district": "大安區", "lat": lat, "lon": lon,
                "time_windows": [], "usual_cylinders": [{ "size_kg": 20, "quantity": 1 }],
                "access_restrictions": if lane { json!(["narrow_lane"]) } else { json!([]) }, "payment_method": "cash"
            }),
        )
        .await;
        post("/v1/orders", json!({ "customer_id": customer, "delivery_date": date, "cylinders": [{ "size_kg": 20, "quantity": 1 }] })).await;
    }

    let request = json!({ "date": date, "depot_ids": [depot], "options": { "time_limit_s": 1, "seed": 1, "max_iterations": 300 } });
    let res = client.post(format!("{base}/v1/plans")).json(&request).send().await.expect("POST plan");
    assert_eq!(res.status().as_u16(), 202);
    let id = res.json::<Value>().await.expect("job")["id"].as_i64().expect("id");
    let job = support::wait_for_plan(&client, &base, id, Duration::from_secs(60)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["unassigned"].as_array().map(Vec::len), Some(0), "{job}");

    // Both profiles drove on the road graph, with the rush hours its hourly speeds imply
    // (Taipei's peaks by default: 07:00-09:00 and 17:00-19:00, slower in the evening).
    let graph = luckygas_osm::RoadGraph::from_pbf_file(&extract, &luckygas_osm::RoadSpeeds::taipei()).expect("graph");
    let travel = job["result"]["travel"].as_array().expect("travel sources");
    assert_eq!(travel.len(), 2, "{travel:?}");
    let mut bands_of = std::collections::HashMap::new();
    for t in travel {
        assert_eq!((t["provider"].as_str(), t.get("fallback_reason")), (Some("road-graph"), None), "{t}");
        let vehicle = if t["profile"] == "truck" { luckygas_osm::Vehicle::Truck } else { luckygas_osm::Vehicle::Motorcycle };
        let expected: Vec<Value> = graph
            .rush_hours(vehicle)
            .iter()
            .map(|b| json!({ "start": format!("{:02}:00", b.start_s / 3600), "end": format!("{:02}:00", b.end_s / 3600), "speed_percent": b.speed_percent }))
            .collect();
        assert_eq!(expected.len(), 2);
        assert_eq!(t["rush_hours"], Value::Array(expected.clone()), "{t}");
        bands_of.insert(t["profile"].as_str().expect("profile").to_owned(), Value::Array(expected));
    }

    // The stored problem drives those bands, its matrices are the graph's shortest paths, and
    // the solver's checker times the plan exactly as the service did.
    let text = client.get(format!("{base}/v1/plans/{id}/problem")).send().await.expect("problem").text().await.expect("text");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let mut points: Vec<(f64, f64)> =
        doc["depots"].as_array().expect("depots").iter().map(|d| (d["lat"].as_f64().expect("lat"), d["lon"].as_f64().expect("lon"))).collect();
    points.extend(doc["clients"].as_array().expect("clients").iter().map(|c| (c["lat"].as_f64().expect("lat"), c["lon"].as_f64().expect("lon"))));
    for p in doc["profiles"].as_array().expect("profiles") {
        let name = p["name"].as_str().expect("name");
        assert_eq!(p["rush_hours"], bands_of[name], "{name}");
        let vehicle = if name == "truck" { luckygas_osm::Vehicle::Truck } else { luckygas_osm::Vehicle::Motorcycle };
        let table = graph.table(vehicle, &points, &points, 250.0).expect("every stop snaps");
        assert_eq!(p["distance_m"], json!(table.metres), "{name}");
        assert_eq!(p["duration_s"], json!(table.seconds), "{name}");
    }
    support::check_plan_with_solver(&client, &base, &job).await;
    // The lane's customer went on the motorcycle.
    let lane_route = job["result"]["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .find(|r| r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().expect("stops")).any(|s| s["lat"].as_f64() == Some(25.0435)))
        .expect("a route serves the lane");
    assert_eq!(lane_route["plate"], "MTR-0001", "{lane_route}");
}
