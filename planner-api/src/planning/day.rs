//! The bridge between stored data and the solver: [`DayModel::build`] turns a job's orders,
//! customers, depots and vehicles into the solver's JSON delivery day and the problems to solve
//! (with travel matrices from a [`TravelMatrix`]; a big day of several depots is solved depot by
//! depot, see [`super::parts`]), [`DayModel::solve`] searches, and [`DayModel::render`] turns the
//! solver's routes back into orders, arrival times and loads.
//!
//! Modelling choices (domain facts from `DOMAIN.md`):
//! - capacity dimensions are slots per cylinder size (`cylinders_20kg`, …), `weight_kg` and
//!   `gas_kg`; a full cylinder weighs about twice its gas, an empty one about its gas; each stop
//!   delivers full cylinders and collects as many empties of the same size;
//! - every vehicle is its own solver vehicle type (count 1) so a route names a plate;
//! - heavy motorcycles have the `two_wheeler` skill that customers in narrow lanes or without
//!   parking need; stairs add a minute per cylinder to the service time;
//! - orders are optional clients whose prize is the penalty for leaving them out (urgent orders
//!   cost far more), so an overloaded day still gets a plan that says what was left out and why.

use super::parts::{split, PartIdx};
use super::replan::{Compiled, FleetInfo, LiveModel, StopInfo};
use crate::domain::customer::CYLINDER_SIZES_KG;
use crate::domain::plan::{PlannedDepot, UnassignedOrder};
use crate::domain::{AccessRestriction, Customer, Depot, Order, PlanRequest, PlanResult, Priority, Vehicle, VehicleKind, VehicleType};
use crate::travel::{RoutingProfile, TravelMatrix};
use solver::io::json::{cost_to_ntd, Amounts, JsonBreak, JsonClient, JsonDepot, JsonProblem, JsonProfile, JsonRushHour, JsonTimeWindow, JsonVehicleType};
use solver::search::{self, Environment, Outcome, Progress, ProgressFn};
use std::sync::Arc;
use std::time::Instant;

/// The skill of vehicles that reach narrow lanes and stop where trucks cannot.
pub const TWO_WHEELER: &str = "two_wheeler";
/// Minutes at every stop, plus [`MINUTES_PER_CYLINDER`] per cylinder.
pub const BASE_SERVICE_MINUTES: f64 = 3.0;
/// Minutes per cylinder exchanged (doubled with stairs).
pub const MINUTES_PER_CYLINDER: f64 = 1.0;
/// Minutes a vehicle spends reloading at its depot between trips.
pub const RELOAD_MINUTES: f64 = 15.0;

/// An order with its customer.
#[derive(Clone, Debug)]
pub struct OrderStop {
    /// The order.
    pub order: Order,
    /// Its customer.
    pub customer: Customer,
}

/// An active vehicle with its type.
#[derive(Clone, Debug)]
pub struct Fleet {
    /// The vehicle.
    pub vehicle: Vehicle,
    /// Its type.
    pub vehicle_type: VehicleType,
}

/// Everything a job plans, read from the store.
#[derive(Clone, Debug)]
pub struct DayInputs {
    /// The request.
    pub request: PlanRequest,
    /// Orders still `received` and held by the job.
    pub orders: Vec<OrderStop>,
    /// The request's depots.
    pub depots: Vec<Depot>,
    /// Active vehicles based at those depots.
    pub fleet: Vec<Fleet>,
    /// Most orders one part of a big day may hold ([`super::WorkerConfig::part_max_orders`]).
    pub part_max_orders: usize,
}

