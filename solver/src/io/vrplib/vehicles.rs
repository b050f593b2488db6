//! The fleet of a VRPLIB instance: `VEHICLES` and the per-vehicle attributes, each given once for
//! all vehicles (`CAPACITY : 100`) or per vehicle (`CAPACITY_SECTION`, `VEHICLES_*_SECTION`).
//!
//! Consecutive vehicles with identical attributes form one [`VehicleType`], so vehicle `k` of the
//! file (0-based) is overall vehicle `k` of the model.

use super::document::{Document, Section};
use super::nodes::Nodes;
use super::numbers::Numbers;
use crate::error::ReadError;
use crate::io::Rounding;
use crate::model::{Cost, Distance, Duration, Load, Skills, TimeWindow, VehicleType, UNLIMITED};

/// The most vehicles an instance may declare.
const MAX_VEHICLES: usize = 1_000_000;

/// Keys of the per-vehicle attributes (as `KEY : value` or `KEY_SECTION`).
pub(super) const VEHICLE_KEYS: [&str; 8] = [
    "CAPACITY",
    "VEHICLES_DEPOT",
    "VEHICLES_RELOAD_DEPOT",
    "VEHICLES_MAX_RELOADS",
    "VEHICLES_FIXED_COST",
    "VEHICLES_UNIT_DISTANCE_COST",
    "VEHICLES_MAX_DURATION",
    "VEHICLES_MAX_DISTANCE",
];

/// The vehicle types, in file order.
pub(super) struct Fleet {
    /// Vehicle types; type `t` holds vehicles `first_vehicle[t]..first_vehicle[t] + count`.
    pub types: Vec<VehicleType>,
    /// Overall number of each type's first vehicle.
    pub first_vehicle: Vec<usize>,
    /// The skills each client needs (by client index), empty when every vehicle may serve
    /// every client.
    pub client_skills: Vec<Skills>,
    /// Names of the skills.
    pub skill_names: Vec<String>,
}

/// The most distinct client lists `VEHICLES_ALLOWED_CLIENTS_SECTION` may give (one skill each).
const MAX_ALLOWED_LISTS: usize = 64;

/// `VEHICLES_ALLOWED_CLIENTS_SECTION` (SDVRPTW): per vehicle, the node ids of the clients it may
/// serve, as sorted client indices; `None` when the section is absent.
fn allowed_clients(doc: &Document<'_>, nums: Numbers<'_>, vehicles: usize, nodes: &Nodes) -> Result<Option<Vec<Vec<usize>>>, ReadError> {
    let Some(section) = doc.section("VEHICLES_ALLOWED_CLIENTS") else { return Ok(None) };
    section.check_ids(nums, vehicles, "vehicle")?;
    let depots = nodes.depots.len();
    let clients = nodes.clients.len();
    let mut out = Vec::with_capacity(vehicles);
    for row in &section.rows {
        let mut list = Vec::with_capacity(row.values().len());
        for token in row.values() {
            let id = nums.integer(row.line, token, "allowed client")?;
            let client = usize::try_from(id).ok().and_then(|id| id.checked_sub(depots + 1)).filter(|&c| c < clients);
            match client {
                Some(c) => list.push(c),
                None => {
                    return Err(nums.err(row.line, format!("allowed client {id} is not a client (clients are nodes {}..={})", depots + 1, depots + clients)));
                }
            }
        }
        list.sort_unstable();
        list.dedup();
        out.push(list);
    }
    Ok(Some(out))
}

/// Turns "vehicle `k` may serve only the clients of its list" into skills (a vehicle covers a
/// client when it has every skill the client needs): skill `j` stands for "not restricted to
/// list `j`"; a vehicle whose list is `j` has every skill but `j`, and a client needs skill `j`
/// for each list `j` it is not on. So a vehicle may serve a client exactly when the client is on
/// its list. Returns the lists' skills (by list) and the clients' (by client index).
fn list_skills(lists: &[&[usize]], clients: usize) -> (Vec<Skills>, Vec<Skills>) {
    let all = if lists.len() >= 64 { u64::MAX } else { (1u64 << lists.len()) - 1 };
    let vehicle = (0..lists.len()).map(|j| Skills(all & !(1u64 << j))).collect();
    let mut client = vec![Skills(all); clients];
    for (j, list) in lists.iter().enumerate() {
        for &c in list.iter() {
            if let Some(s) = client.get_mut(c) {
                s.0 &= !(1u64 << j);
            }
        }
    }
    (vehicle, client)
}

