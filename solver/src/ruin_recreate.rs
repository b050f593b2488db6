//! Ruin and recreate, the default metaheuristic: a first solution improved by ruin-and-recreate
//! (Schrimpf et al. 2000) with local search after every recreation, threshold acceptance, and
//! adaptive penalties for capacity excess and time warp so the search may cross infeasible
//! space (Vidal et al. 2012). Built on [`crate::engine`] only; the driver ([`crate::search`])
//! runs several walks side by side.

use crate::engine::construct;
use crate::engine::env::{Environment, Progress, RunResult};
use crate::engine::local_search::{self, StopCheck};
use crate::engine::neighbours::Neighbours;
use crate::engine::rng::Rng;
use crate::engine::segment::{initial_penalties, Penalties};
use crate::engine::state::{State, UNROUTED};
use crate::model::Problem;

/// Iterations between two penalty updates: short, so that on large instances (where one
/// iteration can take a tenth of a second) the weights still react within a second or two.
const PENALTY_WINDOW: u32 = 10;

/// Share of solutions after local search that should be feasible in each respect.
const TARGET_FEASIBLE: f64 = 0.5;

/// One ruin-and-recreate walk that can be advanced in steps, so that parallel walks can share
/// their best solution between steps.
pub struct Walk<'p, const D: usize, const T: usize> {
    state: State<'p, D, T>,
    rng: Rng,
    /// Best routes found (feasible if `best_feasible`).
    best: Vec<(usize, Vec<u32>)>,
    best_feasible: bool,
    best_cost: i64,
    /// The walk's current position and its penalised cost.
    current: Vec<(usize, Vec<u32>)>,
    current_cost: i64,
    /// Iterations done.
    pub iterations: u64,
    load_ok: u32,
    time_ok: u32,
    window: u32,
    /// Feasible routes met since the last [`Walk::take_routes`] (vehicle type, visits, cost),
    /// when the walk collects them for the set-partitioning step.
    harvest: Option<Vec<(usize, Vec<u32>, i64)>>,
    /// State step up to which routes have been collected.
    harvested_at: u64,
}

impl<'p, const D: usize, const T: usize> Walk<'p, D, T> {
    /// A walk from a first solution: cheapest insertion in random order, then local search.
    pub fn new(problem: &'p Problem, nb: &Neighbours, env: &Environment, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut penalties = initial_penalties(problem);
        if env.initial.is_some() {
            // A warm start is (nearly) feasible, and a replan must stay so within a few
            // iterations: start with dear penalties, which adapt down if the search needs room.
            penalties = Penalties { load: penalties.load * 100, time_warp: penalties.time_warp * 100, distance: penalties.distance * 100 };
        }
        let mut state = State::<D, T>::empty(problem, penalties);
        match &env.initial {
            Some(start) => construct::from_solution(&mut state, nb, start),
            None => construct::initial(&mut state, nb, &mut rng),
        }
        // A feasible warm start is a best solution already, whatever the search does next.
        let start = (env.initial.is_some() && state.is_feasible()).then(|| (state.snapshot(), state.cost()));
        let stop = || env.must_stop();
        local_search::run(&mut state, nb, &mut rng, &stop);
        // A warm start (a replan) is repaired past the time limit: a budget of a few
        // milliseconds on a busy machine must not hand the dispatcher a half-repaired plan with
        // stops dropped. Not forever, though: a CI bench run once saw one such repair of a
        // multi-trip day run for over ten minutes (moves judged on visits that tidying then
        // changed, so the local search did not descend; see `State::apply_judged`), and it
        // stops at ten times the limit (at least 10 s) should anything else ever keep it going.
        // Polishing a feasible one stays within budget.
        let warm = env.initial.is_some();
        let repair_cap = env.time_limit.map(|t| (t * 10).max(std::time::Duration::from_secs(10)));
        let repair_stop = || if warm { env.cancelled() || repair_cap.is_some_and(|c| env.started.elapsed() >= c) } else { env.must_stop() };
        repair_if_infeasible(&mut state, nb, &mut rng, &repair_stop, true);
        let (mut best, mut best_feasible, mut best_cost) = (state.snapshot(), state.is_feasible(), state.cost());
        if let Some((routes, cost)) = start.filter(|(_, cost)| !best_feasible || *cost < best_cost) {
            (best, best_feasible, best_cost) = (routes, true, cost);
        }
        Walk {
            best_feasible,
            best_cost,
            current: best.clone(),
            current_cost: state.penalised_cost(),
            best,
            state,
            rng,
            iterations: 0,
            load_ok: 0,
            time_ok: 0,
            window: 0,
            harvest: None,
            harvested_at: 0,
        }
    }

