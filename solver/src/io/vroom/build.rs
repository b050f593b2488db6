//! Builds the integer [`Problem`] from a [`VroomInput`] (see the parent module for how each of
//! VROOM's notions maps onto the model), checking every field and naming its JSON path when it
//! is wrong.

use super::fields::{amounts, breaks, check_ids, dimensions, entry, invalid, priority, time, unsupported_per_type, window, windows, SkillBits};
use super::{Coordinates, PointMatrices, Vehicle, VroomError, VroomInput};
use crate::error::ModelError;
use crate::model::{Client, Depot, Load, Location, Matrix, Pair, Problem, ProblemData, Profile, TimeWindow, VehicleType, UNLIMITED};
use std::collections::{BTreeMap, HashMap};

/// Most locations of the model (tasks, vehicle starts and ends): each matrix holds their square.
pub const MAX_LOCATIONS: usize = 5_000;
/// The capacity of a vehicle without `capacity`.
const NO_CAPACITY: Load = 1 << 50;
/// Largest fixed cost, `per_hour`, `per_task_hour` or `per_km`.
const MAX_COST: u64 = 1 << 40;
/// The prizes of all tasks together stay below this.
const PRIZE_BUDGET: i128 = 100_000_000_000_000_000;

/// Where a task or a vehicle's start or end is: its coordinates (an index into
/// [`VroomInput::points`]) and its row in the custom matrices, each when given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Place {
    /// Row and column in the custom matrices.
    pub index: Option<usize>,
    /// Index into the input's distinct points.
    pub point: Option<usize>,
}

/// What a model client stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Task {
    /// `jobs[i]`.
    Job(usize),
    /// The pickup of `shipments[i]` (the pickup client of a model pair).
    Pickup(usize),
    /// The delivery of `shipments[i]`.
    Delivery(usize),
}

/// What the answer needs to know about vehicle `v` (the model's vehicle type `v`).
#[derive(Clone, Debug)]
pub(super) struct VehicleInfo {
    /// Whether it has a start (else the model's start is the zero-travel location).
    pub has_start: bool,
    /// Whether it has an end.
    pub has_end: bool,
    /// A travel time limit the model does not hold, enforced after the search.
    pub max_travel_time: Option<i64>,
    /// A distance limit the model does not hold, enforced after the search.
    pub max_distance: Option<i64>,
    /// `breaks[k]`: index into the VROOM vehicle's breaks of the model's break `k`.
    pub breaks: Vec<usize>,
}

/// A VROOM problem converted: the model and what is needed to answer in VROOM's terms.
#[derive(Clone, Debug)]
pub struct VroomModel {
    /// The validated problem: vehicle type `v` is `input.vehicles[v]`.
    pub problem: Problem,
    /// The input it was built from.
    pub input: VroomInput,
    /// `tasks[c]`: what client `c` stands for.
    pub(super) tasks: Vec<Task>,
    /// Per vehicle (= vehicle type).
    pub(super) vehicles: Vec<VehicleInfo>,
    /// `distances[p]`: real distances in metres of model profile `p`, when known.
    pub(super) distances: Vec<Option<Matrix>>,
    /// Capacity dimensions of VROOM's amounts (the model has one more when `max_tasks` is used).
    pub(super) dims: usize,
}

/// Where the travel values of one VROOM profile come from.
enum Source<'a> {
    /// Custom matrices, `[from][to]` by `location_index`.
    Custom { durations: &'a [Vec<u64>], distances: Option<&'a [Vec<u64>]>, costs: Option<&'a [Vec<u64>]>, size: usize },
    /// Matrices the caller computed over the input's points.
    Points(&'a PointMatrices),
}

/// A model location: a place of the input, or the zero-travel location of vehicles without a
/// start or an end.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Place(Place),
    Anywhere,
}

/// Converts `input` into a model. `supplied` holds the matrices over [`VroomInput::points`] of
/// every profile of [`VroomInput::profiles_without_matrices`].
pub fn build(input: VroomInput, supplied: &BTreeMap<String, PointMatrices>) -> Result<VroomModel, VroomError> {
    let parts = Builder::new(&input, supplied)?.run()?;
    let (problem, tasks, vehicles, distances, dims) = parts;
    Ok(VroomModel { problem, input, tasks, vehicles, distances, dims })
}