/// A delivery day ready for the solver, with the maps back to stored ids: the whole day as one
/// model (what is stored with the plan, without travel matrices) and the parts it is solved in
/// (one, or one per depot for a big day: see [`super::parts`]).
#[derive(Debug)]
pub struct DayModel {
    /// The whole day in the solver's JSON format, without travel matrices (kept with the plan,
    /// whose downloads and replans compute them again from the travel source).
    pub doc: JsonProblem,
    /// The orders given to the solver.
    pub orders: Vec<OrderStop>,
    /// `stops[c]` is client `c` of `doc`: an order, at the customer's address or at one of the
    /// order's alternative addresses (an order with alternatives is a group of clients, one per
    /// address, of which the plan serves one).
    pub stops: Vec<StopInfo>,
    /// `fleet[t]` is vehicle type `t` of `doc`.
    pub fleet: Vec<Fleet>,
    /// `depots[d]` is depot `d` of `doc`.
    pub depots: Vec<Depot>,
    /// The problems solved, each with its travel matrices.
    pub parts: Vec<DayPart>,
    /// The request (search options, penalties).
    pub request: PlanRequest,
    /// Orders left out before solving (no vehicle can ever reach them).
    pub left_out: Vec<UnassignedOrder>,
    /// The penalties of those orders, NT$.
    pub left_out_penalty_ntd: f64,
    /// Where the travel matrices came from, per profile.
    pub travel: Vec<crate::travel::TravelSource>,
    /// Most orders one part may hold ([`super::parts::PART_MAX_ORDERS`] by default).
    pub part_max_orders: usize,
}

/// One problem of a day: the whole day, or the orders of one depot and its vehicles.
#[derive(Debug)]
pub struct DayPart {
    /// Its place in the whole day.
    pub idx: PartIdx,
    /// Its model (`compiled.model` without matrices) and built problem.
    pub compiled: Compiled,
}

/// What the search made of each part of a day.
#[derive(Debug)]
pub struct DayOutcome {
    /// `parts[k]` is the outcome of part `k`.
    pub parts: Vec<Outcome>,
    /// Iterations over all parts.
    pub iterations: u64,
}

/// A day as the worker meets it: something to solve, or a plan that is already known because no
/// vehicle can serve any of its orders.
#[derive(Debug)]
pub enum Day {
    /// Solve this.
    Solvable(Box<DayModel>),
    /// No route is possible; every order is unassigned with its reason.
    Unservable(PlanResult),
}

fn planned_depots(depots: &[Depot]) -> Vec<PlannedDepot> {
    depots.iter().map(|d| PlannedDepot { id: d.id, name: d.data.name.clone(), lat: d.data.lat, lon: d.data.lon }).collect()
}

/// The penalty for leaving an order out, NT$.
pub(crate) fn penalty(order: &Order, request: &PlanRequest) -> f64 {
    if order.data.priority == Priority::Urgent {
        request.options.urgent_penalty_ntd
    } else {
        request.options.unserved_penalty_ntd
    }
}

fn dim(size_kg: u32) -> String {
    format!("cylinders_{size_kg}kg")
}

fn profile_of(kind: VehicleKind) -> RoutingProfile {
    match kind {
        VehicleKind::Truck => RoutingProfile::Truck,
        VehicleKind::HeavyMotorcycle => RoutingProfile::Motorcycle,
    }
}

