//! The answer in VROOM's output shape (`code`, `summary`, `unassigned`, `routes` with `steps`)
//! for a solution of a [`VroomModel`].
//!
//! Times come from the independent checker's schedule of each route (`check::RouteReport`:
//! departure, service starts, break starts, return), which leaves as late as the route allows,
//! as VROOM does. What VROOM reports besides is bookkeeping along the route's legs: the arrival
//! at a stop is the end of the previous service plus the travel time, delayed by the breaks
//! taken on the way (the driver drives until a break may start, stops for it, and drives on);
//! the waiting time is the service start minus the arrival; `duration` and `distance` are
//! cumulated travel time and distance. A break on the road is reported at the distance driven
//! so far, prorated along the leg. VROOM's load is on board after each step: deliveries of jobs
//! are on board at the start, a shipment's amount from its pickup step to its delivery step
//! (the two steps of a model pair).

use super::build::{Task, VroomModel};
use super::{Coordinates, Id};
use crate::check::{CheckReport, RouteReport};
use crate::model::Problem;
use crate::repair;
use crate::solution::{Route, Solution, Unassigned, UnassignedReason};
use serde::Serialize;

/// A violation in VROOM's shape. Never present: answers are made of routes that keep every
/// rule (VROOM reports violations only in its plan mode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// What is violated.
    pub cause: String,
}

/// VROOM's answer.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    /// `0`: solved.
    pub code: u8,
    /// Totals over all routes.
    pub summary: Summary,
    /// Tasks in no route.
    pub unassigned: Vec<UnassignedTask>,
    /// One route per used vehicle, in the order of the vehicles.
    pub routes: Vec<AnswerRoute>,
}

/// Totals over all routes (each the sum of the routes' figures).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Total cost.
    pub cost: i64,
    /// Number of routes.
    pub routes: usize,
    /// Number of unassigned tasks.
    pub unassigned: usize,
    /// Total setup time.
    pub setup: i64,
    /// Total service time (breaks included).
    pub service: i64,
    /// Total travel time.
    pub duration: i64,
    /// Total waiting time.
    pub waiting_time: i64,
    /// Sum of the priorities of the served tasks.
    pub priority: i64,
    /// Total delivered, per dimension (absent without amounts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Vec<i64>>,
    /// Total picked up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup: Option<Vec<i64>>,
    /// VROOM's deprecated `amount`: the delivered total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Vec<i64>>,
    /// Total distance, when every vehicle's distances are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<i64>,
    /// Always empty.
    pub violations: Vec<Violation>,
}

/// A task in no route.
#[derive(Clone, Debug, Serialize)]
pub struct UnassignedTask {
    /// The job's or shipment step's id.
    pub id: Id,
    /// `job`, `pickup` or `delivery`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// As given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// As given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Coordinates>,
    /// As given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_index: Option<usize>,
}

/// The route of one vehicle.
#[derive(Clone, Debug, Serialize)]
pub struct AnswerRoute {
    /// The vehicle's id.
    pub vehicle: Id,
    /// Fixed cost, travel cost and task time cost.
    pub cost: i64,
    /// Setup time of its tasks.
    pub setup: i64,
    /// Service time of its tasks and breaks.
    pub service: i64,
    /// Travel time.
    pub duration: i64,
    /// Waiting time before tasks and breaks.
    pub waiting_time: i64,
    /// Sum of the priorities of its tasks.
    pub priority: i64,
    /// Delivered per dimension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Vec<i64>>,
    /// Picked up per dimension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup: Option<Vec<i64>>,
    /// The delivered total (VROOM's deprecated `amount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Vec<i64>>,
    /// The vehicle's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Distance, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<i64>,
    /// `start` (when the vehicle has one), tasks and breaks, `end` (when it has one).
    pub steps: Vec<Step>,
    /// Always empty.
    pub violations: Vec<Violation>,
}

