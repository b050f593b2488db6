//! SWAP* (Vidal 2022, "Hybrid genetic search for the CVRP: open-source implementation and SWAP*
//! neighborhood"): exchange a client `u` of one route with a client `v` of another, each going
//! to its best position in the other route rather than into the other's place. Distance-based
//! estimates with the three best insertion positions per client pick the candidate; the best
//! candidate is then evaluated exactly (penalties included) with route segments.
//!
//! Only pairs of routes whose polar sectors around the depot overlap are tried, and only when
//! one of them changed since the pair was last tried.

use crate::engine::state::{Part, State};
use crate::engine::three::keep_three;
use Part::*;

/// The polar sector of a route around its start depot: centre angle and half-width (radians).
#[derive(Clone, Copy, Debug)]
struct Sector {
    centre: f64,
    half_width: f64,
}

fn angle_diff(a: f64, b: f64) -> f64 {
    let mut d = (a - b).abs() % std::f64::consts::TAU;
    if d > std::f64::consts::PI {
        d = std::f64::consts::TAU - d;
    }
    d
}

fn sector<const D: usize, const T: usize>(state: &State<D, T>, r: usize) -> Option<Sector> {
    let p = state.problem;
    let route = &state.routes[r];
    if route.visits.is_empty() || p.locations.is_empty() {
        return None;
    }
    let depot = p.locations[p.depots[p.vehicle_types[route.vt].start_depot].location];
    let angles: Vec<f64> = route
        .visits
        .iter()
        .map(|&c| {
            let l = p.locations[p.clients[c as usize].location];
            (l.y - depot.y).atan2(l.x - depot.x)
        })
        .collect();
    let (sx, sy) = angles.iter().fold((0.0, 0.0), |(x, y), a| (x + a.cos(), y + a.sin()));
    let centre = sy.atan2(sx);
    let half_width = angles.iter().map(|&a| angle_diff(a, centre)).fold(0.0, f64::max);
    Some(Sector { centre, half_width })
}

/// Insertion position `q` means "after `visits[q - 1]`" (q = 0: at the front), with its cost.
#[derive(Clone, Copy)]
struct Spot {
    cost: i64,
    q: usize,
}

/// The three cheapest insertion spots of location `lc` into route `r` (distance only).
fn top3<const D: usize, const T: usize>(state: &State<D, T>, r: usize, lc: usize) -> [Spot; 3] {
    let p = state.problem;
    let route = &state.routes[r];
    let t = route.vt;
    let vt = &p.vehicle_types[t];
    let start = p.depots[vt.start_depot].location;
    let end = p.depots[vt.end_depot].location;
    let mut best = [Spot { cost: i64::MAX, q: usize::MAX }; 3];
    let n = route.visits.len();
    for q in 0..=n {
        let a = if q == 0 { start } else { p.clients[route.visits[q - 1] as usize].location };
        let b = if q == n { end } else { p.clients[route.visits[q] as usize].location };
        let cost = p.distance(t, a, lc) + p.distance(t, lc, b) - p.distance(t, a, b);
        keep_three(&mut best, Spot { cost, q }, |s| s.cost);
    }
    best
}

/// Parts of route `r` without position `i` and with client `c` inserted at spot `q`.
fn parts_with(r: usize, i: usize, c: usize, q: usize) -> [Part; 4] {
    if q <= i {
        [Pre(r, q), Client(c), Range(r, q, i), Suf(r, i + 1)]
    } else {
        [Pre(r, i), Range(r, i + 1, q), Client(c), Suf(r, q)]
    }
}