impl DayModel {
    /// Builds the solver's day. Errors are texts for the job's `error`.
    pub fn build(inputs: DayInputs, travel: &dyn TravelMatrix) -> Result<Day, String> {
        let DayInputs { request, orders, depots, fleet, part_max_orders } = inputs;
        let o = &request.options;
        let types = fleet_types(&fleet);
        let vehicle_types: Vec<JsonVehicleType> = fleet.iter().map(|f| vehicle_type(f, &request, &types)).collect();
        // Orders no vehicle of the day may serve (a narrow lane without a motorcycle, a customer
        // none of whose allowed vehicle types is in the fleet) never reach the solver.
        let (orders, unreachable): (Vec<_>, Vec<_>) =
            orders.into_iter().map(|s| (client(&s, &request, &types), s)).partition(|(c, _)| servable(&vehicle_types, c));
        let (main, orders): (Vec<JsonClient>, Vec<OrderStop>) = orders.into_iter().unzip();
        let (clients, stops): (Vec<JsonClient>, Vec<StopInfo>) =
            main.into_iter().zip(&orders).flat_map(|(c, s)| at_each_address(c, StopInfo::of(s, penalty(&s.order, &request)), s)).unzip();
        let left_out: Vec<UnassignedOrder> =
            unreachable.iter().map(|(_, s)| UnassignedOrder { order_id: s.order.id, reason: "no_compatible_vehicle".to_owned() }).collect();
        let left_out_penalty_ntd: f64 = unreachable.iter().map(|(_, s)| penalty(&s.order, &request)).sum();
        if orders.is_empty() {
            return Ok(Day::Unservable(PlanResult {
                depots: planned_depots(&depots),
                routes: vec![],
                unassigned: left_out,
                distance_m: 0,
                duration_s: 0,
                cost_ntd: 0,
                penalty_ntd: left_out_penalty_ntd.round() as i64,
                feasible: true,
                iterations: 0,
                elapsed_s: 0.0,
                travel: vec![],
            }));
        }

        let mut sizes: Vec<u32> = CYLINDER_SIZES_KG
            .iter()
            .copied()
            .filter(|s| {
                orders.iter().any(|o| o.order.data.cylinders.iter().any(|c| c.size_kg == *s))
                    || fleet.iter().any(|f| f.vehicle_type.data.cylinder_slots.iter().any(|c| c.size_kg == *s))
            })
            .collect();
        sizes.sort_unstable();
        let mut dimensions: Vec<String> = sizes.iter().map(|&s| dim(s)).collect();
        dimensions.extend(["weight_kg".to_owned(), "gas_kg".to_owned()]);

        let json_depots: Vec<JsonDepot> = depots
            .iter()
            .map(|d| JsonDepot {
                id: format!("D{}", d.id),
                name: d.data.name.clone(),
                lat: d.data.lat,
                lon: d.data.lon,
                open: "00:00".into(),
                close: "24:00".into(),
                reload_minutes: RELOAD_MINUTES,
            })
            .collect();
        // The plan's own rush hours, else those of the travel source's roads (a road graph).
        let bands_of_the_roads = o.rush_hours.is_empty();
        let road_bands = |profile: RoutingProfile| if bands_of_the_roads { travel.rush_hours(profile) } else { Vec::new() };
        let road_bands = [road_bands(RoutingProfile::Truck), road_bands(RoutingProfile::Motorcycle)];

        // Travel matrices are computed per part, never for the whole of a big day.
        let profiles = [RoutingProfile::Truck, RoutingProfile::Motorcycle]
            .into_iter()
            .map(|profile| JsonProfile {
                name: profile.name().to_owned(),
                speed_kmh: None,
                detour_factor: None,
                distance_m: None,
                duration_s: None,
                rush_hours: if bands_of_the_roads { road_bands[profile as usize].clone() } else { o.rush_hours.clone() }
                    .into_iter()
                    .map(|r| JsonRushHour { start: r.start, end: r.end, speed_percent: r.speed_percent })
                    .collect(),
            })
            .collect();
        let doc = JsonProblem {
            name: format!("plan-{}", request.date),
            date: request.date.to_string(),
            dimensions,
            profiles,
            depots: json_depots,
            vehicle_types,
            clients,
            pairs: Vec::new(),
        };
        let mut model =
            DayModel { doc, orders, stops, fleet, depots, parts: Vec::new(), request, left_out, left_out_penalty_ntd, travel: Vec::new(), part_max_orders };
        let whole = model.live_model();
        let idx = split(&whole, &std::collections::HashMap::new()).unwrap_or_else(|| vec![PartIdx::whole(&whole)]);
        for idx in idx.into_iter().filter(|p| !p.clients.is_empty()) {
            let mut part = whole.restricted(&idx);
            for mut source in part.fill_matrices(travel)? {
                // Shown with the plan: the hours its travel source made it drive with.
                let profile = [RoutingProfile::Truck, RoutingProfile::Motorcycle].into_iter().find(|p| p.name() == source.profile);
                source.rush_hours = profile.map(|p| road_bands[p as usize].clone()).unwrap_or_default();
                if !model.travel.contains(&source) {
                    model.travel.push(source);
                }
            }
            let compiled = Compiled::new(part).map_err(|e| format!("the day cannot be planned: {e}"))?;
            model.parts.push(DayPart { idx, compiled });
        }
        Ok(Day::Solvable(Box::new(model)))
    }

    /// The model replans start from: the whole day's solver input without its travel matrices,
    /// and the orders, vehicles and depots behind its indices.
    pub fn live_model(&self) -> LiveModel {
        LiveModel {
            doc: self.doc.clone(),
            stops: self.stops.clone(),
            fleet: self
                .fleet
                .iter()
                .map(|f| FleetInfo {
                    vehicle_id: f.vehicle.id,
                    plate: f.vehicle.data.plate.clone(),
                    depot_id: f.vehicle.data.depot_id,
                    vehicle_type_id: Some(f.vehicle_type.id),
                })
                .collect(),
            depots: planned_depots(&self.depots),
            left_out: self.left_out.clone(),
            left_out_penalty_ntd: self.left_out_penalty_ntd,
            part_max_orders: self.part_max_orders,
        }
    }

