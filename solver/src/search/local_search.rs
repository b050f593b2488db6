//! Granular local search: for each client `u` and each neighbour `v`, try relocate, swap,
//! 2-opt (within a route) and 2-opt* (between routes) moves that place `u` next to `v`, apply
//! the first that lowers the penalised cost, and repeat until no move improves.
//!
//! Moves are evaluated by joining cached route segments ([`Part`]), never by walking whole
//! routes, except for the reversed stretch of a 2-opt move.

use super::neighbours::Neighbours;
use super::rng::Rng;
use super::state::{Part, State, UNROUTED};
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
pub fn run(state: &mut State, nb: &Neighbours, rng: &mut Rng, stop: &dyn StopCheck) -> usize {
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
            if state.pos[u].0 != UNROUTED && try_empty_route(state, u) {
                moves += 1;
                improved = true;
            }
            if state.pos[u].0 != UNROUTED && !state.problem.clients[u].required && try_remove_optional(state, u) {
                moves += 1;
                improved = true;
            }
        }
        if !improved {
            return moves;
        }
    }
}

/// Applies the best-found change if it improves; `changes` are (route, new parts) pairs.
fn improve(state: &mut State, changes: &[(usize, &[Part])]) -> bool {
    let mut delta = 0;
    for (r, parts) in changes {
        delta += state.cost_of(state.routes[*r].vt, parts) - state.route_cost(*r);
    }
    if delta < 0 {
        state.apply(changes);
        true
    } else {
        false
    }
}

/// Tries every move type between `u` and its neighbour `v`; applies the first improving one.
fn try_pair(state: &mut State, u: usize, v: usize) -> bool {
    let (r1, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
    let (r2, j) = (state.pos[v].0 as usize, state.pos[v].1 as usize);
    let (t1, t2) = (state.routes[r1].vt, state.routes[r2].vt);
    if r1 != r2 {
        let u_fits = state.can_serve(t2, u);
        // Relocate u after v, then before v.
        if u_fits {
            for p in [j + 1, j] {
                if improve(state, &[(r1, &[Pre(r1, i), Suf(r1, i + 1)]), (r2, &[Pre(r2, p), Client(u), Suf(r2, p)])]) {
                    return true;
                }
            }
        }
        // Swap u and v.
        if u_fits
            && state.can_serve(t1, v)
            && improve(state, &[(r1, &[Pre(r1, i), Client(v), Suf(r1, i + 1)]), (r2, &[Pre(r2, j), Client(u), Suf(r2, j + 1)])])
        {
            return true;
        }
        // 2-opt*: u followed by v's tail; v's head followed by u's tail.
        let n1 = state.routes[r1].visits.len();
        let n2 = state.routes[r2].visits.len();
        let tail_ok = |s: &State, a: usize, ta: usize, b: usize, from: usize, n: usize| {
            from >= n || s.covers(ta, s.routes[b].suffix_skills[from]) || a == b
        };
        if tail_ok(state, r1, t1, r2, j, n2)
            && tail_ok(state, r2, t2, r1, i + 1, n1)
            && improve(state, &[(r1, &[Pre(r1, i + 1), Suf(r2, j)]), (r2, &[Pre(r2, j), Suf(r1, i + 1)])])
        {
            return true;
        }
        // 2-opt*: v followed by u's tail.
        if tail_ok(state, r2, t2, r1, i, n1)
            && tail_ok(state, r1, t1, r2, j + 1, n2)
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
            let moved: [Part; 4] = if p < i {
                [Pre(r, p), Client(u), Range(r, p, i), Suf(r, i + 1)]
            } else {
                [Pre(r, i), Range(r, i + 1, p), Client(u), Suf(r, p)]
            };
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

/// Moves `u` alone into an empty route of a type that serves it, if that improves.
fn try_empty_route(state: &mut State, u: usize) -> bool {
    let (r1, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
    if state.routes[r1].visits.len() == 1 {
        return false;
    }
    let mut seen_types = Vec::new();
    for r in 0..state.routes.len() {
        let t = state.routes[r].vt;
        if !state.routes[r].visits.is_empty() || seen_types.contains(&t) {
            continue;
        }
        seen_types.push(t);
        if state.can_serve(t, u) && improve(state, &[(r1, &[Pre(r1, i), Suf(r1, i + 1)]), (r, &[Client(u)])]) {
            return true;
        }
    }
    false
}

/// Leaves out an optional client when its prize does not pay for its detour.
fn try_remove_optional(state: &mut State, u: usize) -> bool {
    let (r, i) = (state.pos[u].0 as usize, state.pos[u].1 as usize);
    let parts = [Pre(r, i), Suf(r, i + 1)];
    let delta = state.cost_of(state.routes[r].vt, &parts) - state.route_cost(r) + state.problem.clients[u].prize;
    if delta < 0 {
        state.apply(&[(r, &parts)]);
        true
    } else {
        false
    }
}

/// Inserts an unrouted optional client where its prize pays for the detour.
fn try_insert_optional(state: &mut State, nb: &Neighbours, u: usize) -> bool {
    match super::construct::best_insertion(state, nb, u) {
        Some((delta, r, p)) if delta < state.problem.clients[u].prize => {
            state.apply(&[(r, &[Pre(r, p), Client(u), Suf(r, p)])]);
            true
        }
        _ => false,
    }
}
