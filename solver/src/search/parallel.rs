//! The one place that talks to rayon: independent runs with seeds derived from the
//! environment's, on a pool of `threads` workers; the best result wins, ties going to the
//! lowest run index so the outcome does not depend on scheduling.

use super::ils::{self, RunResult};
use super::neighbours::Neighbours;
use super::Environment;
use crate::model::Problem;
use rayon::prelude::*;

/// One run of the environment's algorithm for `D` capacity dimensions.
fn run_with<const D: usize>(problem: &Problem, nb: &Neighbours, env: &Environment, seed: u64, report: &dyn Fn(super::Progress)) -> RunResult {
    match env.algorithm {
        super::Algorithm::Hgs => crate::hgs::run::<D>(problem, nb, env, seed, report),
        super::Algorithm::RuinRecreate => ils::run::<D>(problem, nb, env, seed, report),
    }
}

/// Computes the granular neighbourhoods and runs `env.threads` independent searches on a pool
/// of that many threads; returns the best run with the total iterations.
pub fn solve(problem: &Problem, env: &Environment) -> (RunResult, u64) {
    let threads = env.threads.max(1);
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(|| portfolio(problem, &Neighbours::new(problem, env.neighbours), env)),
        // Without a pool of our own, work sequentially rather than on the global pool.
        Err(_) => portfolio(problem, &Neighbours::new(problem, env.neighbours), &Environment { threads: 1, ..env.clone() }),
    }
}

/// Runs `env.threads` independent searches (on the current pool) and returns the best with the
/// total iterations.
fn portfolio(problem: &Problem, nb: &Neighbours, env: &Environment) -> (RunResult, u64) {
    let threads = env.threads.max(1);
    let noop = |_| {};
    let report = |p| {
        if let Some(f) = &env.progress {
            f(p)
        }
    };
    let run = |k: usize| {
        let seed = env.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(k as u64);
        let report: &dyn Fn(super::Progress) = if env.progress.is_some() { &report } else { &noop };
        // Monomorphise the search for the number of capacity dimensions, so one-dimensional
        // problems move one load per segment, not eight.
        match problem.dimensions {
            0 | 1 => run_with::<1>(problem, nb, env, seed, report),
            2 => run_with::<2>(problem, nb, env, seed, report),
            3 => run_with::<3>(problem, nb, env, seed, report),
            4 => run_with::<4>(problem, nb, env, seed, report),
            _ => run_with::<{ super::segment::MAX_DIMS }>(problem, nb, env, seed, report),
        }
    };
    let results: Vec<RunResult> = if threads == 1 { vec![run(0)] } else { (0..threads).into_par_iter().map(run).collect() };
    let iterations = results.iter().map(|r| r.iterations).sum();
    let best = results
        .into_iter()
        .enumerate()
        .min_by_key(|(k, r)| (!r.feasible, r.cost, *k))
        .map(|(_, r)| r)
        .expect("at least one run");
    (best, iterations)
}
