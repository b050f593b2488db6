//! Hand-checked cases: one valid solution of the tiny problem, then the same solution broken in
//! exactly one way per violation kind, and schedules worked out on paper.
//!
//! The tiny problem: depot 0 at (0,0); clients 0, 1, 2 at (3,4), (6,8), (-3,-4) (locations 1-3),
//! so depot-c0 = 5, depot-c1 = 10, depot-c2 = 5, c0-c1 = 5, c0-c2 = 10, c1-c2 = 15; durations
//! equal distances; service 1, delivery 4, windows [0, 100]; two vehicles of capacity 10.

use super::*;
use crate::error::ModelError;
use crate::io::rounding::{euclidean_matrix, Rounding};
use crate::model::{Depot, Location, ProblemData, Skills, TimeWindow};
use crate::solution::{Trip, Unassigned, UnassignedReason};
use crate::test_support::tiny_problem_data;

fn problem(data: ProblemData) -> Problem {
    Problem::new(data).expect("test problem is valid")
}

/// Single-trip routes of vehicle type 0 from depot 0.
fn routes(visits: &[&[usize]]) -> Solution {
    Solution { routes: visits.iter().map(|v| Route::single(0, 0, v.to_vec())).collect(), unassigned: vec![] }
}

/// The valid solution of the tiny problem: [c0, c1] and [c2].
fn valid() -> Solution {
    routes(&[&[0, 1], &[2]])
}

/// Tiny, with vehicles allowed two trips reloading at depot 0.
fn multi_trip_data() -> ProblemData {
    let mut d = tiny_problem_data();
    d.vehicle_types[0].max_trips = 2;
    d.vehicle_types[0].reload_depots = vec![0];
    d
}

/// Tiny plus depot 1 at location 4, also at (0,0), so it is 0 away from depot 0 and as far from
/// each client as depot 0.
fn two_depot_data() -> ProblemData {
    let mut d = tiny_problem_data();
    d.locations.push(Location { x: 0.0, y: 0.0 });
    let m = euclidean_matrix(&d.locations, Rounding::Round).unwrap();
    d.profiles[0].distance = m.clone();
    d.profiles[0].duration = m;
    d.depots.push(Depot { name: "d1".into(), location: 4, time_window: TimeWindow::new(0, 1000), reload_duration: 0 });
    d
}

fn trip(depot: usize, visits: &[usize]) -> Trip {
    Trip { depot, visits: visits.to_vec() }
}

fn assert_only(report: &CheckReport, expected: Violation) {
    assert_eq!(report.violations, vec![expected]);
}

#[test]
fn accepts_the_valid_solution_and_recomputes_its_cost() {
    let report = check(&problem(tiny_problem_data()), &valid());
    assert!(report.is_feasible(), "{:?}", report.violations);
    assert_eq!(
        report.routes[0],
        RouteReport { distance: 20, duration: 22, start: 0, end: 22, arrivals: vec![vec![5, 11]], max_loads: vec![vec![8]], breaks: vec![] }
    );
    assert_eq!(
        report.routes[1],
        RouteReport { distance: 10, duration: 11, start: 0, end: 11, arrivals: vec![vec![5]], max_loads: vec![vec![4]], breaks: vec![] }
    );
    assert_eq!(report.cost.distance, 30);
    assert_eq!(report.cost.total, 30);
}

#[test]
fn breaks_down_fixed_distance_duration_and_prize_costs() {
    let mut d = tiny_problem_data();
    d.vehicle_types[0].fixed_cost = 100;
    d.vehicle_types[0].unit_duration_cost = 2;
    d.clients[2].required = false;
    d.clients[2].prize = 7;
    let mut s = routes(&[&[0, 1]]);
    s.unassigned.push(Unassigned { client: 2, reason: UnassignedReason::NotWorthPrize });
    let report = check(&problem(d), &s);
    assert!(report.is_feasible(), "{:?}", report.violations);
    // Distance 5 + 5 + 10 = 20; back at 5 + 1 + 5 + 1 + 10 = 22.
    let expected = CostBreakdown {
        distance: 20,
        duration: 22,
        fixed_cost: 100,
        distance_cost: 20,
        duration_cost: 44,
        overtime_cost: 0,
        balance_cost: 0,
        move_cost: 0,
        uncollected_prizes: 7,
        total: 171,
    };
    assert_eq!(report.cost, expected);
}

