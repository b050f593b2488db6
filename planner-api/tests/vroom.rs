//! `POST /v1/vroom` over HTTP on the real application (`127.0.0.1:0`, a fresh SQLite file; the
//! endpoint stores nothing, so the PostgreSQL backend adds nothing here), with VROOM's own
//! documented examples (`docs/example_1.json` with coordinates, `docs/example_2.json` with the
//! legacy matrix) and the errors a VROOM client can meet.

mod support;

use planner_api::domain::Role;
use planner_api::travel::{ProfileSpeed, TravelConfig};
use serde_json::{json, Value};
use support::{Backend, TestApp};

const PROBLEM_JSON: &str = "application/problem+json";

/// VROOM's `docs/example_1.json`: two vehicles with skills, capacity, working hours and a
/// break; four jobs and one shipment between two clients; coordinates only.
fn example_1() -> Value {
    json!({
      "vehicles": [
        {"id": 1, "start": [2.35044, 48.71764], "end": [2.35044, 48.71764], "capacity": [4], "skills": [1, 14],
         "time_window": [28800, 43200], "breaks": [{"id": 1, "service": 300, "time_windows": [[36000, 37800]]}]},
        {"id": 2, "start": [2.35044, 48.71764], "end": [2.35044, 48.71764], "capacity": [4], "skills": [2, 14],
         "time_window": [28800, 43200], "breaks": [{"id": 2, "service": 300, "time_windows": [[36000, 37800]]}]}
      ],
      "jobs": [
        {"id": 1, "service": 300, "delivery": [1], "location": [1.98935, 48.701], "skills": [1], "time_windows": [[32400, 36000]]},
        {"id": 2, "service": 300, "delivery": [1], "location": [2.03655, 48.61128], "skills": [1]},
        {"id": 5, "service": 300, "delivery": [1], "location": [2.28325, 48.5958], "skills": [14]},
        {"id": 6, "service": 300, "delivery": [1], "location": [2.89357, 48.90736], "skills": [14]}
      ],
      "shipments": [
        {"amount": [1], "skills": [2],
         "pickup": {"id": 4, "service": 300, "location": [2.41808, 49.22619]},
         "delivery": {"id": 3, "service": 300, "location": [2.39719, 49.07611]}}
      ]
    })
}

/// VROOM's `docs/example_2.json`: one vehicle, two jobs, a custom matrix.
fn example_2() -> Value {
    json!({
      "vehicles": [{"id": 0, "start_index": 0, "end_index": 3}],
      "jobs": [{"id": 1414, "location_index": 1}, {"id": 1515, "location_index": 2}],
      "matrix": [[0, 2104, 197, 1299], [2103, 0, 2255, 3152], [197, 2256, 0, 1102], [1299, 3153, 1102, 0]]
    })
}

/// Short searches: the examples are tiny.
const FAST: &str = "/v1/vroom?time_limit_s=2&max_iterations=2000";

async fn post(app: &TestApp, body: &Value) -> (u16, String, Value) {
    app.send(app.client.post(app.url(FAST)).json(body)).await
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("an integer: {v}"))
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array().map(|a| a.iter().map(int).collect()).unwrap_or_default()
}

/// Whether `time` is inside one of `windows` (`[[start, end], …]`; none: any time).
fn inside(windows: &Value, time: i64) -> bool {
    let windows = windows.as_array().cloned().unwrap_or_default();
    windows.is_empty() || windows.iter().any(|w| int(&w[0]) <= time && time <= int(&w[1]))
}

/// `type:id` of a step or an unassigned task.
fn task_key(v: &Value) -> String {
    format!("{}:{}", v["type"].as_str().unwrap_or(""), v["id"])
}

