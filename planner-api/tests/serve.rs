//! End-to-end tests of `luckygas migrate` and `luckygas serve`: the real binary on a real SQLite
//! file and on a PostgreSQL schema named in `DATABASE_URL`, spoken to over HTTP, stopped with
//! SIGTERM. The JWT key and the first admin's password come from mounted files, as in
//! production.

mod support;

use serde_json::json;
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
    let base = support::pg_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    migrate_then_serve(&format!("{base}{sep}options=-c%20search_path%3D{schema}")).await;
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
    let tokens: serde_json::Value =
        client.post(format!("{base}/v1/auth/login")).json(&login).send().await.expect("login").json().await.expect("token JSON");
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
