//! Pickup-and-delivery pairs in the checker: hand-checked loads and each pair rule broken in
//! one way, then random instances whose valid solution (each pair alone on its route, pickup
//! first) is mutated in one random way that the checker must report under the matching code.
//!
//! The tiny problem (see `tests`): depot 0 at (0,0), clients 0, 1, 2 at (3,4), (6,8), (-3,-4),
//! delivering 4 each, two vehicles of capacity 10. Here client 0 (delivering nothing of its
//! own) picks up 5 for client 1.

use super::*;
use crate::io::rounding::{euclidean_matrix, Rounding};
use crate::model::{Client, Depot, Location, Pair, ProblemData, Profile, Skills, TimeWindow, VehicleType, UNLIMITED};
use crate::solution::{Trip, Unassigned, UnassignedReason};
use crate::test_support::tiny_problem_data;
use proptest::prelude::*;

fn paired_data() -> ProblemData {
    let mut d = tiny_problem_data();
    d.clients[0].delivery = vec![0];
    d.pairs = vec![Pair { pickup: 0, delivery: 1, amount: vec![5] }];
    d
}

fn problem(d: ProblemData) -> Problem {
    Problem::new(d).expect("test problem is valid")
}

fn routes(visits: &[&[usize]]) -> Solution {
    Solution { routes: visits.iter().map(|v| Route::single(0, 0, v.to_vec())).collect(), unassigned: vec![] }
}

fn codes(report: &CheckReport) -> Vec<&'static str> {
    report.violations.iter().map(Violation::code).collect()
}

#[test]
fn carries_a_pairs_amount_only_from_its_pickup_to_its_delivery() {
    let p = problem(paired_data());
    // Leaves with 4 + 4 (clients 1 and 2); after 2: 4; after 0: 9; after 1: 0.
    let report = check(&p, &routes(&[&[2, 0, 1]]));
    assert!(report.is_feasible(), "{:?}", report.violations);
    assert_eq!(report.routes[0].max_loads, vec![vec![9]]);
    // The pickup first: 8, then 13 on board, over the capacity of 10.
    let report = check(&p, &routes(&[&[0, 2, 1]]));
    assert_eq!(report.violations, vec![Violation::Capacity { route: 0, trip: 0, dimension: 0, max_load: 13, capacity: 10 }]);
}

#[test]
fn reports_a_delivery_before_its_pickup() {
    let report = check(&problem(paired_data()), &routes(&[&[1, 0], &[2]]));
    assert_eq!(report.violations, vec![Violation::PairOrder { route: 0, trip: 0, pair: 0 }]);
    assert_eq!(report.violations[0].route(), Some(0));
}

#[test]
fn reports_a_pair_split_over_routes_or_trips() {
    let p = problem(paired_data());
    let report = check(&p, &routes(&[&[0, 2], &[1]]));
    assert_eq!(codes(&report), ["pair_split"]);
    assert_eq!(report.violations[0], Violation::PairSplit { pair: 0, pickup_route: 0, delivery_route: 1 });

    let mut d = paired_data();
    d.vehicle_types[0].max_trips = 2;
    d.vehicle_types[0].reload_depots = vec![0];
    let p = problem(d);
    let two_trips = Route { vehicle_type: 0, trips: vec![Trip { depot: 0, visits: vec![0, 2] }, Trip { depot: 0, visits: vec![1] }], breaks: vec![] };
    let report = check(&p, &Solution { routes: vec![two_trips], unassigned: vec![] });
    assert_eq!(codes(&report), ["pair_split"]);
    // The amount picked up on the first trip rides on (4 + 5 after client 0) and back to the
    // depot; the second trip carries client 1's own 4.
    assert_eq!(report.routes[0].max_loads, vec![vec![9], vec![4]]);
}

#[test]
fn an_optional_pair_served_in_part_is_reported_and_earns_no_prize() {
    let mut d = paired_data();
    for c in &mut d.clients[..2] {
        c.required = false;
        c.prize = 100;
    }
    let p = problem(d);
    let mut s = routes(&[&[0, 2]]);
    s.unassigned.push(Unassigned { client: 1, reason: UnassignedReason::NoFeasibleRoute });
    let report = check(&p, &s);
    assert_eq!(report.violations, vec![Violation::PairIncomplete { pair: 0, served: 0 }]);
    assert_eq!(report.cost.uncollected_prizes, 200);
    // Both left out: no violation, both prizes lost; both served: both earned.
    let mut s = routes(&[&[2]]);
    s.unassigned = vec![Unassigned { client: 0, reason: UnassignedReason::NotWorthPrize }, Unassigned { client: 1, reason: UnassignedReason::NotWorthPrize }];
    let report = check(&p, &s);
    assert!(report.is_feasible(), "{:?}", report.violations);
    assert_eq!(report.cost.uncollected_prizes, 200);
    assert_eq!(check(&p, &routes(&[&[2, 0, 1]])).cost.uncollected_prizes, 0);
}

