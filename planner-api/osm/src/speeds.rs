//! Road classes, vehicles, and speeds per vehicle, road class and hour of the day.

use serde::Deserialize;
use std::collections::BTreeMap;

/// How many road classes there are.
pub const CLASSES: usize = 10;

/// A road's class, from its OSM `highway` tag (a `_link` road counts as its road).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoadClass {
    /// Freeways (國道).
    Motorway,
    /// Expressways (快速道路).
    Trunk,
    /// Main arterials.
    Primary,
    /// Secondary arterials.
    Secondary,
    /// Collector roads.
    Tertiary,
    /// Minor roads of no other class.
    Unclassified,
    /// Streets where people live (巷).
    Residential,
    /// Shared streets at walking pace.
    LivingStreet,
    /// Access roads, alleys (弄), yards.
    Service,
    /// Farm and forest tracks.
    Track,
}

impl RoadClass {
    /// Every class, in order.
    pub const ALL: [RoadClass; CLASSES] = [
        RoadClass::Motorway,
        RoadClass::Trunk,
        RoadClass::Primary,
        RoadClass::Secondary,
        RoadClass::Tertiary,
        RoadClass::Unclassified,
        RoadClass::Residential,
        RoadClass::LivingStreet,
        RoadClass::Service,
        RoadClass::Track,
    ];

    /// The class's OSM `highway` value.
    pub fn name(self) -> &'static str {
        match self {
            RoadClass::Motorway => "motorway",
            RoadClass::Trunk => "trunk",
            RoadClass::Primary => "primary",
            RoadClass::Secondary => "secondary",
            RoadClass::Tertiary => "tertiary",
            RoadClass::Unclassified => "unclassified",
            RoadClass::Residential => "residential",
            RoadClass::LivingStreet => "living_street",
            RoadClass::Service => "service",
            RoadClass::Track => "track",
        }
    }

    /// The class of a `highway` value, `None` for what motor vehicles do not drive on
    /// (footways, cycleways, steps, roads under construction…).
    pub fn from_highway(value: &str) -> Option<RoadClass> {
        let base = value.strip_suffix("_link").unwrap_or(value);
        RoadClass::ALL.into_iter().find(|c| c.name() == base).or(match value {
            "road" => Some(RoadClass::Unclassified),
            _ => None,
        })
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Arterials (tertiary and above), which rush hours slow down the most.
    pub fn is_major(self) -> bool {
        self <= RoadClass::Tertiary
    }
}

/// A kind of vehicle on the road graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vehicle {
    /// Small delivery trucks: not on roads narrower than [`crate::graph::MIN_TRUCK_WIDTH_M`].
    Truck,
    /// Motorcycles: everywhere but freeways, which Taiwan closes to them.
    Motorcycle,
}

impl Vehicle {
    /// Both, in order.
    pub const ALL: [Vehicle; 2] = [Vehicle::Truck, Vehicle::Motorcycle];

    /// Its name in the speeds file.
    pub fn name(self) -> &'static str {
        match self {
            Vehicle::Truck => "truck",
            Vehicle::Motorcycle => "motorcycle",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A speeds file could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("road speeds: {0}")]
pub struct SpeedsError(pub String);

/// Speeds in km/h per vehicle, road class and hour of the day (0–23, local time).
#[derive(Clone, Debug, PartialEq)]
pub struct RoadSpeeds {
    kmh: [[[f64; 24]; CLASSES]; 2],
}

/// Fastest and slowest speed a file may give, km/h.
const SPEED_RANGE: (f64, f64) = (1.0, 200.0);

impl RoadSpeeds {
    /// Taipei's figures: free-flow speeds of city driving (trucks 70 km/h on freeways down to
    /// 18 on residential streets and 8 on tracks; motorcycles a little faster in town) and two
    /// peaks, 07:00–09:00 and 17:00–19:00, when arterials run at 55 % and 50 % of free flow for
    /// trucks (70 % and 65 % for motorcycles, which filter through) and minor streets at 80 %
    /// (90 %).
    pub fn taipei() -> RoadSpeeds {
        let free = |v: Vehicle, c: RoadClass| -> f64 {
            let (truck, moto) = match c {
                RoadClass::Motorway => (70.0, 70.0),
                RoadClass::Trunk => (50.0, 45.0),
                RoadClass::Primary => (35.0, 35.0),
                RoadClass::Secondary => (30.0, 32.0),
                RoadClass::Tertiary => (25.0, 28.0),
                RoadClass::Unclassified => (22.0, 25.0),
                RoadClass::Residential => (18.0, 22.0),
                RoadClass::LivingStreet => (10.0, 15.0),
                RoadClass::Service => (10.0, 15.0),
                RoadClass::Track => (8.0, 12.0),
            };
            if v == Vehicle::Truck {
                truck
            } else {
                moto
            }
        };
        let mut kmh = [[[0.0; 24]; CLASSES]; 2];
        for v in Vehicle::ALL {
            for c in RoadClass::ALL {
                for (hour, speed) in kmh[v.index()][c.index()].iter_mut().enumerate() {
                    let share = match (hour, c.is_major(), v) {
                        (7 | 8, true, Vehicle::Truck) => 0.55,
                        (17 | 18, true, Vehicle::Truck) => 0.50,
                        (7 | 8, true, Vehicle::Motorcycle) => 0.70,
                        (17 | 18, true, Vehicle::Motorcycle) => 0.65,
                        (7 | 8 | 17 | 18, false, Vehicle::Truck) => 0.80,
                        (7 | 8 | 17 | 18, false, Vehicle::Motorcycle) => 0.90,
                        _ => 1.0,
                    };
                    *speed = free(v, c) * share;
                }
            }
        }
        RoadSpeeds { kmh }
    }

