//! Feature flags over HTTP on the real server, on SQLite and PostgreSQL: reading built-in and
//! stored flags, writing them (with `If-Match`), every bad field named at once, each change in
//! the audit log with its definitions before and after, the kill switch, evaluation for a
//! subject, and a change made through one replica evaluated on another within seconds
//! (PostgreSQL: LISTEN/NOTIFY, also after the listening connection is terminated; SQLite: the
//! poll of the change counter).

mod support;

use planner_api::domain::Role;
use serde_json::{json, Value};
use std::future::Future;
use std::time::{Duration, Instant};
use support::{fields, problem_type, Backend, TestApp};

/// How long a change may take to reach another replica.
const PROPAGATION: Duration = Duration::from_secs(5);

/// Waits until `check` holds, looking every 25 ms, and panics with `what` after `deadline`.
async fn eventually<F, Fut>(what: &str, deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < deadline, "{what}: not within {deadline:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `GET base/v1/flags/{key}/evaluate?query` as the admin.
async fn evaluate(app: &TestApp, base: &str, key: &str, query: &str) -> Value {
    let res = app.client.get(format!("{base}/v1/flags/{key}/evaluate?{query}")).send().await.expect("GET evaluate");
    assert_eq!(res.status().as_u16(), 200, "evaluate {key}");
    res.json().await.expect("JSON")
}

fn stage_flag(default: &str) -> Value {
    json!({
        "description": "Orders move off the old system",
        "kind": "stage",
        "default": default,
        "rules": [{ "branches": [3], "variant": "new_primary" }],
        "schedule": [{ "at": "2030-01-05T06:00", "default": "legacy_off" }]
    })
}

async fn built_in_flags_are_listed_read_and_replaced_with_if_match(app: &TestApp) {
    let (status, _, list) = app.get("/v1/flags").await;
    assert_eq!(status, 200, "{list}");
    let keys: Vec<&str> = list["items"].as_array().expect("items").iter().filter_map(|f| f["key"].as_str()).collect();
    for key in ["legacy.customers", "legacy.deliveries", "legacy.invoices", "legacy.orders", "legacy.payments", "payments.bank_fetch"] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    let (status, _, orders) = app.get("/v1/flags/legacy.orders").await;
    assert_eq!(status, 200);
    assert_eq!(
        (orders["kind"].as_str(), orders["default"].as_str(), orders["version"].as_i64(), orders["builtin"].as_bool()),
        (Some("stage"), Some("dual_write"), Some(0), Some(true))
    );
    assert_eq!(orders["updated_by"], Value::Null);

    // The first write creates the stored flag; the key may be left to the path.
    let res = app.client.get(app.url("/v1/flags/legacy.orders")).send().await.expect("GET");
    let builtin_etag = res.headers().get("etag").and_then(|v| v.to_str().ok()).expect("an ETag").to_owned();
    let put = app.client.put(app.url("/v1/flags/legacy.orders")).header("If-Match", &builtin_etag).json(&stage_flag("dual_write"));
    let res = put.send().await.expect("PUT");
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(res.headers().get("location").and_then(|v| v.to_str().ok()), Some("/v1/flags/legacy.orders"));
    let created: Value = res.json().await.expect("JSON");
    assert_eq!((created["version"].as_i64(), created["updated_by"].as_str()), (Some(1), Some(app.admin_email.as_str())), "{created}");
    assert_eq!(created["schedule"][0]["at"], "2030-01-04T22:00:00Z", "Taipei time stored in UTC");

    // A writer holding the built-in's ETag is now refused; the current one goes through.
    let stale = app.client.put(app.url("/v1/flags/legacy.orders")).header("If-Match", &builtin_etag).json(&stage_flag("legacy_only"));
    let (status, _, body) = app.send(stale).await;
    assert_eq!((status, problem_type(&body)), (412, "precondition-failed"), "{body}");
    let res = app.client.get(app.url("/v1/flags/legacy.orders")).send().await.expect("GET");
    let etag = res.headers().get("etag").and_then(|v| v.to_str().ok()).expect("an ETag").to_owned();
    let fresh = app.client.put(app.url("/v1/flags/legacy.orders")).header("If-Match", &etag).json(&stage_flag("new_primary"));
    let (status, _, body) = app.send(fresh).await;
    assert_eq!((status, body["version"].as_i64(), body["default"].as_str()), (200, Some(2), Some("new_primary")), "{body}");

    // A flag the code does not declare yet may be written too.
    let (status, _, body) = app.put("/v1/flags/routing.night_shift", &json!({ "kind": "boolean", "default": "off" })).await;
    assert_eq!((status, body["builtin"].as_bool(), body["enabled"].as_bool()), (201, Some(false), Some(true)), "{body}");
    let (status, _, body) = app.get("/v1/flags/routing.nothing").await;
    assert_eq!((status, problem_type(&body)), (404, "not-found"), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("功能旗標")), "{body}");

    // Every change is in the one audit log, with the definitions before and after.
    let (status, _, audit) = app.get("/v1/audit?path=/v1/flags/legacy.orders").await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["items"].as_array().expect("items");
    assert_eq!(entries.len(), 2, "two accepted writes (the refused one is not a change): {audit}");
    let latest = &entries[0]["detail"];
    assert_eq!((latest["before"]["default"].as_str(), latest["after"]["default"].as_str()), (Some("dual_write"), Some("new_primary")), "{latest}");
    assert_eq!((latest["before_version"].as_i64(), latest["after_version"].as_i64()), (Some(1), Some(2)));
    let first = &entries[1]["detail"];
    assert_eq!((first["before_version"].as_i64(), first["before"]["rules"].as_array().map(Vec::len)), (Some(0), None), "the built-in before it: {first}");
    assert_eq!(entries[1]["actor"], app.admin_email.as_str());
}

