//! `/v1/plans`: planning jobs.
//!
//! - `POST /v1/plans` queues a job for a day and depots (`202` with the job and a `Location`);
//!   the job reserves the day's received orders at once;
//! - `GET /v1/plans` lists jobs (newest first, `?status=`), `GET /v1/plans/{id}` reads one, with
//!   its plan once it succeeded;
//! - `GET /v1/plans/{id}/events` streams progress as Server-Sent Events (`status`, `progress`
//!   with the best cost over time, and a final `done`; `shutdown` when this server stops), read
//!   from the store so any replica can serve it;
//! - `DELETE /v1/plans/{id}` cancels: a queued job at once (`200`), a running one at its next
//!   lease renewal (`202`); a finished one is a `409 plan-finished`;
//! - `GET /v1/plans/{id}/geojson` returns the routes for a map, `GET /v1/plans/{id}/problem` the
//!   solver input it planned (for `luckygas plan` or the checker);
//! - `POST /v1/plans/{id}/events` replans from what happened while the vehicles are out, and
//!   `/versions`, `/versions/{v}` and `/live` follow the plan's versions (see [`super::replans`]);
//! - `GET /v1/plans/{id}/routes/mine` returns the caller's own routes (of the newest version): those of the vehicles their
//!   driver record drives on the plan's day. It is the only plan endpoint open to drivers (their
//!   grant is [`Scope::Own`]); the others answer them `403`.

use super::access::{whole_plans, Caller};
use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, ListResponse};
use crate::domain::{DriverDay, DriverRoutes, FieldError, FieldProblem, JobStatus, PlanJob, PlanRequestInput, PlanResult};
use crate::planning;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_core::Stream;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::time::Duration;

const RESOURCE: &str = "plan";

/// How often the event stream looks at the job.
const EVENT_POLL: Duration = Duration::from_millis(250);

/// The plans router, nested at `/v1/plans` beside the replans' router, which also routes
/// `GET /v1/plans/{id}/events` ([`events`]): the path of its `POST`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(read).delete(cancel))
        .route("/{id}/geojson", get(geojson))
        .route("/{id}/problem", get(problem))
        .route("/{id}/routes/mine", get(my_routes))
        .route("/mine", get(my_day))
}

