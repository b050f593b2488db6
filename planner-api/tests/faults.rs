//! Faults give honest answers, and cheap requests stay cheap, on a fresh SQLite file and a fresh
//! PostgreSQL schema: a NUL (or another control character) in a body, a login or a query is a
//! 422 naming the field, never a 500; lists far over their bounds are refused with one
//! `too_many` error before anything is checked entry by entry; a SQLite write lock held by
//! another connection is a 503 with `Retry-After`, not a 500; a background job running when its
//! runner shuts down goes back to the queue with its attempt uncounted.

mod support;

use planner_api::jobs::{Background, Channels, Handlers, Outcome};
use planner_api::store::Store;
use serde_json::{json, Value};
use std::time::Duration;
use support::{customer, depot, fields, problem_type, Backend, Fresh, TestApp};

/// `(field, code)` pairs of a 422 whose every error is a control character.
fn control_fields(status: u16, body: &Value) -> Vec<String> {
    assert_eq!((status, problem_type(body)), (422, "validation"), "{body}");
    fields(body)
        .into_iter()
        .map(|(field, code)| {
            assert_eq!(code, "control_character", "{body}");
            field
        })
        .collect()
}

async fn a_nul_anywhere_is_a_422_naming_the_field_never_a_500(app: &TestApp) {
    let nul = "\u{0}";
    // Signing in: the email goes to the database before any password is checked.
    let (status, body) = app.login(&format!("admin{nul}@luckygas.test"), "whatever-password").await;
    assert_eq!(control_fields(status, &body), ["email"]);
    let (status, body) = app.login(&app.admin_email, &format!("pass{nul}word")).await;
    assert_eq!(control_fields(status, &body), ["password"]);

    let mut c = customer("C0001", "信義區");
    c["name"] = json!(format!("王{nul}小明"));
    let (status, _, body) = app.post("/v1/customers", &c).await;
    assert_eq!(control_fields(status, &body), ["name"]);
    let mut d = depot("板橋站");
    d["address"] = json!(format!("新北市{nul}"));
    let (status, _, body) = app.post("/v1/depots", &d).await;
    assert_eq!(control_fields(status, &body), ["address"]);
    let (status, _, body) = app.post("/v1/drivers", &json!({ "name": "陳大文", "skills": [format!("hazmat{nul}")] })).await;
    assert_eq!(control_fields(status, &body), ["skills[0]"]);
    // An escape sequence in a name is refused too; tabs and line breaks in a note are not.
    let (status, _, body) = app.post("/v1/drivers", &json!({ "name": "\u{1b}[31m陳大文" })).await;
    assert_eq!(control_fields(status, &body), ["name"]);

    let (status, _, created) = app.post("/v1/customers", &customer("C0002", "信義區")).await;
    assert_eq!(status, 201, "{created}");
    let order =
        json!({ "customer_id": created["id"], "delivery_date": "2026-03-02", "cylinders": [{ "size_kg": 20, "quantity": 1 }], "note": "後門\t按鈴\n兩次" });
    let (status, _, body) = app.post("/v1/orders", &order).await;
    assert_eq!(status, 201, "{body}");
    let mut bad = order.clone();
    bad["note"] = json!(format!("後門{nul}"));
    let (status, _, body) = app.post("/v1/orders", &bad).await;
    assert_eq!(control_fields(status, &body), ["note"]);

    // Query parameters that reach the database.
    for path in ["/v1/customers?district=%00", "/v1/customers?q=%00", "/v1/orders?date=2026-03-02%00", "/v1/audit?path=/v1%00"] {
        let (status, _, body) = app.get(path).await;
        assert_eq!(control_fields(status, &body).len(), 1, "{path}: {body}");
    }
    // A search longer than 100 characters is refused, naming it.
    let (status, _, body) = app.get(&format!("/v1/customers?q={}", "王".repeat(101))).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("q")), "{body}");

    // In English on request, Traditional Chinese by default.
    let (status, ct, body) = app.send(app.client.post(app.url("/v1/depots")).header("accept-language", "en").json(&d)).await;
    assert_eq!((status, ct.as_str()), (422, "application/problem+json"));
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("control characters")), "{body}");
    let (_, _, body) = app.post("/v1/depots", &d).await;
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("控制字元")), "{body}");

    // Nothing half-written: the only customer is the valid one.
    let (_, _, list) = app.get("/v1/customers").await;
    assert_eq!(list["total"], 1, "{list}");
}

