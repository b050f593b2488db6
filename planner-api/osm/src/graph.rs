//! The road graph: an OpenStreetMap extract read into one petgraph directed graph per vehicle,
//! shortest paths on it, and the rush-hour bands its hourly speeds imply.
//!
//! Built in two passes over the file, so that memory follows the road network and not the
//! whole extract: the first keeps the ways a truck or a motorcycle may drive on (their class,
//! who may use them, in which directions), the second the coordinates of those ways' nodes
//! only. Each vehicle's graph has a node per road node it reaches and an edge per direction of
//! each segment it may drive (`oneway`, roundabouts and freeways respected; `access`,
//! `motor_vehicle`, `motorcar`/`motorcycle` and, for trucks, a `width` under
//! [`MIN_TRUCK_WIDTH_M`] closing a road to it; motorcycles are kept off freeways). Only the
//! largest strongly connected part is kept (Tarjan's algorithm, petgraph), so every point that
//! snaps to the graph reaches every other.
//!
//! Edges weigh their free-flow time in milliseconds: the length over the class's fastest speed
//! of the day. A matrix runs Dijkstra's algorithm from each source (in parallel) until every
//! target is settled, and adds the way from each point to the node it snapped to (the nearest
//! within the snapping radius, found through a grid) at service-road speed. Rush hours are the
//! solver's congestion bands ([`RoadGraph::rush_hours`]): per hour, the share of free-flow speed
//! that the hourly speeds give on the roads shortest paths actually use.

use crate::pbf::{self, Element, PbfError, Select};
use crate::speeds::{RoadClass, RoadSpeeds, Vehicle, CLASSES};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::Read;

/// Roads narrower than this (OSM `width`, metres) are closed to trucks.
pub const MIN_TRUCK_WIDTH_M: f64 = 2.5;

/// Mean Earth radius, metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Grid cell of the snapping index, degrees (about 280 m of latitude).
const CELL_DEG: f64 = 0.0025;
/// Sources whose shortest-path trees weigh the road classes for the rush-hour bands.
const BAND_SOURCES: usize = 16;

/// Great-circle distance in metres between two `(lat, lon)` points in degrees.
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// A road graph could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The extract could not be read.
    #[error(transparent)]
    Pbf(#[from] PbfError),
    /// It holds no road a vehicle may drive on.
    #[error("the extract has no road a {0} may drive on")]
    NoRoads(&'static str),
    /// It holds more road nodes than the graph indexes.
    #[error("the extract has {0} road nodes, more than the graph indexes")]
    TooBig(usize),
}

/// A matrix could not be computed.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum RouteError {
    /// A point is not a coordinate.
    #[error("point {index} ({lat}, {lon}) is not a valid coordinate")]
    BadPoint {
        /// Its position in its list.
        index: usize,
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
    /// No road node lies within the snapping radius of a point.
    #[error("point {index} ({lat}, {lon}) is more than {radius_m} m from every road of the graph")]
    OffGraph {
        /// Its position in its list.
        index: usize,
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
        /// The snapping radius.
        radius_m: f64,
    },
}

/// A rush-hour band: from `start_s` to `end_s` (seconds after midnight, end excluded) every
/// road is driven at `speed_percent` % of free flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    /// Start, seconds after midnight.
    pub start_s: u32,
    /// End (excluded), seconds after midnight.
    pub end_s: u32,
    /// Speed in percent of free flow, 1–99.
    pub speed_percent: u32,
}

/// Distances (metres) and free-flow durations (seconds) from each source (rows) to each target
/// (columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Metres.
    pub metres: Vec<Vec<i64>>,
    /// Seconds.
    pub seconds: Vec<Vec<i64>>,
}

/// One directed road segment.
#[derive(Clone, Copy, Debug)]
struct Edge {
    metres: f64,
    /// Free-flow time, milliseconds (at least 1).
    ms: u64,
    class: RoadClass,
}