/// Queues a planning job for a day and depots; it reserves the day's received orders.
#[utoipa::path(post, operation_id = "createPlan", path = "/v1/plans", tag = "plans", security(("bearer" = [])), request_body = PlanRequestInput,
    responses((status = 202, description = "Queued", body = PlanJob, headers(("Location" = String, description = "The job: `/v1/plans/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, unknown depots, no vehicles, nothing to plan, or more orders than `PLAN_MAX_ORDERS` (`too_many_orders`, nothing stored), each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<PlanRequestInput>) -> Result<Response, ApiError> {
    let request = input.validate(state.planner.config().max_time_limit_s).map_err(ApiError::Validation)?;
    let job = state.store.create_plan_job(&request, state.planner.config().max_orders).await?;
    state.planner.wake();
    let mut res = (StatusCode::ACCEPTED, Json(&job)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/plans/{}", job.id)) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// Lists planning jobs, newest first.
#[utoipa::path(get, operation_id = "listPlans", path = "/v1/plans", tag = "plans", security(("bearer" = [])),
    params(PageQuery, ("status" = Option<JobStatus>, Query)),
    responses((status = 200, body = ListResponse<PlanJob>),
        (status = 422, description = "A bad status, limit or offset", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, caller: Caller, params: ListParams) -> Result<Json<ListResponse<PlanJob>>, ApiError> {
    whole_plans(&caller)?;
    let status = match params.get("status") {
        None => None,
        Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
            let allowed = &["queued", "running", "succeeded", "failed", "cancelled"];
            ApiError::Validation(vec![FieldError::new("status", FieldProblem::NotAllowed { allowed })])
        })?),
    };
    let page = state.store.list_plan_jobs(status, params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

async fn job(state: &AppState, id: &str) -> Result<PlanJob, ApiError> {
    let id = parse_id(id, RESOURCE)?;
    state.store.get_plan_job(id).await.map_err(ApiError::from_store(RESOURCE))
}

/// The `?version=N` of a plan read: `None` (the newest) when absent or `latest`.
fn version_param(params: &ListParams) -> Result<Option<i64>, ApiError> {
    match params.get("version") {
        None | Some("latest") => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|v| *v > 0)
            .map(Some)
            .ok_or_else(|| ApiError::Validation(vec![FieldError::new("version", FieldProblem::Pattern { expected: "2" })])),
    }
}

/// The job with `result` set to version `n` of its plan (the newest when `None`), once it
/// succeeded.
async fn job_at(state: &AppState, id: &str, n: Option<i64>) -> Result<PlanJob, ApiError> {
    let mut job = job(state, id).await?;
    if job.status == JobStatus::Succeeded {
        let v = planning::version(&state.store, &job, n).await?;
        job.result = Some(v.plan);
        job.version = Some(v.version);
    }
    Ok(job)
}

/// Reads a planning job, with its plan once it succeeded: the newest version of the plan, or
/// version `?version=N`.
#[utoipa::path(get, operation_id = "getPlan", path = "/v1/plans/{id}", tag = "plans", security(("bearer" = [])),
    params(("id" = i64, Path), ("version" = Option<String>, Query, description = "The plan version to show (default: the newest)")),
    responses((status = 200, body = PlanJob), (status = 404, description = "No such plan or version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad `version`", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, params: ListParams) -> Result<Json<PlanJob>, ApiError> {
    whole_plans(&caller)?;
    Ok(Json(job_at(&state, &id, version_param(&params)?).await?))
}

/// The caller's own routes of a plan: those of the vehicles their driver record drives on the
/// plan's day (assigned for the day, else usually).
#[utoipa::path(get, operation_id = "getMyPlanRoutes", path = "/v1/plans/{id}/routes/mine", tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = DriverRoutes),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The plan has no routes yet (`plan-not-ready`)", body = Problem, content_type = "application/problem+json")))]
pub async fn my_routes(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<DriverRoutes>, ApiError> {
    let job = job(&state, &id).await?;
    let (plan_id, date) = (job.id, job.date);
    // The newest version: replans move stops between vehicles.
    let plan = planning::latest_version(&state.store, &job).await?.plan;
    let driver_id = caller.principal.driver_id;
    let vehicle_ids = driven_by(&state, driver_id, date).await?;
    let routes = plan.routes.into_iter().filter(|r| vehicle_ids.contains(&r.vehicle_id)).collect();
    Ok(Json(DriverRoutes { plan_id, date, driver_id, vehicle_ids, depots: plan.depots, routes }))
}

/// The vehicles a caller's driver record drives on `date` (none for a user who is no driver).
async fn driven_by(state: &AppState, driver_id: Option<i64>, date: chrono::NaiveDate) -> Result<Vec<i64>, ApiError> {
    Ok(match driver_id {
        Some(driver) => state.store.vehicles_driven_by(driver, date).await?,
        None => Vec::new(),
    })
}

/// The caller's routes of a day (default today in Taipei): those of the vehicles their driver
/// record drives that day, in the newest plan of the day that gives them any (newest version).
/// A driver with nothing planned gets an empty day, not an error: the phone shows "no route".
#[utoipa::path(get, operation_id = "getMyDay", path = "/v1/plans/mine", tag = "plans", security(("bearer" = [])),
    params(("date" = Option<String>, Query, description = "The day, `YYYY-MM-DD` (default: today in Taipei)")),
    responses((status = 200, body = DriverDay),
        (status = 422, description = "A bad `date`", body = Problem, content_type = "application/problem+json")))]
pub async fn my_day(State(state): State<AppState>, caller: Caller, params: ListParams) -> Result<Json<DriverDay>, ApiError> {
    let date = match params.get("date") {
        None => planning::taipei_now().0,
        Some(d) => crate::domain::order::parse_date(d)
            .ok_or_else(|| ApiError::Validation(vec![FieldError::new("date", FieldProblem::Pattern { expected: "2026-03-02" })]))?,
    };
    let driver_id = caller.principal.driver_id;
    let vehicle_ids = driven_by(&state, driver_id, date).await?;
    let mut day = DriverDay { date, driver_id, plan_id: None, version: None, vehicle_ids, depots: Vec::new(), routes: Vec::new() };
    if day.vehicle_ids.is_empty() {
        return Ok(Json(day));
    }
    for plan_id in state.store.succeeded_plan_ids_on(date).await? {
        let job = planning::job(&state.store, plan_id).await?;
        let v = planning::latest_version(&state.store, &job).await?;
        let routes: Vec<_> = v.plan.routes.into_iter().filter(|r| day.vehicle_ids.contains(&r.vehicle_id)).collect();
        if !routes.is_empty() {
            (day.plan_id, day.version, day.depots, day.routes) = (Some(plan_id), Some(v.version), v.plan.depots, routes);
            break;
        }
    }
    Ok(Json(day))
}

/// Cancels a job: a queued one at once (200), a running one at its next lease renewal (202).
#[utoipa::path(delete, operation_id = "cancelPlan", path = "/v1/plans/{id}", tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "Cancelled", body = PlanJob),
        (status = 202, description = "Cancel requested", body = PlanJob),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already finished (`plan-finished`)", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(State(state): State<AppState>, Path(id): Path<String>) -> Result<(StatusCode, Json<PlanJob>), ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let job = state.store.cancel_plan_job(id).await.map_err(ApiError::from_store(RESOURCE))?;
    let status = if job.status == JobStatus::Cancelled { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, Json(job)))
}

/// The plan of a succeeded job, or a `409 plan-not-ready`.
fn result(job: PlanJob) -> Result<PlanResult, ApiError> {
    match (job.status, job.result) {
        (JobStatus::Succeeded, Some(result)) => Ok(result),
        (status, _) => Err(ApiError::PlanNotReady { status: status.as_str() }),
    }
}

/// The solver input of the plan's newest version (or `?version=N`), in the JSON problem format,
/// streamed: plans are stored without travel matrices, and the download computes them again
/// from the travel source a block of rows at a time (see [`planning::solver_input`]), so a big
/// day's body never sits in memory. `?matrices=false` gives the matrix-free form. Computing the
/// matrices takes a heavy-work permit ([`super::heavy`]) for the whole download.
#[utoipa::path(get, operation_id = "getPlanSolverInput", path = "/v1/plans/{id}/problem", tag = "plans", security(("bearer" = [])),
    params(("id" = i64, Path), ("version" = Option<String>, Query, description = "The plan version (default: the newest)"),
        ("matrices" = Option<bool>, Query, description = "`false`: without travel matrices (default `true`: computed again from the travel source and streamed)")),
    responses((status = 200, description = "The JSON problem format (`luckygas plan FILE`)", content_type = "application/json"),
        (status = 404, description = "No such plan or version, or no solver input", body = Problem, content_type = "application/problem+json"), (status = 409, description = "No plan yet (`plan-not-ready`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad `version` or `matrices`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "With matrices: as many heavy requests as the service runs at once are running (`busy`); retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json")))]
pub async fn problem(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, params: ListParams) -> Result<Response, ApiError> {
    whole_plans(&caller)?;
    let n = version_param(&params)?;
    let matrices = match params.get("matrices") {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(ApiError::Validation(vec![FieldError::new("matrices", FieldProblem::NotAllowed { allowed: &["true", "false"] })])),
    };
    // Computing the matrices is heavy work: its permit is held until the last row is written
    // (or the client went away).
    let permit = if matrices { Some(state.heavy.permit().await?) } else { None };
    let job = job(&state, &id).await?;
    let doc = planning::solver_doc(&state.store, &job, n).await?;
    // A plan none of whose orders any vehicle could serve never reached the solver.
    let doc = doc.ok_or(ApiError::NotFound { resource: "solver input" })?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, String>>(4);
    let travel = state.planner.travel();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut send = |chunk: Vec<u8>| tx.blocking_send(Ok(chunk)).is_ok();
        if let Err(e) = planning::solver_input::write(&doc, matrices, travel.as_ref(), &mut send) {
            tracing::warn!(error = %e, "solver input download broke off");
            // The body ends with an error, so the client sees a broken download, not a short one.
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = async_stream::stream! {
        while let Some(chunk) = rx.recv().await {
            yield chunk.map(axum::body::Bytes::from).map_err(std::io::Error::other);
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], axum::body::Body::from_stream(stream)).into_response())
}

/// The routes as a GeoJSON feature collection: a point per depot, a line per route (depot,
/// stops, back to the depot, coordinates as `[lon, lat]`), and a point per stop.
pub fn to_geojson(plan: &PlanResult) -> Value {
    let mut features = Vec::new();
    for d in &plan.depots {
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [d.lon, d.lat] },
            "properties": { "kind": "depot", "depot_id": d.id, "name": d.name },
        }));
    }
    let depot_at = |id: i64| plan.depots.iter().find(|d| d.id == id).map(|d| json!([d.lon, d.lat]));
    for r in &plan.routes {
        let mut line = Vec::new();
        for t in &r.trips {
            line.extend(depot_at(t.depot_id));
            line.extend(t.stops.iter().map(|s| json!([s.lon, s.lat])));
        }
        line.extend(depot_at(r.depot_id));
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "LineString", "coordinates": line },
            "properties": {
                "kind": "route", "vehicle_id": r.vehicle_id, "plate": r.plate, "driver_id": r.driver_id, "driver_name": r.driver_name,
                "start": r.start, "end": r.end,
                "distance_m": r.distance_m, "duration_s": r.duration_s, "cost_ntd": r.cost_ntd,
            },
        }));
        for (k, s) in r.trips.iter().flat_map(|t| t.stops.iter()).enumerate() {
            features.push(json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [s.lon, s.lat] },
                "properties": {
                    "kind": "stop", "vehicle_id": r.vehicle_id, "plate": r.plate, "sequence": k + 1,
                    "order_id": s.order_id, "customer_code": s.customer_code, "name": s.name, "address": s.address,
                    "address_index": s.address_index, "arrival": s.arrival, "status": s.status,
                },
            }));
        }
    }
    json!({ "type": "FeatureCollection", "features": features })
}

