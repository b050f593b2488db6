//! Faults and slow clients: NUL characters, a SQLite write lock held by another connection, 300
//! half-open connections and SIGTERM; and what `/metrics` and the request logs tell an operator.

use crate::server::{ms, status_counts, with_server, Backend, Database, Harness, Server, Start};
use crate::{Args, Rows, Verdict};
use serde_json::json;
use sqlx::Connection;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A status and whether the body is a problem (`application/problem+json`).
async fn answer(res: reqwest::Result<reqwest::Response>) -> (u16, bool) {
    match res {
        Ok(r) => {
            let problem = r.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("application/problem+json"));
            (r.status().as_u16(), problem)
        }
        Err(_) => (0, false),
    }
}

/// NUL characters; on SQLite, a write lock held over the busy timeout.
pub async fn faults(harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    with_server(harness, "faults", async |server| {
        let http = server.admin().await?;
        let backend = format!("{:?}", harness.backend);
        let (status, problem) = answer(http.post(format!("{}/v1/drivers", server.base)).json(&json!({ "name": "王\u{0}明" })).send().await).await;
        out.add(
            format!("NUL in a driver's name ({backend})"),
            format!("{status}{}", if problem { " problem+json" } else { "" }),
            "500 on PostgreSQL",
            Verdict::of((400..500).contains(&status) && problem),
        );
        let body = json!({ "email": "boss\u{0}@luckygas.test", "password": "whatever-it-is" });
        let (status, problem) = answer(reqwest::Client::new().post(format!("{}/v1/auth/login", server.base)).json(&body).send().await).await;
        out.add(
            format!("NUL in the login email ({backend})"),
            format!("{status}{}", if problem { " problem+json" } else { "" }),
            "500 on PostgreSQL",
            Verdict::of((400..500).contains(&status) && problem),
        );
        match (&server.db, harness.backend) {
            (Database::Sqlite { path }, Backend::Sqlite) => sqlite_lock(server, path, &http, out).await?,
            _ => out.add("SQLite write lock held 8 s", "not on this backend", "every write 500, ready", Verdict::Skipped),
        }
        Ok(())
    })
    .await
}

