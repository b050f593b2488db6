//! VRPLIB instances, with PyVRP's extended sections.
//!
//! The semantics follow PyVRP 0.14's `read`: node `k` (1-based) is location `k - 1`; depots are
//! nodes `1..=D`; distances are Euclidean (or explicit) rounded with the family's convention and
//! durations equal distances; times, prizes, fixed costs and max distances are rounded with the
//! same convention; demands, capacities and unit distance costs are taken as they are. Where we
//! differ: VRPB precedence is a model flag instead of PyVRP's distance penalties, identical vehicles
//! are grouped only when consecutive, and inconsistent input is refused with its line number.
//!
//! Supported: `NODE_COORD`, `DEMAND` (several columns = capacity dimensions), `LINEHAUL`,
//! `BACKHAUL`, `TIME_WINDOW`, `SERVICE_TIME`, `RELEASE_TIME`, `PRIZE`, `DEPOT`, `EDGE_WEIGHT`
//! sections, and per-vehicle attributes (see [`vehicles`]) as values or sections.

mod distances;
mod document;
mod nodes;
pub(super) mod numbers;
mod vehicles;

use super::{Instance, Rounding};
use crate::error::{ModelError, ReadError};
use crate::model::{Problem, ProblemData, Profile};
use crate::solution::UnassignedReason;
use document::Document;
use numbers::Numbers;
use std::path::Path;

/// Sections we understand; any other is refused rather than silently ignored.
const SECTIONS: [&str; 13] = [
    "NODE_COORD",
    "DEMAND",
    "LINEHAUL",
    "BACKHAUL",
    "TIME_WINDOW",
    "SERVICE_TIME",
    "RELEASE_TIME",
    "PRIZE",
    "DEPOT",
    "EDGE_WEIGHT",
    "DISPLAY_DATA",
    "VEHICLES_ALLOWED_CLIENTS",
    "MUTUALLY_EXCLUSIVE_GROUP",
];

/// Families whose conventions we know (the `TYPE`s of the public instances, and `XXL`).
const FAMILIES: [&str; 11] = ["CVRP", "XXL", "VRPB", "VRPTW", "HFVRP", "MTVRPTWR", "PCVRPTW", "MDVRPTW", "SDVRPTW", "GVRP", "TSP"];

/// Parses VRPLIB text read from `path`, rounding with `rounding` (resolved for the family).
pub fn parse(text: &str, path: &Path, rounding: Rounding) -> Result<Instance, ReadError> {
    let nums = Numbers { path };
    let doc = Document::split(text, nums)?;
    for section in &doc.sections {
        let name = section.name.as_str();
        if !SECTIONS.contains(&name) && !vehicles::VEHICLE_KEYS.contains(&name) {
            return Err(nums.err(section.line, format!("unsupported section {}", section.title())));
        }
    }
    let family = family(&doc, path);
    let r = rounding.resolve(&family);

    let n = nodes::dimension(&doc, nums)?;
    let depots = nodes::depot_count(&doc, nums, n)?;
    let mut nodes = nodes::read(&doc, nums, n, depots, r)?;
    let groups = nodes::groups(&doc, nums, &mut nodes)?;
    let matrix = distances::matrix(&doc, nums, n, &nodes.coordinates, r)?;
    let fleet = vehicles::read(&doc, nums, &nodes, r)?;
    for (client, skills) in nodes.clients.iter_mut().zip(&fleet.client_skills) {
        client.skills = *skills;
    }

    let name = doc.spec("NAME").map(|s| s.value.to_string()).filter(|s| !s.is_empty());
    let name = name.unwrap_or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    let data = ProblemData {
        name,
        locations: nodes.coordinates,
        depots: nodes.depots,
        clients: nodes.clients,
        vehicle_types: fleet.types,
        profiles: vec![Profile { name: "default".into(), duration: matrix.clone(), distance: matrix, congestion: Default::default() }],
        dimensions: nodes.dimensions,
        skill_names: fleet.skill_names,
        backhaul_precedence: family == "VRPB",
        stability: Default::default(),
        groups,
        pairs: Vec::new(),
    };
    // Kept to explain a validation error: the problem takes the data by value.
    let explain = Explain { doc: &doc, nums, data: data.clone(), first_vehicle: fleet.first_vehicle };
    let problem = Problem::new(data).map_err(|e| explain.error(e))?;
    let cost_divisor = cost_divisor(&family, r);
    Ok(Instance { problem, family, rounding: r, cost_divisor })
}

