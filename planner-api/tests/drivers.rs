//! Drivers tied to vehicles, over HTTP with the server's real worker, on a fresh SQLite file and a
//! fresh PostgreSQL schema: a vehicle's usual driver and a day's assignment (which overrides it),
//! a driver reading only their own route of a plan and reporting only on their own stops, and
//! every other plan endpoint and write closed to them.

mod support;

use planner_api::domain::Role;
use serde_json::{json, Value};
use std::time::Duration;
use support::{seed_day, wait_for_plan, TestApp};

const DAY: &str = "2026-03-02";

fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or_default().trim_start_matches("https://luckygas.tw/problems/")
}

fn route_vehicles(body: &Value) -> Vec<i64> {
    body["routes"].as_array().map(|a| a.iter().filter_map(|r| r["vehicle_id"].as_i64()).collect()).unwrap_or_default()
}

/// The order ids on the routes of `body` (a plan result or a driver's share of it).
fn stops(body: &Value) -> Vec<i64> {
    let mut ids = Vec::new();
    for r in body["routes"].as_array().into_iter().flatten() {
        for t in r["trips"].as_array().into_iter().flatten() {
            ids.extend(t["stops"].as_array().into_iter().flatten().filter_map(|s| s["order_id"].as_i64()));
        }
    }
    ids
}

async fn assign_default(app: &TestApp, vehicle: i64, driver: &Value) {
    let (_, _, v) = app.get(&format!("/v1/vehicles/{vehicle}")).await;
    // The vehicle's own fields: a PUT refuses what the service adds (`id`, `created_at`, …).
    let mut input = json!({ "default_driver_id": driver });
    for field in ["plate", "vehicle_type_id", "depot_id", "active"] {
        input[field] = v[field].clone();
    }
    let (status, _, body) = app.put(&format!("/v1/vehicles/{vehicle}"), &input).await;
    assert_eq!((status, &body["default_driver_id"]), (200, driver), "{body}");
}

async fn assignments_tie_drivers_to_vehicles_by_day_over_their_usual_vehicle(app: &TestApp) {
    let day = seed_day(&app.client, &app.base, 3, DAY, 1).await;
    let (v0, v1) = (day.vehicle_ids[0], day.vehicle_ids[1]);
    let a = app.post("/v1/drivers", &json!({ "name": "陳志明" })).await.2["id"].clone();
    let b = app.post("/v1/drivers", &json!({ "name": "林建宏" })).await.2["id"].clone();
    assign_default(app, v0, &a).await;
    let (status, _, body) = app
        .put(&format!("/v1/vehicles/{v0}"), &json!({ "plate": "ZZZ-9999", "vehicle_type_id": 1, "depot_id": day.depot_id, "default_driver_id": 999_999 }))
        .await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("default_driver_id")), "{body}");

    let path = format!("/v1/vehicles/{v1}/assignments/{DAY}");
    let (status, _, assigned) = app.put(&path, &json!({ "driver_id": b })).await;
    assert_eq!((status, &assigned["driver_id"], assigned["date"].as_str()), (200, &b, Some(DAY)), "{assigned}");
    // A driver drives one vehicle a day; unknown drivers and bad days are named.
    let (status, _, body) = app.put(&format!("/v1/vehicles/{v0}/assignments/{DAY}"), &json!({ "driver_id": b })).await;
    assert_eq!((status, problem_type(&body), body["errors"][0]["field"].as_str()), (409, "conflict", Some("driver_id")), "{body}");
    let (status, _, body) = app.put(&format!("/v1/vehicles/{v0}/assignments/{DAY}"), &json!({ "driver_id": 999_999 })).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("driver_id")), "{body}");
    let (status, _, body) = app.put(&format!("/v1/vehicles/{v0}/assignments/3-2"), &json!({ "driver_id": a })).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("date")), "{body}");
    assert_eq!(app.put(&format!("/v1/vehicles/999999/assignments/{DAY}"), &json!({ "driver_id": a })).await.0, 404);
    // Reassigning the day replaces the vehicle's driver.
    let (status, _, again) = app.put(&path, &json!({ "driver_id": a })).await;
    assert_eq!((status, &again["driver_id"]), (200, &a));
    let (_, _, list) = app.get(&format!("/v1/vehicles/{v1}/assignments")).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let (id_a, id_b) = (a.as_i64().expect("a"), b.as_i64().expect("b"));
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
    assert_eq!(app.store().vehicles_driven_by(id_a, date).await.expect("a's vehicles"), [v1], "the day's assignment wins over the usual vehicle");
    assert_eq!(app.store().vehicles_driven_by(id_b, date).await.expect("b's vehicles"), Vec::<i64>::new());
    let next = chrono::NaiveDate::from_ymd_opt(2026, 3, 3).expect("date");
    assert_eq!(app.store().vehicles_driven_by(id_a, next).await.expect("a's vehicles"), [v0], "the usual vehicle on other days");
    assert_eq!(app.delete(&path).await.0, 204);
    assert_eq!(app.delete(&path).await.0, 404);
    assert_eq!(app.store().vehicles_driven_by(id_a, date).await.expect("a's vehicles"), [v0]);
    let (status, _, body) = app.delete(&format!("/v1/drivers/{a}")).await;
    assert_eq!((status, problem_type(&body)), (409, "in-use"), "a vehicle's usual driver stays");
}

