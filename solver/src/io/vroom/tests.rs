//! Tests of the VROOM format: VROOM's documented examples, the mapping of each notion, and the
//! errors, each naming its field.

use super::*;
use crate::check::check;
use crate::io::json::units::haversine_m;
use crate::search::{self, Environment};
use serde_json::{json, Value};
use std::time::Duration;

/// VROOM's `docs/example_2.json`: one vehicle, two jobs, the legacy custom matrix.
const EXAMPLE_2: &str = r#"{
  "vehicles": [{"id": 0, "start_index": 0, "end_index": 3}],
  "jobs": [{"id": 1414, "location_index": 1}, {"id": 1515, "location_index": 2}],
  "matrix": [[0, 2104, 197, 1299], [2103, 0, 2255, 3152], [197, 2256, 0, 1102], [1299, 3153, 1102, 0]]
}"#;

fn input(doc: &Value) -> VroomInput {
    parse(&doc.to_string()).expect("parses")
}

/// Great-circle matrices over the input's points at 10 m/s, as a caller would supply them.
fn estimated(input: &VroomInput) -> BTreeMap<String, PointMatrices> {
    let points = input.points();
    let metres = |a: &Coordinates, b: &Coordinates| haversine_m(a[1], a[0], b[1], b[0]).round() as i64;
    let distances: Vec<Vec<i64>> = points.iter().map(|a| points.iter().map(|b| metres(a, b)).collect()).collect();
    let durations = distances.iter().map(|row| row.iter().map(|d| d / 10).collect()).collect();
    let m = PointMatrices { durations, distances };
    input.profiles_without_matrices().into_iter().map(|p| (p.to_owned(), m.clone())).collect()
}

fn model(doc: &Value) -> VroomModel {
    let i = input(doc);
    let supplied = estimated(&i);
    build(i, &supplied).expect("builds")
}

fn solve(model: &VroomModel) -> Answer {
    let env = Environment { max_iterations: Some(300), time_limit: Some(Duration::from_secs(10)), ..Environment::default() };
    let outcome = search::solve(&model.problem, &env);
    assert!(check(&model.problem, &outcome.solution).is_feasible());
    answer(model, outcome.solution).expect("answers")
}

fn fails(doc: &Value) -> VroomError {
    let i = input(doc);
    let supplied = estimated(&i);
    build(i, &supplied).expect_err("refused")
}

fn answer_json(doc: &Value) -> Value {
    serde_json::to_value(solve(&model(doc))).expect("serializes")
}

fn step_ids(route: &Value) -> Vec<String> {
    route["steps"].as_array().expect("steps").iter().map(|s| format!("{}:{}", s["type"].as_str().unwrap_or(""), s["id"])).collect()
}

#[test]
fn solves_vroom_example_2_as_vroom_does() {
    let a = answer_json(&serde_json::from_str(EXAMPLE_2).unwrap());
    assert_eq!(a["code"], 0);
    assert_eq!(a["summary"]["cost"], 5461);
    assert_eq!(a["summary"]["duration"], 5461);
    assert_eq!((a["summary"]["routes"].as_u64(), a["summary"]["unassigned"].as_u64()), (Some(1), Some(0)));
    let route = &a["routes"][0];
    assert_eq!(route["vehicle"], 0);
    assert_eq!(step_ids(route), ["start:null", "job:1414", "job:1515", "end:null"]);
    let arrivals: Vec<i64> = route["steps"].as_array().unwrap().iter().map(|s| s["arrival"].as_i64().unwrap()).collect();
    assert_eq!(arrivals, [0, 2104, 4359, 5461]);
    assert_eq!(route["steps"][3]["location_index"], 3);
    assert!(route.get("distance").is_none(), "no distances given");
    assert!(a["summary"].get("delivery").is_none(), "no amounts given");
}

#[test]
fn keeps_string_ids_as_strings() {
    let mut doc: Value = serde_json::from_str(EXAMPLE_2).unwrap();
    doc["jobs"][0]["id"] = json!("a");
    doc["vehicles"][0]["id"] = json!("truck-1");
    let a = answer_json(&doc);
    assert_eq!(a["routes"][0]["vehicle"], "truck-1");
    assert_eq!(a["routes"][0]["steps"][1]["id"], "a");
    let bad = json!({"vehicles": [{"id": -1, "start_index": 0}], "matrix": [[0]]});
    assert!(matches!(parse(&bad.to_string()), Err(VroomError::Syntax { .. })));
}

