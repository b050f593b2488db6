//! A realistic dataset of the distributor's old system (issue 18): customers with schedules and
//! usual quantities, a year of orders and deliveries, and the dirt real data has — deterministic
//! for a seed. The rows are text in the old tables' column order ([`legacy::schema`]), so they
//! hold what the old database holds, bad rows included; [`LegacyDataset::write_to`] writes the
//! old program's Big5 CSV exports and SQL scripts that load the old database (SQLite and
//! PostgreSQL).
//!
//! The customer model follows [`crate::distributor`]: households (72%) mostly with one 20 kg
//! cylinder, restaurants (22%) with several 20 kg or one or two 50 kg, factories (6%) with 50 kg;
//! names, districts and coordinates come from the same tables ([`crate::taipei`]). What each
//! table holds and the rates of the dirt are in `legacy/README.md` ("The generated dataset").

mod activity;
mod dirt;
mod spelling;
#[cfg(test)]
mod tests;

use crate::places::DISTRICTS;
use crate::rng::SplitMix64;
use crate::taipei::{jitter, name, Kind};
use chrono::{Days, NaiveDate, NaiveTime};
use legacy::codes::{CustomerKind, Payment, Schedule, TimePref};
use legacy::export::{Record, WriteError};
use legacy::schema::{Dialect, Table, CUST_MST, DLV_REC, ORD_DTL, ORD_HDR};
use legacy::sql::SqlError;
use legacy::{Customer, LatLon, Quantities, Stamp};
use spelling::{city_of, name_variant, PhoneNumber, Place, JUNK_PHONES};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyOptions {
    /// Customers entered before the first day (re-entered duplicates come on top).
    pub customers: usize,
    /// Days of orders and deliveries.
    pub days: u32,
    /// The first day.
    pub start: NaiveDate,
}

impl LegacyOptions {
    /// The most customers: numbers are `C` and four digits, and duplicates add 3%.
    pub const MAX_CUSTOMERS: usize = 9000;

    /// `customers` customers over `days` days from 2025-12-01.
    pub fn new(customers: usize, days: u32) -> Self {
        LegacyOptions { customers, days, start: NaiveDate::from_ymd_opt(2025, 12, 1).unwrap_or(NaiveDate::MIN) }
    }
}

/// Why a dataset could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    /// More customers than the old numbering holds.
    #[error("at most {max} customers (customer numbers are C and four digits)", max = LegacyOptions::MAX_CUSTOMERS)]
    TooManyCustomers,
    /// No days, or more than ten years.
    #[error("--days must be 1 to 3660")]
    Days,
    /// More than 9,999 orders or deliveries numbered on one day.
    #[error("more than 9999 orders or deliveries on {0}")]
    TooManyOnOneDay(NaiveDate),
    /// An export could not be written.
    #[error(transparent)]
    Export(#[from] WriteError),
    /// A SQL script could not be written.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A row made bad on purpose: the importer must reject it with `code` for `field`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planted {
    /// The row's position in its table (0-based; line `row + 2` of the export).
    pub row: usize,
    /// The row's key (`C0042`, `11512040001`, `11512040001/1`).
    pub key: String,
    /// The legacy column made bad.
    pub field: &'static str,
    /// The reader's code for it (`legacy.date`, `legacy.negative`, …).
    pub code: &'static str,
}

/// The dirt planted in a dataset, to check an import against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dirt {
    /// Re-entered customers: (the original's number, the re-entered one's).
    pub duplicates: Vec<(String, String)>,
    /// How many of them share the original's phone number, typed another way (the others share
    /// the address, spelt another way, under a similar name).
    pub duplicates_by_phone: usize,
    /// Customers without coordinates.
    pub missing_coordinates: usize,
    /// Customers whose `TEL1` is no phone number (`無`, empty, a digit short).
    pub junk_phones: usize,
    /// Bad customer rows.
    pub bad_customers: Vec<Planted>,
    /// Bad order rows.
    pub bad_orders: Vec<Planted>,
    /// Bad order-line rows.
    pub bad_order_lines: Vec<Planted>,
    /// Bad delivery rows.
    pub bad_deliveries: Vec<Planted>,
    /// Orders naming a customer that does not exist: their numbers.
    pub orphan_orders: Vec<String>,
}

