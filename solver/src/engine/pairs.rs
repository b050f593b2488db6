//! Pickup-and-delivery pairs in the search (see `model::pairs` for what a pair is).
//!
//! The search keeps one invariant: both clients of a pair are unrouted, or both are in one
//! route, on one trip, pickup first. Route segments then compute the load on board exactly, so
//! no move needs to know about pairs except to keep the invariant:
//! - insertion (construction, recreate, regret insertion, optional clients) inserts a pair as
//!   one unit, the pickup before position `i` and the delivery before position `j >= i` of one
//!   trip ([`best_pair_insertion`]);
//! - ruins and removals take both clients out;
//! - local-search moves that would split or reorder a pair are rejected ([`changes_keep_pairs`],
//!   checked only on the few candidates that improve), and [`try_relocate_pair`] moves a pair
//!   to its best positions in a nearby route or its own;
//! - a crossover child or a warm start that breaks a pair has it unrouted and reinserted
//!   ([`unroute_broken`]).
//!
//! Nothing here runs for a problem without pairs. Pair insertion tries every pair of positions
//! of a route (quadratic in its length), which suits the tens of visits per route of the
//! problems that have pairs (VROOM's shipments).

use super::neighbours::Neighbours;
use super::segment::Seg;
use super::state::{exact_eval, needs_exact, Part, State, UNROUTED};
use crate::model::{Pair, Problem};
use Part::*;

/// Where to insert a pair: `(penalised cost increase, route, i, j)`: the pickup goes before the
/// route's visit `i` and the delivery before its visit `j` (`i <= j`), as in
/// [`inserted_visits`].
pub type PairInsertion = (i64, usize, usize, usize);

/// Whether `visits` (clients and reload nodes of one route) keep every pair they touch whole:
/// each pickup followed by its delivery on the same trip, each delivery preceded by its pickup.
pub fn intact(p: &Problem, visits: &[u32]) -> bool {
    let n = p.num_clients();
    // Pairs picked up on the current trip and not yet delivered.
    let mut open: Vec<usize> = Vec::new();
    for &v in visits {
        let v = v as usize;
        if v >= n {
            if !open.is_empty() {
                return false;
            }
            continue;
        }
        match p.pair_role(v) {
            Some(role) if role.is_pickup => open.push(role.pair),
            Some(role) => match open.iter().position(|&k| k == role.pair) {
                Some(k) => {
                    open.swap_remove(k);
                }
                None => return false,
            },
            None => {}
        }
    }
    open.is_empty()
}

/// Whether the routes that `changes` (route, new parts) would give all keep their pairs whole.
/// A client moved away from its partner leaves one of the changed routes without it, so this
/// also catches pairs split across routes.
pub fn changes_keep_pairs<const D: usize, const T: usize>(state: &State<D, T>, changes: &[(usize, &[Part])]) -> bool {
    changes.iter().all(|(_, parts)| intact(state.problem, &state.visits_of(parts)))
}

/// The pair's prize: both clients' prizes, earned only together.
pub fn prize(p: &Problem, pair: &Pair) -> i64 {
    p.clients[pair.pickup].prize + p.clients[pair.delivery].prize
}

/// `visits` with the pickup of `pair` inserted before visit `i` and its delivery before visit
/// `j` (`i <= j`).
pub fn inserted_visits(visits: &[u32], pair: &Pair, i: usize, j: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(visits.len() + 2);
    out.extend_from_slice(&visits[..i]);
    out.push(pair.pickup as u32);
    out.extend_from_slice(&visits[i..j]);
    out.push(pair.delivery as u32);
    out.extend_from_slice(&visits[j..]);
    out
}

