//! Stop-by-stop simulation of one route: loads (a pair's amount on board from its pickup to its
//! delivery on the trip), skills, backhaul order, distance and the schedule, with the start
//! delayed as far as the route allows.
//!
//! The caller has checked every index this module reads (vehicle type, clients, and the depots
//! of all trips but the first), so plain indexing cannot panic here. All arithmetic on times,
//! loads and distances saturates, so absurd values give absurd numbers, never an overflow.

use super::{RouteReport, Violation};
use crate::model::{Problem, VehicleType};
use crate::solution::Route;

/// Simulates route `r` of vehicle type `route.vehicle_type`, pushing its violations to `out`.
pub(super) fn simulate(problem: &Problem, r: usize, route: &Route, out: &mut Vec<Violation>) -> RouteReport {
    let vt = &problem.vehicle_types[route.vehicle_type];
    let max_loads = check_loads(problem, vt, r, route, out);
    let mut report = simulate_travel(problem, r, route, out);
    report.max_loads = max_loads;
    if report.duration > vt.max_duration {
        out.push(Violation::MaxDuration { route: r, duration: report.duration, max: vt.max_duration });
    }
    if report.distance > vt.max_distance {
        out.push(Violation::MaxDistance { route: r, distance: report.distance, max: vt.max_distance });
    }
    report
}

/// Checks capacity, skills and backhaul order per trip; returns `max_loads[trip][dimension]`.
fn check_loads(problem: &Problem, vt: &VehicleType, r: usize, route: &Route, out: &mut Vec<Violation>) -> Vec<Vec<i64>> {
    let amount = |v: &[i64], d: usize| v.get(d).copied().unwrap_or(0);
    let mut max_loads = Vec::with_capacity(route.trips.len());
    for (k, trip) in route.trips.iter().enumerate() {
        let mut trip_max = Vec::with_capacity(problem.dimensions);
        for d in 0..problem.dimensions {
            // The vehicle leaves the depot with every delivery of the trip on board; at each
            // stop it unloads the delivery and loads the pickup.
            let delivered = trip.visits.iter().fold(0i64, |acc, &c| acc.saturating_add(amount(&problem.clients[c].delivery, d)));
            // A vehicle already out (a replan) starts its first trip with the empties it
            // collected on board, and can deliver only the stock it carries.
            let on_board = vt.on_board.as_ref().filter(|_| k == 0);
            let empties = on_board.map_or(0, |ob| amount(&ob.empties, d));
            if let Some(ob) = on_board {
                let stock = amount(&ob.stock, d);
                if delivered > stock {
                    out.push(Violation::OnBoardStock { route: r, dimension: d, delivered, stock });
                }
            }
            let mut load = delivered.saturating_add(empties);
            let mut max_load = load;
            // Pairs picked up so far on this trip: their amount is on board until delivered.
            let mut picked: Vec<usize> = Vec::new();
            for &c in &trip.visits {
                let client = &problem.clients[c];
                load = load.saturating_add(amount(&client.pickup, d)).saturating_sub(amount(&client.delivery, d));
                if let Some(role) = problem.pair_role(c) {
                    let carried = amount(&problem.pairs[role.pair].amount, d);
                    if role.is_pickup {
                        load = load.saturating_add(carried);
                        picked.push(role.pair);
                    } else if picked.contains(&role.pair) {
                        load = load.saturating_sub(carried);
                    }
                }
                max_load = max_load.max(load);
            }
            let capacity = amount(&vt.capacity, d);
            if max_load > capacity {
                out.push(Violation::Capacity { route: r, trip: k, dimension: d, max_load, capacity });
            }
            trip_max.push(max_load);
        }
        max_loads.push(trip_max);

        for &c in &trip.visits {
            if !vt.skills.covers(problem.clients[c].skills) {
                out.push(Violation::Skills { route: r, client: c });
            }
        }
        if problem.backhaul_precedence {
            let mut after_backhaul = false;
            for (i, &c) in trip.visits.iter().enumerate() {
                let backhaul = problem.clients[c].is_backhaul();
                if (backhaul && i == 0) || (!backhaul && after_backhaul) {
                    out.push(Violation::Backhaul { route: r, trip: k, client: c });
                }
                after_backhaul |= backhaul;
            }
        }
    }
    max_loads
}

/// The route's breaks leg by leg: `order` lists break positions in `route.breaks`, sorted by
/// leg `(trip, after)` and then by their order in the list.
struct Breaks<'a> {
    vt: &'a VehicleType,
    route: &'a Route,
    order: Vec<usize>,
    next: usize,
    /// Per break of `route.breaks`: (end of the previous service in the earliest schedule,
    /// waiting before it, the break's earliest start).
    taken: Vec<(i64, i64, i64)>,
}