#[test]
fn names_an_unknown_location_index() {
    let mut doc: Value = serde_json::from_str(EXAMPLE_2).unwrap();
    doc["jobs"][1]["location_index"] = json!(4);
    let e = fails(&doc);
    assert_eq!((e.path(), e.code()), (Some("jobs[1].location_index"), "unknown_location"), "{e}");
    doc["jobs"][1]["location_index"] = Value::Null;
    assert_eq!(fails(&doc).code(), "missing_location");
}

#[test]
fn leaves_out_a_job_whose_skill_no_vehicle_has() {
    let mut doc: Value = serde_json::from_str(EXAMPLE_2).unwrap();
    doc["vehicles"][0]["skills"] = json!([1]);
    doc["jobs"][0]["skills"] = json!([1]);
    doc["jobs"][1]["skills"] = json!([7]);
    let a = answer_json(&doc);
    assert_eq!(a["unassigned"], json!([{"id": 1515, "type": "job", "location_index": 2}]));
    assert_eq!(step_ids(&a["routes"][0]), ["start:null", "job:1414", "end:null"]);
    assert_eq!(a["summary"]["unassigned"], 1);
}

#[test]
fn serves_the_higher_priority_when_not_all_fit() {
    // Capacity for one job: the nearer job 1414 would be cheaper, but 1515 has priority.
    let mut doc: Value = serde_json::from_str(EXAMPLE_2).unwrap();
    doc["vehicles"][0]["capacity"] = json!([1]);
    doc["jobs"][0]["delivery"] = json!([1]);
    doc["jobs"][1]["delivery"] = json!([1]);
    doc["jobs"][1]["priority"] = json!(5);
    let a = answer_json(&doc);
    assert_eq!(step_ids(&a["routes"][0]), ["start:null", "job:1515", "end:null"]);
    assert_eq!(a["routes"][0]["priority"], 5);
    assert_eq!(a["routes"][0]["steps"][0]["load"], json!([1]), "deliveries are on board at the start");
    assert_eq!(a["routes"][0]["steps"][1]["load"], json!([0]));
    assert_eq!(a["unassigned"][0]["id"], 1414);
}

#[test]
fn ends_a_vehicle_without_end_at_its_last_job() {
    let mut doc: Value = serde_json::from_str(EXAMPLE_2).unwrap();
    doc["vehicles"][0].as_object_mut().unwrap().remove("end_index");
    let m = model(&doc);
    assert_eq!(m.problem.depots.len(), 2, "the start and the zero-travel location");
    let a = serde_json::to_value(solve(&m)).unwrap();
    let route = &a["routes"][0];
    // 0 -> 1515 (197) -> 1414 (2256), no way back.
    assert_eq!(step_ids(route), ["start:null", "job:1515", "job:1414"]);
    assert_eq!((route["cost"].as_i64(), route["duration"].as_i64()), (Some(2453), Some(2453)));
}

#[test]
fn gives_every_task_and_vehicle_end_a_location_of_its_own() {
    // Two jobs and the vehicle share location 0; the model still has one location per stop.
    let doc = json!({
        "vehicles": [{"id": 1, "start_index": 0, "end_index": 0}, {"id": 2, "start_index": 1, "end_index": 0}],
        "jobs": [{"id": 1, "location_index": 0}, {"id": 2, "location_index": 0}, {"id": 3, "location_index": 1}],
        "matrix": [[0, 5], [5, 0]]
    });
    let m = model(&doc);
    assert_eq!(m.problem.num_locations(), 2 + 3, "depots at 0 and 1 (start of vehicle 2), then three jobs");
    assert_eq!(m.problem.depots.len(), 2);
    let a = serde_json::to_value(solve(&m)).unwrap();
    assert_eq!(a["summary"]["unassigned"], 0);
    assert_eq!(a["summary"]["cost"], 5, "vehicle 2 drives from 1 to 0 once, with job 3 on the way");
}

#[test]
fn merges_job_windows_and_picks_the_first_break_window_in_the_shift() {
    let doc = json!({
        "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "time_window": [100, 1000],
                      "breaks": [{"id": 9, "service": 30, "time_windows": [[0, 50], [200, 300], [400, 500]]}]}],
        "jobs": [{"id": 1, "location_index": 1, "time_windows": [[500, 600], [100, 200], [150, 300], [301, 320]]}],
        "matrix": [[0, 10], [10, 0]]
    });
    let m = model(&doc);
    let windows: Vec<(i64, i64)> = m.problem.clients[0].time_windows.iter().map(|w| (w.early, w.late)).collect();
    assert_eq!(windows, [(100, 320), (500, 600)]);
    let b = m.problem.vehicle_types[0].breaks[0];
    assert_eq!((b.window.early, b.window.late, b.duration), (200, 300, 30));
}

