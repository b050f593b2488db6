//! A solution of the capacitated search: its giant tour (every client once, routes in order of
//! their polar angle), its routes, costs and neighbours of each client (for the broken-pairs
//! distance).

use super::data::Data;
use crate::engine::rng::Rng;

#[derive(Clone, Debug)]
pub(crate) struct Individual {
    /// Clients (nodes 1..=n) in the order of the routes.
    pub giant: Vec<u32>,
    /// `fleet` routes, some possibly empty.
    pub routes: Vec<Vec<u32>>,
    /// Total distance.
    pub distance: i64,
    /// Load over the capacity, summed over the routes.
    pub excess: i64,
    /// Distance plus the penalty of the excess.
    pub penalised: f64,
    /// Successor and predecessor of each node on its route (0: the depot).
    pub succ: Vec<u32>,
    pub pred: Vec<u32>,
}

impl Individual {
    /// An individual of `data`'s size with the clients in order, unrouted.
    pub fn new(data: &Data) -> Individual {
        Individual {
            giant: (1..=data.n as u32).collect(),
            routes: vec![Vec::new(); data.fleet],
            distance: 0,
            excess: 0,
            penalised: 0.0,
            succ: vec![0; data.n + 1],
            pred: vec![0; data.n + 1],
        }
    }

    pub fn is_feasible(&self) -> bool {
        self.excess == 0
    }

    /// A random giant tour (the routes are left to Split).
    pub fn random_giant(&mut self, rng: &mut Rng) {
        rng.shuffle(&mut self.giant);
    }

    /// Takes `routes` (at most `fleet`), sets the giant tour and evaluates with no penalty
    /// (the local search re-evaluates).
    pub fn set_routes(&mut self, data: &Data, routes: &[Vec<u32>]) {
        for (k, slot) in self.routes.iter_mut().enumerate() {
            slot.clear();
            if let Some(r) = routes.get(k) {
                slot.extend_from_slice(r);
            }
        }
        self.giant.clear();
        for r in &self.routes {
            self.giant.extend_from_slice(r);
        }
        self.evaluate(data, 0.0);
    }

    /// Recomputes costs and neighbours from the routes.
    pub fn evaluate(&mut self, data: &Data, penalty: f64) {
        self.distance = 0;
        self.excess = 0;
        for r in &self.routes {
            if r.is_empty() {
                continue;
            }
            let mut prev = 0usize;
            let mut load = 0;
            for &k in r {
                let k = k as usize;
                self.distance += data.d(prev, k);
                load += data.demand[k];
                self.pred[k] = prev as u32;
                if prev != 0 {
                    self.succ[prev] = k as u32;
                }
                prev = k;
            }
            self.succ[prev] = 0;
            self.distance += data.d(prev, 0);
            self.excess += (load - data.capacity).max(0);
        }
        self.penalised = self.distance as f64 + penalty * self.excess as f64;
    }

    /// Broken-pairs distance to `other`, in `[0, 1]`: the share of clients whose successor here
    /// is neither neighbour there (and of those that start a route here but not there).
    pub fn broken_pairs(&self, other: &Individual) -> f64 {
        let n = self.succ.len() - 1;
        let mut broken = 0usize;
        for j in 1..=n {
            if self.succ[j] != other.succ[j] && self.succ[j] != other.pred[j] {
                broken += 1;
            }
            if self.pred[j] == 0 && other.pred[j] != 0 && other.succ[j] != 0 {
                broken += 1;
            }
        }
        broken as f64 / n as f64
    }
}

/// Order crossover of two giant tours into `child`'s: a random stretch of `a`, the other
/// clients in `b`'s order after it.
pub(crate) fn crossover_ox(data: &Data, child: &mut Individual, a: &[u32], b: &[u32], rng: &mut Rng) {
    let n = data.n;
    let start = rng.below(n);
    let mut end = rng.below(n);
    while n > 1 && end == start {
        end = rng.below(n);
    }
    let mut taken = vec![false; n + 1];
    child.giant.clear();
    child.giant.resize(n, 0);
    let mut i = start;
    loop {
        child.giant[i] = a[i];
        taken[a[i] as usize] = true;
        if i == end {
            break;
        }
        i = (i + 1) % n;
    }
    let mut at = (end + 1) % n;
    for k in 1..=n {
        let c = b[(end + k) % n];
        if !taken[c as usize] {
            child.giant[at] = c;
            at = (at + 1) % n;
        }
    }
}
