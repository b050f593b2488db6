//! A generator of realistic LPG delivery days in Taipei and New Taipei, deterministic for a seed.
//!
//! Each customer exchanges full cylinders for empties at one stop: the delivery counts cylinders
//! per size class, their full weight (gas + tare, the tare taken as roughly the gas weight) and
//! their gas; the pickup brings back the same number of empties (tare weight only, no gas).
//! Vehicles follow the road rules in `DOMAIN.md` as capacities and skills:
//! - trucks whose driver holds the hazardous-goods permit (`hazmat_permit`) carry up to 900 kg;
//! - one truck whose driver has no permit may carry at most 50 kg of gas per trip (the exemption),
//!   so it runs short trips with reloads;
//! - heavy motorcycles (`narrow_lane`, the only vehicles that fit in 巷弄) carry two 20 kg
//!   cylinders: at most 80 kg in total and 60 kg of gas.
//!
//! 50 kg cylinders are commercial and go out with permit holders only (company policy, as the
//! client skill `hazmat_permit`). The fleet is sized from the day's demand so that every day is
//! feasible in principle: enough capacity over all trips, and every client servable alone.

use crate::places::{District, Site, DEPOT_NEW_TAIPEI, DEPOT_TAIPEI, DISTRICTS};
use crate::places::{EATERIES, HOUSEHOLD_SUFFIXES, NICKNAMES, SURNAMES, TRADE_NAMES, WORKSHOPS};
use crate::rng::SplitMix64;
use solver::io::json::{Amounts, JsonBreak, JsonClient, JsonDepot, JsonProblem, JsonProfile, JsonTimeWindow, JsonVehicleType};

/// Capacity dimensions of the generated days, in this order.
pub const DIMENSIONS: [&str; 5] = ["cylinders_small", "cylinders_20kg", "cylinders_50kg", "weight_kg", "gas_kg"];

/// Skill of drivers holding the hazardous-goods permit.
pub const HAZMAT: &str = "hazmat_permit";
/// Skill of vehicles that fit in narrow lanes (heavy motorcycles).
pub const NARROW_LANE: &str = "narrow_lane";

/// Options of [`generate`]; [`DayOptions::new`] gives the baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct DayOptions {
    /// Number of customers.
    pub customers: usize,
    /// 1 (Taipei only) or 2 depots (Taipei and New Taipei).
    pub depots: usize,
    /// The delivery day, `YYYY-MM-DD`.
    pub date: String,
    /// Share of customers with two time windows (morning and late afternoon) instead of one.
    pub two_windows_share: f64,
    /// Share of households in narrow lanes, reachable by motorcycle only.
    pub narrow_lane_share: f64,
    /// Share of customers whose delivery is a planned refill that may wait: optional, with a
    /// prize.
    pub optional_share: f64,
    /// Whether drivers take a 45-minute lunch break starting between 11:30 and 13:30.
    pub lunch_breaks: bool,
    /// Whether a route lasting more than 8 hours pays overtime (an extra third of the hourly
    /// cost, as Taiwan's Labour Standards Act pays the first overtime hours at 1.34 times).
    pub overtime: bool,
}

impl DayOptions {
    /// The baseline: two depots, one window per customer, 12% narrow-lane households, every
    /// customer required.
    pub fn new(customers: usize) -> Self {
        DayOptions {
            customers,
            depots: 2,
            date: "2026-03-02".into(),
            two_windows_share: 0.0,
            narrow_lane_share: 0.12,
            optional_share: 0.0,
            lunch_breaks: false,
            overtime: false,
        }
    }
}

/// A baseline day of `customers` customers for `seed` (see [`DayOptions::new`]).
pub fn taipei_day(seed: u64, customers: usize) -> JsonProblem {
    generate(seed, &DayOptions::new(customers))
}

