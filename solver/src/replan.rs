//! Replanning a day while vehicles are out: an urgent order arrives, a customer cancels, a truck
//! breaks down or runs late.
//!
//! The visits each vehicle has done or is doing stay where they are (they are *fixed*). What is
//! left becomes a smaller problem of its own ([`Replan::reduced`]):
//! - each vehicle of the plan becomes a vehicle type of one vehicle. One that is already out
//!   starts from its last fixed visit, or from where it was last seen
//!   ([`VehicleProgress::position`]), as a depot of the reduced problem at that place, when it is
//!   ready, with what it carries ([`OnBoard`]: the stock left for its current trip and the
//!   empties it collected), and with what is left of its duration and distance limits, trips
//!   and breaks; a vehicle that is unavailable from a time must be back by then, or takes
//!   nothing more when that time has come (a breakdown);
//! - the vehicles the plan did not use keep their types;
//! - the clients are those not fixed, with the vehicle each was announced on, and moving one to
//!   another vehicle costs [`ReplanInput::move_cost`] ([`crate::model::Stability`]); with a
//!   [`ReplanInput::shift_tolerance`], so does keeping it on its vehicle but starting its service
//!   further than that from its announced time (the search judges such routes by their exact
//!   schedule, as the checker does).
//!
//! The reduced problem is solved from the plan's remaining routes (a warm start: the clients
//! the plan lacks, such as new orders, are added by regret insertion, then a ruin-and-recreate
//! search runs within the caller's limits), and its routes are appended to the fixed visits.
//!
//! A vehicle already out costs no fixed cost in the reduced problem (it is paid), but the way
//! back to its depot counts only when it takes more visits, so the search leans slightly
//! towards vehicles at the depot.

use crate::check::check;
use crate::error::ModelError;
use crate::model::{Cost, Depot, Duration, Group, OnBoard, Pair, Problem, ProblemData, Stability, TimeWindow, VehicleType, UNLIMITED};
use crate::search::{solve, Environment};
use crate::solution::{BreakStop, Route, Solution, Trip, Unassigned, UnassignedReason};
use std::sync::Arc;

/// How far one vehicle of the plan has got.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VehicleProgress {
    /// Visits of its plan route, counted over all trips in order, that are done or under way:
    /// they stay as they are.
    pub fixed: usize,
    /// When it can go on from its last fixed visit (or leave its depot when none is fixed);
    /// `None`: when the plan's schedule says, and not before the replan's `now`.
    pub ready_at: Option<Duration>,
    /// From this time on the vehicle is not available: it must be back at its depot by then,
    /// or, when the time has come (a breakdown), it takes no more visits.
    pub unavailable_from: Option<Duration>,
    /// What it carries; `None`: what the plan loaded for the current trip less what it
    /// delivered, and the empties it collected on that trip.
    pub on_board: Option<OnBoard>,
    /// Where it is now (a GPS fix), as a location of the problem that no client or depot has:
    /// it goes on from there at `ready_at` (the replan's `now` when `None`) instead of from its
    /// last fixed visit or its depot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

/// A replan request.
#[derive(Clone, Debug)]
pub struct ReplanInput<'a> {
    /// The day as it is now: new orders included, cancelled ones left out.
    pub problem: &'a Problem,
    /// The announced plan, in `problem`'s client indices (without the cancelled clients);
    /// route `i` is vehicle `i`. Its `unassigned` clients stay out of the warm start; clients
    /// in neither its routes nor that list (new orders) are inserted by regret first.
    pub plan: &'a Solution,
    /// Progress of each plan route (a route without an entry has done nothing).
    pub progress: &'a [VehicleProgress],
    /// The time of the replan: no vehicle leaves its depot before it.
    pub now: Duration,
    /// Cost of serving an announced client with another vehicle, or with its own but starting
    /// its service more than `shift_tolerance` away from its announced time.
    pub move_cost: Cost,
    /// The announced start of service of each client of `problem` (empty: the plan's schedule).
    pub announced: &'a [Option<Duration>],
    /// How far an announced client's service may move at no cost; `None`: any.
    pub shift_tolerance: Option<Duration>,
}

