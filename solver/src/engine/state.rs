//! The mutable search state: one route per available vehicle (most of them empty), with cached
//! prefix and suffix segments so that a move is evaluated by joining a handful of segments.

use super::schedule;
use super::segment::{route_cost, Penalties, RouteEval, Seg, TypeCtx};
use crate::model::{Problem, Skills};
use crate::solution::{BreakStop, Route, Solution, Trip, Unassigned, UnassignedReason};

/// Marks a client that is in no route.
pub const UNROUTED: u32 = u32::MAX;

/// One vehicle's route during the search. Its nodes are client indices, and reload depot
/// visits numbered `num_clients + depot` (see [`State::reload_node`]) that start a new trip.
#[derive(Clone, Debug)]
pub struct SearchRoute<const D: usize, const T: usize> {
    /// Vehicle type.
    pub vt: usize,
    /// Nodes in visiting order: clients, and reload visits between trips.
    pub visits: Vec<u32>,
    /// `prefix[i]` summarises `visits[0..=i]`.
    pub prefix: Vec<Seg<D, T>>,
    /// `suffix[i]` summarises `visits[i..]`.
    pub suffix: Vec<Seg<D, T>>,
    /// `suffix_skills[i]` is the union of skills needed by `visits[i..]`.
    pub suffix_skills: Vec<Skills>,
    /// `prefix_skills[i]` is the union of skills needed by `visits[0..=i]`.
    pub prefix_skills: Vec<Skills>,
    /// Evaluation of the whole route.
    pub eval: RouteEval,
    /// Search step at which the route last changed (for skipping unchanged pairs).
    pub modified_at: u64,
}

/// A piece of a candidate route; ranges are half-open and may be empty.
#[derive(Clone, Copy, Debug)]
pub enum Part {
    /// `visits[..k]` of a route.
    Pre(usize, usize),
    /// `visits[i..]` of a route.
    Suf(usize, usize),
    /// `visits[i..j]` of a route, forward.
    Range(usize, usize, usize),
    /// `visits[i..j]` of a route, reversed.
    Rev(usize, usize, usize),
    /// One client.
    Client(usize),
}

/// All routes, where each client is, and the current penalty weights.
#[derive(Clone)]
pub struct State<'p, const D: usize, const T: usize> {
    /// The problem.
    pub problem: &'p Problem,
    /// Segment of each node alone: clients, then one reload visit per depot.
    pub client_seg: Vec<Seg<D, T>>,
    /// Routes, one per available vehicle.
    pub routes: Vec<SearchRoute<D, T>>,
    /// `pos[c] = (route, index)`; route [`UNROUTED`] when unrouted.
    pub pos: Vec<(u32, u32)>,
    /// Penalty weights.
    pub penalties: Penalties,
    /// Counter of applied changes.
    pub step: u64,
    /// `last_tested[c]` is the step at which the local search last tried moves around client
    /// `c`; pairs whose routes have not changed since are skipped.
    pub last_tested: Vec<u64>,
    /// `empty_hint[t]` is a route of type `t` that was empty when last looked at.
    empty_hint: Vec<usize>,
    /// `swap_star_tested[r]`: step of route `r`'s last SWAP* pass.
    pub swap_star_tested: Vec<u64>,
    /// What the problem has that the search must know of (which moves apply, whether routes
    /// hold reload nodes, whether moves must keep pairs whole).
    pub features: Features,
    /// Whether some route may need an exact schedule (see [`needs_exact`]).
    pub exact_possible: bool,
}

/// What a problem has, beyond plain capacitated routing, that decides how the search treats it
/// and which local-search moves apply to it (`Move::applies` in [`super::moves`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// Pickup-and-delivery pairs, which every move must keep whole (see [`super::pairs`]).
    pub pairs: bool,
    /// Some vehicle type may reload, so routes hold reload nodes between trips.
    pub multi_trip: bool,
    /// More than one vehicle type.
    pub heterogeneous: bool,
    /// Some client is optional (it has a prize and may be left out).
    pub optional: bool,
    /// Some client's time windows are narrower than every vehicle's shift, or several.
    pub binding_windows: bool,
    /// Some vehicle type has driver breaks.
    pub breaks: bool,
    /// Some vehicle type drives in rush hours (travel times depend on the time).
    pub time_dependent: bool,
}

