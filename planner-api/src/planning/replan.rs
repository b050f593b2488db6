//! Replanning a plan from dispatchers' events (`POST /v1/plans/{id}/events`), on top of
//! [`solver::replan`].
//!
//! Each version of a plan has a [`LiveModel`]: the solver input of the day as it stands (orders
//! cancelled by events are no longer clients, added orders are) and the ids behind its indices.
//! A replan
//! 1. checks the events against the version it is based on ([`apply`]): the orders and vehicles
//!    must be the plan's, a stop can be executed once, and no time goes back before what was
//!    executed;
//! 2. turns the version's routes into the solver's plan, with the executed stops of each vehicle
//!    first (they are fixed) and the vehicle ready at its last executed stop once it is done
//!    there and the replan's time has come (or later, when it is held up);
//! 3. runs [`solver::replan::replan`] within the request's time limit, with a cost for moving an
//!    announced stop to another vehicle;
//! 4. renders the new version: executed stops keep their reported times, the others get the
//!    replan's arrival times, and a [`PlanDiff`] lists what moved, what was retimed, added or
//!    removed, against the base version.
//!
//! Modelling choices: the stock on board of a vehicle out on a trip is what its current trip
//! delivers (per the base version) less what it delivered; stops of a trip the vehicle left
//! unserved before going on to a later trip are not kept on it in the warm start (the search
//! places them again).

use super::day::{at_each_address, client, penalty, servable, OrderStop};
use crate::domain::customer::TimeWindow;
use crate::domain::plan::{CylinderMove, PlannedBreak, PlannedDepot, PlannedRoute, PlannedStop, PlannedTrip, UnassignedOrder};
use crate::domain::replan::{
    clock_seconds, clock_text, AddedStop, Event, EventBatch, ExecutedStop, Execution, MovedStop, PlanDiff, PlanVersion, Position, RemovedStop, RetimedStop,
};
use crate::domain::{FieldError, FieldProblem, PlanJob, PlanRequest, PlanResult, StopStatus};
use crate::store::OrderChange;
use crate::travel::{RoutingProfile, TravelMatrix};
use serde::{Deserialize, Serialize};
use solver::io::json::{build, build_clients, cost_to_ntd, JsonClient, JsonProblem, COST_SCALE};
use solver::replan::{replan, ReplanInput, Vehicle as ReplanVehicle, VehicleProgress};
use solver::search::Environment;
use solver::solution::{Route, Solution, Trip, Unassigned, UnassignedReason};
use solver::Problem;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The routing profile of a profile name of the solver input.
fn routing_profile(name: &str) -> Option<RoutingProfile> {
    [RoutingProfile::Truck, RoutingProfile::Motorcycle].into_iter().find(|r| r.name() == name)
}

/// Who a client of the model is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StopInfo {
    /// The order.
    pub order_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// The customer's code.
    pub customer_code: String,
    /// The customer's name.
    pub name: String,
    /// NT$ lost when the order is left out.
    pub penalty_ntd: f64,
    /// Where: the customer's address, or the order's alternative address `address_index`.
    #[serde(default)]
    pub address: String,
    /// 0 for the customer's address, `k` for the order's `alternative_addresses[k - 1]`: the
    /// clients of one order with alternatives form a group, of which the plan serves one.
    #[serde(default, skip_serializing_if = "crate::domain::plan::is_first_address")]
    pub address_index: usize,
    /// The customer's phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Cylinders delivered and collected.
    #[serde(default)]
    pub cylinders: Vec<CylinderMove>,
    /// When the stop can be served.
    #[serde(default)]
    pub time_windows: Vec<TimeWindow>,
    /// The order's note.
    #[serde(default)]
    pub note: Option<String>,
}

impl StopInfo {
    /// What a stop of `s` shows, with its penalty.
    pub fn of(s: &OrderStop, penalty_ntd: f64) -> StopInfo {
        let c = &s.customer.data;
        let o = &s.order.data;
        // Each stop delivers full cylinders and collects as many empties.
        let cylinders = o.cylinders.iter().map(|l| CylinderMove { size_kg: l.size_kg, deliver: l.quantity, collect: l.quantity }).collect();
        let time_windows = o.window().map_or_else(|| c.time_windows.clone(), |w| vec![w]);
        StopInfo {
            order_id: s.order.id,
            customer_id: s.customer.id,
            customer_code: c.code.clone(),
            name: c.name.clone(),
            penalty_ntd,
            address: c.address.clone(),
            address_index: 0,
            phone: c.phone.clone(),
            cylinders,
            time_windows,
            note: o.note.clone(),
        }
    }

    /// The stop as shown in a plan: the one renderer of stops, for the job's plan and replans.
    pub fn render(&self, (lat, lon): (f64, f64), arrival: String, status: StopStatus, load_after: BTreeMap<String, i64>) -> PlannedStop {
        PlannedStop {
            order_id: self.order_id,
            customer_id: self.customer_id,
            customer_code: self.customer_code.clone(),
            name: self.name.clone(),
            address: self.address.clone(),
            address_index: self.address_index,
            phone: self.phone.clone(),
            cylinders: self.cylinders.clone(),
            time_windows: self.time_windows.clone(),
            note: self.note.clone(),
            lat,
            lon,
            arrival,
            status,
            load_after,
            waiting_s: 0,
        }
    }
}

/// Who a vehicle type of the model is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetInfo {
    /// The vehicle.
    pub vehicle_id: i64,
    /// Its plate.
    pub plate: String,
    /// Its home depot.
    pub depot_id: i64,
    /// Its vehicle type (models stored before customers had allowed vehicle types have none).
    #[serde(default)]
    pub vehicle_type_id: Option<i64>,
}

/// The solver input of one plan version and the ids behind its indices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveModel {
    /// The day in the solver's JSON format: `doc.clients[c]` is `stops[c]`. Once compiled, its
    /// profiles hold no travel matrices: the built problem has them (they are most of its size;
    /// [`LiveModel::load`] computes them again from the same travel source).
    pub doc: JsonProblem,
    /// Per client.
    pub stops: Vec<StopInfo>,
    /// Per vehicle type.
    pub fleet: Vec<FleetInfo>,
    /// Per depot.
    pub depots: Vec<PlannedDepot>,
    /// Orders no vehicle can serve, never given to the solver.
    pub left_out: Vec<UnassignedOrder>,
    /// Their penalties, NT$.
    pub left_out_penalty_ntd: f64,
    /// Most orders one part may hold when the day is split ([`super::parts`]); models stored
    /// before the limit existed read the default.
    #[serde(default = "super::parts::default_part_max_orders")]
    pub part_max_orders: usize,
}

/// A model with its built problem and index maps.
#[derive(Debug)]
pub struct Compiled {
    /// The model, without matrices.
    pub model: LiveModel,
    /// Its problem.
    pub problem: Problem,
    /// Order → its clients, the customer's address first.
    clients_of: HashMap<i64, Vec<usize>>,
    type_of: HashMap<i64, usize>,
    depot_of: HashMap<i64, usize>,
}

impl LiveModel {
    /// The vehicle types of the fleet, ascending, each once (those known: see
    /// [`FleetInfo::vehicle_type_id`]).
    pub fn fleet_types(&self) -> Vec<i64> {
        let mut types: Vec<i64> = self.fleet.iter().filter_map(|f| f.vehicle_type_id).collect();
        types.sort_unstable();
        types.dedup();
        types
    }

    /// The model as stored with its version (a compiled model holds no matrices).
    pub fn to_stored_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// A stored model, with its matrices computed again from `travel` for every profile that
    /// has no speed of its own.
    pub fn load(text: &str, travel: &dyn TravelMatrix) -> Result<LiveModel, String> {
        let mut m = LiveModel::parse(text)?;
        m.fill_matrices(travel)?;
        Ok(m)
    }