    /// Taipei's figures ([`RoadSpeeds::taipei`]) with what a JSON document changes, e.g.
    /// `{"truck": {"primary": {"kmh": 40, "hours": {"8": 20, "18": 18}}}}`: per vehicle
    /// (`truck`, `motorcycle`) and road class (`motorway` … `track`), `kmh` sets every hour and
    /// `hours` sets single hours (0–23); speeds are 1–200 km/h.
    ///
    /// # Errors
    /// [`SpeedsError`] naming the unknown vehicle, class or hour, or the speed out of range.
    pub fn from_json(text: &str) -> Result<RoadSpeeds, SpeedsError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ClassJson {
            kmh: Option<f64>,
            #[serde(default)]
            hours: BTreeMap<String, f64>,
        }
        let doc: BTreeMap<String, BTreeMap<String, ClassJson>> = serde_json::from_str(text).map_err(|e| SpeedsError(e.to_string()))?;
        let mut out = RoadSpeeds::taipei();
        for (vehicle, classes) in doc {
            let v = Vehicle::ALL
                .into_iter()
                .find(|v| v.name() == vehicle)
                .ok_or_else(|| SpeedsError(format!("unknown vehicle {vehicle:?} (truck, motorcycle)")))?;
            for (class, c_json) in classes {
                let c =
                    RoadClass::ALL.into_iter().find(|c| c.name() == class).ok_or_else(|| SpeedsError(format!("{vehicle}: unknown road class {class:?}")))?;
                let check = |x: f64, what: &str| -> Result<f64, SpeedsError> {
                    if x.is_finite() && (SPEED_RANGE.0..=SPEED_RANGE.1).contains(&x) {
                        Ok(x)
                    } else {
                        Err(SpeedsError(format!("{vehicle}.{class}.{what} = {x}: a speed is 1-200 km/h")))
                    }
                };
                let hours = &mut out.kmh[v.index()][c.index()];
                if let Some(all) = c_json.kmh {
                    *hours = [check(all, "kmh")?; 24];
                }
                for (hour, speed) in c_json.hours {
                    let h: usize = hour
                        .trim()
                        .parse()
                        .ok()
                        .filter(|h| *h < 24)
                        .ok_or_else(|| SpeedsError(format!("{vehicle}.{class}.hours: {hour:?} is not an hour 0-23")))?;
                    hours[h] = check(speed, &format!("hours.{hour}"))?;
                }
            }
        }
        Ok(out)
    }

    /// The speed of `vehicle` on `class` during `hour` (0–23), km/h.
    pub fn at(&self, vehicle: Vehicle, class: RoadClass, hour: usize) -> f64 {
        self.kmh[vehicle.index()][class.index()][hour % 24]
    }

    /// The free-flow speed: the fastest of the day, km/h.
    pub fn free_flow(&self, vehicle: Vehicle, class: RoadClass) -> f64 {
        self.kmh[vehicle.index()][class.index()].iter().copied().fold(SPEED_RANGE.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_come_from_highway_tags() {
        assert_eq!(RoadClass::from_highway("primary_link"), Some(RoadClass::Primary));
        assert_eq!(RoadClass::from_highway("living_street"), Some(RoadClass::LivingStreet));
        assert_eq!(RoadClass::from_highway("footway"), None);
        assert_eq!(RoadClass::from_highway("construction"), None);
    }

    #[test]
    fn a_file_changes_speeds_on_top_of_taipei_s() {
        let s = RoadSpeeds::from_json(r#"{"truck": {"primary": {"kmh": 40, "hours": {"8": 20}}}}"#).expect("speeds");
        assert_eq!(s.at(Vehicle::Truck, RoadClass::Primary, 3), 40.0);
        assert_eq!(s.at(Vehicle::Truck, RoadClass::Primary, 8), 20.0);
        assert_eq!(s.free_flow(Vehicle::Truck, RoadClass::Primary), 40.0);
        assert_eq!(s.at(Vehicle::Motorcycle, RoadClass::Primary, 3), RoadSpeeds::taipei().at(Vehicle::Motorcycle, RoadClass::Primary, 3));
        for bad in [
            r#"{"bus": {}}"#,
            r#"{"truck": {"highway": {"kmh": 30}}}"#,
            r#"{"truck": {"primary": {"kmh": 0}}}"#,
            r#"{"truck": {"primary": {"hours": {"24": 30}}}}"#,
            r#"{"truck": {"primary": {"speed": 30}}}"#,
            "[",
        ] {
            assert!(RoadSpeeds::from_json(bad).is_err(), "{bad}");
        }
    }
}
