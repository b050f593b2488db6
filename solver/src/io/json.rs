//! The JSON problem format of the CLI and the planning API: one delivery day described in
//! real-world units, turned into an integer [`Problem`] by [`build`] (or [`parse`] from text).
//!
//! # The document
//! ```json
//! {
//!   "name": "taipei-2026-03-02", "date": "2026-03-02",
//!   "dimensions": ["cylinders_20kg", "weight_kg"],
//!   "profiles": [{"name": "truck", "speed_kmh": 22, "detour_factor": 1.35}],
//!   "depots": [{"id": "NH", "name": "內湖站", "lat": 25.07, "lon": 121.58,
//!               "open": "07:30", "close": "19:00", "reload_minutes": 15}],
//!   "vehicle_types": [{"id": "truck", "name": "小貨車", "count": 3,
//!                      "capacity": {"cylinders_20kg": 30, "weight_kg": 900},
//!                      "start_depot": "NH", "shift_start": "08:00", "shift_end": "18:00",
//!                      "fixed_cost": 1200, "cost_per_km": 8, "cost_per_hour": 250,
//!                      "profile": "truck", "skills": ["hazmat_permit"],
//!                      "reload_depots": ["NH"], "max_trips": 3}],
//!   "clients": [{"id": "C0001", "name": "王家", "lat": 25.03, "lon": 121.56,
//!                "delivery": {"cylinders_20kg": 1, "weight_kg": 40},
//!                "pickup": {"cylinders_20kg": 1, "weight_kg": 20},
//!                "service_minutes": 5,
//!                "time_windows": [{"start": "08:00", "end": "12:00"}]}]
//! }
//! ```
//! An optional `pairs` list, e.g. `[{"pickup": "C0002", "delivery": "C0001", "amount":
//! {"cylinders_20kg": 2}}]`, makes pickup-and-delivery pairs between clients ([`JsonPair`]).
//! A client's `vehicle_types` (e.g. `["moto"]`) lists the only vehicle types that may serve it;
//! clients sharing a `group` (e.g. `"C0001"` on the home and the shop address, each its own
//! client) are one customer's alternatives, of which exactly one is served (at most one when
//! they are optional); the others come back unassigned as `group_served`.
//! Each field is documented on the types below. Locations are numbered depots first (in order),
//! then clients: explicit matrices (`distance_m`, `duration_s` of a profile) use that order.
//! Without explicit matrices, distances are great-circle (haversine) distances times the
//! profile's `detour_factor`, and durations are distance / `speed_kmh`.
//!
//! # Units inside the [`Problem`]
//! - distances in metres, durations and times of day in seconds (since midnight);
//! - loads as given (integers per capacity dimension, in the order of `dimensions`; a dimension
//!   missing from a `capacity`, `delivery` or `pickup` object counts as 0);
//! - costs in NT$ / [`COST_SCALE`] (NT$ 0.00001): `fixed_cost` NT$ x 100 000, `cost_per_km`
//!   (NT$/km) becomes a cost per metre of `cost_per_km x 100`, `cost_per_hour` (NT$/h) a cost per
//!   second of `cost_per_hour x 100 000 / 3600`, and prizes NT$ x 100 000; each rounded to the
//!   nearest integer. [`cost_to_ntd`] turns an internal cost back into NT$.
//!
//! Every error names the JSON path of the field at fault (see [`JsonError`]); no input panics.

mod build;
mod locate;
pub mod units;

pub use build::{build, build_clients};

use crate::error::ModelError;
use crate::model::{Cost, Problem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Internal costs are NT$ divided by this: one unit is NT$ 0.00001.
pub const COST_SCALE: i64 = 100_000;

/// An internal cost in NT$, for display.
pub fn cost_to_ntd(cost: Cost) -> f64 {
    cost as f64 / COST_SCALE as f64
}

/// Amounts per capacity dimension, by dimension name.
pub type Amounts = BTreeMap<String, i64>;

/// One delivery day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonProblem {
    /// Name of the instance.
    pub name: String,
    /// The delivery day, `YYYY-MM-DD`.
    pub date: String,
    /// Names of the capacity dimensions, e.g. `["cylinders_20kg", "weight_kg"]`.
    pub dimensions: Vec<String>,
    /// Routing profiles (how each kind of vehicle travels).
    pub profiles: Vec<JsonProfile>,
    /// Depots: locations `0..depots.len()`.
    pub depots: Vec<JsonDepot>,
    /// Vehicle types.
    pub vehicle_types: Vec<JsonVehicleType>,
    /// Clients: locations `depots.len()..`.
    pub clients: Vec<JsonClient>,
    /// Pickup-and-delivery pairs between clients (none when absent): see [`JsonPair`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<JsonPair>,
}

