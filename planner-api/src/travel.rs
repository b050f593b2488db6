//! Travel matrices: how far and how long between every pair of stops, per routing profile.
//!
//! [`TravelMatrix`] is the seam: the planner asks it for a square matrix over a list of points
//! and does not care where the numbers come from. The embedded default, [`GreatCircle`],
//! estimates road distance as the great-circle distance (the `geo` crate's haversine) times a
//! road-detour factor, and duration as that distance at a profile's average speed. Points are
//! snapped to H3 cells (`h3o`, resolution [`TravelConfig::resolution`], about 25 m across at the
//! default 11) and results are cached per cell pair and profile, so planning the same area again
//! costs nothing. The OSRM client (`crate::osrm`) and the road graph (`crate::road`) implement
//! the same trait and are chosen at start-up.

use geo::{Distance, Haversine, Point};
use h3o::{CellIndex, LatLng, Resolution};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// How a kind of vehicle travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoutingProfile {
    /// Small trucks.
    Truck,
    /// Heavy motorcycles (through narrow lanes).
    Motorcycle,
}

impl RoutingProfile {
    /// The profile's name in the solver's JSON format.
    pub fn name(self) -> &'static str {
        match self {
            RoutingProfile::Truck => "truck",
            RoutingProfile::Motorcycle => "motorcycle",
        }
    }
}

/// Speed and detour of one profile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProfileSpeed {
    /// Average speed on the road, km/h.
    pub speed_kmh: f64,
    /// Road distance over great-circle distance (≥ 1).
    pub detour_factor: f64,
}

/// Configuration of the embedded matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TravelConfig {
    /// Trucks.
    pub truck: ProfileSpeed,
    /// Heavy motorcycles.
    pub motorcycle: ProfileSpeed,
    /// H3 resolution points are snapped to for caching.
    pub resolution: Resolution,
}

impl Default for TravelConfig {
    /// Taipei figures (the same as the generated example days): trucks 22 km/h with a detour of
    /// 1.35, motorcycles 25 km/h with 1.25; H3 resolution 11.
    fn default() -> Self {
        TravelConfig {
            truck: ProfileSpeed { speed_kmh: 22.0, detour_factor: 1.35 },
            motorcycle: ProfileSpeed { speed_kmh: 25.0, detour_factor: 1.25 },
            resolution: Resolution::Eleven,
        }
    }
}

/// A travel matrix could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TravelError {
    /// A point is not a valid coordinate.
    #[error("point {index} ({lat}, {lon}) is not a valid coordinate")]
    BadPoint {
        /// Its position in the list.
        index: usize,
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
    /// A configuration value is out of range.
    #[error("{name} = {value:?}: {why}")]
    BadConfig {
        /// The environment variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is expected.
        why: &'static str,
    },
}

impl TravelConfig {
    /// Reads the configuration from the environment, with [`TravelConfig::default`] for what is
    /// unset: `TRAVEL_TRUCK_SPEED_KMH`, `TRAVEL_TRUCK_DETOUR`, `TRAVEL_MOTORCYCLE_SPEED_KMH`,
    /// `TRAVEL_MOTORCYCLE_DETOUR`, `TRAVEL_H3_RESOLUTION` (0–15).
    pub fn from_env() -> Result<TravelConfig, TravelError> {
        TravelConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (an environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<TravelConfig, TravelError> {
        let mut c = TravelConfig::default();
        let number = |name: &'static str, min: f64, max: f64, why: &'static str| -> Result<Option<f64>, TravelError> {
            match lookup(name) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() && (min..=max).contains(&x) => Ok(Some(x)),
                    _ => Err(TravelError::BadConfig { name, value: v, why }),
                },
            }
        };
        let speed = "a speed in km/h between 1 and 200";
        let detour = "a detour factor between 1 and 5";
        if let Some(v) = number("TRAVEL_TRUCK_SPEED_KMH", 1.0, 200.0, speed)? {
            c.truck.speed_kmh = v;
        }
        if let Some(v) = number("TRAVEL_TRUCK_DETOUR", 1.0, 5.0, detour)? {
            c.truck.detour_factor = v;
        }
        if let Some(v) = number("TRAVEL_MOTORCYCLE_SPEED_KMH", 1.0, 200.0, speed)? {
            c.motorcycle.speed_kmh = v;
        }
        if let Some(v) = number("TRAVEL_MOTORCYCLE_DETOUR", 1.0, 5.0, detour)? {
            c.motorcycle.detour_factor = v;
        }
        if let Some(v) = lookup("TRAVEL_H3_RESOLUTION") {
            let bad = || TravelError::BadConfig { name: "TRAVEL_H3_RESOLUTION", value: v.clone(), why: "an H3 resolution 0-15" };
            let r: u8 = v.trim().parse().map_err(|_| bad())?;
            c.resolution = Resolution::try_from(r).map_err(|_| bad())?;
        }
        Ok(c)
    }

    fn speed(&self, profile: RoutingProfile) -> ProfileSpeed {
        match profile {
            RoutingProfile::Truck => self.truck,
            RoutingProfile::Motorcycle => self.motorcycle,
        }
    }
}

