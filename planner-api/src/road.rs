//! Travel matrices on a road graph the service is given: an OpenStreetMap extract
//! (`LUCKYGAS_ROAD_GRAPH`, PBF) read at start-up by `luckygas-osm` into a petgraph graph per
//! vehicle, with speeds per road class and hour (Taipei's by default, changed by the JSON file
//! `LUCKYGAS_ROAD_SPEEDS_FILE`).
//!
//! Distances and free-flow durations come from shortest paths on the graph; the hourly speeds
//! become the plan's rush-hour bands when the plan names none ([`TravelMatrix::rush_hours`]), so
//! the solver's time-dependent travel drives the graph's own congestion. A stop further than
//! `LUCKYGAS_ROAD_SNAP_M` from every road of the graph makes that matrix fall back to the
//! great-circle estimate, and the plan says why, as with a failing OSRM.

use crate::domain::plan::RushHour;
use crate::domain::replan::clock_text;
use crate::travel::{DistanceDuration, GreatCircle, Matrices, RoutingProfile, TravelError, TravelMatrix, TravelSource};
use luckygas_osm::{RoadGraph, RoadSpeeds, Vehicle};
use std::path::PathBuf;

/// Default snapping radius, metres: a stop further than this from every road node of the graph
/// is off it.
pub const DEFAULT_SNAP_M: f64 = 300.0;

/// Where the road graph comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct RoadConfig {
    /// The OSM extract (PBF).
    pub extract: PathBuf,
    /// A JSON file of speeds ([`RoadSpeeds::from_json`]); Taipei's without one.
    pub speeds: Option<PathBuf>,
    /// Snapping radius, metres.
    pub snap_m: f64,
}

impl RoadConfig {
    /// From the environment: `LUCKYGAS_ROAD_GRAPH` (none: no road graph, `Ok(None)`),
    /// `LUCKYGAS_ROAD_SPEEDS_FILE`, `LUCKYGAS_ROAD_SNAP_M` (1–5000).
    ///
    /// # Errors
    /// [`TravelError::BadConfig`] for a snapping radius out of range.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<RoadConfig>, TravelError> {
        let Some(extract) = lookup("LUCKYGAS_ROAD_GRAPH").filter(|p| !p.trim().is_empty()) else {
            return Ok(None);
        };
        let speeds = lookup("LUCKYGAS_ROAD_SPEEDS_FILE").filter(|p| !p.trim().is_empty()).map(PathBuf::from);
        let snap_m = match lookup("LUCKYGAS_ROAD_SNAP_M") {
            None => DEFAULT_SNAP_M,
            Some(v) => v.trim().parse::<f64>().ok().filter(|x| (1.0..=5000.0).contains(x)).ok_or(TravelError::BadConfig {
                name: "LUCKYGAS_ROAD_SNAP_M",
                value: v.clone(),
                why: "a radius in metres between 1 and 5000",
            })?,
        };
        Ok(Some(RoadConfig { extract: PathBuf::from(extract), speeds, snap_m }))
    }
}

/// Travel matrices from a road graph, the great-circle estimate for stops off it.
#[derive(Debug)]
pub struct RoadMatrix {
    graph: RoadGraph,
    snap_m: f64,
    fallback: GreatCircle,
}

fn vehicle(profile: RoutingProfile) -> Vehicle {
    match profile {
        RoutingProfile::Truck => Vehicle::Truck,
        RoutingProfile::Motorcycle => Vehicle::Motorcycle,
    }
}

