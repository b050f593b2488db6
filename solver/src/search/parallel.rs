//! The one place that talks to rayon. Ruin-and-recreate walks cooperate: each thread advances
//! its own walks (two on plain CVRP instances of up to 400 clients, else one; seeds
//! derived from the environment's) for an epoch of iterations, then walks
//! that lag behind adopt the best solution found so far. Epochs end at fixed iteration counts
//! and ties go to the lowest walk index, so with an iteration limit the outcome does not depend
//! on scheduling. Optionally, the routes the walks meet are pooled and recombined at the end by
//! set partitioning ([`crate::partition`]). The genetic searches (the general one, and the
//! capacitated one that plain capacitated problems get by default) run as independent searches,
//! the best one winning.

use crate::engine::env::{Algorithm, Environment, Progress, RunResult};
use crate::engine::neighbours::Neighbours;
use crate::model::Problem;
use crate::partition::{self, pool::RoutePool};
use crate::{cvrp, hgs, ruin_recreate};
use rayon::prelude::*;

/// Calls `$f::<D, T>(args)` with `D` the problem's number of capacity dimensions (rounded up to
/// a monomorphised size), so one-dimensional problems move one load per segment, not eight, and
/// `T` 1 when vehicles may reload (segments then carry trip summaries) and 0 otherwise. Trip
/// problems use one, four or eight dimensions only, to keep the number of monomorphised searches
/// down; four covers the service's gas days (20 and 50 kg cylinder slots, weight and gas).
macro_rules! by_dimensions {
    ($problem:expr, $f:ident($($arg:expr),*)) => {
        match ($problem.dimensions, crate::engine::state::is_multi_trip($problem)) {
            (0 | 1, true) => $f::<1, 1>($($arg),*),
            (2..=4, true) => $f::<4, 1>($($arg),*),
            (_, true) => $f::<{ crate::engine::segment::MAX_DIMS }, 1>($($arg),*),
            (0 | 1, false) => $f::<1, 0>($($arg),*),
            (2, false) => $f::<2, 0>($($arg),*),
            (3, false) => $f::<3, 0>($($arg),*),
            (4, false) => $f::<4, 0>($($arg),*),
            (_, false) => $f::<{ crate::engine::segment::MAX_DIMS }, 0>($($arg),*),
        }
    };
}

/// Iterations each walk does between two exchanges of best solutions.
const EPOCH: u64 = 25;

/// Walks per thread on capacitated problems of up to [`SPLIT_UP_TO`] clients with nothing else
/// ([`walks_per_thread`]). On those, two walks that share their best every epoch beat one walk with
/// twice the iterations: a walk that fell behind restarts from the leader's best instead of
/// drifting. Measured on twelve X instances of 106-393 clients, 10 s on one core, seeds 1-4
/// (48 paired solves): the mean gap fell by 0.094 points (standard error 0.037), better in 31
/// solves, worse in 15. On time windows and mixed fleets the same split lost (1000-client VRPTW,
/// HFVRP of 115-308 clients: worse in 7 of 8), so those keep one walk per thread.
const WALKS_PER_THREAD: usize = 2;

/// Largest instance whose threads run [`WALKS_PER_THREAD`] walks: the split was measured up to
/// 393 clients; on larger ones each walk's iterations are fewer (and its memory dearer).
const SPLIT_UP_TO: usize = 400;

/// Walks per thread for `problem`: [`WALKS_PER_THREAD`] for a plain capacitated problem (one
/// vehicle type, no binding time windows, no optional, paired, grouped or backhaul clients, no
/// reloads, breaks or rush hours) of up to [`SPLIT_UP_TO`] clients, else one. (By default the
/// plainest of these, see [`cvrp::applies`], go to the capacitated genetic search instead.)
fn walks_per_thread(problem: &Problem) -> usize {
    if crate::engine::state::Features::capacity_only(problem) && problem.num_clients() <= SPLIT_UP_TO {
        WALKS_PER_THREAD
    } else {
        1
    }
}

/// Seed of walk or run `k`.
fn seed_of(env: &Environment, k: usize) -> u64 {
    env.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(k as u64)
}

/// One run of the genetic search for `D` capacity dimensions (ruin and recreate always goes
/// through [`cooperate`], even on one thread).
fn run_hgs<const D: usize, const T: usize>(problem: &Problem, nb: &Neighbours, env: &Environment, seed: u64, report: &dyn Fn(Progress)) -> RunResult {
    hgs::run::<D, T>(problem, nb, env, seed, report)
}

