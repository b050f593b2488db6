//! SQL for plan versions: every replan of a plan is a new row, and the orders it touches change
//! status in the same transaction.
//!
//! Two dispatchers who replan the same version at once both try to insert the next version
//! number; the primary key `(plan_id, version)` lets one in, and the other's transaction fails
//! as a whole ([`StoreError::VersionConflict`]). Every order change is conditional on the
//! order's status (and plan) being what the replan saw, so an order changed meanwhile through
//! `/v1/orders` also fails the replan instead of being overwritten.

use super::plans::{json, to_json};
use super::{with_pool, Store, StoreError};
use crate::domain::replan::{clock_text, Event, Execution, PlanDiff, PlanVersion};
use crate::domain::{FieldError, FieldProblem, PlanResult};
use chrono::{DateTime, Utc};
use sqlx::Row;

const COLUMNS: &str = "plan_id, version, based_on, at_s, events, execution, diff, result, created_by, created_at";

/// A version to store.
#[derive(Clone, Debug)]
pub struct NewVersion<'a> {
    /// The version.
    pub version: &'a PlanVersion,
    /// The at-time in seconds (`None` for the first).
    pub at_s: Option<i64>,
    /// Its solver input (JSON) when it differs from the previous version's.
    pub model: Option<String>,
}

/// What a replan does to one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderChange {
    /// A received order joins the plan: held by it, `planned` when `routed`.
    Join {
        /// The order.
        order_id: i64,
        /// Whether it is on a route.
        routed: bool,
    },
    /// A held, received order is now on a route.
    Route {
        /// The order.
        order_id: i64,
    },
    /// A planned order left every route: back to `received`, held by no plan.
    Release {
        /// The order.
        order_id: i64,
    },
    /// Cancelled by the customer.
    Cancel {
        /// The order.
        order_id: i64,
    },
    /// Served.
    Deliver {
        /// The order.
        order_id: i64,
    },
    /// Attempted in vain.
    Fail {
        /// The order.
        order_id: i64,
    },
}

impl OrderChange {
    /// The order it changes.
    pub fn order_id(self) -> i64 {
        self.sql().0
    }

    /// `(order, new status, statuses it may come from, whether the plan must hold it already)`.
    fn sql(self) -> (i64, &'static str, &'static [&'static str], bool) {
        match self {
            OrderChange::Join { order_id, routed: true } => (order_id, "planned", &["received"], false),
            OrderChange::Join { order_id, routed: false } => (order_id, "received", &["received"], false),
            OrderChange::Route { order_id } => (order_id, "planned", &["received"], false),
            // A dispatched order (loaded on the truck) that a replan takes off every route is
            // to plan again.
            OrderChange::Release { order_id } => (order_id, "received", &["planned", "dispatched"], true),
            OrderChange::Cancel { order_id } => (order_id, "cancelled", &["received", "planned", "dispatched"], false),
            OrderChange::Deliver { order_id } => (order_id, "delivered", &["planned", "dispatched"], true),
            OrderChange::Fail { order_id } => (order_id, "failed", &["planned", "dispatched"], true),
        }
    }
}

type VersionRow = (i64, i64, Option<i64>, Option<i64>, String, String, String, String, String, DateTime<Utc>);

macro_rules! version_row {
    ($row:expr) => {{
        let r = $row;
        Ok::<VersionRow, sqlx::Error>((
            r.try_get("plan_id")?,
            r.try_get("version")?,
            r.try_get("based_on")?,
            r.try_get("at_s")?,
            r.try_get("events")?,
            r.try_get("execution")?,
            r.try_get("diff")?,
            r.try_get("result")?,
            r.try_get("created_by")?,
            r.try_get("created_at")?,
        ))
    }};
}

fn into_version(row: VersionRow) -> Result<PlanVersion, StoreError> {
    let (plan_id, version, based_on, at_s, events, execution, diff, result, created_by, created_at) = row;
    Ok(PlanVersion {
        plan_id,
        version,
        based_on,
        at: at_s.map(clock_text),
        events: json::<Vec<Event>>("events", &events)?,
        execution: json::<Execution>("execution", &execution)?,
        diff: json::<PlanDiff>("diff", &diff)?,
        plan: json::<PlanResult>("result", &result)?,
        created_by,
        created_at,
    })
}

impl Store {
    /// The newest version of a plan, with its at-time in seconds; `None` when it was never
    /// replanned (its first version is the job's result).
    pub async fn latest_plan_version(&self, plan_id: i64) -> Result<Option<(PlanVersion, Option<i64>)>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM plan_versions WHERE plan_id = $1 ORDER BY version DESC LIMIT 1");
        let row = with_pool!(self, pool => {
            match sqlx::query(&sql).bind(plan_id).fetch_optional(pool).await? {
                Some(r) => Some(version_row!(&r)?),
                None => None,
            }
        });
        row.map(|r| {
            let at = r.3;
            into_version(r).map(|v| (v, at))
        })
        .transpose()
    }

