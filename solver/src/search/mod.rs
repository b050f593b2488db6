//! The driver: [`solve`] runs the chosen metaheuristic ([`crate::ruin_recreate`] or
//! [`crate::hgs`], both built on [`crate::engine`]; a plain tour goes to [`crate::tsp`] and, by
//! default, a plain capacitated problem to [`crate::cvrp`] instead)
//! as a deterministic portfolio over threads
//! (its `parallel` module), optionally ends with set partitioning over the routes met
//! ([`crate::partition`]), and lets the checker have the last word ([`crate::repair`]).
//!
//! Randomness, deadlines, iteration limits and cancellation come in through one
//! [`Environment`] value (same seed + same thread count + iteration limit = same result).

mod parallel;

pub use crate::engine::env::{Algorithm, Environment, Progress, ProgressFn, SetPartitioning};

use crate::engine::state;
use crate::model::Problem;
use crate::solution::Solution;
use std::time::{Duration, Instant};

// The driver interprets this option of the environment, so its meaning lives here.
impl SetPartitioning {
    /// Whether the step runs: asked for, and the build has a MIP backend.
    pub fn enabled(self) -> bool {
        self == SetPartitioning::On && crate::partition::AVAILABLE
    }
}

/// The result of a search.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Best solution found.
    pub solution: Solution,
    /// Its objective according to the search.
    pub cost: i64,
    /// Whether the search considers it feasible.
    pub feasible: bool,
    /// Iterations over all threads.
    pub iterations: u64,
    /// Wall time spent.
    pub elapsed: Duration,
}

/// Solves `problem` within the limits of `env`.
pub fn solve(problem: &Problem, env: &Environment) -> Outcome {
    let started = Instant::now();
    let env = &Environment { started, ..env.clone() };
    let (best, iterations) = if crate::tsp::applies(problem) && env.initial.is_none() {
        let r = crate::tsp::solve(problem, env);
        let iterations = r.iterations;
        (r, iterations)
    } else {
        parallel::solve(problem, env)
    };
    let mut solution = state::solution_from_routes(problem, &best.routes);
    // The checker has the last word: the search ran out of time on an infeasible solution, or
    // judged a client of several time windows by their hull. Optional clients are then taken out
    // until the routes can be driven (a feasible solution is left as it is).
    let report = crate::repair::drop_optional_until_feasible(problem, &mut solution);
    let feasible = report.is_feasible();
    let cost = if feasible { report.cost.total } else { best.cost };
    Outcome { solution, cost, feasible, iterations, elapsed: started.elapsed() }
}
