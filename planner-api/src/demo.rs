//! `luckygas serve --demo`: loads the realistic distributor of [`datasets::distributor`] (two
//! depots, trucks and heavy motorcycles, a few hundred customers, one day of orders) through the
//! same validation as the API, so a fresh machine has something to plan. A database that already
//! holds depots keeps them: a restart with `--demo` only adds the demo's orders for the day (when
//! it has none), for the demo customers found by code.

use crate::domain::customer::CustomerInput;
use crate::domain::depot::DepotInput;
use crate::domain::driver::DriverInput;
use crate::domain::order::OrderInput;
use crate::domain::validation::FieldError;
use crate::domain::vehicle::VehicleInput;
use crate::domain::vehicle_type::VehicleTypeInput;
use crate::store::{PageRequest, Store};
use anyhow::{anyhow, Context};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Customers of the demo distributor.
pub const DEMO_CUSTOMERS: usize = 300;
/// Seed of the demo distributor.
pub const DEMO_SEED: u64 = 2026;

/// What [`load`] put in the database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DemoSummary {
    /// Depots created.
    pub depots: usize,
    /// Vehicles created.
    pub vehicles: usize,
    /// Drivers created.
    pub drivers: usize,
    /// Customers created.
    pub customers: usize,
    /// Orders created for the demo day.
    pub orders: usize,
}

fn input<T: DeserializeOwned>(what: &str, v: Value) -> anyhow::Result<T> {
    serde_json::from_value(v).with_context(|| format!("demo {what} does not parse"))
}

fn valid<T>(what: &str, r: Result<T, Vec<FieldError>>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow!("demo {what} is invalid: {:?}", e.iter().map(|f| f.field.as_str()).collect::<Vec<_>>()))
}

/// The demo's orders for `date`, for customers found by their codes, unless `date` has orders.
async fn add_day(store: &Store, data: &Value, date: NaiveDate) -> anyhow::Result<DemoSummary> {
    let mut summary = DemoSummary::default();
    let day = crate::store::OrderFilter { date: Some(date), ..Default::default() };
    if !store.list_orders(&day, PageRequest::after(1, None)).await?.items.is_empty() {
        return Ok(summary);
    }
    let mut by_code = std::collections::HashMap::new();
    let filter = crate::store::CustomerFilter::default();
    let mut after = None;
    loop {
        let page = store.list_customers(&filter, PageRequest::after(crate::store::MAX_LIMIT, after)).await?;
        by_code.extend(page.items.into_iter().map(|c| (c.data.code, c.id)));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let customers = data["customers"].as_array().cloned().unwrap_or_default();
    for mut o in data["orders"].as_array().cloned().unwrap_or_default() {
        let c = take_index(&mut o, "customer")?;
        let code = customers.get(c).and_then(|x| x["code"].as_str()).ok_or_else(|| anyhow!("demo customer {c}"))?;
        // A customer deleted since the demo was loaded orders nothing.
        let Some(&id) = by_code.get(code) else { continue };
        o["customer_id"] = id.into();
        let new = valid("order", input::<OrderInput>("order", o)?.validate())?;
        store.create_order(&new, "demo").await?;
        summary.orders += 1;
    }
    Ok(summary)
}

fn take_index(v: &mut Value, key: &str) -> anyhow::Result<usize> {
    let i = v.get(key).and_then(Value::as_u64).ok_or_else(|| anyhow!("demo record without {key}"))?;
    if let Some(o) = v.as_object_mut() {
        o.remove(key);
    }
    usize::try_from(i).map_err(|_| anyhow!("demo {key} out of range"))
}

/// Loads the demo distributor with orders on `date`. A database that already has depots keeps
/// them: only the demo's orders for `date` are added, when that day has no orders yet, so a
/// demo restarted on another day has a day to plan.
pub async fn load(store: &Store, date: NaiveDate) -> anyhow::Result<DemoSummary> {
    let data = datasets::distributor::distributor(DEMO_SEED, DEMO_CUSTOMERS, &date.to_string());
    if !store.list_depots(PageRequest::after(1, None)).await?.items.is_empty() {
        return add_day(store, &data, date).await;
    }
    let list = |k: &str| data[k].as_array().cloned().unwrap_or_default();
    let mut summary = DemoSummary::default();

    let mut depot_ids = Vec::new();
    for d in list("depots") {
        let new = valid("depot", input::<DepotInput>("depot", d)?.validate())?;
        depot_ids.push(store.create_depot(&new).await?.id);
        summary.depots += 1;
    }
    let mut type_ids = Vec::new();
    for t in list("vehicle_types") {
        let new = valid("vehicle type", input::<VehicleTypeInput>("vehicle type", t)?.validate())?;
        type_ids.push(store.create_vehicle_type(&new).await?.id);
    }
    // One driver per vehicle, who usually drives it (their phone view shows its route).
    let mut driver_ids = Vec::new();
    for d in list("drivers") {
        let new = valid("driver", input::<DriverInput>("driver", d)?.validate())?;
        driver_ids.push(store.create_driver(&new).await?.id);
        summary.drivers += 1;
    }
    for (i, mut v) in list("vehicles").into_iter().enumerate() {
        let (t, d) = (take_index(&mut v, "vehicle_type")?, take_index(&mut v, "depot")?);
        v["vehicle_type_id"] = type_ids.get(t).copied().ok_or_else(|| anyhow!("demo vehicle type {t}"))?.into();
        v["depot_id"] = depot_ids.get(d).copied().ok_or_else(|| anyhow!("demo depot {d}"))?.into();
        if let Some(&driver) = driver_ids.get(i) {
            v["default_driver_id"] = driver.into();
        }
        let new = valid("vehicle", input::<VehicleInput>("vehicle", v)?.validate())?;
        store.create_vehicle(&new).await?;
        summary.vehicles += 1;
    }
    let mut customer_ids = Vec::new();
    for mut c in list("customers") {
        if let Some(allowed) = c.as_object_mut().and_then(|o| o.remove("allowed_vehicle_types")) {
            let ids = allowed
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t.as_u64().and_then(|t| type_ids.get(t as usize).copied()).ok_or_else(|| anyhow!("demo vehicle type {t}")))
                .collect::<anyhow::Result<Vec<i64>>>()?;
            c["allowed_vehicle_type_ids"] = ids.into();
        }
        let new = valid("customer", input::<CustomerInput>("customer", c)?.validate())?;
        customer_ids.push(store.create_customer(&new).await?.id);
        summary.customers += 1;
    }
    for mut o in list("orders") {
        let c = take_index(&mut o, "customer")?;
        o["customer_id"] = customer_ids.get(c).copied().ok_or_else(|| anyhow!("demo customer {c}"))?.into();
        let new = valid("order", input::<OrderInput>("order", o)?.validate())?;
        store.create_order(&new, "demo").await?;
        summary.orders += 1;
    }
    Ok(summary)
}

