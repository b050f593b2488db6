//! Big days of several depots, planned depot by depot.
//!
//! The solver keeps a dense travel matrix per routing profile and measure (`i32`, n × n): a day
//! of 10,000 orders as one problem would need 400 MB per matrix, 1.6 GB for distances and
//! durations of trucks and motorcycles, before the search starts. A day of more than
//! [`SPLIT_ABOVE_ORDERS`] orders with vehicles at several depots is therefore cut into parts,
//! one per depot with vehicles: each depot's vehicles serve the orders whose home depot it is
//! ([`home_depot`]: the nearest depot with a vehicle that may serve the order). The parts are
//! solved one after the other and their routes merged into one plan, so memory follows the
//! largest part (about n² / depots²), not the whole day.
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

/// The parts of `model`, one per depot with vehicles, when the day is big enough to be split
/// (see [`SPLIT_ABOVE_ORDERS`]); `None` when it is planned whole. A client on a route
/// (`on_route`: order → vehicle) belongs to its vehicle's part, any other to its
/// [`home_depot`]'s (the first part's when no depot can serve it: the solver leaves it out).
pub fn split(model: &LiveModel, on_route: &HashMap<i64, i64>) -> Option<Vec<PartIdx>> {
    let doc = &model.doc;
    let depot_index: HashMap<&str, usize> = doc.depots.iter().enumerate().map(|(d, x)| (x.id.as_str(), d)).collect();
    let mut part_of_depot: HashMap<usize, usize> = HashMap::new();
    let mut parts: Vec<PartIdx> = Vec::new();
    for (t, vt) in doc.vehicle_types.iter().enumerate() {
        let Some(&d) = depot_index.get(vt.start_depot.as_str()) else { continue };
        let k = *part_of_depot.entry(d).or_insert_with(|| {
            parts.push(PartIdx { depots: vec![d], ..PartIdx::default() });
            parts.len() - 1
        });
        parts[k].types.push(t);
    }
    if model.stops.len() <= SPLIT_ABOVE_ORDERS || parts.len() < 2 {
        return None;
    }
    let part_of_vehicle: HashMap<i64, usize> = model
        .fleet
        .iter()
        .zip(&doc.vehicle_types)
        .filter_map(|(f, vt)| depot_index.get(vt.start_depot.as_str()).and_then(|d| part_of_depot.get(d)).map(|&k| (f.vehicle_id, k)))
        .collect();
    for (c, (stop, client)) in model.stops.iter().zip(&doc.clients).enumerate() {
        let by_route = on_route.get(&stop.order_id).and_then(|v| part_of_vehicle.get(v)).copied();
        let k = by_route.or_else(|| home_depot(doc, client).and_then(|d| part_of_depot.get(&d).copied())).unwrap_or(0);
        parts[k].clients.push(c);
    }
    Some(parts)
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
    let parts = split(whole, &on_route).unwrap_or_else(|| vec![PartIdx::whole(whole)]);
    let mut part_of_client: HashMap<i64, usize> = HashMap::new();
    let mut part_of_vehicle: HashMap<i64, usize> = HashMap::new();
    let mut part_of_depot: HashMap<usize, usize> = HashMap::new();
    for (k, p) in parts.iter().enumerate() {
        part_of_client.extend(p.clients.iter().map(|&c| (whole.stops[c].order_id, k)));
        part_of_vehicle.extend(p.types.iter().map(|&t| (whole.fleet[t].vehicle_id, k)));
        part_of_depot.extend(p.depots.iter().map(|&d| (d, k)));
    }
    let mut touched: Vec<usize> = Vec::new();
    for e in &batch.events {
        let k = match e {
            Event::OrderAdded { order_id } => part_of_client.get(order_id).copied().or_else(|| {
                let c = candidates.get(order_id)?;
                home_depot(&whole.doc, &client(&c.stop, base.request)).and_then(|d| part_of_depot.get(&d).copied())
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
                phone: None,
                cylinders: vec![],
                time_windows: vec![],
                note: None,
            })
            .collect();
        let fleet = vehicle_types
            .iter()
            .map(|t| FleetInfo { vehicle_id: t.id[1..].parse().expect("id"), plate: t.name.clone(), depot_id: t.start_depot[1..].parse().expect("id") })
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
        LiveModel { doc, stops, fleet, depots, left_out: vec![], left_out_penalty_ntd: 0.0 }
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
        let mut one = two_cities(SPLIT_ABOVE_ORDERS);
        one.doc.vehicle_types.retain(|t| t.start_depot == "D1");
        one.fleet.retain(|f| f.depot_id == 1);
        assert_eq!(split(&one, &HashMap::new()), None, "vehicles at one depot only");
    }
}
