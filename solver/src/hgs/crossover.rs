//! Selective route exchange (SREX; Nagata & Kobayashi 2010), which suits time windows: take a
//! band of neighbouring routes from the second parent in place of an overlapping band of the
//! first, then reinsert the clients this leaves out by cheapest insertion. Two offspring are
//! built (duplicates removed from the incoming routes, or from the kept ones) and the cheaper is
//! left in the search state.
//!
//! Offspring are built on the first parent's own vehicle slots, after marking it as tested: the
//! parent is a local optimum, so the education that follows only re-examines the routes the
//! exchange changed.

use super::individual::Individual;
use crate::engine::construct;
use crate::engine::neighbours::Neighbours;
use crate::engine::rng::Rng;
use crate::engine::state::{State, UNROUTED};
use crate::model::Problem;

/// Indices of the non-empty routes of `routes`, ordered by the polar angle of their centroid
/// around their start depot, so that neighbouring positions are neighbouring routes.
fn by_angle(p: &Problem, routes: &[(usize, Vec<u32>)]) -> Vec<usize> {
    let mut keyed: Vec<(f64, usize)> = routes
        .iter()
        .enumerate()
        .filter(|(_, (_, v))| !v.is_empty())
        .map(|(k, (vt, v))| {
            let angle = if p.locations.is_empty() {
                k as f64
            } else {
                let depot = p.locations[p.depots[p.vehicle_types[*vt].start_depot].location];
                let (mut x, mut y) = (0.0, 0.0);
                for &c in v.iter().filter(|&&c| (c as usize) < p.num_clients()) {
                    let l = p.locations[p.clients[c as usize].location];
                    x += l.x;
                    y += l.y;
                }
                let n = v.len() as f64;
                (y / n - depot.y).atan2(x / n - depot.x)
            };
            (angle, k)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().map(|(_, k)| k).collect()
}

/// Builds an offspring of `a` and `b` into `state` (which is overwritten) and returns its
/// penalised cost.
pub fn srex<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, a: &Individual, b: &Individual, rng: &mut Rng) -> i64 {
    let p = state.problem;
    let slots_a = by_angle(p, &a.routes);
    let routes_b = by_angle(p, &b.routes);
    if slots_a.is_empty() || routes_b.is_empty() {
        begin(state, a);
        return state.penalised_cost();
    }
    let moved = 1 + rng.below(slots_a.len().min(routes_b.len()));
    let (start_a, start_b) = (rng.below(slots_a.len()), rng.below(routes_b.len()));
    let sel_a: Vec<usize> = (0..moved).map(|k| slots_a[(start_a + k) % slots_a.len()]).collect();
    let sel_b: Vec<usize> = (0..moved).map(|k| routes_b[(start_b + k) % routes_b.len()]).collect();

    let n = p.num_clients();
    // Reload nodes (numbered from `n`) follow their clients: they are never in a band.
    let mut in_b_band = vec![false; n + p.depots.len()];
    for &k in &sel_b {
        for &c in b.routes[k].1.iter().filter(|&&c| (c as usize) < n) {
            in_b_band[c as usize] = true;
        }
    }
    let mut in_kept = vec![false; n + p.depots.len()];
    for (slot, (_, v)) in a.routes.iter().enumerate() {
        if !sel_a.contains(&slot) {
            for &c in v.iter().filter(|&&c| (c as usize) < n) {
                in_kept[c as usize] = true;
            }
        }
    }

    // Offspring 1: incoming routes lose the clients the kept routes already serve.
    begin(state, a);
    for &s in &sel_a {
        state.set_route(s, Vec::new());
    }
    for &k in &sel_b {
        let (vt, v) = &b.routes[k];
        place(state, *vt, v.iter().copied().filter(|&c| !in_kept[c as usize]).collect());
    }
    let cost_one = repair_missing(state, nb, rng);
    let one = state.snapshot();

    // Offspring 2: kept routes lose the clients the incoming routes bring.
    begin(state, a);
    for &s in &sel_a {
        state.set_route(s, Vec::new());
    }
    for slot in 0..a.routes.len() {
        let v = &a.routes[slot].1;
        if !sel_a.contains(&slot) && v.iter().any(|&c| in_b_band[c as usize]) {
            state.set_route(slot, v.iter().copied().filter(|&c| !in_b_band[c as usize]).collect());
        }
    }
    for &k in &sel_b {
        let (vt, v) = &b.routes[k];
        place(state, *vt, v.clone());
    }
    let cost_two = repair_missing(state, nb, rng);
    if cost_one < cost_two {
        state.restore(&one);
        cost_one
    } else {
        cost_two
    }
}

/// Loads parent `a` and marks it as a local optimum.
fn begin<const D: usize, const T: usize>(state: &mut State<D, T>, a: &Individual) {
    state.restore(&a.routes);
    state.mark_all_tested();
}

/// Puts `visits` into an empty route of type `vt`; without one, the clients stay unrouted (and
/// are reinserted).
fn place<const D: usize, const T: usize>(state: &mut State<D, T>, vt: usize, visits: Vec<u32>) {
    if visits.is_empty() {
        return;
    }
    if let Some(r) = state.empty_route(vt) {
        // Clients may still sit in a route of the kept part (offspring 2 removed them already,
        // offspring 1 filtered them out), so they are free here.
        state.set_route(r, visits);
    }
}

/// Inserts every unrouted client (and pair) at its cheapest place; returns the penalised cost.
fn repair_missing<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, rng: &mut Rng) -> i64 {
    if state.features.pairs {
        // Both exchanges keep whole pairs of whole parents together, but a child must never
        // hold a broken one: reinsert any.
        crate::engine::pairs::unroute_broken(state);
    }
    if state.problem.has_groups() {
        // Each parent serves a group once, maybe at different clients: keep one.
        state.drop_group_doubles();
    }
    let mut missing: Vec<usize> = (0..state.problem.num_clients()).filter(|&c| state.pos[c].0 == UNROUTED).collect();
    rng.shuffle(&mut missing);
    construct::insert_all(state, nb, &missing, false);
    state.penalised_cost()
}
