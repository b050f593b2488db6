//! The capacitated search's local search (Vidal 2022, section 3): for each client `u` in random
//! order and each of its granular neighbours `v`, the moves RELOCATE (of `u`, of `u` and its
//! successor `x`, of both reversed), SWAP (of `u` or `ux` with `v` or `vy`), 2-OPT within a
//! route and both 2-OPT* between routes, and the same with `v` the start of `v`'s route; from
//! the second pass on, moves into an empty route too. Then SWAP* between every two routes whose
//! polar sectors overlap: `u` and `v` change routes, each inserted where it is cheapest (among
//! the three best insertion points found beforehand, or `v`'s place), not necessarily in the
//! other's place. The first improving move is applied; passes go on until none improves.
//!
//! Moves are evaluated in constant time from each route's prefix sums of distance and load,
//! with the penalty of load over the capacity. An improving move is applied by rebuilding the
//! routes it touches, whose exact cost is checked first (a move that would not lower it is
//! dropped).

use super::data::Data;
use super::individual::Individual;
use crate::engine::rng::Rng;
use crate::engine::three::keep_three;

/// Improvement below which a move is not worth making.
const EPS: f64 = 1e-5;

/// A route with its depot at both ends (node 0 at index 0 and at `len + 1`).
#[derive(Clone, Debug, Default)]
struct Route {
    nodes: Vec<u32>,
    /// Load of the nodes up to each index, inclusive.
    load: Vec<i64>,
    /// Distance driven up to each index.
    dist: Vec<i64>,
    /// Penalty of the route's excess load.
    penalty: f64,
    /// Move counter when the route last changed.
    modified: i64,
    /// Move counter when SWAP* last started from this route.
    swap_tested: i64,
    sector: Sector,
}

impl Route {
    #[inline(always)]
    fn len(&self) -> usize {
        self.nodes.len() - 2
    }
    #[inline(always)]
    fn total_load(&self) -> i64 {
        self.load[self.nodes.len() - 1]
    }
    #[inline(always)]
    fn total_dist(&self) -> i64 {
        self.dist[self.nodes.len() - 1]
    }
    fn clients(&self) -> &[u32] {
        &self.nodes[1..self.nodes.len() - 1]
    }
}

/// An arc of the circle (angles in 1/65536 of a turn) holding a route's clients.
#[derive(Clone, Copy, Debug, Default)]
struct Sector {
    start: i32,
    end: i32,
}

#[inline(always)]
fn turn(a: i32) -> i32 {
    a.rem_euclid(65536)
}

impl Sector {
    fn at(angle: i32) -> Sector {
        Sector { start: angle, end: angle }
    }
    fn extend(&mut self, p: i32) {
        if turn(p - self.start) > turn(self.end - self.start) {
            if turn(p - self.end) <= turn(self.start - p) {
                self.end = p;
            } else {
                self.start = p;
            }
        }
    }
    fn overlaps(&self, o: &Sector) -> bool {
        turn(o.start - self.start) <= turn(self.end - self.start) || turn(self.start - o.start) <= turn(o.end - o.start)
    }
}

/// An insertion point for SWAP*: its cost and the node after which to insert.
#[derive(Clone, Copy, Debug)]
struct Insertion {
    cost: f64,
    /// Index of the edge (after `nodes[k]`), `usize::MAX` for none.
    k: usize,
}

const NONE: Insertion = Insertion { cost: f64::INFINITY, k: usize::MAX };

/// Where `u` and `v` are and what lies around them, for one evaluation of the moves.
#[derive(Clone, Copy, Debug)]
struct Around {
    ru: usize,
    ku: usize,
    u: usize,
    pu: usize,
    x: usize,
    x_depot: bool,
    nx: usize,
    rv: usize,
    kv: usize,
    v: usize,
    pv: usize,
    y: usize,
    y_depot: bool,
    ny: usize,
}

/// The best SWAP* candidate found: a swap (`u` after `au` in `v`'s route, `v` after `av` in
/// `u`'s) or a relocation of one of them.
#[derive(Clone, Copy, Debug)]
enum Star {
    Swap { u: u32, v: u32, au: u32, av: u32 },
    Relocate { node: u32, to: usize, after: u32 },
}

