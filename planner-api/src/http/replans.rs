//! Replanning a plan while its vehicles are out, and following its versions.
//!
//! - `POST /v1/plans/{id}/events` takes what happened (an order added or cancelled, a vehicle
//!   unavailable from a time or held up, a stop done or failed), replans from the version the
//!   dispatcher saw (`base_version`) and answers `201` with the new version: its routes (stops
//!   executed keep their reported times), and its diff against the base (stops moved to another
//!   vehicle, retimed, added, removed). An invalid event is a `422` naming it; a replan based
//!   on a version that is no longer the newest (another dispatcher replanned first) is a
//!   `409 version-conflict` with `latest_version`. Either way nothing changes. Replanning runs
//!   the solver: it takes one of the service's heavy-work permits ([`super::heavy`]), and over
//!   that bound it is a `503 busy` with `Retry-After` (so are the preview and the undo below).
//! - `POST /v1/plans/{id}/preview` answers what the same events would make, with its diff,
//!   and stores nothing.
//! - `GET /v1/plans/{id}/versions` lists the versions (the first is the job's plan),
//!   `GET /v1/plans/{id}/versions/{v}` reads one (`latest` for the newest), and
//!   `POST /v1/plans/{id}/versions/{v}/restore` (undo) makes version `v`'s routes the newest
//!   version again, as long as nothing was executed or cancelled since.
//! - `GET /v1/plans/{id}/live` streams the plan as Server-Sent Events: a `version` event with the
//!   newest version at once, then one per new version, from any replica (new versions made by
//!   this process are pushed at once, those of other replicas are seen within
//!   [`LIVE_POLL`]).

use super::access::{whole_plans, Caller};
use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson};
use super::AppState;
use crate::domain::replan::{EventsInput, PlanVersion, PlanVersionSummary, RestoreInput};
use crate::planning::{self, Mode};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_core::Stream;
use serde::Serialize;
use std::convert::Infallible;
use std::time::Duration;

const RESOURCE: &str = "plan";

/// How often a live stream looks for versions made by other replicas.
pub const LIVE_POLL: Duration = Duration::from_secs(1);

/// The replanning routes, nested at `/v1/plans` beside [`super::plans::router`].
pub fn router() -> Router<AppState> {
    Router::new()
        // The job's progress stream shares the path.
        .route("/{id}/events", get(super::plans::events).post(post_events))
        .route("/{id}/preview", post(preview))
        .route("/{id}/versions", get(list_versions))
        .route("/{id}/versions/{version}", get(read_version))
        .route("/{id}/versions/{version}/restore", post(restore))
        .route("/{id}/live", get(live))
}

/// A plan's versions, without routes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanVersionList {
    /// The plan.
    pub plan_id: i64,
    /// The newest version.
    pub latest: i64,
    /// Oldest first.
    pub items: Vec<PlanVersionSummary>,
}

