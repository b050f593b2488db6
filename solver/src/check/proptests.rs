//! Property tests: random small instances with a solution that is valid by construction, which
//! the checker must accept at an independently summed cost; then the same solution or problem
//! broken in one random way, which the checker must report under the matching code.
//!
//! The construction serves every visited client alone on its own route, so validity is easy to
//! prove: every vehicle type has as many vehicles as there are clients and a capacity at least
//! each client's delivery and pickup; the depot sits at (50, 50) in a 100 x 100 square, so any
//! leg takes at most 71 (142 on the slow profile); release times are at most 100, so a vehicle
//! reaches any client by 242, before every window closes (windows close at 500 or later); the
//! shift and depot stay open until 10,000, far after any return. Type 0 has every skill.
//!
//! Cost of the valid solution: waiting before a window is always absorbed by leaving later
//! (every stop's slack is at least the waiting before it, and the depot stays open long after
//! the latest departure), so each route lasts exactly out + service + back.

use super::{check, Violation};
use crate::io::rounding::{euclidean_matrix, Rounding};
use crate::model::{Break, Client, Depot, Location, Matrix, Problem, ProblemData, Profile, Skills, TimeWindow, VehicleType, UNLIMITED};
use crate::solution::{BreakStop, Route, Solution, Unassigned, UnassignedReason};
use proptest::prelude::*;
use proptest::sample::Index;

#[derive(Clone, Debug)]
struct ClientSpec {
    at: (u8, u8),
    delivery: [i64; 2],
    pickup: [i64; 2],
    service: i64,
    early: i64,
    width: i64,
    release: i64,
    required: bool,
    prize: i64,
    skills: u64,
    /// Served by type 1 when that type exists and has the skills.
    prefers_type_1: bool,
    /// Visited even though optional.
    visited_if_optional: bool,
}

#[derive(Clone, Debug)]
struct TypeSpec {
    extra_capacity: [i64; 2],
    fixed_cost: i64,
    unit_distance_cost: i64,
    unit_duration_cost: i64,
    skills: u64,
    /// Drives on the profile whose durations are twice the distances.
    slow: bool,
}

#[derive(Clone, Debug)]
struct Case {
    clients: Vec<ClientSpec>,
    dimensions: usize,
    types: Vec<TypeSpec>,
}

fn client_spec() -> impl Strategy<Value = ClientSpec> {
    (
        (0u8..=100, 0u8..=100),
        prop::array::uniform2(1i64..=10),
        prop::array::uniform2(0i64..=10),
        0i64..=20,
        0i64..=500,
        500i64..=800,
        1i64..=100,
        any::<bool>(),
        0i64..=50,
        0u64..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(at, delivery, pickup, service, early, width, release, required, prize, skills, prefers_type_1, visited_if_optional)| ClientSpec {
            at,
            delivery,
            pickup,
            service,
            early,
            width,
            release,
            required,
            prize,
            skills,
            prefers_type_1,
            visited_if_optional,
        })
}

fn type_spec() -> impl Strategy<Value = TypeSpec> {
    (prop::array::uniform2(0i64..=10), 0i64..=100, 0i64..=5, 0i64..=5, 0u64..4, any::<bool>()).prop_map(
        |(extra_capacity, fixed_cost, unit_distance_cost, unit_duration_cost, skills, slow)| TypeSpec {
            extra_capacity,
            fixed_cost,
            unit_distance_cost,
            unit_duration_cost,
            skills,
            slow,
        },
    )
}

fn case() -> impl Strategy<Value = Case> {
    (prop::collection::vec(client_spec(), 2..=12), 1usize..=2, prop::collection::vec(type_spec(), 1..=2)).prop_map(|(clients, dimensions, types)| Case {
        clients,
        dimensions,
        types,
    })
}

