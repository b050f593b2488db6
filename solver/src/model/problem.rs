//! The problem: depots, clients, vehicle types and routing profiles, validated once and then
//! shared read-only (as `Arc<Problem>`) by every thread of the search.

use super::pairs::{self, Pair, PairRole};
use super::{Congestion, Cost, Distance, Duration, Load, Matrix, Skills, TimeWindow, UNLIMITED};
use crate::error::ModelError;
use crate::solution::UnassignedReason;
use std::ops::Deref;

/// A point on the plane (or lon/lat), used for geometry only: neighbourhoods, sweeps, maps.
/// Travel values always come from the profile matrices.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    /// First coordinate (x or longitude).
    pub x: f64,
    /// Second coordinate (y or latitude).
    pub y: f64,
}

/// A depot: where vehicles start, end and reload.
#[derive(Clone, Debug, PartialEq)]
pub struct Depot {
    /// Name shown to people.
    pub name: String,
    /// Index into the matrices.
    pub location: usize,
    /// Opening hours: vehicles leave and return within them.
    pub time_window: TimeWindow,
    /// Time spent loading at the depot when a vehicle reloads there between trips.
    pub reload_duration: Duration,
}

/// A client to visit: deliveries and pickups happen at the same stop.
#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    /// Name shown to people.
    pub name: String,
    /// Index into the matrices.
    pub location: usize,
    /// Amount delivered, one entry per capacity dimension.
    pub delivery: Vec<Load>,
    /// Amount picked up (empties), one entry per capacity dimension.
    pub pickup: Vec<Load>,
    /// Time spent at the stop.
    pub service_duration: Duration,
    /// Windows in which service may start: non-empty, sorted and disjoint.
    pub time_windows: Vec<TimeWindow>,
    /// The goods for this client are at the depot only from this time on: a trip serving it
    /// leaves the depot at or after this time.
    pub release_time: Duration,
    /// Whether the client must be served; an optional client earns `prize` when served.
    pub required: bool,
    /// Prize collected when an optional client is served (lost when it is not).
    pub prize: Cost,
    /// Skills the serving vehicle must have.
    pub skills: Skills,
}

impl Client {
    /// The earliest start of any of the client's windows.
    pub fn early(&self) -> Duration {
        self.time_windows.first().map_or(0, |w| w.early)
    }

    /// The latest start of any of the client's windows.
    pub fn late(&self) -> Duration {
        self.time_windows.last().map_or(UNLIMITED, |w| w.late)
    }

    /// Whether this client only picks up (a backhaul in VRPB terms).
    pub fn is_backhaul(&self) -> bool {
        self.delivery.iter().all(|&d| d == 0) && self.pickup.iter().any(|&p| p > 0)
    }
}

/// A kind of vehicle, of which `count` identical ones are available.
#[derive(Clone, Debug, PartialEq)]
pub struct VehicleType {
    /// Name shown to people.
    pub name: String,
    /// How many vehicles of this type are available.
    pub count: usize,
    /// Capacity per dimension.
    pub capacity: Vec<Load>,
    /// Depot index where the vehicle starts its day.
    pub start_depot: usize,
    /// Depot index where the vehicle ends its day.
    pub end_depot: usize,
    /// The vehicle leaves at or after `shift.early` and is back by `shift.late`.
    pub shift: TimeWindow,
    /// Longest allowed route duration (from leaving to returning), [`UNLIMITED`] when none.
    pub max_duration: Duration,
    /// Longest allowed route distance, [`UNLIMITED`] when none.
    pub max_distance: Distance,
    /// Cost of using one vehicle of this type.
    pub fixed_cost: Cost,
    /// Cost per unit of distance travelled.
    pub unit_distance_cost: Cost,
    /// Cost per unit of route duration.
    pub unit_duration_cost: Cost,
    /// Index of the routing profile (matrices) this type drives on.
    pub profile: usize,
    /// Skills this type has.
    pub skills: Skills,
    /// Depots (indices) where the vehicle may reload between trips; empty when it cannot.
    pub reload_depots: Vec<usize>,
    /// Most trips per route (1 when the vehicle cannot reload).
    pub max_trips: usize,
    /// Driver breaks, in the order they are taken (e.g. lunch): a route that is out at a
    /// break's latest start takes it on the way (see `engine::schedule` for the rules).
    pub breaks: Vec<Break>,
    /// Route duration from which overtime is paid ([`UNLIMITED`] when never): the normal
    /// working time; `max_duration` stays the hard limit.
    pub overtime_after: Duration,
    /// Cost per unit of duration above `overtime_after`, on top of `unit_duration_cost`.
    pub unit_overtime_cost: Cost,
    /// Fair days: a cost growing with the square of each route's duration, so that the search
    /// evens out the drivers' days (none when its cost is 0).
    pub balance: Balance,
    /// What the vehicle already carries when its route starts (a vehicle replanned while out,
    /// see [`crate::replan`]); `None` for a vehicle that leaves its depot empty and loads there.
    pub on_board: Option<OnBoard>,
}

