//! SQL of the legacy sync on the new side (migration 0022): the switch that makes every change of
//! a customer, an order or a collection queue an outbox row for the old system (triggers), the
//! sync worker's reads of that queue (in order per entity), its outcomes (applied, retried with
//! backoff, dead letters), the links between legacy numbers and entities here, and the import's
//! writes.

use super::plans::epoch_ms;
use super::{with_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// The outbox channel of the legacy sync.
pub const CHANNEL: &str = "legacy";

/// A change waiting for the legacy side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingChange {
    /// The outbox row.
    pub id: i64,
    /// Its idempotency key on the legacy side (the outbox destination, unique per change).
    pub key: String,
    /// `customer:12`, `order:40`.
    pub entity: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

impl PendingChange {
    /// The entity's kind and id (`("order", 40)`).
    pub fn target(&self) -> Option<(&str, i64)> {
        let (kind, id) = self.entity.split_once(':')?;
        Some((kind, id.parse().ok()?))
    }
}

/// A dead letter: a change that failed too often.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// The outbox row.
    pub id: i64,
    /// The entity (`customer:12`).
    pub entity: String,
    /// The idempotency key.
    pub key: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last error.
    pub last_error: Option<String>,
    /// When the change was made.
    pub created_at: DateTime<Utc>,
    /// When it was given up.
    pub dead_at: DateTime<Utc>,
}

/// The sync queue at a moment, for metrics and `luckygas legacy status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct SyncDepth {
    /// Changes not yet applied (dead letters apart).
    pub pending: i64,
    /// Age in seconds of the oldest of them (0 when none).
    pub oldest_s: i64,
    /// Dead letters.
    pub dead: i64,
    /// Changes applied so far.
    pub applied: i64,
    /// Conflicts decided so far (fields changed on both sides).
    pub conflicts: i64,
    /// Records that drifted at the latest reconciliation (-1 before the first).
    pub drift: i64,
}

/// One link between a legacy number and an entity here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// `customer`, `order` or `delivery`.
    pub entity: &'static str,
    /// `CUST_NO`, `ORD_NO`, `DLV_NO`.
    pub legacy_no: String,
    /// The entity's id here (a delivery: its order's).
    pub id: i64,
    /// A merged duplicate customer: the survivor's number.
    pub merged_into: Option<String>,
    /// What both sides agree on now ([`crate::sync::merge`]'s view, JSON), when known.
    pub base: Option<String>,
}

/// What became of a batch's changes, recorded by [`Store::finish_legacy`].
#[derive(Clone, Copy, Debug)]
pub struct Outcomes<'a> {
    /// Links made or confirmed (with their new base).
    pub links: &'a [Link],
    /// Rows applied.
    pub applied: &'a [i64],
    /// Rows closed unwritten, with their note.
    pub skipped: &'a [(i64, String)],
    /// Rows charged a failed attempt, with the error.
    pub failed: &'a [(i64, String)],
    /// Rows held back a moment without an attempt charged.
    pub deferred: &'a [i64],
}

/// How far the pick-up has read an old table: the "last changed" stamp (`UPD_DT` ROC date,
/// `UPD_TM`) and key of the last record it took; it goes on after it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Mark {
    /// `CUST_MST`, `ORD_HDR`, `DLV_REC`.
    pub table: String,
    /// `UPD_DT`.
    pub date: String,
    /// `UPD_TM`.
    pub time: String,
    /// The record's key.
    pub key: String,
}

impl Mark {
    /// Whether this mark lies before a record stamped `date`, `time` with key `key` (the
    /// pick-up has not read it yet).
    pub fn is_before(&self, date: &str, time: &str, key: &str) -> bool {
        (self.date.as_str(), self.time.as_str(), self.key.as_str()) < (date, time, key)
    }
}

/// A link as the pick-up reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRow {
    /// The entity here.
    pub id: i64,
    /// A merged duplicate: the survivor's number.
    pub merged_into: Option<String>,
    /// The merge's base.
    pub base: Option<String>,
}

/// One logged conflict.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ConflictEntry {
    /// Identifier, increasing.
    pub id: i64,
    /// When it was decided.
    pub at: DateTime<Utc>,
    /// `customer` or `order`.
    pub entity: String,
    /// The legacy number.
    pub legacy_no: String,
    /// The entity here, if any.
    pub entity_id: Option<i64>,
    /// The field.
    pub field: String,
    /// What both sides last agreed on.
    pub base_value: Option<String>,
    /// The old program's value.
    pub legacy_value: String,
    /// The service's value.
    pub new_value: String,
    /// `legacy` or `new`.
    pub winner: String,
    /// The rule that decided.
    pub rule: String,
    /// The clerk who changed the old record.
    pub legacy_user: String,
    /// The old record's stamp (`UPD_DT UPD_TM`).
    pub legacy_stamp: String,
}

