//! End-to-end tests of orders and planning jobs: the real application and its worker on
//! `127.0.0.1:0`, spoken to over HTTP, on a fresh SQLite file and a fresh PostgreSQL schema.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use support::{check_plan_with_solver, customer, fields, problem_type, seed_day, wait_for_plan, TestApp};

const DAY: &str = "2026-03-02";
const DEADLINE: Duration = Duration::from_secs(90);

fn ids(values: &Value) -> Vec<i64> {
    values.as_array().map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default()
}

async fn orders_record_their_history_and_refuse_moves_their_lifecycle_forbids(app: &TestApp) {
    let customer_id = app.post("/v1/customers", &customer("C0001", "信義區")).await.2["id"].clone();
    let order = json!({
        "customer_id": customer_id, "delivery_date": DAY, "cylinders": [{ "size_kg": 20, "quantity": 2 }],
        "time_window": { "start": "09:00", "end": "11:00" }, "priority": "urgent", "note": "後門"
    });
    let (status, _, created) = app.post("/v1/orders", &order).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["status"].as_str(), created["priority"].as_str()), (Some("received"), Some("urgent")));
    assert_eq!(created["time_window"], json!({ "start": "09:00", "end": "11:00" }));
    let id = created["id"].as_i64().expect("id");
    assert_eq!(app.get(&format!("/v1/orders/{id}")).await.2, created);

    let other = json!({ "customer_id": customer_id, "delivery_date": "2026-03-03", "cylinders": [{ "size_kg": 50, "quantity": 1 }] });
    assert_eq!(app.post("/v1/orders", &other).await.0, 201);
    let (_, _, list) = app.get(&format!("/v1/orders?date={DAY}&status=received&customer_id={customer_id}")).await;
    assert_eq!((list["total"].as_i64(), list["items"][0]["id"].as_i64()), (Some(1), Some(id)));
    assert_eq!(app.get("/v1/orders?priority=normal").await.2["total"], 1);
    let (_, _, past) = app.get("/v1/orders?limit=1&offset=100").await;
    assert_eq!((past["total"].as_i64(), past["items"].as_array().map(Vec::len)), (Some(2), Some(0)), "a page past the end still counts");
    let (_, _, page) = app.get("/v1/orders?limit=1&offset=1").await;
    assert_eq!((page["total"].as_i64(), page["items"].as_array().map(Vec::len)), (Some(2), Some(1)), "{page}");
    let (status, _, bad) = app.get("/v1/orders?date=3%2F2&status=lost&customer_id=x").await;
    assert_eq!(status, 422);
    assert_eq!(fields(&bad).into_iter().map(|f| f.0).collect::<Vec<_>>(), ["date", "status", "customer_id"]);

    // A received order can be replaced (every field); a bad field or customer is named.
    let mut changed = order.clone();
    changed["cylinders"] = json!([{ "size_kg": 20, "quantity": 3 }]);
    changed["priority"] = json!("normal");
    let (status, _, replaced) = app.put(&format!("/v1/orders/{id}"), &changed).await;
    assert_eq!((status, replaced["cylinders"][0]["quantity"].as_u64(), replaced["priority"].as_str()), (200, Some(3), Some("normal")), "{replaced}");
    assert_eq!(replaced["created_at"], created["created_at"]);
    changed["customer_id"] = json!(999);
    let (status, _, body) = app.put(&format!("/v1/orders/{id}"), &changed).await;
    assert_eq!((status, fields(&body)), (422, vec![("customer_id".into(), "unknown_reference".into())]));
    changed["customer_id"] = customer_id.clone();
    assert_eq!(app.put("/v1/orders/999", &changed).await.0, 404);

    // Only the planner plans; delivered needs a dispatch first.
    for to in ["planned", "delivered"] {
        let req = app.client.post(app.url(&format!("/v1/orders/{id}/status"))).header("Accept-Language", "en").json(&json!({ "status": to }));
        let (status, ct, body) = app.send(req).await;
        assert_eq!((status, ct.as_str(), problem_type(&body)), (409, "application/problem+json", "invalid-transition"), "{body}");
        assert_eq!(body["detail"], format!("an order cannot go from received to {to}"));
    }
    let (status, _, cancelled) = app.post(&format!("/v1/orders/{id}/status"), &json!({ "status": "cancelled", "note": "客戶改期" })).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    let (status, _, body) = app.post(&format!("/v1/orders/{id}/status"), &json!({ "status": "dispatched" })).await;
    assert_eq!((status, problem_type(&body)), (409, "invalid-transition"));
    assert_eq!(body["detail"], "訂單狀態不能從「已取消」變更為「已出車」");

    let (_, _, history) = app.get(&format!("/v1/orders/{id}/history")).await;
    let moves: Vec<(Value, Value, Value)> =
        history.as_array().expect("history").iter().map(|e| (e["from_status"].clone(), e["to_status"].clone(), e["changed_by"].clone())).collect();
    // Who: the signed-in user, as the server knows them (no request names anyone).
    let me = json!("admin@luckygas.test");
    assert_eq!(moves, [(Value::Null, json!("received"), me.clone()), (json!("received"), json!("cancelled"), me)]);
    assert_eq!(history[1]["note"], "客戶改期");
    let (status, _, body) = app.put(&format!("/v1/orders/{id}"), &changed).await;
    assert_eq!((status, problem_type(&body)), (409, "order-locked"), "a cancelled order stays as it was");

    // A customer with orders stays.
    let (status, _, body) = app.delete(&format!("/v1/customers/{customer_id}")).await;
    assert_eq!((status, problem_type(&body)), (409, "in-use"));
}