/// Fair days: each route costs `cost * (duration / per)^2` on top of its other costs.
///
/// A quadratic cost of each route's duration is the sum-of-squares measure of workload equity:
/// for the same total work it is least when the routes are equally long, moving an hour of work
/// from a route of `a` hours to one of `b` hours changes it by `2 * cost * (b - a + 1)`, and unlike
/// the spread (longest minus shortest) or the latest return it is a cost of each route alone, so
/// every move of the search evaluates it exactly, in constant time. Spread and latest return are
/// what the plan reports as the result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Cost of a route lasting `per`.
    pub cost: Cost,
    /// The unit of duration the square is taken in (one hour in the service's seconds).
    pub per: Duration,
}

impl Balance {
    /// The cost of a route lasting `duration`.
    #[inline]
    pub fn of(&self, duration: Duration) -> Cost {
        if self.cost == 0 || self.per <= 0 || duration <= 0 {
            return 0;
        }
        let d = duration as i128;
        let c = (self.cost as i128).saturating_mul(d).saturating_mul(d) / (self.per as i128 * self.per as i128);
        c.min(i64::MAX as i128) as i64
    }

    /// Whether it costs anything.
    pub fn is_active(&self) -> bool {
        self.cost > 0 && self.per > 0
    }
}

/// The load of a vehicle that is already out: it delivers from what it carries until it
/// reloads, and the empties it collected ride along.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OnBoard {
    /// Full goods on board, per dimension: the first trip delivers at most this much.
    pub stock: Vec<Load>,
    /// Pickups on board, per dimension: they take room until the end of the first trip.
    pub empties: Vec<Load>,
}

/// What was announced before a replan, and what changing it costs: a client announced on one
/// vehicle type and served by another adds `move_cost` to the objective.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stability {
    /// Vehicle type each client was announced on, indexed by client (empty: nothing announced).
    pub home: Vec<Option<usize>>,
    /// Cost of serving an announced client with another vehicle type, or on its vehicle type
    /// with its service starting more than [`Stability::shift_tolerance`] away from its
    /// announced time (once per client, whichever happens).
    pub move_cost: Cost,
    /// The announced start of service of each client, indexed by client (empty: none).
    pub arrival: Vec<Option<Duration>>,
    /// How far a service start may move from the announced one at no cost; `None`: any.
    pub shift_tolerance: Option<Duration>,
}

impl Stability {
    /// Whether it changes any cost.
    pub fn is_active(&self) -> bool {
        self.move_cost > 0 && (self.home.iter().any(Option::is_some) || self.counts_shifts())
    }

    /// Whether moving a service start costs.
    #[inline]
    pub fn counts_shifts(&self) -> bool {
        self.move_cost > 0 && self.shift_tolerance.is_some() && self.arrival.iter().any(Option::is_some)
    }

