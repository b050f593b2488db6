//! The capacitated search's population (Vidal et al. 2012): feasible and infeasible solutions
//! apart, each kept sorted by penalised cost. A subpopulation that grows to `MU + LAMBDA`
//! loses its worst members down to `MU`, clones first, worst by biased fitness: rank by cost
//! plus, weighted by `1 - ELITE / size`, rank by diversity (the mean broken-pairs distance to
//! the `CLOSE` nearest members). Parents are chosen by binary tournament on biased fitness.

use super::individual::Individual;
use crate::engine::rng::Rng;
use std::collections::VecDeque;

/// Minimum size of a subpopulation.
pub const MU: usize = 25;
/// Offspring a subpopulation takes before its survivors are selected.
const LAMBDA: usize = 40;
/// Members whose rank by cost counts fully.
const ELITE: usize = 4;
/// Nearest members that measure a member's contribution to diversity.
const CLOSE: usize = 5;
/// Recent offspring whose feasibility decides the penalty.
const RECENT: usize = 100;

struct Member {
    ind: Individual,
    id: u64,
    /// Broken-pairs distances to the other members of the subpopulation, nearest first.
    near: Vec<(f64, u64)>,
    fitness: f64,
}

impl Member {
    fn closeness(&self, k: usize) -> f64 {
        let k = k.min(self.near.len());
        if k == 0 {
            return 0.0;
        }
        self.near[..k].iter().map(|n| n.0).sum::<f64>() / k as f64
    }
}

pub(crate) struct Population {
    feasible: Vec<Member>,
    infeasible: Vec<Member>,
    next_id: u64,
    recent: VecDeque<bool>,
    best_restart: Option<Individual>,
    best_overall: Option<Individual>,
}

impl Population {
    pub fn new() -> Population {
        Population { feasible: Vec::new(), infeasible: Vec::new(), next_id: 0, recent: VecDeque::new(), best_restart: None, best_overall: None }
    }

    /// Adds a copy of `ind` (priced with `penalty`); `count` records its feasibility for the
    /// penalty's adaptation. Whether it is the best feasible solution since the last restart.
    pub fn add(&mut self, ind: &Individual, count: bool, penalty: f64) -> bool {
        let feasible = ind.is_feasible();
        if count {
            self.recent.push_back(feasible);
            if self.recent.len() > RECENT {
                self.recent.pop_front();
            }
        }
        let mut copy = ind.clone();
        copy.penalised = copy.distance as f64 + penalty * copy.excess as f64;
        let id = self.next_id;
        self.next_id += 1;
        let sub = if feasible { &mut self.feasible } else { &mut self.infeasible };
        let mut near = Vec::with_capacity(sub.len());
        for m in sub.iter_mut() {
            let d = copy.broken_pairs(&m.ind);
            let at = m.near.partition_point(|n| n.0 <= d);
            m.near.insert(at, (d, id));
            near.push((d, m.id));
        }
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let at = sub.partition_point(|m| m.ind.penalised <= copy.penalised);
        sub.insert(at, Member { ind: copy, id, near, fitness: 0.0 });
        if sub.len() > MU + LAMBDA {
            while sub.len() > MU {
                remove_worst(sub);
            }
        }
        if feasible && self.best_restart.as_ref().is_none_or(|b| ind.distance < b.distance) {
            self.best_restart = Some(ind.clone());
            if self.best_overall.as_ref().is_none_or(|b| ind.distance < b.distance) {
                self.best_overall = Some(ind.clone());
            }
            return true;
        }
        false
    }

    /// Two parents, each the better by biased fitness of two members drawn at random; as
    /// indices for [`Population::get`].
    pub fn parents(&mut self, rng: &mut Rng) -> (usize, usize) {
        update_fitness(&mut self.feasible);
        update_fitness(&mut self.infeasible);
        let total = self.feasible.len() + self.infeasible.len();
        let mut pick = || {
            let (a, b) = (rng.below(total), rng.below(total));
            if self.member(a).fitness <= self.member(b).fitness {
                a
            } else {
                b
            }
        };
        (pick(), pick())
    }

    fn member(&self, k: usize) -> &Member {
        match k.checked_sub(self.feasible.len()) {
            None => &self.feasible[k],
            Some(i) => &self.infeasible[i],
        }
    }

    /// Member `k` of the feasible members followed by the infeasible ones.
    pub fn get(&self, k: usize) -> &Individual {
        &self.member(k).ind
    }

    /// Empties the population (the best solution found stays known).
    pub fn restart(&mut self) {
        self.feasible.clear();
        self.infeasible.clear();
        self.best_restart = None;
    }

    /// Share of recent offspring that respected the capacity.
    pub fn feasible_share(&self) -> f64 {
        if self.recent.is_empty() {
            return 1.0;
        }
        self.recent.iter().filter(|&&f| f).count() as f64 / self.recent.len() as f64
    }

    /// Prices the infeasible members with a new penalty and sorts them again.
    pub fn reprice(&mut self, penalty: f64) {
        for m in &mut self.infeasible {
            m.ind.penalised = m.ind.distance as f64 + penalty * m.ind.excess as f64;
        }
        self.infeasible.sort_by(|a, b| a.ind.penalised.total_cmp(&b.ind.penalised));
    }

    /// The best feasible solution found.
    pub fn best_overall(&self) -> Option<&Individual> {
        self.best_overall.as_ref()
    }

    /// The cheapest infeasible member (when no feasible solution was found).
    pub fn best_infeasible(&self) -> Option<&Individual> {
        self.infeasible.first().map(|m| &m.ind)
    }
}

/// Biased fitness of every member of `sub` (sorted by cost).
fn update_fitness(sub: &mut [Member]) {
    let n = sub.len();
    if n == 1 {
        sub[0].fitness = 0.0;
    }
    if n <= 1 {
        return;
    }
    let mut by_diversity: Vec<(f64, usize)> = sub.iter().enumerate().map(|(i, m)| (-m.closeness(CLOSE), i)).collect();
    by_diversity.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let scale = (n - 1) as f64;
    for (rank, &(_, i)) in by_diversity.iter().enumerate() {
        let fit = i as f64 / scale;
        let div = rank as f64 / scale;
        sub[i].fitness = if n <= ELITE { fit } else { fit + (1.0 - ELITE as f64 / n as f64) * div };
    }
}

/// Removes the member with the worst biased fitness, a clone of another first (never the
/// cheapest).
fn remove_worst(sub: &mut Vec<Member>) {
    update_fitness(sub);
    let mut worst = 1;
    let mut worst_clone = false;
    let mut worst_fitness = f64::NEG_INFINITY;
    for (i, m) in sub.iter().enumerate().skip(1) {
        let clone = m.closeness(1) < 1e-9;
        if (clone && !worst_clone) || (clone == worst_clone && m.fitness > worst_fitness) {
            worst = i;
            worst_clone = clone;
            worst_fitness = m.fitness;
        }
    }
    let gone = sub.remove(worst);
    for m in sub.iter_mut() {
        m.near.retain(|n| n.1 != gone.id);
    }
}
