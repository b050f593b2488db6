//! Test support: start the real application on `127.0.0.1:0` against a fresh SQLite file or a
//! fresh PostgreSQL schema, and talk to it over HTTP.
//!
//! The server signs tokens with a random per-test key ([`TestApp::jwt_secret`]); on a migrated
//! database [`TestApp`] creates an admin with a random password through the same code as
//! `luckygas serve` and signs in over HTTP, and [`TestApp::client`] (hence `get`, `post`, `put`,
//! `delete`, `send`) sends the admin's token with every request. [`TestApp::anonymous`],
//! [`TestApp::as_role`] and [`TestApp::with_token`] give callers without a token, with a
//! fresh user of a role, or with any token.

#![allow(dead_code)]

pub mod browser;
pub mod own_postgres;

use planner_api::auth::{bootstrap_admin, random_hex, AdminBootstrap, AuthConfig, KeySource};
use planner_api::domain::Role;
use planner_api::http::edge::{Edge, EdgeConfig};
use planner_api::http::ratelimit::RateLimits;
use planner_api::http::server::ServerConfig;
use planner_api::http::{app, AppState};
use planner_api::store::Store;
use planner_api::travel::{GreatCircle, TravelConfig};
use planner_api::worker::{Planner, WorkerConfig, WorkerPool};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{Connection, PgConnection};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The database behind a test server.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    /// A fresh SQLite file in a temporary folder.
    Sqlite,
    /// A fresh schema in the PostgreSQL database of `DATABASE_URL_PG`.
    Postgres,
}

/// The PostgreSQL test database: `DATABASE_URL_PG`, or CI's local server.
pub fn pg_url() -> String {
    std::env::var("DATABASE_URL_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The query plan `store`'s database gives `query`, as text: SQLite's `EXPLAIN QUERY PLAN`
/// details, or PostgreSQL's `EXPLAIN` with sequential scans off (an empty table is cheapest to
/// read whole: this asks for the plan an index would give).
pub async fn query_plan(store: &Store, query: &str) -> String {
    match store {
        Store::Sqlite(pool) => {
            let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {query}")).fetch_all(pool).await.expect("explain");
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
        Store::Postgres(pool) => {
            let mut conn = pool.acquire().await.expect("connection");
            sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await.expect("set");
            let rows: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {query}")).fetch_all(&mut *conn).await.expect("explain");
            sqlx::query("RESET enable_seqscan").execute(&mut *conn).await.expect("reset");
            rows.join("\n")
        }
    }
}

/// A fresh, empty database of one backend, removed again by [`Fresh::cleanup`].
pub struct Fresh {
    /// The store on it.
    pub store: Store,
    dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

static SCHEMA_COUNTER: AtomicU32 = AtomicU32::new(0);

impl Fresh {
    /// Creates a fresh database: a SQLite file in a temporary folder or a new PostgreSQL schema;
    /// with `migrated`, opened through [`Store::open`] (which migrates), else only connected.
    pub async fn new(backend: Backend, migrated: bool) -> Fresh {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("luckygas.db");
                let store = if migrated {
                    Store::open(&format!("sqlite://{}", path.display())).await.expect("open and migrate SQLite")
                } else {
                    let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true);
                    Store::Sqlite(SqlitePool::connect_with(options).await.expect("open SQLite"))
                };
                Fresh { store, dir: Some(dir), schema: None }
            }
            Backend::Postgres => {
                let url = pg_url();
                let mut conn = PgConnection::connect(&url).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is not reachable at {url} ({e}). The PostgreSQL tests need it: start PostgreSQL \
                         (CI has it on 127.0.0.1:5432, trust auth, database `test`) or set DATABASE_URL_PG."
                    )
                });
                let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
                let schema = format!("t_{}_{}_{nanos}", std::process::id(), SCHEMA_COUNTER.fetch_add(1, Ordering::Relaxed));
                sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.expect("create test schema");
                conn.close().await.expect("close setup connection");
                let options = PgConnectOptions::from_str(&url).expect("DATABASE_URL_PG parses").options([("search_path", schema.as_str())]);
                let store = if migrated {
                    Store::open_postgres(options).await.expect("open and migrate the PostgreSQL test schema")
                } else {
                    Store::Postgres(PgPool::connect_with(options).await.expect("connect to PostgreSQL"))
                };
                Fresh { store, dir: None, schema: Some(schema) }
            }
        }
    }

    /// Another pool on the same database (another process or replica would have its own).
    pub async fn another_store(&self) -> Store {
        match (&self.dir, &self.schema) {
            (Some(dir), _) => Store::open(&format!("sqlite://{}", dir.path().join("luckygas.db").display())).await.expect("reopen SQLite"),
            (None, Some(schema)) => {
                let options = PgConnectOptions::from_str(&pg_url()).expect("DATABASE_URL_PG parses").options([("search_path", schema.as_str())]);
                Store::open_postgres(options).await.expect("reconnect to the PostgreSQL test schema")
            }
            (None, None) => panic!("a fresh database is a SQLite file or a PostgreSQL schema"),
        }
    }

    /// The SQLite database's URL, if this is one (for a `luckygas` process on the same file).
    pub fn sqlite_url(&self) -> Option<String> {
        self.dir.as_ref().map(|dir| format!("sqlite://{}", dir.path().join("luckygas.db").display()))
    }

    /// The PostgreSQL schema, if any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Closes the store and drops the PostgreSQL schema (the SQLite folder goes with `self`).
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(schema) = &self.schema {
            let mut conn = PgConnection::connect(&pg_url()).await.expect("reconnect to drop the schema");
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut conn).await.expect("drop test schema");
        }
        drop(self.dir);
    }
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The HTTP client; it sends the admin's bearer token with every request (no token when the
    /// database was not migrated, as there is no admin then).
    pub client: reqwest::Client,
    /// A client that sends no token.
    pub anon: reqwest::Client,
    /// The key the server signs tokens with (to mint expired or odd tokens in tests).
    pub jwt_secret: String,
    /// The admin's email.
    pub admin_email: String,
    /// The admin's password (random per test).
    pub admin_password: String,
    /// The admin's sign-in response (`access_token`, `refresh_token`, `expires_in`).
    pub admin_tokens: Value,
    db: Fresh,
    server: tokio::task::JoinHandle<()>,
    workers: Option<WorkerPool>,
    /// Invoicing, when started with [`TestApp::start_invoicing`].
    pub invoicing: Option<Invoicing>,
    /// The edge settings of this server and its replicas.
    edge: EdgeConfig,
    /// The server's bound on heavy request work (a test takes its permits to fill it).
    pub heavy: planner_api::http::heavy::HeavyWork,
    /// The server's feature flags (the snapshot its handlers evaluate).
    pub flags: planner_api::flags::FlagSet,
    /// What keeps them current (none on a database not migrated).
    pub flag_sync: Option<planner_api::flags::sync::FlagSync>,
}

