//! SQL for planning jobs: a persistent queue with leases.
//!
//! - Creating a job reserves the day's `received` orders that no other job holds
//!   (`orders.plan_id`), in the same transaction, so no order is ever in two plans.
//! - A worker claims the oldest job that is queued or whose lease has expired (its worker died),
//!   with `FOR UPDATE SKIP LOCKED` on PostgreSQL so replicas sharing the database never claim the
//!   same job; SQLite serialises writers, so the same statement without the lock clause is atomic.
//! - The worker renews its lease while it searches; every write it makes is conditional on still
//!   holding the lease, so a worker that lost its job (paused past expiry) cannot overwrite the
//!   work of the one that took over.
//! - Finishing marks the routed orders `planned` (with an event) and releases the others, in one
//!   transaction with the job's final status.
//!
//! Leases are epoch milliseconds, compared as integers on both backends.

use super::page::{fetch_page, Bound, Conditions, IdOrder};
use super::{with_pool, Page, PageRequest, Store, StoreError};
use crate::domain::{FieldError, FieldProblem, JobStatus, PlanJob, PlanRequest, PlanResult, ProgressPoint};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

const COLUMNS: &str = "id, plan_date, request, order_ids, status, cancel_requested, attempts, progress, result, error, \
                       created_at, updated_at, started_at, finished_at";

/// Which jobs a worker may claim: queued ones, and running ones whose lease expired before `$4`.
const CLAIMABLE: &str = "(status = 'queued' OR (status = 'running' AND lease_expires_ms < $4))";

/// A job a worker has claimed.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedJob {
    /// The job's id.
    pub id: i64,
    /// What to plan.
    pub request: PlanRequest,
    /// How many times it has been claimed, this time included.
    pub attempts: i64,
    /// Whether a client asked to cancel it (while its previous worker held it).
    pub cancel_requested: bool,
}

/// How a worker ends a job.
#[derive(Clone, Debug)]
pub enum JobEnd {
    /// A plan: `planned` lists the orders on its routes.
    Succeeded {
        /// The plan.
        result: Box<PlanResult>,
        /// The solver's input, kept for replay and checking (JSON problem format); `None` when
        /// no order could be given to the solver.
        problem: Option<String>,
        /// The day model replans start from (JSON of `LiveModel`); `None` like `problem`.
        model: Option<String>,
        /// Orders on the plan's routes.
        planned: Vec<i64>,
    },
    /// Cancelled on request.
    Cancelled,
    /// Failed, with a reason.
    Failed(String),
}

struct JobRow {
    id: i64,
    plan_date: NaiveDate,
    request: String,
    order_ids: String,
    status: String,
    cancel_requested: bool,
    attempts: i64,
    progress: String,
    result: Option<String>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

macro_rules! job_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<JobRow, sqlx::Error>(JobRow {
            id: row.try_get("id")?,
            plan_date: row.try_get("plan_date")?,
            request: row.try_get("request")?,
            order_ids: row.try_get("order_ids")?,
            status: row.try_get("status")?,
            cancel_requested: row.try_get("cancel_requested")?,
            attempts: row.try_get("attempts")?,
            progress: row.try_get("progress")?,
            result: row.try_get("result")?,
            error: row.try_get("error")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
        })
    }};
}

pub(super) fn json<T: serde::de::DeserializeOwned>(column: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt { column, source })
}

pub(super) fn to_json<T: serde::Serialize>(column: &'static str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Corrupt { column, source })
}

fn job_status(value: &str) -> Result<JobStatus, StoreError> {
    JobStatus::parse(value)
        .ok_or_else(|| StoreError::Corrupt { column: "status", source: <serde_json::Error as serde::de::Error>::custom(format!("unknown job status {value}")) })
}