impl Breaks<'_> {
    /// Takes the breaks placed on leg `(trip, after)` when the previous stop's service ended at
    /// `time`, with `travel` to drive; returns the arrival at the leg's end. The driver drives
    /// until a break may start, stops for it, and drives on.
    #[allow(clippy::too_many_arguments)]
    fn leg(
        &mut self,
        leg: (usize, usize),
        mut time: i64,
        mut travel: i64,
        waiting: &mut i64,
        slack: &mut i64,
        late: &mut bool,
        r: usize,
        out: &mut Vec<Violation>,
    ) -> i64 {
        while let Some(&k) = self.order.get(self.next) {
            let b = self.route.breaks[k];
            if (b.trip, b.after) != leg {
                break;
            }
            let brk = &self.vt.breaks[b.index];
            let start = time.max(brk.window.early);
            // A later departure moves `time` by what the waiting so far cannot absorb, and the
            // break starts at `time` or at its earliest start, whichever is later: it stays in
            // its window while `time` does.
            if start > brk.window.late {
                out.push(Violation::BreakWindow { route: r, index: b.index, start, late: brk.window.late });
                *late = true;
            } else {
                *slack = (*slack).min(waiting.saturating_add(brk.window.late - time));
            }
            self.taken[k] = (time, *waiting, brk.window.early);
            // Driving on until the break may start; standing still for the rest is waiting.
            let driven = travel.min(start.saturating_sub(time).max(0));
            *waiting = waiting.saturating_add(start.saturating_sub(time).saturating_sub(driven).max(0));
            travel -= driven;
            time = start.saturating_add(brk.duration);
            self.next += 1;
        }
        time.saturating_add(travel)
    }
}

/// Simulates travel and time: distance, the earliest schedule, time violations, then the
/// latest start that keeps the same end (Savelsbergh's forward time slack). In rush hours a later
/// start drives at other speeds, so the latest start that keeps the same end with nothing late
/// is found by bisection over departures (a later departure never arrives anywhere earlier).
fn simulate_travel(problem: &Problem, r: usize, route: &Route, out: &mut Vec<Violation>) -> RouteReport {
    let t = route.vehicle_type;
    if !problem.is_time_dependent(t) {
        return simulate_travel_from(problem, r, route, None, out).0;
    }
    let (earliest, late) = simulate_travel_from(problem, r, route, None, out);
    if late {
        return earliest;
    }
    let end = earliest.end;
    let on_time = |depart: i64| {
        let mut scratch = Vec::new();
        let (report, late) = simulate_travel_from(problem, r, route, Some(depart), &mut scratch);
        (!late && report.end == end).then_some(report)
    };
    let depot_late = problem.depots[problem.vehicle_types[t].start_depot].time_window.late;
    let (mut lo, mut hi) = (earliest.start, depot_late.min(earliest.end).max(earliest.start));
    // The report of the latest departure found on time so far (the earliest one is).
    let mut best = earliest;
    while lo < hi {
        let mid = lo + (hi - lo + 1) / 2;
        match on_time(mid) {
            Some(report) => (lo, best) = (mid, report),
            None => hi = mid - 1,
        }
    }
    best
}

