//! The field-by-field merge of a record changed on both sides (issue 18, point 4), and the views
//! both sides are compared in (also by the reconciliation, [`super::reconcile`]).
//!
//! A **view** is what the two systems share of a record, each field as text in one normal form,
//! computed from an old record the same way whether it was read from the old database or is the
//! new service's entity written in the old columns ([`super::project`]): names trimmed, phones in
//! one form, addresses without the city and district typed again, positions in microdegrees,
//! codes as the old program's codes. What only one side models (the old program's memo of a
//! customer, its delivery schedule; the service's time windows to the minute) is not in a view:
//! each side keeps its own.
//!
//! A merge is three-way: the **base** is the view both sides last agreed on (kept on the link,
//! `legacy_links.base`), **legacy** the old record now, **new** the entity here now. Per field:
//! changed on one side only, that side's value; changed on both to the same value, that value;
//! changed on both to different values, a **conflict**, decided by the field's [`Rule`] and
//! logged with the three values (`legacy_conflicts`).
//!
//! The rules, per field ([`CUSTOMER_FIELDS`], [`ORDER_FIELDS`]):
//! - [`Rule::Record`]: the system of record of the field's module wins: the old program while
//!   the module's cut-over flag is at `legacy_only` or `dual_write`, the service from
//!   `new_primary` on. Names, phones, addresses, time preferences and usual quantities follow
//!   `legacy.customers`, a customer's payment method `legacy.payments`, an order's fields
//!   `legacy.orders`.
//! - [`Rule::New`]: the service wins. A customer's position: the service's map pins are placed
//!   on a map or geocoded, the old program's coordinates were typed by hand.
//! - [`Rule::Furthest`]: an order's status: the one further along wins, delivered over
//!   cancelled over open (gas that reached the customer is billed, whatever a clerk typed).

use super::import::{address_parts, phone_of};
use legacy::codes::OrderStatus as LegacyStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What both sides share of a record: field name → value in normal form.
pub type View = BTreeMap<String, String>;

/// How a conflict on a field is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The system of record of the module whose cut-over flag is named wins.
    Record(&'static str),
    /// The new service wins.
    New,
    /// The order status further along wins.
    Furthest,
}

impl Rule {
    /// The rule as the conflict log writes it.
    pub fn describe(self) -> String {
        match self {
            Rule::Record(flag) => format!("system of record ({flag})"),
            Rule::New => "the service wins".into(),
            Rule::Furthest => "furthest status wins".into(),
        }
    }
}

/// The fields of a customer's view and their rules.
pub const CUSTOMER_FIELDS: &[(&str, Rule)] = &[
    ("CUST_NM", Rule::Record("legacy.customers")),
    ("TEL", Rule::Record("legacy.customers")),
    ("ADDR", Rule::Record("legacy.customers")),
    ("AREA", Rule::Record("legacy.customers")),
    ("POS", Rule::New),
    ("TIME_PREF", Rule::Record("legacy.customers")),
    ("USU", Rule::Record("legacy.customers")),
    ("PAY_TYPE", Rule::Record("legacy.payments")),
];

/// The fields of an order's view and their rules.
pub const ORDER_FIELDS: &[(&str, Rule)] = &[
    ("CUST_NO", Rule::Record("legacy.orders")),
    ("DLV_DT", Rule::Record("legacy.orders")),
    ("TIME_PREF", Rule::Record("legacy.orders")),
    ("URGENT", Rule::Record("legacy.orders")),
    ("QTY", Rule::Record("legacy.orders")),
    ("MEMO", Rule::Record("legacy.orders")),
    ("STATUS", Rule::Furthest),
];

fn quantities_text(q: &legacy::Quantities) -> String {
    let parts: Vec<String> = q.nonzero().map(|(size, n)| format!("{size}kg×{n}")).collect();
    parts.join(" ")
}

/// The view of a customer record.
pub fn customer_view(c: &legacy::Customer) -> View {
    let (district, street) = address_parts(c);
    let mut v = View::new();
    v.insert("CUST_NM".into(), c.name.trim().to_owned());
    v.insert("TEL".into(), phone_of(c).unwrap_or_else(|| c.tel1.trim().to_owned()));
    v.insert("ADDR".into(), street);
    v.insert("AREA".into(), district);
    v.insert("POS".into(), c.position.map(|p| format!("{:.6},{:.6}", p.lat(), p.lon())).unwrap_or_default());
    v.insert("TIME_PREF".into(), c.time_pref.code().to_string());
    v.insert("USU".into(), quantities_text(&c.usual));
    v.insert("PAY_TYPE".into(), c.payment.code().to_string());
    v
}

