//! How an entity of the new service is written in the old tables (the dual write), and how an old
//! record reads here (the import): pure functions, no database.
//!
//! The old program keeps a few things the new service does not model (a customer's kind, second
//! phone, delivery schedule and memo; an order's source); a write keeps what the legacy record
//! already holds there, and a record new to the old side gets the old program's defaults
//! (household, on call, phone order). What does not fit an old column is refused rather than cut
//! ([`ProjectError`]): a customer code that is not `C` and four digits, a name longer than its 40
//! Big5 bytes, a cylinder size the old program has no column for. Only the free-text memo of an
//! order is shortened to its width, with `…`.

use crate::domain::customer::{TimeWindow, UsualCylinder};
use crate::domain::{Customer, Order, OrderStatus, PaymentMethod, Priority, TimePreference};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use einvoice::money::Ntd;
use legacy::codes::{CustomerKind, DeliveryResult, OrderSource, Payment, Schedule, TimePref};
use legacy::schema::{MEMO_BYTES, NAME_BYTES, SYNC_USER};
use legacy::{Quantities, Stamp};

/// Why an entity cannot be written in the old tables as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{column}: {problem}")]
pub struct ProjectError {
    /// The legacy column.
    pub column: &'static str,
    /// What does not fit.
    pub problem: String,
}

fn refuse(column: &'static str, problem: impl Into<String>) -> ProjectError {
    ProjectError { column, problem: problem.into() }
}

/// The stamp of a write by the new service at `now`: `UPD_USER` is [`SYNC_USER`], so the pick-up
/// of changes made in the old program never reads it back (no echo).
pub fn sync_stamp(now: DateTime<Utc>) -> Stamp {
    let local = now.with_timezone(&einvoice::calendar::taipei());
    let time = NaiveTime::from_hms_opt(chrono::Timelike::hour(&local), chrono::Timelike::minute(&local), chrono::Timelike::second(&local)).unwrap_or_default();
    Stamp { date: local.date_naive(), time, user: SYNC_USER.into() }
}

/// The day of `t` in Taipei.
pub fn taipei_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&einvoice::calendar::taipei()).date_naive()
}

/// Whether `code` is an old customer number: `C` and four digits.
pub fn is_customer_no(code: &str) -> bool {
    code.len() == legacy::record::CUSTOMER_NO_LEN && code.starts_with('C') && code[1..].bytes().all(|b| b.is_ascii_digit())
}

fn width_at_most(column: &'static str, text: &str, bytes: usize) -> Result<(), ProjectError> {
    match legacy::big5::len(text) {
        Ok(n) if n <= bytes => Ok(()),
        Ok(n) => Err(refuse(column, format!("{n} Big5 bytes, the column holds {bytes}: {text}"))),
        Err(c) => Err(refuse(column, format!("{c:?} has no Big5 form"))),
    }
}