impl Features {
    /// The features of `problem`.
    pub fn of(problem: &Problem) -> Features {
        Features {
            pairs: problem.has_pairs(),
            multi_trip: is_multi_trip(problem),
            heterogeneous: problem.vehicle_types.len() > 1,
            optional: problem.clients.iter().any(|c| !c.required),
            binding_windows: has_binding_windows(problem),
            breaks: has_breaks(problem),
            time_dependent: has_rush_hours(problem),
        }
    }

    /// Whether only capacity constrains `problem`: one vehicle type, and no pairs, reloads,
    /// optional clients, binding time windows, breaks, rush hours, backhaul precedence or groups.
    pub fn capacity_only(problem: &Problem) -> bool {
        let f = Features::of(problem);
        !(f.pairs || f.multi_trip || f.heterogeneous || f.optional || f.binding_windows || f.breaks || f.time_dependent)
            && !problem.backhaul_precedence
            && !problem.has_groups()
    }
}

impl<'p, const D: usize, const T: usize> State<'p, D, T> {
    /// A state with every vehicle's route empty and every client unrouted.
    pub fn empty(problem: &'p Problem, penalties: Penalties) -> Self {
        let mut routes = Vec::new();
        for (t, vt) in problem.vehicle_types.iter().enumerate() {
            // More routes than clients are never needed.
            for _ in 0..vt.count.min(problem.num_clients().max(1)) {
                routes.push(SearchRoute {
                    vt: t,
                    visits: Vec::new(),
                    prefix: Vec::new(),
                    suffix: Vec::new(),
                    suffix_skills: Vec::new(),
                    prefix_skills: Vec::new(),
                    eval: RouteEval::default(),
                    modified_at: 0,
                });
            }
        }
        State {
            problem,
            client_seg: (0..problem.num_clients()).map(|c| Seg::client(problem, c)).chain((0..problem.depots.len()).map(|d| Seg::reload(problem, d))).collect(),
            routes,
            pos: vec![(UNROUTED, 0); problem.num_clients()],
            penalties,
            step: 1,
            last_tested: vec![0; problem.num_clients()],
            empty_hint: vec![0; problem.vehicle_types.len()],
            swap_star_tested: Vec::new(),
            features: Features::of(problem),
            exact_possible: has_breaks(problem)
                || has_rush_hours(problem)
                || problem.clients.iter().any(|c| c.time_windows.len() > 1)
                || problem.stability_active(),
        }
    }

    /// The node standing for a reload visit at depot `d`.
    #[inline]
    pub fn reload_node(&self, d: usize) -> u32 {
        (self.problem.num_clients() + d) as u32
    }

    /// Whether node `v` is a client (not a reload visit).
    #[inline]
    pub fn is_client(&self, v: u32) -> bool {
        (v as usize) < self.problem.num_clients()
    }

    /// Location of node `v`.
    #[inline]
    pub fn node_location(&self, v: u32) -> usize {
        let n = self.problem.num_clients();
        match (v as usize).checked_sub(n) {
            None => self.problem.clients[v as usize].location,
            Some(d) => self.problem.depots[d].location,
        }
    }

    /// Whether segments cached for a route of type `a` are valid for type `b`: same matrices
    /// and, when trips are summarised (their excess depends on the capacity), same capacity.
    #[inline]
    fn shares_segments(&self, a: usize, b: usize) -> bool {
        let (ta, tb) = (&self.problem.vehicle_types[a], &self.problem.vehicle_types[b]);
        ta.profile == tb.profile && (!self.features.multi_trip || ta.capacity == tb.capacity)
    }

    /// Drops reload visits that start or end a route or follow another reload: their trips
    /// are empty, so they only add travel.
    fn tidy(&mut self, r: usize) {
        if let Some(visits) = self.tidied(self.routes[r].vt, &self.routes[r].visits) {
            self.routes[r].visits = visits;
        }
    }