/// A generated legacy dataset: the rows of each table as text, and the dirt planted in them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyDataset {
    /// `CUST_MST` rows.
    pub customers: Vec<Vec<String>>,
    /// `ORD_HDR` rows.
    pub orders: Vec<Vec<String>>,
    /// `ORD_DTL` rows.
    pub order_lines: Vec<Vec<String>>,
    /// `DLV_REC` rows.
    pub deliveries: Vec<Vec<String>>,
    /// What was planted.
    pub dirt: Dirt,
}

impl LegacyDataset {
    /// Each exported table with its rows.
    pub fn tables(&self) -> [(&'static Table, &[Vec<String>]); 4] {
        [(&CUST_MST, &self.customers), (&ORD_HDR, &self.orders), (&ORD_DTL, &self.order_lines), (&DLV_REC, &self.deliveries)]
    }

    /// The SQL script loading the dataset into an empty legacy database of `dialect`.
    pub fn sql(&self, dialect: Dialect) -> Result<String, SqlError> {
        legacy::sql::script(dialect, &self.tables(), legacy::sql::BATCH_ROWS)
    }

    /// Writes the four Big5 CSV exports (`customers.csv`, `orders.csv`, `order_lines.csv`,
    /// `deliveries.csv`) and `legacy-sqlite.sql`, `legacy-postgres.sql` into `dir` (created if
    /// missing); returns the paths written.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<PathBuf>, LegacyError> {
        std::fs::create_dir_all(dir).map_err(|source| LegacyError::Io { path: dir.to_owned(), source })?;
        let mut written = Vec::new();
        let mut put = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|source| LegacyError::Io { path: path.clone(), source })?;
            written.push(path);
            Ok::<_, LegacyError>(())
        };
        for (table, rows) in self.tables() {
            put(table.export_file.unwrap_or(table.name), &legacy::export::write_rows(table, rows)?)?;
        }
        put("legacy-sqlite.sql", self.sql(Dialect::Sqlite)?.as_bytes())?;
        put("legacy-postgres.sql", self.sql(Dialect::Postgres)?.as_bytes())?;
        Ok(written)
    }
}

/// The old program's users, as `UPD_USER`.
const CLERKS: [&str; 5] = ["MEI", "CHEN01", "LIN", "WANG", "ADMIN"];

/// Memos clerks leave on customers.
const MEMOS: [&str; 7] = ["請按門鈴", "後門進出", "巷口停車", "樓梯窄", "中午休息勿送", "電話先聯絡", "管理室代收"];

/// What the simulation of orders needs to know about a customer.
#[derive(Clone, Debug)]
pub(crate) struct Profile {
    pub code: String,
    pub kind: Kind,
    pub schedule: Schedule,
    pub day: u8,
    pub usual: Quantities,
    pub time_pref: TimePref,
    pub payment: Payment,
    pub district: usize,
    /// Days between calls of an on-call customer.
    pub interval: u32,
    pub created: NaiveDate,
    /// The last day served, for a customer stopped.
    pub stop: Option<NaiveDate>,
    /// The re-entered record and the day it was made: orders may go to either afterwards.
    pub twin: Option<(String, NaiveDate)>,
}

fn days_after(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_add_days(Days::new(n)).unwrap_or(date)
}

fn stamp(rng: &mut SplitMix64, date: NaiveDate) -> Stamp {
    let seconds = 8 * 3600 + rng.below(10 * 3600) as u32;
    Stamp { date, time: NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or(NaiveTime::MIN), user: rng.pick(&CLERKS).to_string() }
}