/// Checks an answer against its input: every job and every shipment step served once or
/// unassigned, a shipment's pickup before its delivery on the same route or both unassigned;
/// service starts in the tasks' windows and within the vehicle's working hours; skills; loads
/// within capacity and equal, step by step, to the deliveries still on board plus the pickups
/// and shipments picked up so far; breaks inside their windows; cumulated figures that add up;
/// and a summary equal to the sums over the routes.
fn assert_valid(input: &Value, answer: &Value) {
    assert_eq!(answer["code"], 0, "{answer}");
    let jobs = input["jobs"].as_array().expect("jobs");
    let job = |id: &Value| jobs.iter().find(|j| &j["id"] == id).unwrap_or_else(|| panic!("job {id} is in the input"));
    let no_shipments = Vec::new();
    let shipments = input["shipments"].as_array().unwrap_or(&no_shipments);
    let shipment = |kind: &str, id: &Value| shipments.iter().find(|s| &s[kind]["id"] == id).unwrap_or_else(|| panic!("{kind} {id} is in the input"));
    let mut seen: Vec<String> = answer["unassigned"].as_array().expect("unassigned").iter().map(task_key).collect();
    let routes = answer["routes"].as_array().expect("routes");
    let mut totals = json!({"cost": 0, "setup": 0, "service": 0, "duration": 0, "waiting_time": 0, "priority": 0, "distance": 0});
    for route in routes {
        let vehicle = input["vehicles"].as_array().unwrap().iter().find(|v| v["id"] == route["vehicle"]).expect("a known vehicle");
        let steps = route["steps"].as_array().expect("steps");
        assert_eq!(steps.first().map(|s| &s["type"]), Some(&json!("start")), "{route}");
        assert_eq!(steps.last().map(|s| &s["type"]), Some(&json!("end")), "{route}");
        let tw = &vehicle["time_window"];
        assert!(int(&tw[0]) <= int(&steps[0]["arrival"]) && int(&steps.last().unwrap()["arrival"]) <= int(&tw[1]), "working hours: {route}");
        let capacity = ints(&vehicle["capacity"]);
        let skills = ints(&vehicle["skills"]);
        let mut delivered = vec![0; capacity.len()];
        // The load after each step, from the deliveries of the route's jobs loaded at the start.
        let mut load = vec![0; capacity.len()];
        for step in steps.iter().filter(|s| s["type"] == "job") {
            for (l, x) in load.iter_mut().zip(ints(&job(&step["id"])["delivery"])) {
                *l += x;
            }
        }
        let (mut previous_duration, mut previous_distance, mut previous_time) = (0, 0, i64::MIN);
        for step in steps {
            let start = int(&step["arrival"]) + int(&step["waiting_time"]);
            assert!(int(&step["arrival"]) >= previous_time, "steps in time order: {route}");
            previous_time = start + int(&step["service"]) + int(&step["setup"]);
            assert!(int(&step["duration"]) >= previous_duration && int(&step["distance"]) >= previous_distance, "cumulated: {route}");
            (previous_duration, previous_distance) = (int(&step["duration"]), int(&step["distance"]));
            match step["type"].as_str() {
                Some("job") => {
                    let j = job(&step["id"]);
                    seen.push(task_key(step));
                    assert!(inside(&j["time_windows"], start), "job {} starts at {start}, outside its windows", step["id"]);
                    assert!(ints(&j["skills"]).iter().all(|s| skills.contains(s)), "skills of job {}", step["id"]);
                    assert_eq!(int(&step["service"]), int(&j["service"]));
                    for (d, x) in delivered.iter_mut().zip(ints(&j["delivery"])) {
                        *d += x;
                    }
                    let amount = |key: &str| ints(&j[key]).into_iter().chain(std::iter::repeat(0));
                    for (l, (d, p)) in load.iter_mut().zip(amount("delivery").zip(amount("pickup"))) {
                        *l += p - d;
                    }
                }
                Some(kind @ ("pickup" | "delivery")) => {
                    let s = shipment(kind, &step["id"]);
                    let task = &s[kind];
                    seen.push(task_key(step));
                    if kind == "delivery" {
                        let pickup = format!("pickup:{}", s["pickup"]["id"]);
                        let picked_here = steps.iter().take_while(|t| *t != step).any(|t| task_key(t) == pickup);
                        assert!(picked_here, "shipment delivered at {} without its pickup before it on the route: {route}", step["id"]);
                    }
                    assert!(inside(&task["time_windows"], start), "{kind} {} starts at {start}, outside its windows", step["id"]);
                    assert!(ints(&s["skills"]).iter().all(|k| skills.contains(k)), "skills of shipment {kind} {}", step["id"]);
                    assert_eq!(int(&step["service"]), int(&task["service"]));
                    for (l, x) in load.iter_mut().zip(ints(&s["amount"])) {
                        *l += if kind == "pickup" { x } else { -x };
                    }
                    if kind == "delivery" {
                        for (d, x) in delivered.iter_mut().zip(ints(&s["amount"])) {
                            *d += x;
                        }
                    }
                }
                Some("break") => {
                    let b = vehicle["breaks"].as_array().unwrap().iter().find(|b| b["id"] == step["id"]).expect("a known break");
                    assert!(inside(&b["time_windows"], start), "break starts at {start}, outside its windows: {route}");
                    assert_eq!(int(&step["service"]), int(&b["service"]));
                }
                Some("start" | "end") => {}
                other => panic!("unexpected step {other:?}"),
            }
            assert_eq!(ints(&step["load"]), load, "load after {step}");
            assert!(load.iter().zip(&capacity).all(|(l, q)| (0..=*q).contains(l)), "load within capacity: {step}");
        }
        assert_eq!(ints(&route["delivery"]), delivered);
        assert_eq!(int(&steps.last().unwrap()["duration"]), int(&route["duration"]));
        assert_eq!(int(&steps.last().unwrap()["distance"]), int(&route["distance"]));
        assert_eq!(int(&route["cost"]), int(&route["duration"]), "default costs: the cost is the travel time");
        for key in ["cost", "setup", "service", "duration", "waiting_time", "priority", "distance"] {
            totals[key] = json!(int(&totals[key]) + int(&route[key]));
        }
    }
    let summary = &answer["summary"];
    for key in ["cost", "setup", "service", "duration", "waiting_time", "priority", "distance"] {
        assert_eq!(summary[key], totals[key], "summary {key}");
    }
    assert_eq!(int(&summary["routes"]), routes.len() as i64);
    assert_eq!(int(&summary["unassigned"]), answer["unassigned"].as_array().unwrap().len() as i64);
    let delivered: i64 = routes.iter().map(|r| ints(&r["delivery"]).iter().sum::<i64>()).sum();
    assert_eq!(ints(&summary["delivery"]).iter().sum::<i64>(), delivered);
    seen.sort();
    let mut expected: Vec<String> = jobs.iter().map(|j| format!("job:{}", j["id"])).collect();
    for s in shipments {
        expected.extend(["pickup", "delivery"].map(|kind| format!("{kind}:{}", s[kind]["id"])));
    }
    expected.sort();
    assert_eq!(seen, expected, "every task once, in a route or unassigned");
    let unassigned: Vec<String> = answer["unassigned"].as_array().unwrap().iter().map(task_key).collect();
    for s in shipments {
        let [p, d] = ["pickup", "delivery"].map(|kind| unassigned.contains(&format!("{kind}:{}", s[kind]["id"])));
        assert_eq!(p, d, "both steps of a shipment served or both unassigned: {answer}");
    }
}