/// Routes the set-partitioning pool keeps.
const POOL_CAPACITY: usize = 5000;

/// Share of the time limit that the walks leave to the set-partitioning step at the end.
const SP_SHARE: f64 = 0.05;

/// Branch-and-bound nodes of the set-partitioning step: a budget that does not depend on the
/// machine's speed, so iteration-limited runs stay reproducible.
const SP_NODES: u64 = 1000;

/// `count` cooperating ruin-and-recreate walks on the current pool (one walk is a plain run).
/// The iteration limit is per walk.
///
/// With set partitioning ([`super::SetPartitioning`]), the walks collect the feasible routes
/// they meet into a [`RoutePool`] (merged at epoch ends in walk order), and when they stop, the
/// cheapest partition of the clients into pooled routes replaces the best solution if it is
/// cheaper. Under a time limit the walks stop at `1 - SP_SHARE` of it, so that this step has the
/// rest. (Running the step periodically as well, every tenth of the budget, was measured and
/// lost more to the walks' time it took than it gained.)
fn cooperate<const D: usize, const T: usize>(
    problem: &Problem,
    nb: &Neighbours,
    env: &Environment,
    count: usize,
    report: &(dyn Fn(Progress) + Sync),
) -> (RunResult, u64) {
    // Routes with reload visits are not pooled: the partition is over clients of one-trip routes.
    let sp = env.set_partitioning.enabled() && T == 0;
    let walk_env = Environment { time_limit: env.time_limit.map(|t| if sp { t.mul_f64(1.0 - SP_SHARE) } else { t }), ..env.clone() };
    let mut walks: Vec<ruin_recreate::Walk<D, T>> =
        (0..count).into_par_iter().map(|k| ruin_recreate::Walk::new(problem, nb, &walk_env, seed_of(env, k))).collect();
    if let Some((f, c)) = walks.iter().map(|w| w.best()).min_by_key(|&(f, c)| (!f, c)) {
        report(Progress { iterations: 0, best_cost: c, feasible: f, elapsed: env.started.elapsed() });
    }
    let mut pool = RoutePool::new(POOL_CAPACITY);
    if sp {
        walks.iter_mut().for_each(|w| w.collect_routes());
    }
    loop {
        let target = walks[0].iterations + EPOCH;
        walks.par_iter_mut().for_each(|w| w.advance(nb, &walk_env, target, report));
        let done = walk_env.must_stop() || walks.iter().any(|w| w.iterations < target) || env.max_iterations.is_some_and(|m| target >= m);
        if sp {
            for w in walks.iter_mut() {
                for (vt, visits, cost) in w.take_routes() {
                    pool.offer(vt, &visits, cost);
                }
            }
            pool.trim();
        }
        if done {
            break;
        }
        // The best walk by (feasible first, cost, index); the others move to its solution when
        // their own best is worse.
        let leader = leader(&walks);
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
    if sp && !env.cancel.load(std::sync::atomic::Ordering::Relaxed) {
        // HiGHS gets 90 % of the time left: building the model and reading the answer take the
        // rest.
        let limits = partition::Limits { time: env.time_limit.map(|t| t.saturating_sub(env.started.elapsed()).mul_f64(0.9)), nodes: Some(SP_NODES) };
        recombine(problem, &mut pool, &mut walks, &limits, env, report);
    }
    let iterations = walks.iter().map(|w| w.iterations).sum();
    let best = walks
        .into_iter()
        .map(ruin_recreate::Walk::finish)
        .enumerate()
        .min_by_key(|(k, r)| (!r.feasible, r.cost, *k))
        .map(|(_, r)| r)
        .expect("at least one walk");
    (best, iterations)
}

/// The walk with the best solution (feasible first, then cheapest, then lowest index).
fn leader<const D: usize, const T: usize>(walks: &[ruin_recreate::Walk<D, T>]) -> usize {
    (0..walks.len()).min_by_key(|&k| (!walks[k].best().0, walks[k].best().1, k)).unwrap_or(0)
}

/// The set-partitioning step: the best walk's routes join the pool, the model is solved from
/// them, and a cheaper partition becomes the solution of every walk whose best is worse.
/// Returns whether it improved on the best walk.
fn recombine<const D: usize, const T: usize>(
    problem: &Problem,
    pool: &mut RoutePool,
    walks: &mut [ruin_recreate::Walk<D, T>],
    limits: &partition::Limits,
    env: &Environment,
    report: &(dyn Fn(Progress) + Sync),
) -> bool {
    let leader = leader(walks);
    let (feasible, best_cost) = walks[leader].best();
    if !feasible {
        return false;
    }
    let incumbent: Vec<usize> = walks[leader].best_routes_with_costs().into_iter().filter_map(|(vt, v, c)| pool.offer(vt, &v, c)).collect();
    let Some(selection) = partition::solve(problem, pool, &incumbent, limits) else { return false };
    if selection.cost >= best_cost {
        return false;
    }
    let chosen: Vec<(usize, Vec<u32>)> = selection.routes.iter().map(|&i| (pool.routes()[i].vt, pool.routes()[i].visits.clone())).collect();
    let Some(routes) = into_slots(walks[leader].best_routes(), chosen) else { return false };
    for w in walks.iter_mut() {
        let (f, c) = w.best();
        if !f || c > selection.cost {
            w.adopt(&routes);
            debug_assert_eq!(w.best(), (true, selection.cost), "the partition's cost is the walk's");
        }
    }
    let iterations = walks.iter().map(|w| w.iterations).max().unwrap_or(0);
    report(Progress { iterations, best_cost: selection.cost, feasible: true, elapsed: env.started.elapsed() });
    true
}

/// Lays `chosen` routes (vehicle type, visits) out on the route slots of `template` (a walk's
/// routes, one per vehicle): a route already in a slot of the template stays there, the others
/// take empty slots of their type. `None` when a type has too few slots.
fn into_slots(template: &[(usize, Vec<u32>)], chosen: Vec<(usize, Vec<u32>)>) -> Option<Vec<(usize, Vec<u32>)>> {
    let mut out: Vec<(usize, Vec<u32>)> = template.iter().map(|(vt, _)| (*vt, Vec::new())).collect();
    let mut rest = Vec::new();
    for route in chosen {
        match template.iter().position(|r| *r == route) {
            Some(slot) => out[slot].1 = route.1,
            None => rest.push(route),
        }
    }
    for (vt, visits) in rest {
        let slot = (0..out.len()).find(|&s| out[s].0 == vt && out[s].1.is_empty())?;
        out[slot].1 = visits;
    }
    Some(out)
}

/// Runs `env.threads` independent searches on a pool of that many threads; returns the best run
/// with the total iterations.
pub fn solve(problem: &Problem, env: &Environment) -> (RunResult, u64) {
    let threads = env.threads.max(1);
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(|| portfolio(problem, env)),
        // Without a pool of our own, work sequentially rather than on the global pool.
        Err(_) => portfolio(problem, &Environment { threads: 1, ..env.clone() }),
    }
}