/// The cheapest positions `(penalised cost of the whole route, i, j)` for pair `k` in a route of
/// type `vt` visiting `visits`, among costs below `below`; `j` never passes a reload node, so
/// the pair stays on one trip. Segments prune; exact schedules decide where routes need them.
pub fn cheapest_in_visits<const D: usize, const T: usize>(state: &State<D, T>, vt: usize, visits: &[u32], k: usize, below: i64) -> Option<(i64, usize, usize)> {
    let p = state.problem;
    let pair = &p.pairs[k];
    let ctx = state.ctx(vt);
    let n = visits.len();
    let seg = move |v: u32| &state.client_seg[v as usize];
    // prefix[i]: visits[..i]; suffix[i]: visits[i..] (None when empty).
    let mut prefix: Vec<Option<Seg<D, T>>> = Vec::with_capacity(n + 1);
    prefix.push(None);
    for (i, &v) in visits.iter().enumerate() {
        let next = match prefix[i] {
            None => *seg(v),
            Some(a) => ctx.join(&a, seg(v)),
        };
        prefix.push(Some(next));
    }
    let mut suffix: Vec<Option<Seg<D, T>>> = vec![None; n + 1];
    for i in (0..n).rev() {
        suffix[i] = Some(match suffix[i + 1] {
            None => *seg(visits[i]),
            Some(b) => ctx.join(seg(visits[i]), &b),
        });
    }
    let (sp, sd) = (seg(pair.pickup as u32), seg(pair.delivery as u32));
    let mut best: Option<(i64, usize, usize)> = None;
    // `i` also starts the inner walk over `j` and is the position reported.
    #[allow(clippy::needless_range_loop)]
    for i in 0..=n {
        // `head`: visits[..j] with the pickup before visit i.
        let mut head = match prefix[i] {
            None => *sp,
            Some(a) => ctx.join(&a, sp),
        };
        let mut j = i;
        loop {
            let mut whole = ctx.join(&head, sd);
            if let Some(b) = &suffix[j] {
                whole = ctx.join(&whole, b);
            }
            let eval = ctx.evaluate(Some(&whole));
            let bound = eval.penalised(&state.penalties);
            let limit = best.map_or(below, |b| b.0);
            if bound < limit {
                let cost = if state.exact_possible && needs_exact(p, vt, Some(&whole)) {
                    exact_eval(p, vt, &inserted_visits(visits, pair, i, j), eval).penalised(&state.penalties)
                } else {
                    bound
                };
                if cost < limit {
                    best = Some((cost, i, j));
                }
            }
            if j == n || !state.is_client(visits[j]) {
                break;
            }
            head = ctx.join(&head, seg(visits[j]));
            j += 1;
        }
    }
    best
}

/// The cheapest insertion of pair `k` into route `r`, as (penalised cost increase, i, j), among
/// increases below `below`.
pub fn cheapest_in_route<const D: usize, const T: usize>(state: &State<D, T>, r: usize, k: usize, below: i64) -> Option<(i64, usize, usize)> {
    let now = state.route_cost(r);
    let route = &state.routes[r];
    cheapest_in_visits(state, route.vt, &route.visits, k, below.saturating_add(now)).map(|(cost, i, j)| (cost - now, i, j))
}

/// Whether vehicle type `vt` has the skills of both clients of pair `k`.
fn can_serve<const D: usize, const T: usize>(state: &State<D, T>, vt: usize, k: usize) -> bool {
    let pair = &state.problem.pairs[k];
    state.can_serve(vt, pair.pickup) && state.can_serve(vt, pair.delivery)
}

/// Routes worth trying for pair `k`: those of its clients' neighbours and one empty route per
/// vehicle type, among routes whose type serves it; every such route when there are none.
fn candidate_routes<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, k: usize) -> Vec<usize> {
    let pair = &state.problem.pairs[k];
    let mut routes: Vec<usize> =
        nb.of(pair.pickup).iter().chain(nb.of(pair.delivery)).map(|&v| state.pos[v as usize].0).filter(|&r| r != UNROUTED).map(|r| r as usize).collect();
    for t in 0..state.problem.vehicle_types.len() {
        if can_serve(state, t, k) {
            if let Some(r) = state.empty_route(t) {
                routes.push(r);
            }
        }
    }
    routes.retain(|&r| can_serve(state, state.routes[r].vt, k));
    if routes.is_empty() {
        routes = (0..state.routes.len()).filter(|&r| can_serve(state, state.routes[r].vt, k)).collect();
    }
    routes.sort_unstable();
    routes.dedup();
    routes
}

/// The cheapest insertion of pair `k` over its candidate routes.
pub fn best_pair_insertion<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, k: usize) -> Option<PairInsertion> {
    let mut best: Option<PairInsertion> = None;
    for r in candidate_routes(state, nb, k) {
        if let Some((delta, i, j)) = cheapest_in_route(state, r, k, best.map_or(i64::MAX, |b| b.0)) {
            best = Some((delta, r, i, j));
        }
    }
    best
}

