//! Set partitioning over the route pool ([`pool`]): choose routes from [`RoutePool`] so that every required
//! client is served exactly once and every optional client at most once, with no more routes of
//! a vehicle type than there are vehicles, at the least total cost (route costs plus the prizes
//! of optional clients left out).
//!
//! The model is a binary program with one column per pooled route. It is solved by microlp, the
//! pure-Rust MIP solver that is good_lp's `microlp` backend (the default `microlp` cargo
//! feature), or by HiGHS through good_lp when the opt-in `highs` feature is on (it wins when
//! both are); without either, [`solve`] finds nothing. The incumbent, whose routes are in the
//! pool, is passed as the starting solution, so the solver starts with its cost as the cutoff
//! and never returns anything worse.
//!
//! Both run on one thread with their output off. Within the node limit (and without hitting
//! the time limit) they are deterministic, which keeps iteration-limited searches reproducible.

pub mod pool;

use crate::model::Problem;
use pool::RoutePool;
use std::time::Duration;

/// How long HiGHS may work on one model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit (the search's remaining time, or its share of it).
    pub time: Option<Duration>,
    /// Branch-and-bound node limit: a deterministic budget.
    pub nodes: Option<u64>,
}

/// Routes chosen by the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Indices into [`RoutePool::routes`].
    pub routes: Vec<usize>,
    /// Their cost plus the prizes of the optional clients they leave out.
    pub cost: i64,
}

/// Whether this build can solve the model (the `microlp` or the `highs` feature).
pub const AVAILABLE: bool = cfg!(any(feature = "highs", feature = "microlp"));

/// The MIP solver this build uses for the model.
pub const BACKEND: &str = if cfg!(feature = "highs") {
    "HiGHS"
} else if cfg!(feature = "microlp") {
    "microlp"
} else {
    "none"
};

/// The objective of the pool routes `chosen` (route costs plus lost prizes), or `None` when
/// they do not form a solution: a client served twice, a required client not served, or more
/// routes of a type than vehicles.
pub fn evaluate(problem: &Problem, pool: &RoutePool, chosen: &[usize]) -> Option<i64> {
    let n = problem.num_clients();
    let mut served = vec![false; n];
    let mut used = vec![0usize; problem.vehicle_types.len()];
    let mut cost = 0i64;
    for &i in chosen {
        let r = pool.routes().get(i)?;
        used[r.vt] += 1;
        cost += r.cost;
        for &c in &r.visits {
            let seen = served.get_mut(c as usize)?;
            if *seen {
                return None;
            }
            *seen = true;
        }
    }
    if used.iter().zip(&problem.vehicle_types).any(|(&u, vt)| u > vt.count) {
        return None;
    }
    for (c, client) in problem.clients.iter().enumerate() {
        if !served[c] {
            if client.required {
                return None;
            }
            cost += client.prize;
        }
    }
    for g in &problem.groups {
        let n = g.clients.iter().filter(|&&c| served[c]).count();
        if n > 1 || (n == 0 && g.required) {
            return None;
        }
    }
    Some(cost)
}

/// The cheapest partition of the clients into pool routes within `limits`, starting from the
/// pool routes `incumbent` (which must form a solution); `None` when no MIP solver is built in,
/// some required client is in no pool route, or the solver fails or finds nothing.
pub fn solve(problem: &Problem, pool: &RoutePool, incumbent: &[usize], limits: &Limits) -> Option<Selection> {
    let n = problem.num_clients();
    let mut columns_of = vec![Vec::new(); n];
    for (i, r) in pool.routes().iter().enumerate() {
        for &c in &r.visits {
            columns_of[c as usize].push(i);
        }
    }
    if problem.clients.iter().zip(&columns_of).any(|(c, cols)| c.required && cols.is_empty()) {
        return None;
    }
    // The columns serving each group (a route serves at most one client of a group).
    let group_columns: Vec<(bool, Vec<usize>)> =
        problem.groups.iter().map(|g| (g.required, g.clients.iter().flat_map(|&c| columns_of[c].iter().copied()).collect())).collect();
    if group_columns.iter().any(|(required, cols)| *required && cols.is_empty()) {
        return None;
    }
    // The `highs` crate panics on some HiGHS error statuses (e.g. a MIP start it refuses): a
    // failing MIP only means no recombination, never a failed search.
    let chosen =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| backend::solve(problem, pool, &columns_of, &group_columns, incumbent, limits))).ok()??;
    let cost = evaluate(problem, pool, &chosen)?;
    Some(Selection { routes: chosen, cost })
}

