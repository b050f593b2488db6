//! `POST /v1/vroom`: solves a problem given in VROOM's JSON format and answers in VROOM's output
//! shape, so that a team using VROOM (<https://github.com/VROOM-Project/vroom>) can switch
//! without changing its client. Nothing is stored.
//!
//! The conversion is `solver::io::vroom` (its documentation says how each of VROOM's notions
//! maps onto the engine's model, shipments as pickup-and-delivery pairs, and what is not
//! supported). This handler adds what needs the service: travel matrices from the planner's
//! travel source (OSRM with the embedded great-circle estimate as fallback) for vehicle profiles
//! without custom matrices (`motorcycle` drives as the service's motorcycles, every other
//! profile as its trucks), a time limit, and the search on a blocking thread, stopped when the
//! client goes away.
//!
//! The cost of a request is bounded before any of it is spent: the body is at most 1 MiB (read
//! under the limit, nothing parsed before), then counts are checked on the parsed input before a
//! matrix is computed or the model built — at most [`MAX_TASKS`] tasks (a shipment counts two),
//! [`MAX_VEHICLES`] vehicles, [`MAX_PROFILES`] routing profiles and custom matrices of at most
//! as many rows as there can be places — each over its limit a `422` naming it with the code
//! `too_large`. The build and the search then run on the blocking pool under the service's
//! bound on heavy requests ([`super::heavy`]; over it: `503 busy` with `Retry-After`).
//!
//! Query parameters: `time_limit_s` (default [`DEFAULT_TIME_LIMIT_S`], at most the service's
//! `PLAN_MAX_TIME_LIMIT_S`) and `max_iterations` (default [`DEFAULT_MAX_ITERATIONS`]), whichever
//! ends the search first. The answer is `200` with VROOM's `code: 0`. Errors are problems like
//! everywhere else (`malformed-json` 400, `validation` 422 naming the field, with the reader's
//! stable code such as `unsupported` or `unknown_location`), with VROOM's `code` (`2`
//! for input errors, `1` for internal ones) and `error` added.

use super::error::{ApiError, Problem};
use super::extract::{is_json, parse_json};
use super::AppState;
use crate::domain::{FieldError, FieldProblem};
use crate::travel::{RoutingProfile, TravelMatrix};
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use solver::io::vroom::{self, PointMatrices, VroomError, VroomInput};
use solver::search::{self, Environment};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Search time when the request names none, seconds (bounded by the service's maximum).
pub const DEFAULT_TIME_LIMIT_S: f64 = 2.0;
/// Ruin-and-recreate iterations when the request names none: small problems are answered as
/// soon as the search has settled rather than after the whole time limit.
pub const DEFAULT_MAX_ITERATIONS: u64 = 10_000;
/// Most iterations a request may ask for.
const MAX_ITERATIONS: u64 = 100_000_000;
/// Most tasks (jobs, and the pickup and the delivery of each shipment) of one request: the
/// travel matrices grow with the square of the places (4,990 jobs took 2.5 GiB and 30 s).
pub const MAX_TASKS: usize = 1_000;
/// Most vehicles of one request.
pub const MAX_VEHICLES: usize = 200;
/// Most routing profiles (and custom matrix sets) of one request: each has its own matrices.
pub const MAX_PROFILES: usize = 8;

/// The VROOM router, mounted at `/v1/vroom`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", post(solve))
}

/// Solves a VROOM problem.
#[utoipa::path(post, operation_id = "solveVroomProblem", path = "/v1/vroom", tag = "vroom", security(("bearer" = [])),
    params(("time_limit_s" = Option<f64>, Query, description = "Search time in seconds (default 2, at most the service's PLAN_MAX_TIME_LIMIT_S)"),
        ("max_iterations" = Option<u64>, Query, description = "Ruin-and-recreate iterations (default 10000); the search ends at whichever limit comes first")),
    request_body(content_type = "application/json", description = "VROOM's problem: `jobs`, `shipments`, `vehicles`, and `matrices` (or the legacy `matrix`) or `[lon, lat]` coordinates"),
    responses((status = 200, description = "VROOM's answer: `code` 0, `summary`, `unassigned`, `routes` with their `steps`", content_type = "application/json"),
        (status = 400, description = "Malformed JSON or query (`code` 2)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`, `code` 2)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON (`code` 2)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad or unsupported field, named with the reader's code (e.g. `unsupported`, `unknown_location`, `too_large` over the counts); `code` 2 and `error` as VROOM has them", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "As many heavy requests as the service runs at once are running (`busy`, `code` 1); retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (`code` 1)", body = Problem, content_type = "application/problem+json")))]