    /// `visits` of a route of type `vt` without the reload visits that [`State::tidy`] drops
    /// (none when the vehicles do not reload); `None` when there is none to drop.
    fn tidied(&self, vt: usize, visits: &[u32]) -> Option<Vec<u32>> {
        if !self.features.multi_trip {
            return None;
        }
        let n = self.problem.num_clients() as u32;
        // A vehicle already out may reload before its next client (its first trip is empty).
        let keep_first = self.problem.vehicle_types[vt].on_board.is_some();
        let empty_trip = |k: usize| {
            let first = if k == 0 { !keep_first } else { visits[k - 1] >= n };
            visits[k] >= n && (first || k + 1 == visits.len())
        };
        if !(0..visits.len()).any(empty_trip) {
            return None;
        }
        let mut out: Vec<u32> = Vec::with_capacity(visits.len());
        for &v in visits {
            if v >= n && (out.last().is_some_and(|&l| l >= n) || (out.is_empty() && !keep_first)) {
                continue;
            }
            out.push(v);
        }
        while out.last().is_some_and(|&l| l >= n) {
            out.pop();
        }
        Some(out)
    }

    /// Clears the positions of route `r`'s clients.
    fn unroute(&mut self, r: usize) {
        let n = self.problem.num_clients();
        for &c in &self.routes[r].visits {
            if (c as usize) < n {
                self.pos[c as usize] = (UNROUTED, 0);
            }
        }
    }

