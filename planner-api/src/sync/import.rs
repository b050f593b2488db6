//! `luckygas legacy import`: the old system's customers, orders and deliveries brought into the
//! service, from its Big5 CSV exports or from its database.
//!
//! 1. **Read** every table; a row that does not read (a bad date, a negative quantity, a repeated
//!    key) is a reject with its reason, and so is what cannot be brought over: an order of a
//!    customer that does not exist, an order without cylinders, a customer without a usable
//!    district or position.
//! 2. **Clean**: phones to one form, addresses split and normalised, likely duplicate customers
//!    (same phone, or same address under a similar name) merged into the lowest number, their
//!    orders moved to it; a customer without coordinates gets its district's centroid, flagged
//!    approximate.
//! 3. **Report** (the dry run stops here): counts per table, rejects with reasons, merges.
//! 4. **Import** in batches of [`BATCH`] records per transaction, each record with its link to
//!    the legacy number (`legacy_links`): a record already linked and equal is left alone, one
//!    that differs is updated, a new one is inserted. An interrupted import is resumed by running
//!    it again, and a second run over the same data changes nothing.
//!
//! Records imported from the old side are not written back to it: their outbox rows are marked
//! applied in the same transaction.

use super::legacy_db::LegacyDb;
use super::project::payment_method;
use crate::domain::customer::{TimeWindow, UsualCylinder};
use crate::domain::{CustomerInput, NewCustomer, NewOrder, OrderInput, OrderStatus};
use crate::store::{Store, StoreError};
use chrono::{NaiveDateTime, TimeZone, Utc};
use legacy::clean::address::{normalize_address, normalize_district};
use legacy::clean::duplicates::duplicates;
use legacy::clean::phone::normalize_phone;
use legacy::codes::{DeliveryResult, TimePref};
use legacy::export::{ExportError, Record};
use legacy::{Customer, Delivery, Order, OrderLine};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Records per transaction.
pub const BATCH: usize = 500;
/// Rejects listed one by one in a report (all are counted).
pub const LISTED_REJECTS: usize = 200;

/// Where the old data comes from.
#[derive(Clone, Debug)]
pub enum Source<'a> {
    /// A folder of the old program's exports (`customers.csv`, `orders.csv`, `order_lines.csv`,
    /// `deliveries.csv`).
    Exports(&'a Path),
    /// The old database.
    Database(&'a LegacyDb),
}

/// One record that is not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reject {
    /// The legacy table.
    pub table: &'static str,
    /// The record's key (`C0042`, `11512040001`), where it has one.
    pub key: String,
    /// The export's line, for a file.
    pub line: Option<usize>,
    /// The legacy column, where the problem is in one.
    pub field: Option<String>,
    /// A stable code (`legacy.date`, `import.orphan`, `import.no_position`, …).
    pub code: String,
    /// In words.
    pub reason: String,
}

/// Duplicate customers merged into one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Merge {
    /// The number kept.
    pub survivor: String,
    /// The numbers merged into it.
    pub merged: Vec<String>,
    /// Why they are taken for one customer.
    pub reasons: Vec<String>,
}

/// Counts of one table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rows read.
    pub read: usize,
    /// Rows rejected.
    pub rejected: usize,
    /// Records that would be (dry run) or were inserted.
    pub new: usize,
    /// Records linked before and changed since: updated.
    pub updated: usize,
    /// Records linked before and equal: left alone.
    pub unchanged: usize,
    /// Records changed here since they were imported: left as they are here.
    pub kept: usize,
}

/// The report of an import or of its dry run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Whether anything was written.
    pub applied: bool,
    /// Where the data came from.
    pub source: String,
    /// `CUST_MST`.
    pub customers: Counts,
    /// Customers merged into another as duplicates.
    pub duplicates_merged: usize,
    /// Customers placed at their district's centroid.
    pub approximate_positions: usize,
    /// Customers whose phone could not be read (imported without one).
    pub unreadable_phones: usize,
    /// `ORD_HDR` (with their `ORD_DTL` lines).
    pub orders: Counts,
    /// `ORD_DTL` rows read and rejected.
    pub order_lines: Counts,
    /// `DLV_REC` rows: read, rejected, and linked to their orders.
    pub deliveries: Counts,
    /// Rejects by code.
    pub rejects_by_code: BTreeMap<String, usize>,
    /// The first [`LISTED_REJECTS`] rejects.
    pub rejects: Vec<Reject>,
    /// Every merge.
    pub merges: Vec<Merge>,
}

