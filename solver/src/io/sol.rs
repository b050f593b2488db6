//! VRPLIB solution files (`Route #k: ...` lines and a `Cost` line).
//!
//! A route line lists location indices (0-based, VRPLIB node order); route `k` is driven by
//! overall vehicle `k - 1`. A depot location inside a route ends a trip: the next trip starts
//! from that depot (a reload). Other lines (`Time: ...`, `Optimal: True`) are ignored.

use super::Instance;
use crate::error::ReadError;
use crate::solution::{Route, Solution, Trip, Unassigned, UnassignedReason};
use std::fmt::Write as _;
use std::path::Path;

/// A solution read from a `.sol` file, with the cost the file states (in the file's units).
#[derive(Clone, Debug, PartialEq)]
pub struct SolFile {
    /// The routes; clients in no route are unassigned with [`UnassignedReason::NoFeasibleRoute`].
    pub solution: Solution,
    /// The number on the `Cost` line, if any.
    pub stated_cost: Option<f64>,
}

/// Reads solution text from `path` for `instance`.
///
/// Refuses unknown locations, route numbers without a vehicle and malformed lines; a client
/// listed twice is kept as it is (the checker reports it).
pub fn read(text: &str, path: &Path, instance: &Instance) -> Result<SolFile, ReadError> {
    let problem = &instance.problem;
    let err = |line: usize, msg: String| ReadError::new(path, line, msg);
    let mut routes: Vec<Route> = Vec::new();
    let mut seen_numbers: Vec<(usize, usize)> = Vec::new(); // (route number, line)
    let mut stated_cost = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let t = raw.trim();
        if let Some(rest) = strip_prefix_ci(t, "route") {
            let (label, visits) = rest.split_once(':').ok_or_else(|| err(line, "expected 'Route #k: ...'".into()))?;
            let label = label.trim().strip_prefix('#').unwrap_or(label.trim()).trim();
            let number: usize = match label.parse() {
                Ok(k) if k >= 1 => k,
                _ => return Err(err(line, format!("route number '{label}' is not a positive integer"))),
            };
            if let Some((_, first)) = seen_numbers.iter().find(|(k, _)| *k == number) {
                return Err(err(line, format!("route #{number} is listed twice (first on line {first})")));
            }
            seen_numbers.push((number, line));
            let tokens: Vec<&str> = visits.split_whitespace().collect();
            if tokens.is_empty() {
                continue;
            }
            let vehicle_type = problem
                .type_of_vehicle(number - 1)
                .ok_or_else(|| err(line, format!("route #{number} has no vehicle: the instance has {} vehicles", problem.num_vehicles())))?;
            let start = problem.vehicle_types.get(vehicle_type).map_or(0, |v| v.start_depot);
            let mut route = Route { vehicle_type, trips: vec![Trip { depot: start, visits: Vec::new() }], breaks: vec![] };
            for token in tokens {
                let location: usize = token.parse().map_err(|_| err(line, format!("'{token}' is not a location index")))?;
                if let Some(client) = problem.client_at(location) {
                    if let Some(trip) = route.trips.last_mut() {
                        trip.visits.push(client);
                    }
                } else if let Some(depot) = problem.depot_at(location) {
                    route.trips.push(Trip { depot, visits: Vec::new() });
                } else {
                    let locations = problem.num_locations();
                    return Err(err(line, format!("location {location} is neither a depot nor a client (the instance has {locations} locations)")));
                }
            }
            if !route.is_empty() {
                routes.push(route);
            }
        } else if let Some(rest) = strip_prefix_ci(t, "cost") {
            let value = rest.trim_start().strip_prefix(':').unwrap_or(rest).trim();
            match value.parse::<f64>() {
                Ok(v) if v.is_finite() => stated_cost = Some(v),
                _ => return Err(err(line, format!("cost '{value}' is not a number"))),
            }
        }
    }
    let mut visited = vec![false; problem.num_clients()];
    for c in routes.iter().flat_map(Route::visits) {
        if let Some(v) = visited.get_mut(c) {
            *v = true;
        }
    }
    let unassigned =
        (0..problem.num_clients()).filter(|&c| !visited[c]).map(|client| Unassigned { client, reason: UnassignedReason::NoFeasibleRoute }).collect();
    Ok(SolFile { solution: Solution { routes, unassigned }, stated_cost })
}