pub async fn solve(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let wrap = |e: ApiError| ApiError::Vroom(Box::new(e));
    let (time_limit_s, max_iterations) = limits(req.uri(), state.planner.config().max_time_limit_s).map_err(wrap)?;
    if !is_json(req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())) {
        return Err(wrap(ApiError::UnsupportedMediaType));
    }
    let bytes = Bytes::from_request(req, &state)
        .await
        .map_err(|r| wrap(if r.status() == StatusCode::PAYLOAD_TOO_LARGE { ApiError::PayloadTooLarge } else { ApiError::MalformedJson(r.body_text()) }))?;
    // VROOM's own format stays lenient, unlike the service's bodies: VROOM ignores keys it does
    // not know, and clients written for it may send some (`description`, `options`, …).
    let input: VroomInput = parse_json(&bytes).map_err(wrap)?;
    check_size(&input).map_err(wrap)?;

    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let env = Environment {
        seed: 1,
        threads: state.planner.config().solver_threads,
        time_limit: Some(Duration::from_secs_f64(time_limit_s)),
        max_iterations: Some(max_iterations),
        cancel: Arc::clone(&cancel.0),
        ..Environment::default()
    };
    let travel = state.planner.travel();
    let answer = state.heavy.run(move || run(input, travel.as_ref(), &env)).await.map_err(wrap)?;
    drop(cancel);
    Ok(Json(answer.map_err(wrap)?).into_response())
}

/// Stops the search when the request is dropped (the client went away) before it ends.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Refuses an input over the counts this endpoint solves (see the module documentation), before
/// any work that grows with them. Cheap: linear in the vehicles, constant otherwise.
fn check_size(input: &VroomInput) -> Result<(), ApiError> {
    let too_large = |field: &str, message: String| Err(input_error(VroomError::invalid(field, "too_large", message)));
    let tasks = input.jobs.len().saturating_add(input.shipments.len().saturating_mul(2));
    if tasks > MAX_TASKS {
        let field = if input.jobs.len() > MAX_TASKS { "jobs" } else { "shipments" };
        return too_large(field, format!("{tasks} tasks (jobs, and two per shipment), at most {MAX_TASKS}"));
    }
    if input.vehicles.len() > MAX_VEHICLES {
        return too_large("vehicles", format!("{} vehicles, at most {MAX_VEHICLES}", input.vehicles.len()));
    }
    let mut profiles: Vec<&str> = input.vehicles.iter().map(|v| v.profile.as_str()).collect();
    profiles.sort_unstable();
    profiles.dedup();
    if profiles.len() > MAX_PROFILES {
        return too_large("vehicles", format!("{} routing profiles, at most {MAX_PROFILES}", profiles.len()));
    }
    if input.matrices.len() > MAX_PROFILES {
        return too_large("matrices", format!("{} profiles of custom matrices, at most {MAX_PROFILES}", input.matrices.len()));
    }
    // Every place has a row: tasks, the vehicles' starts and ends.
    let rows = MAX_TASKS + 2 * MAX_VEHICLES;
    let custom = input.matrix.iter().map(|m| ("matrix".to_owned(), m.len())).chain(input.matrices.iter().flat_map(|(profile, m)| {
        [("durations", &m.durations), ("distances", &m.distances), ("costs", &m.costs)]
            .into_iter()
            .filter_map(move |(name, rows)| rows.as_ref().map(|r| (format!("matrices.{profile}.{name}"), r.len())))
    }));
    for (field, n) in custom {
        if n > rows {
            return too_large(&field, format!("{n} rows, at most {rows}"));
        }
    }
    Ok(())
}

