//! Cheapest insertion: where a client costs least to add, looking next to its granular
//! neighbours and into one empty route per vehicle type. Used to build first solutions and to
//! recreate after a ruin.

use super::neighbours::Neighbours;
use super::rng::Rng;
use super::state::{Part, State, UNROUTED};
use Part::*;

/// The cheapest insertion of client `c`: `(penalised cost increase, route, position)`.
///
/// Looks before and after each routed neighbour, and into the first empty route of each vehicle
/// type that serves `c`; only when none of these exists does it scan every position of every
/// route.
pub fn best_insertion<const D: usize>(state: &mut State<D>, nb: &Neighbours, c: usize) -> Option<(i64, usize, usize)> {
    let mut best: Option<(i64, usize, usize)> = None;
    let consider = |state: &State<D>, r: usize, p: usize, best: &mut Option<(i64, usize, usize)>| {
        let vt = state.routes[r].vt;
        let delta = state.cost_of(vt, &[Pre(r, p), Client(c), Suf(r, p)]) - state.route_cost(r);
        if best.is_none_or(|b| delta < b.0) {
            *best = Some((delta, r, p));
        }
    };
    for &v in nb.of(c) {
        let (r, j) = state.pos[v as usize];
        if r == UNROUTED || !state.can_serve(state.routes[r as usize].vt, c) {
            continue;
        }
        consider(state, r as usize, j as usize, &mut best);
        consider(state, r as usize, j as usize + 1, &mut best);
    }
    for t in 0..state.problem.vehicle_types.len() {
        if state.can_serve(t, c) {
            if let Some(r) = state.empty_route(t) {
                consider(state, r, 0, &mut best);
            }
        }
    }
    if best.is_none() {
        for r in 0..state.routes.len() {
            if state.can_serve(state.routes[r].vt, c) {
                for p in 0..=state.routes[r].visits.len() {
                    consider(state, r, p, &mut best);
                }
            }
        }
    }
    best
}

/// Inserts `clients` one by one at their cheapest positions. Optional clients are inserted only
/// where their prize pays for the detour.
pub fn insert_all<const D: usize>(state: &mut State<D>, nb: &Neighbours, clients: &[usize]) {
    for &c in clients {
        if state.pos[c].0 != UNROUTED {
            continue;
        }
        if let Some((delta, r, p)) = best_insertion(state, nb, c) {
            let cl = &state.problem.clients[c];
            if cl.required || delta < cl.prize {
                state.apply(&[(r, &[Pre(r, p), Client(c), Suf(r, p)])]);
            }
        }
    }
}

/// A first solution: clients in random order, each at its cheapest position.
pub fn initial<const D: usize>(state: &mut State<D>, nb: &Neighbours, rng: &mut Rng) {
    let mut order: Vec<usize> = (0..state.problem.num_clients()).collect();
    rng.shuffle(&mut order);
    // Required clients first, so that optional ones compete for the remaining room.
    order.sort_by_key(|&c| !state.problem.clients[c].required);
    insert_all(state, nb, &order);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Problem;
    use crate::search::segment::Penalties;
    use crate::test_support::tiny_problem_data;

    #[test]
    fn routes_every_required_client() {
        let p = Problem::new(tiny_problem_data()).unwrap();
        let nb = Neighbours::new(&p, 5);
        let mut s = State::<1>::empty(&p, Penalties { load: 10, time_warp: 10, distance: 10 });
        initial(&mut s, &nb, &mut Rng::new(3));
        assert_eq!(s.missing_required(), 0);
        assert!(s.routes.iter().map(|r| r.visits.len()).sum::<usize>() == 3);
    }
}