/// The usual order of a customer of `kind`, as `distributor.rs` draws it (and a tenth of the
/// restaurants with both 20 kg and 50 kg).
fn usual(rng: &mut SplitMix64, kind: Kind) -> Quantities {
    let mut q = Quantities::default();
    let pairs: Vec<(u16, u16)> = match kind {
        Kind::Household => [vec![(20, 1)], vec![(20, 2)], vec![(16, 1)], vec![(10, 1)], vec![(4, 2)]][rng.weighted(&[60, 12, 12, 10, 6])].clone(),
        Kind::Restaurant => match rng.weighted(&[30, 10, 60]) {
            0 => vec![(50, 1 + rng.below(2) as u16)],
            1 => vec![(20, 2 + rng.below(3) as u16), (50, 1)],
            _ => vec![(20, 2 + rng.below(3) as u16)],
        },
        Kind::Factory => vec![(50, 2 + rng.below(2) as u16)],
    };
    for (kg, n) in pairs {
        q.set(kg, n);
    }
    q
}

fn schedule(rng: &mut SplitMix64, kind: Kind) -> (Schedule, u8) {
    let weights: [u32; 4] = match kind {
        Kind::Household => [5, 15, 40, 40],
        Kind::Restaurant => [55, 15, 0, 30],
        Kind::Factory => [60, 25, 5, 10],
    };
    let schedule = [Schedule::Weekly, Schedule::Biweekly, Schedule::Monthly, Schedule::OnCall][rng.weighted(&weights)];
    let day = match schedule {
        Schedule::Weekly | Schedule::Biweekly => 1 + rng.below(6) as u8,
        Schedule::Monthly => 1 + rng.below(28) as u8,
        Schedule::OnCall => 0,
    };
    (schedule, day)
}

/// A customer record and its profile, before dirt.
struct Entry {
    record: Customer,
    profile: Profile,
    place: Place,
    phone: Option<PhoneNumber>,
}

/// Draws a phone number no one else has.
fn unique_phone(rng: &mut SplitMix64, taken: &mut HashSet<String>, draw: impl Fn(&mut SplitMix64) -> PhoneNumber) -> PhoneNumber {
    loop {
        let p = draw(rng);
        if taken.insert(p.key()) {
            return p;
        }
    }
}