    /// Solves the parts one after the other (so only one search runs at a time), within `env`:
    /// each part gets the share of the time left that its orders are of the orders left, and
    /// the request's iteration limit. Progress reports add the parts already solved.
    pub fn solve(&self, env: &Environment) -> DayOutcome {
        let started = Instant::now();
        let mut left: usize = self.parts.iter().map(|p| p.idx.clients.len()).sum();
        let mut outcomes = Vec::with_capacity(self.parts.len());
        let (mut done_cost, mut done_iterations, mut done_feasible) = (0i64, 0u64, true);
        for part in &self.parts {
            let n = part.idx.clients.len();
            // Orders are few enough that the share is exact in f64.
            #[allow(clippy::cast_precision_loss)]
            let share = n as f64 / left.max(1) as f64;
            let time_limit = env.time_limit.map(|t| t.saturating_sub(started.elapsed()).mul_f64(share));
            let offset = started.elapsed();
            let progress = env.progress.clone().map(|report| {
                let (cost, iterations, feasible) = (done_cost, done_iterations, done_feasible);
                Arc::new(move |p: Progress| {
                    report(Progress {
                        iterations: p.iterations + iterations,
                        best_cost: p.best_cost.saturating_add(cost),
                        feasible: p.feasible && feasible,
                        elapsed: p.elapsed + offset,
                    });
                }) as ProgressFn
            });
            let part_env = Environment { time_limit, progress, max_iterations: self.request.options.max_iterations.or(env.max_iterations), ..env.clone() };
            let outcome = search::solve(&part.compiled.problem, &part_env);
            done_cost = done_cost.saturating_add(outcome.cost);
            done_iterations += outcome.iterations;
            done_feasible &= outcome.feasible;
            left -= n;
            outcomes.push(outcome);
        }
        DayOutcome { parts: outcomes, iterations: done_iterations }
    }

    /// Turns the search's outcome into one plan, with the checker's arrival times and costs of
    /// each part.
    pub fn render(&self, outcome: &DayOutcome) -> PlanResult {
        let mut routes = Vec::new();
        let mut unassigned = self.left_out.clone();
        let (mut distance, mut duration, mut lost_prizes, mut feasible, mut elapsed) = (0, 0, 0, true, 0.0);
        for (part, out) in self.parts.iter().zip(&outcome.parts) {
            let (p, m) = (&part.compiled.problem, &part.compiled.model);
            let checked = solver::check::check(p, &out.solution);
            for (k, route) in out.solution.routes.iter().enumerate() {
                let Some(rep) = checked.routes.get(k) else { continue };
                // The checker's service starts, in route order.
                let mut arrivals = rep.arrivals.iter().flatten().copied();
                let at = |_: usize| (crate::domain::StopStatus::Planned, arrivals.next().unwrap_or(0));
                routes.extend(super::replan::render_route(p, m, route, at, rep.distance, (rep.start, rep.end), &rep.breaks));
            }
            let reasons = out.solution.unassigned.iter().map(|u| (u.client, u.reason));
            unassigned.extend(super::replan::unassigned_orders(m, reasons).into_iter().map(|(order, _)| order));
            distance += checked.cost.distance;
            duration += checked.cost.duration;
            lost_prizes += checked.cost.uncollected_prizes - served_groups_prizes(p, &out.solution);
            feasible &= checked.is_feasible();
            elapsed += out.elapsed.as_secs_f64();
        }
        unassigned.sort_by_key(|u| u.order_id);
        let route_cost = routes.iter().map(|r| r.cost_ntd).sum();
        PlanResult {
            depots: planned_depots(&self.depots),
            routes,
            unassigned,
            distance_m: distance,
            duration_s: duration,
            cost_ntd: route_cost,
            // The prizes of the clients no route visits, and the orders no vehicle can serve.
            penalty_ntd: (cost_to_ntd(lost_prizes) + self.left_out_penalty_ntd).round() as i64,
            feasible,
            iterations: outcome.iterations,
            elapsed_s: elapsed,
            travel: self.travel.clone(),
        }
    }
}