/// Invoicing of a test server: the service, its background queue (not spawned: a test drains it
/// with [`Invoicing::drain`], so nothing waits on a timer) and Turnkey's folder.
pub struct Invoicing {
    /// The service.
    pub service: planner_api::invoicing::Invoicing,
    /// The queue and outbox.
    pub background: planner_api::jobs::Background,
    /// Turnkey's root folder.
    pub turnkey: tempfile::TempDir,
    /// Payments, with Cathay United's layout (company code `9527`); its fetch job is on the same
    /// queue.
    pub receivables: planner_api::receivables::Receivables,
}

impl Invoicing {
    /// Runs every due job and delivers every outbox row, until none is left.
    pub async fn drain(&self) {
        for _ in 0..100_000 {
            let delivered = self.background.deliver_one("test-drain").await.expect("outbox delivery");
            let ran = self.background.run_task("test-drain").await.expect("job run");
            if !delivered && !ran {
                return;
            }
        }
        panic!("the background queue does not drain");
    }
}

/// A second server on the database of a [`TestApp`].
pub struct Replica {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The replica's feature flags and what keeps them current.
    pub flags: planner_api::flags::FlagSet,
    /// What keeps them current.
    pub flag_sync: planner_api::flags::sync::FlagSync,
    store: Store,
    server: tokio::task::JoinHandle<()>,
    workers: WorkerPool,
}

impl Replica {
    /// Stops the replica and closes its pool.
    pub async fn finish(self) {
        self.workers.shutdown().await;
        self.flag_sync.shutdown().await;
        self.server.abort();
        let _ = self.server.await;
        self.store.close().await;
    }
}

/// The edge of test servers that do not test it: no rate limits, no CORS origins.
pub fn unlimited() -> EdgeConfig {
    EdgeConfig { rate_limits: RateLimits::OFF, ..EdgeConfig::default() }
}

/// How test servers keep their feature flags current: SQLite polls four times a second (so a
/// replica on the same file sees a change quickly), PostgreSQL listens.
pub fn flag_sync_config() -> planner_api::flags::sync::SyncConfig {
    planner_api::flags::sync::SyncConfig { poll: Duration::from_millis(250), retry: Duration::from_millis(200) }
}

/// The planner of test servers: one worker that looks for work every 50 ms.
pub fn test_planner() -> Planner {
    planner_with_workers(1)
}

/// A test planner with `workers` workers (`0`: a serve-only replica).
pub fn planner_with_workers(workers: usize) -> Planner {
    planner_with_travel(workers, TravelConfig::default())
}