/// The family: `TYPE` in upper case, else the parent folder's name when it names a known family,
/// else `CVRP`.
fn family(doc: &Document<'_>, path: &Path) -> String {
    if let Some(spec) = doc.spec("TYPE").filter(|s| !s.value.is_empty()) {
        return spec.value.to_ascii_uppercase();
    }
    let folder = path.parent().and_then(|p| p.file_name()).map(|s| s.to_string_lossy().to_ascii_uppercase());
    match folder {
        Some(f) if FAMILIES.contains(&f.as_str()) => f,
        _ => "CVRP".to_string(),
    }
}

/// The divisor from internal costs to the units of the family's `.sol` files (the `CONV` table
/// of `shared/tools/peer-bench/verify_sol.py`) when `r` is the family's own convention; else the
/// scale of `r` (times 100 for HFVRP, whose unit distance costs are scaled by 100).
fn cost_divisor(family: &str, r: Rounding) -> i64 {
    let own = match family {
        "CVRP" | "XXL" | "VRPB" | "MTVRPTWR" | "PCVRPTW" | "MDVRPTW" | "SDVRPTW" | "GVRP" | "TSP" => Some(1),
        "VRPTW" => Some(10),
        "HFVRP" => Some(100_000),
        _ => None,
    };
    match own {
        Some(d) if Rounding::for_family(family) == r => d,
        _ if family == "HFVRP" => r.scale() * 100,
        _ => r.scale(),
    }
}

/// Turns a [`ModelError`] into a [`ReadError`] at the line of the entity it concerns.
struct Explain<'d, 'a, 'p> {
    doc: &'d Document<'a>,
    nums: Numbers<'p>,
    data: ProblemData,
    first_vehicle: Vec<usize>,
}

impl Explain<'_, '_, '_> {
    fn error(&self, err: ModelError) -> ReadError {
        let (line, message) = self.locate(&err);
        let mut e = self.nums.err(line, message);
        e.model = Some(err);
        e
    }

    /// The line of node `node` (0-based) in the first of `sections` that the file has.
    fn node_line(&self, node: usize, sections: &[&str]) -> usize {
        sections.iter().filter_map(|s| self.doc.section(s)).find_map(|s| s.rows.get(node).map(|r| r.line)).unwrap_or(0)
    }

    fn client_node(&self, client: usize) -> usize {
        self.data.depots.len() + client
    }

    fn locate(&self, err: &ModelError) -> (usize, String) {
        if let ModelError::UnservableClient { client, reason } = err {
            let node = self.client_node(*client);
            let sections: &[&str] = match reason {
                UnassignedReason::Capacity if self.pickup_is_the_problem(*client) => &["BACKHAUL"],
                UnassignedReason::TimeWindowUnreachable | UnassignedReason::ShiftLimits => &["TIME_WINDOW", "RELEASE_TIME", "DEMAND", "LINEHAUL"],
                _ => &["DEMAND", "LINEHAUL"],
            };
            let message = format!("client {client} (node {}): cannot be served by any vehicle: {reason}", node + 1);
            return (self.node_line(node, sections), message);
        }
        if matches!(err, ModelError::NoVehicle) {
            return (self.doc.spec("VEHICLES").map_or(0, |s| s.line), err.to_string());
        }
        let what = match err {
            ModelError::DimensionMismatch { what, .. }
            | ModelError::LocationOutOfRange { what, .. }
            | ModelError::SharedLocation { what, .. }
            | ModelError::Negative { what }
            | ModelError::BadTimeWindow { what }
            | ModelError::UnknownSkill { what }
            | ModelError::DepotOutOfRange { what, .. }
            | ModelError::ProfileOutOfRange { what, .. }
            | ModelError::BadTrips { what } => what.as_str(),
            _ => "",
        };
        if let Some(i) = index_after(what, "client ") {
            let node = self.client_node(i);
            let line = self.node_line(node, &["DEMAND", "LINEHAUL", "TIME_WINDOW", "SERVICE_TIME", "RELEASE_TIME", "PRIZE"]);
            return (line, format!("node {}: {err}", node + 1));
        }
        if let Some(i) = index_after(what, "depot ") {
            return (self.node_line(i, &["TIME_WINDOW", "DEPOT"]), format!("node {}: {err}", i + 1));
        }
        if let Some(t) = index_after(what, "vehicle type ") {
            let first = self.first_vehicle.get(t).copied().unwrap_or(0);
            let name = self.data.vehicle_types.get(t).map_or_else(String::new, |v| format!(" ({})", v.name));
            return (vehicles::vehicle_line(self.doc, first), format!("vehicle type {t}{name}: {err}"));
        }
        (0, err.to_string())
    }

    /// Whether the client's pickup, not its delivery, exceeds every capacity.
    fn pickup_is_the_problem(&self, client: usize) -> bool {
        let Some(c) = self.data.clients.get(client) else { return false };
        let fits = |amounts: &[i64]| self.data.vehicle_types.iter().any(|t| amounts.iter().zip(&t.capacity).all(|(a, q)| a <= q));
        fits(&c.delivery) && !fits(&c.pickup)
    }
}

