//! Health: `/healthz` (the process answers), `/readyz` (the database answers, every embedded
//! migration is applied, and when workers are registered at least one of them is alive), both
//! public; and
//! `/v1/health/details` for signed-in users: the same checks with timings, computed at most once
//! per [`DETAILS_TTL`] (so that polling dashboards do not load the database) and showing stable
//! codes, never raw error text.
//!
//! Workers (the planning job runners) register a liveness probe with
//! [`HealthState::register_worker`] (see [`crate::worker::WorkerPool::probes`]: each worker
//! heartbeats). A pool whose workers are all dead makes the service not ready; one dead worker
//! among live ones only makes the details `degraded`. A process started with no workers (a
//! serve-only replica, `PLAN_WORKERS=0`) registers none and needs none.

use super::error::ApiError;
use super::AppState;
use crate::store::{Store, StoreError};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long `/v1/health/details` answers from its cache.
pub const DETAILS_TTL: Duration = Duration::from_secs(5);

/// How long the readiness checks wait for the database: a database that does not answer within
/// this is not ready (rather than `/readyz` hanging for the pool's acquire timeout).
pub const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// [`Store::ready`] within [`DATABASE_CHECK_TIMEOUT`]; a timeout reads as unavailable.
async fn database_ready(store: &Store) -> Result<(), StoreError> {
    tokio::time::timeout(DATABASE_CHECK_TIMEOUT, store.ready()).await.unwrap_or(Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)))
}

/// A worker's liveness probe.
pub type Probe = Arc<dyn Fn() -> bool + Send + Sync>;

/// Health bookkeeping shared by the handlers.
pub struct HealthState {
    started: Instant,
    workers: RwLock<Vec<(String, Probe)>>,
    details: tokio::sync::Mutex<Option<(Instant, Details)>>,
    ttl: Duration,
}

impl std::fmt::Debug for HealthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthState").field("workers", &self.worker_status()).field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl Default for HealthState {
    fn default() -> Self {
        HealthState::new(DETAILS_TTL)
    }
}

/// One worker's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WorkerStatus {
    /// The name it registered with.
    pub name: String,
    /// What its probe said.
    pub alive: bool,
}

/// The database's state, as codes.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DatabaseStatus {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// `ok`, `not_migrated` or `unreachable`.
    pub status: String,
    /// How long the check took.
    pub latency_ms: f64,
}

/// The body of `/v1/health/details`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Details {
    /// `ok` when everything is, else `degraded`.
    pub status: String,
    /// The service's version.
    pub version: String,
    /// Seconds since the service started.
    pub uptime_secs: u64,
    /// The database.
    pub database: DatabaseStatus,
    /// Registered workers.
    pub workers: Vec<WorkerStatus>,
    /// When these figures were taken (they are reused for a few seconds).
    pub checked_at: DateTime<Utc>,
}

impl HealthState {
    /// Health bookkeeping whose details are cached for `ttl`.
    pub fn new(ttl: Duration) -> HealthState {
        HealthState { started: Instant::now(), workers: RwLock::new(Vec::new()), details: tokio::sync::Mutex::new(None), ttl }
    }

    /// Registers a worker's liveness probe under `name`.
    pub fn register_worker(&self, name: impl Into<String>, probe: Probe) {
        self.workers.write().unwrap_or_else(std::sync::PoisonError::into_inner).push((name.into(), probe));
    }

    /// Asks every registered worker's probe.
    pub fn worker_status(&self) -> Vec<WorkerStatus> {
        let workers = self.workers.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        workers.iter().map(|(name, probe)| WorkerStatus { name: name.clone(), alive: probe() }).collect()
    }

    async fn check(&self, store: &Store) -> Details {
        let start = Instant::now();
        let status = match database_ready(store).await {
            Ok(()) => "ok",
            Err(StoreError::NotMigrated(_) | StoreError::Migrate(_)) => "not_migrated",
            Err(e) => {
                tracing::warn!(error = %e, "health check: database unreachable");
                "unreachable"
            }
        };
        let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
        let database = DatabaseStatus { backend: store.backend().to_owned(), status: status.to_owned(), latency_ms };
        let workers = self.worker_status();
        let healthy = status == "ok" && workers.iter().all(|w| w.alive);
        Details {
            status: if healthy { "ok" } else { "degraded" }.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_secs: self.started.elapsed().as_secs(),
            database,
            workers,
            checked_at: Utc::now(),
        }
    }

    /// The details, from the cache when taken less than the TTL before `now`.
    pub async fn details(&self, store: &Store, now: Instant) -> Details {
        // Holding the lock while checking makes concurrent callers wait for one check.
        let mut cached = self.details.lock().await;
        if let Some((at, details)) = cached.as_ref() {
            if now.saturating_duration_since(*at) < self.ttl {
                return details.clone();
            }
        }
        let fresh = self.check(store).await;
        *cached = Some((now, fresh.clone()));
        fresh
    }
}

