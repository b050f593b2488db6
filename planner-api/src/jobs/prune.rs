//! The recurring job that deletes the edge's spent counters, so that their tables hold about one
//! row per active client instead of one per client ever seen:
//! - `login_throttle` rows whose failures are forgotten and whose lock has ended (no failure
//!   and no lock within the scope's window of [`ThrottlePolicy`]): the next failure counts from
//!   1 with or without the row;
//! - `rate_limit_windows` rows of one-minute windows that have ended (PostgreSQL's shared
//!   counters; SQLite's are kept in process).
//!
//! It runs on the background queue ([`super::Background`]) as one job keyed by its kind, queued
//! at start-up by [`Pruning::schedule`] (every replica asks; the key keeps one) and due again
//! [`Pruning::every`] after each run. Rows go in batches of [`Pruning::batch`], each its own
//! short statement, at most [`Pruning::max_batches`] per run; when more are left the job comes
//! back after a second. A failed run (the database is down) is logged and the job keeps its
//! schedule: a recurring job must not give up.

use super::{Handlers, Outcome};
use crate::auth::throttle::ThrottlePolicy;
use crate::store::{Store, StoreError};
use chrono::Utc;
use std::time::Duration;

/// The job's kind (and its key in the queue).
pub const KIND: &str = "prune.expired_counters";

/// When the job comes back while rows are left after [`Pruning::max_batches`].
const SOON: Duration = Duration::from_secs(1);

/// The pruning job's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pruning {
    /// How often it runs.
    pub every: Duration,
    /// Rows deleted by one statement at most.
    pub batch: i64,
    /// Statements of one run at most (per table and scope).
    pub max_batches: u32,
    /// When sign-in throttle rows are spent.
    pub throttle: ThrottlePolicy,
    /// The length of a rate-limit window.
    pub rate_window: Duration,
}

/// What one run deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// `login_throttle` rows.
    pub login_throttle: u64,
    /// `rate_limit_windows` rows.
    pub rate_windows: u64,
    /// Whether a table still had spent rows when the run stopped at [`Pruning::max_batches`].
    pub more: bool,
}

impl Pruning {
    /// Once a minute, 1,000 rows a statement, 50 statements a run, for `throttle` and windows
    /// of `rate_window`.
    pub fn new(throttle: ThrottlePolicy, rate_window: Duration) -> Pruning {
        Pruning { every: Duration::from_secs(60), batch: 1_000, max_batches: 50, throttle, rate_window }
    }

    /// Adds the job's handler to `handlers`.
    pub fn register(&self, handlers: &mut Handlers) {
        let this = *self;
        handlers.on(KIND, move |store, _task| async move {
            match this.run(&store, Utc::now().timestamp()).await {
                Ok(pruned) => {
                    if pruned.login_throttle + pruned.rate_windows > 0 {
                        tracing::info!(login_throttle = pruned.login_throttle, rate_windows = pruned.rate_windows, more = pruned.more, "pruned spent counters");
                    }
                    Outcome::Every(if pruned.more { SOON } else { this.every })
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot prune spent counters; trying again at the next run");
                    Outcome::Every(this.every)
                }
            }
        });
    }

    /// Makes sure the job is queued (idempotent: the queue keeps one, keyed by its kind).
    pub async fn schedule(store: &Store) -> Result<(), StoreError> {
        store.enqueue_job(KIND, Some(KIND), "{}", Utc::now()).await?;
        Ok(())
    }

    /// Deletes the rows spent at `now` (Unix seconds).
    pub async fn run(&self, store: &Store, now: i64) -> Result<Pruned, StoreError> {
        let seconds = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let mut pruned = Pruned::default();
        for (scope, limit) in [("account", self.throttle.account), ("address", self.throttle.address)] {
            let forgotten_before = now.saturating_sub(seconds(limit.window));
            let (deleted, more) = self.batches(|| store.prune_login_throttle(scope, forgotten_before, self.batch)).await?;
            pruned.login_throttle += deleted;
            pruned.more |= more;
        }
        // A window that started a whole window ago or earlier has ended.
        let window = seconds(self.rate_window).max(1);
        let current = now - now.rem_euclid(window);
        let (deleted, more) = self.batches(|| store.prune_rate_windows(current, self.batch)).await?;
        pruned.rate_windows = deleted;
        pruned.more |= more;
        Ok(pruned)
    }

    /// Runs `delete` until a batch comes back short or [`Pruning::max_batches`] ran: the rows
    /// deleted, and whether more may be left.
    async fn batches<F, Fut>(&self, delete: F) -> Result<(u64, bool), StoreError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<u64, StoreError>>,
    {
        let full = u64::try_from(self.batch).unwrap_or(0);
        let mut total = 0;
        for _ in 0..self.max_batches {
            let deleted = delete().await?;
            total += deleted;
            if deleted < full {
                return Ok((total, false));
            }
        }
        Ok((total, true))
    }
}