    /// Evaluation context of route `r`'s vehicle type.
    pub fn ctx(&self, vt: usize) -> TypeCtx<'p, D, T> {
        TypeCtx::new(self.problem, vt)
    }

    /// Rebuilds the caches of route `r` after its visits changed.
    pub fn refresh(&mut self, r: usize) {
        self.step += 1;
        self.tidy(r);
        let n_clients = self.problem.num_clients();
        let ctx = self.ctx(self.routes[r].vt);
        let route = &mut self.routes[r];
        let n = route.visits.len();
        route.prefix.clear();
        route.suffix.clear();
        route.prefix_skills.clear();
        route.suffix_skills.clear();
        let mut skills = Skills::NONE;
        for (i, &c) in route.visits.iter().enumerate() {
            let s = &self.client_seg[c as usize];
            let next = if i == 0 { *s } else { ctx.join(&route.prefix[i - 1], s) };
            route.prefix.push(next);
            if (c as usize) < n_clients {
                skills = Skills(skills.0 | self.problem.clients[c as usize].skills.0);
                self.pos[c as usize] = (r as u32, i as u32);
            }
            route.prefix_skills.push(skills);
        }
        route.suffix.resize(n, self.client_seg.first().copied().unwrap_or(Seg::client(self.problem, 0)));
        route.suffix_skills.resize(n, Skills::NONE);
        let mut skills = Skills::NONE;
        for i in (0..n).rev() {
            let c = route.visits[i] as usize;
            route.suffix[i] = if i + 1 == n { self.client_seg[c] } else { ctx.join(&self.client_seg[c], &route.suffix[i + 1]) };
            if c < n_clients {
                skills = Skills(skills.0 | self.problem.clients[c].skills.0);
            }
            route.suffix_skills[i] = skills;
        }
        route.eval = ctx.evaluate(route.prefix.last());
        if self.exact_possible && needs_exact(self.problem, route.vt, route.prefix.last()) {
            route.eval = exact_eval(self.problem, route.vt, &route.visits, route.eval);
        }
        route.modified_at = self.step;
    }

    /// Folds parts into one segment for vehicle type `vt` (None when all parts are empty).
    pub fn join(&self, vt: usize, parts: &[Part]) -> Option<Seg<D, T>> {
        let ctx = self.ctx(vt);
        let mut acc: Option<Seg<D, T>> = None;
        let push = |s: &Seg<D, T>, acc: &mut Option<Seg<D, T>>| {
            *acc = Some(match acc {
                None => *s,
                Some(a) => ctx.join(a, s),
            });
        };
        for part in parts {
            match *part {
                Part::Client(c) => push(&self.client_seg[c], &mut acc),
                Part::Pre(r, _) | Part::Suf(r, _) | Part::Range(r, _, _) | Part::Rev(r, _, _) => {
                    let route = &self.routes[r];
                    let n = route.visits.len();
                    let (from, to) = match *part {
                        Part::Pre(_, k) => (0, k.min(n)),
                        Part::Suf(_, i) => (i, n),
                        Part::Range(_, i, j) | Part::Rev(_, i, j) => (i, j.min(n)),
                        Part::Client(_) => unreachable!(),
                    };
                    if from >= to {
                        continue;
                    }
                    let same_profile = self.shares_segments(route.vt, vt);
                    match *part {
                        Part::Pre(..) if same_profile => push(&route.prefix[to - 1], &mut acc),
                        Part::Suf(..) if same_profile => push(&route.suffix[from], &mut acc),
                        Part::Rev(..) => {
                            for k in (from..to).rev() {
                                push(&self.client_seg[route.visits[k] as usize], &mut acc);
                            }
                        }
                        _ => {
                            for k in from..to {
                                push(&self.client_seg[route.visits[k] as usize], &mut acc);
                            }
                        }
                    }
                }
            }
        }
        acc
    }

    /// Penalised cost of a candidate route of type `vt` made of `parts`, by its segments: exact
    /// unless [`needs_exact`] says the route needs a schedule, when it is a lower bound
    /// of [`State::exact_cost_of`].
    #[inline]
    pub fn cost_of(&self, vt: usize, parts: &[Part]) -> i64 {
        let seg = self.join(vt, parts);
        self.ctx(vt).evaluate(seg.as_ref()).penalised(&self.penalties)
    }

    /// Penalised cost of a candidate route of type `vt` made of `parts`, with an exact
    /// schedule where segments only bound it.
    pub fn exact_cost_of(&self, vt: usize, parts: &[Part]) -> i64 {
        let seg = self.join(vt, parts);
        let eval = self.ctx(vt).evaluate(seg.as_ref());
        if self.exact_possible && needs_exact(self.problem, vt, seg.as_ref()) {
            exact_eval(self.problem, vt, &self.visits_of(parts), eval).penalised(&self.penalties)
        } else {
            eval.penalised(&self.penalties)
        }
    }

    /// `bound`, the segment cost of candidate `parts` of type `vt`, confirmed by the exact
    /// schedule where some route may need one (a caller's pruning already used the bound).
    #[inline]
    pub fn confirm_cost(&self, vt: usize, parts: &[Part], bound: i64) -> i64 {
        if self.exact_possible {
            self.exact_cost_of(vt, parts)
        } else {
            bound
        }
    }

    /// Evaluation of the route of type `vt` visiting `visits` in order.
    pub fn evaluate_visits(&self, vt: usize, visits: &[u32]) -> RouteEval {
        let ctx = self.ctx(vt);
        let seg = visits.iter().map(|&c| self.client_seg[c as usize]).reduce(|a, b| ctx.join(&a, &b));
        let eval = ctx.evaluate(seg.as_ref());
        if self.exact_possible && needs_exact(self.problem, vt, seg.as_ref()) {
            exact_eval(self.problem, vt, visits, eval)
        } else {
            eval
        }
    }

    /// Penalised cost of route `r` as it is.
    #[inline]
    pub fn route_cost(&self, r: usize) -> i64 {
        self.routes[r].eval.penalised(&self.penalties)
    }

    /// Materialises parts into a list of visits.
    pub fn visits_of(&self, parts: &[Part]) -> Vec<u32> {
        let mut out = Vec::new();
        for part in parts {
            match *part {
                Part::Client(c) => out.push(c as u32),
                Part::Pre(r, k) => out.extend(self.routes[r].visits.iter().take(k)),
                Part::Suf(r, i) => out.extend(self.routes[r].visits.iter().skip(i)),
                Part::Range(r, i, j) => out.extend(self.routes[r].visits.iter().take(j).skip(i)),
                Part::Rev(r, i, j) => out.extend(self.routes[r].visits.iter().take(j).skip(i).rev()),
            }
        }
        out
    }

    /// Replaces the visits of the given routes (all parts are read before any route changes).
    pub fn apply(&mut self, changes: &[(usize, &[Part])]) {
        let new = self.materialise(changes);
        self.replace(new);
    }

    /// The new visits of each changed route.
    fn materialise(&self, changes: &[(usize, &[Part])]) -> Vec<(usize, Vec<u32>)> {
        changes.iter().map(|(r, parts)| (*r, self.visits_of(parts))).collect()
    }

    /// Gives each listed route its visits (all routes are cleared before any is refilled).
    fn replace(&mut self, routes: Vec<(usize, Vec<u32>)>) {
        for (r, _) in &routes {
            self.unroute(*r);
        }
        for (r, visits) in routes {
            self.routes[r].visits = visits;
            self.refresh(r);
        }
    }

    /// Applies `changes` as [`State::apply`] does, unless a changed route from which
    /// [`State::tidy`] drops empty trips would then cost more than its visits as given, the
    /// visits the move was judged by; returns whether it applied them.
    ///
    /// Moves are judged on their visits as given, but the routes keep (and the plan shows) the
    /// tidied ones. An empty trip can look useful to the judge: a reload before the first
    /// client delays the start, which a schedule with announced times can reward. Applying
    /// such a move made the route dearer, and a local search could go on "improving" forever
    /// (a replan's repair once ran for over ten minutes). With this check every move a search
    /// applies lowers its cost by at least what it was judged to save, so a local search ends.
    pub fn apply_judged(&mut self, changes: &[(usize, &[Part])]) -> bool {
        let new = self.materialise(changes);
        // (route, cost of its new visits as given) for the routes that tidying will change.
        let judged: Vec<(usize, i64)> = new
            .iter()
            .filter(|(r, visits)| self.tidied(self.routes[*r].vt, visits).is_some())
            .map(|(r, visits)| (*r, self.evaluate_visits(self.routes[*r].vt, visits).penalised(&self.penalties)))
            .collect();
        if judged.is_empty() {
            self.replace(new);
            return true;
        }
        let old: Vec<(usize, Vec<u32>)> = changes.iter().map(|(r, _)| (*r, self.routes[*r].visits.clone())).collect();
        self.replace(new);
        if judged.iter().all(|&(r, cost)| self.route_cost(r) <= cost) {
            return true;
        }
        self.replace(old);
        false
    }

    /// Sets the visits of route `r` directly.
    pub fn set_route(&mut self, r: usize, visits: Vec<u32>) {
        self.unroute(r);
        self.routes[r].visits = visits;
        self.refresh(r);
    }

    /// Prizes of optional clients left out.
    pub fn lost_prizes(&self) -> i64 {
        self.pos.iter().enumerate().filter(|(c, p)| p.0 == UNROUTED && !self.problem.clients[*c].required).map(|(c, _)| self.problem.clients[c].prize).sum()
    }

    /// Required clients, and required groups, left out (the search keeps this at zero).
    pub fn missing_required(&self) -> usize {
        let clients = self.pos.iter().enumerate().filter(|(c, p)| p.0 == UNROUTED && self.problem.clients[*c].required).count();
        let groups = self.problem.groups.iter().filter(|g| g.required && g.clients.iter().all(|&c| self.pos[c].0 == UNROUTED)).count();
        clients + groups
    }

    /// The routed client of `c`'s group other than `c`, if any.
    #[inline]
    pub fn group_rival(&self, c: usize) -> Option<usize> {
        let g = self.problem.group_of(c)?;
        self.problem.groups[g].clients.iter().copied().find(|&o| o != c && self.pos[o].0 != UNROUTED)
    }

    /// Whether client `c` must be routed: it is required, or it is in a required group none of
    /// whose clients is routed.
    #[inline]
    pub fn must_route(&self, c: usize) -> bool {
        if self.problem.clients[c].required {
            return true;
        }
        match self.problem.group_of(c) {
            Some(g) => self.problem.groups[g].required && self.group_rival(c).is_none() && self.pos[c].0 == UNROUTED,
            None => false,
        }
    }

    /// Whether routed client `c` is the one routed client of a required group (so it may only be
    /// replaced, not left out).
    #[inline]
    pub fn must_route_alone(&self, c: usize) -> bool {
        self.problem.group_of(c).is_some_and(|g| self.problem.groups[g].required) && self.group_rival(c).is_none()
    }

    /// Whether client `c` may be added: no other client of its group is routed.
    #[inline]
    pub fn may_route(&self, c: usize) -> bool {
        self.group_rival(c).is_none()
    }

    /// Unroutes clients until no group has two routed: of each such group, the client whose
    /// removal saves least stays. Returns whether it changed anything.
    pub fn drop_group_doubles(&mut self) -> bool {
        let mut changed = false;
        for g in 0..self.problem.groups.len() {
            let routed: Vec<usize> = self.problem.groups[g].clients.iter().copied().filter(|&c| self.pos[c].0 != UNROUTED).collect();
            if routed.len() < 2 {
                continue;
            }
            let saving = |s: &Self, c: usize| {
                let (r, i) = (s.pos[c].0 as usize, s.pos[c].1 as usize);
                s.route_cost(r) - s.cost_of(s.routes[r].vt, &[Part::Pre(r, i), Part::Suf(r, i + 1)])
            };
            let keep = routed.iter().copied().min_by_key(|&c| saving(self, c)).unwrap_or(routed[0]);
            for c in routed.into_iter().filter(|&c| c != keep) {
                let (r, i) = (self.pos[c].0 as usize, self.pos[c].1 as usize);
                self.apply(&[(r, &[Part::Pre(r, i), Part::Suf(r, i + 1)])]);
            }
            changed = true;
        }
        changed
    }

    /// Total penalised objective.
    pub fn penalised_cost(&self) -> i64 {
        (0..self.routes.len()).map(|r| self.route_cost(r)).sum::<i64>() + self.lost_prizes()
    }

    /// True objective (meaningful when feasible).
    pub fn cost(&self) -> i64 {
        self.routes.iter().map(|r| r.eval.cost).sum::<i64>() + self.lost_prizes()
    }

    /// Whether every route is feasible and every required client routed.
    pub fn is_feasible(&self) -> bool {
        self.missing_required() == 0 && self.routes.iter().all(|r| r.eval.is_feasible())
    }

    /// Whether all routes respect capacity / time.
    pub fn feasibility_parts(&self) -> (bool, bool) {
        let load = self.routes.iter().all(|r| r.eval.load_excess == 0);
        let time = self.routes.iter().all(|r| r.eval.time_warp == 0 && r.eval.distance_excess == 0);
        (load, time)
    }

    /// Whether vehicle type `vt` has every skill client `c` needs.
    #[inline]
    pub fn can_serve(&self, vt: usize, c: usize) -> bool {
        self.problem.vehicle_types[vt].skills.covers(self.problem.clients[c].skills)
    }

    /// Whether vehicle type `vt` covers a set of needed skills.
    #[inline]
    pub fn covers(&self, vt: usize, skills: Skills) -> bool {
        self.problem.vehicle_types[vt].skills.covers(skills)
    }

    /// A compact copy of the routes (type and visits).
    pub fn snapshot(&self) -> Vec<(usize, Vec<u32>)> {
        self.routes.iter().map(|r| (r.vt, r.visits.clone())).collect()
    }

    /// Restores routes from a snapshot taken on this problem, touching only routes that differ.
    pub fn restore(&mut self, snap: &[(usize, Vec<u32>)]) {
        let changed: Vec<(usize, Vec<u32>)> = (0..snap.len()).filter(|&r| self.routes[r].visits != snap[r].1).map(|r| (r, snap[r].1.clone())).collect();
        self.replace(changed);
    }

    /// An empty route of vehicle type `t`, if any (amortised constant time).
    pub fn empty_route(&mut self, t: usize) -> Option<usize> {
        let hint = self.empty_hint[t];
        if hint < self.routes.len() && self.routes[hint].vt == t && self.routes[hint].visits.is_empty() {
            return Some(hint);
        }
        let found = (0..self.routes.len()).find(|&r| self.routes[r].vt == t && self.routes[r].visits.is_empty())?;
        self.empty_hint[t] = found;
        Some(found)
    }

    /// Marks every client as tested now: the state holds a local optimum (a restored, educated
    /// solution), so only what changes from here on needs the local search's attention.
    pub fn mark_all_tested(&mut self) {
        self.step += 1;
        let now = self.step;
        self.last_tested.iter_mut().for_each(|t| *t = now);
    }

    /// Marks infeasible routes as changed, so the local search retests the moves around them
    /// after penalty weights changed (feasible routes cost the same under any weights).
    pub fn touch_infeasible(&mut self) {
        self.step += 1;
        for r in self.routes.iter_mut() {
            if !r.eval.is_feasible() {
                r.modified_at = self.step;
            }
        }
    }

    /// The solution this state stands for.
    pub fn to_solution(&self) -> Solution {
        solution_from_routes(self.problem, &self.snapshot())
    }
}

