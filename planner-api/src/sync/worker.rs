//! The sync worker: applies the queued changes (outbox channel `legacy`) to the old database.
//!
//! It runs as the recurring job `legacy.sync` on the shared runner, so one process at a time
//! applies changes (the job's lease), and each run applies batches for a short while and
//! yields. A batch:
//! 1. reads up to [`BATCH`] due changes in outbox order, skipping entities with an earlier change
//!    backing off or dead (order per entity);
//! 2. asks the legacy side which of their idempotency keys (`SYNC_KEY`) it applied already — a
//!    change applied before a crash is not applied again, and its link is recovered from it;
//! 3. reads each entity as it is now and writes it in the old tables in one legacy transaction,
//!    each entity under its own savepoint, only where the old record differs (so a change that
//!    came from the old side is not written back: no echo), with its keys in `SYNC_KEY`;
//! 4. records the outcome here: links, applied rows, and failed rows charged an attempt with
//!    exponential backoff; after [`MAX_ATTEMPTS`] a change is a dead letter, which an operator
//!    lists and replays (`luckygas legacy dead-letters`, `… replay`, `/v1/sync/dead-letters`).
//!
//! An unreachable legacy database charges no change an attempt: the circuit breaker opens after
//! [`BREAKER_THRESHOLD`] failures in a row and lets one probe through per cool-down (doubling up
//! to [`BREAKER_MAX_COOLDOWN`]), while writes here go on and the queue grows.

use super::legacy_db::{bind_values, upsert_if_sql, upsert_sql, values, with_legacy, LegacyDb, LegacyDbError};
use super::merge;
use super::project::{self, DeliveryFacts, ProjectError};
use crate::domain::OrderStatus;
use crate::jobs::Outcome;
use crate::store::legacy::{Link, Mark, Outcomes, PendingChange};
use crate::store::{Store, StoreError};
use chrono::{NaiveDate, Utc};
use legacy::export::Record;
use legacy::schema::{CUST_MST, DLV_REC, ORD_DTL, ORD_HDR, SYNC_USER};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The job kind.
pub const KIND: &str = "legacy.sync";
/// Changes read per batch.
pub const BATCH: i64 = 500;
/// A change failing this often becomes a dead letter.
pub const MAX_ATTEMPTS: i64 = 8;
/// Unreachable-database failures in a row that open the breaker.
pub const BREAKER_THRESHOLD: u32 = 3;
/// The longest cool-down of the open breaker.
pub const BREAKER_MAX_COOLDOWN: Duration = Duration::from_secs(30);
/// How long a change waits when its old record has a change of the old program's not yet
/// picked up.
const DEFER_MS: i64 = 500;
/// How often the pick-up looks for changes made in the old program.
const PICKUP_POLL: Duration = Duration::from_secs(1);
/// How long one run of the job applies batches before it yields the runner's worker.
const RUN_FOR: Duration = Duration::from_secs(2);

/// The circuit breaker of the legacy database.
#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

impl Breaker {
    fn cooldown(&self) -> Duration {
        let n = self.failures.saturating_sub(BREAKER_THRESHOLD).min(5);
        (Duration::from_secs(1) * 2u32.pow(n)).min(BREAKER_MAX_COOLDOWN)
    }
}

/// The worker's state in this process: the legacy pool, the breaker, counters for metrics.
#[derive(Debug)]
pub struct Sync {
    /// The legacy database.
    pub legacy: LegacyDb,
    breaker: Mutex<Breaker>,
    applied: AtomicU64,
    picked: AtomicU64,
    prepared: std::sync::atomic::AtomicBool,
    /// How long the runner waits between runs when the queue is empty.
    pub poll: Duration,
    /// The feature flags the cut-over reads (`legacy.customers`, `legacy.orders`,
    /// `legacy.deliveries`): a module at `legacy_off` is no longer written to the old side (its
    /// changes are marked applied with a note). Until attached, the built-in defaults.
    flags: std::sync::OnceLock<crate::flags::FlagSet>,
    /// The built-in defaults, answered until `flags` is attached (built once, not per entity).
    default_flags: crate::flags::FlagSet,
    /// The first retry's delay after a failed attempt (doubling with each attempt, at most five
    /// minutes).
    pub backoff: Duration,
}