/// What the pick-up writes for one old record, in one transaction.
#[derive(Clone, Debug, Default)]
pub struct PickupWrite<'a> {
    /// `customer`, `order` or `delivery`.
    pub entity: &'static str,
    /// Its legacy number.
    pub legacy_no: &'a str,
    /// The entity here (a delivery: its order); `None` to insert it.
    pub id: Option<i64>,
    /// A customer's fields to insert or update, with whether the position is approximate.
    pub customer: Option<(&'a crate::domain::NewCustomer, bool)>,
    /// An order's fields to insert, or to update while it is received and in no plan.
    pub order: Option<&'a crate::domain::NewOrder>,
    /// An order's status change (from, to), or a new order's status.
    pub status: Option<(Option<crate::domain::OrderStatus>, crate::domain::OrderStatus)>,
    /// The link's new base.
    pub base: Option<String>,
    /// The conflicts decided.
    pub conflicts: &'a [crate::sync::merge::Conflict],
    /// Who changed the old record (`UPD_USER`) and when (`UPD_DT UPD_TM`).
    pub legacy_user: &'a str,
    /// The old record's stamp.
    pub legacy_stamp: &'a str,
    /// Whether the old record must be written back (the merge kept some of the service's values).
    pub write_back: bool,
}

/// `INSERT` of a customer with its approximate flag (import and pick-up).
const CUSTOMER_INSERT: &str = "INSERT INTO customers (code, name, phone, address, district, lat, lon, time_windows, usual_cylinders, access_restrictions, \
    payment_method, position_approximate, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id";
/// `UPDATE` of a customer's fields with its approximate flag (import and pick-up).
const CUSTOMER_UPDATE: &str = "UPDATE customers SET name = $1, phone = $2, address = $3, district = $4, lat = $5, lon = $6, time_windows = $7, \
    usual_cylinders = $8, access_restrictions = $9, payment_method = $10, position_approximate = $11, updated_at = $12 WHERE id = $13";
/// `INSERT` of an order with its status (import and pick-up).
const ORDER_INSERT: &str = "INSERT INTO orders (customer_id, delivery_date, cylinders, time_window_start, time_window_end, preference, priority, status, \
    note, plan_id, created_at, updated_at) VALUES ($1, $2, $3, NULL, NULL, $4, $5, $6, $7, NULL, $8, $8) RETURNING id";
/// An order's status history entry written by the import or the pick-up.
const ORDER_EVENT: &str = "INSERT INTO order_events (order_id, from_status, to_status, changed_by, note, plan_id, at) VALUES ($1, $2, $3, $4, $5, NULL, $6)";

/// What the dual write knows of a delivered or failed order: when it was reported, the driver
/// and the cash taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    /// When the order reached its status.
    pub at: DateTime<Utc>,
    /// The driver of the collection, if one was recorded.
    pub driver_id: Option<i64>,
    /// Cash collected (NT$), 0 without a collection.
    pub cash: i64,
}

