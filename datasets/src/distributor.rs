//! A realistic distributor for the service's demo: two depots (內湖, 新莊), small trucks and heavy
//! motorcycles with their drivers, a few hundred customers across Taipei and New Taipei with
//! coordinates, usual cylinders, time preferences, access restrictions and payment methods, and
//! one day of orders.
//!
//! The result is the JSON a client would send to the API (`POST /v1/depots`, `/v1/customers`, …),
//! with references between records given as indices into the lists (`"depot": 0`), so the
//! service loads it through the same validation as any other input. The same seed gives the same
//! distributor.

use crate::places::{District, DEPOT_NEW_TAIPEI, DEPOT_TAIPEI, DISTRICTS, SURNAMES};
use crate::rng::SplitMix64;
use crate::taipei::{jitter, name, Kind};
use serde_json::{json, Value};

/// Street names used in addresses.
const STREETS: &[&str] = &[
    "忠孝東路",
    "仁愛路",
    "信義路",
    "和平東路",
    "民生東路",
    "南京東路",
    "中山北路",
    "承德路",
    "重慶北路",
    "基隆路",
    "復興南路",
    "敦化北路",
    "成功路",
    "內湖路",
    "文林路",
    "中正路",
    "中華路",
    "民族路",
    "三民路",
    "光復路",
];

