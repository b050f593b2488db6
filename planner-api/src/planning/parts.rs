//! Big days of several depots, planned depot by depot.
//!
//! The solver keeps a dense travel matrix per routing profile and measure (`i32`, n × n): a day
//! of 10,000 orders as one problem would need 400 MB per matrix, 1.6 GB for distances and
//! durations of trucks and motorcycles, before the search starts. A day of more than
//! [`SPLIT_ABOVE_ORDERS`] orders with vehicles at several depots is therefore cut into parts,
//! one per depot with vehicles: each depot's vehicles serve the orders whose home depot it is
//! ([`home_depot`]: the nearest depot with a vehicle that may serve the order). The parts are
//! solved one after the other and their routes merged into one plan, so memory follows the
//! largest part, not the whole day.
//!
//! A depot whose orders are still more than [`PART_MAX_ORDERS`] (a single-depot day, or two
//! depots sharing 10,000 orders) is cut further into sectors around it, the sweep decomposition
//! of the routing literature (Gillett and Miller's sweep; the decomposition phases of Vidal's
//! HGS and of Santini, Schneider, Vidal and Vigo's study of decomposition strategies): its
//! orders sorted by their bearing from the depot, starting after the widest empty angle, are cut
//! into sectors of equal size, and its vehicles, grouped by what they can do (skills and routing
//! profile), are dealt to the sectors in turn, so that every sector gets its share of each kind.
//! Memory then stays bounded whatever the day's shape: the search's memory grows with the
//! square of the largest part.
//!
//! Replans of such a day ([`super::replan`]) build only the parts their events touch; a stop
//! stays in the part of the vehicle whose route holds it, so a replan never loses a stop to
//! another part, whatever moved it there.
//!
//! Parts are index lists into a [`LiveModel`]: `depots[i]`, `types[i]` and `clients[i]` are the
//! whole day's depot, vehicle type and client `i` of the part.

use super::day::client;
use super::replan::{replan_version, Base, Candidate, Compiled, LiveModel, Replanned};
use crate::domain::plan::{PlannedRoute, UnassignedOrder};
use crate::domain::replan::{Event, EventBatch, Execution};
use crate::domain::{FieldError, PlanRequest, PlanResult};
use crate::travel::TravelMatrix;
use solver::io::json::{JsonClient, JsonProblem};
use std::collections::{HashMap, HashSet};

/// A day with more orders than this, and vehicles at more than one depot, is planned depot by
/// depot. Smaller days are planned whole: vehicles may then serve any depot's customers.
pub const SPLIT_ABOVE_ORDERS: usize = 1_500;

/// A depot's share of a split day with more orders than this is cut into sectors of at most
/// this many orders (see the module's documentation). A part of 2,000 orders peaks near 1 GB
/// in the search (release build, two routing profiles); 5,000 went past 3 GB.
pub const PART_MAX_ORDERS: usize = 2_000;

/// [`PART_MAX_ORDERS`], for models stored without a limit of their own.
pub fn default_part_max_orders() -> usize {
    PART_MAX_ORDERS
}

/// One part of a day: indices into the whole day's model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartIdx {
    /// Depots (`doc.depots`).
    pub depots: Vec<usize>,
    /// Vehicle types (`doc.vehicle_types`, `fleet`).
    pub types: Vec<usize>,
    /// Clients (`doc.clients`, `stops`).
    pub clients: Vec<usize>,
}

impl PartIdx {
    /// The whole of `model` as one part.
    pub fn whole(model: &LiveModel) -> PartIdx {
        PartIdx {
            depots: (0..model.doc.depots.len()).collect(),
            types: (0..model.doc.vehicle_types.len()).collect(),
            clients: (0..model.stops.len()).collect(),
        }
    }

    /// The union of `parts` (each index once, in order).
    pub fn union<'a>(parts: impl IntoIterator<Item = &'a PartIdx>) -> PartIdx {
        let mut u = PartIdx::default();
        for p in parts {
            u.depots.extend(&p.depots);
            u.types.extend(&p.types);
            u.clients.extend(&p.clients);
        }
        for v in [&mut u.depots, &mut u.types, &mut u.clients] {
            v.sort_unstable();
            v.dedup();
        }
        u
    }
}

/// Squared equirectangular distance in degrees: enough to rank depots by nearness.
fn nearness((lat0, lon0): (f64, f64), (lat, lon): (f64, f64)) -> f64 {
    let dx = (lon - lon0) * lat0.to_radians().cos();
    let dy = lat - lat0;
    dx * dx + dy * dy
}

