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

use planner_api::auth::{bootstrap_admin, random_hex, AdminBootstrap, AuthConfig, KeySource};
use planner_api::domain::Role;
use planner_api::http::{app, AppState};
use planner_api::store::Store;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{Connection, PgConnection};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

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

    /// Starts the application on `db` with default token lifetimes.
    pub async fn on(db: Fresh) -> TestApp {
        let secret = random_hex(32);
        let auth = AuthConfig::with_secret(secret.as_bytes(), KeySource::Env);
        TestApp::on_with(db, secret, auth).await
    }

    /// Starts the application on `db` with `auth`, whose key must be `secret`.
    pub async fn on_with(db: Fresh, secret: String, auth: AuthConfig) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let store = db.store.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, app(AppState::new(store, auth))).await.expect("server runs");
        });
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
        }
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

    /// Stops the server and removes the database.
    pub async fn finish(self) {
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
