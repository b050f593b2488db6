//! Big days (issue 16, point 3): a day of 10,000 orders across five depots plans, saves,
//! replans and lists through the real application on `127.0.0.1:0`; the cap on orders per plan
//! refuses a bigger day before anything is stored; order lists page by key without skipping or
//! repeating while orders arrive; a plan's stored size grows linearly in its orders; a depot
//! with more orders than a part may hold is planned and replanned in sectors.

mod support;

use chrono::NaiveDate;
use planner_api::domain::FieldProblem;
use planner_api::planning::sample;
use planner_api::planning::WorkerConfig;
use planner_api::store::{Store, StoreError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use support::{customer, fields, problem_type, wait_for_plan, Backend, TestApp};

const DAY: &str = "2026-03-02";

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).expect("date")
}

/// One number of a query over the test's database.
async fn scalar(store: &Store, sql: &str) -> i64 {
    match store {
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql),
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql),
    }
}

/// Bytes stored for plan `id`: the job's row and its versions.
async fn stored_bytes(store: &Store, id: i64) -> i64 {
    let job = format!(
        "SELECT CAST(COALESCE(LENGTH(request), 0) + COALESCE(LENGTH(order_ids), 0) + COALESCE(LENGTH(progress), 0) + COALESCE(LENGTH(problem), 0) \
         + COALESCE(LENGTH(result), 0) + COALESCE(LENGTH(model), 0) AS BIGINT) FROM plan_jobs WHERE id = {id}"
    );
    let versions = format!(
        "SELECT CAST(COALESCE(SUM(LENGTH(events) + LENGTH(execution) + LENGTH(diff) + LENGTH(result) + COALESCE(LENGTH(model), 0)), 0) AS BIGINT) \
         FROM plan_versions WHERE plan_id = {id}"
    );
    scalar(store, &job).await + scalar(store, &versions).await
}

/// Every stop of a plan: order → vehicle.
fn stops(plan: &Value) -> BTreeMap<i64, i64> {
    let mut m = BTreeMap::new();
    for r in plan["routes"].as_array().expect("routes") {
        for s in r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().expect("stops")) {
            let old = m.insert(s["order_id"].as_i64().expect("order"), r["vehicle_id"].as_i64().expect("vehicle"));
            assert!(old.is_none(), "order {} on two routes", s["order_id"]);
        }
    }
    m
}

fn unassigned(plan: &Value) -> BTreeSet<i64> {
    plan["unassigned"].as_array().expect("unassigned").iter().filter_map(|u| u["order_id"].as_i64()).collect()
}

/// Every order of the day through keyset pages of `limit`: ids in order, each once.
async fn list_by_key(app: &TestApp, query: &str, limit: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut after = String::new();
    loop {
        let (status, _, page) = app.get(&format!("/v1/orders?{query}&limit={limit}&after={after}")).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.get("total").is_none() && page.get("offset").is_none(), "a keyset page counts nothing: {page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= limit);
        ids.extend(items.iter().map(|o| o["id"].as_i64().expect("id")));
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => return ids,
        }
    }
}