/// A test planner with `workers` workers whose embedded travel estimate uses `travel`.
pub fn planner_with_travel(workers: usize, travel: TravelConfig) -> Planner {
    let config = WorkerConfig { workers, poll: Duration::from_millis(50), lease: Duration::from_secs(5), ..WorkerConfig::default() };
    Planner::new(config, Arc::new(GreatCircle::new(travel)))
}

/// Someone calling the API with a given token, or none.
pub struct Caller<'a> {
    app: &'a TestApp,
    /// The bearer token sent, if any.
    pub token: Option<String>,
    /// The user behind it, as `POST /v1/users` answered (`null` for the admin or anonymous).
    pub user: Value,
}

impl TestApp {
    /// Starts the application on a fresh, migrated database of `backend`.
    pub async fn start(backend: Backend) -> TestApp {
        TestApp::on(Fresh::new(backend, true).await).await
    }

    /// Starts the application on a fresh, migrated database of `backend`, its travel estimate
    /// using `travel` instead of the Taipei speeds.
    pub async fn start_with_travel(backend: Backend, travel: TravelConfig) -> TestApp {
        let secret = random_hex(32);
        let auth = AuthConfig::with_secret(secret.as_bytes(), KeySource::Env);
        TestApp::on_configured_with_travel(Fresh::new(backend, true).await, secret, auth, 1, travel).await
    }

    /// Starts the application on a fresh, migrated database of `backend` with invoicing as the
    /// demo seller (a fresh QR key), writing Turnkey files into a temporary folder.
    pub async fn start_invoicing(backend: Backend) -> TestApp {
        TestApp::start_payments(backend, None).await
    }

    /// [`TestApp::start_invoicing`] with payments fetching bank statements from `sftp`.
    pub async fn start_payments(backend: Backend, sftp: Option<planner_api::receivables::fetch::FetchConfig>) -> TestApp {
        let secret = random_hex(32);
        let auth = AuthConfig::with_secret(secret.as_bytes(), KeySource::Env);
        let db = Fresh::new(backend, true).await;
        let turnkey = tempfile::tempdir().expect("turnkey dir");
        let mut config = planner_api::invoicing::InvoicingConfig::new(planner_api::demo::demo_seller(), turnkey.path().to_path_buf());
        config.qr_key = Some(einvoice::proof::QrKey::from_hex(&random_hex(16)).expect("a QR key"));
        let service = planner_api::invoicing::Invoicing::new(db.store.clone(), config);
        let mut handlers = planner_api::jobs::Handlers::default();
        let mut channels = planner_api::jobs::Channels::default();
        service.register(&mut handlers, &mut channels);
        service.schedule().await.expect("schedule the invoicing jobs");
        let layout = payments::virtual_account::Layout::cathay_16("9527").expect("Cathay's layout");
        let config = planner_api::receivables::ReceivablesConfig { layout: Some(layout), sftp };
        let receivables = planner_api::receivables::Receivables::new(db.store.clone(), config);
        receivables.register(&mut handlers);
        receivables.schedule().await.expect("schedule the payments jobs");
        let background = planner_api::jobs::Background::new(db.store.clone(), handlers, channels);
        let invoicing = Invoicing { service, background, turnkey, receivables };
        TestApp::on_full(db, secret, auth, test_planner(), Some(invoicing), unlimited()).await
    }

    /// Starts the application on `db` with default token lifetimes.
    pub async fn on(db: Fresh) -> TestApp {
        let secret = random_hex(32);
        let auth = AuthConfig::with_secret(secret.as_bytes(), KeySource::Env);
        TestApp::on_with(db, secret, auth).await
    }

    /// Starts a serve-only application (no planning workers, as with `PLAN_WORKERS=0`) on a
    /// fresh, migrated database of `backend`.
    pub async fn serve_only(backend: Backend) -> TestApp {
        let secret = random_hex(32);
        let auth = AuthConfig::with_secret(secret.as_bytes(), KeySource::Env);
        TestApp::on_configured(Fresh::new(backend, true).await, secret, auth, 0).await
    }

    /// Starts the application on `db` with `auth`, whose key must be `secret`.
    pub async fn on_with(db: Fresh, secret: String, auth: AuthConfig) -> TestApp {
        TestApp::on_configured(db, secret, auth, 1).await
    }

    /// Starts the application on `db` with `auth` (key `secret`) and `workers` planning workers,
    /// whose liveness probes `/readyz` consults, as `luckygas serve` does.
    pub async fn on_configured(db: Fresh, secret: String, auth: AuthConfig, workers: usize) -> TestApp {
        TestApp::on_configured_with_travel(db, secret, auth, workers, TravelConfig::default()).await
    }

