//! Solomon's text format: a name line, a `VEHICLE` block (`NUMBER CAPACITY` and their values) and
//! a `CUSTOMER` block with one row per customer: `CUST NO. XCOORD. YCOORD. DEMAND READY TIME
//! DUE DATE SERVICE TIME`. Customer 0 is the depot.
//!
//! Family `SOLOMON`: distances (Euclidean), ready and due times and service times are rounded
//! with the convention (DIMACS by default); demands and the capacity are taken as they are.

use super::rounding::euclidean_matrix;
use super::vrplib::numbers::{Numbers, MAX_DIMENSION};
use super::{Instance, Rounding};
use crate::error::ReadError;
use crate::model::{Client, Depot, Location, Problem, ProblemData, Profile, Skills, TimeWindow, VehicleType, UNLIMITED};
use std::path::Path;

/// The most vehicles an instance may declare.
const MAX_VEHICLES: usize = 1_000_000;

/// One customer row.
struct Customer {
    line: usize,
    location: Location,
    demand: i64,
    window: TimeWindow,
    service: i64,
}

/// Non-empty lines with their 1-based numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty())
}

/// Takes the next line, which must start with `want` (case-insensitive); returns its number.
fn expect<'a>(it: &mut impl Iterator<Item = (usize, &'a str)>, nums: Numbers<'_>, want: &str) -> Result<usize, ReadError> {
    match it.next() {
        Some((line, l)) if l.to_ascii_uppercase().starts_with(want) => Ok(line),
        Some((line, l)) => Err(nums.err(line, format!("expected the {want} line, found '{}'", l.chars().take(40).collect::<String>()))),
        None => Err(nums.err(0, format!("missing the {want} line"))),
    }
}