impl RoadMatrix {
    /// Reads the extract and the speeds of `config`.
    ///
    /// # Errors
    /// A message naming the file that cannot be read or used.
    pub fn load(config: &RoadConfig, fallback: GreatCircle) -> Result<RoadMatrix, String> {
        let speeds = match &config.speeds {
            None => RoadSpeeds::taipei(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("LUCKYGAS_ROAD_SPEEDS_FILE {}: {e}", path.display()))?;
                RoadSpeeds::from_json(&text).map_err(|e| format!("LUCKYGAS_ROAD_SPEEDS_FILE {}: {e}", path.display()))?
            }
        };
        let graph = RoadGraph::from_pbf_file(&config.extract, &speeds).map_err(|e| format!("LUCKYGAS_ROAD_GRAPH {}: {e}", config.extract.display()))?;
        Ok(RoadMatrix { graph, snap_m: config.snap_m, fallback })
    }

    /// The graph.
    pub fn graph(&self) -> &RoadGraph {
        &self.graph
    }

    fn source(profile: RoutingProfile, fallback_reason: Option<String>) -> TravelSource {
        let provider = if fallback_reason.is_some() { "great-circle" } else { "road-graph" };
        TravelSource { profile: profile.name().to_owned(), provider: provider.to_owned(), fallback_reason, rush_hours: Vec::new() }
    }
}

impl TravelMatrix for RoadMatrix {
    fn matrices(&self, profile: RoutingProfile, points: &[(f64, f64)]) -> Result<Matrices, TravelError> {
        match self.graph.table(vehicle(profile), points, points, self.snap_m) {
            Ok(t) => Ok(Matrices { distance_m: t.metres, duration_s: t.seconds, source: RoadMatrix::source(profile, None) }),
            Err(e) => {
                tracing::warn!(error = %e, profile = profile.name(), "a stop is off the road graph; using the great-circle estimate");
                let mut m = self.fallback.matrices(profile, points)?;
                m.source = RoadMatrix::source(profile, Some(e.to_string()));
                Ok(m)
            }
        }
    }

    fn between(&self, profile: RoutingProfile, from: &[(f64, f64)], to: &[(f64, f64)]) -> Result<DistanceDuration, TravelError> {
        match self.graph.table(vehicle(profile), from, to, self.snap_m) {
            Ok(t) => Ok((t.metres, t.seconds)),
            Err(e) => {
                tracing::warn!(error = %e, profile = profile.name(), "a stop is off the road graph; using the great-circle estimate");
                self.fallback.between(profile, from, to)
            }
        }
    }

    fn rush_hours(&self, profile: RoutingProfile) -> Vec<RushHour> {
        self.graph
            .rush_hours(vehicle(profile))
            .iter()
            .map(|b| RushHour { start: clock_text(i64::from(b.start_s)), end: clock_text(i64::from(b.end_s)), speed_percent: b.speed_percent })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_comes_from_the_environment() {
        assert_eq!(RoadConfig::from_lookup(|_| None).ok(), Some(None));
        let env = |k: &str| match k {
            "LUCKYGAS_ROAD_GRAPH" => Some("/maps/taipei.osm.pbf".to_owned()),
            "LUCKYGAS_ROAD_SNAP_M" => Some("150".to_owned()),
            _ => None,
        };
        let c = RoadConfig::from_lookup(env).expect("config").expect("some");
        assert_eq!((c.extract, c.speeds, c.snap_m), (PathBuf::from("/maps/taipei.osm.pbf"), None, 150.0));
        let env = |k: &str| match k {
            "LUCKYGAS_ROAD_GRAPH" => Some("/maps/taipei.osm.pbf".to_owned()),
            "LUCKYGAS_ROAD_SNAP_M" => Some("0".to_owned()),
            _ => None,
        };
        assert!(matches!(RoadConfig::from_lookup(env), Err(TravelError::BadConfig { name: "LUCKYGAS_ROAD_SNAP_M", .. })));
        assert_eq!(clock_text(7 * 3600 + 30 * 60), "07:30");
        assert_eq!(clock_text(86_400), "24:00");
    }

    #[test]
    fn a_missing_extract_is_an_error_naming_it() {
        let c = RoadConfig { extract: "/nonexistent/taipei.osm.pbf".into(), speeds: None, snap_m: 300.0 };
        let e = RoadMatrix::load(&c, GreatCircle::new(crate::travel::TravelConfig::default())).expect_err("no file");
        assert!(e.contains("LUCKYGAS_ROAD_GRAPH /nonexistent/taipei.osm.pbf"), "{e}");
    }
}
