//! The pick-up of changes made in the old program (issue 18, point 4): the old desktop program
//! keeps running during the move, and what its clerks change reaches the service.
//!
//! The old program stamps every record it changes (`UPD_DT`, `UPD_TM`, `UPD_USER`); the
//! service stamps what it writes with [`SYNC_USER`]. The `legacy.pickup` job reads, table by
//! table (`CUST_MST`, `ORD_HDR` with its lines, `DLV_REC`), the records stamped by someone else
//! after its mark (`legacy_pickup`: stamp and key of the last record taken, index `IX_*_UPD`),
//! in stamp order, and for each:
//! - a record the service does not know is created here (a customer, a phone order taken in the
//!   old program) and linked;
//! - a known record is merged field by field against what both sides last agreed on
//!   ([`super::merge`]): the old program's changes are applied here, conflicts decided by each
//!   field's rule and logged (`legacy_conflicts`, `luckygas legacy conflicts`,
//!   `GET /v1/sync/conflicts`); where the merge kept some of the service's values the entity is
//!   queued to be written back;
//! - a delivery recorded in the old program moves its order here to delivered, failed or
//!   cancelled (unless the service's own report says otherwise: a conflict, the service's stands).
//!
//! **No echo.** What the service writes carries its own stamp and is never read back; what the
//! pick-up applies here is written to the old side only where the merge differs from the old
//! record, and that write carries the service's stamp. Whichever side changed a record last, one
//! round trip at most, then both sides agree and nothing moves. The sync worker does not write
//! over an old record changed after the mark (it waits for the pick-up), and writes only over the
//! record it read (the stamp must be unchanged), so a clerk's change is never lost between a
//! read and a write.

use super::import::{convert_customer, cylinders_of, order_data};
use super::legacy_db::TextRow;
use super::merge::{self, customer_view, keep_new, order_view, CUSTOMER_FIELDS, ORDER_FIELDS};
use super::project;
use super::worker::{Sync, SyncError};
use crate::domain::{Customer, NewCustomer, NewOrder, OrderStatus};
pub use crate::store::legacy::Mark;
use crate::store::legacy::PickupWrite;
use crate::store::{Store, StoreError};
use chrono::Utc;
use legacy::codes::{DeliveryResult, OrderStatus as LegacyStatus};
use legacy::export::Record;
use legacy::schema::{Table, CUST_MST, DLV_REC, ORD_HDR, SYNC_USER};
use serde::Serialize;

/// The job kind.
pub const KIND: &str = "legacy.pickup";
/// Old records read per table and round.
pub const PAGE: i64 = 200;

/// What one round of the pick-up did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PickupReport {
    /// Old records read (changed by the old program after the marks).
    pub read: usize,
    /// Records new to the service, created here.
    pub created: usize,
    /// Known records whose merge changed something here.
    pub updated: usize,
    /// Known records equal to what the service holds (or only the old program's own fields
    /// changed).
    pub unchanged: usize,
    /// Fields changed on both sides, decided by their rule.
    pub conflicts: usize,
    /// Records written back to the old side (the merge kept some of the service's values).
    pub written_back: usize,
    /// Records that cannot be taken (do not pass the service's checks, name a customer or order
    /// the service does not have): left as they are, logged.
    pub rejected: usize,
}

impl PickupReport {
    /// Adds `o`'s counts to these.
    pub fn add(&mut self, o: PickupReport) {
        self.read += o.read;
        self.created += o.created;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.conflicts += o.conflicts;
        self.written_back += o.written_back;
        self.rejected += o.rejected;
    }
}

/// The key column of the tables the pick-up reads, and its width.
fn key_of(table: &Table) -> (&'static str, usize) {
    match table.name {
        "CUST_MST" => ("CUST_NO", 5),
        "ORD_HDR" => ("ORD_NO", 11),
        _ => ("DLV_NO", 11),
    }
}

