//! Stop-by-stop simulation of one route: loads, skills, backhaul order, distance and the
//! schedule, with the start delayed as far as the route allows.
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
            let mut load = trip.visits.iter().fold(0i64, |acc, &c| acc.saturating_add(amount(&problem.clients[c].delivery, d)));
            let mut max_load = load;
            for &c in &trip.visits {
                let client = &problem.clients[c];
                load = load.saturating_add(amount(&client.pickup, d)).saturating_sub(amount(&client.delivery, d));
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

/// Simulates travel and time: distance, the earliest schedule, time violations, then the
/// latest start that keeps the same end (Savelsbergh's forward time slack).
fn simulate_travel(problem: &Problem, r: usize, route: &Route, out: &mut Vec<Violation>) -> RouteReport {
    let t = route.vehicle_type;
    let vt = &problem.vehicle_types[t];
    let start_depot = &problem.depots[vt.start_depot];
    let end_depot = &problem.depots[vt.end_depot];
    let release = |visits: &[usize]| visits.iter().map(|&c| problem.clients[c].release_time).max().unwrap_or(0);

    let mut distance = 0i64;
    // Whether the schedule breaks a time rule; the start is then not delayed.
    let mut late = false;
    // Total waiting so far: time between arrival and service start at clients, and between
    // being ready and leaving at reload depots.
    let mut waiting = 0i64;
    // Forward time slack: how far the departure may be delayed without any stop becoming late.
    // Each stop i bounds it by (waiting up to i) + (its latest time - its time).
    let mut slack = i64::MAX;
    // Per trip per visit: (earliest service start, waiting up to and including this visit).
    let mut schedule: Vec<Vec<(i64, i64)>> = Vec::with_capacity(route.trips.len());

    let earliest = vt.shift.early.max(start_depot.time_window.early);
    let first_release = route.trips.first().map_or(0, |trip| release(&trip.visits));
    let s0 = earliest.max(first_release);
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
            let arrival = time.saturating_add(problem.duration(t, at, depot.location));
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
        for &c in &trip.visits {
            let client = &problem.clients[c];
            distance = distance.saturating_add(problem.distance(t, at, client.location));
            let arrival = time.saturating_add(problem.duration(t, at, client.location));
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
    let end = time.saturating_add(problem.duration(t, at, end_depot.location));
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
    let delay = if late { 0 } else { waiting.min(slack).min(start_depot.time_window.late.saturating_sub(s0)).max(0) };
    let arrivals = schedule
        .into_iter()
        .map(|trip| trip.into_iter().map(|(service, waited)| service.saturating_add(delay.saturating_sub(waited).max(0))).collect())
        .collect();
    let start = s0.saturating_add(delay);
    RouteReport { distance, duration: end.saturating_sub(start), start, end, arrivals, max_loads: Vec::new() }
}