#[tokio::test]
async fn solves_vroom_example_2_with_its_matrix_as_vroom_does() {
    let app = TestApp::start(Backend::Sqlite).await;
    let (status, ct, body) = post(&app, &example_2()).await;
    assert_eq!((status, ct.as_str()), (200, "application/json"), "{body}");
    assert_eq!(body["code"], 0);
    assert_eq!((body["summary"]["cost"].as_i64(), body["summary"]["routes"].as_i64()), (Some(5461), Some(1)));
    assert_eq!(body["unassigned"], json!([]));
    let route = &body["routes"][0];
    let steps: Vec<(String, Value, i64)> =
        route["steps"].as_array().unwrap().iter().map(|s| (s["type"].as_str().unwrap().to_owned(), s["id"].clone(), int(&s["arrival"]))).collect();
    let expected = [("start", Value::Null, 0), ("job", json!(1414), 2104), ("job", json!(1515), 4359), ("end", Value::Null, 5461)];
    assert_eq!(steps, expected.map(|(t, id, a)| (t.to_owned(), id, a)));
    assert_eq!((route["vehicle"].as_i64(), route["duration"].as_i64()), (Some(0), Some(5461)));

    // VROOM ignores keys it does not know, and so does this endpoint (the service's own bodies
    // refuse them).
    let mut extra = example_2();
    extra["options"] = json!({ "g": false });
    extra["jobs"][0]["colour"] = json!("red");
    let (status, _, lenient) = post(&app, &extra).await;
    assert_eq!((status, lenient["summary"]["cost"].as_i64()), (200, Some(5461)), "{lenient}");
    app.finish().await;
}

