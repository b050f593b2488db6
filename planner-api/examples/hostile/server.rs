//! The service under attack: the real `luckygas serve` binary in a process of its own, on a
//! free loopback port and a fresh database (a SQLite file in a temporary folder, or a new
//! PostgreSQL database dropped afterwards), with an admin created through
//! `LUCKYGAS_ADMIN_EMAIL`/`LUCKYGAS_ADMIN_PASSWORD`; a watcher of its resident memory that kills
//! it past a cap (the machine is shared: a flood must not take it down); and a prober that times
//! `/healthz` while something heavy runs.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The database behind the servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A new database on the PostgreSQL server of `--pg-url`.
    Postgres,
}

/// What every scenario shares: where the binary is, which database, the memory cap.
pub struct Harness {
    /// The `luckygas` binary.
    pub luckygas: PathBuf,
    /// The backend of every server started.
    pub backend: Backend,
    /// A PostgreSQL URL whose server gets the fresh databases.
    pub pg_url: String,
    /// `KEY=VALUE` pairs added to every server's environment (`--server-env`).
    pub server_env: Vec<(String, String)>,
    /// Resident memory past which a server is killed, KiB.
    pub rss_cap_kib: u64,
    /// The folder for databases and logs.
    pub work: tempfile::TempDir,
}

/// A fresh database, removed by [`Database::drop_now`] (PostgreSQL) or with its folder (SQLite).
pub enum Database {
    /// A SQLite file.
    Sqlite {
        /// The file.
        path: PathBuf,
    },
    /// A database on a PostgreSQL server.
    Postgres {
        /// A URL of the server's maintenance database, to drop this one.
        admin_url: String,
        /// The database's name.
        name: String,
    },
}

impl Database {
    /// A fresh, empty database named after `label`.
    pub async fn fresh(ctx: &Harness, label: &str) -> anyhow::Result<Database> {
        let unique = format!("{label}_{}", planner_api::auth::random_hex(3));
        match ctx.backend {
            Backend::Sqlite => {
                let dir = ctx.work.path().join(&unique);
                std::fs::create_dir_all(&dir)?;
                Ok(Database::Sqlite { path: dir.join("luckygas.db") })
            }
            Backend::Postgres => {
                let name = format!("luckygas_hostile_{}_{}", std::process::id(), unique.replace('-', "_"));
                let mut conn = PgConnection::connect(&ctx.pg_url).await.with_context(|| format!("cannot reach PostgreSQL at {}", ctx.pg_url))?;
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
                conn.close().await?;
                Ok(Database::Postgres { admin_url: ctx.pg_url.clone(), name })
            }
        }
    }

    /// The `DATABASE_URL` of the server.
    pub fn url(&self) -> anyhow::Result<String> {
        match self {
            Database::Sqlite { path } => Ok(format!("sqlite://{}", path.display())),
            Database::Postgres { admin_url, name } => {
                // Same server and user, another database.
                let (base, _) = admin_url.rsplit_once('/').context("a PostgreSQL URL ends in /DATABASE")?;
                let query = admin_url.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
                Ok(format!("{base}/{name}{query}"))
            }
        }
    }

    /// Bytes the database takes: the SQLite file and its write-ahead log, or
    /// `pg_database_size`.
    pub async fn size_bytes(&self) -> anyhow::Result<u64> {
        match self {
            Database::Sqlite { path } => {
                let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                Ok(size(path) + size(&PathBuf::from(format!("{}-wal", path.display()))))
            }
            Database::Postgres { .. } => {
                let mut conn = PgConnection::connect_with(&PgConnectOptions::from_str(&self.url()?)?).await?;
                let (bytes,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())").fetch_one(&mut conn).await?;
                conn.close().await?;
                Ok(u64::try_from(bytes).unwrap_or(0))
            }
        }
    }

