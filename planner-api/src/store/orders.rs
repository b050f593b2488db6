//! SQL for orders and their status history. Cylinder lines are JSON text. A status change is an
//! `UPDATE … WHERE status = <the status read>` plus an event row in one transaction, so two
//! concurrent changes cannot both succeed from the same status.

use super::page::{fetch_page, Bound, Conditions, IdOrder};
use super::{with_pool, Page, PageRequest, Store, StoreError};
use crate::domain::customer::TimeWindow;
use crate::domain::{NewOrder, Order, OrderEvent, OrderStatus, Priority, StatusChange, TimePreference};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

const COLUMNS: &str = "id, customer_id, delivery_date, cylinders, time_window_start, time_window_end, preference, priority, \
                       status, note, plan_id, created_at, updated_at, alternative_addresses";

/// Which orders a list query returns; every filter is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only orders for this day.
    pub date: Option<NaiveDate>,
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Only orders of this customer.
    pub customer_id: Option<i64>,
    /// Only orders of this priority.
    pub priority: Option<Priority>,
    /// Only orders reserved or planned by this planning job.
    pub plan_id: Option<i64>,
}

/// The raw columns of an order row.
struct OrderRow {
    id: i64,
    customer_id: i64,
    delivery_date: NaiveDate,
    cylinders: String,
    time_window_start: Option<String>,
    time_window_end: Option<String>,
    preference: Option<String>,
    priority: String,
    status: String,
    note: Option<String>,
    plan_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    alternative_addresses: String,
}

macro_rules! order_row {
    ($row:expr) => {{
        let row = $row;
        Ok::<OrderRow, sqlx::Error>(OrderRow {
            id: row.try_get("id")?,
            customer_id: row.try_get("customer_id")?,
            delivery_date: row.try_get("delivery_date")?,
            cylinders: row.try_get("cylinders")?,
            time_window_start: row.try_get("time_window_start")?,
            time_window_end: row.try_get("time_window_end")?,
            preference: row.try_get("preference")?,
            priority: row.try_get("priority")?,
            status: row.try_get("status")?,
            note: row.try_get("note")?,
            plan_id: row.try_get("plan_id")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            alternative_addresses: row.try_get("alternative_addresses")?,
        })
    }};
}

/// A column holding an unknown name.
fn corrupt(column: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt { column, source: <serde_json::Error as serde::de::Error>::custom(format!("unknown value {value}")) }
}

/// Parses a status column.
pub(crate) fn status(column: &'static str, value: &str) -> Result<OrderStatus, StoreError> {
    OrderStatus::parse(value).ok_or_else(|| corrupt(column, value))
}

