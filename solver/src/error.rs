//! Errors of the solver crate: model validation (with stable codes) and input reading.

use crate::solution::UnassignedReason;
use std::path::PathBuf;

/// An inconsistency in problem data, found by [`crate::model::Problem::new`].
///
/// Each variant has a stable [`code`](ModelError::code) that the API and the CLI report.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The problem has no depot.
    #[error("the problem has no depot")]
    NoDepot,
    /// The problem has no routing profile (no matrices).
    #[error("the problem has no routing profile")]
    NoProfile,
    /// No vehicle is available.
    #[error("the problem has no vehicle")]
    NoVehicle,
    /// A vector has the wrong number of capacity dimensions.
    #[error("{what} has {found} capacity dimensions, expected {expected}")]
    DimensionMismatch {
        /// What has the wrong size.
        what: String,
        /// Dimensions of the problem.
        expected: usize,
        /// Dimensions found.
        found: usize,
    },
    /// A matrix has the wrong size.
    #[error("{profile} has {found} locations, expected {expected}")]
    MatrixSize {
        /// Which profile or table.
        profile: String,
        /// Expected locations.
        expected: usize,
        /// Locations found.
        found: usize,
    },
    /// A location index outside the matrices.
    #[error("{what} refers to location {location}, but there are only {locations}")]
    LocationOutOfRange {
        /// Who refers to it.
        what: String,
        /// The bad index.
        location: usize,
        /// Number of locations.
        locations: usize,
    },
    /// Two depots or clients at the same location index.
    #[error("{what} uses location {location}, which another depot or client already uses")]
    SharedLocation {
        /// Who.
        what: String,
        /// The location.
        location: usize,
    },
    /// A value that must not be negative is.
    #[error("{what} is negative")]
    Negative {
        /// What.
        what: String,
    },
    /// A time window that is empty, unsorted or overlapping.
    #[error("{what} has an empty, unsorted or overlapping time window")]
    BadTimeWindow {
        /// Whose.
        what: String,
    },
    /// A skill bit without a name.
    #[error("{what} needs a skill the problem does not name")]
    UnknownSkill {
        /// Who.
        what: String,
    },
    /// A depot index out of range.
    #[error("{what} refers to depot {depot}, but there are only {depots}")]
    DepotOutOfRange {
        /// Who.
        what: String,
        /// The bad index.
        depot: usize,
        /// Number of depots.
        depots: usize,
    },
    /// A profile index out of range.
    #[error("{what} refers to profile {profile}, but there are only {profiles}")]
    ProfileOutOfRange {
        /// Who.
        what: String,
        /// The bad index.
        profile: usize,
        /// Number of profiles.
        profiles: usize,
    },
    /// A vehicle type index out of range.
    #[error("{what} refers to vehicle type {vehicle_type}, but there are only {types}")]
    VehicleTypeOutOfRange {
        /// Who.
        what: String,
        /// The bad index.
        vehicle_type: usize,
        /// Number of vehicle types.
        types: usize,
    },
    /// Max trips is zero, or above one without a reload depot.
    #[error("{what} allows no trip, or several trips without a reload depot")]
    BadTrips {
        /// Who.
        what: String,
    },
    /// A pickup-and-delivery pair that names clients out of range or shared with another pair,
    /// or whose clients are not both required or both optional.
    #[error("pair {pair} {why}")]
    BadPair {
        /// Pair index.
        pair: usize,
        /// What is wrong.
        why: String,
    },
    /// A required client that no vehicle type can ever serve.
    #[error("client {client} cannot be served by any vehicle: {reason}")]
    UnservableClient {
        /// Client index.
        client: usize,
        /// Why.
        reason: UnassignedReason,
    },
    /// A mutually exclusive group that is not well formed.
    #[error("{what} {why}")]
    BadGroup {
        /// Which group.
        what: String,
        /// What is wrong.
        why: String,
    },
    /// A required group none of whose clients any vehicle type can serve.
    #[error("group {group}: none of its clients can be served by any vehicle: {reason}")]
    UnservableGroup {
        /// Group index.
        group: usize,
        /// Why (for its first client).
        reason: UnassignedReason,
    },
}

impl ModelError {
    /// A stable, machine-readable code for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::NoDepot => "no_depot",
            ModelError::NoProfile => "no_profile",
            ModelError::NoVehicle => "no_vehicle",
            ModelError::VehicleTypeOutOfRange { .. } => "vehicle_type_out_of_range",
            ModelError::DimensionMismatch { .. } => "dimension_mismatch",
            ModelError::MatrixSize { .. } => "matrix_size",
            ModelError::LocationOutOfRange { .. } => "location_out_of_range",
            ModelError::SharedLocation { .. } => "shared_location",
            ModelError::Negative { .. } => "negative_value",
            ModelError::BadTimeWindow { .. } => "bad_time_window",
            ModelError::UnknownSkill { .. } => "unknown_skill",
            ModelError::DepotOutOfRange { .. } => "depot_out_of_range",
            ModelError::ProfileOutOfRange { .. } => "profile_out_of_range",
            ModelError::BadTrips { .. } => "bad_trips",
            ModelError::BadPair { .. } => "bad_pair",
            ModelError::UnservableClient { .. } => "unservable_client",
            ModelError::BadGroup { .. } => "bad_group",
            ModelError::UnservableGroup { .. } => "unservable_group",
        }
    }
}

/// An error reading an input file: which file, which line (1-based, 0 when it concerns the whole
/// file) and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct ReadError {
    /// The file (or `<input>` for in-memory text).
    pub file: PathBuf,
    /// Line number, 1-based; 0 when no single line is at fault.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// The model error behind it, when validation failed.
    #[source]
    pub model: Option<ModelError>,
}

impl ReadError {
    /// An error at `line` of `file`.
    pub fn new(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        ReadError { file: file.into(), line, message: message.into(), model: None }
    }
}
