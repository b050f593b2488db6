//! A dispatcher's day against the real server (SQLite file and PostgreSQL): plan, stops reported
//! through the orders API and through events (interleaved), an urgent order, a cancellation, a
//! preview, an undo, a dropped order added again and a breakdown. After every step the plan
//! (`GET /v1/plans/{id}`), its newest version, its GeoJSON and the orders' statuses agree, the
//! solver's independent checker accepts the routes against that version's own solver input,
//! and no stop lies outside its route's times.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use support::{customer, fields, seed_day, wait_for_plan, TestApp};

const DAY: &str = "2026-03-02";
const DEADLINE: Duration = Duration::from_secs(90);

/// Seconds since midnight of `HH:MM[:SS]`.
fn secs(t: &str) -> i64 {
    let parts: Vec<i64> = t.split(':').map(|p| p.parse().expect("a clock time")).collect();
    parts[0] * 3600 + parts[1] * 60 + parts.get(2).copied().unwrap_or(0)
}

fn clock(s: i64) -> String {
    format!("{:02}:{:02}", s / 3600, (s % 3600) / 60)
}

/// Every stop of a plan: order → (vehicle, status, arrival).
fn stops(plan: &Value) -> BTreeMap<i64, (i64, String, String)> {
    let mut m = BTreeMap::new();
    for r in plan["routes"].as_array().expect("routes") {
        let vehicle = r["vehicle_id"].as_i64().expect("vehicle");
        for s in r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().expect("stops")) {
            let old = m.insert(
                s["order_id"].as_i64().expect("order"),
                (vehicle, s["status"].as_str().expect("status").to_owned(), s["arrival"].as_str().expect("arrival").to_owned()),
            );
            assert!(old.is_none(), "order {} twice in {plan}", s["order_id"]);
        }
    }
    m
}

fn unassigned(plan: &Value) -> Vec<i64> {
    plan["unassigned"].as_array().expect("unassigned").iter().filter_map(|u| u["order_id"].as_i64()).collect()
}

/// Checks that everything the service shows of the plan agrees, and returns its newest version.
async fn agrees(app: &TestApp, id: i64, orders: &[i64], cancelled: &[i64]) -> Value {
    let (status, _, v) = app.get(&format!("/v1/plans/{id}/versions/latest")).await;
    assert_eq!(status, 200, "{v}");
    let (_, _, job) = app.get(&format!("/v1/plans/{id}")).await;
    assert_eq!(job["version"], v["version"], "the plan is served at its newest version");
    assert_eq!(job["result"], v["plan"], "GET /v1/plans/{{id}} serves the newest version's routes");
    let plan = &v["plan"];
    assert!(plan["cost_ntd"].is_i64() && plan["penalty_ntd"].is_i64(), "operating cost apart from penalties, whole NT$");
    let on_routes = stops(plan);

    // The map shows exactly the stops of the newest version.
    let (_, _, geo) = app.get(&format!("/v1/plans/{id}/geojson")).await;
    let mut drawn: Vec<i64> = geo["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["kind"] == "stop")
        .map(|f| f["properties"]["order_id"].as_i64().expect("order"))
        .collect();
    drawn.sort_unstable();
    assert_eq!(drawn, on_routes.keys().copied().collect::<Vec<_>>(), "the map draws the newest version");

    // Orders' statuses follow their stops.
    for &o in orders {
        let (_, _, order) = app.get(&format!("/v1/orders/{o}")).await;
        let status = order["status"].as_str().expect("status");
        let want: &[&str] = match on_routes.get(&o).map(|s| s.1.as_str()) {
            Some("done") => &["delivered"],
            Some("failed") => &["failed"],
            Some("in_progress") | Some("planned") => &["planned", "dispatched"],
            Some(other) => panic!("stop status {other}"),
            None if cancelled.contains(&o) => &["cancelled"],
            None => {
                assert!(unassigned(plan).contains(&o), "order {o} is on no route and not unassigned: {plan}");
                &["received"]
            }
        };
        assert!(want.contains(&status), "order {o} is {status}, its stop says {:?}", on_routes.get(&o));
    }

    // Every stop lies inside its route's times; the route's duration is its span.
    for r in plan["routes"].as_array().expect("routes") {
        let (start, end) = (secs(r["start"].as_str().expect("start")), secs(r["end"].as_str().expect("end")));
        assert!(start <= end, "{r}");
        // Times are shown to the minute.
        let duration = r["duration_s"].as_i64().expect("duration");
        assert!((duration - (end - start)).abs() < 60, "duration {duration} s, shown {}–{}", r["start"], r["end"]);
        assert!(r["cost_ntd"].is_i64() && r["plate"].is_string(), "whole NT$ and the vehicle: {r}");
        for t in r["trips"].as_array().expect("trips") {
            assert!(t["depart"].is_string() && t["loaded"].is_object(), "each trip leaves its depot at a time with a load: {t}");
        }
        for s in r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().expect("stops")) {
            // What the driver acts on.
            assert!(s["address"].as_str().is_some_and(|a| !a.is_empty()) && s.as_object().is_some_and(|o| o.contains_key("phone")), "{s}");
            let cylinders = s["cylinders"].as_array().expect("cylinders");
            assert!(!cylinders.is_empty() && cylinders.iter().all(|c| c["deliver"].as_u64() >= Some(1) && c["collect"].is_u64()), "{s}");
            assert!(s["time_windows"].is_array(), "{s}");
            let at = secs(s["arrival"].as_str().expect("arrival"));
            assert!(start <= at && at <= end, "stop {} at {} outside its route {}–{}", s["order_id"], s["arrival"], r["start"], r["end"]);
        }
    }

    // The independent checker accepts the routes against this version's own solver input.
    let n = v["version"].as_i64().expect("version");
    let text = app.client.get(app.url(&format!("/v1/plans/{id}/problem?version={n}"))).send().await.expect("problem").text().await.expect("text");
    let (doc, problem) = solver::io::json::parse(&text).expect("the version's solver input parses and builds");
    let routes = support::solver_routes(&doc, plan);
    let report = solver::check::check(&problem, &solver::Solution { routes, unassigned: Vec::new() });
    let broken: Vec<_> = report.violations.iter().filter(|v| !format!("{v:?}").contains("Unassigned") && !format!("{v:?}").contains("Missing")).collect();
    assert!(broken.is_empty(), "version {n}: {broken:?}");
    v
}