async fn refuses_malformed_bodies_unknown_ids_and_impossible_plans_with_problems(app: &TestApp) {
    let req = app.client.post(app.url("/v1/orders")).header("content-type", "application/json").body("{\"customer_id\": ");
    let (status, ct, body) = app.send(req).await;
    assert_eq!((status, ct.as_str(), problem_type(&body)), (400, "application/problem+json", "malformed-json"));
    let (status, _, body) = app.send(app.client.post(app.url("/v1/plans")).body("date=2026-03-02")).await;
    assert_eq!((status, problem_type(&body)), (415, "unsupported-media-type"));

    let (status, _, body) = app.post("/v1/orders", &json!({ "customer_id": 999, "delivery_date": DAY, "cylinders": [{ "size_kg": 20, "quantity": 1 }] })).await;
    assert_eq!((status, fields(&body)), (422, vec![("customer_id".into(), "unknown_reference".into())]));
    let bad = json!({ "customer_id": 1, "delivery_date": "2026-02-30", "cylinders": [{ "size_kg": 12, "quantity": 0 }], "preference": "evening" });
    let (status, _, body) = app.post("/v1/orders", &bad).await;
    let named: Vec<String> = fields(&body).into_iter().map(|f| f.0).collect();
    assert_eq!((status, named), (422, vec!["delivery_date".into(), "cylinders[0].size_kg".into(), "cylinders[0].quantity".into(), "preference".into()]));
    let (status, _, body) = app.post("/v1/orders/1/status", &json!({ "status": "lost", "at": "9.30" })).await;
    assert_eq!((status, fields(&body).len()), (422, 2), "{body}");

    let (status, _, body) = app.post("/v1/plans", &json!({ "date": 20260302, "depot_ids": [1] })).await;
    assert_eq!((status, fields(&body)), (422, vec![("date".into(), "invalid_type".into())]));
    let (status, _, body) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [999], "options": { "time_limit_s": 0 } })).await;
    assert_eq!((status, fields(&body)), (422, vec![("options.time_limit_s".into(), "out_of_range".into())]));
    let (status, _, body) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [999] })).await;
    assert_eq!((status, fields(&body)), (422, vec![("depot_ids[0]".into(), "unknown_reference".into())]));
    let depot_id = app.post("/v1/depots", &support::depot("板橋站")).await.2["id"].clone();
    let (status, _, body) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [depot_id] })).await;
    assert_eq!((status, fields(&body)), (422, vec![("depot_ids".into(), "no_vehicles".into())]));
    let moto =
        json!({ "name": "重型機車", "kind": "heavy_motorcycle", "cylinder_slots": [{ "size_kg": 20, "count": 2 }], "max_load_kg": 80, "max_gas_kg": 60 });
    let type_id = app.post("/v1/vehicle-types", &moto).await.2["id"].clone();
    assert_eq!(app.post("/v1/vehicles", &json!({ "plate": "MAB-1234", "vehicle_type_id": type_id, "depot_id": depot_id })).await.0, 201);
    let (status, _, body) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [depot_id] })).await;
    assert_eq!((status, fields(&body)), (422, vec![("date".into(), "nothing_to_plan".into())]));

    for path in ["/v1/orders/999", "/v1/orders/abc", "/v1/orders/999/history", "/v1/plans/999", "/v1/plans/0", "/v1/plans/999/geojson", "/v1/plans/999/events"]
    {
        let (status, _, body) = app.get(path).await;
        assert_eq!((status, problem_type(&body)), (404, "not-found"), "{path}: {body}");
    }
    let (status, _, body) = app.get("/v1/plans/999").await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("找不到指定的排程")));
    assert_eq!(app.delete("/v1/plans/999").await.0, 404);
    assert_eq!(app.post("/v1/orders/999/status", &json!({ "status": "cancelled" })).await.0, 404);
    assert_eq!(app.delete("/v1/orders/1").await.0, 405, "orders are cancelled, not deleted");
}

