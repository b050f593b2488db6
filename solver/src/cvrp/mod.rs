//! Hybrid genetic search for plain capacitated problems, after Vidal (2022), "Hybrid genetic
//! search for the CVRP: Open-source implementation and SWAP* neighborhood" (Computers &
//! Operations Research 140), and Vidal et al. (2012) for the population management.
//!
//! Where a problem is nothing but capacitated routing (one vehicle type and depot, one load
//! dimension, every client required, no time windows that bind, no limits on a route's distance
//! or duration, no costs but distance, symmetric distances), the general engine's segment joins
//! carry time, trip and type fields that such a problem never reads. This module keeps only what
//! it needs: giant tours cut into routes by Split, order crossover (OX), a granular local search
//! with the classical moves evaluated from route prefix sums in constant time, SWAP* between
//! routes whose polar sectors overlap, and a population of feasible and infeasible solutions
//! ranked by cost and by their contribution to diversity (broken-pairs distance). The capacity
//! penalty adapts so that a fifth of the educated offspring is feasible.
//!
//! Same seed and iteration limit give the same result.

mod data;
mod individual;
mod local_search;
mod population;
mod split;

use crate::engine::env::{Environment, Progress, RunResult};
use crate::engine::neighbours::Neighbours;
use crate::engine::rng::Rng;
use crate::engine::state::Features;
use crate::model::{Problem, UNLIMITED};
pub(crate) use data::Data;
use individual::Individual;
use local_search::LocalSearch;
use population::Population;

/// Largest problem the module takes. Up to 400 clients it beats ruin and recreate clearly at
/// 10 s (X instances of 106-393 clients, seeds 1-2, one core each: mean gap 0.394 % against
/// 0.904 %, better in 21 of 24 solves); on larger ones, at 10 s, the education of its initial
/// population (a hundred random solutions) takes most of the time, and ruin and recreate was
/// better in 4 of 6 (X-n411 to X-n1001).
pub const MAX_CLIENTS: usize = 400;

/// Granular neighbours per client (as in HGS-CVRP); the driver builds lists of this length for
/// this search.
pub const GRANULAR: usize = 20;

/// Offspring without a new best (since the last restart) after which the population restarts.
const RESTART_AFTER: u64 = 20_000;
/// Offspring between two updates of the capacity penalty.
const PENALTY_EVERY: u64 = 100;
/// Share of educated offspring that should respect the capacity.
const TARGET_FEASIBLE: f64 = 0.2;

/// Whether `problem` is a plain capacitated problem that this module solves (see the module
/// documentation for what that excludes).
pub fn applies(problem: &Problem) -> bool {
    if !Features::capacity_only(problem) || problem.stability_active() || problem.depots.len() != 1 || problem.vehicle_types.len() != 1 {
        return false;
    }
    let n = problem.num_clients();
    if !(2..=MAX_CLIENTS).contains(&n) || problem.dimensions > 1 {
        return false;
    }
    let vt = &problem.vehicle_types[0];
    let plain_vehicle = vt.start_depot == vt.end_depot
        && vt.count >= 1
        && vt.shift.late >= UNLIMITED
        && vt.max_duration >= UNLIMITED
        && vt.max_distance >= UNLIMITED
        && vt.fixed_cost == 0
        && vt.unit_duration_cost == 0
        && vt.unit_overtime_cost == 0
        && vt.unit_distance_cost >= 1
        && vt.capacity.iter().all(|&q| q <= data::MAX_AMOUNT)
        && !vt.balance.is_active()
        && vt.on_board.is_none()
        && vt.breaks.is_empty()
        && vt.reload_depots.is_empty();
    if !plain_vehicle {
        return false;
    }
    let plain_clients = (0..n).all(|c| {
        let client = &problem.clients[c];
        client.required
            && client.pickup.iter().all(|&p| p == 0)
            && client.delivery.iter().all(|&q| q <= data::MAX_AMOUNT)
            && problem.why_type_cannot_serve(0, c).is_none()
    });
    plain_clients && data::symmetric(problem)
}

/// One genetic search with its own seed, until the environment says stop (or its iteration
/// limit: one iteration is one educated individual, those of the initial population included).
/// `problem` must satisfy [`applies`]; `nb` holds [`GRANULAR`] neighbours per client.
pub fn run(problem: &Problem, nb: &Neighbours, env: &Environment, seed: u64, report: &dyn Fn(Progress)) -> RunResult {
    let data = Data::new(problem, nb, env.initial.as_deref());
    let mut search = Search::new(&data, env, seed, report);
    search.run();
    search.last_repair();
    let iterations = search.iterations;
    let best = search.pop.best_overall();
    match best {
        Some(b) => RunResult { cost: b.distance * data.unit, routes: data.to_routes(&b.routes), feasible: true, iterations },
        // No feasible solution (out of time before the first one, or a fleet too small).
        None => {
            let any = search.pop.best_infeasible();
            let routes = any.map(|b| data.to_routes(&b.routes)).unwrap_or_default();
            let cost = any.map_or(0, |b| b.distance * data.unit);
            RunResult { cost, routes, feasible: false, iterations }
        }
    }
}