/// The graph of one vehicle.
#[derive(Debug)]
struct VehicleGraph {
    /// Nodes are `(lat, lon)`.
    graph: DiGraph<(f64, f64), Edge>,
    /// Grid cell → nodes in it.
    grid: HashMap<(i32, i32), Vec<NodeIndex>>,
    /// Speed from a point to its snapped node, m/s.
    off_road_mps: f64,
    bands: Vec<Band>,
    /// Road nodes outside the largest strongly connected part.
    dropped: usize,
}

/// Figures of a built graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphStats {
    /// Road nodes.
    pub nodes: usize,
    /// Directed edges.
    pub edges: usize,
    /// Road nodes left out because they are not in the largest strongly connected part.
    pub dropped_nodes: usize,
}

/// Road graphs of both vehicles, built from one extract.
#[derive(Debug)]
pub struct RoadGraph {
    vehicles: [VehicleGraph; 2],
}

/// Who may drive a way, in which directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Directions {
    forward: bool,
    backward: bool,
}

/// A drivable way from the first pass.
struct RoadWay {
    class: RoadClass,
    refs: Vec<i64>,
    per_vehicle: [Directions; 2],
}

/// `yes`-like and `no`-like OSM values.
fn is_no(v: &str) -> bool {
    matches!(v, "no" | "private" | "agricultural" | "forestry" | "emergency" | "military" | "discouraged")
}

/// The directions `vehicle` may drive `way`, `None` when it may not.
fn directions(way: &pbf::Way<'_>, class: RoadClass, vehicle: Vehicle) -> Option<Directions> {
    // The most specific access tag decides.
    let own = match vehicle {
        Vehicle::Truck => "motorcar",
        Vehicle::Motorcycle => "motorcycle",
    };
    let access = [own, "motor_vehicle", "vehicle", "access"].into_iter().find_map(|k| way.tag(k));
    if access.is_some_and(is_no) {
        return None;
    }
    match vehicle {
        Vehicle::Motorcycle if class == RoadClass::Motorway => return None,
        Vehicle::Truck => {
            let width = way.tag("width").and_then(|w| w.trim().trim_end_matches('m').trim().parse::<f64>().ok());
            if width.is_some_and(|w| w < MIN_TRUCK_WIDTH_M) {
                return None;
            }
        }
        Vehicle::Motorcycle => {}
    }
    let implied_oneway = class == RoadClass::Motorway || matches!(way.tag("junction"), Some("roundabout" | "circular"));
    Some(match way.tag("oneway") {
        Some("yes" | "true" | "1") => Directions { forward: true, backward: false },
        Some("-1" | "reverse") => Directions { forward: false, backward: true },
        Some("no" | "false" | "0") => Directions { forward: true, backward: true },
        _ if implied_oneway => Directions { forward: true, backward: false },
        _ => Directions { forward: true, backward: true },
    })
}

fn cell(p: (f64, f64)) -> (i32, i32) {
    // Coordinates are within ±180°, so the cells are far within i32.
    #[allow(clippy::cast_possible_truncation)]
    ((p.0 / CELL_DEG).floor() as i32, (p.1 / CELL_DEG).floor() as i32)
}

fn valid(p: (f64, f64)) -> bool {
    p.0.is_finite() && p.1.is_finite() && p.0.abs() <= 90.0 && p.1.abs() <= 180.0
}

impl RoadGraph {
    /// Reads the PBF extract at `path`.
    ///
    /// # Errors
    /// [`GraphError`] when it cannot be read or holds no road for one of the vehicles.
    pub fn from_pbf_file(path: &std::path::Path, speeds: &RoadSpeeds) -> Result<RoadGraph, GraphError> {
        let open =
            || -> Result<std::io::BufReader<std::fs::File>, GraphError> { Ok(std::io::BufReader::new(std::fs::File::open(path).map_err(PbfError::Io)?)) };
        RoadGraph::build(open()?, open()?, speeds)
    }

    /// Reads a PBF extract held in memory.
    ///
    /// # Errors
    /// As [`RoadGraph::from_pbf_file`].
    pub fn from_pbf_bytes(bytes: &[u8], speeds: &RoadSpeeds) -> Result<RoadGraph, GraphError> {
        RoadGraph::build(bytes, bytes, speeds)
    }