/// Which vehicle a route of a replanned day is driven by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vehicle {
    /// The vehicle of plan route `i`.
    Plan(usize),
    /// A vehicle of this type that the plan did not use.
    New(usize),
}

/// One route of the replanned day.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReplannedRoute {
    /// Who drives it.
    pub vehicle: Vehicle,
    /// The whole route in the day's indices: fixed visits first, then the new ones.
    pub route: Route,
    /// How many of its visits (over all trips, in order) were fixed.
    pub fixed: usize,
}

/// The outcome of a replan.
#[derive(Clone, Debug)]
pub struct Replanned {
    /// The day's routes: one per plan vehicle that has fixed visits or new ones (in plan
    /// order), then the newly used vehicles.
    pub routes: Vec<ReplannedRoute>,
    /// Clients left out, with why.
    pub unassigned: Vec<Unassigned>,
    /// Announced clients now on another vehicle.
    pub moved: Vec<usize>,
    /// Whether the reduced problem's solution keeps every rule.
    pub feasible: bool,
    /// Its objective (in the reduced problem, move costs included).
    pub cost: i64,
    /// Search iterations.
    pub iterations: u64,
    /// The reduced problem that was solved.
    pub reduced: Replan,
    /// Its solution.
    pub reduced_solution: Solution,
}

impl Replanned {
    /// The day's routes as a solution of the day's problem (vehicle types as in the plan).
    pub fn solution(&self) -> Solution {
        Solution { routes: self.routes.iter().map(|r| r.route.clone()).filter(|r| !r.is_empty()).collect(), unassigned: self.unassigned.clone() }
    }
}

/// The reduced problem of a replan and how it maps to the day.
#[derive(Clone, Debug)]
pub struct Replan {
    /// The problem of what is left.
    pub problem: Problem,
    /// `client[k]`: the day's client that reduced client `k` stands for.
    pub client: Vec<usize>,
    /// `vehicle[t]`: who drives reduced vehicle type `t`.
    pub vehicle: Vec<Vehicle>,
    /// The plan's remaining routes, as a solution of the reduced problem (the warm start).
    pub start: Solution,
    /// `announced[c]`: the plan route day client `c` is on, if any.
    pub announced: Vec<Option<usize>>,
    /// The day's clients left out because another client of their group was served already.
    pub group_served: Vec<usize>,
}

/// Why a replan cannot be made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ReplanError {
    /// The plan refers to a client or vehicle type the problem does not have.
    #[error("plan route {route} refers to {what} that the problem does not have")]
    UnknownInPlan {
        /// Plan route.
        route: usize,
        /// What.
        what: String,
    },
    /// A client appears twice in the plan.
    #[error("client {client} appears twice in the plan")]
    Duplicate {
        /// The client.
        client: usize,
    },
    /// More progress entries than plan routes, or more fixed visits than a route has.
    #[error("progress of vehicle {route}: {why}")]
    BadProgress {
        /// Plan route.
        route: usize,
        /// What is wrong.
        why: String,
    },
    /// A pickup-and-delivery pair whose pickup is done and whose delivery is not: the goods are
    /// on that vehicle, which the reduced problem cannot say yet.
    #[error("pair {pair} is picked up but not delivered yet; replanning such a pair is not supported")]
    PairInProgress {
        /// Pair index.
        pair: usize,
    },
    /// The reduced problem is inconsistent (a bug, or inconsistent input such as a depot
    /// and a client sharing a location).
    #[error("the replan's problem is inconsistent: {0}")]
    Model(#[from] ModelError),
}

