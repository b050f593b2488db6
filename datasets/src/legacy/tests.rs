//! The generated legacy dataset read back through the old program's export reader: counts, the
//! planted rejects exactly, the planted duplicates found by the stated rule, and the rest of the
//! dirt present.

use super::*;
use legacy::clean::{duplicates, normalize_phone};
use legacy::export::read_each;
use legacy::{Delivery, Order, OrderLine};
use std::collections::{BTreeSet, HashSet};

fn small(seed: u64) -> LegacyDataset {
    generate_legacy(seed, &LegacyOptions::new(400, 90)).unwrap()
}

/// `(line, field, code)` of every reject, and the records read.
fn read_back<T: Record>(dir: &Path, table: &Table) -> (Vec<T>, Vec<(usize, &'static str, &'static str)>) {
    let file = table.export_file.unwrap();
    let bytes = std::fs::read(dir.join(file)).unwrap();
    let rows = read_each::<T, _>(file, &bytes[..]).unwrap_or_else(|e| panic!("{e}"));
    let mut good = Vec::new();
    let mut rejects = Vec::new();
    for row in rows {
        match row {
            Ok(r) => good.push(r),
            Err(e) => rejects.push((e.line, e.field.unwrap_or("?"), e.code())),
        }
    }
    (good, rejects)
}

fn planted(list: &[Planted]) -> Vec<(usize, &'static str, &'static str)> {
    list.iter().map(|p| (p.row + 2, p.field, p.code)).collect()
}

#[test]
fn is_deterministic_per_seed() {
    let a = small(7);
    assert_eq!(a, small(7));
    assert_ne!(a.customers, small(8).customers);
}

#[test]
fn refuses_impossible_options() {
    assert!(matches!(generate_legacy(1, &LegacyOptions::new(9001, 10)), Err(LegacyError::TooManyCustomers)));
    assert!(matches!(generate_legacy(1, &LegacyOptions::new(10, 0)), Err(LegacyError::Days)));
}

