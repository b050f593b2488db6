//! The legacy system (issue 18): the distributor's old program and its database keep running
//! during the move, and both sides must stay consistent.
//!
//! - [`legacy_db`]: the old database (a second PostgreSQL database, or a SQLite file), read and
//!   written in its old schema;
//! - [`import`]: `luckygas legacy import`, from the exports or the database: dry run, then a
//!   resumable, idempotent import;
//! - [`project`]: how an entity here is written in the old tables;
//! - [`worker`]: the dual write — every change of a customer, an order (its lines and delivery)
//!   or a collection queues an outbox row in its own transaction (database triggers, migration
//!   0022, while [`crate::store::Store::legacy_sync_enabled`]); the `legacy.sync` job applies
//!   them in order per entity, idempotently, with retries, a circuit breaker and dead letters;
//! - [`pickup`]: the other direction — the `legacy.pickup` job takes what the old program's
//!   clerks change, merged field by field ([`merge`]) with conflicts logged, without echo;
//! - [`reconcile`]: both sides compared per entity and day, drift reported and repaired (the
//!   nightly `legacy.reconcile` job, `luckygas legacy reconcile`).
//!
//! Configuration: `LUCKYGAS_LEGACY_DATABASE_URL` (`postgres://…/legacy` or `sqlite://legacy.db`).
//! A service started with it turns the queueing on and runs the worker.

pub mod import;
pub mod legacy_db;
pub mod merge;
pub mod pickup;
pub mod project;
pub mod reconcile;
pub mod worker;

use crate::jobs::{Handlers, Outcome};
use crate::store::{Store, StoreError};
use chrono::Utc;
use legacy_db::{LegacyDb, LegacyDbError};
use std::sync::Arc;

/// The environment variable naming the legacy database.
pub const URL_VAR: &str = "LUCKYGAS_LEGACY_DATABASE_URL";

/// The legacy sync of a service: its database and worker.
#[derive(Clone, Debug)]
pub struct LegacySync {
    store: Store,
    /// The worker's state (breaker, counters).
    pub worker: Arc<worker::Sync>,
}

impl LegacySync {
    /// The sync of `store` with the legacy database at `url`, if one is configured
    /// ([`URL_VAR`]).
    pub fn from_env(store: &Store) -> Result<Option<LegacySync>, LegacyDbError> {
        match std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty()) {
            Some(url) => Ok(Some(LegacySync::new(store.clone(), LegacyDb::open(url.trim())?))),
            None => Ok(None),
        }
    }

    /// The sync of `store` with `legacy`.
    pub fn new(store: Store, legacy: LegacyDb) -> LegacySync {
        LegacySync::with_worker(store, worker::Sync::new(legacy))
    }

    /// The sync of `store` by `worker` (with its own poll and backoff).
    pub fn with_worker(store: Store, worker: worker::Sync) -> LegacySync {
        LegacySync { store, worker: Arc::new(worker) }
    }

    /// The legacy database.
    pub fn legacy(&self) -> &LegacyDb {
        &self.worker.legacy
    }

    /// Turns the queueing of changes on and makes sure the worker's job is queued. The old
    /// database is prepared (our `SYNC_KEY` table; the old tables too when it is empty) now if it
    /// answers, else by the worker's first batch.
    pub async fn start(&self) -> Result<(), StoreError> {
        if self.store.set_legacy_sync(true).await? {
            tracing::info!("legacy sync on: changes of customers, orders and collections are queued for the old system");
        }
        if let Err(e) = self.worker.prepare_legacy().await {
            tracing::warn!(error = %e, "the legacy database does not answer yet; changes wait in the outbox");
        }
        self.store.enqueue_job(worker::KIND, Some(worker::KIND), "{}", Utc::now()).await?;
        self.store.enqueue_job(pickup::KIND, Some(pickup::KIND), "{}", Utc::now()).await?;
        self.store.enqueue_job(reconcile::KIND, Some(reconcile::KIND), "{}", Utc::now() + until_nightly(Utc::now())).await?;
        Ok(())
    }

    /// Registers the worker's job.
    pub fn register(&self, handlers: &mut Handlers) {
        let worker = Arc::clone(&self.worker);
        handlers.on(worker::KIND, move |store, _task| {
            let worker = Arc::clone(&worker);
            async move { worker.run(&store).await }
        });
        let worker = Arc::clone(&self.worker);
        handlers.on(pickup::KIND, move |store, _task| {
            let worker = Arc::clone(&worker);
            async move { worker.run_pickup(&store).await }
        });
        let worker = Arc::clone(&self.worker);
        handlers.on(reconcile::KIND, move |store, _task| {
            let worker = Arc::clone(&worker);
            async move {
                let today = project::taipei_day(Utc::now());
                let days = chrono::Duration::days(reconcile::NIGHTLY_DAYS);
                match worker.reconcile(&store, today - days, today + days, None).await {
                    Ok(report) => {
                        tracing::info!(drift = report.drift.len(), buckets = report.buckets.len(), "nightly legacy reconciliation");
                        Outcome::Every(until_nightly(Utc::now()))
                    }
                    Err(e) => Outcome::Retry(e.to_string()),
                }
            }
        });
    }
}

/// How long from `now` until the next 02:00 in Taipei, when the nightly reconciliation runs.
pub fn until_nightly(now: chrono::DateTime<Utc>) -> std::time::Duration {
    use chrono::TimeZone;
    let tz = einvoice::calendar::taipei();
    let local = now.with_timezone(&tz);
    let mut day = local.date_naive();
    if local.time() >= chrono::NaiveTime::from_hms_opt(2, 0, 0).unwrap_or_default() {
        day = day.succ_opt().unwrap_or(day);
    }
    let at = day.and_hms_opt(2, 0, 0).and_then(|t| tz.from_local_datetime(&t).single()).map_or(now, |t| t.with_timezone(&Utc));
    (at - now).to_std().unwrap_or(std::time::Duration::from_secs(3600))
}
