//! Tests of the store on real databases: a fresh SQLite file and a fresh PostgreSQL schema (each
//! test runs on both; the PostgreSQL runs fail loudly when the server is unreachable).

mod support;

use chrono::{Duration as Span, Utc};
use planner_api::domain::{CustomerInput, DepotInput, JobStatus, NewCustomer, OrderInput, PlanRequestInput, VehicleInput, VehicleTypeInput};
use planner_api::store::plans::epoch_ms;
use planner_api::store::{CustomerFilter, JobEnd, OrderFilter, PageRequest, Store, StoreError};
use serde_json::json;
use std::collections::BTreeSet;
use support::{customer, Backend, Fresh, TestApp};

fn new_customer(code: &str, district: &str) -> NewCustomer {
    let input: CustomerInput = serde_json::from_value(customer(code, district)).expect("fixture parses");
    input.validate().expect("fixture is valid")
}

const ALL: PageRequest = PageRequest::offset(50, 0);

async fn migrations_are_idempotent_and_make_the_store_ready(backend: Backend) {
    let db = Fresh::new(backend, true).await;
    db.store.ready().await.expect("ready after open");
    db.store.migrate().await.expect("migrating again is a no-op");
    db.store.ready().await.expect("still ready");
    db.cleanup().await;
}

async fn is_not_ready_before_migrations_and_readyz_says_503(backend: Backend) {
    let db = Fresh::new(backend, false).await;
    assert!(matches!(db.store.ready().await, Err(StoreError::Migrate(_) | StoreError::NotMigrated(_))));
    let app = TestApp::on(db).await;
    let (status, ct, body) = app.get("/readyz").await;
    assert_eq!((status, ct.as_str()), (503, "application/problem+json"), "{body}");
    assert_eq!(body["type"], "https://luckygas.tw/problems/not-ready");
    assert_eq!(app.get("/healthz").await.0, 200, "liveness does not depend on the database");
    app.finish().await;
}

async fn keeps_customers_and_reports_duplicates_and_missing_rows(backend: Backend) {
    let db = Fresh::new(backend, true).await;
    let s = &db.store;
    let a = s.create_customer(&new_customer("C0001", "信義區")).await.expect("create");
    assert_eq!(s.get_customer(a.id).await.expect("read"), a);
    assert!(matches!(s.create_customer(&new_customer("C0001", "大安區")).await, Err(StoreError::Duplicate { field: "code" })));
    let b = s.create_customer(&new_customer("C0002", "大安區")).await.expect("create second");
    assert!(matches!(s.update_customer(b.id, &new_customer("C0001", "大安區")).await, Err(StoreError::Duplicate { .. })));

    let daan = CustomerFilter { district: Some("大安區".into()), ..CustomerFilter::default() };
    let page = s.list_customers(&daan, ALL).await.expect("list");
    assert_eq!((page.total, page.items.len()), (Some(1), 1));
    assert_eq!(page.items[0].data.code, "C0002");
    let second = s.list_customers(&CustomerFilter::default(), PageRequest::offset(1, 1)).await.expect("page 2");
    assert_eq!((second.total, second.items[0].id), (Some(2), b.id));

    // Search: name, code (any case), address, phone digits whatever the dashes; wildcards are text.
    let mut other: CustomerInput = serde_json::from_value(customer("C0003", "中山區")).expect("fixture");
    other.name = "陳記麵店".into();
    other.phone = Some("0912-345-678".into());
    other.address = "台北市中山區南京東路二段 10 號".into();
    let c = s.create_customer(&other.validate().expect("valid")).await.expect("create third");
    let found = |q: &str| {
        let filter = CustomerFilter { search: Some(q.into()), ..CustomerFilter::default() };
        async move { s.list_customers(&filter, ALL).await.expect("search").items.iter().map(|c| c.id).collect::<Vec<_>>() }
    };
    assert_eq!(found("陳記").await, vec![c.id]);
    assert_eq!(found("c0003").await, vec![c.id]);
    assert_eq!(found("南京東路").await, vec![c.id]);
    assert_eq!(found("0912345").await, vec![c.id]);
    assert_eq!(found("0912-345").await, vec![c.id]);
    assert_eq!(found("2345-6789").await, vec![a.id, b.id]);
    assert_eq!(found("王小明").await, vec![a.id, b.id]);
    assert_eq!(found("%").await, Vec::<i64>::new());
    assert_eq!(found("_").await, Vec::<i64>::new());
    let both = CustomerFilter { district: Some("大安區".into()), search: Some("王".into()) };
    assert_eq!(s.list_customers(&both, ALL).await.expect("search").items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b.id]);

    s.delete_customer(a.id).await.expect("delete");
    assert!(matches!(s.get_customer(a.id).await, Err(StoreError::NotFound)));
    assert!(matches!(s.delete_customer(a.id).await, Err(StoreError::NotFound)));
    assert!(matches!(s.update_customer(a.id, &new_customer("C0009", "信義區")).await, Err(StoreError::NotFound)));
    db.cleanup().await;
}

