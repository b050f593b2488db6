//! The last step of a search that ends infeasible: optional clients are taken out of the routes
//! that break a rule, one at a time (each time the one whose removal repairs most), until every
//! route keeps every rule or no optional client is left to take out. A dispatcher then gets a
//! plan that can be driven, with the orders it could not fit listed and why, instead of routes
//! that overload a truck or arrive after closing.
//!
//! The clients of a pair leave together. Required clients are never removed: when they alone
//! break the rules the solution stays infeasible and says so.

use crate::check::{check, CheckReport, Violation};
use crate::model::Problem;
use crate::solution::{Route, Solution, Unassigned, UnassignedReason};

/// How badly a violation breaks its rule: the excess in its own unit (a rule broken without a
/// measure counts as one large unit).
fn excess(v: &Violation) -> i64 {
    const BROKEN: i64 = 1_000_000;
    match *v {
        Violation::Capacity { max_load, capacity, .. } => max_load - capacity,
        Violation::OnBoardStock { delivered, stock, .. } => delivered - stock,
        Violation::TimeWindow { arrival, late, .. } | Violation::ReloadWindow { arrival, late, .. } => arrival - late,
        Violation::ReleaseTime { departure, latest, .. } => latest - departure,
        Violation::Shift { end, latest, .. } => end - latest,
        Violation::MaxDuration { duration, max, .. } => duration - max,
        Violation::MaxDistance { distance, max, .. } => distance - max,
        _ => BROKEN,
    }
    .max(1)
}

/// The violations of `route` alone: their number and total excess.
fn route_badness(problem: &Problem, route: &Route) -> (usize, i64, Vec<Violation>) {
    let alone = Solution { routes: vec![route.clone()], unassigned: vec![] };
    let violations: Vec<Violation> = check(problem, &alone).violations.into_iter().filter(|v| v.route().is_some()).collect();
    (violations.len(), violations.iter().map(excess).sum(), violations)
}

/// Why a client taken out of a route that broke `worst` is unassigned.
fn reason(worst: Option<&Violation>) -> UnassignedReason {
    match worst {
        Some(Violation::Capacity { .. } | Violation::OnBoardStock { .. }) => UnassignedReason::Capacity,
        Some(Violation::TimeWindow { .. } | Violation::ReleaseTime { .. } | Violation::ReloadWindow { .. }) => UnassignedReason::TimeWindowUnreachable,
        Some(Violation::Shift { .. } | Violation::MaxDuration { .. } | Violation::MaxDistance { .. }) => UnassignedReason::ShiftLimits,
        Some(Violation::Skills { .. }) => UnassignedReason::NoCompatibleVehicle,
        _ => UnassignedReason::NoFeasibleRoute,
    }
}

/// Removes client `c` from every route that visits it (breaks after it move one visit back).
fn take_out(solution: &mut Solution, c: usize) {
    for route in &mut solution.routes {
        for (t, trip) in route.trips.iter_mut().enumerate() {
            while let Some(i) = trip.visits.iter().position(|&v| v == c) {
                trip.visits.remove(i);
                route.breaks.iter_mut().filter(|b| b.trip == t && b.after > i).for_each(|b| b.after -= 1);
            }
        }
    }
}

/// Takes both clients of every optional pair that is served in part, split or out of order out
/// of the routes; returns whether any was. (The search never leaves a pair so; this makes a
/// solution from elsewhere drivable.)
fn take_out_broken_pairs(problem: &Problem, solution: &mut Solution, violations: &[Violation]) -> bool {
    let mut any = false;
    for v in violations {
        let pair = match *v {
            Violation::PairIncomplete { pair, .. } | Violation::PairSplit { pair, .. } | Violation::PairOrder { pair, .. } => &problem.pairs[pair],
            _ => continue,
        };
        if problem.clients[pair.pickup].required {
            continue;
        }
        for c in [pair.pickup, pair.delivery] {
            take_out(solution, c);
            solution.unassigned.retain(|u| u.client != c);
            solution.unassigned.push(Unassigned { client: c, reason: UnassignedReason::NoFeasibleRoute });
        }
        any = true;
    }
    if any {
        drop_empty(solution);
    }
    any
}

