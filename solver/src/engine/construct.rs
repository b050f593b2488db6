//! Cheapest insertion: where a client costs least to add, looking next to its granular
//! neighbours and into one empty route per vehicle type. Used to build first solutions and to
//! recreate after a ruin.

use super::neighbours::Neighbours;
use super::rng::Rng;
use super::state::{Part, State, UNROUTED};
use Part::*;

/// Where to insert a client: `(penalised cost increase, route, position, reload)`, where
/// `reload` is a reload node to insert with the client (`Some((node, true))`: just before it,
/// `Some((node, false))`: just after it).
pub type Insertion = (i64, usize, usize, Option<(u32, bool)>);

/// The parts of route `r` with client `c` inserted at position `p` (and a reload, as in
/// [`Insertion`]); the second value is how many parts are used.
pub fn inserted_parts(r: usize, p: usize, c: usize, reload: Option<(u32, bool)>) -> ([Part; 4], usize) {
    match reload {
        None => ([Pre(r, p), Client(c), Suf(r, p), Suf(r, usize::MAX)], 3),
        Some((node, true)) => ([Pre(r, p), Client(node as usize), Client(c), Suf(r, p)], 4),
        Some((node, false)) => ([Pre(r, p), Client(c), Client(node as usize), Suf(r, p)], 4),
    }
}

