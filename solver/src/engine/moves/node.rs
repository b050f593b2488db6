//! Node moves between a client `u` and its neighbour `v` ([`super::Scope::Neighbour`]): each
//! places `u` next to `v`, evaluates its few candidates by joining cached route segments, never
//! by walking whole routes (except for the reversed stretch of a 2-opt move), prunes with
//! distance-only lower bounds where the segments' cost cannot drop, and applies the first
//! candidate that improves ([`super::improve`]).

use super::{improve, may_reload};
use crate::engine::state::{Part, State};
use Part::*;

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
#[inline(always)]
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

/// Distance travelled from position `i` of route `r` to its end depot (0 past the end).
#[inline(always)]
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

/// A client `u`, its neighbour `v` (both routed), where they are and what surrounds them:
/// what every node move starts from, worked out once per pair of clients.
#[derive(Clone, Copy, Debug)]
pub struct Around {
    /// The client.
    pub u: usize,
    /// Its neighbour.
    pub v: usize,
    /// Route of `u`.
    pub r1: usize,
    /// Position of `u` in `r1`.
    pub i: usize,
    /// Route of `v`.
    pub r2: usize,
    /// Position of `v` in `r2`.
    pub j: usize,
    /// Vehicle type of `r1`.
    pub t1: usize,
    /// Vehicle type of `r2`.
    pub t2: usize,
    // Locations of `u` and `v`, of `u`'s predecessor and successor, and of `v`'s (between
    // routes only; 0 within one route).
    lu: usize,
    lv: usize,
    pu: usize,
    nu: usize,
    pv: usize,
    nv: usize,
}