/// `s` without a case-insensitive keyword `prefix`, which must be followed by whitespace, `#`,
/// `:` or nothing (so that `Routes: 5` is not a route line).
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    let rest = s.get(prefix.len()..)?;
    let ends_word = !matches!(rest.chars().next(), Some(c) if !(c.is_whitespace() || c == '#' || c == ':'));
    (head.eq_ignore_ascii_case(prefix) && ends_word).then_some(rest)
}

/// Writes `solution` as a `.sol` file whose last line is `Cost` with `cost` (internal units) in
/// the family's units.
///
/// With one vehicle type, routes are numbered `1..=m` in order. With several, line `k` is
/// overall vehicle `k`: each route of type `t` takes the next free vehicle of that type, unused
/// vehicles in between get empty lines, and routes beyond a type's count are numbered after all
/// vehicles (so that reading the file back reports them). Empty routes, and client or depot
/// indices outside the problem, are not written.
pub fn write(instance: &Instance, solution: &Solution, cost: i64) -> String {
    let problem = &instance.problem;
    let types = problem.vehicle_types.len();
    let routes: Vec<&Route> = solution.routes.iter().filter(|r| !r.is_empty()).collect();
    // (vehicle number, 0-based, route)
    let mut numbered: Vec<(usize, &Route)> = Vec::with_capacity(routes.len());
    if types <= 1 {
        numbered.extend(routes.iter().enumerate().map(|(i, r)| (i, *r)));
    } else {
        let mut used = vec![0usize; types];
        let mut overflow = problem.num_vehicles();
        for r in routes {
            let t = r.vehicle_type;
            match (used.get_mut(t), problem.vehicle_types.get(t)) {
                (Some(u), Some(vt)) if *u < vt.count => {
                    numbered.push((problem.vehicle_offset(t) + *u, r));
                    *u += 1;
                }
                _ => {
                    numbered.push((overflow, r));
                    overflow += 1;
                }
            }
        }
        numbered.sort_by_key(|(k, _)| *k);
    }
    let mut out = String::new();
    let mut next = 0;
    for (k, route) in numbered {
        while next < k {
            next += 1;
            let _ = writeln!(out, "Route #{next}:");
        }
        next = k + 1;
        let _ = write!(out, "Route #{next}:");
        for (i, trip) in route.trips.iter().enumerate() {
            if i > 0 {
                if let Some(depot) = problem.depots.get(trip.depot) {
                    let _ = write!(out, " {}", depot.location);
                }
            }
            for client in trip.visits.iter().filter_map(|&c| problem.clients.get(c)) {
                let _ = write!(out, " {}", client.location);
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "Cost {}", instance.format_cost(cost));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{vrplib, Rounding};

    /// Two depots (locations 0, 1), four clients (locations 2..=5) and three vehicles: two of
    /// capacity 10 at depot 0 that may reload, one of capacity 20 at depot 1.
    fn instance() -> Instance {
        let text = "TYPE: MDVRPTW\nDIMENSION: 6\nVEHICLES: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n\
                    1 0 0\n2 9 9\n3 1 0\n4 2 0\n5 8 9\n6 9 8\nDEMAND_SECTION\n1 0\n2 0\n3 5\n4 5\n5 5\n6 5\n\
                    CAPACITY_SECTION\n1 10\n2 10\n3 20\nVEHICLES_DEPOT_SECTION\n1 1\n2 1\n3 2\n\
                    VEHICLES_RELOAD_DEPOT_SECTION\n1 1\n2 1\n3 2\nDEPOT_SECTION\n1\n2\n-1\nEOF\n";
        vrplib::parse(text, Path::new("t.vrp"), Rounding::Auto).unwrap()
    }

    #[test]
    fn reads_routes_trips_and_the_stated_cost() {
        let inst = instance();
        let text = "Route #1: 2 0 3\nRoute #2:\nRoute #3: 5\n\nCost: 123.5\nOptimal: True\nTime: 3\n";
        let sol = read(text, Path::new("t.sol"), &inst).unwrap();
        assert_eq!(sol.stated_cost, Some(123.5));
        let r = &sol.solution.routes;
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].trips, vec![Trip { depot: 0, visits: vec![0] }, Trip { depot: 0, visits: vec![1] }]);
        assert_eq!((r[1].vehicle_type, r[1].trips.clone()), (1, vec![Trip { depot: 1, visits: vec![3] }]));
        assert_eq!(sol.solution.unassigned, vec![Unassigned { client: 2, reason: UnassignedReason::NoFeasibleRoute }]);
    }

    #[test]
    fn keeps_duplicates_and_reads_cost_without_colon() {
        let sol = read("Route #1: 2 2\nCost 7\n", Path::new("t.sol"), &instance()).unwrap();
        assert_eq!(sol.solution.routes[0].trips[0].visits, vec![0, 0]);
        assert_eq!(sol.stated_cost, Some(7.0));
    }

    #[test]
    fn rejects_bad_lines_with_their_number() {
        let inst = instance();
        for (text, line) in [
            ("Route #1: 2\nRoute #2: 9\n", 2),
            ("Route #1: 2 x\n", 1),
            ("\nRoute #4: 2\n", 2),
            ("Route #0: 2\n", 1),
            ("Route 1 2\n", 1),
            ("Route #1: 2\nRoute #1: 3\n", 2),
            ("Route #1: -2\n", 1),
            ("Cost: abc\n", 1),
        ] {
            let e = read(text, Path::new("t.sol"), &inst).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }

    #[test]
    fn writes_vehicle_aligned_lines_and_round_trips() {
        let inst = instance();
        let solution = Solution {
            routes: vec![
                Route { vehicle_type: 0, trips: vec![Trip { depot: 0, visits: vec![0] }, Trip { depot: 0, visits: vec![1] }], breaks: vec![] },
                Route::single(1, 1, vec![3, 2]),
            ],
            unassigned: vec![],
        };
        let text = write(&inst, &solution, 1234);
        assert_eq!(text, "Route #1: 2 0 3\nRoute #2:\nRoute #3: 5 4\nCost 1234\n");
        let back = read(&text, Path::new("t.sol"), &inst).unwrap();
        assert_eq!(back.solution, solution);
        assert_eq!(back.stated_cost, Some(1234.0));
    }

    #[test]
    fn numbers_routes_in_order_with_one_vehicle_type() {
        let text = "DIMENSION: 3\nCAPACITY: 5\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 0\n3 2 0\nDEMAND_SECTION\n1 0\n2 1\n3 1\n";
        let mut inst = vrplib::parse(text, Path::new("t.vrp"), Rounding::Dimacs).unwrap();
        inst.cost_divisor = 10;
        let solution = Solution { routes: vec![Route::single(0, 0, vec![1]), Route::single(0, 0, vec![0])], unassigned: vec![] };
        let text = write(&inst, &solution, 4255);
        assert_eq!(text, "Route #1: 2\nRoute #2: 1\nCost 425.5\n");
        assert_eq!(read(&text, Path::new("t.sol"), &inst).unwrap().solution, solution);
    }

    #[test]
    fn never_panics_on_mangled_input() {
        let inst = instance();
        let base = b"Route #1: 2 0 3\nRoute #3: 5\nCost: 12\n";
        for cut in 0..base.len() {
            let _ = read(&String::from_utf8_lossy(&base[..cut]), Path::new("t.sol"), &inst);
            for b in [b'9', b'#', b' ', b'\n', b':', b'-'] {
                let mut m = base.to_vec();
                m[cut] = b;
                let _ = read(&String::from_utf8_lossy(&m), Path::new("t.sol"), &inst);
            }
        }
        let _ = read("Route #99999999999999999999: 1\nRoute #18446744073709551615: 2\n", Path::new("t.sol"), &inst);
        assert!(read("Routes: 2\nCosts 5\n", Path::new("t.sol"), &inst).is_ok());
    }
}
