//! Likely duplicate customers: the same person or shop entered twice, with the phone typed
//! another way or the address spelt another way.
//!
//! The rule: two customers are likely duplicates when
//! - **they share a phone**: a canonical number ([`super::phone`]) of `TEL1` or `TEL2` of one is a
//!   canonical number of the other (numbers that do not normalise are ignored), or
//! - **they live at the same address under a similar name**: the same district (`AREA`, or the
//!   district written in `ADDR` when `AREA` is empty) and the same normalised street, number and
//!   floor ([`super::address`]), and names that [`super::address::similar_names`] calls similar.
//!
//! Likely duplicates are grouped transitively (A–B by phone and B–C by address make one group of
//! three). A group lists its customers by number; the first, the oldest record, is the one a merge
//! keeps ([`Group::survivor`]). Stopped customers take part: a re-entered customer is often one
//! whose old record was stopped.

use super::address::{normalize_address, normalize_district, similar_names};
use super::phone::normalize_phone;
use crate::record::Customer;
use std::collections::{BTreeMap, BTreeSet};

/// Why customers were grouped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// They share this canonical phone number.
    SamePhone(String),
    /// They have this normalised district and address, and similar names.
    SameAddress(String),
}

/// A group of likely duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The customers' numbers (`CUST_NO`), in order.
    pub customers: Vec<String>,
    /// Why, in order; at least one.
    pub reasons: Vec<Reason>,
}

impl Group {
    /// The customer a merge keeps: the lowest number, the oldest record.
    pub fn survivor(&self) -> &str {
        self.customers.first().map_or("", String::as_str)
    }
}

/// The canonical phone numbers of a customer (`TEL1`, `TEL2`), without repeats.
pub fn phone_keys(customer: &Customer) -> Vec<String> {
    let mut keys: Vec<String> = [&customer.tel1, &customer.tel2].into_iter().filter_map(|t| normalize_phone(t).ok()).map(|p| p.canonical()).collect();
    keys.dedup();
    keys
}

/// The normalised district and address of a customer (`信義區|忠孝東路4段123號5樓`), or `None`
/// when the address has no street part.
pub fn address_key(customer: &Customer) -> Option<String> {
    let address = normalize_address(&customer.address);
    if address.street.is_empty() {
        return None;
    }
    let area = normalize_district(&customer.area);
    let district = if area.is_empty() { address.district } else { area };
    Some(format!("{district}|{}", address.street))
}

/// Disjoint sets over customer positions.
struct Sets(Vec<usize>);

impl Sets {
    fn root(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        // The lower position is the root, so that roots are stable whatever the join order.
        if ra != rb {
            let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[high] = low;
        }
    }
}