/// Whether some client's time windows are narrower than every vehicle's shift.
pub fn has_binding_windows(p: &Problem) -> bool {
    let early = p.vehicle_types.iter().map(|v| v.shift.early).min().unwrap_or(0);
    let late = p.vehicle_types.iter().map(|v| v.shift.late).max().unwrap_or(0);
    p.clients.iter().any(|c| c.time_windows.len() > 1 || c.early() > early || c.late() < late)
}

/// Whether some vehicle type has driver breaks.
pub fn has_breaks(p: &Problem) -> bool {
    p.vehicle_types.iter().any(|v| !v.breaks.is_empty())
}

/// Whether some vehicle type drives in rush hours.
pub fn has_rush_hours(p: &Problem) -> bool {
    (0..p.vehicle_types.len()).any(|t| p.is_time_dependent(t))
}

/// Whether a route of type `vt` summarised by `seg` needs an exact evaluation: its type has
/// driver breaks or drives in rush hours (the segments use free-flow durations, a lower bound),
/// it visits a client with several time windows, or moving announced clients costs something
/// (a replan).
#[inline]
pub fn needs_exact<const D: usize, const T: usize>(p: &Problem, vt: usize, seg: Option<&Seg<D, T>>) -> bool {
    seg.is_some_and(|s| s.multi_window || !p.vehicle_types[vt].breaks.is_empty() || p.stability_active() || p.is_time_dependent(vt))
}