/// A route's objective coefficient: its cost less the prizes it collects (the constant sum of
/// all prizes is left out of the model).
#[cfg(any(feature = "highs", feature = "microlp"))]
fn coefficient(problem: &Problem, route: &pool::PoolRoute) -> i64 {
    let prizes: i64 = route.visits.iter().map(|&c| &problem.clients[c as usize]).filter(|c| !c.required).map(|c| c.prize).sum();
    route.cost - prizes
}

#[cfg(feature = "highs")]
mod backend {
    use super::{Limits, RoutePool};
    use crate::model::Problem;
    use good_lp::solvers::highs::highs;
    use good_lp::{variable, Expression, ProblemVariables, Solution, SolverModel, Variable, WithInitialSolution};

    /// The bit of HiGHS's `presolve_rule_off` option that turns probing off.
    const PROBING: i32 = 1 << 15;

    /// Builds and solves the binary program; returns the chosen pool indices.
    pub fn solve(
        problem: &Problem,
        pool: &RoutePool,
        columns_of: &[Vec<usize>],
        group_columns: &[(bool, Vec<usize>)],
        incumbent: &[usize],
        limits: &Limits,
    ) -> Option<Vec<usize>> {
        let routes = pool.routes();
        // A pool of the incumbent's routes alone has nothing to recombine.
        if routes.len() <= incumbent.len() {
            return None;
        }
        let mut vars = ProblemVariables::new();
        let x: Vec<Variable> = vars.add_vector(variable().binary(), routes.len());
        let mut objective = Expression::with_capacity(routes.len());
        for (r, &v) in routes.iter().zip(&x) {
            objective.add_mul(super::coefficient(problem, r) as f64, v);
        }
        let mut model = vars.minimise(objective).using(highs);
        for (client, cols) in problem.clients.iter().zip(columns_of) {
            if cols.is_empty() {
                continue;
            }
            let served: Expression = cols.iter().map(|&i| x[i]).sum();
            model.add_constraint(if client.required { served.eq(1) } else { served.leq(1) });
        }
        for (required, cols) in group_columns.iter().filter(|(_, cols)| !cols.is_empty()) {
            let served: Expression = cols.iter().map(|&i| x[i]).sum();
            model.add_constraint(if *required { served.eq(1) } else { served.leq(1) });
        }
        for (t, vt) in problem.vehicle_types.iter().enumerate() {
            let of_type: Vec<Variable> = routes.iter().zip(&x).filter(|(r, _)| r.vt == t).map(|(_, &v)| v).collect();
            if of_type.len() > vt.count {
                let used: Expression = of_type.into_iter().sum();
                model.add_constraint(used.leq(vt.count as f64));
            }
        }
        // The incumbent as MIP start (HiGHS refuses an empty one).
        if !incumbent.is_empty() {
            model = model.with_initial_solution(incumbent.iter().map(|&i| (x[i], 1.0)));
        }
        let mut model = model
            .set_threads(1)
            .set_option("random_seed", 0)
            // Probing in presolve costs more than the whole solve on these models; the rest of
            // presolve matters: once reduced-cost fixing has made enough columns inactive, it
            // lets HiGHS restart on a much smaller model instead of separating cuts for long.
            .set_option("presolve_rule_off", PROBING);
        if let Some(t) = limits.time {
            model = model.set_time_limit(t.as_secs_f64());
        }
        if let Some(nodes) = limits.nodes {
            model = model.set_option("mip_max_nodes", nodes.min(i32::MAX as u64) as i32);
        }
        let solution = model.solve().ok()?;
        Some((0..routes.len()).filter(|&i| solution.value(x[i]) > 0.5).collect())
    }
}

#[cfg(all(feature = "microlp", not(feature = "highs")))]
mod backend {
    use super::{Limits, RoutePool};
    use crate::model::Problem;
    use microlp::{ComparisonOp, LinearExpr, OptimizationDirection, SolveOptions};

