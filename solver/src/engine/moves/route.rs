//! Route moves ([`super::Scope::Routes`]), tried once node moves are exhausted: each makes a
//! pass over the routes, applying what improves as it goes.

use super::may_reload;
use crate::engine::neighbours::Neighbours;
use crate::engine::pairs;
use crate::engine::state::{Part, State, UNROUTED};
use crate::model::Skills;
use Part::*;

/// Route moves on reloads: drops a reload visit, or adds one where a route breaks its capacity,
/// whichever improves most on each route. Returns whether any route changed.
pub fn reloads<const D: usize, const T: usize>(state: &mut State<D, T>) -> bool {
    let mut changed = false;
    for r in 0..state.routes.len() {
        let t = state.routes[r].vt;
        if state.routes[r].visits.is_empty() || !may_reload(state, t) {
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
                    if state.features.pairs && !pairs::changes_keep_pairs(state, &[(r, &[Pre(r, k), Client(node), Suf(r, k)])]) {
                        continue;
                    }
                    let cost = state.exact_cost_of(t, &[Pre(r, k), Client(node), Suf(r, k)]);
                    if cost < now && best.is_none_or(|b| cost < b.0) {
                        best = Some((cost, k, Some(node)));
                    }
                }
            }
        }
        changed |= match best {
            Some((_, k, None)) => state.apply_judged(&[(r, &[Pre(r, k), Suf(r, k + 1)])]),
            Some((_, k, Some(node))) => state.apply_judged(&[(r, &[Pre(r, k), Client(node), Suf(r, k)])]),
            None => false,
        };
    }
    changed
}

/// Route moves on vehicle types (a heterogeneous fleet): hands a route's visits to an empty
/// vehicle of another type, swaps the visits of two routes of different types, or merges a
/// route with one that starts near its end into an empty vehicle, where that improves. Node
/// moves alone rarely change a route's type: it takes emptying one route and filling another
/// client by client. Returns whether any route changed.
pub fn route_types<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours) -> bool {
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
            changed |= state.apply_judged(&[(e, &[Pre(r, n)]), (r, &[])]);
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
                changed |= state.apply_judged(&[(r1, &[Pre(r2, n2)]), (r2, &[Pre(r1, n1)])]);
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
                    merged = state.apply_judged(&[(e, &parts), (r1, &[]), (r2, &[])]);
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