impl Report {
    fn reject(&mut self, r: Reject) {
        *self.rejects_by_code.entry(r.code.clone()).or_default() += 1;
        if self.rejects.len() < LISTED_REJECTS {
            self.rejects.push(r);
        }
    }

    /// The report as text for a person.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let title = if self.applied { "Import" } else { "Dry run (nothing written; run again with --apply to import)" };
        let _ = writeln!(out, "{title} from {}", self.source);
        let _ = writeln!(out, "{:<12} {:>8} {:>8} {:>8} {:>8} {:>9} {:>6}", "table", "read", "rejected", "new", "updated", "unchanged", "kept");
        for (name, c) in [("customers", self.customers), ("orders", self.orders), ("order lines", self.order_lines), ("deliveries", self.deliveries)] {
            let _ = writeln!(out, "{name:<12} {:>8} {:>8} {:>8} {:>8} {:>9} {:>6}", c.read, c.rejected, c.new, c.updated, c.unchanged, c.kept);
        }
        let _ = writeln!(out, "(kept: changed in the service since an earlier import, left as they are here)");
        let _ = writeln!(
            out,
            "duplicate customers merged: {}; approximate positions (district centroid): {}; unreadable phones: {}",
            self.duplicates_merged, self.approximate_positions, self.unreadable_phones
        );
        if !self.rejects_by_code.is_empty() {
            let _ = writeln!(out, "rejects by reason:");
            for (code, n) in &self.rejects_by_code {
                let _ = writeln!(out, "  {code:<28} {n}");
            }
            let _ = writeln!(out, "rejects (first {}):", self.rejects.len());
            for r in &self.rejects {
                let line = r.line.map(|l| format!(" line {l}")).unwrap_or_default();
                let field = r.field.as_deref().map(|f| format!(" {f}")).unwrap_or_default();
                let _ = writeln!(out, "  {} {}{line}{field}: {} ({})", r.table, r.key, r.reason, r.code);
            }
        }
        if !self.merges.is_empty() {
            let _ = writeln!(out, "merges (first 20 of {}):", self.merges.len());
            for m in self.merges.iter().take(20) {
                let _ = writeln!(out, "  {} ← {} ({})", m.survivor, m.merged.join(", "), m.reasons.join("; "));
            }
        }
        out
    }
}

/// Errors that stop an import (a reject does not).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// An export cannot be read at all (missing, not Big5, wrong header).
    #[error("{0}")]
    Export(#[from] ExportError),
    /// The file cannot be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The legacy database.
    #[error(transparent)]
    Legacy(#[from] super::legacy_db::LegacyDbError),
    /// Our database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The old tables as read: valid records, and rejects.
struct Tables {
    customers: Vec<Customer>,
    orders: Vec<Order>,
    lines: Vec<OrderLine>,
    deliveries: Vec<Delivery>,
}

fn reject_of(table: &'static str, e: &ExportError) -> Reject {
    Reject { table, key: String::new(), line: Some(e.line), field: e.field.map(str::to_owned), code: e.code().to_owned(), reason: e.problem.to_string() }
}

fn read_file<T: Record>(dir: &Path, report: &mut Report, counts: impl Fn(&mut Report) -> &mut Counts) -> Result<Vec<T>, ImportError> {
    let name = T::TABLE.export_file.unwrap_or(T::TABLE.name);
    let path = dir.join(name);
    let file = std::fs::File::open(&path).map_err(|source| ImportError::Open { path: path.display().to_string(), source })?;
    let rows = legacy::read_each::<T, _>(name, std::io::BufReader::new(file))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        counts(report).read += 1;
        match row {
            Ok(r) => out.push(r),
            Err(e) => {
                counts(report).rejected += 1;
                report.reject(reject_of(T::TABLE.name, &e));
            }
        }
    }
    Ok(out)
}

async fn read_table<T: Record>(db: &LegacyDb, report: &mut Report, counts: impl Fn(&mut Report) -> &mut Counts) -> Result<Vec<T>, ImportError> {
    let rows = db.fetch_records::<T>("", &[]).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        counts(report).read += 1;
        match row {
            Ok(r) => out.push(r),
            Err((key, e)) => {
                counts(report).rejected += 1;
                report.reject(Reject {
                    table: T::TABLE.name,
                    key,
                    line: None,
                    field: e.field.map(str::to_owned),
                    code: e.problem.code().to_owned(),
                    reason: e.problem.to_string(),
                });
            }
        }
    }
    Ok(out)
}