impl Store {
    /// Whether changes are queued for a legacy system.
    pub async fn legacy_sync_enabled(&self) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, bool>("SELECT enabled FROM legacy_sync WHERE id = 1").fetch_one(pool).await?))
    }

    /// Turns the queueing of changes for the legacy system on or off; returns whether it changed.
    pub async fn set_legacy_sync(&self, enabled: bool) -> Result<bool, StoreError> {
        let now = Utc::now();
        with_pool!(self, pool => {
            let done = sqlx::query("UPDATE legacy_sync SET enabled = $1, changed_at = $2 WHERE id = 1 AND enabled <> $1").bind(enabled).bind(now).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Up to `limit` changes to apply now, oldest first, skipping every entity that has an
    /// earlier change waiting for its retry or given up (so each entity's changes apply in
    /// order). Two index scans, whatever the backlog: the oldest due changes (`outbox_channel_pending`)
    /// and the changes held back (`outbox_legacy_held`, few).
    pub async fn pending_legacy(&self, limit: i64, now: DateTime<Utc>) -> Result<Vec<PendingChange>, StoreError> {
        let due = "SELECT id, destination, entity, attempts FROM outbox \
                   WHERE channel = 'legacy' AND delivered_at IS NULL AND dead_at IS NULL \
                   AND (lease_expires_ms IS NULL OR lease_expires_ms <= $1) ORDER BY id LIMIT $2";
        let held = "SELECT entity, MIN(id) FROM outbox \
                    WHERE channel = 'legacy' AND delivered_at IS NULL AND (dead_at IS NOT NULL OR lease_expires_ms IS NOT NULL) \
                    AND (dead_at IS NOT NULL OR lease_expires_ms > $1) GROUP BY entity";
        let (rows, held): (Vec<PendingChange>, Vec<(Option<String>, i64)>) = with_pool!(self, pool => {
            let rows = sqlx::query(due).bind(epoch_ms(now)).bind(limit).fetch_all(pool).await?;
            let rows = rows.iter()
                .map(|r| Ok(PendingChange { id: r.try_get("id")?, key: r.try_get("destination")?, entity: r.try_get::<Option<String>, _>("entity")?.unwrap_or_default(), attempts: r.try_get("attempts")? }))
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            let held = sqlx::query_as(held).bind(epoch_ms(now)).fetch_all(pool).await?;
            (rows, held)
        });
        let held: std::collections::HashMap<String, i64> = held.into_iter().filter_map(|(e, id)| Some((e?, id))).collect();
        Ok(rows.into_iter().filter(|c| held.get(&c.entity).is_none_or(|first| *first > c.id)).collect())
    }

    /// Records a batch's outcome in one transaction: `links` made (and their base), `deferred`
    /// rows held back until `deferred_until_ms` (no attempt charged), `applied` rows delivered,
    /// `skipped` rows closed unwritten with their note (a module whose old side is off),
    /// `failed` rows charged an attempt (retried at `retry_at_ms(attempts)`, or dead letters
    /// from `max_attempts` on).
    pub async fn finish_legacy(&self, o: &Outcomes<'_>, max_attempts: i64, retry_at_ms: impl Fn(i64) -> i64, deferred_until_ms: i64) -> Result<(), StoreError> {
        let (links, applied, skipped, failed) = (o.links, o.applied, o.skipped, o.failed);
        let now = Utc::now();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for l in links {
                sqlx::query("INSERT INTO legacy_links (entity, legacy_no, id, merged_into, base, linked_at) VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT (entity, legacy_no) DO UPDATE SET base = COALESCE(excluded.base, legacy_links.base)")
                    .bind(l.entity).bind(&l.legacy_no).bind(l.id).bind(&l.merged_into).bind(&l.base).bind(now).execute(&mut *tx).await?;
            }
            for chunk in o.deferred.chunks(500) {
                let sql = format!("UPDATE outbox SET lease_expires_ms = $1 WHERE id IN ({})", super::jobs::placeholders(2, chunk.len()));
                let mut q = sqlx::query(&sql).bind(deferred_until_ms);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *tx).await?;
            }
            for chunk in applied.chunks(500) {
                let sql = format!("UPDATE outbox SET delivered_at = $1, last_error = NULL, lease_expires_ms = NULL WHERE id IN ({})", super::jobs::placeholders(2, chunk.len()));
                let mut q = sqlx::query(&sql).bind(now);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *tx).await?;
            }
            for (id, note) in skipped {
                sqlx::query("UPDATE outbox SET delivered_at = $1, last_error = $2, lease_expires_ms = NULL WHERE id = $3").bind(now).bind(note).bind(*id).execute(&mut *tx).await?;
            }
            for (id, error) in failed {
                let attempts: i64 = sqlx::query_scalar("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2 RETURNING attempts")
                    .bind(error).bind(*id).fetch_one(&mut *tx).await?;
                if attempts >= max_attempts {
                    sqlx::query("UPDATE outbox SET dead_at = $1, lease_expires_ms = NULL WHERE id = $2").bind(now).bind(*id).execute(&mut *tx).await?;
                } else {
                    sqlx::query("UPDATE outbox SET lease_expires_ms = $1 WHERE id = $2").bind(retry_at_ms(attempts)).bind(*id).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The legacy number linked to entity `id` of kind `entity` (the survivor's link for a
    /// customer).
    pub async fn legacy_no(&self, entity: &str, id: i64) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar("SELECT legacy_no FROM legacy_links WHERE entity = $1 AND id = $2 AND merged_into IS NULL")
            .bind(entity).bind(id).fetch_optional(pool).await?))
    }

    /// The entity linked to legacy number `legacy_no` of kind `entity`.
    pub async fn linked_id(&self, entity: &str, legacy_no: &str) -> Result<Option<i64>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar("SELECT id FROM legacy_links WHERE entity = $1 AND legacy_no = $2")
            .bind(entity).bind(legacy_no).fetch_optional(pool).await?))
    }

    /// Every link of kind `entity` as (legacy number, id).
    pub async fn legacy_links(&self, entity: &str) -> Result<Vec<(String, i64)>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as("SELECT legacy_no, id FROM legacy_links WHERE entity = $1 ORDER BY legacy_no").bind(entity).fetch_all(pool).await?))
    }

    /// When order `order_id` reached `delivered` or `failed`, with its collection's driver and
    /// cash; `None` when it has not.
    pub async fn delivery_row(&self, order_id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        with_pool!(self, pool => {
            let at: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT at FROM order_events WHERE order_id = $1 AND to_status IN ('delivered', 'failed') ORDER BY id DESC LIMIT 1")
                .bind(order_id).fetch_optional(pool).await?;
            let Some(at) = at else { return Ok(None) };
            let collection = sqlx::query("SELECT driver_id, cash FROM collections WHERE order_id = $1").bind(order_id).fetch_optional(pool).await?;
            let (driver_id, cash) = match collection {
                Some(r) => (r.try_get("driver_id")?, r.try_get("cash")?),
                None => (None, 0),
            };
            Ok(Some(DeliveryRow { at, driver_id, cash }))
        })
    }

    /// The sync queue now.
    pub async fn legacy_depth(&self, now: DateTime<Utc>) -> Result<SyncDepth, StoreError> {
        with_pool!(self, pool => {
            let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE channel = 'legacy' AND delivered_at IS NULL AND dead_at IS NULL").fetch_one(pool).await?;
            let oldest: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT MIN(created_at) FROM outbox WHERE channel = 'legacy' AND delivered_at IS NULL AND dead_at IS NULL").fetch_one(pool).await?;
            let dead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE channel = 'legacy' AND dead_at IS NOT NULL AND delivered_at IS NULL").fetch_one(pool).await?;
            let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE channel = 'legacy' AND delivered_at IS NOT NULL").fetch_one(pool).await?;
            let conflicts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM legacy_conflicts").fetch_one(pool).await?;
            let drift: Option<i64> = sqlx::query_scalar("SELECT drift FROM legacy_reconciliations ORDER BY id DESC LIMIT 1").fetch_optional(pool).await?;
            Ok(SyncDepth { pending, oldest_s: oldest.map_or(0, |t| (now - t).num_seconds().max(0)), dead, applied, conflicts, drift: drift.unwrap_or(-1) })
        })
    }

    /// The dead letters, oldest first (at most `limit`).
    pub async fn legacy_dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self.legacy_dead_letters_page(super::PageRequest::offset(limit, 0)).await?.items)
    }

    /// A page of the dead letters, oldest first.
    pub async fn legacy_dead_letters_page(&self, page: super::PageRequest) -> Result<super::Page<DeadLetter>, StoreError> {
        use super::page::{fetch_page, Conditions, IdOrder};
        let mut conditions = Conditions::default();
        conditions.term("channel = 'legacy' AND dead_at IS NOT NULL AND delivered_at IS NULL".into());
        let query = page.query("id, entity, destination, attempts, last_error, created_at, dead_at", "outbox", conditions, IdOrder::Ascending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| {
            Ok::<_, sqlx::Error>(DeadLetter {
                id: r.try_get("id")?,
                entity: r.try_get::<Option<String>, _>("entity")?.unwrap_or_default(),
                key: r.try_get("destination")?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                created_at: r.try_get("created_at")?,
                dead_at: r.try_get("dead_at")?,
            })
        }));
        Ok(query.page(items, total, |d| d.id))
    }

    /// Gives dead letters another round of attempts, due now: the one `id`, or all of them.
    /// Returns how many.
    pub async fn replay_dead_letters(&self, id: Option<i64>) -> Result<u64, StoreError> {
        let sql = "UPDATE outbox SET dead_at = NULL, attempts = 0, lease_expires_ms = NULL \
                   WHERE channel = 'legacy' AND dead_at IS NOT NULL AND delivered_at IS NULL AND ($1 IS NULL OR id = $1)";
        with_pool!(self, pool => Ok(sqlx::query(sql).bind(id).execute(pool).await?.rows_affected()))
    }
}