/// The groups of likely duplicates among `customers` (see the module docs), ordered by their
/// first customer's number. Customers in no group are not listed.
pub fn duplicates(customers: &[Customer]) -> Vec<Group> {
    let mut sets = Sets((0..customers.len()).collect());
    // Each reason with one customer it joined, to find its group at the end.
    let mut reasons: Vec<(usize, Reason)> = Vec::new();

    let mut by_phone: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut by_address: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, c) in customers.iter().enumerate() {
        for key in phone_keys(c) {
            by_phone.entry(key).or_default().push(i);
        }
        if let Some(key) = address_key(c) {
            by_address.entry(key).or_default().push(i);
        }
    }
    for (phone, members) in by_phone {
        if let [first, rest @ ..] = members.as_slice() {
            if rest.is_empty() {
                continue;
            }
            for other in rest {
                sets.join(*first, *other);
            }
            reasons.push((*first, Reason::SamePhone(phone)));
        }
    }
    for (address, members) in by_address {
        let mut joined = None;
        for (k, &a) in members.iter().enumerate() {
            for &b in &members[k + 1..] {
                if similar_names(&customers[a].name, &customers[b].name) {
                    sets.join(a, b);
                    joined = Some(a);
                }
            }
        }
        if let Some(a) = joined {
            reasons.push((a, Reason::SameAddress(address)));
        }
    }

    let mut groups: BTreeMap<usize, (BTreeSet<String>, BTreeSet<Reason>)> = BTreeMap::new();
    for (i, reason) in reasons {
        groups.entry(sets.root(i)).or_default().1.insert(reason);
    }
    for (i, customer) in customers.iter().enumerate() {
        let root = sets.root(i);
        if let Some(group) = groups.get_mut(&root) {
            group.0.insert(customer.code.clone());
        }
    }
    let mut out: Vec<Group> = groups
        .into_values()
        .filter(|(members, _)| members.len() > 1)
        .map(|(members, reasons)| Group { customers: members.into_iter().collect(), reasons: reasons.into_iter().collect() })
        .collect();
    out.sort_by(|a, b| a.customers.cmp(&b.customers));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{CustomerKind, Payment, Schedule, TimePref};
    use crate::record::{Quantities, Stamp};
    use chrono::{NaiveDate, NaiveTime};

    fn customer(code: &str, name: &str, tel1: &str, area: &str, address: &str) -> Customer {
        let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        Customer {
            code: code.into(),
            name: name.into(),
            kind: CustomerKind::Household,
            tel1: tel1.into(),
            tel2: String::new(),
            city: String::new(),
            area: area.into(),
            address: address.into(),
            position: None,
            schedule: Schedule::OnCall,
            schedule_day: 0,
            usual: Quantities([0, 0, 0, 1, 0]),
            time_pref: TimePref::Any,
            payment: Payment::Cash,
            memo: String::new(),
            stopped: false,
            created: day,
            updated: Stamp { date: day, time: NaiveTime::MIN, user: "MEI".into() },
        }
    }

    #[test]
    fn groups_by_phone_in_another_format_and_by_address_in_another_spelling() {
        let customers = vec![
            customer("C0001", "王家", "02-2345-6789", "信義區", "忠孝東路四段123號5樓"),
            customer("C0002", "林宅", "0912-345-678", "大安區", "和平東路二段7號"),
            customer("C0003", "陳家", "0933-111-222", "中山區", "南京東路三段8號"),
            customer("C0004", "王先生", "(02)2345-6789", "信義區", "台北市忠孝東路4段123號"),
            customer("C0005", "林太太", "0955-000-111", "大安區", "臺北市大安區和平東路２段７號"),
            // Same address as C0003, another family.
            customer("C0006", "黃家", "0966-222-333", "中山區", "南京東路3段8號"),
        ];
        let groups = duplicates(&customers);
        assert_eq!(groups.len(), 2, "{groups:#?}");
        assert_eq!(groups[0].customers, ["C0001", "C0004"]);
        assert_eq!(groups[0].reasons, [Reason::SamePhone("+886223456789".into())]);
        assert_eq!(groups[0].survivor(), "C0001");
        assert_eq!(groups[1].customers, ["C0002", "C0005"]);
        assert_eq!(groups[1].reasons, [Reason::SameAddress("大安區|和平東路2段7號".into())]);
    }

    #[test]
    fn groups_are_transitive_and_an_empty_area_takes_the_address_district() {
        let customers = vec![
            customer("C0010", "老張牛肉麵", "02-2700-1234", "大安區", "復興南路一段10號"),
            customer("C0011", "老張牛肉麵店", "0922-333-444", "", "台北市大安區復興南路1段10號"),
            customer("C0012", "張老闆", "0922333444", "松山區", "八德路四段1號"),
            customer("C0013", "李家", "無", "", ""),
        ];
        let groups = duplicates(&customers);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].customers, ["C0010", "C0011", "C0012"]);
        assert_eq!(groups[0].reasons.len(), 2);
    }

    #[test]
    fn unrelated_customers_are_not_grouped() {
        let customers = vec![
            customer("C0001", "王家", "02-2345-6789", "信義區", "忠孝東路四段123號5樓"),
            customer("C0002", "王家", "02-2345-6780", "信義區", "忠孝東路四段123號6樓"),
        ];
        assert!(duplicates(&customers).is_empty());
    }
}