type Parts = (Problem, Vec<Task>, Vec<VehicleInfo>, Vec<Option<Matrix>>, usize);

struct Builder<'a> {
    input: &'a VroomInput,
    /// `(profile name, source)` of every profile the vehicles use.
    sources: Vec<(&'a str, Source<'a>)>,
    /// Point index by the bits of its coordinates.
    point_ids: HashMap<(u64, u64), usize>,
    points: Vec<Coordinates>,
}

impl<'a> Builder<'a> {
    fn new(input: &'a VroomInput, supplied: &'a BTreeMap<String, PointMatrices>) -> Result<Self, VroomError> {
        if input.vehicles.is_empty() {
            return Err(invalid("vehicles", "bad_value", "at least one vehicle is needed"));
        }
        let slots = input.jobs.len() + 2 * input.shipments.len() + 2 * input.vehicles.len() + 1;
        if slots > MAX_LOCATIONS {
            return Err(invalid("jobs", "too_large", format!("{slots} locations (tasks and vehicle ends), at most {MAX_LOCATIONS}")));
        }
        check_ids(input.jobs.iter().enumerate().map(|(i, j)| (&j.id, format!("jobs[{i}].id"))), "job")?;
        check_ids(input.shipments.iter().enumerate().map(|(i, s)| (&s.pickup.id, format!("shipments[{i}].pickup.id"))), "pickup")?;
        check_ids(input.shipments.iter().enumerate().map(|(i, s)| (&s.delivery.id, format!("shipments[{i}].delivery.id"))), "delivery")?;
        check_ids(input.vehicles.iter().enumerate().map(|(i, v)| (&v.id, format!("vehicles[{i}].id"))), "vehicle")?;
        let points = input.points();
        let point_ids = points.iter().enumerate().map(|(i, p)| ((p[0].to_bits(), p[1].to_bits()), i)).collect();
        let mut sources = Vec::new();
        for profile in input.profiles() {
            let source = match (input.matrices.get(profile), &input.matrix) {
                (Some(m), _) => custom(m.durations.as_deref(), m.distances.as_deref(), m.costs.as_deref(), &format!("matrices.{profile}"))?,
                (None, Some(m)) => custom(Some(m), None, None, "matrix")?,
                (None, None) => match supplied.get(profile) {
                    Some(m) => {
                        let n = points.len();
                        let square = |rows: &[Vec<i64>]| rows.len() == n && rows.iter().all(|r| r.len() == n && r.iter().all(|&v| v >= 0));
                        if !square(&m.durations) || !square(&m.distances) {
                            return Err(invalid("", "matrix_size", format!("the matrices computed for profile '{profile}' do not cover the {n} points")));
                        }
                        Source::Points(m)
                    }
                    None => return Err(invalid("matrices", "missing_matrix", format!("no matrices for profile '{profile}'"))),
                },
            };
            sources.push((profile, source));
        }
        Ok(Builder { input, sources, point_ids, points })
    }