/// `time_limit_s` and `max_iterations` of the query, with their defaults.
fn limits(uri: &Uri, max_time_limit_s: f64) -> Result<(f64, u64), ApiError> {
    let Query(params) = Query::<HashMap<String, String>>::try_from_uri(uri).map_err(|r| ApiError::BadQuery(r.body_text()))?;
    let mut errors = Vec::new();
    let mut number = |name: &str, min: f64, max: f64, default: f64| match params.get(name).map(|v| v.trim().parse::<f64>()) {
        None => default,
        Some(Ok(v)) if v.is_finite() && (min..=max).contains(&v) => v,
        Some(_) => {
            errors.push(FieldError::new(name, FieldProblem::OutOfRange { min, max }));
            default
        }
    };
    let time_limit_s = number("time_limit_s", 0.01, max_time_limit_s, DEFAULT_TIME_LIMIT_S.min(max_time_limit_s));
    // Whole numbers up to 10^8: exact in f64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let max_iterations = number("max_iterations", 1.0, MAX_ITERATIONS as f64, DEFAULT_MAX_ITERATIONS as f64).floor() as u64;
    if errors.is_empty() {
        Ok((time_limit_s, max_iterations))
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Builds, solves and answers; on the blocking pool.
fn run(input: VroomInput, travel: &dyn TravelMatrix, env: &Environment) -> Result<vroom::Answer, ApiError> {
    let supplied = point_matrices(&input, travel)?;
    let model = vroom::build(input, &supplied).map_err(input_error)?;
    let outcome = search::solve(&model.problem, env);
    vroom::answer(&model, outcome.solution).map_err(ApiError::Internal)
}

/// Matrices over the input's points for the profiles without custom matrices.
fn point_matrices(input: &VroomInput, travel: &dyn TravelMatrix) -> Result<BTreeMap<String, PointMatrices>, ApiError> {
    let profiles = input.profiles_without_matrices();
    let mut out = BTreeMap::new();
    if profiles.is_empty() {
        return Ok(out);
    }
    let points = input.points();
    if points.len() > vroom::MAX_LOCATIONS {
        let message = format!("{} distinct places, at most {}", points.len(), vroom::MAX_LOCATIONS);
        return Err(input_error(VroomError::invalid("jobs", "too_large", message)));
    }
    // `(lat, lon)`. A point that is no coordinate stands at (0, 0) here; `build` then refuses
    // it, naming its field.
    let valid = |p: &[f64; 2]| (-180.0..=180.0).contains(&p[0]) && (-90.0..=90.0).contains(&p[1]);
    let points: Vec<(f64, f64)> = points.iter().map(|p| if valid(p) { (p[1], p[0]) } else { (0.0, 0.0) }).collect();
    for profile in profiles {
        let routing = if profile == "motorcycle" { RoutingProfile::Motorcycle } else { RoutingProfile::Truck };
        let m = travel.matrices(routing, &points).map_err(|e| ApiError::Internal(format!("travel matrix for VROOM profile '{profile}': {e}")))?;
        out.insert(profile.to_owned(), PointMatrices { durations: m.duration_s, distances: m.distance_m });
    }
    Ok(out)
}

/// A reader error as a validation problem on its field (`body` when it names none).
fn input_error(e: VroomError) -> ApiError {
    let field = e.path().unwrap_or("body").to_owned();
    let problem = FieldProblem::Input { code: e.code(), zh: zh_summary(e.code()), detail: e.message() };
    ApiError::Validation(vec![FieldError::new(field, problem)])
}

/// What each of the reader's codes means, in Traditional Chinese.
fn zh_summary(code: &str) -> &'static str {
    match code {
        "json_syntax" => "JSON 內容不符合格式",
        "bad_value" => "數值不正確",
        "duplicate_id" => "識別碼重複",
        "missing_location" => "缺少地點",
        "unknown_location" => "地點索引超出矩陣範圍",
        "missing_matrix" => "缺少矩陣",
        "matrix_size" => "矩陣大小不符",
        "dimension_mismatch" => "數量的維度不一致",
        "too_many_skills" => "技能種類過多（最多 64 種）",
        "too_large" => "數值或規模過大",
        "unsupported" => "尚不支援此功能",
        _ => "問題資料不一致",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_limits_with_defaults_and_bounds() {
        let uri = |q: &str| q.parse::<Uri>().expect("uri");
        assert_eq!(limits(&uri("/v1/vroom"), 300.0).ok(), Some((DEFAULT_TIME_LIMIT_S, DEFAULT_MAX_ITERATIONS)));
        assert_eq!(limits(&uri("/v1/vroom"), 1.0).ok(), Some((1.0, DEFAULT_MAX_ITERATIONS)), "bounded by the service");
        assert_eq!(limits(&uri("/v1/vroom?time_limit_s=0.5&max_iterations=50"), 300.0).ok(), Some((0.5, 50)));
        let Err(ApiError::Validation(errors)) = limits(&uri("/v1/vroom?time_limit_s=301&max_iterations=0"), 300.0) else { panic!("refused") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["time_limit_s", "max_iterations"]);
    }

    #[test]
    fn refuses_inputs_over_the_counts_naming_the_field() {
        let parse = |v: serde_json::Value| serde_json::from_value::<VroomInput>(v).expect("a VROOM input");
        let job = |i: usize| serde_json::json!({ "id": i, "location": [121.5, 25.0] });
        let vehicle = |i: usize, profile: &str| serde_json::json!({ "id": i, "profile": profile });
        let field = |input: &VroomInput| match check_size(input) {
            Err(ApiError::Validation(e)) => Some((e[0].field.clone(), e[0].code())),
            _ => None,
        };
        let ok = parse(serde_json::json!({ "jobs": (0..MAX_TASKS).map(job).collect::<Vec<_>>(), "vehicles": [vehicle(0, "car")] }));
        assert_eq!(field(&ok), None);
        let jobs = parse(serde_json::json!({ "jobs": (0..=MAX_TASKS).map(job).collect::<Vec<_>>(), "vehicles": [vehicle(0, "car")] }));
        assert_eq!(field(&jobs), Some(("jobs".into(), "too_large")));
        let shipment = serde_json::json!({ "pickup": { "id": 1, "location": [121.5, 25.0] }, "delivery": { "id": 1, "location": [121.5, 25.1] } });
        let shipments = parse(serde_json::json!({ "jobs": [job(0)], "shipments": vec![shipment; MAX_TASKS / 2], "vehicles": [vehicle(0, "car")] }));
        assert_eq!(field(&shipments), Some(("shipments".into(), "too_large")));
        let vehicles = parse(serde_json::json!({ "vehicles": (0..=MAX_VEHICLES).map(|i| vehicle(i, "car")).collect::<Vec<_>>() }));
        assert_eq!(field(&vehicles), Some(("vehicles".into(), "too_large")));
        let profiles = parse(serde_json::json!({ "vehicles": (0..=MAX_PROFILES).map(|i| vehicle(i, &format!("p{i}"))).collect::<Vec<_>>() }));
        assert_eq!(field(&profiles), Some(("vehicles".into(), "too_large")));
        let rows = MAX_TASKS + 2 * MAX_VEHICLES + 1;
        let matrix = parse(serde_json::json!({ "vehicles": [vehicle(0, "car")], "matrices": { "car": { "durations": vec![Vec::<u64>::new(); rows] } } }));
        assert_eq!(field(&matrix), Some(("matrices.car.durations".into(), "too_large")));
    }

    #[test]
    fn names_the_field_of_a_reader_error_in_both_languages() {
        let ApiError::Validation(errors) = input_error(VroomError::invalid("jobs[0].setup_per_type", "unsupported", "not supported yet")) else {
            panic!("validation")
        };
        assert_eq!((errors[0].field.as_str(), errors[0].code()), ("jobs[0].setup_per_type", "unsupported"));
        assert_eq!(errors[0].message(crate::domain::Lang::En), "not supported yet");
        assert!(errors[0].message(crate::domain::Lang::ZhTw).starts_with("尚不支援此功能"));
    }
}