/// The view of an order record with its lines; `customer_no` is the number of its customer as
/// the service links it (a merged duplicate's orders are its survivor's).
pub fn order_view(o: &legacy::Order, lines: &[legacy::OrderLine], customer_no: &str) -> View {
    let mut q = legacy::Quantities::default();
    for l in lines {
        q.set(l.size_kg, q.of(l.size_kg).saturating_add(l.quantity));
    }
    let mut v = View::new();
    v.insert("CUST_NO".into(), customer_no.to_owned());
    v.insert("DLV_DT".into(), o.delivery_date.to_string());
    v.insert("TIME_PREF".into(), o.time_pref.code().to_string());
    v.insert("URGENT".into(), if o.urgent { "Y" } else { "N" }.into());
    v.insert("QTY".into(), quantities_text(&q));
    v.insert("MEMO".into(), o.memo.trim().to_owned());
    v.insert("STATUS".into(), o.status.code().to_string());
    v
}

/// A view as the link keeps it (JSON).
pub fn to_json(v: &View) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A view read back from a link; `None` for none or one that does not read.
pub fn from_json(text: Option<&str>) -> Option<View> {
    serde_json::from_str(text?).ok()
}

/// Which side's value a merged field has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The old program's.
    Legacy,
    /// The service's.
    New,
}

impl Side {
    /// `legacy` or `new`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Legacy => "legacy",
            Side::New => "new",
        }
    }
}

/// A field changed on both sides to different values, and how it was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The view's field (`TEL`).
    pub field: String,
    /// What both sides last agreed on, if known.
    pub base: Option<String>,
    /// The old program's value.
    pub legacy: String,
    /// The service's value.
    pub new: String,
    /// The side whose value stands.
    pub winner: Side,
    /// The rule that decided, in words.
    pub rule: String,
}

/// The outcome of a merge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// The merged view.
    pub view: View,
    /// Fields whose merged value is the old program's and differs here: to apply here.
    pub from_legacy: Vec<String>,
    /// Conflicts, decided.
    pub conflicts: Vec<Conflict>,
}

impl Merged {
    /// Whether the old record differs from the merged view (the service must write it back).
    pub fn legacy_behind(&self, legacy: &View) -> bool {
        self.view != *legacy
    }
}

fn status_rank(code: &str) -> u8 {
    match LegacyStatus::from_code(code) {
        Some(LegacyStatus::Delivered) => 2,
        Some(LegacyStatus::Cancelled) => 1,
        _ => 0,
    }
}

/// Merges `legacy` and `new` against `base` field by field (`fields` with their rules);
/// `record_is_new(flag)` says whether the service is the system of record of a flag's module.
/// Without a base (a link older than the merge), every difference counts as a change made in the
/// old program.
pub fn merge(fields: &[(&str, Rule)], base: Option<&View>, legacy: &View, new: &View, record_is_new: impl Fn(&str) -> bool) -> Merged {
    let mut out = Merged::default();
    for (field, rule) in fields {
        let l = legacy.get(*field).cloned().unwrap_or_default();
        let n = new.get(*field).cloned().unwrap_or_default();
        let b = base.map(|b| b.get(*field).cloned().unwrap_or_default());
        let pick = if l == n {
            Side::New
        } else {
            match &b {
                None => Side::Legacy,
                Some(b) if *b == l => Side::New,
                Some(b) if *b == n => Side::Legacy,
                Some(_) => {
                    let winner = match rule {
                        Rule::Record(flag) => {
                            if record_is_new(flag) {
                                Side::New
                            } else {
                                Side::Legacy
                            }
                        }
                        Rule::New => Side::New,
                        Rule::Furthest => {
                            if status_rank(&l) > status_rank(&n) {
                                Side::Legacy
                            } else {
                                Side::New
                            }
                        }
                    };
                    out.conflicts.push(Conflict {
                        field: (*field).to_owned(),
                        base: b.clone(),
                        legacy: l.clone(),
                        new: n.clone(),
                        winner,
                        rule: rule.describe(),
                    });
                    winner
                }
            }
        };
        let value = match pick {
            Side::Legacy => {
                if l != n {
                    out.from_legacy.push((*field).to_owned());
                }
                l
            }
            Side::New => n,
        };
        out.view.insert((*field).to_owned(), value);
    }
    out
}