impl OrderRow {
    fn into_order(self) -> Result<Order, StoreError> {
        let cylinders = serde_json::from_str(&self.cylinders).map_err(|source| StoreError::Corrupt { column: "cylinders", source })?;
        let time_window = match (self.time_window_start, self.time_window_end) {
            (Some(start), Some(end)) => Some(TimeWindow { start, end }),
            _ => None,
        };
        let preference = self.preference.map(|p| TimePreference::parse(&p).ok_or_else(|| corrupt("preference", &p))).transpose()?;
        let priority = Priority::parse(&self.priority).ok_or_else(|| corrupt("priority", &self.priority))?;
        let alternative_addresses =
            serde_json::from_str(&self.alternative_addresses).map_err(|source| StoreError::Corrupt { column: "alternative_addresses", source })?;
        Ok(Order {
            id: self.id,
            data: NewOrder {
                customer_id: self.customer_id,
                delivery_date: self.delivery_date,
                cylinders,
                time_window,
                preference,
                priority,
                note: self.note,
                alternative_addresses,
            },
            status: status("status", &self.status)?,
            plan_id: self.plan_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The JSON text of an order's alternative addresses.
fn alternatives_json(o: &NewOrder) -> Result<String, StoreError> {
    serde_json::to_string(&o.alternative_addresses).map_err(|source| StoreError::Corrupt { column: "alternative_addresses", source })
}

/// An `order_events` row: from, to, changed by, note, plan id, at.
type EventRow = (Option<String>, String, String, Option<String>, Option<i64>, DateTime<Utc>);

impl OrderFilter {
    /// The conditions of the filters set. Only the filters set appear, so each query can use the
    /// index that starts with them and ends with the id (migration 0019) instead of testing
    /// `$n IS NULL OR …` row by row.
    fn conditions(&self) -> Conditions<'static> {
        let mut c = Conditions::default();
        if let Some(d) = self.date {
            c.eq("delivery_date", Bound::Date(d));
        }
        if let Some(s) = self.status {
            c.eq("status", Bound::Text(s.as_str().into()));
        }
        if let Some(id) = self.customer_id {
            c.eq("customer_id", Bound::Int(id));
        }
        if let Some(p) = self.priority {
            c.eq("priority", Bound::Text(p.as_str().into()));
        }
        if let Some(id) = self.plan_id {
            c.eq("plan_id", Bound::Int(id));
        }
        c
    }
}

impl Store {
    /// Lists orders by id, filtered, a page at a time. An offset page and the number of
    /// matching orders come from one query (`COUNT(*) OVER ()`), but it passes over every
    /// match; a keyset page ([`PageRequest::after`]) reads only the rows it returns (a range
    /// scan of the index of its filters, migration 0019) and counts nothing, so its cost does
    /// not grow with the number of matches; orders inserted meanwhile have higher ids and come
    /// on later pages.
    pub async fn list_orders(&self, filter: &OrderFilter, page: PageRequest) -> Result<Page<Order>, StoreError> {
        let query = page.query(COLUMNS, "orders", filter.conditions(), IdOrder::Ascending);
        let (rows, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| order_row!(r)));
        let items = rows.into_iter().map(OrderRow::into_order).collect::<Result<_, _>>()?;
        Ok(query.page(items, total, |o| o.id))
    }

    /// Reads one order.
    pub async fn get_order(&self, id: i64) -> Result<Order, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM orders WHERE id = $1");
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            order_row!(&row)?
        });
        row.into_order()
    }

    /// The orders with these ids (for the legacy import), in no particular order.
    pub async fn orders_by_ids(&self, ids: &[i64]) -> Result<Vec<Order>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {COLUMNS} FROM orders WHERE id IN ({})", super::jobs::placeholders(1, ids.len()));
        let rows = with_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(pool).await?.iter().map(|r| order_row!(r)).collect::<Result<Vec<_>, _>>()?
        });
        rows.into_iter().map(OrderRow::into_order).collect()
    }

    /// Every order to deliver from `from` to `to` (inclusive), by id (the legacy
    /// reconciliation).
    pub async fn orders_between(&self, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Result<Vec<Order>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM orders WHERE delivery_date >= $1 AND delivery_date <= $2 ORDER BY id");
        let rows = with_pool!(self, pool => sqlx::query(&sql).bind(from).bind(to).fetch_all(pool).await?.iter().map(|r| order_row!(r)).collect::<Result<Vec<_>, _>>()?);
        rows.into_iter().map(OrderRow::into_order).collect()
    }

    /// Stores a new order as `received` and records who took it; an unknown customer gives
    /// [`StoreError::UnknownReference`].
    pub async fn create_order(&self, o: &NewOrder, created_by: &str) -> Result<Order, StoreError> {
        let now = Utc::now();
        let cylinders = serde_json::to_string(&o.cylinders).map_err(|source| StoreError::Corrupt { column: "cylinders", source })?;
        let alternatives = alternatives_json(o)?;
        let sql = format!(
            "INSERT INTO orders (customer_id, delivery_date, cylinders, time_window_start, time_window_end, preference, priority, \
             status, note, plan_id, created_at, updated_at, alternative_addresses) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8, NULL, $9, $9, $10) RETURNING {COLUMNS}"
        );
        let event = "INSERT INTO order_events (order_id, from_status, to_status, changed_by, note, plan_id, at) \
                     VALUES ($1, NULL, 'received', $2, NULL, NULL, $3)";
        let (start, end) = (o.time_window.as_ref().map(|w| w.start.clone()), o.time_window.as_ref().map(|w| w.end.clone()));
        let preference = o.preference.map(TimePreference::as_str);
        let row = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let row = sqlx::query(&sql)
                .bind(o.customer_id).bind(o.delivery_date).bind(&cylinders).bind(&start).bind(&end).bind(preference)
                .bind(o.priority.as_str()).bind(&o.note).bind(now).bind(&alternatives)
                .fetch_one(&mut *tx).await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::UnknownReference(vec!["customer_id"]),
                    _ => StoreError::Database(e),
                })?;
            let row = order_row!(&row)?;
            sqlx::query(event).bind(row.id).bind(created_by).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            row
        });
        row.into_order()
    }

    /// Replaces the fields of an order that is still `received` and held by no planning job;
    /// another order gives [`StoreError::OrderLocked`], an unknown customer
    /// [`StoreError::UnknownReference`].
    pub async fn update_order(&self, id: i64, o: &NewOrder) -> Result<Order, StoreError> {
        let now = Utc::now();
        let cylinders = serde_json::to_string(&o.cylinders).map_err(|source| StoreError::Corrupt { column: "cylinders", source })?;
        let alternatives = alternatives_json(o)?;
        let sql = format!(
            "UPDATE orders SET customer_id = $1, delivery_date = $2, cylinders = $3, time_window_start = $4, time_window_end = $5, \
             preference = $6, priority = $7, note = $8, updated_at = $9, alternative_addresses = $11 \
             WHERE id = $10 AND status = 'received' AND plan_id IS NULL RETURNING {COLUMNS}"
        );
        let (start, end) = (o.time_window.as_ref().map(|w| w.start.clone()), o.time_window.as_ref().map(|w| w.end.clone()));
        let preference = o.preference.map(TimePreference::as_str);
        let row = with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(o.customer_id).bind(o.delivery_date).bind(&cylinders).bind(&start).bind(&end).bind(preference)
                .bind(o.priority.as_str()).bind(&o.note).bind(now).bind(id).bind(&alternatives)
                .fetch_optional(pool).await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::UnknownReference(vec!["customer_id"]),
                    _ => StoreError::Database(e),
                })?;
            match row {
                Some(row) => Some(order_row!(&row)?),
                None => None,
            }
        });
        match row {
            Some(row) => row.into_order(),
            None => {
                let current = self.get_order(id).await?;
                Err(StoreError::OrderLocked(current.status))
            }
        }
    }

    /// Moves an order to a new status if its lifecycle allows it, recording who did it.
    pub async fn change_order_status(&self, id: i64, change: &StatusChange) -> Result<Order, StoreError> {
        let current = self.get_order(id).await?;
        if !current.status.can_become(change.status) {
            return Err(StoreError::InvalidTransition { from: current.status, to: change.status });
        }
        let now = Utc::now();
        let sql = format!("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4 RETURNING {COLUMNS}");
        let event = "INSERT INTO order_events (order_id, from_status, to_status, changed_by, note, plan_id, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let row = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let row = sqlx::query(&sql)
                .bind(change.status.as_str()).bind(now).bind(id).bind(current.status.as_str())
                .fetch_optional(&mut *tx).await?;
            match row {
                None => None,
                Some(row) => {
                    let row = order_row!(&row)?;
                    sqlx::query(event)
                        .bind(id).bind(current.status.as_str()).bind(change.status.as_str()).bind(&change.changed_by)
                        .bind(&change.note).bind(current.plan_id).bind(now)
                        .execute(&mut *tx).await?;
                    if change.status == crate::domain::OrderStatus::Delivered {
                        super::jobs::enqueue_delivery_invoice!(&mut *tx, id, now);
                    }
                    tx.commit().await?;
                    Some(row)
                }
            }
        });
        match row {
            Some(row) => row.into_order(),
            // Someone else changed the status in between: report the move from what it is now.
            None => {
                let now = self.get_order(id).await?;
                Err(StoreError::InvalidTransition { from: now.status, to: change.status })
            }
        }
    }

    /// The status history of an order, oldest first.
    pub async fn order_history(&self, id: i64) -> Result<Vec<OrderEvent>, StoreError> {
        self.get_order(id).await?;
        let sql = "SELECT from_status, to_status, changed_by, note, plan_id, at FROM order_events WHERE order_id = $1 ORDER BY id";
        let rows: Vec<EventRow> = with_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(id).fetch_all(pool).await?;
            rows.iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?)))
                .collect::<Result<Vec<_>, _>>()?
        });
        rows.into_iter()
            .map(|(from, to, changed_by, note, plan_id, at)| {
                Ok(OrderEvent {
                    from_status: from.map(|f| status("from_status", &f)).transpose()?,
                    to_status: status("to_status", &to)?,
                    changed_by,
                    note,
                    plan_id,
                    at,
                })
            })
            .collect()
    }
}
