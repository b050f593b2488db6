//! Replanning through the API while the vehicles are out (`POST /v1/plans/{id}/events`), plan
//! versions and their live stream: the real application and its worker on `127.0.0.1:0`, over
//! HTTP, on a fresh SQLite file and a fresh PostgreSQL schema.

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::{check_plan_with_solver, customer, fields, problem_type, seed_day, wait_for_plan, TestApp};

const DAY: &str = "2026-03-02";
const DEADLINE: Duration = Duration::from_secs(90);

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

fn unassigned(plan: &Value) -> BTreeSet<i64> {
    plan["unassigned"].as_array().expect("unassigned").iter().filter_map(|u| u["order_id"].as_i64()).collect()
}

/// The stops of one vehicle in route order.
fn route_of(plan: &Value, vehicle: i64) -> Vec<(i64, String, String)> {
    plan["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .filter(|r| r["vehicle_id"].as_i64() == Some(vehicle))
        .flat_map(|r| r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().expect("stops").iter()))
        .map(|s| (s["order_id"].as_i64().expect("order"), s["status"].as_str().expect("status").to_owned(), s["arrival"].as_str().expect("arrival").to_owned()))
        .collect()
}

async fn status_of(app: &TestApp, order: i64) -> String {
    app.get(&format!("/v1/orders/{order}")).await.2["status"].as_str().expect("status").to_owned()
}

async fn latest(app: &TestApp, plan: i64) -> i64 {
    let (status, _, list) = app.get(&format!("/v1/plans/{plan}/versions")).await;
    assert_eq!(status, 200, "{list}");
    list["latest"].as_i64().expect("latest")
}

/// Plans a seeded day of `n` orders and returns `(plan id, its routes, the day)`.
async fn planned_day(app: &TestApp, n: usize) -> (i64, Value, support::SeededDay) {
    let day = seed_day(&app.client, &app.base, n, DAY, 1).await;
    let (status, _, job) = app.post("/v1/plans", &json!({ "date": DAY, "depot_ids": [day.depot_id], "options": { "time_limit_s": 1 } })).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().expect("id");
    let job = wait_for_plan(&app.client, &app.base, id, DEADLINE).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    (id, job["result"].clone(), day)
}

/// A truck route of the plan with at least two stops: `(vehicle, its stops)`.
fn busy_truck(plan: &Value, day: &support::SeededDay) -> (i64, Vec<(i64, String, String)>) {
    day.vehicle_ids[..2]
        .iter()
        .map(|&v| (v, route_of(plan, v)))
        .filter(|(_, r)| r.len() >= 2)
        .max_by_key(|(_, r)| r.len())
        .expect("a truck with two stops or more")
}

async fn new_urgent_order(app: &TestApp, code: &str) -> i64 {
    let c = app.post("/v1/customers", &customer(code, "大安區")).await.2["id"].clone();
    let order = json!({ "customer_id": c, "delivery_date": DAY, "cylinders": [{ "size_kg": 20, "quantity": 1 }], "priority": "urgent" });
    let (status, _, o) = app.post("/v1/orders", &order).await;
    assert_eq!(status, 201, "{o}");
    o["id"].as_i64().expect("order id")
}

/// Reads server-sent events from `res` until one named `version` has `version` = `want`.
async fn next_version(res: &mut reqwest::Response, buffer: &mut String, want: i64) -> Value {
    let read = async {
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                if let Some(data) = event.strip_prefix("event: version\ndata: ") {
                    let v: Value = serde_json::from_str(data.trim()).expect("version JSON");
                    if v["version"].as_i64() == Some(want) {
                        return v;
                    }
                }
            }
            let chunk = res.chunk().await.expect("chunk").expect("the stream stays open");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(DEADLINE, read).await.expect("the version arrives on the live stream")
}