/// A field the service could not take from the old record after all (an order already in a
/// plan, a status its lifecycle does not allow): the merged view keeps the service's value and
/// the conflict log says why.
pub fn keep_new(merged: &mut Merged, field: &str, legacy: &View, new: &View, base: Option<&View>, why: &str) {
    merged.from_legacy.retain(|f| f != field);
    let n = new.get(field).cloned().unwrap_or_default();
    merged.view.insert(field.to_owned(), n.clone());
    let conflict = Conflict {
        field: field.to_owned(),
        base: base.and_then(|b| b.get(field).cloned()),
        legacy: legacy.get(field).cloned().unwrap_or_default(),
        new: n,
        winner: Side::New,
        rule: why.to_owned(),
    };
    match merged.conflicts.iter_mut().find(|c| c.field == field) {
        Some(c) => *c = conflict,
        None => merged.conflicts.push(conflict),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(pairs: &[(&str, &str)]) -> View {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const FIELDS: &[(&str, Rule)] = &[("A", Rule::Record("legacy.customers")), ("P", Rule::New), ("S", Rule::Furthest)];

    #[test]
    fn one_sided_changes_merge_without_conflict() {
        let base = view(&[("A", "1"), ("P", "x"), ("S", "O")]);
        let legacy = view(&[("A", "2"), ("P", "x"), ("S", "O")]);
        let new = view(&[("A", "1"), ("P", "y"), ("S", "O")]);
        let m = merge(FIELDS, Some(&base), &legacy, &new, |_| false);
        assert_eq!(m.view, view(&[("A", "2"), ("P", "y"), ("S", "O")]));
        assert_eq!(m.from_legacy, ["A"]);
        assert!(m.conflicts.is_empty());
        assert!(m.legacy_behind(&legacy));
    }

    #[test]
    fn conflicts_follow_each_fields_rule() {
        let base = view(&[("A", "1"), ("P", "x"), ("S", "O")]);
        let legacy = view(&[("A", "2"), ("P", "z"), ("S", "X")]);
        let new = view(&[("A", "3"), ("P", "y"), ("S", "D")]);
        // The old program is the system of record: it wins A; P and S go to the service.
        let m = merge(FIELDS, Some(&base), &legacy, &new, |_| false);
        assert_eq!(m.view, view(&[("A", "2"), ("P", "y"), ("S", "D")]));
        assert_eq!(m.conflicts.len(), 3);
        assert_eq!(m.conflicts[0].winner, Side::Legacy);
        assert_eq!(m.conflicts[0].base.as_deref(), Some("1"));
        // The service is: it wins A too.
        let m = merge(FIELDS, Some(&base), &legacy, &new, |flag| flag == "legacy.customers");
        assert_eq!(m.view["A"], "3");
        assert!(m.from_legacy.is_empty());
        // A delivery in the old program beats a cancellation here.
        let m = merge(FIELDS, Some(&base), &view(&[("A", "1"), ("P", "x"), ("S", "D")]), &view(&[("A", "1"), ("P", "x"), ("S", "X")]), |_| false);
        assert_eq!((m.view["S"].as_str(), m.from_legacy.as_slice()), ("D", ["S".to_owned()].as_slice()));
    }

    #[test]
    fn without_a_base_the_old_records_differences_are_taken() {
        let legacy = view(&[("A", "2"), ("P", "z"), ("S", "O")]);
        let new = view(&[("A", "1"), ("P", "z"), ("S", "O")]);
        let m = merge(FIELDS, None, &legacy, &new, |_| true);
        assert_eq!((m.view["A"].as_str(), m.conflicts.len()), ("2", 0));
    }

    #[test]
    fn a_field_kept_here_is_logged_with_the_reason() {
        let base = view(&[("A", "1"), ("P", "x"), ("S", "O")]);
        let legacy = view(&[("A", "2"), ("P", "x"), ("S", "O")]);
        let new = base.clone();
        let mut m = merge(FIELDS, Some(&base), &legacy, &new, |_| false);
        keep_new(&mut m, "A", &legacy, &new, Some(&base), "order is in a plan here");
        assert_eq!((m.view["A"].as_str(), m.from_legacy.len()), ("1", 0));
        assert_eq!(m.conflicts[0].rule, "order is in a plan here");
    }

    #[test]
    fn views_compare_the_same_record_however_it_was_typed() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let stamp = legacy::Stamp { date: day, time: chrono::NaiveTime::MIN, user: "CLERK1".into() };
        let a = legacy::Customer {
            code: "C0042".into(),
            name: "好吃小館 ".into(),
            kind: legacy::codes::CustomerKind::Commercial,
            tel1: "(02)2345-6789".into(),
            tel2: String::new(),
            city: "臺北市".into(),
            area: "大安區".into(),
            address: "台北市大安區忠孝東路4段123號".into(),
            position: None,
            schedule: legacy::codes::Schedule::OnCall,
            schedule_day: 0,
            usual: legacy::Quantities([0, 0, 0, 2, 0]),
            time_pref: legacy::codes::TimePref::Morning,
            payment: legacy::codes::Payment::Cash,
            memo: "請按門鈴".into(),
            stopped: false,
            created: day,
            updated: stamp.clone(),
        };
        let mut b = a.clone();
        b.tel1 = "0223456789".into();
        b.address = "忠孝東路4段123號".into();
        b.memo = String::new();
        b.updated.user = "LUCKYGAS".into();
        assert_eq!(customer_view(&a), customer_view(&b));
        b.usual.set(20, 3);
        assert_eq!(customer_view(&b)["USU"], "20kg×3");
    }
}