    /// The largest tables with their bytes (SQLite's `dbstat` when compiled in; PostgreSQL's
    /// `pg_total_relation_size`); empty when the database cannot tell.
    pub async fn largest_tables(&self, n: i64) -> Vec<(String, i64)> {
        self.table_sizes(n).await.unwrap_or_default()
    }

    async fn table_sizes(&self, n: i64) -> anyhow::Result<Vec<(String, i64)>> {
        match self {
            Database::Sqlite { path } => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
                let rows = sqlx::query_as("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT ?")
                    .bind(n)
                    .fetch_all(&mut conn)
                    .await?;
                conn.close().await?;
                Ok(rows)
            }
            Database::Postgres { .. } => {
                let mut conn = PgConnection::connect_with(&PgConnectOptions::from_str(&self.url()?)?).await?;
                let rows = sqlx::query_as(
                    "SELECT relname::text, pg_total_relation_size(oid) AS bytes FROM pg_class \
                     WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY bytes DESC LIMIT $1",
                )
                .bind(n)
                .fetch_all(&mut conn)
                .await?;
                conn.close().await?;
                Ok(rows)
            }
        }
    }

    /// Drops a PostgreSQL database (a SQLite file goes with the work folder).
    pub async fn drop_now(&self) {
        if let Database::Postgres { admin_url, name } = self {
            let dropped = async {
                let mut conn = PgConnection::connect(admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await?;
                conn.close().await?;
                Ok::<_, sqlx::Error>(())
            };
            if let Err(e) = dropped.await {
                eprintln!("could not drop the database {name}: {e}");
            }
        }
    }
}

/// How a server is started.
#[derive(Default)]
pub struct Start {
    /// `LUCKYGAS_JWT_SECRET` (a random 64-character key when `None`).
    pub jwt_secret: Option<String>,
    /// Whether to wait for `/healthz` (false: the caller watches the process itself).
    pub no_wait: bool,
}

/// Resident memory of a process, sampled every 50 ms by a thread.
pub struct MemoryWatch {
    pid: u32,
    cap_kib: u64,
    /// Largest sampled VmRSS since the last [`MemoryWatch::window`], KiB.
    window_max: AtomicU64,
    /// Set once the cap killed the process.
    capped: AtomicBool,
    stop: AtomicBool,
}

/// `VmRSS` and `VmHWM` (peak) of `pid` in KiB, from `/proc/PID/status`; `None` once it is gone.
pub fn proc_memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