async fn every_bad_field_is_named_at_once_in_both_languages(app: &TestApp) {
    let bad = json!({
        "kind": "stage",
        "default": "on",
        "rules": [{ "roles": ["janitor"], "customers": [0], "variant": "sideways" }, { "variant": "legacy_off" }],
        "rollout": { "basis_points": 10001, "variant": "dual_write" },
        "schedule": [{ "at": "2030-01-05T06:00", "default": "legacy_off" }, { "at": "2030-01-04T22:00:00Z", "default": "dual_write" }, { "at": "soon", "default": "dual_write" }]
    });
    let (status, ct, body) = app.put("/v1/flags/legacy.orders", &bad).await;
    assert_eq!((status, ct.as_str(), problem_type(&body)), (422, "application/problem+json", "validation"), "{body}");
    let got: Vec<(String, String)> = fields(&body);
    let want = [
        ("default", "not_allowed"),
        ("rules[0].customers[0]", "out_of_range"),
        ("rules[0].variant", "not_allowed"),
        ("rules[1]", "empty_rule"),
        ("rollout.basis_points", "out_of_range"),
        ("schedule[1].at", "duplicate"),
        ("schedule[2].at", "pattern"),
        ("rules[0].roles[0]", "not_allowed"),
    ];
    assert_eq!(got, want.map(|(f, c)| (f.to_owned(), c.to_owned())), "{body}");
    assert_eq!(body["title"], "資料驗證失敗");
    let en = app.send(app.client.put(app.url("/v1/flags/legacy.orders")).header("Accept-Language", "en").json(&bad)).await.2;
    assert_eq!(en["title"], "Validation failed");
    assert!(en["errors"][3]["message"].as_str().is_some_and(|m| m.contains("at least one condition")), "{en}");

    // The key: its shape, and the path's; a built-in flag keeps its kind.
    let (status, _, body) = app.put("/v1/flags/Legacy%20Orders", &json!({ "kind": "boolean", "default": "off" })).await;
    assert_eq!((status, fields(&body)), (422, vec![("key".to_owned(), "pattern".to_owned())]), "{body}");
    let (status, _, body) = app.put("/v1/flags/legacy.orders", &json!({ "key": "legacy.invoices", "kind": "stage", "default": "dual_write" })).await;
    assert_eq!((status, fields(&body)), (422, vec![("key".to_owned(), "key_mismatch".to_owned())]), "{body}");
    let (status, _, body) = app.put("/v1/flags/legacy.orders", &json!({ "kind": "boolean", "default": "on" })).await;
    assert_eq!((status, fields(&body)), (422, vec![("kind".to_owned(), "builtin_kind".to_owned())]), "{body}");
    let (status, _, body) = app.put("/v1/flags/legacy.orders", &json!({ "kind": "stage", "default": "dual_write", "colour": "red" })).await;
    assert_eq!((status, fields(&body)), (422, vec![("colour".to_owned(), "unknown_field".to_owned())]), "{body}");
    assert_eq!(app.get("/v1/flags/legacy.orders").await.2["version"], 0, "nothing was written");
}