    /// [`TestApp::on_configured`] with the travel estimate using `travel`.
    pub async fn on_configured_with_travel(db: Fresh, secret: String, auth: AuthConfig, workers: usize, travel: TravelConfig) -> TestApp {
        TestApp::on_full(db, secret, auth, planner_with_travel(workers, travel), None, unlimited()).await
    }

    /// Starts the application on a fresh, migrated database of `backend` with the CORS origins,
    /// security headers and rate limits of `edge` (other test servers have no rate limits).
    pub async fn start_with_edge(backend: Backend, edge: EdgeConfig) -> TestApp {
        let secret = random_hex(32);
        let auth = AuthConfig::with_secret(secret.as_bytes(), KeySource::Env);
        TestApp::on_full(Fresh::new(backend, true).await, secret, auth, test_planner(), None, edge).await
    }

    /// Starts the application on a fresh, migrated database of `backend` with the planning
    /// workers of `config` (poll, lease and worker count as other test servers unless set).
    pub async fn start_with_planning(backend: Backend, config: WorkerConfig) -> TestApp {
        let secret = random_hex(32);
        let auth = AuthConfig::with_secret(secret.as_bytes(), KeySource::Env);
        let planner = Planner::new(config, Arc::new(GreatCircle::new(TravelConfig::default())));
        TestApp::on_full(Fresh::new(backend, true).await, secret, auth, planner, None, unlimited()).await
    }