    /// The place of a task or vehicle end at `path`, checked against `profiles` (all when
    /// `None`): each profile with custom matrices needs a `location_index` inside them, each
    /// without needs coordinates.
    fn place(&self, location: Option<Coordinates>, index: Option<usize>, path: &str, fields: [&str; 2], profile: Option<&str>) -> Result<Place, VroomError> {
        let [loc_field, index_field] = fields;
        let point = match location {
            None => None,
            Some(c) => {
                if !(c[0].is_finite() && c[1].is_finite() && (-180.0..=180.0).contains(&c[0]) && (-90.0..=90.0).contains(&c[1])) {
                    return Err(invalid(format!("{path}.{loc_field}"), "bad_value", format!("{c:?} is not [lon, lat] in degrees")));
                }
                self.point_ids.get(&(c[0].to_bits(), c[1].to_bits())).copied()
            }
        };
        for (name, source) in self.sources.iter().filter(|(name, _)| profile.is_none_or(|p| p == *name)) {
            match source {
                Source::Custom { size, .. } => match index {
                    None => {
                        let msg = format!("needed: profile '{name}' has custom matrices");
                        return Err(invalid(format!("{path}.{index_field}"), "missing_location", msg));
                    }
                    Some(i) if i >= *size => {
                        let msg = format!("{i} is outside the matrices of profile '{name}' ({size} locations)");
                        return Err(invalid(format!("{path}.{index_field}"), "unknown_location", msg));
                    }
                    Some(_) => {}
                },
                Source::Points(_) if point.is_none() => {
                    let msg = format!("needed: profile '{name}' has no custom matrices");
                    return Err(invalid(format!("{path}.{loc_field}"), "missing_location", msg));
                }
                Source::Points(_) => {}
            }
        }
        Ok(Place { index, point })
    }

    fn task_place(&self, location: Option<Coordinates>, index: Option<usize>, path: &str) -> Result<Place, VroomError> {
        self.place(location, index, path, ["location", "location_index"], None)
    }

    /// A vehicle's start (`end = false`) or end, `None` when it has none.
    fn vehicle_place(&self, v: usize, end: bool) -> Result<Option<Place>, VroomError> {
        let vehicle = &self.input.vehicles[v];
        let (location, index, fields) =
            if end { (vehicle.end, vehicle.end_index, ["end", "end_index"]) } else { (vehicle.start, vehicle.start_index, ["start", "start_index"]) };
        if location.is_none() && index.is_none() {
            return Ok(None);
        }
        self.place(location, index, &format!("vehicles[{v}]"), fields, Some(&vehicle.profile)).map(Some)
    }