/// Drops trips and routes that are empty, keeping each route's first trip.
fn drop_empty(solution: &mut Solution) {
    for route in &mut solution.routes {
        let first = route.trips.first().map(|t| t.depot);
        route.trips.retain(|t| !t.visits.is_empty());
        if route.trips.is_empty() {
            if let Some(depot) = first {
                route.trips.push(crate::solution::Trip { depot, visits: vec![] });
            }
        }
    }
    solution.routes.retain(|r| r.trips.iter().any(|t| !t.visits.is_empty()));
}

/// Takes optional clients out of rule-breaking routes until the solution is feasible; returns
/// the checker's report on the solution as it is left (feasible, or with the violations no
/// optional client's removal could mend). Routes left without clients are dropped.
pub fn drop_optional_until_feasible(problem: &Problem, solution: &mut Solution) -> CheckReport {
    loop {
        let report = check(problem, solution);
        if report.is_feasible() {
            return report;
        }
        if take_out_broken_pairs(problem, solution, &report.violations) {
            continue;
        }
        let mut bad: Vec<usize> = report.violations.iter().filter_map(Violation::route).collect();
        bad.sort_unstable();
        bad.dedup();
        let mut removed_any = false;
        for &r in &bad {
            let Some(route) = solution.routes.get(r) else { continue };
            let (count, _, violations) = route_badness(problem, route);
            if count == 0 {
                continue;
            }
            // The optional client whose removal leaves the fewest violations, then the least excess.
            let mut best: Option<((usize, i64), usize, usize)> = None;
            for (t, trip) in route.trips.iter().enumerate() {
                for (i, &c) in trip.visits.iter().enumerate() {
                    if problem.clients.get(c).is_none_or(|cl| cl.required) {
                        continue;
                    }
                    let mut shorter = route.clone();
                    shorter.trips[t].visits.remove(i);
                    // A client of a pair leaves with its partner.
                    if let Some(o) = problem.partner(c) {
                        shorter.trips.iter_mut().for_each(|trip| trip.visits.retain(|&v| v != o));
                    }
                    let (n, e, _) = route_badness(problem, &shorter);
                    if best.is_none_or(|(b, _, _)| (n, e) < b) {
                        best = Some(((n, e), t, i));
                    }
                }
            }
            // Even when no single removal helps yet, the best one is taken out: a later one may.
            let Some((_, t, i)) = best else { continue };
            let worst = violations.iter().max_by_key(|v| excess(v));
            let client = solution.routes[r].trips[t].visits.remove(i);
            solution.unassigned.push(Unassigned { client, reason: reason(worst) });
            if let Some(o) = problem.partner(client) {
                take_out(solution, o);
                solution.unassigned.push(Unassigned { client: o, reason: reason(worst) });
            }
            removed_any = true;
        }
        if !removed_any {
            return report;
        }
        drop_empty(solution);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solution::Trip;
    use crate::test_support::tiny_problem_data;

    fn all_on_one_route() -> Solution {
        Solution { routes: vec![Route { vehicle_type: 0, trips: vec![Trip { depot: 0, visits: vec![0, 1, 2] }], breaks: vec![] }], unassigned: vec![] }
    }

    #[test]
    fn an_overloaded_route_loses_optional_clients_until_it_fits() {
        // Three optional clients of demand 4 on a vehicle of capacity 10: one must go.
        let mut data = tiny_problem_data();
        for c in &mut data.clients {
            c.required = false;
            c.prize = 1000;
        }
        let problem = Problem::new(data).expect("valid");
        let mut s = all_on_one_route();
        assert!(!check(&problem, &s).is_feasible());
        assert!(drop_optional_until_feasible(&problem, &mut s).is_feasible());
        assert!(check(&problem, &s).is_feasible());
        let served: usize = s.routes.iter().flat_map(|r| &r.trips).map(|t| t.visits.len()).sum();
        assert_eq!(served, 2, "as many as fit stay");
        assert_eq!(s.unassigned.len(), 1);
        assert_eq!(s.unassigned[0].reason, UnassignedReason::Capacity);
    }

    #[test]
    fn required_clients_are_never_removed() {
        let problem = Problem::new(tiny_problem_data()).expect("valid");
        let mut s = all_on_one_route();
        assert!(!drop_optional_until_feasible(&problem, &mut s).is_feasible());
        assert_eq!(s.routes[0].trips[0].visits, vec![0, 1, 2]);
        assert!(s.unassigned.is_empty());
    }
}