/// Square matrices over a list of points: `distance_m[a][b]`, `duration_s[a][b]` from point `a`
/// to point `b`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrices {
    /// Metres.
    pub distance_m: Vec<Vec<i64>>,
    /// Seconds.
    pub duration_s: Vec<Vec<i64>>,
    /// Where the numbers come from.
    pub source: TravelSource,
}

/// Where a plan's travel numbers came from, shown with the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TravelSource {
    /// The routing profile (`truck`, `motorcycle`).
    pub profile: String,
    /// `osrm` (road network), `road-graph` (an OpenStreetMap extract the service was given) or
    /// `great-circle` (the embedded estimate).
    pub provider: String,
    /// Why the estimate stands in for OSRM or the road graph, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// The rush hours the travel source implies and the plan drove (the road graph's hourly
    /// speeds, when the plan named no bands of its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rush_hours: Vec<crate::domain::plan::RushHour>,
}

/// Distances (metres) and durations (seconds) from each of some points (rows) to each of
/// others (columns).
pub type DistanceDuration = (Vec<Vec<i64>>, Vec<Vec<i64>>);

/// A source of travel matrices.
pub trait TravelMatrix: Send + Sync + fmt::Debug {
    /// Whether the road-network server behind this matrix has its circuit breaker open (calls
    /// fall back to the embedded estimate), for `/metrics`; `None` without such a server.
    fn breaker_open(&self) -> Option<bool> {
        None
    }

    /// Distances and durations between every pair of `points` (`(lat, lon)` in degrees) for
    /// `profile`.
    fn matrices(&self, profile: RoutingProfile, points: &[(f64, f64)]) -> Result<Matrices, TravelError>;

    /// Distances and durations from each of `from` (rows) to each of `to` (columns), for a
    /// plan that gains a few points: `(metres, seconds)`. By default the matrix of both sets,
    /// cut down.
    fn between(&self, profile: RoutingProfile, from: &[(f64, f64)], to: &[(f64, f64)]) -> Result<DistanceDuration, TravelError> {
        let points: Vec<(f64, f64)> = from.iter().chain(to).copied().collect();
        let m = self.matrices(profile, &points)?;
        let cut = |x: &Vec<Vec<i64>>| x[..from.len()].iter().map(|row| row[from.len()..].to_vec()).collect();
        Ok((cut(&m.distance_m), cut(&m.duration_s)))
    }

    /// The rush hours this source's roads imply for `profile`, which a plan that names none
    /// drives with; none by default (OSRM and the estimate know no hours).
    fn rush_hours(&self, _profile: RoutingProfile) -> Vec<crate::domain::plan::RushHour> {
        Vec::new()
    }
}

/// Cache entries kept at most; the cache starts over when full.
const MAX_CACHED: usize = 4_000_000;

/// A cache key: from cell, to cell, profile.
type CellPair = (CellIndex, CellIndex, RoutingProfile);

/// Great-circle distance with a detour factor, cached per H3 cell pair.
#[derive(Debug)]
pub struct GreatCircle {
    config: TravelConfig,
    /// `(from cell, to cell, profile)` → `(metres, seconds)`.
    cache: Mutex<HashMap<CellPair, (i64, i64)>>,
}

impl GreatCircle {
    /// A matrix source with `config`.
    pub fn new(config: TravelConfig) -> GreatCircle {
        GreatCircle { config, cache: Mutex::new(HashMap::new()) }
    }

    /// How many cell pairs are cached.
    pub fn cached(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Distance and duration between the centres of two cells.
    fn cell_pair(&self, profile: RoutingProfile, a: CellIndex, b: CellIndex) -> (i64, i64) {
        if a == b {
            return (0, 0);
        }
        let (pa, pb) = (LatLng::from(a), LatLng::from(b));
        let great_circle = Haversine.distance(Point::new(pa.lng(), pa.lat()), Point::new(pb.lng(), pb.lat()));
        let speed = self.config.speed(profile);
        let metres = great_circle * speed.detour_factor;
        let seconds = metres / (speed.speed_kmh / 3.6);
        // Both are below the Earth's circumference and a few days: exact enough in i64.
        #[allow(clippy::cast_possible_truncation)]
        (metres.round() as i64, seconds.round() as i64)
    }
}

impl GreatCircle {
    fn cells(&self, points: &[(f64, f64)]) -> Result<Vec<CellIndex>, TravelError> {
        points
            .iter()
            .enumerate()
            .map(|(index, &(lat, lon))| LatLng::new(lat, lon).map(|p| p.to_cell(self.config.resolution)).map_err(|_| TravelError::BadPoint { index, lat, lon }))
            .collect()
    }
}

impl GreatCircle {
    /// Distances and durations from each cell of `from` to each of `to`, through the cache.
    fn cell_matrices(&self, profile: RoutingProfile, from: &[CellIndex], to: &[CellIndex]) -> DistanceDuration {
        let mut distance_m = vec![vec![0; to.len()]; from.len()];
        let mut duration_s = vec![vec![0; to.len()]; from.len()];
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() + from.len() * to.len() > MAX_CACHED {
            cache.clear();
        }
        for (a, &ca) in from.iter().enumerate() {
            for (b, &cb) in to.iter().enumerate() {
                let (d, t) = *cache.entry((ca, cb, profile)).or_insert_with(|| self.cell_pair(profile, ca, cb));
                distance_m[a][b] = d;
                duration_s[a][b] = t;
            }
        }
        (distance_m, duration_s)
    }
}

impl TravelMatrix for GreatCircle {
    fn between(&self, profile: RoutingProfile, from: &[(f64, f64)], to: &[(f64, f64)]) -> Result<DistanceDuration, TravelError> {
        Ok(self.cell_matrices(profile, &self.cells(from)?, &self.cells(to)?))
    }