    fn run(self) -> Result<Parts, VroomError> {
        let input = self.input;
        let dims = dimensions(input)?;
        let skills = SkillBits::new(input)?;

        // Depots: the distinct start and end places, then the zero-travel location if needed.
        let mut slots: Vec<Slot> = Vec::new();
        let mut ends: Vec<(Option<Place>, Option<Place>)> = Vec::with_capacity(input.vehicles.len());
        for v in 0..input.vehicles.len() {
            let (start, end) = (self.vehicle_place(v, false)?, self.vehicle_place(v, true)?);
            if start.is_none() && end.is_none() {
                return Err(invalid(format!("vehicles[{v}]"), "missing_location", "a vehicle needs a start or an end (or both)"));
            }
            ends.push((start, end));
        }
        let depot_of = |place: Option<Place>, slots: &mut Vec<Slot>| -> usize {
            let found = slots.iter().position(|s| match (s, place) {
                (Slot::Place(p), Some(q)) => *p == q,
                (Slot::Anywhere, None) => true,
                _ => false,
            });
            found.unwrap_or_else(|| {
                slots.push(place.map_or(Slot::Anywhere, Slot::Place));
                slots.len() - 1
            })
        };
        let depot_ends: Vec<(usize, usize)> = ends.iter().map(|&(s, e)| (depot_of(s, &mut slots), depot_of(e, &mut slots))).collect();
        let n_depots = slots.len();

        let shifts = input
            .vehicles
            .iter()
            .enumerate()
            .map(|(v, vehicle)| vehicle.time_window.map_or(Ok(TimeWindow::ALWAYS), |w| window(w, &format!("vehicles[{v}].time_window"))))
            .collect::<Result<Vec<_>, _>>()?;

        // Tasks: jobs, then the pickup and the delivery of each shipment (a model pair).
        let mut tasks = Vec::new();
        let mut clients = Vec::new();
        // Per client: (priority, task weight for max_tasks).
        let mut weights = Vec::new();
        for (i, job) in input.jobs.iter().enumerate() {
            let path = format!("jobs[{i}]");
            unsupported_per_type(&job.setup_per_type, &job.service_per_type, &path)?;
            let place = self.task_place(job.location, job.location_index, &path)?;
            let (delivery, pickup) = match (&job.delivery, &job.pickup, &job.amount) {
                (None, None, Some(amount)) => (amounts(Some(amount), dims, &format!("{path}.amount"))?, vec![0; dims]),
                (d, p, _) => (amounts(d.as_ref(), dims, &format!("{path}.delivery"))?, amounts(p.as_ref(), dims, &format!("{path}.pickup"))?),
            };
            slots.push(Slot::Place(place));
            clients.push(Client {
                name: job.id.to_string(),
                location: slots.len() - 1,
                delivery,
                pickup,
                service_duration: time(job.setup, &format!("{path}.setup"))? + time(job.service, &format!("{path}.service"))?,
                time_windows: windows(&job.time_windows, &format!("{path}.time_windows"))?,
                release_time: 0,
                required: false,
                prize: 0,
                skills: skills.of_task(&job.skills),
            });
            weights.push((priority(job.priority, &path)?, 1));
            tasks.push(Task::Job(i));
        }
        let mut pairs = Vec::with_capacity(input.shipments.len());
        for (i, s) in input.shipments.iter().enumerate() {
            let path = format!("shipments[{i}]");
            let amount = amounts(s.amount.as_ref(), dims, &format!("{path}.amount"))?;
            let rank = priority(s.priority, &path)?;
            for (step, name, task) in [(&s.pickup, "pickup", Task::Pickup(i)), (&s.delivery, "delivery", Task::Delivery(i))] {
                let path = format!("{path}.{name}");
                unsupported_per_type(&step.setup_per_type, &step.service_per_type, &path)?;
                slots.push(Slot::Place(self.task_place(step.location, step.location_index, &path)?));
                clients.push(Client {
                    name: step.id.to_string(),
                    location: slots.len() - 1,
                    delivery: vec![0; dims],
                    pickup: vec![0; dims],
                    service_duration: time(step.setup, &format!("{path}.setup"))? + time(step.service, &format!("{path}.service"))?,
                    time_windows: windows(&step.time_windows, &format!("{path}.time_windows"))?,
                    release_time: 0,
                    required: false,
                    prize: 0,
                    skills: skills.of_task(&s.skills),
                });
                weights.push((rank, 1));
                tasks.push(task);
            }
            pairs.push(Pair { pickup: clients.len() - 2, delivery: clients.len() - 1, amount });
        }

        // Vehicles and the profiles of the model (one per VROOM profile, speed factor and cost
        // parameters).
        let task_dim = input.vehicles.iter().any(|v| v.max_tasks.is_some());
        // The model wants at least one dimension: without amounts or max_tasks, an empty one.
        let padding = dims == 0 && !task_dim;
        if task_dim || padding {
            for (c, w) in clients.iter_mut().zip(&weights) {
                c.delivery.push(if task_dim { w.1 } else { 0 });
                c.pickup.push(0);
            }
            for pair in &mut pairs {
                pair.amount.push(0);
            }
        }
        let total_weight: i64 = weights.iter().map(|w| w.1).sum();
        let mut profiles: Vec<Profile> = Vec::new();
        let mut distances: Vec<Option<Matrix>> = Vec::new();
        let mut profile_keys: Vec<(usize, u64, u64, u64)> = Vec::new();
        let mut vehicle_types = Vec::with_capacity(input.vehicles.len());
        let mut infos = Vec::with_capacity(input.vehicles.len());
        for (v, vehicle) in input.vehicles.iter().enumerate() {
            let path = format!("vehicles[{v}]");
            let source = self.sources.iter().position(|(name, _)| *name == vehicle.profile).unwrap_or(0);
            let costs = &vehicle.costs;
            for (value, field) in [(costs.fixed, "fixed"), (costs.per_hour, "per_hour"), (costs.per_task_hour, "per_task_hour"), (costs.per_km, "per_km")] {
                if value > MAX_COST {
                    return Err(invalid(format!("{path}.costs.{field}"), "bad_value", format!("{value} is larger than {MAX_COST}")));
                }
            }
            if !(vehicle.speed_factor.is_finite() && vehicle.speed_factor > 0.0 && vehicle.speed_factor <= 5.0) {
                return Err(invalid(format!("{path}.speed_factor"), "bad_value", "must be in (0, 5]"));
            }
            let (has_costs, has_distances) = match &self.sources[source].1 {
                Source::Custom { costs, distances, .. } => (costs.is_some(), distances.is_some()),
                Source::Points(_) => (false, true),
            };
            if has_costs && (costs.per_hour != 3600 || costs.per_km != 0) {
                let msg = "a custom costs matrix cannot be combined with per_hour or per_km";
                return Err(invalid(format!("{path}.costs"), "bad_value", msg));
            }
            if costs.per_km > 0 && !has_distances {
                return Err(invalid(format!("{path}.costs.per_km"), "missing_matrix", format!("needs distances for profile '{}'", vehicle.profile)));
            }
            let key = (source, vehicle.speed_factor.to_bits(), costs.per_hour, costs.per_km);
            let profile = match profile_keys.iter().position(|k| *k == key) {
                Some(p) => p,
                None => {
                    let (profile, real) = self.profile(source, vehicle, &slots, &path)?;
                    profiles.push(profile);
                    distances.push(real);
                    profile_keys.push(key);
                    profiles.len() - 1
                }
            };
            // The model's distance is the leg cost: a VROOM limit on the same measure is exact.
            let cost_is_time = !has_costs && costs.per_hour == 3600 && costs.per_km == 0;
            let cost_is_distance = !has_costs && costs.per_hour == 0 && costs.per_km == 1000;
            let max_travel_time = vehicle.max_travel_time.map(|t| time(t, &format!("{path}.max_travel_time"))).transpose()?;
            let max_distance = vehicle.max_distance.map(|d| time(d, &format!("{path}.max_distance"))).transpose()?;
            if max_distance.is_some() && !has_distances {
                return Err(invalid(format!("{path}.max_distance"), "missing_matrix", format!("needs distances for profile '{}'", vehicle.profile)));
            }
            let model_limit = match (cost_is_time, cost_is_distance) {
                (true, _) => max_travel_time,
                (_, true) => max_distance,
                _ => None,
            };
            let mut capacity = match &vehicle.capacity {
                Some(q) if !q.is_empty() => amounts(Some(q), dims, &format!("{path}.capacity"))?,
                _ => vec![NO_CAPACITY; dims],
            };
            if task_dim {
                let max = vehicle.max_tasks.map_or(total_weight, |m| i64::try_from(m).unwrap_or(i64::MAX).min(total_weight));
                capacity.push(max);
            } else if padding {
                capacity.push(0);
            }
            let (breaks, break_order) = breaks(vehicle, shifts[v], &capacity[..dims], &path)?;
            let (start_depot, end_depot) = depot_ends[v];
            vehicle_types.push(VehicleType {
                name: vehicle.id.to_string(),
                count: 1,
                capacity,
                start_depot,
                end_depot,
                shift: shifts[v],
                max_duration: UNLIMITED,
                max_distance: model_limit.unwrap_or(UNLIMITED),
                fixed_cost: costs.fixed as i64,
                unit_distance_cost: 1,
                unit_duration_cost: 0,
                profile,
                skills: skills.of_vehicle(&vehicle.skills),
                reload_depots: Vec::new(),
                max_trips: 1,
                breaks,
                overtime_after: UNLIMITED,
                unit_overtime_cost: 0,
                balance: Default::default(),
                on_board: None,
            });
            infos.push(VehicleInfo {
                has_start: ends[v].0.is_some(),
                has_end: ends[v].1.is_some(),
                max_travel_time: max_travel_time.filter(|_| !cost_is_time),
                max_distance: max_distance.filter(|_| !cost_is_distance),
                breaks: break_order,
            });
        }

        set_prizes(&mut clients, &weights, &profiles, &vehicle_types);
        let depots = (0..n_depots).map(|d| Depot { name: format!("depot {d}"), location: d, time_window: TimeWindow::ALWAYS, reload_duration: 0 }).collect();
        let data = ProblemData {
            name: "vroom".into(),
            locations: self.locations(&slots),
            depots,
            clients,
            vehicle_types,
            profiles,
            dimensions: dims + usize::from(task_dim || padding),
            skill_names: skills.names,
            backhaul_precedence: false,
            stability: Default::default(),
            groups: Vec::new(),
            pairs,
        };
        let problem = Problem::new(data).map_err(|e| model_error(&tasks, e))?;
        Ok((problem, tasks, infos, distances, dims))
    }