/// The routes as a GeoJSON feature collection.
#[utoipa::path(get, operation_id = "getPlanGeoJson", path = "/v1/plans/{id}/geojson", tag = "plans", security(("bearer" = [])),
    params(("id" = i64, Path), ("version" = Option<String>, Query, description = "The plan version to draw (default: the newest)")),
    responses((status = 200, description = "A FeatureCollection: depot points, a LineString per route, stop points", content_type = "application/geo+json"),
        (status = 404, description = "No such plan or version", body = Problem, content_type = "application/problem+json"), (status = 409, description = "No plan yet (`plan-not-ready`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad `version`", body = Problem, content_type = "application/problem+json")))]
pub async fn geojson(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, params: ListParams) -> Result<Response, ApiError> {
    whole_plans(&caller)?;
    let plan = result(job_at(&state, &id, version_param(&params)?).await?)?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], to_geojson(&plan).to_string()).into_response())
}

fn event(name: &str, data: &impl serde::Serialize) -> Event {
    Event::default().event(name).data(serde_json::to_string(data).unwrap_or_default())
}

/// Progress as Server-Sent Events: `status`, `progress`, then `done` (or `shutdown`).
#[utoipa::path(get, operation_id = "streamPlanProgress", path = "/v1/plans/{id}/events", tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "`text/event-stream` of `status`, `progress` (elapsed_s, iterations, best_cost_ntd, feasible) and `done` events", content_type = "text/event-stream"),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json")))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    whole_plans(&caller)?;
    let first = job(&state, &id).await?;
    let store = state.store.clone();
    let planner = state.planner.clone();
    let stream = async_stream::stream! {
        let mut job = first;
        let mut sent = 0usize;
        let mut attempts = job.attempts;
        let mut last_status = None;
        loop {
            if job.attempts != attempts {
                // A new attempt (its worker died) starts its progress over.
                attempts = job.attempts;
                sent = 0;
            }
            if last_status != Some(job.status) {
                last_status = Some(job.status);
                yield Ok(event("status", &json!({ "status": job.status, "attempts": job.attempts })));
            }
            for p in job.progress.iter().skip(sent) {
                yield Ok(event("progress", p));
            }
            sent = job.progress.len();
            if job.status.is_final() {
                let summary = job.result.as_ref().map(|r| json!({ "cost_ntd": r.cost_ntd, "distance_m": r.distance_m, "unassigned": r.unassigned.len() }));
                yield Ok(event("done", &json!({ "status": job.status, "error": job.error, "plan": summary })));
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(EVENT_POLL) => {}
                () = planner.stopped() => {
                    // The server is stopping; the client reconnects to another replica.
                    yield Ok(event("shutdown", &json!({ "detail": "the server is shutting down; reconnect" })));
                    break;
                }
            }
            match store.get_plan_job(job.id).await {
                Ok(next) => job = next,
                Err(e) => {
                    tracing::error!(job = job.id, error = %e, "event stream cannot read the job");
                    yield Ok(event("error", &json!({ "detail": "the job cannot be read" })));
                    break;
                }
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