async fn read(source: &Source<'_>, report: &mut Report) -> Result<Tables, ImportError> {
    Ok(match source {
        Source::Exports(dir) => Tables {
            customers: read_file(dir, report, |r| &mut r.customers)?,
            orders: read_file(dir, report, |r| &mut r.orders)?,
            lines: read_file(dir, report, |r| &mut r.order_lines)?,
            deliveries: read_file(dir, report, |r| &mut r.deliveries)?,
        },
        Source::Database(db) => Tables {
            customers: read_table(db, report, |r| &mut r.customers).await?,
            orders: read_table(db, report, |r| &mut r.orders).await?,
            lines: read_table(db, report, |r| &mut r.order_lines).await?,
            deliveries: read_table(db, report, |r| &mut r.deliveries).await?,
        },
    })
}

/// A customer ready to import.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedCustomer {
    /// Its number.
    pub code: String,
    /// What both sides share of it as imported ([`super::merge::customer_view`], JSON): the
    /// base of a later merge.
    pub base: String,
    /// The fields.
    pub data: NewCustomer,
    /// Whether the position is its district's centroid.
    pub approximate: bool,
    /// Numbers of duplicates merged into it.
    pub merged: Vec<String>,
}

/// An order ready to import.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedOrder {
    /// `ORD_NO`.
    pub number: String,
    /// What both sides share of it as imported ([`super::merge::order_view`], JSON).
    pub base: String,
    /// Its customer's number (the survivor's, for a merged duplicate).
    pub customer: String,
    /// The fields (the customer id is filled in at import).
    pub data: NewOrder,
    /// Its status.
    pub status: OrderStatus,
    /// When it reached it (the delivery's report), for delivered and failed orders.
    pub status_at: Option<chrono::DateTime<Utc>>,
    /// Its delivery records, the latest last.
    pub deliveries: Vec<String>,
}

/// The phone of a customer as the service writes it: national digits (`0223456789`,
/// `0912345678#12`), from `TEL1`, else `TEL2`; `None` when neither reads.
pub(crate) fn phone_of(c: &Customer) -> Option<String> {
    [&c.tel1, &c.tel2].into_iter().find_map(|t| normalize_phone(t).ok()).map(|p| {
        let national = p.number.strip_prefix("+886").map_or_else(|| p.number.clone(), |n| format!("0{n}"));
        match p.extension {
            Some(ext) => format!("{national}#{ext}"),
            None => national,
        }
    })
}

fn windows_of(pref: TimePref) -> Vec<TimeWindow> {
    match pref {
        TimePref::Morning => vec![TimeWindow { start: "08:00".into(), end: "12:00".into() }],
        TimePref::Afternoon => vec![TimeWindow { start: "13:00".into(), end: "18:00".into() }],
        TimePref::Any => Vec::new(),
    }
}

fn field_reject(table: &'static str, key: &str, errors: Vec<crate::domain::FieldError>) -> Reject {
    let fields: Vec<String> = errors.iter().map(|e| format!("{} ({})", e.field, e.code())).collect();
    Reject {
        table,
        key: key.to_owned(),
        line: None,
        field: errors.first().map(|e| e.field.clone()),
        code: format!("import.invalid_{}", errors.first().map_or("field", |e| e.code())),
        reason: format!("does not pass the service's checks: {}", fields.join(", ")),
    }
}

/// A customer's district and street as the service keeps them: the district from `AREA` (else
/// from the address), the street without the city and district typed again.
pub(crate) fn address_parts(c: &Customer) -> (String, String) {
    let address = normalize_address(&c.address);
    let area = normalize_district(&c.area);
    let district = if area.is_empty() { address.district.clone() } else { area };
    let street = if address.street.is_empty() { c.address.trim().to_owned() } else { address.street };
    (district, street)
}