/// Whether a vehicle type of depot `d` has every skill in `skills`.
fn serves(doc: &JsonProblem, d: usize, skills: &[String]) -> bool {
    let id = &doc.depots[d].id;
    doc.vehicle_types.iter().any(|t| &t.start_depot == id && skills.iter().all(|s| t.skills.contains(s)))
}

/// The home depot of `client`: the nearest depot (index into `doc.depots`) with a vehicle that
/// has the skills it needs; the first such depot on a tie; `None` when no depot has one.
pub fn home_depot(doc: &JsonProblem, client: &JsonClient) -> Option<usize> {
    (0..doc.depots.len()).filter(|&d| serves(doc, d, &client.skills)).min_by(|&a, &b| {
        let at = |d: usize| nearness((doc.depots[d].lat, doc.depots[d].lon), (client.lat, client.lon));
        at(a).total_cmp(&at(b))
    })
}

/// Whether a vehicle of `part` may serve `client` (has every skill it needs).
fn covers(doc: &JsonProblem, part: &PartIdx, client: &JsonClient) -> bool {
    part.types.iter().any(|&t| client.skills.iter().all(|s| doc.vehicle_types[t].skills.contains(s)))
}

/// The bearing of `(lat, lon)` seen from `(lat0, lon0)`, radians in `(-π, π]`.
fn bearing((lat0, lon0): (f64, f64), (lat, lon): (f64, f64)) -> f64 {
    let dx = (lon - lon0) * lat0.to_radians().cos();
    (lat - lat0).atan2(dx)
}

/// The sectors of one depot: the bearing the sweep starts from, and each sector's first
/// bearing (relative to the start, increasing) with its part.
#[derive(Clone, Debug, Default)]
struct Sectors {
    start: f64,
    firsts: Vec<(f64, usize)>,
}

impl Sectors {
    /// The bearing `b` relative to the sweep's start, in `[0, 2π)`.
    fn relative(&self, b: f64) -> f64 {
        (b - self.start).rem_euclid(std::f64::consts::TAU)
    }

    /// The part of a new order at bearing `b`: the last sector that starts at or before it.
    fn part_at(&self, b: f64) -> Option<usize> {
        let r = self.relative(b);
        self.firsts.iter().rev().find(|(first, _)| *first <= r).or(self.firsts.first()).map(|&(_, k)| k)
    }
}

/// How a big day is cut: its parts, and for each depot either its one part or its sectors.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// The parts.
    pub parts: Vec<PartIdx>,
    /// Depot index → its one part (not cut into sectors).
    part_of_depot: HashMap<usize, usize>,
    /// Depot index → its sectors (when cut).
    sectors: HashMap<usize, Sectors>,
}

impl Layout {
    /// The part an order without a route joins: its [`home_depot`]'s part, or, where that
    /// depot is cut into sectors, the sector of its bearing.
    pub fn home_part(&self, doc: &JsonProblem, client: &JsonClient) -> Option<usize> {
        let d = home_depot(doc, client)?;
        match self.sectors.get(&d) {
            // The sector of its bearing, unless none of that sector's vehicles may serve it
            // (the depot's motorcycles, or its vehicles of the types the customer allows, went
            // to other sectors): then the first sector with one.
            Some(sectors) => {
                let at = sectors.part_at(bearing((doc.depots[d].lat, doc.depots[d].lon), (client.lat, client.lon)))?;
                let serving = |k: &usize| self.parts.get(*k).is_some_and(|p| covers(doc, p, client));
                Some(at).filter(serving).or_else(|| sectors.firsts.iter().map(|&(_, k)| k).find(serving)).or(Some(at))
            }
            None => self.part_of_depot.get(&d).copied(),
        }
    }
}

/// The parts of `model` when the day is big enough to be split (see [`SPLIT_ABOVE_ORDERS`]
/// and [`PART_MAX_ORDERS`]); `None` when it is planned whole. A client on a route (`on_route`:
/// order → vehicle) belongs to its vehicle's part, any other to its [`Layout::home_part`]
/// (the first part's when no depot can serve it: the solver leaves it out).
pub fn split(model: &LiveModel, on_route: &HashMap<i64, i64>) -> Option<Vec<PartIdx>> {
    layout(model, on_route).map(|l| l.parts)
}