    async fn on_full(db: Fresh, secret: String, auth: AuthConfig, planner: Planner, invoicing: Option<Invoicing>, edge: EdgeConfig) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let store = db.store.clone();
        let workers = planner_api::worker::spawn(&planner, &store);
        let mut state = AppState {
            planner,
            invoicing: invoicing.as_ref().map(|i| i.service.clone()),
            jobs_bell: invoicing.as_ref().map(|i| i.background.bell()),
            edge: Arc::new(Edge::new(edge.clone())),
            // Test servers refuse heavy work over the bound at once (no queue), so that tests
            // holding every permit see `503 busy` without waiting; the queue has unit tests.
            heavy: planner_api::http::heavy::HeavyWork::new(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)),
            ..AppState::new(store, auth)
        };
        if let Some(i) = &invoicing {
            state.receivables = i.receivables.clone();
        }
        state.planner.attach_metrics(state.metrics.clone());
        let heavy = state.heavy.clone();
        let flags = state.flags.clone();
        let flag_sync = if db.store.ready().await.is_ok() {
            Some(planner_api::flags::sync::FlagSync::start(db.store.clone(), flags.clone(), flag_sync_config()).await.expect("load the feature flags"))
        } else {
            None
        };
        for (name, probe) in workers.probes() {
            state.health.register_worker(name, probe);
        }
        // The accept loop of `luckygas serve`, never asked to stop (the task is aborted).
        let connections = state.metrics.connections();
        let server = tokio::spawn(planner_api::http::server::run(listener, app(state), ServerConfig::default(), connections, std::future::pending()));
        let workers = Some(workers);
        let base = format!("http://{addr}");
        let anon = reqwest::Client::new();
        let admin = AdminBootstrap { email: "admin@luckygas.test".to_owned(), password: random_hex(12) };
        let (client, admin_tokens) = if db.store.ready().await.is_ok() {
            bootstrap_admin(&db.store, &admin).await.expect("create the test admin");
            let body = json!({ "email": admin.email, "password": admin.password });
            let res = anon.post(format!("{base}/v1/auth/login")).json(&body).send().await.expect("admin signs in");
            assert_eq!(res.status().as_u16(), 200, "the test admin signs in");
            let tokens: Value = res.json().await.expect("token JSON");
            let mut headers = reqwest::header::HeaderMap::new();
            let bearer = format!("Bearer {}", tokens["access_token"].as_str().expect("access token"));
            headers.insert(reqwest::header::AUTHORIZATION, bearer.parse().expect("header value"));
            (reqwest::Client::builder().default_headers(headers).build().expect("client"), tokens)
        } else {
            (reqwest::Client::new(), Value::Null)
        };
        TestApp {
            base,
            client,
            anon,
            jwt_secret: secret,
            admin_email: admin.email,
            admin_password: admin.password,
            admin_tokens,
            db,
            server,
            workers,
            invoicing,
            edge,
            heavy,
            flags,
            flag_sync,
        }
    }

    /// Starts another server with its own worker and its own pool on the same database, as a
    /// second replica would run; it accepts the same tokens.
    pub async fn replica(&self) -> Replica {
        let store = self.db.another_store().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let planner = test_planner();
        let workers = planner_api::worker::spawn(&planner, &store);
        let served = store.clone();
        let auth = AuthConfig::with_secret(self.jwt_secret.as_bytes(), KeySource::Env);
        let state = AppState { planner, edge: Arc::new(Edge::new(self.edge.clone())), ..AppState::new(served, auth) };
        let flags = state.flags.clone();
        let flag_sync = planner_api::flags::sync::FlagSync::start(store.clone(), flags.clone(), flag_sync_config()).await.expect("load the feature flags");
        let connections = state.metrics.connections();
        let server = tokio::spawn(planner_api::http::server::run(listener, app(state), ServerConfig::default(), connections, std::future::pending()));
        Replica { base: format!("http://{addr}"), flags, flag_sync, store, server, workers }
    }

    /// The store behind the server.
    pub fn store(&self) -> &Store {
        &self.db.store
    }

    /// A caller sending no token.
    pub fn anonymous(&self) -> Caller<'_> {
        Caller { app: self, token: None, user: Value::Null }
    }

    /// A caller sending `token`.
    pub fn with_token(&self, token: &str) -> Caller<'_> {
        Caller { app: self, token: Some(token.to_owned()), user: Value::Null }
    }

    /// Signs in; returns the status and body.
    pub async fn login(&self, email: &str, password: &str) -> (u16, Value) {
        let (status, _, body) = self.anonymous().post("/v1/auth/login", &json!({ "email": email, "password": password })).await;
        (status, body)
    }

    /// Creates a user of `role` through the API (a driver gets a fresh driver record first)
    /// and signs in as them.
    pub async fn as_role(&self, role: Role) -> Caller<'_> {
        let driver_id = if role == Role::Driver {
            let (status, _, driver) = self.post("/v1/drivers", &json!({ "name": "測試司機", "skills": [] })).await;
            assert_eq!(status, 201, "{driver}");
            driver["id"].clone()
        } else {
            Value::Null
        };
        let email = format!("{}-{}@luckygas.test", role.as_str(), random_hex(4));
        let password = random_hex(12);
        let body = json!({ "email": email, "password": password, "role": role.as_str(), "driver_id": driver_id });
        let (status, _, user) = self.post("/v1/users", &body).await;
        assert_eq!(status, 201, "{user}");
        let (status, tokens) = self.login(&email, &password).await;
        assert_eq!(status, 200, "{tokens}");
        Caller { app: self, token: tokens["access_token"].as_str().map(str::to_owned), user }
    }

    /// Stops the planning workers (they end their loops, as if they had died); the server keeps
    /// answering.
    pub async fn stop_workers(&mut self) {
        if let Some(workers) = self.workers.take() {
            workers.shutdown().await;
        }
    }

    /// Stops the server and removes the database.
    pub async fn finish(mut self) {
        self.stop_workers().await;
        if let Some(sync) = self.flag_sync.take() {
            sync.shutdown().await;
        }
        self.server.abort();
        // Wait until the server task has let go of its store clone.
        let _ = self.server.await;
        self.db.cleanup().await;
    }

    /// `url` under the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and returns the status, the content type and the JSON body (`null` when
    /// empty).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, String, Value) {
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let text = res.text().await.expect("body read");
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, ct, body)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> (u16, String, Value) {
        self.send(self.client.get(self.url(path))).await
    }

    /// POST `body` as JSON to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, String, Value) {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    /// PUT `body` as JSON to `path`.
    pub async fn put(&self, path: &str, body: &Value) -> (u16, String, Value) {
        self.send(self.client.put(self.url(path)).json(body)).await
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> (u16, String, Value) {
        self.send(self.client.delete(self.url(path))).await
    }
}

impl Caller<'_> {
    fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// Sends `req` (built on [`TestApp::anon`]) with this caller's token.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, String, Value) {
        self.app.send(self.authorized(req)).await
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> (u16, String, Value) {
        self.send(self.app.anon.get(self.app.url(path))).await
    }

    /// POST `body` as JSON to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, String, Value) {
        self.send(self.app.anon.post(self.app.url(path)).json(body)).await
    }

    /// PUT `body` as JSON to `path`.
    pub async fn put(&self, path: &str, body: &Value) -> (u16, String, Value) {
        self.send(self.app.anon.put(self.app.url(path)).json(body)).await
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> (u16, String, Value) {
        self.send(self.app.anon.delete(self.app.url(path))).await
    }
}

/// A valid customer with `code` in `district`.
pub fn customer(code: &str, district: &str) -> Value {
    json!({
        "code": code,
        "name": "王小明",
        "phone": "02-2345-6789",
        "address": "台北市信義區松仁路 100 巷 5 號",
        "district": district,
        "lat": 25.033,
        "lon": 121.565,
        "time_windows": [{ "start": "08:00", "end": "12:00" }],
        "usual_cylinders": [{ "size_kg": 20, "quantity": 2 }],
        "access_restrictions": ["narrow_lane"],
        "payment_method": "cash"
    })
}