/// The cheapest insertion of pair `k`, and the cost of its cheapest insertion into another route
/// (for regret insertion).
pub fn two_best_routes<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, k: usize) -> Option<(PairInsertion, Option<i64>)> {
    let mut best: Option<PairInsertion> = None;
    let mut second: Option<i64> = None;
    for r in candidate_routes(state, nb, k) {
        let Some((delta, i, j)) = cheapest_in_route(state, r, k, i64::MAX) else { continue };
        match best {
            Some(b) if delta >= b.0 => second = Some(second.map_or(delta, |s| s.min(delta))),
            _ => {
                if let Some(b) = best {
                    second = Some(second.map_or(b.0, |s| s.min(b.0)));
                }
                best = Some((delta, r, i, j));
            }
        }
    }
    best.map(|b| (b, second))
}

/// Applies an insertion of pair `k` found by [`best_pair_insertion`].
pub fn apply_insertion<const D: usize, const T: usize>(state: &mut State<D, T>, k: usize, (_, r, i, j): PairInsertion) {
    let pair = &state.problem.pairs[k];
    let (pickup, delivery) = (pair.pickup, pair.delivery);
    state.apply(&[(r, &[Pre(r, i), Client(pickup), Range(r, i, j), Client(delivery), Suf(r, j)])]);
}

/// Inserts pair `k` (both clients unrouted) where it costs least, if `accept` takes the cost
/// increase and the route; returns whether it was inserted.
pub fn insert<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, k: usize, accept: impl Fn(&State<D, T>, i64, usize) -> bool) -> bool {
    match best_pair_insertion(state, nb, k) {
        Some(ins) if accept(state, ins.0, ins.1) => {
            apply_insertion(state, k, ins);
            true
        }
        _ => false,
    }
}

/// Route `r`'s visits without pair `k`'s clients.
fn without_pair<const D: usize, const T: usize>(state: &State<D, T>, r: usize, k: usize) -> Vec<u32> {
    let pair = &state.problem.pairs[k];
    state.routes[r].visits.iter().copied().filter(|&v| v as usize != pair.pickup && v as usize != pair.delivery).collect()
}

/// Takes both clients of pair `k` out of their routes.
pub fn unroute<const D: usize, const T: usize>(state: &mut State<D, T>, k: usize) {
    let pair = &state.problem.pairs[k];
    for c in [pair.pickup, pair.delivery] {
        let (r, _) = state.pos[c];
        if r != UNROUTED {
            let kept = without_pair(state, r as usize, k);
            state.set_route(r as usize, kept);
        }
    }
}

/// Unroutes every pair that is served in part, split over routes or trips, or out of order (a
/// crossover child, a warm start); returns whether any was.
pub fn unroute_broken<const D: usize, const T: usize>(state: &mut State<D, T>) -> bool {
    let mut any = false;
    for k in 0..state.problem.pairs.len() {
        let pair = &state.problem.pairs[k];
        let (p, d) = (state.pos[pair.pickup], state.pos[pair.delivery]);
        let whole = match (p.0 == UNROUTED, d.0 == UNROUTED) {
            (true, true) => true,
            (false, false) if p.0 == d.0 && p.1 < d.1 => {
                let visits = &state.routes[p.0 as usize].visits;
                visits[p.1 as usize..d.1 as usize].iter().all(|&v| state.is_client(v))
            }
            _ => false,
        };
        if !whole {
            unroute(state, k);
            any = true;
        }
    }
    any
}

/// Leaves out optional pair `k` (routed) when its prizes do not pay for its detour.
pub fn try_remove_optional<const D: usize, const T: usize>(state: &mut State<D, T>, k: usize) -> bool {
    let r = state.pos[state.problem.pairs[k].pickup].0 as usize;
    let kept = without_pair(state, r, k);
    let vt = state.routes[r].vt;
    let delta = state.evaluate_visits(vt, &kept).penalised(&state.penalties) - state.route_cost(r) + prize(state.problem, &state.problem.pairs[k]);
    if delta < 0 {
        state.set_route(r, kept);
        true
    } else {
        false
    }
}