/// [`simulate_travel`] of a departure at `depart` (as early as allowed when `None`); returns the
/// report and whether some time rule is broken. Only a departure left to this function (and
/// not in rush hours) is delayed by the forward time slack.
fn simulate_travel_from(problem: &Problem, r: usize, route: &Route, depart: Option<i64>, out: &mut Vec<Violation>) -> (RouteReport, bool) {
    let t = route.vehicle_type;
    let vt = &problem.vehicle_types[t];
    let start_depot = &problem.depots[vt.start_depot];
    let end_depot = &problem.depots[vt.end_depot];
    let release = |visits: &[usize]| visits.iter().map(|&c| problem.clients[c].release_time).max().unwrap_or(0);
    let mut order: Vec<usize> = (0..route.breaks.len()).collect();
    order.sort_by_key(|&k| (route.breaks[k].trip, route.breaks[k].after, k));
    let mut breaks = Breaks { vt, route, order, next: 0, taken: vec![(0, 0, 0); route.breaks.len()] };

    let mut distance = 0i64;
    // Whether the schedule breaks a time rule; the start is then not delayed.
    let mut late = false;
    // Total waiting so far: time between arrival and service start at clients, between being
    // ready and leaving at reload depots, and standing before a break may start.
    let mut waiting = 0i64;
    // Forward time slack: how far the departure may be delayed without any stop becoming late.
    // Each stop i bounds it by (waiting up to i) + (its latest time - its time).
    let mut slack = i64::MAX;
    // Per trip per visit: (earliest service start, waiting up to and including this visit).
    let mut schedule: Vec<Vec<(i64, i64)>> = Vec::with_capacity(route.trips.len());

    let earliest = vt.shift.early.max(start_depot.time_window.early);
    let first_release = route.trips.first().map_or(0, |trip| release(&trip.visits));
    let s0 = depart.unwrap_or(earliest.max(first_release));
    let latest_departure = start_depot.time_window.late.min(vt.shift.late);
    if first_release > earliest && s0 > latest_departure {
        out.push(Violation::ReleaseTime { route: r, trip: 0, departure: s0, latest: latest_departure });
        late = true;
    }
    let mut time = s0;
    let mut at = start_depot.location;

    for (k, trip) in route.trips.iter().enumerate() {
        if k > 0 {
            let depot = &problem.depots[trip.depot];
            distance = distance.saturating_add(problem.distance(t, at, depot.location));
            let leg = (k - 1, route.trips[k - 1].visits.len());
            let arrival = breaks.leg(leg, time, problem.travel(t, at, depot.location, time), &mut waiting, &mut slack, &mut late, r, out);
            if arrival > depot.time_window.late {
                out.push(Violation::ReloadWindow { route: r, trip: k, depot: trip.depot, arrival, late: depot.time_window.late });
                late = true;
            } else {
                slack = slack.min(waiting.saturating_add(depot.time_window.late.saturating_sub(arrival)));
            }
            let ready = arrival.saturating_add(depot.reload_duration);
            let earliest = ready.max(depot.time_window.early);
            let trip_release = release(&trip.visits);
            let departure = earliest.max(trip_release);
            let latest = depot.time_window.late.min(vt.shift.late);
            if trip_release > earliest && departure > latest {
                out.push(Violation::ReleaseTime { route: r, trip: k, departure, latest });
                late = true;
            }
            waiting = waiting.saturating_add(departure.saturating_sub(ready));
            time = departure;
            at = depot.location;
        }
        let mut trip_schedule = Vec::with_capacity(trip.visits.len());
        for (i, &c) in trip.visits.iter().enumerate() {
            let client = &problem.clients[c];
            distance = distance.saturating_add(problem.distance(t, at, client.location));
            let arrival = breaks.leg((k, i), time, problem.travel(t, at, client.location, time), &mut waiting, &mut slack, &mut late, r, out);
            let service = match client.time_windows.iter().find(|w| w.late >= arrival) {
                Some(w) => {
                    let service = arrival.max(w.early);
                    waiting = waiting.saturating_add(service.saturating_sub(arrival));
                    slack = slack.min(waiting.saturating_add(w.late.saturating_sub(service)));
                    service
                }
                None => {
                    out.push(Violation::TimeWindow { route: r, client: c, arrival, late: client.late() });
                    late = true;
                    arrival
                }
            };
            trip_schedule.push((service, waiting));
            time = service.saturating_add(client.service_duration);
            at = client.location;
        }
        schedule.push(trip_schedule);
    }

    distance = distance.saturating_add(problem.distance(t, at, end_depot.location));
    let last = route.trips.len().saturating_sub(1);
    let leg = (last, route.trips.get(last).map_or(0, |trip| trip.visits.len()));
    let end = breaks.leg(leg, time, problem.travel(t, at, end_depot.location, time), &mut waiting, &mut slack, &mut late, r, out);
    let latest_end = vt.shift.late.min(end_depot.time_window.late);
    if end > latest_end {
        out.push(Violation::Shift { route: r, end, latest: latest_end });
        late = true;
    } else {
        slack = slack.min(waiting.saturating_add(latest_end.saturating_sub(end)));
    }

    // Delaying the departure by `delay` shifts each later stop by what the waiting before it
    // cannot absorb; up to the total waiting the end does not move, and up to the slack no stop
    // becomes late. The departure itself must stay within the start depot's hours.
    let fixed = depart.is_some() || problem.is_time_dependent(t);
    let delay = if late || fixed { 0 } else { waiting.min(slack).min(start_depot.time_window.late.saturating_sub(s0)).max(0) };
    let shifted = |(at, waited): (i64, i64)| at.saturating_add(delay.saturating_sub(waited).max(0));
    let arrivals = schedule.into_iter().map(|trip| trip.into_iter().map(shifted).collect()).collect();
    let start = s0.saturating_add(delay);
    // A break the route does not take is missing when the route is out at its latest start.
    for (k, brk) in vt.breaks.iter().enumerate() {
        if !route.breaks.iter().any(|b| b.index == k) && start <= brk.window.late && end > brk.window.late {
            out.push(Violation::MissingBreak { route: r, index: k });
        }
    }
    let breaks = breaks.taken.into_iter().map(|(time, waited, early)| shifted((time, waited)).max(early)).collect();
    (RouteReport { distance, duration: end.saturating_sub(start), start, end, arrivals, max_loads: Vec::new(), breaks }, late)
}
