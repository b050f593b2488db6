//! Reconciliation (issue 18, point 5): both sides compared record by record, drift reported with
//! the records involved, and repaired in a chosen direction.
//!
//! Buckets: the customers (one bucket), and the orders of each delivery day of the window. Per
//! bucket the count and a digest (SHA-256 of every record's number and view, in number order)
//! of each side; where the digests differ, the records: missing on the old side, missing here,
//! or different (with the view's fields that differ, [`super::merge`]). Records of a module
//! whose cut-over flag is at `legacy_off` are not expected on the old side and are left out.
//!
//! Repair:
//! - `to-legacy` (the service is right): the entities missing or different there are queued for
//!   the sync worker, which writes them over the old records;
//! - `from-legacy` (the old records are right): each old record is taken here as if every
//!   difference were the old program's change (the pick-up's merge, with the service's current
//!   view as the base), subject to the same rules (an order in a plan keeps the plan's fields,
//!   logged as conflicts); records missing here are created.
//!
//! A record only on the other side of the chosen direction (an old record when repairing to the
//! old side, an entity here when repairing from it) is reported, never deleted.
//!
//! The `legacy.reconcile` job runs every night at 02:00 (Taipei) over the week before and the
//! week after, reports only, and keeps its report (`legacy_reconciliations`; metric
//! `luckygas_legacy_drift`). `luckygas legacy reconcile` runs it on demand, with `--repair`.

use super::merge::{customer_view, order_view, View};
use super::pickup::{change_of, PickupReport};
use super::project;
use super::worker::{Sync, SyncError};
use crate::store::Store;
use chrono::{Duration, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The job kind.
pub const KIND: &str = "legacy.reconcile";
/// Days before and after today the nightly run compares.
pub const NIGHTLY_DAYS: i64 = 7;

/// Which side a repair takes as right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// The service is right: write the old side.
    ToLegacy,
    /// The old records are right: take them here.
    FromLegacy,
}

impl Direction {
    /// `to-legacy` or `from-legacy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToLegacy => "to-legacy",
            Direction::FromLegacy => "from-legacy",
        }
    }
}

/// How a record drifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Here, not on the old side.
    MissingInLegacy,
    /// On the old side, not here.
    MissingHere,
    /// On both, different.
    Differs,
}

/// One record that drifted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// `customer` or `order`.
    pub entity: &'static str,
    /// The delivery day of an order.
    pub day: Option<NaiveDate>,
    /// The legacy number (empty for an order never written to the old side).
    pub legacy_no: String,
    /// The entity here.
    pub id: Option<i64>,
    /// How.
    pub kind: DriftKind,
    /// The view's fields that differ, with the old and the service's value.
    pub fields: Vec<FieldDiff>,
    /// Whether the repair fixed it.
    pub repaired: bool,
}

/// A field that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldDiff {
    /// The field.
    pub field: String,
    /// On the old side.
    pub legacy: String,
    /// Here.
    pub new: String,
}

/// One bucket compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// `customer` or `order`.
    pub entity: &'static str,
    /// The delivery day of orders.
    pub day: Option<NaiveDate>,
    /// Records on the old side.
    pub legacy_count: usize,
    /// Records here.
    pub here_count: usize,
    /// Digest of the old side's records.
    pub legacy_digest: String,
    /// Digest of the service's.
    pub here_digest: String,
    /// Records that drifted.
    pub drift: usize,
}

/// The report of a reconciliation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The first delivery day compared.
    pub from: Option<NaiveDate>,
    /// The last.
    pub to: Option<NaiveDate>,
    /// Every bucket.
    pub buckets: Vec<Bucket>,
    /// Every drifted record.
    pub drift: Vec<Drift>,
    /// The repair's direction, if one was asked for.
    pub direction: Option<Direction>,
    /// Records repaired.
    pub repaired: usize,
}

impl Report {
    /// The report as text for a person.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let (from, to) = (self.from.map(|d| d.to_string()).unwrap_or_default(), self.to.map(|d| d.to_string()).unwrap_or_default());
        let _ = writeln!(out, "Reconciliation of customers and of orders delivered {from} … {to}");
        let _ = writeln!(out, "{:<10} {:<10} {:>7} {:>7} {:>6}  digests", "entity", "day", "legacy", "here", "drift");
        for b in &self.buckets {
            let day = b.day.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
            let same = if b.legacy_digest == b.here_digest { "equal" } else { "differ" };
            let _ = writeln!(out, "{:<10} {day:<10} {:>7} {:>7} {:>6}  {same}", b.entity, b.legacy_count, b.here_count, b.drift);
        }
        let _ = writeln!(out, "{} record(s) drifted", self.drift.len());
        for d in self.drift.iter().take(50) {
            let id = d.id.map(|i| format!(" (id {i})")).unwrap_or_default();
            let fields: Vec<String> = d.fields.iter().map(|f| format!("{}: {:?} ≠ {:?}", f.field, f.legacy, f.new)).collect();
            let fixed = if d.repaired { " — repaired" } else { "" };
            let _ = writeln!(out, "  {} {}{id} {:?} {}{fixed}", d.entity, d.legacy_no, d.kind, fields.join("; "));
        }
        if let Some(direction) = self.direction {
            let _ = writeln!(out, "repair {}: {} record(s)", direction.as_str(), self.repaired);
        }
        out
    }
}