/// The customer as the service holds it, or why it cannot be: its fields, whether its position
/// is its district's centroid, and whether its phone could not be read.
pub(crate) fn convert_customer(c: &Customer) -> Result<(NewCustomer, bool, bool), Box<Reject>> {
    let address = normalize_address(&c.address);
    let (district, street) = address_parts(c);
    let city = if c.city.trim().is_empty() { address.city.clone() } else { c.city.trim().replace('臺', "台") };
    let (position, approximate) = match c.position {
        Some(p) => (Some((p.lat(), p.lon())), false),
        None => match legacy::districts::centroid(&city, &district) {
            Some(centroid) => (Some((centroid.lat, centroid.lon)), true),
            None => (None, false),
        },
    };
    let Some((lat, lon)) = position else {
        return Err(Box::new(Reject {
            table: "CUST_MST",
            key: c.code.clone(),
            line: None,
            field: Some("LAT".into()),
            code: "import.no_position".into(),
            reason: format!("no coordinates, and no known district to place it in ({city}{district})"),
        }));
    };
    let phone = phone_of(c);
    let unreadable_phone = phone.is_none() && !(c.tel1.trim().is_empty() && c.tel2.trim().is_empty());
    let input = CustomerInput {
        code: c.code.clone(),
        name: c.name.clone(),
        phone,
        address: street,
        district,
        lat: Some(lat),
        lon: Some(lon),
        time_windows: windows_of(c.time_pref),
        usual_cylinders: c.usual.nonzero().map(|(size, q)| UsualCylinder { size_kg: u32::from(size), quantity: u32::from(q) }).collect(),
        access_restrictions: Vec::new(),
        payment_method: payment_method(c.payment).as_str().to_owned(),
        allowed_vehicle_type_ids: Vec::new(),
        position_approximate: None,
    };
    let data = input.validate().map_err(|errors| Box::new(field_reject("CUST_MST", &c.code, errors)))?;
    Ok((data, approximate, unreadable_phone))
}

/// The cylinders of an order's lines (sizes with a quantity).
pub(crate) fn cylinders_of<'a>(lines: impl IntoIterator<Item = &'a OrderLine>) -> BTreeMap<u16, u32> {
    let mut cylinders: BTreeMap<u16, u32> = BTreeMap::new();
    for l in lines {
        if l.quantity > 0 {
            *cylinders.entry(l.size_kg).or_default() += u32::from(l.quantity);
        }
    }
    cylinders
}

/// An old order's fields as the service holds them (its customer id still to fill in), or why
/// they cannot be.
pub(crate) fn order_data(o: &Order, cylinders: &BTreeMap<u16, u32>) -> Result<NewOrder, Box<Reject>> {
    let preference = match o.time_pref {
        TimePref::Morning => Some("morning".to_owned()),
        TimePref::Afternoon => Some("afternoon".to_owned()),
        TimePref::Any => None,
    };
    let input = OrderInput {
        customer_id: Some(1),
        delivery_date: o.delivery_date.format("%Y-%m-%d").to_string(),
        cylinders: cylinders.iter().map(|(size, q)| UsualCylinder { size_kg: u32::from(*size), quantity: *q }).collect(),
        time_window: None,
        preference,
        priority: Some(if o.urgent { "urgent" } else { "normal" }.into()),
        note: Some(o.memo.clone()).filter(|m| !m.trim().is_empty()),
        alternative_addresses: Vec::new(),
    };
    input.validate().map_err(|errors| Box::new(field_reject("ORD_HDR", &o.number, errors)))
}

/// When a delivery was reported, as an instant.
fn delivery_instant(d: &Delivery) -> chrono::DateTime<Utc> {
    let local = NaiveDateTime::new(d.date, d.time);
    einvoice::calendar::taipei().from_local_datetime(&local).single().map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
}

/// Everything the import would write, with the report of what it rejected and merged.
pub struct Prepared {
    /// The latest "last changed" stamp of each old table read (`UPD_DT`, `UPD_TM`, key): where the
    /// pick-up of later changes starts.
    pub marks: Vec<super::pickup::Mark>,
    /// Customers, survivors only.
    pub customers: Vec<ImportedCustomer>,
    /// Orders.
    pub orders: Vec<ImportedOrder>,
    /// The report so far (counts of new/updated/unchanged come from [`apply`] or [`compare`]).
    pub report: Report,
}