async fn a_driver_reads_only_their_own_route_and_reports_only_on_their_own_stops(app: &TestApp) {
    let day = seed_day(&app.client, &app.base, 8, DAY, 1).await;
    let elsewhere = json!({ "customer_id": day.customer_ids[0], "delivery_date": "2026-03-05", "cylinders": [{ "size_kg": 20, "quantity": 1 }] });
    let unplanned = app.post("/v1/orders", &elsewhere).await.2["id"].as_i64().expect("order id");
    let request = json!({ "date": DAY, "depot_ids": [day.depot_id], "options": { "time_limit_s": 0.5 } });
    let (status, _, job) = app.post("/v1/plans", &request).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().expect("plan id");
    let job = wait_for_plan(&app.client, &app.base, id, Duration::from_secs(90)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let plan = &job["result"];
    let used = route_vehicles(plan);
    assert!(!used.is_empty(), "{plan}");

    let driver = app.as_role(Role::Driver).await;
    let mine = format!("/v1/plans/{id}/routes/mine");
    let (status, _, body) = driver.get(&mine).await;
    assert_eq!((status, route_vehicles(&body), &body["vehicle_ids"]), (200, vec![], &json!([])), "not tied to a vehicle yet: {body}");

    assign_default(app, used[0], &driver.user["driver_id"]).await;
    let (status, _, body) = driver.get(&mine).await;
    assert_eq!((status, route_vehicles(&body), body["plan_id"].as_i64()), (200, vec![used[0]], Some(id)), "{body}");
    // The route as the plan has it, now naming its driver.
    let (_, _, now) = app.get(&format!("/v1/plans/{id}")).await;
    let own_route = now["result"]["routes"].as_array().expect("routes").iter().find(|r| r["vehicle_id"] == used[0]).expect("route");
    assert_eq!(&body["routes"][0], own_route, "the route as the plan has it");
    assert_eq!((&own_route["driver_id"], own_route["driver_name"].is_string()), (&driver.user["driver_id"], true), "{own_route}");
    assert_eq!(body["depots"], plan["depots"]);

    // Everything else about plans is closed to drivers.
    for path in [
        format!("/v1/plans/{id}"),
        "/v1/plans".to_owned(),
        format!("/v1/plans/{id}/geojson"),
        format!("/v1/plans/{id}/problem"),
        format!("/v1/plans/{id}/events"),
    ] {
        let (status, _, body) = driver.get(&path).await;
        assert_eq!((status, problem_type(&body)), (403, "forbidden"), "GET {path}");
    }
    assert_eq!(driver.post("/v1/plans", &request).await.0, 403);
    assert_eq!(driver.delete(&format!("/v1/plans/{id}")).await.0, 403);
    assert_eq!(driver.get("/v1/orders").await.0, 403);
    assert_eq!(driver.get("/v1/vehicles").await.0, 403);

    // Reporting on their own stop: dispatched, then delivered.
    let own_stop = stops(&body)[0];
    let report = |status: &str| json!({ "status": status, "note": "已送達" });
    let (status, _, order) = driver.post(&format!("/v1/orders/{own_stop}/status"), &report("dispatched")).await;
    assert_eq!((status, order["status"].as_str()), (200, Some("dispatched")), "{order}");
    let delivered = json!({ "status": "delivered", "at": "10:00", "note": "已送達" });
    let (status, _, order) = driver.post(&format!("/v1/orders/{own_stop}/status"), &delivered).await;
    assert_eq!((status, order["status"].as_str()), (200, Some("delivered")), "{order}");
    // The report is an event on the plan: its newest version has the stop done at that time.
    let (_, _, job) = app.get(&format!("/v1/plans/{id}")).await;
    assert_eq!(job["version"], 2, "{job}");
    let done: Vec<&Value> = job["result"]["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .flat_map(|r| r["trips"].as_array().into_iter().flatten().flat_map(|t| t["stops"].as_array().into_iter().flatten()))
        .filter(|s| s["order_id"] == own_stop)
        .collect();
    assert_eq!((done.len(), done[0]["status"].as_str(), done[0]["arrival"].as_str()), (1, Some("done"), Some("10:00")), "{done:?}");
    // Not other stops, not other moves, not other writes.
    let others: Vec<i64> = stops(plan).into_iter().filter(|o| !stops(&body).contains(o)).chain([unplanned]).collect();
    for other in others {
        let (status, _, body) = driver.post(&format!("/v1/orders/{other}/status"), &report("dispatched")).await;
        assert_eq!((status, problem_type(&body)), (403, "forbidden"), "order {other}");
    }
    if let Some(second) = stops(&body).get(1) {
        assert_eq!(driver.post(&format!("/v1/orders/{second}/status"), &report("cancelled")).await.0, 403, "drivers do not cancel");
    }
    let new_order = json!({ "customer_id": day.customer_ids[0], "delivery_date": DAY, "cylinders": [{ "size_kg": 20, "quantity": 1 }] });
    assert_eq!(driver.post("/v1/orders", &new_order).await.0, 403);
    assert_eq!(driver.put(&format!("/v1/orders/{unplanned}"), &new_order).await.0, 403);
    assert_eq!(driver.put(&format!("/v1/vehicles/{}/assignments/{DAY}", used[0]), &json!({ "driver_id": 1 })).await.0, 403);
    assert_eq!(app.get(&format!("/v1/orders/{unplanned}")).await.2["status"], "received", "no write got through");
}

/// The stop of `order` in a driver's day or a plan.
fn stop_of(body: &Value, order: i64) -> Value {
    body["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["trips"].as_array().into_iter().flatten())
        .flat_map(|t| t["stops"].as_array().into_iter().flatten())
        .find(|s| s["order_id"] == order)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn a_driver_finds_their_day_and_an_arrival_sent_twice_counts_once(app: &TestApp) {
    let day = seed_day(&app.client, &app.base, 8, DAY, 1).await;
    let driver = app.as_role(Role::Driver).await;
    let today = format!("/v1/plans/mine?date={DAY}");
    // Nothing planned for them: an empty day, not an error.
    let (status, _, empty) = driver.get(&today).await;
    assert_eq!(
        (status, &empty["plan_id"], empty["routes"].as_array().map(Vec::len), empty["date"].as_str()),
        (200, &Value::Null, Some(0), Some(DAY)),
        "{empty}"
    );
    let (status, _, body) = driver.get("/v1/plans/mine?date=3-2").await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("date")), "{body}");
    let (status, _, body) = app.get(&today).await;
    assert_eq!(
        (status, &body["driver_id"], body["routes"].as_array().map(Vec::len)),
        (200, &Value::Null, Some(0)),
        "a user who is no driver has no route: {body}"
    );

    let request = json!({ "date": DAY, "depot_ids": [day.depot_id], "options": { "time_limit_s": 0.5 } });
    let id = app.post("/v1/plans", &request).await.2["id"].as_i64().expect("plan id");
    let job = wait_for_plan(&app.client, &app.base, id, Duration::from_secs(90)).await;
    let used = route_vehicles(&job["result"]);
    assign_default(app, used[0], &driver.user["driver_id"]).await;
    let (status, _, mine) = driver.get(&today).await;
    assert_eq!((status, mine["plan_id"].as_i64(), mine["version"].as_i64(), route_vehicles(&mine)), (200, Some(id), Some(1), vec![used[0]]), "{mine}");
    let own = stops(&mine);
    assert_eq!(
        stops(&json!({ "routes": [job["result"]["routes"].as_array().expect("routes").iter().find(|r| r["vehicle_id"] == used[0]).expect("route")] })),
        own
    );

    // Arrived, sent twice with the phone's id for the action (the answer lost the first time):
    // one arrival, one new version.
    let first = own[0];
    let arrive = |key: &'static str, at: &'static str| {
        driver.send(app.anon.post(app.url(&format!("/v1/orders/{first}/arrival"))).header("idempotency-key", key).json(&json!({ "at": at })))
    };
    let (status, _, once) = arrive("phone-act-1", "09:10").await;
    assert_eq!((status, once["id"].as_i64()), (200, Some(first)), "{once}");
    let (status, _, again) = arrive("phone-act-1", "09:10").await;
    assert_eq!((status, &again), (200, &once), "the same answer again");
    let (_, _, mine) = driver.get(&today).await;
    assert_eq!(mine["version"].as_i64(), Some(2), "{mine}");
    let stop = stop_of(&mine, first);
    assert_eq!((stop["status"].as_str(), stop["arrival"].as_str()), (Some("in_progress"), Some("09:10")), "{stop}");
    let (_, _, versions) = app.get(&format!("/v1/plans/{id}/versions")).await;
    let arrivals = versions["items"]
        .as_array()
        .expect("versions")
        .iter()
        .flat_map(|v| v["events"].as_array().expect("events").iter())
        .filter(|e| e["type"] == "stop_arrived")
        .count();
    assert_eq!(arrivals, 1, "{versions}");
    // A second arrival (another action) is refused and named; so is a bad time.
    let (status, _, body) = arrive("phone-act-2", "09:12").await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("order_id")), "{body}");
    let (status, _, body) = driver.post(&format!("/v1/orders/{}/arrival", own[own.len() - 1]), &json!({ "at": "9點" })).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("at")), "{body}");
    // Another vehicle's stop, an unknown order: not theirs.
    let other = stops(&job["result"]).into_iter().find(|o| !own.contains(o));
    if let Some(other) = other {
        assert_eq!(driver.post(&format!("/v1/orders/{other}/arrival"), &json!({ "at": "09:00" })).await.0, 403);
    }
    assert_eq!(app.post("/v1/orders/999999/arrival", &json!({})).await.0, 404);
    // Delivered: the stop is done from when the driver got there.
    let (status, _, order) = driver.post(&format!("/v1/orders/{first}/status"), &json!({ "status": "delivered", "at": "09:20" })).await;
    assert_eq!((status, order["status"].as_str()), (200, Some("delivered")), "{order}");
    let (_, _, mine) = driver.get(&today).await;
    assert_eq!(stop_of(&mine, first)["status"], "done", "{mine}");
}

both_backends!(
    assignments_tie_drivers_to_vehicles_by_day_over_their_usual_vehicle,
    a_driver_reads_only_their_own_route_and_reports_only_on_their_own_stops,
    a_driver_finds_their_day_and_an_arrival_sent_twice_counts_once,
);