/// Builds the reduced problem of a replan (see the module documentation).
pub fn reduce(input: &ReplanInput) -> Result<Replan, ReplanError> {
    let p = input.problem;
    let n = p.num_clients();
    if input.progress.len() > input.plan.routes.len() {
        return Err(ReplanError::BadProgress { route: input.plan.routes.len(), why: "there is no such route in the plan".into() });
    }
    let none = VehicleProgress::default();
    // Where each client is in the plan, and what is fixed.
    let mut planned_on: Vec<Option<usize>> = vec![None; n];
    let mut fixed = vec![false; n];
    for (i, route) in input.plan.routes.iter().enumerate() {
        if route.vehicle_type >= p.vehicle_types.len() {
            return Err(ReplanError::UnknownInPlan { route: i, what: format!("vehicle type {}", route.vehicle_type) });
        }
        if route.trips.is_empty() {
            return Err(ReplanError::UnknownInPlan { route: i, what: "no trip (a route has at least one)".into() });
        }
        let progress = input.progress.get(i).unwrap_or(&none);
        let count = route.visits().count();
        if progress.fixed > count {
            return Err(ReplanError::BadProgress { route: i, why: format!("{} visits are fixed, but the route has {count}", progress.fixed) });
        }
        for (k, c) in route.visits().enumerate() {
            if c >= n {
                return Err(ReplanError::UnknownInPlan { route: i, what: format!("client {c}") });
            }
            if planned_on[c].is_some() {
                return Err(ReplanError::Duplicate { client: c });
            }
            planned_on[c] = Some(i);
            fixed[c] = k < progress.fixed;
        }
        for trip in &route.trips {
            if trip.depot >= p.depots.len() {
                return Err(ReplanError::UnknownInPlan { route: i, what: format!("depot {}", trip.depot) });
            }
        }
    }
    // A position is a place of its own, and one vehicle's.
    let mut positions: Vec<usize> = Vec::new();
    for (i, progress) in input.progress.iter().enumerate() {
        let Some(at) = progress.position else { continue };
        let why = if at >= p.num_locations() {
            format!("position {at} is not a location of the problem")
        } else if p.client_at(at).is_some() || p.depot_at(at).is_some() {
            format!("position {at} is a client's or a depot's location")
        } else if positions.contains(&at) {
            format!("position {at} is another vehicle's")
        } else {
            positions.push(at);
            continue;
        };
        return Err(ReplanError::BadProgress { route: i, why });
    }
    if let Some(pair) = p.pairs.iter().position(|pair| fixed[pair.pickup] != fixed[pair.delivery]) {
        return Err(ReplanError::PairInProgress { pair });
    }
    let report = check(p, input.plan);

    let mut depots = p.depots.clone();
    let mut types: Vec<VehicleType> = Vec::new();
    let mut vehicle: Vec<Vehicle> = Vec::new();
    // Reduced type of each plan route (None: the vehicle takes nothing more).
    let mut type_of_route: Vec<Option<usize>> = vec![None; input.plan.routes.len()];
    // Per plan route: (trip in progress, fixed visits of that trip).
    let mut cut: Vec<(usize, usize)> = vec![(0, 0); input.plan.routes.len()];
    let mut used = vec![0usize; p.vehicle_types.len()];
    for (i, route) in input.plan.routes.iter().enumerate() {
        let base = &p.vehicle_types[route.vehicle_type];
        used[route.vehicle_type] += 1;
        let progress = input.progress.get(i).unwrap_or(&none);
        let sched = report.routes.get(i);
        let mut vt = VehicleType { count: 1, ..base.clone() };
        let (trip, within) = position_of(route, progress.fixed);
        cut[i] = (trip, within);
        // The last fixed visit (the position of `within` keeps it in the trip in progress).
        let last = within.checked_sub(1).map(|k| route.trips[trip].visits[k]);
        let ready = match last {
            _ if progress.position.is_some() => progress.ready_at.unwrap_or(input.now),
            None => progress.ready_at.unwrap_or(base.shift.early).max(input.now),
            Some(last) => {
                // When the plan's schedule finishes the last fixed visit.
                let planned = sched.and_then(|s| s.arrivals.get(trip)?.get(within - 1).map(|at| at + p.clients[last].service_duration));
                progress.ready_at.or(planned).unwrap_or(input.now)
            }
        };
        if progress.unavailable_from.is_some_and(|u| u <= ready) {
            continue;
        }
        if let Some(u) = progress.unavailable_from {
            vt.shift.late = vt.shift.late.min(u);
        }
        vt.shift.early = ready.min(vt.shift.late);
        let here = match (progress.position, last) {
            (Some(at), _) => Some((at, format!("position of vehicle {i}"))),
            (None, Some(last)) => Some((p.clients[last].location, format!("{} (vehicle {i})", p.clients[last].name))),
            (None, None) => None,
        };
        if let Some((here, name)) = here {
            depots.push(Depot {
                name,
                location: here,
                // It leaves when ready, not later: waiting happens at the next stop, so the
                // route's duration (and the rule for breaks, which asks whether the route is
                // out at a break's latest start) counts from there as it does for the day.
                time_window: TimeWindow { early: ready, late: ready },
                reload_duration: 0,
            });
            vt.start_depot = depots.len() - 1;
            vt.fixed_cost = 0;
            // What is left of the limits.
            let started = sched.map_or(ready, |s| s.start);
            let elapsed = (ready - started).max(0);
            if vt.max_duration < UNLIMITED {
                vt.max_duration = (vt.max_duration - elapsed).max(0);
            }
            if vt.overtime_after < UNLIMITED {
                vt.overtime_after = (vt.overtime_after - elapsed).max(0);
            }
            if vt.max_distance < UNLIMITED {
                vt.max_distance = (vt.max_distance - driven(p, route, progress.fixed)).max(0);
            }
            vt.max_trips = vt.max_trips.saturating_sub(trip).max(1);
            // Breaks on legs already driven are taken.
            let taken: Vec<usize> = route.breaks.iter().filter(|b| (b.trip, b.after) < (trip, within)).map(|b| b.index).collect();
            vt.breaks = base.breaks.iter().enumerate().filter(|(k, _)| !taken.contains(k)).map(|(_, b)| *b).collect();
            vt.on_board = Some(progress.on_board.clone().unwrap_or_else(|| derived_on_board(p, &route.trips[trip].visits, within)));
        }
        type_of_route[i] = Some(types.len());
        types.push(vt);
        vehicle.push(Vehicle::Plan(i));
    }
    for (t, base) in p.vehicle_types.iter().enumerate() {
        if base.count > used[t] {
            let mut vt = VehicleType { count: base.count - used[t], ..base.clone() };
            vt.shift.early = vt.shift.early.max(input.now).min(vt.shift.late);
            types.push(vt);
            vehicle.push(Vehicle::New(t));
        }
    }

    if types.is_empty() {
        return Err(ModelError::NoVehicle.into());
    }
    let required_prize = required_prize(p);
    // The clients left, with the vehicle each was announced on.
    // A group one of whose clients is done (or under way) is served: its other clients leave.
    let group_done: Vec<bool> = p.groups.iter().map(|g| g.clients.iter().any(|&c| fixed[c])).collect();
    let group_served_before = |c: usize| !fixed[c] && p.group_of(c).is_some_and(|g| group_done[g]);
    let client: Vec<usize> = (0..n).filter(|&c| !fixed[c] && !group_served_before(c)).collect();
    let mut index = vec![usize::MAX; n];
    for (k, &c) in client.iter().enumerate() {
        index[c] = k;
    }
    let home: Vec<Option<usize>> = client.iter().map(|&c| planned_on[c].and_then(|i| type_of_route[i])).collect();
    // When shifts count: each announced client's announced time, given or as the plan has it.
    let arrival: Vec<Option<Duration>> = match input.shift_tolerance {
        None => Vec::new(),
        Some(_) => {
            let mut planned: Vec<Option<Duration>> = vec![None; n];
            for (i, route) in input.plan.routes.iter().enumerate() {
                let Some(times) = report.routes.get(i) else { continue };
                for (trip, starts) in route.trips.iter().zip(&times.arrivals) {
                    for (&c, &at) in trip.visits.iter().zip(starts) {
                        planned[c] = Some(at);
                    }
                }
            }
            client.iter().map(|&c| if input.announced.is_empty() { planned[c] } else { input.announced.get(c).copied().flatten() }).collect()
        }
    };
    // Required clients become optional with a prize no route cost reaches: the search serves
    // every one it can, and the ones that no longer fit (a new order when every vehicle is full,
    // the stops of a broken truck) are listed, with the reason, instead of making the whole plan
    // infeasible. Dropping an announced client costs its move cost more than dropping a new order.
    let clients = client
        .iter()
        .zip(&home)
        .map(|(&c, h)| {
            let mut cl = p.clients[c].clone();
            // A client of a required group earns the same prize, and the group becomes optional.
            let in_required_group = p.group_of(c).is_some_and(|g| p.groups[g].required);
            if cl.required || in_required_group {
                cl.required = false;
                cl.prize = required_prize + if h.is_some() { input.move_cost } else { 0 };
            }
            cl
        })
        .collect();
    let problem = Problem::new(ProblemData {
        name: format!("{} (replan)", p.name),
        locations: p.locations.clone(),
        depots,
        clients,
        vehicle_types: types,
        profiles: p.profiles.clone(),
        dimensions: p.dimensions,
        skill_names: p.skill_names.clone(),
        backhaul_precedence: p.backhaul_precedence,
        stability: Stability { home, move_cost: input.move_cost, arrival, shift_tolerance: input.shift_tolerance },
        // Groups not served yet, with their clients left (all of them: none is fixed).
        groups: p
            .groups
            .iter()
            .zip(&group_done)
            .filter(|(_, &done)| !done)
            .map(|(g, _)| Group { clients: g.clients.iter().map(|&c| index[c]).collect(), required: false })
            .collect(),
        // Pairs done are fixed visits; the others are wholly left (see above).
        pairs: p
            .pairs
            .iter()
            .filter(|pair| !fixed[pair.pickup])
            .map(|pair| Pair { pickup: index[pair.pickup], delivery: index[pair.delivery], amount: pair.amount.clone() })
            .collect(),
    })?;
    let start = plan_remainder(input.plan, &type_of_route, &cut, &index, &problem);
    let group_served = (0..n).filter(|&c| group_served_before(c)).collect();
    Ok(Replan { problem, client, vehicle, start, announced: planned_on, group_served })
}

