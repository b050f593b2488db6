//! Route segments for constant-time move evaluation (Vidal et al. 2013, "concatenation"):
//! a segment summarises a sequence of visits by its distance, its load profile and its timing,
//! so that the cost of a route built by joining segments is computed without walking the route.

use crate::model::{Duration, Load, Problem, UNLIMITED};

/// Most capacity dimensions the search handles (cylinder sizes, gas and total weight fit).
pub const MAX_DIMS: usize = 8;

/// Timing summary of a sequence (Vidal et al. 2013, Sec. 3): the minimum duration to serve it,
/// the unavoidable time warp (lateness), and the window `[early, late]` in which service at its
/// first visit can start while achieving that duration and warp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeSeg {
    /// Minimum total duration (travel, service and waiting).
    pub duration: Duration,
    /// Total time warp: how much too late the sequence necessarily is.
    pub time_warp: Duration,
    /// Earliest start of service at the first visit that achieves `duration`.
    pub early: Duration,
    /// Latest start of service at the first visit without extra time warp.
    pub late: Duration,
    /// Latest release time among the visits: the trip cannot leave its depot before this.
    pub release: Duration,
}

impl TimeSeg {
    /// The segment of a single stop.
    pub fn stop(service: Duration, early: Duration, late: Duration, release: Duration) -> TimeSeg {
        TimeSeg { duration: service, time_warp: 0, early, late, release }
    }

    /// `self` followed by `next`, with `travel` from the last stop of `self` to the first of
    /// `next`.
    #[inline]
    pub fn then(&self, travel: Duration, next: &TimeSeg) -> TimeSeg {
        let delta = self.duration - self.time_warp + travel;
        let wait = (next.early - delta - self.late).max(0);
        let warp = (self.early + delta - next.late).max(0);
        TimeSeg {
            duration: self.duration + next.duration + travel + wait,
            time_warp: self.time_warp + next.time_warp + warp,
            early: (next.early - delta).max(self.early) - wait,
            late: (next.late - delta).min(self.late) + warp,
            release: self.release.max(next.release),
        }
    }
}

/// Load summary of a sequence in every dimension: total delivered, total picked up, and the
/// highest load on board at any point when the vehicle leaves with all deliveries loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSeg<const D: usize> {
    /// Sum of deliveries.
    pub delivery: [Load; D],
    /// Sum of pickups.
    pub pickup: [Load; D],
    /// Peak load on board.
    pub peak: [Load; D],
}

impl<const D: usize> LoadSeg<D> {
    /// Nothing delivered or picked up.
    pub const ZERO: Self = LoadSeg { delivery: [0; D], pickup: [0; D], peak: [0; D] };

    /// The segment of one client. A pair's amount counts as a delivery of `-amount` at its
    /// pickup and `+amount` at its delivery: the formulas below then give the exact load on
    /// board whenever the pickup precedes the delivery on the same trip (see `model::pairs`),
    /// and a segment holding both adds nothing to the depot load.
    pub fn client(problem: &Problem, c: usize) -> Self {
        let cl = &problem.clients[c];
        let role = problem.pair_role(c);
        let mut s = Self::ZERO;
        for d in 0..problem.dimensions.min(D) {
            let carried = role.map_or(0, |r| {
                let q = problem.pairs[r.pair].amount[d];
                if r.is_pickup {
                    -q
                } else {
                    q
                }
            });
            s.delivery[d] = cl.delivery[d] + carried;
            s.pickup[d] = cl.pickup[d];
            s.peak[d] = s.delivery[d].max(cl.pickup[d]);
        }
        s
    }

    /// `self` followed by `next`.
    #[inline]
    pub fn then(&self, next: &Self) -> Self {
        let mut s = Self::ZERO;
        for d in 0..D {
            s.delivery[d] = self.delivery[d] + next.delivery[d];
            s.pickup[d] = self.pickup[d] + next.pickup[d];
            // Before `next`, the vehicle still carries `next`'s deliveries; after `self`, it
            // carries `self`'s pickups.
            s.peak[d] = (self.peak[d] + next.delivery[d]).max(next.peak[d] + self.pickup[d]);
        }
        s
    }