impl MemoryWatch {
    fn start(pid: u32, cap_kib: u64) -> Arc<MemoryWatch> {
        let watch = Arc::new(MemoryWatch { pid, cap_kib, window_max: AtomicU64::new(0), capped: AtomicBool::new(false), stop: AtomicBool::new(false) });
        let w = Arc::clone(&watch);
        std::thread::spawn(move || {
            while !w.stop.load(Ordering::Relaxed) {
                let Some((rss, _)) = proc_memory(w.pid) else { break };
                w.window_max.fetch_max(rss, Ordering::Relaxed);
                if rss > w.cap_kib && !w.capped.swap(true, Ordering::Relaxed) {
                    eprintln!("  server {} reached {} MiB resident, over the cap of {} MiB: killed", w.pid, rss / 1024, w.cap_kib / 1024);
                    signal(w.pid, "KILL");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        watch
    }

    /// Largest sampled resident memory since the previous call (or the start), KiB; starts a
    /// new window.
    pub fn window(&self) -> u64 {
        let now = proc_memory(self.pid).map_or(0, |m| m.0);
        self.window_max.swap(now, Ordering::Relaxed).max(now)
    }

    /// Whether the cap killed the server.
    pub fn capped(&self) -> bool {
        self.capped.load(Ordering::Relaxed)
    }
}

/// Sends `kill -SIGNAL pid` (the standard library only sends SIGKILL).
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).stdout(Stdio::null()).stderr(Stdio::null()).status();
}

/// A running `luckygas serve`.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    /// Its process id.
    pub pid: u32,
    child: Child,
    /// The admin's email.
    pub admin_email: String,
    /// The admin's password.
    pub admin_password: String,
    /// Its standard error and output.
    pub log: PathBuf,
    /// Its database.
    pub db: Database,
    /// Its memory.
    pub memory: Arc<MemoryWatch>,
}

/// A port nobody listens on now (the kernel's choice; free again once the probe closes).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Server {
    /// Starts `luckygas serve` on `db`; waits until `/healthz` answers unless `start.no_wait`.
    pub async fn start(ctx: &Harness, db: Database, start: Start) -> anyhow::Result<Server> {
        let port = free_port()?;
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let log = ctx.work.path().join(format!("serve-{port}.log"));
        let out = std::fs::File::create(&log)?;
        let admin_email = "hostile-admin@luckygas.test".to_owned();
        let admin_password = format!("Lg-{}-admin-pass", planner_api::auth::random_hex(10));
        let mut cmd = Command::new(&ctx.luckygas);
        cmd.args(["serve", "--listen", &addr.to_string()])
            .env("DATABASE_URL", db.url()?)
            .env("LUCKYGAS_JWT_SECRET", start.jwt_secret.clone().unwrap_or_else(|| planner_api::auth::random_hex(32)))
            .env("LUCKYGAS_ADMIN_EMAIL", &admin_email)
            .env("LUCKYGAS_ADMIN_PASSWORD", &admin_password)
            .env_remove("LUCKYGAS_JWT_SECRET_FILE")
            .env_remove("LUCKYGAS_ADMIN_PASSWORD_FILE")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        for (k, v) in &ctx.server_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().with_context(|| format!("cannot start {}", ctx.luckygas.display()))?;
        let pid = child.id();
        let memory = MemoryWatch::start(pid, ctx.rss_cap_kib);
        let mut server = Server { base: format!("http://{addr}"), addr, pid, child, admin_email, admin_password, log, db, memory };
        if !start.no_wait {
            if let Err(e) = server.wait_ready(Duration::from_secs(90)).await {
                let tail = server.log_tail(20);
                server.finish().await;
                bail!("{e}; the server's log ends with:\n{tail}");
            }
        }
        Ok(server)
    }