/// The demo seller: a made-up distributor whose 統一編號 passes the checksum (it is one of the
/// Ministry's published test vectors, not a real company's).
pub fn demo_seller() -> crate::invoicing::Seller {
    crate::invoicing::Seller {
        ban: einvoice::ban::Ban::parse("04595252").expect("a valid 統一編號"),
        name: "幸運瓦斯示範行".into(),
        address: "臺北市信義區信義路五段7號".into(),
    }
}

/// Demo list prices per cylinder (tax-inclusive NT$), in effect from the first of `date`'s month.
pub const DEMO_PRICES: &[(u32, i64, i64)] = &[(4, 260, 500), (10, 560, 1_000), (16, 880, 1_200), (20, 1_050, 1_500), (50, 2_600, 2_500)];

/// Loads what invoicing needs for a demo: list prices from the first of `date`'s month and a
/// number block of its period (字軌 `LG`, 1,000 numbers), unless there already are some.
pub async fn load_invoicing(store: &Store, date: NaiveDate) -> anyhow::Result<()> {
    use chrono::Datelike;
    let first = date.with_day(1).unwrap_or(date);
    if store.list_prices(None).await?.is_empty() {
        for &(kg, price, deposit) in DEMO_PRICES {
            let new = crate::domain::invoice::NewPrice {
                customer_id: None,
                cylinder_kg: kg,
                basis: crate::domain::invoice::PriceBasis::Cylinder,
                unit_price: price,
                deposit,
                effective_from: first,
            };
            store.create_price(&new, "demo").await?;
        }
    }
    let period = einvoice::calendar::Period::of(date).map_err(|e| anyhow::anyhow!("{e}"))?;
    if store.list_number_blocks(Some(&period.key())).await?.is_empty() {
        let block = crate::domain::invoice::NewNumberBlock {
            period,
            branch: String::new(),
            track: einvoice::number::Track::parse("LG").map_err(|e| anyhow::anyhow!("{e}"))?,
            first: 0,
            last: 999,
        };
        store.create_number_block(&block, "demo").await?;
    }
    Ok(())
}