/// The text of column `name` of `row`.
fn column<'a>(table: &Table, row: &'a TextRow, name: &str) -> &'a str {
    table.index_of(name).and_then(|i| row.get(i)).map_or("", String::as_str)
}

/// Where a round starts when a table has no mark yet.
fn origin(table: &Table) -> Mark {
    Mark { table: table.name.to_owned(), date: "0000000".into(), time: "000000".into(), key: String::new() }
}

/// The latest stamp among `records` of `table` (the import's mark).
pub fn latest_mark<'a>(table: &Table, records: impl IntoIterator<Item = (&'a legacy::Stamp, &'a str)>) -> Option<Mark> {
    records
        .into_iter()
        .map(|(stamp, key)| Mark {
            table: table.name.to_owned(),
            date: einvoice::calendar::format_roc(stamp.date, einvoice::calendar::RocStyle::Compact).unwrap_or_default(),
            time: stamp.time.format("%H%M%S").to_string(),
            key: key.to_owned(),
        })
        .max_by(|a, b| (&a.date, &a.time, &a.key).cmp(&(&b.date, &b.time, &b.key)))
}

/// What an old record's change is, for the conflict log and the order history.
pub(crate) struct Change {
    user: String,
    stamp: String,
}

/// The statuses an old record's status (or a delivery's result) moves an order here to, from
/// the statuses the service allows it from: an open order, and a failed one delivered after all.
fn legacy_move(here: OrderStatus, to: OrderStatus) -> bool {
    matches!(here, OrderStatus::Received | OrderStatus::Planned | OrderStatus::Dispatched) || (here == OrderStatus::Failed && to == OrderStatus::Delivered)
}

impl Sync {
    /// One round of the pick-up: up to [`PAGE`] changed records per table, applied here in
    /// stamp order, the marks moved past them.
    pub async fn pickup(&self, store: &Store) -> Result<PickupReport, SyncError> {
        self.prepare_legacy().await?;
        let marks = store.pickup_marks().await?;
        let mut report = PickupReport::default();
        for table in [&CUST_MST, &ORD_HDR, &DLV_REC] {
            let mark = match marks.get(table.name) {
                Some(m) => m.clone(),
                None => {
                    // First round without an import: changes from now on.
                    let latest = self.latest_legacy_mark(table).await?.unwrap_or_else(|| origin(table));
                    store.set_pickup_mark(&latest, true).await?;
                    tracing::info!(table = table.name, date = %latest.date, time = %latest.time, "legacy pick-up starts after the latest change");
                    latest
                }
            };
            let (key, width) = key_of(table);
            let filter = format!(
                "RTRIM(CAST(UPD_USER AS TEXT)) <> $1 AND UPD_DT >= CAST($2 AS CHAR(7)) AND (UPD_DT > CAST($2 AS CHAR(7)) OR (UPD_TM > CAST($3 AS CHAR(6)) \
                 OR (UPD_TM = CAST($3 AS CHAR(6)) AND {key} > CAST($4 AS CHAR({width})))))"
            );
            let args = [SYNC_USER.to_owned(), mark.date.clone(), mark.time.clone(), mark.key.clone()];
            let rows = self.legacy.fetch_page(table, &filter, &args, &format!("UPD_DT, UPD_TM, {key}"), PAGE).await?;
            for row in rows {
                let change = Change {
                    user: column(table, &row, "UPD_USER").to_owned(),
                    stamp: format!("{} {}", column(table, &row, "UPD_DT"), column(table, &row, "UPD_TM")),
                };
                let number = column(table, &row, key).to_owned();
                let mut one = PickupReport { read: 1, ..PickupReport::default() };
                let done = match table.name {
                    "CUST_MST" => match legacy::Customer::from_fields(&row) {
                        Ok(c) => self.pick_customer(store, &c, &change, false, &mut one).await?,
                        Err(e) => reject(&mut one, table, &number, &format!("{}: {}", e.field.unwrap_or("row"), e.problem)),
                    },
                    "ORD_HDR" => match legacy::Order::from_fields(&row) {
                        Ok(o) => self.pick_order(store, &o, &change, false, &mut one).await?,
                        Err(e) => reject(&mut one, table, &number, &format!("{}: {}", e.field.unwrap_or("row"), e.problem)),
                    },
                    _ => match legacy::Delivery::from_fields(&row) {
                        Ok(d) => self.pick_delivery(store, &d, &change, &mut one).await?,
                        Err(e) => reject(&mut one, table, &number, &format!("{}: {}", e.field.unwrap_or("row"), e.problem)),
                    },
                };
                if !done {
                    // The entity moved here meanwhile (a planner took the order): next round.
                    break;
                }
                report.add(one);
                let next = Mark {
                    table: table.name.to_owned(),
                    date: column(table, &row, "UPD_DT").to_owned(),
                    time: column(table, &row, "UPD_TM").to_owned(),
                    key: number,
                };
                store.set_pickup_mark(&next, false).await?;
            }
        }
        Ok(report)
    }