    /// A stored model as it is, without matrices.
    pub fn parse(text: &str) -> Result<LiveModel, String> {
        serde_json::from_str(text).map_err(|e| format!("stored plan model: {e}"))
    }

    /// The locations of the model: depots, then clients.
    fn points(&self) -> Vec<(f64, f64)> {
        self.doc.depots.iter().map(|d| (d.lat, d.lon)).chain(self.doc.clients.iter().map(|c| (c.lat, c.lon))).collect()
    }

    /// Computes the travel matrices of the profiles without matrices (or of the wrong size)
    /// that have no speed of their own; says where the numbers came from.
    pub(crate) fn fill_matrices(&mut self, travel: &dyn TravelMatrix) -> Result<Vec<crate::travel::TravelSource>, String> {
        let mut sources = Vec::new();
        let points = self.points();
        for p in &mut self.doc.profiles {
            let Some(profile) = routing_profile(&p.name) else { continue };
            if p.speed_kmh.is_some() && p.distance_m.is_none() && p.duration_s.is_none() {
                continue;
            }
            if p.distance_m.as_ref().is_some_and(|m| m.len() == points.len()) && p.duration_s.as_ref().is_some_and(|m| m.len() == points.len()) {
                continue;
            }
            let x = travel.matrices(profile, &points).map_err(|e| format!("travel matrix: {e}"))?;
            p.distance_m = Some(x.distance_m);
            p.duration_s = Some(x.duration_s);
            sources.push(x.source);
        }
        Ok(sources)
    }
}

impl Compiled {
    /// Builds the problem of `model`, whose profiles have their matrices (they move into the
    /// problem).
    pub fn new(mut model: LiveModel) -> Result<Compiled, String> {
        let problem = build(&model.doc).map_err(|e| format!("the plan's solver input does not build: {e}"))?;
        for p in &mut model.doc.profiles {
            p.distance_m = None;
            p.duration_s = None;
        }
        Ok(Compiled::with(model, problem))
    }

    fn with(model: LiveModel, problem: Problem) -> Compiled {
        let mut clients_of: HashMap<i64, Vec<usize>> = HashMap::new();
        for (c, s) in model.stops.iter().enumerate() {
            clients_of.entry(s.order_id).or_default().push(c);
        }
        let type_of = model.fleet.iter().enumerate().map(|(t, f)| (f.vehicle_id, t)).collect();
        let depot_of = model.depots.iter().enumerate().map(|(d, x)| (x.id, d)).collect();
        Compiled { model, problem, clients_of, type_of, depot_of }
    }

    /// The client of an order (at the customer's address).
    pub fn client(&self, order_id: i64) -> Option<usize> {
        self.clients_of.get(&order_id).and_then(|c| c.first()).copied()
    }

    /// The client of an order at its address `address_index` (see [`StopInfo::address_index`]).
    pub fn client_at(&self, order_id: i64, address_index: usize) -> Option<usize> {
        self.clients_of.get(&order_id)?.iter().copied().find(|&c| self.model.stops[c].address_index == address_index)
    }

    /// Every client of an order (one per address).
    pub fn clients(&self, order_id: i64) -> &[usize] {
        self.clients_of.get(&order_id).map_or(&[], Vec::as_slice)
    }

    /// This model without the `cancelled` orders and with the `added` ones (last). The problem
    /// is edited rather than built again: the kept locations' travel values are copied, and
    /// only those to and from the new locations are asked of `travel`.
    fn edited(&self, cancelled: &[i64], added: &[Candidate], request: &PlanRequest, travel: &dyn TravelMatrix) -> Result<Compiled, String> {
        let (m0, p0) = (&self.model, &self.problem);
        if !p0.pairs.is_empty() {
            return Err("a plan with pickup-and-delivery pairs cannot be edited".into());
        }
        let depots = m0.doc.depots.len();
        let keep: Vec<bool> = m0.stops.iter().map(|s| !cancelled.contains(&s.order_id)).collect();
        let d = &m0.doc;
        let mut doc = JsonProblem {
            name: d.name.clone(),
            date: d.date.clone(),
            dimensions: d.dimensions.clone(),
            profiles: d.profiles.clone(),
            depots: d.depots.clone(),
            vehicle_types: d.vehicle_types.clone(),
            clients: d.clients.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c.clone()).collect(),
            pairs: Vec::new(),
        };
        let mut stops: Vec<StopInfo> = m0.stops.iter().zip(&keep).filter(|(_, k)| **k).map(|(s, _)| s.clone()).collect();
        // Locations: the depots, the kept clients, then the new ones.
        let kept: Vec<usize> = (0..depots).chain((0..keep.len()).filter(|&c| keep[c]).map(|c| depots + c)).collect();
        let types = m0.fleet_types();
        // Each added order's clients: at its customer's address, then at the order's other
        // addresses, which form a group (the problem's, so they are built without its name).
        let mut new_docs: Vec<JsonClient> = Vec::new();
        let mut new_stops: Vec<StopInfo> = Vec::new();
        let mut groups = kept_groups(&p0.groups, &keep);
        let kept_clients = keep.iter().filter(|&&k| k).count();
        for c in added {
            let info = StopInfo::of(&c.stop, penalty(&c.stop.order, request));
            let at_each = at_each_address(client(&c.stop, request, &types), info, &c.stop);
            if at_each.len() > 1 {
                let first = kept_clients + new_docs.len();
                groups.push(solver::model::Group { clients: (first..first + at_each.len()).collect(), required: false });
            }
            for (doc_client, info) in at_each {
                new_docs.push(doc_client);
                new_stops.push(info);
            }
        }
        let bare: Vec<JsonClient> = new_docs.iter().map(|c| JsonClient { group: None, ..c.clone() }).collect();
        let new_clients = build_clients(&doc, &bare, kept.len()).map_err(|e| format!("an added order does not build: {e}"))?;
        let mut clients: Vec<solver::model::Client> = p0.clients.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c.clone()).collect();
        for (i, c) in clients.iter_mut().enumerate() {
            c.location = depots + i;
        }
        let mut locations: Vec<solver::model::Location> = if p0.locations.is_empty() { Vec::new() } else { kept.iter().map(|&l| p0.locations[l]).collect() };
        for (c, at) in new_clients {
            clients.push(c);
            if !p0.locations.is_empty() {
                locations.push(at);
            }
        }
        let old_points = m0.points();
        let kept_points: Vec<(f64, f64)> = kept.iter().map(|&l| old_points[l]).collect();
        let new_points: Vec<(f64, f64)> = new_docs.iter().map(|c| (c.lat, c.lon)).collect();
        let profiles = remapped_profiles(p0, &kept, &kept_points, &new_points, travel)?;
        doc.clients.extend(new_docs);
        stops.extend(new_stops);
        let data = p0.data();
        let data = solver::model::ProblemData {
            name: data.name.clone(),
            locations,
            depots: data.depots.clone(),
            clients,
            vehicle_types: data.vehicle_types.clone(),
            profiles,
            dimensions: data.dimensions,
            skill_names: data.skill_names.clone(),
            backhaul_precedence: data.backhaul_precedence,
            stability: data.stability.clone(),
            groups,
            pairs: Vec::new(),
        };
        let problem = Problem::new(data).map_err(|e| format!("the edited plan does not build: {e}"))?;
        let model = LiveModel {
            doc,
            stops,
            fleet: m0.fleet.clone(),
            depots: m0.depots.clone(),
            left_out: m0.left_out.clone(),
            left_out_penalty_ntd: m0.left_out_penalty_ntd,
            part_max_orders: m0.part_max_orders,
        };
        Ok(Compiled::with(model, problem))
    }
}