    /// Sum over dimensions of the peak load above `capacity`.
    #[inline]
    pub fn excess(&self, capacity: &[Load], dims: usize) -> Load {
        (0..dims).map(|d| (self.peak[d] - capacity[d]).max(0)).sum()
    }

    /// Excess of a first trip that starts with `ob` on board: the empties take room all along,
    /// and what the trip delivers beyond the stock on board counts as excess too.
    #[inline]
    pub fn on_board_excess(&self, ob: &crate::model::OnBoard, capacity: &[Load], dims: usize) -> Load {
        (0..dims).map(|d| (self.peak[d] + ob.empties[d] - capacity[d]).max(0) + (self.delivery[d] - ob.stock[d]).max(0)).sum()
    }

    /// Excess for routes with backhaul precedence: deliveries above capacity plus pickups above
    /// capacity (never less than [`LoadSeg::excess`]). With every delivery before every
    /// pickup both ways are zero together, but this one falls with every client moved out of an
    /// overloaded route, where the peak only falls once both sides do: a repair then moves
    /// clients one at a time.
    #[inline]
    pub fn split_excess(&self, capacity: &[Load], dims: usize) -> Load {
        let split: Load = (0..dims).map(|d| (self.delivery[d] - capacity[d]).max(0) + (self.pickup[d] - capacity[d]).max(0)).sum();
        split.max(self.excess(capacity, dims))
    }
}

/// What a node of a search route is, for the backhaul precedence rule.
pub mod kind {
    /// A client that delivers (a linehaul), or any client when precedence does not apply.
    pub const LINEHAUL: u8 = 0;
    /// A client that only picks up (a backhaul).
    pub const BACKHAUL: u8 = 1;
    /// A reload depot visit.
    pub const RELOAD: u8 = 2;
}

/// A sequence of route nodes (client visits, and reload depot visits that start a new trip)
/// summarised for concatenation under one routing profile.
///
/// Without reloads, `time` and `load` summarise the whole sequence. With reloads the sequence
/// is `H R1 T1 .. Rk Tk` (head clients, reload visits, trips): `time` covers everything up to
/// and including the arrival and loading at the last reload `Rk`, the releases of `T1 .. Tk-1`
/// already applied to their reloads, and `load` is the head's load; [`TripSeg`] summarises the
/// rest (Vidal et al. 2014 treat reloads the same way). `T` is 1 when vehicles may reload and 0
/// otherwise, so that single-trip problems move no trip summaries around.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seg<const D: usize, const T: usize> {
    /// Location of the first node.
    pub first: u32,
    /// Location of the last node.
    pub last: u32,
    /// Travelled distance inside the sequence.
    pub distance: i64,
    /// Timing (see the type's documentation); `time.release` is the head's release.
    pub time: TimeSeg,
    /// Load of the head (the whole sequence without reloads).
    pub load: LoadSeg<D>,
    /// [`kind`] of the first node.
    pub first_kind: u8,
    /// [`kind`] of the last node.
    pub last_kind: u8,
    /// Backhaul precedence breaches inside: a linehaul right after a backhaul, or a backhaul
    /// right after a reload.
    pub precedence: u32,
    /// The trips after the head (only when `T` is 1).
    pub trips: [TripSeg<D>; T],
    /// Whether a client inside has several time windows (summarised by their hull, so the
    /// timing is a bound: see `schedule`).
    pub multi_window: bool,
}

/// What a segment with reloads knows beyond its head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TripSeg<const D: usize> {
    /// Number of reload visits.
    pub reloads: u32,
    /// Depots reloaded at, bit `min(depot, 63)`.
    pub reload_mask: u64,
    /// Depot of the last reload (meaningful when `reloads > 0`).
    pub last_reload: u32,
    /// Location of the first node of the last trip (meaningful when `has_tail`).
    pub tail_first: u32,
    /// Whether clients follow the last reload.
    pub has_tail: bool,
    /// Timing of the clients after the last reload, `tail.release` being their release.
    pub tail: TimeSeg,
    /// Load of the clients after the last reload.
    pub tail_load: LoadSeg<D>,
    /// Capacity excess of the trips between the first and the last reload.
    pub mid_excess: Load,
}