/// What distinguishes one vehicle from another.
#[derive(Clone, Debug, PartialEq)]
struct Attributes {
    capacity: Vec<Load>,
    depot: usize,
    reload_depots: Vec<usize>,
    /// `None`: unlimited.
    max_reloads: Option<usize>,
    fixed_cost: Cost,
    unit_distance_cost: Cost,
    max_duration: Duration,
    max_distance: Distance,
    /// Index of the vehicle's allowed-client list among the distinct ones, if restricted.
    allowed: Option<usize>,
}

/// Where one attribute comes from.
enum Source<'d, 'a> {
    Absent,
    /// One value (or vector) for every vehicle.
    All {
        line: usize,
        values: Vec<&'a str>,
    },
    /// One row per vehicle.
    Each(&'d Section<'a>),
}

impl<'d, 'a> Source<'d, 'a> {
    fn new(doc: &'d Document<'a>, nums: Numbers<'_>, key: &str, vehicles: usize) -> Result<Self, ReadError> {
        if let Some(spec) = doc.spec(key) {
            return Ok(Source::All { line: spec.line, values: spec.value.split_whitespace().collect() });
        }
        match doc.section(key) {
            None => Ok(Source::Absent),
            Some(section) => {
                section.check_ids(nums, vehicles, "vehicle")?;
                Ok(Source::Each(section))
            }
        }
    }

