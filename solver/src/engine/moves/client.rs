//! Moves of one client ([`super::Scope::Unrouted`] and [`super::Scope::Client`]): optional
//! clients in and out, a client into an empty vehicle, a pair to its best positions.

use super::improve;
use crate::engine::neighbours::Neighbours;
use crate::engine::state::{Part, State, UNROUTED};
use crate::engine::{construct, pairs};
use Part::*;

/// Inserts unrouted client `u`, if optional, where its prize pays for the detour (a pair as a
/// unit, for both prizes); a client of a group may take its group's routed client's place (tried
/// only when a route near it changed since step `last`).
pub fn insert_optional<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, u: usize, last: u64) -> bool {
    debug_assert_eq!(state.pos[u].0, UNROUTED);
    if state.problem.clients[u].required {
        return false;
    }
    if state.problem.group_of(u).is_some() {
        return insert_group_client(state, nb, u, last);
    }
    if let Some(role) = state.problem.pair_role(u) {
        let prize = pairs::prize(state.problem, &state.problem.pairs[role.pair]);
        return pairs::insert(state, nb, role.pair, |_, delta, _| delta < prize);
    }
    match construct::best_insertion(state, nb, u) {
        Some(ins) if ins.0 < state.problem.clients[u].prize => {
            construct::apply_insertion(state, u, ins);
            true
        }
        _ => false,
    }
}

/// Unrouted client `u` of a group: it takes the place of the group's routed client `w` when that
/// improves (at `w`'s position, or at its own best position in another route with `w` left out),
/// or goes in at its best position when no client of its group is routed and the group is
/// required or its prize pays.
fn insert_group_client<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, u: usize, last: u64) -> bool {
    let changed = |r: u32| r != UNROUTED && state.routes[r as usize].modified_at > last;
    let Some(w) = state.group_rival(u) else {
        return match construct::best_insertion(state, nb, u) {
            Some(ins) if state.must_route(u) || ins.0 < state.problem.clients[u].prize => {
                construct::apply_insertion(state, u, ins);
                true
            }
            _ => false,
        };
    };
    // Nothing near `u` or its rival changed since it was last tried: nothing new to find.
    if !changed(state.pos[w].0) && !nb.of(u).iter().any(|&v| changed(state.pos[v as usize].0)) {
        return false;
    }
    let (r, i) = (state.pos[w].0 as usize, state.pos[w].1 as usize);
    let prizes = state.problem.clients[u].prize - state.problem.clients[w].prize;
    let vt = state.routes[r].vt;
    // In `w`'s place.
    if state.can_serve(vt, u) {
        let parts = [Pre(r, i), Client(u), Suf(r, i + 1)];
        let delta = state.cost_of(vt, &parts) - state.route_cost(r) - prizes;
        if delta < 0 && state.exact_cost_of(vt, &parts) - state.route_cost(r) - prizes < 0 && state.apply_judged(&[(r, &parts)]) {
            return true;
        }
    }
    // Elsewhere, with `w` out of its route.
    let Some(ins) = construct::best_insertion(state, nb, u) else { return false };
    if ins.1 == r {
        return false;
    }
    let out = [Pre(r, i), Suf(r, i + 1)];
    let saving = state.route_cost(r) - state.exact_cost_of(vt, &out);
    if ins.0 - saving - prizes < 0 {
        state.apply(&[(r, &out)]);
        construct::apply_insertion(state, u, ins);
        return true;
    }
    false
}

/// Moves routed client `u` alone into an empty route of a type that serves it, if that
/// improves; tried only when `u`'s route changed since step `last`.
pub fn empty_route<const D: usize, const T: usize>(state: &mut State<D, T>, u: usize, last: u64) -> bool {
    if state.pos[u].0 == UNROUTED || state.routes[state.pos[u].0 as usize].modified_at <= last {
        return false;
    }
    let (r1, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
    // A client of a pair moves with its partner (`relocate_pair`).
    if state.routes[r1].visits.len() == 1 || state.problem.pair_role(u).is_some() {
        return false;
    }
    for t in 0..state.problem.vehicle_types.len() {
        if !state.can_serve(t, u) {
            continue;
        }
        if let Some(r) = state.empty_route(t) {
            if improve(state, &[(r1, &[Pre(r1, i), Suf(r1, i + 1)]), (r, &[Client(u)])]) {
                return true;
            }
        }
    }
    false
}

/// Moves the pair whose pickup is routed client `u` to its best positions (see
/// [`pairs::try_relocate_pair`]).
pub fn relocate_pair<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, u: usize, last: u64) -> bool {
    match state.problem.pair_role(u).filter(|r| r.is_pickup && state.pos[u].0 != UNROUTED) {
        Some(role) => pairs::try_relocate_pair(state, nb, role.pair, last),
        None => false,
    }
}

/// Leaves out routed client `u`, if optional, when its prize does not pay for its detour (a
/// pair as a unit).
pub fn remove_optional<const D: usize, const T: usize>(state: &mut State<D, T>, u: usize) -> bool {
    if state.pos[u].0 == UNROUTED || state.problem.clients[u].required {
        return false;
    }
    if let Some(role) = state.problem.pair_role(u) {
        return pairs::try_remove_optional(state, role.pair);
    }
    if state.must_route_alone(u) {
        return false;
    }
    let (r, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
    let parts = [Pre(r, i), Suf(r, i + 1)];
    let delta = state.exact_cost_of(state.routes[r].vt, &parts) - state.route_cost(r) + state.problem.clients[u].prize;
    delta < 0 && state.apply_judged(&[(r, &parts)])
}