/// What one batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Changes read.
    pub read: usize,
    /// Changes applied (or found applied before).
    pub applied: usize,
    /// Changes charged a failed attempt.
    pub failed: usize,
    /// Entities written in the old tables (the others were equal there already).
    pub written: usize,
    /// Changes not written because their module's cut-over flag is at `legacy_off`.
    pub skipped: usize,
    /// Changes held back until the pick-up has merged a change made in the old program to the
    /// same record (no attempt charged).
    pub deferred: usize,
}

impl BatchReport {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: BatchReport) {
        self.read += other.read;
        self.applied += other.applied;
        self.failed += other.failed;
        self.written += other.written;
        self.skipped += other.skipped;
        self.deferred += other.deferred;
    }
}

impl Sync {
    /// The worker for `legacy`.
    pub fn new(legacy: LegacyDb) -> Sync {
        Sync {
            legacy,
            breaker: Mutex::new(Breaker::default()),
            applied: AtomicU64::new(0),
            picked: AtomicU64::new(0),
            prepared: std::sync::atomic::AtomicBool::new(false),
            poll: Duration::from_millis(200),
            backoff: Duration::from_secs(1),
            flags: std::sync::OnceLock::new(),
            default_flags: crate::flags::FlagSet::default(),
        }
    }

    /// Reads the cut-over stages from `flags` (the service's [`crate::flags::FlagSet`]).
    pub fn attach_flags(&self, flags: crate::flags::FlagSet) {
        let _ = self.flags.set(flags);
    }

    /// Whether module flag `key` still writes the old side for `customer` now.
    pub(crate) fn writes_legacy(&self, key: &str, customer: i64) -> bool {
        let ctx = flags::Context { customer: Some(customer), ..flags::Context::at(Utc::now()) };
        self.flags.get().unwrap_or(&self.default_flags).stage(key, &ctx).writes_legacy()
    }

    /// Whether the service is the system of record of module flag `key` for `customer` now
    /// (`new_primary` or later): it wins the module's conflicts.
    pub fn reads_new(&self, key: &str, customer: Option<i64>) -> bool {
        let ctx = flags::Context { customer, ..flags::Context::at(Utc::now()) };
        self.flags.get().unwrap_or(&self.default_flags).stage(key, &ctx).reads_new()
    }

    /// Prepares the legacy database once: our `SYNC_KEY` table (and the old tables when the
    /// database is empty, as a new embedded installation's is).
    pub async fn prepare_legacy(&self) -> Result<(), LegacyDbError> {
        if self.prepared.load(Ordering::Acquire) {
            return Ok(());
        }
        if self.legacy.ensure_schema().await? {
            tracing::info!("created the old tables in the empty legacy database");
        }
        self.prepared.store(true, Ordering::Release);
        Ok(())
    }