    /// Builds from two readers of the same extract (one per pass).
    fn build(first: impl Read, second: impl Read, speeds: &RoadSpeeds) -> Result<RoadGraph, GraphError> {
        // Pass 1: the drivable ways.
        let mut ways = Vec::new();
        pbf::read(first, Select { nodes: false, ways: true }, |e| {
            let Element::Way(w) = e else { return };
            let Some(class) = w.tag("highway").and_then(RoadClass::from_highway) else { return };
            let per_vehicle = Vehicle::ALL.map(|v| directions(&w, class, v).unwrap_or_default());
            if w.refs.len() >= 2 && per_vehicle.iter().any(|d| d.forward || d.backward) {
                ways.push(RoadWay { class, refs: w.refs.to_vec(), per_vehicle });
            }
        })?;
        let mut ids: Vec<i64> = ways.iter().flat_map(|w| w.refs.iter().copied()).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() >= u32::MAX as usize {
            return Err(GraphError::TooBig(ids.len()));
        }
        // Pass 2: their nodes' coordinates.
        let mut coords: Vec<Option<(f64, f64)>> = vec![None; ids.len()];
        pbf::read(second, Select { nodes: true, ways: false }, |e| {
            if let Element::Node(n) = e {
                if let Ok(i) = ids.binary_search(&n.id) {
                    coords[i] = Some((n.lat, n.lon));
                }
            }
        })?;
        let vehicles = [Vehicle::Truck, Vehicle::Motorcycle].map(|v| VehicleGraph::new(v, &ways, &ids, &coords, speeds));
        let [truck, moto] = vehicles;
        Ok(RoadGraph { vehicles: [truck?, moto?] })
    }

    /// Figures of `vehicle`'s graph.
    pub fn stats(&self, vehicle: Vehicle) -> GraphStats {
        let g = &self.vehicles[vehicle.index()];
        GraphStats { nodes: g.graph.node_count(), edges: g.graph.edge_count(), dropped_nodes: g.dropped }
    }

    /// The rush-hour bands of `vehicle` (see the module's documentation).
    pub fn rush_hours(&self, vehicle: Vehicle) -> &[Band] {
        &self.vehicles[vehicle.index()].bands
    }

    /// Distances and free-flow durations from each of `from` to each of `to` (`(lat, lon)`
    /// degrees) for `vehicle`, each point snapped to the nearest road node within `snap_m`.
    ///
    /// # Errors
    /// [`RouteError`] for a point that is no coordinate or lies off the graph.
    pub fn table(&self, vehicle: Vehicle, from: &[(f64, f64)], to: &[(f64, f64)], snap_m: f64) -> Result<Table, RouteError> {
        let g = &self.vehicles[vehicle.index()];
        let sources = g.snap_all(from, snap_m)?;
        let targets = g.snap_all(to, snap_m)?;
        // Target node → the columns it serves.
        let mut columns: HashMap<NodeIndex, Vec<usize>> = HashMap::new();
        for (j, &(node, _)) in targets.iter().enumerate() {
            columns.entry(node).or_default().push(j);
        }
        let rows: Vec<(Vec<i64>, Vec<i64>)> = sources
            .par_iter()
            .enumerate()
            .map(|(i, &(source, off_from))| {
                let reached = g.dijkstra(source, &columns);
                let mut metres = vec![0; to.len()];
                let mut seconds = vec![0; to.len()];
                for (j, &(target, off_to)) in targets.iter().enumerate() {
                    if from[i] == to[j] {
                        continue;
                    }
                    let (ms, m) = reached.get(&target).copied().unwrap_or((0, 0.0));
                    let off = off_from + off_to;
                    // Road distances and times are far below i64's range.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
                    {
                        metres[j] = (m + off).round() as i64;
                        seconds[j] = (ms as f64 / 1000.0 + off / g.off_road_mps).round() as i64;
                    }
                }
                (metres, seconds)
            })
            .collect();
        let (metres, seconds) = rows.into_iter().unzip();
        Ok(Table { metres, seconds })
    }
}