/// Tries SWAP* between routes `r1` and `r2`; applies the best candidate if it improves.
fn try_routes<const D: usize, const T: usize>(state: &mut State<D, T>, r1: usize, r2: usize) -> bool {
    let p = state.problem;
    let (t1, t2) = (state.routes[r1].vt, state.routes[r2].vt);
    let v1 = state.routes[r1].visits.clone();
    let v2 = state.routes[r2].visits.clone();
    let loc = |c: u32| p.clients[c as usize].location;
    let removal = |t: usize, visits: &[u32], i: usize| {
        let vt = &p.vehicle_types[t];
        let a = if i == 0 { p.depots[vt.start_depot].location } else { loc(visits[i - 1]) };
        let b = if i + 1 == visits.len() { p.depots[vt.end_depot].location } else { loc(visits[i + 1]) };
        p.distance(t, a, b) - p.distance(t, a, loc(visits[i])) - p.distance(t, loc(visits[i]), b)
    };
    let top_u: Vec<[Spot; 3]> = v1.iter().map(|&u| top3(state, r2, loc(u))).collect();
    let top_v: Vec<[Spot; 3]> = v2.iter().map(|&v| top3(state, r1, loc(v))).collect();
    let rem_u: Vec<i64> = (0..v1.len()).map(|i| removal(t1, &v1, i)).collect();
    let rem_v: Vec<i64> = (0..v2.len()).map(|j| removal(t2, &v2, j)).collect();

    // Best insertion of a client into a route from which the client at position `k` leaves:
    // one of its top three spots not next to `k`, or `k`'s own place.
    let best_into = |t: usize, visits: &[u32], top: &[Spot; 3], c: u32, k: usize| -> (i64, usize) {
        let vt = &p.vehicle_types[t];
        let a = if k == 0 { p.depots[vt.start_depot].location } else { loc(visits[k - 1]) };
        let b = if k + 1 == visits.len() { p.depots[vt.end_depot].location } else { loc(visits[k + 1]) };
        // In `k`'s place: the spot q = k once `k` is gone.
        let mut best = (p.distance(t, a, loc(c)) + p.distance(t, loc(c), b) - p.distance(t, a, b), k);
        for s in top {
            if s.q != usize::MAX && s.q != k && s.q != k + 1 && s.cost < best.0 {
                best = (s.cost, s.q);
            }
        }
        best
    };

    let mut cand: Option<(i64, usize, usize, usize, usize)> = None;
    for (i, &u) in v1.iter().enumerate() {
        if !state.can_serve(t2, u as usize) {
            continue;
        }
        for (j, &v) in v2.iter().enumerate() {
            if !state.can_serve(t1, v as usize) {
                continue;
            }
            let (ins_u, qu) = best_into(t2, &v2, &top_u[i], u, j);
            let (ins_v, qv) = best_into(t1, &v1, &top_v[j], v, i);
            let delta = rem_u[i] + rem_v[j] + ins_u + ins_v;
            if cand.is_none_or(|c| delta < c.0) {
                cand = Some((delta, i, j, qu, qv));
            }
        }
    }
    let Some((delta, i, j, qu, qv)) = cand else { return false };
    let unit = p.vehicle_types[t1].unit_distance_cost.max(p.vehicle_types[t2].unit_distance_cost);
    let has_penalty = !state.routes[r1].eval.is_feasible() || !state.routes[r2].eval.is_feasible();
    if delta * unit >= 0 && !has_penalty {
        return false;
    }
    let (u, v) = (v1[i] as usize, v2[j] as usize);
    let new1 = parts_with(r1, i, v, qv);
    let new2 = parts_with(r2, j, u, qu);
    let change = state.cost_of(t1, &new1) + state.cost_of(t2, &new2) - state.route_cost(r1) - state.route_cost(r2);
    if change < 0 {
        state.apply(&[(r1, &new1), (r2, &new2)]);
        true
    } else {
        false
    }
}

/// Runs SWAP* over every pair of overlapping routes of which one changed since the pair was
/// last tried (tracked in `State::swap_star_tested`). Returns whether a move was applied.
pub fn run<const D: usize, const T: usize>(state: &mut State<D, T>) -> bool {
    let mut tested_at = std::mem::take(&mut state.swap_star_tested);
    tested_at.resize(state.routes.len(), 0);
    // Routes a move changes during this pass get a later step, so the next pass retries them.
    let started = state.step;
    let used: Vec<usize> = (0..state.routes.len()).filter(|&r| !state.routes[r].visits.is_empty()).collect();
    let sectors: Vec<Option<Sector>> = (0..state.routes.len()).map(|r| if state.routes[r].visits.is_empty() { None } else { sector(state, r) }).collect();
    let mut improved = false;
    for (a, &r1) in used.iter().enumerate() {
        for &r2 in &used[a + 1..] {
            let fresh = state.routes[r1].modified_at > tested_at[r1] || state.routes[r2].modified_at > tested_at[r2];
            if !fresh || state.routes[r1].visits.is_empty() || state.routes[r2].visits.is_empty() {
                continue;
            }
            let overlap = match (sectors[r1], sectors[r2]) {
                (Some(s1), Some(s2)) => angle_diff(s1.centre, s2.centre) <= s1.half_width + s2.half_width + 1e-9,
                _ => true,
            };
            if overlap && try_routes(state, r1, r2) {
                improved = true;
            }
        }
    }
    for t in tested_at.iter_mut() {
        *t = started;
    }
    state.swap_star_tested = tested_at;
    improved
}