#[test]
fn the_exports_read_back_with_exactly_the_planted_rejects() {
    let data = small(7);
    let dir = tempfile::tempdir().unwrap();
    let written = data.write_to(dir.path()).unwrap();
    assert_eq!(written.len(), 6);

    let (customers, rejects) = read_back::<Customer>(dir.path(), &CUST_MST);
    assert_eq!(customers.len() + rejects.len(), data.customers.len());
    assert_eq!(rejects, planted(&data.dirt.bad_customers));
    assert!(rejects.len() >= 3, "one of each kind at least");
    let (orders, rejects) = read_back::<Order>(dir.path(), &ORD_HDR);
    assert_eq!(orders.len() + rejects.len(), data.orders.len());
    assert_eq!(rejects, planted(&data.dirt.bad_orders));
    let (lines, rejects) = read_back::<OrderLine>(dir.path(), &ORD_DTL);
    assert_eq!(lines.len() + rejects.len(), data.order_lines.len());
    assert_eq!(rejects, planted(&data.dirt.bad_order_lines));
    let (deliveries, rejects) = read_back::<Delivery>(dir.path(), &DLV_REC);
    assert_eq!(deliveries.len() + rejects.len(), data.deliveries.len());
    assert_eq!(rejects, planted(&data.dirt.bad_deliveries));
    let codes: BTreeSet<&str> = rejects.iter().map(|r| r.2).collect();
    assert_eq!(codes, BTreeSet::from(["legacy.date", "legacy.negative", "legacy.time"]));

    // 400 customers over 90 days order some 23 times a year each (about 2,300 orders); most are
    // delivered, some fail or are cancelled, the last day's calls are still open.
    assert_eq!(customers.len() + data.dirt.bad_customers.len(), 400 + data.dirt.duplicates.len());
    assert!((1_500..4_000).contains(&orders.len()), "{} orders", orders.len());
    let statuses: BTreeSet<char> = orders.iter().map(|o| o.status.code()).collect();
    assert_eq!(statuses, BTreeSet::from(['D', 'O', 'X']));
    let results: BTreeSet<char> = deliveries.iter().map(|d| d.result.code()).collect();
    assert_eq!(results, BTreeSet::from(['1', '2', '3']));
    let delivered = deliveries.iter().filter(|d| d.result.code() == '1').count();
    assert!(delivered * 100 > orders.len() * 90, "{delivered} deliveries for {} orders", orders.len());
    // Lines belong to orders, and a line's amount is its price times its quantity.
    let numbers: HashSet<&str> = data.orders.iter().map(|o| o[0].as_str()).collect();
    assert!(lines.iter().all(|l| numbers.contains(l.order.as_str()) && l.amount.0 == l.unit_price.0 * i64::from(l.quantity)));
    // Orphans: orders of customers that are not in the export.
    let known: HashSet<&str> = data.customers.iter().map(|c| c[0].as_str()).collect();
    let orphans: Vec<&str> = orders.iter().filter(|o| !known.contains(o.customer.as_str())).map(|o| o.number.as_str()).collect();
    assert_eq!(orphans, data.dirt.orphan_orders.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(orphans.len() >= 2);
}

#[test]
fn the_planted_duplicates_are_exactly_the_groups_the_rule_finds() {
    let data = generate_legacy(11, &LegacyOptions::new(1000, 30)).unwrap();
    let customers: Vec<Customer> = data.customers.iter().filter_map(|row| Customer::from_fields(row).ok()).collect();
    let found: BTreeSet<Vec<String>> = duplicates(&customers).into_iter().map(|g| g.customers).collect();
    let planted: BTreeSet<Vec<String>> = data.dirt.duplicates.iter().map(|(a, b)| vec![a.clone(), b.clone()]).collect();
    assert_eq!(planted.len(), 30, "3% of 1000");
    assert_eq!(found, planted);
    assert!((8..=22).contains(&data.dirt.duplicates_by_phone), "{} by phone", data.dirt.duplicates_by_phone);
    // Re-entered records were made during the period, with numbers after the originals'.
    for (original, twin) in &data.dirt.duplicates {
        assert!(twin.as_str() > "C1000" && original.as_str() <= "C1000");
    }
}

#[test]
fn the_dirt_is_there_at_the_stated_rates() {
    let data = generate_legacy(3, &LegacyOptions::new(2000, 7)).unwrap();
    let customers: Vec<Customer> = data.customers.iter().filter_map(|row| Customer::from_fields(row).ok()).collect();
    let n = customers.len() as f64;
    // ~5% without coordinates (and half the re-entered), counted exactly in the dirt.
    let missing = data.customers.iter().filter(|c| c[8].is_empty()).count();
    assert_eq!(missing, data.dirt.missing_coordinates);
    assert!((0.035..0.075).contains(&(missing as f64 / n)), "{missing}");
    // ~1% of first phones are no number; every other one normalises.
    let junk = data.customers.iter().filter(|c| normalize_phone(&c[3]).is_err()).count();
    assert_eq!(junk, data.dirt.junk_phones);
    assert!((5..=40).contains(&junk), "{junk}");
    // Phones typed in many shapes (digits as 9).
    let shapes: BTreeSet<String> = customers.iter().map(|c| c.tel1.chars().map(|ch| if ch.is_ascii_digit() { '9' } else { ch }).collect()).collect();
    assert!(shapes.len() >= 12, "{shapes:?}");
    // Addresses in several spellings.
    let share = |f: &dyn Fn(&Customer) -> bool| customers.iter().filter(|c| f(c)).count() as f64 / n;
    assert!(share(&|c| c.address.contains('臺') || c.city.contains('臺')) > 0.1);
    assert!(share(&|c| c.address.chars().any(|ch| ('０'..='９').contains(&ch))) > 0.03);
    assert!(share(&|c| c.address.contains('F')) > 0.1);
    assert!(share(&|c| c.address.contains(' ')) > 0.03);
    assert!(share(&|c| c.address.starts_with(&c.area) && !c.area.is_empty()) > 0.1);
    // The customer model: households mostly on one 20 kg cylinder, factories on 50 kg.
    let households: Vec<&Customer> = customers.iter().filter(|c| c.kind.code() == '1').collect();
    assert!((0.65..0.8).contains(&(households.len() as f64 / n)));
    assert!(households.iter().filter(|c| c.usual.of(20) >= 1).count() * 100 > households.len() * 60);
    assert!(customers.iter().filter(|c| c.kind.code() == '3').all(|c| c.usual.of(50) >= 2));
    let schedules: BTreeSet<char> = customers.iter().map(|c| c.schedule.code()).collect();
    assert_eq!(schedules, BTreeSet::from(['B', 'M', 'N', 'W']));
}