impl Case {
    fn data(&self) -> ProblemData {
        let dims = self.dimensions;
        let mut locations = vec![Location { x: 50.0, y: 50.0 }];
        locations.extend(self.clients.iter().map(|c| Location { x: c.at.0 as f64, y: c.at.1 as f64 }));
        let fast = euclidean_matrix(&locations, Rounding::Round).unwrap();
        let slow = Matrix::from_fn(locations.len(), |i, j| 2 * fast.get(i, j)).unwrap();
        let clients: Vec<Client> = self
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| Client {
                name: format!("c{i}"),
                location: i + 1,
                delivery: c.delivery[..dims].to_vec(),
                pickup: c.pickup[..dims].to_vec(),
                service_duration: c.service,
                time_windows: vec![TimeWindow::new(c.early, c.early + c.width)],
                release_time: c.release,
                // At least one required client, for the mutation that drops one.
                required: c.required || i == 0,
                prize: c.prize,
                skills: Skills(c.skills),
            })
            .collect();
        let vehicle_types = self
            .types
            .iter()
            .enumerate()
            .map(|(t, spec)| VehicleType {
                name: format!("t{t}"),
                count: clients.len(),
                capacity: (0..dims).map(|d| clients.iter().map(|c| c.delivery[d].max(c.pickup[d])).max().unwrap() + spec.extra_capacity[d]).collect(),
                start_depot: 0,
                end_depot: 0,
                shift: TimeWindow::new(0, 10_000),
                max_duration: UNLIMITED,
                max_distance: UNLIMITED,
                fixed_cost: spec.fixed_cost,
                unit_distance_cost: spec.unit_distance_cost,
                unit_duration_cost: spec.unit_duration_cost,
                profile: usize::from(spec.slow),
                skills: if t == 0 { Skills(0b11) } else { Skills(spec.skills) },
                reload_depots: vec![],
                max_trips: 1,
                breaks: Vec::new(),
                overtime_after: UNLIMITED,
                unit_overtime_cost: 0,
                balance: Default::default(),
                on_board: None,
            })
            .collect();
        ProblemData {
            name: "random".into(),
            locations,
            depots: vec![Depot { name: "d".into(), location: 0, time_window: TimeWindow::new(0, 10_000), reload_duration: 0 }],
            clients,
            vehicle_types,
            profiles: vec![
                Profile { name: "fast".into(), distance: fast.clone(), duration: fast.clone(), congestion: Default::default() },
                Profile { name: "slow".into(), distance: fast, duration: slow, congestion: Default::default() },
            ],
            dimensions: dims,
            skill_names: vec!["a".into(), "b".into()],
            backhaul_precedence: false,
            stability: Default::default(),
            groups: Vec::new(),
            pairs: Vec::new(),
        }
    }

    /// The vehicle type serving client `c` in the constructed solution.
    fn type_of(&self, data: &ProblemData, c: usize) -> usize {
        let wants_1 = self.clients[c].prefers_type_1 && data.vehicle_types.len() > 1;
        if wants_1 && data.vehicle_types[1].skills.covers(data.clients[c].skills) {
            1
        } else {
            0
        }
    }

    /// One route per visited client; optional clients left out are unassigned.
    fn solution(&self, data: &ProblemData) -> Solution {
        let mut s = Solution::default();
        for (c, client) in data.clients.iter().enumerate() {
            if client.required || self.clients[c].visited_if_optional {
                s.routes.push(Route::single(self.type_of(data, c), 0, vec![c]));
            } else {
                s.unassigned.push(Unassigned { client: c, reason: UnassignedReason::NotWorthPrize });
            }
        }
        s
    }
}

/// The cost of the constructed solution, summed from the data without the checker.
fn expected_cost(data: &ProblemData, s: &Solution) -> i64 {
    let mut total = 0;
    for route in &s.routes {
        let vt = &data.vehicle_types[route.vehicle_type];
        let profile = &data.profiles[vt.profile];
        let client = &data.clients[route.trips[0].visits[0]];
        let (depot, at) = (data.depots[0].location, client.location);
        let distance = profile.distance.get(depot, at) + profile.distance.get(at, depot);
        let duration = profile.duration.get(depot, at) + client.service_duration + profile.duration.get(at, depot);
        total += vt.fixed_cost + vt.unit_distance_cost * distance + vt.unit_duration_cost * duration;
    }
    total + s.unassigned.iter().map(|u| data.clients[u.client].prize).sum::<i64>()
}

/// Makes every client optional, so that a mutated problem still passes validation (which
/// rejects required clients no vehicle can serve); it changes no violation but MissingClient.
fn all_optional(data: &mut ProblemData) {
    for c in &mut data.clients {
        c.required = false;
    }
}

