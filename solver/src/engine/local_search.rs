//! Granular local search: for each client `u` and each neighbour `v`, try relocate, swap,
//! 2-opt (within a route) and 2-opt* (between routes) moves that place `u` next to `v`, apply
//! the first that lowers the penalised cost, and repeat until no move improves.
//!
//! Moves are evaluated by joining cached route segments ([`Part`]), never by walking whole
//! routes, except for the reversed stretch of a 2-opt move. With pickup-and-delivery pairs, a
//! move that would split or reorder one is rejected, and pairs move as units (see
//! [`super::pairs`]).

use super::neighbours::Neighbours;
use super::rng::Rng;
use super::state::{Part, State, UNROUTED};
use crate::model::Skills;
use Part::*;

/// What stops a local search early (a deadline, a cancellation).
pub trait StopCheck {
    /// Whether the search must stop now.
    fn stop(&self) -> bool;
}

impl<F: Fn() -> bool> StopCheck for F {
    fn stop(&self) -> bool {
        self()
    }
}

/// Runs the local search to a local optimum (or until `stop`). Returns the number of moves
/// applied.
pub fn run<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, rng: &mut Rng, stop: &dyn StopCheck) -> usize {
    let n = state.problem.num_clients();
    let mut order: Vec<usize> = (0..n).collect();
    let mut moves = 0;
    loop {
        rng.shuffle(&mut order);
        let mut improved = false;
        for &u in &order {
            if stop.stop() {
                return moves;
            }
            let last = state.last_tested[u];
            state.last_tested[u] = state.step;
            if state.pos[u].0 == UNROUTED {
                if !state.problem.clients[u].required && try_insert_optional(state, nb, u) {
                    moves += 1;
                    improved = true;
                }
                continue;
            }
            for &v in nb.of(u) {
                let v = v as usize;
                let (r1, r2) = (state.pos[u].0, state.pos[v].0);
                if r1 == UNROUTED || r2 == UNROUTED {
                    continue;
                }
                let (r1, r2) = (r1 as usize, r2 as usize);
                if state.routes[r1].modified_at.max(state.routes[r2].modified_at) <= last {
                    continue;
                }
                if try_pair(state, u, v) {
                    moves += 1;
                    improved = true;
                }
                if state.pos[u].0 == UNROUTED {
                    break;
                }
            }
            if state.pos[u].0 != UNROUTED && state.routes[state.pos[u].0 as usize].modified_at > last && try_empty_route(state, u) {
                moves += 1;
                improved = true;
            }
            if let Some(role) = state.problem.pair_role(u).filter(|r| r.is_pickup && state.pos[u].0 != UNROUTED) {
                if super::pairs::try_relocate_pair(state, nb, role.pair, last) {
                    moves += 1;
                    improved = true;
                }
            }
            if state.pos[u].0 != UNROUTED && !state.problem.clients[u].required && try_remove_optional(state, u) {
                moves += 1;
                improved = true;
            }
        }
        if !improved {
            // Node moves are exhausted: add or drop reloads, try route-pair moves, and go on
            // if one applies.
            if state.multi_trip && try_reloads(state) {
                moves += 1;
                continue;
            }
            if state.problem.vehicle_types.len() > 1 && try_route_types(state, nb) {
                moves += 1;
                continue;
            }
            if state.use_swap_star && super::swap_star::run(state) {
                moves += 1;
                continue;
            }
            return moves;
        }
    }
}

/// Applies the best-found change if it improves; `changes` are (route, new parts) pairs.
fn improve<const D: usize, const T: usize>(state: &mut State<D, T>, changes: &[(usize, &[Part])]) -> bool {
    let mut delta = 0;
    for (r, parts) in changes {
        delta += state.cost_of(state.routes[*r].vt, parts) - state.route_cost(*r);
    }
    if delta < 0 && state.has_pairs && !super::pairs::changes_keep_pairs(state, changes) {
        return false;
    }
    if delta < 0 && state.exact_possible {
        // Segments bound routes with breaks or several windows from below: judge the few
        // candidates that pass the bound by their exact schedules.
        delta = 0;
        for (r, parts) in changes {
            delta += state.exact_cost_of(state.routes[*r].vt, parts) - state.route_cost(*r);
        }
    }
    if delta < 0 {
        state.apply(changes);
        true
    } else {
        false
    }
}