/// [`split`], with what places a new order in its part.
pub fn layout(model: &LiveModel, on_route: &HashMap<i64, i64>) -> Option<Layout> {
    let doc = &model.doc;
    let depot_index: HashMap<&str, usize> = doc.depots.iter().enumerate().map(|(d, x)| (x.id.as_str(), d)).collect();
    // Each depot's vehicles (indices into `doc.vehicle_types`), in the order of the document.
    let mut depots_with_vehicles: Vec<usize> = Vec::new();
    let mut vehicles_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (t, vt) in doc.vehicle_types.iter().enumerate() {
        let Some(&d) = depot_index.get(vt.start_depot.as_str()) else { continue };
        vehicles_of.entry(d).or_insert_with(|| {
            depots_with_vehicles.push(d);
            Vec::new()
        });
        vehicles_of.entry(d).or_default().push(t);
    }
    let part_max = model.part_max_orders.max(1);
    if model.stops.len() <= SPLIT_ABOVE_ORDERS.min(part_max) || depots_with_vehicles.is_empty() {
        return None;
    }
    // The orders at home at each depot, whether on a route or not: the sectors' cuts do not
    // depend on what a plan did with them.
    let homes: Vec<Option<usize>> = doc.clients.iter().map(|c| home_depot(doc, c)).collect();
    let mut at_home: HashMap<usize, Vec<usize>> = HashMap::new();
    for (c, h) in homes.iter().enumerate() {
        if let Some(d) = h {
            at_home.entry(*d).or_default().push(c);
        }
    }
    let cut = |d: &usize| at_home.get(d).map_or(0, Vec::len) > part_max && vehicles_of[d].len() > 1;
    if depots_with_vehicles.len() < 2 && !depots_with_vehicles.iter().any(cut) {
        return None;
    }

    let mut layout = Layout::default();
    let mut part_of_vehicle_type: HashMap<usize, usize> = HashMap::new();
    for &d in &depots_with_vehicles {
        let vehicles = &vehicles_of[&d];
        if !cut(&d) {
            layout.part_of_depot.insert(d, layout.parts.len());
            part_of_vehicle_type.extend(vehicles.iter().map(|&t| (t, layout.parts.len())));
            layout.parts.push(PartIdx { depots: vec![d], types: vehicles.clone(), ..PartIdx::default() });
            continue;
        }
        let here = &at_home[&d];
        let k = here.len().div_ceil(part_max).min(vehicles.len());
        let origin = (doc.depots[d].lat, doc.depots[d].lon);
        let mut swept: Vec<(f64, usize)> = here.iter().map(|&c| (bearing(origin, (doc.clients[c].lat, doc.clients[c].lon)), c)).collect();
        swept.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        // Start after the widest empty angle, so that no sector straddles it.
        let widest = (0..swept.len())
            .map(|i| {
                let next = swept[(i + 1) % swept.len()].0;
                let gap = (next - swept[i].0).rem_euclid(std::f64::consts::TAU);
                (if swept.len() == 1 { std::f64::consts::TAU } else { gap }, i)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
            .map_or(0, |(_, i)| (i + 1) % swept.len());
        swept.rotate_left(widest);
        let mut sectors = Sectors { start: swept[0].0, firsts: Vec::with_capacity(k) };
        let first_part = layout.parts.len();
        for s in 0..k {
            let from = s * swept.len() / k;
            sectors.firsts.push((sectors.relative(swept[from].0), first_part + s));
            layout.parts.push(PartIdx { depots: vec![d], ..PartIdx::default() });
        }
        // Sector starts must increase: equal bearings across a cut share the earlier sector.
        for s in 1..k {
            if sectors.firsts[s].0 < sectors.firsts[s - 1].0 {
                sectors.firsts[s].0 = sectors.firsts[s - 1].0;
            }
        }
        // Vehicles dealt in turn, grouped by what they can do, so each sector gets its share.
        let mut dealt: Vec<usize> = vehicles.clone();
        let kind = |t: usize| {
            let vt = &doc.vehicle_types[t];
            let mut skills = vt.skills.clone();
            skills.sort();
            (skills, vt.profile.clone())
        };
        dealt.sort_by_key(|&t| (kind(t), t));
        for (i, t) in dealt.into_iter().enumerate() {
            let k_part = first_part + i % k;
            layout.parts[k_part].types.push(t);
            part_of_vehicle_type.insert(t, k_part);
        }
        for p in &mut layout.parts[first_part..] {
            p.types.sort_unstable();
        }
        let mut sector_of: HashMap<usize, usize> = HashMap::new();
        for s in 0..k {
            let (from, to) = (s * swept.len() / k, (s + 1) * swept.len() / k);
            sector_of.extend(swept[from..to].iter().map(|&(_, c)| (c, first_part + s)));
        }
        layout.sectors.insert(d, sectors);
        for (c, k_part) in sector_of {
            layout.parts[k_part].clients.push(c);
        }
    }
    // Orders on routes follow their vehicle; the others go home (cut depots' orders already
    // placed above are moved when their vehicle is elsewhere).
    let part_of_vehicle: HashMap<i64, usize> =
        model.fleet.iter().enumerate().filter_map(|(t, f)| part_of_vehicle_type.get(&t).map(|&k| (f.vehicle_id, k))).collect();
    let mut placed: Vec<Option<usize>> = vec![None; model.stops.len()];
    for (k, p) in layout.parts.iter_mut().enumerate() {
        for &c in &p.clients {
            placed[c] = Some(k);
        }
        p.clients.clear();
    }
    // An order's addresses (a group) stay together, in the part of its first (the customer's).
    let mut part_of_order: HashMap<i64, usize> = HashMap::new();
    for (c, (stop, client)) in model.stops.iter().zip(&doc.clients).enumerate() {
        let by_route = on_route.get(&stop.order_id).and_then(|v| part_of_vehicle.get(v)).copied();
        let swept_here = placed[c].filter(|&k| covers(doc, &layout.parts[k], client));
        let k = match part_of_order.get(&stop.order_id) {
            Some(&k) => k,
            None => by_route.or(swept_here).or_else(|| layout.home_part(doc, client)).unwrap_or(0),
        };
        part_of_order.insert(stop.order_id, k);
        layout.parts[k].clients.push(c);
    }
    Some(layout)
}

impl LiveModel {
    /// The part `idx` of this model as a model of its own (without orders left out: they
    /// belong to the whole day).
    pub fn restricted(&self, idx: &PartIdx) -> LiveModel {
        let d = &self.doc;
        let doc = JsonProblem {
            name: d.name.clone(),
            date: d.date.clone(),
            dimensions: d.dimensions.clone(),
            profiles: d.profiles.clone(),
            depots: idx.depots.iter().map(|&i| d.depots[i].clone()).collect(),
            vehicle_types: idx.types.iter().map(|&i| d.vehicle_types[i].clone()).collect(),
            clients: idx.clients.iter().map(|&i| d.clients[i].clone()).collect(),
            pairs: Vec::new(),
        };
        LiveModel {
            doc,
            stops: idx.clients.iter().map(|&i| self.stops[i].clone()).collect(),
            fleet: idx.types.iter().map(|&i| self.fleet[i].clone()).collect(),
            depots: idx.depots.iter().map(|&i| self.depots[i].clone()).collect(),
            left_out: Vec::new(),
            left_out_penalty_ntd: 0.0,
            part_max_orders: self.part_max_orders,
        }
    }

    /// This model after a replan of one of its parts changed that part to `part`: the
    /// `cancelled` orders leave, and the part's new clients (orders added) join at the end.
    pub fn with_part_edited(&self, cancelled: &[i64], part: &LiveModel) -> LiveModel {
        let known: std::collections::HashSet<i64> = self.stops.iter().map(|s| s.order_id).collect();
        let keep: Vec<bool> = self.stops.iter().map(|s| !cancelled.contains(&s.order_id)).collect();
        let mut m = self.clone();
        let mut k = keep.iter();
        m.stops.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        m.doc.clients.retain(|_| *k.next().unwrap_or(&true));
        for (s, c) in part.stops.iter().zip(&part.doc.clients) {
            if !known.contains(&s.order_id) {
                m.stops.push(s.clone());
                m.doc.clients.push(c.clone());
            }
        }
        m
    }
}

/// A replan's starting point on a big day: a version of the plan, without a built model.
#[derive(Debug)]
pub struct DayBase<'a> {
    /// Its number.
    pub version: i64,
    /// Its routes.
    pub plan: &'a PlanResult,
    /// The day's execution so far.
    pub execution: &'a Execution,
    /// Its time of day (`None` for the first version).
    pub at_s: Option<i64>,
    /// The plan's request (seed, penalties).
    pub request: &'a PlanRequest,
}

/// What a replan of some parts of a big day made: the whole day's new version, and the whole
/// day's model when the events changed it.
pub type PartsReplanned = (Replanned, Option<LiveModel>);

/// Replans the parts of the big day `whole` that the events of `batch` touch (the parts of the
/// orders and vehicles they name; an added order joins its [`home_depot`]'s part): those parts
/// are built as one problem with travel matrices, replanned from `base` cut down to them, and
/// their new routes merged with the untouched parts' routes, which stay as they are. The
/// plan's totals are summed again over all routes; it is feasible when the base was and the
/// replanned parts are. Field errors are the client's; a text is an internal failure.
pub fn replan_parts(
    plan_id: i64,
    whole: &LiveModel,
    base: &DayBase,
    batch: &EventBatch,
    candidates: &HashMap<i64, Candidate>,
    travel: &dyn TravelMatrix,
) -> Result<Result<PartsReplanned, Vec<FieldError>>, String> {
    let on_route: HashMap<i64, i64> =
        base.plan.routes.iter().flat_map(|r| r.trips.iter().flat_map(|t| t.stops.iter()).map(move |s| (s.order_id, r.vehicle_id))).collect();
    let layout = layout(whole, &on_route).unwrap_or_else(|| Layout { parts: vec![PartIdx::whole(whole)], ..Layout::default() });
    let parts = &layout.parts;
    let mut part_of_client: HashMap<i64, usize> = HashMap::new();
    let mut part_of_vehicle: HashMap<i64, usize> = HashMap::new();
    for (k, p) in parts.iter().enumerate() {
        part_of_client.extend(p.clients.iter().map(|&c| (whole.stops[c].order_id, k)));
        part_of_vehicle.extend(p.types.iter().map(|&t| (whole.fleet[t].vehicle_id, k)));
    }
    let mut touched: Vec<usize> = Vec::new();
    for e in &batch.events {
        let k = match e {
            Event::OrderAdded { order_id } => part_of_client.get(order_id).copied().or_else(|| {
                let c = candidates.get(order_id)?;
                if parts.len() == 1 {
                    return Some(0);
                }
                layout.home_part(&whole.doc, &client(&c.stop, base.request, &whole.fleet_types()))
            }),
            Event::OrderCancelled { order_id }
            | Event::StopArrived { order_id, .. }
            | Event::StopDone { order_id, .. }
            | Event::StopFailed { order_id, .. } => part_of_client.get(order_id).copied(),
            Event::VehicleUnavailable { vehicle_id, .. } | Event::VehiclePosition { vehicle_id, .. } | Event::VehicleDelayed { vehicle_id, .. } => {
                part_of_vehicle.get(vehicle_id).copied()
            }
        };
        touched.extend(k);
    }
    if touched.is_empty() {
        // Nothing the events name is in the plan: the checks of the first part say so.
        touched.push(0);
    }
    let idx = PartIdx::union(touched.iter().filter_map(|&k| parts.get(k)));
    let mut live = whole.restricted(&idx);
    live.fill_matrices(travel)?;
    let compiled = Compiled::new(live)?;
    let vehicles: HashSet<i64> = compiled.model.fleet.iter().map(|f| f.vehicle_id).collect();
    let clients: HashSet<i64> = compiled.model.stops.iter().map(|s| s.order_id).collect();
    let mut cut = base.plan.clone();
    cut.routes.retain(|r| vehicles.contains(&r.vehicle_id));
    cut.unassigned.retain(|u| clients.contains(&u.order_id));
    let part_base = Base { version: base.version, compiled: &compiled, plan: &cut, execution: base.execution, at_s: base.at_s, request: base.request };
    let made = match replan_version(plan_id, &part_base, batch, candidates, travel)? {
        Ok(made) => made,
        Err(errors) => return Ok(Err(errors)),
    };

    // The whole day again: the untouched parts' routes and the replanned ones.
    let model = made.model.as_ref().map(|edited| {
        let kept: HashSet<i64> = edited.model.stops.iter().map(|s| s.order_id).collect();
        let cancelled: Vec<i64> = clients.iter().filter(|o| !kept.contains(o)).copied().collect();
        whole.with_part_edited(&cancelled, &edited.model)
    });
    let new_whole = model.as_ref().unwrap_or(whole);
    let penalty_of: HashMap<i64, f64> = new_whole.stops.iter().map(|s| (s.order_id, s.penalty_ntd)).collect();
    let mut plan = made.plan;
    let mut routes: Vec<PlannedRoute> = base.plan.routes.iter().filter(|r| !vehicles.contains(&r.vehicle_id)).cloned().collect();
    routes.append(&mut plan.routes);
    let mut unassigned: Vec<UnassignedOrder> = base.plan.unassigned.iter().filter(|u| !clients.contains(&u.order_id)).cloned().collect();
    unassigned.retain(|u| !plan.unassigned.iter().any(|x| x.order_id == u.order_id));
    unassigned.append(&mut plan.unassigned);
    unassigned.sort_by_key(|u| u.order_id);
    let penalty = whole.left_out_penalty_ntd + unassigned.iter().filter_map(|u| penalty_of.get(&u.order_id)).sum::<f64>();
    let merged = PlanResult {
        depots: base.plan.depots.clone(),
        distance_m: routes.iter().map(|r| r.distance_m).sum(),
        duration_s: routes.iter().map(|r| r.duration_s).sum(),
        cost_ntd: routes.iter().map(|r| r.cost_ntd).sum(),
        penalty_ntd: penalty.round() as i64,
        feasible: plan.feasible && base.plan.feasible,
        iterations: plan.iterations,
        elapsed_s: plan.elapsed_s,
        travel: base.plan.travel.clone(),
        routes,
        unassigned,
    };
    let replanned = Replanned { plan: merged, execution: made.execution, diff: made.diff, model: None, changes: made.changes };
    Ok(Ok((replanned, model)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::replan::{FleetInfo, StopInfo};
    use solver::io::json::{JsonDepot, JsonVehicleType};

    fn depot(id: i64, lat: f64, lon: f64) -> JsonDepot {
        JsonDepot { id: format!("D{id}"), name: format!("站{id}"), lat, lon, open: "00:00".into(), close: "24:00".into(), reload_minutes: 15.0 }
    }

    fn vehicle(id: i64, depot: i64, skills: &[&str]) -> JsonVehicleType {
        JsonVehicleType {
            id: format!("V{id}"),
            name: format!("P-{id}"),
            count: 1,
            capacity: Default::default(),
            start_depot: format!("D{depot}"),
            end_depot: None,
            shift_start: None,
            shift_end: None,
            max_duration_minutes: None,
            max_distance_km: None,
            fixed_cost: 0.0,
            cost_per_km: 0.0,
            cost_per_hour: 0.0,
            profile: "truck".into(),
            skills: skills.iter().map(|s| (*s).to_owned()).collect(),
            reload_depots: vec![],
            max_trips: 1,
            breaks: vec![],
            overtime_after_minutes: None,
            overtime_cost_per_hour: 0.0,
            fair_day_cost_per_hour_squared: 0.0,
        }
    }

    fn client(id: i64, lat: f64, lon: f64, skills: &[&str]) -> JsonClient {
        JsonClient {
            id: format!("O{id}"),
            name: String::new(),
            lat,
            lon,
            district: None,
            delivery: Default::default(),
            pickup: Default::default(),
            service_minutes: 3.0,
            time_windows: vec![],
            release_time: None,
            required: false,
            prize: Some(1.0),
            skills: skills.iter().map(|s| (*s).to_owned()).collect(),
            vehicle_types: Vec::new(),
            group: None,
        }
    }

    /// Taipei and Kaohsiung depots; motorcycles only in Kaohsiung; `n` orders around each city.
    fn two_cities(n: usize) -> LiveModel {
        let depots = vec![depot(1, 25.05, 121.55), depot(2, 22.63, 120.30)];
        let vehicle_types = vec![vehicle(10, 1, &[]), vehicle(20, 2, &["two_wheeler"]), vehicle(11, 1, &[])];
        let mut clients = Vec::new();
        for i in 0..n {
            let f = i as f64 * 1e-4;
            clients.push(client(2 * i as i64 + 1, 25.0 + f, 121.5, &[]));
            clients.push(client(2 * i as i64 + 2, 22.6 + f, 120.3, &[]));
        }
        // A narrow-lane customer in Taipei: only Kaohsiung has a motorcycle.
        clients.push(client(99_999, 25.06, 121.56, &["two_wheeler"]));
        let stops = clients
            .iter()
            .map(|c| StopInfo {
                order_id: c.id[1..].parse().expect("id"),
                customer_id: 1,
                customer_code: String::new(),
                name: String::new(),
                penalty_ntd: 1.0,
                address: String::new(),
                address_index: 0,
                phone: None,
                cylinders: vec![],
                time_windows: vec![],
                note: None,
            })
            .collect();
        let fleet = vehicle_types
            .iter()
            .map(|t| FleetInfo {
                vehicle_id: t.id[1..].parse().expect("id"),
                plate: t.name.clone(),
                depot_id: t.start_depot[1..].parse().expect("id"),
                vehicle_type_id: None,
            })
            .collect();
        let doc = JsonProblem {
            name: "day".into(),
            date: "2026-03-02".into(),
            dimensions: vec!["weight_kg".into()],
            profiles: vec![],
            depots: depots.clone(),
            vehicle_types,
            clients,
            pairs: vec![],
        };
        let depots = depots
            .iter()
            .map(|d| crate::domain::plan::PlannedDepot { id: d.id[1..].parse().expect("id"), name: d.name.clone(), lat: d.lat, lon: d.lon })
            .collect();
        LiveModel { doc, stops, fleet, depots, left_out: vec![], left_out_penalty_ntd: 0.0, part_max_orders: PART_MAX_ORDERS }
    }

    #[test]
    fn splits_a_big_day_by_the_nearest_depot_that_can_serve_each_order() {
        let m = two_cities(SPLIT_ABOVE_ORDERS / 2 + 1);
        let parts = split(&m, &HashMap::new()).expect("big enough to split");
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].depots.as_slice(), parts[0].types.as_slice()), (&[0][..], &[0, 2][..]), "Taipei's two trucks");
        assert_eq!((parts[1].depots.as_slice(), parts[1].types.as_slice()), (&[1][..], &[1][..]), "Kaohsiung's motorcycle");
        let north = |c: &usize| m.doc.clients[*c].lat > 24.0;
        assert!(parts[0].clients.iter().all(north), "Taipei serves the north");
        let lane = m.stops.len() - 1;
        assert!(parts[1].clients.contains(&lane), "the narrow lane goes where a motorcycle is");
        assert!(parts[1].clients.iter().filter(|c| **c != lane).all(|c| !north(c)));
        assert_eq!(parts[0].clients.len() + parts[1].clients.len(), m.stops.len(), "each client in one part");

        // A stop on a route stays with its vehicle's part.
        let first_north = parts[0].clients[0];
        let moved = HashMap::from([(m.stops[first_north].order_id, 20)]);
        let again = split(&m, &moved).expect("split");
        assert!(again[1].clients.contains(&first_north) && !again[0].clients.contains(&first_north));

        // The part as a model of its own, and the whole edited from it.
        let north_part = m.restricted(&parts[0]);
        assert_eq!((north_part.doc.depots.len(), north_part.fleet.len(), north_part.stops.len()), (1, 2, parts[0].clients.len()));
        assert!(north_part.stops.iter().zip(&north_part.doc.clients).all(|(s, c)| c.id == format!("O{}", s.order_id)));
        let mut edited_part = north_part.clone();
        edited_part.stops.push(StopInfo { order_id: 123_456, ..north_part.stops[0].clone() });
        edited_part.doc.clients.push(client(123_456, 25.0, 121.5, &[]));
        let gone = m.stops[0].order_id;
        let edited = m.with_part_edited(&[gone], &edited_part);
        assert_eq!(edited.stops.len(), m.stops.len());
        assert_eq!(edited.stops.last().map(|s| s.order_id), Some(123_456));
        assert!(edited.stops.iter().all(|s| s.order_id != gone) && edited.doc.clients.iter().all(|c| c.id != format!("O{gone}")));
    }

    #[test]
    fn plans_small_days_and_single_depot_days_whole() {
        assert_eq!(split(&two_cities(10), &HashMap::new()), None, "small");
        // Vehicles at one depot only, and no more orders than one part may hold.
        let mut one = two_cities(PART_MAX_ORDERS / 2 - 1);
        assert!(one.stops.len() > SPLIT_ABOVE_ORDERS);
        one.doc.vehicle_types.retain(|t| t.start_depot == "D1");
        one.fleet.retain(|f| f.depot_id == 1);
        assert_eq!(split(&one, &HashMap::new()), None, "vehicles at one depot only");
    }

    /// One depot in Taichung, `n` orders all around it (a golden-angle spiral), 6 trucks and
    /// 3 motorcycles; every 25th order is a narrow lane.
    fn one_city(n: usize) -> LiveModel {
        let mut m = two_cities(0);
        m.doc.depots = vec![depot(1, 24.15, 120.68)];
        m.depots.truncate(1);
        m.doc.vehicle_types = (0..9).map(|v| vehicle(100 + v, 1, if v % 3 == 2 { &["two_wheeler"] } else { &[] })).collect();
        m.fleet = m
            .doc
            .vehicle_types
            .iter()
            .map(|t| FleetInfo { vehicle_id: t.id[1..].parse().expect("id"), plate: t.name.clone(), depot_id: 1, vehicle_type_id: None })
            .collect();
        let template = m.stops[0].clone();
        m.doc.clients.clear();
        m.stops.clear();
        for i in 0..n {
            let angle = i as f64 * 2.399_963;
            let r = 0.01 + 0.1 * (i as f64 / n as f64).sqrt();
            let skills: &[&str] = if i % 25 == 24 { &["two_wheeler"] } else { &[] };
            m.doc.clients.push(client(i as i64 + 1, 24.15 + r * angle.sin(), 120.68 + r * angle.cos(), skills));
            m.stops.push(StopInfo { order_id: i as i64 + 1, ..template.clone() });
        }
        m
    }

    #[test]
    fn cuts_a_depot_with_too_many_orders_into_sectors_with_a_share_of_each_kind_of_vehicle() {
        let m = one_city(PART_MAX_ORDERS * 2 + 500);
        let layout = layout(&m, &HashMap::new()).expect("too big for one part");
        let parts = &layout.parts;
        assert_eq!(parts.len(), 3, "4,500 orders in sectors of at most 2,000");
        let mut seen = vec![0; m.stops.len()];
        for p in parts {
            assert!(p.clients.len() <= PART_MAX_ORDERS && p.clients.len() >= PART_MAX_ORDERS / 2, "{} orders", p.clients.len());
            assert_eq!(p.depots, vec![0]);
            let motos = p.types.iter().filter(|&&t| !m.doc.vehicle_types[t].skills.is_empty()).count();
            assert_eq!((p.types.len(), motos), (3, 1), "two trucks and a motorcycle in each sector");
            p.clients.iter().for_each(|&c| seen[c] += 1);
        }
        assert!(seen.iter().all(|&n| n == 1), "each order in exactly one part");
        let mut vehicles: Vec<usize> = parts.iter().flat_map(|p| p.types.iter().copied()).collect();
        vehicles.sort_unstable();
        assert_eq!(vehicles, (0..9).collect::<Vec<_>>(), "each vehicle in exactly one part");

        // Sectors are contiguous arcs: sorted by bearing from the sweep's start, the orders of
        // one part come one after another.
        let sectors = &layout.sectors[&0];
        let origin = (24.15, 120.68);
        let mut by_bearing: Vec<(f64, usize)> = Vec::new();
        for (k, p) in parts.iter().enumerate() {
            by_bearing.extend(p.clients.iter().map(|&c| (sectors.relative(bearing(origin, (m.doc.clients[c].lat, m.doc.clients[c].lon))), k)));
        }
        by_bearing.sort_by(|a, b| a.0.total_cmp(&b.0));
        let changes = by_bearing.windows(2).filter(|w| w[0].1 != w[1].1).count();
        assert_eq!(changes, 2, "three arcs, two boundaries");

        // A new order joins the sector of its bearing; a stop on a route follows its vehicle.
        let some = parts[1].clients[10];
        assert_eq!(layout.home_part(&m.doc, &m.doc.clients[some]), Some(1));
        let elsewhere = m.fleet[parts[2].types[0]].vehicle_id;
        let moved = layout_of(&m, &HashMap::from([(m.stops[some].order_id, elsewhere)]));
        assert!(moved[2].clients.contains(&some) && !moved[1].clients.contains(&some));
        assert_eq!(moved.iter().map(|p| p.types.clone()).collect::<Vec<_>>(), parts.iter().map(|p| p.types.clone()).collect::<Vec<_>>(), "vehicles stay");

        // Just under the limit, one depot's day is one part.
        assert_eq!(split(&one_city(PART_MAX_ORDERS), &HashMap::new()), None);
    }

    #[test]
    fn an_order_only_some_vehicles_may_serve_goes_to_a_sector_that_has_one() {
        // One truck of nine may serve every 40th order (a customer that allows only its type);
        // it is dealt to one sector of three, so most of those orders lie in sectors without it.
        let mut m = one_city(PART_MAX_ORDERS * 2 + 500);
        m.doc.vehicle_types[0].skills.push("dock".into());
        let mut wanted = 0;
        for c in &mut m.doc.clients {
            // Not the narrow lanes: no motorcycle has the dock.
            if c.id.trim_start_matches('O').parse::<usize>().expect("id") % 40 == 0 && c.skills.is_empty() {
                c.skills.push("dock".into());
                wanted += 1;
            }
        }
        let layout = layout(&m, &HashMap::new()).expect("too big for one part");
        let with_dock = layout.parts.iter().position(|p| p.types.contains(&0)).expect("the truck is in a part");
        let mut docked = 0;
        for (k, p) in layout.parts.iter().enumerate() {
            for &c in &p.clients {
                assert!(covers(&m.doc, p, &m.doc.clients[c]), "order {c} in part {k} that no vehicle of it may serve");
                docked += usize::from(m.doc.clients[c].skills.iter().any(|s| s == "dock"));
            }
        }
        assert_eq!((docked, wanted > 50), (wanted, true), "every such order is placed");
        // A new such order joins the truck's sector wherever it lies.
        let far = &m.doc.clients[39];
        assert_eq!(far.skills, ["dock"]);
        assert_eq!(layout.home_part(&m.doc, far), Some(with_dock));
    }

    fn layout_of(m: &LiveModel, on_route: &HashMap<i64, i64>) -> Vec<PartIdx> {
        split(m, on_route).expect("split")
    }
}