/// A day drawn from `seed` with `options`; the same seed and options give the same document.
pub fn generate(seed: u64, options: &DayOptions) -> JsonProblem {
    let mut rng = SplitMix64::new(seed);
    let two_depots = options.depots >= 2;
    let clients: Vec<JsonClient> = (0..options.customers).map(|i| client(&mut rng, i, options)).collect();
    let mut depots = vec![depot(&DEPOT_TAIPEI)];
    if two_depots {
        depots.push(depot(&DEPOT_NEW_TAIPEI));
    }
    JsonProblem {
        pairs: Vec::new(),
        name: format!("taipei-day-s{seed}-n{}", options.customers),
        date: options.date.clone(),
        dimensions: DIMENSIONS.iter().map(|s| s.to_string()).collect(),
        profiles: vec![
            JsonProfile { name: "truck".into(), speed_kmh: Some(22.0), detour_factor: Some(1.35), distance_m: None, duration_s: None, rush_hours: Vec::new() },
            JsonProfile {
                name: "motorcycle".into(),
                speed_kmh: Some(25.0),
                detour_factor: Some(1.25),
                distance_m: None,
                duration_s: None,
                rush_hours: Vec::new(),
            },
        ],
        depots,
        vehicle_types: fleet(&clients, two_depots, options),
        clients,
    }
}

/// What a customer is, which decides its order, window and service time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Household,
    Restaurant,
    Factory,
}

fn client(rng: &mut SplitMix64, i: usize, options: &DayOptions) -> JsonClient {
    let kind = [Kind::Household, Kind::Restaurant, Kind::Factory][rng.weighted(&[70, 22, 8])];
    let district = &DISTRICTS[rng.weighted(&DISTRICTS.iter().map(|d| d.weight).collect::<Vec<_>>())];
    let (lat, lon) = jitter(rng, district);
    let narrow = kind == Kind::Household && rng.chance(options.narrow_lane_share);
    // Cylinders as (kg of gas, count).
    let order: Vec<(i64, i64)> = match kind {
        Kind::Household if narrow => vec![(20, 1)],
        Kind::Household => match rng.weighted(&[60, 14, 12, 8, 6]) {
            0 => vec![(20, 1)],
            1 => vec![(20, 2)],
            2 => vec![(16, 1)],
            3 => vec![(10, 1)],
            _ => vec![(4, 2)],
        },
        Kind::Restaurant if rng.chance(0.3) => vec![(50, rng.between(1, 2))],
        Kind::Restaurant => vec![(20, rng.between(2, 4))],
        Kind::Factory => vec![(50, rng.between(2, 4))],
    };
    let commercial = order.iter().any(|&(kg, _)| kg == 50);
    let (delivery, pickup) = exchange(&order);
    let mut skills = Vec::new();
    if commercial {
        skills.push(HAZMAT.to_string());
    }
    if narrow {
        skills.push(NARROW_LANE.to_string());
    }
    // A quarter of the 50 kg orders wait for the filling plant's mid-morning delivery.
    let release_time = (commercial && rng.chance(0.25)).then(|| "10:00".to_string());
    let time_windows = windows(rng, kind, release_time.is_some(), options.two_windows_share);
    let service_minutes = match kind {
        Kind::Household => rng.between(5, 7),
        Kind::Restaurant => rng.between(6, 9),
        Kind::Factory => rng.between(8, 10),
    } as f64;
    let required = !rng.chance(options.optional_share);
    let prize = (!required).then_some(match kind {
        Kind::Household => 300.0,
        Kind::Restaurant => 600.0,
        Kind::Factory => 1200.0,
    });
    JsonClient {
        id: format!("C{:04}", i + 1),
        name: name(rng, kind),
        lat,
        lon,
        district: Some(district.name.to_string()),
        delivery,
        pickup,
        service_minutes,
        time_windows,
        release_time,
        required,
        prize,
        skills,
        vehicle_types: Vec::new(),
        group: None,
    }
}

/// A point near the district's centre (within about 1 km), rounded to 6 decimals (~0.1 m).
pub(crate) fn jitter(rng: &mut SplitMix64, district: &District) -> (f64, f64) {
    let round6 = |v: f64| (v * 1e6).round() / 1e6;
    let lat = district.lat + (rng.unit() * 2.0 - 1.0) * 0.008;
    let lon = district.lon + (rng.unit() * 2.0 - 1.0) * 0.009;
    (round6(lat), round6(lon))
}