/// One step of a route.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// `start`, `job`, `pickup`, `delivery`, `break` or `end`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When the vehicle gets there (for a break: when it stops).
    pub arrival: i64,
    /// Travel time so far.
    pub duration: i64,
    /// Setup time here.
    pub setup: i64,
    /// Service time here (the break's length for a break).
    pub service: i64,
    /// Waiting before the service (or the break) starts.
    pub waiting_time: i64,
    /// The task's or break's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// As given in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Coordinates>,
    /// As given in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_index: Option<usize>,
    /// The task's or break's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// VROOM's deprecated `job`: the task's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<Id>,
    /// Load on board after the step, per dimension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<Vec<i64>>,
    /// Distance so far, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<i64>,
    /// Always empty.
    pub violations: Vec<Violation>,
}

/// The answer for `solution`: VROOM limits the model does not hold are enforced first (tasks
/// taken out of a route that breaks one are unassigned), then the checker's repair makes sure
/// every route can be driven. Returns the routes' violations when it cannot (an internal
/// error: the search and the checker disagree).
pub fn answer(model: &VroomModel, mut solution: Solution) -> Result<Answer, String> {
    enforce_limits(model, &mut solution);
    let report = repair::drop_optional_until_feasible(&model.problem, &mut solution);
    if !report.is_feasible() {
        return Err(format!("the solution breaks rules: {:?}", report.violations));
    }
    Ok(build_answer(model, &solution, &report))
}

fn build_answer(model: &VroomModel, solution: &Solution, report: &CheckReport) -> Answer {
    let mut order: Vec<usize> = (0..solution.routes.len()).filter(|&r| !solution.routes[r].is_empty()).collect();
    order.sort_by_key(|&r| solution.routes[r].vehicle_type);
    let routes: Vec<AnswerRoute> = order.iter().map(|&r| route_answer(model, &solution.routes[r], &report.routes[r])).collect();

    let mut served = vec![false; model.problem.num_clients()];
    for c in solution.routes.iter().flat_map(Route::visits) {
        if let Some(s) = served.get_mut(c) {
            *s = true;
        }
    }
    let mut unassigned = Vec::new();
    for (task, _) in model.tasks.iter().zip(&served).filter(|(_, &served)| !served) {
        match *task {
            Task::Job(j) => {
                let job = &model.input.jobs[j];
                unassigned.push(UnassignedTask {
                    id: job.id.clone(),
                    kind: "job",
                    description: job.description.clone(),
                    location: job.location,
                    location_index: job.location_index,
                });
            }
            Task::Pickup(s) | Task::Delivery(s) => {
                let shipment = &model.input.shipments[s];
                let (step, kind) = if matches!(task, Task::Pickup(_)) { (&shipment.pickup, "pickup") } else { (&shipment.delivery, "delivery") };
                unassigned.push(UnassignedTask {
                    id: step.id.clone(),
                    kind,
                    description: step.description.clone(),
                    location: step.location,
                    location_index: step.location_index,
                });
            }
        }
    }

    let dims = model.dims;
    let sum = |f: fn(&AnswerRoute) -> i64| routes.iter().map(f).sum::<i64>();
    let vectors = |f: fn(&AnswerRoute) -> &Option<Vec<i64>>| {
        (dims > 0).then(|| (0..dims).map(|d| routes.iter().map(|r| f(r).as_ref().map_or(0, |v| v[d])).sum()).collect::<Vec<i64>>())
    };
    let all_distances = model.problem.vehicle_types.iter().all(|vt| model.distances[vt.profile].is_some());
    let summary = Summary {
        cost: sum(|r| r.cost),
        routes: routes.len(),
        unassigned: unassigned.len(),
        setup: sum(|r| r.setup),
        service: sum(|r| r.service),
        duration: sum(|r| r.duration),
        waiting_time: sum(|r| r.waiting_time),
        priority: sum(|r| r.priority),
        delivery: vectors(|r| &r.delivery),
        pickup: vectors(|r| &r.pickup),
        amount: vectors(|r| &r.delivery),
        distance: all_distances.then(|| routes.iter().map(|r| r.distance.unwrap_or(0)).sum()),
        violations: Vec::new(),
    };
    Answer { code: 0, summary, unassigned, routes }
}