impl Around {
    /// Client `u` and its neighbour `v` in `state` (both routed).
    #[inline]
    pub fn new<const D: usize, const T: usize>(state: &State<D, T>, u: usize, v: usize) -> Around {
        let (r1, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
        let (r2, j) = (state.pos[v].0 as usize, state.pos[v].1 as usize);
        let (t1, t2) = (state.routes[r1].vt, state.routes[r2].vt);
        let mut at = Around { u, v, r1, i, r2, j, t1, t2, lu: 0, lv: 0, pu: 0, nu: 0, pv: 0, nv: 0 };
        if r1 != r2 {
            (at.lu, at.lv) = (state.problem.clients[u].location, state.problem.clients[v].location);
            (at.pu, at.nu) = (loc_before(state, r1, i), loc_at(state, r1, i + 1));
            (at.pv, at.nv) = (loc_before(state, r2, j), loc_at(state, r2, j + 1));
        }
        at
    }

    /// Whether `u` and `v` are in the same route.
    #[inline]
    pub fn same_route(&self) -> bool {
        self.r1 == self.r2
    }
}

/// Relocate between routes: `u` right after `v`, then right before `v`.
pub fn relocate_between<const D: usize, const T: usize>(state: &mut State<D, T>, at: &Around) -> bool {
    let &Around { u, r1, i, r2, j, t1, t2, lu, lv, pu, nu, pv, nv, .. } = at;
    if !state.can_serve(t2, u) {
        return false;
    }
    let d1 = |a: usize, b: usize| state.problem.distance(t1, a, b);
    let d2 = |a: usize, b: usize| state.problem.distance(t2, a, b);
    let remove_u = d1(pu, nu) - d1(pu, lu) - d1(lu, nu);
    let keep1 = state.routes[r1].visits.len() > 1;
    for (p, a, b) in [(j + 1, lv, nv), (j, pv, lv)] {
        let add_u = d2(a, lu) + d2(lu, b) - d2(a, b);
        if cannot_improve(state, r1, remove_u, keep1, r2, add_u) {
            continue;
        }
        if improve(state, &[(r1, &[Pre(r1, i), Suf(r1, i + 1)]), (r2, &[Pre(r2, p), Client(u), Suf(r2, p)])]) {
            return true;
        }
    }
    false
}

/// Swap between routes: `u` takes `v`'s place and `v` takes `u`'s.
pub fn swap_between<const D: usize, const T: usize>(state: &mut State<D, T>, at: &Around) -> bool {
    let &Around { u, v, r1, i, r2, j, t1, t2, lu, lv, pu, nu, pv, nv } = at;
    if !(state.can_serve(t2, u) && state.can_serve(t1, v)) {
        return false;
    }
    let d1 = |a: usize, b: usize| state.problem.distance(t1, a, b);
    let d2 = |a: usize, b: usize| state.problem.distance(t2, a, b);
    let in1 = d1(pu, lv) + d1(lv, nu) - d1(pu, lu) - d1(lu, nu);
    let in2 = d2(pv, lu) + d2(lu, nv) - d2(pv, lv) - d2(lv, nv);
    !cannot_improve(state, r1, in1, true, r2, in2)
        && improve(state, &[(r1, &[Pre(r1, i), Client(v), Suf(r1, i + 1)]), (r2, &[Pre(r2, j), Client(u), Suf(r2, j + 1)])])
}

/// Relocates `u` right after `v` into a route that may reload, with a reload visit just before
/// or just after `u` (a new trip starting at `u`, or ending with it).
pub fn relocate_with_reload<const D: usize, const T: usize>(state: &mut State<D, T>, at: &Around) -> bool {
    let &Around { u, r1, i, r2, j, t1, t2, lu, lv, pu, nu, nv, .. } = at;
    if !state.can_serve(t2, u) || !may_reload(state, t2) {
        return false;
    }
    let p = state.problem;
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

/// Moves of two consecutive clients between routes (Vidal et al. 2012's M2, M3, M5, M6): `u`
/// and its successor `x` after `v` (as `u x` or `x u`), swapped with `v`, or swapped with `v`
/// and its successor `y`.
pub fn two_clients<const D: usize, const T: usize>(state: &mut State<D, T>, at: &Around) -> bool {
    let &Around { u, v, r1, i, r2, j, t1, t2, lu, lv, pu, nv, pv, .. } = at;
    let (n1, n2) = (state.routes[r1].visits.len(), state.routes[r2].visits.len());
    if i + 1 >= n1 {
        return false;
    }
    let x = state.routes[r1].visits[i + 1] as usize;
    if !state.is_client(x as u32) {
        return false;
    }
    if !state.can_serve(t2, u) || !state.can_serve(t2, x) {
        return false;
    }
    let p = state.problem;
    let (lx, nx) = (p.clients[x].location, loc_at(state, r1, i + 2));
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

/// 2-opt* between routes: `u` followed by `v`'s tail and `v`'s head by `u`'s tail, then `v`
/// followed by `u`'s tail and `u`'s head by `v`'s successor.
pub fn two_opt_star<const D: usize, const T: usize>(state: &mut State<D, T>, at: &Around) -> bool {
    let &Around { r1, i, r2, j, t1, t2, lu, lv, pu, nu, pv, nv, .. } = at;
    let d1 = |a: usize, b: usize| state.problem.distance(t1, a, b);
    let d2 = |a: usize, b: usize| state.problem.distance(t2, a, b);
    let same_profile = state.problem.vehicle_types[t1].profile == state.problem.vehicle_types[t2].profile;
    let n1 = state.routes[r1].visits.len();
    let n2 = state.routes[r2].visits.len();
    // Whether type `ta` may take the tail of route `b` from position `from` (skills).
    let tail_ok = |s: &State<D, T>, ta: usize, b: usize, from: usize, n: usize| from >= n || s.covers(ta, s.routes[b].suffix_skills[from]);
    // Only the two exchanged edges and the end depots change when both types share a
    // profile and their depots.
    let depots_alike = state.problem.vehicle_types[t1].end_depot == state.problem.vehicle_types[t2].end_depot;
    let bounded = same_profile && depots_alike;
    // u followed by v's tail; v's head followed by u's tail.
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
    // v followed by u's tail.
    tail_ok(state, t2, r1, i, n1)
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
}

/// Relocate within a route: `u` right after `v`, then right before `v`.
pub fn relocate_within<const D: usize, const T: usize>(state: &mut State<D, T>, at: &Around) -> bool {
    let &Around { u, r1: r, i, j, .. } = at;
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
    false
}

/// Swap within a route.
pub fn swap_within<const D: usize, const T: usize>(state: &mut State<D, T>, at: &Around) -> bool {
    let &Around { r1: r, i, j, .. } = at;
    let (a, b) = (i.min(j), i.max(j));
    let (ca, cb) = (state.routes[r].visits[a] as usize, state.routes[r].visits[b] as usize);
    improve(state, &[(r, &[Pre(r, a), Client(cb), Range(r, a + 1, b), Client(ca), Suf(r, b + 1)])])
}

/// 2-opt within a route: reverse so that `u` is followed by `v` (`u` before `v`), or so that
/// `v`'s predecessor is followed by `u` (`v` before `u`).
pub fn two_opt<const D: usize, const T: usize>(state: &mut State<D, T>, at: &Around) -> bool {
    let &Around { r1: r, i, j, .. } = at;
    let rev: [Part; 3] = if i < j { [Pre(r, i + 1), Rev(r, i + 1, j + 1), Suf(r, j + 1)] } else { [Pre(r, j), Rev(r, j, i + 1), Suf(r, i + 1)] };
    improve(state, &[(r, &rev)])
}