async fn admins_write_dispatchers_and_analysts_read_and_evaluate(app: &TestApp) {
    for role in [Role::Dispatcher, Role::Analyst] {
        let caller = app.as_role(role).await;
        assert_eq!(caller.get("/v1/flags").await.0, 200, "{role:?}");
        assert_eq!(caller.get("/v1/flags/legacy.orders/evaluate?branch=3").await.0, 200, "{role:?}");
        assert_eq!(caller.put("/v1/flags/legacy.orders", &stage_flag("legacy_only")).await.0, 403, "{role:?}");
        assert_eq!(caller.post("/v1/flags/legacy.orders/kill", &json!({})).await.0, 403, "{role:?}");
    }
    for role in [Role::Driver, Role::Accountant] {
        assert_eq!(app.as_role(role).await.get("/v1/flags").await.0, 403, "{role:?}");
    }
}

async fn the_kill_switch_beats_every_rule_and_evaluation_says_why(app: &TestApp) {
    let flag = json!({
        "kind": "boolean", "default": "off",
        "rules": [{ "roles": ["driver"], "branches": [3], "variant": "on" }],
        "rollout": { "basis_points": 10000, "variant": "on" },
        "schedule": [{ "at": "2030-01-05T06:00", "default": "on" }]
    });
    assert_eq!(app.put("/v1/flags/payments.new_matching", &flag).await.0, 201);
    let base = app.base.as_str();
    let rule = evaluate(app, base, "payments.new_matching", "role=driver&branch=3").await;
    assert_eq!(rule, json!({ "key": "payments.new_matching", "version": 1, "variant": "on", "reason": "rule", "rule": 0 }));
    assert_eq!(evaluate(app, base, "payments.new_matching", "customer=7").await["reason"], "rollout");
    assert_eq!(evaluate(app, base, "payments.new_matching", "").await["reason"], "default", "no subject: outside the rollout");
    let later = evaluate(app, base, "payments.new_matching", "at=2030-01-05T06:00").await;
    assert_eq!((later["variant"].as_str(), later["reason"].as_str()), (Some("on"), Some("schedule")));
    let (status, _, body) = app.get("/v1/flags/payments.new_matching/evaluate?role=janitor&branch=x&at=tomorrow").await;
    let bad: Vec<String> = fields(&body).into_iter().map(|(f, _)| f).collect();
    assert_eq!((status, bad), (422, vec!["role".to_owned(), "branch".to_owned(), "at".to_owned()]), "{body}");
    assert_eq!(app.get("/v1/flags/nothing.here/evaluate").await.0, 404);

    let (status, _, killed) = app.post("/v1/flags/payments.new_matching/kill", &json!({})).await;
    assert_eq!((status, killed["enabled"].as_bool(), killed["version"].as_i64()), (200, Some(false), Some(2)), "{killed}");
    for query in ["role=driver&branch=3", "customer=7", "at=2030-01-05T06:00", ""] {
        let e = evaluate(app, base, "payments.new_matching", query).await;
        assert_eq!((e["variant"].as_str(), e["reason"].as_str()), (Some("off"), Some("killed")), "{query}: {e}");
    }
    let ctx = flags::Context::at(chrono::Utc::now()).role("driver").branch(3);
    assert!(!app.flags.is_on("payments.new_matching", &ctx), "the code's own evaluation agrees");
    // Killing it again changes nothing; a built-in stage flag is killed to `legacy_only`.
    assert_eq!(app.post("/v1/flags/payments.new_matching/kill", &json!({})).await.2["version"], 2);
    let (status, _, body) = app.post("/v1/flags/legacy.payments/kill", &json!({})).await;
    assert_eq!((status, body["version"].as_i64()), (200, Some(1)), "{body}");
    assert_eq!(app.flags.stage("legacy.payments", &ctx), flags::Stage::LegacyOnly);
    assert_eq!(app.post("/v1/flags/nothing.here/kill", &json!({})).await.0, 404);
    // Released by writing it with `enabled: true`.
    let mut revived = flag.clone();
    revived["enabled"] = json!(true);
    assert_eq!(app.put("/v1/flags/payments.new_matching", &revived).await.2["version"], 3);
    assert!(app.flags.is_on("payments.new_matching", &ctx));
    let (_, _, audit) = app.get("/v1/audit?path=/v1/flags/payments.new_matching").await;
    let kills: Vec<&Value> = audit["items"].as_array().expect("items").iter().filter(|e| e["path"].as_str().is_some_and(|p| p.ends_with("/kill"))).collect();
    assert_eq!(kills.len(), 2, "both kills are accepted writes: {audit}");
    assert_eq!(kills[0]["detail"]["before"], kills[0]["detail"]["after"], "the second changed nothing");
    let kill = &kills[1]["detail"];
    assert_eq!((kill["before"]["enabled"].as_bool(), kill["after"]["enabled"].as_bool()), (Some(true), Some(false)), "{audit}");
}