async fn plans_a_day_end_to_end_and_the_solver_checker_agrees(app: &TestApp) {
    let day = seed_day(&app.client, &app.base, 12, DAY, 1).await;
    // An order of another day stays out of the plan.
    let other = json!({ "customer_id": day.customer_ids[0], "delivery_date": "2026-03-03", "cylinders": [{ "size_kg": 20, "quantity": 1 }] });
    let other_id = app.post("/v1/orders", &other).await.2["id"].as_i64().expect("id");

    let request = json!({ "date": DAY, "depot_ids": [day.depot_id], "options": { "time_limit_s": 1, "cost_per_km_ntd": 10 } });
    let res = app.client.post(app.url("/v1/plans")).json(&request).send().await.expect("POST plan");
    assert_eq!(res.status().as_u16(), 202);
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let job: Value = res.json().await.expect("job");
    let id = job["id"].as_i64().expect("id");
    assert_eq!(location, Some(format!("/v1/plans/{id}")));
    assert_eq!(ids(&job["order_ids"]), day.order_ids);
    assert_eq!((job["options"]["time_limit_s"].as_f64(), job["options"]["cost_per_km_ntd"].as_f64()), (Some(1.0), Some(10.0)));

    let job = wait_for_plan(&app.client, &app.base, id, DEADLINE).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1);
    // The worker counted the job and its solver iterations in the service's metrics.
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.expect("GET /metrics").text().await.expect("text");
    assert!(metrics.contains("luckygas_planning_job_duration_seconds_count{outcome=\"succeeded\"} 1"), "{metrics}");
    let iterations: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("luckygas_solver_iterations_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("solver iterations counter");
    assert!(iterations > 0.0, "{metrics}");
    assert!(!job["progress"].as_array().expect("progress").is_empty());
    check_plan_with_solver(&app.client, &app.base, &job).await;

    // Every order of the day is on exactly one route or listed as unassigned with a reason.
    let plan = &job["result"];
    // No OSRM is configured: both profiles' matrices are the embedded estimate, without fallback.
    let travel = plan["travel"].as_array().expect("travel sources");
    assert_eq!(travel.len(), 2);
    assert!(travel.iter().all(|t| t["provider"] == "great-circle" && t.get("fallback_reason").is_none()), "{travel:?}");
    let mut routed = Vec::new();
    for r in plan["routes"].as_array().expect("routes") {
        assert!(day.vehicle_ids.contains(&r["vehicle_id"].as_i64().expect("vehicle")));
        let mut last = String::new();
        for s in r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().cloned().unwrap_or_default()) {
            routed.push(s["order_id"].as_i64().expect("order"));
            let arrival = s["arrival"].as_str().expect("arrival").to_owned();
            assert!(arrival >= last, "arrivals in order");
            last = arrival;
            assert!(s["load_after"]["weight_kg"].as_i64().expect("load") >= 0);
        }
    }
    let unassigned: Vec<i64> = plan["unassigned"].as_array().expect("unassigned").iter().map(|u| u["order_id"].as_i64().expect("id")).collect();
    assert!(plan["unassigned"].as_array().expect("u").iter().all(|u| u["reason"].as_str().is_some_and(|r| !r.is_empty())));
    let all: BTreeSet<i64> = routed.iter().chain(&unassigned).copied().collect();
    assert_eq!(all.len(), routed.len() + unassigned.len(), "no order twice");
    assert_eq!(all, day.order_ids.iter().copied().collect::<BTreeSet<_>>());
    assert!(routed.len() >= 10, "a roomy fleet serves most orders: {plan}");

    // Routed orders are planned by this plan; the others go back to the pool.
    let (_, _, planned) = app.get(&format!("/v1/orders?status=planned&plan_id={id}&limit=200")).await;
    assert_eq!(planned["total"].as_u64(), Some(routed.len() as u64));
    let (_, _, history) = app.get(&format!("/v1/orders/{}/history", routed[0])).await;
    assert_eq!(history[1]["changed_by"], "planner");
    assert_eq!(history[1]["plan_id"].as_i64(), Some(id));
    for u in &unassigned {
        let (_, _, o) = app.get(&format!("/v1/orders/{u}")).await;
        assert_eq!((o["status"].as_str(), o["plan_id"].is_null()), (Some("received"), true));
    }
    assert_eq!(app.get(&format!("/v1/orders/{other_id}")).await.2["plan_id"], Value::Null);

    // A planned order moves on through dispatch to delivery.
    for to in ["dispatched", "delivered"] {
        let (status, _, o) = app.post(&format!("/v1/orders/{}/status", routed[0]), &json!({ "status": to, "at": "11:00" })).await;
        assert_eq!((status, o["status"].as_str()), (200, Some(to)), "{o}");
    }

    // The map (of the newest version: the delivery made version 2): one line per route from the
    // depot, one point per stop.
    let (_, _, newest) = app.get(&format!("/v1/plans/{id}")).await;
    assert_eq!(newest["version"], 2, "{newest}");
    let plan = &newest["result"];
    let routed: Vec<i64> = plan["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .flat_map(|r| r["trips"].as_array().into_iter().flatten().flat_map(|t| t["stops"].as_array().into_iter().flatten()))
        .filter_map(|s| s["order_id"].as_i64())
        .collect();
    let res = app.client.get(app.url(&format!("/v1/plans/{id}/geojson"))).send().await.expect("geojson");
    assert_eq!(res.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/geo+json"));
    let geo: Value = res.json().await.expect("geojson body");
    assert_eq!(geo["type"], "FeatureCollection");
    let features = geo["features"].as_array().expect("features");
    let lines: Vec<&Value> = features.iter().filter(|f| f["geometry"]["type"] == "LineString").collect();
    assert_eq!(lines.len(), plan["routes"].as_array().map_or(0, Vec::len));
    assert_eq!(lines[0]["geometry"]["coordinates"][0], json!([121.5753, 25.0752]), "routes start at the depot, [lon, lat]");
    assert_eq!(features.iter().filter(|f| f["properties"]["kind"] == "stop").count(), routed.len());

    // A finished plan cannot be cancelled; nothing received is left to plan unless left out.
    let (status, _, body) = app.delete(&format!("/v1/plans/{id}")).await;
    assert_eq!((status, problem_type(&body)), (409, "plan-finished"));
    let (status, _, _) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [day.depot_id] })).await;
    assert_eq!(status, if unassigned.is_empty() { 422 } else { 202 });
}