pub(crate) struct LocalSearch<'a> {
    data: &'a Data,
    penalty: f64,
    routes: Vec<Route>,
    route_of: Vec<u32>,
    index: Vec<u32>,
    last_tested: Vec<i64>,
    order: Vec<u32>,
    route_order: Vec<u32>,
    neighbours: Vec<Vec<u32>>,
    moves: i64,
    a: Vec<u32>,
    b: Vec<u32>,
    ins_u: Vec<[Insertion; 3]>,
    ins_v: Vec<[Insertion; 3]>,
}

impl<'a> LocalSearch<'a> {
    pub fn new(data: &'a Data) -> Self {
        LocalSearch {
            data,
            penalty: 1.0,
            routes: vec![Route::default(); data.fleet],
            route_of: vec![0; data.n + 1],
            index: vec![0; data.n + 1],
            last_tested: vec![-1; data.n + 1],
            order: (1..=data.n as u32).collect(),
            route_order: (0..data.fleet as u32).collect(),
            neighbours: data.neighbours.clone(),
            moves: 0,
            a: Vec::new(),
            b: Vec::new(),
            ins_u: Vec::new(),
            ins_v: Vec::new(),
        }
    }

    #[inline(always)]
    fn d(&self, a: usize, b: usize) -> f64 {
        self.data.d(a, b) as f64
    }

    #[inline(always)]
    fn pen(&self, load: i64) -> f64 {
        self.penalty * (load - self.data.capacity).max(0) as f64
    }

    /// Improves `ind` with the capacity penalty `penalty` until no move improves it (or `stop`);
    /// `ind` gets the result, its routes in the order of their polar angle.
    pub fn run(&mut self, ind: &mut Individual, penalty: f64, rng: &mut Rng, stop: &dyn Fn() -> bool) {
        self.penalty = penalty;
        self.moves = 0;
        for (r, clients) in ind.routes.iter().enumerate() {
            self.set_route(r, clients.iter().copied());
            self.routes[r].modified = 0;
            self.routes[r].swap_tested = -1;
        }
        self.last_tested.iter_mut().for_each(|t| *t = -1);
        rng.shuffle(&mut self.order);
        rng.shuffle(&mut self.route_order);
        for list in self.neighbours.iter_mut().skip(1) {
            if rng.below(list.len().max(1)) == 0 {
                rng.shuffle(list);
            }
        }
        let mut pass = 0;
        loop {
            let mut improved = false;
            for p in 0..self.order.len() {
                let u = self.order[p] as usize;
                let last = self.last_tested[u];
                self.last_tested[u] = self.moves;
                for q in 0..self.neighbours[u].len() {
                    let v = self.neighbours[u][q] as usize;
                    let (ru, rv) = (self.route_of[u] as usize, self.route_of[v] as usize);
                    if pass == 0 || self.routes[ru].modified.max(self.routes[rv].modified) > last {
                        improved |= self.try_pair(u, v);
                    }
                }
                if pass > 0 {
                    if let Some(empty) = (0..self.routes.len()).find(|&r| self.routes[r].len() == 0) {
                        let at = self.around(u, empty, 0);
                        improved |= self.relocate(&at) || self.relocate_pair(&at, false) || self.relocate_pair(&at, true) || self.two_opt_star(&at);
                    }
                }
            }
            for i in 0..self.route_order.len() {
                let ru = self.route_order[i] as usize;
                if self.routes[ru].len() == 0 {
                    continue;
                }
                let last = self.routes[ru].swap_tested;
                self.routes[ru].swap_tested = self.moves;
                for j in 0..self.route_order.len() {
                    let rv = self.route_order[j] as usize;
                    if ru < rv
                        && self.routes[rv].len() > 0
                        && self.routes[ru].modified.max(self.routes[rv].modified) > last
                        && self.routes[ru].sector.overlaps(&self.routes[rv].sector)
                    {
                        improved |= self.swap_star(ru, rv);
                    }
                }
            }
            if !improved || stop() {
                break;
            }
            pass += 1;
        }
        self.export(ind);
    }

    /// Writes the routes into `ind`, ordered by the polar angle of their clients' barycentre.
    fn export(&self, ind: &mut Individual) {
        let mut keys: Vec<(f64, usize)> = (0..self.routes.len())
            .map(|r| {
                let c = self.routes[r].clients();
                if c.is_empty() {
                    return (f64::INFINITY, r);
                }
                let (sx, sy) = c.iter().fold((0.0, 0.0), |(sx, sy), &k| (sx + self.data.xy[k as usize].0, sy + self.data.xy[k as usize].1));
                (sy.atan2(sx), r)
            })
            .collect();
        keys.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        ind.giant.clear();
        for (slot, &(_, r)) in keys.iter().enumerate() {
            ind.routes[slot].clear();
            ind.routes[slot].extend_from_slice(self.routes[r].clients());
            ind.giant.extend_from_slice(self.routes[r].clients());
        }
        ind.evaluate(self.data, self.penalty);
    }