#[test]
fn takes_breaks_inside_their_window_and_reports_them_as_steps() {
    // One job at 400-500 far from the depot: the route is out from 200 to 600 and takes the
    // break (window 250-300) on the way.
    let doc = json!({
        "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "time_window": [0, 2000],
                      "breaks": [{"id": 9, "service": 60, "time_windows": [[250, 300]]}]}],
        "jobs": [{"id": 1, "location_index": 1, "service": 20, "time_windows": [[400, 500]]}],
        "matrix": [[0, 200], [200, 0]]
    });
    let a = answer_json(&doc);
    let steps = a["routes"][0]["steps"].as_array().unwrap();
    let kinds: Vec<&str> = steps.iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert!(kinds == ["start", "break", "job", "end"] || kinds == ["start", "job", "break", "end"], "{kinds:?}");
    let brk = steps.iter().find(|s| s["type"] == "break").unwrap();
    let begins = brk["arrival"].as_i64().unwrap() + brk["waiting_time"].as_i64().unwrap();
    assert!((250..=300).contains(&begins), "{brk}");
    assert_eq!((brk["id"].as_i64(), brk["service"].as_i64()), (Some(9), Some(60)));
    let job = steps.iter().find(|s| s["type"] == "job").unwrap();
    let start = job["arrival"].as_i64().unwrap() + job["waiting_time"].as_i64().unwrap();
    assert!((400..=500).contains(&start), "{job}");
    assert_eq!(a["routes"][0]["service"], 80, "the break's length counts as service");
    assert_eq!(a["routes"][0]["duration"], 400, "travel time only");
}

#[test]
fn maps_a_shipment_onto_a_pair_picked_up_before_it_is_delivered() {
    // One vehicle of capacity 2; job 1 picks up 1 (on board to the end); the shipment carries
    // 2 from place 1 to place 2, so job 1 can only come after the shipment's delivery.
    let doc = json!({
        "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "capacity": [2]}],
        "jobs": [{"id": 1, "location_index": 3, "pickup": [1]}],
        "shipments": [{"amount": [2], "priority": 3,
                       "pickup": {"id": 7, "location_index": 1, "setup": 2, "service": 3, "time_windows": [[0, 100]]},
                       "delivery": {"id": 8, "location_index": 2, "service": 5}}],
        "matrix": [[0, 10, 20, 10], [10, 0, 15, 12], [20, 15, 0, 9], [10, 12, 9, 0]]
    });
    let m = model(&doc);
    let p = &m.problem;
    assert_eq!(p.pairs.len(), 1);
    let pair = &p.pairs[0];
    assert_eq!((p.clients[pair.pickup].name.as_str(), p.clients[pair.delivery].name.as_str()), ("7", "8"));
    assert_eq!((pair.amount.clone(), p.clients[pair.pickup].service_duration), (vec![2], 5));
    let a = answer_json(&doc);
    let route = &a["routes"][0];
    assert_eq!(step_ids(route), ["start:null", "pickup:7", "delivery:8", "job:1", "end:null"]);
    let loads: Vec<&Value> = route["steps"].as_array().unwrap().iter().map(|s| &s["load"]).collect();
    assert_eq!(loads, [&json!([0]), &json!([2]), &json!([0]), &json!([1]), &json!([1])]);
    assert_eq!((route["delivery"].clone(), route["pickup"].clone()), (json!([2]), json!([3])));
    assert_eq!(route["priority"], 6, "both steps of the shipment are tasks");
    assert_eq!(route["steps"][1]["setup"], 2);

    // Too much for the vehicle: both steps are unassigned, the job is still served.
    let mut heavy = doc.clone();
    heavy["shipments"][0]["amount"] = json!([3]);
    let a = answer_json(&heavy);
    let unassigned: Vec<String> = a["unassigned"].as_array().unwrap().iter().map(|u| format!("{}:{}", u["type"].as_str().unwrap(), u["id"])).collect();
    assert_eq!(unassigned, ["pickup:7", "delivery:8"]);
    assert_eq!(step_ids(&a["routes"][0]), ["start:null", "job:1", "end:null"]);
}