impl<const D: usize> TripSeg<D> {
    /// No reload.
    const NONE: Self = TripSeg {
        reloads: 0,
        reload_mask: 0,
        last_reload: 0,
        tail_first: 0,
        has_tail: false,
        tail: TimeSeg { duration: 0, time_warp: 0, early: 0, late: 0, release: 0 },
        tail_load: LoadSeg::ZERO,
        mid_excess: 0,
    };
}

impl<const D: usize, const T: usize> Seg<D, T> {
    /// The segment of client `c` alone.
    pub fn client(problem: &Problem, c: usize) -> Self {
        let cl = &problem.clients[c];
        let kind = if problem.backhaul_precedence && cl.is_backhaul() { kind::BACKHAUL } else { kind::LINEHAUL };
        // Several windows are summarised by their hull here; the gas-delivery search refines it.
        Seg {
            first: cl.location as u32,
            last: cl.location as u32,
            distance: 0,
            time: TimeSeg::stop(cl.service_duration, cl.early(), cl.late(), cl.release_time),
            load: LoadSeg::client(problem, c),
            first_kind: kind,
            last_kind: kind,
            precedence: 0,
            trips: [TripSeg::NONE; T],
            multi_window: cl.time_windows.len() > 1,
        }
    }

    /// The segment of a reload visit at depot `d`: the vehicle arrives by the depot's closing
    /// time and loads for the depot's reload duration (waiting for opening hours and releases
    /// is applied when the trip that follows is known). Only meaningful when `T` is 1.
    pub fn reload(problem: &Problem, d: usize) -> Self {
        let depot = &problem.depots[d];
        let time = TimeSeg { duration: depot.reload_duration, time_warp: 0, early: 0, late: depot.time_window.late, release: 0 };
        Seg {
            first: depot.location as u32,
            last: depot.location as u32,
            distance: 0,
            time,
            load: LoadSeg::ZERO,
            first_kind: kind::RELOAD,
            last_kind: kind::RELOAD,
            precedence: 0,
            trips: [TripSeg { reloads: 1, reload_mask: 1u64 << d.min(63), last_reload: d as u32, ..TripSeg::NONE }; T],
            multi_window: false,
        }
    }
}

/// Leaving reload depot `d` after loading: within its opening hours and not before `release`
/// (a release after closing time is lateness the trip cannot avoid).
#[inline]
fn departure(problem: &Problem, d: u32, release: Duration) -> TimeSeg {
    let tw = problem.depots[d as usize].time_window;
    let early = tw.early.max(release);
    TimeSeg { duration: 0, time_warp: (early - tw.late).max(0), early: early.min(tw.late), late: tw.late, release: 0 }
}

/// `t` without its release (once the release is applied at the trip's depot).
#[inline]
fn released(t: &TimeSeg) -> TimeSeg {
    TimeSeg { release: 0, ..*t }
}

/// The evaluation context of one vehicle type: its matrices, its depots and its limits.
pub struct TypeCtx<'a, const D: usize, const T: usize> {
    problem: &'a Problem,
    t: usize,
    dims: usize,
}

/// What a route (or a candidate route) costs, split so penalties can be re-weighted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteEval {
    /// Fixed, distance and duration costs.
    pub cost: i64,
    /// Total distance.
    pub distance: i64,
    /// Minimum duration.
    pub duration: i64,
    /// Sum over dimensions of capacity excess.
    pub load_excess: i64,
    /// Time warp plus duration above the maximum.
    pub time_warp: i64,
    /// Distance above the maximum.
    pub distance_excess: i64,
}

/// Penalty weights for infeasibility, per unit of excess.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Penalties {
    /// Per unit of capacity excess.
    pub load: i64,
    /// Per unit of time warp.
    pub time_warp: i64,
    /// Per unit of distance above the maximum.
    pub distance: i64,
}