async fn a_change_through_one_replica_is_evaluated_on_another_within_seconds(app: &TestApp) {
    let replica = app.replica().await;
    let base = replica.base.as_str();
    assert_eq!(evaluate(app, base, "legacy.orders", "branch=4").await["variant"], "dual_write", "the built-in default");

    assert_eq!(app.put("/v1/flags/legacy.orders", &stage_flag("new_primary")).await.0, 201);
    eventually("the replica evaluates the new default", PROPAGATION, || async move {
        evaluate(app, base, "legacy.orders", "branch=4").await["variant"] == "new_primary"
    })
    .await;
    let ctx = flags::Context::at(chrono::Utc::now()).branch(4);
    assert_eq!(replica.flags.stage("legacy.orders", &ctx), flags::Stage::NewPrimary, "its code sees it too");

    assert_eq!(app.post("/v1/flags/legacy.orders/kill", &json!({})).await.0, 200);
    eventually("the replica sees the kill switch", PROPAGATION, || async move { evaluate(app, base, "legacy.orders", "branch=4").await["reason"] == "killed" })
        .await;

    // And the other way round.
    let mut back = stage_flag("legacy_off");
    back["enabled"] = json!(true);
    let put = app.client.put(format!("{base}/v1/flags/legacy.orders")).json(&back);
    assert_eq!(app.send(put).await.0, 200);
    let set = &app.flags;
    eventually("the first server sees the replica's change", PROPAGATION, || async move { set.stage("legacy.orders", &ctx) == flags::Stage::LegacyOff }).await;
    replica.finish().await;
}

/// A module at `legacy_only` is run in the old program: the service refuses its writes, and
/// takes them again once the module is cut over.
async fn a_module_at_legacy_only_refuses_its_writes(app: &TestApp) {
    let customer = json!({
        "code": "C0901", "name": "切換測試", "address": "信義路五段7號", "district": "信義區", "lat": 25.0336, "lon": 121.5648,
        "time_windows": [], "usual_cylinders": [{ "size_kg": 20, "quantity": 1 }], "access_restrictions": [], "payment_method": "cash"
    });
    assert_eq!(app.put("/v1/flags/legacy.customers", &json!({ "kind": "stage", "default": "legacy_only" })).await.0, 201);
    let (status, _, body) = app.post("/v1/customers", &customer).await;
    assert_eq!((status, problem_type(&body)), (409, "legacy-only"), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("legacy.customers") && d.contains("舊系統")), "{body}");
    assert_eq!(app.get("/v1/customers").await.2["total"], 0, "nothing was written");
    assert_eq!(app.put("/v1/flags/legacy.customers", &json!({ "kind": "stage", "default": "dual_write" })).await.0, 200);
    assert_eq!(app.post("/v1/customers", &customer).await.0, 201);
}