async fn streams_progress_as_server_sent_events(app: &TestApp) {
    let day = seed_day(&app.client, &app.base, 8, DAY, 1).await;
    let (status, _, job) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [day.depot_id], "options": { "time_limit_s": 1 } })).await;
    assert_eq!(status, 202);
    let mut res = app.client.get(app.url(&format!("/v1/plans/{}/events", job["id"]))).send().await.expect("events");
    assert_eq!(res.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/event-stream"));
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = res.chunk().await.expect("chunk") {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("event: done") {
                break;
            }
        }
    };
    tokio::time::timeout(DEADLINE, read).await.expect("the stream ends with `done` before the deadline");
    let first = text.split("\n\n").next().unwrap_or_default();
    assert!(first.starts_with("event: status\ndata: "), "the stream opens with the status: {text}");
    let progress: Vec<Value> = text
        .split("\n\n")
        .filter(|e| e.starts_with("event: progress"))
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")).and_then(|d| serde_json::from_str(d).ok()))
        .collect();
    assert!(!progress.is_empty(), "{text}");
    assert!(progress.iter().all(|p| p["best_cost_ntd"].as_f64().is_some() && p["iterations"].as_u64().is_some()));
    let done = text.split("\n\n").find(|e| e.starts_with("event: done")).expect("done event");
    assert!(done.contains("\"status\":\"succeeded\""), "{done}");
}