impl Penalties {
    /// Adapts one weight to the share of recent solutions feasible in its respect
    /// (`feasible` of `window`): raised by a quarter when that share is more than 0.05 below
    /// `target`, lowered by 15 % when more than 0.05 above, and kept in `1..=10^9`.
    pub fn adapt(weight: &mut i64, feasible: u32, window: u32, target: f64) {
        let share = feasible as f64 / window.max(1) as f64;
        if share < target - 0.05 {
            *weight = ((*weight as f64 * 1.25).ceil() as i64).min(1_000_000_000);
        } else if share > target + 0.05 {
            *weight = ((*weight as f64 * 0.85) as i64).max(1);
        }
    }
}

/// First penalty weights: one unit of excess costs about as much as an average edge.
pub fn initial_penalties(problem: &Problem) -> Penalties {
    let n = problem.num_locations();
    let step = (n / 200).max(1);
    let vt = &problem.vehicle_types[0];
    let (mut cost, mut dur, mut count) = (0i64, 0i64, 0i64);
    for i in (0..n).step_by(step) {
        for j in (0..n).step_by(step) {
            cost += vt.unit_distance_cost * problem.distance(0, i, j) + vt.unit_duration_cost * problem.duration(0, i, j);
            dur += problem.duration(0, i, j);
            count += 1;
        }
    }
    let count = count.max(1);
    let avg_cost = (cost / count).max(1);
    let avg_dur = (dur / count).max(1);
    let mut demand = 0i64;
    for c in &problem.clients {
        demand += c.delivery.iter().chain(&c.pickup).copied().max().unwrap_or(0);
    }
    let avg_demand = (demand / problem.num_clients().max(1) as i64).max(1);
    // With backhaul precedence, excess load is much harder to undo (a route must give away
    // linehauls and backhauls both), so construction should not count on it: start ten times
    // dearer (on VRPB instances with vehicles for five clients, the search otherwise built a
    // fifth of the routes needed and stayed infeasible for the whole 10 s).
    let load_factor = if problem.backhaul_precedence { 10 } else { 1 };
    Penalties {
        load: (load_factor * avg_cost / avg_demand).clamp(1, 1_000_000_000),
        time_warp: (avg_cost / avg_dur).clamp(1, 1_000_000_000),
        distance: vt.unit_distance_cost.max(1) * 10,
    }
}

impl RouteEval {
    /// Whether the route breaks no constraint.
    pub fn is_feasible(&self) -> bool {
        self.load_excess == 0 && self.time_warp == 0 && self.distance_excess == 0
    }

    /// Cost plus weighted infeasibility.
    #[inline]
    pub fn penalised(&self, p: &Penalties) -> i64 {
        self.cost + p.load * self.load_excess + p.time_warp * self.time_warp + p.distance * self.distance_excess
    }
}

impl<'a, const D: usize, const T: usize> TypeCtx<'a, D, T> {
    /// Context for vehicle type `t`.
    pub fn new(problem: &'a Problem, t: usize) -> Self {
        TypeCtx { problem, t, dims: problem.dimensions.min(D) }
    }

    /// Distance between two locations for this type.
    #[inline]
    pub fn dist(&self, a: u32, b: u32) -> i64 {
        self.problem.distance(self.t, a as usize, b as usize)
    }

