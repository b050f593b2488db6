//! Replanning a plan while its vehicles are out, and following its versions.
//!
//! - `POST /v1/plans/{id}/events` takes what happened (an order added or cancelled, a vehicle
//!   unavailable from a time or held up, a stop done or failed), replans from the version the
//!   dispatcher saw (`base_version`) and answers `201` with the new version: its routes (stops
//!   executed keep their reported times), and its diff against the base (stops moved to another
//!   vehicle, retimed, added, removed). An invalid event is a `422` naming it; a replan based
//!   on a version that is no longer the newest (another dispatcher replanned first) is a
//!   `409 version-conflict` with `latest_version`. Either way nothing changes.
//! - `GET /v1/plans/{id}/versions` lists the versions (the first is the job's plan),
//!   `GET /v1/plans/{id}/versions/{v}` reads one (`latest` for the newest).
//! - `GET /v1/plans/{id}/live` streams the plan as Server-Sent Events: a `version` event with the
//!   newest version at once, then one per new version, from any replica (new versions made by
//!   this process are pushed at once, those of other replicas are seen within
//!   [`LIVE_POLL`]).

use super::access::Caller;
use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson};
use super::plans::whole_plans;
use super::AppState;
use crate::domain::replan::{clock_text, Event, EventsInput, Execution, PlanDiff, PlanVersion, PlanVersionSummary};
use crate::domain::{FieldError, FieldProblem, JobStatus, PlanJob, PlanRequest, PlanResult};
use crate::store::{NewVersion, StoreError};
use crate::worker::day::OrderStop;
use crate::worker::replan::{first_model, replan_version, Base, Candidate, Compiled, LiveModel};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use futures_core::Stream;
use serde::Serialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

const RESOURCE: &str = "plan";

/// How often a live stream looks for versions made by other replicas.
pub const LIVE_POLL: Duration = Duration::from_secs(1);

/// Taiwan's offset from UTC (no daylight saving time).
const TAIPEI_OFFSET_S: i64 = 8 * 3600;