/// A random instance of `pairs` pairs (pickup `2k`, delivery `2k + 1`) in a 100 x 100 square
/// around the depot, with wide windows and a vehicle per pair of capacity `amount + slack`.
fn pair_instance(spots: &[(u8, u8)], amounts: &[i64], slack: i64) -> ProblemData {
    let mut locations = vec![Location { x: 50.0, y: 50.0 }];
    locations.extend(spots.iter().map(|&(x, y)| Location { x: x as f64, y: y as f64 }));
    let m = euclidean_matrix(&locations, Rounding::Round).unwrap();
    let clients = (0..spots.len())
        .map(|i| Client {
            name: format!("c{i}"),
            location: i + 1,
            delivery: vec![0],
            pickup: vec![0],
            service_duration: 3,
            time_windows: vec![TimeWindow::new(0, 10_000)],
            release_time: 0,
            required: true,
            prize: 0,
            skills: Skills::NONE,
        })
        .collect();
    let pairs: Vec<Pair> = (0..spots.len() / 2).map(|k| Pair { pickup: 2 * k, delivery: 2 * k + 1, amount: vec![amounts[k]] }).collect();
    ProblemData {
        name: "pairs".into(),
        locations,
        depots: vec![Depot { name: "d".into(), location: 0, time_window: TimeWindow::new(0, 100_000), reload_duration: 0 }],
        clients,
        vehicle_types: vec![VehicleType {
            name: "van".into(),
            count: pairs.len(),
            capacity: vec![amounts.iter().copied().max().unwrap_or(0) + slack],
            start_depot: 0,
            end_depot: 0,
            shift: TimeWindow::new(0, 100_000),
            max_duration: UNLIMITED,
            max_distance: UNLIMITED,
            fixed_cost: 0,
            unit_distance_cost: 1,
            unit_duration_cost: 0,
            profile: 0,
            skills: Skills::NONE,
            reload_depots: vec![0],
            max_trips: 2,
            breaks: Vec::new(),
            overtime_after: UNLIMITED,
            unit_overtime_cost: 0,
            balance: Default::default(),
            on_board: None,
        }],
        profiles: vec![Profile { name: "car".into(), distance: m.clone(), duration: m, congestion: Default::default() }],
        dimensions: 1,
        skill_names: vec![],
        backhaul_precedence: false,
        stability: Default::default(),
        groups: Vec::new(),
        pairs,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn reports_the_pair_violation_a_mutation_introduces(
        spots in prop::collection::vec((0u8..=100, 0u8..=100), 2..=8).prop_map(|mut v| { v.truncate(v.len() / 2 * 2); v }),
        amounts in prop::collection::vec(1i64..=9, 4),
        mutation in 0usize..5,
        pick in any::<prop::sample::Index>(),
    ) {
        let data = pair_instance(&spots, &amounts, 2);
        let n_pairs = data.pairs.len();
        let k = pick.index(n_pairs);
        let (pk, dk) = (2 * k, 2 * k + 1);
        let mut s = Solution { routes: (0..n_pairs).map(|j| Route::single(0, 0, vec![2 * j, 2 * j + 1])).collect(), unassigned: vec![] };
        let valid = check(&problem(data.clone()), &s);
        prop_assert!(valid.is_feasible(), "{:?}", valid.violations);
        prop_assert_eq!(valid.routes[k].max_loads.clone(), vec![vec![amounts[k]]]);
        let mut data = data;
        let code = match mutation {
            0 => {
                s.routes[k].trips[0].visits = vec![dk, pk];
                "pair_order"
            }
            1 => {
                s.routes[k].trips[0].visits = vec![pk];
                s.routes.push(Route::single(0, 0, vec![dk]));
                data.vehicle_types[0].count += 1;
                "pair_split"
            }
            2 => {
                s.routes[k].trips = vec![Trip { depot: 0, visits: vec![pk] }, Trip { depot: 0, visits: vec![dk] }];
                "pair_split"
            }
            3 => {
                for c in &mut data.clients {
                    c.required = false;
                }
                s.routes[k].trips[0].visits = vec![pk];
                "pair_incomplete"
            }
            _ => {
                // Validation refuses a required pair over every capacity: make them optional.
                for c in &mut data.clients {
                    c.required = false;
                }
                data.vehicle_types[0].capacity = vec![amounts[k] - 1];
                "capacity"
            }
        };
        let report = check(&problem(data), &s);
        prop_assert!(codes(&report).contains(&code), "expected {} in {:?}", code, report.violations);
    }
}