    /// `a` followed by `b`.
    #[inline(always)]
    pub fn join(&self, a: &Seg<D, T>, b: &Seg<D, T>) -> Seg<D, T> {
        let travel = self.problem.duration(self.t, a.last as usize, b.first as usize);
        let breach =
            (a.last_kind == kind::BACKHAUL && b.first_kind == kind::LINEHAUL) as u32 + (a.last_kind == kind::RELOAD && b.first_kind == kind::BACKHAUL) as u32;
        let mut s = Seg {
            first: a.first,
            last: b.last,
            distance: a.distance + b.distance + self.dist(a.last, b.first),
            time: a.time,
            load: a.load,
            first_kind: a.first_kind,
            last_kind: b.last_kind,
            precedence: a.precedence + b.precedence + breach,
            trips: a.trips,
            multi_window: a.multi_window || b.multi_window,
        };
        let (Some(x), Some(y)) = (a.trips.first(), b.trips.first()) else {
            // Single-trip problems.
            s.time = a.time.then(travel, &b.time);
            s.load = a.load.then(&b.load);
            return s;
        };
        let Some(z) = s.trips.first_mut() else { return s };
        z.reloads = x.reloads + y.reloads;
        z.reload_mask = x.reload_mask | y.reload_mask;
        if x.reloads == 0 {
            // `a` extends `b`'s head (the single-trip case when `b` has no reload either).
            s.time = a.time.then(travel, &b.time);
            s.load = a.load.then(&b.load);
            if y.reloads > 0 {
                *z = TripSeg { reloads: z.reloads, reload_mask: z.reload_mask, ..*y };
            }
        } else if y.reloads == 0 {
            // `b` extends `a`'s last trip.
            if x.has_tail {
                z.tail = x.tail.then(travel, &b.time);
                z.tail_load = x.tail_load.then(&b.load);
            } else {
                z.tail = b.time;
                z.tail_load = b.load;
                z.tail_first = b.first;
                z.has_tail = true;
            }
        } else {
            // `a`'s last trip ends in `b`'s head: apply its release and count its excess.
            let p = self.problem;
            let reload_at = p.depots[x.last_reload as usize].location;
            let (release, trip_load) = if x.has_tail { (x.tail.release.max(b.time.release), x.tail_load.then(&b.load)) } else { (b.time.release, b.load) };
            let mut time = a.time.then(0, &departure(p, x.last_reload, release));
            if x.has_tail {
                time = time.then(p.duration(self.t, reload_at, x.tail_first as usize), &released(&x.tail));
            }
            s.time = time.then(travel, &released(&b.time));
            let mid_excess = x.mid_excess + y.mid_excess + trip_load.excess(&p.vehicle_types[self.t].capacity, self.dims);
            *z = TripSeg { reloads: z.reloads, reload_mask: z.reload_mask, mid_excess, ..*y };
        }
        s
    }

    /// Evaluates a whole route whose nodes are summarised by `visits` (None: empty route).
    pub fn evaluate(&self, visits: Option<&Seg<D, T>>) -> RouteEval {
        let Some(s) = visits else { return RouteEval::default() };
        let p = self.problem;
        let vt = &p.vehicle_types[self.t];
        let start = &p.depots[vt.start_depot];
        let end = &p.depots[vt.end_depot];
        let latest_leave = vt.shift.late.min(start.time_window.late);
        let earliest_leave = vt.shift.early.max(start.time_window.early).max(s.time.release);
        // A release after the depot closes is lateness the route cannot avoid.
        let release_warp = (earliest_leave - latest_leave).max(0);
        let depart = TimeSeg { duration: 0, time_warp: 0, early: earliest_leave.min(latest_leave), late: latest_leave, release: 0 };
        let arrive = TimeSeg { duration: 0, time_warp: 0, early: end.time_window.early, late: vt.shift.late.min(end.time_window.late), release: 0 };
        let (sl, el) = (start.location, end.location);
        let first = p.duration(self.t, sl, s.first as usize);
        let back = p.duration(self.t, s.last as usize, el);
        let excess = |l: &LoadSeg<D>| {
            if p.backhaul_precedence {
                l.split_excess(&vt.capacity, self.dims)
            } else {
                l.excess(&vt.capacity, self.dims)
            }
        };
        let mut load_excess = match &vt.on_board {
            None => excess(&s.load),
            Some(ob) => s.load.on_board_excess(ob, &vt.capacity, self.dims),
        };
        // Broken trip rules cost like a full load of excess each: a linehaul after a backhaul,
        // trips beyond the limit, a reload at a depot the type may not use. A route that starts
        // with a backhaul costs one unit only: backhauls open routes that way while the search
        // builds them (at a full load, they could not, and the search collapsed into a few
        // overloaded routes on VRPB instances with small vehicles).
        let mut breaches = s.precedence as i64;
        let time = match s.trips.first().filter(|x| x.reloads > 0) {
            None => depart.then(first, &s.time).then(back, &arrive),
            Some(x) => {
                let release = if x.has_tail { x.tail.release } else { 0 };
                let mut time = depart.then(first, &s.time).then(0, &departure(p, x.last_reload, release));
                if x.has_tail {
                    let reload_at = p.depots[x.last_reload as usize].location;
                    time = time.then(p.duration(self.t, reload_at, x.tail_first as usize), &released(&x.tail));
                }
                load_excess += x.mid_excess + excess(&x.tail_load);
                breaches += (x.reloads as i64 + 1 - vt.max_trips as i64).max(0) + (x.reload_mask & !reload_mask(vt)).count_ones() as i64;
                time.then(back, &arrive)
            }
        };
        if breaches > 0 {
            load_excess += breaches * vt.capacity.first().copied().unwrap_or(1).clamp(1, 1_000_000);
        }
        load_excess += (s.first_kind == kind::BACKHAUL) as i64;
        let distance = p.distance(self.t, sl, s.first as usize) + s.distance + p.distance(self.t, s.last as usize, el);
        let duration = time.duration;
        let max_duration = if vt.max_duration >= UNLIMITED { i64::MAX } else { vt.max_duration };
        RouteEval {
            cost: route_cost(vt, distance, duration),
            distance,
            duration,
            load_excess,
            time_warp: time.time_warp + release_warp + (duration - max_duration).max(0),
            distance_excess: (distance - vt.max_distance).max(0),
        }
    }
}