    /// The model profile of `vehicle` on VROOM profile `source`: leg costs as the distance
    /// matrix, travel times divided by the speed factor as the duration matrix; and the real
    /// distances when known.
    fn profile(&self, source: usize, vehicle: &Vehicle, slots: &[Slot], path: &str) -> Result<(Profile, Option<Matrix>), VroomError> {
        let (name, src) = &self.sources[source];
        let n = slots.len();
        let value = |which: usize, a: usize, b: usize| -> Option<i64> {
            let (Slot::Place(pa), Slot::Place(pb)) = (slots[a], slots[b]) else {
                return Some(0);
            };
            match src {
                // A place outside a profile's matrices is one only vehicles of other profiles
                // start or end at: no vehicle of this profile travels to or from it.
                Source::Custom { durations, distances, costs, .. } => {
                    let m = [Some(*durations), *distances, *costs][which]?;
                    let v = pa.index.zip(pb.index).and_then(|(i, j)| m.get(i)?.get(j).copied());
                    Some(v.map_or(0, entry))
                }
                Source::Points(m) => {
                    let rows = match which {
                        0 => &m.durations,
                        1 => &m.distances,
                        _ => return None,
                    };
                    Some(pa.point.zip(pb.point).and_then(|(i, j)| rows.get(i)?.get(j).copied()).unwrap_or(0))
                }
            }
        };
        let too_large = |what: &'static str| {
            move |(_, _, v): (usize, usize, i64)| invalid(path, "too_large", format!("a {what} of {v} between two places is too large (at most {})", i32::MAX))
        };
        let speed = vehicle.speed_factor;
        // Exact in f64 for matrix values (below 2^31); the result is checked by `from_fn`.
        let duration = Matrix::from_fn(n, |a, b| {
            let d = value(0, a, b).unwrap_or(0);
            if speed == 1.0 {
                d
            } else {
                (d as f64 / speed).round() as i64
            }
        })
        .map_err(too_large("travel time"))?;
        let has_distances = matches!(src, Source::Custom { distances: Some(_), .. } | Source::Points(_));
        let real = if has_distances { Some(Matrix::from_fn(n, |a, b| value(1, a, b).unwrap_or(0)).map_err(too_large("distance"))?) } else { None };
        let costs = &vehicle.costs;
        let cost = if matches!(src, Source::Custom { costs: Some(_), .. }) {
            Matrix::from_fn(n, |a, b| value(2, a, b).unwrap_or(0)).map_err(too_large("cost"))?
        } else if costs.per_hour == 3600 && costs.per_km == 0 {
            duration.clone()
        } else {
            let (per_hour, per_km) = (i128::from(costs.per_hour), i128::from(costs.per_km));
            Matrix::from_fn(n, |a, b| {
                // per_hour x seconds / 3600 + per_km x metres / 1000, rounded, in 1/3_600_000.
                let scaled = per_hour * i128::from(duration.get(a, b)) * 1000 + per_km * i128::from(real.as_ref().map_or(0, |m| m.get(a, b))) * 3600;
                i64::try_from((scaled + 1_800_000) / 3_600_000).unwrap_or(i64::MAX)
            })
            .map_err(too_large("travel cost"))?
        };
        Ok((Profile { name: format!("{name} x{speed}"), distance: cost, duration, congestion: Default::default() }, real))
    }

    /// Coordinates of every model location when every place has them (the zero-travel
    /// location at their centre), else none.
    fn locations(&self, slots: &[Slot]) -> Vec<Location> {
        let mut out = Vec::with_capacity(slots.len());
        for s in slots {
            match s {
                Slot::Place(Place { point: Some(p), .. }) => out.push(Location { x: self.points[*p][0], y: self.points[*p][1] }),
                Slot::Place(_) => return Vec::new(),
                Slot::Anywhere => out.push(Location::default()),
            }
        }
        let placed: Vec<&Location> = out.iter().zip(slots).filter(|(_, s)| matches!(s, Slot::Place(_))).map(|(l, _)| l).collect();
        let n = placed.len().max(1) as f64;
        let centre = Location { x: placed.iter().map(|l| l.x).sum::<f64>() / n, y: placed.iter().map(|l| l.y).sum::<f64>() / n };
        for (l, s) in out.iter_mut().zip(slots) {
            if matches!(s, Slot::Anywhere) {
                *l = centre;
            }
        }
        out
    }
}