/// The solver vehicle type of one vehicle of the day's fleet (whose vehicle types are `types`).
fn vehicle_type(f: &Fleet, request: &PlanRequest, types: &[i64]) -> JsonVehicleType {
    let o = &request.options;
    let t = &f.vehicle_type.data;
    let mut capacity: Amounts = t.cylinder_slots.iter().map(|s| (dim(s.size_kg), i64::from(s.count))).collect();
    capacity.insert("weight_kg".into(), i64::from(t.max_load_kg));
    capacity.insert("gas_kg".into(), i64::from(t.max_gas_kg));
    let depot = format!("D{}", f.vehicle.data.depot_id);
    JsonVehicleType {
        id: format!("V{}", f.vehicle.id),
        name: f.vehicle.data.plate.clone(),
        count: 1,
        capacity,
        start_depot: depot.clone(),
        end_depot: None,
        shift_start: Some(o.shift_start.clone()),
        shift_end: Some(o.shift_end.clone()),
        max_duration_minutes: None,
        max_distance_km: None,
        fixed_cost: o.fixed_cost_ntd,
        cost_per_km: o.cost_per_km_ntd,
        cost_per_hour: o.cost_per_hour_ntd,
        profile: profile_of(t.kind).name().to_owned(),
        skills: vehicle_skills(t.kind, f.vehicle_type.id, types),
        reload_depots: if o.max_trips > 1 { vec![depot] } else { vec![] },
        max_trips: o.max_trips,
        breaks: o
            .driver_break
            .iter()
            .map(|b| JsonBreak { window: JsonTimeWindow { start: b.earliest.clone(), end: b.latest.clone() }, minutes: f64::from(b.minutes) })
            .collect(),
        overtime_after_minutes: None,
        overtime_cost_per_hour: 0.0,
        fair_day_cost_per_hour_squared: o.fair_day_ntd_per_hour_squared,
    }
}

/// The clients of an order whose client at the customer's address is `main` (shown as `info`):
/// that one alone, or, for an order with alternative addresses, a group named after the order
/// with one client per address (ids `O{id}`, `O{id}-1`, …), all alike but for where they are.
pub(crate) fn at_each_address(main: JsonClient, info: StopInfo, s: &OrderStop) -> Vec<(JsonClient, StopInfo)> {
    let alternatives = &s.order.data.alternative_addresses;
    if alternatives.is_empty() {
        return vec![(main, info)];
    }
    let group = Some(format!("O{}", s.order.id));
    let mut out = Vec::with_capacity(alternatives.len() + 1);
    for (k, a) in alternatives.iter().enumerate() {
        let client = JsonClient {
            id: format!("O{}-{}", s.order.id, k + 1),
            lat: a.lat,
            lon: a.lon,
            district: Some(a.district.clone()),
            group: group.clone(),
            ..main.clone()
        };
        out.push((client, StopInfo { address: a.address.clone(), address_index: k + 1, ..info.clone() }));
    }
    out.insert(0, (JsonClient { group, ..main }, info));
    out
}

/// The vehicle types of `fleet`, ascending, each once.
fn fleet_types(fleet: &[Fleet]) -> Vec<i64> {
    let mut types: Vec<i64> = fleet.iter().map(|f| f.vehicle_type.id).collect();
    types.sort_unstable();
    types.dedup();
    types
}

/// The skill of every vehicle whose vehicle type is not `vehicle_type_id`. A vehicle serves a
/// client when it has every skill the client needs, so a customer that only some vehicle types
/// may serve needs this skill for each other vehicle type of the day's fleet: a vehicle of an
/// allowed type has them all, one of another type lacks its own.
pub fn not_of_type(vehicle_type_id: i64) -> String {
    format!("not_vehicle_type_{vehicle_type_id}")
}

/// What a customer needs when none of its allowed vehicle types is in the fleet: no vehicle has
/// it, so the order is left out (`no_compatible_vehicle`).
const NO_ALLOWED_VEHICLE: &str = "no_allowed_vehicle_type";