    /// Builds and solves the binary program; returns the chosen pool indices.
    pub fn solve(
        problem: &Problem,
        pool: &RoutePool,
        columns_of: &[Vec<usize>],
        group_columns: &[(bool, Vec<usize>)],
        incumbent: &[usize],
        limits: &Limits,
    ) -> Option<Vec<usize>> {
        let routes = pool.routes();
        // A pool of the incumbent's routes alone has nothing to recombine.
        if routes.len() <= incumbent.len() {
            return None;
        }
        let mut model = microlp::Problem::new(OptimizationDirection::Minimize);
        let x: Vec<microlp::Variable> = routes.iter().map(|r| model.add_binary_var(super::coefficient(problem, r) as f64)).collect();
        for (client, cols) in problem.clients.iter().zip(columns_of) {
            if cols.is_empty() {
                continue;
            }
            let mut served = LinearExpr::empty();
            for &i in cols {
                served.add(x[i], 1.0);
            }
            model.add_constraint(served, if client.required { ComparisonOp::Eq } else { ComparisonOp::Le }, 1.0);
        }
        for (required, cols) in group_columns.iter().filter(|(_, cols)| !cols.is_empty()) {
            let mut served = LinearExpr::empty();
            for &i in cols {
                served.add(x[i], 1.0);
            }
            model.add_constraint(served, if *required { ComparisonOp::Eq } else { ComparisonOp::Le }, 1.0);
        }
        for (t, vt) in problem.vehicle_types.iter().enumerate() {
            let of_type: Vec<usize> = (0..routes.len()).filter(|&i| routes[i].vt == t).collect();
            if of_type.len() > vt.count {
                let mut used = LinearExpr::empty();
                for i in of_type {
                    used.add(x[i], 1.0);
                }
                model.add_constraint(used, ComparisonOp::Le, vt.count as f64);
            }
        }
        let mut chosen = vec![false; routes.len()];
        for &i in incumbent {
            chosen[i] = true;
        }
        let mut options = SolveOptions::default();
        options.time_limit = limits.time;
        options.node_limit = limits.nodes;
        // The incumbent as the starting assignment: every other column at 0.
        options.warm_start = Some(x.iter().zip(&chosen).map(|(&v, &on)| (v, if on { 1.0 } else { 0.0 })).collect());
        // Interrupted before any solution (time or nodes out): nothing to recombine.
        let solution = model.solve_with(options).ok()?.into_solution().ok()?;
        Some((0..routes.len()).filter(|&i| solution.var_value(x[i]) > 0.5).collect())
    }
}

#[cfg(not(any(feature = "microlp", feature = "highs")))]
mod backend {
    use super::{Limits, RoutePool};
    use crate::model::Problem;

    /// Without a MIP solver there is nothing to solve with.
    pub fn solve(_: &Problem, _: &RoutePool, _: &[Vec<usize>], _: &[(bool, Vec<usize>)], _: &[usize], _: &Limits) -> Option<Vec<usize>> {
        None
    }
}

