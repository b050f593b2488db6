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
}

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

    /// Records a batch's outcome in one transaction: `links` made, `applied` rows delivered,
    /// `skipped` rows closed unwritten with their note (a module whose old side is off),
    /// `failed` rows charged an attempt (retried at `retry_at_ms(attempts)`, or dead letters
    /// from `max_attempts` on).
    pub async fn finish_legacy(
        &self,
        links: &[Link],
        applied: &[i64],
        skipped: &[(i64, String)],
        failed: &[(i64, String)],
        max_attempts: i64,
        retry_at_ms: impl Fn(i64) -> i64,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for l in links {
                sqlx::query("INSERT INTO legacy_links (entity, legacy_no, id, merged_into, linked_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (entity, legacy_no) DO NOTHING")
                    .bind(l.entity).bind(&l.legacy_no).bind(l.id).bind(&l.merged_into).bind(now).execute(&mut *tx).await?;
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
            Ok(SyncDepth { pending, oldest_s: oldest.map_or(0, |t| (now - t).num_seconds().max(0)), dead, applied })
        })
    }

    /// The dead letters, oldest first.
    pub async fn legacy_dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>, StoreError> {
        let sql = "SELECT id, entity, destination, attempts, last_error, created_at, dead_at FROM outbox \
                   WHERE channel = 'legacy' AND dead_at IS NOT NULL AND delivered_at IS NULL ORDER BY id LIMIT $1";
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(limit).fetch_all(pool).await?;
            rows.iter()
                .map(|r| Ok(DeadLetter {
                    id: r.try_get("id")?,
                    entity: r.try_get::<Option<String>, _>("entity")?.unwrap_or_default(),
                    key: r.try_get("destination")?,
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                    created_at: r.try_get("created_at")?,
                    dead_at: r.try_get("dead_at")?,
                }))
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(StoreError::from)
        })
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
        let insert = "INSERT INTO customers (code, name, phone, address, district, lat, lon, time_windows, usual_cylinders, access_restrictions, \
                      payment_method, position_approximate, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id";
        let update = "UPDATE customers SET name = $1, phone = $2, address = $3, district = $4, lat = $5, lon = $6, time_windows = $7, usual_cylinders = $8, \
                      access_restrictions = $9, payment_method = $10, position_approximate = $11, updated_at = $12 WHERE id = $13";
        let link = "INSERT INTO legacy_links (entity, legacy_no, id, merged_into, digest, linked_at) VALUES ('customer', $1, $2, $3, $4, $5) \
                    ON CONFLICT (entity, legacy_no) DO UPDATE SET id = excluded.id, merged_into = excluded.merged_into, digest = COALESCE(excluded.digest, legacy_links.digest)";
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
                sqlx::query(link).bind(&c.code).bind(id).bind(None::<String>).bind(digest).bind(now).execute(&mut *tx).await?;
                for m in &c.merged {
                    sqlx::query(link).bind(m).bind(id).bind(&c.code).bind(None::<String>).bind(now).execute(&mut *tx).await?;
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
        let insert = "INSERT INTO orders (customer_id, delivery_date, cylinders, time_window_start, time_window_end, preference, priority, status, note, \
                      plan_id, created_at, updated_at) VALUES ($1, $2, $3, NULL, NULL, $4, $5, $6, $7, NULL, $8, $8) RETURNING id";
        let update = "UPDATE orders SET customer_id = $1, delivery_date = $2, cylinders = $3, preference = $4, priority = $5, status = $6, note = $7, \
                      updated_at = $8 WHERE id = $9";
        let event =
            "INSERT INTO order_events (order_id, from_status, to_status, changed_by, note, plan_id, at) VALUES ($1, $2, $3, 'legacy-import', $4, NULL, $5)";
        let link = "INSERT INTO legacy_links (entity, legacy_no, id, merged_into, digest, linked_at) VALUES ($1, $2, $3, $4, $5, $6) \
                    ON CONFLICT (entity, legacy_no) DO UPDATE SET id = excluded.id, merged_into = excluded.merged_into, digest = excluded.digest";
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
                            sqlx::query(event).bind(*id).bind(Some(from.as_str())).bind(o.status.as_str()).bind(&note).bind(at).execute(&mut *tx).await?;
                        }
                        *id
                    }
                    None => {
                        let id: i64 = sqlx::query_scalar(insert)
                            .bind(data.customer_id).bind(data.delivery_date).bind(&cylinders).bind(preference).bind(data.priority.as_str())
                            .bind(o.status.as_str()).bind(&data.note).bind(now)
                            .fetch_one(&mut *tx).await?;
                        sqlx::query(event).bind(id).bind(None::<&str>).bind(o.status.as_str()).bind(&note).bind(at).execute(&mut *tx).await?;
                        id
                    }
                };
                sqlx::query(link).bind("order").bind(&o.number).bind(id).bind(None::<String>).bind(digest).bind(now).execute(&mut *tx).await?;
                // The latest delivery record is the order's; earlier attempts point to it.
                if let Some((latest, earlier)) = o.deliveries.split_last() {
                    for e in earlier {
                        sqlx::query(link).bind("delivery").bind(e).bind(id).bind(Some(latest)).bind(None::<String>).bind(now).execute(&mut *tx).await?;
                    }
                    sqlx::query(link).bind("delivery").bind(latest).bind(id).bind(None::<String>).bind(None::<String>).bind(now).execute(&mut *tx).await?;
                }
                entities.push(format!("order:{id}"));
            }
            skip_own_changes!(tx, after, entities, now);
            tx.commit().await?;
        });
        Ok((counts, deliveries))
    }
}