/// The skills of a vehicle of kind `kind` and vehicle type `own` in a fleet of the vehicle types
/// `types`: [`TWO_WHEELER`] for a heavy motorcycle, and [`not_of_type`] of every other type.
pub(crate) fn vehicle_skills(kind: VehicleKind, own: i64, types: &[i64]) -> Vec<String> {
    let mut skills = if kind == VehicleKind::HeavyMotorcycle { vec![TWO_WHEELER.to_owned()] } else { vec![] };
    if types.len() > 1 {
        skills.extend(types.iter().filter(|&&t| t != own).map(|&t| not_of_type(t)));
    }
    skills
}

/// The skills a vehicle needs to serve customer `c` in a fleet of the vehicle types `types`:
/// [`TWO_WHEELER`] for a narrow lane or no parking; for a customer only some vehicle types may
/// serve, [`not_of_type`] of every type of the fleet not on its list ([`NO_ALLOWED_VEHICLE`]
/// when none is).
pub(crate) fn customer_skills(c: &crate::domain::NewCustomer, types: &[i64]) -> Vec<String> {
    let needs_two_wheeler = c.access_restrictions.iter().any(|r| matches!(r, AccessRestriction::NarrowLane | AccessRestriction::NoParking));
    let mut skills = if needs_two_wheeler { vec![TWO_WHEELER.to_owned()] } else { vec![] };
    let allowed = &c.allowed_vehicle_type_ids;
    if !allowed.is_empty() {
        if types.iter().any(|t| allowed.contains(t)) {
            skills.extend(types.iter().filter(|t| !allowed.contains(t)).map(|&t| not_of_type(t)));
        } else {
            skills.push(NO_ALLOWED_VEHICLE.to_owned());
        }
    }
    skills
}

/// Whether some vehicle type of `vehicle_types` has every skill `client` needs.
pub(crate) fn servable(vehicle_types: &[JsonVehicleType], client: &JsonClient) -> bool {
    vehicle_types.iter().any(|t| client.skills.iter().all(|s| t.skills.contains(s)))
}

/// What the checker's uncollected prizes count beyond the plan's penalties: it counts the prize
/// of every client no route visits, so an order with alternatives served at one address would
/// lose the prizes of the others, and one left out the prize of each address; the order's
/// penalty is one prize, lost only when no address is served. (The search's objective carries the
/// same constant per group, which changes no decision between two plans.)
fn served_groups_prizes(p: &solver::Problem, solution: &solver::Solution) -> i64 {
    let visited: std::collections::HashSet<usize> = solution.routes.iter().flat_map(|r| r.visits()).collect();
    p.groups
        .iter()
        .map(|g| {
            let unvisited: Vec<i64> = g.clients.iter().filter(|c| !visited.contains(c)).map(|&c| p.clients[c].prize).collect();
            let lost: i64 = unvisited.iter().sum();
            if unvisited.len() == g.clients.len() {
                lost - unvisited.iter().max().copied().unwrap_or(0)
            } else {
                lost
            }
        })
        .sum()
}

