//! Road graphs for the service's travel matrices, from an OpenStreetMap extract.
//!
//! - [`pbf`]: our own reader of OSM's PBF format (no third-party OSM crate): blobs, zlib, the
//!   string table, plain and dense nodes, ways; bounded and checked, fuzzed (`fuzz/`).
//! - [`graph`]: a petgraph directed graph per vehicle (trucks, motorcycles) with its access and
//!   one-way rules, snapping of points to it, Dijkstra matrices of distances and free-flow
//!   durations, and rush-hour bands derived from the speeds.
//! - [`speeds`]: road classes and speeds per vehicle, class and hour ([`RoadSpeeds::taipei`] by
//!   default, changed by a JSON file).
//!
//! The service (`planner-api`) uses it when `LUCKYGAS_ROAD_GRAPH` names an extract.

pub mod graph;
pub mod pbf;
mod proto;
pub mod speeds;

pub use graph::{haversine_m, Band, GraphError, GraphStats, RoadGraph, RouteError, Table};
pub use pbf::{Element, PbfError, Select};
pub use speeds::{RoadClass, RoadSpeeds, SpeedsError, Vehicle};
