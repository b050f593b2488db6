//! The independent checker: recomputes a solution's cost and lists every rule it breaks.
//!
//! It shares no code with the search on purpose. Each route is simulated stop by stop in the
//! plainest way (see `route`), so a bug in the search's concatenation-based evaluation shows up
//! as a disagreement with the checker instead of being repeated by it. The checker never stops
//! at the first violation and never panics, whatever indices or numbers the solution holds.

mod route;
mod violation;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_breaks;
#[cfg(test)]
mod tests_pairs;

pub use violation::Violation;

use crate::model::Problem;
use crate::solution::{Route, Solution};

/// The objective of a solution, split into its parts.
///
/// `total = fixed_cost + distance_cost + duration_cost + overtime_cost + balance_cost +
/// move_cost + uncollected_prizes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CostBreakdown {
    /// Sum of the route distances (raw, not weighted by cost).
    pub distance: i64,
    /// Sum of the route durations (raw, not weighted by cost).
    pub duration: i64,
    /// Sum of the fixed costs of the vehicles used.
    pub fixed_cost: i64,
    /// Sum over routes of the type's unit distance cost times the route distance.
    pub distance_cost: i64,
    /// Sum over routes of the type's unit duration cost times the route duration.
    pub duration_cost: i64,
    /// Sum over routes of the type's unit overtime cost times the route duration above the
    /// type's `overtime_after`.
    pub overtime_cost: i64,
    /// Fair days: sum over routes of the type's [`crate::model::Balance`] cost of the route
    /// duration.
    #[serde(skip_serializing_if = "is_zero")]
    pub balance_cost: i64,
    /// In a replan, the problem's move cost for each announced client served by another vehicle
    /// type than the one it was announced on.
    #[serde(skip_serializing_if = "is_zero")]
    pub move_cost: i64,
    /// Sum of the prizes of optional clients that no route visits.
    pub uncollected_prizes: i64,
    /// The objective.
    pub total: i64,
}

/// What the checker recomputed for one route, in the schedule that leaves as late as possible.
///
/// Routes the checker cannot simulate (unknown vehicle type, client or depot, or no visits) get
/// an all-zero report with empty vectors.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RouteReport {
    /// Distance travelled.
    pub distance: i64,
    /// Duration, `end - start`.
    pub duration: i64,
    /// Departure from the start depot (delayed as far as possible without changing `end`).
    pub start: i64,
    /// Return to the end depot.
    pub end: i64,
    /// `arrivals[trip][k]`: start of service at the `k`-th visit of `trip`, in the schedule that
    /// leaves at `start`.
    pub arrivals: Vec<Vec<i64>>,
    /// `max_loads[trip][dimension]`: the highest load on `trip` in `dimension`.
    pub max_loads: Vec<Vec<i64>>,
    /// `breaks[k]`: start of the route's `k`-th break (`Route::breaks[k]`) in that schedule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<i64>,
}

/// The checker's verdict on a solution: its recomputed cost, every violation, and per-route
/// figures (`routes[r]` is about `solution.routes[r]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// The recomputed objective.
    pub cost: CostBreakdown,
    /// Every broken rule found, in route order, then per client.
    pub violations: Vec<Violation>,
    /// One report per route of the solution, in the same order.
    pub routes: Vec<RouteReport>,
}