async fn replans_from_events_keeps_executed_stops_and_streams_each_version(app: &TestApp) {
    let (id, v1, day) = planned_day(app, 24).await;
    let (truck, route) = busy_truck(&v1, &day);
    // The truck has a driver for the day: every version names them, the pushed ones too.
    let driver = app.post("/v1/drivers", &json!({ "name": "陳志明" })).await.2["id"].clone();
    let (status, _, _) = app.put(&format!("/v1/vehicles/{truck}/assignments/{DAY}"), &json!({ "driver_id": driver })).await;
    assert_eq!(status, 200);
    let v1 = app.get(&format!("/v1/plans/{id}")).await.2["result"].clone();
    let (status, _, list) = app.get(&format!("/v1/plans/{id}/versions")).await;
    assert_eq!((status, list["latest"].as_i64(), list["items"].as_array().map(Vec::len)), (200, Some(1), Some(1)), "{list}");

    let mut live = app.client.get(app.url(&format!("/v1/plans/{id}/live"))).send().await.expect("live");
    assert_eq!(live.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/event-stream"));
    let mut buffer = String::new();
    let first = next_version(&mut live, &mut buffer, 1).await;
    assert_eq!(first["plan"], v1);

    let done = route[0].0;
    let before = stops(&v1);
    // Cancel a stop that is not the one served.
    let cancelled = *before.keys().find(|&&o| o != done).expect("another stop");
    let added = new_urgent_order(app, "C09001").await;
    let events = json!({ "base_version": 1, "at": "10:00", "events": [
        { "type": "stop_done", "order_id": done, "at": "09:50" },
        { "type": "order_cancelled", "order_id": cancelled },
        { "type": "order_added", "order_id": added },
    ]});
    let res = app.client.post(app.url(&format!("/v1/plans/{id}/events"))).json(&events).send().await.expect("POST events");
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(res.headers().get("location").and_then(|v| v.to_str().ok()), Some(format!("/v1/plans/{id}/versions/2").as_str()));
    let v2: Value = res.json().await.expect("version");
    assert_eq!((v2["version"].as_i64(), v2["based_on"].as_i64(), v2["at"].as_str()), (Some(2), Some(1), Some("10:00")));
    let plan = &v2["plan"];
    let after = stops(plan);
    // The executed stop stays first on its truck, at the reported time.
    assert_eq!(route_of(plan, truck)[0], (done, "done".to_owned(), "09:50".to_owned()));
    // Every order of the day is on one route or listed, the cancelled one nowhere.
    let mut expected: BTreeSet<i64> = before.keys().copied().chain(unassigned(&v1)).collect();
    expected.remove(&cancelled);
    expected.insert(added);
    let now: BTreeSet<i64> = after.keys().copied().chain(unassigned(plan)).collect();
    assert_eq!(now, expected);
    assert!(after.keys().chain(unassigned(plan).iter()).all(|o| *o != cancelled));
    // Nothing not yet executed is planned before the replan's time.
    for (order, (_, status, arrival)) in &after {
        if status == "planned" {
            assert!(arrival.as_str() >= "10:00", "order {order} planned at {arrival}");
        }
    }
    // The diff names the cancelled stop, the added one, and each stop that changed vehicle.
    let diff = &v2["diff"];
    assert!(diff["removed"].as_array().expect("removed").iter().any(|r| r["order_id"].as_i64() == Some(cancelled) && r["reason"] == "cancelled"), "{diff}");
    if after.contains_key(&added) {
        assert!(diff["added"].as_array().expect("added").iter().any(|a| a["order_id"].as_i64() == Some(added)), "{diff}");
    }
    for m in diff["moved"].as_array().expect("moved") {
        let o = m["order_id"].as_i64().expect("order");
        assert_eq!(Some(&m["from_vehicle_id"].as_i64().expect("from")), before.get(&o).map(|b| &b.0));
        assert_eq!(Some(&m["to_vehicle_id"].as_i64().expect("to")), after.get(&o).map(|a| &a.0));
    }
    let moved_by_diff: BTreeSet<i64> = diff["moved"].as_array().expect("moved").iter().filter_map(|m| m["order_id"].as_i64()).collect();
    let moved: BTreeSet<i64> = after.iter().filter(|(o, a)| a.1 == "planned" && before.get(o).is_some_and(|b| b.0 != a.0)).map(|(o, _)| *o).collect();
    assert_eq!(moved_by_diff, moved);
    // The orders follow.
    assert_eq!(status_of(app, done).await, "delivered");
    assert_eq!(status_of(app, cancelled).await, "cancelled");
    assert_eq!(status_of(app, added).await, if after.contains_key(&added) { "planned" } else { "received" });
    // The live stream pushes the new version; the versions list has both.
    let pushed = next_version(&mut live, &mut buffer, 2).await;
    let named = v2["plan"]["routes"].as_array().expect("routes").iter().find(|r| r["vehicle_id"] == truck).expect("the truck's route")["driver_name"].clone();
    assert_eq!(named, "陳志明");
    assert_eq!(pushed, v2);
    assert_eq!(latest(app, id).await, 2);
    assert_eq!(app.get(&format!("/v1/plans/{id}/versions/latest")).await.2, v2);
    assert_eq!(app.get(&format!("/v1/plans/{id}/versions/1")).await.2["plan"], v1);

    // A breakdown: the truck takes no more stops; its planned ones go elsewhere or are listed.
    let (status, _, v3) = app
        .post(
            &format!("/v1/plans/{id}/events"),
            &json!({ "base_version": 2, "at": "10:30", "events": [
                { "type": "vehicle_unavailable", "vehicle_id": truck },
            ]}),
        )
        .await;
    assert_eq!(status, 201, "{v3}");
    let plan3 = &v3["plan"];
    let broken = route_of(plan3, truck);
    assert_eq!(broken, vec![(done, "done".to_owned(), "09:50".to_owned())], "only the executed stop stays on the broken truck");
    let before3 = stops(&v2["plan"]);
    let after3 = stops(plan3);
    let had: Vec<i64> = before3.iter().filter(|(_, b)| b.0 == truck && b.1 == "planned").map(|(o, _)| *o).collect();
    assert!(!had.is_empty());
    for o in &had {
        let moved = v3["diff"]["moved"].as_array().expect("moved").iter().any(|m| m["order_id"].as_i64() == Some(*o));
        let removed = v3["diff"]["removed"].as_array().expect("removed").iter().any(|m| m["order_id"].as_i64() == Some(*o));
        assert!(moved != removed, "order {o} is moved or removed, not both: {}", v3["diff"]);
        assert_eq!(moved, after3.contains_key(o));
        assert_eq!(removed, unassigned(plan3).contains(o));
    }
    assert_eq!(next_version(&mut live, &mut buffer, 3).await, v3);
}

async fn invalid_events_and_version_conflicts_change_nothing(app: &TestApp) {
    let (id, v1, day) = planned_day(app, 16).await;
    let (truck, route) = busy_truck(&v1, &day);
    let (first, second) = (route[0].0, route[1].0);
    let (status, _, v2) = app
        .post(
            &format!("/v1/plans/{id}/events"),
            &json!({ "base_version": 1, "at": "10:00", "events": [
                { "type": "stop_done", "order_id": first, "at": "09:50" },
            ]}),
        )
        .await;
    assert_eq!(status, 201, "{v2}");
    let orders_before: Vec<String> = {
        let mut s = Vec::new();
        for o in &day.order_ids {
            s.push(status_of(app, *o).await);
        }
        s
    };

    let other_day = {
        let c = app.post("/v1/customers", &customer("C09002", "大安區")).await.2["id"].clone();
        let o = json!({ "customer_id": c, "delivery_date": "2026-03-03", "cylinders": [{ "size_kg": 20, "quantity": 1 }] });
        app.post("/v1/orders", &o).await.2["id"].as_i64().expect("id")
    };
    let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (json!({ "type": "stop_done", "order_id": first }), vec![("events[0].order_id", "already_executed")]),
        (json!({ "type": "stop_failed", "order_id": first }), vec![("events[0].order_id", "already_executed")]),
        (json!({ "type": "order_cancelled", "order_id": first }), vec![("events[0].order_id", "already_executed")]),
        (json!({ "type": "order_added", "order_id": 999_999 }), vec![("events[0].order_id", "unknown_reference")]),
        (json!({ "type": "order_added", "order_id": second }), vec![("events[0].order_id", "already_in_plan")]),
        (json!({ "type": "order_added", "order_id": other_day }), vec![("events[0].order_id", "other_day")]),
        (json!({ "type": "order_cancelled", "order_id": other_day }), vec![("events[0].order_id", "not_in_plan")]),
        (json!({ "type": "vehicle_unavailable", "vehicle_id": 999_999 }), vec![("events[0].vehicle_id", "unknown_reference")]),
        (json!({ "type": "vehicle_delayed", "vehicle_id": truck }), vec![("events[0].minutes", "required")]),
        // Before what the truck already executed.
        (json!({ "type": "stop_done", "order_id": second, "at": "09:40" }), vec![("events[0].at", "before_executed")]),
        (json!({ "type": "vehicle_unavailable", "vehicle_id": truck, "at": "09:00" }), vec![("events[0].at", "before_executed")]),
        // Later than the replan itself.
        (json!({ "type": "stop_done", "order_id": second, "at": "11:00" }), vec![("events[0].at", "in_future")]),
        (json!({ "type": "teleport", "vehicle_id": truck }), vec![("events[0].type", "not_allowed")]),
        // Positions: on the map, of a vehicle of the plan, after what it executed.
        (json!({ "type": "vehicle_position", "vehicle_id": truck, "lat": 95.0, "lon": 121.5 }), vec![("events[0].lat", "out_of_range")]),
        (json!({ "type": "vehicle_position", "vehicle_id": truck, "lat": 25.03 }), vec![("events[0].lon", "required")]),
        (json!({ "type": "vehicle_position", "vehicle_id": 999_999, "lat": 25.03, "lon": 121.56 }), vec![("events[0].vehicle_id", "unknown_reference")]),
        (json!({ "type": "vehicle_position", "vehicle_id": truck, "lat": 25.03, "lon": 121.56, "at": "09:40" }), vec![("events[0].at", "before_executed")]),
        (json!({ "type": "vehicle_position", "vehicle_id": truck, "lat": 25.03, "lon": 121.56, "at": "11:00" }), vec![("events[0].at", "in_future")]),
    ];
    for (event, want) in cases {
        let (status, content_type, body) = app.post(&format!("/v1/plans/{id}/events"), &json!({ "base_version": 2, "at": "10:10", "events": [event] })).await;
        assert_eq!((status, content_type.as_str(), problem_type(&body)), (422, "application/problem+json", "validation"), "{event}: {body}");
        let want: Vec<(String, String)> = want.into_iter().map(|(f, c)| (f.to_owned(), c.to_owned())).collect();
        assert_eq!(fields(&body), want, "{event}: {body}");
    }
    // A replan's time before the version's.
    let (status, _, body) = app
        .post(
            &format!("/v1/plans/{id}/events"),
            &json!({ "base_version": 2, "at": "09:30", "events": [{ "type": "vehicle_delayed", "vehicle_id": truck, "minutes": 5 }] }),
        )
        .await;
    assert_eq!((status, fields(&body)), (422, vec![("at".to_owned(), "before_executed".to_owned())]), "{body}");
    // In English on request.
    let res = app
        .client
        .post(app.url(&format!("/v1/plans/{id}/events")))
        .header("accept-language", "en")
        .json(&json!({ "base_version": 2, "at": "10:10", "events": [{ "type": "stop_done", "order_id": first }] }))
        .send()
        .await
        .expect("POST");
    let body: Value = res.json().await.expect("problem");
    assert_eq!(body["errors"][0]["message"], "this stop was already served or attempted", "{body}");

    // A stale base version.
    let (status, _, body) = app
        .post(
            &format!("/v1/plans/{id}/events"),
            &json!({ "base_version": 1, "at": "10:10", "events": [{ "type": "vehicle_delayed", "vehicle_id": truck, "minutes": 5 }] }),
        )
        .await;
    assert_eq!((status, problem_type(&body), body["latest_version"].as_i64()), (409, "version-conflict", Some(2)), "{body}");
    // Two dispatchers replan the same version at once: one wins, the other is told to reload.
    let send = |minutes: u32| {
        let body = json!({ "base_version": 2, "at": "10:10", "events": [{ "type": "vehicle_delayed", "vehicle_id": truck, "minutes": minutes }] });
        app.client.post(app.url(&format!("/v1/plans/{id}/events"))).json(&body).send()
    };
    let (a, b) = tokio::join!(send(5), send(10));
    let mut statuses = vec![a.expect("a").status().as_u16(), b.expect("b").status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, vec![201, 409]);
    assert_eq!(latest(app, id).await, 3);
    // None of the refused requests touched an order.
    let mut orders_after = Vec::new();
    for o in &day.order_ids {
        orders_after.push(status_of(app, *o).await);
    }
    assert_eq!(orders_after, orders_before);
    // A plan that does not exist, and one without routes yet.
    let (status, _, body) = app
        .post(
            "/v1/plans/999999/events",
            &json!({ "base_version": 1, "at": "10:00", "events": [{ "type": "vehicle_delayed", "vehicle_id": truck, "minutes": 5 }] }),
        )
        .await;
    assert_eq!((status, problem_type(&body)), (404, "not-found"), "{body}");
}