    /// The stamp and key of the latest change of `table` (anyone's).
    async fn latest_legacy_mark(&self, table: &'static Table) -> Result<Option<Mark>, SyncError> {
        let (key, _) = key_of(table);
        let rows = self.legacy.fetch_page(table, "", &[], &format!("UPD_DT DESC, UPD_TM DESC, {key} DESC"), 1).await?;
        Ok(rows.first().map(|row| Mark {
            table: table.name.to_owned(),
            date: column(table, row, "UPD_DT").to_owned(),
            time: column(table, row, "UPD_TM").to_owned(),
            key: column(table, row, key).to_owned(),
        }))
    }

    /// Takes an old customer record. With `force`, every difference counts as the old program's
    /// change (a reconciliation repairing from the old side). Returns `false` to retry later.
    pub(crate) async fn pick_customer(
        &self,
        store: &Store,
        o: &legacy::Customer,
        change: &Change,
        force: bool,
        report: &mut PickupReport,
    ) -> Result<bool, SyncError> {
        let changed_by = format!("legacy:{}", change.user);
        let link = store.legacy_link("customer", &o.code).await?;
        let (id, base) = match link {
            Some(l) if l.merged_into.is_some() => {
                let survivor = l.merged_into.unwrap_or_default();
                return Ok(reject(report, &CUST_MST, &o.code, &format!("a duplicate merged into {survivor}: change the survivor instead")));
            }
            Some(l) => (Some(l.id), l.base),
            None => (store.customers_by_codes(std::slice::from_ref(&o.code)).await?.first().map(|c| c.id), None),
        };
        let converted = convert_customer(o);
        let legacy_view = customer_view(o);
        let write = |id, customer, base, conflicts, write_back| PickupWrite {
            entity: "customer",
            legacy_no: &o.code,
            id,
            customer,
            base: Some(base),
            conflicts,
            legacy_user: &change.user,
            legacy_stamp: &change.stamp,
            write_back,
            ..PickupWrite::default()
        };
        let Some(id) = id else {
            let (data, approximate, _) = match converted {
                Ok(c) => c,
                Err(r) => return Ok(reject(report, &CUST_MST, &o.code, &r.reason)),
            };
            store.apply_pickup(&write(None, Some((&data, approximate)), merge::to_json(&legacy_view), &[], false), &changed_by).await?;
            report.created += 1;
            return Ok(true);
        };
        let here = match store.get_customer(id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(reject(report, &CUST_MST, &o.code, "deleted in the service")),
            Err(e) => return Err(e.into()),
        };
        let record = match project::customer_record(&here, Some(o), Utc::now()) {
            Ok(r) => r,
            Err(e) => return Ok(reject(report, &CUST_MST, &o.code, &format!("the service's record does not fit the old columns: {e}"))),
        };
        let new_view = customer_view(&record);
        let base = if force { Some(new_view.clone()) } else { merge::from_json(base.as_deref()) };
        let mut merged = merge::merge(CUSTOMER_FIELDS, base.as_ref(), &legacy_view, &new_view, |flag| self.reads_new(flag, Some(id)));
        if merged.from_legacy.iter().any(|f| f == "POS") && o.position.is_none() {
            keep_new(&mut merged, "POS", &legacy_view, &new_view, base.as_ref(), "the old record has no coordinates: the service keeps its position");
        }
        let mut data: Option<(NewCustomer, bool)> = None;
        if !merged.from_legacy.is_empty() {
            match &converted {
                Ok((theirs, approximate, _)) => data = Some(take_customer_fields(&here, theirs, *approximate, &merged.from_legacy)),
                Err(r) => {
                    let why = format!("the old record does not pass the service's checks: {}", r.reason);
                    for field in merged.from_legacy.clone() {
                        keep_new(&mut merged, &field, &legacy_view, &new_view, base.as_ref(), &why);
                    }
                }
            }
        }
        let write_back = merged.legacy_behind(&legacy_view);
        record_outcome(report, data.is_some(), merged.conflicts.len(), write_back);
        let stored = merge::from_json(store.legacy_link("customer", &o.code).await?.and_then(|l| l.base).as_deref());
        if data.is_none() && merged.conflicts.is_empty() && !write_back && stored.as_ref() == Some(&merged.view) {
            return Ok(true);
        }
        let customer = data.as_ref().map(|(d, a)| (d, *a));
        Ok(store.apply_pickup(&write(Some(id), customer, merge::to_json(&merged.view), &merged.conflicts, write_back), &changed_by).await?.is_some())
    }