/// The public probes, mounted at the root.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// `/v1/health`: the details, for signed-in users.
pub fn details_router() -> Router<AppState> {
    Router::new().route("/details", get(details))
}

/// Liveness.
#[utoipa::path(get, operation_id = "checkLiveness", path = "/healthz", tag = "health",
    responses((status = 200, description = "The process answers")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers (within [`DATABASE_CHECK_TIMEOUT`]), its migrations are
/// applied, and if this process runs planning workers, at least one of them is alive. Nothing is
/// cached: once the database answers again, so does `/readyz`. A failing check is a `503 not-ready` problem
/// whose `check` names it (`database`, `migrations`, `workers`).
#[utoipa::path(get, operation_id = "checkReadiness", path = "/readyz", tag = "health",
    responses((status = 200, description = "Ready: `{status, database, workers: {alive, registered}}`"),
        (status = 503, description = "Not ready; `check` names the failing check", body = crate::http::error::Problem, content_type = "application/problem+json")))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let (alive, registered) = readiness(&state).await?;
    Ok(Json(json!({ "status": "ready", "database": state.store.backend(), "workers": { "alive": alive, "registered": registered } })))
}

/// The readiness checks of `/readyz` (and of the `luckygas_ready` gauge): the live and the
/// registered workers when ready, else the failing check.
pub async fn readiness(state: &AppState) -> Result<(usize, usize), ApiError> {
    database_ready(&state.store).await.map_err(|e| match e {
        StoreError::NotMigrated(_) | StoreError::Migrate(_) => ApiError::NotReady { check: "migrations", reason: e.to_string() },
        other => ApiError::NotReady { check: "database", reason: other.to_string() },
    })?;
    let workers = state.health.worker_status();
    let alive = workers.iter().filter(|w| w.alive).count();
    if !workers.is_empty() && alive == 0 {
        let names: Vec<&str> = workers.iter().map(|w| w.name.as_str()).collect();
        return Err(ApiError::NotReady { check: "workers", reason: format!("no live planning worker among {}", names.join(", ")) });
    }
    Ok((alive, workers.len()))
}

/// Health details (cached for a few seconds).
#[utoipa::path(get, operation_id = "getHealthDetails", path = "/v1/health/details", tag = "health", security(("bearer" = [])),
    responses((status = 200, body = Details),
        (status = 401, description = "No or bad token", body = crate::http::error::Problem, content_type = "application/problem+json")))]
pub async fn details(State(state): State<AppState>) -> Json<Details> {
    Json(state.health.details(&state.store, Instant::now()).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn reuses_details_within_the_ttl_and_checks_again_after_it() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let health = HealthState::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let first = health.details(&store, t0).await;
        assert_eq!((first.status.as_str(), first.database.status.as_str()), ("ok", "ok"));
        let alive = Arc::new(AtomicBool::new(true));
        let flag = alive.clone();
        health.register_worker("planner", Arc::new(move || flag.load(Ordering::SeqCst)));
        alive.store(false, Ordering::SeqCst);
        assert_eq!(health.details(&store, t0 + Duration::from_secs(4)).await, first, "cached");
        let later = health.details(&store, t0 + Duration::from_secs(6)).await;
        assert_eq!(later.status, "degraded");
        assert_eq!(later.workers, [WorkerStatus { name: "planner".into(), alive: false }]);
    }

    #[tokio::test]
    async fn is_not_ready_once_every_registered_worker_is_dead() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let state = AppState::new(store, crate::auth::AuthConfig::with_secret(&[1u8; 32], crate::auth::KeySource::Env));
        assert!(readyz(State(state.clone())).await.is_ok());
        let alive = Arc::new(AtomicBool::new(true));
        let flag = alive.clone();
        state.health.register_worker("planner", Arc::new(move || flag.load(Ordering::SeqCst)));
        assert!(readyz(State(state.clone())).await.is_ok());
        let second = Arc::new(AtomicBool::new(true));
        let flag = second.clone();
        state.health.register_worker("planner-1", Arc::new(move || flag.load(Ordering::SeqCst)));
        alive.store(false, Ordering::SeqCst);
        assert!(readyz(State(state.clone())).await.is_ok(), "one live worker of two is enough");
        second.store(false, Ordering::SeqCst);
        let err = readyz(State(state)).await.err();
        assert!(matches!(err, Some(ApiError::NotReady { check: "workers", ref reason }) if reason.contains("planner")), "{err:?}");
    }

    #[tokio::test]
    async fn names_the_database_check_when_the_pool_is_closed() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let state = AppState::new(store.clone(), crate::auth::AuthConfig::with_secret(&[1u8; 32], crate::auth::KeySource::Env));
        store.close().await;
        let err = readyz(State(state)).await.err();
        assert!(matches!(err, Some(ApiError::NotReady { check: "database", .. })), "{err:?}");
    }
}