/// The cheapest insertion of client `c`.
///
/// Looks before and after each routed neighbour, and into the first empty route of each vehicle
/// type that serves `c`; only when none of these exists does it scan every position of every
/// route. In routes that may reload it also tries starting a new trip at `c` or ending one
/// with it.
pub fn best_insertion<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, c: usize) -> Option<Insertion> {
    let mut best: Option<Insertion> = None;
    let consider = |state: &State<D, T>, r: usize, p: usize, best: &mut Option<Insertion>| {
        let vt = state.routes[r].vt;
        let now = state.route_cost(r);
        // Segments bound the cost from below; the exact schedule decides (see `schedule`).
        let beats = |state: &State<D, T>, parts: &[Part], best: &Option<Insertion>| {
            let delta = state.cost_of(vt, parts) - now;
            if best.is_some_and(|b| delta >= b.0) {
                return None;
            }
            let delta = state.confirm_cost(vt, parts, delta + now) - now;
            best.is_none_or(|b| delta < b.0).then_some(delta)
        };
        if let Some(delta) = beats(state, &[Pre(r, p), Client(c), Suf(r, p)], best) {
            *best = Some((delta, r, p, None));
        }
        let t = &state.problem.vehicle_types[vt];
        if t.max_trips > 1 && !state.routes[r].visits.is_empty() {
            for &d in &t.reload_depots {
                let node = state.reload_node(d);
                for before in [true, false] {
                    let (parts, k) = inserted_parts(r, p, c, Some((node, before)));
                    // A new trip must not start or end inside a pair's trip.
                    if state.features.pairs && !super::pairs::changes_keep_pairs(state, &[(r, &parts[..k])]) {
                        continue;
                    }
                    if let Some(delta) = beats(state, &parts[..k], best) {
                        *best = Some((delta, r, p, Some((node, before))));
                    }
                }
            }
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
/// where their prize pays for the detour, or, when `open_routes`, where they open a route. A
/// client of a pair is inserted with its partner.
pub fn insert_all<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, clients: &[usize], open_routes: bool) {
    for &c in clients {
        if state.pos[c].0 != UNROUTED {
            continue;
        }
        if let Some(role) = state.problem.pair_role(c) {
            let pair = &state.problem.pairs[role.pair];
            let (required, prize) = (state.problem.clients[c].required, super::pairs::prize(state.problem, pair));
            if state.pos[pair.pickup].0 == UNROUTED && state.pos[pair.delivery].0 == UNROUTED {
                super::pairs::insert(state, nb, role.pair, |s, delta, r| required || delta < prize || (open_routes && s.routes[r].visits.is_empty()));
            }
            continue;
        }
        if !state.may_route(c) {
            continue;
        }
        if let Some(g) = state.problem.group_of(c).filter(|_| state.must_route(c)) {
            // A required group that is not served yet: its client that goes in cheapest.
            let best = state.problem.groups[g].clients.iter().filter_map(|&m| best_insertion(state, nb, m).map(|ins| (m, ins))).min_by_key(|(_, ins)| ins.0);
            if let Some((m, ins)) = best {
                apply_insertion(state, m, ins);
            }
            continue;
        }
        if let Some(ins) = best_insertion(state, nb, c) {
            let cl = &state.problem.clients[c];
            if state.must_route(c) || ins.0 < cl.prize || (open_routes && state.routes[ins.1].visits.is_empty()) {
                apply_insertion(state, c, ins);
            }
        }
    }
}

/// Applies an insertion found by [`best_insertion`] of client `c`.
pub fn apply_insertion<const D: usize, const T: usize>(state: &mut State<D, T>, c: usize, (_, r, p, reload): Insertion) {
    let (parts, k) = inserted_parts(r, p, c, reload);
    state.apply(&[(r, &parts[..k])]);
}

/// A first solution: clients in random order, each at its cheapest position.
pub fn initial<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, rng: &mut Rng) {
    let mut order: Vec<usize> = (0..state.problem.num_clients()).collect();
    rng.shuffle(&mut order);
    // Required clients first, so that optional ones compete for the remaining room. An
    // optional client may open a route although its prize alone rarely pays for one: a route
    // of several often pays, and the local search drops the clients whose prize does not.
    order.sort_by_key(|&c| !state.must_route(c));
    insert_all(state, nb, &order, true);
}

/// A first solution from a given one (a warm start, or the plan being replanned): its routes are
/// put into vehicles of their types, and the clients it leaves out are added by regret
/// insertion. Routes with an unknown vehicle type, or beyond the type's count, and visits of
/// unknown or repeated clients are dropped (their clients are inserted like the rest).
pub fn from_solution<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, start: &crate::solution::Solution) {
    let n = state.problem.num_clients();
    let mut seen = vec![false; n];
    for route in &start.routes {
        let t = route.vehicle_type;
        if t >= state.problem.vehicle_types.len() {
            continue;
        }
        let mut visits = Vec::new();
        for (k, trip) in route.trips.iter().enumerate() {
            if k > 0 {
                if trip.depot >= state.problem.depots.len() {
                    continue;
                }
                visits.push(state.reload_node(trip.depot));
            }
            for &c in &trip.visits {
                if c < n && !seen[c] && state.can_serve(t, c) {
                    seen[c] = true;
                    visits.push(c as u32);
                }
            }
        }
        if !visits.iter().any(|&v| (v as usize) < n) {
            continue;
        }
        match state.empty_route(t) {
            Some(r) => state.set_route(r, visits),
            None => visits.iter().filter(|&&v| (v as usize) < n).for_each(|&v| seen[v as usize] = false),
        }
    }
    if state.features.pairs {
        super::pairs::unroute_broken(state);
    }
    // Clients the start lists as left out stay out (unless required): regret insertion is for
    // the few clients the start does not know.
    let mut left_out = vec![false; n];
    for u in start.unassigned.iter().filter(|u| u.client < n) {
        left_out[u.client] = !state.problem.clients[u.client].required && state.problem.group_of(u.client).is_none();
    }
    let mut missing: Vec<usize> = (0..n).filter(|&c| state.pos[c].0 == UNROUTED && !left_out[c]).collect();
    // Required clients first, as in [`initial`].
    if state.problem.has_groups() {
        state.drop_group_doubles();
    }
    missing.sort_by_key(|&c| !state.must_route(c));
    insert_regret(state, nb, &missing);
}