/// The custom matrices of one profile, checked: durations needed, all square and of one size,
/// values within the model's range.
fn custom<'a>(
    durations: Option<&'a [Vec<u64>]>,
    distances: Option<&'a [Vec<u64>]>,
    costs: Option<&'a [Vec<u64>]>,
    path: &str,
) -> Result<Source<'a>, VroomError> {
    let durations = durations.ok_or_else(|| invalid(format!("{path}.durations"), "missing_matrix", "custom matrices need durations"))?;
    let size = durations.len();
    let named = |field: &str| {
        if path == "matrix" {
            path.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    for (rows, field) in [(Some(durations), "durations"), (distances, "distances"), (costs, "costs")] {
        let Some(rows) = rows else { continue };
        let at = named(field);
        if rows.len() != size || size == 0 {
            return Err(invalid(at, "matrix_size", format!("{} rows, expected {size} (and at least one)", rows.len())));
        }
        for (a, row) in rows.iter().enumerate() {
            if row.len() != size {
                return Err(invalid(format!("{at}[{a}]"), "matrix_size", format!("{} values, expected {size}", row.len())));
            }
            if let Some(b) = row.iter().position(|&v| v > i32::MAX as u64) {
                return Err(invalid(format!("{at}[{a}][{b}]"), "too_large", format!("{} is larger than {}", row[b], i32::MAX)));
            }
        }
    }
    Ok(Source::Custom { durations, distances, costs, size })
}

/// Gives every client a prize that pays for any insertion, scaled so that one more unit of
/// priority outweighs any number of tasks (within the prize budget).
fn set_prizes(clients: &mut [Client], weights: &[(i64, i64)], profiles: &[Profile], vehicle_types: &[VehicleType]) {
    let n = profiles.first().map_or(0, |p| p.distance.size());
    let mut max_leg = 0i64;
    for p in profiles {
        for a in 0..n {
            for b in 0..n {
                max_leg = max_leg.max(p.distance.get(a, b));
            }
        }
    }
    let max_fixed = vehicle_types.iter().map(|v| v.fixed_cost).max().unwrap_or(0);
    let unit = 2 * i128::from(max_leg) + i128::from(max_fixed) + 1;
    let tasks = clients.len() as i128;
    let cap = PRIZE_BUDGET / tasks.max(1);
    for (c, &(priority, _)) in clients.iter_mut().zip(weights) {
        let prize = unit.saturating_mul(1 + i128::from(priority) * (tasks + 1)).min(cap);
        c.prize = prize as i64;
    }
}

/// Names the task or vehicle a model error concerns by its JSON path.
fn model_error(tasks: &[Task], source: ModelError) -> VroomError {
    let text = source.to_string();
    let indexed = |prefix: &str| -> Option<usize> { text.strip_prefix(prefix)?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok() };
    let path = if let Some(c) = indexed("client ").and_then(|c| tasks.get(c)) {
        match c {
            Task::Job(i) => format!("jobs[{i}]"),
            Task::Pickup(i) => format!("shipments[{i}].pickup"),
            Task::Delivery(i) => format!("shipments[{i}].delivery"),
        }
    } else if let Some(t) = indexed("vehicle type ") {
        format!("vehicles[{t}]")
    } else {
        String::new()
    };
    VroomError::Model { path, source }
}