    /// The line and values for vehicle `k`.
    fn get(&self, k: usize) -> Option<(usize, &[&'a str])> {
        match self {
            Source::Absent => None,
            Source::All { line, values } => Some((*line, values)),
            Source::Each(section) => section.rows.get(k).map(|row| (row.line, row.values())),
        }
    }
}

/// The single value of an attribute.
fn single<'a>(nums: Numbers<'_>, line: usize, values: &[&'a str], key: &str) -> Result<&'a str, ReadError> {
    match values {
        [v] => Ok(v),
        _ => Err(nums.err(line, format!("{key} needs exactly one value per vehicle, found {}", values.len()))),
    }
}

/// A depot given as a 1-based node id.
fn depot(nums: Numbers<'_>, line: usize, token: &str, depots: usize, what: &str) -> Result<usize, ReadError> {
    let id = nums.integer(line, token, what)?;
    if id < 1 || id as u64 > depots as u64 {
        return Err(nums.err(line, format!("{what} {id} is not a depot (depots are nodes 1..={depots})")));
    }
    Ok(id as usize - 1)
}

/// The line of vehicle `k` (0-based) for messages: its row in the first per-vehicle section, else
/// the `VEHICLES` or `CAPACITY` line, else 0.
pub(super) fn vehicle_line(doc: &Document<'_>, k: usize) -> usize {
    doc.sections
        .iter()
        .filter(|s| VEHICLE_KEYS.contains(&s.name.as_str()))
        .find_map(|s| s.rows.get(k).map(|r| r.line))
        .or_else(|| doc.spec("VEHICLES").map(|s| s.line))
        .or_else(|| doc.spec("CAPACITY").map(|s| s.line))
        .unwrap_or(0)
}

/// Reads the fleet for `nodes`, rounding times and fixed costs with `r`.
pub(super) fn read(doc: &Document<'_>, nums: Numbers<'_>, nodes: &Nodes, r: Rounding) -> Result<Fleet, ReadError> {
    let vehicles = match doc.spec("VEHICLES") {
        Some(spec) => nums.count(spec.line, spec.value, "VEHICLES", MAX_VEHICLES)?,
        None => nodes.clients.len(),
    };
    let [capacity, depot_of, reloads, max_reloads, fixed, unit, duration, distance] = {
        let mut out = Vec::with_capacity(VEHICLE_KEYS.len());
        for key in VEHICLE_KEYS {
            out.push(Source::new(doc, nums, key, vehicles)?);
        }
        match <[Source; 8]>::try_from(out) {
            Ok(a) => a,
            Err(_) => return Err(nums.err(0, "internal error: vehicle attribute count")),
        }
    };
    let allowed = allowed_clients(doc, nums, vehicles, nodes)?;
    // The distinct lists, and which one each vehicle has.
    let mut lists: Vec<&[usize]> = Vec::new();
    let mut list_of = Vec::new();
    for list in allowed.iter().flatten() {
        let j = match lists.iter().position(|l| *l == list.as_slice()) {
            Some(j) => j,
            None => {
                lists.push(list);
                lists.len() - 1
            }
        };
        list_of.push(j);
    }
    if lists.len() > MAX_ALLOWED_LISTS {
        let line = doc.section("VEHICLES_ALLOWED_CLIENTS").map_or(0, |s| s.line);
        return Err(
            nums.err(line, format!("VEHICLES_ALLOWED_CLIENTS_SECTION gives {} distinct client lists; at most {MAX_ALLOWED_LISTS} are supported", lists.len()))
        );
    }
    let (list_skill, client_skills) = if lists.is_empty() { (Vec::new(), Vec::new()) } else { list_skills(&lists, nodes.clients.len()) };
    let depots = nodes.depots.len();
    let dims = nodes.dimensions;
    let attributes = |k: usize| -> Result<Attributes, ReadError> {
        let mut a = Attributes {
            capacity: vec![UNLIMITED; dims],
            depot: 0,
            reload_depots: Vec::new(),
            max_reloads: None,
            fixed_cost: 0,
            unit_distance_cost: 1,
            max_duration: UNLIMITED,
            max_distance: UNLIMITED,
            allowed: list_of.get(k).copied(),
        };
        if let Some((line, values)) = capacity.get(k) {
            if values.len() != dims {
                return Err(nums.err(line, format!("CAPACITY gives {} amounts per vehicle, but DEMAND_SECTION has {dims}", values.len())));
            }
            a.capacity = values.iter().map(|t| nums.amount(line, t, "capacity")).collect::<Result<_, _>>()?;
        }
        if let Some((line, values)) = depot_of.get(k) {
            a.depot = depot(nums, line, single(nums, line, values, "VEHICLES_DEPOT")?, depots, "vehicle depot")?;
        }
        if let Some((line, values)) = reloads.get(k) {
            a.reload_depots = values.iter().map(|t| depot(nums, line, t, depots, "reload depot")).collect::<Result<_, _>>()?;
        }
        if let Some((line, values)) = max_reloads.get(k) {
            let v = single(nums, line, values, "VEHICLES_MAX_RELOADS")?;
            a.max_reloads = Some(nums.count(line, v, "max reloads", usize::MAX)?);
        }
        if let Some((line, values)) = fixed.get(k) {
            a.fixed_cost = nums.scaled(line, single(nums, line, values, "VEHICLES_FIXED_COST")?, "fixed cost", r)?;
        }
        if let Some((line, values)) = unit.get(k) {
            // Not rounded or scaled, as in PyVRP: distances already carry the scale.
            a.unit_distance_cost = nums.amount(line, single(nums, line, values, "VEHICLES_UNIT_DISTANCE_COST")?, "unit distance cost")?;
        }
        if let Some((line, values)) = duration.get(k) {
            a.max_duration = nums.scaled(line, single(nums, line, values, "VEHICLES_MAX_DURATION")?, "max duration", r)?;
        }
        if let Some((line, values)) = distance.get(k) {
            a.max_distance = nums.scaled(line, single(nums, line, values, "VEHICLES_MAX_DISTANCE")?, "max distance", r)?;
        }
        Ok(a)
    };

    let per_vehicle =
        !lists.is_empty() || [&capacity, &depot_of, &reloads, &max_reloads, &fixed, &unit, &duration, &distance].iter().any(|s| matches!(s, Source::Each(_)));
    // Runs of identical vehicles: (first vehicle, count, attributes).
    let mut runs: Vec<(usize, usize, Attributes)> = Vec::new();
    if !per_vehicle {
        if vehicles > 0 {
            runs.push((0, vehicles, attributes(0)?));
        }
    } else {
        for k in 0..vehicles {
            let a = attributes(k)?;
            match runs.last_mut() {
                Some((_, count, last)) if *last == a => *count += 1,
                _ => runs.push((k, 1, a)),
            }
        }
    }

    let trip_cap = nodes.clients.len().max(1);
    let skill_names = (1..=lists.len()).map(|j| format!("outside allowed-client list {j}")).collect();
    let mut fleet = Fleet { types: Vec::with_capacity(runs.len()), first_vehicle: Vec::with_capacity(runs.len()), client_skills, skill_names };
    for (first, count, a) in runs {
        let shift = nodes.depots.get(a.depot).map_or(TimeWindow::ALWAYS, |d| d.time_window);
        let max_trips = if a.reload_depots.is_empty() { 1 } else { a.max_reloads.map_or(trip_cap, |m| m.saturating_add(1).min(trip_cap)) };
        let name = if count == 1 { format!("vehicle {}", first + 1) } else { format!("vehicles {}-{}", first + 1, first + count) };
        fleet.first_vehicle.push(first);
        fleet.types.push(VehicleType {
            name,
            count,
            capacity: a.capacity,
            start_depot: a.depot,
            end_depot: a.depot,
            shift,
            max_duration: a.max_duration,
            max_distance: a.max_distance,
            fixed_cost: a.fixed_cost,
            unit_distance_cost: a.unit_distance_cost,
            unit_duration_cost: 0,
            profile: 0,
            skills: a.allowed.map_or(Skills::NONE, |j| list_skill[j]),
            reload_depots: a.reload_depots,
            max_trips,
            breaks: Vec::new(),
            overtime_after: UNLIMITED,
            unit_overtime_cost: 0,
            balance: Default::default(),
            on_board: None,
        });
    }
    Ok(fleet)
}

#[cfg(test)]
mod tests {
    use super::super::nodes;
    use super::*;
    use std::path::Path;

    fn nums() -> Numbers<'static> {
        Numbers { path: Path::new("t.vrp") }
    }

    /// Two depots (nodes 1, 2, the second open 5..50) and three clients, plus `extra` lines.
    fn fleet(extra: &str) -> Result<Fleet, ReadError> {
        let text = format!(
            "DIMENSION: 5\n{extra}\nDEMAND_SECTION\n1 0\n2 0\n3 1\n4 1\n5 1\n\
             TIME_WINDOW_SECTION\n1 0 100\n2 5 50\n3 0 9\n4 0 9\n5 0 9\nDEPOT_SECTION\n1\n2\n-1\n"
        );
        let doc = Document::split(&text, nums())?;
        let n = nodes::dimension(&doc, nums())?;
        let d = nodes::depot_count(&doc, nums(), n)?;
        let nodes = nodes::read(&doc, nums(), n, d, Rounding::Dimacs)?;
        read(&doc, nums(), &nodes, Rounding::Dimacs)
    }

    #[test]
    fn defaults_to_one_uncapacitated_vehicle_per_client() {
        let f = fleet("").unwrap();
        assert_eq!(f.types.len(), 1);
        let t = &f.types[0];
        assert_eq!((t.count, t.capacity.clone(), t.max_trips, t.unit_distance_cost), (3, vec![UNLIMITED], 1, 1));
        assert_eq!(t.shift, TimeWindow::new(0, 1000));
    }

    #[test]
    fn groups_consecutive_identical_vehicles() {
        let f = fleet(
            "VEHICLES: 4\nVEHICLES_MAX_DURATION: 7.5\nCAPACITY_SECTION\n1 10\n2 10\n3 20\n4 10\n\
             VEHICLES_DEPOT_SECTION\n1 1\n2 1\n3 1\n4 2\n",
        )
        .unwrap();
        let counts: Vec<_> = f.types.iter().map(|t| (t.count, t.capacity[0], t.start_depot)).collect();
        assert_eq!(counts, vec![(2, 10, 0), (1, 20, 0), (1, 10, 1)]);
        assert_eq!(f.first_vehicle, vec![0, 2, 3]);
        assert_eq!(f.types[2].shift, TimeWindow::new(50, 500));
        assert!(f.types.iter().all(|t| t.max_duration == 75));
    }

    #[test]
    fn reads_reload_depots_and_caps_trips() {
        let f = fleet("VEHICLES: 2\nVEHICLES_RELOAD_DEPOT_SECTION\n1 1 2\n2 1\nVEHICLES_MAX_RELOADS_SECTION\n1 1\n2 99\n").unwrap();
        assert_eq!(f.types[0].reload_depots, vec![0, 1]);
        assert_eq!(f.types[0].max_trips, 2);
        assert_eq!(f.types[1].max_trips, 3);
        let f = fleet("VEHICLES: 2\nVEHICLES_RELOAD_DEPOT: 1\n").unwrap();
        assert_eq!((f.types[0].count, f.types[0].max_trips), (2, 3));
    }

    #[test]
    fn scales_fixed_costs_but_not_unit_costs() {
        let f = fleet("VEHICLES: 1\nVEHICLES_FIXED_COST_SECTION\n1 2.5\nVEHICLES_UNIT_DISTANCE_COST_SECTION\n1 100\n").unwrap();
        assert_eq!((f.types[0].fixed_cost, f.types[0].unit_distance_cost), (25, 100));
    }

    #[test]
    fn rejects_bad_vehicle_data() {
        let cases = [
            ("VEHICLES: 2\nCAPACITY_SECTION\n1 10\n", 4),
            ("VEHICLES: 1\nCAPACITY_SECTION\n1 10 20\n", 4),
            ("CAPACITY: 10 20\n", 2),
            ("VEHICLES: 1\nVEHICLES_DEPOT_SECTION\n1 3\n", 4),
            ("VEHICLES: 1\nVEHICLES_RELOAD_DEPOT_SECTION\n1 1 0\n", 4),
            ("VEHICLES: 1\nVEHICLES_FIXED_COST_SECTION\n1 -1\n", 4),
            ("VEHICLES: -1\n", 2),
            ("VEHICLES: 99999999999\n", 2),
            ("VEHICLES_MAX_DISTANCE: 1 2\n", 2),
        ];
        for (extra, line) in cases {
            let e = fleet(extra).err().unwrap();
            assert_eq!(e.line, line, "{extra:?}: {e}");
        }
    }
}
