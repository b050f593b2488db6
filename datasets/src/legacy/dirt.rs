//! Rows made bad on purpose, the way an old program without checks lets them in: impossible ROC
//! dates, negative quantities and amounts, codes it never defined, times that do not exist, and
//! orders of customers that do not exist. Each is recorded in [`super::Dirt`] with the reader's
//! code the importer must reject it with.

use super::{LegacyDataset, Planted};
use crate::rng::SplitMix64;
use legacy::schema::{Table, CUST_MST, DLV_REC, ORD_DTL, ORD_HDR};
use std::collections::HashSet;

/// One way to spoil a row: the column and the reader's code for what is put there.
struct Spoil {
    column: &'static str,
    code: &'static str,
    /// The bad text, from the row's current text in that column.
    value: fn(&str) -> String,
}

/// A ROC date of the same year that does not exist: 30 February, 31 September, month 13.
fn impossible(date: &str) -> String {
    let year = date.get(..3).unwrap_or("115");
    let tail = match date.get(3..).unwrap_or("").bytes().map(u32::from).sum::<u32>() % 3 {
        0 => "0230",
        1 => "0931",
        _ => "1301",
    };
    format!("{year}{tail}")
}

const CUSTOMER_SPOILS: [Spoil; 3] = [
    Spoil { column: "CRT_DT", code: "legacy.date", value: impossible },
    Spoil { column: "USU_20", code: "legacy.negative", value: |_| "-1".into() },
    Spoil { column: "SCHED", code: "legacy.code", value: |_| "X".into() },
];
const ORDER_SPOILS: [Spoil; 2] = [
    Spoil { column: "DLV_DT", code: "legacy.date", value: impossible },
    Spoil {
        column: "TOT_AMT",
        code: "legacy.negative",
        value: |amount| if amount.trim_start_matches('0').is_empty() { "-1".into() } else { format!("-{amount}") },
    },
];
const LINE_SPOILS: [Spoil; 2] =
    [Spoil { column: "QTY", code: "legacy.negative", value: |_| "-1".into() }, Spoil { column: "CYL_KG", code: "legacy.code", value: |_| "18".into() }];
const DELIVERY_SPOILS: [Spoil; 3] = [
    Spoil { column: "DLV_DT", code: "legacy.date", value: impossible },
    Spoil { column: "DLV_TM", code: "legacy.time", value: |_| "2575".into() },
    Spoil { column: "DLV_20", code: "legacy.negative", value: |_| "-1".into() },
];

/// Spoils `share` of `rows` (at least one row per way to spoil, if there are rows enough),
/// skipping rows whose first field is in `protected`; returns what was planted.
fn spoil(rng: &mut SplitMix64, table: &Table, rows: &mut [Vec<String>], share: f64, spoils: &[Spoil], protected: &HashSet<String>) -> Vec<Planted> {
    let wanted = ((rows.len() as f64 * share).round() as usize).max(spoils.len()).min(rows.len() / 4);
    let mut chosen: HashSet<usize> = HashSet::new();
    let mut planted = Vec::new();
    let mut tries = 0;
    while planted.len() < wanted && tries < rows.len() * 4 {
        tries += 1;
        let row = rng.below(rows.len());
        if protected.contains(&rows[row][0]) || !chosen.insert(row) {
            continue;
        }
        let how = &spoils[planted.len() % spoils.len()];
        let Some(column) = table.index_of(how.column) else { continue };
        rows[row][column] = (how.value)(&rows[row][column]);
        let key = match table.index_of("SEQ") {
            Some(seq) => format!("{}/{}", rows[row][0], rows[row][seq]),
            None => rows[row][0].clone(),
        };
        planted.push(Planted { row, key, field: how.column, code: how.code });
    }
    planted.sort_by_key(|p| p.row);
    planted
}

/// Plants the bad rows (0.3% of customers, 0.1% of orders, lines and deliveries, at least one
/// of each kind) and the orphan orders (0.05%, at least two), never in the customers of
/// `protected` (the planted duplicates, which must stay readable to be found).
pub(super) fn plant(rng: &mut SplitMix64, dataset: &mut LegacyDataset, protected: &HashSet<String>) {
    let none = HashSet::new();
    dataset.dirt.bad_customers = spoil(rng, &CUST_MST, &mut dataset.customers, 0.003, &CUSTOMER_SPOILS, protected);
    dataset.dirt.bad_orders = spoil(rng, &ORD_HDR, &mut dataset.orders, 0.001, &ORDER_SPOILS, &none);
    dataset.dirt.bad_order_lines = spoil(rng, &ORD_DTL, &mut dataset.order_lines, 0.001, &LINE_SPOILS, &none);
    dataset.dirt.bad_deliveries = spoil(rng, &DLV_REC, &mut dataset.deliveries, 0.001, &DELIVERY_SPOILS, &none);

    // Orders of customers that were deleted: numbers past the last customer's.
    let spoiled: HashSet<usize> = dataset.dirt.bad_orders.iter().map(|p| p.row).collect();
    let customer = ORD_HDR.index_of("CUST_NO").unwrap_or(2);
    let orphans = ((dataset.orders.len() as f64 * 0.0005).round() as usize).max(2).min(dataset.orders.len() / 4);
    let mut tries = 0;
    while dataset.dirt.orphan_orders.len() < orphans && tries < dataset.orders.len() * 4 {
        tries += 1;
        let row = rng.below(dataset.orders.len());
        if spoiled.contains(&row) || dataset.dirt.orphan_orders.contains(&dataset.orders[row][0]) {
            continue;
        }
        let missing = dataset.customers.len() + 50 + dataset.dirt.orphan_orders.len();
        dataset.orders[row][customer] = format!("C{:04}", missing.min(9999));
        dataset.dirt.orphan_orders.push(dataset.orders[row][0].clone());
    }
    dataset.dirt.orphan_orders.sort();
    // Their deliveries name the same missing customer.
    let (order, delivery_customer) = (DLV_REC.index_of("ORD_NO").unwrap_or(1), DLV_REC.index_of("CUST_NO").unwrap_or(2));
    let missing: std::collections::HashMap<String, String> =
        dataset.orders.iter().filter(|o| dataset.dirt.orphan_orders.binary_search(&o[0]).is_ok()).map(|o| (o[0].clone(), o[customer].clone())).collect();
    for d in &mut dataset.deliveries {
        if let Some(code) = missing.get(&d[order]) {
            d[delivery_customer] = code.clone();
        }
    }
}