/// Location before position `i` of route `r` (the start depot at `i == 0`).
#[inline]
fn loc_before<const D: usize, const T: usize>(s: &State<D, T>, r: usize, i: usize) -> usize {
    if i == 0 {
        s.problem.depots[s.problem.vehicle_types[s.routes[r].vt].start_depot].location
    } else {
        s.node_location(s.routes[r].visits[i - 1])
    }
}

/// Location at position `i` of route `r` (the end depot past the last visit).
#[inline]
fn loc_at<const D: usize, const T: usize>(s: &State<D, T>, r: usize, i: usize) -> usize {
    match s.routes[r].visits.get(i) {
        Some(&c) => s.node_location(c),
        None => s.problem.depots[s.problem.vehicle_types[s.routes[r].vt].end_depot].location,
    }
}

/// Whether two routes whose distances change by `d1` and `d2` (and that stay non-empty as
/// `keep1`, `keep2` say) cannot cost less than they do now: costs and penalties are never
/// negative, so fixed plus distance cost is a lower bound of a route's penalised cost.
#[inline]
fn cannot_improve<const D: usize, const T: usize>(s: &State<D, T>, r1: usize, d1: i64, keep1: bool, r2: usize, d2: i64) -> bool {
    let bound = |r: usize, d: i64, keep: bool| {
        let vt = &s.problem.vehicle_types[s.routes[r].vt];
        if keep {
            vt.fixed_cost + vt.unit_distance_cost * (s.routes[r].eval.distance + d)
        } else {
            0
        }
    };
    bound(r1, d1, keep1) + bound(r2, d2, true) >= s.route_cost(r1) + s.route_cost(r2)
}