/// Records here by legacy number, with the entity's id.
type Numbered = BTreeMap<String, (i64, View)>;

fn digest(records: &BTreeMap<String, View>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (no, view) in records {
        h.update(no.as_bytes());
        h.update([0]);
        h.update(super::merge::to_json(view).as_bytes());
        h.update([0]);
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn diff(legacy: &View, new: &View) -> Vec<FieldDiff> {
    legacy
        .keys()
        .chain(new.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|k| {
            let (l, n) = (legacy.get(k).cloned().unwrap_or_default(), new.get(k).cloned().unwrap_or_default());
            (l != n).then(|| FieldDiff { field: k.clone(), legacy: l, new: n })
        })
        .collect()
}

/// Compares one bucket: `legacy` and `here` records by legacy number (`here` also with the
/// entity's id), unnumbered entities here apart.
fn compare(entity: &'static str, day: Option<NaiveDate>, legacy: &BTreeMap<String, View>, here: &Numbered, unnumbered: &[i64], report: &mut Report) {
    let here_views: BTreeMap<String, View> = here.iter().map(|(k, (_, v))| (k.clone(), v.clone())).collect();
    let mut drift = 0;
    for (no, (id, view)) in here {
        match legacy.get(no) {
            None => {
                drift += 1;
                report.drift.push(Drift {
                    entity,
                    day,
                    legacy_no: no.clone(),
                    id: Some(*id),
                    kind: DriftKind::MissingInLegacy,
                    fields: Vec::new(),
                    repaired: false,
                });
            }
            Some(theirs) if theirs != view => {
                drift += 1;
                report.drift.push(Drift {
                    entity,
                    day,
                    legacy_no: no.clone(),
                    id: Some(*id),
                    kind: DriftKind::Differs,
                    fields: diff(theirs, view),
                    repaired: false,
                });
            }
            Some(_) => {}
        }
    }
    for id in unnumbered {
        drift += 1;
        report.drift.push(Drift {
            entity,
            day,
            legacy_no: String::new(),
            id: Some(*id),
            kind: DriftKind::MissingInLegacy,
            fields: Vec::new(),
            repaired: false,
        });
    }
    for no in legacy.keys().filter(|no| !here.contains_key(*no)) {
        drift += 1;
        report.drift.push(Drift { entity, day, legacy_no: no.clone(), id: None, kind: DriftKind::MissingHere, fields: Vec::new(), repaired: false });
    }
    report.buckets.push(Bucket {
        entity,
        day,
        legacy_count: legacy.len(),
        here_count: here.len() + unnumbered.len(),
        legacy_digest: digest(legacy),
        here_digest: digest(&here_views),
        drift,
    });
}

impl Sync {
    /// Compares both sides: customers, and orders delivered `from` … `to`; with `repair`, repairs
    /// the drift in that direction. The report is kept (`legacy_reconciliations`).
    pub async fn reconcile(&self, store: &Store, from: NaiveDate, to: NaiveDate, repair: Option<Direction>) -> Result<Report, SyncError> {
        self.prepare_legacy().await?;
        let started = Utc::now();
        let now = started;
        let mut report = Report { from: Some(from), to: Some(to), direction: repair, ..Report::default() };

        // Customers.
        let old_customers: HashMap<String, legacy::Customer> =
            self.legacy.fetch_records::<legacy::Customer>("", &[]).await?.into_iter().filter_map(Result::ok).map(|c| (c.code.clone(), c)).collect();
        let links = store.legacy_link_bases("customer").await?;
        let merged: HashMap<&str, &str> = links.iter().filter_map(|(no, _, m, _)| Some((no.as_str(), m.as_deref()?))).collect();
        let mut number_of: HashMap<i64, String> = links.iter().filter(|(_, _, m, _)| m.is_none()).map(|(no, id, _, _)| (*id, no.clone())).collect();
        let mut here = BTreeMap::new();
        for c in store.all_customers().await? {
            if !self.writes_legacy("legacy.customers", c.id) {
                continue;
            }
            let no = number_of.entry(c.id).or_insert_with(|| c.data.code.clone()).clone();
            match project::customer_record(&c, old_customers.get(&no), now) {
                Ok(record) => {
                    here.insert(no, (c.id, customer_view(&record)));
                }
                Err(e) => tracing::warn!(customer = c.id, error = %e, "reconciliation: customer does not fit the old columns"),
            }
        }
        // Merged duplicates and customers stopped there and gone here are expected on the old side only.
        let legacy_views: BTreeMap<String, View> = old_customers
            .iter()
            .filter(|(no, c)| !merged.contains_key(no.as_str()) && (!c.stopped || here.contains_key(*no)))
            .map(|(no, c)| (no.clone(), customer_view(c)))
            .collect();
        compare("customer", None, &legacy_views, &here, &[], &mut report);

        // Orders, day by day.
        let order_links: HashMap<i64, String> =
            store.legacy_link_bases("order").await?.into_iter().filter(|(_, _, m, _)| m.is_none()).map(|(no, id, _, _)| (id, no)).collect();
        let roc = |d: NaiveDate| einvoice::calendar::format_roc(d, einvoice::calendar::RocStyle::Compact).unwrap_or_default();
        let window = [roc(from), roc(to)];
        let headers: Vec<legacy::Order> = self
            .legacy
            .fetch_records::<legacy::Order>("DLV_DT >= CAST($1 AS CHAR(7)) AND DLV_DT <= CAST($2 AS CHAR(7))", &window)
            .await?
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        let mut lines: HashMap<String, Vec<legacy::OrderLine>> = HashMap::new();
        for l in self
            .legacy
            .fetch_records::<legacy::OrderLine>(
                "ORD_NO IN (SELECT ORD_NO FROM ORD_HDR WHERE DLV_DT >= CAST($1 AS CHAR(7)) AND DLV_DT <= CAST($2 AS CHAR(7)))",
                &window,
            )
            .await?
            .into_iter()
            .filter_map(Result::ok)
        {
            lines.entry(l.order.clone()).or_default().push(l);
        }
        let survivor = |no: &str| merged.get(no).map_or_else(|| no.to_owned(), |s| (*s).to_owned());
        let mut old_orders: BTreeMap<NaiveDate, BTreeMap<String, View>> = BTreeMap::new();
        let mut old_headers: HashMap<String, &legacy::Order> = HashMap::new();
        for h in &headers {
            let view = order_view(h, lines.get(&h.number).map_or(&[][..], Vec::as_slice), &survivor(&h.customer));
            old_orders.entry(h.delivery_date).or_default().insert(h.number.clone(), view);
            old_headers.insert(h.number.clone(), h);
        }
        let mut here_orders: BTreeMap<NaiveDate, (Numbered, Vec<i64>)> = BTreeMap::new();
        let customers: HashMap<i64, String> = number_of;
        for o in store.orders_between(from, to).await? {
            if !self.writes_legacy("legacy.orders", o.data.customer_id) {
                continue;
            }
            let bucket = here_orders.entry(o.data.delivery_date).or_default();
            let Some(no) = order_links.get(&o.id) else {
                bucket.1.push(o.id);
                continue;
            };
            let customer_no = customers.get(&o.data.customer_id).cloned().unwrap_or_default();
            match project::order_record(&o, &customer_no, no, &Vec::new(), old_headers.get(no).copied(), now) {
                Ok((header, order_lines)) => {
                    bucket.0.insert(no.clone(), (o.id, order_view(&header, &order_lines, &customer_no)));
                }
                Err(e) => tracing::warn!(order = o.id, error = %e, "reconciliation: order does not fit the old columns"),
            }
        }
        let mut day = from;
        while day <= to {
            let empty_old = BTreeMap::new();
            let empty_here = (BTreeMap::new(), Vec::new());
            let old = old_orders.get(&day).unwrap_or(&empty_old);
            let (numbered, unnumbered) = here_orders.get(&day).unwrap_or(&empty_here);
            if !old.is_empty() || !numbered.is_empty() || !unnumbered.is_empty() {
                compare("order", Some(day), old, numbered, unnumbered, &mut report);
            }
            day += Duration::days(1);
        }

        if let Some(direction) = repair {
            self.repair(store, direction, &old_customers, &old_headers, &mut report).await?;
        }
        let json = serde_json::to_string(&report).unwrap_or_default();
        let scope = format!("customers; orders {from} … {to}");
        store.record_reconciliation(started, &scope, report.drift.len() as i64, report.repaired as i64, repair.map(Direction::as_str), &json).await?;
        Ok(report)
    }

    async fn repair(
        &self,
        store: &Store,
        direction: Direction,
        customers: &HashMap<String, legacy::Customer>,
        orders: &HashMap<String, &legacy::Order>,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        let mut queue = Vec::new();
        let mut repaired = 0;
        for d in &mut report.drift {
            match (direction, d.kind) {
                (Direction::ToLegacy, DriftKind::MissingInLegacy | DriftKind::Differs) => {
                    if let Some(id) = d.id {
                        queue.push(format!("{}:{id}", d.entity));
                        d.repaired = true;
                    }
                }
                (Direction::FromLegacy, DriftKind::MissingHere | DriftKind::Differs) => {
                    let mut one = PickupReport::default();
                    let done = match d.entity {
                        "customer" => match customers.get(&d.legacy_no) {
                            Some(c) => self.pick_customer(store, c, &change_of(&c.updated), true, &mut one).await?,
                            None => false,
                        },
                        _ => match orders.get(&d.legacy_no) {
                            Some(o) => self.pick_order(store, o, &change_of(&o.updated), true, &mut one).await?,
                            None => false,
                        },
                    };
                    // Repaired when taken whole: created, or every difference applied here.
                    d.repaired = done && one.rejected == 0 && one.written_back == 0;
                }
                _ => {}
            }
            repaired += usize::from(d.repaired);
        }
        if !queue.is_empty() {
            store.requeue_legacy(&queue).await?;
        }
        report.repaired = repaired;
        Ok(())
    }
}