/// Replans: builds the reduced problem, solves it from the plan's remaining routes within the
/// limits of `env`, and appends its routes to the fixed visits.
pub fn replan(input: &ReplanInput, env: &Environment) -> Result<Replanned, ReplanError> {
    let reduced = reduce(input)?;
    let env = Environment { initial: Some(Arc::new(reduced.start.clone())), ..env.clone() };
    let outcome = solve(&reduced.problem, &env);
    let p = input.problem;
    let none = VehicleProgress::default();

    // The fixed part of each plan route.
    let mut routes: Vec<ReplannedRoute> = Vec::new();
    let mut slot: Vec<Option<usize>> = vec![None; input.plan.routes.len()];
    for (i, route) in input.plan.routes.iter().enumerate() {
        let k = input.progress.get(i).unwrap_or(&none).fixed;
        if k == 0 {
            continue;
        }
        let (trip, within) = position_of(route, k);
        let mut trips: Vec<Trip> = route.trips[..=trip].to_vec();
        trips[trip].visits.truncate(within);
        let breaks = route.breaks.iter().copied().filter(|b| (b.trip, b.after) < (trip, within)).collect();
        slot[i] = Some(routes.len());
        routes.push(ReplannedRoute { vehicle: Vehicle::Plan(i), route: Route { vehicle_type: route.vehicle_type, trips, breaks }, fixed: k });
    }
    let day = |k: usize| reduced.client[k];
    // Plan routes whose vehicle takes more visits.
    let mut continued = vec![false; input.plan.routes.len()];
    for r in &outcome.solution.routes {
        let who = reduced.vehicle[r.vehicle_type];
        if let Vehicle::Plan(i) = who {
            continued[i] = true;
        }
        let mut trips: Vec<Trip> = r.trips.iter().map(|t| Trip { depot: t.depot, visits: t.visits.iter().map(|&k| day(k)).collect() }).collect();
        match who {
            Vehicle::Plan(i) => {
                let vt = input.plan.routes[i].vehicle_type;
                match slot[i] {
                    Some(s) => {
                        // Continue the trip in progress, then add the new trips.
                        let base = &mut routes[s].route;
                        let last = base.trips.len() - 1;
                        let offset = base.trips[last].visits.len();
                        for b in &r.breaks {
                            let trip = last + b.trip;
                            let after = if b.trip == 0 { offset + b.after } else { b.after };
                            base.breaks.push(BreakStop { index: original_break(p, vt, &reduced.problem, r.vehicle_type, b.index), trip, after });
                        }
                        let first = trips.remove(0);
                        base.trips[last].visits.extend(first.visits);
                        base.trips.extend(trips);
                    }
                    None => {
                        let breaks =
                            r.breaks.iter().map(|b| BreakStop { index: original_break(p, vt, &reduced.problem, r.vehicle_type, b.index), ..*b }).collect();
                        trips[0].depot = p.vehicle_types[vt].start_depot;
                        slot[i] = Some(routes.len());
                        routes.push(ReplannedRoute { vehicle: who, route: Route { vehicle_type: vt, trips, breaks }, fixed: 0 });
                    }
                }
            }
            Vehicle::New(t) => {
                trips[0].depot = p.vehicle_types[t].start_depot;
                routes.push(ReplannedRoute { vehicle: who, route: Route { vehicle_type: t, trips, breaks: r.breaks.clone() }, fixed: 0 });
            }
        }
    }
    // A vehicle that takes nothing more drives back from its last fixed visit: the breaks it has
    // not taken yet are on that leg, as the plan had them (its timing up to there is unchanged).
    for (i, route) in input.plan.routes.iter().enumerate() {
        let Some(s) = slot[i].filter(|_| !continued[i]) else { continue };
        let base = &mut routes[s].route;
        let last = base.trips.len() - 1;
        let after = base.trips[last].visits.len();
        let taken: Vec<usize> = base.breaks.iter().map(|b| b.index).collect();
        let types = &p.vehicle_types[route.vehicle_type];
        for index in (0..types.breaks.len()).filter(|k| !taken.contains(k)) {
            base.breaks.push(BreakStop { index, trip: last, after });
        }
    }
    // Plan vehicles first, in plan order, then the new ones.
    routes.sort_by_key(|r| match r.vehicle {
        Vehicle::Plan(i) => (0, i),
        Vehicle::New(_) => (1, 0),
    });

    let unassigned = outcome.solution.unassigned.iter().map(|u| {
        let c = day(u.client);
        // A required client (or group) is left out because nothing fits, never for its prize.
        let required = p.clients[c].required || p.group_of(c).is_some_and(|g| p.groups[g].required);
        let reason = if required && u.reason == UnassignedReason::NotWorthPrize { UnassignedReason::NoFeasibleRoute } else { u.reason };
        Unassigned { client: c, reason }
    });
    // The other clients of a group served before the replan.
    let fixed_out = reduced.group_served.iter().map(|&client| Unassigned { client, reason: UnassignedReason::GroupServed });
    let unassigned = unassigned.chain(fixed_out).collect();
    let mut moved = Vec::new();
    for r in &routes {
        if let Vehicle::Plan(i) = r.vehicle {
            moved.extend(r.route.visits().skip(r.fixed).filter(|&c| reduced.announced[c].is_some_and(|j| j != i)));
        } else {
            moved.extend(r.route.visits().filter(|&c| reduced.announced[c].is_some()));
        }
    }
    moved.sort_unstable();
    Ok(Replanned {
        routes,
        unassigned,
        moved,
        feasible: outcome.feasible,
        cost: outcome.cost,
        iterations: outcome.iterations,
        reduced_solution: outcome.solution,
        reduced,
    })
}