    /// Makes route `r` visit `clients` and updates its sums, sector and the clients' places.
    fn set_route(&mut self, r: usize, clients: impl Iterator<Item = u32>) {
        let mut route = std::mem::take(&mut self.routes[r]);
        route.nodes.clear();
        route.nodes.push(0);
        route.nodes.extend(clients);
        route.nodes.push(0);
        route.load.clear();
        route.dist.clear();
        let (mut load, mut dist) = (0, 0);
        let mut prev = 0usize;
        for (k, &node) in route.nodes.iter().enumerate() {
            let node = node as usize;
            load += self.data.demand[node];
            if k > 0 {
                dist += self.data.d(prev, node);
            }
            route.load.push(load);
            route.dist.push(dist);
            if node != 0 {
                self.route_of[node] = r as u32;
                self.index[node] = k as u32;
                if k == 1 {
                    route.sector = Sector::at(self.data.angle[node]);
                } else {
                    route.sector.extend(self.data.angle[node]);
                }
            }
            prev = node;
        }
        route.penalty = self.pen(load);
        route.modified = self.moves;
        self.routes[r] = route;
    }

    /// Cost (distance plus penalty) of a route visiting `clients`.
    fn cost_of(&self, clients: &[u32]) -> f64 {
        let (mut dist, mut load, mut prev) = (0, 0, 0usize);
        for &c in clients {
            let c = c as usize;
            dist += self.data.d(prev, c);
            load += self.data.demand[c];
            prev = c;
        }
        if !clients.is_empty() {
            dist += self.data.d(prev, 0);
        }
        dist as f64 + self.pen(load)
    }

    fn route_cost(&self, r: usize) -> f64 {
        self.routes[r].total_dist() as f64 + self.routes[r].penalty
    }

    /// Applies the new client lists in `self.a` (route `ru`) and, for two routes, `self.b`
    /// (route `rv`) when they lower the exact cost; whether they did.
    fn commit(&mut self, ru: usize, rv: Option<usize>, _claimed: f64) -> bool {
        let old = self.route_cost(ru) + rv.map_or(0.0, |r| self.route_cost(r));
        let new = self.cost_of(&self.a) + rv.map_or(0.0, |_| self.cost_of(&self.b));
        debug_assert!((new - old - _claimed).abs() < 1e-6 * (1.0 + old.abs()), "move claimed {_claimed}, exact {}", new - old);
        if new - old > -EPS {
            return false;
        }
        self.moves += 1;
        let a = std::mem::take(&mut self.a);
        self.set_route(ru, a.iter().copied());
        self.a = a;
        if let Some(rv) = rv {
            let b = std::mem::take(&mut self.b);
            self.set_route(rv, b.iter().copied());
            self.b = b;
        }
        true
    }

    fn around(&self, u: usize, rv: usize, kv: usize) -> Around {
        let ru = self.route_of[u] as usize;
        let ku = self.index[u] as usize;
        let nu = &self.routes[ru].nodes;
        let x_depot = ku + 1 == nu.len() - 1;
        let nvs = &self.routes[rv].nodes;
        let y_depot = kv + 1 == nvs.len() - 1;
        Around {
            ru,
            ku,
            u,
            pu: nu[ku - 1] as usize,
            x: nu[ku + 1] as usize,
            x_depot,
            nx: if x_depot { 0 } else { nu[ku + 2] as usize },
            rv,
            kv,
            v: nvs[kv] as usize,
            pv: if kv == 0 { 0 } else { nvs[kv - 1] as usize },
            y: nvs[kv + 1] as usize,
            y_depot,
            ny: if y_depot { 0 } else { nvs[kv + 2] as usize },
        }
    }