/// The solver client of an order, in a plan whose fleet has the vehicle types `types`.
pub(crate) fn client(s: &OrderStop, request: &PlanRequest, types: &[i64]) -> JsonClient {
    let c = &s.customer.data;
    let mut delivery = Amounts::new();
    let mut pickup = Amounts::new();
    let mut cylinders = 0u32;
    for line in &s.order.data.cylinders {
        let (size, qty) = (i64::from(line.size_kg), i64::from(line.quantity));
        cylinders += line.quantity;
        *delivery.entry(dim(line.size_kg)).or_default() += qty;
        *delivery.entry("gas_kg".into()).or_default() += size * qty;
        // A full cylinder weighs about twice its gas; the empty collected about its gas.
        *delivery.entry("weight_kg".into()).or_default() += 2 * size * qty;
        *pickup.entry(dim(line.size_kg)).or_default() += qty;
        *pickup.entry("weight_kg".into()).or_default() += size * qty;
    }
    let stairs = c.access_restrictions.contains(&AccessRestriction::Stairs);
    let per_cylinder = if stairs { 2.0 * MINUTES_PER_CYLINDER } else { MINUTES_PER_CYLINDER };
    let windows = match s.order.data.window() {
        Some(w) => vec![w],
        None => c.time_windows.clone(),
    };
    JsonClient {
        id: format!("O{}", s.order.id),
        name: c.name.clone(),
        lat: c.lat,
        lon: c.lon,
        district: Some(c.district.clone()),
        delivery,
        pickup,
        service_minutes: BASE_SERVICE_MINUTES + per_cylinder * f64::from(cylinders),
        time_windows: windows.into_iter().map(|w| JsonTimeWindow { start: w.start, end: w.end }).collect(),
        release_time: None,
        required: false,
        prize: Some(penalty(&s.order, request)),
        skills: customer_skills(c, types),
        vehicle_types: Vec::new(),
        group: None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::customer::{TimeWindow, UsualCylinder};
    use crate::domain::{CylinderSlots, NewCustomer, NewDepot, NewOrder, NewVehicle, NewVehicleType, OrderStatus, PaymentMethod, PlanRequestInput};
    use crate::travel::{GreatCircle, TravelConfig};
    use chrono::{NaiveDate, Utc};

    pub(crate) fn request() -> PlanRequest {
        let input: PlanRequestInput = serde_json::from_value(serde_json::json!({ "date": "2026-03-02", "depot_ids": [1] })).expect("input");
        input.validate(60.0).expect("valid")
    }

    pub(crate) fn stop(id: i64, restrictions: Vec<AccessRestriction>, priority: Priority) -> OrderStop {
        let now = Utc::now();
        let customer = Customer {
            id: 100 + id,
            data: NewCustomer {
                code: format!("C{:04}", id),
                name: format!("客戶{id}"),
                phone: None,
                address: "台北市".into(),
                district: "信義區".into(),
                lat: 25.03 + 0.01 * id as f64,
                lon: 121.56,
                time_windows: vec![TimeWindow { start: "13:00".into(), end: "17:00".into() }],
                usual_cylinders: vec![],
                access_restrictions: restrictions,
                payment_method: PaymentMethod::Cash,
                allowed_vehicle_type_ids: vec![],
            },
            position_approximate: false,
            created_at: now,
            updated_at: now,
        };
        let order = Order {
            id,
            data: NewOrder {
                customer_id: customer.id,
                delivery_date: NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
                cylinders: vec![UsualCylinder { size_kg: 20, quantity: 2 }, UsualCylinder { size_kg: 50, quantity: 1 }],
                time_window: None,
                preference: None,
                priority,
                note: None,
                alternative_addresses: Vec::new(),
            },
            status: OrderStatus::Received,
            plan_id: Some(1),
            created_at: now,
            updated_at: now,
        };
        OrderStop { order, customer }
    }

    pub(crate) fn inputs(stops: Vec<OrderStop>) -> DayInputs {
        let now = Utc::now();
        let depot =
            Depot {
                id: 1, data: NewDepot { name: "內湖站".into(), address: "內湖".into(), lat: 25.0752, lon: 121.5753 }, created_at: now, updated_at: now
            };
        let vehicle_type = VehicleType {
            id: 7,
            data: NewVehicleType {
                name: "小貨車".into(),
                kind: VehicleKind::Truck,
                cylinder_slots: vec![CylinderSlots { size_kg: 20, count: 30 }, CylinderSlots { size_kg: 50, count: 8 }],
                max_load_kg: 1500,
                max_gas_kg: 900,
                required_skills: vec![],
            },
            created_at: now,
            updated_at: now,
        };
        let vehicle = Vehicle {
            id: 3,
            data: NewVehicle { plate: "ABC-1234".into(), vehicle_type_id: 7, depot_id: 1, active: true, default_driver_id: None },
            created_at: now,
            updated_at: now,
        };
        DayInputs {
            request: request(),
            orders: stops,
            depots: vec![depot],
            fleet: vec![Fleet { vehicle, vehicle_type }],
            part_max_orders: super::super::parts::PART_MAX_ORDERS,
        }
    }

    #[test]
    fn models_cylinder_exchange_weights_windows_and_penalties() {
        let travel = GreatCircle::new(TravelConfig::default());
        let day = DayModel::build(inputs(vec![stop(1, vec![], Priority::Urgent)]), &travel).expect("builds");
        let Day::Solvable(model) = day else { panic!("a truck serves a street address") };
        let c = &model.doc.clients[0];
        let amounts = |pairs: &[(&str, i64)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect::<Amounts>();
        // Two 20 kg and one 50 kg: 90 kg of gas, full cylinders weigh twice that, empties once.
        assert_eq!(c.delivery, amounts(&[("cylinders_20kg", 2), ("cylinders_50kg", 1), ("gas_kg", 90), ("weight_kg", 180)]));
        assert_eq!(c.pickup, amounts(&[("cylinders_20kg", 2), ("cylinders_50kg", 1), ("weight_kg", 90)]));
        assert_eq!(c.time_windows, vec![JsonTimeWindow { start: "13:00".into(), end: "17:00".into() }], "the customer's window");
        assert_eq!((c.required, c.prize), (false, Some(100_000.0)), "urgent orders cost the urgent penalty");
        assert_eq!(c.service_minutes, BASE_SERVICE_MINUTES + 3.0 * MINUTES_PER_CYLINDER);
        let v = &model.doc.vehicle_types[0];
        assert_eq!((v.id.as_str(), v.name.as_str(), v.count), ("V3", "ABC-1234", 1));
        assert_eq!(v.capacity, amounts(&[("cylinders_20kg", 30), ("cylinders_50kg", 8), ("gas_kg", 900), ("weight_kg", 1500)]));
        assert_eq!(model.doc.dimensions, ["cylinders_20kg", "cylinders_50kg", "weight_kg", "gas_kg"]);
        assert_eq!((model.parts.len(), model.parts[0].compiled.problem.num_clients()), (1, 1));
    }

    #[test]
    fn a_customer_that_allows_some_vehicle_types_needs_what_only_they_have() {
        let mut c = stop(1, vec![], Priority::Normal).customer.data;
        c.allowed_vehicle_type_ids = vec![7, 9];
        let types = [7, 8, 9];
        let need = customer_skills(&c, &types);
        let serves = |kind, own| {
            let has = vehicle_skills(kind, own, &types);
            need.iter().all(|s| has.contains(s))
        };
        assert_eq!((serves(VehicleKind::Truck, 7), serves(VehicleKind::Truck, 8), serves(VehicleKind::Truck, 9)), (true, false, true));
        c.access_restrictions = vec![AccessRestriction::NarrowLane];
        let need = customer_skills(&c, &types);
        let serves = |kind, own| {
            let has = vehicle_skills(kind, own, &types);
            need.iter().all(|s| has.contains(s))
        };
        assert_eq!((serves(VehicleKind::Truck, 7), serves(VehicleKind::HeavyMotorcycle, 7), serves(VehicleKind::HeavyMotorcycle, 8)), (false, true, false));
        // A fleet of one type: nothing to tell apart, or nobody allowed.
        c.access_restrictions.clear();
        assert!(customer_skills(&c, &[9]).is_empty() && vehicle_skills(VehicleKind::Truck, 9, &[9]).is_empty());
        assert_eq!(customer_skills(&c, &[8]), [NO_ALLOWED_VEHICLE]);
        c.allowed_vehicle_type_ids.clear();
        assert!(customer_skills(&c, &types).is_empty(), "any vehicle");
    }

    #[test]
    fn leaves_narrow_lane_orders_out_when_no_motorcycle_can_go() {
        let travel = GreatCircle::new(TravelConfig::default());
        let stops = vec![stop(1, vec![], Priority::Normal), stop(2, vec![AccessRestriction::NarrowLane], Priority::Normal)];
        let Ok(Day::Solvable(model)) = DayModel::build(inputs(stops), &travel) else { panic!("the street order is solvable") };
        assert_eq!(model.left_out, vec![UnassignedOrder { order_id: 2, reason: "no_compatible_vehicle".into() }]);
        assert_eq!((model.orders.len(), model.left_out_penalty_ntd), (1, 10_000.0));
        let only_lane = vec![stop(2, vec![AccessRestriction::NarrowLane], Priority::Normal)];
        let Ok(Day::Unservable(plan)) = DayModel::build(inputs(only_lane), &travel) else { panic!("nothing to solve") };
        assert_eq!((plan.routes.len(), plan.unassigned.len(), plan.cost_ntd, plan.penalty_ntd), (0, 1, 0, 10_000));
    }
}