#[test]
fn serves_the_shipment_of_vroom_example_1_with_the_one_vehicle_that_may() {
    // VROOM's docs/example_1.json as published; only vehicle 2 has the shipment's skill 2.
    let doc = json!({
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
    });
    let a = answer_json(&doc);
    let routes = a["routes"].as_array().unwrap();
    let on = |vehicle: i64| routes.iter().find(|r| r["vehicle"] == vehicle).map(step_ids).unwrap_or_default();
    let two = on(2);
    let (p, d) = (two.iter().position(|s| s == "pickup:4"), two.iter().position(|s| s == "delivery:3"));
    assert!(p.zip(d).is_some_and(|(p, d)| p < d), "vehicle 2 picks up 4 then delivers 3: {two:?}");
    assert!(!on(1).iter().any(|s| s.starts_with("pickup") || s.starts_with("delivery")));
    let route = routes.iter().find(|r| r["vehicle"] == 2).unwrap();
    let loads: Vec<i64> = route["steps"].as_array().unwrap().iter().map(|s| s["load"][0].as_i64().unwrap()).collect();
    let (p, d) = (p.unwrap(), d.unwrap());
    assert_eq!(loads[p] - loads[p - 1], 1, "the amount comes on board at the pickup: {loads:?}");
    assert_eq!(loads[d - 1] - loads[d], 1, "and leaves at the delivery: {loads:?}");
    assert!(loads.iter().all(|&l| (0..=4).contains(&l)), "{loads:?}");
}

#[test]
fn counts_tasks_against_max_tasks() {
    let doc = json!({
        "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "max_tasks": 1}, {"id": 2, "start_index": 0, "end_index": 0, "max_tasks": 1}],
        "jobs": [{"id": 1, "location_index": 1}, {"id": 2, "location_index": 1}, {"id": 3, "location_index": 1}],
        "matrix": [[0, 10], [10, 0]]
    });
    let a = answer_json(&doc);
    assert_eq!(a["summary"]["routes"], 2);
    assert_eq!(a["summary"]["unassigned"], 1);
    assert!(a["summary"].get("delivery").is_none(), "the task dimension is not an amount");
}

#[test]
fn enforces_a_travel_time_limit_the_model_does_not_hold() {
    // per_hour 7200: the leg cost is twice the time, so max_travel_time is checked afterwards.
    let doc = json!({
        "vehicles": [{"id": 1, "start_index": 0, "end_index": 0, "costs": {"per_hour": 7200}, "max_travel_time": 25}],
        "jobs": [{"id": 1, "location_index": 1}, {"id": 2, "location_index": 2}],
        "matrix": [[0, 10, 12], [10, 0, 20], [12, 20, 0]]
    });
    let m = model(&doc);
    assert_eq!(m.problem.vehicle_types[0].max_distance, crate::model::UNLIMITED);
    let a = serde_json::to_value(solve(&m)).unwrap();
    assert_eq!(a["summary"]["unassigned"], 1, "{a}");
    assert!(a["routes"][0]["duration"].as_i64().unwrap() <= 25, "{a}");
    assert_eq!(a["routes"][0]["cost"].as_i64().unwrap(), 2 * a["routes"][0]["duration"].as_i64().unwrap());
    // With default costs the limit is the model's own.
    let mut plain = doc.clone();
    plain["vehicles"][0].as_object_mut().unwrap().remove("costs");
    assert_eq!(model(&plain).problem.vehicle_types[0].max_distance, 25);
}

#[test]
fn uses_supplied_point_matrices_for_coordinates() {
    let doc = json!({
        "vehicles": [{"id": 1, "start": [2.35, 48.71], "end": [2.35, 48.71], "capacity": [4]}],
        "jobs": [{"id": 1, "location": [2.03, 48.61], "delivery": [1]}, {"id": 2, "location": [2.35, 48.71], "delivery": [1]}]
    });
    let i = input(&doc);
    assert_eq!(i.points().len(), 2, "the vehicle's place is job 2's");
    assert_eq!(i.profiles_without_matrices(), ["car"]);
    let a = answer_json(&doc);
    assert_eq!(a["summary"]["unassigned"], 0);
    let d = a["routes"][0]["distance"].as_i64().unwrap();
    assert!((2 * 25_000..2 * 30_000).contains(&d), "{d}");
    assert_eq!(a["routes"][0]["steps"][0]["location"], json!([2.35, 48.71]));
    let missing = build(input(&doc), &BTreeMap::new()).unwrap_err();
    assert_eq!(missing.code(), "missing_matrix");
}