/// Goods picked up at one client and delivered at another by the same vehicle on the same trip,
/// pickup first; both clients are served or neither (they must be both required or both
/// optional), and the amount is on board only between them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonPair {
    /// Id of the client where the goods are picked up.
    pub pickup: String,
    /// Id of the client where they are delivered.
    pub delivery: String,
    /// The amount carried, by dimension name.
    #[serde(default)]
    pub amount: Amounts,
}

/// How one kind of vehicle travels: either from coordinates (`speed_kmh`, `detour_factor`) or
/// from explicit matrices, or a mix (explicit distances with a speed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonProfile {
    /// Profile name that vehicle types refer to, e.g. `truck`, `motorcycle`.
    pub name: String,
    /// Average speed in km/h; durations are distance / speed. Needed without `duration_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_kmh: Option<f64>,
    /// Road distance divided by great-circle distance (1.0 when absent), e.g. 1.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detour_factor: Option<f64>,
    /// Explicit distances in metres, `[from][to]` over all locations (depots first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<Vec<Vec<i64>>>,
    /// Explicit travel durations in seconds, `[from][to]` over all locations (depots first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<Vec<Vec<i64>>>,
    /// Rush hours: bands of the day in which this profile's roads are slower. The durations
    /// above are then free-flow ones, and a leg is driven at the speed of each band it crosses
    /// (see `model::congestion`). Empty: the durations hold all day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rush_hours: Vec<JsonRushHour>,
}

/// One rush-hour band of a profile: from `start` to `end` (`HH:MM`), roads are driven at
/// `speed_percent` % of their free-flow speed (1 to 99).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonRushHour {
    /// Start of the band.
    pub start: String,
    /// End of the band (excluded).
    pub end: String,
    /// Speed in the band, in percent of free flow.
    pub speed_percent: u32,
}

/// A depot (filling station or warehouse) where vehicles start, end and reload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonDepot {
    /// Identifier that vehicle types refer to.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Opening time `HH:MM`.
    pub open: String,
    /// Closing time `HH:MM` (`24:00` allowed).
    pub close: String,
    /// Minutes spent loading when a vehicle reloads here between trips.
    #[serde(default)]
    pub reload_minutes: f64,
}

/// A kind of vehicle with `count` identical vehicles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonVehicleType {
    /// Identifier, unique among vehicle types.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// Number of vehicles of this type.
    pub count: usize,
    /// Capacity by dimension name (missing dimensions: 0).
    pub capacity: Amounts,
    /// Depot id where the vehicles start.
    pub start_depot: String,
    /// Depot id where the vehicles end (the start depot when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_depot: Option<String>,
    /// Earliest departure `HH:MM` (the start depot's opening when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_start: Option<String>,
    /// Latest return `HH:MM` (the end depot's closing when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_end: Option<String>,
    /// Longest route duration in minutes (no limit when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_minutes: Option<f64>,
    /// Longest route distance in km (no limit when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_distance_km: Option<f64>,
    /// Cost in NT$ of using one vehicle for the day.
    #[serde(default)]
    pub fixed_cost: f64,
    /// Cost in NT$ per km driven.
    #[serde(default)]
    pub cost_per_km: f64,
    /// Cost in NT$ per hour of route duration.
    #[serde(default)]
    pub cost_per_hour: f64,
    /// Name of the routing profile.
    pub profile: String,
    /// Skills of the vehicle and its driver, e.g. `hazmat_permit`, `narrow_lane`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    /// Depot ids where the vehicle may reload between trips.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reload_depots: Vec<String>,
    /// Most trips per day (more than 1 needs a reload depot).
    #[serde(default = "one")]
    pub max_trips: usize,
    /// Driver breaks in the order they are taken, e.g. lunch starting between 11:30 and 13:30
    /// for 45 minutes; a route still out at a break's latest start takes it on the way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<JsonBreak>,
    /// Route duration in minutes after which overtime is paid (never when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overtime_after_minutes: Option<f64>,
    /// Extra cost in NT$ per hour of overtime, on top of `cost_per_hour`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub overtime_cost_per_hour: f64,
    /// Fair days: a route of `h` hours costs this many NT$ times `h` squared on top, so the plan
    /// evens out the drivers' days (two routes of 6 h and 2 h cost 40 times it, two of 4 h 32
    /// times). 0 (the default) leaves the days as the other costs make them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fair_day_cost_per_hour_squared: f64,
}