/// `groups` (of an order's addresses) over the clients kept (`keep[c]`), renumbered; a group
/// none of whose clients is kept goes.
fn kept_groups(groups: &[solver::model::Group], keep: &[bool]) -> Vec<solver::model::Group> {
    let mut index = vec![None; keep.len()];
    let mut n = 0;
    for (c, &k) in keep.iter().enumerate() {
        if k {
            index[c] = Some(n);
            n += 1;
        }
    }
    groups
        .iter()
        .filter_map(|g| {
            let clients: Vec<usize> = g.clients.iter().filter_map(|&c| index.get(c).copied().flatten()).collect();
            (!clients.is_empty()).then_some(solver::model::Group { clients, required: g.required })
        })
        .collect()
}

/// The travel profiles of `p0` over its locations `kept` (whose coordinates are `kept_points`)
/// followed by new ones at `new_points`: the kept values are copied, those to and from the new
/// locations asked of `travel`.
fn remapped_profiles(
    p0: &Problem,
    kept: &[usize],
    kept_points: &[(f64, f64)],
    new_points: &[(f64, f64)],
    travel: &dyn TravelMatrix,
) -> Result<Vec<solver::model::Profile>, String> {
    let k = kept.len();
    let all_points: Vec<(f64, f64)> = kept_points.iter().chain(new_points).copied().collect();
    let mut profiles = Vec::with_capacity(p0.profiles.len());
    for p in &p0.profiles {
        let (distance, duration) = if new_points.is_empty() {
            let none = |_: usize, _: usize| 0;
            (p.distance.remapped(kept, 0, none), p.duration.remapped(kept, 0, none))
        } else {
            let profile = routing_profile(&p.name).ok_or_else(|| format!("profile {} has no travel source", p.name))?;
            // The new columns of the kept rows, then the new rows.
            let (cols_d, cols_t) = travel.between(profile, kept_points, new_points).map_err(|e| format!("travel matrix: {e}"))?;
            let (rows_d, rows_t) = travel.between(profile, new_points, &all_points).map_err(|e| format!("travel matrix: {e}"))?;
            let value = |cols: &[Vec<i64>], rows: &[Vec<i64>], a: usize, b: usize| if a < k { cols[a][b - k] } else { rows[a - k][b] };
            (
                p.distance.remapped(kept, new_points.len(), |a, b| value(&cols_d, &rows_d, a, b)),
                p.duration.remapped(kept, new_points.len(), |a, b| value(&cols_t, &rows_t, a, b)),
            )
        };
        let bad = |(a, b, v): (usize, usize, i64)| format!("travel value {v} from location {a} to {b} is out of range");
        profiles.push(solver::model::Profile {
            name: p.name.clone(),
            distance: distance.map_err(bad)?,
            duration: duration.map_err(bad)?,
            congestion: p.congestion.clone(),
        });
    }
    Ok(profiles)
}

/// `compiled`'s problem with a location of its own for each of `places` (after all others),
/// where vehicles were seen.
fn with_places(compiled: &Compiled, places: &[(f64, f64)], travel: &dyn TravelMatrix) -> Result<Problem, String> {
    let p0 = &compiled.problem;
    let all: Vec<usize> = (0..p0.num_locations()).collect();
    let profiles = remapped_profiles(p0, &all, &compiled.model.points(), places, travel)?;
    let mut data = p0.data().clone();
    if !data.locations.is_empty() {
        data.locations.extend(places.iter().map(|&(lat, lon)| solver::model::Location { x: lon, y: lat }));
    }
    data.profiles = profiles;
    Problem::new(data).map_err(|e| format!("the plan with vehicle positions does not build: {e}"))
}

/// A plan version's model as replans hold it.
#[derive(Debug)]
pub enum VersionModel {
    /// Built whole, with its problem (and travel matrices).
    Built(Arc<Compiled>),
    /// A big day of several depots ([`super::parts`]), held without a problem: a replan builds
    /// only the parts its events touch.
    Split(Box<LiveModel>),
}

impl VersionModel {
    /// The model of `model`: split when the day is big enough, else built whole (its matrices
    /// computed from `travel`).
    pub fn of(mut model: LiveModel, travel: &dyn TravelMatrix) -> Result<VersionModel, String> {
        if super::parts::split(&model, &HashMap::new()).is_some() {
            for p in &mut model.doc.profiles {
                p.distance_m = None;
                p.duration_s = None;
            }
            return Ok(VersionModel::Split(Box::new(model)));
        }
        model.fill_matrices(travel)?;
        Ok(VersionModel::Built(Arc::new(Compiled::new(model)?)))
    }

    /// The model, without matrices.
    pub fn live(&self) -> &LiveModel {
        match self {
            VersionModel::Built(c) => &c.model,
            VersionModel::Split(m) => m,
        }
    }

    /// Whether the order is a client of the model.
    pub fn has_client(&self, order_id: i64) -> bool {
        match self {
            VersionModel::Built(c) => c.client(order_id).is_some(),
            VersionModel::Split(m) => m.stops.iter().any(|s| s.order_id == order_id),
        }
    }
}

/// Values by `(plan, version)`, oldest first.
type Cached<V> = Mutex<VecDeque<((i64, i64), V)>>;

/// Compiled models, job heads and versions of the plans replanned lately (the newest version of
/// each), so a dispatcher's next replan does not read, parse and build the day again.
#[derive(Debug, Default)]
pub struct ModelCache {
    entries: Cached<Arc<VersionModel>>,
    /// The newest versions made here, with their time in seconds, so the next replan of a plan
    /// does not read its routes back from the database.
    versions: Cached<Arc<(PlanVersion, Option<i64>)>>,
    /// Succeeded jobs (which never change again), without their plan: reading one from SQLite
    /// walks past its stored problem and plan.
    jobs: Cached<Arc<PlanJob>>,
}

/// Plans kept at most.
const CACHED_PLANS: usize = 64;

impl ModelCache {
    /// The model of a version, if cached.
    pub fn get(&self, key: (i64, i64)) -> Option<Arc<VersionModel>> {
        find(&self.entries, key)
    }

    /// Keeps the model of a version (in place of an older version's of the same plan).
    pub fn put(&self, key: (i64, i64), model: Arc<VersionModel>) {
        keep(&self.entries, key, model);
    }

    /// A version made by this process, if cached.
    pub fn version(&self, key: (i64, i64)) -> Option<Arc<(PlanVersion, Option<i64>)>> {
        find(&self.versions, key)
    }

    /// Keeps a version just stored, with its time in seconds.
    pub fn put_version(&self, key: (i64, i64), version: Arc<(PlanVersion, Option<i64>)>) {
        keep(&self.versions, key, version);
    }

    /// A succeeded job, without its plan, if cached.
    pub fn job(&self, plan_id: i64) -> Option<Arc<PlanJob>> {
        find(&self.jobs, (plan_id, 0))
    }

    /// Keeps a succeeded job read without its plan.
    pub fn put_job(&self, job: Arc<PlanJob>) {
        keep(&self.jobs, (job.id, 0), job);
    }
}

fn find<V: Clone>(entries: &Cached<V>, key: (i64, i64)) -> Option<V> {
    let entries = entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
}

/// Puts `value` under `key = (plan, version)` last in `entries`, in place of the plan's entry
/// unless that is of a newer version, forgetting the oldest beyond [`CACHED_PLANS`]. What it
/// forgets is dropped after the lock is released.
fn keep<V>(entries: &Cached<V>, key: (i64, i64), value: V) {
    let mut gone = Vec::new();
    {
        let mut entries = entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.iter().any(|(k, _)| k.0 == key.0 && k.1 > key.1) {
            gone.push(value);
        } else {
            if let Some(i) = entries.iter().position(|(k, _)| k.0 == key.0) {
                gone.extend(entries.remove(i).map(|(_, v)| v));
            }
            entries.push_back((key, value));
            while entries.len() > CACHED_PLANS {
                gone.extend(entries.pop_front().map(|(_, v)| v));
            }
        }
    }
    drop(gone);
}

