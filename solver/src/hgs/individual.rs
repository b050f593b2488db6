//! A member of the population: a full assignment of routes to vehicle slots, its cost split into
//! parts (so it can be re-weighted when penalties change), and its neighbour structure for the
//! broken-pairs distance.

use crate::engine::segment::Penalties;
use crate::engine::state::State;

/// Marks the depot in `succ` / `pred`.
pub const DEPOT: u32 = u32::MAX;

/// One solution in the population.
#[derive(Clone, Debug)]
pub struct Individual {
    /// `routes[slot] = (vehicle type, visits)`, one entry per vehicle slot of the search state.
    pub routes: Vec<(usize, Vec<u32>)>,
    /// Objective without penalties (fixed, distance and duration costs, lost prizes).
    pub cost: i64,
    /// Sum of capacity excess over routes.
    pub load_excess: i64,
    /// Sum of time warp (and duration excess) over routes.
    pub time_warp: i64,
    /// Sum of distance excess over routes.
    pub distance_excess: i64,
    /// `succ[c]`: the client after `c` on its route, or [`DEPOT`].
    pub succ: Vec<u32>,
    /// `pred[c]`: the client before `c` on its route, or [`DEPOT`].
    pub pred: Vec<u32>,
}

impl Individual {
    /// Captures the state's current solution.
    pub fn from_state<const D: usize, const T: usize>(state: &State<D, T>) -> Individual {
        let n = state.problem.num_clients();
        let mut succ = vec![DEPOT; n];
        let mut pred = vec![DEPOT; n];
        let (mut load, mut warp, mut dist) = (0, 0, 0);
        for r in &state.routes {
            // Reload nodes (numbered from `n`) are left out of the neighbour relation.
            for w in r.visits.windows(2).filter(|w| (w[0] as usize) < n && (w[1] as usize) < n) {
                succ[w[0] as usize] = w[1];
                pred[w[1] as usize] = w[0];
            }
            load += r.eval.load_excess;
            warp += r.eval.time_warp;
            dist += r.eval.distance_excess;
        }
        Individual { routes: state.snapshot(), cost: state.cost(), load_excess: load, time_warp: warp, distance_excess: dist, succ, pred }
    }

    /// Whether no constraint is broken.
    pub fn is_feasible(&self) -> bool {
        self.load_excess == 0 && self.time_warp == 0 && self.distance_excess == 0
    }

    /// Cost plus weighted infeasibility.
    pub fn penalised(&self, p: &Penalties) -> i64 {
        self.cost + p.load * self.load_excess + p.time_warp * self.time_warp + p.distance * self.distance_excess
    }

    /// Broken-pairs distance (Prins 2009; Vidal et al. 2012): the share of clients whose
    /// neighbours in `self` are not neighbours in `other`, in `[0, 1]`.
    pub fn broken_pairs(&self, other: &Individual) -> f64 {
        let n = self.succ.len();
        if n == 0 {
            return 0.0;
        }
        let mut broken = 0usize;
        for c in 0..n {
            let s = self.succ[c];
            if s != other.succ[c] && s != other.pred[c] {
                broken += 1;
            }
            // A route start in `self` that is no route end in `other` also breaks a pair.
            if self.pred[c] == DEPOT && other.pred[c] != DEPOT && other.succ[c] != DEPOT {
                broken += 1;
            }
        }
        broken as f64 / n as f64
    }
}
