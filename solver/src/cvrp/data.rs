//! What the capacitated search reads of a problem: node 0 is the depot and node `k` (1..=n) is
//! client `k - 1`; a dense matrix of distances between nodes, demands, the capacity, granular
//! neighbour lists and polar angles around the depot (for SWAP*'s sectors).

use crate::engine::neighbours::Neighbours;
use crate::model::Problem;
use crate::solution::Solution;

/// The locations of the nodes: the depot's, then each client's.
fn node_locations(problem: &Problem) -> Vec<usize> {
    std::iter::once(problem.depots[0].location).chain(problem.clients.iter().map(|c| c.location)).collect()
}

/// Largest distance between two nodes the search stores (as `i32`, so that route sums stay far
/// from overflowing).
const MAX_DISTANCE: i64 = i32::MAX as i64 / 4;

/// Largest demand or capacity the search takes: sums over 400 clients stay far from overflowing.
pub(super) const MAX_AMOUNT: i64 = 1 << 40;

/// Whether the problem's distances are symmetric (the moves reverse stretches of routes freely)
/// and each fits the dense matrix.
pub(super) fn symmetric(problem: &Problem) -> bool {
    let locations = node_locations(problem);
    locations.iter().enumerate().all(|(i, &a)| {
        locations[..=i].iter().all(|&b| {
            let d = problem.distance(0, a, b);
            d == problem.distance(0, b, a) && (0..=MAX_DISTANCE).contains(&d)
        })
    })
}

/// The problem as the search sees it.
pub(crate) struct Data {
    /// Clients (nodes 1..=n).
    pub n: usize,
    dist: Vec<i32>,
    /// Demand per node (0 for the depot).
    pub demand: Vec<i64>,
    pub capacity: i64,
    /// Routes the search works with: the fleet, or fewer when the fleet is larger than any
    /// sensible solution needs (1.3 times the routes that the demand needs, plus three).
    pub fleet: usize,
    /// Multiplier of distance in the objective.
    pub unit: i64,
    /// Coordinates of each node relative to the depot.
    pub xy: Vec<(f64, f64)>,
    /// Polar angle of each node around the depot, in 1/65536 of a turn.
    pub angle: Vec<i32>,
    /// The closest other clients of each node (nodes; empty for the depot), closest first.
    pub neighbours: Vec<Vec<u32>>,
    /// The capacity penalty to start with: the largest distance over the largest demand.
    pub initial_penalty: f64,
}

impl Data {
    /// The data of `problem`, with the granular neighbours `nb` (by distance alone here, no
    /// window binding; [`super::GRANULAR`] of them); a warm start `initial` keeps as many routes
    /// as it has.
    pub fn new(problem: &Problem, nb: &Neighbours, initial: Option<&Solution>) -> Data {
        let n = problem.num_clients();
        let locations = node_locations(problem);
        let mut dist = Vec::with_capacity((n + 1) * (n + 1));
        let mut max_dist = 0i64;
        for &a in &locations {
            for &b in &locations {
                let d = problem.distance(0, a, b).clamp(0, MAX_DISTANCE);
                max_dist = max_dist.max(d);
                dist.push(d as i32);
            }
        }
        let demand: Vec<i64> = std::iter::once(0).chain(problem.clients.iter().map(|c| c.delivery.first().copied().unwrap_or(0))).collect();
        let vt = &problem.vehicle_types[0];
        let capacity = vt.capacity.first().copied().unwrap_or(0).max(0);
        let total: i64 = demand.iter().sum();
        let max_demand = demand.iter().copied().max().unwrap_or(1).max(1);
        let needed = if capacity > 0 { (1.3 * total as f64 / capacity as f64).ceil() as usize + 3 } else { n };
        let warm = initial.map_or(0, |s| s.routes.len());
        let fleet = vt.count.min(needed.max(warm).max(1)).min(n);
        let (x0, y0) = (problem.locations[locations[0]].x, problem.locations[locations[0]].y);
        let xy: Vec<(f64, f64)> = locations.iter().map(|&l| (problem.locations[l].x - x0, problem.locations[l].y - y0)).collect();
        let angle = xy.iter().map(|&(x, y)| (32768.0 * y.atan2(x) / std::f64::consts::PI).round().rem_euclid(65536.0) as i32).collect();
        Data {
            n,
            dist,
            demand,
            capacity,
            fleet,
            unit: vt.unit_distance_cost.max(1),
            xy,
            angle,
            // Client c's neighbours are nodes c + 1's.
            neighbours: std::iter::once(Vec::new()).chain((0..n).map(|c| nb.of(c).iter().map(|&j| j + 1).collect())).collect(),
            initial_penalty: (max_dist as f64 / max_demand as f64).clamp(0.1, 1000.0),
        }
    }

    /// Distance from node `a` to node `b`.
    #[inline(always)]
    pub fn d(&self, a: usize, b: usize) -> i64 {
        self.dist[a * (self.n + 1) + b] as i64
    }

    /// Routes (lists of nodes) as the search's result: vehicle type 0, client indices.
    pub fn to_routes(&self, routes: &[Vec<u32>]) -> Vec<(usize, Vec<u32>)> {
        routes.iter().filter(|r| !r.is_empty()).map(|r| (0, r.iter().map(|&k| k - 1).collect())).collect()
    }

    /// The routes of a solution as lists of nodes (clients it leaves out become routes of their
    /// own, so that every client is routed; the search merges them).
    pub fn routes_of(&self, solution: &Solution) -> Vec<Vec<u32>> {
        let mut seen = vec![false; self.n + 1];
        let mut routes: Vec<Vec<u32>> = Vec::new();
        for route in &solution.routes {
            let nodes: Vec<u32> = route
                .trips
                .iter()
                .flat_map(|t| t.visits.iter())
                .filter(|&&c| c < self.n && !std::mem::replace(&mut seen[c + 1], true))
                .map(|&c| c as u32 + 1)
                .collect();
            if !nodes.is_empty() {
                routes.push(nodes);
            }
        }
        for (k, _) in seen.iter().enumerate().skip(1).filter(|(_, &s)| !s) {
            routes.push(vec![k as u32]);
        }
        // More routes than the search keeps: the last ones join the shortest.
        while routes.len() > self.fleet {
            let extra = routes.pop().unwrap_or_default();
            if let Some(shortest) = routes.iter_mut().min_by_key(|r| r.len()) {
                shortest.extend(extra);
            }
        }
        routes
    }
}