#[test]
fn collects_no_prize_loss_for_a_visited_optional_client() {
    let mut d = tiny_problem_data();
    d.clients[2].required = false;
    d.clients[2].prize = 7;
    let report = check(&problem(d), &valid());
    assert_eq!(report.cost.uncollected_prizes, 0);
    assert_eq!(report.cost.total, 30);
}

#[test]
fn delays_the_start_to_absorb_waiting() {
    let mut d = tiny_problem_data();
    d.clients[0].time_windows = vec![TimeWindow::new(20, 100)];
    let report = check(&problem(d), &routes(&[&[0], &[1, 2]]));
    assert!(report.is_feasible(), "{:?}", report.violations);
    // Earliest: leave 0, arrive 5, wait 15, serve 20, back 26. Leaving at 15 ends at 26 too.
    assert_eq!(
        report.routes[0],
        RouteReport { distance: 10, duration: 11, start: 15, end: 26, arrivals: vec![vec![20]], max_loads: vec![vec![4]], breaks: vec![] }
    );
}

#[test]
fn caps_the_start_delay_by_forward_time_slack() {
    let mut d = tiny_problem_data();
    d.clients[0].time_windows = vec![TimeWindow::new(0, 6)];
    d.clients[1].time_windows = vec![TimeWindow::new(30, 100)];
    let report = check(&problem(d), &valid());
    assert!(report.is_feasible(), "{:?}", report.violations);
    // c0 at 5 (slack 1), c1 arrives 11 and waits 19 until 30, back at 41. Only 1 of the 19
    // waiting units can be moved before the start without missing c0's window.
    assert_eq!(
        report.routes[0],
        RouteReport { distance: 20, duration: 40, start: 1, end: 41, arrivals: vec![vec![6, 30]], max_loads: vec![vec![8]], breaks: vec![] }
    );
}

#[test]
fn keeps_the_delayed_departure_within_start_depot_hours() {
    let mut d = two_depot_data();
    d.depots[0].time_window = TimeWindow::new(0, 3);
    d.vehicle_types[0].end_depot = 1;
    d.clients[0].time_windows = vec![TimeWindow::new(20, 100)];
    let report = check(&problem(d), &routes(&[&[0, 1], &[2]]));
    assert!(report.is_feasible(), "{:?}", report.violations);
    // Arrive c0 at 5, wait 15, serve 20, c1 at 26, back at 37; the depot closes at 3.
    assert_eq!(report.routes[0].start, 3);
    assert_eq!(report.routes[0].duration, 34);
    assert_eq!(report.routes[0].arrivals, vec![vec![20, 26]]);
}

#[test]
fn serves_in_the_first_window_that_is_still_open() {
    let mut d = tiny_problem_data();
    d.clients[0].time_windows = vec![TimeWindow::new(0, 2), TimeWindow::new(10, 100)];
    let report = check(&problem(d), &valid());
    assert!(report.is_feasible(), "{:?}", report.violations);
    // Arrives at 5, after the first window: waits for the second until 10.
    assert_eq!(report.routes[0].arrivals, vec![vec![10, 16]]);
    assert_eq!(report.routes[0].start, 5);
    assert_eq!(report.routes[0].duration, 22);
}