    /// Changes applied by this process.
    pub fn applied_total(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Whether the breaker is open now.
    pub fn breaker_open(&self) -> bool {
        self.breaker.lock().map(|b| b.open_until.is_some_and(|t| t > Instant::now())).unwrap_or(false)
    }

    /// One run of the `legacy.sync` job: batches for up to [`RUN_FOR`], then run again after
    /// the poll interval (at once while there is more), or after the breaker's cool-down.
    pub async fn run(&self, store: &Store) -> Outcome {
        let started = Instant::now();
        loop {
            if let Some(wait) = self.breaker_wait() {
                return Outcome::Every(wait);
            }
            match self.batch(store).await {
                Ok(report) => {
                    self.breaker_closed();
                    if report.read == 0 || report.applied + report.skipped == 0 {
                        return Outcome::Every(self.poll);
                    }
                    if started.elapsed() >= RUN_FOR {
                        return Outcome::Every(Duration::ZERO);
                    }
                }
                Err(SyncError::Legacy(e)) if e.is_unreachable() => {
                    let wait = self.breaker_failed();
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "legacy database unreachable; changes wait in the outbox");
                    return Outcome::Every(wait);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "legacy sync batch failed");
                    return Outcome::Every(Duration::from_secs(1));
                }
            }
        }
    }

    /// One run of the `legacy.pickup` job: rounds for up to [`RUN_FOR`] while there is more,
    /// then again after a second (the old program's clerks type slowly), or after the breaker's
    /// cool-down.
    pub async fn run_pickup(&self, store: &Store) -> Outcome {
        let started = Instant::now();
        loop {
            if let Some(wait) = self.breaker_wait() {
                return Outcome::Every(wait);
            }
            match self.pickup(store).await {
                Ok(report) => {
                    if report.read > 0 {
                        tracing::info!(
                            read = report.read,
                            created = report.created,
                            updated = report.updated,
                            conflicts = report.conflicts,
                            rejected = report.rejected,
                            "picked up changes made in the old program"
                        );
                        self.picked.fetch_add(report.read as u64, Ordering::Relaxed);
                    }
                    if report.read == 0 {
                        return Outcome::Every(PICKUP_POLL);
                    }
                    if started.elapsed() >= RUN_FOR {
                        return Outcome::Every(Duration::ZERO);
                    }
                }
                Err(SyncError::Legacy(e)) if e.is_unreachable() => return Outcome::Every(self.breaker_failed()),
                Err(e) => {
                    tracing::warn!(error = %e, "legacy pick-up failed");
                    return Outcome::Every(Duration::from_secs(5));
                }
            }
        }
    }

    /// Old records picked up by this process.
    pub fn picked_total(&self) -> u64 {
        self.picked.load(Ordering::Relaxed)
    }

    fn breaker_wait(&self) -> Option<Duration> {
        let b = self.breaker.lock().ok()?;
        let until = b.open_until?;
        until.checked_duration_since(Instant::now())
    }

    fn breaker_closed(&self) {
        if let Ok(mut b) = self.breaker.lock() {
            if b.failures >= BREAKER_THRESHOLD {
                tracing::info!("legacy database reachable again; breaker closed");
            }
            *b = Breaker::default();
        }
    }

    /// Counts a failure; returns how long to wait before the next try.
    fn breaker_failed(&self) -> Duration {
        let Ok(mut b) = self.breaker.lock() else { return Duration::from_secs(1) };
        b.failures = b.failures.saturating_add(1);
        if b.failures >= BREAKER_THRESHOLD {
            let wait = b.cooldown();
            b.open_until = Some(Instant::now() + wait);
            wait
        } else {
            Duration::from_millis(200)
        }
    }

    /// Applies one batch.
    pub async fn batch(&self, store: &Store) -> Result<BatchReport, SyncError> {
        self.prepare_legacy().await?;
        let now = Utc::now();
        let pending = store.pending_legacy(BATCH, now).await?;
        if pending.is_empty() {
            return Ok(BatchReport::default());
        }
        let mut report = BatchReport { read: pending.len(), ..BatchReport::default() };
        // The changes of each entity, entities in the order of their first change.
        let mut groups: Vec<(String, Vec<PendingChange>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for change in pending {
            match index.get(&change.entity) {
                Some(i) => groups[*i].1.push(change),
                None => {
                    index.insert(change.entity.clone(), groups.len());
                    groups.push((change.entity.clone(), vec![change]));
                }
            }
        }
        let keys: Vec<String> = groups.iter().flat_map(|(_, cs)| cs.iter().map(|c| c.key.clone())).collect();
        let applied_before = self.applied_keys(&keys).await?;

        let mut plan = Plan::default();
        let mut numbers = Numbers::default();
        // How far the pick-up of changes made in the old program has read: an old record changed
        // there after it waits for the pick-up to merge it before it is written over.
        let marks = store.pickup_marks().await?;
        for (entity, changes) in &groups {
            let ids: Vec<i64> = changes.iter().map(|c| c.id).collect();
            let recovered: Vec<&(String, String)> = changes.iter().filter_map(|c| applied_before.get(&c.key)).collect();
            if recovered.len() == changes.len() {
                // Applied before a crash: only its link may be missing.
                plan.links.extend(recovered.iter().filter_map(|(table, no)| recovered_link(entity, table, no)));
                plan.applied.extend(ids);
                continue;
            }
            match self.prepare(store, entity, &recovered, &mut numbers, &marks, now).await {
                Ok(Some(write)) => plan.writes.push((ids, changes.iter().map(|c| c.key.clone()).collect(), write)),
                Ok(None) => plan.applied.extend(ids),
                Err(Prepare::Deferred(why)) => {
                    tracing::debug!(%entity, %why, "legacy write deferred");
                    plan.deferred.extend(ids);
                }
                Err(Prepare::Off(flag)) => plan.skipped.extend(ids.iter().map(|id| (*id, format!("not written: {flag} is legacy_off")))),
                Err(Prepare::Refused(e)) => plan.failed.extend(ids.iter().map(|id| (*id, format!("{entity}: {e}")))),
                Err(Prepare::Legacy(e)) => return Err(SyncError::Legacy(e)),
                Err(Prepare::Store(e)) => return Err(SyncError::Store(e)),
            }
        }

        let outcome = self.write(&plan.writes, now).await?;
        for ((ids, _, write), result) in plan.writes.iter().zip(outcome) {
            match result {
                WriteResult::Written(changed) => {
                    report.written += usize::from(changed);
                    plan.applied.extend(ids);
                    plan.links.extend(write.links.iter().cloned());
                }
                // Changed in the old program between our read and our write: merged by the
                // pick-up first, then written again.
                WriteResult::Changed => plan.deferred.extend(ids),
                WriteResult::Failed(e) => plan.failed.extend(ids.iter().map(|id| (*id, e.clone()))),
            }
        }
        report.applied = plan.applied.len();
        report.failed = plan.failed.len();
        report.skipped = plan.skipped.len();
        report.deferred = plan.deferred.len();
        let outcomes = Outcomes { links: &plan.links, applied: &plan.applied, skipped: &plan.skipped, failed: &plan.failed, deferred: &plan.deferred };
        store
            .finish_legacy(&outcomes, MAX_ATTEMPTS, |attempts| retry_at_ms(now, self.backoff, attempts), crate::store::plans::epoch_ms(now) + DEFER_MS)
            .await?;
        self.applied.fetch_add(report.applied as u64, Ordering::Relaxed);
        Ok(report)
    }

    /// The keys among `keys` that the legacy side applied, with the table and record each
    /// wrote.
    async fn applied_keys(&self, keys: &[String]) -> Result<HashMap<String, (String, String)>, LegacyDbError> {
        let mut out = HashMap::new();
        for chunk in keys.chunks(500) {
            let filter = format!("SYNC_KEY IN ({})", crate::store::jobs::placeholders(1, chunk.len()));
            let rows = self.legacy.fetch(&legacy::schema::SYNC_KEY, &filter, chunk).await?;
            for r in rows {
                if let [key, table, record, ..] = r.as_slice() {
                    out.insert(key.clone(), (table.clone(), record.clone()));
                }
            }
        }
        Ok(out)
    }

    /// What to write for `entity` as it is now: `None` when there is nothing to write (an
    /// entity gone here and absent there).
    async fn prepare(
        &self,
        store: &Store,
        entity: &str,
        recovered: &[&(String, String)],
        numbers: &mut Numbers,
        marks: &HashMap<String, Mark>,
        now: chrono::DateTime<Utc>,
    ) -> Result<Option<Write>, Prepare> {
        let Some((kind, id)) = entity.split_once(':').and_then(|(k, i)| Some((k, i.parse::<i64>().ok()?))) else {
            return Err(Prepare::Refused(format!("unknown entity {entity}")));
        };
        match kind {
            "customer" => self.prepare_customer(store, id, marks, now).await,
            "order" => self.prepare_order(store, id, recovered, numbers, marks, now).await,
            other => Err(Prepare::Refused(format!("unknown entity kind {other}"))),
        }
    }

    async fn prepare_customer(&self, store: &Store, id: i64, marks: &HashMap<String, Mark>, now: chrono::DateTime<Utc>) -> Result<Option<Write>, Prepare> {
        let customer = match store.get_customer(id).await {
            Ok(c) => Some(c),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(Prepare::Store(e)),
        };
        if !self.writes_legacy("legacy.customers", id) {
            return Err(Prepare::Off("legacy.customers"));
        }
        let number = match &customer {
            Some(c) => c.data.code.clone(),
            None => match store.legacy_no("customer", id).await? {
                Some(no) => no,
                None => return Ok(None),
            },
        };
        let old = self.legacy.fetch_records::<legacy::Customer>("CUST_NO = CAST($1 AS CHAR(5))", std::slice::from_ref(&number)).await?.into_iter().next();
        let old = match old {
            Some(Ok(c)) => Some(c),
            // A row the old program holds badly is replaced by ours.
            Some(Err(_)) | None => None,
        };
        if let Some(o) = &old {
            unpicked(marks, CUST_MST.name, &o.updated, &o.code)?;
        }
        let record = match &customer {
            Some(c) => project::customer_record(c, old.as_ref(), now)?,
            // Deleted here: the old program keeps its customers, stopped.
            None => match old.clone() {
                Some(mut o) if !o.stopped => {
                    o.stopped = true;
                    o.updated = project::sync_stamp(now);
                    o
                }
                _ => return Ok(None),
            },
        };
        let unchanged = old.as_ref().is_some_and(|o| project::same_customer(&record, o));
        let mut write = Write { record_no: number.clone(), table: CUST_MST.name, ..Write::default() };
        if !unchanged {
            write.rows.push((&CUST_MST, record.to_fields(), old.as_ref().map(|o| o.updated.clone())));
        }
        let base = customer.is_some().then(|| merge::to_json(&merge::customer_view(&record)));
        write.links.push(Link { entity: "customer", legacy_no: number, id, merged_into: None, base });
        Ok(Some(write))
    }

    async fn prepare_order(
        &self,
        store: &Store,
        id: i64,
        recovered: &[&(String, String)],
        numbers: &mut Numbers,
        marks: &HashMap<String, Mark>,
        now: chrono::DateTime<Utc>,
    ) -> Result<Option<Write>, Prepare> {
        let order = match store.get_order(id).await {
            Ok(o) => o,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(Prepare::Store(e)),
        };
        if !self.writes_legacy("legacy.orders", order.data.customer_id) {
            return Err(Prepare::Off("legacy.orders"));
        }
        let customer = store.get_customer(order.data.customer_id).await?;
        let customer_no = store.legacy_no("customer", customer.id).await?.unwrap_or_else(|| customer.data.code.clone());
        // The order's number: linked, recovered from a write a crash kept from being linked, or
        // the next of the service's own range for the day it was taken.
        let linked = store.legacy_no("order", id).await?;
        let from_key = recovered.iter().find(|(t, _)| t == ORD_HDR.name).map(|(_, no)| no.clone());
        let number = match linked.or(from_key) {
            Some(no) => no,
            None => numbers.next(&self.legacy, &ORD_HDR, project::taipei_day(order.created_at)).await?,
        };
        let old = self
            .legacy
            .fetch_records::<legacy::Order>("ORD_NO = CAST($1 AS CHAR(11))", std::slice::from_ref(&number))
            .await?
            .into_iter()
            .next()
            .and_then(Result::ok);
        if let Some(o) = &old {
            unpicked(marks, ORD_HDR.name, &o.updated, &o.number)?;
        }
        let old_lines: Vec<legacy::OrderLine> = self
            .legacy
            .fetch_records::<legacy::OrderLine>("ORD_NO = CAST($1 AS CHAR(11))", std::slice::from_ref(&number))
            .await?
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        let mut prices = Vec::new();
        for line in &order.data.cylinders {
            let price = store.price_on(customer.id, line.size_kg, order.data.delivery_date).await?.and_then(|p| p.data.per_cylinder());
            // Without a price list entry, the price the old order line had.
            let price = price.or_else(|| old_lines.iter().find(|l| u32::from(l.size_kg) == line.size_kg).map(|l| l.unit_price.0));
            prices.push((line.size_kg, price.unwrap_or(0)));
        }
        let (header, lines) = project::order_record(&order, &customer_no, &number, &prices, old.as_ref(), now)?;
        let mut write = Write { record_no: number.clone(), table: ORD_HDR.name, ..Write::default() };
        let header_same = old.as_ref().is_some_and(|o| project::same_order(&header, o));
        let lines_same = old_lines == lines;
        if !header_same || !lines_same {
            write.rows.push((&ORD_HDR, header.to_fields(), old.as_ref().map(|o| o.updated.clone())));
        }
        if !lines_same {
            write.replace_lines = Some(number.clone());
            write.rows.extend(lines.iter().map(|l| (&ORD_DTL, l.to_fields(), None)));
        }
        let base = merge::to_json(&merge::order_view(&header, &lines, &customer_no));
        write.links.push(Link { entity: "order", legacy_no: number.clone(), id, merged_into: None, base: Some(base) });

        if matches!(order.status, OrderStatus::Delivered | OrderStatus::Failed) && self.writes_legacy("legacy.deliveries", customer.id) {
            if let Some(row) = store.delivery_row(id).await? {
                let facts = DeliveryFacts { at: row.at, driver_id: row.driver_id, cash: row.cash };
                let delivery_no = match store.legacy_no("delivery", id).await? {
                    Some(no) => no,
                    None => {
                        let ours = self
                            .legacy
                            .fetch(&DLV_REC, "ORD_NO = CAST($1 AS CHAR(11)) AND UPD_USER = CAST($2 AS CHAR(10))", &[number.clone(), SYNC_USER.to_owned()])
                            .await?;
                        match ours.first().and_then(|r| r.first()) {
                            Some(no) => no.clone(),
                            None => numbers.next(&self.legacy, &DLV_REC, order.data.delivery_date).await?,
                        }
                    }
                };
                let record = project::delivery_record(&order, &customer_no, &number, &delivery_no, &facts, now)?;
                let old = self
                    .legacy
                    .fetch_records::<legacy::Delivery>("DLV_NO = CAST($1 AS CHAR(11))", std::slice::from_ref(&delivery_no))
                    .await?
                    .into_iter()
                    .next()
                    .and_then(Result::ok);
                // A delivery the old program recorded stands as it was recorded there.
                let theirs = old.as_ref().is_some_and(|o| o.updated.user != SYNC_USER);
                if !theirs && !old.as_ref().is_some_and(|o| project::same_delivery(&record, o)) {
                    write.rows.push((&DLV_REC, record.to_fields(), old.as_ref().map(|o| o.updated.clone())));
                }
                write.links.push(Link { entity: "delivery", legacy_no: delivery_no, id, merged_into: None, base: None });
            }
        }
        Ok(Some(write))
    }

    /// Writes every entity's rows and keys in one legacy transaction, each under a savepoint:
    /// per write, whether anything was written, or why it failed. An unreachable database fails
    /// the whole batch.
    async fn write(&self, writes: &[(Vec<i64>, Vec<String>, Write)], now: chrono::DateTime<Utc>) -> Result<Vec<WriteResult>, LegacyDbError> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let stamp = project::sync_stamp(now);
        let (date, time) =
            (einvoice::calendar::format_roc(stamp.date, einvoice::calendar::RocStyle::Compact).unwrap_or_default(), stamp.time.format("%H%M%S").to_string());
        let mut typed = Vec::with_capacity(writes.len());
        for (_, _, w) in writes {
            typed.push(
                w.rows
                    .iter()
                    .map(|(table, fields, expect)| values(table, fields).map(|v| (*table, v, expect.as_ref().map(stamp_text))))
                    .collect::<Result<Vec<_>, _>>(),
            );
        }
        let results = with_legacy!(&self.legacy, pool => {
            let mut tx = pool.begin().await?;
            let mut results = Vec::with_capacity(writes.len());
            for ((_, keys, w), rows) in writes.iter().zip(&typed) {
                let rows = match rows {
                    Ok(rows) => rows,
                    Err(e) => {
                        results.push(WriteResult::Failed(e.to_string()));
                        continue;
                    }
                };
                sqlx::query("SAVEPOINT entity").execute(&mut *tx).await?;
                let mut outcome: Result<bool, sqlx::Error> = Ok(!rows.is_empty());
                let mut changed_there = false;
                if let Some(order_no) = &w.replace_lines {
                    if let Err(e) = sqlx::query("DELETE FROM ORD_DTL WHERE ORD_NO = CAST($1 AS CHAR(11))").bind(order_no).execute(&mut *tx).await {
                        outcome = Err(e);
                    }
                }
                for (table, vals, expect) in rows {
                    if outcome.is_err() || changed_there {
                        break;
                    }
                    match expect {
                        // Written only over the old record as it was read (its stamp unchanged).
                        Some((date, time, user)) => {
                            let sql = upsert_if_sql(table);
                            match bind_values!(sqlx::query(&sql), vals.iter()).bind(date).bind(time).bind(user).execute(&mut *tx).await {
                                Ok(done) if done.rows_affected() == 0 => changed_there = true,
                                Ok(_) => {}
                                Err(e) => outcome = Err(e),
                            }
                        }
                        None => {
                            let sql = upsert_sql(table);
                            if let Err(e) = bind_values!(sqlx::query(&sql), vals.iter()).execute(&mut *tx).await {
                                outcome = Err(e);
                            }
                        }
                    }
                }
                for key in keys {
                    if outcome.is_err() || changed_there {
                        break;
                    }
                    let insert = "INSERT INTO SYNC_KEY (SYNC_KEY, TBL_NM, REC_NO, APPLY_DT, APPLY_TM) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (SYNC_KEY) DO NOTHING";
                    if let Err(e) = sqlx::query(insert).bind(key).bind(w.table).bind(&w.record_no).bind(&date).bind(&time).execute(&mut *tx).await {
                        outcome = Err(e);
                    }
                }
                match outcome {
                    Ok(_) if changed_there => {
                        sqlx::query("ROLLBACK TO SAVEPOINT entity").execute(&mut *tx).await?;
                        sqlx::query("RELEASE SAVEPOINT entity").execute(&mut *tx).await?;
                        results.push(WriteResult::Changed);
                    }
                    Ok(changed) => {
                        sqlx::query("RELEASE SAVEPOINT entity").execute(&mut *tx).await?;
                        results.push(WriteResult::Written(changed));
                    }
                    Err(e) => {
                        let e = LegacyDbError::from(e);
                        if e.is_unreachable() {
                            return Err(e);
                        }
                        sqlx::query("ROLLBACK TO SAVEPOINT entity").execute(&mut *tx).await?;
                        sqlx::query("RELEASE SAVEPOINT entity").execute(&mut *tx).await?;
                        results.push(WriteResult::Failed(e.to_string()));
                    }
                }
            }
            tx.commit().await?;
            results
        });
        Ok(results)
    }
}