/// Computes the granular neighbourhoods (as many as the chosen search uses) and runs
/// `env.threads` independent searches (on the current pool); returns the best with the total
/// iterations.
fn portfolio(problem: &Problem, env: &Environment) -> (RunResult, u64) {
    let threads = env.threads.max(1);
    let noop = |_| {};
    let report = |p| {
        if let Some(f) = &env.progress {
            f(p)
        }
    };
    let report: &(dyn Fn(Progress) + Sync) = if env.progress.is_some() { &report } else { &noop };
    let capacitated = env.algorithm == Algorithm::Auto && cvrp::applies(problem);
    let nb = &Neighbours::new(problem, if capacitated { cvrp::GRANULAR } else { env.neighbours });
    if !capacitated && env.algorithm != Algorithm::Hgs {
        return by_dimensions!(problem, cooperate(problem, nb, env, threads * walks_per_thread(problem), report));
    }
    let run = |k: usize| {
        let seed = seed_of(env, k);
        if capacitated {
            cvrp::run(problem, nb, env, seed, report)
        } else {
            by_dimensions!(problem, run_hgs(problem, nb, env, seed, report))
        }
    };
    let results: Vec<RunResult> = if threads == 1 { vec![run(0)] } else { (0..threads).into_par_iter().map(run).collect() };
    let iterations = results.iter().map(|r| r.iterations).sum();
    let best = results.into_iter().enumerate().min_by_key(|(k, r)| (!r.feasible, r.cost, *k)).map(|(_, r)| r).expect("at least one run");
    (best, iterations)
}