    /// The newest version number of a plan (0 when it was never replanned).
    pub async fn latest_plan_version_number(&self, plan_id: i64) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM plan_versions WHERE plan_id = $1").bind(plan_id).fetch_one(pool).await?;
            Ok(v.unwrap_or(0))
        })
    }

    /// One stored version.
    pub async fn plan_version(&self, plan_id: i64, version: i64) -> Result<PlanVersion, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM plan_versions WHERE plan_id = $1 AND version = $2");
        let row = with_pool!(self, pool => {
            let r = sqlx::query(&sql).bind(plan_id).bind(version).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            version_row!(&r)?
        });
        into_version(row)
    }

    /// Every stored version of a plan, oldest first.
    pub async fn plan_versions(&self, plan_id: i64) -> Result<Vec<PlanVersion>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM plan_versions WHERE plan_id = $1 ORDER BY version");
        let rows = with_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(plan_id).fetch_all(pool).await?;
            rows.iter().map(|r| version_row!(r)).collect::<Result<Vec<_>, _>>()?
        });
        rows.into_iter().map(into_version).collect()
    }

    /// The solver input of `version`: that of the newest version up to it that stored one.
    pub async fn plan_version_model(&self, plan_id: i64, version: i64) -> Result<Option<String>, StoreError> {
        let sql = "SELECT model FROM plan_versions WHERE plan_id = $1 AND version <= $2 AND model IS NOT NULL ORDER BY version DESC LIMIT 1";
        with_pool!(self, pool => {
            let model: Option<String> = sqlx::query_scalar(sql).bind(plan_id).bind(version).fetch_optional(pool).await?;
            Ok(model)
        })
    }

    /// Stores a replan in one transaction: the first version when it is not stored yet, the new
    /// version, and the order changes. A version number already taken gives
    /// [`StoreError::VersionConflict`]; an order no longer as the replan saw it gives
    /// [`StoreError::Invalid`] naming it. Either way nothing is changed.
    pub async fn insert_plan_version(
        &self,
        first: Option<&NewVersion<'_>>,
        new: &NewVersion<'_>,
        changes: &[(Option<usize>, OrderChange)],
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let insert = "INSERT INTO plan_versions (plan_id, version, based_on, at_s, events, execution, diff, result, model, created_by, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
        let first_insert = format!("{insert} ON CONFLICT (plan_id, version) DO NOTHING");
        let rows = |v: &NewVersion<'_>| -> Result<(String, String, String, String), StoreError> {
            Ok((
                to_json("events", &v.version.events)?,
                to_json("execution", &v.version.execution)?,
                to_json("diff", &v.version.diff)?,
                to_json("result", &v.version.plan)?,
            ))
        };
        let plan_id = new.version.plan_id;
        let first_rows = first.map(|f| rows(f).map(|r| (f, r))).transpose()?;
        let new_rows = rows(new)?;
        let result = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some((f, (events, execution, diff, result))) = &first_rows {
                sqlx::query(&first_insert)
                    .bind(plan_id).bind(f.version.version).bind(f.version.based_on).bind(f.at_s).bind(events).bind(execution).bind(diff)
                    .bind(result).bind(f.model.as_deref()).bind(&f.version.created_by).bind(f.version.created_at)
                    .execute(&mut *tx).await?;
            }
            let (events, execution, diff, result) = &new_rows;
            let inserted = sqlx::query(insert)
                .bind(plan_id).bind(new.version.version).bind(new.version.based_on).bind(new.at_s).bind(events).bind(execution).bind(diff)
                .bind(result).bind(new.model.as_deref()).bind(&new.version.created_by).bind(new.version.created_at)
                .execute(&mut *tx).await;
            match inserted {
                Ok(_) => {}
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    tx.rollback().await?;
                    return Err(StoreError::VersionConflict);
                }
                Err(e) => return Err(e.into()),
            }
            for &(event, change) in changes {
                let (order_id, to, from, held) = change.sql();
                let now_row = sqlx::query("SELECT status, plan_id FROM orders WHERE id = $1").bind(order_id).fetch_optional(&mut *tx).await?;
                let (before, holder): (String, Option<i64>) = match now_row {
                    Some(r) => (r.try_get("status")?, r.try_get("plan_id")?),
                    None => (String::new(), None),
                };
                let held_ok = if held { holder == Some(plan_id) } else { holder.is_none() || holder == Some(plan_id) };
                let plan_of = if to == "received" && held { None } else { Some(plan_id) };
                let updated = if from.contains(&before.as_str()) && held_ok {
                    sqlx::query("UPDATE orders SET status = $1, plan_id = $2, updated_at = $3 WHERE id = $4 AND status = $5")
                        .bind(to).bind(plan_of).bind(now).bind(order_id).bind(&before)
                        .execute(&mut *tx).await?.rows_affected()
                } else {
                    0
                };
                if updated != 1 {
                    tx.rollback().await?;
                    let problem = FieldProblem::State { code: "order_changed", zh: "訂單已被其他操作變更", en: "the order was changed meanwhile; reload the plan" };
                    let field = event.map_or_else(|| format!("order {order_id}"), |i| format!("events[{i}].order_id"));
                    return Err(StoreError::Invalid(vec![FieldError::new(field, problem)]));
                }
                if before != to {
                    sqlx::query(
                        "INSERT INTO order_events (order_id, from_status, to_status, changed_by, note, plan_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(order_id).bind(&before).bind(to).bind(&new.version.created_by).bind(format!("plan {plan_id} version {}", new.version.version))
                    .bind(plan_id).bind(now).execute(&mut *tx).await?;
                }
                if to == "delivered" {
                    super::jobs::enqueue_delivery_invoice!(&mut *tx, order_id, now);
                }
            }
            tx.commit().await?;
            Ok(())
        });
        result
    }
}
