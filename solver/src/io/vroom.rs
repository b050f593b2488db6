//! VROOM's JSON problem format (<https://github.com/VROOM-Project/vroom/blob/master/docs/API.md>):
//! the input types, their conversion into an integer [`Problem`] ([`build`]) and the answer in
//! VROOM's output shape from a solved [`Solution`] ([`answer`]), so that a client written for
//! VROOM can be served by this engine. Pure: no HTTP, no async, no routing engine; a caller
//! whose input has coordinates and no matrices asks its own travel source for the matrices over
//! [`VroomInput::points`] and hands them to [`build`].
//!
//! # How VROOM's notions map onto the model
//! - **Jobs** become optional clients whose prize always pays for serving them: `prize = unit ×
//!   (1 + priority × (tasks + 1))`, where `unit` exceeds the cost of inserting any job anywhere
//!   (twice the dearest leg plus the dearest fixed cost). A job that cannot be served is thus
//!   left out, never an error, and a higher priority outweighs any number of lower ones, as
//!   VROOM maximises the priority sum first. (Prizes are capped so that their sum stays far
//!   from overflowing; only inputs with costs near 2³¹ per leg hit the cap.)
//! - **Vehicles** each become a vehicle type with count 1. A start or end place becomes a depot
//!   (vehicles sharing a place share it). A vehicle without `end` ends at its last task and one
//!   without `start` starts at its first: the model needs depots, so both are modelled as one
//!   extra location with zero travel from and to everywhere.
//! - **Locations**: every task gets a location of its own even when several share coordinates
//!   or a `location_index` (the model wants one client per location): its row and column of
//!   the matrices are copies.
//! - **Costs**: VROOM optimises travel cost only: the `costs` matrix of the profile when given,
//!   else `per_hour × travel time / 3600 + per_km × distance / 1000` (by default the travel time).
//!   The model's distance matrix of each vehicle's profile holds exactly that leg cost (rounded
//!   per leg) with a unit distance cost of 1 and no duration cost, so the search minimises what
//!   VROOM minimises; `costs.fixed` is the fixed cost. `per_task_hour` is added to the reported
//!   cost but not optimised (it only depends on which vehicle serves a task).
//! - **Time**: windows are VROOM's (relative or absolute seconds); a job's several windows are
//!   merged where they overlap. `setup` is always paid (VROOM skips it for a task at the place
//!   of the previous one). `speed_factor` divides the vehicle's travel times.
//! - **Limits**: `max_tasks` is an extra capacity dimension in which each task weighs one.
//!   `max_travel_time` is the model's distance limit when the leg cost is the travel time (the
//!   default), and `max_distance` when the leg cost is the distance (`per_hour` 0, `per_km`
//!   1000); otherwise the limit is enforced after the search by taking tasks out of a route
//!   that breaks it (they are reported unassigned).
//! - **Breaks** are the model's driver breaks. A break with several windows uses the first that
//!   overlaps the vehicle's time window. The model takes a break when the route is still out at
//!   the break's latest start; VROOM takes every break of a used vehicle, so a short route may
//!   come back without one. A break without windows is therefore never taken. `max_load` is
//!   not modelled: a `max_load` below the vehicle's capacity is refused as unsupported.
//! - **Skills**: integers, mapped to the model's bit set (at most 64 distinct skills that some
//!   job needs and some vehicle has; a skill no vehicle has makes its jobs unassigned).
//! - **Shipments** become model pairs (see `model::pairs`): the pickup and the delivery are two
//!   optional clients with the shipment's skills, each with its step's place, windows, setup
//!   and service, and the shipment's priority (VROOM counts both tasks); the pair's amount is on
//!   board from the pickup to the delivery, which one vehicle serves in that order, or neither
//!   is served (both are then listed unassigned). Each step weighs one against `max_tasks`.
//! - Not supported: `setup_per_type`/`service_per_type` (refused when given), vehicle `steps`
//!   (ignored: VROOM uses them only as a starting solution), the plan mode (`-c`), `options`
//!   (ignored).
//!
//! Errors name the JSON path of the field at fault (see [`VroomError`]); no input panics.

mod answer;
mod build;
mod fields;
#[cfg(test)]
mod tests;

pub use answer::{answer, Answer, AnswerRoute, Step, Summary, UnassignedTask};
pub use build::{build, VroomModel, MAX_LOCATIONS};