    /// The shift cost of client `c` served on vehicle type `t` from `start`: the move cost when
    /// it stays on its announced type (or had none) and starts too far from its announced time.
    #[inline]
    pub fn shift_cost(&self, c: usize, t: usize, start: Duration) -> Cost {
        let (Some(tolerance), Some(&Some(announced))) = (self.shift_tolerance, self.arrival.get(c)) else { return 0 };
        let moved = matches!(self.home.get(c), Some(&Some(h)) if h != t);
        if !moved && (start - announced).abs() > tolerance {
            self.move_cost
        } else {
            0
        }
    }

    /// The move cost of client `c` on vehicle type `t`.
    #[inline]
    pub fn cost(&self, c: usize, t: usize) -> Cost {
        match self.home.get(c) {
            Some(&Some(h)) if h != t => self.move_cost,
            _ => 0,
        }
    }
}

/// A driver break: `duration` long, starting within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Break {
    /// When the break may start.
    pub window: TimeWindow,
    /// How long it lasts.
    pub duration: Duration,
}

/// Clients of which at most one is served, exactly one when `required`: a customer who may be
/// served at one of several addresses, or from one of several points (the mutually exclusive
/// groups of the generalized VRP). Its clients are optional ones; a required group is what
/// makes one of them needed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Group {
    /// The clients (indices), at least one, none in another group or in a pair.
    pub clients: Vec<usize>,
    /// Whether one of them must be served.
    pub required: bool,
}

/// A routing profile: the travel distances and durations of one kind of vehicle.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Name of the profile (e.g. `truck`, `motorcycle`).
    pub name: String,
    /// Distance matrix indexed by location.
    pub distance: Matrix,
    /// Duration matrix indexed by location: free-flow durations, lengthened in the rush hours of
    /// `congestion`.
    pub duration: Matrix,
    /// Rush hours (none: the durations hold all day).
    pub congestion: Congestion,
}

/// Plain problem parts, checked by [`Problem::new`].
#[derive(Clone, Debug, Default)]
pub struct ProblemData {
    /// Instance name.
    pub name: String,
    /// Coordinates per location (may be empty when the input has none).
    pub locations: Vec<Location>,
    /// Depots.
    pub depots: Vec<Depot>,
    /// Clients.
    pub clients: Vec<Client>,
    /// Vehicle types.
    pub vehicle_types: Vec<VehicleType>,
    /// Routing profiles.
    pub profiles: Vec<Profile>,
    /// Number of capacity dimensions.
    pub dimensions: usize,
    /// Names of the skills, bit `i` of [`Skills`] standing for `skill_names[i]`.
    pub skill_names: Vec<String>,
    /// VRPB precedence: on every trip, clients that deliver come before clients that only pick
    /// up, and a trip does not start with a pickup-only client.
    pub backhaul_precedence: bool,
    /// Replanning: the announced vehicle of each client and the cost of moving it.
    pub stability: Stability,
    /// Pickup-and-delivery pairs (see [`super::pairs`] for their load semantics).
    pub pairs: Vec<Pair>,
    /// Mutually exclusive groups of clients (see [`Group`]).
    pub groups: Vec<Group>,
}

/// A validated, immutable problem. Read its parts through `Deref` to [`ProblemData`].
#[derive(Clone, Debug)]
pub struct Problem {
    data: ProblemData,
    /// `vehicle_offset[t]` is the number of vehicles of all types before type `t`, so vehicle
    /// `j` of type `t` is vehicle number `vehicle_offset[t] + j` overall.
    vehicle_offset: Vec<usize>,
    /// `client_at[location]` is the client at that location, if any.
    client_at: Vec<Option<usize>>,
    /// `depot_at[location]` is the depot at that location, if any.
    depot_at: Vec<Option<usize>>,
    /// `pair_role[c]`: the pair client `c` belongs to, if any, and its role there.
    pair_role: Vec<Option<PairRole>>,
    /// `group_of[c]`: the group client `c` belongs to, if any (empty without groups).
    group_of: Vec<Option<u32>>,
    /// [`Stability::is_active`] and [`Stability::counts_shifts`], worked out once: the search
    /// asks for every route it evaluates.
    stability: (bool, bool),
}