/// Delivery and pickup amounts of an exchange of full cylinders for as many empties.
fn exchange(order: &[(i64, i64)]) -> (Amounts, Amounts) {
    let mut delivery = Amounts::new();
    let mut pickup = Amounts::new();
    for &(kg, count) in order {
        let slot = match kg {
            50 => "cylinders_50kg",
            20 => "cylinders_20kg",
            _ => "cylinders_small",
        };
        for (amounts, weight, gas) in [(&mut delivery, 2 * kg, kg), (&mut pickup, kg, 0)] {
            *amounts.entry(slot.to_string()).or_insert(0) += count;
            *amounts.entry("weight_kg".to_string()).or_insert(0) += count * weight;
            if gas > 0 {
                *amounts.entry("gas_kg".to_string()).or_insert(0) += count * gas;
            }
        }
    }
    (delivery, pickup)
}

const MORNING: (&str, &str) = ("08:00", "12:00");
const AFTERNOON: (&str, &str) = ("13:00", "18:00");
const ALL_DAY: (&str, &str) = ("08:00", "18:00");

fn windows(rng: &mut SplitMix64, kind: Kind, released_late: bool, two_windows_share: f64) -> Vec<JsonTimeWindow> {
    let w = |(start, end): (&str, &str)| JsonTimeWindow { start: start.into(), end: end.into() };
    if rng.chance(two_windows_share) {
        // At home (or open) in the morning and again late in the afternoon.
        return vec![w(("08:00", "11:00")), w(("15:00", "18:00"))];
    }
    // Morning, afternoon, all day; goods released at 10:00 are not promised for the morning.
    let weights: [u32; 3] = match kind {
        _ if released_late => [0, 50, 50],
        Kind::Household => [45, 35, 20],
        Kind::Restaurant => [60, 25, 15],
        Kind::Factory => [30, 20, 50],
    };
    vec![w([MORNING, AFTERNOON, ALL_DAY][rng.weighted(&weights)])]
}

pub(crate) fn name(rng: &mut SplitMix64, kind: Kind) -> String {
    let surname = *rng.pick(SURNAMES);
    match kind {
        Kind::Household => format!("{surname}{}", rng.pick(HOUSEHOLD_SUFFIXES)),
        Kind::Restaurant => {
            let eatery = *rng.pick(EATERIES);
            match rng.below(4) {
                0 => format!("小{surname}{eatery}"),
                1 => format!("老{surname}{eatery}"),
                2 => format!("{surname}記{eatery}"),
                _ => format!("阿{}{eatery}", rng.pick(NICKNAMES)),
            }
        }
        Kind::Factory => format!("{}{}", rng.pick(TRADE_NAMES), rng.pick(WORKSHOPS)),
    }
}

fn depot(site: &Site) -> JsonDepot {
    JsonDepot { id: site.id.into(), name: site.name.into(), lat: site.lat, lon: site.lon, open: "07:30".into(), close: "19:00".into(), reload_minutes: 15.0 }
}

/// Capacity of a truck with a permit holder: 30 cylinder slots per size class, 900 kg.
const TRUCK: [i64; 5] = [30, 30, 12, 900, 450];
/// Capacity of a truck whose driver has no permit: at most 50 kg of gas per trip.
const EXEMPT_TRUCK: [i64; 5] = [30, 30, 0, 900, 50];
/// Capacity of a heavy motorcycle: two 20 kg cylinders (or four small), 80 kg, 60 kg of gas.
const MOTORCYCLE: [i64; 5] = [4, 2, 0, 80, 60];
/// Trips a permit truck is assumed to make when sizing the fleet (it may make 3).
const SIZING_TRIPS: i64 = 2;