    /// The moves between `u` and its neighbour `v`; whether one was applied.
    fn try_pair(&mut self, u: usize, v: usize) -> bool {
        let rv = self.route_of[v] as usize;
        let at = self.around(u, rv, self.index[v] as usize);
        if self.relocate(&at) || self.relocate_pair(&at, false) || self.relocate_pair(&at, true) {
            return true;
        }
        if (u <= v && self.swap(&at)) || self.swap_pair_one(&at) || (u <= v && self.swap_pairs(&at)) {
            return true;
        }
        if at.ru == at.rv {
            if self.two_opt(&at) {
                return true;
            }
        } else if self.two_opt_star_reversed(&at) || self.two_opt_star(&at) {
            return true;
        }
        // `v` first on its route: the same moves with `v` the route's start.
        if at.kv == 1 {
            let at = self.around(u, rv, 0);
            if self.relocate(&at) || self.relocate_pair(&at, false) || self.relocate_pair(&at, true) {
                return true;
            }
            if at.ru != at.rv && (self.two_opt_star_reversed(&at) || self.two_opt_star(&at)) {
                return true;
            }
        }
        false
    }

    /// The whole change of a move of `delta` in distance that changes the load of `u`'s route
    /// by `diff` (and `v`'s by `-diff`, when it is another route); `None` unless it improves.
    #[inline(always)]
    fn improving(&self, at: &Around, delta: f64, diff: i64) -> Option<f64> {
        if at.ru == at.rv {
            return (delta <= -EPS).then_some(delta);
        }
        self.improving_between(at, delta, self.routes[at.ru].total_load() + diff, self.routes[at.rv].total_load() - diff)
    }

    /// The whole change of a move between two routes of `delta` in distance that leaves them
    /// with loads `load_u` and `load_v`; `None` unless it improves.
    #[inline(always)]
    fn improving_between(&self, at: &Around, delta: f64, load_u: i64, load_v: i64) -> Option<f64> {
        // What a move can save on penalties is at most what the two routes pay now.
        if delta >= self.penalties(at) {
            return None;
        }
        let delta = delta + self.pen(load_u) + self.pen(load_v) - self.penalties(at);
        (delta <= -EPS).then_some(delta)
    }

    /// Commits new client lists for the routes of `at`, built by `build` from their current
    /// ones (into `a` for `u`'s route, `b` for `v`'s).
    fn commit_two(&mut self, at: &Around, delta: f64, build: impl FnOnce(&[u32], &[u32], &mut Vec<u32>, &mut Vec<u32>)) -> bool {
        let (mut a, mut b) = (std::mem::take(&mut self.a), std::mem::take(&mut self.b));
        a.clear();
        b.clear();
        build(self.routes[at.ru].clients(), self.routes[at.rv].clients(), &mut a, &mut b);
        (self.a, self.b) = (a, b);
        self.commit(at.ru, Some(at.rv), delta)
    }

    /// Both routes' current penalties (a lower bound of what a move between them saves on
    /// penalties).
    #[inline(always)]
    fn penalties(&self, at: &Around) -> f64 {
        self.routes[at.ru].penalty + self.routes[at.rv].penalty
    }

    /// Puts the block `block` after node `after` (0: at the start) of client list `list`.
    fn insert_after(list: &mut Vec<u32>, after: u32, block: &[u32]) {
        let at = if after == 0 { 0 } else { list.iter().position(|&c| c == after).map_or(list.len(), |p| p + 1) };
        list.splice(at..at, block.iter().copied());
    }

    /// RELOCATE (`block` of `u`, or of `u` and `x` in that or the reversed order) after `v`:
    /// builds the new lists and commits.
    fn commit_relocation(&mut self, at: &Around, block: &[u32], delta: f64) -> bool {
        if at.ru == at.rv {
            let mut a = std::mem::take(&mut self.a);
            a.clear();
            a.extend(self.routes[at.ru].clients().iter().copied().filter(|c| !block.contains(c)));
            Self::insert_after(&mut a, at.v as u32, block);
            self.a = a;
            return self.commit(at.ru, None, delta);
        }
        let kv = at.kv;
        self.commit_two(at, delta, |cu, cv, a, b| {
            a.extend(cu.iter().copied().filter(|c| !block.contains(c)));
            b.extend_from_slice(cv);
            b.splice(kv..kv, block.iter().copied());
        })
    }

    /// Move 1: `u` after `v`.
    fn relocate(&mut self, at: &Around) -> bool {
        if at.u == at.y {
            return false;
        }
        let delta = self.d(at.pu, at.x) - self.d(at.pu, at.u) - self.d(at.u, at.x) + self.d(at.v, at.u) + self.d(at.u, at.y) - self.d(at.v, at.y);
        let Some(delta) = self.improving(at, delta, -self.data.demand[at.u]) else { return false };
        self.commit_relocation(at, &[at.u as u32], delta)
    }