/// The link a recovered key names.
fn recovered_link(entity: &str, table: &str, number: &str) -> Option<Link> {
    let (kind, id) = entity.split_once(':')?;
    let id = id.parse().ok()?;
    let entity = match (kind, table) {
        ("customer", "CUST_MST") => "customer",
        ("order", "ORD_HDR") => "order",
        _ => return None,
    };
    Some(Link { entity, legacy_no: number.to_owned(), id, merged_into: None, base: None })
}

/// When a change that failed `attempts` times is tried again: `base`, twice that, four times …
/// up to five minutes after `now`.
pub fn retry_at_ms(now: chrono::DateTime<Utc>, base: Duration, attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 10) - 1).unwrap_or(9);
    let base = i64::try_from(base.as_millis()).unwrap_or(1000);
    crate::store::plans::epoch_ms(now) + base.saturating_mul(1i64 << exp).min(300_000)
}

/// What became of one entity's write.
enum WriteResult {
    /// Written (`true`) or equal there already.
    Written(bool),
    /// The old record changed since it was read: nothing written, tried again after the pick-up.
    Changed,
    /// Refused, with the error.
    Failed(String),
}

/// `UPD_DT`, `UPD_TM`, `UPD_USER` of a stamp as the old columns hold them.
fn stamp_text(s: &legacy::Stamp) -> (String, String, String) {
    (einvoice::calendar::format_roc(s.date, einvoice::calendar::RocStyle::Compact).unwrap_or_default(), s.time.format("%H%M%S").to_string(), s.user.clone())
}