/// The time of day in Taiwan when `date` is today there.
fn now_on(date: NaiveDate) -> Option<i64> {
    let local = Utc::now().naive_utc() + chrono::Duration::seconds(TAIPEI_OFFSET_S);
    (local.date() == date).then(|| i64::from(chrono::Timelike::num_seconds_from_midnight(&local.time())))
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

/// The succeeded job's plan, or a `409 plan-not-ready`.
fn planned(job: &PlanJob) -> Result<&PlanResult, ApiError> {
    match (job.status, job.result.as_ref()) {
        (JobStatus::Succeeded, Some(r)) => Ok(r),
        (status, _) => Err(ApiError::PlanNotReady { status: status.as_str() }),
    }
}

fn first_version(job: &PlanJob, plan: &PlanResult) -> PlanVersion {
    PlanVersion {
        plan_id: job.id,
        version: 1,
        based_on: None,
        at: None,
        events: Vec::new(),
        execution: Execution::default(),
        diff: PlanDiff::default(),
        plan: plan.clone(),
        created_by: "planner".into(),
        created_at: job.finished_at.unwrap_or(job.updated_at),
    }
}

fn request_of(job: &PlanJob) -> PlanRequest {
    PlanRequest { date: job.date, depot_ids: job.depot_ids.clone(), options: job.options.clone() }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// The compiled model of `version`, from the cache, the stored versions, or (for the first
/// version) the job's solver input.
async fn compiled(state: &AppState, job: &PlanJob, plan: &PlanResult, version: i64) -> Result<Arc<Compiled>, ApiError> {
    if let Some(c) = state.planner.models().get((job.id, version)) {
        return Ok(c);
    }
    let stored = state.store.plan_version_model(job.id, version).await?;
    let model: LiveModel = match stored {
        Some(text) => {
            let travel = state.planner.travel();
            tokio::task::spawn_blocking(move || LiveModel::load(&text, travel.as_ref())).await.map_err(internal)?.map_err(ApiError::Internal)?
        }
        None => {
            let text = state.store.plan_job_problem(job.id).await.map_err(ApiError::from_store(RESOURCE))?;
            // A day none of whose orders any vehicle could serve never reached the solver.
            let Some(text) = text else {
                let problem =
                    FieldProblem::State {
                        code: "not_replannable", zh: "此排程沒有可重新排程的路線", en: "no vehicle could serve any order of this plan"
                    };
                return Err(ApiError::Validation(vec![FieldError::new("plan", problem)]));
            };
            let doc = tokio::task::spawn_blocking(move || serde_json::from_str(&text)).await.map_err(internal)?.map_err(internal)?;
            // The customers of orders on no route (the routes name the others).
            let routed: std::collections::HashSet<i64> =
                plan.routes.iter().flat_map(|r| r.trips.iter().flat_map(|t| t.stops.iter().map(|s| s.order_id))).collect();
            let mut extra = HashMap::new();
            for id in job.order_ids.iter().filter(|o| !routed.contains(o)) {
                let order = state.store.get_order(*id).await?;
                let customer = state.store.get_customer(order.data.customer_id).await?;
                extra.insert(*id, OrderStop { order, customer });
            }
            first_model(doc, plan, &request_of(job), &extra).map_err(ApiError::Internal)?
        }
    };
    let c = Arc::new(tokio::task::spawn_blocking(move || Compiled::new(model)).await.map_err(internal)?.map_err(ApiError::Internal)?);
    state.planner.models().put((job.id, version), Arc::clone(&c));
    Ok(c)
}

/// Replans from events; answers the new version.
#[utoipa::path(post, operation_id = "replanFromEvents", path = "/v1/plans/{id}/events", tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)), request_body = EventsInput,
    responses((status = 201, description = "The new version", body = PlanVersion, headers(("Location" = String, description = "The new version: `/v1/plans/{id}/versions/{version}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No plan yet (`plan-not-ready`), or another replan came first (`version-conflict`, with `latest_version`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid events, each named (unknown order or vehicle, a stop already executed, a time before what was executed, …)", body = Problem, content_type = "application/problem+json")))]
pub async fn post_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<EventsInput>,
) -> Result<Response, ApiError> {
    whole_plans(&caller)?;
    let plan_id = parse_id(&id, RESOURCE)?;
    // Once a plan has versions, its job's own plan is not needed: read the job without it (a
    // succeeded job never changes, so once read it is cached).
    let stored = state.store.latest_plan_version_number(plan_id).await?;
    let job = match state.planner.models().job(plan_id) {
        Some(job) if stored > 0 => job,
        _ => {
            let job = if stored == 0 { state.store.get_plan_job(plan_id).await } else { state.store.get_plan_job_head(plan_id).await };
            let job = Arc::new(job.map_err(ApiError::from_store(RESOURCE))?);
            if stored > 0 && job.status == JobStatus::Succeeded {
                state.planner.models().put_job(Arc::clone(&job));
            }
            job
        }
    };
    if job.status != JobStatus::Succeeded {
        return Err(ApiError::PlanNotReady { status: job.status.as_str() });
    }
    let batch = input.validate(now_on(job.date)).map_err(ApiError::Validation)?;
    let latest_no = stored.max(1);
    if batch.base_version != latest_no {
        return Err(ApiError::VersionConflict { latest: latest_no });
    }
    let base = match state.planner.models().version((plan_id, latest_no)) {
        Some(cached) => cached,
        // A replan stored in between is caught when this one is written.
        None => match state.store.latest_plan_version(plan_id).await? {
            Some(found) => Arc::new(found),
            None => Arc::new((first_version(&job, planned(&job)?), None)),
        },
    };
    let compiled = compiled(&state, &job, &base.0.plan, latest_no).await?;
    let mut candidates = HashMap::new();
    for e in &batch.events {
        if let Event::OrderAdded { order_id } = e {
            match state.store.get_order(*order_id).await {
                Ok(order) => {
                    let customer = state.store.get_customer(order.data.customer_id).await?;
                    let held_by = order.plan_id;
                    candidates.insert(*order_id, Candidate { stop: OrderStop { order, customer }, held_by });
                }
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let request = request_of(&job);
    let travel = state.planner.travel();
    let base_compiled = Arc::clone(&compiled);
    let shared = Arc::clone(&base);
    let made = tokio::task::spawn_blocking(move || {
        let base =
            Base { version: latest_no, compiled: &base_compiled, plan: &shared.0.plan, execution: &shared.0.execution, at_s: shared.1, request: &request };
        let made = replan_version(plan_id, &base, &batch, &candidates, travel.as_ref());
        made.map(|m| m.map(|r| (r, batch)))
    })
    .await
    .map_err(internal)?;
    let (made, batch) = made.map_err(ApiError::Internal)?.map_err(ApiError::Validation)?;

    // The first version is stored with the first replan.
    let first = if stored == 0 {
        let model = compiled.model.to_stored_json().map_err(internal)?;
        Some(NewVersion { version: &base.0, at_s: None, model: Some(model) })
    } else {
        None
    };
    let next = latest_no + 1;
    let version = PlanVersion {
        plan_id,
        version: next,
        based_on: Some(latest_no),
        at: Some(clock_text(batch.at_s)),
        events: batch.events.clone(),
        execution: made.execution,
        diff: made.diff,
        plan: made.plan,
        created_by: format!("user {}", caller.principal.user_id),
        // Microseconds: what PostgreSQL keeps, so the answer equals what is read back.
        created_at: chrono::SubsecRound::trunc_subsecs(Utc::now(), 6),
    };
    let model_text = made.model.as_ref().map(|c| c.model.to_stored_json()).transpose().map_err(internal)?;
    let made_version = Arc::new((version, Some(batch.at_s)));
    let row = NewVersion { version: &made_version.0, at_s: Some(batch.at_s), model: model_text };
    match state.store.insert_plan_version(first.as_ref(), &row, &made.changes).await {
        Ok(()) => {}
        Err(StoreError::VersionConflict) => {
            return Err(ApiError::VersionConflict { latest: state.store.latest_plan_version_number(plan_id).await?.max(1) });
        }
        Err(e) => return Err(e.into()),
    }
    state.planner.models().put((plan_id, next), made.model.unwrap_or(compiled));
    state.planner.models().put_version((plan_id, next), Arc::clone(&made_version));
    state.planner.version_made(plan_id, next);
    let mut res = (StatusCode::CREATED, Json(&made_version.0)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/plans/{plan_id}/versions/{next}")) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

async fn plan_job(state: &AppState, id: &str) -> Result<PlanJob, ApiError> {
    let id = parse_id(id, RESOURCE)?;
    state.store.get_plan_job(id).await.map_err(ApiError::from_store(RESOURCE))
}

/// The newest version of a plan (the job's plan when it was never replanned).
pub async fn latest_version(state: &AppState, job: &PlanJob) -> Result<PlanVersion, ApiError> {
    let plan = planned(job)?;
    Ok(match state.store.latest_plan_version(job.id).await? {
        Some((v, _)) => v,
        None => first_version(job, plan),
    })
}

/// Lists a plan's versions.
#[utoipa::path(get, operation_id = "listPlanVersions", path = "/v1/plans/{id}/versions", tag = "plans", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PlanVersionList),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No plan yet (`plan-not-ready`)", body = Problem, content_type = "application/problem+json")))]
pub async fn list_versions(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<PlanVersionList>, ApiError> {
    whole_plans(&caller)?;
    let job = plan_job(&state, &id).await?;
    let plan = planned(&job)?;
    let mut versions = state.store.plan_versions(job.id).await?;
    if versions.is_empty() {
        versions.push(first_version(&job, plan));
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
    if version == "latest" {
        return Ok(Json(latest_version(&state, &job).await?));
    }
    let v = parse_id(&version, "plan version")?;
    let plan = planned(&job)?;
    match state.store.plan_version(job.id, v).await {
        Ok(found) => Ok(Json(found)),
        Err(StoreError::NotFound) if v == 1 => Ok(Json(first_version(&job, plan))),
        Err(StoreError::NotFound) => Err(ApiError::NotFound { resource: "plan version" }),
        Err(e) => Err(e.into()),
    }
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
    let first = latest_version(&state, &job).await?;
    let store = state.store.clone();
    let planner = state.planner.clone();
    let plan_id = job.id;
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
