//! Exact schedules for the routes that segments only bound: routes of vehicle types with driver
//! breaks, and routes visiting clients with several time windows.
//!
//! Segments summarise a client's windows by their hull and know nothing of breaks, so the
//! penalised cost they give such a route is a lower bound. The search prunes with that bound and
//! judges the surviving candidates here, by simulating the route stop by stop and placing each
//! break where it costs least (see [`place_breaks`]). This module is written apart from the
//! checker on purpose: the checker verifies what the search decides, so they must not share code.
//!
//! Rules (the checker's too):
//! - The vehicle leaves its start depot as early as its shift, the depot and the first trip's
//!   releases allow; the departure is then delayed as far as possible without moving the return
//!   (Savelsbergh's forward time slack), which gives the route's duration. In rush hours (a
//!   time-dependent profile) the slack does not say how far: a later departure drives at other
//!   speeds. There the latest departure that keeps the return and stays on time comes from a
//!   backward pass through the inverse travel times (confirmed by a forward pass), or, with
//!   breaks, from a bisection over departures; both are exact because a later departure never
//!   arrives anywhere earlier (first in, first out).
//! - A leg takes the travel time of its profile at the moment the vehicle leaves the previous
//!   stop (see `model::congestion`); a break on the leg does not change it.
//! - At a client the service starts in the first window whose latest start has not passed,
//!   waiting for it to open; past every window the route is late.
//! - A break placed on the leg towards node `p` (before the `p`-th node of the route, or before
//!   the return when `p` is the route's length) starts at `b = max(finish, window.early)`, where
//!   `finish` is when the previous stop's service ended: the driver stops on the road or waits at
//!   the next stop, so the next node is reached at `max(finish + travel, b) + duration`. It must
//!   start by `window.late`.
//! - A route needs break `k` of its type when it leaves by the break's latest start and is back
//!   after it (otherwise the driver takes it before or after the route).
//!
//! The search's time warp semantics apply: lateness is counted and time is set back to the
//! latest allowed value, as in the segments.

use crate::model::{Problem, UNLIMITED};

/// Where a break goes: `(position, break index)`, the break being taken on the leg towards the
/// route's node `position` (the return to the end depot when `position` is the route's length).
pub type BreakAt = (usize, usize);

/// The timing of one route.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// Departure from the start depot (after the delay).
    pub start: i64,
    /// Return to the end depot.
    pub end: i64,
    /// `end - start`.
    pub duration: i64,
    /// How far the departure was delayed from the earliest one.
    pub delay: i64,
    /// Total lateness, release lateness and duration above the maximum.
    pub time_warp: i64,
    /// Start of each placed break, in the delayed schedule (same order as the placements).
    pub break_starts: Vec<i64>,
}

/// Simulates route `visits` (client indices, and reload nodes `num_clients + depot`) of vehicle
/// type `t` with breaks at `breaks` (sorted by position, then break index).
pub fn simulate(p: &Problem, t: usize, visits: &[u32], breaks: &[BreakAt]) -> Timing {
    simulate_recording(p, t, visits, breaks, None)
}

/// The start of service at each client of route `visits` (reload nodes excluded) with breaks at
/// `breaks`, in the schedule that leaves at the delayed departure (the checker's arrivals).
pub fn service_starts(p: &Problem, t: usize, visits: &[u32], breaks: &[BreakAt]) -> Vec<i64> {
    let mut record = Vec::with_capacity(visits.len());
    let timing = simulate_recording(p, t, visits, breaks, Some(&mut record));
    // Delaying the departure moves each stop by what the waiting up to it cannot absorb.
    record.into_iter().map(|(service, waited)| service + (timing.delay - waited).max(0)).collect()
}