/// A prize above what serving any one client can cost: ten times a route of the dearest vehicle
/// type that drives twice the longest distance and duration of the matrices, plus the longest
/// service.
fn required_prize(p: &Problem) -> Cost {
    let longest = |m: &crate::model::Matrix| {
        let k = m.size();
        (0..k).flat_map(|a| (0..k).map(move |b| (a, b))).map(|(a, b)| m.get(a, b)).max().unwrap_or(0)
    };
    let service = p.clients.iter().map(|c| c.service_duration).max().unwrap_or(0);
    // Per profile once: the matrices are the same for every vehicle type of a profile.
    let spans: Vec<(i64, i64)> = p.profiles.iter().map(|prof| (longest(&prof.distance), longest(&prof.duration))).collect();
    let route = p
        .vehicle_types
        .iter()
        .map(|vt| {
            let (d, t) = spans[vt.profile];
            let (d, t) = (2 * d, 2 * t + service);
            // Fair days: a client lengthens a route of at most the whole shift by at most t.
            let shift = if vt.shift.late >= UNLIMITED { t } else { (vt.shift.late - vt.shift.early).max(0) };
            vt.fixed_cost + vt.unit_distance_cost * d + (vt.unit_duration_cost + vt.unit_overtime_cost) * t + vt.balance.of(shift.saturating_add(t))
        })
        .max()
        .unwrap_or(0);
    route.saturating_mul(10).clamp(1_000, Cost::MAX / (4 * (p.num_clients() as i64 + 1)))
}