    /// Moves 2 and 3: `u` and `x` after `v` (`x` first when `reversed`).
    fn relocate_pair(&mut self, at: &Around, reversed: bool) -> bool {
        if at.x_depot || at.u == at.y || at.x == at.v {
            return false;
        }
        let mut delta = self.d(at.pu, at.nx) - self.d(at.pu, at.u) - self.d(at.x, at.nx) - self.d(at.v, at.y);
        delta += if reversed { self.d(at.v, at.x) + self.d(at.u, at.y) } else { self.d(at.v, at.u) + self.d(at.x, at.y) };
        let Some(delta) = self.improving(at, delta, -self.data.demand[at.u] - self.data.demand[at.x]) else { return false };
        let block = if reversed { [at.x as u32, at.u as u32] } else { [at.u as u32, at.x as u32] };
        self.commit_relocation(at, &block, delta)
    }

    /// SWAP moves: builds the lists with block `bu` (starting at `u`) and block `bv` (starting
    /// at `v`) exchanged, and commits.
    fn commit_swap(&mut self, at: &Around, bu: &[u32], bv: &[u32], delta: f64) -> bool {
        let swapped = |clients: &[u32], out: &mut Vec<u32>| {
            out.clear();
            let mut i = 0;
            while i < clients.len() {
                if clients[i..].starts_with(bu) {
                    out.extend_from_slice(bv);
                    i += bu.len();
                } else if clients[i..].starts_with(bv) {
                    out.extend_from_slice(bu);
                    i += bv.len();
                } else {
                    out.push(clients[i]);
                    i += 1;
                }
            }
        };
        if at.ru == at.rv {
            let mut a = std::mem::take(&mut self.a);
            swapped(self.routes[at.ru].clients(), &mut a);
            self.a = a;
            return self.commit(at.ru, None, delta);
        }
        self.commit_two(at, delta, |cu, cv, a, b| {
            swapped(cu, a);
            swapped(cv, b);
        })
    }

    /// Move 4: `u` and `v` change places.
    fn swap(&mut self, at: &Around) -> bool {
        if at.kv == 0 || at.u == at.pv || at.u == at.y {
            return false;
        }
        let delta = self.d(at.pu, at.v) + self.d(at.v, at.x) - self.d(at.pu, at.u) - self.d(at.u, at.x) + self.d(at.pv, at.u) + self.d(at.u, at.y)
            - self.d(at.pv, at.v)
            - self.d(at.v, at.y);
        let Some(delta) = self.improving(at, delta, self.data.demand[at.v] - self.data.demand[at.u]) else { return false };
        self.commit_swap(at, &[at.u as u32], &[at.v as u32], delta)
    }

    /// Move 5: `u` and `x` change places with `v`.
    fn swap_pair_one(&mut self, at: &Around) -> bool {
        if at.kv == 0 || at.x_depot || at.u == at.pv || at.x == at.pv || at.u == at.y {
            return false;
        }
        let delta = self.d(at.pu, at.v) + self.d(at.v, at.nx) - self.d(at.pu, at.u) - self.d(at.x, at.nx) + self.d(at.pv, at.u) + self.d(at.x, at.y)
            - self.d(at.pv, at.v)
            - self.d(at.v, at.y);
        let Some(delta) = self.improving(at, delta, self.data.demand[at.v] - self.data.demand[at.u] - self.data.demand[at.x]) else { return false };
        self.commit_swap(at, &[at.u as u32, at.x as u32], &[at.v as u32], delta)
    }

    /// Move 6: `u` and `x` change places with `v` and `y`.
    fn swap_pairs(&mut self, at: &Around) -> bool {
        if at.kv == 0 || at.x_depot || at.y_depot || at.y == at.pu || at.u == at.y || at.x == at.v || at.v == at.nx {
            return false;
        }
        let delta = self.d(at.pu, at.v) + self.d(at.y, at.nx) - self.d(at.pu, at.u) - self.d(at.x, at.nx) + self.d(at.pv, at.u) + self.d(at.x, at.ny)
            - self.d(at.pv, at.v)
            - self.d(at.y, at.ny);
        let diff = self.data.demand[at.v] + self.data.demand[at.y] - self.data.demand[at.u] - self.data.demand[at.x];
        let Some(delta) = self.improving(at, delta, diff) else { return false };
        self.commit_swap(at, &[at.u as u32, at.x as u32], &[at.v as u32, at.y as u32], delta)
    }