/// Parses Solomon text read from `path`.
pub fn parse(text: &str, path: &Path, rounding: Rounding) -> Result<Instance, ReadError> {
    let nums = Numbers { path };
    let family = "SOLOMON".to_string();
    let r = rounding.resolve(&family);
    let mut it = lines(text);
    let (_, name) = it.next().ok_or_else(|| nums.err(0, "empty file: expected an instance name"))?;

    // VEHICLE block.
    expect(&mut it, nums, "VEHICLE")?;
    expect(&mut it, nums, "NUMBER")?;
    let (line, values) = it.next().ok_or_else(|| nums.err(0, "missing the vehicle number and capacity"))?;
    let fields: Vec<&str> = values.split_whitespace().collect();
    let [number, capacity] = fields.as_slice() else {
        return Err(nums.err(line, format!("expected two values (NUMBER CAPACITY), found {}", fields.len())));
    };
    let vehicles = nums.count(line, number, "vehicle number", MAX_VEHICLES)?;
    let capacity = nums.amount(line, capacity, "capacity")?;
    let vehicle_line = line;

    // CUSTOMER block.
    expect(&mut it, nums, "CUSTOMER")?;
    let header = expect(&mut it, nums, "CUST")?;
    let mut customers: Vec<Customer> = Vec::new();
    for (line, l) in it {
        let f: Vec<&str> = l.split_whitespace().collect();
        let [id, x, y, demand, ready, due, service] = f.as_slice() else {
            return Err(nums.err(line, format!("customer rows need 7 values, found {}", f.len())));
        };
        if customers.len() >= MAX_DIMENSION {
            return Err(nums.err(line, format!("more than {MAX_DIMENSION} customers")));
        }
        let id = nums.integer(line, id, "customer number")?;
        if usize::try_from(id).ok() != Some(customers.len()) {
            let expected = customers.len();
            return Err(nums.err(line, format!("customer {id} where customer {expected} was expected (numbers must be 0, 1, 2, ... in order)")));
        }
        let location = Location { x: nums.real(line, x, "x coordinate")?, y: nums.real(line, y, "y coordinate")? };
        let demand = nums.amount(line, demand, "demand")?;
        let early = nums.scaled(line, ready, "ready time", r)?;
        let late = nums.scaled(line, due, "due date", r)?;
        if early > late {
            return Err(nums.err(line, format!("time window [{early}, {late}] (after scaling) ends before it starts")));
        }
        let service = nums.scaled(line, service, "service time", r)?;
        customers.push(Customer { line, location, demand, window: TimeWindow::new(early, late), service });
    }
    let Some(depot) = customers.first() else {
        return Err(nums.err(header, "no customer rows: expected the depot (customer 0) at least"));
    };

    let locations: Vec<Location> = customers.iter().map(|c| c.location).collect();
    let matrix = euclidean_matrix(&locations, r).map_err(|(i, j, v)| {
        let line = customers.get(i).map_or(0, |c| c.line);
        nums.err(line, format!("distance from customer {i} to customer {j} is {v} after rounding, too large"))
    })?;
    let clients = customers
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| Client {
            name: i.to_string(),
            location: i,
            delivery: vec![c.demand],
            pickup: vec![0],
            service_duration: c.service,
            time_windows: vec![c.window],
            release_time: 0,
            required: true,
            prize: 0,
            skills: Skills::NONE,
        })
        .collect();
    let data = ProblemData {
        name: name.to_string(),
        locations,
        depots: vec![Depot { name: "0".into(), location: 0, time_window: depot.window, reload_duration: 0 }],
        clients,
        vehicle_types: vec![VehicleType {
            name: "vehicle".into(),
            count: vehicles,
            capacity: vec![capacity],
            start_depot: 0,
            end_depot: 0,
            shift: depot.window,
            max_duration: UNLIMITED,
            max_distance: UNLIMITED,
            fixed_cost: 0,
            unit_distance_cost: 1,
            unit_duration_cost: 0,
            profile: 0,
            skills: Skills::NONE,
            reload_depots: Vec::new(),
            max_trips: 1,
            breaks: Vec::new(),
            overtime_after: UNLIMITED,
            unit_overtime_cost: 0,
            balance: Default::default(),
            on_board: None,
        }],
        profiles: vec![Profile { name: "default".into(), duration: matrix.clone(), distance: matrix, congestion: Default::default() }],
        dimensions: 1,
        skill_names: Vec::new(),
        backhaul_precedence: false,
        stability: Default::default(),
        groups: Vec::new(),
        pairs: Vec::new(),
    };
    let problem = Problem::new(data).map_err(|e| {
        let (line, message) = match &e {
            crate::error::ModelError::UnservableClient { client, reason } => (
                customers.get(client + 1).map_or(0, |c| c.line),
                format!("client {client} (customer {}): cannot be served by any vehicle: {reason}", client + 1),
            ),
            crate::error::ModelError::NoVehicle => (vehicle_line, e.to_string()),
            _ => (0, e.to_string()),
        };
        let mut err = nums.err(line, message);
        err.model = Some(e);
        err
    })?;
    Ok(Instance { problem, family, rounding: r, cost_divisor: r.scale() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "C101

VEHICLE
NUMBER     CAPACITY
  25         200

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0        40        50         0         0      1236         0
    1        45        68        10       912       967        90
    2        45        70        30       825       870        90
";

    fn parse_text(text: &str) -> Result<Instance, ReadError> {
        parse(text, Path::new("C101.txt"), Rounding::Auto)
    }

    #[test]
    fn reads_a_solomon_instance_in_dimacs_units() {
        let inst = parse_text(C).unwrap();
        assert_eq!((inst.family.as_str(), inst.rounding, inst.cost_divisor), ("SOLOMON", Rounding::Dimacs, 10));
        let p = &inst.problem;
        assert_eq!((p.name.as_str(), p.num_clients(), p.num_vehicles()), ("C101", 2, 25));
        assert_eq!(p.clients[1].delivery, vec![30]);
        assert_eq!(p.clients[1].time_windows, vec![TimeWindow::new(8250, 8700)]);
        assert_eq!(p.clients[1].service_duration, 900);
        assert_eq!(p.vehicle_types[0].shift, TimeWindow::new(0, 12360));
        assert_eq!(p.vehicle_types[0].capacity, vec![200]);
        // sqrt(5² + 18²) = 18.68 -> 186
        assert_eq!(p.distance(0, 0, 1), 186);
        let round = parse(C, Path::new("C101.txt"), Rounding::Round).unwrap();
        assert_eq!((round.problem.distance(0, 0, 1), round.cost_divisor), (19, 1));
    }

    #[test]
    fn rejects_malformed_files_with_their_line() {
        let cases = [
            (C.replace("VEHICLE\n", "VEHICLES?\n").replace("VEHICLES?", "TRUCK"), 3),
            (C.replace("  25         200", "  25"), 5),
            (C.replace("  25         200", "  x 200"), 5),
            (C.replace("    2        45", "    3        45"), 12),
            (C.replace("912       967", "967       912"), 11),
            (C.replace("       10       912", "      -10       912"), 11),
            (C.replace("        90\n    2", "\n    2"), 11),
            (C.replace("       30       825", "      300       825"), 12),
            ("C101\n".to_string(), 0),
            (String::new(), 0),
        ];
        for (text, line) in cases {
            let Err(e) = parse_text(&text) else { panic!("parsed: {text:?}") };
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }

    #[test]
    fn never_panics_on_mangled_input() {
        let bytes = C.as_bytes();
        for cut in 0..bytes.len() {
            let _ = parse_text(&String::from_utf8_lossy(&bytes[..cut]));
            for b in [b'9', b'-', b' ', b'\n', b'.', b'e'] {
                let mut m = bytes.to_vec();
                m[cut] = b;
                let _ = parse_text(&String::from_utf8_lossy(&m));
            }
        }
    }
}