    /// Takes an old order record with its lines (see [`Sync::pick_customer`]).
    pub(crate) async fn pick_order(
        &self,
        store: &Store,
        o: &legacy::Order,
        change: &Change,
        force: bool,
        report: &mut PickupReport,
    ) -> Result<bool, SyncError> {
        let changed_by = format!("legacy:{}", change.user);
        let lines: Vec<legacy::OrderLine> = self
            .legacy
            .fetch_records::<legacy::OrderLine>("ORD_NO = CAST($1 AS CHAR(11))", std::slice::from_ref(&o.number))
            .await?
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        let (customer_id, customer_no) = match store.legacy_link("customer", &o.customer).await? {
            Some(l) => (l.id, l.merged_into.unwrap_or_else(|| o.customer.clone())),
            None => match store.customers_by_codes(std::slice::from_ref(&o.customer)).await?.first() {
                Some(c) => (c.id, c.data.code.clone()),
                None => return Ok(reject(report, &ORD_HDR, &o.number, &format!("customer {} is not in the service", o.customer))),
            },
        };
        let legacy_view = order_view(o, &lines, &customer_no);
        let converted = order_data(o, &cylinders_of(&lines)).map(|d| NewOrder { customer_id, ..d });
        let link = store.legacy_link("order", &o.number).await?;
        let Some(link) = link else {
            let data = match converted {
                Ok(d) => d,
                Err(r) => return Ok(reject(report, &ORD_HDR, &o.number, &r.reason)),
            };
            let status = match o.status {
                LegacyStatus::Open => OrderStatus::Received,
                LegacyStatus::Delivered => OrderStatus::Delivered,
                LegacyStatus::Cancelled => OrderStatus::Cancelled,
            };
            let w = PickupWrite {
                entity: "order",
                legacy_no: &o.number,
                order: Some(&data),
                status: Some((None, status)),
                base: Some(merge::to_json(&legacy_view)),
                legacy_user: &change.user,
                legacy_stamp: &change.stamp,
                ..PickupWrite::default()
            };
            store.apply_pickup(&w, &changed_by).await?;
            report.created += 1;
            return Ok(true);
        };
        let here = match store.get_order(link.id).await {
            Ok(order) => order,
            Err(StoreError::NotFound) => return Ok(reject(report, &ORD_HDR, &o.number, "deleted in the service")),
            Err(e) => return Err(e.into()),
        };
        let here_customer = store.legacy_no("customer", here.data.customer_id).await?;
        let here_customer = match here_customer {
            Some(no) => no,
            None => store.get_customer(here.data.customer_id).await?.data.code,
        };
        let (header, new_lines) = match project::order_record(&here, &here_customer, &o.number, &Vec::new(), Some(o), Utc::now()) {
            Ok(r) => r,
            Err(e) => return Ok(reject(report, &ORD_HDR, &o.number, &format!("the service's order does not fit the old columns: {e}"))),
        };
        let new_view = order_view(&header, &new_lines, &here_customer);
        let base = if force { Some(new_view.clone()) } else { merge::from_json(link.base.as_deref()) };
        let mut merged = merge::merge(ORDER_FIELDS, base.as_ref(), &legacy_view, &new_view, |flag| self.reads_new(flag, Some(here.data.customer_id)));
        let mut status = None;
        if merged.from_legacy.iter().any(|f| f == "STATUS") {
            let to = match o.status {
                LegacyStatus::Open => None,
                LegacyStatus::Delivered => Some(OrderStatus::Delivered),
                LegacyStatus::Cancelled => Some(OrderStatus::Cancelled),
            };
            match to.filter(|to| legacy_move(here.status, *to)) {
                Some(to) => status = Some((Some(here.status), to)),
                None => {
                    let why = format!("the service does not move a {} order to {}", here.status.as_str(), o.status.code());
                    keep_new(&mut merged, "STATUS", &legacy_view, &new_view, base.as_ref(), &why);
                }
            }
        }
        let fields: Vec<String> = merged.from_legacy.iter().filter(|f| *f != "STATUS").cloned().collect();
        let mut data = None;
        if !fields.is_empty() {
            let why = if here.status != OrderStatus::Received || here.plan_id.is_some() {
                Some(format!("the order is {} in a plan here: the dispatcher's plan stands", here.status.as_str()))
            } else {
                match &converted {
                    Ok(theirs) => {
                        data = Some(take_order_fields(&here.data, theirs, &fields));
                        None
                    }
                    Err(r) => Some(format!("the old record does not pass the service's checks: {}", r.reason)),
                }
            };
            if let Some(why) = why {
                for field in fields {
                    keep_new(&mut merged, &field, &legacy_view, &new_view, base.as_ref(), &why);
                }
            }
        }
        let write_back = merged.legacy_behind(&legacy_view);
        record_outcome(report, data.is_some() || status.is_some(), merged.conflicts.len(), write_back);
        if data.is_none()
            && status.is_none()
            && merged.conflicts.is_empty()
            && !write_back
            && link.base.as_deref() == Some(merge::to_json(&merged.view).as_str())
        {
            return Ok(true);
        }
        let w = PickupWrite {
            entity: "order",
            legacy_no: &o.number,
            id: Some(here.id),
            order: data.as_ref(),
            status,
            base: Some(merge::to_json(&merged.view)),
            conflicts: &merged.conflicts,
            legacy_user: &change.user,
            legacy_stamp: &change.stamp,
            write_back,
            ..PickupWrite::default()
        };
        Ok(store.apply_pickup(&w, &changed_by).await?.is_some())
    }