    /// Move 7: within one route, `x` to `v` reversed (u → v … x → y).
    fn two_opt(&mut self, at: &Around) -> bool {
        if at.ku >= at.kv || at.x == at.v {
            return false;
        }
        let delta = self.d(at.u, at.v) + self.d(at.x, at.y) - self.d(at.u, at.x) - self.d(at.v, at.y);
        if delta > -EPS {
            return false;
        }
        let mut a = std::mem::take(&mut self.a);
        a.clear();
        a.extend_from_slice(self.routes[at.ru].clients());
        a[at.ku..at.kv].reverse();
        self.a = a;
        self.commit(at.ru, None, delta)
    }

    /// Move 8: between routes, `u` joins `v` and `x` joins `y`, the stretches before `v` and
    /// after `u` reversed: `… u v … (start of v's route)` and `(end of u's route) … x y …`.
    fn two_opt_star_reversed(&mut self, at: &Around) -> bool {
        let (ru, rv) = (&self.routes[at.ru], &self.routes[at.rv]);
        let delta = self.d(at.u, at.v) + self.d(at.x, at.y) - self.d(at.u, at.x) - self.d(at.v, at.y);
        let (pre_u, pre_v) = (ru.load[at.ku], rv.load[at.kv]);
        let Some(delta) = self.improving_between(at, delta, pre_u + pre_v, ru.total_load() - pre_u + rv.total_load() - pre_v) else { return false };
        let (ku, kv) = (at.ku, at.kv);
        self.commit_two(at, delta, |cu, cv, a, b| {
            a.extend_from_slice(&cu[..ku]);
            a.extend(cv[..kv].iter().rev());
            b.extend(cu[ku..].iter().rev());
            b.extend_from_slice(&cv[kv..]);
        })
    }

    /// Move 9: between routes, the ends after `u` and after `v` change routes.
    fn two_opt_star(&mut self, at: &Around) -> bool {
        if at.ru == at.rv {
            return false;
        }
        let (ru, rv) = (&self.routes[at.ru], &self.routes[at.rv]);
        let delta = self.d(at.u, at.y) + self.d(at.v, at.x) - self.d(at.u, at.x) - self.d(at.v, at.y);
        let (pre_u, pre_v) = (ru.load[at.ku], rv.load[at.kv]);
        let Some(delta) = self.improving_between(at, delta, pre_u + rv.total_load() - pre_v, pre_v + ru.total_load() - pre_u) else { return false };
        let (ku, kv) = (at.ku, at.kv);
        self.commit_two(at, delta, |cu, cv, a, b| {
            a.extend_from_slice(&cu[..ku]);
            a.extend_from_slice(&cv[kv..]);
            b.extend_from_slice(&cv[..kv]);
            b.extend_from_slice(&cu[ku..]);
        })
    }

    /// The three cheapest insertions of `node` into route `r`.
    fn best_three(&self, node: usize, r: usize) -> [Insertion; 3] {
        let nodes = &self.routes[r].nodes;
        let mut best = [NONE; 3];
        for k in 0..nodes.len() - 1 {
            let (p, q) = (nodes[k] as usize, nodes[k + 1] as usize);
            let cost = self.d(p, node) + self.d(node, q) - self.d(p, q);
            keep_three(&mut best, Insertion { cost, k }, |i| i.cost);
        }
        best
    }

    /// Cheapest insertion of `node` (with insertions `three`) into route `r` once the client at
    /// index `j` has left it: (cost, node after which to insert).
    fn insertion_without(&self, node: usize, three: &[Insertion; 3], r: usize, j: usize) -> (f64, u32) {
        let nodes = &self.routes[r].nodes;
        let mut best = (f64::INFINITY, 0u32);
        if let Some(i) = three.iter().find(|i| i.k != usize::MAX && i.k + 1 != j && i.k != j) {
            best = (i.cost, nodes[i.k]);
        }
        let (p, q) = (nodes[j - 1] as usize, nodes[j + 1] as usize);
        let in_place = self.d(p, node) + self.d(node, q) - self.d(p, q);
        if in_place < best.0 {
            best = (in_place, p as u32);
        }
        best
    }