impl JobRow {
    fn into_job(self) -> Result<PlanJob, StoreError> {
        let request: PlanRequest = json("request", &self.request)?;
        Ok(PlanJob {
            id: self.id,
            date: self.plan_date,
            depot_ids: request.depot_ids,
            options: request.options,
            status: job_status(&self.status)?,
            cancel_requested: self.cancel_requested,
            attempts: self.attempts,
            order_ids: json("order_ids", &self.order_ids)?,
            progress: json("progress", &self.progress)?,
            result: self.result.as_deref().map(|r| json("result", r)).transpose()?,
            version: None,
            error: self.error,
            created_at: self.created_at,
            updated_at: self.updated_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

/// Milliseconds since the epoch of `t`.
pub fn epoch_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl Store {
    /// Checks the request's depots, then creates a queued job holding every `received` order of
    /// the day that no other job holds. Unknown depots, depots without an active vehicle, a day
    /// without such orders and a day with more than `max_orders` of them give
    /// [`StoreError::Invalid`], and store nothing.
    pub async fn create_plan_job(&self, request: &PlanRequest, max_orders: usize) -> Result<PlanJob, StoreError> {
        let mut errors = Vec::new();
        let mut vehicles = 0i64;
        for (i, &id) in request.depot_ids.iter().enumerate() {
            let (depots, active): (i64, i64) = with_pool!(self, pool => {
                let row = sqlx::query(
                    "SELECT (SELECT COUNT(*) FROM depots WHERE id = $1) AS depots, \
                     (SELECT COUNT(*) FROM vehicles WHERE depot_id = $1 AND active) AS active",
                )
                .bind(id).fetch_one(pool).await?;
                (row.try_get("depots")?, row.try_get("active")?)
            });
            if depots == 0 {
                errors.push(FieldError::new(format!("depot_ids[{i}]"), FieldProblem::UnknownReference));
            }
            vehicles += active;
        }
        if errors.is_empty() && vehicles == 0 {
            errors.push(FieldError::new("depot_ids", FieldProblem::NoVehicles));
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        // Counted first through `orders_date_status_id`, so an oversized day is refused before
        // anything is written; counted again below, as reserved, against orders taken meanwhile.
        let waiting: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE delivery_date = $1 AND status = 'received' AND plan_id IS NULL")
                .bind(request.date).fetch_one(pool).await?
        });
        let too_many = |count: usize| StoreError::Invalid(vec![FieldError::new("date", FieldProblem::TooManyOrders { count, max: max_orders })]);
        let waiting = usize::try_from(waiting).unwrap_or(usize::MAX);
        if waiting > max_orders {
            return Err(too_many(waiting));
        }
        let now = Utc::now();
        let request_json = to_json("request", request)?;
        let insert = "INSERT INTO plan_jobs (plan_date, request, order_ids, status, created_at, updated_at) \
                      VALUES ($1, $2, '[]', 'queued', $3, $3) RETURNING id";
        let reserve = "UPDATE orders SET plan_id = $1, updated_at = $2 \
                       WHERE delivery_date = $3 AND status = 'received' AND plan_id IS NULL RETURNING id";
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(insert).bind(request.date).bind(&request_json).bind(now).fetch_one(&mut *tx).await?;
            let mut orders: Vec<i64> = sqlx::query_scalar(reserve).bind(id).bind(now).bind(request.date).fetch_all(&mut *tx).await?;
            if orders.is_empty() {
                tx.rollback().await?;
                return Err(StoreError::Invalid(vec![FieldError::new("date", FieldProblem::NothingToPlan)]));
            }
            if orders.len() > max_orders {
                tx.rollback().await?;
                return Err(too_many(orders.len()));
            }
            orders.sort_unstable();
            sqlx::query("UPDATE plan_jobs SET order_ids = $1 WHERE id = $2")
                .bind(to_json("order_ids", &orders)?).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            id
        });
        self.get_plan_job(id).await
    }

    /// Reads one job.
    pub async fn get_plan_job(&self, id: i64) -> Result<PlanJob, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM plan_jobs WHERE id = $1");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            job_row!(&row)?
        });
        row.into_job()
    }

    /// Reads one job without its plan and progress (`result` is `None`, `progress` empty): what
    /// a replan needs of it once the plan has versions of its own.
    pub async fn get_plan_job_head(&self, id: i64) -> Result<PlanJob, StoreError> {
        let columns = COLUMNS.replace("progress, result,", "'[]' AS progress, NULL AS result,");
        let sql = format!("SELECT {columns} FROM plan_jobs WHERE id = $1");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            job_row!(&row)?
        });
        row.into_job()
    }

    /// Lists jobs, newest first, optionally in one status, a page at a time (by offset or by
    /// key; a status's keyset pages scan the index `plan_jobs_claim` on `(status, id)`).
    pub async fn list_plan_jobs(&self, status: Option<JobStatus>, page: PageRequest) -> Result<Page<PlanJob>, StoreError> {
        let mut conditions = Conditions::default();
        if let Some(s) = status {
            conditions.eq("status", Bound::Text(s.as_str().into()));
        }
        let query = page.query(COLUMNS, "plan_jobs", conditions, IdOrder::Descending);
        let (rows, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| job_row!(r)));
        let items = rows.into_iter().map(JobRow::into_job).collect::<Result<_, _>>()?;
        Ok(query.page(items, total, |j| j.id))
    }

    /// The succeeded jobs planning `date`, newest first (at most 20): where a driver's route of
    /// the day is looked for.
    pub async fn succeeded_plan_ids_on(&self, date: NaiveDate) -> Result<Vec<i64>, StoreError> {
        let sql = "SELECT id FROM plan_jobs WHERE status = 'succeeded' AND plan_date = $1 ORDER BY id DESC LIMIT 20";
        with_pool!(self, pool => {
            let ids: Vec<i64> = sqlx::query_scalar(sql).bind(date).fetch_all(pool).await?;
            Ok(ids)
        })
    }

    /// The day model a succeeded job planned (JSON of `LiveModel`), when it had one.
    pub async fn plan_job_model(&self, id: i64) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT model FROM plan_jobs WHERE id = $1").bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            Ok(row.try_get("model")?)
        })
    }

    /// The solver input a succeeded job planned (JSON problem format).
    pub async fn plan_job_problem(&self, id: i64) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT problem FROM plan_jobs WHERE id = $1").bind(id).fetch_optional(pool).await?;
            let row = row.ok_or(StoreError::NotFound)?;
            Ok(row.try_get("problem")?)
        })
    }

    /// Claims the oldest job that is queued or whose lease expired before `now`, for `owner`
    /// until `lease_until` (epoch ms). Returns `None` when there is nothing to do.
    pub async fn claim_plan_job(&self, owner: &str, now: DateTime<Utc>, lease_until: i64) -> Result<Option<ClaimedJob>, StoreError> {
        let lock = match self {
            Store::Postgres(_) => "FOR UPDATE SKIP LOCKED",
            Store::Sqlite(_) => "",
        };
        // The outer condition repeats the inner one: should two claimers pick the same row (no
        // SKIP LOCKED), the second re-checks it after the first commits and claims nothing.
        let sql = format!(
            "UPDATE plan_jobs SET status = 'running', lease_owner = $1, lease_expires_ms = $2, attempts = attempts + 1, \
             progress = '[]', started_at = COALESCE(started_at, $3), updated_at = $3 \
             WHERE id = (SELECT id FROM plan_jobs WHERE {CLAIMABLE} ORDER BY id LIMIT 1 {lock}) AND {CLAIMABLE} \
             RETURNING id, request, attempts, cancel_requested"
        );
        let row: Option<(i64, String, i64, bool)> = with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(owner).bind(lease_until).bind(now).bind(epoch_ms(now)).fetch_optional(pool).await?;
            match row {
                Some(r) => Some((r.try_get("id")?, r.try_get("request")?, r.try_get("attempts")?, r.try_get("cancel_requested")?)),
                None => None,
            }
        });
        row.map(|(id, request, attempts, cancel_requested)| Ok(ClaimedJob { id, request: json("request", &request)?, attempts, cancel_requested })).transpose()
    }

    /// Renews `owner`'s lease on job `id` and stores its progress. Returns whether a client asked
    /// to cancel, or `None` when the lease is no longer held.
    pub async fn renew_plan_lease(&self, id: i64, owner: &str, lease_until: i64, progress: &[ProgressPoint]) -> Result<Option<bool>, StoreError> {
        let progress = to_json("progress", &progress)?;
        let sql = "UPDATE plan_jobs SET lease_expires_ms = $1, progress = $2, updated_at = $3 \
                   WHERE id = $4 AND lease_owner = $5 AND status = 'running' RETURNING cancel_requested";
        with_pool!(self, pool => {
            let cancel: Option<bool> = sqlx::query_scalar(sql)
                .bind(lease_until).bind(&progress).bind(Utc::now()).bind(id).bind(owner)
                .fetch_optional(pool).await?;
            Ok(cancel)
        })
    }

    /// Gives a running job back to the queue (the worker is shutting down cleanly), without
    /// counting the claim as an attempt: restarts never use up a job's attempts. Returns whether
    /// `owner` still held it.
    pub async fn requeue_plan_job(&self, id: i64, owner: &str) -> Result<bool, StoreError> {
        let sql = "UPDATE plan_jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_ms = NULL, updated_at = $1 \
                   WHERE id = $2 AND lease_owner = $3 AND status = 'running'";
        with_pool!(self, pool => {
            let n = sqlx::query(sql).bind(Utc::now()).bind(id).bind(owner).execute(pool).await?.rows_affected();
            Ok(n == 1)
        })
    }

    /// Ends job `id` if `owner` still holds it; see [`JobEnd`]. Returns whether it did.
    pub async fn finish_plan_job(&self, id: i64, owner: &str, end: &JobEnd, progress: &[ProgressPoint]) -> Result<bool, StoreError> {
        let now = Utc::now();
        let progress = to_json("progress", &progress)?;
        type Finish<'a> = (&'a str, Option<String>, Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a [i64]);
        let (status, result, problem, model, error, planned): Finish = match end {
            JobEnd::Succeeded { result, problem, model, planned } => {
                ("succeeded", Some(to_json("result", result)?), problem.as_deref(), model.as_deref(), None, planned.as_slice())
            }
            JobEnd::Cancelled => ("cancelled", None, None, None, None, &[]),
            JobEnd::Failed(e) => ("failed", None, None, None, Some(e.as_str()), &[]),
        };
        let finish = "UPDATE plan_jobs SET status = $1, result = $2, problem = $3, error = $4, progress = $5, lease_owner = NULL, \
                      lease_expires_ms = NULL, finished_at = $6, updated_at = $6, model = $9 \
                      WHERE id = $7 AND lease_owner = $8 AND status = 'running'";
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(finish)
                .bind(status).bind(&result).bind(problem).bind(error).bind(&progress).bind(now).bind(id).bind(owner).bind(model)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            for &order in planned {
                let moved = sqlx::query(
                    "UPDATE orders SET status = 'planned', updated_at = $1 WHERE id = $2 AND plan_id = $3 AND status = 'received'",
                )
                .bind(now).bind(order).bind(id).execute(&mut *tx).await?.rows_affected();
                if moved == 1 {
                    sqlx::query(
                        "INSERT INTO order_events (order_id, from_status, to_status, changed_by, note, plan_id, at) \
                         VALUES ($1, 'received', 'planned', 'planner', NULL, $2, $3)",
                    )
                    .bind(order).bind(id).bind(now).execute(&mut *tx).await?;
                }
            }
            // Orders left out (or the whole reservation of a failed or cancelled job) go back to
            // the pool for the next plan.
            sqlx::query("UPDATE orders SET plan_id = NULL, updated_at = $1 WHERE plan_id = $2 AND status = 'received'")
                .bind(now).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Asks to cancel job `id`: a queued job is cancelled at once (its orders released), a running
    /// one is flagged and its worker stops at its next lease renewal. A finished job gives
    /// [`StoreError::AlreadyFinished`].
    pub async fn cancel_plan_job(&self, id: i64) -> Result<PlanJob, StoreError> {
        let now = Utc::now();
        let done = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let queued = sqlx::query(
                "UPDATE plan_jobs SET status = 'cancelled', cancel_requested = TRUE, finished_at = $1, updated_at = $1 \
                 WHERE id = $2 AND status = 'queued'",
            )
            .bind(now).bind(id).execute(&mut *tx).await?.rows_affected();
            if queued == 1 {
                sqlx::query("UPDATE orders SET plan_id = NULL, updated_at = $1 WHERE plan_id = $2 AND status = 'received'")
                    .bind(now).bind(id).execute(&mut *tx).await?;
            } else {
                sqlx::query("UPDATE plan_jobs SET cancel_requested = TRUE, updated_at = $1 WHERE id = $2 AND status = 'running'")
                    .bind(now).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            queued == 1
        });
        let job = self.get_plan_job(id).await?;
        if !done && job.status.is_final() {
            return Err(StoreError::AlreadyFinished(job.status));
        }
        Ok(job)
    }

    /// The planning queue at `now`: jobs waiting for a worker (queued, or running on a lease
    /// that expired because its worker died: the next claim takes them) and jobs running on a
    /// live lease, over every process sharing the database.
    pub async fn plan_queue_depth(&self, now: DateTime<Utc>) -> Result<QueueDepth, StoreError> {
        let sql = "SELECT COALESCE(SUM(CASE WHEN status = 'queued' OR lease_expires_ms < $1 THEN 1 ELSE 0 END), 0) AS waiting, \
                   COALESCE(SUM(CASE WHEN status = 'running' AND lease_expires_ms >= $1 THEN 1 ELSE 0 END), 0) AS running \
                   FROM plan_jobs WHERE status IN ('queued', 'running')";
        let oldest_sql = "SELECT MIN(created_at) FROM plan_jobs WHERE status = 'queued' OR (status = 'running' AND lease_expires_ms < $1)";
        with_pool!(self, pool => {
            let row = sqlx::query(sql).bind(epoch_ms(now)).fetch_one(pool).await?;
            let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(oldest_sql).bind(epoch_ms(now)).fetch_one(pool).await?;
            Ok(QueueDepth {
                queued: row.try_get("waiting")?,
                running: row.try_get("running")?,
                oldest_waiting_s: oldest.map_or(0, |t| (now - t).num_seconds().max(0)),
            })
        })
    }
}

/// How many planning jobs wait and run (see [`Store::plan_queue_depth`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Jobs waiting for a worker.
    pub queued: i64,
    /// Jobs a live worker is solving.
    pub running: i64,
    /// How long the oldest waiting job has waited (since it was queued), 0 when none waits.
    pub oldest_waiting_s: i64,
}