/// Generates the dataset of `seed` (see the module docs and the README for what it holds).
pub fn generate_legacy(seed: u64, options: &LegacyOptions) -> Result<LegacyDataset, LegacyError> {
    if options.customers > LegacyOptions::MAX_CUSTOMERS {
        return Err(LegacyError::TooManyCustomers);
    }
    if !(1..=3660).contains(&options.days) {
        return Err(LegacyError::Days);
    }
    // Independent streams, so that a change in one part does not reshuffle the others.
    let mut rng = SplitMix64::new(seed ^ 0x4C45_4741_4359_0001);
    let mut dirt = Dirt::default();
    let mut phones: HashSet<String> = HashSet::new();
    let mut places: HashSet<_> = HashSet::new();
    let weights: Vec<u32> = DISTRICTS.iter().map(|d| d.weight).collect();
    let first_day = NaiveDate::from_ymd_opt(2001, 1, 1).unwrap_or(NaiveDate::MIN);
    let history = (options.start - first_day).num_days().max(1) as usize;
    let mut created: Vec<NaiveDate> = (0..options.customers).map(|_| days_after(first_day, rng.below(history) as u64)).collect();
    created.sort_unstable();

    let mut entries: Vec<Entry> = Vec::with_capacity(options.customers * 104 / 100);
    for (i, created) in created.into_iter().enumerate() {
        let kind = [Kind::Household, Kind::Restaurant, Kind::Factory][rng.weighted(&[72, 22, 6])];
        let district = rng.weighted(&weights);
        let place = loop {
            let p = Place::draw(&mut rng, district, kind);
            if places.insert(p.key()) {
                break p;
            }
        };
        let landline = kind != Kind::Household || rng.chance(0.6);
        let tel1 = if landline {
            let extension = kind != Kind::Household && rng.chance(0.25);
            unique_phone(&mut rng, &mut phones, |r| PhoneNumber::landline(r, extension))
        } else {
            unique_phone(&mut rng, &mut phones, PhoneNumber::mobile)
        };
        let tel2 = (landline && rng.chance(0.35)).then(|| unique_phone(&mut rng, &mut phones, PhoneNumber::mobile));
        let junk = rng.chance(0.01);
        let (schedule, day) = schedule(&mut rng, kind);
        let usual = usual(&mut rng, kind);
        let time_pref = [TimePref::Morning, TimePref::Afternoon, TimePref::Any][rng.weighted(match kind {
            Kind::Household => &[45, 35, 20],
            Kind::Restaurant => &[60, 25, 15],
            Kind::Factory => &[30, 20, 50],
        })];
        let payment = match kind {
            Kind::Household => [Payment::Cash, Payment::Cash, Payment::Cash, Payment::Transfer][rng.below(4)],
            _ => [Payment::Monthly, Payment::Monthly, Payment::Transfer][rng.below(3)],
        };
        let stopped = rng.chance(0.03);
        // Half of the stopped customers stopped before the period, half during it.
        let stop =
            stopped.then(|| if rng.chance(0.5) { options.start - Days::new(1) } else { days_after(options.start, rng.below(options.days as usize) as u64) });
        let area_empty = rng.chance(0.02);
        let city = match rng.weighted(&[70, 25, 5]) {
            0 => city_of(district).to_owned(),
            1 => city_of(district).replace('台', "臺"),
            _ => String::new(),
        };
        let position = (!rng.chance(0.05)).then(|| jitter(&mut rng, &DISTRICTS[district])).and_then(|(lat, lon)| LatLon::from_degrees(lat, lon));
        dirt.missing_coordinates += usize::from(position.is_none());
        let updated_on = stop.unwrap_or_else(|| days_after(created, rng.below((options.start - created).num_days().max(1) as usize) as u64));
        let code = format!("C{:04}", i + 1);
        let record = Customer {
            code: code.clone(),
            name: name(&mut rng, kind),
            kind: match kind {
                Kind::Household => CustomerKind::Household,
                Kind::Restaurant => CustomerKind::Commercial,
                Kind::Factory => CustomerKind::Industrial,
            },
            tel1: if junk { rng.pick(&JUNK_PHONES).to_string() } else { tel1.spell(&mut rng) },
            tel2: tel2.map(|p| p.spell(&mut rng)).unwrap_or_default(),
            city,
            area: if area_empty { String::new() } else { DISTRICTS[district].name.to_owned() },
            address: place.spell(&mut rng, area_empty),
            position,
            schedule,
            schedule_day: day,
            usual,
            time_pref,
            payment,
            memo: if rng.chance(0.15) { rng.pick(&MEMOS).to_string() } else { String::new() },
            stopped,
            created,
            updated: stamp(&mut rng, updated_on),
        };
        dirt.junk_phones += usize::from(junk);
        let interval = match kind {
            Kind::Household => 20 + rng.below(25) as u32,
            Kind::Restaurant => 5 + rng.below(8) as u32,
            Kind::Factory => 4 + rng.below(7) as u32,
        } * u32::from(usual.total().clamp(1, 3) as u16);
        let profile = Profile { code, kind, schedule, day, usual, time_pref, payment, district, interval, created, stop, twin: None };
        entries.push(Entry { record, profile, place, phone: (!junk).then_some(tel1) });
    }

    reenter(&mut rng, &mut entries, &mut phones, &mut dirt, options);

    let profiles: Vec<Profile> = entries.iter().map(|e| e.profile.clone()).collect();
    let mut activity_rng = SplitMix64::new(seed ^ 0x4C45_4741_4359_0002);
    let activity = activity::simulate(&mut activity_rng, &profiles, options)?;

    let mut dataset = LegacyDataset {
        customers: entries.iter().map(|e| e.record.to_fields()).collect(),
        orders: activity.orders.iter().map(Record::to_fields).collect(),
        order_lines: activity.lines.iter().map(Record::to_fields).collect(),
        deliveries: activity.deliveries.iter().map(Record::to_fields).collect(),
        dirt,
    };
    let mut dirt_rng = SplitMix64::new(seed ^ 0x4C45_4741_4359_0003);
    let protected: HashSet<String> = dataset.dirt.duplicates.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
    dirt::plant(&mut dirt_rng, &mut dataset, &protected);
    Ok(dataset)
}