/// A replan's starting point: a version of the plan.
#[derive(Debug)]
pub struct Base<'a> {
    /// Its number.
    pub version: i64,
    /// Its model.
    pub compiled: &'a Compiled,
    /// Its routes.
    pub plan: &'a PlanResult,
    /// The day's execution so far.
    pub execution: &'a Execution,
    /// Its time of day (`None` for the first version).
    pub at_s: Option<i64>,
    /// The plan's request (seed, penalties).
    pub request: &'a PlanRequest,
}

/// An order an `order_added` event names, as stored.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The order and its customer.
    pub stop: OrderStop,
    /// The plan holding it, if any.
    pub held_by: Option<i64>,
}

/// What a replan made.
#[derive(Debug)]
pub struct Replanned {
    /// The new routes.
    pub plan: PlanResult,
    /// The execution after the events.
    pub execution: Execution,
    /// Changes against the base.
    pub diff: PlanDiff,
    /// The new model, when the events changed it.
    pub model: Option<Arc<Compiled>>,
    /// What happens to orders, with the event that caused it.
    pub changes: Vec<(Option<usize>, OrderChange)>,
}

fn state(field: String, code: &'static str, zh: &'static str, en: &'static str) -> FieldError {
    FieldError::new(field, FieldProblem::State { code, zh, en })
}

/// Where each order of a plan's routes is: order → `(vehicle, status, arrival)`.
pub(crate) type StopMap<'a> = HashMap<i64, (i64, StopStatus, &'a str)>;

/// The [`StopMap`] of a plan.
pub(crate) fn stops_of(plan: &PlanResult) -> StopMap<'_> {
    let mut m = HashMap::with_capacity(plan.routes.iter().flat_map(|r| &r.trips).map(|t| t.stops.len()).sum());
    for r in &plan.routes {
        for s in r.trips.iter().flat_map(|t| t.stops.iter()) {
            m.insert(s.order_id, (r.vehicle_id, s.status, s.arrival.as_str()));
        }
    }
    m
}