/// Inserts `clients` by regret-2 insertion: each round, the client whose best insertion beats
/// its best in any other route by most (the one that loses most by waiting) goes in first.
/// Rounds cost one cheapest-insertion pass per client left, so this is for a few clients (new
/// orders in a replan); optional clients go in only where their prize pays.
pub fn insert_regret<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, clients: &[usize]) {
    let mut left: Vec<usize> = clients.iter().copied().filter(|&c| state.pos[c].0 == UNROUTED).collect();
    if state.features.pairs {
        // A pair is one unit, standing as its pickup.
        for c in &mut left {
            if let Some(role) = state.problem.pair_role(*c) {
                *c = state.problem.pairs[role.pair].pickup;
            }
        }
        let mut seen = vec![false; state.problem.num_clients()];
        left.retain(|&c| !std::mem::replace(&mut seen[c], true));
    }
    while !left.is_empty() {
        // ((required, regret, -cost), index in left, insertion): required clients first.
        let mut pick: Option<((bool, i64, i64), usize, Unit)> = None;
        let p = state.problem;
        for (k, &c) in left.iter().enumerate() {
            let cl = &p.clients[c];
            if !state.may_route(c) {
                continue;
            }
            let must = state.must_route(c);
            let (best, second, prize, unit) = match p.pair_role(c) {
                None => {
                    let Some((best, second)) = two_best_routes(state, nb, c) else { continue };
                    (best.0, second, cl.prize, Unit::Client(best))
                }
                Some(role) => {
                    let Some((best, second)) = super::pairs::two_best_routes(state, nb, role.pair) else { continue };
                    (best.0, second, super::pairs::prize(p, &p.pairs[role.pair]), Unit::Pair(role.pair, best))
                }
            };
            if !must && best >= prize {
                continue;
            }
            let regret = second.map_or(i64::MAX / 4, |s| s - best);
            let key = (must, regret, -best);
            if pick.as_ref().is_none_or(|p| key > p.0) {
                pick = Some((key, k, unit));
            }
        }
        let Some((_, k, unit)) = pick else { break };
        let c = left.swap_remove(k);
        match unit {
            Unit::Client(ins) => apply_insertion(state, c, ins),
            Unit::Pair(pair, ins) => super::pairs::apply_insertion(state, pair, ins),
        }
    }
}

/// What regret insertion inserts: a client, or a pair.
enum Unit {
    Client(Insertion),
    Pair(usize, super::pairs::PairInsertion),
}

/// The cheapest insertion of `c`, and the cost of its cheapest insertion into another route
/// (None when no other route takes it). Routes looked at: those of `c`'s neighbours and one
/// empty route per vehicle type, every position in each.
fn two_best_routes<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, c: usize) -> Option<(Insertion, Option<i64>)> {
    let mut routes: Vec<usize> = nb.of(c).iter().map(|&v| state.pos[v as usize].0).filter(|&r| r != UNROUTED).map(|r| r as usize).collect();
    for t in 0..state.problem.vehicle_types.len() {
        if let Some(r) = state.empty_route(t) {
            routes.push(r);
        }
    }
    routes.sort_unstable();
    routes.dedup();
    let mut best: Option<Insertion> = None;
    let mut second: Option<i64> = None;
    for r in routes {
        if !state.can_serve(state.routes[r].vt, c) {
            continue;
        }
        let Some((delta, p)) = cheapest_in_route(state, r, c, i64::MAX) else { continue };
        match best {
            Some(b) if delta >= b.0 => second = Some(second.map_or(delta, |s| s.min(delta))),
            _ => {
                if let Some(b) = best {
                    second = Some(second.map_or(b.0, |s| s.min(b.0)));
                }
                best = Some((delta, r, p, None));
            }
        }
    }
    best.map(|b| (b, second))
}

/// The cheapest position of client `c` in route `r` (every position), as (penalised cost
/// increase, position), among increases below `below`; segments prune, exact schedules decide.
pub fn cheapest_in_route<const D: usize, const T: usize>(state: &State<D, T>, r: usize, c: usize, below: i64) -> Option<(i64, usize)> {
    let vt = state.routes[r].vt;
    let now = state.route_cost(r);
    let mut best: Option<(i64, usize)> = None;
    for p in 0..=state.routes[r].visits.len() {
        let parts = [Pre(r, p), Client(c), Suf(r, p)];
        let bound = state.cost_of(vt, &parts) - now;
        if bound >= best.map_or(below, |(d, _)| d) {
            continue;
        }
        let delta = state.confirm_cost(vt, &parts, bound + now) - now;
        if delta < best.map_or(below, |(d, _)| d) {
            best = Some((delta, p));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::segment::Penalties;
    use crate::model::Problem;
    use crate::test_support::tiny_problem_data;

    #[test]
    fn routes_every_required_client() {
        let p = Problem::new(tiny_problem_data()).unwrap();
        let nb = Neighbours::new(&p, 5);
        let mut s = State::<1, 0>::empty(&p, Penalties { load: 10, time_warp: 10, distance: 10 });
        initial(&mut s, &nb, &mut Rng::new(3));
        assert_eq!(s.missing_required(), 0);
        assert!(s.routes.iter().map(|r| r.visits.len()).sum::<usize>() == 3);
    }
}