/// Re-enters 3% of the customers (at least one when there are twenty): a new record, made some
/// day in the period, for the same person or shop — half with the same phone number typed
/// another way, half with a new number and the same address spelt another way under a similar
/// name. Only customers with a usable phone and still served are re-entered.
fn reenter(rng: &mut SplitMix64, entries: &mut Vec<Entry>, phones: &mut HashSet<String>, dirt: &mut Dirt, options: &LegacyOptions) {
    let count = if entries.len() < 20 { 0 } else { (entries.len() * 3).div_ceil(100) };
    let mut chosen: Vec<usize> = Vec::new();
    let mut tries = 0;
    while chosen.len() < count && tries < entries.len() * 10 {
        tries += 1;
        let i = rng.below(entries.len());
        if !chosen.contains(&i) && entries[i].phone.is_some() && entries[i].profile.stop.is_none() {
            chosen.push(i);
        }
    }
    let mut twins: Vec<(usize, Entry)> = Vec::new();
    for i in chosen {
        let original = &entries[i];
        let by_phone = rng.chance(0.5);
        let span = u64::from(options.days);
        let created = days_after(options.start, span / 10 + rng.below((span * 8 / 10).max(1) as usize) as u64);
        let kind = original.profile.kind;
        let (tel1, tel2) = match (by_phone, original.phone) {
            (true, Some(phone)) => {
                // The same number, typed another way if the draw allows.
                let mut typed = phone.spell(rng);
                for _ in 0..5 {
                    if typed != original.record.tel1 {
                        break;
                    }
                    typed = phone.spell(rng);
                }
                (typed, String::new())
            }
            _ => (unique_phone(rng, phones, PhoneNumber::mobile).spell(rng), String::new()),
        };
        let area_empty = rng.chance(0.1);
        let mut record = Customer {
            name: if by_phone && rng.chance(0.5) { original.record.name.clone() } else { name_variant(rng, &original.record.name, kind) },
            tel1,
            tel2,
            area: if area_empty { String::new() } else { DISTRICTS[original.place.district].name.to_owned() },
            address: original.place.spell(rng, area_empty),
            position: if rng.chance(0.5) { None } else { original.record.position },
            created,
            updated: stamp(rng, created),
            stopped: false,
            ..original.record.clone()
        };
        if record.name.chars().count() > 20 {
            record.name = original.record.name.clone();
        }
        dirt.duplicates_by_phone += usize::from(by_phone);
        twins.push((i, Entry { record, profile: original.profile.clone(), place: original.place, phone: None }));
    }
    // Numbers in the order the records were made, after the originals'.
    twins.sort_by_key(|(i, e)| (e.record.created, *i));
    for (i, mut twin) in twins {
        let code = format!("C{:04}", entries.len() + 1);
        twin.record.code = code.clone();
        dirt.missing_coordinates += usize::from(twin.record.position.is_none());
        entries[i].profile.twin = Some((code.clone(), twin.record.created));
        dirt.duplicates.push((entries[i].record.code.clone(), code));
        // The twin itself orders nothing of its own: its orders come through the original's
        // profile (`twin`), so that the customer's rhythm is kept.
        twin.profile.schedule = Schedule::OnCall;
        twin.profile.created = NaiveDate::MAX;
        entries.push(twin);
    }
}