#[test]
fn simulates_multi_trip_with_reload_and_release_time() {
    let mut d = multi_trip_data();
    d.depots[0].reload_duration = 3;
    d.clients[2].release_time = 40;
    let s = Solution { routes: vec![Route { vehicle_type: 0, trips: vec![trip(0, &[0, 1]), trip(0, &[2])], breaks: vec![] }], unassigned: vec![] };
    let report = check(&problem(d), &s);
    assert!(report.is_feasible(), "{:?}", report.violations);
    // Earliest: c0 5, c1 11, depot 22, reloaded 25, c2 released at 40, c2 45, back 51. The 15
    // units waited at the depot move to the start.
    assert_eq!(
        report.routes[0],
        RouteReport {
            distance: 30,
            duration: 36,
            start: 15,
            end: 51,
            arrivals: vec![vec![20, 26], vec![45]],
            max_loads: vec![vec![8], vec![4]],
            breaks: vec![]
        }
    );
}

#[test]
fn reports_capacity_excess_with_pickups() {
    let mut d = tiny_problem_data();
    d.clients[0].pickup = vec![8];
    let report = check(&problem(d), &valid());
    // Leaves with 8, after c0 8 - 4 + 8 = 12, after c1 8: the peak is mid-route.
    assert_only(&report, Violation::Capacity { route: 0, trip: 0, dimension: 0, max_load: 12, capacity: 10 });
    assert_eq!(report.routes[0].max_loads, vec![vec![12]]);
}

#[test]
fn tracks_a_mid_route_load_peak_within_capacity() {
    let mut d = tiny_problem_data();
    d.clients[0].pickup = vec![5];
    let report = check(&problem(d), &valid());
    assert!(report.is_feasible(), "{:?}", report.violations);
    assert_eq!(report.routes[0].max_loads, vec![vec![9]]);
}

#[test]
fn reports_capacity_excess_at_departure() {
    let mut d = tiny_problem_data();
    d.clients[1].delivery = vec![7];
    let report = check(&problem(d), &valid());
    assert_only(&report, Violation::Capacity { route: 0, trip: 0, dimension: 0, max_load: 11, capacity: 10 });
}

#[test]
fn reports_a_missing_required_client() {
    let report = check(&problem(tiny_problem_data()), &routes(&[&[0, 1]]));
    assert_only(&report, Violation::MissingClient { client: 2 });
}

#[test]
fn reports_a_duplicate_client_with_its_count() {
    let report = check(&problem(tiny_problem_data()), &routes(&[&[0, 1], &[2, 0]]));
    assert_only(&report, Violation::DuplicateClient { client: 0, count: 2 });
}

#[test]
fn reports_an_unknown_client_in_a_route_and_skips_its_simulation() {
    let report = check(&problem(tiny_problem_data()), &routes(&[&[0, 1], &[2, 7]]));
    assert_only(&report, Violation::UnknownClient { route: Some(1), client: 7 });
    assert_eq!(report.routes[1], RouteReport::default());
}

#[test]
fn reports_an_unknown_client_in_the_unassigned_list() {
    let mut s = valid();
    s.unassigned.push(Unassigned { client: 9, reason: UnassignedReason::NoFeasibleRoute });
    assert_only(&check(&problem(tiny_problem_data()), &s), Violation::UnknownClient { route: None, client: 9 });
}

#[test]
fn reports_an_unknown_vehicle_type() {
    let mut s = valid();
    s.routes[1].vehicle_type = 5;
    assert_only(&check(&problem(tiny_problem_data()), &s), Violation::UnknownVehicleType { route: 1, vehicle_type: 5 });
}

#[test]
fn reports_an_unknown_depot() {
    let s = Solution { routes: vec![Route { vehicle_type: 0, trips: vec![trip(0, &[0, 1]), trip(9, &[2])], breaks: vec![] }], unassigned: vec![] };
    let report = check(&problem(multi_trip_data()), &s);
    assert_only(&report, Violation::UnknownDepot { route: 0, trip: 1, depot: 9 });
}

#[test]
fn reports_a_client_both_visited_and_unassigned() {
    let mut s = valid();
    s.unassigned.push(Unassigned { client: 2, reason: UnassignedReason::NoFeasibleRoute });
    assert_only(&check(&problem(tiny_problem_data()), &s), Violation::UnassignedButVisited { client: 2 });
}