/// Reads and cleans `source`: the dry run's work.
pub async fn prepare(source: &Source<'_>) -> Result<Prepared, ImportError> {
    let mut report = Report {
        source: match source {
            Source::Exports(dir) => format!("exports in {}", dir.display()),
            Source::Database(db) => format!("the legacy database ({:?})", db.dialect()),
        },
        ..Report::default()
    };
    let tables = read(source, &mut report).await?;

    // Duplicates: merged into the lowest number.
    let mut survivor_of: HashMap<String, String> = HashMap::new();
    let mut merged_into: HashMap<String, Vec<String>> = HashMap::new();
    for group in duplicates(&tables.customers) {
        let survivor = group.survivor().to_owned();
        let merged: Vec<String> = group.customers.iter().filter(|c| **c != survivor).cloned().collect();
        for m in &merged {
            survivor_of.insert(m.clone(), survivor.clone());
        }
        report.duplicates_merged += merged.len();
        report.merges.push(Merge {
            survivor: survivor.clone(),
            merged: merged.clone(),
            reasons: group
                .reasons
                .iter()
                .map(|r| match r {
                    legacy::clean::duplicates::Reason::SamePhone(p) => format!("same phone {p}"),
                    legacy::clean::duplicates::Reason::SameAddress(a) => format!("same address {a}"),
                })
                .collect(),
        });
        merged_into.insert(survivor, merged);
    }

    let mut customers = Vec::new();
    let mut known: HashSet<String> = HashSet::new();
    for c in &tables.customers {
        if survivor_of.contains_key(&c.code) {
            continue;
        }
        match convert_customer(c) {
            Ok((data, approximate, unreadable_phone)) => {
                report.approximate_positions += usize::from(approximate);
                report.unreadable_phones += usize::from(unreadable_phone);
                known.insert(c.code.clone());
                customers.push(ImportedCustomer {
                    code: c.code.clone(),
                    base: super::merge::to_json(&super::merge::customer_view(c)),
                    data,
                    approximate,
                    merged: merged_into.get(&c.code).cloned().unwrap_or_default(),
                });
            }
            Err(r) => {
                report.customers.rejected += 1;
                report.reject(*r);
            }
        }
    }

    let mut lines_of: HashMap<&str, Vec<&OrderLine>> = HashMap::new();
    for l in &tables.lines {
        lines_of.entry(l.order.as_str()).or_default().push(l);
    }
    let mut deliveries_of: HashMap<&str, Vec<&Delivery>> = HashMap::new();
    for d in &tables.deliveries {
        deliveries_of.entry(d.order.as_str()).or_default().push(d);
    }
    let mut orders = Vec::new();
    let mut order_numbers: HashSet<&str> = HashSet::new();
    for o in &tables.orders {
        let customer = survivor_of.get(&o.customer).cloned().unwrap_or_else(|| o.customer.clone());
        let reject = |code: &str, field: &str, reason: String| Reject {
            table: "ORD_HDR",
            key: o.number.clone(),
            line: None,
            field: Some(field.into()),
            code: code.into(),
            reason,
        };
        if !known.contains(&customer) {
            report.orders.rejected += 1;
            report.reject(reject("import.orphan", "CUST_NO", format!("customer {} is not imported (missing or rejected)", o.customer)));
            continue;
        }
        let cylinders = cylinders_of(lines_of.get(o.number.as_str()).into_iter().flatten().copied());
        if cylinders.is_empty() {
            report.orders.rejected += 1;
            report.reject(reject("import.no_cylinders", "ORD_DTL", "no order line with a quantity".into()));
            continue;
        }
        let mut deliveries: Vec<&Delivery> = deliveries_of.get(o.number.as_str()).cloned().unwrap_or_default();
        deliveries.sort_by_key(|d| (d.date, d.time, d.number.clone()));
        let last = deliveries.last();
        let (status, status_at) = match (o.status, last.map(|d| d.result)) {
            (legacy::codes::OrderStatus::Delivered, _) => (OrderStatus::Delivered, last.map(|d| delivery_instant(d))),
            (legacy::codes::OrderStatus::Cancelled, _) => (OrderStatus::Cancelled, None),
            (legacy::codes::OrderStatus::Open, Some(DeliveryResult::Delivered)) => (OrderStatus::Delivered, last.map(|d| delivery_instant(d))),
            (legacy::codes::OrderStatus::Open, Some(DeliveryResult::NotHome)) => (OrderStatus::Failed, last.map(|d| delivery_instant(d))),
            (legacy::codes::OrderStatus::Open, Some(DeliveryResult::Cancelled)) => (OrderStatus::Cancelled, None),
            (legacy::codes::OrderStatus::Open, None) => (OrderStatus::Received, None),
        };
        match order_data(o, &cylinders) {
            Ok(data) => {
                order_numbers.insert(o.number.as_str());
                let lines: Vec<OrderLine> = lines_of.get(o.number.as_str()).into_iter().flatten().map(|l| (*l).clone()).collect();
                orders.push(ImportedOrder {
                    number: o.number.clone(),
                    base: super::merge::to_json(&super::merge::order_view(o, &lines, &customer)),
                    customer,
                    data,
                    status,
                    status_at,
                    deliveries: deliveries.iter().map(|d| d.number.clone()).collect(),
                });
            }
            Err(r) => {
                report.orders.rejected += 1;
                report.reject(*r);
            }
        }
    }
    for d in &tables.deliveries {
        if !order_numbers.contains(d.order.as_str()) {
            report.deliveries.rejected += 1;
            report.reject(Reject {
                table: "DLV_REC",
                key: d.number.clone(),
                line: None,
                field: Some("ORD_NO".into()),
                code: "import.orphan".into(),
                reason: format!("order {} is not imported (missing or rejected)", d.order),
            });
        }
    }
    let all_orders: HashSet<&str> = tables.orders.iter().map(|o| o.number.as_str()).collect();
    for l in &tables.lines {
        if !all_orders.contains(l.order.as_str()) {
            report.order_lines.rejected += 1;
            report.reject(Reject {
                table: "ORD_DTL",
                key: format!("{}/{}", l.order, l.seq),
                line: None,
                field: Some("ORD_NO".into()),
                code: "import.orphan".into(),
                reason: format!("order {} does not exist", l.order),
            });
        }
    }
    let marks = [
        super::pickup::latest_mark(&legacy::schema::CUST_MST, tables.customers.iter().map(|c| (&c.updated, c.code.as_str()))),
        super::pickup::latest_mark(&legacy::schema::ORD_HDR, tables.orders.iter().map(|o| (&o.updated, o.number.as_str()))),
        super::pickup::latest_mark(&legacy::schema::DLV_REC, tables.deliveries.iter().map(|d| (&d.updated, d.number.as_str()))),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(Prepared { marks, customers, orders, report })
}

/// Runs the import: the dry run when `apply` is false (nothing written; the new/updated/unchanged
/// counts say what an import would do), else the import itself.
pub async fn run(store: &Store, source: &Source<'_>, apply: bool) -> Result<Report, ImportError> {
    let prepared = prepare(source).await?;
    let mut report = prepared.report;
    report.applied = apply;
    let run_id = if apply { Some(store.begin_legacy_import(&report.source).await?) } else { None };
    for chunk in prepared.customers.chunks(BATCH) {
        let counts = store.import_customers(chunk, apply).await?;
        add(&mut report.customers, counts);
    }
    let mut codes: HashMap<String, i64> = store.legacy_links("customer").await?.into_iter().collect();
    if !apply {
        // A dry run has not inserted the new customers: their orders count as new.
        for c in &prepared.customers {
            codes.entry(c.code.clone()).or_insert(0);
        }
    }
    for chunk in prepared.orders.chunks(BATCH) {
        let (counts, deliveries) = store.import_orders(chunk, &codes, apply).await?;
        add(&mut report.orders, counts);
        add(&mut report.deliveries, deliveries);
    }
    if let Some(id) = run_id {
        // Changes the old program makes after what was imported are picked up from here on.
        for mark in &prepared.marks {
            store.set_pickup_mark(mark, true).await?;
        }
        let json = serde_json::to_string(&report).unwrap_or_default();
        store.finish_legacy_import(id, &json).await?;
    }
    Ok(report)
}

fn add(into: &mut Counts, c: Counts) {
    into.new += c.new;
    into.updated += c.updated;
    into.unchanged += c.unchanged;
    into.kept += c.kept;
}