impl Deref for Problem {
    type Target = ProblemData;
    fn deref(&self) -> &ProblemData {
        &self.data
    }
}

impl Problem {
    /// Validates `data` and returns the problem, or the first inconsistency found.
    pub fn new(data: ProblemData) -> Result<Problem, ModelError> {
        validate(&data)?;
        pairs::validate(&data)?;
        let pair_role = pairs::roles(&data);
        let n = data.profiles[0].distance.size();
        let mut client_at = vec![None; n];
        let mut depot_at = vec![None; n];
        for (i, c) in data.clients.iter().enumerate() {
            client_at[c.location] = Some(i);
        }
        for (i, d) in data.depots.iter().enumerate() {
            depot_at[d.location] = Some(i);
        }
        let mut vehicle_offset = Vec::with_capacity(data.vehicle_types.len());
        let mut total = 0;
        for vt in &data.vehicle_types {
            vehicle_offset.push(total);
            total += vt.count;
        }
        let stability = (data.stability.is_active(), data.stability.counts_shifts());
        let group_of = validate_groups(&data)?;
        let problem = Problem { data, vehicle_offset, client_at, depot_at, pair_role, group_of, stability };
        for (i, c) in problem.clients.iter().enumerate() {
            if c.required {
                if let Some(reason) = problem.why_unservable(i) {
                    return Err(ModelError::UnservableClient { client: i, reason });
                }
            }
        }
        for (g, group) in problem.groups.iter().enumerate().filter(|(_, g)| g.required) {
            if group.clients.iter().all(|&c| problem.why_unservable(c).is_some()) {
                let reason = problem.why_unservable(group.clients[0]).unwrap_or(UnassignedReason::NoCompatibleVehicle);
                return Err(ModelError::UnservableGroup { group: g, reason });
            }
        }
        Ok(problem)
    }

    /// The parts this problem was built from.
    pub fn data(&self) -> &ProblemData {
        &self.data
    }

    /// Number of clients.
    pub fn num_clients(&self) -> usize {
        self.clients.len()
    }

    /// Number of locations in the matrices.
    pub fn num_locations(&self) -> usize {
        self.client_at.len()
    }

    /// Total number of vehicles over all types.
    pub fn num_vehicles(&self) -> usize {
        self.vehicle_types.iter().map(|v| v.count).sum()
    }

    /// Overall number of the first vehicle of type `t`.
    pub fn vehicle_offset(&self, t: usize) -> usize {
        self.vehicle_offset[t]
    }

    /// The vehicle type of overall vehicle number `v`.
    pub fn type_of_vehicle(&self, v: usize) -> Option<usize> {
        (0..self.vehicle_types.len()).find(|&t| v >= self.vehicle_offset[t] && v < self.vehicle_offset[t] + self.vehicle_types[t].count)
    }

    /// Whether the stability costs change any cost ([`Stability::is_active`]).
    #[inline]
    pub fn stability_active(&self) -> bool {
        self.stability.0
    }

    /// Whether moving an announced client's service costs ([`Stability::counts_shifts`]).
    #[inline]
    pub fn counts_shifts(&self) -> bool {
        self.stability.1
    }

    /// Whether the problem has pickup-and-delivery pairs.
    #[inline]
    pub fn has_pairs(&self) -> bool {
        !self.pairs.is_empty()
    }

    /// The pair client `c` belongs to, and whether it is its pickup.
    #[inline]
    pub fn pair_role(&self, c: usize) -> Option<PairRole> {
        self.pair_role.get(c).copied().flatten()
    }

    /// Whether the problem has mutually exclusive groups.
    #[inline]
    pub fn has_groups(&self) -> bool {
        !self.groups.is_empty()
    }

    /// The group client `c` belongs to, if any.
    #[inline]
    pub fn group_of(&self, c: usize) -> Option<usize> {
        self.group_of.get(c).copied().flatten().map(|g| g as usize)
    }