#[test]
fn reports_an_empty_route() {
    let mut s = valid();
    s.routes.push(Route::single(0, 0, vec![]));
    let report = check(&problem(tiny_problem_data()), &s);
    assert_only(&report, Violation::EmptyRoute { route: 2 });
    assert_eq!(report.cost.total, 30);
}

#[test]
fn reports_a_route_with_no_trip_as_empty() {
    let mut s = valid();
    s.routes.push(Route { vehicle_type: 0, trips: vec![], breaks: vec![] });
    assert_only(&check(&problem(tiny_problem_data()), &s), Violation::EmptyRoute { route: 2 });
}

#[test]
fn accepts_an_empty_trip_among_others_as_a_stay_at_the_depot() {
    let s = Solution {
        routes: vec![Route { vehicle_type: 0, trips: vec![trip(0, &[0, 1]), trip(0, &[])], breaks: vec![] }, Route::single(0, 0, vec![2])],
        unassigned: vec![],
    };
    let report = check(&problem(multi_trip_data()), &s);
    assert!(report.is_feasible(), "{:?}", report.violations);
    assert_eq!(report.routes[0].distance, 20);
}

#[test]
fn reports_more_routes_than_vehicles() {
    let report = check(&problem(tiny_problem_data()), &routes(&[&[0], &[1], &[2]]));
    assert_only(&report, Violation::FleetSize { vehicle_type: 0, routes: 3, count: 2 });
}

#[test]
fn reports_more_trips_than_allowed() {
    let mut d = tiny_problem_data();
    d.vehicle_types[0].reload_depots = vec![0];
    let s = Solution {
        routes: vec![Route { vehicle_type: 0, trips: vec![trip(0, &[0]), trip(0, &[1])], breaks: vec![] }, Route::single(0, 0, vec![2])],
        unassigned: vec![],
    };
    assert_only(&check(&problem(d), &s), Violation::TooManyTrips { route: 0, trips: 2, max: 1 });
}

#[test]
fn reports_a_first_trip_from_the_wrong_depot() {
    let mut s = valid();
    s.routes[0].trips[0].depot = 1;
    assert_only(&check(&problem(two_depot_data()), &s), Violation::BadTripDepot { route: 0, trip: 0, depot: 1 });
}

#[test]
fn reports_a_reload_at_a_depot_the_type_cannot_use() {
    let mut d = two_depot_data();
    d.vehicle_types[0].max_trips = 2;
    d.vehicle_types[0].reload_depots = vec![0];
    let s = Solution { routes: vec![Route { vehicle_type: 0, trips: vec![trip(0, &[0, 1]), trip(1, &[2])], breaks: vec![] }], unassigned: vec![] };
    assert_only(&check(&problem(d), &s), Violation::BadTripDepot { route: 0, trip: 1, depot: 1 });
}

#[test]
fn reports_a_closed_time_window() {
    let mut d = tiny_problem_data();
    d.clients[1].time_windows = vec![TimeWindow::new(0, 10)];
    let report = check(&problem(d), &valid());
    assert_only(&report, Violation::TimeWindow { route: 0, client: 1, arrival: 11, late: 10 });
    // A late route is not delayed.
    assert_eq!(report.routes[0].start, 0);
}

#[test]
fn reports_a_late_return() {
    let mut d = tiny_problem_data();
    d.vehicle_types[0].shift = TimeWindow::new(0, 21);
    assert_only(&check(&problem(d), &valid()), Violation::Shift { route: 0, end: 22, latest: 21 });
}

#[test]
fn reports_a_return_after_the_end_depot_closes() {
    let mut d = tiny_problem_data();
    d.depots[0].time_window = TimeWindow::new(0, 21);
    assert_only(&check(&problem(d), &valid()), Violation::Shift { route: 0, end: 22, latest: 21 });
}