/// The digest of what an import wrote of a record (SHA-256 of its JSON), kept on its link: a
/// record whose state here still has it was not changed here since, so a later import may update
/// it; one that differs was changed here and is kept.
pub fn digest<T: serde::Serialize>(value: &T) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect()
}

/// What the import keeps of a customer, digested.
fn customer_digest(data: &crate::domain::NewCustomer, approximate: bool) -> String {
    digest(&(data, approximate))
}

/// An order the import writes: its fields, the imported record, the order here it updates (id
/// and status) if any, and its digest.
type OrderWrite<'a> = (crate::domain::NewOrder, &'a crate::sync::import::ImportedOrder, Option<(i64, crate::domain::OrderStatus)>, String);

/// What the import keeps of an order, digested.
fn order_digest(data: &crate::domain::NewOrder, status: crate::domain::OrderStatus) -> String {
    digest(&(data, status))
}

/// Marks applied the legacy outbox rows of `entities` queued after row `after` (the rows the
/// import's own writes queued: what came from the old side is not written back to it).
macro_rules! skip_own_changes {
    ($tx:expr, $after:expr, $entities:expr, $now:expr) => {{
        for chunk in $entities.chunks(500) {
            let sql = format!(
                "UPDATE outbox SET delivered_at = $1, last_error = 'imported from the legacy system' \
                 WHERE channel = 'legacy' AND delivered_at IS NULL AND id > $2 AND entity IN ({})",
                super::jobs::placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind($now).bind($after);
            for e in chunk {
                q = q.bind(e);
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}

impl Store {
    /// Records the start of an import; returns its id.
    pub async fn begin_legacy_import(&self, source: &str) -> Result<i64, StoreError> {
        let now = Utc::now();
        with_pool!(self, pool => Ok(sqlx::query_scalar("INSERT INTO legacy_imports (source, started_at) VALUES ($1, $2) RETURNING id").bind(source).bind(now).fetch_one(pool).await?))
    }

    /// Records the end of import `id` with its report.
    pub async fn finish_legacy_import(&self, id: i64, report: &str) -> Result<(), StoreError> {
        let now = Utc::now();
        with_pool!(self, pool => sqlx::query("UPDATE legacy_imports SET finished_at = $1, report = $2 WHERE id = $3").bind(now).bind(report).bind(id).execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// Imports (or with `apply` false, compares) a batch of customers in one transaction:
    /// inserted and linked when new, updated when linked and unchanged here since the last
    /// import, kept when changed here. Merged duplicates are linked to their survivor.
    pub async fn import_customers(&self, batch: &[crate::sync::import::ImportedCustomer], apply: bool) -> Result<crate::sync::import::Counts, StoreError> {
        use crate::sync::import::Counts;
        let now = Utc::now();
        let codes: Vec<String> = batch.iter().map(|c| c.code.clone()).collect();
        let existing: std::collections::HashMap<String, crate::domain::Customer> =
            self.customers_by_codes(&codes).await?.into_iter().map(|c| (c.data.code.clone(), c)).collect();
        let mut digests: std::collections::HashMap<String, Option<String>> = std::collections::HashMap::new();
        with_pool!(self, pool => {
            for chunk in codes.chunks(500) {
                let sql = format!("SELECT legacy_no, digest FROM legacy_links WHERE entity = 'customer' AND legacy_no IN ({})", super::jobs::placeholders(1, chunk.len()));
                let mut q = sqlx::query_as::<_, (String, Option<String>)>(&sql);
                for c in chunk {
                    q = q.bind(c);
                }
                digests.extend(q.fetch_all(pool).await?);
            }
        });
        let mut counts = Counts::default();
        let (insert, update) = (CUSTOMER_INSERT, CUSTOMER_UPDATE);
        let link = "INSERT INTO legacy_links (entity, legacy_no, id, merged_into, digest, base, linked_at) VALUES ('customer', $1, $2, $3, $4, $5, $6) \
                    ON CONFLICT (entity, legacy_no) DO UPDATE SET id = excluded.id, merged_into = excluded.merged_into, \
                    digest = COALESCE(excluded.digest, legacy_links.digest), base = COALESCE(excluded.base, legacy_links.base)";
        let mut writes: Vec<(&crate::sync::import::ImportedCustomer, Option<i64>, String)> = Vec::new();
        for c in batch {
            let incoming = customer_digest(&c.data, c.approximate);
            match existing.get(&c.code) {
                None => {
                    counts.new += 1;
                    writes.push((c, None, incoming));
                }
                Some(here) => {
                    let now_here = customer_digest(&here.data, here.position_approximate);
                    let imported = digests.get(&c.code).cloned().flatten();
                    if now_here == incoming {
                        counts.unchanged += 1;
                        if imported.as_deref() != Some(incoming.as_str()) {
                            // Equal, but not linked yet (a customer made here with the old number).
                            writes.push((c, Some(here.id), incoming));
                        }
                    } else if imported.as_deref() == Some(now_here.as_str()) {
                        counts.updated += 1;
                        writes.push((c, Some(here.id), incoming));
                    } else {
                        counts.kept += 1;
                    }
                }
            }
        }
        if !apply || writes.is_empty() {
            return Ok(counts);
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let after: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM outbox").fetch_one(&mut *tx).await?;
            let mut entities = Vec::with_capacity(writes.len());
            for (c, id, digest) in &writes {
                let d = &c.data;
                let j = super::customers::JsonColumns::of(d)?;
                let id = match id {
                    Some(id) => {
                        sqlx::query(update)
                            .bind(&d.name).bind(&d.phone).bind(&d.address).bind(&d.district).bind(d.lat).bind(d.lon)
                            .bind(&j.time_windows).bind(&j.usual_cylinders).bind(&j.access_restrictions).bind(d.payment_method.as_str())
                            .bind(c.approximate).bind(now).bind(*id)
                            .execute(&mut *tx).await?;
                        *id
                    }
                    None => sqlx::query_scalar::<_, i64>(insert)
                        .bind(&d.code).bind(&d.name).bind(&d.phone).bind(&d.address).bind(&d.district).bind(d.lat).bind(d.lon)
                        .bind(&j.time_windows).bind(&j.usual_cylinders).bind(&j.access_restrictions).bind(d.payment_method.as_str())
                        .bind(c.approximate).bind(now)
                        .fetch_one(&mut *tx).await.map_err(super::unique("code"))?,
                };
                sqlx::query(link).bind(&c.code).bind(id).bind(None::<String>).bind(digest).bind(&c.base).bind(now).execute(&mut *tx).await?;
                for m in &c.merged {
                    sqlx::query(link).bind(m).bind(id).bind(&c.code).bind(None::<String>).bind(None::<String>).bind(now).execute(&mut *tx).await?;
                }
                entities.push(format!("customer:{id}"));
            }
            skip_own_changes!(tx, after, entities, now);
            tx.commit().await?;
        });
        Ok(counts)
    }

    /// Imports (or compares) a batch of orders in one transaction, like
    /// [`Store::import_customers`]; `customers` maps customer numbers to ids. Returns the
    /// orders' counts and the delivery records linked.
    pub async fn import_orders(
        &self,
        batch: &[crate::sync::import::ImportedOrder],
        customers: &std::collections::HashMap<String, i64>,
        apply: bool,
    ) -> Result<(crate::sync::import::Counts, crate::sync::import::Counts), StoreError> {
        use crate::sync::import::Counts;
        let now = Utc::now();
        let numbers: Vec<String> = batch.iter().map(|o| o.number.clone()).collect();
        let mut links: std::collections::HashMap<String, (i64, Option<String>)> = std::collections::HashMap::new();
        with_pool!(self, pool => {
            for chunk in numbers.chunks(500) {
                let sql = format!("SELECT legacy_no, id, digest FROM legacy_links WHERE entity = 'order' AND legacy_no IN ({})", super::jobs::placeholders(1, chunk.len()));
                let mut q = sqlx::query_as::<_, (String, i64, Option<String>)>(&sql);
                for n in chunk {
                    q = q.bind(n);
                }
                links.extend(q.fetch_all(pool).await?.into_iter().map(|(no, id, d)| (no, (id, d))));
            }
        });
        let ids: Vec<i64> = links.values().map(|(id, _)| *id).collect();
        let existing: std::collections::HashMap<i64, crate::domain::Order> = self.orders_by_ids(&ids).await?.into_iter().map(|o| (o.id, o)).collect();
        let (mut counts, mut deliveries) = (Counts::default(), Counts::default());
        let mut writes: Vec<OrderWrite<'_>> = Vec::new();
        for o in batch {
            let Some(customer_id) = customers.get(&o.customer).copied() else { continue };
            let data = crate::domain::NewOrder { customer_id, ..o.data.clone() };
            let incoming = order_digest(&data, o.status);
            match links.get(&o.number).and_then(|(id, d)| existing.get(id).map(|here| (here, d))) {
                None => {
                    counts.new += 1;
                    deliveries.new += o.deliveries.len();
                    writes.push((data, o, None, incoming));
                }
                Some((here, imported)) => {
                    let now_here = order_digest(&here.data, here.status);
                    if now_here == incoming {
                        counts.unchanged += 1;
                        deliveries.unchanged += o.deliveries.len();
                    } else if imported.as_deref() == Some(now_here.as_str()) {
                        counts.updated += 1;
                        deliveries.updated += o.deliveries.len();
                        writes.push((data, o, Some((here.id, here.status)), incoming));
                    } else {
                        counts.kept += 1;
                        deliveries.kept += o.deliveries.len();
                    }
                }
            }
        }
        if !apply || writes.is_empty() {
            return Ok((counts, deliveries));
        }
        let insert = ORDER_INSERT;
        let update = "UPDATE orders SET customer_id = $1, delivery_date = $2, cylinders = $3, preference = $4, priority = $5, status = $6, note = $7, \
                      updated_at = $8 WHERE id = $9";
        let event = ORDER_EVENT;
        let link = "INSERT INTO legacy_links (entity, legacy_no, id, merged_into, digest, base, linked_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                    ON CONFLICT (entity, legacy_no) DO UPDATE SET id = excluded.id, merged_into = excluded.merged_into, digest = excluded.digest, \
                    base = COALESCE(excluded.base, legacy_links.base)";
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let after: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM outbox").fetch_one(&mut *tx).await?;
            let mut entities = Vec::with_capacity(writes.len());
            for (data, o, here, digest) in &writes {
                let cylinders = serde_json::to_string(&data.cylinders).map_err(|source| StoreError::Corrupt { column: "cylinders", source })?;
                let preference = data.preference.map(crate::domain::TimePreference::as_str);
                let note = format!("ORD_NO {}", o.number);
                let at = o.status_at.unwrap_or(now);
                let id = match here {
                    Some((id, from)) => {
                        sqlx::query(update)
                            .bind(data.customer_id).bind(data.delivery_date).bind(&cylinders).bind(preference).bind(data.priority.as_str())
                            .bind(o.status.as_str()).bind(&data.note).bind(now).bind(*id)
                            .execute(&mut *tx).await?;
                        if *from != o.status {
                            sqlx::query(event).bind(*id).bind(Some(from.as_str())).bind(o.status.as_str()).bind("legacy-import").bind(&note).bind(at).execute(&mut *tx).await?;
                        }
                        *id
                    }
                    None => {
                        let id: i64 = sqlx::query_scalar(insert)
                            .bind(data.customer_id).bind(data.delivery_date).bind(&cylinders).bind(preference).bind(data.priority.as_str())
                            .bind(o.status.as_str()).bind(&data.note).bind(now)
                            .fetch_one(&mut *tx).await?;
                        sqlx::query(event).bind(id).bind(None::<&str>).bind(o.status.as_str()).bind("legacy-import").bind(&note).bind(at).execute(&mut *tx).await?;
                        id
                    }
                };
                sqlx::query(link).bind("order").bind(&o.number).bind(id).bind(None::<String>).bind(digest).bind(&o.base).bind(now).execute(&mut *tx).await?;
                // The latest delivery record is the order's; earlier attempts point to it.
                if let Some((latest, earlier)) = o.deliveries.split_last() {
                    for e in earlier {
                        sqlx::query(link).bind("delivery").bind(e).bind(id).bind(Some(latest)).bind(None::<String>).bind(None::<String>).bind(now).execute(&mut *tx).await?;
                    }
                    sqlx::query(link).bind("delivery").bind(latest).bind(id).bind(None::<String>).bind(None::<String>).bind(None::<String>).bind(now).execute(&mut *tx).await?;
                }
                entities.push(format!("order:{id}"));
            }
            skip_own_changes!(tx, after, entities, now);
            tx.commit().await?;
        });
        Ok((counts, deliveries))
    }
}

/// Inserts an outbox row for `entity` (`customer:12`) on the legacy channel, as the triggers do,
/// while the legacy sync is on: the worker writes the entity to the old side again.
macro_rules! enqueue_legacy {
    ($conn:expr, $entity:expr, $now:expr) => {{
        let entity: &str = $entity;
        let (kind, id) = entity.split_once(':').unwrap_or((entity, "0"));
        let destination = format!("{kind}/{id}/{}", uuid::Uuid::new_v4().simple());
        let body = serde_json::json!({ "entity": kind, "id": id.parse::<i64>().unwrap_or(0), "op": "update" }).to_string().into_bytes();
        sqlx::query(
            "INSERT INTO outbox (channel, destination, body, created_at, entity) SELECT 'legacy', $1, $2, $3, $4 \
             WHERE (SELECT enabled FROM legacy_sync WHERE id = 1)",
        )
        .bind(destination)
        .bind(body)
        .bind($now)
        .bind(entity)
        .execute($conn)
        .await?;
    }};
}

impl Store {
    /// How far the pick-up has read each old table.
    pub async fn pickup_marks(&self) -> Result<std::collections::HashMap<String, Mark>, StoreError> {
        let rows: Vec<(String, String, String, String)> =
            with_pool!(self, pool => sqlx::query_as("SELECT tbl, upd_dt, upd_tm, rec_no FROM legacy_pickup").fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(table, date, time, key)| (table.clone(), Mark { table, date, time, key })).collect())
    }

    /// Moves the pick-up's mark of a table (forward only); with `only_if_absent`, sets it only
    /// for a table without one (the import: later changes are picked up from there).
    pub async fn set_pickup_mark(&self, mark: &Mark, only_if_absent: bool) -> Result<(), StoreError> {
        let now = Utc::now();
        let sql = if only_if_absent {
            "INSERT INTO legacy_pickup (tbl, upd_dt, upd_tm, rec_no, changed_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tbl) DO NOTHING"
        } else {
            "INSERT INTO legacy_pickup (tbl, upd_dt, upd_tm, rec_no, changed_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tbl) DO UPDATE SET upd_dt = excluded.upd_dt, upd_tm = excluded.upd_tm, rec_no = excluded.rec_no, changed_at = excluded.changed_at"
        };
        with_pool!(self, pool => sqlx::query(sql).bind(&mark.table).bind(&mark.date).bind(&mark.time).bind(&mark.key).bind(now).execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// The link of legacy number `legacy_no` of kind `entity`.
    pub async fn legacy_link(&self, entity: &str, legacy_no: &str) -> Result<Option<LinkRow>, StoreError> {
        let row: Option<(i64, Option<String>, Option<String>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, merged_into, base FROM legacy_links WHERE entity = $1 AND legacy_no = $2").bind(entity).bind(legacy_no).fetch_optional(pool).await?);
        Ok(row.map(|(id, merged_into, base)| LinkRow { id, merged_into, base }))
    }

    /// Queues the entity (`customer:12`) for the old side again (a reconciliation's repair).
    pub async fn requeue_legacy(&self, entities: &[String]) -> Result<(), StoreError> {
        let now = Utc::now();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for e in entities {
                enqueue_legacy!(&mut *tx, e, now);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Applies what the pick-up decided for one old record in one transaction: the entity
    /// inserted or updated, the order's status moved (with its history, and its invoice job when
    /// delivered), the link and its new base, the conflicts logged, and the entity queued for the
    /// old side again when the merge kept some of the service's values. Returns the entity's id;
    /// `None` when an order to update is no longer received and free (a planner took it meanwhile).
    pub async fn apply_pickup(&self, w: &PickupWrite<'_>, changed_by: &str) -> Result<Option<i64>, StoreError> {
        let now = Utc::now();
        let note = format!("{} {} changed in the old program by {} at {}", w.entity, w.legacy_no, w.legacy_user, w.legacy_stamp);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut id = w.id;
            if let Some((d, approximate)) = w.customer {
                let j = super::customers::JsonColumns::of(d)?;
                id = Some(match id {
                    Some(id) => {
                        sqlx::query(CUSTOMER_UPDATE)
                            .bind(&d.name).bind(&d.phone).bind(&d.address).bind(&d.district).bind(d.lat).bind(d.lon)
                            .bind(&j.time_windows).bind(&j.usual_cylinders).bind(&j.access_restrictions).bind(d.payment_method.as_str())
                            .bind(approximate).bind(now).bind(id)
                            .execute(&mut *tx).await?;
                        id
                    }
                    None => sqlx::query_scalar::<_, i64>(CUSTOMER_INSERT)
                        .bind(&d.code).bind(&d.name).bind(&d.phone).bind(&d.address).bind(&d.district).bind(d.lat).bind(d.lon)
                        .bind(&j.time_windows).bind(&j.usual_cylinders).bind(&j.access_restrictions).bind(d.payment_method.as_str())
                        .bind(approximate).bind(now)
                        .fetch_one(&mut *tx).await.map_err(super::unique("code"))?,
                });
            }
            if let Some(d) = w.order {
                let cylinders = serde_json::to_string(&d.cylinders).map_err(|source| StoreError::Corrupt { column: "cylinders", source })?;
                let preference = d.preference.map(crate::domain::TimePreference::as_str);
                match id {
                    Some(order_id) => {
                        let done = sqlx::query(
                            "UPDATE orders SET customer_id = $1, delivery_date = $2, cylinders = $3, time_window_start = $4, time_window_end = $5, \
                             preference = $6, priority = $7, note = $8, updated_at = $9 WHERE id = $10 AND status = 'received' AND plan_id IS NULL")
                            .bind(d.customer_id).bind(d.delivery_date).bind(&cylinders)
                            .bind(d.time_window.as_ref().map(|w| w.start.clone())).bind(d.time_window.as_ref().map(|w| w.end.clone()))
                            .bind(preference).bind(d.priority.as_str()).bind(&d.note)
                            .bind(now).bind(order_id)
                            .execute(&mut *tx).await?;
                        if done.rows_affected() == 0 {
                            return Ok(None);
                        }
                    }
                    None => {
                        let status = w.status.map_or(crate::domain::OrderStatus::Received, |(_, to)| to);
                        let order_id: i64 = sqlx::query_scalar(ORDER_INSERT)
                            .bind(d.customer_id).bind(d.delivery_date).bind(&cylinders).bind(preference).bind(d.priority.as_str())
                            .bind(status.as_str()).bind(&d.note).bind(now)
                            .fetch_one(&mut *tx).await?;
                        sqlx::query(ORDER_EVENT).bind(order_id).bind(None::<&str>).bind(status.as_str()).bind(changed_by).bind(&note).bind(now)
                            .execute(&mut *tx).await?;
                        if status == crate::domain::OrderStatus::Delivered {
                            // Delivered as the old program took it: billed as any delivery is.
                            super::jobs::enqueue_delivery_invoice!(&mut *tx, order_id, now);
                        }
                        id = Some(order_id);
                    }
                }
            }
            if let (Some(order_id), Some((Some(from), to)), true) = (id, w.status, w.id.is_some()) {
                let done = sqlx::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
                    .bind(to.as_str()).bind(now).bind(order_id).bind(from.as_str()).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                sqlx::query(ORDER_EVENT).bind(order_id).bind(Some(from.as_str())).bind(to.as_str()).bind(changed_by).bind(&note).bind(now)
                    .execute(&mut *tx).await?;
                if to == crate::domain::OrderStatus::Delivered {
                    super::jobs::enqueue_delivery_invoice!(&mut *tx, order_id, now);
                }
            }
            let Some(id) = id else { return Ok(None) };
            if w.entity == "delivery" {
                // The order's latest delivery record is this one; earlier ones point to it.
                sqlx::query("UPDATE legacy_links SET merged_into = $1 WHERE entity = 'delivery' AND id = $2 AND merged_into IS NULL AND legacy_no <> $1")
                    .bind(w.legacy_no).bind(id).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO legacy_links (entity, legacy_no, id, merged_into, base, linked_at) VALUES ($1, $2, $3, NULL, $4, $5) \
                         ON CONFLICT (entity, legacy_no) DO UPDATE SET id = excluded.id, base = COALESCE(excluded.base, legacy_links.base)")
                .bind(w.entity).bind(w.legacy_no).bind(id).bind(&w.base).bind(now).execute(&mut *tx).await?;
            for c in w.conflicts {
                sqlx::query("INSERT INTO legacy_conflicts (at, entity, legacy_no, entity_id, field, base_value, legacy_value, new_value, winner, rule, legacy_user, legacy_stamp) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                    .bind(now).bind(w.entity).bind(w.legacy_no).bind(id).bind(&c.field).bind(&c.base).bind(&c.legacy).bind(&c.new)
                    .bind(c.winner.as_str()).bind(&c.rule).bind(w.legacy_user).bind(w.legacy_stamp)
                    .execute(&mut *tx).await?;
            }
            let entity = format!("{}:{id}", if w.entity == "delivery" { "order" } else { w.entity });
            // The writes that waited for this merge are due now.
            sqlx::query("UPDATE outbox SET lease_expires_ms = NULL WHERE channel = 'legacy' AND entity = $1 AND delivered_at IS NULL AND dead_at IS NULL AND attempts = 0")
                .bind(&entity).execute(&mut *tx).await?;
            if w.write_back {
                enqueue_legacy!(&mut *tx, &entity, now);
            }
            tx.commit().await?;
            Ok(Some(id))
        })
    }

    /// The logged conflicts, newest first, optionally of one legacy record (at most `limit`).
    pub async fn legacy_conflicts(&self, legacy_no: Option<&str>, limit: i64) -> Result<Vec<ConflictEntry>, StoreError> {
        Ok(self.legacy_conflicts_page(legacy_no, super::PageRequest::offset(limit, 0)).await?.items)
    }

    /// A page of the logged conflicts, newest first, optionally of one legacy record.
    pub async fn legacy_conflicts_page(&self, legacy_no: Option<&str>, page: super::PageRequest) -> Result<super::Page<ConflictEntry>, StoreError> {
        use super::page::{fetch_page, Bound, Conditions, IdOrder};
        let mut conditions = Conditions::default();
        if let Some(no) = legacy_no {
            conditions.eq("legacy_no", Bound::Text(no.into()));
        }
        let columns = "id, at, entity, legacy_no, entity_id, field, base_value, legacy_value, new_value, winner, rule, legacy_user, legacy_stamp";
        let query = page.query(columns, "legacy_conflicts", conditions, IdOrder::Descending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| {
            Ok::<_, sqlx::Error>(ConflictEntry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                entity: r.try_get("entity")?,
                legacy_no: r.try_get("legacy_no")?,
                entity_id: r.try_get("entity_id")?,
                field: r.try_get("field")?,
                base_value: r.try_get("base_value")?,
                legacy_value: r.try_get("legacy_value")?,
                new_value: r.try_get("new_value")?,
                winner: r.try_get("winner")?,
                rule: r.try_get("rule")?,
                legacy_user: r.try_get("legacy_user")?,
                legacy_stamp: r.try_get("legacy_stamp")?,
            })
        }));
        Ok(query.page(items, total, |c| c.id))
    }

    /// Records a reconciliation and its report (JSON).
    pub async fn record_reconciliation(
        &self,
        started_at: DateTime<Utc>,
        scope: &str,
        drift: i64,
        repaired: i64,
        direction: Option<&str>,
        report: &str,
    ) -> Result<i64, StoreError> {
        let now = Utc::now();
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "INSERT INTO legacy_reconciliations (started_at, finished_at, scope, drift, repaired, direction, report) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
            .bind(started_at).bind(now).bind(scope).bind(drift).bind(repaired).bind(direction).bind(report).fetch_one(pool).await?))
    }

    /// Links of kind `entity` with their base, by legacy number.
    pub async fn legacy_link_bases(&self, entity: &str) -> Result<Vec<(String, i64, Option<String>, Option<String>)>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as("SELECT legacy_no, id, merged_into, base FROM legacy_links WHERE entity = $1 ORDER BY legacy_no")
            .bind(entity).fetch_all(pool).await?))
    }
}
