//! SQL of the shared background mechanisms: the job queue (`jobs`) and the transactional outbox
//! (`outbox`). Both are claimed with a lease (owner + expiry in epoch milliseconds) like planning
//! jobs: a claim is one `UPDATE … WHERE id = (SELECT … LIMIT 1 [FOR UPDATE SKIP LOCKED]) AND
//! <claimable> RETURNING`, so two runners never hold the same row, and a row whose runner died
//! (lease expired) is claimed again.
//!
//! Enqueueing happens inside the caller's transaction ([`enqueue_job`], [`enqueue_outbox`]), so a
//! job or an outside effect exists exactly when the change that causes it was committed.

use super::plans::epoch_ms;
use super::{with_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A job taken from the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedTask {
    /// Its id.
    pub id: i64,
    /// What to do (`invoice.issue`, `turnkey.scan`, …).
    pub kind: String,
    /// Its key, when it was enqueued with one (recurring jobs are keyed by their kind).
    pub dedupe_key: Option<String>,
    /// Its arguments (JSON).
    pub payload: String,
    /// How many times it was claimed, this time included.
    pub attempts: i64,
}

/// An outside effect taken from the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedEffect {
    /// Its id.
    pub id: i64,
    /// How it is delivered (`file`).
    pub channel: String,
    /// Where (for files: a path relative to the channel's root).
    pub destination: String,
    /// What.
    pub body: Vec<u8>,
    /// How many times it was claimed, this time included.
    pub attempts: i64,
}

/// Counts for metrics and health details.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackgroundDepth {
    /// Jobs queued and due.
    pub jobs_due: i64,
    /// Jobs that gave up.
    pub jobs_failed: i64,
    /// Outbox rows not yet delivered (the legacy sync's rows apart: [`crate::sync`] has its own
    /// gauges).
    pub outbox_pending: i64,
    /// Age in seconds of the oldest undelivered outbox row (0 when none).
    pub outbox_oldest_s: i64,
}

/// SQL inserting a job; with a `dedupe_key` enqueued before it inserts nothing.
pub(crate) const ENQUEUE_JOB: &str = "INSERT INTO jobs (kind, dedupe_key, payload, status, run_at_ms, created_at) VALUES ($1, $2, $3, 'queued', $4, $5) \
                                      ON CONFLICT (dedupe_key) DO NOTHING";

/// SQL inserting an outside effect. A destination is written once: a second row for it fails as
/// a unique violation.
pub(crate) const ENQUEUE_OUTBOX: &str = "INSERT INTO outbox (channel, destination, body, created_at) VALUES ($1, $2, $3, $4)";

/// Inserts a job in the caller's transaction (`$conn`: `&mut *tx` of either backend):
/// `enqueue_job!(conn, kind, dedupe_key: Option<&str>, payload: &str, run_at: DateTime<Utc>)`.
/// Evaluates to the `execute` result; `rows_affected() == 0` means the key was enqueued before,
/// so enqueueing is idempotent.
macro_rules! enqueue_job {
    ($conn:expr, $kind:expr, $key:expr, $payload:expr, $at:expr) => {{
        let at: chrono::DateTime<chrono::Utc> = $at;
        sqlx::query($crate::store::jobs::ENQUEUE_JOB)
            .bind($kind)
            .bind($key)
            .bind($payload)
            .bind($crate::store::plans::epoch_ms(at))
            .bind(at)
            .execute($conn)
            .await
    }};
}
pub(crate) use enqueue_job;

/// Inserts an outside effect in the caller's transaction:
/// `enqueue_outbox!(conn, channel, destination, body: &[u8], now)`.
macro_rules! enqueue_outbox {
    ($conn:expr, $channel:expr, $destination:expr, $body:expr, $now:expr) => {{
        sqlx::query($crate::store::jobs::ENQUEUE_OUTBOX).bind($channel).bind($destination).bind($body).bind($now).execute($conn).await
    }};
}
pub(crate) use enqueue_outbox;