/// The newest audit entry is this write, by the test's admin.
async fn audited(app: &TestApp, method: &str, path: &str) {
    let (status, _, log) = app.get("/v1/audit?limit=1").await;
    assert_eq!(status, 200, "{log}");
    let e = &log["items"][0];
    assert_eq!((e["method"].as_str(), e["path"].as_str(), e["actor"].as_str()), (Some(method), Some(path), Some("admin@luckygas.test")), "{log}");
}

async fn events(app: &TestApp, id: i64, base: &Value, at: &str, events: Value) -> Value {
    let body = json!({ "base_version": base["version"], "at": at, "events": events });
    let (status, _, v) = app.post(&format!("/v1/plans/{id}/events"), &body).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["version"].as_i64(), base["version"].as_i64().map(|b| b + 1), "{v}");
    audited(app, "POST", &format!("/v1/plans/{id}/events")).await;
    v
}

async fn a_dispatchers_day_keeps_one_truth(app: &TestApp) {
    let day = seed_day(&app.client, &app.base, 16, DAY, 1).await;
    let (status, _, job) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [day.depot_id], "options": { "time_limit_s": 1 } })).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().expect("id");
    let job = wait_for_plan(&app.client, &app.base, id, DEADLINE).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let mut orders = day.order_ids.clone();
    let mut cancelled = Vec::new();
    let v1 = agrees(app, id, &orders, &cancelled).await;
    assert_eq!(v1["version"], 1);

    // The busiest truck serves its first stop: reported by the driver through the orders API.
    let trucks = &day.vehicle_ids[..2];
    let route = |v: &Value, vehicle: i64| -> Vec<(i64, String, String)> {
        stops(&v["plan"]).into_iter().filter(|(_, s)| s.0 == vehicle).map(|(o, s)| (o, s.1, s.2)).collect::<Vec<_>>()
    };
    let by_arrival = |v: &Value, vehicle: i64| {
        let mut r = route(v, vehicle);
        r.sort_by_key(|s| secs(&s.2));
        r
    };
    let truck = *trucks.iter().max_by_key(|&&t| route(&v1, t).len()).expect("a truck");
    let other = *trucks.iter().find(|&&t| t != truck).expect("the other truck");
    let first = by_arrival(&v1, truck)[0].clone();
    let (status, _, o) = app.post(&format!("/v1/orders/{}/status", first.0), &json!({ "status": "delivered", "at": first.2 })).await;
    assert_eq!((status, o["status"].as_str()), (200, Some("delivered")), "{o}");
    audited(app, "POST", &format!("/v1/orders/{}/status", first.0)).await;
    let v2 = agrees(app, id, &orders, &cancelled).await;
    assert_eq!(v2["version"], 2, "the orders API's report is a version of the plan");
    assert_eq!(stops(&v2["plan"])[&first.0], (truck, "done".to_owned(), first.2.clone()));

    // Its next stop through the plan's events, a few minutes after its planned arrival.
    let second = by_arrival(&v2, truck).into_iter().find(|s| s.1 == "planned").expect("a second stop");
    let done_at = clock(secs(&second.2) + 300);
    let v3 = events(app, id, &v2, &done_at, json!([{ "type": "stop_done", "order_id": second.0, "at": done_at }])).await;
    let v3 = {
        assert_eq!(v3["version"], 3);
        agrees(app, id, &orders, &cancelled).await
    };
    assert_eq!(stops(&v3["plan"])[&second.0].1, "done");
    assert_eq!(stops(&v3["plan"])[&first.0], (truck, "done".to_owned(), first.2.clone()), "a done stop never moves");
    let (_, _, o) = app.get(&format!("/v1/orders/{}", second.0)).await;
    assert_eq!(o["status"], "delivered");

    // An urgent order comes in by phone.
    let c = app.post("/v1/customers", &customer("C09001", "大安區")).await.2["id"].clone();
    let (status, _, urgent) =
        app.post("/v1/orders", &json!({ "customer_id": c, "delivery_date": DAY, "cylinders": [{ "size_kg": 20, "quantity": 1 }], "priority": "urgent" })).await;
    assert_eq!(status, 201, "{urgent}");
    let urgent = urgent["id"].as_i64().expect("order id");
    orders.push(urgent);
    let v4 = events(app, id, &v3, &done_at, json!([{ "type": "order_added", "order_id": urgent }])).await;
    let v4 = {
        assert_eq!(v4["diff"]["added"][0]["order_id"], urgent, "{}", v4["diff"]);
        agrees(app, id, &orders, &cancelled).await
    };

    // A customer of the other truck cancels, through the orders API.
    let gone = by_arrival(&v4, other).into_iter().find(|s| s.1 == "planned").or_else(|| by_arrival(&v4, truck).into_iter().find(|s| s.1 == "planned"));
    let gone = gone.expect("a planned stop to cancel").0;
    // Two dispatchers have the order open: one cancels it, the other's change, based on what
    // they read before, is refused (412) and changes nothing.
    let other_dispatcher = app.as_role(planner_api::domain::Role::Dispatcher).await;
    let read = app.client.get(app.url(&format!("/v1/orders/{gone}"))).send().await.expect("GET order");
    let etag = read.headers().get("etag").and_then(|v| v.to_str().ok()).expect("an ETag").to_owned();
    let cancel = app
        .client
        .post(app.url(&format!("/v1/orders/{gone}/status")))
        .header("If-Match", &etag)
        .json(&json!({ "status": "cancelled", "at": done_at, "note": "客戶改期" }));
    let (status, _, o) = app.send(cancel).await;
    assert_eq!((status, o["status"].as_str()), (200, Some("cancelled")), "{o}");
    audited(app, "POST", &format!("/v1/orders/{gone}/status")).await;
    let stale = app.anon.post(app.url(&format!("/v1/orders/{gone}/status"))).header("If-Match", &etag).json(&json!({ "status": "dispatched" }));
    let (status, _, body) = other_dispatcher.send(stale).await;
    assert_eq!((status, body["type"].as_str()), (412, Some("https://luckygas.tw/problems/precondition-failed")), "{body}");
    audited(app, "POST", &format!("/v1/orders/{gone}/status")).await;
    cancelled.push(gone);
    let v5 = agrees(app, id, &orders, &cancelled).await;
    assert_eq!(v5["version"], 5);
    assert!(!stops(&v5["plan"]).contains_key(&gone), "a cancelled order leaves its route");
    // A done stop cannot be reported again, nor a cancelled order delivered.
    let (status, _, body) = app.post(&format!("/v1/orders/{}/status", first.0), &json!({ "status": "delivered", "at": done_at })).await;
    assert_eq!(status, 409, "{body}");
    let (status, _, body) = app.post(&format!("/v1/orders/{gone}/status"), &json!({ "status": "delivered", "at": done_at })).await;
    assert_eq!(status, 409, "{body}");

    // Every vehicle is held up until late afternoon: a preview shows the orders it would drop,
    // and stores nothing.
    let late = "17:40";
    let minutes = (secs(late) - secs(&done_at)) / 60;
    let held: Vec<Value> = day.vehicle_ids.iter().map(|v| json!({ "type": "vehicle_delayed", "vehicle_id": v, "minutes": minutes })).collect();
    let body = json!({ "base_version": 5, "at": done_at, "events": held });
    let (status, _, preview) = app.post(&format!("/v1/plans/{id}/preview"), &body).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["version"], 6);
    assert!(!preview["diff"]["removed"].as_array().expect("removed").is_empty(), "the delay drops orders: {}", preview["diff"]);
    assert_eq!(agrees(app, id, &orders, &cancelled).await["version"], 5, "a preview stores nothing");

    // The dispatcher applies it anyway, then undoes it: version 5's routes come back.
    let v6 = events(app, id, &v5, &done_at, body["events"].clone()).await;
    let dropped: Vec<i64> = v6["diff"]["removed"].as_array().expect("removed").iter().map(|r| r["order_id"].as_i64().expect("order")).collect();
    assert!(!dropped.is_empty());
    let v6 = agrees(app, id, &orders, &cancelled).await;
    for o in &dropped {
        assert!(unassigned(&v6["plan"]).contains(o));
    }
    let (status, _, v7) = app.post(&format!("/v1/plans/{id}/versions/5/restore"), &json!({ "base_version": 6 })).await;
    assert_eq!(status, 201, "{v7}");
    audited(app, "POST", &format!("/v1/plans/{id}/versions/5/restore")).await;
    let v7 = agrees(app, id, &orders, &cancelled).await;
    assert_eq!((v7["version"].as_i64(), &v7["plan"]), (Some(7), &v5["plan"]), "undo restores version 5's routes as version 7");
    // An old base is a conflict, a version that is not older is refused.
    let (status, _, _) = app.post(&format!("/v1/plans/{id}/versions/5/restore"), &json!({ "base_version": 6 })).await;
    assert_eq!(status, 409);
    let (status, _, body) = app.post(&format!("/v1/plans/{id}/versions/7/restore"), &json!({ "base_version": 7 })).await;
    assert_eq!((status, fields(&body)), (422, vec![("version".to_owned(), "not_older".to_owned())]));

    // Held up again for real: the dropped orders can be added again (tried once more).
    let v8 = events(app, id, &v7, &done_at, body_events(&day.vehicle_ids, minutes)).await;
    let again: Vec<i64> =
        v8["plan"]["unassigned"].as_array().expect("unassigned").iter().filter_map(|u| u["order_id"].as_i64()).filter(|o| !cancelled.contains(o)).collect();
    let readd = *again.first().expect("a dropped order");
    let v8 = agrees(app, id, &orders, &cancelled).await;
    let v9 = events(app, id, &v8, late, json!([{ "type": "order_added", "order_id": readd }])).await;
    assert!(stops(&v9["plan"]).contains_key(&readd) || unassigned(&v9["plan"]).contains(&readd), "{}", v9["plan"]);
    let v9 = agrees(app, id, &orders, &cancelled).await;
    // A routed order is not added twice.
    if let Some((&routed, _)) = stops(&v9["plan"]).iter().find(|(_, s)| s.1 == "planned") {
        let body = json!({ "base_version": 9, "at": late, "events": [{ "type": "order_added", "order_id": routed }] });
        let (status, _, e) = app.post(&format!("/v1/plans/{id}/events"), &body).await;
        assert_eq!((status, fields(&e)), (422, vec![("events[0].order_id".to_owned(), "already_in_plan".to_owned())]));
    }

    // The other truck breaks down; its executed stops stay, the rest go elsewhere or drop.
    let v10 = events(app, id, &v9, late, json!([{ "type": "vehicle_unavailable", "vehicle_id": other }])).await;
    let v10 = {
        assert_eq!(v10["version"], 10);
        agrees(app, id, &orders, &cancelled).await
    };
    assert!(stops(&v10["plan"]).values().all(|s| s.0 != other || s.1 != "planned"), "a broken-down truck takes no more stops");

    // Events without a time on a day that is not today are refused.
    let body = json!({ "base_version": 10, "events": [{ "type": "order_cancelled", "order_id": readd }] });
    let (status, _, e) = app.post(&format!("/v1/plans/{id}/events"), &body).await;
    assert_eq!((status, fields(&e)), (422, vec![("at".to_owned(), "required".to_owned())]));
    let (status, _, e) = app.post(&format!("/v1/orders/{}/status", by_arrival(&v10, truck).last().expect("a stop").0), &json!({ "status": "delivered" })).await;
    assert_eq!((status, fields(&e)), (422, vec![("at".to_owned(), "required".to_owned())]), "{e}");
    assert_eq!(agrees(app, id, &orders, &cancelled).await["version"], 10, "refusals change nothing");

    // The history records who did what: the signed-in user.
    let (_, _, history) = app.get(&format!("/v1/orders/{}/history", first.0)).await;
    let last = history.as_array().and_then(|h| h.last()).expect("history");
    assert_eq!((last["to_status"].as_str(), last["changed_by"].as_str()), (Some("delivered"), Some("admin@luckygas.test")));
    let (_, _, list) = app.get(&format!("/v1/plans/{id}/versions")).await;
    assert!(list["items"].as_array().expect("items").iter().skip(1).all(|v| v["created_by"] == "admin@luckygas.test"), "{list}");
}

fn body_events(vehicles: &[i64], minutes: i64) -> Value {
    Value::Array(vehicles.iter().map(|v| json!({ "type": "vehicle_delayed", "vehicle_id": v, "minutes": minutes })).collect())
}

both_backends!(a_dispatchers_day_keeps_one_truth);