#[tokio::test]
async fn plans_example_1_with_its_shipment_within_every_rule() {
    // Example 1 lies around Paris: at Taipei's city speeds (the test service's default) its
    // shipment, 57 km north of the depot, cannot be fetched and the vehicle be back within its
    // four working hours. Regional road speeds, nearer the OSRM times of VROOM's own answer,
    // let both vehicles serve every task.
    let roads = TravelConfig { truck: ProfileSpeed { speed_kmh: 60.0, detour_factor: 1.2 }, ..TravelConfig::default() };
    let app = TestApp::start_with_travel(Backend::Sqlite, roads).await;
    let input = example_1();
    let (status, ct, body) = post(&app, &input).await;
    assert_eq!((status, ct.as_str()), (200, "application/json"), "{body}");
    assert_valid(&input, &body);
    assert_eq!(body["unassigned"], json!([]), "every task fits at these speeds: {body}");
    // The shipment needs skill 2: vehicle 2 picks it up (step 4) and then delivers it (step 3).
    let route = body["routes"].as_array().unwrap().iter().find(|r| r["vehicle"] == 2).expect("vehicle 2 has a route");
    let keys: Vec<String> = route["steps"].as_array().unwrap().iter().map(task_key).collect();
    let (pickup, delivery) = (keys.iter().position(|k| k == "pickup:4"), keys.iter().position(|k| k == "delivery:3"));
    assert!(pickup.zip(delivery).is_some_and(|(p, d)| p < d), "pickup before delivery on vehicle 2: {keys:?}");
    let steps = route["steps"].as_array().unwrap();
    let (p, d) = (pickup.unwrap(), delivery.unwrap());
    assert!(steps[p..d].iter().all(|s| ints(&s["load"])[0] >= 1), "the shipment is on board in between: {route}");
    assert_eq!(int(&body["summary"]["priority"]), 0);
    app.finish().await;
}

#[tokio::test]
async fn plans_example_1_without_its_shipment_within_every_rule() {
    let app = TestApp::start(Backend::Sqlite).await;
    let mut input = example_1();
    input.as_object_mut().unwrap().remove("shipments");
    let (status, _, body) = post(&app, &input).await;
    assert_eq!(status, 200, "{body}");
    assert_valid(&input, &body);
    // Jobs 1 and 2 need skill 1: only vehicle 1 may serve them.
    for route in body["routes"].as_array().unwrap().iter().filter(|r| r["vehicle"] == 2) {
        assert!(route["steps"].as_array().unwrap().iter().all(|s| s["id"] != 1 && s["id"] != 2 || s["type"] != "job"), "{route}");
    }
    assert!(int(&body["summary"]["routes"]) >= 1, "{body}");
    assert!(body["summary"]["distance"].as_i64().is_some_and(|d| d > 0), "distances come from the travel source");

    // A job no vehicle has the skill for is unassigned, not an error.
    input["jobs"].as_array_mut().unwrap().push(json!({"id": 77, "service": 60, "location": [2.3, 48.7], "skills": [99]}));
    let (status, _, body) = post(&app, &input).await;
    assert_eq!(status, 200, "{body}");
    assert_valid(&input, &body);
    let unassigned = body["unassigned"].as_array().unwrap();
    assert!(unassigned.contains(&json!({"id": 77, "type": "job", "location": [2.3, 48.7]})), "{body}");
    app.finish().await;
}

#[tokio::test]
async fn names_an_unknown_location_index() {
    let app = TestApp::start(Backend::Sqlite).await;
    let mut input = example_2();
    input["jobs"][1]["location_index"] = json!(9);
    let req = app.client.post(app.url(FAST)).header("accept-language", "en").json(&input);
    let (status, ct, body) = app.send(req).await;
    assert_eq!((status, ct.as_str()), (422, PROBLEM_JSON), "{body}");
    assert_eq!(body["code"], 2);
    assert_eq!((body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()), (Some("jobs[1].location_index"), Some("unknown_location")));
    assert_eq!(body["error"], "jobs[1].location_index: 9 is outside the matrices of profile 'car' (4 locations)");
    assert_eq!(body["instance"], "/v1/vroom");
    app.finish().await;
}

#[tokio::test]
async fn answers_malformed_bodies_and_bad_limits_with_problems() {
    let app = TestApp::start(Backend::Sqlite).await;
    let broken = app.client.post(app.url(FAST)).header("content-type", "application/json").body("{\"vehicles\": [");
    let (status, ct, body) = app.send(broken).await;
    assert_eq!((status, ct.as_str(), body["type"].as_str()), (400, PROBLEM_JSON, Some("https://luckygas.tw/problems/malformed-json")), "{body}");
    assert_eq!(body["code"], 2);

    let (status, _, body) = post(&app, &json!({"vehicles": [{"id": 1, "start_index": 0}], "jobs": 5, "matrix": [[0]]})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("jobs")), "{body}");
    assert_eq!(body["code"], 2);

    let (status, _, body) = post(&app, &json!({"vehicles": [{"id": "a"}, {"id": "a", "start_index": 0}], "matrix": [[0]]})).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (422, Some("duplicate_id")), "{body}");

    let text = app.client.post(app.url(FAST)).header("content-type", "text/plain").body(example_2().to_string());
    let (status, _, body) = app.send(text).await;
    assert_eq!((status, body["code"].as_i64()), (415, Some(2)), "{body}");

    let slow = app.client.post(app.url("/v1/vroom?time_limit_s=100000&max_iterations=x")).json(&example_2());
    let (status, _, body) = app.send(slow).await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!((status, fields), (422, vec!["time_limit_s", "max_iterations"]), "{body}");
    app.finish().await;
}