    /// The other client of `c`'s pair, if `c` is in one.
    #[inline]
    pub fn partner(&self, c: usize) -> Option<usize> {
        self.pair_role(c).map(|r| {
            let pair = &self.pairs[r.pair];
            if r.is_pickup {
                pair.delivery
            } else {
                pair.pickup
            }
        })
    }

    /// The client at a location, if any.
    pub fn client_at(&self, location: usize) -> Option<usize> {
        self.client_at.get(location).copied().flatten()
    }

    /// The depot at a location, if any.
    pub fn depot_at(&self, location: usize) -> Option<usize> {
        self.depot_at.get(location).copied().flatten()
    }

    /// Distance from location `a` to `b` for vehicle type `t`.
    #[inline(always)]
    pub fn distance(&self, t: usize, a: usize, b: usize) -> Distance {
        self.profiles[self.vehicle_types[t].profile].distance.get(a, b)
    }

    /// Free-flow travel duration from location `a` to `b` for vehicle type `t` (the duration at
    /// any time without rush hours, and a lower bound of [`Problem::travel`] with them).
    #[inline(always)]
    pub fn duration(&self, t: usize, a: usize, b: usize) -> Duration {
        self.profiles[self.vehicle_types[t].profile].duration.get(a, b)
    }

    /// Travel duration from location `a` to `b` for vehicle type `t` leaving at `depart`, in the
    /// rush hours of its profile.
    #[inline(always)]
    pub fn travel(&self, t: usize, a: usize, b: usize, depart: Duration) -> Duration {
        let profile = &self.profiles[self.vehicle_types[t].profile];
        profile.congestion.travel(depart, profile.duration.get(a, b))
    }

    /// The latest departure from `a` that reaches `b` by `by` for vehicle type `t`, in the rush
    /// hours of its profile (`by` less the free-flow duration without them).
    #[inline(always)]
    pub fn latest_departure(&self, t: usize, a: usize, b: usize, by: Duration) -> Duration {
        let profile = &self.profiles[self.vehicle_types[t].profile];
        profile.congestion.latest_departure(by, profile.duration.get(a, b))
    }

    /// Whether vehicle type `t` drives in rush hours (its travel times depend on the time).
    #[inline]
    pub fn is_time_dependent(&self, t: usize) -> bool {
        !self.profiles[self.vehicle_types[t].profile].congestion.is_free_flow()
    }

    /// Whether vehicle type `t` can ever serve client `c` alone on a route (with its partner,
    /// for a client of a pair); `None` when it can, else the reason why not.
    pub fn why_type_cannot_serve(&self, t: usize, c: usize) -> Option<UnassignedReason> {
        match self.pair_role(c) {
            Some(role) => self.why_type_cannot_serve_pair(t, role.pair),
            None => self.why_type_cannot_serve_alone(t, c),
        }
    }