/// Enqueues the `invoice.issue` job of a delivered order in the caller's transaction, keyed by
/// the order: a delivery recorded again (a replay, a retry) enqueues nothing more.
macro_rules! enqueue_delivery_invoice {
    ($conn:expr, $order_id:expr, $now:expr) => {{
        let order_id: i64 = $order_id;
        let key = format!("invoice.issue:order:{order_id}");
        let payload = format!("{{\"order_id\":{order_id}}}");
        $crate::store::jobs::enqueue_job!($conn, $crate::invoicing::kinds::ISSUE, Some(key.as_str()), payload.as_str(), $now)?;
    }};
}
pub(crate) use enqueue_delivery_invoice;

/// `$first, $first+1, …`: `count` numbered parameters.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

const CLAIMABLE_JOB: &str = "((status = 'queued' AND run_at_ms <= $3) OR (status = 'running' AND lease_expires_ms < $3))";
const CLAIMABLE_EFFECT: &str = "(delivered_at IS NULL AND dead_at IS NULL AND (lease_expires_ms IS NULL OR lease_expires_ms < $3))";

impl Store {
    fn skip_locked(&self) -> &'static str {
        match self {
            Store::Postgres(_) => "FOR UPDATE SKIP LOCKED",
            Store::Sqlite(_) => "",
        }
    }

    /// Enqueues a job outside any other write (e.g. a scheduled job at start-up).
    pub async fn enqueue_job(&self, kind: &str, dedupe_key: Option<&str>, payload: &str, run_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => enqueue_job!(pool, kind, dedupe_key, payload, run_at)?.rows_affected());
        Ok(done == 1)
    }

    /// Claims the oldest due job of one of `kinds` (or one whose runner's lease expired) for
    /// `owner` until `lease_until` (epoch ms). A runner names the kinds it has handlers for, so
    /// the jobs of a module that is off in this process (invoicing without a seller) wait for a
    /// process that runs it instead of failing for want of a handler.
    pub async fn claim_task(&self, owner: &str, now: DateTime<Utc>, lease_until: i64, kinds: &[&str]) -> Result<Option<ClaimedTask>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_ms = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE {CLAIMABLE_JOB} AND kind IN ({}) ORDER BY run_at_ms, id LIMIT 1 {}) AND {CLAIMABLE_JOB} \
             RETURNING id, kind, dedupe_key, payload, attempts",
            placeholders(4, kinds.len()),
            self.skip_locked()
        );
        with_pool!(self, pool => {
            let mut query = sqlx::query(&sql).bind(owner).bind(lease_until).bind(epoch_ms(now));
            for kind in kinds {
                query = query.bind(*kind);
            }
            let row = query.fetch_optional(pool).await?;
            match row {
                Some(r) => Ok(Some(ClaimedTask {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    dedupe_key: r.try_get("dedupe_key")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                })),
                None => Ok(None),
            }
        })
    }

    /// Ends `owner`'s hold on job `id`: `Ok(None)` done, `Ok(Some(at))` to run again at `at`
    /// (a recurring job, or a retry after a passing failure, with `error` recorded), `failed`
    /// for good. Returns whether `owner` still held it.
    pub async fn finish_task(&self, id: i64, owner: &str, end: TaskEnd<'_>) -> Result<bool, StoreError> {
        let now = Utc::now();
        let (status, run_at, error, finished) = match end {
            TaskEnd::Done => ("done", None, None, Some(now)),
            TaskEnd::Again { at, error } => ("queued", Some(epoch_ms(at)), error, None),
            TaskEnd::Failed(error) => ("failed", None, Some(error), Some(now)),
        };
        // A recurring job starts its attempts again; a retried one keeps counting them.
        let attempts = if matches!(end, TaskEnd::Again { error: None, .. }) { "0" } else { "attempts" };
        let sql = format!(
            "UPDATE jobs SET status = $1, run_at_ms = COALESCE($2, run_at_ms), last_error = COALESCE($3, last_error), finished_at = $4, \
             attempts = {attempts}, lease_owner = NULL, lease_expires_ms = NULL WHERE id = $5 AND lease_owner = $6 AND status = 'running'"
        );
        with_pool!(self, pool => {
            let done = sqlx::query(&sql).bind(status).bind(run_at).bind(error).bind(finished).bind(id).bind(owner).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Gives job `id` back to the queue without counting the claim (its runner is shutting down
    /// cleanly, so this run was no failed attempt): queued again, due at once, `attempts` as it
    /// was before the claim. Returns whether `owner` still held it.
    pub async fn release_task(&self, id: i64, owner: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_ms = NULL \
                   WHERE id = $1 AND lease_owner = $2 AND status = 'running'";
        with_pool!(self, pool => {
            let done = sqlx::query(sql).bind(id).bind(owner).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// A job's status and attempts (for tests and operators).
    pub async fn task_state(&self, id: i64) -> Result<(String, i64), StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT status, attempts FROM jobs WHERE id = $1").bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            Ok((row.try_get("status")?, row.try_get("attempts")?))
        })
    }

    /// Claims the oldest undelivered outbox row of one of `channels` for `owner` until
    /// `lease_until` (epoch ms); like [`Store::claim_task`], a runner names the channels it
    /// delivers.
    pub async fn claim_effect(&self, owner: &str, now: DateTime<Utc>, lease_until: i64, channels: &[&str]) -> Result<Option<ClaimedEffect>, StoreError> {
        if channels.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "UPDATE outbox SET lease_owner = $1, lease_expires_ms = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM outbox WHERE {CLAIMABLE_EFFECT} AND channel IN ({}) ORDER BY id LIMIT 1 {}) AND {CLAIMABLE_EFFECT} \
             RETURNING id, channel, destination, body, attempts",
            placeholders(4, channels.len()),
            self.skip_locked()
        );
        with_pool!(self, pool => {
            let mut query = sqlx::query(&sql).bind(owner).bind(lease_until).bind(epoch_ms(now));
            for channel in channels {
                query = query.bind(*channel);
            }
            let row = query.fetch_optional(pool).await?;
            match row {
                Some(r) => Ok(Some(ClaimedEffect {
                    id: r.try_get("id")?,
                    channel: r.try_get("channel")?,
                    destination: r.try_get("destination")?,
                    body: r.try_get("body")?,
                    attempts: r.try_get("attempts")?,
                })),
                None => Ok(None),
            }
        })
    }

    /// Records the outcome of delivering outbox row `id`: delivered, or the error of this attempt
    /// (the row is retried once its lease ran out: `retry_at` epoch ms).
    pub async fn finish_effect(&self, id: i64, owner: &str, outcome: Result<(), &str>, retry_at: i64) -> Result<bool, StoreError> {
        let now = Utc::now();
        with_pool!(self, pool => {
            let done = match outcome {
                Ok(()) => sqlx::query("UPDATE outbox SET delivered_at = $1, lease_owner = NULL, lease_expires_ms = NULL, last_error = NULL WHERE id = $2 AND lease_owner = $3")
                    .bind(now).bind(id).bind(owner).execute(pool).await?,
                Err(e) => sqlx::query("UPDATE outbox SET last_error = $1, lease_owner = NULL, lease_expires_ms = $2 WHERE id = $3 AND lease_owner = $4")
                    .bind(e).bind(retry_at).bind(id).bind(owner).execute(pool).await?,
            };
            Ok(done.rows_affected() == 1)
        })
    }

    /// Queue and outbox depth at `now`.
    pub async fn background_depth(&self, now: DateTime<Utc>) -> Result<BackgroundDepth, StoreError> {
        let ms = epoch_ms(now);
        with_pool!(self, pool => {
            let jobs_due: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND run_at_ms <= $1").bind(ms).fetch_one(pool).await?;
            let jobs_failed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'failed'").fetch_one(pool).await?;
            let outbox_pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND channel <> 'legacy'").fetch_one(pool).await?;
            let oldest: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT MIN(created_at) FROM outbox WHERE delivered_at IS NULL AND channel <> 'legacy'").fetch_one(pool).await?;
            let outbox_oldest_s = oldest.map_or(0, |t| (now - t).num_seconds().max(0));
            Ok(BackgroundDepth { jobs_due, jobs_failed, outbox_pending, outbox_oldest_s })
        })
    }

    /// Jobs of `kind` in `status` (for tests and operators).
    pub async fn count_tasks(&self, kind: &str, status: &str) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = $1 AND status = $2").bind(kind).bind(status).fetch_one(pool).await?)
        })
    }
}

/// How a job's run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskEnd<'a> {
    /// Finished for good.
    Done,
    /// To run again at `at`: a recurring job (no error), or a retry after `error`.
    Again {
        /// When.
        at: DateTime<Utc>,
        /// Why, for a retry.
        error: Option<&'a str>,
    },
    /// Gave up.
    Failed(&'a str),
}