/// A valid depot.
pub fn depot(name: &str) -> Value {
    json!({ "name": name, "address": "新北市板橋區文化路一段 1 號", "lat": 25.013, "lon": 121.462 })
}

/// Runs each listed test body against SQLite and PostgreSQL, as two `#[tokio::test]`s.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                let app = $crate::support::TestApp::start($crate::support::Backend::Sqlite).await;
                super::$name(&app).await;
                app.finish().await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                let app = $crate::support::TestApp::start($crate::support::Backend::Postgres).await;
                super::$name(&app).await;
                app.finish().await;
            })*
        }
    };
}

/// Runs each listed test body (`async fn(Backend)`) once per backend, as two `#[tokio::test]`s.
#[macro_export]
macro_rules! each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name($crate::support::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name($crate::support::Backend::Postgres).await;
            })*
        }
    };
}

/// What [`seed_day`] created.
#[derive(Clone, Debug)]
pub struct SeededDay {
    /// The depot.
    pub depot_id: i64,
    /// Its vehicles (two trucks, one heavy motorcycle).
    pub vehicle_ids: Vec<i64>,
    /// The customers, one per order.
    pub customer_ids: Vec<i64>,
    /// The orders of the day.
    pub order_ids: Vec<i64>,
}

async fn post_ok(client: &reqwest::Client, base: &str, path: &str, body: &Value) -> Value {
    let res = client.post(format!("{base}{path}")).json(body).send().await.expect("request sent");
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("JSON body");
    assert_eq!(status, 201, "POST {path}: {body}");
    body
}

/// Creates through the API a depot in Taipei, a truck type and a heavy-motorcycle type, two
/// trucks and a motorcycle, and `n` customers spread over the city, each with one order for
/// `date` (1–3 cylinders of 20 kg, some with a 50 kg one, the fifth urgent, every seventh in a
/// narrow lane, mornings and afternoons alternating). Customer codes start at `C{first}`.
pub async fn seed_day(client: &reqwest::Client, base: &str, n: usize, date: &str, first: usize) -> SeededDay {
    let depot = post_ok(client, base, "/v1/depots", &json!({ "name": "內湖站", "address": "台北市內湖區瑞光路 1 號", "lat": 25.0752, "lon": 121.5753 })).await;
    let depot_id = depot["id"].as_i64().expect("depot id");
    let truck = json!({
        "name": format!("小貨車-{first}"), "kind": "truck",
        "cylinder_slots": [{ "size_kg": 20, "count": 30 }, { "size_kg": 50, "count": 8 }],
        "max_load_kg": 1500, "max_gas_kg": 900, "required_skills": ["hazmat_permit"]
    });
    let truck_type = post_ok(client, base, "/v1/vehicle-types", &truck).await["id"].clone();
    let moto = json!({ "name": format!("重型機車-{first}"), "kind": "heavy_motorcycle", "cylinder_slots": [{ "size_kg": 20, "count": 2 }], "max_load_kg": 80, "max_gas_kg": 60 });
    let moto_type = post_ok(client, base, "/v1/vehicle-types", &moto).await["id"].clone();
    let mut vehicle_ids = Vec::new();
    for (k, (prefix, kind)) in [("TRK", &truck_type), ("TRK", &truck_type), ("MTR", &moto_type)].into_iter().enumerate() {
        let plate = format!("{prefix}-{:04}", first * 10 + k);
        let v = post_ok(client, base, "/v1/vehicles", &json!({ "plate": plate, "vehicle_type_id": kind, "depot_id": depot_id })).await;
        vehicle_ids.push(v["id"].as_i64().expect("vehicle id"));
    }
    let mut customer_ids = Vec::new();
    let mut order_ids = Vec::new();
    // A small linear congruential sequence spreads the customers deterministically.
    let mut x: u64 = 12345 + first as u64;
    let mut next = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) as f64 / (1u64 << 31) as f64
    };
    for i in 0..n {
        let lat = 25.00 + 0.08 * next();
        let lon = 121.48 + 0.12 * next();
        let restrictions = if i % 7 == 6 { json!(["narrow_lane"]) } else { json!([]) };
        let c = json!({
            "code": format!("C{:05}", first + i), "name": format!("客戶{}", first + i), "address": "台北市",
            "district": "信義區", "lat": lat, "lon": lon, "time_windows": [],
            "usual_cylinders": [{ "size_kg": 20, "quantity": 1 }], "access_restrictions": restrictions, "payment_method": "cash"
        });
        let customer_id = post_ok(client, base, "/v1/customers", &c).await["id"].as_i64().expect("customer id");
        customer_ids.push(customer_id);
        let mut cylinders = vec![json!({ "size_kg": 20, "quantity": 1 + i % 3 })];
        if i % 4 == 3 && i % 7 != 6 {
            cylinders.push(json!({ "size_kg": 50, "quantity": 1 }));
        }
        if i % 7 == 6 {
            cylinders = vec![json!({ "size_kg": 20, "quantity": 1 })];
        }
        let order = json!({
            "customer_id": customer_id, "delivery_date": date, "cylinders": cylinders,
            "preference": if i % 2 == 0 { "morning" } else { "afternoon" },
            "priority": if i % 5 == 4 { "urgent" } else { "normal" }
        });
        order_ids.push(post_ok(client, base, "/v1/orders", &order).await["id"].as_i64().expect("order id"));
    }
    SeededDay { depot_id, vehicle_ids, customer_ids, order_ids }
}