impl VehicleGraph {
    fn new(vehicle: Vehicle, ways: &[RoadWay], ids: &[i64], coords: &[Option<(f64, f64)>], speeds: &RoadSpeeds) -> Result<VehicleGraph, GraphError> {
        let mut graph: DiGraph<(f64, f64), Edge> = DiGraph::new();
        let mut index: Vec<Option<NodeIndex>> = vec![None; ids.len()];
        let mut node = |graph: &mut DiGraph<(f64, f64), Edge>, id: i64| -> Option<NodeIndex> {
            let i = ids.binary_search(&id).ok()?;
            let p = coords[i]?;
            Some(*index[i].get_or_insert_with(|| graph.add_node(p)))
        };
        for w in ways {
            let d = w.per_vehicle[vehicle.index()];
            if !(d.forward || d.backward) {
                continue;
            }
            let mps = speeds.free_flow(vehicle, w.class) / 3.6;
            for pair in w.refs.windows(2) {
                // A way cut at the extract's border lacks some nodes: its segments there are left out.
                let (Some(a), Some(b)) = (node(&mut graph, pair[0]), node(&mut graph, pair[1])) else { continue };
                if a == b {
                    continue;
                }
                let metres = haversine_m(graph[a], graph[b]);
                // Milliseconds of a road segment: far within u64.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let ms = ((metres / mps * 1000.0).round() as u64).max(1);
                let edge = Edge { metres, ms, class: w.class };
                if d.forward {
                    graph.add_edge(a, b, edge);
                }
                if d.backward {
                    graph.add_edge(b, a, edge);
                }
            }
        }
        // The largest strongly connected part.
        let largest = petgraph::algo::tarjan_scc(&graph).into_iter().max_by_key(Vec::len).unwrap_or_default();
        if largest.len() < 2 {
            return Err(GraphError::NoRoads(vehicle.name()));
        }
        let dropped = graph.node_count() - largest.len();
        let mut keep = vec![false; graph.node_count()];
        for n in &largest {
            keep[n.index()] = true;
        }
        let graph = graph.filter_map(|n, &p| keep[n.index()].then_some(p), |_, &e| Some(e));
        let mut grid: HashMap<(i32, i32), Vec<NodeIndex>> = HashMap::new();
        for n in graph.node_indices() {
            grid.entry(cell(graph[n])).or_default().push(n);
        }
        let off_road_mps = speeds.free_flow(vehicle, RoadClass::Service) / 3.6;
        let mut g = VehicleGraph { graph, grid, off_road_mps, bands: Vec::new(), dropped };
        g.bands = g.derive_bands(vehicle, speeds);
        Ok(g)
    }

    /// The nearest node within `radius_m` of `p`, and how far it is.
    fn snap(&self, p: (f64, f64), radius_m: f64) -> Option<(NodeIndex, f64)> {
        let (ci, cj) = cell(p);
        let lat_cell_m = CELL_DEG * EARTH_RADIUS_M.to_radians();
        let lon_cell_m = (lat_cell_m * p.0.to_radians().cos()).max(1.0);
        // Rings of cells that cover the radius (bounded: the radius is at most a few km).
        #[allow(clippy::cast_possible_truncation)]
        let (ri, rj) = (((radius_m / lat_cell_m).ceil() as i32 + 1).min(200), ((radius_m / lon_cell_m).ceil() as i32 + 1).min(200));
        let mut best: Option<(NodeIndex, f64)> = None;
        for i in ci - ri..=ci + ri {
            for j in cj - rj..=cj + rj {
                for &n in self.grid.get(&(i, j)).map_or(&[][..], Vec::as_slice) {
                    let d = haversine_m(p, self.graph[n]);
                    if d <= radius_m && best.is_none_or(|(bn, bd)| d < bd || (d == bd && n < bn)) {
                        best = Some((n, d));
                    }
                }
            }
        }
        best
    }

    fn snap_all(&self, points: &[(f64, f64)], radius_m: f64) -> Result<Vec<(NodeIndex, f64)>, RouteError> {
        points
            .iter()
            .enumerate()
            .map(|(index, &(lat, lon))| {
                if !valid((lat, lon)) {
                    return Err(RouteError::BadPoint { index, lat, lon });
                }
                self.snap((lat, lon), radius_m).ok_or(RouteError::OffGraph { index, lat, lon, radius_m })
            })
            .collect()
    }