/// `201` with the version and its `Location`.
fn created(v: &PlanVersion) -> Response {
    let mut res = (StatusCode::CREATED, Json(v)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/plans/{}/versions/{}", v.plan_id, v.version)) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    res
}

/// Replans from events; answers the new version.
#[utoipa::path(post, operation_id = "replanFromEvents", path = "/v1/plans/{id}/events", tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)), request_body = EventsInput,
    responses((status = 201, description = "The new version", body = PlanVersion, headers(("Location" = String, description = "The new version: `/v1/plans/{id}/versions/{version}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No plan yet (`plan-not-ready`), or another replan came first (`version-conflict`, with `latest_version`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid events, each named (unknown order or vehicle, a stop already executed, a time before what was executed, …)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "As many heavy requests as the service runs at once are running (`busy`); retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json")))]
pub async fn post_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<EventsInput>,
) -> Result<Response, ApiError> {
    whole_plans(&caller)?;
    let plan_id = parse_id(&id, RESOURCE)?;
    let who = caller.actor(&state).await;
    let (store, planner) = (state.store.clone(), state.planner.clone());
    let made = state.heavy.spawn(async move { planning::replan(&store, &planner, plan_id, input, &who, Mode::Commit).await }).await??;
    Ok(created(&with_drivers(&state, &made.0).await?))
}

/// What a replan would make, with its diff; nothing is stored and no order changes.
#[utoipa::path(post, operation_id = "previewReplan", path = "/v1/plans/{id}/preview", tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)), request_body = EventsInput,
    responses((status = 200, description = "The version the events would make (not stored: it has no `Location`)", body = PlanVersion),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No plan yet (`plan-not-ready`), or not based on the newest version (`version-conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid events, each named", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "As many heavy requests as the service runs at once are running (`busy`); retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json")))]
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<EventsInput>,
) -> Result<Json<PlanVersion>, ApiError> {
    whole_plans(&caller)?;
    let plan_id = parse_id(&id, RESOURCE)?;
    let who = caller.actor(&state).await;
    let (store, planner) = (state.store.clone(), state.planner.clone());
    let made = state.heavy.spawn(async move { planning::replan(&store, &planner, plan_id, input, &who, Mode::Preview).await }).await??;
    Ok(Json(with_drivers(&state, &made.0).await?))
}

/// Undo: makes version `version`'s routes the newest version again.
#[utoipa::path(post, operation_id = "restorePlanVersion", path = "/v1/plans/{id}/versions/{version}/restore", tag = "plans", security(("bearer" = [])),
    params(("id" = i64, Path), ("version" = i64, Path, description = "The version to restore")), request_body = RestoreInput,
    responses((status = 201, description = "The new version, a copy of the restored one's routes", body = PlanVersion, headers(("Location" = String, description = "The new version: `/v1/plans/{id}/versions/{version}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan or version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No plan yet (`plan-not-ready`), or another change came first (`version-conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Stops were served, attempted or cancelled since that version (`executed_since`), or a bad `base_version`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "As many heavy requests as the service runs at once are running (`busy`); retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json")))]
pub async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
    ApiJson(input): ApiJson<RestoreInput>,
) -> Result<Response, ApiError> {
    whole_plans(&caller)?;
    let plan_id = parse_id(&id, RESOURCE)?;
    let v = parse_id(&version, "plan version")?;
    let base = input.validate().map_err(ApiError::Validation)?;
    let who = caller.actor(&state).await;
    // Undoing may build the restored version's travel matrices: heavy work.
    let (store, planner) = (state.store.clone(), state.planner.clone());
    let made = state.heavy.spawn(async move { planning::restore(&store, &planner, plan_id, v, base, &who).await }).await??;
    Ok(created(&with_drivers(&state, &made.0).await?))
}

/// A version as answered: its routes name their drivers.
async fn with_drivers(state: &AppState, v: &PlanVersion) -> Result<PlanVersion, ApiError> {
    // The job head is cached by the replan that made `v`.
    let date = match state.planner.models().job(v.plan_id) {
        Some(job) => job.date,
        None => state.store.get_plan_job_head(v.plan_id).await.map_err(ApiError::from_store("plan"))?.date,
    };
    Ok(planning::with_drivers(&state.store, date, v.clone()).await?)
}

async fn plan_job(state: &AppState, id: &str) -> Result<crate::domain::PlanJob, ApiError> {
    let id = parse_id(id, RESOURCE)?;
    Ok(planning::job(&state.store, id).await?)
}

/// Lists a plan's versions.
#[utoipa::path(get, operation_id = "listPlanVersions", path = "/v1/plans/{id}/versions", tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PlanVersionList),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No plan yet (`plan-not-ready`)", body = Problem, content_type = "application/problem+json")))]
pub async fn list_versions(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<PlanVersionList>, ApiError> {
    whole_plans(&caller)?;
    let job = plan_job(&state, &id).await?;
    let plan = planning::planned(&job)?;
    let mut versions = state.store.plan_versions(job.id).await?;
    if versions.is_empty() {
        versions.push(planning::first_version(&job, plan));
    }
    let latest = versions.last().map_or(1, |v| v.version);
    Ok(Json(PlanVersionList { plan_id: job.id, latest, items: versions.iter().map(PlanVersion::summary).collect() }))
}

/// Reads one version of a plan (`latest` for the newest).
#[utoipa::path(get, operation_id = "getPlanVersion", path = "/v1/plans/{id}/versions/{version}", tag = "plans", security(("bearer" = [])), params(("id" = i64, Path), ("version" = String, Path, description = "1, 2, … or `latest`")),
    responses((status = 200, body = PlanVersion),
        (status = 404, description = "No such plan or version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No plan yet (`plan-not-ready`)", body = Problem, content_type = "application/problem+json")))]
pub async fn read_version(State(state): State<AppState>, caller: Caller, Path((id, version)): Path<(String, String)>) -> Result<Json<PlanVersion>, ApiError> {
    whole_plans(&caller)?;
    let job = plan_job(&state, &id).await?;
    let v = if version == "latest" { None } else { Some(parse_id(&version, "plan version")?) };
    Ok(Json(planning::version(&state.store, &job, v).await?))
}

fn sse(name: &str, data: &impl Serialize) -> SseEvent {
    SseEvent::default().event(name).data(serde_json::to_string(data).unwrap_or_default())
}

/// The plan as it changes: `version` events (the newest at once, then each new one).
#[utoipa::path(get, operation_id = "streamPlanVersions", path = "/v1/plans/{id}/live", tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "`text/event-stream` of `version` events (a whole PlanVersion each); `shutdown` when the server stops", content_type = "text/event-stream"),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No plan yet (`plan-not-ready`)", body = Problem, content_type = "application/problem+json")))]
pub async fn live(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    whole_plans(&caller)?;
    let job = plan_job(&state, &id).await?;
    // Subscribe before reading, so no version made in between is missed.
    let mut rings = state.planner.subscribe_versions();
    let first = planning::latest_version(&state.store, &job).await?;
    let store = state.store.clone();
    let planner = state.planner.clone();
    let (plan_id, date) = (job.id, job.date);
    let stream = async_stream::stream! {
        let mut sent = first.version;
        yield Ok(sse("version", &first));
        loop {
            tokio::select! {
                ring = rings.recv() => {
                    match ring {
                        Ok((p, v)) if p != plan_id || v <= sent => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                        // A new version here, or rings missed: look in the store.
                        _ => {}
                    }
                }
                () = tokio::time::sleep(LIVE_POLL) => {}
                () = planner.stopped() => {
                    yield Ok(sse("shutdown", &serde_json::json!({ "detail": "the server is shutting down; reconnect" })));
                    break;
                }
            }
            let newest = match store.latest_plan_version_number(plan_id).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(plan = plan_id, error = %e, "live stream cannot read the plan");
                    yield Ok(sse("error", &serde_json::json!({ "detail": "the plan cannot be read" })));
                    break;
                }
            };
            while sent < newest {
                match store.plan_version(plan_id, sent + 1).await {
                    Ok(v) => {
                        sent = v.version;
                        // Each version as the other plan reads answer it: its routes name their drivers.
                        let v = match planning::with_drivers(&store, date, v.clone()).await {
                            Ok(named) => named,
                            Err(e) => {
                                tracing::warn!(plan = plan_id, error = %e, "live stream cannot name the drivers");
                                v
                            }
                        };
                        yield Ok(sse("version", &v));
                    }
                    Err(e) => {
                        tracing::error!(plan = plan_id, error = %e, "live stream cannot read a version");
                        break;
                    }
                }
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