/// Checks the events against the base (whose stops are `routed`) and applies them to its
/// execution and model. `candidates` are the stored orders that `order_added` events name.
fn apply(plan_id: i64, base: &Base, routed: &StopMap, batch: &EventBatch, candidates: &HashMap<i64, Candidate>) -> Result<Applied, Vec<FieldError>> {
    let mut errors = Vec::new();
    if let Some(prev) = base.at_s {
        if batch.at_s < prev {
            errors.push(state("at".into(), "before_executed", "時間早於上一版排程的時間", "is before the time of the version it is based on"));
        }
    }
    let mut execution = base.execution.clone();
    let mut changes = Vec::new();
    let mut cancelled: Vec<i64> = Vec::new();
    let mut added: Vec<&Candidate> = Vec::new();
    let mut readded: Vec<i64> = Vec::new();
    for (i, event) in batch.events.iter().enumerate() {
        let field = |name: &str| format!("events[{i}].{name}");
        match event {
            Event::OrderAdded { order_id } => match candidates.get(order_id) {
                None => errors.push(FieldError::new(field("order_id"), FieldProblem::UnknownReference)),
                // A dropped order of the plan (in its model, on no route) is tried again.
                Some(c)
                    if base.compiled.client(*order_id).is_some()
                        && !routed.contains_key(order_id)
                        && !base.execution.cancelled.contains(order_id)
                        && c.stop.order.status == crate::domain::OrderStatus::Received =>
                {
                    readded.push(*order_id);
                }
                Some(_) if base.compiled.client(*order_id).is_some() || base.execution.cancelled.contains(order_id) => {
                    errors.push(state(field("order_id"), "already_in_plan", "訂單已在此排程的路線上", "is already on a route of this plan"));
                }
                Some(c) if c.stop.order.data.delivery_date != base.request.date => {
                    errors.push(state(field("order_id"), "other_day", "訂單的配送日期不是此排程的日期", "is to be delivered on another day than this plan's"));
                }
                Some(c) if c.stop.order.status != crate::domain::OrderStatus::Received => {
                    errors.push(state(field("order_id"), "not_received", "只有「已接單」的訂單可以加入", "only received orders can join a plan"));
                }
                Some(c) if c.held_by.is_some_and(|p| p != plan_id) => {
                    errors.push(state(field("order_id"), "held_by_other_plan", "訂單屬於另一個排程", "is held by another plan"));
                }
                Some(c) if !servable(&base.compiled.model.doc.vehicle_types, &client(&c.stop, base.request, &base.compiled.model.fleet_types())) => {
                    let (zh, en) = ("此排程沒有可以服務這位客戶的車輛", "no vehicle of this plan may serve this customer");
                    errors.push(state(field("order_id"), "no_compatible_vehicle", zh, en));
                }
                Some(c) => added.push(c),
            },
            Event::OrderCancelled { order_id } => {
                if base.compiled.client(*order_id).is_none() {
                    errors.push(state(field("order_id"), "not_in_plan", "訂單不在此排程中", "is not in this plan"));
                } else if execution.executed(*order_id).is_some() {
                    errors.push(state(field("order_id"), "already_executed", "此站已完成或已嘗試配送", "this stop was already served or attempted"));
                } else {
                    cancelled.push(*order_id);
                    execution.cancelled.push(*order_id);
                    changes.push((Some(i), OrderChange::Cancel { order_id: *order_id }));
                }
            }
            Event::StopArrived { order_id, at_s } | Event::StopDone { order_id, at_s } | Event::StopFailed { order_id, at_s, .. } => {
                let failed = matches!(event, Event::StopFailed { .. });
                let arrived = matches!(event, Event::StopArrived { .. });
                // Its vehicle if executed, and whether it is being served: then its done or failed
                // report completes it.
                let executed = execution.executed(*order_id).map(|(v, e)| (v, e.in_progress));
                match routed.get(order_id) {
                    None => errors.push(state(field("order_id"), "not_routed", "訂單不在此版排程的任何路線上", "is on no route of this plan version")),
                    Some(_) if executed.is_some_and(|(_, serving)| arrived || !serving) => {
                        errors.push(state(field("order_id"), "already_executed", "此站已完成或已嘗試配送", "this stop was already served or attempted"));
                    }
                    Some(&(vehicle, _, _)) => {
                        let v = execution.vehicles.entry(executed.map_or(vehicle, |(v, _)| v)).or_default();
                        let other_in_progress = v.executed.iter().any(|e| e.in_progress && e.order_id != *order_id);
                        if *at_s > batch.at_s {
                            errors.push(state(field("at"), "in_future", "時間晚於此次重新排程的時間", "is later than the replan's time"));
                        } else if v.last_executed_s().is_some_and(|last| *at_s < last) || v.unavailable_from_s.is_some_and(|u| *at_s > u) {
                            errors.push(state(field("at"), "before_executed", "時間早於此車已完成的配送", "is before what this vehicle already executed"));
                        } else if other_in_progress {
                            errors.push(state(
                                field("order_id"),
                                "stop_in_progress",
                                "此車另一站仍在配送中，請先回報該站完成或失敗",
                                "another stop of this vehicle is being served; report it done or failed first",
                            ));
                        } else {
                            match v.executed.iter_mut().find(|e| e.order_id == *order_id) {
                                // Served from when the driver got there.
                                Some(e) => {
                                    e.in_progress = false;
                                    e.failed = failed;
                                }
                                None => v.executed.push(ExecutedStop { order_id: *order_id, at_s: *at_s, failed, in_progress: arrived }),
                            }
                            // It was at the stop after it was last seen elsewhere.
                            if v.position.as_ref().is_some_and(|p| p.at_s <= *at_s) {
                                v.position = None;
                            }
                            if !arrived {
                                let change = if failed { OrderChange::Fail { order_id: *order_id } } else { OrderChange::Deliver { order_id: *order_id } };
                                changes.push((Some(i), change));
                            }
                        }
                    }
                }
            }
            Event::VehicleUnavailable { vehicle_id, from_s } => match base.compiled.type_of.get(vehicle_id) {
                None => errors.push(FieldError::new(field("vehicle_id"), FieldProblem::UnknownReference)),
                Some(_) => {
                    let v = execution.vehicles.entry(*vehicle_id).or_default();
                    if v.last_executed_s().is_some_and(|last| *from_s < last) {
                        errors.push(state(field("at"), "before_executed", "時間早於此車已完成的配送", "is before what this vehicle already executed"));
                    } else {
                        v.unavailable_from_s = Some(v.unavailable_from_s.map_or(*from_s, |u| u.min(*from_s)));
                    }
                }
            },
            Event::VehiclePosition { vehicle_id, lat, lon, at_s } => match base.compiled.type_of.get(vehicle_id) {
                None => errors.push(FieldError::new(field("vehicle_id"), FieldProblem::UnknownReference)),
                Some(_) => {
                    let v = execution.vehicles.entry(*vehicle_id).or_default();
                    if *at_s > batch.at_s {
                        errors.push(state(field("at"), "in_future", "時間晚於此次重新排程的時間", "is later than the replan's time"));
                    } else if v.last_executed_s().is_some_and(|last| *at_s < last) {
                        errors.push(state(field("at"), "before_executed", "時間早於此車已完成的配送", "is before what this vehicle already executed"));
                    } else if v.position.as_ref().is_none_or(|p| p.at_s <= *at_s) {
                        // An older fix than the one known says nothing new.
                        v.position = Some(Position { lat: *lat, lon: *lon, at_s: *at_s });
                    }
                }
            },
            Event::VehicleDelayed { vehicle_id, until_s } => match base.compiled.type_of.get(vehicle_id) {
                None => errors.push(FieldError::new(field("vehicle_id"), FieldProblem::UnknownReference)),
                Some(_) => {
                    let v = execution.vehicles.entry(*vehicle_id).or_default();
                    v.held_until_s = Some(v.held_until_s.map_or(*until_s, |h| h.max(*until_s)));
                }
            },
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for (i, e) in batch.events.iter().enumerate() {
        if let Event::OrderAdded { order_id } = e {
            if readded.contains(order_id) {
                // Held by the plan already: `planned` if it is now on a route.
                continue;
            }
            // Whether it is routed is known after the search; `Join` is finalised by the caller.
            changes.push((Some(i), OrderChange::Join { order_id: *order_id, routed: false }));
        }
    }
    Ok(Applied { execution, cancelled, added: added.into_iter().cloned().collect(), readded, changes })
}

/// Events checked and applied: the execution after them, the orders that leave or join the
/// model, and what happens to orders.
#[derive(Debug)]
pub struct Applied {
    /// The execution after the events.
    pub execution: Execution,
    /// Orders cancelled.
    pub cancelled: Vec<i64>,
    /// Orders added.
    pub added: Vec<Candidate>,
    /// Orders of the plan that it had dropped, to insert again.
    pub readded: Vec<i64>,
    /// Order changes of the events.
    pub changes: Vec<(Option<usize>, OrderChange)>,
}

/// The solver's plan, each route's vehicle id and progress, and the places vehicles were seen.
type SolverPlan = (Solution, Vec<i64>, Vec<VehicleProgress>, Vec<(f64, f64)>);

/// The base version's routes as the solver's plan over `compiled` (executed stops first), with
/// each route's vehicle id and progress.
fn solver_plan(base: &Base, compiled: &Compiled, execution: &Execution, now: i64, readded: &[i64]) -> SolverPlan {
    let p = &compiled.problem;
    // Where vehicles were seen: location `num_locations() + j` is `seen[j]`.
    let mut seen: Vec<(f64, f64)> = Vec::new();
    let mut place = |position: &Option<Position>| {
        position.as_ref().map(|at| {
            seen.push((at.lat, at.lon));
            (p.num_locations() + seen.len() - 1, at.at_s)
        })
    };
    let mut routes = Vec::new();
    let mut vehicles = Vec::new();
    let mut progress = Vec::new();
    let mut placed: HashSet<usize> = HashSet::new();
    for r in &base.plan.routes {
        let Some(&t) = compiled.type_of.get(&r.vehicle_id) else { continue };
        let x = execution.vehicles.get(&r.vehicle_id).cloned().unwrap_or_default();
        let executed: Vec<i64> = x.executed.iter().map(|e| e.order_id).collect();
        let trip_of: HashMap<i64, usize> = r.trips.iter().enumerate().flat_map(|(k, trip)| trip.stops.iter().map(move |s| (s.order_id, k))).collect();
        // The address of each order on the route (the one the plan chose).
        let address_of: HashMap<i64, usize> = r.trips.iter().flat_map(|t| t.stops.iter()).map(|s| (s.order_id, s.address_index)).collect();
        let client_of = |o: i64| compiled.client_at(o, address_of.get(&o).copied().unwrap_or(0));
        let current = executed.iter().filter_map(|o| trip_of.get(o)).copied().max();
        let mut trips: Vec<Trip> = Vec::new();
        for (k, trip) in r.trips.iter().enumerate() {
            let depot = compiled.depot_of.get(&trip.depot_id).copied().unwrap_or(p.vehicle_types[t].start_depot);
            let mut visits: Vec<usize> = executed.iter().filter(|o| trip_of.get(o) == Some(&k)).filter_map(|o| client_of(*o)).collect();
            if current.is_none_or(|c| k >= c) {
                visits.extend(trip.stops.iter().filter(|s| !executed.contains(&s.order_id)).filter_map(|s| client_of(s.order_id)));
            }
            visits.retain(|c| placed.insert(*c));
            trips.push(Trip { depot, visits });
        }
        // Trips emptied by cancellations go; the first keeps its place as the departure.
        let mut kept: Vec<Trip> = Vec::new();
        for (k, trip) in trips.into_iter().enumerate() {
            if k == 0 || !trip.visits.is_empty() {
                kept.push(trip);
            }
        }
        let fixed = executed.iter().filter(|o| compiled.client(**o).is_some()).count();
        let last_done = x.executed.last().and_then(|e| compiled.client(e.order_id).map(|c| e.at_s + p.clients[c].service_duration));
        // Seen on the road after its last stop, it goes on from there.
        let position = place(&x.position);
        let left = position.map_or(last_done, |(_, at)| Some(at));
        let ready = [Some(now), left, x.held_until_s].into_iter().flatten().max();
        progress.push(VehicleProgress { fixed, ready_at: ready, unavailable_from: x.unavailable_from_s, on_board: None, position: position.map(|(l, _)| l) });
        routes.push(Route { vehicle_type: t, trips: kept, breaks: Vec::new() });
        vehicles.push(r.vehicle_id);
    }
    // Vehicles the plan did not use may be delayed, unavailable or seen on the road too: each
    // becomes a plan route with nothing to do, so the solver applies its progress (a breakdown
    // keeps it home).
    for (v, x) in &execution.vehicles {
        let Some(&t) = compiled.type_of.get(v) else { continue };
        if vehicles.contains(v) || (x.held_until_s.is_none() && x.unavailable_from_s.is_none() && x.position.is_none()) {
            continue;
        }
        let position = place(&x.position);
        let ready = [Some(now), position.map(|(_, at)| at), x.held_until_s].into_iter().flatten().max();
        progress.push(VehicleProgress {
            fixed: 0,
            ready_at: ready,
            unavailable_from: x.unavailable_from_s,
            on_board: None,
            position: position.map(|(l, _)| l),
        });
        routes.push(Route { vehicle_type: t, trips: vec![Trip { depot: p.vehicle_types[t].start_depot, visits: Vec::new() }], breaks: Vec::new() });
        vehicles.push(*v);
    }
    // What the base left out stays out of the warm start; only new orders (and dropped ones
    // added again) are inserted at once.
    let mut unassigned: Vec<Unassigned> = base
        .plan
        .unassigned
        .iter()
        .filter(|u| !readded.contains(&u.order_id))
        .flat_map(|u| {
            let reason = serde_json::from_value(serde_json::Value::String(u.reason.clone())).unwrap_or(UnassignedReason::NotWorthPrize);
            compiled.clients(u.order_id).iter().map(move |&client| Unassigned { client, reason })
        })
        .collect();
    // The other addresses of an order on a route are served by that stop.
    let routed: HashSet<i64> = placed.iter().map(|&c| compiled.model.stops[c].order_id).collect();
    for (c, s) in compiled.model.stops.iter().enumerate() {
        if !placed.contains(&c) && routed.contains(&s.order_id) {
            unassigned.push(Unassigned { client: c, reason: UnassignedReason::GroupServed });
        }
    }
    (Solution { routes, unassigned }, vehicles, progress, seen)
}

/// Runs the replan: `compiled` is the model after the events (the base's when unchanged).
fn run(base: &Base, compiled: &Compiled, execution: &Execution, batch: &EventBatch, readded: &[i64], travel: &dyn TravelMatrix) -> Result<PlanResult, String> {
    let started = Instant::now();
    let (plan, _, progress, seen) = solver_plan(base, compiled, execution, batch.at_s, readded);
    let move_cost = (batch.move_cost_ntd * COST_SCALE as f64).round() as i64;
    let with_positions = if seen.is_empty() { None } else { Some(with_places(compiled, &seen, travel)?) };
    let problem = with_positions.as_ref().unwrap_or(&compiled.problem);
    // The arrivals announced by the base version, of its stops still to serve.
    let mut announced: Vec<Option<i64>> = vec![None; problem.num_clients()];
    for s in base.plan.routes.iter().flat_map(|r| r.trips.iter().flat_map(|t| t.stops.iter())).filter(|s| s.status == StopStatus::Planned) {
        if let Some(c) = compiled.client_at(s.order_id, s.address_index) {
            announced[c] = clock_seconds(&s.arrival);
        }
    }
    let input = ReplanInput {
        problem,
        plan: &plan,
        progress: &progress,
        now: batch.at_s,
        move_cost,
        announced: &announced,
        shift_tolerance: Some(batch.shift_tolerance_s),
    };
    let env = Environment {
        seed: base.request.options.seed,
        threads: 1,
        time_limit: Some(Duration::from_millis(batch.time_limit_ms)),
        max_iterations: Some(batch.max_iterations),
        ..Environment::default()
    };
    let out = replan(&input, &env).map_err(|e| e.to_string())?;
    let p = input.problem;
    let m = &compiled.model;

    // Arrival times of the non-fixed visits, from the reduced problem's schedule.
    let reduced_check = solver::check::check(&out.reduced.problem, &out.reduced_solution);
    let mut planned_arrivals: HashMap<ReplanVehicle, (Vec<i64>, i64)> = HashMap::new();
    for (k, r) in out.reduced_solution.routes.iter().enumerate() {
        let who = out.reduced.vehicle[r.vehicle_type];
        if let Some(rep) = reduced_check.routes.get(k) {
            planned_arrivals.insert(who, (rep.arrivals.iter().flatten().copied().collect(), rep.end));
        }
    }
    let day = out.solution();
    let day_check = solver::check::check(p, &day);
    let executed_at: HashMap<i64, &ExecutedStop> = execution.vehicles.values().flat_map(|x| x.executed.iter().map(|e| (e.order_id, e))).collect();
    let mut routes = Vec::new();
    let mut k = 0usize;
    for r in &out.routes {
        if r.route.is_empty() {
            continue;
        }
        let rep = day_check.routes.get(k);
        k += 1;
        let (arrivals, end) = planned_arrivals.get(&r.vehicle).cloned().unwrap_or_default();
        let mut next_planned = arrivals.into_iter();
        let mut n = 0usize;
        let at = |c: usize| {
            let info = &m.stops[c];
            let shown = if n < r.fixed {
                match executed_at.get(&info.order_id) {
                    Some(e) if e.in_progress => (StopStatus::InProgress, e.at_s),
                    Some(e) => (if e.failed { StopStatus::Failed } else { StopStatus::Done }, e.at_s),
                    None => (StopStatus::Done, 0),
                }
            } else {
                (StopStatus::Planned, next_planned.next().unwrap_or(0))
            };
            n += 1;
            shown
        };
        let (distance, start, day_end) = rep.map_or((0, 0, 0), |x| (x.distance, x.start, x.end));
        // The replanned remainder's return, or the day's schedule when nothing is left to do.
        let end = if end > 0 { end.max(start) } else { day_end };
        routes.extend(render_route(p, m, &r.route, at, distance, (start, end), rep.map_or(&[][..], |x| x.breaks.as_slice())));
    }
    let mut unassigned = m.left_out.clone();
    let mut penalty = m.left_out_penalty_ntd;
    for (order, reason) in unassigned_orders(m, out.unassigned.iter().map(|u| (u.client, u.reason))) {
        unassigned.push(order);
        penalty += reason;
    }
    unassigned.sort_by_key(|u| u.order_id);
    let route_cost: i64 = routes.iter().map(|r| r.cost_ntd).sum();
    let result = PlanResult {
        depots: m.depots.clone(),
        distance_m: routes.iter().map(|r| r.distance_m).sum(),
        duration_s: routes.iter().map(|r| r.duration_s).sum(),
        cost_ntd: route_cost,
        penalty_ntd: penalty.round() as i64,
        feasible: out.feasible,
        iterations: out.iterations,
        elapsed_s: started.elapsed().as_secs_f64(),
        travel: base.plan.travel.clone(),
        routes,
        unassigned,
    };
    Ok(result)
}

/// The orders of `m` left out, from the solver's unassigned clients (client, reason), each with
/// its penalty: an order once, though each of its addresses is a client, and not at all when one
/// of its addresses is served (the others come back as `group_served`).
pub(crate) fn unassigned_orders(m: &LiveModel, clients: impl Iterator<Item = (usize, UnassignedReason)>) -> Vec<(UnassignedOrder, f64)> {
    let mut served: HashSet<i64> = HashSet::new();
    let mut out: Vec<(UnassignedOrder, f64)> = Vec::new();
    let mut listed: HashSet<i64> = HashSet::new();
    let clients: Vec<(usize, UnassignedReason)> = clients.collect();
    for &(c, reason) in &clients {
        if reason == UnassignedReason::GroupServed {
            if let Some(s) = m.stops.get(c) {
                served.insert(s.order_id);
            }
        }
    }
    for (c, reason) in clients {
        let Some(info) = m.stops.get(c) else { continue };
        if reason == UnassignedReason::GroupServed || served.contains(&info.order_id) || !listed.insert(info.order_id) {
            continue;
        }
        let reason = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        out.push((UnassignedOrder { order_id: info.order_id, reason }, info.penalty_ntd));
    }
    out
}

/// One route as shown, the one renderer of routes (the job's plan and every replan): its trips,
/// each leaving its depot at `depart` with `loaded`, and its stops with the status and time
/// `at` gives each client in route order. `(start, end)` are the checker's; they are widened to
/// hold the stops as shown (executed stops keep their reported times, which the checker's
/// schedule does not know), and the operating cost follows.
pub(crate) fn render_route(
    p: &Problem,
    m: &LiveModel,
    route: &Route,
    mut at: impl FnMut(usize) -> (StopStatus, i64),
    distance: i64,
    (start, end): (i64, i64),
    break_starts: &[i64],
) -> Option<PlannedRoute> {
    let t = route.vehicle_type;
    let (fleet, vt) = (m.fleet.get(t)?, p.vehicle_types.get(t)?);
    let dims = &m.doc.dimensions;
    // The breaks, as the checker's schedule has them.
    struct Rest {
        trip: usize,
        after: usize,
        start: i64,
        length: i64,
    }
    let breaks: Vec<Rest> = route
        .breaks
        .iter()
        .zip(break_starts)
        .filter_map(|(b, &start)| Some(Rest { trip: b.trip, after: b.after, start, length: vt.breaks.get(b.index)?.duration }))
        .collect();
    let mut trips = Vec::new();
    let mut times = Vec::new();
    for (trip_no, trip) in route.trips.iter().enumerate() {
        // Where and when the vehicle last left, to tell waiting for a window from driving.
        let mut left: Option<(usize, i64)> = None;
        let mut load: Vec<i64> = (0..p.dimensions).map(|d| trip.visits.iter().filter_map(|&c| p.clients.get(c)).map(|c| c.delivery[d]).sum()).collect();
        let loaded: BTreeMap<String, i64> = dims.iter().cloned().zip(load.iter().copied()).collect();
        let mut stops = Vec::new();
        for &c in &trip.visits {
            let (Some(cl), Some(info), Some(doc)) = (p.clients.get(c), m.stops.get(c), m.doc.clients.get(c)) else { continue };
            for (d, l) in load.iter_mut().enumerate() {
                *l += cl.pickup[d] - cl.delivery[d];
            }
            let (status, when) = at(c);
            times.push(when);
            let mut stop = info.render((doc.lat, doc.lon), clock_text(when), status, dims.iter().cloned().zip(load.iter().copied()).collect());
            if status == StopStatus::Planned {
                if let Some((from, leave)) = left {
                    // A break on the leg to this stop is not waiting.
                    let resting: i64 = breaks.iter().filter(|b| b.trip == trip_no && b.after == stops.len()).map(|b| b.length).sum();
                    stop.waiting_s = (when - leave - p.travel(t, from, cl.location, leave) - resting).max(0);
                }
            }
            left = Some((cl.location, when + cl.service_duration));
            stops.push(stop);
        }
        let depot_id = m.depots.get(trip.depot).map_or(fleet.depot_id, |d| d.id);
        let depart = departure(p, t, trip, times.get(times.len() - stops.len()).copied());
        trips.push(PlannedTrip { depot_id, depart, loaded, stops });
    }
    let (start, end) = consistent_times(p, t, route, &times, start, end);
    let duration = end - start;
    let cost = vt.fixed_cost + vt.unit_distance_cost * distance + vt.unit_duration_cost * duration;
    Some(PlannedRoute {
        vehicle_id: fleet.vehicle_id,
        plate: fleet.plate.clone(),
        depot_id: fleet.depot_id,
        driver_id: None,
        driver_name: None,
        start: clock_text(start),
        end: clock_text(end),
        distance_m: distance,
        duration_s: duration,
        cost_ntd: cost_to_ntd(cost).round() as i64,
        trips,
        breaks: breaks.iter().map(|b| PlannedBreak { trip: b.trip, after: b.after, start: clock_text(b.start), end: clock_text(b.start + b.length) }).collect(),
    })
}

/// When a trip leaves its depot at the latest to reach its first stop at the time shown,
/// `HH:MM`.
fn departure(p: &Problem, t: usize, trip: &Trip, first_time: Option<i64>) -> Option<String> {
    let first = *trip.visits.first()?;
    let at = first_time?;
    let from = p.depots.get(trip.depot)?.location;
    Some(clock_text(p.latest_departure(t, from, p.clients.get(first)?.location, at)))
}

/// A route's `(start, end)` made to hold its stops as rendered: the start no later than the
/// first stop's time less the drive to it, the end no sooner than the last stop's time plus its
/// service and the drive back to the vehicle's end depot.
fn consistent_times(p: &Problem, t: usize, route: &Route, times: &[i64], start: i64, end: i64) -> (i64, i64) {
    let vt = &p.vehicle_types[t];
    let visits: Vec<usize> = route.trips.iter().flat_map(|x| x.visits.iter().copied()).collect();
    let (Some(&first), Some(&last), Some(&t0), Some(&t1)) = (visits.first(), visits.last(), times.first(), times.last()) else {
        return (start, end.max(start));
    };
    let leave = route.trips.first().map_or(vt.start_depot, |x| x.depot);
    let from = p.depots[leave].location;
    let home = p.depots[vt.end_depot].location;
    let (c0, c1) = (&p.clients[first], &p.clients[last]);
    let start = start.min(p.latest_departure(t, from, c0.location, t0));
    let back = t1 + c1.service_duration;
    let end = end.max(back + p.travel(t, c1.location, home, back)).max(start);
    (start, end)
}

/// What changed from the stops `before` to those `after` (of the plan `new`) for stops not
/// executed.
pub(crate) fn diff(before: &StopMap, after: &StopMap, new: &PlanResult, cancelled: &[i64]) -> PlanDiff {
    let mut d = PlanDiff::default();
    let mut orders: Vec<&i64> = after.keys().collect();
    orders.sort_unstable();
    for order in orders {
        let (vehicle, status, arrival) = &after[order];
        if *status != StopStatus::Planned {
            continue;
        }
        match before.get(order) {
            Some((v0, _, a0)) if v0 != vehicle => d.moved.push(MovedStop {
                order_id: *order,
                from_vehicle_id: *v0,
                to_vehicle_id: *vehicle,
                from_arrival: (*a0).to_owned(),
                to_arrival: (*arrival).to_owned(),
            }),
            Some((_, _, a0)) if a0 != arrival => {
                d.retimed.push(RetimedStop { order_id: *order, vehicle_id: *vehicle, from_arrival: (*a0).to_owned(), to_arrival: (*arrival).to_owned() });
            }
            Some(_) => {}
            None => d.added.push(AddedStop { order_id: *order, vehicle_id: *vehicle, arrival: (*arrival).to_owned() }),
        }
    }
    let mut gone: Vec<(&i64, &(i64, StopStatus, &str))> = before.iter().filter(|(o, _)| !after.contains_key(o)).collect();
    gone.sort_unstable_by_key(|(o, _)| **o);
    for (order, (vehicle, _, _)) in gone {
        let reason = if cancelled.contains(order) {
            "cancelled".to_owned()
        } else {
            new.unassigned.iter().find(|u| u.order_id == *order).map_or_else(|| "unassigned".to_owned(), |u| u.reason.clone())
        };
        d.removed.push(RemovedStop { order_id: *order, vehicle_id: *vehicle, reason });
    }
    d
}

/// The order changes that follow from the new routes: orders newly on a route are `planned`,
/// planned ones that left every route go back to `received`, and an added order joins routed
/// or not. `changes` holds those of the events.
pub(crate) fn route_changes(before: &StopMap, after: &StopMap, changes: &mut Vec<(Option<usize>, OrderChange)>) {
    let touched: HashSet<i64> = changes.iter().map(|(_, c)| c.order_id()).collect();
    for (_, c) in changes.iter_mut() {
        if let OrderChange::Join { order_id, routed } = c {
            *routed = after.contains_key(order_id);
        }
    }
    let mut newly: Vec<i64> = after.keys().filter(|o| !before.contains_key(o) && !touched.contains(o)).copied().collect();
    newly.sort_unstable();
    changes.extend(newly.into_iter().map(|order_id| (None, OrderChange::Route { order_id })));
    let mut left: Vec<i64> = before.keys().filter(|o| !after.contains_key(o) && !touched.contains(o)).copied().collect();
    left.sort_unstable();
    changes.extend(left.into_iter().map(|order_id| (None, OrderChange::Release { order_id })));
}

/// Everything a replan does after its inputs are read, on a blocking thread: check and apply
/// the events, search, render. Field errors are the client's; a text is an internal failure.
pub fn replan_version(
    plan_id: i64,
    base: &Base,
    batch: &EventBatch,
    candidates: &HashMap<i64, Candidate>,
    travel: &dyn TravelMatrix,
) -> Result<Result<Replanned, Vec<FieldError>>, String> {
    let before = stops_of(base.plan);
    let Applied { execution, cancelled, added, readded, mut changes } = match apply(plan_id, base, &before, batch, candidates) {
        Ok(x) => x,
        Err(errors) => return Ok(Err(errors)),
    };
    let compiled =
        if cancelled.is_empty() && added.is_empty() { None } else { Some(Arc::new(base.compiled.edited(&cancelled, &added, base.request, travel)?)) };
    let current = compiled.as_deref().unwrap_or(base.compiled);
    let plan = run(base, current, &execution, batch, &readded, travel)?;
    let after = stops_of(&plan);
    let diff = diff(&before, &after, &plan, &execution.cancelled);
    route_changes(&before, &after, &mut changes);
    Ok(Ok(Replanned { plan, execution, diff, model: compiled, changes }))
}

#[cfg(test)]
mod tests {
    use super::super::day::tests::{inputs, request, stop};
    use super::super::day::{Day, DayModel};
    use super::*;
    use crate::domain::Priority;
    use crate::travel::{GreatCircle, TravelConfig};

    /// The compiled model of a day of orders `ids`, as a plan's first version has it.
    fn compiled(ids: &[i64], travel: &GreatCircle) -> Compiled {
        let stops: Vec<OrderStop> = ids.iter().map(|&id| stop(id, vec![], Priority::Normal)).collect();
        let Ok(Day::Solvable(day)) = DayModel::build(inputs(stops), travel) else { panic!("the day is solvable") };
        let mut model = day.live_model();
        assert!(model.doc.profiles.iter().all(|p| p.distance_m.is_none() && p.duration_s.is_none()), "the day model keeps no matrices");
        model.fill_matrices(travel).expect("travel matrices");
        Compiled::new(model).expect("compiles")
    }

    /// `c`'s model with its matrices computed again from `travel`, built.
    fn rebuilt(c: &Compiled, travel: &GreatCircle) -> Compiled {
        let mut model = c.model.clone();
        model.fill_matrices(travel).expect("travel matrices");
        Compiled::new(model).expect("compiles")
    }

    #[test]
    fn an_edited_model_is_the_model_built_afresh_from_its_orders() {
        let travel = GreatCircle::new(TravelConfig::default());
        let base = compiled(&[1, 2, 3, 4, 5, 6], &travel);
        assert!(base.model.doc.profiles.iter().all(|p| p.distance_m.is_none() && p.duration_s.is_none()), "the problem holds the matrices");
        let added: Vec<Candidate> = [7, 8].iter().map(|&id| Candidate { stop: stop(id, vec![], Priority::Urgent), held_by: None }).collect();
        let edited = base.edited(&[2, 5], &added, &request(), &travel).expect("edits");
        let orders: Vec<i64> = edited.model.stops.iter().map(|s| s.order_id).collect();
        assert_eq!(orders, [1, 3, 4, 6, 7, 8]);
        assert_eq!(edited.client(7), Some(4));
        assert_eq!(edited.client(2), None);

        // The same model built from scratch: its matrices computed again, and built.
        let fresh = rebuilt(&edited, &travel);
        assert_eq!(edited.model, fresh.model);
        let (a, b) = (&edited.problem, &fresh.problem);
        assert_eq!(a.clients, b.clients);
        assert_eq!(a.locations, b.locations);
        assert_eq!(a.vehicle_types, b.vehicle_types);
        assert_eq!(a.num_locations(), b.num_locations());
        for (pa, pb) in a.profiles.iter().zip(&b.profiles) {
            for from in 0..a.num_locations() {
                for to in 0..a.num_locations() {
                    assert_eq!(pa.distance.get(from, to), pb.distance.get(from, to), "{} distance {from} → {to}", pa.name);
                    assert_eq!(pa.duration.get(from, to), pb.duration.get(from, to), "{} duration {from} → {to}", pa.name);
                }
            }
        }

        // Cancelling alone copies the kept values.
        let fewer = edited.edited(&[7], &[], &request(), &travel).expect("edits");
        let fresh = rebuilt(&fewer, &travel);
        assert_eq!(fewer.problem.clients, fresh.problem.clients);
        let n = fewer.problem.num_locations();
        assert_eq!(n, 1 + 5);
        assert!((0..n).all(|x| (0..n).all(|y| fewer.problem.duration(0, x, y) == fresh.problem.duration(0, x, y))));
    }

    #[test]
    fn an_order_with_other_addresses_is_one_group_before_and_after_an_edit() {
        use crate::domain::order::AlternativeAddress;
        let travel = GreatCircle::new(TravelConfig::default());
        let with_shop = |id: i64, shops: usize| {
            let mut s = stop(id, vec![], Priority::Normal);
            s.order.data.alternative_addresses = (0..shops)
                .map(|k| AlternativeAddress { address: format!("店{k}"), district: "大安區".into(), lat: 25.02 + 0.01 * k as f64, lon: 121.54 })
                .collect();
            s
        };
        let stops = vec![with_shop(1, 0), with_shop(2, 2), with_shop(3, 0), with_shop(4, 1)];
        let Ok(Day::Solvable(day)) = DayModel::build(inputs(stops), &travel) else { panic!("the day is solvable") };
        let mut model = day.live_model();
        model.fill_matrices(&travel).expect("travel matrices");
        let base = Compiled::new(model).expect("compiles");
        let ids = |c: &Compiled| -> Vec<Vec<String>> {
            c.problem.groups.iter().map(|g| g.clients.iter().map(|&k| c.model.doc.clients[k].id.clone()).collect()).collect()
        };
        assert_eq!(ids(&base), [vec!["O2", "O2-1", "O2-2"], vec!["O4", "O4-1"]]);
        assert_eq!((base.client(2), base.client_at(2, 2), base.clients(4).len()), (Some(1), Some(3), 2));
        assert_eq!(base.model.stops[3].address, "店1");

        // Clients before and between the groups go: the groups keep their own clients.
        let edited = base.edited(&[1, 3], &[], &request(), &travel).expect("edits");
        assert_eq!(ids(&edited), [vec!["O2", "O2-1", "O2-2"], vec!["O4", "O4-1"]]);
        assert_eq!(edited.problem.groups, rebuilt(&edited, &travel).problem.groups);
        let edited = edited.edited(&[2], &[], &request(), &travel).expect("edits");
        assert_eq!(ids(&edited), [vec!["O4", "O4-1"]]);
        assert_eq!(edited.problem.groups, rebuilt(&edited, &travel).problem.groups);

        // An order added with other addresses joins as a group of its own, after the kept ones.
        let added = [Candidate { stop: with_shop(9, 1), held_by: None }, Candidate { stop: with_shop(10, 0), held_by: None }];
        let edited = edited.edited(&[], &added, &request(), &travel).expect("edits");
        assert_eq!(ids(&edited), [vec!["O4", "O4-1"], vec!["O9", "O9-1"]]);
        let fresh = rebuilt(&edited, &travel);
        assert_eq!((&edited.problem.groups, &edited.problem.clients), (&fresh.problem.groups, &fresh.problem.clients));
        assert_eq!((edited.client_at(9, 1), edited.model.stops[3].address.as_str()), (Some(3), "店0"));
    }
}