/// `bound` (the segments' evaluation of route `visits` of type `t`) made exact: the timing of an
/// exact schedule where breaks or several windows need one (see [`super::schedule`]), and the
/// cost of serving announced clients with another vehicle type.
pub fn exact_eval(p: &Problem, t: usize, visits: &[u32], bound: RouteEval) -> RouteEval {
    let n = p.num_clients();
    let clients = visits.iter().map(|&v| v as usize).filter(|&v| v < n);
    let mut moved: i64 = if p.stability_active() { clients.clone().map(|c| p.stability.cost(c, t)).sum() } else { 0 };
    let st = &p.stability;
    let shifts = p.counts_shifts() && clients.clone().any(|c| st.arrival.get(c).is_some_and(Option::is_some));
    let vt = &p.vehicle_types[t];
    if !shifts && vt.breaks.is_empty() && !p.is_time_dependent(t) && clients.clone().all(|c| p.clients[c].time_windows.len() == 1) {
        return RouteEval { cost: bound.cost + moved, ..bound };
    }
    let (breaks, timing) = schedule::place_breaks(p, t, visits);
    if shifts {
        // Announced clients whose service moved too far from its announced time.
        let starts = schedule::service_starts(p, t, visits, &breaks);
        moved += clients.zip(starts).map(|(c, start)| st.shift_cost(c, t, start)).sum::<i64>();
    }
    RouteEval { cost: route_cost(vt, bound.distance, timing.duration) + moved, duration: timing.duration, time_warp: timing.time_warp, ..bound }
}

