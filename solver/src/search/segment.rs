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

    /// The segment of one client.
    pub fn client(problem: &Problem, c: usize) -> Self {
        let cl = &problem.clients[c];
        let mut s = Self::ZERO;
        for d in 0..problem.dimensions.min(D) {
            s.delivery[d] = cl.delivery[d];
            s.pickup[d] = cl.pickup[d];
            s.peak[d] = cl.delivery[d].max(cl.pickup[d]);
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
}

/// A sequence of client visits summarised for concatenation under one routing profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seg<const D: usize> {
    /// Location of the first visit.
    pub first: u32,
    /// Location of the last visit.
    pub last: u32,
    /// Travelled distance inside the sequence.
    pub distance: i64,
    /// Timing.
    pub time: TimeSeg,
    /// Load.
    pub load: LoadSeg<D>,
}

impl<const D: usize> Seg<D> {
    /// The segment of client `c` alone.
    pub fn client(problem: &Problem, c: usize) -> Self {
        let cl = &problem.clients[c];
        // Several windows are summarised by their hull here; the gas-delivery search refines it.
        Seg {
            first: cl.location as u32,
            last: cl.location as u32,
            distance: 0,
            time: TimeSeg::stop(cl.service_duration, cl.early(), cl.late(), cl.release_time),
            load: LoadSeg::client(problem, c),
        }
    }
}

/// The evaluation context of one vehicle type: its matrices, its depots and its limits.
pub struct TypeCtx<'a, const D: usize> {
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

impl<'a, const D: usize> TypeCtx<'a, D> {
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
    #[inline]
    pub fn join(&self, a: &Seg<D>, b: &Seg<D>) -> Seg<D> {
        let travel = self.problem.duration(self.t, a.last as usize, b.first as usize);
        Seg {
            first: a.first,
            last: b.last,
            distance: a.distance + b.distance + self.dist(a.last, b.first),
            time: a.time.then(travel, &b.time),
            load: a.load.then(&b.load),
        }
    }

    /// Evaluates a whole route whose visits are summarised by `visits` (None: empty route).
    pub fn evaluate(&self, visits: Option<&Seg<D>>) -> RouteEval {
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
        let arrive = TimeSeg {
            duration: 0,
            time_warp: 0,
            early: end.time_window.early,
            late: vt.shift.late.min(end.time_window.late),
            release: 0,
        };
        let (sl, el) = (start.location, end.location);
        let first = p.duration(self.t, sl, s.first as usize);
        let back = p.duration(self.t, s.last as usize, el);
        let time = depart.then(first, &s.time).then(back, &arrive);
        let distance = p.distance(self.t, sl, s.first as usize) + s.distance + p.distance(self.t, s.last as usize, el);
        let duration = time.duration;
        let max_duration = if vt.max_duration >= UNLIMITED { i64::MAX } else { vt.max_duration };
        RouteEval {
            cost: vt.fixed_cost + vt.unit_distance_cost * distance + vt.unit_duration_cost * duration,
            distance,
            duration,
            load_excess: s.load.excess(&vt.capacity, self.dims),
            time_warp: time.time_warp + release_warp + (duration - max_duration).max(0),
            distance_excess: (distance - vt.max_distance).max(0),
        }
    }
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
        let ctx = TypeCtx::<1>::new(&p, 0);
        let s = ctx.join(&Seg::client(&p, 0), &Seg::client(&p, 1));
        let e = ctx.evaluate(Some(&s));
        assert_eq!(e.distance, 5 + 5 + 10);
        assert_eq!(e.duration, 20 + 2);
        assert_eq!(e.load_excess, 0);
        assert!(e.is_feasible());
        assert_eq!(ctx.evaluate(None), RouteEval::default());
    }
}