/// Break `k` of reduced type `rt` as an index into the breaks of the day's type `t` (the reduced
/// type keeps the breaks not yet taken, in order).
fn original_break(p: &Problem, t: usize, reduced: &Problem, rt: usize, k: usize) -> usize {
    let b = reduced.vehicle_types[rt].breaks[k];
    p.vehicle_types[t].breaks.iter().position(|x| *x == b).unwrap_or(k)
}

/// `(trip, visits of that trip)` of the first `fixed` visits of `route`: the trip in progress
/// and how many of its visits are fixed. When the fixed visits end a trip, that trip is the one
/// in progress, with nothing left to visit (the vehicle is on its way to reload or back).
fn position_of(route: &Route, fixed: usize) -> (usize, usize) {
    let mut left = fixed;
    for (t, trip) in route.trips.iter().enumerate() {
        if left <= trip.visits.len() {
            return (t, left);
        }
        left -= trip.visits.len();
    }
    let last = route.trips.len().saturating_sub(1);
    (last, route.trips.get(last).map_or(0, |t| t.visits.len()))
}

/// Distance driven by `route` up to its `fixed`-th visit.
fn driven(p: &Problem, route: &Route, fixed: usize) -> i64 {
    let t = route.vehicle_type;
    let mut at = p.depots[p.vehicle_types[t].start_depot].location;
    let mut total = 0;
    let mut left = fixed;
    for (k, trip) in route.trips.iter().enumerate() {
        if left == 0 {
            break;
        }
        if k > 0 {
            let d = p.depots[trip.depot].location;
            total += p.distance(t, at, d);
            at = d;
        }
        for &c in trip.visits.iter().take(left) {
            let here = p.clients[c].location;
            total += p.distance(t, at, here);
            at = here;
            left -= 1;
        }
    }
    total
}