#[test]
fn reports_a_reload_after_the_depot_closes() {
    let mut d = two_depot_data();
    d.depots[1].time_window = TimeWindow::new(0, 15);
    d.vehicle_types[0].max_trips = 2;
    d.vehicle_types[0].reload_depots = vec![1];
    let s = Solution { routes: vec![Route { vehicle_type: 0, trips: vec![trip(0, &[0, 1]), trip(1, &[2])], breaks: vec![] }], unassigned: vec![] };
    assert_only(&check(&problem(d), &s), Violation::ReloadWindow { route: 0, trip: 1, depot: 1, arrival: 22, late: 15 });
}

#[test]
fn reports_a_release_time_after_the_start_depot_closes() {
    let mut d = two_depot_data();
    d.depots[0].time_window = TimeWindow::new(0, 10);
    d.vehicle_types[0].end_depot = 1;
    d.clients[2].release_time = 20;
    assert_only(&check(&problem(d), &valid()), Violation::ReleaseTime { route: 1, trip: 0, departure: 20, latest: 10 });
}

#[test]
fn reports_a_release_time_after_the_reload_depot_closes() {
    let mut d = two_depot_data();
    d.depots[1].time_window = TimeWindow::new(0, 30);
    d.vehicle_types[0].max_trips = 2;
    d.vehicle_types[0].reload_depots = vec![1];
    d.clients[2].release_time = 35;
    let s = Solution { routes: vec![Route { vehicle_type: 0, trips: vec![trip(0, &[0, 1]), trip(1, &[2])], breaks: vec![] }], unassigned: vec![] };
    assert_only(&check(&problem(d), &s), Violation::ReleaseTime { route: 0, trip: 1, departure: 35, latest: 30 });
}

#[test]
fn reports_a_route_longer_than_max_duration() {
    let mut d = tiny_problem_data();
    d.vehicle_types[0].max_duration = 21;
    assert_only(&check(&problem(d), &valid()), Violation::MaxDuration { route: 0, duration: 22, max: 21 });
}

#[test]
fn measures_max_duration_after_delaying_the_start() {
    let mut d = tiny_problem_data();
    d.clients[1].time_windows = vec![TimeWindow::new(30, 100)];
    d.vehicle_types[0].max_duration = 22;
    // Waiting 19 at c1 moves to the start: 22 long, not 41.
    assert!(check(&problem(d), &valid()).is_feasible());
}

#[test]
fn reports_a_route_longer_than_max_distance() {
    let mut d = tiny_problem_data();
    d.vehicle_types[0].max_distance = 25;
    assert_only(&check(&problem(d), &routes(&[&[1, 2], &[0]])), Violation::MaxDistance { route: 0, distance: 30, max: 25 });
}

#[test]
fn reports_a_vehicle_without_a_needed_skill() {
    let mut d = tiny_problem_data();
    d.skill_names = vec!["hazmat".into()];
    d.clients[0].skills = Skills::NONE.with(0);
    let mut skilled = d.vehicle_types[0].clone();
    skilled.skills = Skills::NONE.with(0);
    d.vehicle_types.push(skilled);
    let p = problem(d);
    let mut s = valid();
    s.routes[0].vehicle_type = 1;
    assert!(check(&p, &s).is_feasible());
    s.routes[0].vehicle_type = 0;
    assert_only(&check(&p, &s), Violation::Skills { route: 0, client: 0 });
}

#[test]
fn reports_a_delivery_after_a_backhaul() {
    let mut d = tiny_problem_data();
    d.backhaul_precedence = true;
    d.clients[2].delivery = vec![0];
    d.clients[2].pickup = vec![3];
    let p = problem(d);
    assert!(check(&p, &routes(&[&[0, 1, 2]])).is_feasible());
    assert_only(&check(&p, &routes(&[&[0, 2, 1]])), Violation::Backhaul { route: 0, trip: 0, client: 1 });
}

#[test]
fn reports_a_trip_starting_with_a_backhaul() {
    let mut d = tiny_problem_data();
    d.backhaul_precedence = true;
    d.clients[2].delivery = vec![0];
    d.clients[2].pickup = vec![3];
    assert_only(&check(&problem(d), &valid()), Violation::Backhaul { route: 1, trip: 0, client: 2 });
}