    /// Whether vehicle type `t` can serve client `c` on a route of its own, ignoring its pair.
    pub(super) fn why_type_cannot_serve_alone(&self, t: usize, c: usize) -> Option<UnassignedReason> {
        let vt = &self.vehicle_types[t];
        let cl = &self.clients[c];
        if vt.count == 0 || !vt.skills.covers(cl.skills) {
            return Some(UnassignedReason::NoCompatibleVehicle);
        }
        let over = |amounts: &[Load]| amounts.iter().zip(&vt.capacity).any(|(a, q)| a > q);
        if over(&cl.delivery) || over(&cl.pickup) {
            return Some(UnassignedReason::Capacity);
        }
        if let Some(ob) = vt.on_board.as_ref().filter(|_| vt.max_trips <= 1 || vt.reload_depots.is_empty()) {
            // It cannot reload: the first trip is the only one.
            let short = cl.delivery.iter().zip(&ob.stock).any(|(d, s)| d > s);
            let full = cl.pickup.iter().zip(&ob.empties).zip(&vt.capacity).any(|((p, e), q)| p + e > *q);
            if short || full {
                return Some(UnassignedReason::Capacity);
            }
        }
        let start = self.depots[vt.start_depot].location;
        let end = self.depots[vt.end_depot].location;
        let start_depot_tw = self.depots[vt.start_depot].time_window;
        let leave = vt.shift.early.max(start_depot_tw.early).max(cl.release_time);
        let arrive = leave + self.duration(t, start, cl.location);
        let Some(window) = cl.time_windows.iter().find(|w| w.late >= arrive) else {
            return Some(UnassignedReason::TimeWindowUnreachable);
        };
        let back = arrive.max(window.early) + cl.service_duration + self.duration(t, cl.location, end);
        let latest_back = vt.shift.late.min(self.depots[vt.end_depot].time_window.late);
        // The shortest possible duration leaves just in time for the window.
        let shortest = self.duration(t, start, cl.location) + cl.service_duration + self.duration(t, cl.location, end);
        if back > latest_back || shortest > vt.max_duration {
            return Some(UnassignedReason::ShiftLimits);
        }
        if self.distance(t, start, cl.location) + self.distance(t, cl.location, end) > vt.max_distance {
            return Some(UnassignedReason::ShiftLimits);
        }
        None
    }

    /// Whether any vehicle type can serve client `c`; `None` when one can, else the reason of the
    /// most capable type.
    pub fn why_unservable(&self, c: usize) -> Option<UnassignedReason> {
        let mut reason = None;
        for t in 0..self.vehicle_types.len() {
            match self.why_type_cannot_serve(t, c) {
                None => return None,
                Some(r) => {
                    // Prefer the most specific reason (a skilled type that is too small says more
                    // than an unskilled one).
                    if reason.is_none() || reason == Some(UnassignedReason::NoCompatibleVehicle) {
                        reason = Some(r);
                    }
                }
            }
        }
        reason.or(Some(UnassignedReason::NoCompatibleVehicle))
    }
}

/// Checks the groups and returns each client's group (empty without groups): members are known,
/// optional clients outside pairs, each in one group only, and no group is empty.
fn validate_groups(d: &ProblemData) -> Result<Vec<Option<u32>>, ModelError> {
    use ModelError as E;
    if d.groups.is_empty() {
        return Ok(Vec::new());
    }
    let mut group_of = vec![None; d.clients.len()];
    let paired: Vec<bool> = {
        let mut v = vec![false; d.clients.len()];
        for p in &d.pairs {
            for c in [p.pickup, p.delivery] {
                if let Some(x) = v.get_mut(c) {
                    *x = true;
                }
            }
        }
        v
    };
    for (g, group) in d.groups.iter().enumerate() {
        let what = || format!("group {g}");
        if group.clients.is_empty() {
            return Err(E::BadGroup { what: what(), why: "has no client".into() });
        }
        for &c in &group.clients {
            let Some(slot) = group_of.get_mut(c) else {
                return Err(E::BadGroup { what: what(), why: format!("names client {c}, but there are {} clients", d.clients.len()) });
            };
            if let Some(other) = *slot {
                return Err(E::BadGroup { what: what(), why: format!("client {c} is already in group {other}") });
            }
            if d.clients[c].required {
                return Err(E::BadGroup { what: what(), why: format!("client {c} is required; a group's clients are optional (the group is required)") });
            }
            if paired[c] {
                return Err(E::BadGroup { what: what(), why: format!("client {c} is in a pickup-and-delivery pair") });
            }
            *slot = Some(g as u32);
        }
    }
    Ok(group_of)
}