    fn matrices(&self, profile: RoutingProfile, points: &[(f64, f64)]) -> Result<Matrices, TravelError> {
        let cells = self.cells(points)?;
        let (distance_m, duration_s) = self.cell_matrices(profile, &cells, &cells);
        Ok(Matrices {
            distance_m,
            duration_s,
            source: TravelSource { profile: profile.name().to_owned(), provider: "great-circle".to_owned(), fallback_reason: None, rush_hours: Vec::new() },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAIPEI_101: (f64, f64) = (25.0339, 121.5645);
    const TAIPEI_MAIN_STATION: (f64, f64) = (25.0478, 121.5170);

    #[test]
    fn distances_between_two_sets_are_those_of_the_whole_matrix() {
        let m = GreatCircle::new(TravelConfig::default());
        let points = [TAIPEI_101, TAIPEI_MAIN_STATION, (25.05, 121.55), (25.01, 121.46)];
        let whole = m.matrices(RoutingProfile::Motorcycle, &points).expect("matrix");
        let (d, t) = m.between(RoutingProfile::Motorcycle, &points[1..3], &points).expect("rows");
        assert_eq!(d, whole.distance_m[1..3].to_vec());
        assert_eq!(t, whole.duration_s[1..3].to_vec());
        let (d, _) = m.between(RoutingProfile::Motorcycle, &points, &points[3..]).expect("columns");
        assert_eq!(d, whole.distance_m.iter().map(|row| vec![row[3]]).collect::<Vec<_>>());
    }

    #[test]
    fn applies_the_detour_factor_and_speed_of_each_profile() {
        let m = GreatCircle::new(TravelConfig::default());
        let truck = m.matrices(RoutingProfile::Truck, &[TAIPEI_101, TAIPEI_MAIN_STATION]).expect("matrix");
        // About 5.0 km as the crow flies; 1.35 times that by truck.
        assert!((6_500..7_000).contains(&truck.distance_m[0][1]), "{:?}", truck.distance_m);
        assert_eq!(truck.distance_m[0][0], 0);
        let expected_s = truck.distance_m[0][1] as f64 / (22.0 / 3.6);
        assert!((truck.duration_s[0][1] as f64 - expected_s).abs() <= 1.0);
        let moto = m.matrices(RoutingProfile::Motorcycle, &[TAIPEI_101, TAIPEI_MAIN_STATION]).expect("matrix");
        assert!(moto.distance_m[0][1] < truck.distance_m[0][1]);
        assert!(moto.duration_s[0][1] < truck.duration_s[0][1]);
    }

    #[test]
    fn caches_by_cell_pair_so_nearby_points_share_an_entry() {
        let m = GreatCircle::new(TravelConfig::default());
        m.matrices(RoutingProfile::Truck, &[TAIPEI_101, TAIPEI_MAIN_STATION]).expect("matrix");
        assert_eq!(m.cached(), 4);
        // A metre away: the same cells, so nothing new is cached and the answer is the same.
        let near = (TAIPEI_101.0 + 0.00001, TAIPEI_101.1);
        let again = m.matrices(RoutingProfile::Truck, &[near, TAIPEI_MAIN_STATION]).expect("matrix");
        assert_eq!(m.cached(), 4);
        assert_eq!(again.distance_m, m.matrices(RoutingProfile::Truck, &[TAIPEI_101, TAIPEI_MAIN_STATION]).expect("m").distance_m);
    }

    #[test]
    fn refuses_bad_points_and_bad_configuration() {
        let m = GreatCircle::new(TravelConfig::default());
        assert!(matches!(m.matrices(RoutingProfile::Truck, &[(f64::NAN, 121.0)]), Err(TravelError::BadPoint { index: 0, .. })));
        let env = |k: &str| (k == "TRAVEL_TRUCK_DETOUR").then(|| "0.5".to_owned());
        assert!(matches!(TravelConfig::from_lookup(env), Err(TravelError::BadConfig { name: "TRAVEL_TRUCK_DETOUR", .. })));
        let env = |k: &str| (k == "TRAVEL_H3_RESOLUTION").then(|| "9".to_owned());
        assert_eq!(TravelConfig::from_lookup(env).map(|c| c.resolution).ok(), Some(Resolution::Nine));
    }
}