    /// Cost saved by taking the client at index `k` out of route `r` (negative or zero).
    #[inline(always)]
    fn removal(&self, r: usize, k: usize) -> f64 {
        let nodes = &self.routes[r].nodes;
        let (p, c, q) = (nodes[k - 1] as usize, nodes[k] as usize, nodes[k + 1] as usize);
        self.d(p, q) - self.d(p, c) - self.d(c, q)
    }

    /// SWAP* between routes `ru` and `rv` (and the relocations of one client between them);
    /// whether a move was applied.
    fn swap_star(&mut self, ru: usize, rv: usize) -> bool {
        let (lu, lv) = (self.routes[ru].len(), self.routes[rv].len());
        let mut ins_u = std::mem::take(&mut self.ins_u);
        let mut ins_v = std::mem::take(&mut self.ins_v);
        ins_u.clear();
        ins_v.clear();
        for i in 1..=lu {
            ins_u.push(self.best_three(self.routes[ru].nodes[i] as usize, rv));
        }
        for j in 1..=lv {
            ins_v.push(self.best_three(self.routes[rv].nodes[j] as usize, ru));
        }
        let (load_u, load_v) = (self.routes[ru].total_load(), self.routes[rv].total_load());
        let (pen_u, pen_v) = (self.routes[ru].penalty, self.routes[rv].penalty);
        let mut best: (f64, Option<Star>) = (-EPS, None);
        for i in 1..=lu {
            let u = self.routes[ru].nodes[i] as usize;
            let du = self.data.demand[u];
            let rem_u = self.removal(ru, i);
            for j in 1..=lv {
                let v = self.routes[rv].nodes[j] as usize;
                let dv = self.data.demand[v];
                let change_u = self.pen(load_u - du + dv) - pen_u;
                let change_v = self.pen(load_v + du - dv) - pen_v;
                let rem_v = self.removal(rv, j);
                if change_u + rem_u + change_v + rem_v > 0.0 {
                    continue;
                }
                let (cu, au) = self.insertion_without(u, &ins_u[i - 1], rv, j);
                let (cv, av) = self.insertion_without(v, &ins_v[j - 1], ru, i);
                let total = change_u + rem_u + cv + change_v + rem_v + cu;
                if total < best.0 {
                    best = (total, Some(Star::Swap { u: u as u32, v: v as u32, au, av }));
                }
            }
        }
        for i in 1..=lu {
            let u = self.routes[ru].nodes[i] as usize;
            let du = self.data.demand[u];
            let ins = ins_u[i - 1][0];
            let total = self.removal(ru, i) + ins.cost + self.pen(load_u - du) - pen_u + self.pen(load_v + du) - pen_v;
            if total < best.0 {
                best = (total, Some(Star::Relocate { node: u as u32, to: rv, after: self.routes[rv].nodes[ins.k] }));
            }
        }
        for j in 1..=lv {
            let v = self.routes[rv].nodes[j] as usize;
            let dv = self.data.demand[v];
            let ins = ins_v[j - 1][0];
            let total = self.removal(rv, j) + ins.cost + self.pen(load_v - dv) - pen_v + self.pen(load_u + dv) - pen_u;
            if total < best.0 {
                best = (total, Some(Star::Relocate { node: v as u32, to: ru, after: self.routes[ru].nodes[ins.k] }));
            }
        }
        self.ins_u = ins_u;
        self.ins_v = ins_v;
        let Some(star) = best.1 else { return false };
        let mut a = std::mem::take(&mut self.a);
        let mut b = std::mem::take(&mut self.b);
        let (cu, cv) = (self.routes[ru].clients(), self.routes[rv].clients());
        match star {
            Star::Swap { u, v, au, av } => {
                a.clear();
                a.extend(cu.iter().copied().filter(|&c| c != u));
                Self::insert_after(&mut a, av, &[v]);
                b.clear();
                b.extend(cv.iter().copied().filter(|&c| c != v));
                Self::insert_after(&mut b, au, &[u]);
            }
            Star::Relocate { node, to, after } => {
                a.clear();
                a.extend(cu.iter().copied().filter(|&c| c != node));
                b.clear();
                b.extend(cv.iter().copied().filter(|&c| c != node));
                if to == rv {
                    Self::insert_after(&mut b, after, &[node]);
                } else {
                    Self::insert_after(&mut a, after, &[node]);
                }
            }
        }
        self.a = a;
        self.b = b;
        self.commit(ru, Some(rv), best.0)
    }
}
