//! Hybrid genetic search (Vidal et al. 2012, 2022): a population of locally optimal solutions,
//! feasible and infeasible, bred by selective route exchange, educated by the granular local
//! search, repaired with raised penalties half of the time when infeasible, and kept diverse by
//! biased fitness. Penalty weights adapt so that a target share of offspring is feasible.

pub mod crossover;
pub mod individual;
pub mod population;

use crate::engine::construct;
use crate::engine::env::{Environment, Progress, RunResult};
use crate::engine::local_search::{self, StopCheck};
use crate::engine::neighbours::Neighbours;
use crate::engine::rng::Rng;
use crate::engine::segment::{initial_penalties, Penalties};
use crate::engine::state::State;
use crate::model::Problem;
use individual::Individual;
use population::{Population, PopulationParams};

/// Share of educated offspring that should be feasible in each respect.
const TARGET_FEASIBLE: f64 = 0.65;
/// Offspring between two penalty updates.
const UPDATE_EVERY: u32 = 50;
/// Iterations without a new best after which the population restarts.
const RESTART_AFTER: u64 = 20_000;

/// Runs one genetic search with its own seed until the environment says stop.
pub fn run<const D: usize, const T: usize>(problem: &Problem, nb: &Neighbours, env: &Environment, seed: u64, report: &dyn Fn(Progress)) -> RunResult {
    let started = env.started;
    let stop = || env.must_stop();
    let mut rng = Rng::new(seed);
    let mut state = State::<D, T>::empty(problem, initial_penalties(problem));
    let params = PopulationParams::default();
    let mut pop = Population::new(params);
    let empty = state.snapshot();

    let mut best: Option<Individual> = None;
    let mut iterations = 0u64;
    let mut last_improvement = 0u64;
    let (mut load_ok, mut time_ok, mut window) = (0u32, 0u32, 0u32);

    let offer = |ind: Individual, best: &mut Option<Individual>, iterations: u64, last_improvement: &mut u64| {
        if ind.is_feasible() && best.as_ref().is_none_or(|b| ind.cost < b.cost) {
            report(Progress { iterations, best_cost: ind.cost, feasible: true, elapsed: started.elapsed() });
            *best = Some(ind.clone());
            *last_improvement = iterations;
        }
        ind
    };

    while !stop.stop() && env.max_iterations.is_none_or(|m| iterations < m) {
        if problem.num_clients() == 0 {
            break;
        }
        iterations += 1;
        if pop.len() < params.min_size {
            // Initial (or restarted) population: random cheapest insertions, educated.
            state.restore(&empty);
            match env.initial.as_ref().filter(|_| iterations == 1) {
                // A warm start is the first individual; the rest of the population is random.
                Some(start) => construct::from_solution(&mut state, nb, start),
                None => construct::initial(&mut state, nb, &mut rng),
            }
        } else {
            let penalties = state.penalties;
            let (a, b) = pop.parents(&penalties, &mut rng);
            let (a, b) = (a.clone(), b.clone());
            crossover::srex(&mut state, nb, &a, &b, &mut rng);
        }
        local_search::run(&mut state, nb, &mut rng, &stop);

        let (l, t) = state.feasibility_parts();
        load_ok += l as u32;
        time_ok += t as u32;
        window += 1;
        let ind = offer(Individual::from_state(&state), &mut best, iterations, &mut last_improvement);
        let feasible = ind.is_feasible();
        let penalties = state.penalties;
        pop.add(ind, &penalties);
        if !feasible && rng.below(2) == 0 && repair(&mut state, nb, &mut rng, &stop) {
            let ind = offer(Individual::from_state(&state), &mut best, iterations, &mut last_improvement);
            pop.add(ind, &penalties);
        }

        if window == UPDATE_EVERY {
            Penalties::adapt(&mut state.penalties.load, load_ok, window, TARGET_FEASIBLE);
            Penalties::adapt(&mut state.penalties.time_warp, time_ok, window, TARGET_FEASIBLE);
            state.penalties.distance = state.penalties.time_warp;
            state.touch_infeasible();
            (load_ok, time_ok, window) = (0, 0, 0);
        }
        if iterations - last_improvement > RESTART_AFTER {
            pop.clear();
            last_improvement = iterations;
        }
    }

    match best {
        Some(b) => RunResult { cost: b.cost, routes: b.routes, feasible: true, iterations },
        None => RunResult { cost: state.cost(), routes: state.snapshot(), feasible: state.is_feasible(), iterations },
    }
}

/// Local search with ten times the penalties; whether the result is feasible.
fn repair<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, rng: &mut Rng, stop: &dyn StopCheck) -> bool {
    let saved = state.penalties;
    state.penalties.load = saved.load.saturating_mul(10);
    state.penalties.time_warp = saved.time_warp.saturating_mul(10);
    state.penalties.distance = saved.distance.saturating_mul(10);
    state.touch_infeasible();
    local_search::run(state, nb, rng, stop);
    state.penalties = saved;
    state.is_feasible()
}