/// A driver break: it starts within `window` and lasts `minutes`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonBreak {
    /// When the break may start.
    pub window: JsonTimeWindow,
    /// Its length in minutes.
    pub minutes: f64,
}

/// A time window in which service may start, `HH:MM` to `HH:MM`, both included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonTimeWindow {
    /// Earliest start of service.
    pub start: String,
    /// Latest start of service.
    pub end: String,
}

/// A customer stop: full cylinders delivered and empties picked up at the same visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonClient {
    /// Customer code, unique, e.g. `C0001`.
    pub id: String,
    /// Name shown to people (the id when empty).
    #[serde(default)]
    pub name: String,
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Administrative district, e.g. `信義區` (informative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Amounts delivered by dimension name (missing dimensions: 0).
    #[serde(default)]
    pub delivery: Amounts,
    /// Amounts picked up (empties) by dimension name (missing dimensions: 0).
    #[serde(default)]
    pub pickup: Amounts,
    /// Minutes spent at the stop.
    #[serde(default)]
    pub service_minutes: f64,
    /// Windows in which service may start, in any order, not overlapping (whole day when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_windows: Vec<JsonTimeWindow>,
    /// Time `HH:MM` from which the goods are at the depot (midnight when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_time: Option<String>,
    /// Whether the client must be served.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub required: bool,
    /// NT$ earned when an optional client is served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prize: Option<f64>,
    /// Skills the serving vehicle must have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    /// Ids of the only vehicle types that may serve the client (a narrow lane, a permit); any
    /// type when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vehicle_types: Vec<String>,
    /// Clients with the same group are one customer's alternatives (another address, another
    /// point to serve from): at most one of them is served, exactly one when they are required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl JsonProblem {
    /// Index of the client with customer code `id`.
    pub fn client_index(&self, id: &str) -> Option<usize> {
        self.clients.iter().position(|c| c.id == id)
    }

    /// Index of the depot with identifier `id`.
    pub fn depot_index(&self, id: &str) -> Option<usize> {
        self.depots.iter().position(|d| d.id == id)
    }

    /// Index of the vehicle type with identifier `id`.
    pub fn vehicle_type_index(&self, id: &str) -> Option<usize> {
        self.vehicle_types.iter().position(|v| v.id == id)
    }

    /// Index of the capacity dimension called `name`.
    pub fn dimension_index(&self, name: &str) -> Option<usize> {
        self.dimensions.iter().position(|d| d == name)
    }

    /// Index of the profile called `name`.
    pub fn profile_index(&self, name: &str) -> Option<usize> {
        self.profiles.iter().position(|p| p.name == name)
    }

    /// Matrix location of client `i` (depots come first).
    pub fn client_location(&self, i: usize) -> usize {
        self.depots.len() + i
    }

    /// Writes the document as pretty-printed JSON.
    pub fn to_pretty_json(&self) -> String {
        // Serialising plain strings, numbers, vectors and string-keyed maps cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Why a JSON document is not a valid problem. Each variant names where the fault is.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The text is not JSON, or does not have the document's shape (unknown field, wrong type,
    /// missing field).
    #[error("invalid JSON{}: {source}", if path.is_empty() { String::new() } else { format!(" at {path}") })]
    Syntax {
        /// The JSON path being read where serde stopped (best effort; empty at the top level).
        path: String,
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        column: usize,
        /// Serde's error.
        #[source]
        source: serde_json::Error,
    },
    /// A field has a bad value.
    #[error("{path}: {message}")]
    Invalid {
        /// JSON path of the field, e.g. `clients[3].time_windows[0]`.
        path: String,
        /// Stable code of the kind of fault, e.g. `bad_time`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The problem model refused the data (e.g. a client no vehicle can serve).
    #[error("{path}{}: {source}", if id.is_empty() { String::new() } else { format!(" ({id})") })]
    Model {
        /// JSON path of the depot, client or vehicle type concerned (empty for the whole problem).
        path: String,
        /// Its `id` (empty for the whole problem).
        id: String,
        /// The model's error.
        #[source]
        source: ModelError,
    },
}

impl JsonError {
    /// A bad value at `path`.
    pub fn invalid(path: &str, code: &'static str, message: impl Into<String>) -> JsonError {
        JsonError::Invalid { path: path.to_string(), code, message: message.into() }
    }

    /// The JSON path of the fault, when one field or item is at fault.
    pub fn path(&self) -> Option<&str> {
        let path = match self {
            JsonError::Syntax { path, .. } | JsonError::Invalid { path, .. } | JsonError::Model { path, .. } => path,
        };
        (!path.is_empty()).then_some(path.as_str())
    }

    /// A stable, machine-readable code for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            JsonError::Syntax { .. } => "json_syntax",
            JsonError::Invalid { code, .. } => code,
            JsonError::Model { source, .. } => source.code(),
        }
    }
}