#[test]
fn reports_every_violation_not_just_the_first() {
    let mut d = tiny_problem_data();
    d.clients[1].delivery = vec![7];
    d.clients[1].time_windows = vec![TimeWindow::new(0, 10)];
    let mut s = routes(&[&[0, 1], &[0]]);
    s.unassigned.push(Unassigned { client: 0, reason: UnassignedReason::NoFeasibleRoute });
    let codes: Vec<_> = check(&problem(d), &s).violations.iter().map(Violation::code).collect();
    assert_eq!(codes, ["capacity", "time_window", "duplicate_client", "missing_client", "unassigned_but_visited"]);
}

#[test]
fn survives_garbage_without_panicking() {
    let p = problem(multi_trip_data());
    let s = Solution {
        routes: vec![
            Route { vehicle_type: usize::MAX, trips: vec![trip(usize::MAX, &[usize::MAX, 0])], breaks: vec![] },
            Route { vehicle_type: 0, trips: vec![trip(usize::MAX, &[1]), trip(usize::MAX, &[]), trip(0, &[2, 2, 2])], breaks: vec![] },
            Route { vehicle_type: 0, trips: vec![], breaks: vec![] },
        ],
        unassigned: vec![Unassigned { client: usize::MAX, reason: UnassignedReason::Capacity }],
    };
    let report = check(&p, &s);
    assert!(!report.is_feasible());
    assert_eq!(report.routes.len(), 3);
    for v in &report.violations {
        assert!(!v.to_string().is_empty());
    }

    // Huge but valid numbers saturate instead of overflowing.
    let mut d = tiny_problem_data();
    d.vehicle_types[0].fixed_cost = i64::MAX;
    d.vehicle_types[0].unit_distance_cost = i64::MAX;
    d.vehicle_types[0].unit_duration_cost = i64::MAX;
    d.clients[0].service_duration = i64::MAX / 2;
    d.clients[0].time_windows = vec![TimeWindow::new(0, i64::MAX)];
    d.clients[1].time_windows = vec![TimeWindow::new(0, i64::MAX)];
    d.clients[1].pickup = vec![i64::MAX];
    let report = check(&problem_with_huge_limits(d), &valid());
    assert_eq!(report.cost.total, i64::MAX);
}

/// Builds the huge-numbers problem: the shift and depot must stay open long enough for
/// validation, which serves each required client alone.
fn problem_with_huge_limits(mut d: ProblemData) -> Problem {
    d.vehicle_types[0].shift = TimeWindow::new(0, i64::MAX);
    d.depots[0].time_window = TimeWindow::new(0, i64::MAX);
    d.vehicle_types[0].max_duration = i64::MAX;
    d.clients[1].required = false;
    problem(d)
}

#[test]
fn serializes_violations_with_their_code() {
    let v = Violation::Capacity { route: 1, trip: 0, dimension: 0, max_load: 12, capacity: 10 };
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["code"], v.code());
    assert_eq!(json["max_load"], 12);
    let report = check(&problem(tiny_problem_data()), &routes(&[&[0, 1]]));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["violations"][0]["code"], "missing_client");
    assert_eq!(json["cost"]["total"], 20);
}

#[test]
fn names_route_client_and_numbers_in_messages() {
    let v = Violation::TimeWindow { route: 3, client: 7, arrival: 11, late: 10 };
    assert_eq!(v.to_string(), "route 3 reaches client 7 at 11, after its last time window closes at 10");
    assert_eq!(Violation::MissingClient { client: 2 }.to_string(), "required client 2 is visited by no route");
}

/// Tiny, with clients 0 and 2 one customer at two addresses (a required group).
fn grouped_data() -> ProblemData {
    let mut d = tiny_problem_data();
    d.clients[0].required = false;
    d.clients[2].required = false;
    d.groups = vec![crate::model::Group { clients: vec![0, 2], required: true }];
    d
}