    /// Makes the walk collect the feasible routes of every solution its local search returns
    /// (for the route pool of the set-partitioning step).
    pub fn collect_routes(&mut self) {
        self.harvest.get_or_insert_with(Vec::new);
    }

    /// The routes collected since the last call (empty when the walk does not collect).
    pub fn take_routes(&mut self) -> Vec<(usize, Vec<u32>, i64)> {
        self.harvest.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The best routes (non-empty ones) with the cost of each.
    pub fn best_routes_with_costs(&self) -> Vec<(usize, Vec<u32>, i64)> {
        self.best.iter().filter(|(_, v)| !v.is_empty()).map(|(vt, v)| (*vt, v.clone(), self.state.evaluate_visits(*vt, v).cost)).collect()
    }

    /// Whether the walk has a feasible best, and its cost.
    pub fn best(&self) -> (bool, i64) {
        (self.best_feasible, self.best_cost)
    }

    /// The best routes.
    pub fn best_routes(&self) -> &[(usize, Vec<u32>)] {
        &self.best
    }

    /// Moves the walk to `routes` (another walk's best), keeping its own penalties and
    /// randomness.
    pub fn adopt(&mut self, routes: &[(usize, Vec<u32>)]) {
        self.state.restore(routes);
        self.state.touch_infeasible();
        self.current = routes.to_vec();
        self.current_cost = self.state.penalised_cost();
        self.harvested_at = self.state.step;
        if self.state.is_feasible() && (!self.best_feasible || self.state.cost() < self.best_cost) {
            self.best = routes.to_vec();
            self.best_cost = self.state.cost();
            self.best_feasible = true;
        }
    }

    /// Runs iterations until `until` iterations are done, the iteration limit is reached or the
    /// environment says stop.
    pub fn advance(&mut self, nb: &Neighbours, env: &Environment, until: u64, report: &dyn Fn(Progress)) {
        let problem = self.state.problem;
        let n = problem.num_clients();
        let stop = || env.must_stop();
        let state = &mut self.state;
        let rng = &mut self.rng;
        while n > 0 && self.iterations < until && !stop.stop() && env.max_iterations.is_none_or(|m| self.iterations < m) {
            self.iterations += 1;
            ruin(state, nb, rng);
            let mut removed: Vec<usize> = (0..n).filter(|&c| state.pos[c].0 == UNROUTED).collect();
            rng.shuffle(&mut removed);
            if rng.below(2) == 0 {
                // Sometimes reinsert the far-away clients first: they have the fewest good spots.
                let depot = problem.depots[problem.vehicle_types[0].start_depot].location;
                removed.sort_by_key(|&c| std::cmp::Reverse(problem.distance(0, depot, problem.clients[c].location)));
            }
            construct::insert_all(state, nb, &removed, false);
            local_search::run(state, nb, rng, &stop);

            let (l, t) = state.feasibility_parts();
            self.load_ok += l as u32;
            self.time_ok += t as u32;
            self.window += 1;
            // Repair every other infeasible result, and every one once a third of the run has
            // passed without any feasible solution (tight fleets, as in HVRP).
            if !state.is_feasible() && (rng.below(2) == 0 || (!self.best_feasible && env.progress(self.iterations) > 0.3)) {
                repair_if_infeasible(state, nb, rng, &stop, !self.best_feasible);
            }

            if let Some(harvest) = &mut self.harvest {
                // Routes changed since the last collection, feasible ones only: columns for the
                // set partitioning.
                for r in state.routes.iter().filter(|r| r.modified_at > self.harvested_at && !r.visits.is_empty() && r.eval.is_feasible()) {
                    harvest.push((r.vt, r.visits.clone(), r.eval.cost));
                }
            }

            let cost = state.cost();
            if state.is_feasible() && (!self.best_feasible || cost < self.best_cost) {
                self.best = state.snapshot();
                self.best_cost = cost;
                self.best_feasible = true;
                report(Progress { iterations: self.iterations, best_cost: cost, feasible: true, elapsed: env.started.elapsed() });
            }

            let progress = env.progress(self.iterations);
            // Threshold acceptance: a worse solution is kept when it is within a random share
            // of a threshold that shrinks to zero as the run ends.
            let threshold = (0.01 * (1.0 - progress).powi(2) * rng.unit() * self.current_cost.max(0) as f64) as i64;
            let new_cost = state.penalised_cost();
            if new_cost < self.current_cost + threshold {
                self.current = state.snapshot();
                self.current_cost = new_cost;
            } else {
                state.restore(&self.current);
            }

            if self.window == PENALTY_WINDOW {
                Penalties::adapt(&mut state.penalties.load, self.load_ok, self.window, TARGET_FEASIBLE);
                Penalties::adapt(&mut state.penalties.time_warp, self.time_ok, self.window, TARGET_FEASIBLE);
                state.penalties.distance = state.penalties.time_warp;
                state.touch_infeasible();
                self.current_cost = state.penalised_cost();
                (self.load_ok, self.time_ok, self.window) = (0, 0, 0);
            }
            self.harvested_at = state.step;
        }
    }

    /// The walk's result.
    pub fn finish(mut self) -> RunResult {
        if !self.best_feasible {
            // Nothing feasible yet: keep the least infeasible found.
            self.best = self.state.snapshot();
            self.best_cost = self.state.cost();
        }
        RunResult { routes: self.best, cost: self.best_cost, feasible: self.best_feasible, iterations: self.iterations }
    }
}

/// Runs one search with its own seed until the environment says stop.
pub fn run<const D: usize, const T: usize>(problem: &Problem, nb: &Neighbours, env: &Environment, seed: u64, report: &dyn Fn(Progress)) -> RunResult {
    let mut walk = Walk::<D, T>::new(problem, nb, env, seed);
    let (feasible, cost) = walk.best();
    report(Progress { iterations: 0, best_cost: cost, feasible, elapsed: env.started.elapsed() });
    walk.advance(nb, env, u64::MAX, report);
    walk.finish()
}

/// Runs the local search with ten times the penalties, then restores them.
/// With `anywhere` (no feasible solution found yet), broken routes may also give clients to
/// any route, not only to nearby ones.
fn repair_if_infeasible<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, rng: &mut Rng, stop: &dyn StopCheck, anywhere: bool) {
    let mut factor = 10;
    for _ in 0..3 {
        if state.is_feasible() {
            return;
        }
        let saved = state.penalties;
        state.penalties.load = saved.load.saturating_mul(factor);
        state.penalties.time_warp = saved.time_warp.saturating_mul(factor);
        state.penalties.distance = saved.distance.saturating_mul(factor);
        state.touch_infeasible();
        local_search::run(state, nb, rng, stop);
        if anywhere && !state.is_feasible() && !stop.stop() {
            // Granular moves only look near each client; when the spare room is in a few far
            // routes (bin-packing-tight fleets, as in VRPB with unit demands), move clients of
            // broken routes to wherever it helps most, then polish again.
            if relocate_anywhere(state, stop) {
                local_search::run(state, nb, rng, stop);
            }
        }
        state.penalties = saved;
        factor *= 10;
    }
}