/// Moves pair `k` (routed) to its best positions in its own route or in a candidate route, if
/// that improves; `last` is the step at which moves around the pair were last tried (nothing is
/// tried when no route involved changed since).
pub fn try_relocate_pair<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, k: usize, last: u64) -> bool {
    let r1 = state.pos[state.problem.pairs[k].pickup].0 as usize;
    let mut targets = candidate_routes(state, nb, k);
    if !targets.contains(&r1) {
        targets.push(r1);
    }
    if targets.iter().all(|&r| state.routes[r].modified_at <= last) {
        return false;
    }
    let vt1 = state.routes[r1].vt;
    let kept = without_pair(state, r1, k);
    let now1 = state.route_cost(r1);
    let removed = state.evaluate_visits(vt1, &kept).penalised(&state.penalties);
    // Best (cost change, route, i, j); within r1, positions are in `kept`.
    let mut best: Option<PairInsertion> = None;
    if let Some((cost, i, j)) = cheapest_in_visits(state, vt1, &kept, k, now1) {
        best = Some((cost - now1, r1, i, j));
    }
    for &r2 in targets.iter().filter(|&&r| r != r1) {
        // Improves when the insertion costs less than the removal saves.
        let below = best.map_or(0, |b| b.0) - (removed - now1);
        if let Some((delta, i, j)) = cheapest_in_route(state, r2, k, below) {
            best = Some((delta + removed - now1, r2, i, j));
        }
    }
    let Some((delta, r2, i, j)) = best.filter(|b| b.0 < 0) else { return false };
    debug_assert!(delta < 0);
    if r2 == r1 {
        let visits = inserted_visits(&kept, &state.problem.pairs[k], i, j);
        state.set_route(r1, visits);
    } else {
        let visits = inserted_visits(&state.routes[r2].visits, &state.problem.pairs[k], i, j);
        state.set_route(r1, kept);
        state.set_route(r2, visits);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::segment::Penalties;
    use crate::test_support::tiny_problem_data;

    /// The tiny problem where client 1 (delivering nothing of its own) picks up 5 for client 2
    /// (which also gets its own 4).
    fn paired() -> Problem {
        let mut d = tiny_problem_data();
        d.clients[1].delivery = vec![0];
        d.pairs = vec![Pair { pickup: 1, delivery: 2, amount: vec![5] }];
        Problem::new(d).unwrap()
    }

    #[test]
    fn a_pair_is_intact_only_pickup_first_on_one_trip() {
        let p = paired();
        let reload = p.num_clients() as u32;
        assert!(intact(&p, &[0, 1, 2]));
        assert!(intact(&p, &[1, 0, 2]));
        assert!(intact(&p, &[0]));
        assert!(!intact(&p, &[2, 1]));
        assert!(!intact(&p, &[1]));
        assert!(!intact(&p, &[2, 0]));
        assert!(!intact(&p, &[1, reload, 2]));
        assert!(intact(&p, &[1, 2, reload, 0]));
    }

    #[test]
    fn segments_carry_the_amount_between_pickup_and_delivery_only() {
        let p = paired();
        let s = State::<1, 0>::empty(&p, Penalties { load: 1, time_warp: 1, distance: 1 });
        let join = |v: &[u32]| s.join(0, &v.iter().map(|&c| Client(c as usize)).collect::<Vec<_>>()).unwrap().load;
        // Leaves with 4 + 4 (clients 0 and 2's own); after 0: 4; after 1: 4 + 5; after 2: 0.
        let l = join(&[0, 1, 2]);
        assert_eq!((l.delivery[0], l.peak[0]), (8, 9));
        // Leaves with 8; after 1: 13; after 0: 9; after 2: 0.
        assert_eq!(join(&[1, 0, 2]).peak[0], 13);
    }

    #[test]
    fn inserts_a_pair_pickup_first_at_its_cheapest_positions() {
        let p = paired();
        let nb = Neighbours::new(&p, 5);
        let mut s = State::<1, 0>::empty(&p, Penalties { load: 100, time_warp: 100, distance: 100 });
        let r = s.empty_route(0).unwrap();
        s.set_route(r, vec![0]);
        let ins = best_pair_insertion(&mut s, &nb, 0).unwrap();
        apply_insertion(&mut s, 0, ins);
        let route = &s.routes[ins.1].visits;
        assert!(intact(&p, route), "{route:?}");
        assert!(s.routes.iter().all(|r| r.eval.is_feasible()));
    }
}