#[test]
fn serves_a_required_group_once_at_any_of_its_clients() {
    let p = problem(grouped_data());
    for visits in [&[&[0usize, 1][..]][..], &[&[1], &[2]]] {
        let mut s = routes(visits);
        s.unassigned =
            (0..3).filter(|c| !visits.iter().any(|v| v.contains(c))).map(|client| Unassigned { client, reason: UnassignedReason::GroupServed }).collect();
        let report = check(&p, &s);
        assert!(report.violations.is_empty(), "{visits:?}: {:?}", report.violations);
    }
    assert_only(&check(&p, &routes(&[&[1]])), Violation::MissingGroup { group: 0 });
    assert_only(&check(&p, &valid()), Violation::GroupServedTwice { group: 0, count: 2 });
    assert_eq!(Violation::MissingGroup { group: 0 }.to_string(), "required group 0: none of its clients is visited");
}

#[test]
fn refuses_malformed_groups() {
    let mut d = grouped_data();
    d.clients[2].required = true;
    assert!(matches!(Problem::new(d), Err(ModelError::BadGroup { .. })));
    let mut d = grouped_data();
    d.groups.push(crate::model::Group { clients: vec![2], required: false });
    assert!(matches!(Problem::new(d), Err(ModelError::BadGroup { .. })));
    let mut d = grouped_data();
    d.groups[0].clients.push(7);
    assert!(matches!(Problem::new(d), Err(ModelError::BadGroup { .. })));
    // A required group no vehicle can serve at any of its addresses.
    let mut d = grouped_data();
    d.clients[0].delivery[0] = 1000;
    d.clients[2].delivery[0] = 1000;
    assert!(matches!(Problem::new(d), Err(ModelError::UnservableGroup { group: 0, .. })));
}

/// Tiny with roads at half speed from 0 to 10 and c0 opening at 20.
fn rush_hour_data() -> ProblemData {
    use crate::model::{Congestion, SpeedBand};
    let mut d = tiny_problem_data();
    d.profiles[0].congestion = Congestion::new(vec![SpeedBand { from: 0, to: 10, speed_percent: 50 }]).unwrap();
    d.clients[0].time_windows = vec![TimeWindow::new(20, 100)];
    d
}

#[test]
fn times_a_route_in_rush_hours_and_leaves_as_late_as_the_speeds_allow() {
    // Leaving at 0, the 5 to c0 take 10 at half speed: there at 10, waits to 20, c1 at 26, back
    // at 37. Leaving after the rush, the leg takes 5, so the latest departure that keeps the
    // return is 15 (the forward time slack of free flow would say 10).
    let p = problem(rush_hour_data());
    let report = check(&p, &routes(&[&[0, 1], &[2]]));
    assert!(report.is_feasible(), "{:?}", report.violations);
    let r = &report.routes[0];
    assert_eq!((r.start, r.end, r.duration, r.arrivals.clone()), (15, 37, 22, vec![vec![20, 26]]));
    // [c2] alone: leaving at 0 it is there at 10, back at 16 in free flow; leaving at 1 it
    // would still cover only 4.5 by 10 and be back at 17, so it leaves at 0.
    let r = &report.routes[1];
    assert_eq!((r.start, r.end), (0, 16));
}

#[test]
fn a_rush_hour_that_makes_a_stop_late_is_reported() {
    // c2 closes at 9: reached at 5 in free flow, at 10 in the rush.
    let mut d = rush_hour_data();
    d.clients[2].time_windows = vec![TimeWindow::new(0, 9)];
    let mut free = d.clone();
    free.profiles[0].congestion = Default::default();
    assert!(check(&problem(free), &routes(&[&[0, 1], &[2]])).is_feasible());
    let report = check(&problem(d), &routes(&[&[0, 1], &[2]]));
    assert_only(&report, Violation::TimeWindow { route: 1, client: 2, arrival: 10, late: 9 });
}