/// What one task is in VROOM's terms, for its step at the client.
struct TaskView<'a> {
    kind: &'static str,
    id: &'a Id,
    description: Option<String>,
    location: Option<Coordinates>,
    location_index: Option<usize>,
    setup: i64,
    priority: i64,
    /// Change of the load at this step.
    delta: Vec<i64>,
    /// Delivered and picked up, as VROOM counts them per route.
    delivered: Vec<i64>,
    picked: Vec<i64>,
}

fn amount(a: &Option<Vec<u64>>, dims: usize) -> Vec<i64> {
    match a {
        Some(a) if !a.is_empty() => a.iter().map(|&x| x as i64).collect(),
        _ => vec![0; dims],
    }
}

fn task_view(model: &VroomModel, c: usize) -> TaskView<'_> {
    let dims = model.dims;
    let input = &model.input;
    match model.tasks[c] {
        Task::Job(j) => {
            let job = &input.jobs[j];
            let (delivered, picked) = match (&job.delivery, &job.pickup, &job.amount) {
                (None, None, Some(_)) => (amount(&job.amount, dims), vec![0; dims]),
                (d, p, _) => (amount(d, dims), amount(p, dims)),
            };
            let delta = picked.iter().zip(&delivered).map(|(p, d)| p - d).collect();
            TaskView {
                kind: "job",
                id: &job.id,
                description: job.description.clone(),
                location: job.location,
                location_index: job.location_index,
                setup: job.setup as i64,
                priority: job.priority as i64,
                delta,
                delivered,
                picked,
            }
        }
        Task::Pickup(s) | Task::Delivery(s) => {
            // The shipment's amount is on board from its pickup to its delivery.
            let shipment = &input.shipments[s];
            let is_pickup = matches!(model.tasks[c], Task::Pickup(_));
            let step = if is_pickup { &shipment.pickup } else { &shipment.delivery };
            let a = amount(&shipment.amount, dims);
            let none = vec![0; dims];
            let (delta, delivered, picked) = if is_pickup { (a.clone(), none, a) } else { (a.iter().map(|x| -x).collect(), a, none) };
            TaskView {
                kind: if is_pickup { "pickup" } else { "delivery" },
                id: &step.id,
                description: step.description.clone(),
                location: step.location,
                location_index: step.location_index,
                setup: step.setup as i64,
                priority: shipment.priority as i64,
                delta,
                delivered,
                picked,
            }
        }
    }
}

/// Walks one route leg by leg and writes its steps.
struct Walk<'a> {
    model: &'a VroomModel,
    t: usize,
    /// Whether the load is reported.
    loads: bool,
    load: Vec<i64>,
    steps: Vec<Step>,
    travel: i64,
    distance: i64,
    waiting: i64,
    service: i64,
}

impl Walk<'_> {
    fn step(&self, kind: &'static str, arrival: i64) -> Step {
        Step {
            kind,
            arrival,
            duration: self.travel,
            setup: 0,
            service: 0,
            waiting_time: 0,
            description: None,
            location: None,
            location_index: None,
            id: None,
            job: None,
            load: self.loads.then(|| self.load.clone()),
            distance: self.model.distances[self.model.problem.vehicle_types[self.t].profile].as_ref().map(|_| self.distance),
            violations: Vec::new(),
        }
    }

    /// Drives from `from` (left at `time`) to `to`, taking `breaks` (model break index, start)
    /// on the way; returns the arrival.
    fn leg(&mut self, from: usize, to: usize, mut time: i64, breaks: &[(usize, i64)]) -> i64 {
        let p: &Problem = &self.model.problem;
        let travel = p.duration(self.t, from, to);
        let profile = p.vehicle_types[self.t].profile;
        let leg_distance = self.model.distances[profile].as_ref().map_or(0, |m| m.get(from, to));
        let vehicle = &self.model.input.vehicles[self.t];
        let mut driven = 0;
        for &(index, start) in breaks {
            let ahead = (start - time).clamp(0, travel - driven);
            driven += ahead;
            let stop = time + ahead;
            let begins = start.max(stop);
            let length = p.vehicle_types[self.t].breaks[index].duration;
            let vroom = &vehicle.breaks[self.model.vehicles[self.t].breaks[index]];
            let mut step = self.step("break", stop);
            step.duration = self.travel + driven;
            step.distance = step.distance.map(|d| d + if travel > 0 { leg_distance * driven / travel } else { 0 });
            step.service = length;
            step.waiting_time = begins - stop;
            step.id = Some(vroom.id.clone());
            step.description = vroom.description.clone();
            self.waiting += begins - stop;
            self.service += length;
            self.steps.push(step);
            time = begins + length;
        }
        self.travel += travel;
        self.distance += leg_distance;
        time + (travel - driven)
    }
}

