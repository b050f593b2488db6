//! The one place that talks to rayon. Ruin-and-recreate walks cooperate: each thread advances
//! its own walk (seed derived from the environment's) for an epoch of iterations, then walks
//! that lag behind adopt the best solution found so far. Epochs end at fixed iteration counts
//! and ties go to the lowest walk index, so with an iteration limit the outcome does not depend
//! on scheduling. The genetic search runs as independent searches, the best one winning.

use super::ils::{self, RunResult};
use super::neighbours::Neighbours;
use super::Environment;
use crate::model::Problem;
use rayon::prelude::*;

/// Calls `$f::<D, T>(args)` with `D` the problem's number of capacity dimensions (rounded up to
/// a monomorphised size), so one-dimensional problems move one load per segment, not eight, and
/// `T` 1 when vehicles may reload (segments then carry trip summaries) and 0 otherwise. Trip
/// problems use one or eight dimensions only, to keep the number of monomorphised searches down.
macro_rules! by_dimensions {
    ($problem:expr, $f:ident($($arg:expr),*)) => {
        match ($problem.dimensions, super::state::is_multi_trip($problem)) {
            (0 | 1, true) => $f::<1, 1>($($arg),*),
            (_, true) => $f::<{ super::segment::MAX_DIMS }, 1>($($arg),*),
            (0 | 1, false) => $f::<1, 0>($($arg),*),
            (2, false) => $f::<2, 0>($($arg),*),
            (3, false) => $f::<3, 0>($($arg),*),
            (4, false) => $f::<4, 0>($($arg),*),
            (_, false) => $f::<{ super::segment::MAX_DIMS }, 0>($($arg),*),
        }
    };
}

/// Iterations each walk does between two exchanges of best solutions.
const EPOCH: u64 = 25;

/// Seed of walk or run `k`.
fn seed_of(env: &Environment, k: usize) -> u64 {
    env.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(k as u64)
}

/// One run of the environment's algorithm for `D` capacity dimensions.
fn run_with<const D: usize, const T: usize>(problem: &Problem, nb: &Neighbours, env: &Environment, seed: u64, report: &dyn Fn(super::Progress)) -> RunResult {
    match env.algorithm {
        super::Algorithm::Hgs => crate::hgs::run::<D, T>(problem, nb, env, seed, report),
        super::Algorithm::RuinRecreate => ils::run::<D, T>(problem, nb, env, seed, report),
    }
}

/// `threads` cooperating ruin-and-recreate walks on the current pool.
fn cooperate<const D: usize, const T: usize>(problem: &Problem, nb: &Neighbours, env: &Environment, threads: usize, report: &(dyn Fn(super::Progress) + Sync)) -> (RunResult, u64) {
    let mut walks: Vec<ils::Walk<D, T>> = (0..threads).into_par_iter().map(|k| ils::Walk::new(problem, nb, env, seed_of(env, k))).collect();
    loop {
        let target = walks[0].iterations + EPOCH;
        walks.par_iter_mut().for_each(|w| w.advance(nb, env, target, report));
        let done = env.must_stop() || walks.iter().any(|w| w.iterations < target) || env.max_iterations.is_some_and(|m| target >= m);
        if done {
            break;
        }
        // The best walk by (feasible first, cost, index); the others move to its solution when
        // their own best is worse.
        let leader = (0..walks.len()).min_by_key(|&k| (!walks[k].best().0, walks[k].best().1, k)).unwrap_or(0);
        let (lf, lc) = walks[leader].best();
        if !lf {
            continue;
        }
        let routes = walks[leader].best_routes().to_vec();
        for (k, w) in walks.iter_mut().enumerate() {
            let (f, c) = w.best();
            if k != leader && (!f || c > lc) {
                w.adopt(&routes);
            }
        }
    }
    let iterations = walks.iter().map(|w| w.iterations).sum();
    let best = walks
        .into_iter()
        .map(ils::Walk::finish)
        .enumerate()
        .min_by_key(|(k, r)| (!r.feasible, r.cost, *k))
        .map(|(_, r)| r)
        .expect("at least one walk");
    (best, iterations)
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
    let report: &(dyn Fn(super::Progress) + Sync) = if env.progress.is_some() { &report } else { &noop };
    if threads > 1 && env.algorithm == super::Algorithm::RuinRecreate {
        return by_dimensions!(problem, cooperate(problem, nb, env, threads, report));
    }
    let run = |k: usize| {
        let seed = seed_of(env, k);
        by_dimensions!(problem, run_with(problem, nb, env, seed, report))
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