    /// Dijkstra's search at free-flow time from `source`: `settled(node, ms, tree edge)` is
    /// called for each node in the order it is settled (its tree edge's tail settled before it),
    /// and the search stops when it returns `false`.
    fn search(&self, source: usize, mut settled: impl FnMut(usize, u64, Option<(usize, Edge)>) -> bool) {
        let n = self.graph.node_count();
        let mut best = vec![u64::MAX; n];
        let mut parent: Vec<Option<(usize, Edge)>> = vec![None; n];
        let mut done = vec![false; n];
        let mut heap = BinaryHeap::new();
        best[source] = 0;
        heap.push(Reverse((0u64, source)));
        while let Some(Reverse((t, u))) = heap.pop() {
            if done[u] {
                continue;
            }
            done[u] = true;
            if !settled(u, t, parent[u]) {
                return;
            }
            for e in self.graph.edges(NodeIndex::new(u)) {
                let v = e.target().index();
                let nt = t.saturating_add(e.weight().ms);
                if nt < best[v] {
                    best[v] = nt;
                    parent[v] = Some((u, *e.weight()));
                    heap.push(Reverse((nt, v)));
                }
            }
        }
    }

    /// Free-flow milliseconds and metres from `source` to each node of `targets`, searching
    /// until all are settled.
    fn dijkstra<T>(&self, source: NodeIndex, targets: &HashMap<NodeIndex, T>) -> HashMap<NodeIndex, (u64, f64)> {
        let mut out = HashMap::with_capacity(targets.len());
        if targets.is_empty() {
            return out;
        }
        let mut metres = vec![0.0; self.graph.node_count()];
        self.search(source.index(), |u, t, tree| {
            if let Some((from, e)) = tree {
                metres[u] = metres[from] + e.metres;
            }
            let un = NodeIndex::new(u);
            if targets.contains_key(&un) {
                out.insert(un, (t, metres[u]));
            }
            out.len() < targets.len()
        });
        out
    }

    /// Rush-hour bands from the hourly speeds, weighing each road class by the metres that the
    /// shortest-path trees of a few evenly spread sources drive on it (every node of a tree
    /// counts as one trip's destination).
    fn derive_bands(&self, vehicle: Vehicle, speeds: &RoadSpeeds) -> Vec<Band> {
        let n = self.graph.node_count();
        let mut usage = [0.0f64; CLASSES];
        for k in 0..BAND_SOURCES.min(n) {
            let source = k * n / BAND_SOURCES.min(n);
            // The shortest-path tree: each node's tree edge, and the settling order.
            let mut parent: Vec<Option<(usize, Edge)>> = vec![None; n];
            let mut order = Vec::with_capacity(n);
            self.search(source, |u, _, tree| {
                parent[u] = tree;
                order.push(u);
                true
            });
            // Each tree edge is driven by the trips to every node below it.
            let mut below = vec![1.0f64; n];
            for &v in order.iter().rev() {
                if let Some((u, e)) = parent[v] {
                    usage[e.class.index()] += e.metres * below[v];
                    below[u] += below[v];
                }
            }
        }
        let time = |speed: &dyn Fn(RoadClass) -> f64| -> f64 { RoadClass::ALL.iter().map(|&c| usage[c.index()] / speed(c)).sum() };
        let free = time(&|c| speeds.free_flow(vehicle, c));
        let mut bands: Vec<Band> = Vec::new();
        if free <= 0.0 {
            return bands;
        }
        for hour in 0..24u32 {
            let slow = time(&|c| speeds.at(vehicle, c, hour as usize));
            // A share of free flow in percent: between 0 and 100.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let percent = ((100.0 * free / slow).round() as u32).clamp(1, 100);
            if percent >= 100 {
                continue;
            }
            let (start_s, end_s) = (hour * 3600, (hour + 1) * 3600);
            match bands.last_mut() {
                Some(b) if b.end_s == start_s && b.speed_percent == percent => b.end_s = end_s,
                _ => bands.push(Band { start_s, end_s, speed_percent: percent }),
            }
        }
        bands
    }
}