/// One route in VROOM's terms, timed by the checker's `report` of it.
fn route_answer(model: &VroomModel, route: &Route, report: &RouteReport) -> AnswerRoute {
    let p = &model.problem;
    let t = route.vehicle_type;
    let vt = &p.vehicle_types[t];
    let vehicle = &model.input.vehicles[t];
    let info = &model.vehicles[t];
    let dims = model.dims;
    let visits: Vec<usize> = route.visits().collect();
    let services: Vec<i64> = report.arrivals.iter().flatten().copied().collect();
    // breaks_on[k]: the breaks taken on the leg after the k-th visit, by start.
    let mut breaks_on: Vec<Vec<(usize, i64)>> = vec![Vec::new(); visits.len() + 1];
    for (k, b) in route.breaks.iter().enumerate() {
        let start = report.breaks.get(k).copied().unwrap_or(report.start);
        breaks_on[b.after.min(visits.len())].push((b.index, start));
    }
    for leg in &mut breaks_on {
        leg.sort_by_key(|&(_, start)| start);
    }
    let views: Vec<TaskView> = visits.iter().map(|&c| task_view(model, c)).collect();
    let mut load = vec![0; dims];
    for view in views.iter().filter(|v| v.kind == "job") {
        for (l, d) in load.iter_mut().zip(&view.delivered) {
            *l += d;
        }
    }
    let mut walk = Walk { model, t, loads: dims > 0, load, steps: Vec::new(), travel: 0, distance: 0, waiting: 0, service: 0 };

    let start_depot = p.depots[vt.start_depot].location;
    let end_depot = p.depots[vt.end_depot].location;
    if info.has_start {
        let mut step = walk.step("start", report.start);
        (step.location, step.location_index) = (vehicle.start, vehicle.start_index);
        walk.steps.push(step);
    }

    let (mut setup, mut priority, mut task_time) = (0, 0, 0);
    let mut time = report.start;
    let mut at = start_depot;
    for (k, (&c, view)) in visits.iter().zip(&views).enumerate() {
        let client = &p.clients[c];
        let arrival = walk.leg(at, client.location, time, &breaks_on[k]);
        let service_start = services.get(k).copied().unwrap_or(arrival);
        let arrival = arrival.min(service_start);
        for (l, d) in walk.load.iter_mut().zip(&view.delta) {
            *l += d;
        }
        let mut step = walk.step(view.kind, arrival);
        step.setup = view.setup;
        step.service = client.service_duration - view.setup;
        step.waiting_time = service_start - arrival;
        (step.id, step.job, step.description) = (Some(view.id.clone()), Some(view.id.clone()), view.description.clone());
        (step.location, step.location_index) = (view.location, view.location_index);
        walk.waiting += step.waiting_time;
        walk.service += step.service;
        walk.steps.push(step);
        setup += view.setup;
        priority += view.priority;
        task_time += client.service_duration;
        time = service_start + client.service_duration;
        at = client.location;
    }
    walk.leg(at, end_depot, time, &breaks_on[visits.len()]);
    if info.has_end {
        let mut step = walk.step("end", report.end);
        (step.location, step.location_index) = (vehicle.end, vehicle.end_index);
        walk.steps.push(step);
    }

    let legs = legs(p, route);
    let travel_cost: i64 = legs.iter().map(|&(a, b)| p.distance(t, a, b)).sum();
    // per_task_hour x seconds / 3600, rounded.
    let task_cost = (i128::from(vehicle.costs.per_task_hour) * i128::from(task_time) + 1800) / 3600;
    let (mut delivered, mut picked) = (vec![0; dims], vec![0; dims]);
    for v in &views {
        for d in 0..dims {
            delivered[d] += v.delivered[d];
            picked[d] += v.picked[d];
        }
    }
    let amounts = |v: Vec<i64>| (dims > 0).then_some(v);
    AnswerRoute {
        vehicle: vehicle.id.clone(),
        cost: vt.fixed_cost + travel_cost + i64::try_from(task_cost).unwrap_or(i64::MAX),
        setup,
        service: walk.service,
        duration: walk.travel,
        waiting_time: walk.waiting,
        priority,
        delivery: amounts(delivered.clone()),
        pickup: amounts(picked),
        amount: amounts(delivered),
        description: vehicle.description.clone(),
        distance: model.distances[vt.profile].as_ref().map(|_| walk.distance),
        steps: walk.steps,
        violations: Vec::new(),
    }
}