/// Most relocations one [`relocate_anywhere`] call makes.
const MAX_GLOBAL_RELOCATIONS: usize = 200;

/// Moves clients out of infeasible routes to their best position in any route (every position
/// of every used route, and one empty route per vehicle type), best improving move first, until
/// no move improves; returns whether any move was made. Costs one full scan per move, so it is
/// kept for repairs.
fn relocate_anywhere<const D: usize, const T: usize>(state: &mut State<D, T>, stop: &dyn StopCheck) -> bool {
    use crate::engine::state::Part::{Client, Pre, Suf};
    let n = state.problem.num_clients();
    let mut moved = false;
    for _ in 0..MAX_GLOBAL_RELOCATIONS {
        if stop.stop() {
            break;
        }
        let mut targets: Vec<usize> = (0..state.routes.len()).filter(|&r| !state.routes[r].visits.is_empty()).collect();
        for t in 0..state.problem.vehicle_types.len() {
            if let Some(r) = state.empty_route(t) {
                targets.push(r);
            }
        }
        let bad: Vec<usize> = targets.iter().copied().filter(|&r| !state.routes[r].eval.is_feasible()).collect();
        if bad.is_empty() {
            break;
        }
        // (delta, client, from, index, to, position)
        let mut best: Option<(i64, usize, usize, usize, usize, usize)> = None;
        for &r1 in &bad {
            let len = state.routes[r1].visits.len();
            for i in 0..len {
                let u = state.routes[r1].visits[i] as usize;
                if u >= n || state.problem.pair_role(u).is_some() {
                    continue; // a reload visit, or a client of a pair (pairs move as units)
                }
                let removal = state.exact_cost_of(state.routes[r1].vt, &[Pre(r1, i), Suf(r1, i + 1)]) - state.route_cost(r1);
                for &r2 in &targets {
                    if r2 == r1 || !state.can_serve(state.routes[r2].vt, u) {
                        continue;
                    }
                    // Only moves that improve, and beat the best so far.
                    let below = best.map_or(0, |b| b.0) - removal;
                    if let Some((insertion, p)) = construct::cheapest_in_route(state, r2, u, below) {
                        best = Some((removal + insertion, u, r1, i, r2, p));
                    }
                }
            }
        }
        let Some((_, u, r1, i, r2, p)) = best else { break };
        state.apply(&[(r1, &[Pre(r1, i), Suf(r1, i + 1)]), (r2, &[Pre(r2, p), Client(u), Suf(r2, p)])]);
        moved = true;
    }
    moved
}