async fn cancels_queued_jobs_at_once_and_running_jobs_at_the_next_renewal(app: &TestApp) {
    let first = seed_day(&app.client, &app.base, 20, DAY, 1).await;
    seed_day(&app.client, &app.base, 4, "2026-03-03", 100).await;
    let (_, _, running) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [first.depot_id], "options": { "time_limit_s": 60 } })).await;
    let running_id = running["id"].as_i64().expect("id");
    let start = std::time::Instant::now();
    while app.get(&format!("/v1/plans/{running_id}")).await.2["status"] != "running" {
        assert!(start.elapsed() < DEADLINE, "the job was never claimed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Orders a job holds cannot be edited under it.
    let edit = json!({ "customer_id": first.customer_ids[0], "delivery_date": DAY, "cylinders": [{ "size_kg": 20, "quantity": 9 }] });
    let (status, _, body) = app.put(&format!("/v1/orders/{}", first.order_ids[0]), &edit).await;
    assert_eq!((status, problem_type(&body)), (409, "order-locked"), "{body}");
    // The test server has one worker, busy with the first job: the second waits in the queue.
    let (status, _, queued) = app.post("/v1/plans", &json!({ "date": "2026-03-03", "depot_ids": [first.depot_id] })).await;
    assert_eq!((status, queued["status"].as_str()), (202, Some("queued")));
    let (status, _, cancelled) = app.delete(&format!("/v1/plans/{}", queued["id"])).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")));
    assert_eq!(app.get("/v1/orders?date=2026-03-03&status=received").await.2["items"][0]["plan_id"], Value::Null, "orders released");

    let (status, _, asked) = app.delete(&format!("/v1/plans/{running_id}")).await;
    assert_eq!((status, asked["cancel_requested"].as_bool()), (202, Some(true)));
    let job = wait_for_plan(&app.client, &app.base, running_id, Duration::from_secs(30)).await;
    assert_eq!(job["status"], "cancelled");
    assert!(job["result"].is_null());
    let (status, _, body) = app.get(&format!("/v1/plans/{running_id}/geojson")).await;
    assert_eq!((status, problem_type(&body)), (409, "plan-not-ready"));
    // Its orders are free again: a new plan takes them all.
    let (status, _, again) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [first.depot_id], "options": { "time_limit_s": 0.5 } })).await;
    assert_eq!((status, ids(&again["order_ids"])), (202, first.order_ids.clone()));
    let (_, _, list) = app.get("/v1/plans?status=cancelled").await;
    assert_eq!(list["total"], 2);
}

async fn a_day_no_vehicle_can_serve_gets_a_plan_that_says_why(app: &TestApp) {
    // The fixture customer lives in a narrow lane; the depot has only a truck.
    let customer_id = app.post("/v1/customers", &customer("C0001", "信義區")).await.2["id"].clone();
    let order = app.post("/v1/orders", &json!({ "customer_id": customer_id, "delivery_date": DAY, "cylinders": [{ "size_kg": 20, "quantity": 1 }] })).await.2;
    let depot_id = app.post("/v1/depots", &support::depot("板橋站")).await.2["id"].clone();
    let truck = json!({ "name": "小貨車", "kind": "truck", "cylinder_slots": [{ "size_kg": 20, "count": 30 }], "max_load_kg": 1500, "max_gas_kg": 600 });
    let type_id = app.post("/v1/vehicle-types", &truck).await.2["id"].clone();
    assert_eq!(app.post("/v1/vehicles", &json!({ "plate": "ABC-1234", "vehicle_type_id": type_id, "depot_id": depot_id })).await.0, 201);
    let (status, _, job) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [depot_id], "options": { "unserved_penalty_ntd": 1234 } })).await;
    assert_eq!(status, 202, "{job}");
    let job = wait_for_plan(&app.client, &app.base, job["id"].as_i64().expect("id"), DEADLINE).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["routes"], json!([]));
    assert_eq!(job["result"]["unassigned"], json!([{ "order_id": order["id"], "reason": "no_compatible_vehicle" }]));
    assert_eq!(
        (job["result"]["cost_ntd"].as_i64(), job["result"]["penalty_ntd"].as_i64()),
        (Some(0), Some(1234)),
        "no route, the penalty of the order left out"
    );
    let (_, _, o) = app.get(&format!("/v1/orders/{}", order["id"])).await;
    assert_eq!((o["status"].as_str(), o["plan_id"].is_null()), (Some("received"), true), "back in the pool");
    assert_eq!(app.get(&format!("/v1/plans/{}/problem", job["id"])).await.0, 404);
}