/// Whether some vehicle type may make more than one trip.
pub fn is_multi_trip(p: &Problem) -> bool {
    p.vehicle_types.iter().any(|v| v.max_trips > 1 && !v.reload_depots.is_empty())
}

/// The solution made of `routes` (vehicle type, visits); clients in none are unassigned, with
/// the reason the problem gives for them, or "not worth its prize" for optional ones.
pub fn solution_from_routes(p: &Problem, routes: &[(usize, Vec<u32>)]) -> Solution {
    let n = p.num_clients();
    let mut routed = vec![false; n];
    for (_, visits) in routes {
        for &c in visits {
            if (c as usize) < n {
                routed[c as usize] = true;
            }
        }
    }
    let routes = routes
        .iter()
        .filter(|(_, v)| v.iter().any(|&c| (c as usize) < n))
        .map(|(vt, v)| {
            // Reload nodes start new trips; empty trips (a reload first, last or twice) vanish.
            let mut route = Route::single(*vt, p.vehicle_types[*vt].start_depot, Vec::new());
            let placed = if p.vehicle_types[*vt].breaks.is_empty() { Vec::new() } else { schedule::place_breaks(p, *vt, v).0 };
            let mut placed = placed.into_iter().peekable();
            // A break on the leg about to be driven: after the visits so far of the last trip.
            let take = |route: &mut Route, index: usize| {
                let trip = route.trips.len() - 1;
                route.breaks.push(BreakStop { index, trip, after: route.trips[trip].visits.len() });
            };
            for (i, &c) in v.iter().enumerate() {
                while let Some((_, index)) = placed.next_if(|&(pos, _)| pos == i) {
                    take(&mut route, index);
                }
                match (c as usize).checked_sub(n) {
                    None => route.trips.last_mut().expect("a route has a trip").visits.push(c as usize),
                    Some(d) => {
                        let k = route.trips.len();
                        // A vehicle already out may head for a reload first: its first trip,
                        // with what it carries, stays (empty).
                        if !route.trips[k - 1].visits.is_empty() || (k == 1 && p.vehicle_types[*vt].on_board.is_some()) {
                            route.trips.push(Trip { depot: d, visits: Vec::new() });
                        } else if k > 1 {
                            route.trips[k - 1].depot = d;
                        }
                    }
                }
            }
            if route.trips.len() > 1 && route.trips.last().is_some_and(|t| t.visits.is_empty()) {
                route.trips.pop();
            }
            for (_, index) in placed {
                take(&mut route, index);
            }
            route
        })
        .collect();
    let unassigned = (0..p.num_clients())
        .filter(|&c| !routed[c])
        .map(|c| Unassigned {
            client: c,
            reason: p.why_unservable(c).unwrap_or(if p.clients[c].required {
                UnassignedReason::NoFeasibleRoute
            } else if p.group_of(c).is_some_and(|g| p.groups[g].clients.iter().any(|&o| routed[o])) {
                UnassignedReason::GroupServed
            } else {
                UnassignedReason::NotWorthPrize
            }),
        })
        .collect();
    Solution { routes, unassigned }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::segment::initial_penalties;
    use crate::model::OnBoard;
    use crate::test_support::tiny_problem_data;

    /// The tiny problem with one truck that may reload at its depot (three trips).
    fn reload_problem(on_board: bool) -> Problem {
        let mut d = tiny_problem_data();
        d.vehicle_types[0].reload_depots = vec![0];
        d.vehicle_types[0].max_trips = 3;
        if on_board {
            d.vehicle_types[0].on_board = Some(OnBoard { stock: vec![10], empties: vec![0] });
        }
        Problem::new(d).unwrap()
    }

    #[test]
    fn tidying_drops_only_empty_trips() {
        let p = reload_problem(false);
        let s = State::<1, 1>::empty(&p, initial_penalties(&p));
        let r = s.reload_node(0);
        assert_eq!(s.tidied(0, &[r, 0, r, r, 1, r]), Some(vec![0, r, 1]));
        assert_eq!(s.tidied(0, &[r, r]), Some(vec![]));
        assert_eq!(s.tidied(0, &[0, r, 1]), None);
        // A vehicle already out may head for a reload first.
        let out = reload_problem(true);
        let s = State::<1, 1>::empty(&out, initial_penalties(&out));
        assert_eq!(s.tidied(0, &[r, 0, r, r, 1, r]), Some(vec![r, 0, r, 1]));
        assert_eq!(s.tidied(0, &[r, 0, r, 1]), None);
    }

    #[test]
    fn a_judged_move_is_made_and_its_empty_trips_dropped_when_that_costs_no_more() {
        let p = reload_problem(false);
        let mut s = State::<1, 1>::empty(&p, initial_penalties(&p));
        s.set_route(0, vec![0, 1]);
        let reload = s.reload_node(0) as usize;
        // A reload at the end of the route: an empty trip, free here (the depot, no reload time).
        assert!(s.apply_judged(&[(0, &[Part::Pre(0, 2), Part::Client(reload)])]));
        assert_eq!(s.routes[0].visits, vec![0, 1]);
        assert_eq!(s.pos[1], (0, 1));
    }
}