/// `/v1/sync`: the queue, dead letters and conflicts read by those who run the day; replay and
/// reconciliation by admins; a reconciliation without a legacy database says so.
async fn the_sync_is_watched_over_http(app: &TestApp) {
    let (status, _, body) = app.get("/v1/sync").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["configured"].as_bool(), body["pending"].as_i64(), body["drift"].as_i64()), (Some(false), Some(0), Some(-1)), "{body}");
    let (status, _, body) = app.get("/v1/sync/dead-letters?limit=5").await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (200, Some(0)), "{body}");
    assert_eq!(app.get("/v1/sync/conflicts?limit=0").await.0, 422);
    assert_eq!(app.get("/v1/sync/dead-letters?after=").await.0, 200);
    assert_eq!(app.get("/v1/sync/conflicts?record=C0001").await.0, 200);
    assert_eq!(app.post("/v1/sync/dead-letters/replay", &json!({})).await.2["replayed"], 0);
    let (status, _, body) = app.post("/v1/sync/reconcile", &json!({ "repair": "to-legacy" })).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(app.post("/v1/sync/reconcile", &json!({ "repair": "sideways" })).await.0, 422);
    for role in [Role::Dispatcher, Role::Analyst] {
        let caller = app.as_role(role).await;
        assert_eq!(caller.get("/v1/sync").await.0, 200, "{role:?}");
        assert_eq!(caller.post("/v1/sync/dead-letters/replay", &json!({})).await.0, 403, "{role:?}");
    }
    assert_eq!(app.as_role(Role::Driver).await.get("/v1/sync/conflicts").await.0, 403);
}

both_backends!(
    a_module_at_legacy_only_refuses_its_writes,
    the_sync_is_watched_over_http,
    built_in_flags_are_listed_read_and_replaced_with_if_match,
    every_bad_field_is_named_at_once_in_both_languages,
    admins_write_dispatchers_and_analysts_read_and_evaluate,
    the_kill_switch_beats_every_rule_and_evaluation_says_why,
    a_change_through_one_replica_is_evaluated_on_another_within_seconds,
);

/// PostgreSQL: the replica's listening connection is terminated by the server; a change made
/// while it is gone arrives by the reload that follows the reconnection, and a change made after
/// it by the notification on the new connection.
#[tokio::test]
async fn a_terminated_listener_reconnects_and_misses_no_change_on_postgres() {
    let app = TestApp::start(Backend::Postgres).await;
    let replica = app.replica().await;
    let Some(pid) = replica.flag_sync.listener_pid() else { panic!("the replica listens") };
    let sqlx_store = match app.store() {
        planner_api::store::Store::Postgres(pool) => pool.clone(),
        planner_api::store::Store::Sqlite(_) => unreachable!("PostgreSQL"),
    };
    let terminated: bool =
        sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(i32::try_from(pid).expect("a pid")).fetch_one(&sqlx_store).await.expect("terminate");
    assert!(terminated, "backend {pid} terminated");
    // Made at once: the replica is likely reconnecting now, so only its reload can bring it.
    assert_eq!(app.put("/v1/flags/legacy.customers", &json!({ "kind": "stage", "default": "new_primary" })).await.0, 201);
    let ctx = flags::Context::at(chrono::Utc::now());
    let (set, sync) = (&replica.flags, &replica.flag_sync);
    eventually("the change made around the reconnection", PROPAGATION, || async move { set.stage("legacy.customers", &ctx) == flags::Stage::NewPrimary }).await;
    eventually("a new listening connection", PROPAGATION, || async move { sync.listener_pid().is_some_and(|p| p != pid) }).await;
    // After it: by notification on the new connection.
    assert_eq!(app.post("/v1/flags/legacy.customers/kill", &json!({})).await.0, 200);
    eventually("the change after the reconnection", PROPAGATION, || async move { set.stage("legacy.customers", &ctx) == flags::Stage::LegacyOnly }).await;
    let scrape = app.client.get(format!("{}/metrics", replica.base)).send().await.expect("GET /metrics").text().await.expect("text");
    assert!(scrape.contains("luckygas_flag_reloads_total{scope=\"all\"}"), "{scrape}");
    replica.finish().await;
    app.finish().await;
}