async fn customers_are_served_only_by_the_vehicle_types_they_allow(app: &TestApp) {
    let depot_id = app.post("/v1/depots", &support::depot("板橋站")).await.2["id"].clone();
    let vehicle_type = |name: &str, kind: &str| json!({ "name": name, "kind": kind, "cylinder_slots": [{ "size_kg": 20, "count": 30 }], "max_load_kg": 1500, "max_gas_kg": 600 });
    let big = app.post("/v1/vehicle-types", &vehicle_type("3.5 噸貨車", "truck")).await.2["id"].as_i64().expect("id");
    let small = app.post("/v1/vehicle-types", &vehicle_type("1.5 噸貨車", "truck")).await.2["id"].as_i64().expect("id");
    // A type without a vehicle at this depot.
    let moto = app.post("/v1/vehicle-types", &vehicle_type("重型機車", "heavy_motorcycle")).await.2["id"].as_i64().expect("id");
    let mut vehicle_of_type = std::collections::HashMap::new();
    for (plate, t) in [("BIG-0001", big), ("SML-0001", small)] {
        let (status, _, v) = app.post("/v1/vehicles", &json!({ "plate": plate, "vehicle_type_id": t, "depot_id": depot_id })).await;
        assert_eq!(status, 201, "{v}");
        vehicle_of_type.insert(t, v["id"].as_i64().expect("id"));
    }
    // Three customers only the big truck may serve, three only the small one; one only a
    // motorcycle may serve, and one in a narrow lane that only the small truck may serve: no
    // vehicle of the day can serve those two.
    let mut wants: Vec<(i64, Option<i64>)> = Vec::new();
    let cases = [(big, false), (big, false), (big, false), (small, false), (small, false), (small, false), (moto, false), (small, true)];
    for (k, (allowed, lane)) in cases.into_iter().enumerate() {
        let mut c = customer(&format!("C{:04}", k + 1), "信義區");
        c["lat"] = json!(25.02 + 0.004 * k as f64);
        c["lon"] = json!(121.55 + 0.003 * (k % 3) as f64);
        c["access_restrictions"] = if lane { json!(["narrow_lane"]) } else { json!([]) };
        c["allowed_vehicle_type_ids"] = json!([allowed]);
        let (status, _, created) = app.post("/v1/customers", &c).await;
        assert_eq!(status, 201, "{created}");
        let order = json!({ "customer_id": created["id"], "delivery_date": DAY, "cylinders": [{ "size_kg": 20, "quantity": 1 }] });
        let order_id = app.post("/v1/orders", &order).await.2["id"].as_i64().expect("id");
        let served_by = if lane || allowed == moto { None } else { vehicle_of_type.get(&allowed).copied() };
        wants.push((order_id, served_by));
    }
    // A fixed cost per vehicle: without the restrictions one truck would take every order.
    let request = json!({ "date": DAY, "depot_ids": [depot_id], "options": { "time_limit_s": 1, "fixed_cost_ntd": 5000, "max_iterations": 2000 } });
    let (status, _, job) = app.post("/v1/plans", &request).await;
    assert_eq!(status, 202, "{job}");
    let job = wait_for_plan(&app.client, &app.base, job["id"].as_i64().expect("id"), DEADLINE).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    check_plan_with_solver(&app.client, &app.base, &job).await;
    let plan = &job["result"];
    let mut on = std::collections::HashMap::new();
    for r in plan["routes"].as_array().expect("routes") {
        for s in r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().cloned().unwrap_or_default()) {
            on.insert(s["order_id"].as_i64().expect("order"), r["vehicle_id"].as_i64().expect("vehicle"));
        }
    }
    for (order_id, served_by) in &wants {
        assert_eq!(on.get(order_id), served_by.as_ref(), "order {order_id}: {plan}");
    }
    let left_out: Vec<(i64, String)> = plan["unassigned"]
        .as_array()
        .expect("unassigned")
        .iter()
        .map(|u| (u["order_id"].as_i64().expect("id"), u["reason"].as_str().unwrap_or_default().to_owned()))
        .collect();
    let want: Vec<(i64, String)> = wants.iter().filter(|w| w.1.is_none()).map(|w| (w.0, "no_compatible_vehicle".to_owned())).collect();
    assert_eq!(left_out, want);

    // A replan cannot add an order that no vehicle of the plan may serve, and says why.
    let (status, _, body) = app
        .post(
            &format!("/v1/plans/{}/events", job["id"]),
            &json!({ "base_version": 1, "at": "08:00", "events": [{ "type": "order_added", "order_id": want[0].0 }] }),
        )
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
        (422, Some("events[0].order_id"), Some("no_compatible_vehicle")),
        "{body}"
    );
}