async fn lists_far_over_their_bounds_are_refused_with_one_error(app: &TestApp) {
    // A driver with 100,000 skills: one `too_many` on `skills`, no per-entry errors.
    let skills: Vec<String> = (0..100_000).map(|i| format!("s{i}")).collect();
    let (status, _, body) = app.post("/v1/drivers", &json!({ "name": "陳大文", "skills": skills })).await;
    assert_eq!((status, fields(&body)), (422, vec![("skills".to_owned(), "too_many".to_owned())]), "{}", body["errors"]);
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("64")), "{body}");
    let repeated = vec!["hazmat_permit"; 64];
    let (status, _, body) = app.post("/v1/drivers", &json!({ "name": "陳大文", "skills": repeated })).await;
    assert_eq!((status, fields(&body).len()), (422, 63), "64 skills are checked, and repeats named: {body}");

    let mut c = customer("C0003", "信義區");
    c["access_restrictions"] = json!(vec!["stairs"; 50_000]);
    c["usual_cylinders"] = json!(vec![json!({ "size_kg": 20, "quantity": 1 }); 10_000]);
    let (status, _, body) = app.post("/v1/customers", &c).await;
    let mut got = fields(&body);
    got.sort();
    assert_eq!((status, got), (422, vec![("access_restrictions".into(), "too_many".into()), ("usual_cylinders".into(), "too_many".into())]));

    let vehicle_type = json!({ "name": "大貨車", "kind": "truck", "cylinder_slots": vec![json!({ "size_kg": 20, "count": 10 }); 10_000],
        "max_load_kg": 3000, "max_gas_kg": 1500, "required_skills": vec!["a"; 100_000] });
    let (status, _, body) = app.post("/v1/vehicle-types", &vehicle_type).await;
    let mut got = fields(&body);
    got.sort();
    assert_eq!((status, got), (422, vec![("cylinder_slots".into(), "too_many".into()), ("required_skills".into(), "too_many".into())]));

    let plan = json!({ "date": "2026-03-02", "depot_ids": vec![1; 200_000] });
    let (status, _, body) = app.post("/v1/plans", &plan).await;
    assert_eq!((status, fields(&body)), (422, vec![("depot_ids".to_owned(), "too_many".to_owned())]), "{}", body["errors"]);
}

both_backends!(a_nul_anywhere_is_a_422_naming_the_field_never_a_500, lists_far_over_their_bounds_are_refused_with_one_error);

/// The SQLite pool behind a store.
fn sqlite(store: &Store) -> &sqlx::SqlitePool {
    match store {
        Store::Sqlite(pool) => pool,
        Store::Postgres(_) => panic!("a SQLite store"),
    }
}

#[tokio::test]
async fn a_sqlite_write_lock_held_elsewhere_is_a_503_to_retry_not_a_500() {
    let app = TestApp::start(Backend::Sqlite).await;
    let (status, _, _) = app.post("/v1/depots", &depot("板橋站")).await;
    assert_eq!(status, 201);
    // Another connection holds the write lock past the busy timeout (5 s).
    let mut lock = sqlite(app.store()).acquire().await.expect("a connection");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *lock).await.expect("take the write lock");

    let res = app.client.post(app.url("/v1/depots")).header("accept-language", "en").json(&depot("新莊站")).send().await.expect("POST");
    assert_eq!(res.status().as_u16(), 503);
    assert_eq!(res.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("5"));
    let body: Value = res.json().await.expect("problem");
    assert_eq!(problem_type(&body), "database-unavailable", "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("retry")), "{body}");
    // Reads go on meanwhile (WAL), and see no half-written depot.
    let (status, _, list) = app.get("/v1/depots").await;
    assert_eq!((status, list["total"].as_i64()), (200, Some(1)), "{list}");

    sqlx::query("ROLLBACK").execute(&mut *lock).await.expect("release the write lock");
    drop(lock);
    let (status, _, body) = app.post("/v1/depots", &depot("新莊站")).await;
    assert_eq!(status, 201, "writes work again once the lock is gone: {body}");
    app.finish().await;
}

/// A background job still running when its runner shuts down (past the grace period) goes back
/// to the queue with its attempt uncounted, and the next runner runs it to the end.
async fn a_shutdown_releases_a_running_background_job_uncounted(backend: Backend) {
    let db = Fresh::new(backend, true).await;
    let (claimed_tx, mut claimed_rx) = tokio::sync::mpsc::unbounded_channel::<i64>();
    let mut handlers = Handlers::default();
    handlers.on("test.forever", move |_, task| {
        let claimed = claimed_tx.clone();
        async move {
            let _ = claimed.send(task.id);
            std::future::pending::<Outcome>().await
        }
    });
    let mut background = Background::new(db.store.clone(), handlers, Channels::default());
    background.grace = Duration::from_millis(200);
    assert!(db.store.enqueue_job("test.forever", Some("forever"), "{}", chrono::Utc::now()).await.expect("enqueue"));
    let pool = background.clone().spawn(1);
    let id = tokio::time::timeout(Duration::from_secs(30), claimed_rx.recv()).await.expect("claimed within 30 s").expect("an id");
    assert_eq!(db.store.task_state(id).await.expect("state"), ("running".to_owned(), 1));
    pool.shutdown().await;
    assert_eq!(db.store.task_state(id).await.expect("state"), ("queued".to_owned(), 0), "given back, the attempt uncounted");

    // Three more restarts in a row use up no attempts either.
    for _ in 0..3 {
        let pool = background.clone().spawn(1);
        tokio::time::timeout(Duration::from_secs(30), claimed_rx.recv()).await.expect("claimed again").expect("an id");
        pool.shutdown().await;
    }
    assert_eq!(db.store.task_state(id).await.expect("state"), ("queued".to_owned(), 0));
    db.cleanup().await;
}

#[tokio::test]
async fn a_shutdown_releases_a_running_background_job_uncounted_on_sqlite() {
    a_shutdown_releases_a_running_background_job_uncounted(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_shutdown_releases_a_running_background_job_uncounted_on_postgres() {
    a_shutdown_releases_a_running_background_job_uncounted(Backend::Postgres).await;
}