impl CheckReport {
    /// Whether the solution breaks no rule.
    pub fn is_feasible(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Checks `solution` against `problem`: recomputes the cost and lists every violation.
pub fn check(problem: &Problem, solution: &Solution) -> CheckReport {
    let mut violations = Vec::new();
    let mut cost = CostBreakdown::default();
    // visits[c]: how many times client c is visited over all routes.
    let mut visits = vec![0usize; problem.num_clients()];
    // used[t]: non-empty routes of vehicle type t.
    let mut used = vec![0usize; problem.vehicle_types.len()];

    let mut routes = Vec::with_capacity(solution.routes.len());
    for (r, route) in solution.routes.iter().enumerate() {
        routes.push(check_route(problem, r, route, &mut visits, &mut used, &mut cost, &mut violations));
    }

    for (t, (&n, vt)) in used.iter().zip(&problem.vehicle_types).enumerate() {
        if n > vt.count {
            violations.push(Violation::FleetSize { vehicle_type: t, routes: n, count: vt.count });
        }
    }
    for (c, (&n, client)) in visits.iter().zip(&problem.clients).enumerate() {
        if n == 0 && client.required {
            violations.push(Violation::MissingClient { client: c });
        }
        if n > 1 {
            violations.push(Violation::DuplicateClient { client: c, count: n });
        }
        // An optional pair earns its prizes only when both its clients are served.
        let partner_missing = problem.partner(c).is_some_and(|o| visits[o] == 0);
        if (n == 0 || partner_missing) && !client.required {
            cost.uncollected_prizes = cost.uncollected_prizes.saturating_add(client.prize);
        }
    }
    if problem.has_pairs() {
        check_pairs(problem, solution, &mut violations);
    }
    for (g, group) in problem.groups.iter().enumerate() {
        let served = group.clients.iter().filter(|&&c| visits.get(c).is_some_and(|&n| n > 0)).count();
        if served == 0 && group.required {
            violations.push(Violation::MissingGroup { group: g });
        }
        if served > 1 {
            violations.push(Violation::GroupServedTwice { group: g, count: served });
        }
    }
    // A client listed twice as unassigned is reported once.
    let mut listed = vec![false; problem.num_clients()];
    for u in &solution.unassigned {
        match visits.get(u.client) {
            None => violations.push(Violation::UnknownClient { route: None, client: u.client }),
            Some(&n) if n > 0 && !listed[u.client] => violations.push(Violation::UnassignedButVisited { client: u.client }),
            Some(_) => {}
        }
        if let Some(seen) = listed.get_mut(u.client) {
            *seen = true;
        }
    }

    cost.total = [cost.fixed_cost, cost.distance_cost, cost.duration_cost, cost.overtime_cost, cost.balance_cost, cost.move_cost, cost.uncollected_prizes]
        .into_iter()
        .fold(0i64, i64::saturating_add);
    CheckReport { cost, violations, routes }
}

/// Checks the structure of route `r` (indices, trips, depots), counts its visits, and simulates
/// it when every index it needs is valid, adding its cost to `cost`.
fn check_route(
    problem: &Problem,
    r: usize,
    route: &Route,
    visits: &mut [usize],
    used: &mut [usize],
    cost: &mut CostBreakdown,
    out: &mut Vec<Violation>,
) -> RouteReport {
    let mut can_simulate = true;
    for c in route.visits() {
        match visits.get_mut(c) {
            Some(n) => *n += 1,
            None => {
                out.push(Violation::UnknownClient { route: Some(r), client: c });
                can_simulate = false;
            }
        }
    }
    let empty = route.is_empty();
    if empty {
        out.push(Violation::EmptyRoute { route: r });
    }
    let t = route.vehicle_type;
    let Some(vt) = problem.vehicle_types.get(t) else {
        out.push(Violation::UnknownVehicleType { route: r, vehicle_type: t });
        return RouteReport::default();
    };
    if !empty {
        used[t] += 1;
    }

    if route.trips.len() > vt.max_trips {
        out.push(Violation::TooManyTrips { route: r, trips: route.trips.len(), max: vt.max_trips });
    }
    for (k, trip) in route.trips.iter().enumerate() {
        if trip.depot >= problem.depots.len() {
            out.push(Violation::UnknownDepot { route: r, trip: k, depot: trip.depot });
            // The first trip is simulated from the type's start depot, so only a later trip's
            // unknown depot prevents the simulation.
            can_simulate &= k == 0;
        } else if (k == 0 && trip.depot != vt.start_depot) || (k > 0 && !vt.reload_depots.contains(&trip.depot)) {
            out.push(Violation::BadTripDepot { route: r, trip: k, depot: trip.depot });
        }
        // An empty trip among others is allowed: the vehicle reloads (or waits for released
        // goods) at the depot without a client in between, as PyVRP's evaluator accepts too.
    }
    let mut named = vec![false; vt.breaks.len()];
    for (k, b) in route.breaks.iter().enumerate() {
        let on_a_leg = route.trips.get(b.trip).is_some_and(|trip| b.after <= trip.visits.len());
        if b.index >= vt.breaks.len() || named[b.index] || !on_a_leg {
            out.push(Violation::BadBreak { route: r, position: k });
            can_simulate = false;
        } else {
            named[b.index] = true;
        }
    }

    if empty {
        // An empty route uses no vehicle and costs nothing; EmptyRoute already says it is wrong.
        return RouteReport::default();
    }
    cost.fixed_cost = cost.fixed_cost.saturating_add(vt.fixed_cost);
    for c in route.visits() {
        if problem.stability.home.get(c).copied().flatten().is_some_and(|home| home != t) {
            cost.move_cost = cost.move_cost.saturating_add(problem.stability.move_cost);
        }
    }
    if !can_simulate {
        return RouteReport::default();
    }
    let report = route::simulate(problem, r, route, out);
    // An announced client kept on its vehicle type but served too far from its announced time
    // costs what moving it would.
    if problem.counts_shifts() {
        for (trip, starts) in route.trips.iter().zip(&report.arrivals) {
            for (&c, &start) in trip.visits.iter().zip(starts) {
                cost.move_cost = cost.move_cost.saturating_add(problem.stability.shift_cost(c, t, start));
            }
        }
    }
    cost.distance = cost.distance.saturating_add(report.distance);
    cost.duration = cost.duration.saturating_add(report.duration);
    cost.distance_cost = cost.distance_cost.saturating_add(vt.unit_distance_cost.saturating_mul(report.distance));
    cost.duration_cost = cost.duration_cost.saturating_add(vt.unit_duration_cost.saturating_mul(report.duration));
    let overtime = report.duration.saturating_sub(vt.overtime_after).max(0);
    cost.overtime_cost = cost.overtime_cost.saturating_add(vt.unit_overtime_cost.saturating_mul(overtime));
    cost.balance_cost = cost.balance_cost.saturating_add(vt.balance.of(report.duration));
    report
}

/// Checks that both or neither client of each pair is served, on one trip, pickup first.
fn check_pairs(problem: &Problem, solution: &Solution, out: &mut Vec<Violation>) {
    // at[c]: (route, trip, position in the trip) of client c's first visit.
    let mut at: Vec<Option<(usize, usize, usize)>> = vec![None; problem.num_clients()];
    for (r, route) in solution.routes.iter().enumerate() {
        for (k, trip) in route.trips.iter().enumerate() {
            for (i, &c) in trip.visits.iter().enumerate() {
                if let Some(slot) = at.get_mut(c) {
                    slot.get_or_insert((r, k, i));
                }
            }
        }
    }
    for (k, pair) in problem.pairs.iter().enumerate() {
        match (at[pair.pickup], at[pair.delivery]) {
            (None, None) => {}
            (Some(_), None) => out.push(Violation::PairIncomplete { pair: k, served: pair.pickup }),
            (None, Some(_)) => out.push(Violation::PairIncomplete { pair: k, served: pair.delivery }),
            (Some(p), Some(d)) if (p.0, p.1) != (d.0, d.1) => out.push(Violation::PairSplit { pair: k, pickup_route: p.0, delivery_route: d.0 }),
            (Some(p), Some(d)) if d.2 < p.2 => out.push(Violation::PairOrder { route: p.0, trip: p.1, pair: k }),
            _ => {}
        }
    }
}

fn is_zero(x: &i64) -> bool {
    *x == 0
}