/// The state of one run.
struct Search<'a> {
    data: &'a Data,
    env: &'a Environment,
    report: &'a dyn Fn(Progress),
    rng: Rng,
    ls: LocalSearch<'a>,
    pop: Population,
    penalty: f64,
    iterations: u64,
    /// Iterations since the last new best of this restart.
    idle: u64,
    offspring: Individual,
}

impl<'a> Search<'a> {
    fn new(data: &'a Data, env: &'a Environment, seed: u64, report: &'a dyn Fn(Progress)) -> Self {
        Search {
            data,
            env,
            report,
            rng: Rng::new(seed),
            ls: LocalSearch::new(data),
            pop: Population::new(),
            penalty: data.initial_penalty,
            iterations: 0,
            idle: 0,
            offspring: Individual::new(data),
        }
    }

    fn must_stop(&self) -> bool {
        self.env.max_iterations.is_some_and(|m| self.iterations >= m) || self.env.must_stop()
    }

    fn run(&mut self) {
        self.initial_population(true);
        while !self.must_stop() {
            let (a, b) = self.pop.parents(&mut self.rng);
            individual::crossover_ox(self.data, &mut self.offspring, &self.pop.get(a).giant, &self.pop.get(b).giant, &mut self.rng);
            split::split(self.data, self.penalty, &mut self.offspring);
            self.educate();
            if self.iterations.is_multiple_of(PENALTY_EVERY) {
                self.adapt_penalty();
            }
            if self.idle >= RESTART_AFTER {
                self.pop.restart();
                self.idle = 0;
                self.initial_population(false);
            }
        }
    }

    /// Four times the minimum population size of random giant tours, split and educated (the
    /// first one the warm start, when there is one). The first is made even when the budget is
    /// already spent, so that a run always returns every client routed.
    fn initial_population(&mut self, first: bool) {
        let warm = if first { self.env.initial.as_deref() } else { None };
        for k in 0..4 * population::MU {
            if (k > 0 || !first) && self.must_stop() {
                return;
            }
            match warm.filter(|_| k == 0) {
                Some(start) => self.offspring.set_routes(self.data, &self.data.routes_of(start)),
                None => {
                    self.offspring.random_giant(&mut self.rng);
                    split::split(self.data, self.penalty, &mut self.offspring);
                }
            }
            self.educate();
        }
    }

    /// Local search on the offspring, then into the population; an infeasible one is repaired
    /// with ten times the penalty half of the time, and joins again when that made it feasible.
    fn educate(&mut self) {
        self.iterations += 1;
        self.ls.run(&mut self.offspring, self.penalty, &mut self.rng, &|| self.env.must_stop());
        let mut improved = self.pop.add(&self.offspring, true, self.penalty);
        if !self.offspring.is_feasible() && self.rng.below(2) == 0 {
            self.ls.run(&mut self.offspring, self.penalty * 10.0, &mut self.rng, &|| self.env.must_stop());
            if self.offspring.is_feasible() {
                improved |= self.pop.add(&self.offspring, false, self.penalty);
            }
        }
        if improved {
            self.idle = 0;
            if let Some(best) = self.pop.best_overall() {
                (self.report)(Progress {
                    iterations: self.iterations,
                    best_cost: best.distance * self.data.unit,
                    feasible: true,
                    elapsed: self.env.started.elapsed(),
                });
            }
        } else {
            self.idle += 1;
        }
    }

    /// When no feasible solution was found (a budget of a few iterations), the cheapest
    /// infeasible one is searched again with ten, a hundred and a thousand times the penalty
    /// until it respects the capacity.
    fn last_repair(&mut self) {
        if self.pop.best_overall().is_some() {
            return;
        }
        let Some(cheapest) = self.pop.best_infeasible() else { return };
        self.offspring = cheapest.clone();
        for factor in [10.0, 100.0, 1000.0] {
            self.ls.run(&mut self.offspring, self.penalty * factor, &mut self.rng, &|| false);
            if self.offspring.is_feasible() {
                self.pop.add(&self.offspring, false, self.penalty);
                return;
            }
        }
    }

    /// Raises the penalty when too few recent offspring respected the capacity, lowers it when
    /// too many did, and re-ranks the infeasible solutions.
    fn adapt_penalty(&mut self) {
        let share = self.pop.feasible_share();
        if share < TARGET_FEASIBLE - 0.05 && self.penalty < 100_000.0 {
            self.penalty = (self.penalty * 1.2).min(100_000.0);
        } else if share > TARGET_FEASIBLE + 0.05 && self.penalty > 0.1 {
            self.penalty = (self.penalty * 0.85).max(0.1);
        }
        self.pop.reprice(self.penalty);
    }
}

#[cfg(test)]
mod tests;