/// The day the issue asks for: 10,000 orders around five depots, plus one more that the cap
/// refuses until it is cancelled. Plans with a fixed seed and an iteration limit, checks that
/// every order is once on a route or unassigned and that each route stays with its depot's
/// customers' part, measures what is stored, replans one cancellation (only that depot's part
/// changes), downloads the matrix-free solver input, and lists all orders by key.
async fn ten_thousand_orders_round_trip(backend: Backend) {
    let started = Instant::now();
    // Planning takes minutes of wall time when the machine is shared: tokens outlive the test.
    let secret = planner_api::auth::random_hex(32);
    let mut auth = planner_api::auth::AuthConfig::with_secret(secret.as_bytes(), planner_api::auth::KeySource::Env);
    auth.access_ttl = Duration::from_secs(6 * 3600);
    let app = TestApp::on_with(support::Fresh::new(backend, true).await, secret, auth).await;
    let seeded = sample::seed(app.store(), day(), 10_000, 5, "t").await.expect("seed the day");
    let extra = {
        let c = app.post("/v1/customers", &customer("X0001", "內湖區")).await.2["id"].clone();
        let order = json!({ "customer_id": c, "delivery_date": DAY, "cylinders": [{ "size_kg": 20, "quantity": 1 }], "priority": "normal" });
        app.post("/v1/orders", &order).await.2["id"].as_i64().expect("order id")
    };
    let seeded_s = started.elapsed().as_secs_f64();

    // 10,001 orders: over the default cap of 10,000, refused in both languages, nothing stored.
    let request = json!({ "date": DAY, "depot_ids": seeded.depot_ids, "options": { "seed": 7, "max_iterations": 20, "time_limit_s": 300 } });
    let (status, _, zh) = app.post("/v1/plans", &request).await;
    assert_eq!((status, problem_type(&zh)), (422, "validation"), "{zh}");
    assert_eq!(fields(&zh), vec![("date".to_owned(), "too_many_orders".to_owned())]);
    assert!(zh["errors"][0]["message"].as_str().is_some_and(|m| m.contains("10001") && m.contains("10000") && m.contains("上限")), "{zh}");
    let (_, _, en) = app.send(app.client.post(app.url("/v1/plans")).header("Accept-Language", "en").json(&request)).await;
    assert!(en["errors"][0]["message"].as_str().is_some_and(|m| m.contains("more than the 10000")), "{en}");
    assert_eq!(scalar(app.store(), "SELECT COUNT(*) FROM plan_jobs").await, 0, "nothing queued");
    assert_eq!(scalar(app.store(), "SELECT COUNT(*) FROM orders WHERE plan_id IS NOT NULL").await, 0, "nothing reserved");
    let (status, _, body) = app.post(&format!("/v1/orders/{extra}/status"), &json!({ "status": "cancelled" })).await;
    assert_eq!(status, 200, "{body}");

    // 10,000: planned depot by depot.
    let (status, _, job) = app.post("/v1/plans", &request).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().expect("id");
    let job = wait_for_plan(&app.client, &app.base, id, Duration::from_secs(3600)).await;
    assert_eq!(job["status"], "succeeded", "{}", job["error"]);
    let planned_s = started.elapsed().as_secs_f64() - seeded_s;
    let plan = &job["result"];
    let routed = stops(plan);
    let left = unassigned(plan);
    let all: BTreeSet<i64> = seeded.order_ids.iter().copied().collect();
    assert_eq!(routed.len() + left.len(), all.len(), "each order once, on a route or unassigned");
    assert!(routed.keys().chain(&left).all(|o| all.contains(o)));
    assert!(routed.len() > 9_000, "most orders are served: {} of 10,000", routed.len());
    // Each route serves its own depot's trips.
    for r in plan["routes"].as_array().expect("routes") {
        assert!(r["trips"].as_array().expect("trips").iter().all(|t| t["depot_id"] == r["depot_id"]), "{}", r["vehicle_id"]);
    }
    let first_bytes = stored_bytes(app.store(), id).await;

    // One replan: a cancellation in the first depot's part.
    let cancelled = *routed.keys().next().expect("a routed order");
    let vehicle = routed[&cancelled];
    let depot_of = |plan: &Value, v: i64| plan["routes"].as_array().expect("routes").iter().find(|r| r["vehicle_id"] == v).map(|r| r["depot_id"].clone());
    let home = depot_of(plan, vehicle).expect("its route");
    let body = json!({ "base_version": 1, "at": "09:00", "events": [{ "type": "order_cancelled", "order_id": cancelled }] });
    let replan_started = Instant::now();
    let (status, _, v2) = app.post(&format!("/v1/plans/{id}/events"), &body).await;
    let replan_s = replan_started.elapsed().as_secs_f64();
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["version"], 2);
    let after = stops(&v2["plan"]);
    assert!(!after.contains_key(&cancelled) && !unassigned(&v2["plan"]).contains(&cancelled), "the cancelled order left the plan");
    assert_eq!(after.len() + unassigned(&v2["plan"]).len(), all.len() - 1);
    // The other depots' routes are as they were.
    let others = |p: &Value| -> Vec<Value> { p["routes"].as_array().expect("routes").iter().filter(|r| r["depot_id"] != home).cloned().collect() };
    assert_eq!(others(plan), others(&v2["plan"]), "only the touched depot's part was replanned");
    assert_eq!(app.get(&format!("/v1/orders/{cancelled}")).await.2["status"], "cancelled");
    let total_bytes = stored_bytes(app.store(), id).await;

    // What an analyst downloads without matrices names every client.
    let text = app.client.get(app.url(&format!("/v1/plans/{id}/problem?matrices=false"))).send().await.expect("GET").text().await.expect("text");
    let doc: solver::io::json::JsonProblem = serde_json::from_str(&text).expect("the solver input");
    assert_eq!((doc.clients.len(), doc.depots.len()), (all.len() - 1, 5), "the newest version's clients: all but the cancelled order");

    // All orders of the day by key, 200 at a time: each exactly once, in id order.
    let list_started = Instant::now();
    let listed = list_by_key(&app, &format!("date={DAY}"), 200).await;
    let list_s = list_started.elapsed().as_secs_f64();
    let mut expected: Vec<i64> = all.iter().copied().collect();
    expected.push(extra);
    expected.sort_unstable();
    assert_eq!(listed, expected);

    assert!(first_bytes < 25_000_000 && total_bytes < 50_000_000, "stored {first_bytes} B after planning, {total_bytes} B after a replan");
    eprintln!(
        "{backend:?}: seeded {seeded_s:.1} s, planned {planned_s:.1} s, replanned {replan_s:.1} s, listed 51 pages {list_s:.2} s; \
         stored {first_bytes} B, {total_bytes} B with two versions"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_day_of_ten_thousand_orders_plans_saves_replans_and_lists_on_sqlite() {
    ten_thousand_orders_round_trip(Backend::Sqlite).await;
}

/// The same on PostgreSQL: not measured yet on the shared 2-core machine, so it runs on demand
/// (`cargo test -p planner-api --test big_day -- --ignored`).
#[tokio::test]
#[ignore = "minutes on a shared 2-core machine; run with --ignored"]
async fn a_day_of_ten_thousand_orders_plans_saves_replans_and_lists_on_postgres() {
    ten_thousand_orders_round_trip(Backend::Postgres).await;
}

/// The cap, at the store: a day over it stores no job and reserves no order.
async fn the_cap_refuses_before_anything_is_stored(backend: Backend) {
    let db = support::Fresh::new(backend, true).await;
    let seeded = sample::seed(&db.store, day(), 6, 2, "c").await.expect("seed");
    let input: planner_api::domain::PlanRequestInput = serde_json::from_value(json!({ "date": DAY, "depot_ids": seeded.depot_ids })).expect("input");
    let request = input.validate(60.0).expect("valid");
    match db.store.create_plan_job(&request, 5).await {
        Err(StoreError::Invalid(errors)) => assert_eq!(errors[0].problem, FieldProblem::TooManyOrders { count: 6, max: 5 }),
        other => panic!("refused: {other:?}"),
    }
    assert_eq!(scalar(&db.store, "SELECT COUNT(*) FROM plan_jobs").await, 0);
    assert_eq!(scalar(&db.store, "SELECT COUNT(*) FROM orders WHERE plan_id IS NOT NULL").await, 0);
    let job = db.store.create_plan_job(&request, 6).await.expect("at the cap is fine");
    assert_eq!(job.order_ids.len(), 6);
    db.cleanup().await;
}

/// Keyset pages over a growing list: orders created between pages (with higher ids) come on
/// later pages; none is skipped or repeated; filters, bad cursors and `offset` with `after`.
async fn keyset_pages_neither_skip_nor_repeat_while_orders_arrive(backend: Backend) {
    let app = TestApp::start(backend).await;
    let c = app.post("/v1/customers", &customer("K0001", "信義區")).await.2["id"].as_i64().expect("customer");
    let order =
        |date: &str, priority: &str| json!({ "customer_id": c, "delivery_date": date, "cylinders": [{ "size_kg": 20, "quantity": 1 }], "priority": priority });
    let mut ours = Vec::new();
    for i in 0..23 {
        ours.push(app.post("/v1/orders", &order(DAY, if i % 3 == 0 { "urgent" } else { "normal" })).await.2["id"].as_i64().expect("id"));
        app.post("/v1/orders", &order("2026-03-03", "normal")).await;
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let (status, _, page) = app.get(&format!("/v1/orders?date={DAY}&limit=5&after={after}")).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        seen.extend(page["items"].as_array().expect("items").iter().map(|o| o["id"].as_i64().expect("id")));
        assert!(page["items"].as_array().expect("items").iter().all(|o| o["delivery_date"] == DAY));
        // Two new orders of the day arrive after each page, for the first three pages.
        if pages <= 3 {
            for _ in 0..2 {
                ours.push(app.post("/v1/orders", &order(DAY, "normal")).await.2["id"].as_i64().expect("id"));
            }
        }
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ours, "every order of the day once, in id order, the late ones last");

    // Filters combine with the key; the first offset page names the cursor to go on with.
    let urgent = list_by_key(&app, &format!("date={DAY}&priority=urgent"), 3).await;
    assert_eq!(urgent, ours.iter().copied().step_by(3).take(8).collect::<Vec<_>>());
    let (_, _, first) = app.get(&format!("/v1/orders?date={DAY}&limit=10")).await;
    assert_eq!((first["total"].as_i64(), first["offset"].as_i64()), (Some(29), Some(0)), "{first}");
    let (_, _, second) = app.get(&format!("/v1/orders?date={DAY}&limit=10&after={}", first["next"].as_str().expect("next"))).await;
    assert_eq!(second["items"][0]["id"].as_i64(), Some(ours[10]));

    let (status, _, bad) = app.get("/v1/orders?after=42").await;
    assert_eq!((status, fields(&bad)), (422, vec![("after".to_owned(), "pattern".to_owned())]), "{bad}");
    let (status, _, both) = app.get("/v1/orders?after=&offset=10").await;
    assert_eq!((status, fields(&both)), (422, vec![("offset".to_owned(), "offset_with_after".to_owned())]), "{both}");
    app.finish().await;
}

/// The keyset queries are index range scans in id order, with no sort, on both backends.
async fn keyset_queries_scan_an_index_in_id_order(backend: Backend) {
    let db = support::Fresh::new(backend, true).await;
    let cases = [
        ("delivery_date = '2026-03-02'", "orders_date_id"),
        ("delivery_date = '2026-03-02' AND status = 'received'", "orders_date_status_id"),
        ("plan_id = 3", "orders_plan_id"),
        ("customer_id = 3", "orders_customer_id"),
        ("status = 'planned'", "orders_status_id"),
    ];
    for (filter, index) in cases {
        let query = format!("SELECT id FROM orders WHERE {filter} AND id > 100 ORDER BY id LIMIT 50");
        let plan = support::query_plan(&db.store, &query).await;
        // SQLite picks the index of the filters; PostgreSQL, without statistics on an empty
        // table, may pick another of them: what matters is an index range scan in id order.
        let named = match backend {
            Backend::Sqlite => plan.contains(index),
            Backend::Postgres => plan.contains("Index Scan using orders_") || plan.contains("Index Only Scan using orders_"),
        };
        assert!(named, "{filter}: {plan}");
        assert!(!plan.contains("TEMP B-TREE") && !plan.contains("Sort"), "{filter} needs no sort: {plan}");
    }
    db.cleanup().await;
}

/// Stored plan size for N and 2N orders: about twice (it was about four times with the
/// matrices).
async fn stored_plan_size_grows_linearly(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut sizes = Vec::new();
    for (k, n) in [(0, 150usize), (1, 300)] {
        let date = NaiveDate::from_ymd_opt(2026, 3, 10 + k).expect("date");
        let seeded = sample::seed(app.store(), date, n, 1, &format!("s{k}")).await.expect("seed");
        let request = json!({ "date": date.to_string(), "depot_ids": seeded.depot_ids, "options": { "seed": 3, "max_iterations": 10, "time_limit_s": 60 } });
        let (status, _, job) = app.post("/v1/plans", &request).await;
        assert_eq!(status, 202, "{job}");
        let id = job["id"].as_i64().expect("id");
        assert_eq!(wait_for_plan(&app.client, &app.base, id, Duration::from_secs(300)).await["status"], "succeeded");
        sizes.push(stored_bytes(app.store(), id).await);
    }
    #[allow(clippy::cast_precision_loss)]
    let ratio = sizes[1] as f64 / sizes[0] as f64;
    assert!((1.5..3.0).contains(&ratio), "stored {sizes:?} bytes for 150 and 300 orders: ratio {ratio:.2}");
    app.finish().await;
}

/// One depot, 700 orders, parts of at most 250 (`PLAN_PART_MAX_ORDERS`): the day is cut into
/// three sectors with a share of the vehicles each, planned, then replanned (a cancellation and
/// an added order) in the sectors the events touch only.
async fn a_crowded_depot_is_planned_and_replanned_in_sectors(backend: Backend) {
    let config = WorkerConfig { workers: 1, poll: Duration::from_millis(50), lease: Duration::from_secs(5), part_max_orders: 250, ..WorkerConfig::default() };
    let app = TestApp::start_with_planning(backend, config).await;
    let date = NaiveDate::from_ymd_opt(2026, 3, 12).expect("date");
    let seeded = sample::seed(app.store(), date, 700, 1, "c").await.expect("seed");
    let request = json!({ "date": date.to_string(), "depot_ids": seeded.depot_ids, "options": { "seed": 5, "max_iterations": 10, "time_limit_s": 120 } });
    let (status, _, job) = app.post("/v1/plans", &request).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().expect("id");
    let job = wait_for_plan(&app.client, &app.base, id, Duration::from_secs(600)).await;
    assert_eq!(job["status"], "succeeded", "{}", job["error"]);
    let plan = &job["result"];
    let routed = stops(plan);
    let all: BTreeSet<i64> = seeded.order_ids.iter().copied().collect();
    assert_eq!(routed.len() + unassigned(plan).len(), all.len(), "each order once");
    assert!(routed.len() > 600, "most orders are served: {} of 700", routed.len());
    let routes = plan["routes"].as_array().expect("routes").len();

    // A cancellation: the other sectors' routes are left as they were.
    let cancelled = *routed.keys().next().expect("a routed order");
    let body = json!({ "base_version": 1, "at": "09:00", "events": [{ "type": "order_cancelled", "order_id": cancelled }] });
    let (status, _, v2) = app.post(&format!("/v1/plans/{id}/events"), &body).await;
    assert_eq!(status, 201, "{v2}");
    assert!(!stops(&v2["plan"]).contains_key(&cancelled));
    assert_eq!(stops(&v2["plan"]).len() + unassigned(&v2["plan"]).len(), all.len() - 1);
    let same = |a: &Value, b: &Value| -> usize {
        let bs = b["routes"].as_array().expect("routes");
        a["routes"].as_array().expect("routes").iter().filter(|r| bs.contains(r)).count()
    };
    assert!(same(plan, &v2["plan"]) * 3 >= routes * 2 - 3, "two sectors of three untouched: {} of {routes} routes kept", same(plan, &v2["plan"]));

    // An order added later joins the sector of its bearing and is planned there.
    let c = app.post("/v1/customers", &customer("C9001", "內湖區")).await.2["id"].clone();
    let order = json!({ "customer_id": c, "delivery_date": date.to_string(), "cylinders": [{ "size_kg": 20, "quantity": 1 }], "priority": "normal" });
    let added = app.post("/v1/orders", &order).await.2["id"].as_i64().expect("order id");
    let body = json!({ "base_version": 2, "at": "09:30", "events": [{ "type": "order_added", "order_id": added }] });
    let (status, _, v3) = app.post(&format!("/v1/plans/{id}/events"), &body).await;
    assert_eq!(status, 201, "{v3}");
    assert!(stops(&v3["plan"]).contains_key(&added) || unassigned(&v3["plan"]).contains(&added), "{}", v3["plan"]["unassigned"]);
    assert_eq!(stops(&v3["plan"]).len() + unassigned(&v3["plan"]).len(), all.len());
    assert!(same(&v2["plan"], &v3["plan"]) * 3 >= routes * 2 - 3, "{} of {routes} routes kept", same(&v2["plan"], &v3["plan"]));
    app.finish().await;
}

each_backend!(
    a_crowded_depot_is_planned_and_replanned_in_sectors,
    the_cap_refuses_before_anything_is_stored,
    keyset_pages_neither_skip_nor_repeat_while_orders_arrive,
    keyset_queries_scan_an_index_in_id_order,
    stored_plan_size_grows_linearly,
);