use crate::error::ModelError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// An identifier as VROOM clients send it: a non-negative integer, or (as some clients do) a
/// string. It is written back in the answer exactly as it was given.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// An integer id, VROOM's documented form.
    Number(u64),
    /// A string id.
    Text(String),
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::Text(s) => write!(f, "\"{s}\""),
        }
    }
}

impl Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::Number(n) => s.serialize_u64(*n),
            Id::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or a string")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id::Number(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id::Text(v.to_owned()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `[lon, lat]` in degrees.
pub type Coordinates = [f64; 2];

/// `[start, end]` in seconds, both included.
pub type Window = [u64; 2];

/// A VROOM problem: what to visit, with which vehicles, on which matrices.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct VroomInput {
    /// Single-place tasks.
    #[serde(default)]
    pub jobs: Vec<Job>,
    /// Pickup-and-delivery pairs.
    #[serde(default)]
    pub shipments: Vec<Shipment>,
    /// The vehicles.
    #[serde(default)]
    pub vehicles: Vec<Vehicle>,
    /// Custom matrices per routing profile.
    #[serde(default)]
    pub matrices: BTreeMap<String, ProfileMatrices>,
    /// The legacy custom travel-time matrix, for every profile without an entry in `matrices`.
    #[serde(default)]
    pub matrix: Option<Vec<Vec<u64>>>,
    /// Solving options (`g` for geometry); ignored.
    #[serde(default)]
    pub options: Option<serde_json::Value>,
}

/// A job: one task at one place.
#[derive(Clone, Debug, Deserialize)]
pub struct Job {
    /// Unique among jobs.
    pub id: Id,
    /// Free text, echoed in the answer.
    #[serde(default)]
    pub description: Option<String>,
    /// `[lon, lat]`, needed for profiles without custom matrices.
    #[serde(default)]
    pub location: Option<Coordinates>,
    /// Row and column in the custom matrices, needed for profiles with them.
    #[serde(default)]
    pub location_index: Option<usize>,
    /// Seconds to get started at the place.
    #[serde(default)]
    pub setup: u64,
    /// Seconds of service.
    #[serde(default)]
    pub service: u64,
    /// Not supported (refused when not empty).
    #[serde(default)]
    pub setup_per_type: Option<serde_json::Value>,
    /// Not supported (refused when not empty).
    #[serde(default)]
    pub service_per_type: Option<serde_json::Value>,
    /// Amounts delivered (loaded at the vehicle's start).
    #[serde(default)]
    pub delivery: Option<Vec<u64>>,
    /// Amounts picked up (brought to the vehicle's end).
    #[serde(default)]
    pub pickup: Option<Vec<u64>>,
    /// Legacy amounts, read as `delivery` when neither `delivery` nor `pickup` is given.
    #[serde(default)]
    pub amount: Option<Vec<u64>>,
    /// Skills the serving vehicle must all have.
    #[serde(default)]
    pub skills: Vec<u64>,
    /// `0..=100`; higher priorities are served first when not all jobs fit.
    #[serde(default)]
    pub priority: u64,
    /// Windows for the start of service (none: any time).
    #[serde(default)]
    pub time_windows: Vec<Window>,
}

/// A pickup and a delivery that one vehicle performs in that order.
#[derive(Clone, Debug, Deserialize)]
pub struct Shipment {
    /// Where the amount is picked up.
    pub pickup: ShipmentStep,
    /// Where it is delivered.
    pub delivery: ShipmentStep,
    /// The amount carried.
    #[serde(default)]
    pub amount: Option<Vec<u64>>,
    /// Skills the vehicle must all have.
    #[serde(default)]
    pub skills: Vec<u64>,
    /// `0..=100`.
    #[serde(default)]
    pub priority: u64,
}

/// One end of a shipment.
#[derive(Clone, Debug, Deserialize)]
pub struct ShipmentStep {
    /// Unique among pickups (resp. deliveries).
    pub id: Id,
    /// Free text, echoed in the answer.
    #[serde(default)]
    pub description: Option<String>,
    /// `[lon, lat]`.
    #[serde(default)]
    pub location: Option<Coordinates>,
    /// Row and column in the custom matrices.
    #[serde(default)]
    pub location_index: Option<usize>,
    /// Seconds to get started.
    #[serde(default)]
    pub setup: u64,
    /// Seconds of service.
    #[serde(default)]
    pub service: u64,
    /// Not supported (refused when not empty).
    #[serde(default)]
    pub setup_per_type: Option<serde_json::Value>,
    /// Not supported (refused when not empty).
    #[serde(default)]
    pub service_per_type: Option<serde_json::Value>,
    /// Windows for the start of service.
    #[serde(default)]
    pub time_windows: Vec<Window>,
}