    /// Waits until `/healthz` answers 200, the process exits (an error) or `limit` passes.
    pub async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("luckygas serve exited with {status} before it answered /healthz");
            }
            if let Ok(res) = http.get(format!("{}/healthz", self.base)).send().await {
                if res.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("luckygas serve did not answer /healthz within {} s", limit.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The exit status, once the process has exited.
    pub fn try_exit(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// `VmRSS` and `VmHWM` now, KiB (zeros once it is gone).
    pub fn memory_now(&self) -> (u64, u64) {
        proc_memory(self.pid).unwrap_or((0, 0))
    }

    /// Signs in over HTTP: `(status, body)`.
    pub async fn login(&self, http: &reqwest::Client, email: &str, password: &str) -> anyhow::Result<(u16, Value)> {
        let res = http.post(format!("{}/v1/auth/login", self.base)).json(&json!({ "email": email, "password": password })).send().await?;
        let status = res.status().as_u16();
        Ok((status, res.json::<Value>().await.unwrap_or(Value::Null)))
    }

    /// A client that sends the admin's access token.
    pub async fn admin(&self) -> anyhow::Result<reqwest::Client> {
        let (status, body) = self.login(&reqwest::Client::new(), &self.admin_email, &self.admin_password).await?;
        if status != 200 {
            bail!("the admin's sign-in answered {status}: {body}");
        }
        bearer(body["access_token"].as_str().context("no access_token")?)
    }

    /// The last `n` lines of the server's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The server's warnings and errors so far, without terminal colours.
    pub fn log_problems(&self, n: usize) -> Vec<String> {
        let plain: String = {
            let text = self.log_text();
            let mut out = String::with_capacity(text.len());
            let mut chars = text.chars();
            while let Some(c) = chars.next() {
                if c == '\u{1b}' {
                    // An escape sequence: `ESC [ … letter`.
                    for d in chars.by_ref() {
                        if d.is_ascii_alphabetic() {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            out
        };
        let lines: Vec<String> = plain.lines().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")).map(str::to_owned).collect();
        lines[lines.len().saturating_sub(n)..].to_vec()
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process (if it still runs) and drops its database.
    pub async fn finish(mut self) {
        self.memory.stop.store(true, Ordering::Relaxed);
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.db.drop_now().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A scenario that failed half-way must not leave a server running.
        self.memory.stop.store(true, Ordering::Relaxed);
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A client sending `token` as bearer.
pub fn bearer(token: &str) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    Ok(reqwest::Client::builder().default_headers(headers).timeout(Duration::from_secs(180)).build()?)
}

/// Times `GET /healthz` every 100 ms on a connection of its own until stopped.
pub struct Prober {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Probe>>>,
    task: tokio::task::JoinHandle<()>,
}

/// One `/healthz` request: how long it took and its status (0: no answer).
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    /// From sending to having read the body.
    pub latency: Duration,
    /// The status.
    pub status: u16,
}

impl Prober {
    /// Starts probing `base`.
    pub fn start(base: &str) -> Prober {
        let (stop, samples) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
        let (s, out, url) = (Arc::clone(&stop), Arc::clone(&samples), format!("{base}/healthz"));
        let task = tokio::spawn(async move {
            let Ok(http) = reqwest::Client::builder().timeout(Duration::from_secs(60)).build() else { return };
            while !s.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let status = match http.get(&url).send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let _ = res.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                if let Ok(mut v) = out.lock() {
                    v.push(Probe { latency: sent.elapsed(), status });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Prober { stop, samples, task }
    }

    /// Stops after the request in flight and returns every probe.
    pub async fn stop(self) -> Vec<Probe> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.samples.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// The value below which a share `q` of `values` lie (nearest rank); zero when empty.
pub fn percentile(values: &[Duration], q: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Milliseconds, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// KiB as MiB, for printing.
#[allow(clippy::cast_precision_loss)]
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Bytes as MB (10^6), for printing.
#[allow(clippy::cast_precision_loss)]
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// `status×count` of a list of statuses, e.g. `401×180 429×20` (0: no answer).
pub fn status_counts(statuses: &[u16]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for s in statuses {
        *counts.entry(*s).or_insert(0usize) += 1;
    }
    counts.iter().map(|(s, n)| if *s == 0 { format!("none×{n}") } else { format!("{s}×{n}") }).collect::<Vec<_>>().join(" ")
}

/// Runs `body` on a server started for `scenario` on a fresh database, then stops the server
/// and drops the database whatever happened.
pub async fn with_server<F>(harness: &Harness, scenario: &str, body: F) -> anyhow::Result<()>
where
    F: AsyncFnOnce(&Server) -> anyhow::Result<()>,
{
    with_server_on(harness, Database::fresh(harness, scenario).await?, body).await
}

/// Like [`with_server`], on a database the caller prepared.
pub async fn with_server_on<F>(harness: &Harness, db: Database, body: F) -> anyhow::Result<()>
where
    F: AsyncFnOnce(&Server) -> anyhow::Result<()>,
{
    let server = Server::start(harness, db, Start::default()).await?;
    let result = body(&server).await;
    server.finish().await;
    result
}

/// A client whose connections come from a loopback address of its own, `127.0.1.1` upwards
/// (Linux routes all of `127.0.0.0/8` to the loopback interface): `n` of them look like `n`
/// machines to limits kept per address.
pub fn client_from(n: usize, timeout: Duration) -> reqwest::Client {
    let (hi, lo) = (1 + n / 250, 1 + n % 250);
    let ip = std::net::Ipv4Addr::new(127, 0, u8::try_from(hi).unwrap_or(u8::MAX), u8::try_from(lo).unwrap_or(u8::MAX));
    reqwest::Client::builder().local_address(std::net::IpAddr::V4(ip)).timeout(timeout).build().unwrap_or_default()
}