/// Trucks and motorcycles for the day, sized from the clients' demand.
fn fleet(clients: &[JsonClient], two_depots: bool, options: &DayOptions) -> Vec<JsonVehicleType> {
    let total =
        |f: &dyn Fn(&JsonClient) -> bool, dim: &str| -> i64 { clients.iter().filter(|c| f(c)).map(|c| c.delivery.get(dim).copied().unwrap_or(0)).sum() };
    let by_truck = |c: &JsonClient| !c.skills.iter().any(|s| s == NARROW_LANE);
    // Permit trucks carry everything but narrow-lane orders, with a quarter to spare, and make
    // at most about 20 stops each.
    let mut trucks = (clients.iter().filter(|c| by_truck(c)).count() as i64 + 19) / 20;
    for (d, cap) in TRUCK.iter().enumerate() {
        let demand = total(&by_truck, DIMENSIONS[d]);
        trucks = trucks.max((demand * 5 / 4 + cap * SIZING_TRIPS - 1) / (cap * SIZING_TRIPS));
    }
    let trucks = trucks.max(3) as usize;
    let narrow = clients.iter().filter(|c| !by_truck(c)).count();
    let motorcycles = narrow.div_ceil(12).max(2);

    // With two depots, New Taipei gets a third of the permit trucks and one more motorcycle.
    let trucks_nh = if two_depots { trucks - trucks / 3 } else { trucks };
    let site = DEPOT_TAIPEI;
    let mut types = vec![
        truck("truck-nh", "小貨車 內湖（危險物品證）", trucks_nh, &site, TRUCK, true),
        truck("truck-exempt-nh", "小貨車 內湖（免證，≤50 kg 瓦斯）", 1, &site, EXEMPT_TRUCK, false),
        motorcycle("moto-nh", "重型機車 內湖", motorcycles, &site),
    ];
    if two_depots {
        let site = DEPOT_NEW_TAIPEI;
        types.push(truck("truck-xz", "小貨車 新莊（危險物品證）", trucks - trucks_nh, &site, TRUCK, true));
        types.push(motorcycle("moto-xz", "重型機車 新莊", 1, &site));
    }
    for vt in &mut types {
        if options.lunch_breaks {
            vt.breaks = vec![JsonBreak { window: JsonTimeWindow { start: "11:30".into(), end: "13:30".into() }, minutes: 45.0 }];
        }
        if options.overtime {
            vt.overtime_after_minutes = Some(480.0);
            vt.overtime_cost_per_hour = (vt.cost_per_hour * 0.34).round();
        }
    }
    types
}

fn capacity(values: [i64; 5]) -> Amounts {
    DIMENSIONS.iter().zip(values).filter(|(_, v)| *v > 0).map(|(d, v)| (d.to_string(), v)).collect()
}

fn truck(id: &str, name: &str, count: usize, site: &Site, cap: [i64; 5], permit: bool) -> JsonVehicleType {
    JsonVehicleType {
        id: id.into(),
        name: name.into(),
        count,
        capacity: capacity(cap),
        start_depot: site.id.into(),
        end_depot: None,
        shift_start: Some("08:00".into()),
        shift_end: Some("18:00".into()),
        max_duration_minutes: Some(600.0),
        max_distance_km: None,
        fixed_cost: 800.0,
        cost_per_km: 6.0,
        cost_per_hour: 250.0,
        profile: "truck".into(),
        skills: if permit { vec![HAZMAT.into()] } else { vec![] },
        reload_depots: vec![site.id.into()],
        max_trips: if permit { 3 } else { 6 },
        breaks: vec![],
        overtime_after_minutes: None,
        overtime_cost_per_hour: 0.0,
        fair_day_cost_per_hour_squared: 0.0,
    }
}

fn motorcycle(id: &str, name: &str, count: usize, site: &Site) -> JsonVehicleType {
    JsonVehicleType {
        id: id.into(),
        name: name.into(),
        count,
        capacity: capacity(MOTORCYCLE),
        start_depot: site.id.into(),
        end_depot: None,
        shift_start: Some("08:00".into()),
        shift_end: Some("18:00".into()),
        max_duration_minutes: Some(600.0),
        max_distance_km: None,
        fixed_cost: 300.0,
        cost_per_km: 2.0,
        cost_per_hour: 200.0,
        profile: "motorcycle".into(),
        skills: vec![NARROW_LANE.into()],
        reload_depots: vec![site.id.into()],
        max_trips: 8,
        breaks: vec![],
        overtime_after_minutes: None,
        overtime_cost_per_hour: 0.0,
        fair_day_cost_per_hour_squared: 0.0,
    }
}