/// Removes a random client and some of its routed neighbours (a radial ruin), or a string of
/// consecutive visits around it (a string ruin; Christiaens & Vanden Berghe 2020).
fn ruin<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, rng: &mut Rng) {
    let n = state.problem.num_clients();
    let max_removed = (n / 5).clamp(1, 30);
    let count = 2 + rng.below(max_removed.max(2) - 1);
    let seed = rng.below(n);
    let mut victims = vec![seed];
    if rng.below(2) == 0 {
        victims.extend(nb.of(seed).iter().take(count - 1).map(|&v| v as usize));
    } else {
        // Strings: around the seed and around a few of its neighbours, in their routes.
        let mut centres = vec![seed];
        centres.extend(nb.of(seed).iter().take(3).map(|&v| v as usize));
        let per = (count / centres.len()).max(1);
        for c in centres {
            let (r, i) = state.pos[c];
            if r == UNROUTED {
                continue;
            }
            let route = &state.routes[r as usize].visits;
            let start = (i as usize).saturating_sub(rng.below(per));
            // Reload visits are not victims: they go when their trips empty.
            victims.extend(route.iter().skip(start).take(per).map(|&v| v as usize).filter(|&v| v < n));
        }
    }
    if state.features.pairs {
        // A client of a pair leaves with its partner.
        let partners: Vec<usize> = victims.iter().filter_map(|&c| state.problem.partner(c)).collect();
        victims.extend(partners);
    }
    let mut by_route: Vec<(usize, Vec<u32>)> = Vec::new();
    for c in victims {
        let (r, _) = state.pos[c];
        if r == UNROUTED {
            continue;
        }
        match by_route.iter_mut().find(|(rr, _)| *rr == r as usize) {
            Some((_, v)) => v.push(c as u32),
            None => by_route.push((r as usize, vec![c as u32])),
        }
    }
    for (r, gone) in by_route {
        let kept: Vec<u32> = state.routes[r].visits.iter().copied().filter(|c| !gone.contains(c)).collect();
        state.set_route(r, kept);
    }
}