/// Fixed, distance, duration, overtime and balance (fair days) cost of a route of type `vt`.
#[inline]
pub fn route_cost(vt: &crate::model::VehicleType, distance: i64, duration: i64) -> i64 {
    vt.fixed_cost
        + vt.unit_distance_cost * distance
        + vt.unit_duration_cost * duration
        + vt.unit_overtime_cost * (duration - vt.overtime_after).max(0)
        + vt.balance.of(duration)
}

/// The depots a vehicle type may reload at, as in [`Seg::reload_mask`]; bit 63 stands for all
/// depots from 63 on and is set only when the type may reload at every one of them.
pub fn reload_mask(vt: &crate::model::VehicleType) -> u64 {
    let mut mask = 0u64;
    for &d in &vt.reload_depots {
        if d < 63 {
            mask |= 1 << d;
        }
    }
    if vt.reload_depots.iter().any(|&d| d >= 63) {
        // Conservative for problems with more than 63 depots: the search only reloads at
        // depots from the type's own list.
        mask |= 1 << 63;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tiny_problem_data;

    #[test]
    fn joins_timing_with_waiting_and_warp() {
        let a = TimeSeg::stop(1, 0, 10, 0);
        let b = TimeSeg::stop(1, 20, 30, 0);
        let ab = a.then(5, &b);
        // Start a at 10 at the latest -> arrive b at 16 -> wait 4.
        assert_eq!(ab.duration, 1 + 5 + 4 + 1);
        assert_eq!(ab.time_warp, 0);
        assert_eq!((ab.early, ab.late), (10, 10));
        let c = TimeSeg::stop(1, 0, 3, 0);
        let bc = b.then(5, &c);
        assert_eq!(bc.time_warp, 20 + 1 + 5 - 3);
    }

    #[test]
    fn peak_load_accounts_for_pickups() {
        let p = Problem::new(tiny_problem_data()).unwrap();
        let mut a = LoadSeg::<1>::client(&p, 0);
        a.pickup[0] = 6; // picks up 6 after dropping 4
        let b = LoadSeg::<1>::client(&p, 1);
        let ab = a.then(&b);
        assert_eq!(ab.delivery[0], 8);
        // Leave with 8, after a: 8 - 4 + 6 = 10, after b: 6.
        assert_eq!(ab.peak[0], 10);
        assert_eq!(ab.excess(&[9], 1), 1);
    }

    #[test]
    fn evaluates_a_route_like_the_checker() {
        let p = Problem::new(tiny_problem_data()).unwrap();
        let ctx = TypeCtx::<1, 0>::new(&p, 0);
        let s = ctx.join(&Seg::client(&p, 0), &Seg::client(&p, 1));
        let e = ctx.evaluate(Some(&s));
        assert_eq!(e.distance, 5 + 5 + 10);
        assert_eq!(e.duration, 20 + 2);
        assert_eq!(e.load_excess, 0);
        assert!(e.is_feasible());
        assert_eq!(ctx.evaluate(None), RouteEval::default());
    }

    /// The tiny problem with one truck that may reload at its depot, clients wanting 8 of 10.
    fn reload_problem() -> Problem {
        let mut d = tiny_problem_data();
        for c in &mut d.clients {
            c.delivery = vec![8];
        }
        d.vehicle_types[0].reload_depots = vec![0];
        d.vehicle_types[0].max_trips = 3;
        d.vehicle_types[0].unit_duration_cost = 1;
        Problem::new(d).unwrap()
    }

    #[test]
    fn a_reload_starts_a_trip_with_an_empty_load() {
        let p = reload_problem();
        let ctx = TypeCtx::<1, 1>::new(&p, 0);
        let (a, b, r) = (Seg::client(&p, 0), Seg::client(&p, 1), Seg::reload(&p, 0));
        assert_eq!(ctx.evaluate(Some(&ctx.join(&a, &b))).load_excess, 6);
        // a, back to the depot (5), b: 5 + 5 + 10 + 10 = 30 travelled.
        let e = ctx.evaluate(Some(&ctx.join(&ctx.join(&a, &r), &b)));
        assert_eq!((e.load_excess, e.distance, e.duration), (0, 30, 32));
        // Any grouping of the same nodes gives the same result.
        assert_eq!(ctx.evaluate(Some(&ctx.join(&a, &ctx.join(&r, &b)))), e);
    }

    #[test]
    fn a_trip_leaves_its_reload_depot_after_its_release() {
        let mut d = reload_problem().data().clone();
        for c in &mut d.clients {
            c.time_windows = vec![crate::model::TimeWindow::new(0, 1000)];
        }
        d.clients[1].release_time = 100;
        let p = Problem::new(d).unwrap();
        let ctx = TypeCtx::<1, 1>::new(&p, 0);
        let (a, b, c, r) = (Seg::client(&p, 0), Seg::client(&p, 1), Seg::client(&p, 2), Seg::reload(&p, 0));
        // a, reload, b, reload, c: the vehicle waits at the depot until 100 before leaving for b.
        let route = [a, r, b, r, c];
        let left = route[1..].iter().fold(a, |acc, s| ctx.join(&acc, s));
        let right = route[..4].iter().rev().fold(c, |acc, s| ctx.join(s, &acc));
        let e = ctx.evaluate(Some(&left));
        assert_eq!(e, ctx.evaluate(Some(&right)));
        // Leave at 100 - 10 (a's round trip takes 11 with service, so start at 89), then
        // b's trip (21) and c's trip (11): 89..132 is 43 without warp.
        assert_eq!((e.time_warp, e.load_excess, e.duration), (0, 0, 11 + 21 + 11));
    }

    #[test]
    fn penalises_backhauls_before_linehauls_and_too_many_trips() {
        let mut d = reload_problem().data().clone();
        d.backhaul_precedence = true;
        d.clients[1].delivery = vec![0];
        d.clients[1].pickup = vec![2];
        d.vehicle_types[0].max_trips = 2;
        let p = Problem::new(d).unwrap();
        let ctx = TypeCtx::<1, 1>::new(&p, 0);
        let (a, b, c, r) = (Seg::client(&p, 0), Seg::client(&p, 1), Seg::client(&p, 2), Seg::reload(&p, 0));
        let eval = |segs: &[Seg<1, 1>]| ctx.evaluate(Some(&segs[1..].iter().fold(segs[0], |acc, s| ctx.join(&acc, s)))).load_excess;
        assert_eq!(eval(&[a, b]), 0);
        // A linehaul after a backhaul costs a full load; a route starting with a backhaul one
        // unit; a trip after a reload starting with one a full load.
        assert_eq!(eval(&[b, a]), 11);
        assert_eq!(eval(&[b]), 1);
        assert_eq!(eval(&[a, r, b]), 10);
        assert_eq!(eval(&[a, b, r, c]), 0);
        // Three trips where two are allowed.
        assert_eq!(eval(&[a, r, c, r, a]), 10);
    }
}