/// The distributor of `seed` with `customers` customers and one order day, `date` (`YYYY-MM-DD`):
/// an object with lists `depots`, `vehicle_types`, `vehicles` (`vehicle_type` and `depot` are
/// indices), `drivers`, `customers` (a factory's `allowed_vehicle_types` are indices of vehicle
/// types) and `orders` (`customer` is an index; some restaurants' orders have an alternative
/// address).
pub fn distributor(seed: u64, customers: usize, date: &str) -> Value {
    let mut rng = SplitMix64::new(seed);
    let depots = [DEPOT_TAIPEI, DEPOT_NEW_TAIPEI]
        .iter()
        .map(|s| json!({ "name": s.name, "address": if s.id == "NH" { "台北市內湖區瑞光路 188 號" } else { "新北市新莊區五工路 66 號" }, "lat": s.lat, "lon": s.lon }))
        .collect::<Vec<_>>();
    let vehicle_types = vec![
        json!({ "name": "3.5 噸貨車（危險物品證）", "kind": "truck",
                "cylinder_slots": [{ "size_kg": 20, "count": 30 }, { "size_kg": 16, "count": 10 }, { "size_kg": 10, "count": 10 }, { "size_kg": 4, "count": 10 }, { "size_kg": 50, "count": 12 }],
                "max_load_kg": 1800, "max_gas_kg": 900, "required_skills": ["hazmat_permit"] }),
        json!({ "name": "1.5 噸貨車", "kind": "truck",
                "cylinder_slots": [{ "size_kg": 20, "count": 24 }, { "size_kg": 16, "count": 8 }, { "size_kg": 10, "count": 8 }, { "size_kg": 4, "count": 8 }],
                "max_load_kg": 1200, "max_gas_kg": 450, "required_skills": [] }),
        json!({ "name": "重型機車", "kind": "heavy_motorcycle",
                "cylinder_slots": [{ "size_kg": 20, "count": 2 }, { "size_kg": 16, "count": 2 }, { "size_kg": 10, "count": 2 }, { "size_kg": 4, "count": 4 }],
                "max_load_kg": 120, "max_gas_kg": 60, "required_skills": [] }),
    ];
    // Per depot: two permit trucks, two light trucks, three motorcycles.
    let mut vehicles = Vec::new();
    let mut drivers = Vec::new();
    let plates = ["ABC", "KLM", "RTA", "BXH", "MDN", "QPU"];
    for depot in 0..2usize {
        for (t, count) in [(0usize, 2usize), (1, 2), (2, 3)] {
            for k in 0..count {
                let plate = if t == 2 {
                    format!("{}-{:03}", ["MCA", "MCB"][depot], 100 + 10 * k + depot)
                } else {
                    format!("{}-{:04}", plates[(depot * 3 + t + k) % plates.len()], 1000 + 37 * (depot * 10 + t * 3 + k))
                };
                vehicles.push(json!({ "plate": plate, "vehicle_type": t, "depot": depot, "active": true }));
                let skills: Vec<&str> = if t == 0 { vec!["hazmat_permit"] } else { vec![] };
                drivers.push(json!({ "name": format!("{}{}", rng.pick(SURNAMES), rng.pick(&["志明", "建宏", "俊傑", "家豪", "淑芬", "美玲", "文雄", "國華"])),
                                      "phone": format!("09{:08}", rng.below(100_000_000)), "skills": skills, "active": true }));
            }
        }
    }

    let weights: Vec<u32> = DISTRICTS.iter().map(|d| d.weight).collect();
    let mut customer_list = Vec::with_capacity(customers);
    let mut orders = Vec::new();
    for i in 0..customers {
        let kind = [Kind::Household, Kind::Restaurant, Kind::Factory][rng.weighted(&[72, 22, 6])];
        let district: &District = &DISTRICTS[rng.weighted(&weights)];
        let (lat, lon) = jitter(&mut rng, district);
        let mut restrictions = Vec::new();
        if kind == Kind::Household && rng.chance(0.12) {
            restrictions.push("narrow_lane");
        } else if rng.chance(0.05) {
            restrictions.push("no_parking");
        }
        if kind == Kind::Household && rng.chance(0.15) {
            restrictions.push("stairs");
        }
        let usual: Vec<(u32, u32)> = match kind {
            Kind::Household if restrictions.contains(&"narrow_lane") => vec![(20, 1)],
            Kind::Household => [vec![(20, 1)], vec![(20, 2)], vec![(16, 1)], vec![(10, 1)], vec![(4, 2)]][rng.weighted(&[60, 12, 12, 10, 6])].clone(),
            Kind::Restaurant if rng.chance(0.3) && !restrictions.contains(&"no_parking") => vec![(50, 1 + rng.below(2) as u32)],
            Kind::Restaurant => vec![(20, 2 + rng.below(3) as u32)],
            Kind::Factory => vec![(50, 2 + rng.below(2) as u32)],
        };
        let windows: Vec<Value> = match (kind, rng.below(10)) {
            (Kind::Household, 0..=1) => vec![json!({ "start": "08:00", "end": "11:00" }), json!({ "start": "17:00", "end": "20:00" })],
            (Kind::Household, 2..=5) => vec![json!({ "start": "08:00", "end": "12:00" })],
            (Kind::Household, _) => vec![json!({ "start": "13:00", "end": "18:00" })],
            (Kind::Restaurant, 0..=6) => vec![json!({ "start": "09:00", "end": "11:00" })],
            (Kind::Restaurant, _) => vec![json!({ "start": "14:00", "end": "16:30" })],
            (Kind::Factory, _) => vec![json!({ "start": "08:00", "end": "17:00" })],
        };
        let payment = match kind {
            Kind::Household => ["cash", "cash", "cash", "transfer"][rng.below(4)],
            _ => ["monthly", "monthly", "transfer"][rng.below(3)],
        };
        let number = 1 + rng.below(300);
        let address = format!("{}{}{}號", district.name, rng.pick(STREETS), number);
        customer_list.push(json!({
            "code": format!("C{:05}", i + 1),
            "name": name(&mut rng, kind),
            "phone": format!("0{}{:07}", [2, 2, 2, 9][rng.below(4)], rng.below(10_000_000)),
            "address": address,
            "district": district.name,
            "lat": lat,
            "lon": lon,
            "time_windows": windows,
            "usual_cylinders": usual.iter().map(|&(kg, q)| json!({ "size_kg": kg, "quantity": q })).collect::<Vec<_>>(),
            "access_restrictions": restrictions,
            "payment_method": payment,
        }));
        // A factory's 50 kg cylinders go on the trucks whose drivers hold the hazardous-goods
        // permit (vehicle type 0) only, where a truck can stop.
        if kind == Kind::Factory && restrictions.is_empty() {
            customer_list[i]["allowed_vehicle_types"] = json!([0]);
        }
        // About a fifth of the customers order on a given day; restaurants and factories more.
        let orders_today = match kind {
            Kind::Household => rng.chance(0.15),
            Kind::Restaurant => rng.chance(0.35),
            Kind::Factory => rng.chance(0.4),
        };
        if orders_today {
            let urgent = rng.chance(0.05);
            let mut order = json!({
                "customer": i,
                "delivery_date": date,
                "cylinders": usual.iter().map(|&(kg, q)| json!({ "size_kg": kg, "quantity": q })).collect::<Vec<_>>(),
                "priority": if urgent { "urgent" } else { "normal" },
            });
            match rng.below(3) {
                0 => order["preference"] = json!(["morning", "afternoon"][rng.below(2)]),
                1 => order["note"] = json!(if urgent { "瓦斯快用完了" } else { "請按門鈴" }),
                _ => {}
            }
            // Some restaurants have a second shop a few streets away that may take the delivery.
            if kind == Kind::Restaurant && i % 4 == 1 {
                let shop = format!("{}（分店）", customer_list[i]["address"].as_str().unwrap_or_default());
                order["alternative_addresses"] = json!([{ "address": shop, "district": district.name, "lat": lat + 0.004, "lon": lon + 0.003 }]);
            }
            orders.push(order);
        }
    }
    json!({
        "depots": depots,
        "vehicle_types": vehicle_types,
        "vehicles": vehicles,
        "drivers": drivers,
        "customers": customer_list,
        "orders": orders,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_distributor_and_references_are_in_range() {
        let a = distributor(7, 300, "2026-11-23");
        assert_eq!(a, distributor(7, 300, "2026-11-23"));
        assert_ne!(a, distributor(8, 300, "2026-11-23"));
        let len = |k: &str| a[k].as_array().map_or(0, Vec::len);
        assert_eq!((len("depots"), len("customers")), (2, 300));
        assert!(len("orders") > 30 && len("orders") < 150, "{} orders", len("orders"));
        for v in a["vehicles"].as_array().unwrap() {
            assert!(v["vehicle_type"].as_u64().unwrap() < len("vehicle_types") as u64);
            assert!(v["depot"].as_u64().unwrap() < 2);
        }
        for o in a["orders"].as_array().unwrap() {
            assert!(o["customer"].as_u64().unwrap() < 300);
        }
        let codes: std::collections::HashSet<_> = a["customers"].as_array().unwrap().iter().map(|c| c["code"].clone()).collect();
        assert_eq!(codes.len(), 300, "customer codes are unique");
        // Narrow lanes exist and only get small orders a motorcycle carries.
        let narrow: Vec<_> =
            a["customers"].as_array().unwrap().iter().filter(|c| c["access_restrictions"].as_array().unwrap().iter().any(|r| r == "narrow_lane")).collect();
        assert!(!narrow.is_empty());
        assert!(narrow.iter().all(|c| c["usual_cylinders"] == json!([{ "size_kg": 20, "quantity": 1 }])));
        let factories: Vec<_> = a["customers"].as_array().unwrap().iter().filter(|c| c.get("allowed_vehicle_types").is_some()).collect();
        assert!(!factories.is_empty() && factories.iter().all(|c| c["allowed_vehicle_types"] == json!([0])));
        let with_shop = a["orders"].as_array().unwrap().iter().filter(|o| o.get("alternative_addresses").is_some()).count();
        assert!(with_shop > 0);
    }
}