/// A vehicle.
#[derive(Clone, Debug, Deserialize)]
pub struct Vehicle {
    /// Unique among vehicles.
    pub id: Id,
    /// Routing profile (`car` when absent): which matrices it drives on.
    #[serde(default = "car")]
    pub profile: String,
    /// Free text, echoed in the answer.
    #[serde(default)]
    pub description: Option<String>,
    /// Where it starts (`[lon, lat]`); at its first task when neither this nor `start_index`.
    #[serde(default)]
    pub start: Option<Coordinates>,
    /// Where it starts, in the custom matrices.
    #[serde(default)]
    pub start_index: Option<usize>,
    /// Where it ends; at its last task when neither this nor `end_index`.
    #[serde(default)]
    pub end: Option<Coordinates>,
    /// Where it ends, in the custom matrices.
    #[serde(default)]
    pub end_index: Option<usize>,
    /// Capacity per dimension (no limit when absent).
    #[serde(default)]
    pub capacity: Option<Vec<u64>>,
    /// Costs of using the vehicle.
    #[serde(default)]
    pub costs: Costs,
    /// Skills it has.
    #[serde(default)]
    pub skills: Vec<u64>,
    /// Working hours: it leaves and is back within them.
    #[serde(default)]
    pub time_window: Option<Window>,
    /// Driver breaks.
    #[serde(default)]
    pub breaks: Vec<VehicleBreak>,
    /// Divides all its travel times, in `(0, 5]` (1 when absent).
    #[serde(default = "one")]
    pub speed_factor: f64,
    /// Most tasks on its route.
    #[serde(default)]
    pub max_tasks: Option<u64>,
    /// Most travel time on its route.
    #[serde(default)]
    pub max_travel_time: Option<u64>,
    /// Most distance on its route.
    #[serde(default)]
    pub max_distance: Option<u64>,
}

/// What a vehicle costs.
#[derive(Clone, Debug, Deserialize)]
pub struct Costs {
    /// Cost of using it at all.
    #[serde(default)]
    pub fixed: u64,
    /// Cost of an hour of travel (3600 when absent: the cost is the travel time in seconds).
    #[serde(default = "per_hour")]
    pub per_hour: u64,
    /// Cost of an hour of setup and service.
    #[serde(default)]
    pub per_task_hour: u64,
    /// Cost of a kilometre.
    #[serde(default)]
    pub per_km: u64,
}

impl Default for Costs {
    fn default() -> Self {
        Costs { fixed: 0, per_hour: per_hour(), per_task_hour: 0, per_km: 0 }
    }
}

/// A driver break of a vehicle.
#[derive(Clone, Debug, Deserialize)]
pub struct VehicleBreak {
    /// Unique among the vehicle's breaks.
    pub id: Id,
    /// Windows for the start of the break.
    #[serde(default)]
    pub time_windows: Vec<Window>,
    /// Its length in seconds.
    #[serde(default)]
    pub service: u64,
    /// Free text, echoed in the answer.
    #[serde(default)]
    pub description: Option<String>,
    /// Most load on board for the break to happen (see the module documentation).
    #[serde(default)]
    pub max_load: Option<Vec<u64>>,
}

/// The custom matrices of one profile, `[from][to]` over location indices.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ProfileMatrices {
    /// Travel times in seconds (needed).
    #[serde(default)]
    pub durations: Option<Vec<Vec<u64>>>,
    /// Distances in metres.
    #[serde(default)]
    pub distances: Option<Vec<Vec<u64>>>,
    /// Travel costs, used instead of the vehicles' `per_hour` and `per_km`.
    #[serde(default)]
    pub costs: Option<Vec<Vec<u64>>>,
}

fn car() -> String {
    "car".to_owned()
}

fn one() -> f64 {
    1.0
}

fn per_hour() -> u64 {
    3600
}

/// Matrices a caller computed over [`VroomInput::points`] for a profile without custom
/// matrices: `[from][to]` in the order of the points.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PointMatrices {
    /// Seconds.
    pub durations: Vec<Vec<i64>>,
    /// Metres.
    pub distances: Vec<Vec<i64>>,
}

impl VroomInput {
    /// The routing profiles of the vehicles, each once, in order of first use.
    pub fn profiles(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for v in &self.vehicles {
            if !out.contains(&v.profile.as_str()) {
                out.push(&v.profile);
            }
        }
        out
    }