/// [`simulate`], recording at each client `(earliest start of service, waiting up to and
/// including it)` when asked.
fn simulate_recording(p: &Problem, t: usize, visits: &[u32], breaks: &[BreakAt], record: Option<&mut Vec<(i64, i64)>>) -> Timing {
    if !p.is_time_dependent(t) {
        return simulate_from(p, t, visits, breaks, None, record).0;
    }
    let (first, late) = simulate_from(p, t, visits, breaks, None, None);
    if late {
        // Late routes leave as early as they can: the first pass is the schedule (run again
        // only when its services are asked for).
        return match record {
            Some(r) => simulate_from(p, t, visits, breaks, None, Some(r)).0,
            None => first,
        };
    }
    let s0 = first.start;
    let mut record = record;
    // Without breaks, a backward pass through the inverse travel times gives the latest departure
    // at once; the forward schedule from it confirms it.
    if breaks.is_empty() {
        if let Some(latest) = latest_start(p, t, visits, first.end).filter(|&s| s >= s0) {
            let mut tried = record.as_deref_mut().map(|_| Vec::new());
            let (timing, late) = simulate_from(p, t, visits, breaks, Some(latest), tried.as_mut());
            if !late && timing.end == first.end {
                if let (Some(r), Some(tried)) = (record, tried) {
                    r.extend(tried.into_iter().map(|(service, _)| (service, latest - s0)));
                }
                return Timing { delay: latest - s0, ..timing };
            }
        }
    }
    // The latest departure with the same return and nothing late: both only get worse as the
    // departure moves later, so bisect.
    let depot_late = p.depots[p.vehicle_types[t].start_depot].time_window.late;
    let (mut lo, mut hi) = (0i64, depot_late.saturating_sub(s0).min(first.end.saturating_sub(s0)).max(0));
    while lo < hi {
        let mid = lo + (hi - lo + 1) / 2;
        let (timing, late) = simulate_from(p, t, visits, breaks, Some(s0 + mid), None);
        if !late && timing.end == first.end {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let (timing, _) = simulate_from(p, t, visits, breaks, Some(s0 + lo), record.as_deref_mut());
    // The recorded services are those of the delayed departure already: their waiting is set to
    // the whole delay, so that a caller's shift by `delay - waiting` moves none of them.
    for entry in record.into_iter().flatten() {
        entry.1 = lo;
    }
    Timing { delay: lo, ..timing }
}

/// The latest departure of route `visits` (no breaks) of type `t` that is back by `end` with
/// nothing late: a backward pass that keeps, for each node, the latest arrival the rest of the
/// route allows (the latest service start inside a window, the latest arrival at a reload
/// depot), through [`crate::model::Congestion::latest_departure`]. `None` when no departure is
/// on time.
fn latest_start(p: &Problem, t: usize, visits: &[u32], end: i64) -> Option<i64> {
    let n = p.num_clients();
    let vt = &p.vehicle_types[t];
    let profile = &p.profiles[vt.profile];
    let leave_by = |from: usize, to: usize, by: i64| profile.congestion.latest_departure(by, profile.duration.get(from, to));
    let mut next = p.depots[vt.end_depot].location;
    let mut by = end;
    for &v in visits.iter().rev() {
        let v = v as usize;
        if v < n {
            let c = &p.clients[v];
            let bound = leave_by(c.location, next, by) - c.service_duration;
            // Served in the latest window that opens by then, at the latest by its close.
            by = c.time_windows.iter().rev().find(|w| w.early <= bound).map(|w| w.late.min(bound))?;
            next = c.location;
        } else {
            let d = &p.depots[v - n];
            let departure = leave_by(d.location, next, by).min(d.time_window.late).min(vt.shift.late);
            by = d.time_window.late.min(departure - d.reload_duration);
            next = d.location;
        }
    }
    let start = &p.depots[vt.start_depot];
    Some(leave_by(start.location, next, by).min(start.time_window.late).min(vt.shift.late))
}

/// Simulates the route leaving at `depart`, or as early as allowed when `None` (and then, on a
/// profile without rush hours, delays the departure by the forward time slack); returns the
/// timing and whether some stop, break or return is late.
fn simulate_from(p: &Problem, t: usize, visits: &[u32], breaks: &[BreakAt], depart: Option<i64>, mut record: Option<&mut Vec<(i64, i64)>>) -> (Timing, bool) {
    let n = p.num_clients();
    let vt = &p.vehicle_types[t];
    let start_depot = &p.depots[vt.start_depot];
    let end_depot = &p.depots[vt.end_depot];
    // release[k]: the latest release among the clients of the trip that starts at node k (0 for
    // the first trip).
    let trip_release = |from: usize| visits[from..].iter().take_while(|&&v| (v as usize) < n).map(|&v| p.clients[v as usize].release_time).max().unwrap_or(0);

    let mut warp = 0i64;
    let mut late = false;
    let mut waiting = 0i64;
    let mut slack = i64::MAX;
    // Per break: (end of the previous service in the earliest schedule, waiting up to it, the
    // break's earliest start).
    let mut taken: Vec<(i64, i64, i64)> = Vec::with_capacity(breaks.len());

    let earliest = vt.shift.early.max(start_depot.time_window.early);
    let s0 = depart.unwrap_or_else(|| earliest.max(trip_release(0)));
    let latest_departure = start_depot.time_window.late.min(vt.shift.late);
    let mut time = s0;
    if s0 > latest_departure {
        warp += s0 - latest_departure;
        time = latest_departure;
        late = true;
    }
    let s0 = time;
    let mut at = start_depot.location;
    let mut next_break = 0;

    for pos in 0..=visits.len() {
        let to = match visits.get(pos) {
            None => end_depot.location,
            Some(&v) if (v as usize) < n => p.clients[v as usize].location,
            Some(&v) => p.depots[v as usize - n].location,
        };
        let mut travel = p.travel(t, at, to, time);
        // Breaks on this leg: the driver drives until the break may start, stops, drives on.
        while next_break < breaks.len() && breaks[next_break].0 == pos {
            let brk = &vt.breaks[breaks[next_break].1];
            let mut b = time.max(brk.window.early);
            if b > brk.window.late {
                warp += b - brk.window.late;
                b = brk.window.late;
                time = b;
                late = true;
            }
            // A later departure moves `time` by what the waiting so far cannot absorb; the break
            // starts at `time` or its earliest start, so it keeps to its window while `time` does.
            slack = slack.min(waiting + (brk.window.late - time));
            taken.push((time, waiting, brk.window.early));
            let driven = travel.min((b - time).max(0));
            waiting += (b - time - driven).max(0);
            travel -= driven;
            time = b + brk.duration;
            next_break += 1;
        }
        let arrival = time + travel;
        at = to;
        match visits.get(pos) {
            None => {
                let latest_end = vt.shift.late.min(end_depot.time_window.late);
                time = arrival;
                if arrival > latest_end {
                    warp += arrival - latest_end;
                    time = latest_end;
                    late = true;
                } else {
                    slack = slack.min(waiting + (latest_end - arrival));
                }
            }
            Some(&v) if (v as usize) < n => {
                let client = &p.clients[v as usize];
                let service = match client.time_windows.iter().find(|w| w.late >= arrival) {
                    Some(w) => {
                        let service = arrival.max(w.early);
                        waiting += service - arrival;
                        slack = slack.min(waiting + (w.late - service));
                        service
                    }
                    None => {
                        let last = client.late();
                        warp += arrival - last;
                        late = true;
                        last
                    }
                };
                if let Some(r) = record.as_deref_mut() {
                    r.push((service, waiting));
                }
                time = service + client.service_duration;
            }
            Some(&v) => {
                let depot = &p.depots[v as usize - n];
                let mut arrival = arrival;
                if arrival > depot.time_window.late {
                    warp += arrival - depot.time_window.late;
                    arrival = depot.time_window.late;
                    late = true;
                } else {
                    slack = slack.min(waiting + (depot.time_window.late - arrival));
                }
                let ready = arrival + depot.reload_duration;
                let mut departure = ready.max(depot.time_window.early).max(trip_release(pos + 1));
                let latest = depot.time_window.late.min(vt.shift.late);
                if departure > latest {
                    warp += departure - latest;
                    departure = latest.max(ready);
                    late = true;
                }
                waiting += departure - ready;
                time = departure;
            }
        }
    }
    let end = time;
    let fixed = depart.is_some() || p.is_time_dependent(t);
    let delay = if late || fixed { 0 } else { waiting.min(slack).min(start_depot.time_window.late - s0).max(0) };
    let start = s0 + delay;
    let duration = end - start;
    let max_duration = if vt.max_duration >= UNLIMITED { i64::MAX } else { vt.max_duration };
    let timing = Timing {
        start,
        end,
        duration,
        delay,
        // Time warp can set the clock back below the departure: saturate, never overflow.
        time_warp: warp + duration.saturating_sub(max_duration).max(0),
        break_starts: taken.iter().map(|&(time, waited, early)| (time + (delay - waited).max(0)).max(early)).collect(),
    };
    (timing, late)
}

/// Whether a route leaving at `start` and back at `end` needs break `k` of type `t`.
pub fn needs_break(p: &Problem, t: usize, k: usize, start: i64, end: i64) -> bool {
    let late = p.vehicle_types[t].breaks[k].window.late;
    start <= late && end > late
}

/// Places the breaks route `visits` needs, each at the leg where the route's timing is best
/// (least time warp, then shortest), one break at a time in the order of the type's list; returns
/// the placements and the timing with them.
pub fn place_breaks(p: &Problem, t: usize, visits: &[u32]) -> (Vec<BreakAt>, Timing) {
    let mut placed: Vec<BreakAt> = Vec::new();
    let mut timing = simulate(p, t, visits, &placed);
    let count = p.vehicle_types[t].breaks.len();
    if visits.is_empty() || count == 0 {
        return (placed, timing);
    }
    let mut done = vec![false; count];
    // A placed break lengthens the route, so a later break may become needed: look again after
    // each placement.
    while let Some(k) = (0..count).find(|&k| !done[k] && needs_break(p, t, k, timing.start, timing.end)) {
        done[k] = true;
        let mut best: Option<(i64, i64, Vec<BreakAt>, Timing)> = None;
        for pos in 0..=visits.len() {
            let mut candidate = placed.clone();
            let at = candidate.partition_point(|&(q, j)| (q, j) < (pos, k));
            candidate.insert(at, (pos, k));
            let timing = simulate(p, t, visits, &candidate);
            let key = (timing.time_warp, timing.duration);
            if best.as_ref().is_none_or(|b| key < (b.0, b.1)) {
                best = Some((key.0, key.1, candidate, timing));
            }
        }
        let (_, _, candidate, t2) = best.expect("a route has at least one leg");
        placed = candidate;
        timing = t2;
    }
    (placed, timing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Break, TimeWindow};
    use crate::test_support::tiny_problem_data;

    fn with_break(early: i64, late: i64) -> Problem {
        let mut d = tiny_problem_data();
        d.vehicle_types[0].breaks = vec![Break { window: TimeWindow::new(early, late), duration: 3 }];
        Problem::new(d).unwrap()
    }

    #[test]
    fn times_a_route_like_the_checker() {
        // The cases of the checker's break tests (`check::tests_breaks`).
        let p = with_break(8, 9);
        let t = simulate(&p, 0, &[0, 1], &[(1, 0)]);
        assert_eq!((t.start, t.end, t.duration, t.time_warp, t.break_starts), (0, 25, 25, 0, vec![8]));
        let t = simulate(&p, 0, &[0, 1], &[(0, 0)]);
        assert_eq!((t.start, t.end, t.break_starts), (3, 28, vec![8]));
        // Too late on the way back: 3 of warp.
        assert_eq!(simulate(&p, 0, &[0, 1], &[(2, 0)]).time_warp, 3);
    }

    #[test]
    fn places_a_break_only_where_the_route_needs_one() {
        let p = with_break(8, 9);
        let (placed, t) = place_breaks(&p, 0, &[0, 1]);
        assert_eq!(placed.len(), 1);
        assert_eq!((t.time_warp, t.duration), (0, 25));
        // [c2] is back at 11, before a latest start of 12.
        let p = with_break(8, 12);
        assert!(place_breaks(&p, 0, &[2]).0.is_empty());
        assert_eq!(place_breaks(&p, 0, &[0, 1]).0.len(), 1);
    }

    #[test]
    fn a_break_fills_waiting_time_when_it_can() {
        // c0 closes at 6 and c1 opens at 20: the route waits at c1 anyway, so a break from 12
        // to 15 on the way costs nothing.
        let mut d = tiny_problem_data();
        d.clients[0].time_windows = vec![TimeWindow::new(0, 6)];
        d.clients[1].time_windows = vec![TimeWindow::new(20, 30)];
        d.vehicle_types[0].breaks = vec![Break { window: TimeWindow::new(12, 16), duration: 3 }];
        let p = Problem::new(d).unwrap();
        let without = simulate(&p, 0, &[0, 1], &[]);
        let (placed, with) = place_breaks(&p, 0, &[0, 1]);
        assert_eq!(placed, vec![(1, 0)]);
        assert_eq!((with.duration, with.time_warp), (without.duration, 0));
    }

    #[test]
    fn times_a_route_in_rush_hours_like_the_checker() {
        // The checker's case (`check::tests`): half speed from 0 to 10, c0 opening at 20.
        let mut d = tiny_problem_data();
        d.profiles[0].congestion = crate::model::Congestion::new(vec![crate::model::SpeedBand { from: 0, to: 10, speed_percent: 50 }]).unwrap();
        d.clients[0].time_windows = vec![TimeWindow::new(20, 100)];
        let p = Problem::new(d).unwrap();
        let t = simulate(&p, 0, &[0, 1], &[]);
        assert_eq!((t.start, t.end, t.duration, t.delay, t.time_warp), (15, 37, 22, 15, 0));
        assert_eq!(service_starts(&p, 0, &[0, 1], &[]), vec![20, 26]);
        assert_eq!((simulate(&p, 0, &[2], &[]).start, simulate(&p, 0, &[2], &[]).end), (0, 16));
    }

    #[test]
    fn serves_the_second_window_when_the_first_has_passed() {
        let mut d = tiny_problem_data();
        d.clients[1].time_windows = vec![TimeWindow::new(0, 8), TimeWindow::new(20, 30)];
        let p = Problem::new(d).unwrap();
        let t = simulate(&p, 0, &[0, 1], &[]);
        // Leaves at 9, c0 at 14, c1 at 20, back at 31.
        assert_eq!((t.start, t.end, t.time_warp), (9, 31, 0));
        // The other way round c1 is reached at 10, also in its second window.
        assert_eq!(simulate(&p, 0, &[1, 0], &[]).time_warp, 0);
    }
}
