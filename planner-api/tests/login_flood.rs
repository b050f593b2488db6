//! A login flood keeps memory bounded: 200 concurrent wrong sign-ins against the real server on
//! loopback, with the password hashing bound at two slots. Alone in its test binary, so that no
//! other test's allocations disturb the process's resident memory that it measures.
//!
//! Before the bound, each sign-in ran its own 19 MiB argon2 hash: 200 at once reached 8.1 GiB.
//! Now at most two run, the rest wait in a queue of 32 or are refused at once with 503 and
//! `Retry-After`; the resident peak grows by a few tens of MiB.

mod support;

use planner_api::auth::password::{self, HashLimits};
use planner_api::auth::{random_hex, AuthConfig, KeySource};
use serde_json::json;
use std::time::Duration;
use support::{Backend, Fresh, TestApp};

/// `VmRSS` and `VmHWM` (peak resident) of this process, in KiB.
fn resident_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()).expect("a kB field")
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_wrong_logins_keep_memory_bounded() {
    let limits = HashLimits { permits: 2, queue: 32, queue_timeout: Duration::from_secs(5) };
    assert!(password::install(limits), "the bound is installed before any hashing");
    let secret = random_hex(32);
    let mut auth = AuthConfig::with_secret(secret.as_bytes(), KeySource::Env);
    // Every attempt comes from 127.0.0.1: let the flood reach the hashing, which is what is
    // measured here (throttling is tested in `auth_hardening`).
    auth.throttle.address.max_failures = 100_000;
    auth.throttle.account.max_failures = 100_000;
    let app = TestApp::on_with(Fresh::new(Backend::Sqlite, true).await, secret, auth).await;
    // One wrong sign-in first, so the baseline includes a warmed-up server and one work area.
    assert_eq!(app.login(&app.admin_email, "a warm-up wrong password").await.0, 401);

    let (rss_before, _) = resident_kib();
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (client, url) = (client.clone(), app.url("/v1/auth/login"));
            let body = json!({ "email": format!("user{i}@luckygas.test"), "password": format!("wrong password {i}") });
            tokio::spawn(async move {
                let res = client.post(url).json(&body).send().await.expect("login sent");
                let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                let status = res.status().as_u16();
                let body: serde_json::Value = res.json().await.expect("a problem");
                (status, retry_after, body["type"].as_str().unwrap_or_default().to_owned())
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("task"));
    }
    let (rss_after, peak) = resident_kib();

    let checked = outcomes.iter().filter(|(s, _, _)| *s == 401).count();
    let busy: Vec<_> = outcomes.iter().filter(|(s, _, _)| *s == 503).collect();
    assert_eq!(checked + busy.len(), 200, "every attempt is a 401 or a 503: {outcomes:?}");
    assert!(checked >= 2, "the bound lets attempts through: {checked}");
    assert!(!busy.is_empty(), "200 at once overflow two slots and a queue of 32");
    for (_, retry_after, kind) in &busy {
        assert_eq!((retry_after.as_deref(), kind.as_str()), (Some("5"), "https://luckygas.tw/problems/busy"));
    }
    let growth_mib = peak.saturating_sub(rss_before) / 1024;
    eprintln!(
        "login flood: {checked} checked, {} refused busy; resident {} MiB before, peak {} MiB (+{growth_mib} MiB), {} MiB after",
        busy.len(),
        rss_before / 1024,
        peak / 1024,
        rss_after / 1024
    );
    assert!(growth_mib < 300, "resident peak grew by {growth_mib} MiB under the flood");
    assert!(rss_after.saturating_sub(rss_before) / 1024 < 300, "memory is given back or reused");

    // The service still signs people in.
    assert_eq!(app.login(&app.admin_email, &app.admin_password).await.0, 200);
    app.finish().await;
}
