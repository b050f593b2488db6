//! A generated big delivery day for the `big_day` example and the big-day tests: depots in
//! Taiwanese cities, each with trucks and a few heavy motorcycles, and customers spread around
//! each depot with one order each, written through the store as the API would.
//!
//! The figures are deterministic for a seed (a small linear congruential sequence), so a
//! measurement or a test sees the same day every time.

use crate::domain::customer::{AccessRestriction, PaymentMethod, UsualCylinder};
use crate::domain::{CylinderSlots, NewCustomer, NewDepot, NewOrder, NewVehicle, NewVehicleType, Priority, VehicleKind};
use crate::store::{Store, StoreError};
use chrono::NaiveDate;

/// Depot sites: name, latitude, longitude.
const CITIES: [(&str, f64, f64); 6] = [
    ("台北內湖站", 25.0752, 121.5753),
    ("新北板橋站", 25.0130, 121.4620),
    ("桃園站", 24.9936, 121.3010),
    ("台中站", 24.1477, 120.6736),
    ("台南站", 22.9999, 120.2270),
    ("高雄站", 22.6273, 120.3014),
];

/// What [`seed`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SampleDay {
    /// The depots, one per city used.
    pub depot_ids: Vec<i64>,
    /// The orders of the day, in id order.
    pub order_ids: Vec<i64>,
    /// Active vehicles over all depots.
    pub vehicles: usize,
}

/// Writes a day of `orders` orders on `date` around `depots` depots (at most six cities), with
/// one truck per 50 orders and one heavy motorcycle per 150 at each depot; every 25th customer
/// lives in a narrow lane (motorcycles only), every twentieth order is urgent. `tag` keeps
/// codes and plates apart when one database holds several sample days.
pub async fn seed(store: &Store, date: NaiveDate, orders: usize, depots: usize, tag: &str) -> Result<SampleDay, StoreError> {
    let depots = depots.clamp(1, CITIES.len());
    let truck = store
        .create_vehicle_type(&NewVehicleType {
            name: format!("小貨車-{tag}"),
            kind: VehicleKind::Truck,
            cylinder_slots: vec![CylinderSlots { size_kg: 20, count: 30 }, CylinderSlots { size_kg: 50, count: 8 }],
            max_load_kg: 1500,
            max_gas_kg: 900,
            required_skills: vec![],
        })
        .await?;
    let moto = store
        .create_vehicle_type(&NewVehicleType {
            name: format!("重型機車-{tag}"),
            kind: VehicleKind::HeavyMotorcycle,
            cylinder_slots: vec![CylinderSlots { size_kg: 20, count: 2 }],
            max_load_kg: 80,
            max_gas_kg: 60,
            required_skills: vec![],
        })
        .await?;
    let mut day = SampleDay::default();
    let per_depot = orders.div_ceil(depots);
    let mut x: u64 = 0x2026_1204 ^ tag.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut unit = move || {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        // 31 random bits: exact in f64.
        #[allow(clippy::cast_precision_loss)]
        let u = (x >> 33) as f64 / (1u64 << 31) as f64;
        u
    };
    let mut made = 0usize;
    for (k, &(name, lat, lon)) in CITIES.iter().take(depots).enumerate() {
        let depot = store.create_depot(&NewDepot { name: format!("{name}-{tag}"), address: name.to_owned(), lat, lon }).await?;
        day.depot_ids.push(depot.id);
        let here = per_depot.min(orders - made);
        let (trucks, motos) = (here.div_ceil(50).max(1), here.div_ceil(150).max(1));
        for v in 0..trucks + motos {
            let (prefix, kind) = if v < trucks { ("TRK", truck.id) } else { ("MTR", moto.id) };
            let plate = format!("{prefix}-{tag}-{k}{v:03}");
            store.create_vehicle(&NewVehicle { plate, vehicle_type_id: kind, depot_id: depot.id, active: true, default_driver_id: None }).await?;
            day.vehicles += 1;
        }
        for i in 0..here {
            let n = made + i;
            let lane = n % 25 == 24;
            let customer = store
                .create_customer(&NewCustomer {
                    code: format!("B{tag}{n:06}"),
                    name: format!("客戶{n}"),
                    phone: None,
                    address: format!("{name}附近 {n} 號"),
                    district: name.to_owned(),
                    lat: lat + 0.12 * (unit() - 0.5),
                    lon: lon + 0.14 * (unit() - 0.5),
                    time_windows: vec![],
                    usual_cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 }],
                    access_restrictions: if lane { vec![AccessRestriction::NarrowLane] } else { vec![] },
                    payment_method: PaymentMethod::Cash,
                    allowed_vehicle_type_ids: vec![],
                })
                .await?;
            let mut cylinders = vec![UsualCylinder { size_kg: 20, quantity: if lane { 1 } else { 1 + u32::try_from(n % 2).unwrap_or(0) } }];
            if !lane && n % 6 == 5 {
                cylinders.push(UsualCylinder { size_kg: 50, quantity: 1 });
            }
            let order = NewOrder {
                customer_id: customer.id,
                delivery_date: date,
                cylinders,
                time_window: None,
                preference: None,
                priority: if n % 20 == 19 { Priority::Urgent } else { Priority::Normal },
                note: None,
                alternative_addresses: Vec::new(),
            };
            day.order_ids.push(store.create_order(&order, "sample").await?.id);
        }
        made += here;
    }
    Ok(day)
}