    /// Takes a delivery recorded in the old program: its order here moves to the result.
    async fn pick_delivery(&self, store: &Store, d: &legacy::Delivery, change: &Change, report: &mut PickupReport) -> Result<bool, SyncError> {
        if store.legacy_link("delivery", &d.number).await?.is_some() {
            report.unchanged += 1;
            return Ok(true);
        }
        let Some(order) = store.legacy_link("order", &d.order).await? else {
            return Ok(reject(report, &DLV_REC, &d.number, &format!("order {} is not in the service", d.order)));
        };
        let here = store.get_order(order.id).await?;
        let to = match d.result {
            DeliveryResult::Delivered => OrderStatus::Delivered,
            DeliveryResult::NotHome => OrderStatus::Failed,
            DeliveryResult::Cancelled => OrderStatus::Cancelled,
        };
        let moves = here.status != to && legacy_move(here.status, to);
        let conflicts = if here.status != to && !moves {
            vec![merge::Conflict {
                field: "RESULT".into(),
                base: None,
                legacy: d.result.code().to_string(),
                new: here.status.as_str().to_owned(),
                winner: merge::Side::New,
                rule: "the service's delivery report stands".into(),
            }]
        } else {
            Vec::new()
        };
        record_outcome(report, moves, conflicts.len(), false);
        let w = PickupWrite {
            entity: "delivery",
            legacy_no: &d.number,
            id: Some(here.id),
            status: moves.then_some((Some(here.status), to)),
            conflicts: &conflicts,
            legacy_user: &change.user,
            legacy_stamp: &change.stamp,
            ..PickupWrite::default()
        };
        Ok(store.apply_pickup(&w, &format!("legacy:{}", change.user)).await?.is_some())
    }
}