#[tokio::test]
async fn keeps_an_in_memory_sqlite_database_across_calls() {
    let store = planner_api::store::Store::open("sqlite::memory:").await.expect("open in memory");
    let (first, second) = (new_customer("C0001", "信義區"), new_customer("C0002", "信義區"));
    let (a, b) = tokio::join!(store.create_customer(&first), store.create_customer(&second));
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(store.list_customers(&CustomerFilter::default(), ALL).await.expect("list").total, Some(2));
    store.ready().await.expect("ready");
}

/// A depot with one truck, a customer, and one order and one queued planning job on each of
/// `days` consecutive days; returns the job ids.
async fn queue_jobs(s: &Store, days: u32) -> Vec<i64> {
    let depot: DepotInput = serde_json::from_value(support::depot("板橋站")).expect("depot");
    let depot = s.create_depot(&depot.validate().expect("valid depot")).await.expect("create depot");
    let vt: VehicleTypeInput = serde_json::from_value(json!({
        "name": "小貨車", "kind": "truck", "cylinder_slots": [{ "size_kg": 20, "count": 30 }], "max_load_kg": 1500, "max_gas_kg": 600
    }))
    .expect("type");
    let vt = s.create_vehicle_type(&vt.validate().expect("valid type")).await.expect("create type");
    let v: VehicleInput = serde_json::from_value(json!({ "plate": "ABC-1234", "vehicle_type_id": vt.id, "depot_id": depot.id })).expect("vehicle");
    s.create_vehicle(&v.validate().expect("valid vehicle")).await.expect("create vehicle");
    let mut c = new_customer("C0001", "信義區");
    c.access_restrictions.clear();
    let c = s.create_customer(&c).await.expect("customer");
    let mut jobs = Vec::new();
    for d in 1..=days {
        let date = format!("2026-03-{d:02}");
        let o: OrderInput =
            serde_json::from_value(json!({ "customer_id": c.id, "delivery_date": date, "cylinders": [{ "size_kg": 20, "quantity": 1 }] })).expect("order");
        let order = o.validate().expect("valid order");
        s.create_order(&order, "test").await.expect("create order");
        let r: PlanRequestInput = serde_json::from_value(json!({ "date": date, "depot_ids": [depot.id] })).expect("request");
        jobs.push(s.create_plan_job(&r.validate(60.0).expect("valid request"), planner_api::planning::DEFAULT_MAX_ORDERS).await.expect("queue job").id);
    }
    jobs
}