/// Tries every move type between `u` and its neighbour `v`; applies the first improving one.
fn try_pair<const D: usize, const T: usize>(state: &mut State<D, T>, u: usize, v: usize) -> bool {
    let (r1, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
    let (r2, j) = (state.pos[v].0 as usize, state.pos[v].1 as usize);
    let (t1, t2) = (state.routes[r1].vt, state.routes[r2].vt);
    if r1 != r2 {
        let u_fits = state.can_serve(t2, u);
        let (lu, lv) = (state.problem.clients[u].location, state.problem.clients[v].location);
        let (pu, nu) = (loc_before(state, r1, i), loc_at(state, r1, i + 1));
        let (pv, nv) = (loc_before(state, r2, j), loc_at(state, r2, j + 1));
        let d1 = |a: usize, b: usize| state.problem.distance(t1, a, b);
        let d2 = |a: usize, b: usize| state.problem.distance(t2, a, b);
        let remove_u = d1(pu, nu) - d1(pu, lu) - d1(lu, nu);
        let keep1 = state.routes[r1].visits.len() > 1;
        // Relocate u after v, then before v.
        if u_fits {
            for (p, a, b) in [(j + 1, lv, nv), (j, pv, lv)] {
                let add_u = d2(a, lu) + d2(lu, b) - d2(a, b);
                if cannot_improve(state, r1, remove_u, keep1, r2, add_u) {
                    continue;
                }
                if improve(state, &[(r1, &[Pre(r1, i), Suf(r1, i + 1)]), (r2, &[Pre(r2, p), Client(u), Suf(r2, p)])]) {
                    return true;
                }
            }
        }
        // Swap u and v.
        if u_fits && state.can_serve(t1, v) {
            let in1 = d1(pu, lv) + d1(lv, nu) - d1(pu, lu) - d1(lu, nu);
            let in2 = d2(pv, lu) + d2(lu, nv) - d2(pv, lv) - d2(lv, nv);
            if !cannot_improve(state, r1, in1, true, r2, in2)
                && improve(state, &[(r1, &[Pre(r1, i), Client(v), Suf(r1, i + 1)]), (r2, &[Pre(r2, j), Client(u), Suf(r2, j + 1)])])
            {
                return true;
            }
        }
        if u_fits && try_relocate_with_reload(state, u, v) {
            return true;
        }
        if try_pair_moves(state, u, v) {
            return true;
        }
        let same_profile = state.problem.vehicle_types[t1].profile == state.problem.vehicle_types[t2].profile;
        // 2-opt*: u followed by v's tail; v's head followed by u's tail.
        let n1 = state.routes[r1].visits.len();
        let n2 = state.routes[r2].visits.len();
        // Whether type `ta` may take the tail of route `b` from position `from` (skills).
        let tail_ok = |s: &State<D, T>, ta: usize, b: usize, from: usize, n: usize| from >= n || s.covers(ta, s.routes[b].suffix_skills[from]);
        // Only the two exchanged edges and the end depots change when both types share a
        // profile and their depots.
        let depots_alike = state.problem.vehicle_types[t1].end_depot == state.problem.vehicle_types[t2].end_depot;
        let bounded = same_profile && depots_alike;
        if tail_ok(state, t1, r2, j, n2)
            && tail_ok(state, t2, r1, i + 1, n1)
            && !(bounded && {
                // r1: ..u v.. ; r2: ..pv nu..
                let a = d1(lu, lv) - d1(lu, nu);
                let b = d2(pv, nu) - d2(pv, lv);
                // The moved tails keep their own distances; only the joining edges change.
                cannot_improve(
                    state,
                    r1,
                    a + suffix_dist(state, r2, j) - suffix_dist(state, r1, i + 1),
                    true,
                    r2,
                    b + suffix_dist(state, r1, i + 1) - suffix_dist(state, r2, j),
                )
            })
            && improve(state, &[(r1, &[Pre(r1, i + 1), Suf(r2, j)]), (r2, &[Pre(r2, j), Suf(r1, i + 1)])])
        {
            return true;
        }
        // 2-opt*: v followed by u's tail.
        if tail_ok(state, t2, r1, i, n1)
            && tail_ok(state, t1, r2, j + 1, n2)
            && !(bounded && {
                // r1: ..pu nv.. ; r2: ..v u..
                let a = d1(pu, nv) - d1(pu, lu);
                let b = d2(lv, lu) - d2(lv, nv);
                cannot_improve(
                    state,
                    r1,
                    a + suffix_dist(state, r2, j + 1) - suffix_dist(state, r1, i),
                    true,
                    r2,
                    b + suffix_dist(state, r1, i) - suffix_dist(state, r2, j + 1),
                )
            })
            && improve(state, &[(r1, &[Pre(r1, i), Suf(r2, j + 1)]), (r2, &[Pre(r2, j + 1), Suf(r1, i)])])
        {
            return true;
        }
        false
    } else {
        let r = r1;
        // Relocate u right after v, then right before v.
        for p in [j + 1, j] {
            if p == i || p == i + 1 {
                continue;
            }
            let moved: [Part; 4] =
                if p < i { [Pre(r, p), Client(u), Range(r, p, i), Suf(r, i + 1)] } else { [Pre(r, i), Range(r, i + 1, p), Client(u), Suf(r, p)] };
            if improve(state, &[(r, &moved)]) {
                return true;
            }
        }
        // Swap.
        let (a, b) = (i.min(j), i.max(j));
        let (ca, cb) = (state.routes[r].visits[a] as usize, state.routes[r].visits[b] as usize);
        if improve(state, &[(r, &[Pre(r, a), Client(cb), Range(r, a + 1, b), Client(ca), Suf(r, b + 1)])]) {
            return true;
        }
        // 2-opt: reverse so that u is followed by v (i < j), or so that v's predecessor is
        // followed by u (j < i).
        let rev: [Part; 3] = if i < j { [Pre(r, i + 1), Rev(r, i + 1, j + 1), Suf(r, j + 1)] } else { [Pre(r, j), Rev(r, j, i + 1), Suf(r, i + 1)] };
        improve(state, &[(r, &rev)])
    }
}

/// Moves of two consecutive clients between routes (Vidal et al. 2012's M2, M3, M5, M6): `u`
/// and its successor `x` after `v` (as `u x` or `x u`), swapped with `v`, or swapped with `v`
/// and its successor `y`.
fn try_pair_moves<const D: usize, const T: usize>(state: &mut State<D, T>, u: usize, v: usize) -> bool {
    let (r1, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
    let (r2, j) = (state.pos[v].0 as usize, state.pos[v].1 as usize);
    let (n1, n2) = (state.routes[r1].visits.len(), state.routes[r2].visits.len());
    if i + 1 >= n1 {
        return false;
    }
    let x = state.routes[r1].visits[i + 1] as usize;
    if !state.is_client(x as u32) {
        return false;
    }
    let (t1, t2) = (state.routes[r1].vt, state.routes[r2].vt);
    if !state.can_serve(t2, u) || !state.can_serve(t2, x) {
        return false;
    }
    let p = state.problem;
    let (lu, lx, lv) = (p.clients[u].location, p.clients[x].location, p.clients[v].location);
    let (pu, nx) = (loc_before(state, r1, i), loc_at(state, r1, i + 2));
    let nv = loc_at(state, r2, j + 1);
    let d1 = |a: usize, b: usize| p.distance(t1, a, b);
    let d2 = |a: usize, b: usize| p.distance(t2, a, b);
    let remove_ux = d1(pu, nx) - d1(pu, lu) - d1(lu, lx) - d1(lx, nx);
    let keep1 = n1 > 2;
    // u x after v, and x u after v.
    for (first, second, lf, ls) in [(u, x, lu, lx), (x, u, lx, lu)] {
        let add = d2(lv, lf) + d2(lf, ls) + d2(ls, nv) - d2(lv, nv);
        if !cannot_improve(state, r1, remove_ux, keep1, r2, add)
            && improve(state, &[(r1, &[Pre(r1, i), Suf(r1, i + 2)]), (r2, &[Pre(r2, j + 1), Client(first), Client(second), Suf(r2, j + 1)])])
        {
            return true;
        }
    }
    if !state.can_serve(t1, v) {
        return false;
    }
    // u x swapped with v.
    let pv = loc_before(state, r2, j);
    let in1 = d1(pu, lv) + d1(lv, nx) - d1(pu, lu) - d1(lu, lx) - d1(lx, nx);
    let in2 = d2(pv, lu) + d2(lu, lx) + d2(lx, nv) - d2(pv, lv) - d2(lv, nv);
    if !cannot_improve(state, r1, in1, true, r2, in2)
        && improve(state, &[(r1, &[Pre(r1, i), Client(v), Suf(r1, i + 2)]), (r2, &[Pre(r2, j), Client(u), Client(x), Suf(r2, j + 1)])])
    {
        return true;
    }
    // u x swapped with v y.
    if j + 1 < n2 {
        let y = state.routes[r2].visits[j + 1] as usize;
        if !state.is_client(y as u32) || !state.can_serve(t1, y) {
            return false;
        }
        let (ly, ny) = (p.clients[y].location, loc_at(state, r2, j + 2));
        let in1 = d1(pu, lv) + d1(lv, ly) + d1(ly, nx) - d1(pu, lu) - d1(lu, lx) - d1(lx, nx);
        let in2 = d2(pv, lu) + d2(lu, lx) + d2(lx, ny) - d2(pv, lv) - d2(lv, ly) - d2(ly, ny);
        if !cannot_improve(state, r1, in1, true, r2, in2)
            && improve(state, &[(r1, &[Pre(r1, i), Client(v), Client(y), Suf(r1, i + 2)]), (r2, &[Pre(r2, j), Client(u), Client(x), Suf(r2, j + 2)])])
        {
            return true;
        }
    }
    false
}

/// Distance travelled from position `i` of route `r` to its end depot (0 past the end).
#[inline]
fn suffix_dist<const D: usize, const T: usize>(s: &State<D, T>, r: usize, i: usize) -> i64 {
    let route = &s.routes[r];
    match route.suffix.get(i) {
        Some(seg) => {
            let end = s.problem.depots[s.problem.vehicle_types[route.vt].end_depot].location;
            seg.distance + s.problem.distance(route.vt, seg.last as usize, end)
        }
        None => 0,
    }
}

/// Moves `u` alone into an empty route of a type that serves it, if that improves.
fn try_empty_route<const D: usize, const T: usize>(state: &mut State<D, T>, u: usize) -> bool {
    let (r1, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
    // A client of a pair moves with its partner (`pairs::try_relocate_pair`).
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

/// Leaves out an optional client when its prize does not pay for its detour.
fn try_remove_optional<const D: usize, const T: usize>(state: &mut State<D, T>, u: usize) -> bool {
    if let Some(role) = state.problem.pair_role(u) {
        return super::pairs::try_remove_optional(state, role.pair);
    }
    let (r, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
    let parts = [Pre(r, i), Suf(r, i + 1)];
    let delta = state.exact_cost_of(state.routes[r].vt, &parts) - state.route_cost(r) + state.problem.clients[u].prize;
    if delta < 0 {
        state.apply(&[(r, &parts)]);
        true
    } else {
        false
    }
}

/// Inserts an unrouted optional client where its prize pays for the detour.
fn try_insert_optional<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, u: usize) -> bool {
    if let Some(role) = state.problem.pair_role(u) {
        let prize = super::pairs::prize(state.problem, &state.problem.pairs[role.pair]);
        return super::pairs::insert(state, nb, role.pair, |_, delta, _| delta < prize);
    }
    match super::construct::best_insertion(state, nb, u) {
        Some(ins) if ins.0 < state.problem.clients[u].prize => {
            super::construct::apply_insertion(state, u, ins);
            true
        }
        _ => false,
    }
}

/// Whether routes of type `t` may reload.
#[inline]
fn reloads<const D: usize, const T: usize>(state: &State<D, T>, t: usize) -> bool {
    let vt = &state.problem.vehicle_types[t];
    vt.max_trips > 1 && !vt.reload_depots.is_empty()
}

/// Relocates `u` right after `v` into a route that may reload, with a reload visit just before
/// or just after `u` (a new trip starting at `u`, or ending with it).
fn try_relocate_with_reload<const D: usize, const T: usize>(state: &mut State<D, T>, u: usize, v: usize) -> bool {
    let (r1, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
    let (r2, j) = (state.pos[v].0 as usize, state.pos[v].1 as usize);
    let t2 = state.routes[r2].vt;
    if !reloads(state, t2) {
        return false;
    }
    let t1 = state.routes[r1].vt;
    let p = state.problem;
    let (pu, nu) = (loc_before(state, r1, i), loc_at(state, r1, i + 1));
    let lu = p.clients[u].location;
    let (lv, nv) = (p.clients[v].location, loc_at(state, r2, j + 1));
    let remove_u = p.distance(t1, pu, nu) - p.distance(t1, pu, lu) - p.distance(t1, lu, nu);
    let keep1 = state.routes[r1].visits.len() > 1;
    for k in 0..p.vehicle_types[t2].reload_depots.len() {
        let d = p.vehicle_types[t2].reload_depots[k];
        let (ld, node) = (p.depots[d].location, state.reload_node(d) as usize);
        let dd = |a: usize, b: usize| p.distance(t2, a, b);
        // v R u nv, then v u R nv.
        for (before, add) in [(true, dd(lv, ld) + dd(ld, lu) + dd(lu, nv) - dd(lv, nv)), (false, dd(lv, lu) + dd(lu, ld) + dd(ld, nv) - dd(lv, nv))] {
            if cannot_improve(state, r1, remove_u, keep1, r2, add) {
                continue;
            }
            let inserted: [Part; 4] =
                if before { [Pre(r2, j + 1), Client(node), Client(u), Suf(r2, j + 1)] } else { [Pre(r2, j + 1), Client(u), Client(node), Suf(r2, j + 1)] };
            if improve(state, &[(r1, &[Pre(r1, i), Suf(r1, i + 1)]), (r2, &inserted)]) {
                return true;
            }
        }
    }
    false
}

/// Route moves on reloads: drops a reload visit, or adds one where a route breaks its capacity,
/// whichever improves most on each route. Returns whether any route changed.
fn try_reloads<const D: usize, const T: usize>(state: &mut State<D, T>) -> bool {
    let mut changed = false;
    for r in 0..state.routes.len() {
        let t = state.routes[r].vt;
        if state.routes[r].visits.is_empty() || !reloads(state, t) {
            continue;
        }
        let now = state.route_cost(r);
        let n = state.routes[r].visits.len();
        // (cost, position, node to insert or None to remove the node at position).
        let mut best: Option<(i64, usize, Option<usize>)> = None;
        for k in 0..n {
            if !state.is_client(state.routes[r].visits[k]) {
                let cost = state.exact_cost_of(t, &[Pre(r, k), Suf(r, k + 1)]);
                if cost < now && best.is_none_or(|b| cost < b.0) {
                    best = Some((cost, k, None));
                }
            }
        }
        if state.routes[r].eval.load_excess > 0 {
            for di in 0..state.problem.vehicle_types[t].reload_depots.len() {
                let node = state.reload_node(state.problem.vehicle_types[t].reload_depots[di]) as usize;
                for k in 1..n {
                    // A reload inside a pair's trip would split it.
                    if state.has_pairs && !super::pairs::changes_keep_pairs(state, &[(r, &[Pre(r, k), Client(node), Suf(r, k)])]) {
                        continue;
                    }
                    let cost = state.exact_cost_of(t, &[Pre(r, k), Client(node), Suf(r, k)]);
                    if cost < now && best.is_none_or(|b| cost < b.0) {
                        best = Some((cost, k, Some(node)));
                    }
                }
            }
        }
        match best {
            Some((_, k, None)) => state.apply(&[(r, &[Pre(r, k), Suf(r, k + 1)])]),
            Some((_, k, Some(node))) => state.apply(&[(r, &[Pre(r, k), Client(node), Suf(r, k)])]),
            None => continue,
        }
        changed = true;
    }
    changed
}

/// Route moves on vehicle types (a heterogeneous fleet): hands a route's visits to an empty
/// vehicle of another type, swaps the visits of two routes of different types, or merges a
/// route with one that starts near its end into an empty vehicle, where that improves. Node
/// moves alone rarely change a route's type: it takes emptying one route and filling another
/// client by client. Returns whether any route changed.
fn try_route_types<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours) -> bool {
    let types = state.problem.vehicle_types.len();
    let mut changed = false;
    for r in 0..state.routes.len() {
        let n = state.routes[r].visits.len();
        if n == 0 {
            continue;
        }
        let (t, skills, now) = (state.routes[r].vt, state.routes[r].prefix_skills[n - 1], state.route_cost(r));
        let mut best: Option<(i64, usize)> = None;
        for other in 0..types {
            if other == t || !state.covers(other, skills) {
                continue;
            }
            let bound = state.cost_of(other, &[Pre(r, n)]);
            if bound >= best.map_or(now, |b| b.0) {
                continue;
            }
            let Some(e) = state.empty_route(other) else { continue };
            let cost = state.confirm_cost(other, &[Pre(r, n)], bound);
            if cost < best.map_or(now, |b| b.0) {
                best = Some((cost, e));
            }
        }
        if let Some((_, e)) = best {
            state.apply(&[(e, &[Pre(r, n)]), (r, &[])]);
            changed = true;
        }
    }
    let used: Vec<usize> = (0..state.routes.len()).filter(|&r| !state.routes[r].visits.is_empty()).collect();
    for (k, &r1) in used.iter().enumerate() {
        for &r2 in &used[k + 1..] {
            let (t1, t2) = (state.routes[r1].vt, state.routes[r2].vt);
            let (n1, n2) = (state.routes[r1].visits.len(), state.routes[r2].visits.len());
            if t1 == t2 || n1 == 0 || n2 == 0 {
                continue;
            }
            if !state.covers(t2, state.routes[r1].prefix_skills[n1 - 1]) || !state.covers(t1, state.routes[r2].prefix_skills[n2 - 1]) {
                continue;
            }
            let now = state.route_cost(r1) + state.route_cost(r2);
            let (b1, b2) = (state.cost_of(t2, &[Pre(r1, n1)]), state.cost_of(t1, &[Pre(r2, n2)]));
            if b1 + b2 >= now {
                continue;
            }
            if state.confirm_cost(t2, &[Pre(r1, n1)], b1) + state.confirm_cost(t1, &[Pre(r2, n2)], b2) < now {
                state.apply(&[(r1, &[Pre(r2, n2)]), (r2, &[Pre(r1, n1)])]);
                changed = true;
            }
        }
    }
    for r1 in 0..state.routes.len() {
        let n1 = state.routes[r1].visits.len();
        let Some(&last) = state.routes[r1].visits.last() else { continue };
        if !state.is_client(last) {
            continue;
        }
        for k in 0..nb.of(last as usize).len().min(5) {
            let v = nb.of(last as usize)[k] as usize;
            let (r2, j) = state.pos[v];
            if r2 == UNROUTED || r2 as usize == r1 || j != 0 {
                continue;
            }
            let r2 = r2 as usize;
            let n2 = state.routes[r2].visits.len();
            let skills = Skills(state.routes[r1].prefix_skills[n1 - 1].0 | state.routes[r2].prefix_skills[n2 - 1].0);
            let now = state.route_cost(r1) + state.route_cost(r2);
            let parts = [Pre(r1, n1), Pre(r2, n2)];
            let mut merged = false;
            for t in 0..types {
                if !state.covers(t, skills) {
                    continue;
                }
                let bound = state.cost_of(t, &parts);
                if bound >= now {
                    continue;
                }
                let Some(e) = state.empty_route(t) else { continue };
                if state.confirm_cost(t, &parts, bound) < now {
                    state.apply(&[(e, &parts), (r1, &[]), (r2, &[])]);
                    merged = true;
                    break;
                }
            }
            if merged {
                changed = true;
                break;
            }
        }
    }
    changed
}