/// The number that follows `prefix` at the start of `what` (`"client 17 pickup"` -> 17).
fn index_after(what: &str, prefix: &str) -> Option<usize> {
    let rest = what.strip_prefix(prefix)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TimeWindow, UNLIMITED};

    fn parse_text(text: &str, r: Rounding) -> Result<Instance, ReadError> {
        parse(text, Path::new("/data/VRPTW/demo.vrp"), r)
    }

    /// A depot and three clients; `{extra}` goes into the header.
    fn cvrp(extra: &str, demands: [i64; 3]) -> String {
        format!(
            "NAME : demo\nTYPE : CVRP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EUC_2D\n{extra}NODE_COORD_SECTION\n\
             1 0 0\n2 3 4\n3 6 8\n4 -3 -4\nDEMAND_SECTION\n1 0\n2 {}\n3 {}\n4 {}\nDEPOT_SECTION\n1\n-1\nEOF\n",
            demands[0], demands[1], demands[2]
        )
    }

    #[test]
    fn reads_a_small_cvrp() {
        let inst = parse_text(&cvrp("CAPACITY : 10\nVEHICLES : 2\n", [4, 5, 6]), Rounding::Auto).unwrap();
        assert_eq!((inst.family.as_str(), inst.rounding, inst.cost_divisor), ("CVRP", Rounding::Round, 1));
        let p = &inst.problem;
        assert_eq!((p.name.as_str(), p.num_clients(), p.num_vehicles(), p.dimensions), ("demo", 3, 2, 1));
        assert_eq!(p.distance(0, 0, 2), 10);
        assert_eq!(p.duration(0, 1, 3), 10);
        assert!(p.profiles[0].distance.shares_storage(&p.profiles[0].duration));
        assert_eq!(p.clients[2].delivery, vec![6]);
        assert_eq!(p.vehicle_types[0].capacity, vec![10]);
        assert!(!p.backhaul_precedence);
    }

    #[test]
    fn explains_a_client_no_vehicle_can_carry() {
        let e = parse_text(&cvrp("CAPACITY : 10\n", [4, 11, 6]), Rounding::Auto).unwrap_err();
        assert_eq!(e.line, 14, "{e}");
        assert_eq!(e.message, "client 1 (node 3): cannot be served by any vehicle: exceeds every compatible vehicle's capacity");
        assert!(matches!(e.model, Some(ModelError::UnservableClient { client: 1, .. })));
        assert!(e.to_string().starts_with("/data/VRPTW/demo.vrp:14:"));
    }

    #[test]
    fn explains_an_unreachable_time_window_and_vehicle_errors() {
        let text = "TYPE: VRPTW\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 30 40\n\
                    DEMAND_SECTION\n1 0\n2 1\nTIME_WINDOW_SECTION\n1 0 1000\n2 0 4\n";
        let e = parse_text(text, Rounding::Auto).unwrap_err();
        assert_eq!(e.line, 12, "{e}");
        assert!(e.message.contains("time window unreachable"), "{e}");
        let e = parse_text(&cvrp("VEHICLES: 0\n", [1, 1, 1]), Rounding::Auto).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
    }

    #[test]
    fn reads_a_vrptw_in_dimacs_units() {
        let text = "NAME: tw\nTYPE: VRPTW\nDIMENSION: 3\nVEHICLES: 5\nCAPACITY: 50\nSERVICE_TIME: 10\nEDGE_WEIGHT_TYPE: EUC_2D\n\
                    NODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 0\nDEMAND_SECTION\n1 0\n2 10\n3 10\n\
                    TIME_WINDOW_SECTION\n1 0 1000\n2 5 50\n3 0 60\nRELEASE_TIME_SECTION\n1 0\n2 2.55\n3 0\nDEPOT_SECTION\n1\n-1\nEOF\n";
        let inst = parse_text(text, Rounding::Auto).unwrap();
        assert_eq!((inst.rounding, inst.cost_divisor), (Rounding::Dimacs, 10));
        let p = &inst.problem;
        assert_eq!(p.distance(0, 0, 1), 14);
        assert_eq!(p.clients[0].time_windows, vec![TimeWindow::new(50, 500)]);
        assert_eq!((p.clients[0].service_duration, p.clients[0].release_time), (100, 25));
        assert_eq!(p.depots[0].time_window, TimeWindow::new(0, 10000));
        assert_eq!(p.vehicle_types[0].shift, TimeWindow::new(0, 10000));
        // Another convention: the divisor follows the scale.
        let inst = parse_text(text, Rounding::Exact).unwrap();
        assert_eq!((inst.problem.distance(0, 0, 1), inst.cost_divisor), (1414, 1000));
    }

    #[test]
    fn flags_vrpb_precedence_without_touching_distances() {
        let text = "TYPE: VRPB\nDIMENSION: 3\nCAPACITY: 9\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 0 5\n\
                    DEMAND_SECTION\n1 0\n2 3\n3 0\nBACKHAUL_SECTION\n1 0\n2 0\n3 4\nDEPOT_SECTION\n1\n";
        let inst = parse_text(text, Rounding::Auto).unwrap();
        let p = &inst.problem;
        assert!(p.backhaul_precedence);
        assert_eq!(p.distance(0, 0, 2), 5);
        assert!(p.clients[1].is_backhaul());
        assert_eq!(p.vehicle_types[0].count, 2);
    }

    #[test]
    fn reads_a_multi_depot_fleet_with_costs() {
        let text = "TYPE: HFVRP\nDIMENSION: 4\nVEHICLES: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 10 0\n3 3 4\n4 13 4\n\
                    DEMAND_SECTION\n1 0\n2 0\n3 2\n4 2\nCAPACITY_SECTION\n1 5\n2 5\n3 9\nVEHICLES_FIXED_COST_SECTION\n1 1.5\n2 1.5\n3 3\n\
                    VEHICLES_UNIT_DISTANCE_COST_SECTION\n1 100\n2 100\n3 120\nVEHICLES_DEPOT_SECTION\n1 1\n2 1\n3 2\nDEPOT_SECTION\n1\n2\n-1\n";
        let inst = parse_text(text, Rounding::Auto).unwrap();
        assert_eq!((inst.rounding, inst.cost_divisor), (Rounding::Exact, 100_000));
        let p = &inst.problem;
        assert_eq!(p.vehicle_types.len(), 2);
        assert_eq!((p.vehicle_types[0].count, p.vehicle_types[0].fixed_cost, p.vehicle_types[0].unit_distance_cost), (2, 1500, 100));
        assert_eq!((p.vehicle_types[1].start_depot, p.vehicle_types[1].end_depot), (1, 1));
        assert_eq!(p.type_of_vehicle(2), Some(1));
        assert_eq!(p.clients[0].location, 2);
        assert_eq!(p.vehicle_types[0].max_distance, UNLIMITED);
        assert_eq!(parse_text(text, Rounding::Round).unwrap().cost_divisor, 100);
    }

    #[test]
    fn reads_allowed_clients_as_skills_and_splits_vehicles_by_list() {
        // Vehicles 1 and 2 may serve clients 2 and 3 (nodes), vehicle 3 only node 4.
        let text = "TYPE: SDVRPTW\nDIMENSION: 4\nVEHICLES: 3\nVEHICLES_MAX_DURATION: 500\nCAPACITY: 10\nEDGE_WEIGHT_TYPE: EUC_2D\n\
                    NODE_COORD_SECTION\n1 0 0\n2 1 0\n3 0 1\n4 1 1\nDEMAND_SECTION\n1 0\n2 1\n3 1\n4 1\n\
                    VEHICLES_ALLOWED_CLIENTS_SECTION\n1 2 3\n2 3 2\n3 4\nDEPOT_SECTION\n1\n-1\nEOF\n";
        let inst = parse_text(text, Rounding::Auto).unwrap();
        assert_eq!((inst.rounding, inst.cost_divisor), (Rounding::Exact, 1));
        let p = &inst.problem;
        assert_eq!(p.vehicle_types.iter().map(|t| t.count).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!(p.vehicle_types[0].max_duration, 500_000);
        for (t, served) in [(0, [true, true, false]), (1, [false, false, true])] {
            for (c, &ok) in served.iter().enumerate() {
                assert_eq!(p.vehicle_types[t].skills.covers(p.clients[c].skills), ok, "type {t} client {c}");
            }
        }
        // A client on no list cannot be served; a depot on a list is refused.
        let e = parse_text(&text.replace("3 4\n", "3 3\n"), Rounding::Auto).unwrap_err();
        assert!(e.message.contains("cannot be served"), "{e}");
        let e = parse_text(&text.replace("3 4\n", "3 1\n"), Rounding::Auto).unwrap_err();
        assert!(e.message.contains("allowed client 1 is not a client"), "{e}");
    }

    #[test]
    fn reads_mutually_exclusive_groups_as_optional_clients_of_required_groups() {
        let text = "TYPE: GVRP\nDIMENSION: 5\nVEHICLES: 2\nCAPACITY: 10\nEDGE_WEIGHT_TYPE: EUC_2D\n\
                    NODE_COORD_SECTION\n1 0 0\n2 1 0\n3 0 1\n4 1 1\n5 2 2\nDEMAND_SECTION\n1 0\n2 1\n3 1\n4 1\n5 1\n\
                    MUTUALLY_EXCLUSIVE_GROUP_SECTION\n1 2 4\n2 3\nDEPOT_SECTION\n1\n-1\nEOF\n";
        let p = parse_text(text, Rounding::Auto).unwrap().problem;
        assert_eq!(p.groups.len(), 2);
        assert_eq!((p.groups[0].clients.clone(), p.groups[0].required), (vec![0, 2], true));
        assert_eq!(p.clients.iter().map(|c| c.required).collect::<Vec<_>>(), vec![false, false, false, true]);
        assert_eq!((p.group_of(2), p.group_of(1), p.group_of(3)), (Some(0), Some(1), None));
        let e = parse_text(&text.replace("2 3\n", "2 3 4\n"), Rounding::Auto).unwrap_err();
        assert!(e.message.contains("node 4 is in group 1 and group 2"), "{e}");
    }

    #[test]
    fn reads_a_tsp_without_demands() {
        // TSPLIB continues a long comment on more COMMENT lines (usa13509).
        let text = "NAME: t\nCOMMENT: one\nCOMMENT: two\nTYPE: TSP\nDIMENSION: 3\nVEHICLES: 1\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\nEOF\n";
        let p = parse_text(text, Rounding::Auto).unwrap().problem;
        assert_eq!((p.num_clients(), p.num_vehicles(), p.dimensions), (2, 1, 1));
        assert_eq!(p.clients[1].delivery, vec![0]);
        // Other families still need their demands.
        assert!(parse_text(&text.replace("TSP", "CVRP"), Rounding::Auto).unwrap_err().message.contains("missing DEMAND_SECTION"));
    }

    #[test]
    fn takes_the_family_from_the_folder_when_type_is_missing() {
        let text = cvrp("", [1, 1, 1]).replace("TYPE : CVRP\n", "");
        let inst = parse_text(&text, Rounding::Auto).unwrap();
        assert_eq!((inst.family.as_str(), inst.rounding, inst.cost_divisor), ("VRPTW", Rounding::Dimacs, 10));
        let inst = parse(&text, Path::new("elsewhere/x.vrp"), Rounding::Auto).unwrap();
        assert_eq!(inst.family, "CVRP");
    }

    #[test]
    fn reads_an_explicit_matrix_without_coordinates() {
        let text = "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: LOWER_ROW\nCAPACITY: 5\nEDGE_WEIGHT_SECTION\n7\n8 9\n\
                    DEMAND_SECTION\n1 0\n2 1\n3 1\n";
        let p = parse_text(text, Rounding::Round).unwrap().problem;
        assert!(p.locations.is_empty());
        assert_eq!((p.distance(0, 2, 1), p.distance(0, 0, 2)), (9, 8));
    }

    #[test]
    fn rejects_malformed_files_with_their_line() {
        let cases: Vec<(String, usize)> = vec![
            (cvrp("", [1, 1, 1]).replace("3 6 8", "3 6 x"), 8),
            (cvrp("", [1, 1, 1]).replace("4 -3 -4\n", ""), 8),
            (cvrp("", [1, 1, 1]).replace("EUC_2D", "GEO"), 4),
            (cvrp("", [1, 1, 1]).replace("NODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\n4 -3 -4\n", ""), 4),
            (cvrp("", [1, -1, 1]), 13),
            (cvrp("", [1, 1, 1]).replace("DEPOT_SECTION\n1", "DEPOT_SECTION\n7"), 16),
            (cvrp("CAPACITY: 5 5\n", [1, 1, 1]), 5),
            (cvrp("FOO_SECTION\n1 2\n", [1, 1, 1]), 5),
            (cvrp("", [1, 1, 1]).replace("DIMENSION : 4", "DIMENSION : 1000000000"), 3),
            (cvrp("", [1, 1, 1]).replace("DIMENSION : 4", "DIMENSION : 100000"), 9),
            ("DIMENSION: 3\n".to_string(), 0),
        ];
        for (text, line) in cases {
            let e = parse_text(&text, Rounding::Auto).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }

    #[test]
    fn never_panics_on_mangled_input() {
        let base = cvrp("CAPACITY : 10\nVEHICLES : 2\nVEHICLES_RELOAD_DEPOT_SECTION\n1 1\n2 1\n", [4, 5, 6]);
        let bytes = base.as_bytes();
        // Truncations and single-byte replacements of a valid file.
        for cut in 0..bytes.len() {
            let _ = parse_text(&String::from_utf8_lossy(&bytes[..cut]), Rounding::Auto);
            for b in [b'9', b'-', b' ', b'\n', b':', b'.', b'e'] {
                let mut m = bytes.to_vec();
                m[cut] = b;
                let _ = parse_text(&String::from_utf8_lossy(&m), Rounding::Dimacs);
            }
        }
    }
}