#[cfg(all(test, any(feature = "highs", feature = "microlp")))]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::engine::segment::{initial_penalties, MAX_DIMS};
    use crate::engine::state::{solution_from_routes, State};
    use crate::test_support::tiny_problem_data;

    fn problem(vehicles: usize, optional_prize: Option<i64>) -> Problem {
        let mut data = tiny_problem_data();
        data.vehicle_types[0].count = vehicles;
        if let Some(prize) = optional_prize {
            data.clients[2].required = false;
            data.clients[2].prize = prize;
        }
        Problem::new(data).unwrap()
    }

    /// A pool of (clients, cost) with made-up costs: the model takes costs as given.
    fn pool(routes: &[(&[u32], i64)]) -> RoutePool {
        let mut pool = RoutePool::new(100);
        for (visits, cost) in routes {
            pool.offer(0, visits, *cost);
        }
        pool
    }

    fn chosen_sets(pool: &RoutePool, s: &Selection) -> Vec<Vec<u32>> {
        let mut sets: Vec<Vec<u32>> = s.routes.iter().map(|&i| pool.routes()[i].visits.clone()).collect();
        sets.sort();
        sets
    }

    const NO_LIMIT: Limits = Limits { time: Some(std::time::Duration::from_secs(30)), nodes: None };

    #[test]
    fn picks_the_cheapest_exact_cover_not_a_cheaper_overlapping_one() {
        let p = problem(3, None);
        // {0,1} + {1,2} costs 6 but serves client 1 twice.
        let pool = pool(&[(&[0, 1], 3), (&[1, 2], 3), (&[0], 4), (&[2], 5), (&[0, 1, 2], 20)]);
        let incumbent = [4];
        let s = solve(&p, &pool, &incumbent, &NO_LIMIT).expect("a partition exists");
        assert_eq!(chosen_sets(&pool, &s), vec![vec![0], vec![1, 2]]);
        assert_eq!(s.cost, 7);
        assert_eq!(evaluate(&p, &pool, &s.routes), Some(7));
    }

    #[test]
    fn respects_the_number_of_vehicles() {
        let routes: &[(&[u32], i64)] = &[(&[0], 1), (&[1], 1), (&[2], 1), (&[0, 1], 5), (&[1, 2], 4), (&[0, 1, 2], 10)];
        let three = pool(routes);
        let s = solve(&problem(3, None), &three, &[5], &NO_LIMIT).unwrap();
        assert_eq!((s.routes.len(), s.cost), (3, 3));
        let two = pool(routes);
        let s = solve(&problem(2, None), &two, &[5], &NO_LIMIT).unwrap();
        assert_eq!(chosen_sets(&two, &s), vec![vec![0], vec![1, 2]]);
        assert_eq!(s.cost, 5);
        let one = pool(routes);
        let s = solve(&problem(1, None), &one, &[5], &NO_LIMIT).unwrap();
        assert_eq!(chosen_sets(&one, &s), vec![vec![0, 1, 2]]);
        // The three singletons are not a solution with two vehicles.
        assert_eq!(evaluate(&problem(2, None), &two, &[0, 1, 2]), None);
    }

    #[test]
    fn an_optional_client_is_left_out_when_its_prize_does_not_pay() {
        let p = problem(3, Some(3));
        let pool = pool(&[(&[0, 1], 2), (&[2], 5), (&[0, 1, 2], 6)]);
        let s = solve(&p, &pool, &[2], &NO_LIMIT).unwrap();
        // Serving client 2 costs 5 (or 4 more in the long route); leaving it out loses 3.
        assert_eq!(chosen_sets(&pool, &s), vec![vec![0, 1]]);
        assert_eq!(s.cost, 2 + 3);
    }

    #[test]
    fn a_required_client_in_no_pooled_route_means_no_partition() {
        let p = problem(3, None);
        let pool = pool(&[(&[0, 1], 2)]);
        assert_eq!(solve(&p, &pool, &[], &NO_LIMIT), None);
    }

    #[test]
    fn the_partition_of_real_routes_is_a_solution_the_checker_accepts() {
        let p = problem(2, None);
        let state = State::<MAX_DIMS, 0>::empty(&p, initial_penalties(&p));
        let mut pool = RoutePool::new(100);
        let candidates: &[&[u32]] = &[&[0], &[1], &[2], &[0, 1], &[1, 0], &[1, 2], &[0, 2], &[2, 0, 1], &[0, 1, 2]];
        for visits in candidates {
            let eval = state.evaluate_visits(0, visits);
            if eval.is_feasible() {
                pool.offer(0, visits, eval.cost);
            }
        }
        let incumbent: Vec<usize> = (0..pool.len()).filter(|&i| pool.routes()[i].visits.len() == 3).collect();
        let s = solve(&p, &pool, &incumbent, &NO_LIMIT).unwrap();
        let routes: Vec<(usize, Vec<u32>)> = s.routes.iter().map(|&i| (0, pool.routes()[i].visits.clone())).collect();
        let report = check(&p, &solution_from_routes(&p, &routes));
        assert!(report.is_feasible(), "{:?}", report.violations);
        assert_eq!(report.cost.total, s.cost);
        // Clients 1 and 2 lie on one ray from the depot, client 3 on the opposite one: serving
        // them on two routes costs 2 * 10 + 2 * 5.
        assert_eq!(s.cost, 30);
    }
}