fn validate(d: &ProblemData) -> Result<(), ModelError> {
    use ModelError as E;
    if d.depots.is_empty() {
        return Err(E::NoDepot);
    }
    if d.profiles.is_empty() {
        return Err(E::NoProfile);
    }
    if d.vehicle_types.is_empty() || d.vehicle_types.iter().all(|v| v.count == 0) {
        return Err(E::NoVehicle);
    }
    if d.dimensions == 0 {
        return Err(E::DimensionMismatch { what: "problem".into(), expected: 1, found: 0 });
    }
    let n = d.profiles[0].distance.size();
    for p in &d.profiles {
        if p.distance.size() != n || p.duration.size() != n {
            return Err(E::MatrixSize { profile: p.name.clone(), expected: n, found: p.distance.size().min(p.duration.size()) });
        }
    }
    if !d.locations.is_empty() && d.locations.len() != n {
        return Err(E::MatrixSize { profile: "coordinates".into(), expected: n, found: d.locations.len() });
    }
    let mut used = vec![false; n];
    // `what` names the item only when it is wrong (a replan validates every client again).
    let mut claim = |loc: usize, what: &dyn Fn() -> String| -> Result<(), ModelError> {
        if loc >= n {
            return Err(E::LocationOutOfRange { what: what(), location: loc, locations: n });
        }
        if used[loc] {
            return Err(E::SharedLocation { what: what(), location: loc });
        }
        used[loc] = true;
        Ok(())
    };
    for (i, dep) in d.depots.iter().enumerate() {
        claim(dep.location, &|| format!("depot {i}"))?;
        if dep.time_window.early > dep.time_window.late {
            return Err(E::BadTimeWindow { what: format!("depot {i}") });
        }
        if dep.reload_duration < 0 {
            return Err(E::Negative { what: format!("depot {i} reload duration") });
        }
    }
    for (i, c) in d.clients.iter().enumerate() {
        claim(c.location, &|| format!("client {i}"))?;
        for (name, v) in [("delivery", &c.delivery), ("pickup", &c.pickup)] {
            if v.len() != d.dimensions {
                return Err(E::DimensionMismatch { what: format!("client {i} {name}"), expected: d.dimensions, found: v.len() });
            }
            if v.iter().any(|&x| x < 0) {
                return Err(E::Negative { what: format!("client {i} {name}") });
            }
        }
        if c.service_duration < 0 || c.release_time < 0 || c.prize < 0 {
            return Err(E::Negative { what: format!("client {i} service duration, release time or prize") });
        }
        if c.time_windows.is_empty() || c.time_windows.iter().any(|w| w.early > w.late) || c.time_windows.windows(2).any(|p| p[0].late >= p[1].early) {
            return Err(E::BadTimeWindow { what: format!("client {i}") });
        }
        if d.skill_names.len() < 64 && c.skills.0 >> d.skill_names.len() != 0 {
            return Err(E::UnknownSkill { what: format!("client {i}") });
        }
    }
    for (t, vt) in d.vehicle_types.iter().enumerate() {
        let what = || format!("vehicle type {t}");
        if vt.capacity.len() != d.dimensions {
            return Err(E::DimensionMismatch { what: format!("vehicle type {t} capacity"), expected: d.dimensions, found: vt.capacity.len() });
        }
        if vt.capacity.iter().any(|&q| q < 0)
            || vt.fixed_cost < 0
            || vt.unit_distance_cost < 0
            || vt.unit_duration_cost < 0
            || vt.max_duration < 0
            || vt.max_distance < 0
            || vt.overtime_after < 0
            || vt.unit_overtime_cost < 0
            || vt.balance.cost < 0
            || vt.balance.per < 0
            || vt.breaks.iter().any(|b| b.duration < 0)
        {
            return Err(E::Negative { what: what() });
        }
        for depot in [vt.start_depot, vt.end_depot].iter().chain(&vt.reload_depots) {
            if *depot >= d.depots.len() {
                return Err(E::DepotOutOfRange { what: what(), depot: *depot, depots: d.depots.len() });
            }
        }
        if vt.profile >= d.profiles.len() {
            return Err(E::ProfileOutOfRange { what: what(), profile: vt.profile, profiles: d.profiles.len() });
        }
        if vt.shift.early > vt.shift.late {
            return Err(E::BadTimeWindow { what: what() });
        }
        for (k, b) in vt.breaks.iter().enumerate() {
            if b.window.early > b.window.late {
                return Err(E::BadTimeWindow { what: format!("vehicle type {t} break {k}") });
            }
        }
        if vt.max_trips == 0 || (vt.max_trips > 1 && vt.reload_depots.is_empty()) {
            return Err(E::BadTrips { what: what() });
        }
        if let Some(ob) = &vt.on_board {
            for (name, v) in [("on-board stock", &ob.stock), ("on-board empties", &ob.empties)] {
                if v.len() != d.dimensions {
                    return Err(E::DimensionMismatch { what: format!("vehicle type {t} {name}"), expected: d.dimensions, found: v.len() });
                }
                if v.iter().any(|&x| x < 0) {
                    return Err(E::Negative { what: format!("vehicle type {t} {name}") });
                }
            }
        }
    }
    let st = &d.stability;
    if st.move_cost < 0 {
        return Err(E::Negative { what: "move cost".into() });
    }
    if !st.home.is_empty() && st.home.len() != d.clients.len() {
        return Err(E::DimensionMismatch { what: "announced vehicle types".into(), expected: d.clients.len(), found: st.home.len() });
    }
    if let Some(&t) = st.home.iter().flatten().find(|&&t| t >= d.vehicle_types.len()) {
        return Err(E::VehicleTypeOutOfRange { what: "announced vehicle type".into(), vehicle_type: t, types: d.vehicle_types.len() });
    }
    if !st.arrival.is_empty() && st.arrival.len() != d.clients.len() {
        return Err(E::DimensionMismatch { what: "announced arrivals".into(), expected: d.clients.len(), found: st.arrival.len() });
    }
    if st.shift_tolerance.is_some_and(|x| x < 0) {
        return Err(E::Negative { what: "shift tolerance".into() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tiny_problem_data;

    #[test]
    fn builds_a_valid_problem_and_maps_locations() {
        let p = Problem::new(tiny_problem_data()).unwrap();
        assert_eq!(p.client_at(1), Some(0));
        assert_eq!(p.depot_at(0), Some(0));
        assert_eq!(p.client_at(0), None);
        assert_eq!(p.num_vehicles(), 2);
        assert_eq!(p.type_of_vehicle(1), Some(0));
        assert_eq!(p.type_of_vehicle(2), None);
    }

    #[test]
    fn rejects_negative_demand() {
        let mut d = tiny_problem_data();
        d.clients[0].delivery[0] = -1;
        assert!(matches!(Problem::new(d), Err(ModelError::Negative { .. })));
    }

    #[test]
    fn rejects_depot_out_of_range() {
        let mut d = tiny_problem_data();
        d.vehicle_types[0].end_depot = 3;
        assert!(matches!(Problem::new(d), Err(ModelError::DepotOutOfRange { depot: 3, .. })));
    }

    #[test]
    fn rejects_capacity_dimension_mismatch() {
        let mut d = tiny_problem_data();
        d.vehicle_types[0].capacity.push(4);
        assert!(matches!(Problem::new(d), Err(ModelError::DimensionMismatch { .. })));
    }

    #[test]
    fn rejects_a_required_client_no_vehicle_can_serve() {
        let mut d = tiny_problem_data();
        d.clients[1].delivery[0] = 1000;
        match Problem::new(d) {
            Err(ModelError::UnservableClient { client: 1, reason }) => assert_eq!(reason, UnassignedReason::Capacity),
            other => panic!("unexpected {other:?}"),
        }
        let mut d = tiny_problem_data();
        d.clients[0].skills = Skills(1);
        d.skill_names = vec!["hazmat".into()];
        assert!(matches!(Problem::new(d), Err(ModelError::UnservableClient { client: 0, reason: UnassignedReason::NoCompatibleVehicle })));
    }

    #[test]
    fn accepts_an_optional_client_no_vehicle_can_serve() {
        let mut d = tiny_problem_data();
        d.clients[1].delivery[0] = 1000;
        d.clients[1].required = false;
        d.clients[1].prize = 5;
        assert!(Problem::new(d).is_ok());
    }
}
