//! Readiness and the planning-queue gauges over HTTP, on a fresh SQLite file and a fresh
//! PostgreSQL schema: `/readyz` names its failing check (workers, database, migrations) and
//! does not want workers from a serve-only replica; `/metrics` follows the queue as jobs are
//! queued, claimed and finished, and shows the database's state, its connection pool and the
//! process (memory, descriptors, CPU).

mod support;

use chrono::Utc;
use planner_api::store::plans::epoch_ms;
use planner_api::store::JobEnd;
use serde_json::{json, Value};
use std::time::Duration;
use support::{seed_day, wait_for_plan, Backend, Fresh, TestApp};

const DAY: &str = "2026-03-02";

/// The value of an unlabelled gauge in a `/metrics` scrape.
async fn gauge(app: &TestApp, name: &str) -> i64 {
    let text = app.anon.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    let prefix = format!("{name} ");
    text.lines().find_map(|l| l.strip_prefix(prefix.as_str())).and_then(|v| v.trim().parse().ok()).unwrap_or_else(|| panic!("{name} in {text}"))
}

/// Every unlabelled series of a `/metrics` scrape, by name.
async fn scrape(app: &TestApp) -> std::collections::HashMap<String, f64> {
    let text = app.anon.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.contains('{'))
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(name, value)| Some((name.to_owned(), value.trim().parse().ok()?)))
        .collect()
}

async fn queue(app: &TestApp) -> (i64, i64) {
    (gauge(app, "luckygas_planning_queue_depth").await, gauge(app, "luckygas_planning_jobs_running").await)
}

async fn readyz_wants_a_live_worker_and_names_the_failing_check(backend: Backend) {
    let mut app = TestApp::start(backend).await;
    let (status, _, body) = app.anonymous().get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["workers"], json!({ "alive": 1, "registered": 1 }));
    app.stop_workers().await;
    let (status, ct, body) = app.anonymous().get("/readyz").await;
    assert_eq!((status, ct.as_str(), body["check"].as_str()), (503, "application/problem+json", Some("workers")), "{body}");
    assert_eq!(body["type"], "https://luckygas.tw/problems/not-ready");
    let (_, _, details) = app.get("/v1/health/details").await;
    assert_eq!((details["status"].as_str(), &details["workers"]), (Some("degraded"), &json!([{ "name": "planner-0", "alive": false }])));
    app.finish().await;
}

async fn a_serve_only_replica_is_ready_without_workers_until_its_database_goes(backend: Backend) {
    let app = TestApp::serve_only(backend).await;
    let (status, _, body) = app.anonymous().get("/readyz").await;
    assert_eq!((status, &body["workers"]), (200, &json!({ "alive": 0, "registered": 0 })), "{body}");
    app.store().close().await;
    let (status, _, body) = app.anonymous().get("/readyz").await;
    assert_eq!((status, body["check"].as_str()), (503, Some("database")), "{body}");
    assert!(!body["detail"].as_str().unwrap_or_default().contains("pool"), "no raw error text: {body}");
    assert_eq!(app.anonymous().get("/healthz").await.0, 200);
    app.finish().await;
}

async fn readyz_names_missing_migrations(backend: Backend) {
    let app = TestApp::on(Fresh::new(backend, false).await).await;
    let (status, _, body) = app.anonymous().get("/readyz").await;
    assert_eq!((status, body["check"].as_str()), (503, Some("migrations")), "{body}");
    app.finish().await;
}

async fn queue_gauges_follow_jobs_as_they_are_queued_claimed_and_finish(backend: Backend) {
    // No worker here, so the job stays queued until the test claims it as a worker would.
    let app = TestApp::serve_only(backend).await;
    assert_eq!(queue(&app).await, (0, 0));
    let day = seed_day(&app.client, &app.base, 4, DAY, 1).await;
    let request = json!({ "date": DAY, "depot_ids": [day.depot_id], "options": { "time_limit_s": 0.5 } });
    let (status, _, job) = app.post("/v1/plans", &request).await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(queue(&app).await, (1, 0), "queued");

    let now = Utc::now();
    let claimed = app.store().claim_plan_job("test-worker", now, epoch_ms(now) + 60_000).await.expect("claim").expect("a job");
    assert_eq!(queue(&app).await, (0, 1), "running");
    assert!(app.store().finish_plan_job(claimed.id, "test-worker", &JobEnd::Cancelled, &[]).await.expect("finish"));
    assert_eq!(queue(&app).await, (0, 0), "finished");

    // A running job whose lease expired waits for the next claim: it counts as queued.
    let (_, _, job) = app.post("/v1/plans", &request).await;
    let now = Utc::now();
    app.store().claim_plan_job("dead-worker", now, epoch_ms(now) - 1).await.expect("claim").expect("a job");
    assert_eq!(queue(&app).await, (1, 0), "a dead worker's job waits");

    // A replica with a worker takes it over and finishes it.
    let replica = app.replica().await;
    let done: Value = wait_for_plan(&app.client, &app.base, job["id"].as_i64().expect("id"), Duration::from_secs(90)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(queue(&app).await, (0, 0), "done");
    replica.finish().await;
    app.finish().await;
}

async fn metrics_show_the_database_up_its_pool_and_the_process_until_the_database_goes(backend: Backend) {
    let app = TestApp::serve_only(backend).await;
    let m = scrape(&app).await;
    let get = |name: &str| *m.get(name).unwrap_or_else(|| panic!("{name} in {m:?}"));
    assert_eq!(get("luckygas_database_up"), 1.0, "{m:?}");
    let (size, idle, in_use, max) =
        (get("luckygas_database_pool_size"), get("luckygas_database_pool_idle"), get("luckygas_database_pool_in_use"), get("luckygas_database_pool_max"));
    assert!(size >= 1.0 && size <= max && idle + in_use == size, "pool {size} = {idle} idle + {in_use} in use, max {max}");
    assert!((0.0..2.0).contains(&get("luckygas_database_check_seconds")), "{m:?}");
    let resident = get("process_resident_memory_bytes");
    assert!(resident > 1e6 && get("process_virtual_memory_bytes") >= resident, "{m:?}");
    assert!(get("process_open_fds") >= 3.0 && get("process_max_fds") >= get("process_open_fds"), "{m:?}");
    assert!(get("process_cpu_seconds_total") > 0.0 && get("process_threads") >= 2.0, "{m:?}");

    // The database gone: the scrape still answers, and says so.
    app.store().close().await;
    let m = scrape(&app).await;
    assert_eq!(m.get("luckygas_database_up"), Some(&0.0), "{m:?}");
    // (No assertion on the pool's size here: sqlx may return a connection released just before
    // `close` to the idle list afterwards, so a closed pool can still count one.)
    assert_eq!(m.get("luckygas_database_pool_in_use"), Some(&0.0), "a closed pool lends nothing: {m:?}");
    assert!(m.get("process_resident_memory_bytes").is_some_and(|r| *r > 0.0), "{m:?}");
    app.finish().await;
}

each_backend!(
    metrics_show_the_database_up_its_pool_and_the_process_until_the_database_goes,
    readyz_wants_a_live_worker_and_names_the_failing_check,
    a_serve_only_replica_is_ready_without_workers_until_its_database_goes,
    readyz_names_missing_migrations,
    queue_gauges_follow_jobs_as_they_are_queued_claimed_and_finish,
);