fn record_outcome(report: &mut PickupReport, changed_here: bool, conflicts: usize, write_back: bool) {
    if changed_here {
        report.updated += 1;
    } else {
        report.unchanged += 1;
    }
    report.conflicts += conflicts;
    report.written_back += usize::from(write_back);
}

/// Counts and logs an old record the pick-up cannot take; it goes on with the next.
fn reject(report: &mut PickupReport, table: &Table, number: &str, why: &str) -> bool {
    tracing::warn!(table = table.name, record = number, reason = why, "legacy pick-up: record not taken");
    report.rejected += 1;
    true
}

/// The service's customer with the fields the merge took from the old record.
fn take_customer_fields(here: &Customer, theirs: &NewCustomer, approximate: bool, fields: &[String]) -> (NewCustomer, bool) {
    let mut d = here.data.clone();
    let mut approx = here.position_approximate;
    for field in fields {
        match field.as_str() {
            "CUST_NM" => d.name.clone_from(&theirs.name),
            "TEL" => d.phone.clone_from(&theirs.phone),
            "ADDR" => d.address.clone_from(&theirs.address),
            "AREA" => d.district.clone_from(&theirs.district),
            "POS" => {
                (d.lat, d.lon) = (theirs.lat, theirs.lon);
                approx = approximate;
            }
            "TIME_PREF" => d.time_windows.clone_from(&theirs.time_windows),
            "USU" => d.usual_cylinders.clone_from(&theirs.usual_cylinders),
            "PAY_TYPE" => d.payment_method = theirs.payment_method,
            _ => {}
        }
    }
    (d, approx)
}

/// The service's order with the fields the merge took from the old record.
fn take_order_fields(here: &NewOrder, theirs: &NewOrder, fields: &[String]) -> NewOrder {
    let mut d = here.clone();
    for field in fields {
        match field.as_str() {
            "CUST_NO" => d.customer_id = theirs.customer_id,
            "DLV_DT" => d.delivery_date = theirs.delivery_date,
            "TIME_PREF" => {
                d.preference = theirs.preference;
                d.time_window = None;
            }
            "URGENT" => d.priority = theirs.priority,
            "QTY" => d.cylinders.clone_from(&theirs.cylinders),
            "MEMO" => d.note.clone_from(&theirs.note),
            _ => {}
        }
    }
    d
}

/// A change as a reconciliation's repair takes it: the old record's own stamp.
pub(crate) fn change_of(stamp: &legacy::Stamp) -> Change {
    Change {
        user: stamp.user.clone(),
        stamp: format!(
            "{} {}",
            einvoice::calendar::format_roc(stamp.date, einvoice::calendar::RocStyle::Compact).unwrap_or_default(),
            stamp.time.format("%H%M%S")
        ),
    }
}