async fn a_vehicle_seen_on_the_road_goes_on_from_there_and_a_stop_under_way_stays(app: &TestApp) {
    use planner_api::travel::{GreatCircle, RoutingProfile, TravelConfig, TravelMatrix};
    let (id, v1, day) = planned_day(app, 16).await;
    let (truck, route) = busy_truck(&v1, &day);
    let done = route[0].0;
    // Seen 30 km north of its stops at 10:00, after its first stop; a dear move cost keeps its
    // stops on it.
    let (lat, lon) = (25.35, 121.55);
    let (status, _, v2) = app
        .post(
            &format!("/v1/plans/{id}/events"),
            &json!({ "base_version": 1, "at": "10:00", "move_cost_ntd": 100_000, "events": [
                { "type": "stop_done", "order_id": done, "at": "09:50" },
                { "type": "vehicle_position", "vehicle_id": truck, "lat": lat, "lon": lon },
            ]}),
        )
        .await;
    assert_eq!(status, 201, "{v2}");
    let seen = &v2["execution"]["vehicles"][truck.to_string()]["position"];
    assert_eq!((seen["lat"].as_f64(), seen["lon"].as_f64(), seen["at"].as_str()), (Some(lat), Some(lon), Some("10:00")), "{}", v2["execution"]);
    // Its next stop is reached no sooner than the drive from where it was seen.
    let stops = route_of(&v2["plan"], truck);
    assert_eq!(stops[0], (done, "done".to_owned(), "09:50".to_owned()));
    let (next, status, arrival) = stops.get(1).expect("the truck goes on").clone();
    assert_eq!(status, "planned");
    let at = v2["plan"]["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .flat_map(|r| r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().expect("stops").iter()))
        .find(|s| s["order_id"].as_i64() == Some(next))
        .map(|s| (s["lat"].as_f64().expect("lat"), s["lon"].as_f64().expect("lon")))
        .expect("the next stop");
    let travel = GreatCircle::new(TravelConfig::default());
    let (_, seconds) = travel.between(RoutingProfile::Truck, &[(lat, lon)], &[at]).expect("travel");
    let earliest = 10 * 3600 + seconds[0][0];
    let clock = |s: &str| s[..2].parse::<i64>().expect("hours") * 3600 + s[3..5].parse::<i64>().expect("minutes") * 60;
    assert!(clock(&arrival) + 60 > earliest, "order {next} at {arrival}, but the drive from the fix takes {} s from 10:00", seconds[0][0]);

    // The driver gets to that stop: it is fixed, in progress, from when the driver got there,
    // and the fix is forgotten (the truck was there later).
    let (status, _, v3) = app
        .post(
            &format!("/v1/plans/{id}/events"),
            &json!({ "base_version": 2, "at": "12:00", "events": [{ "type": "stop_arrived", "order_id": next, "at": "11:50" }] }),
        )
        .await;
    assert_eq!(status, 201, "{v3}");
    assert!(v3["execution"]["vehicles"][truck.to_string()]["position"].is_null(), "{}", v3["execution"]);
    assert_eq!(route_of(&v3["plan"], truck)[..2], [(done, "done".to_owned(), "09:50".to_owned()), (next, "in_progress".to_owned(), "11:50".to_owned())]);
    assert_eq!(status_of(app, next).await, "planned");
    // Being served, it cannot be cancelled, reported arrived again or done before the driver got
    // there, and the truck's other stops wait for it.
    let other = route_of(&v3["plan"], truck).get(2).map(|s| s.0);
    let mut refused = vec![
        (json!({ "type": "order_cancelled", "order_id": next }), ("events[0].order_id", "already_executed")),
        (json!({ "type": "stop_arrived", "order_id": next }), ("events[0].order_id", "already_executed")),
        (json!({ "type": "stop_done", "order_id": next, "at": "11:40" }), ("events[0].at", "before_executed")),
    ];
    if let Some(other) = other {
        refused.push((json!({ "type": "stop_arrived", "order_id": other }), ("events[0].order_id", "stop_in_progress")));
    }
    for (event, (field, code)) in refused {
        let (status, _, body) = app.post(&format!("/v1/plans/{id}/events"), &json!({ "base_version": 3, "at": "12:10", "events": [event] })).await;
        assert_eq!((status, fields(&body)), (422, vec![(field.to_owned(), code.to_owned())]), "{event}: {body}");
    }
    // Reported done, it is served from when the driver got there.
    let (status, _, v4) = app
        .post(
            &format!("/v1/plans/{id}/events"),
            &json!({ "base_version": 3, "at": "12:10", "events": [{ "type": "stop_done", "order_id": next, "at": "12:05" }] }),
        )
        .await;
    assert_eq!(status, 201, "{v4}");
    assert_eq!(route_of(&v4["plan"], truck)[1], (next, "done".to_owned(), "11:50".to_owned()));
    assert_eq!(status_of(app, next).await, "delivered");
}

/// A truck held up so long that its stops would be dropped: vehicles with nothing to do take
/// them first.
async fn a_long_delay_gives_the_stops_to_idle_vehicles_before_dropping_them(app: &TestApp) {
    let (id, plan, day) = planned_day(app, 8).await;
    let used: Vec<i64> = day.vehicle_ids[..2].iter().copied().filter(|v| !route_of(&plan, *v).is_empty()).collect();
    let idle: Vec<i64> = day.vehicle_ids[..2].iter().copied().filter(|v| route_of(&plan, *v).is_empty()).collect();
    assert!(!used.is_empty() && !idle.is_empty(), "eight orders fit on one truck: {plan}");
    let (truck, stops_before) = used.iter().map(|&v| (v, route_of(&plan, v))).max_by_key(|(_, r)| r.len()).expect("a used truck");
    // Held until the end of the shift: nothing of its own is served any more.
    let body = json!({ "base_version": 1, "at": "08:00", "events": [{ "type": "vehicle_delayed", "vehicle_id": truck, "minutes": 600 }] });
    let (status, _, v2) = app.post(&format!("/v1/plans/{id}/events"), &body).await;
    assert_eq!(status, 201, "{v2}");
    assert!(route_of(&v2["plan"], truck).is_empty(), "the held truck serves nothing: {}", v2["plan"]);
    let moved: Vec<i64> = v2["diff"]["moved"].as_array().expect("moved").iter().filter_map(|m| m["order_id"].as_i64()).collect();
    let dropped = unassigned(&v2["plan"]);
    for (order, _, _) in &stops_before {
        assert!(moved.contains(order) || dropped.contains(order), "order {order} is moved or dropped");
    }
    assert!(moved.len() >= stops_before.len() / 2, "the idle truck takes most stops of the held one: moved {moved:?}, dropped {dropped:?}");
    assert!(moved.iter().all(|o| route_of(&v2["plan"], idle[0]).iter().any(|s| s.0 == *o)), "to the idle truck");
}

/// Everything a request does that runs the solver or builds travel matrices takes one of the
/// server's heavy-work permits: with every permit taken (as long solves would hold them) a
/// replan, its preview, an undo, a delivery reported on a planned stop and the solver-input
/// download with matrices are each a `503 busy` with `Retry-After`, and change nothing, while
/// cheap requests and the health check still answer; once a permit is free the replan runs.
async fn replans_and_matrix_downloads_are_turned_away_while_every_heavy_permit_is_taken(app: &TestApp) {
    let (id, v1, day) = planned_day(app, 12).await;
    let (_, route) = busy_truck(&v1, &day);
    let done = route[0].0;
    let unplanned = new_urgent_order(app, "C09101").await;
    let mut held = Vec::new();
    while let Ok(permit) = app.heavy.try_permit() {
        held.push(permit);
    }
    assert_eq!(held.len(), app.heavy.limit());

    let events = json!({ "base_version": 1, "at": "10:00", "events": [{ "type": "stop_done", "order_id": done, "at": "09:50" }] });
    let heavy = [
        (format!("/v1/plans/{id}/events"), events.clone()),
        (format!("/v1/plans/{id}/preview"), events.clone()),
        (format!("/v1/plans/{id}/versions/1/restore"), json!({ "base_version": 1 })),
        (format!("/v1/orders/{done}/status"), json!({ "status": "delivered", "at": "09:50" })),
    ];
    for (path, body) in &heavy {
        let res = app.client.post(app.url(path)).json(body).send().await.expect("POST");
        let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (status, problem): (u16, Value) = (res.status().as_u16(), res.json().await.expect("problem"));
        assert_eq!((status, retry.as_deref(), problem_type(&problem)), (503, Some("5"), "busy"), "{path}: {problem}");
    }
    let res = app.client.get(app.url(&format!("/v1/plans/{id}/problem"))).send().await.expect("GET problem");
    assert_eq!(res.status().as_u16(), 503, "the download with matrices builds them");
    // What runs no solver and builds no matrix is answered as usual.
    let (status, _, doc) = app.get(&format!("/v1/plans/{id}/problem?matrices=false")).await;
    assert_eq!(status, 200, "{doc}");
    let (status, _, order) = app.post(&format!("/v1/orders/{unplanned}/status"), &json!({ "status": "cancelled" })).await;
    assert_eq!((status, order["status"].as_str()), (200, Some("cancelled")), "an order on no plan changes without replanning");
    assert_eq!(app.anonymous().get("/healthz").await.0, 200);
    assert_eq!(latest(app, id).await, 1, "nothing was replanned");
    assert_eq!(status_of(app, done).await, "planned");

    drop(held);
    let (status, _, v2) = app.post(&format!("/v1/plans/{id}/events"), &events).await;
    assert_eq!(status, 201, "{v2}");
    assert_eq!(status_of(app, done).await, "delivered");
    assert_eq!(app.heavy.available(), app.heavy.limit(), "the replan gave its permit back");
}

/// The stop of `order` in `plan`: (vehicle, address index, address, status).
fn stop_of(plan: &Value, order: i64) -> Option<(i64, u64, String, String)> {
    plan["routes"].as_array().expect("routes").iter().find_map(|r| {
        r["trips"].as_array().expect("trips").iter().flat_map(|t| t["stops"].as_array().expect("stops")).find(|s| s["order_id"].as_i64() == Some(order)).map(
            |s| {
                let address = s["address"].as_str().expect("address").to_owned();
                (
                    r["vehicle_id"].as_i64().expect("vehicle"),
                    s["address_index"].as_u64().unwrap_or(0),
                    address,
                    s["status"].as_str().expect("status").to_owned(),
                )
            },
        )
    })
}

async fn an_order_with_other_addresses_is_served_at_one_of_them_through_replans(app: &TestApp) {
    let depot_id = app.post("/v1/depots", &support::depot("板橋站")).await.2["id"].clone();
    let truck = json!({ "name": "小貨車", "kind": "truck", "cylinder_slots": [{ "size_kg": 20, "count": 10 }], "max_load_kg": 1500, "max_gas_kg": 600 });
    let type_id = app.post("/v1/vehicle-types", &truck).await.2["id"].clone();
    let vehicle =
        app.post("/v1/vehicles", &json!({ "plate": "ABC-1234", "vehicle_type_id": type_id, "depot_id": depot_id })).await.2["id"].as_i64().expect("id");
    let new_customer = |code: &str, lat: f64, lon: f64| {
        let mut c = customer(code, "淡水區");
        c["access_restrictions"] = json!([]);
        (c["lat"], c["lon"]) = (json!(lat), json!(lon));
        c
    };
    // The customer's home is in Tamsui, 18 km from the depot; the order may also go to their
    // shop in Banqiao, beside it.
    let far = app.post("/v1/customers", &new_customer("C0001", 25.17, 121.44)).await.2["id"].clone();
    let near = app.post("/v1/customers", &new_customer("C0002", 25.02, 121.47)).await.2["id"].clone();
    let shop = json!({ "address": "新北市板橋區文化路一段 100 號", "district": "板橋區", "lat": 25.015, "lon": 121.465 });
    let order = |customer: &Value, quantity: u32, alternatives: Value| json!({ "customer_id": customer, "delivery_date": DAY, "cylinders": [{ "size_kg": 20, "quantity": quantity }], "alternative_addresses": alternatives });
    let (status, _, at_shop) = app.post("/v1/orders", &order(&far, 2, json!([shop]))).await;
    assert_eq!((status, at_shop["alternative_addresses"][0]["district"].as_str()), (201, Some("板橋區")), "{at_shop}");
    let at_shop = at_shop["id"].as_i64().expect("id");
    let plain = app.post("/v1/orders", &order(&near, 1, json!([]))).await.2["id"].as_i64().expect("id");
    // More cylinders than the truck carries, wherever they go: left out once, one penalty.
    let too_big = app.post("/v1/orders", &order(&far, 15, json!([shop]))).await.2["id"].as_i64().expect("id");
    let (status, _, problem) = app.post("/v1/orders", &order(&far, 1, json!([{ "address": "", "district": "板橋區", "lat": 40.0 }]))).await;
    let want: Vec<(String, String)> =
        [("alternative_addresses[0].address", "required"), ("alternative_addresses[0].lat", "out_of_range"), ("alternative_addresses[0].lon", "required")]
            .map(|(f, c)| (f.to_owned(), c.to_owned()))
            .to_vec();
    assert_eq!((status, fields(&problem)), (422, want), "{problem}");

    let request = json!({ "date": DAY, "depot_ids": [depot_id], "options": { "time_limit_s": 1, "max_iterations": 2000, "unserved_penalty_ntd": 4321 } });
    let job = app.post("/v1/plans", &request).await.2;
    let job = wait_for_plan(&app.client, &app.base, job["id"].as_i64().expect("id"), DEADLINE).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    check_plan_with_solver(&app.client, &app.base, &job).await;
    let id = job["id"].as_i64().expect("id");
    let plan = &job["result"];
    assert_eq!(stop_of(plan, at_shop), Some((vehicle, 1, shop["address"].as_str().expect("address").to_owned(), "planned".to_owned())), "{plan}");
    assert_eq!(stop_of(plan, plain).map(|s| s.1), Some(0));
    assert_eq!(plan["unassigned"], json!([{ "order_id": too_big, "reason": "capacity" }]));
    assert_eq!(plan["penalty_ntd"], 4321, "one order's penalty, not one per address");
    // The map shows the stop where it is.
    let geo: Value = app.client.get(app.url(&format!("/v1/plans/{id}/geojson"))).send().await.expect("geojson").json().await.expect("body");
    let point = geo["features"].as_array().expect("features").iter().find(|f| f["properties"]["order_id"].as_i64() == Some(at_shop)).expect("stop").clone();
    assert_eq!((point["geometry"]["coordinates"].clone(), point["properties"]["address_index"].clone()), (json!([121.465, 25.015]), json!(1)));

    // Served at the shop, then the other stop is cancelled and an order added: the day's model
    // loses a client before the groups, whose clients are numbered anew.
    let (status, _, v2) = app
        .post(
            &format!("/v1/plans/{id}/events"),
            &json!({ "base_version": 1, "at": "10:00", "events": [{ "type": "stop_done", "order_id": at_shop, "at": "09:50" }] }),
        )
        .await;
    assert_eq!(status, 201, "{v2}");
    let shop_done = Some((vehicle, 1, shop["address"].as_str().expect("address").to_owned(), "done".to_owned()));
    assert_eq!(stop_of(&v2["plan"], at_shop), shop_done);
    // Added during the day, an order of the Tamsui customer that the shop may take as well.
    let added = app.post("/v1/orders", &order(&far, 1, json!([shop]))).await.2["id"].as_i64().expect("id");
    let (status, _, v3) = app
        .post(
            &format!("/v1/plans/{id}/events"),
            &json!({ "base_version": 2, "at": "10:30", "events": [
                { "type": "order_cancelled", "order_id": plain },
                { "type": "order_added", "order_id": added },
            ]}),
        )
        .await;
    assert_eq!(status, 201, "{v3}");
    let plan = &v3["plan"];
    assert_eq!(stop_of(plan, at_shop), shop_done, "{plan}");
    assert!(stop_of(plan, plain).is_none(), "{plan}");
    assert_eq!(stop_of(plan, added).map(|s| (s.1, s.3)), Some((1, "planned".to_owned())), "at the shop: {plan}");
    assert_eq!(stops(plan).len(), 2, "each order once: {plan}");
    assert_eq!(plan["unassigned"], json!([{ "order_id": too_big, "reason": "capacity" }]));
    assert_eq!(plan["penalty_ntd"], 4321);
}

both_backends!(
    an_order_with_other_addresses_is_served_at_one_of_them_through_replans,
    replans_and_matrix_downloads_are_turned_away_while_every_heavy_permit_is_taken,
    a_long_delay_gives_the_stops_to_idle_vehicles_before_dropping_them,
    replans_from_events_keeps_executed_stops_and_streams_each_version,
    invalid_events_and_version_conflicts_change_nothing,
    a_vehicle_seen_on_the_road_goes_on_from_there_and_a_stop_under_way_stays
);