#[test]
fn refuses_bad_values_naming_the_field() {
    let base: Value = serde_json::from_str(EXAMPLE_2).unwrap();
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Edit, &str, &str)> = vec![
        (Box::new(|d| d["jobs"][1]["id"] = json!(1414)), "jobs[1].id", "duplicate_id"),
        (Box::new(|d| d["jobs"][0]["priority"] = json!(101)), "jobs[0].priority", "bad_value"),
        (Box::new(|d| d["jobs"][0]["time_windows"] = json!([[5, 4]])), "jobs[0].time_windows[0]", "bad_value"),
        (
            Box::new(|d| {
                d["vehicles"][0]["capacity"] = json!([1]);
                d["jobs"][1]["pickup"] = json!([1, 2]);
            }),
            "jobs[1].pickup",
            "dimension_mismatch",
        ),
        (Box::new(|d| d["matrix"][2] = json!([1, 2])), "matrix[2]", "matrix_size"),
        (Box::new(|d| d["matrix"][0][1] = json!(3_000_000_000u64)), "matrix[0][1]", "too_large"),
        (Box::new(|d| d["vehicles"][0]["speed_factor"] = json!(0)), "vehicles[0].speed_factor", "bad_value"),
        (Box::new(|d| d["vehicles"][0]["costs"] = json!({"per_km": 1})), "vehicles[0].costs.per_km", "missing_matrix"),
        (Box::new(|d| d["jobs"][0]["service_per_type"] = json!({"van": 5})), "jobs[0].service_per_type", "unsupported"),
        (
            Box::new(|d| d["vehicles"][0]["breaks"] = json!([{"id": 1, "time_windows": [[0, 10]], "max_load": [0]}])),
            "vehicles[0].breaks[0].max_load",
            "unsupported",
        ),
        (Box::new(|d| d["vehicles"] = json!([])), "vehicles", "bad_value"),
        (Box::new(|d| d["vehicles"][0] = json!({"id": 0})), "vehicles[0]", "missing_location"),
    ];
    for (edit, path, code) in cases {
        let mut doc = base.clone();
        edit(&mut doc);
        let e = fails(&doc);
        assert_eq!((e.path(), e.code()), (Some(path), code), "{e}");
    }
}

#[test]
fn refuses_more_than_64_skills_that_matter() {
    let skills: Vec<u64> = (0..70).collect();
    let jobs: Vec<Value> = (0..70).map(|k| json!({"id": k, "location_index": 0, "skills": [k]})).collect();
    let doc = json!({"vehicles": [{"id": 1, "start_index": 0, "skills": skills}], "jobs": jobs, "matrix": [[0]]});
    let e = fails(&doc);
    assert_eq!((e.path(), e.code()), (Some("jobs[64].skills"), "too_many_skills"));
    // Skills no vehicle has share one bit, and skills no job needs take none.
    let jobs: Vec<Value> = (0..70).map(|k| json!({"id": k, "location_index": 0, "skills": [k + 100]})).collect();
    let doc = json!({"vehicles": [{"id": 1, "start_index": 0, "skills": skills}], "jobs": jobs, "matrix": [[0]]});
    assert_eq!(model(&doc).problem.skill_names.len(), 1);
}

#[test]
fn never_panics_on_damaged_documents() {
    let base = json!({
        "vehicles": [{"id": 1, "start": [2.35, 48.71], "capacity": [4], "time_window": [0, 90000],
                      "breaks": [{"id": 1, "service": 300, "time_windows": [[3600, 7200]]}], "max_tasks": 3}],
        "jobs": [{"id": 1, "location": [2.03, 48.61], "delivery": [1], "time_windows": [[0, 9000]], "skills": [1]}],
        "shipments": [{"amount": [1], "pickup": {"id": 4, "location": [2.35, 48.71]}, "delivery": {"id": 3, "location": [2.39, 49.07]}}]
    })
    .to_string();
    // Every prefix, and every single byte replaced by a digit or a bracket.
    let mut texts: Vec<String> = (0..base.len()).map(|k| base[..k].to_owned()).collect();
    for k in 0..base.len() {
        for c in ['9', ']', '"', '-'] {
            let mut t = base.clone().into_bytes();
            t[k] = c as u8;
            texts.push(String::from_utf8_lossy(&t).into_owned());
        }
    }
    for text in texts {
        if let Ok(i) = parse(&text) {
            let supplied = estimated(&i);
            if let Ok(m) = build(i, &supplied) {
                let _ = answer(&m, crate::solution::Solution::default());
            }
        }
    }
}

#[test]
fn builds_and_solves_the_fuzz_seeds() {
    let seeds = [
        include_str!("../../../../fuzz/seeds/vroom/example_2_matrix.json"),
        include_str!("../../../../fuzz/seeds/vroom/coordinates_breaks_shipment.json"),
        include_str!("../../../../fuzz/seeds/vroom/matrices_per_profile.json"),
    ];
    for seed in seeds {
        let a = serde_json::to_value(solve(&model(&serde_json::from_str(seed).unwrap()))).unwrap();
        assert_eq!(a["code"], 0, "{a}");
    }
}