/// Refuses (for now) to write over an old record the old program changed after the pick-up's
/// mark: the pick-up merges that change first.
fn unpicked(marks: &HashMap<String, Mark>, table: &str, stamp: &legacy::Stamp, key: &str) -> Result<(), Prepare> {
    if stamp.user == SYNC_USER {
        return Ok(());
    }
    let (date, time, _) = stamp_text(stamp);
    match marks.get(table) {
        Some(mark) if mark.is_before(&date, &time, key) => Err(Prepare::Deferred(format!("{table} {key} changed in the old program, not yet picked up"))),
        _ => Ok(()),
    }
}

/// The writes of one batch.
#[derive(Default)]
struct Plan {
    writes: Vec<(Vec<i64>, Vec<String>, Write)>,
    deferred: Vec<i64>,
    applied: Vec<i64>,
    failed: Vec<(i64, String)>,
    skipped: Vec<(i64, String)>,
    links: Vec<Link>,
}

/// One entity's rows for the old tables.
#[derive(Debug, Default)]
struct Write {
    /// Rows to upsert, in order, each with the stamp of the old record it replaces (written only
    /// while that record still has it).
    rows: Vec<(&'static legacy::schema::Table, Vec<String>, Option<legacy::Stamp>)>,
    /// An order whose lines are replaced (deleted before the new ones are written).
    replace_lines: Option<String>,
    /// The table and record the keys record.
    table: &'static str,
    record_no: String,
    /// Links to record here once written.
    links: Vec<Link>,
}

/// Legacy numbers handed out in this batch, by table and day.
#[derive(Default)]
struct Numbers(BTreeMap<(&'static str, NaiveDate), u32>);

impl Numbers {
    /// The next free number of the service's own range in `table` for `day`.
    async fn next(&mut self, legacy: &LegacyDb, table: &'static legacy::schema::Table, day: NaiveDate) -> Result<String, Prepare> {
        let key = (table.name, day);
        let seq = match self.0.get(&key) {
            Some(seq) => *seq,
            None => {
                let (low, high) = (project::own_number(day, 0), project::own_number(day, 4998));
                let (Some(low), Some(high)) = (low, high) else { return Err(Prepare::Refused(format!("no legacy number for {day}"))) };
                let column = table.primary_key.first().copied().unwrap_or("ORD_NO");
                let sql = format!(
                    "SELECT CAST(MAX({column}) AS TEXT) FROM {} WHERE {column} >= CAST($1 AS CHAR(11)) AND {column} <= CAST($2 AS CHAR(11))",
                    table.name
                );
                let max: Option<String> =
                    with_legacy!(legacy, pool => sqlx::query_scalar(&sql).bind(&low).bind(&high).fetch_one(pool).await.map_err(LegacyDbError::from)?);
                match max.and_then(|m| m.trim().get(7..).and_then(|s| s.parse::<u32>().ok())) {
                    Some(last) => last.saturating_sub(5001) + 1,
                    None => 0,
                }
            }
        };
        let number = project::own_number(day, seq).ok_or_else(|| Prepare::Refused(format!("the service's legacy numbers of {day} are used up")))?;
        self.0.insert(key, seq + 1);
        Ok(number)
    }
}

/// Why an entity could not be prepared.
enum Prepare {
    /// The old record has a change of the old program's the pick-up has not merged yet.
    Deferred(String),
    /// Its module's cut-over flag says the old side is no longer written.
    Off(&'static str),
    /// It does not fit the old tables: charged an attempt.
    Refused(String),
    /// The legacy database failed.
    Legacy(LegacyDbError),
    /// Our database failed.
    Store(StoreError),
}

impl From<ProjectError> for Prepare {
    fn from(e: ProjectError) -> Self {
        Prepare::Refused(e.to_string())
    }
}

impl From<LegacyDbError> for Prepare {
    fn from(e: LegacyDbError) -> Self {
        match e {
            LegacyDbError::Value { .. } => Prepare::Refused(e.to_string()),
            e => Prepare::Legacy(e),
        }
    }
}

impl From<StoreError> for Prepare {
    fn from(e: StoreError) -> Self {
        Prepare::Store(e)
    }
}

/// Errors of a sync batch.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The legacy database.
    #[error(transparent)]
    Legacy(#[from] LegacyDbError),
    /// Our database.
    #[error(transparent)]
    Store(#[from] StoreError),
}