    /// The profiles of the vehicles that have no custom matrix: [`build`] needs
    /// [`PointMatrices`] over [`VroomInput::points`] for each of them.
    pub fn profiles_without_matrices(&self) -> Vec<&str> {
        self.profiles().into_iter().filter(|p| !self.has_custom_matrices(p)).collect()
    }

    /// Whether `profile` has custom matrices (its own entry, or the legacy `matrix`).
    pub fn has_custom_matrices(&self, profile: &str) -> bool {
        self.matrices.contains_key(profile) || self.matrix.is_some()
    }

    /// Every distinct `[lon, lat]` of the input (tasks, then vehicle starts and ends), each once,
    /// in order of first appearance.
    pub fn points(&self) -> Vec<Coordinates> {
        let mut out: Vec<Coordinates> = Vec::new();
        for p in self.places().filter_map(|(location, _)| location) {
            if !out.iter().any(|q| same_point(*q, p)) {
                out.push(p);
            }
        }
        out
    }

    /// `(location, location_index)` of every task, then every vehicle's start and end.
    fn places(&self) -> impl Iterator<Item = (Option<Coordinates>, Option<usize>)> + '_ {
        let jobs = self.jobs.iter().map(|j| (j.location, j.location_index));
        let shipments = self.shipments.iter().flat_map(|s| [(s.pickup.location, s.pickup.location_index), (s.delivery.location, s.delivery.location_index)]);
        let vehicles = self.vehicles.iter().flat_map(|v| [(v.start, v.start_index), (v.end, v.end_index)]);
        jobs.chain(shipments).chain(vehicles)
    }
}

/// Whether two coordinates are the same point (bit for bit, so `-0.0` and `0.0` differ).
pub(crate) fn same_point(a: Coordinates, b: Coordinates) -> bool {
    a[0].to_bits() == b[0].to_bits() && a[1].to_bits() == b[1].to_bits()
}

/// Why a VROOM document cannot be solved. Each variant names where the fault is.
#[derive(Debug, thiserror::Error)]
pub enum VroomError {
    /// The text is not JSON, or not of the document's shape (wrong type, missing field).
    #[error("invalid JSON at line {line}, column {column}: {source}")]
    Syntax {
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        column: usize,
        /// Serde's error.
        #[source]
        source: serde_json::Error,
    },
    /// A field has a bad or unsupported value.
    #[error("{path}: {message}")]
    Invalid {
        /// JSON path of the field, e.g. `jobs[3].time_windows[0]`.
        path: String,
        /// Stable code of the kind of fault (see [`VroomError::code`]).
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The problem model refused the converted data.
    #[error("{path}: {source}")]
    Model {
        /// JSON path of what the error concerns (empty for the whole problem).
        path: String,
        /// The model's error.
        #[source]
        source: ModelError,
    },
}

impl VroomError {
    /// A bad value at `path`.
    pub fn invalid(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> VroomError {
        VroomError::Invalid { path: path.into(), code, message: message.into() }
    }

    /// The JSON path of the fault, when one field or item is at fault.
    pub fn path(&self) -> Option<&str> {
        match self {
            VroomError::Syntax { .. } => None,
            VroomError::Invalid { path, .. } | VroomError::Model { path, .. } => (!path.is_empty()).then_some(path.as_str()),
        }
    }

    /// A stable, machine-readable code: `json_syntax`, a model error's code, or one of
    /// `bad_value` (out of range or inconsistent), `duplicate_id`, `missing_location`,
    /// `unknown_location` (an index outside the matrices), `missing_matrix`, `matrix_size`,
    /// `dimension_mismatch`, `too_many_skills`, `too_large` and `unsupported` (a VROOM feature
    /// the engine does not have).
    pub fn code(&self) -> &'static str {
        match self {
            VroomError::Syntax { .. } => "json_syntax",
            VroomError::Invalid { code, .. } => code,
            VroomError::Model { source, .. } => source.code(),
        }
    }

    /// What is wrong, without the path.
    pub fn message(&self) -> String {
        match self {
            VroomError::Syntax { source, .. } => source.to_string(),
            VroomError::Invalid { message, .. } => message.clone(),
            VroomError::Model { source, .. } => source.to_string(),
        }
    }
}

/// Reads a document from JSON text (its shape only; [`build`] checks the values).
pub fn parse(text: &str) -> Result<VroomInput, VroomError> {
    serde_json::from_str(text).map_err(|e| VroomError::Syntax { line: e.line(), column: e.column(), source: e })
}