/// Polls `GET /v1/plans/{id}` every 100 ms until the job is final or `deadline` passes (then
/// panics with the last state).
pub async fn wait_for_plan(client: &reqwest::Client, base: &str, id: i64, deadline: Duration) -> Value {
    let start = std::time::Instant::now();
    loop {
        let job: Value = client.get(format!("{base}/v1/plans/{id}")).send().await.expect("GET plan").json().await.expect("plan JSON");
        if matches!(job["status"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
            return job;
        }
        assert!(start.elapsed() < deadline, "plan {id} not finished within {deadline:?}: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A plan's routes (as the API answers them) as the solver's routes over `doc`, the solver input
/// they were planned on: vehicles, depots and orders named `V{id}`, `D{id}`, `O{id}`.
pub fn solver_routes(doc: &solver::io::json::JsonProblem, plan: &Value) -> Vec<solver::Route> {
    let mut routes = Vec::new();
    for r in plan["routes"].as_array().expect("routes") {
        let vehicle_type = doc.vehicle_type_index(&format!("V{}", r["vehicle_id"])).expect("route of a known vehicle");
        let trips = r["trips"]
            .as_array()
            .expect("trips")
            .iter()
            .map(|t| solver::Trip {
                depot: doc.depot_index(&format!("D{}", t["depot_id"])).expect("known depot"),
                visits: t["stops"]
                    .as_array()
                    .expect("stops")
                    .iter()
                    .map(|s| {
                        // At the customer's address `O{id}`, at the order's k-th other address `O{id}-k`.
                        let id = match s["address_index"].as_u64() {
                            Some(k) if k > 0 => format!("O{}-{k}", s["order_id"]),
                            _ => format!("O{}", s["order_id"]),
                        };
                        doc.client_index(&id).expect("stop of a planned order")
                    })
                    .collect(),
            })
            .collect();
        // The one driver break a plan may ask for is break 0 of every vehicle type.
        let breaks = r["breaks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| solver::solution::BreakStop {
                index: 0,
                trip: b["trip"].as_u64().expect("trip") as usize,
                after: b["after"].as_u64().expect("after") as usize,
            })
            .collect();
        routes.push(solver::Route { vehicle_type, trips, breaks });
    }
    routes
}

/// Checks a succeeded plan with the solver's independent checker: rebuilds the solver input the
/// service planned (`GET /v1/plans/{id}/problem`), maps the returned routes (plates, order ids,
/// depots) back to solver indices, and asserts that the solution is feasible and that the
/// service's distances and cost are the checker's.
pub async fn check_plan_with_solver(client: &reqwest::Client, base: &str, job: &Value) {
    let id = job["id"].as_i64().expect("plan id");
    let text = client.get(format!("{base}/v1/plans/{id}/problem")).send().await.expect("GET problem").text().await.expect("text");
    let (doc, problem) = solver::io::json::parse(&text).expect("the stored problem parses and builds");
    let plan = &job["result"];
    let routes = solver_routes(&doc, plan);
    // Each address of an order left out is a client left out.
    let unassigned = plan["unassigned"]
        .as_array()
        .expect("unassigned")
        .iter()
        .flat_map(|u| {
            let order = format!("O{}", u["order_id"]);
            let reason: solver::solution::UnassignedReason = serde_json::from_value(u["reason"].clone()).expect("a solver reason");
            doc.clients
                .iter()
                .enumerate()
                .filter(move |(_, c)| c.id == order || c.id.starts_with(&format!("{order}-")))
                .map(move |(client, _)| solver::Unassigned { client, reason })
        })
        .collect();
    let solution = solver::Solution { routes, unassigned };
    let report = solver::check::check(&problem, &solution);
    assert!(report.is_feasible(), "violations: {:?}", report.violations);
    assert_eq!(plan["feasible"], true);
    assert_eq!(plan["distance_m"].as_i64(), Some(report.cost.distance));
    // Orders no vehicle could serve never reached the solver: their penalties are the plan's own.
    let mut left_out = 0.0;
    for u in plan["unassigned"].as_array().expect("unassigned") {
        if doc.client_index(&format!("O{}", u["order_id"])).is_none() {
            assert_eq!(u["reason"], "no_compatible_vehicle", "{u}");
            let order: Value = client.get(format!("{base}/v1/orders/{}", u["order_id"])).send().await.expect("GET order").json().await.expect("order");
            let which = if order["priority"] == "urgent" { "urgent_penalty_ntd" } else { "unserved_penalty_ntd" };
            left_out += job["options"][which].as_f64().expect("penalty option");
        }
    }
    // The checker counts the prize of every address no route visits; an order's penalty is one
    // prize, lost only when none of its addresses is served.
    let visited: std::collections::BTreeSet<usize> = solution.routes.iter().flat_map(|r| r.visits()).collect();
    let mut counted_twice = 0;
    for g in &problem.groups {
        let unvisited: Vec<i64> = g.clients.iter().filter(|c| !visited.contains(c)).map(|&c| problem.clients[c].prize).collect();
        counted_twice += unvisited.iter().sum::<i64>() - if unvisited.len() == g.clients.len() { unvisited.iter().max().copied().unwrap_or(0) } else { 0 };
    }
    let counted_twice = solver::io::json::cost_to_ntd(counted_twice);
    // Whole NT$: the operating cost and the penalties, each rounded, make the checker's objective.
    let cost = solver::io::json::cost_to_ntd(report.cost.total) + left_out - counted_twice;
    let shown = plan["cost_ntd"].as_i64().expect("whole NT$") + plan["penalty_ntd"].as_i64().expect("whole NT$");
    assert!((shown as f64 - cost).abs() <= 1.0 + plan["routes"].as_array().map_or(0, Vec::len) as f64 * 0.5, "cost {shown} vs checker {cost}");
    let prizes = solver::io::json::cost_to_ntd(report.cost.uncollected_prizes) + left_out - counted_twice;
    assert!((plan["penalty_ntd"].as_i64().expect("penalty") as f64 - prizes).abs() <= 0.5, "penalties {} vs checker {prizes}", plan["penalty_ntd"]);
    for (r, rep) in plan["routes"].as_array().expect("routes").iter().zip(&report.routes) {
        assert_eq!(r["distance_m"].as_i64(), Some(rep.distance));
        assert_eq!(r["duration_s"].as_i64(), Some(rep.duration));
    }
}

/// The last segment of a problem's `type` (`validation`, `version-conflict`, …).
pub fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or_default().trim_start_matches("https://luckygas.tw/problems/")
}

/// `(field, code)` of each field error of a problem.
pub fn fields(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| (e["field"].as_str().unwrap_or_default().to_owned(), e["code"].as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default()
}

/// The largest order id, and the count and a digest of the orders up to `upto` (all when `None`).
pub async fn order_digest(store: &Store, upto: Option<i64>) -> (i64, i64, String) {
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

/// A whole database of a test's own, by URL: a SQLite file in `dir`, or a new PostgreSQL
/// database on the server of `DATABASE_URL_PG` (for tests that run the binary or restore into
/// it, where a schema of the shared database would not do). Removed by [`OwnDatabase::remove`].
pub struct OwnDatabase {
    /// Its URL.
    pub url: String,
    pg_name: Option<String>,
}

static OWN_DATABASES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl OwnDatabase {
    /// A new database named after `tag`.
    pub async fn new(backend: Backend, dir: &std::path::Path, tag: &str) -> OwnDatabase {
        let n = OWN_DATABASES.fetch_add(1, Ordering::Relaxed);
        match backend {
            Backend::Sqlite => OwnDatabase { url: format!("sqlite://{}", dir.join(format!("{tag}{n}.db")).display()), pg_name: None },
            Backend::Postgres => {
                let name = format!("own_{tag}_{}_{n}", std::process::id());
                let mut conn =
                    PgConnection::connect(&pg_url()).await.unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {} ({e}); this test needs it", pg_url()));
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
                conn.close().await.expect("close");
                let base = pg_url();
                let base = base.split('?').next().unwrap_or(&base).rsplit_once('/').map_or(base.clone(), |(b, _)| b.to_owned());
                OwnDatabase { url: format!("{base}/{name}"), pg_name: Some(name) }
            }
        }
    }

    /// Drops a PostgreSQL database (a SQLite file goes with its folder).
    pub async fn remove(self) {
        if let Some(name) = self.pg_name {
            let mut conn = PgConnection::connect(&pg_url()).await.expect("connect");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.expect("drop database");
        }
    }
}