/// The legs `(from, to)` of a single-trip route, by model location.
fn legs(p: &Problem, route: &Route) -> Vec<(usize, usize)> {
    let vt = &p.vehicle_types[route.vehicle_type];
    let mut stops = vec![p.depots[vt.start_depot].location];
    stops.extend(route.visits().map(|c| p.clients[c].location));
    stops.push(p.depots[vt.end_depot].location);
    stops.windows(2).map(|w| (w[0], w[1])).collect()
}

/// A route's travel time and distance, by the model's travel times and the real distances.
fn travel_and_distance(model: &VroomModel, route: &Route) -> (i64, i64) {
    let p = &model.problem;
    let t = route.vehicle_type;
    let distances = model.distances[p.vehicle_types[t].profile].as_ref();
    legs(p, route).iter().fold((0, 0), |(time, dist), &(a, b)| (time + p.duration(t, a, b), dist + distances.map_or(0, |m| m.get(a, b))))
}

/// How far a route is over the VROOM limits the model does not hold: (travel time excess,
/// distance excess).
fn excess(model: &VroomModel, route: &Route) -> (i64, i64) {
    let info = &model.vehicles[route.vehicle_type];
    let (travel, distance) = travel_and_distance(model, route);
    let over = |value: i64, limit: Option<i64>| limit.map_or(0, |l| (value - l).max(0));
    (over(travel, info.max_travel_time), over(distance, info.max_distance))
}

/// Route `route` without client `c` (breaks after it move one visit back).
fn remove_visit(route: &mut Route, c: usize) {
    if let Some(i) = route.trips[0].visits.iter().position(|&v| v == c) {
        route.trips[0].visits.remove(i);
        for b in route.breaks.iter_mut().filter(|b| b.trip == 0 && b.after > i) {
            b.after -= 1;
        }
    }
}

/// Takes tasks out of routes that break a travel time or distance limit the model does not
/// hold, each time the one whose removal leaves the least excess (then the cheapest route); a
/// shipment's two steps leave together.
fn enforce_limits(model: &VroomModel, solution: &mut Solution) {
    let p = &model.problem;
    for route in &mut solution.routes {
        while excess(model, route) != (0, 0) {
            let visits = route.trips.first().map_or(Vec::new(), |t| t.visits.clone());
            let best = visits
                .iter()
                .map(|&c| {
                    let mut shorter = route.clone();
                    remove_visit(&mut shorter, c);
                    if let Some(o) = p.partner(c) {
                        remove_visit(&mut shorter, o);
                    }
                    let (time, dist) = excess(model, &shorter);
                    let cost: i64 = legs(p, &shorter).iter().map(|&(a, b)| p.distance(route.vehicle_type, a, b)).sum();
                    ((time + dist, cost), c)
                })
                .min();
            let Some((_, client)) = best else { break };
            for c in std::iter::once(client).chain(p.partner(client)) {
                remove_visit(route, c);
                solution.unassigned.push(Unassigned { client: c, reason: UnassignedReason::ShiftLimits });
            }
        }
    }
    solution.routes.retain(|r| !r.is_empty());
}