/// Holds SQLite's write lock for 8 s from another connection (over the 5 s busy timeout) while
/// three writes and `/readyz` are asked.
async fn sqlite_lock(server: &Server, path: &std::path::Path, http: &reqwest::Client, out: &mut Rows) -> anyhow::Result<()> {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).busy_timeout(Duration::from_secs(10));
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await?;
    let held = Instant::now();
    let hold = Duration::from_secs(8);
    let mut writes = Vec::new();
    for i in 0..3 {
        let (http, url) = (http.clone(), format!("{}/v1/drivers", server.base));
        writes.push(tokio::spawn(async move {
            let sent = Instant::now();
            match http.post(url).json(&json!({ "name": format!("鎖定測試{i}") })).send().await {
                Ok(r) => (r.status().as_u16(), r.headers().contains_key("retry-after"), sent.elapsed()),
                Err(_) => (0, false, sent.elapsed()),
            }
        }));
    }
    let mut ready = Vec::new();
    let anon = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    while held.elapsed() < hold {
        ready.push(anon.get(format!("{}/readyz", server.base)).send().await.map_or(0, |r| r.status().as_u16()));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    sqlx::query("ROLLBACK").execute(&mut conn).await?;
    conn.close().await?;
    let mut answers = Vec::new();
    for w in writes {
        answers.push(w.await?);
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    let slowest = answers.iter().map(|a| a.2).max().unwrap_or_default();
    let retry = answers.iter().filter(|a| a.1).count();
    out.add(
        "writes while SQLite is locked 8 s",
        format!("{} (slowest {:.1} s, Retry-After on {retry})", status_counts(&statuses), slowest.as_secs_f64()),
        "every write 500",
        Verdict::of(answers.iter().all(|a| a.0 != 500 && a.0 != 0 && (a.0 != 503 || a.1))),
    );
    let busy_seen = ready.iter().any(|&s| s != 200);
    let all_written = statuses.iter().all(|s| (200..300).contains(s));
    out.add("/readyz during the lock", status_counts(&ready), "ready (200)", Verdict::of(busy_seen || all_written));
    let (after, _) = answer(http.post(format!("{}/v1/drivers", server.base)).json(&json!({ "name": "鎖後司機" })).send().await).await;
    out.add("a write after the lock is released", format!("{after}"), "", Verdict::of(after == 201));
    Ok(())
}

/// Half-open connections owned by a thread that notices when the server closes them.
struct HalfOpen {
    opened: usize,
    closed: Arc<AtomicUsize>,
    /// When each connection was closed by the server.
    closes: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl HalfOpen {
    /// Opens `n` connections to `addr`, each sending a request line and a header without the
    /// blank line that ends them.
    fn open(addr: std::net::SocketAddr, n: usize) -> HalfOpen {
        let mut streams = Vec::new();
        for _ in 0..n {
            let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else { continue };
            if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").is_ok() && s.set_nonblocking(true).is_ok() {
                streams.push(Some(s));
            }
        }
        let opened = streams.len();
        let (closed, closes, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let (c, cs, st) = (Arc::clone(&closed), Arc::clone(&closes), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !st.load(Ordering::Relaxed) {
                for slot in &mut streams {
                    let Some(s) = slot else { continue };
                    let gone = match s.read(&mut buf) {
                        Ok(0) => true,
                        // An answer (a 408, say): the server is done with it.
                        Ok(_) => true,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
                        Err(_) => true,
                    };
                    if gone {
                        *slot = None;
                        c.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut v) = cs.lock() {
                            v.push(Instant::now());
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        HalfOpen { opened, closed, closes, stop, thread }
    }

    fn closed(&self) -> usize {
        self.closed.load(Ordering::Relaxed)
    }

    /// Stops watching; the close times.
    fn finish(self) -> Vec<Instant> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.closes.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// 300 connections with partial headers, held; then SIGTERM: who closes them, and when the
/// process exits.
pub async fn slow_clients(args: &Args, harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    let mut server = Server::start(harness, Database::fresh(harness, "slow-clients").await?, Start::default()).await?;
    let (addr, n) = (server.addr, args.slow_connections);
    let started = Instant::now();
    let half = tokio::task::spawn_blocking(move || HalfOpen::open(addr, n)).await?;
    // A new client meanwhile.
    let fresh = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let sent = Instant::now();
    let during = fresh.get(format!("{}/healthz", server.base)).send().await.map_or(0, |r| r.status().as_u16());
    let during_ms = ms(sent.elapsed());
    drop(fresh);
    let hold = Duration::from_secs(args.slow_hold_s);
    while started.elapsed() < hold && half.closed() < half.opened {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let closed_in_hold = half.closed();
    let held_for = started.elapsed();
    out.add(
        format!("{} half-open connections closed by the server", half.opened),
        format!("{closed_in_hold} within {:.0} s", held_for.as_secs_f64()),
        "all held over 70 s",
        Verdict::of(half.opened > 0 && closed_in_hold == half.opened),
    );
    out.add("a new /healthz while they are open", format!("{during} in {during_ms:.0} ms"), "", Verdict::Info);
    crate::server::signal(server.pid, "TERM");
    let term = Instant::now();
    let deadline = term + Duration::from_secs(args.drain_wait_s);
    let exited = loop {
        if let Some(status) = server.try_exit() {
            break Some((term.elapsed(), status));
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let open_at_exit = half.opened - half.closed();
    let value = match exited {
        Some((after, status)) => format!("exited {:.1} s after SIGTERM ({status}); {open_at_exit} still open then", after.as_secs_f64()),
        None => format!("still running {} s after SIGTERM: killed", args.drain_wait_s),
    };
    out.add("SIGTERM with the connections open", value, "never exits", Verdict::of(exited.is_some()));
    server.finish().await;
    let closes = half.finish();
    let first = closes.iter().min().map(|t| t.duration_since(started).as_secs_f64());
    if let Some(first) = first {
        out.add("first close by the server after", format!("{first:.1} s"), "", Verdict::Info);
    }
    Ok(())
}

/// Whether a metric name is of a family.
type NameTest = fn(&str) -> bool;

/// The metric families an operator needs, and what a request's log lines carry.
pub async fn observability(harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    with_server(harness, "observability", async |server| {
        let http = server.admin().await?;
        let _ = server.login(&reqwest::Client::new(), &server.admin_email, "not-the-password-at-all").await?;
        let request_id = format!("hostile-{}", planner_api::auth::random_hex(6));
        let _ = http.get(format!("{}/v1/depots", server.base)).header("x-request-id", &request_id).send().await?;
        let text = reqwest::Client::new().get(format!("{}/metrics", server.base)).send().await?.text().await?;
        let mut names: Vec<String> =
            text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).filter_map(|l| l.split(['{', ' ']).next()).map(str::to_owned).collect();
        names.sort();
        names.dedup();
        let families: [(&str, NameTest); 5] = [
            ("database up", |n| n.contains("database_up") || n.contains("db_up") || (n.contains("database") && n.ends_with("_up"))),
            ("connection pool", |n| n.contains("pool")),
            ("process memory", |n| n.contains("resident_memory") || n.contains("memory_bytes") || n.contains("rss")),
            ("failed logins", |n| (n.contains("login") || n.contains("auth") || n.contains("sign_in")) && n.contains("fail")),
            ("rate-limited requests", |n| n.contains("rate_limit") || n.contains("ratelimit") || n.contains("throttl")),
        ];
        for (family, matches) in families {
            let found: Vec<&str> = names.iter().map(String::as_str).filter(|n| matches(n)).collect();
            out.add(
                format!("metric: {family}"),
                if found.is_empty() { "absent".to_owned() } else { found.join(", ").chars().take(52).collect() },
                "absent",
                Verdict::of(!found.is_empty()),
            );
        }
        let log = server.log_text();
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(&request_id)).collect();
        let user = lines.iter().any(|l| l.contains("user"));
        let client = lines.iter().any(|l| l.contains("127.0.0.1"));
        out.add(
            "request log: user id, client address",
            format!("{} lines; user {}, client {}", lines.len(), if user { "yes" } else { "no" }, if client { "yes" } else { "no" }),
            "neither",
            Verdict::of(user && client),
        );
        Ok(())
    })
    .await
}