#[tokio::test]
async fn lets_dispatchers_solve_and_keeps_drivers_and_strangers_out() {
    let app = TestApp::start(Backend::Sqlite).await;
    let dispatcher = app.as_role(Role::Dispatcher).await;
    assert_eq!(dispatcher.post(FAST, &example_2()).await.0, 200);
    assert_eq!(app.as_role(Role::Driver).await.post(FAST, &example_2()).await.0, 403);
    assert_eq!(app.as_role(Role::Analyst).await.post(FAST, &example_2()).await.0, 403);
    let (status, _, body) = app.anonymous().post(FAST, &example_2()).await;
    assert_eq!((status, body["type"].as_str()), (401, Some("https://luckygas.tw/problems/unauthenticated")));
    app.finish().await;
}

/// `n` jobs at distinct places around Taipei.
fn jobs(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({ "id": i, "location": [121.45 + (i % 100) as f64 * 0.002, 25.00 + (i / 100) as f64 * 0.002] })).collect()
}

#[tokio::test]
async fn refuses_problems_over_its_counts_before_computing_anything() {
    let app = TestApp::start(Backend::Sqlite).await;
    // 4,990 jobs used to be accepted and cost 30 s and 2.5 GiB; now they are counted first.
    let body = json!({ "vehicles": [{ "id": 1, "start": [121.5, 25.05] }], "jobs": jobs(4_990) });
    let (status, ct, answer) = app.send(app.client.post(app.url("/v1/vroom?time_limit_s=30")).header("accept-language", "en").json(&body)).await;
    assert_eq!((status, ct.as_str(), int(&answer["code"])), (422, PROBLEM_JSON, 2), "{answer}");
    assert_eq!((answer["errors"][0]["field"].as_str(), answer["errors"][0]["code"].as_str()), (Some("jobs"), Some("too_large")), "{answer}");
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("at most 1000")), "{answer}");

    let vehicles: Vec<Value> = (0..201).map(|i| json!({ "id": i, "start": [121.5, 25.05] })).collect();
    let (status, _, answer) = post(&app, &json!({ "vehicles": vehicles, "jobs": jobs(3) })).await;
    assert_eq!((status, answer["errors"][0]["field"].as_str()), (422, Some("vehicles")), "{answer}");
    app.finish().await;
}

/// Solves as long as asked, so that they hold their permits while the test looks around.
const SLOW: &str = "/v1/vroom?time_limit_s=60&max_iterations=100000000";

#[tokio::test]
async fn heavy_solves_beyond_the_bound_are_turned_away_while_health_still_answers() {
    let app = TestApp::start(Backend::Sqlite).await;
    let limit = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let body = json!({ "vehicles": [{ "id": 1, "start": [121.5, 25.05] }], "jobs": jobs(60) });
    // Every permit taken by a long solve (each stops when its client goes away at the end). A
    // slow solve that arrives while a probe below holds a permit is itself turned away (503):
    // it is sent again until every permit is held by a slow solve.
    let slow = || tokio::spawn(app.client.post(app.url(SLOW)).json(&body).send());
    let mut solves: Vec<_> = (0..limit).map(|_| slow()).collect();
    let start = std::time::Instant::now();
    let (status, retry, answer) = loop {
        for s in &mut solves {
            if s.is_finished() {
                *s = slow();
            }
        }
        let res = app.client.post(app.url(FAST)).json(&example_2()).send().await.expect("POST");
        let (status, retry) = (res.status().as_u16(), res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned));
        let answer: Value = res.json().await.expect("JSON");
        if status == 503 && solves.iter().all(|s| !s.is_finished()) {
            break (status, retry, answer);
        }
        // Until every slow solve has its permit, small ones get through or are turned away.
        assert!(status == 200 || status == 503, "{answer}");
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "the slow solves never took every permit");
    };
    assert_eq!(
        (status, retry.as_deref(), answer["type"].as_str(), int(&answer["code"])),
        (503, Some("5"), Some("https://luckygas.tw/problems/busy"), 1),
        "{answer}"
    );
    // The executor is free: health and readiness answer while the solves run.
    let (status, _, health) = app.anonymous().get("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    assert_eq!(app.anonymous().get("/readyz").await.0, 200);
    assert!(solves.iter().all(|s| !s.is_finished()), "the slow solves were still running");
    for s in solves {
        s.abort();
    }
    app.finish().await;
}