/// `text` cut to `bytes` Big5 bytes (with `…` when cut); characters without a Big5 form become
/// `?`.
pub fn fit(text: &str, bytes: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    let chars: Vec<char> = text.chars().map(|c| if legacy::big5::char_width(c).is_some() { c } else { '?' }).collect();
    let total: usize = chars.iter().map(|c| legacy::big5::char_width(*c).unwrap_or(1)).sum();
    if total <= bytes {
        return chars.into_iter().collect();
    }
    for c in chars {
        let w = legacy::big5::char_width(c).unwrap_or(1);
        if used + w + 2 > bytes {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// The old cylinder counts of `lines` (4, 10, 16, 20 and 50 kg); another size is refused.
pub fn quantities(column: &'static str, lines: &[UsualCylinder]) -> Result<Quantities, ProjectError> {
    let mut q = Quantities::default();
    for line in lines {
        let size = u16::try_from(line.size_kg).unwrap_or(0);
        let count = u16::try_from(line.quantity).map_err(|_| refuse(column, format!("{} cylinders", line.quantity)))?;
        if !q.set(size, q.of(size).saturating_add(count)) {
            return Err(refuse(column, format!("the old program has no column for {} kg cylinders", line.size_kg)));
        }
    }
    Ok(q)
}

/// The time preference the old program would show for `windows`: morning when every window ends
/// by noon, afternoon when every one starts at noon or later, else any time.
pub fn time_pref_of(windows: &[TimeWindow], preference: Option<TimePreference>) -> TimePref {
    match preference {
        Some(TimePreference::Morning) => return TimePref::Morning,
        Some(TimePreference::Afternoon) => return TimePref::Afternoon,
        None => {}
    }
    if windows.is_empty() {
        TimePref::Any
    } else if windows.iter().all(|w| w.end.as_str() <= "12:00") {
        TimePref::Morning
    } else if windows.iter().all(|w| w.start.as_str() >= "12:00") {
        TimePref::Afternoon
    } else {
        TimePref::Any
    }
}

/// The old payment code of a payment method.
pub fn payment_code(method: PaymentMethod) -> Payment {
    match method {
        PaymentMethod::Cash => Payment::Cash,
        PaymentMethod::Transfer => Payment::Transfer,
        PaymentMethod::Monthly => Payment::Monthly,
    }
}

/// The payment method of an old payment code.
pub fn payment_method(code: Payment) -> PaymentMethod {
    match code {
        Payment::Cash => PaymentMethod::Cash,
        Payment::Transfer => PaymentMethod::Transfer,
        Payment::Monthly => PaymentMethod::Monthly,
    }
}

/// The city of a district of Taipei or New Taipei (`信義區` → `台北市`), as the old program spells
/// it, or empty.
fn city_of(district: &str) -> String {
    legacy::districts::CENTROIDS.iter().find(|c| c.district == district).map(|c| c.city.to_owned()).unwrap_or_default()
}

/// `CUST_MST` of customer `c` at `now`, keeping from `old` (the legacy record as it is, if any)
/// what the new service does not model.
pub fn customer_record(c: &Customer, old: Option<&legacy::Customer>, now: DateTime<Utc>) -> Result<legacy::Customer, ProjectError> {
    let d = &c.data;
    if !is_customer_no(&d.code) {
        return Err(refuse("CUST_NO", format!("{} is not C and four digits", d.code)));
    }
    width_at_most("CUST_NM", &d.name, NAME_BYTES)?;
    let tel1 = d.phone.clone().unwrap_or_default();
    width_at_most("TEL1", &tel1, legacy::schema::PHONE_BYTES)?;
    width_at_most("ADDR", &d.address, legacy::schema::ADDRESS_BYTES)?;
    width_at_most("AREA", &d.district, 6)?;
    // An approximate position (a district's centroid) stays "no coordinates" in the old table.
    let position = if c.position_approximate { old.and_then(|o| o.position) } else { legacy::LatLon::from_degrees(d.lat, d.lon) };
    let (kind, tel2, city, schedule, schedule_day, memo, created) = match old {
        Some(o) => (o.kind, o.tel2.clone(), o.city.clone(), o.schedule, o.schedule_day, o.memo.clone(), o.created),
        None => (CustomerKind::Household, String::new(), city_of(&d.district), Schedule::OnCall, 0, String::new(), taipei_day(c.created_at)),
    };
    // A city the old record spells its own way (臺北市) is kept while the district is the same.
    let city = if old.is_some_and(|o| o.area == d.district) { city } else { city_of(&d.district) };
    Ok(legacy::Customer {
        code: d.code.clone(),
        name: d.name.clone(),
        kind,
        tel1,
        tel2,
        city,
        area: d.district.clone(),
        address: d.address.clone(),
        position,
        schedule,
        schedule_day,
        usual: quantities("USU_*", &d.usual_cylinders)?,
        time_pref: time_pref_of(&d.time_windows, None),
        payment: payment_code(d.payment_method),
        memo,
        stopped: false,
        created,
        updated: sync_stamp(now),
    })
}

/// Whether two customer records hold the same (their change stamps aside).
pub fn same_customer(a: &legacy::Customer, b: &legacy::Customer) -> bool {
    let mut b = b.clone();
    b.updated = a.updated.clone();
    *a == b
}

/// A delivery as the new service knows it: when the order was reported delivered or failed, by
/// which driver, and the cash taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryFacts {
    /// When it was reported.
    pub at: DateTime<Utc>,
    /// The driver's id, if known.
    pub driver_id: Option<i64>,
    /// Cash collected at the door (NT$).
    pub cash: i64,
}

/// Unit prices (tax included, NT$ per cylinder) by size, for the old order lines.
pub type UnitPrices = Vec<(u32, i64)>;

/// `ORD_HDR` and `ORD_DTL` of order `o` of the customer numbered `customer_no`, numbered
/// `number`, at `now`, keeping from `old` what the new service does not model.
pub fn order_record(
    o: &Order,
    customer_no: &str,
    number: &str,
    prices: &UnitPrices,
    old: Option<&legacy::Order>,
    now: DateTime<Utc>,
) -> Result<(legacy::Order, Vec<legacy::OrderLine>), ProjectError> {
    let q = quantities("ORD_DTL.CYL_KG", &o.data.cylinders)?;
    let mut lines = Vec::new();
    let mut total = 0i64;
    for (seq, (size, count)) in q.nonzero().enumerate() {
        let price = prices.iter().find(|(kg, _)| *kg == u32::from(size)).map_or(0, |(_, p)| *p);
        let amount = price * i64::from(count);
        total += amount;
        lines.push(legacy::OrderLine {
            order: number.to_owned(),
            seq: u16::try_from(seq + 1).unwrap_or(u16::MAX),
            size_kg: size,
            quantity: count,
            unit_price: Ntd(price),
            amount: Ntd(amount),
        });
    }
    let status = match o.status {
        OrderStatus::Delivered => legacy::codes::OrderStatus::Delivered,
        OrderStatus::Cancelled => legacy::codes::OrderStatus::Cancelled,
        OrderStatus::Received | OrderStatus::Planned | OrderStatus::Dispatched | OrderStatus::Failed => legacy::codes::OrderStatus::Open,
    };
    let windows: Vec<TimeWindow> = o.data.time_window.iter().cloned().collect();
    let header = legacy::Order {
        number: number.to_owned(),
        ordered: old.map_or_else(|| taipei_day(o.created_at), |h| h.ordered),
        customer: customer_no.to_owned(),
        delivery_date: o.data.delivery_date,
        time_pref: time_pref_of(&windows, o.data.preference),
        source: old.map_or(OrderSource::Phone, |h| h.source),
        urgent: o.data.priority == Priority::Urgent,
        status,
        total: Ntd(total),
        memo: fit(o.data.note.as_deref().unwrap_or(""), MEMO_BYTES),
        updated: sync_stamp(now),
    };
    Ok((header, lines))
}

/// Whether two order headers hold the same (stamps aside).
pub fn same_order(a: &legacy::Order, b: &legacy::Order) -> bool {
    let mut b = b.clone();
    b.updated = a.updated.clone();
    *a == b
}

/// `DLV_REC` of order `o` delivered or failed (`facts`), numbered `number`.
pub fn delivery_record(
    o: &Order,
    customer_no: &str,
    order_no: &str,
    number: &str,
    facts: &DeliveryFacts,
    now: DateTime<Utc>,
) -> Result<legacy::Delivery, ProjectError> {
    let local = facts.at.with_timezone(&einvoice::calendar::taipei());
    let delivered = o.status == OrderStatus::Delivered;
    let driver = match facts.driver_id {
        Some(id) if (0..1000).contains(&id) => format!("D{id:03}"),
        _ => String::new(),
    };
    Ok(legacy::Delivery {
        number: number.to_owned(),
        order: order_no.to_owned(),
        customer: customer_no.to_owned(),
        date: o.data.delivery_date,
        time: NaiveTime::from_hms_opt(chrono::Timelike::hour(&local), chrono::Timelike::minute(&local), 0).unwrap_or_default(),
        driver,
        result: if delivered { DeliveryResult::Delivered } else { DeliveryResult::NotHome },
        delivered: if delivered { quantities("DLV_*", &o.data.cylinders)? } else { Quantities::default() },
        collected: Ntd(if delivered { facts.cash.max(0) } else { 0 }),
        updated: sync_stamp(now),
    })
}

/// Whether two delivery records hold the same (stamps aside).
pub fn same_delivery(a: &legacy::Delivery, b: &legacy::Delivery) -> bool {
    let mut b = b.clone();
    b.updated = a.updated.clone();
    *a == b
}

/// A legacy number of the new service's own range: the ROC date of `day` and a sequence from
/// 5001 (the old program numbers from 0001 and never reached 5000 in a day), `11512055001`.
pub fn own_number(day: NaiveDate, seq: u32) -> Option<String> {
    let date = einvoice::calendar::format_roc(day, einvoice::calendar::RocStyle::Compact).ok()?;
    (seq <= 4998).then(|| format!("{date}{:04}", 5001 + seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewCustomer;

    fn customer(code: &str, name: &str) -> Customer {
        let now = Utc::now();
        Customer {
            id: 7,
            data: NewCustomer {
                code: code.into(),
                name: name.into(),
                phone: Some("0912-345-678".into()),
                address: "忠孝東路4段123號".into(),
                district: "大安區".into(),
                lat: 25.0418,
                lon: 121.5437,
                time_windows: vec![TimeWindow { start: "08:00".into(), end: "11:00".into() }],
                usual_cylinders: vec![UsualCylinder { size_kg: 20, quantity: 2 }],
                access_restrictions: vec![],
                payment_method: PaymentMethod::Monthly,
                allowed_vehicle_type_ids: vec![],
            },
            position_approximate: false,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_customer_reads_in_the_old_columns_and_keeps_what_only_the_old_side_has() {
        let now = Utc::now();
        let c = customer("C0042", "好吃小館");
        let record = customer_record(&c, None, now).unwrap();
        assert_eq!(
            (record.city.as_str(), record.schedule, record.time_pref, record.payment),
            ("臺北市", Schedule::OnCall, TimePref::Morning, Payment::Monthly)
        );
        assert_eq!(record.usual.of(20), 2);
        assert_eq!(record.updated.user, SYNC_USER);
        let mut old = record.clone();
        old.memo = "請按門鈴".into();
        old.schedule = Schedule::Weekly;
        old.schedule_day = 3;
        old.city = "台北市".into();
        let again = customer_record(&c, Some(&old), now).unwrap();
        assert_eq!((again.memo.as_str(), again.schedule, again.schedule_day, again.city.as_str()), ("請按門鈴", Schedule::Weekly, 3, "台北市"));
        assert!(same_customer(&again, &old));
    }

    #[test]
    fn what_does_not_fit_is_refused_not_cut() {
        let now = Utc::now();
        assert_eq!(customer_record(&customer("C12345", "店"), None, now).unwrap_err().column, "CUST_NO");
        assert_eq!(customer_record(&customer("C0001", &"長".repeat(21)), None, now).unwrap_err().column, "CUST_NM");
        let mut c = customer("C0001", "店");
        c.data.usual_cylinders = vec![UsualCylinder { size_kg: 18, quantity: 1 }];
        assert!(customer_record(&c, None, now).unwrap_err().problem.contains("18 kg"));
    }

    #[test]
    fn memos_are_cut_to_their_big5_width() {
        assert_eq!(fit("請按門鈴", 60), "請按門鈴");
        let long = "請".repeat(40);
        let cut = fit(&long, MEMO_BYTES);
        assert!(legacy::big5::len(&cut).unwrap() <= MEMO_BYTES && cut.ends_with('…'), "{cut}");
        assert_eq!(fit("a🙂b", 10), "a?b");
    }

    #[test]
    fn own_numbers_stay_above_the_old_programs_range() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert_eq!(own_number(day, 0).as_deref(), Some("11512055001"));
        assert_eq!(own_number(day, 4998).as_deref(), Some("11512059999"));
        assert_eq!(own_number(day, 4999), None);
    }
}
