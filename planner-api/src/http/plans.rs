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
//!   solver input it planned (for `luckygas plan` or the checker).

use super::error::ApiError;
use super::extract::{parse_id, ApiJson, ListParams};
use super::{AppState, ListResponse};
use crate::domain::{FieldError, FieldProblem, JobStatus, PlanJob, PlanRequestInput, PlanResult};
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

/// The plans router, mounted at `/v1/plans`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(read).delete(cancel))
        .route("/{id}/events", get(events))
        .route("/{id}/geojson", get(geojson))
        .route("/{id}/problem", get(problem))
}

async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<PlanRequestInput>) -> Result<Response, ApiError> {
    let request = input.validate(state.planner.config().max_time_limit_s).map_err(ApiError::Validation)?;
    let job = state.store.create_plan_job(&request).await?;
    state.planner.wake();
    let mut res = (StatusCode::ACCEPTED, Json(&job)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/plans/{}", job.id)) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<PlanJob>>, ApiError> {
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

async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<PlanJob>, ApiError> {
    Ok(Json(job(&state, &id).await?))
}

async fn cancel(State(state): State<AppState>, Path(id): Path<String>) -> Result<(StatusCode, Json<PlanJob>), ApiError> {
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

async fn problem(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    result(job(&state, &id).await?)?;
    let text = state.store.plan_job_problem(parse_id(&id, RESOURCE)?).await.map_err(ApiError::from_store(RESOURCE))?;
    // A plan none of whose orders any vehicle could serve never reached the solver.
    let text = text.ok_or(ApiError::NotFound { resource: "solver input" })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
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
                "kind": "route", "vehicle_id": r.vehicle_id, "plate": r.plate, "start": r.start, "end": r.end,
                "distance_m": r.distance_m, "duration_s": r.duration_s, "cost_ntd": r.cost_ntd,
            },
        }));
        for (k, s) in r.trips.iter().flat_map(|t| t.stops.iter()).enumerate() {
            features.push(json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [s.lon, s.lat] },
                "properties": {
                    "kind": "stop", "vehicle_id": r.vehicle_id, "plate": r.plate, "sequence": k + 1,
                    "order_id": s.order_id, "customer_code": s.customer_code, "name": s.name, "arrival": s.arrival,
                },
            }));
        }
    }
    json!({ "type": "FeatureCollection", "features": features })
}

async fn geojson(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let plan = result(job(&state, &id).await?)?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], to_geojson(&plan).to_string()).into_response())
}

fn event(name: &str, data: &impl serde::Serialize) -> Event {
    Event::default().event(name).data(serde_json::to_string(data).unwrap_or_default())
}

async fn events(State(state): State<AppState>, Path(id): Path<String>) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
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