/// Breaks the valid case in the way `mutation` names, around visited client `target`; returns
/// the broken problem and solution and the code the checker must report.
fn mutate(case: &Case, mutation: usize, target: usize) -> (ProblemData, Solution, &'static str) {
    let mut data = case.data();
    let mut s = case.solution(&data);
    let route_of = s.routes.iter().position(|r| r.trips[0].visits[0] == target).unwrap();
    let t = s.routes[route_of].vehicle_type;
    match mutation {
        0 => {
            s.routes.push(Route::single(t, 0, vec![target]));
            (data, s, "duplicate_client")
        }
        1 => {
            // Client 0 is always required.
            s.routes.retain(|r| r.trips[0].visits[0] != 0);
            (data, s, "missing_client")
        }
        2 => {
            all_optional(&mut data);
            let d = (0..data.dimensions).max_by_key(|&d| data.clients[target].delivery[d]).unwrap();
            data.vehicle_types[t].capacity[d] = data.clients[target].delivery[d] - 1;
            (data, s, "capacity")
        }
        3 => {
            all_optional(&mut data);
            let vt = &data.vehicle_types[t];
            let client = &data.clients[target];
            let arrival = client.release_time + data.profiles[vt.profile].duration.get(0, client.location);
            data.clients[target].time_windows = vec![TimeWindow::new(0, arrival - 1)];
            (data, s, "time_window")
        }
        4 => {
            all_optional(&mut data);
            let needed = data.clients[target].skills.0;
            let bit = if needed == 0 { 1 } else { needed & needed.wrapping_neg() };
            data.clients[target].skills = Skills(needed | bit);
            data.vehicle_types[t].skills = Skills(data.vehicle_types[t].skills.0 & !bit);
            (data, s, "skills")
        }
        6 => {
            // A break whose latest start is when the target's route leaves: that route is out
            // then (it takes at least 1 to serve) and does not take the break.
            all_optional(&mut data);
            data.clients[target].service_duration = data.clients[target].service_duration.max(1);
            let report = check(&Problem::new(data.clone()).unwrap(), &s);
            let start = report.routes[route_of].start;
            data.vehicle_types[t].breaks = vec![Break { window: TimeWindow::new(0, start), duration: 5 }];
            (data, s, "missing_break")
        }
        7 => {
            // The same break taken on the way back, after the target's service ended.
            all_optional(&mut data);
            data.clients[target].service_duration = data.clients[target].service_duration.max(1);
            let report = check(&Problem::new(data.clone()).unwrap(), &s);
            let start = report.routes[route_of].start;
            data.vehicle_types[t].breaks = vec![Break { window: TimeWindow::new(0, start), duration: 5 }];
            s.routes[route_of].breaks.push(BreakStop { index: 0, trip: 0, after: 1 });
            (data, s, "break_window")
        }
        _ => {
            all_optional(&mut data);
            let used = s.routes.iter().filter(|r| r.vehicle_type == t).count();
            data.vehicle_types[t].count = used - 1;
            // A spare type keeps at least one vehicle in the problem, which validation requires.
            let mut spare = data.vehicle_types[0].clone();
            spare.count = 1;
            data.vehicle_types.push(spare);
            (data, s, "fleet_size")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn accepts_constructed_solutions_at_their_summed_cost(case in case()) {
        let data = case.data();
        let s = case.solution(&data);
        let problem = Problem::new(data.clone()).unwrap();
        let report = check(&problem, &s);
        prop_assert!(report.is_feasible(), "{:?}", report.violations);
        prop_assert_eq!(report.cost.total, expected_cost(&data, &s));
        prop_assert_eq!(report.routes.len(), s.routes.len());
    }

    #[test]
    fn reports_the_violation_a_mutation_introduces(case in case(), mutation in 0usize..9, pick in any::<Index>()) {
        let data = case.data();
        let visited: Vec<usize> = case.solution(&data).routes.iter().map(|r| r.trips[0].visits[0]).collect();
        let target = visited[pick.index(visited.len())];
        let (data, s, code) = mutate(&case, mutation, target);
        let problem = Problem::new(data).unwrap();
        let report = check(&problem, &s);
        let codes: Vec<&str> = report.violations.iter().map(Violation::code).collect();
        prop_assert!(codes.contains(&code), "expected {} in {:?}", code, report.violations);
    }
}