/// Reads a document from JSON text and builds its problem.
pub fn parse(text: &str) -> Result<(JsonProblem, Problem), JsonError> {
    let doc: JsonProblem = serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        JsonError::Syntax { path: locate::path_at(text, line, column), line, column, source: e }
    })?;
    let problem = build(&doc)?;
    Ok((doc, problem))
}

/// A small valid document shared by the tests of this module and its children: two depots,
/// two profiles, a truck with the hazmat permit, a motorcycle for narrow lanes, three clients.
#[cfg(test)]
pub(crate) const SAMPLE: &str = r#"{
  "name": "sample", "date": "2026-03-02",
  "dimensions": ["cylinders_20kg", "cylinders_50kg", "weight_kg"],
  "profiles": [
    {"name": "truck", "speed_kmh": 24, "detour_factor": 1.3},
    {"name": "motorcycle", "speed_kmh": 30}
  ],
  "depots": [
    {"id": "NH", "name": "內湖站", "lat": 25.0700, "lon": 121.5800, "open": "07:30", "close": "19:00", "reload_minutes": 15},
    {"id": "XZ", "name": "新莊站", "lat": 25.0420, "lon": 121.4480, "open": "07:30", "close": "19:00"}
  ],
  "vehicle_types": [
    {"id": "truck", "name": "小貨車", "count": 2, "capacity": {"cylinders_20kg": 30, "cylinders_50kg": 10, "weight_kg": 900},
     "start_depot": "NH", "shift_start": "08:00", "shift_end": "18:00", "fixed_cost": 1200, "cost_per_km": 8,
     "cost_per_hour": 250, "profile": "truck", "skills": ["hazmat_permit"], "reload_depots": ["NH"], "max_trips": 3},
    {"id": "moto", "name": "重型機車", "count": 1, "capacity": {"cylinders_20kg": 2, "weight_kg": 80},
     "start_depot": "XZ", "end_depot": "XZ", "max_duration_minutes": 480, "max_distance_km": 120,
     "profile": "motorcycle", "skills": ["narrow_lane"]}
  ],
  "clients": [
    {"id": "C0001", "name": "王家", "lat": 25.0330, "lon": 121.5654, "district": "信義區",
     "delivery": {"cylinders_20kg": 1, "weight_kg": 40}, "pickup": {"cylinders_20kg": 1, "weight_kg": 20},
     "service_minutes": 5, "time_windows": [{"start": "13:00", "end": "18:00"}, {"start": "08:00", "end": "12:00"}]},
    {"id": "C0002", "name": "小林麵店", "lat": 25.0478, "lon": 121.5170, "district": "中正區",
     "delivery": {"cylinders_50kg": 2, "weight_kg": 200}, "pickup": {"cylinders_50kg": 2, "weight_kg": 100},
     "service_minutes": 8, "release_time": "10:00", "skills": ["hazmat_permit"]},
    {"id": "C0003", "name": "巷口陳家", "lat": 25.0110, "lon": 121.4620,
     "delivery": {"cylinders_20kg": 1, "weight_kg": 40}, "pickup": {"cylinders_20kg": 1, "weight_kg": 20},
     "service_minutes": 6.5, "required": false, "prize": 350.5, "skills": ["narrow_lane"]}
  ]
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sample_and_round_trips_it() {
        let (doc, problem) = parse(SAMPLE).unwrap();
        assert_eq!(problem.num_clients(), 3);
        assert_eq!(doc.client_index("C0002"), Some(1));
        assert_eq!(doc.client_location(1), 3);
        assert_eq!(doc.vehicle_type_index("moto"), Some(1));
        let again: JsonProblem = serde_json::from_str(&doc.to_pretty_json()).unwrap();
        assert_eq!(again, doc);
    }

    #[test]
    fn names_the_path_and_position_of_an_unknown_field() {
        let text = SAMPLE.replace(r#"{"start": "08:00", "end": "12:00"}"#, r#"{"start": "08:00", "until": "12:00"}"#);
        let err = parse(&text).unwrap_err();
        assert_eq!(err.code(), "json_syntax");
        assert_eq!(err.path(), Some("clients[0].time_windows[1].until"));
        let expected_line = text.lines().position(|l| l.contains("until")).unwrap() + 1;
        let JsonError::Syntax { line, column, .. } = &err else { panic!("{err}") };
        assert_eq!(*line, expected_line);
        assert!(*column > 0);
        assert!(err.to_string().contains(&format!("line {expected_line}")), "{err}");
    }

    #[test]
    fn names_the_object_missing_a_field_and_the_field_of_a_wrong_type() {
        let err = parse(&SAMPLE.replace(r#""lat": 25.0110, "#, "")).unwrap_err();
        assert_eq!(err.path(), Some("clients[2]"), "{err}");
        let err = parse(&SAMPLE.replace(r#""count": 2"#, r#""count": -2"#)).unwrap_err();
        assert_eq!(err.path(), Some("vehicle_types[0].count"), "{err}");
    }

    #[test]
    fn never_panics_on_truncated_or_garbled_text() {
        for cut in (0..SAMPLE.len()).step_by(7).filter(|&i| SAMPLE.is_char_boundary(i)) {
            assert!(parse(&SAMPLE[..cut]).is_err());
        }
        for text in ["", "null", "[]", "{}", "\u{0}", "{\"name\": 1e999}"] {
            assert!(parse(text).is_err());
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_documents_with_extreme_values(edits in proptest::collection::vec((0usize..200, 0usize..12), 1..6)) {
            // Replace some numbers and times of the sample with extreme or ill-typed values.
            const TOKENS: [&str; 12] = ["-1", "0", "1e308", "-1e308", "18446744073709551616", "9007199254740993",
                "\"24:00\"", "\"99:99\"", "null", "[]", "{}", "0.5"];
            let mut spans = Vec::new();
            let bytes = SAMPLE.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i].is_ascii_digit() {
                    let start = i;
                    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b':') {
                        i += 1;
                    }
                    spans.push((start, i));
                }
                i += 1;
            }
            let mut text = SAMPLE.to_string();
            let mut chosen: Vec<(usize, usize, &str)> = edits.iter().map(|&(s, t)| { let (a, b) = spans[s % spans.len()]; (a, b, TOKENS[t]) }).collect();
            chosen.sort_by_key(|&(a, _, _)| std::cmp::Reverse(a));
            chosen.dedup_by_key(|c| c.0);
            for (a, b, token) in chosen {
                text.replace_range(a..b, token);
            }
            let _ = parse(&text);
        }
    }

    #[test]
    fn converts_internal_costs_to_ntd() {
        assert_eq!(cost_to_ntd(123_456_789), 1234.56789);
        assert_eq!(crate::io::format_scaled(350_050_000, COST_SCALE), "3500.5");
    }
}