async fn two_replicas_share_the_queue_and_plan_each_job_once(app: &TestApp) {
    let replica = app.replica().await;
    let mut jobs = Vec::new();
    for (k, date) in ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"].into_iter().enumerate() {
        // Data goes in through either server; both see one database.
        let base = if k % 2 == 0 { &app.base } else { &replica.base };
        let day = seed_day(&app.client, base, 5, date, 10 * (k + 1)).await;
        let res = app.client.post(format!("{base}/v1/plans")).json(&json!({ "date": date, "depot_ids": [day.depot_id], "options": { "time_limit_s": 0.5 } }));
        let job: Value = res.send().await.expect("POST plan").json().await.expect("job");
        jobs.push((job["id"].as_i64().expect("id"), day.order_ids));
    }
    for (id, orders) in &jobs {
        let job = wait_for_plan(&app.client, &replica.base, *id, DEADLINE).await;
        assert_eq!((job["status"].as_str(), job["attempts"].as_i64()), (Some("succeeded"), Some(1)), "{job}");
        check_plan_with_solver(&app.client, &app.base, &job).await;
        let (_, _, planned) = app.get(&format!("/v1/orders?plan_id={id}&limit=200")).await;
        let mine: BTreeSet<i64> = planned["items"].as_array().expect("items").iter().filter_map(|o| o["id"].as_i64()).collect();
        assert!(mine.iter().all(|o| orders.contains(o)), "a plan holds only its day's orders");
    }
    replica.finish().await;
}

async fn drivers_take_the_break_asked_for_and_waiting_for_a_window_is_shown(app: &TestApp) {
    let day = seed_day(&app.client, &app.base, 12, DAY, 1).await;
    let plan = |options: Value| json!({ "date": DAY, "depot_ids": [day.depot_id], "options": options });
    // A break that ends before it starts, or is missing its start, or lasts no time: named.
    let (status, _, body) = app.post("/v1/plans", &plan(json!({ "driver_break": { "earliest": "13:00", "latest": "12:00" } }))).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("options.driver_break.latest")), "{body}");
    let (status, _, body) = app.post("/v1/plans", &plan(json!({ "driver_break": { "latest": "12:00", "minutes": 0 } }))).await;
    let fields: Vec<&str> = body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!((status, fields), (422, vec!["options.driver_break.earliest", "options.driver_break.minutes"]), "{body}");

    let options = json!({ "time_limit_s": 1, "seed": 3, "driver_break": { "earliest": "11:30", "latest": "13:00", "minutes": 45 } });
    let (status, _, job) = app.post("/v1/plans", &plan(options)).await;
    assert_eq!((status, &job["options"]["driver_break"]), (202, &json!({ "earliest": "11:30", "latest": "13:00", "minutes": 45 })), "{job}");
    let job = wait_for_plan(&app.client, &app.base, job["id"].as_i64().expect("id"), DEADLINE).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    // The solver's own checker agrees with the plan, breaks included.
    check_plan_with_solver(&app.client, &app.base, &job).await;
    let routes = job["result"]["routes"].as_array().expect("routes");
    assert!(routes.iter().any(|r| r["breaks"].as_array().is_some_and(|b| !b.is_empty())), "some driver takes the break: {routes:?}");
    for r in routes {
        let breaks = r["breaks"].as_array().expect("breaks");
        if r["end"].as_str() > Some("13:00") {
            assert_eq!(breaks.len(), 1, "a driver still out at the break's latest start takes it: {r}");
        }
        for b in breaks {
            let (start, end) = (b["start"].as_str().expect("start"), b["end"].as_str().expect("end"));
            assert!(("11:30"..="13:00").contains(&start), "{b}");
            let minutes = |t: &str| t[..2].parse::<i64>().expect("h") * 60 + t[3..].parse::<i64>().expect("m");
            assert_eq!(minutes(end) - minutes(start), 45, "{b}");
        }
        for s in r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().expect("stops").iter()) {
            let arrival = s["arrival"].as_str().expect("arrival");
            for b in breaks {
                assert!(!(b["start"].as_str().expect("start") <= arrival && arrival < b["end"].as_str().expect("end")), "no service during the break: {s} {b}");
            }
            let waiting = s["waiting_s"].as_i64().expect("waiting_s");
            assert!(waiting >= 0, "{s}");
            // Who waits is served the moment a window opens.
            if waiting > 0 {
                let opens: Vec<&str> = s["time_windows"].as_array().expect("windows").iter().filter_map(|w| w["start"].as_str()).collect();
                assert!(opens.contains(&arrival), "a stop that waits starts at a window's opening: {s}");
            }
        }
    }
}