async fn two_stores_on_one_database_never_claim_the_same_job(backend: Backend) {
    let db = Fresh::new(backend, true).await;
    let jobs = queue_jobs(&db.store, 12).await;
    let other = db.another_store().await;
    // Eight claimers over two pools race for twelve jobs.
    let mut tasks = Vec::new();
    for k in 0..8 {
        let store = if k % 2 == 0 { db.store.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let lease = epoch_ms(Utc::now() + Span::seconds(60));
            while let Some(job) = store.claim_plan_job(&format!("worker-{k}"), Utc::now(), lease).await.expect("claim") {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.expect("claimer"));
    }
    let unique: BTreeSet<i64> = claimed.iter().copied().collect();
    assert_eq!(unique.len(), claimed.len(), "a job was claimed twice: {claimed:?}");
    assert_eq!(unique, jobs.iter().copied().collect::<BTreeSet<_>>());
    other.close().await;
    db.cleanup().await;
}

async fn takes_over_only_expired_leases_and_fences_the_worker_that_lost_one(backend: Backend) {
    let db = Fresh::new(backend, true).await;
    let s = &db.store;
    let job = queue_jobs(s, 1).await[0];
    let now = Utc::now();
    let claimed = s.claim_plan_job("a", now, epoch_ms(now + Span::seconds(30))).await.expect("claim").expect("a job");
    assert_eq!((claimed.id, claimed.attempts), (job, 1));
    assert!(s.claim_plan_job("b", now, epoch_ms(now + Span::seconds(30))).await.expect("claim").is_none(), "the lease is live");
    // Later than the lease: worker a is presumed dead and b takes over.
    let later = now + Span::seconds(31);
    let again = s.claim_plan_job("b", later, epoch_ms(later + Span::seconds(30))).await.expect("claim").expect("taken over");
    assert_eq!((again.id, again.attempts), (job, 2));
    assert_eq!(s.renew_plan_lease(job, "a", epoch_ms(later), &[]).await.expect("renew"), None, "a lost its lease");
    assert!(!s.finish_plan_job(job, "a", &JobEnd::Cancelled, &[]).await.expect("finish"), "a cannot write");
    assert_eq!(s.renew_plan_lease(job, "b", epoch_ms(later), &[]).await.expect("renew"), Some(false));
    s.cancel_plan_job(job).await.expect("ask to cancel");
    assert_eq!(s.renew_plan_lease(job, "b", epoch_ms(later), &[]).await.expect("renew"), Some(true), "b sees the request");
    let after_b = later + Span::seconds(31);
    let third = s.claim_plan_job("c", after_b, epoch_ms(after_b + Span::seconds(30))).await.expect("claim").expect("taken over");
    assert!(third.cancel_requested, "a worker taking over learns of the cancel request at once");
    assert!(!s.finish_plan_job(job, "b", &JobEnd::Cancelled, &[]).await.expect("finish"), "b is fenced off");
    assert!(s.finish_plan_job(job, "c", &JobEnd::Cancelled, &[]).await.expect("finish"));
    assert!(matches!(s.cancel_plan_job(job).await, Err(StoreError::AlreadyFinished(_))));
    db.cleanup().await;
}

async fn gives_a_running_job_back_to_the_queue_on_shutdown(backend: Backend) {
    let db = Fresh::new(backend, true).await;
    let job = queue_jobs(&db.store, 1).await[0];
    let pool = planner_api::worker::spawn(&support::test_planner(), &db.store);
    let start = std::time::Instant::now();
    while db.store.get_plan_job(job).await.expect("job").status != JobStatus::Running {
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "the worker never claimed the job");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    pool.shutdown().await;
    let after = db.store.get_plan_job(job).await.expect("job");
    assert_eq!((after.status, after.attempts), (JobStatus::Queued, 0), "a clean shutdown costs no attempt: {after:?}");
    let now = Utc::now();
    let next = db.store.claim_plan_job("next", now, epoch_ms(now + Span::seconds(30))).await.expect("claim");
    assert_eq!(next.map(|j| (j.id, j.attempts)), Some((job, 1)), "another worker takes it at once");
    db.cleanup().await;
}

async fn fails_a_job_whose_workers_keep_dying_and_releases_its_orders(backend: Backend) {
    let db = Fresh::new(backend, true).await;
    let job = queue_jobs(&db.store, 1).await[0];
    // Three workers claim it and die at once (their leases are already over).
    for k in 0..3 {
        let now = Utc::now();
        let claimed = db.store.claim_plan_job(&format!("dead-{k}"), now, epoch_ms(now) - 1).await.expect("claim").expect("claimable");
        assert_eq!(claimed.attempts, k + 1);
    }
    let pool = planner_api::worker::spawn(&support::test_planner(), &db.store);
    let start = std::time::Instant::now();
    let failed = loop {
        let j = db.store.get_plan_job(job).await.expect("job");
        if j.status.is_final() {
            break j;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "the job never failed: {j:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    pool.shutdown().await;
    assert_eq!((failed.status, failed.attempts), (JobStatus::Failed, 4));
    assert!(failed.error.as_deref().is_some_and(|e| e.contains("3 attempts")), "{:?}", failed.error);
    let held = db.store.list_orders(&OrderFilter { plan_id: Some(job), ..OrderFilter::default() }, ALL).await.expect("orders");
    assert_eq!(held.total, Some(0), "the orders are free for the next plan");
    db.cleanup().await;
}

/// The rows of one column of a query, as text.
async fn texts(store: &Store, sql: &str) -> Vec<String> {
    match store {
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.expect("query"),
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.expect("query"),
    }
}

async fn the_pruning_job_deletes_spent_counters_in_batches_and_keeps_live_ones(backend: Backend) {
    use planner_api::auth::throttle::ThrottlePolicy;
    use planner_api::jobs::prune::{Pruned, Pruning, KIND};
    use planner_api::jobs::{Background, Channels, Handlers};
    let db = Fresh::new(backend, true).await;
    let s = &db.store;
    let policy = ThrottlePolicy::default();
    assert_eq!(policy.account.window, std::time::Duration::from_secs(15 * 60), "the cases below assume 15 minutes");
    let now = Utc::now().timestamp();
    let fail = |scope: &'static str, subject: &'static str, at: i64, lock_s: i64| async move {
        s.record_login_failure(scope, subject, at, at - 3600, move |_| lock_s).await.expect("failure recorded");
    };
    // Spent: failures long ago, and a lock that ended long ago.
    fail("account", "old@luckygas.test", now - 3600, 0).await;
    fail("account", "old-locked@luckygas.test", now - 1200, 60).await;
    fail("address", "192.0.2.1", now - 7200, 0).await;
    // Live: a recent failure; a lock still running; a lock that ended within the window.
    fail("account", "recent@luckygas.test", now - 300, 0).await;
    fail("address", "192.0.2.2", now - 7200, 3 * 3600).await;
    fail("account", "lock-ended@luckygas.test", now - 1200, 600).await;
    let window = now - now.rem_euclid(60);
    for key in ["a:old-1", "a:old-2", "u:7"] {
        s.hit_rate_window(key, window - 120).await.expect("hit");
    }
    s.hit_rate_window("a:last-minute", window - 60).await.expect("hit");
    // A window that has not ended (the next one, so that the clock passing a minute while the
    // test runs changes nothing).
    s.hit_rate_window("a:not-ended", window + 60).await.expect("hit");
    // A job of a module this runner does not run (invoicing off): left for another process.
    s.enqueue_job("invoice.issue", Some("invoice.issue:order:1"), "{\"order_id\":1}", Utc::now() - Span::minutes(5)).await.expect("enqueue");

    let mut handlers = Handlers::default();
    Pruning::new(policy, std::time::Duration::from_secs(60)).register(&mut handlers);
    Pruning::schedule(s).await.expect("schedule");
    Pruning::schedule(s).await.expect("a second replica schedules it too");
    assert_eq!(s.count_tasks(KIND, "queued").await.expect("count"), 1, "one job, keyed by its kind");
    let background = Background::new(s.clone(), handlers, Channels::default());
    assert!(background.run_task("test-runner").await.expect("run"), "the pruning job ran");
    assert_eq!(
        texts(s, "SELECT subject FROM login_throttle ORDER BY subject").await,
        ["192.0.2.2", "lock-ended@luckygas.test", "recent@luckygas.test"],
        "spent throttle rows are gone, live ones stay"
    );
    assert_eq!(texts(s, "SELECT key FROM rate_limit_windows ORDER BY key").await, ["a:not-ended"], "only the current window stays");
    // Due again in a minute, not failed; the invoicing job was not claimed.
    assert_eq!(s.count_tasks(KIND, "queued").await.expect("count"), 1);
    assert_eq!(s.count_tasks("invoice.issue", "queued").await.expect("count"), 1, "a job without a handler here is not failed");
    assert!(!background.run_task("test-runner").await.expect("run"), "nothing else this runner handles is due");

    // In bounded batches: two rows a statement, two statements a run, then it says more are left.
    for key in ["b:1", "b:2", "b:3", "b:4", "b:5"] {
        s.hit_rate_window(key, window - 60).await.expect("hit");
    }
    let small = Pruning { batch: 2, max_batches: 2, ..Pruning::new(policy, std::time::Duration::from_secs(60)) };
    assert_eq!(small.run(s, now).await.expect("prune"), Pruned { login_throttle: 0, rate_windows: 4, more: true });
    assert_eq!(small.run(s, now).await.expect("prune"), Pruned { login_throttle: 0, rate_windows: 1, more: false });
    assert_eq!(texts(s, "SELECT key FROM rate_limit_windows ORDER BY key").await, ["a:not-ended"]);
    db.cleanup().await;
}

each_backend!(
    the_pruning_job_deletes_spent_counters_in_batches_and_keeps_live_ones,
    fails_a_job_whose_workers_keep_dying_and_releases_its_orders,
    gives_a_running_job_back_to_the_queue_on_shutdown,
    two_stores_on_one_database_never_claim_the_same_job,
    takes_over_only_expired_leases_and_fences_the_worker_that_lost_one,
    migrations_are_idempotent_and_make_the_store_ready,
    is_not_ready_before_migrations_and_readyz_says_503,
    keeps_customers_and_reports_duplicates_and_missing_rows,
);