/// What a vehicle carries after the first `done` visits of its current trip `visits`: the
/// deliveries of the rest of the trip, and the pickups made so far.
fn derived_on_board(p: &Problem, visits: &[usize], done: usize) -> OnBoard {
    let dims = p.dimensions;
    let mut stock = vec![0; dims];
    let mut empties = vec![0; dims];
    for (k, &c) in visits.iter().enumerate() {
        for d in 0..dims {
            if k < done {
                empties[d] += p.clients[c].pickup[d];
            } else {
                stock[d] += p.clients[c].delivery[d];
            }
        }
    }
    OnBoard { stock, empties }
}

/// The plan's routes after their fixed visits, as a solution of the reduced problem `reduced`
/// (`index[c]`: reduced index of day client `c`).
fn plan_remainder(plan: &Solution, type_of_route: &[Option<usize>], cut: &[(usize, usize)], index: &[usize], reduced: &Problem) -> Solution {
    let mut routes = Vec::new();
    for (i, route) in plan.routes.iter().enumerate() {
        let Some(t) = type_of_route[i] else { continue };
        let (trip, within) = cut[i];
        let keep = |v: &[usize]| v.iter().map(|&c| index[c]).filter(|&k| k != usize::MAX).collect::<Vec<_>>();
        let mut trips = vec![Trip { depot: reduced.vehicle_types[t].start_depot, visits: keep(&route.trips[trip].visits[within..]) }];
        for later in &route.trips[trip + 1..] {
            trips.push(Trip { depot: later.depot, visits: keep(&later.visits) });
        }
        let r = Route { vehicle_type: t, trips, breaks: Vec::new() };
        if !r.is_empty() {
            routes.push(r);
        }
    }
    // What the plan left out stays out of the warm start (the search may still take it in);
    // only the clients the plan does not know (new orders) are inserted at once.
    let unassigned =
        plan.unassigned.iter().filter_map(|u| index.get(u.client).filter(|&&k| k != usize::MAX).map(|&k| Unassigned { client: k, reason: u.reason })).collect();
    Solution { routes, unassigned }
}
