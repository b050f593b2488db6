//! `/v1/sync`: the legacy sync for the people who watch it. Dispatchers and analysts read the
//! queue (`GET /v1/sync`), the dead letters and the conflicts decided; admins replay dead letters
//! and run a reconciliation (with a repair). The same as `luckygas legacy status|dead-letters|
//! replay|conflicts|reconcile`.
//!
//! Also here: the cut-over check of the write endpoints of customers and orders ([`writable`]):
//! a module whose flag is at `legacy_only` is still run in the old program, and the service
//! refuses its writes (409 `legacy-only`) rather than let the two drift apart.

use super::error::{ApiError, Problem};
use super::extract::{ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, ListResponse};
use crate::domain::{FieldError, FieldProblem};
use crate::store::legacy::{ConflictEntry, DeadLetter};
use crate::sync::reconcile::Direction;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The sync router, mounted at `/v1/sync`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(status))
        .route("/dead-letters", get(dead_letters))
        .route("/dead-letters/replay", post(replay))
        .route("/conflicts", get(conflicts))
        .route("/reconcile", post(reconcile))
}

/// Refuses a write of the module behind cut-over flag `flag` (for `customer`, when known) while
/// it is at `legacy_only`.
pub fn writable(state: &AppState, flag: &'static str, customer: Option<i64>) -> Result<(), ApiError> {
    let ctx = ::flags::Context { customer, ..::flags::Context::at(Utc::now()) };
    if state.flags.stage(flag, &ctx).writes_new() {
        Ok(())
    } else {
        Err(ApiError::LegacyOnly { flag })
    }
}

/// The legacy sync now.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SyncStatus {
    /// Whether this service has a legacy database (`LUCKYGAS_LEGACY_DATABASE_URL`).
    pub configured: bool,
    /// Whether changes are queued for the old side.
    pub queueing: bool,
    /// The queue, conflicts and drift.
    #[serde(flatten)]
    pub depth: crate::store::legacy::SyncDepth,
    /// Whether this replica's circuit breaker to the legacy database is open.
    pub breaker_open: bool,
}

/// The legacy sync: queue, dead letters, conflicts decided, the latest reconciliation's drift.
#[utoipa::path(get, operation_id = "getSyncStatus", path = "/v1/sync", tag = "sync", security(("bearer" = [])), responses((status = 200, body = SyncStatus)))]
pub async fn status(State(state): State<AppState>) -> Result<Json<SyncStatus>, ApiError> {
    let depth = state.store.legacy_depth(Utc::now()).await?;
    Ok(Json(SyncStatus {
        configured: state.legacy_sync.is_some(),
        queueing: state.store.legacy_sync_enabled().await?,
        depth,
        breaker_open: state.legacy_sync.as_ref().is_some_and(|s| s.worker.breaker_open()),
    }))
}

/// Changes given up after repeated failure, oldest first.
#[utoipa::path(get, operation_id = "listSyncDeadLetters", path = "/v1/sync/dead-letters", tag = "sync", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = ListResponse<DeadLetter>), (status = 422, description = "A bad limit, offset or cursor", body = Problem, content_type = "application/problem+json")))]
pub async fn dead_letters(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<DeadLetter>>, ApiError> {
    let page = state.store.legacy_dead_letters_page(params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

/// Which dead letters to replay.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayInput {
    /// Only this outbox row; all of them when left out.
    #[serde(default)]
    pub id: Option<i64>,
}

/// How many dead letters were queued again.
#[derive(Clone, Copy, Debug, Serialize, utoipa::ToSchema)]
pub struct Replayed {
    /// Dead letters given another round of attempts.
    pub replayed: u64,
}

/// Gives dead letters another round of attempts, due now (admins).
#[utoipa::path(post, operation_id = "replaySyncDeadLetters", path = "/v1/sync/dead-letters/replay", tag = "sync", security(("bearer" = [])),
    request_body = ReplayInput, responses((status = 200, body = Replayed),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown or mistyped fields (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn replay(State(state): State<AppState>, ApiJson(input): ApiJson<ReplayInput>) -> Result<Json<Replayed>, ApiError> {
    Ok(Json(Replayed { replayed: state.store.replay_dead_letters(input.id).await? }))
}

/// The conflicts decided (fields changed on both sides), newest first.
#[utoipa::path(get, operation_id = "listSyncConflicts", path = "/v1/sync/conflicts", tag = "sync", security(("bearer" = [])),
    params(PageQuery, ("record" = Option<String>, Query, description = "Only those of this legacy number (`C0042`, `11512040001`)")),
    responses((status = 200, body = ListResponse<ConflictEntry>), (status = 422, description = "A bad limit, offset or cursor", body = Problem, content_type = "application/problem+json")))]
pub async fn conflicts(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<ConflictEntry>>, ApiError> {
    let record = params.get("record").map(str::to_owned);
    let page = state.store.legacy_conflicts_page(record.as_deref(), params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

/// What to reconcile.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileInput {
    /// The first delivery day of the orders compared (default: a week ago).
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// The last (default: a week from today).
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// `to-legacy` or `from-legacy`: repair the drift in that direction; a report only when left
    /// out.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub repair: Option<Direction>,
}

/// Compares both sides (customers; orders per delivery day) and reports the drift, repairing it
/// when asked (admins). The report: buckets with counts and digests, every drifted record with
/// the fields that differ, and what was repaired.
#[utoipa::path(post, operation_id = "reconcileLegacy", path = "/v1/sync/reconcile", tag = "sync", security(("bearer" = [])), request_body = ReconcileInput,
    responses((status = 200, description = "The report", content_type = "application/json"),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown or mistyped fields, `from` after `to`, or a window over 92 days (`validation`)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The legacy database failed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No legacy database configured", body = Problem, content_type = "application/problem+json")))]
pub async fn reconcile(State(state): State<AppState>, ApiJson(input): ApiJson<ReconcileInput>) -> Result<Json<crate::sync::reconcile::Report>, ApiError> {
    let Some(sync) = state.legacy_sync.clone() else {
        return Err(ApiError::NotReady { check: "legacy_database", reason: "no legacy database configured (LUCKYGAS_LEGACY_DATABASE_URL)".into() });
    };
    let today = crate::sync::project::taipei_day(Utc::now());
    let days = chrono::Duration::days(crate::sync::reconcile::NIGHTLY_DAYS);
    let (from, to) = (input.from.unwrap_or(today - days), input.to.unwrap_or(today + days));
    if from > to || (to - from).num_days() > 92 {
        return Err(ApiError::Validation(vec![FieldError::new("to", FieldProblem::OutOfRange { min: 0.0, max: 92.0 })]));
    }
    let report = sync.worker.reconcile(&state.store, from, to, input.repair).await.map_err(|e| match e {
        crate::sync::worker::SyncError::Store(e) => e.into(),
        crate::sync::worker::SyncError::Legacy(e) => ApiError::Upstream { service: "legacy_database", detail: e.to_string() },
    })?;
    Ok(Json(report))
}