async fn rush_hours_slow_the_plan_down_and_the_checker_times_it_the_same(app: &TestApp) {
    let day = seed_day(&app.client, &app.base, 12, DAY, 1).await;
    let plan = |options: Value| json!({ "date": DAY, "depot_ids": [day.depot_id], "options": options });
    let (status, _, body) = app.post("/v1/plans", &plan(json!({ "rush_hours": [{ "start": "09:00", "end": "08:00", "speed_percent": 50 }] }))).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("options.rush_hours[0].end")), "{body}");

    // Half speed all day: every leg takes twice its usual time.
    let rush = json!([{ "start": "00:00", "end": "23:59", "speed_percent": 50 }]);
    let (status, _, job) = app.post("/v1/plans", &plan(json!({ "time_limit_s": 1, "seed": 3, "max_iterations": 200, "rush_hours": rush }))).await;
    assert_eq!((status, &job["options"]["rush_hours"]), (202, &rush), "{job}");
    let job = wait_for_plan(&app.client, &app.base, job["id"].as_i64().expect("id"), DEADLINE).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    // The stored problem carries the rush hours, and the solver's checker times the plan as the
    // service did (route durations included).
    check_plan_with_solver(&app.client, &app.base, &job).await;
    let id = job["id"].as_i64().expect("id");
    let text = app.client.get(format!("{}/v1/plans/{id}/problem", app.base)).send().await.expect("problem").text().await.expect("text");
    let mut doc: Value = serde_json::from_str(&text).expect("JSON");
    assert!(doc["profiles"].as_array().expect("profiles").iter().all(|p| p["rush_hours"] == rush), "{}", doc["profiles"]);
    // Waiting is told from the slower driving: a stop that waits starts at a window's opening.
    for r in job["result"]["routes"].as_array().expect("routes") {
        for s in r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().expect("stops").iter()) {
            let waiting = s["waiting_s"].as_i64().expect("waiting_s");
            assert!(waiting >= 0, "{s}");
            if waiting > 0 {
                let opens: Vec<&str> = s["time_windows"].as_array().expect("windows").iter().filter_map(|w| w["start"].as_str()).collect();
                assert!(opens.contains(&s["arrival"].as_str().expect("arrival")), "a stop that waits starts at a window's opening: {s}");
            }
        }
    }
    // The same routes in free flow are quicker: the rush hours were planned with, not ignored.
    let (parsed, slow) = solver::io::json::parse(&text).expect("parses");
    let routes = support::solver_routes(&parsed, &job["result"]);
    for p in doc["profiles"].as_array_mut().expect("profiles") {
        p.as_object_mut().expect("profile").remove("rush_hours");
    }
    let (_, free) = solver::io::json::parse(&doc.to_string()).expect("parses");
    let solution = solver::Solution { routes, unassigned: Vec::new() };
    let (in_rush, in_free_flow) = (solver::check::check(&slow, &solution), solver::check::check(&free, &solution));
    assert!(!in_rush.routes.is_empty());
    for (a, b) in in_rush.routes.iter().zip(&in_free_flow.routes) {
        assert!(a.duration > b.duration, "a route takes {} s in the rush and {} s in free flow", a.duration, b.duration);
    }
}

both_backends!(
    rush_hours_slow_the_plan_down_and_the_checker_times_it_the_same,
    drivers_take_the_break_asked_for_and_waiting_for_a_window_is_shown,
    two_replicas_share_the_queue_and_plan_each_job_once,
    a_day_no_vehicle_can_serve_gets_a_plan_that_says_why,
    customers_are_served_only_by_the_vehicle_types_they_allow,
    orders_record_their_history_and_refuse_moves_their_lifecycle_forbids,
    refuses_malformed_bodies_unknown_ids_and_impossible_plans_with_problems,
    plans_a_day_end_to_end_and_the_solver_checker_agrees,
    streams_progress_as_server_sent_events,
    cancels_queued_jobs_at_once_and_running_jobs_at_the_next_renewal,
);
