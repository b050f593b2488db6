//! Property tests of replanning: on random days, a plan is made, vehicles get partway through
//! it, then new orders arrive, a customer cancels or a vehicle breaks down, and the day is
//! replanned. Every replan keeps the fixed visits exactly where they were, serves or lists every
//! other client once, and gives routes the independent checker accepts, both as the reduced
//! problem it solved and as the whole day.

use proptest::prelude::*;
use solver::check::check;
use solver::io::rounding::{euclidean_matrix, Rounding};
use solver::model::*;
use solver::replan::{reduce, replan, ReplanInput, Vehicle, VehicleProgress};
use solver::search::{solve, Environment};
use solver::solution::{Route, Solution, Trip, UnassignedReason};
use std::time::Duration as Wall;

struct Gen(u64);

impl Gen {
    fn next(&mut self, m: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % m.max(1)
    }
}

/// A day of `n` clients (the first `n - extra` known at planning time, the last `extra` new
/// orders), one or two capacity dimensions with deliveries and pickups of empties, windows,
/// trucks that may reload, and a lunch break when `breaks`. Feasible by construction: every
/// client alone on a route of its own fits, and there are more vehicles than clients.
fn day(seed: u64, n: usize, dims: usize, breaks: bool) -> ProblemData {
    let mut g = Gen(seed ^ 0x9E37_79B9);
    let mut locations = vec![Location { x: 50.0, y: 50.0 }];
    for _ in 0..n {
        locations.push(Location { x: g.next(100) as f64, y: g.next(100) as f64 });
    }
    let m = euclidean_matrix(&locations, Rounding::Round).unwrap();
    let horizon = 2_000;
    let clients = (0..n)
        .map(|i| {
            let reach = m.get(0, i + 1);
            let early = g.next(600) as i64;
            Client {
                name: format!("c{i}"),
                location: i + 1,
                delivery: (0..dims).map(|_| 1 + g.next(4) as i64).collect(),
                pickup: (0..dims).map(|_| g.next(4) as i64).collect(),
                service_duration: 5 + g.next(10) as i64,
                time_windows: vec![TimeWindow::new(early, (early + 300 + g.next(400) as i64).max(reach + 1))],
                release_time: 0,
                required: true,
                prize: 0,
                skills: Skills::NONE,
            }
        })
        .collect();
    ProblemData {
        name: format!("day-{seed}"),
        locations,
        depots: vec![Depot { name: "depot".into(), location: 0, time_window: TimeWindow::new(0, horizon), reload_duration: 10 }],
        clients,
        vehicle_types: vec![VehicleType {
            name: "truck".into(),
            count: n + 1,
            capacity: vec![12; dims],
            start_depot: 0,
            end_depot: 0,
            shift: TimeWindow::new(0, horizon),
            max_duration: UNLIMITED,
            max_distance: UNLIMITED,
            fixed_cost: 50,
            unit_distance_cost: 1,
            unit_duration_cost: 0,
            profile: 0,
            skills: Skills::NONE,
            reload_depots: vec![0],
            max_trips: 3,
            breaks: if breaks { vec![Break { window: TimeWindow::new(400, 700), duration: 30 }] } else { Vec::new() },
            overtime_after: UNLIMITED,
            unit_overtime_cost: 0,
            balance: Default::default(),
            on_board: None,
        }],
        profiles: vec![Profile { name: "car".into(), distance: m.clone(), duration: m, congestion: Default::default() }],
        dimensions: dims,
        skill_names: vec![],
        backhaul_precedence: false,
        stability: Default::default(),
        groups: Vec::new(),
        pairs: Vec::new(),
    }
}

fn env(seed: u64, iterations: u64) -> Environment {
    Environment { seed, threads: 1, time_limit: Some(Wall::from_secs(30)), max_iterations: Some(iterations), ..Environment::default() }
}

/// The day without client `gone`, and the plan in its indices.
fn cancel(data: &ProblemData, plan: &Solution, gone: usize) -> (ProblemData, Solution) {
    let mut d = data.clone();
    d.clients.remove(gone);
    let map = |c: usize| if c > gone { c - 1 } else { c };
    let routes = plan
        .routes
        .iter()
        .map(|r| Route {
            trips: r.trips.iter().map(|t| Trip { depot: t.depot, visits: t.visits.iter().copied().filter(|&c| c != gone).map(map).collect() }).collect(),
            ..r.clone()
        })
        .collect();
    (d, Solution { routes, unassigned: vec![] })
}

/// Random progress: each route has done some of its visits.
fn progress(g: &mut Gen, plan: &Solution) -> Vec<VehicleProgress> {
    plan.routes.iter().map(|r| VehicleProgress { fixed: g.next(r.visits().count() as u64 + 1) as usize, ..VehicleProgress::default() }).collect()
}

/// Checks a replan of `input` against the rules every replan keeps.
fn assert_replan(input: &ReplanInput, seed: u64) -> Result<solver::replan::Replanned, TestCaseError> {
    let out = replan(input, &env(seed, 20)).map_err(|e| TestCaseError::fail(format!("replan failed: {e}")))?;
    let p = input.problem;
    // Fixed visits stay exactly where they were: same vehicle, same trips, same order.
    for (i, route) in input.plan.routes.iter().enumerate() {
        let fixed = input.progress.get(i).map_or(0, |pr| pr.fixed);
        let planned: Vec<usize> = route.visits().take(fixed).collect();
        let now = out.routes.iter().find(|r| r.vehicle == Vehicle::Plan(i));
        match now {
            Some(r) => {
                prop_assert_eq!(r.route.vehicle_type, route.vehicle_type);
                prop_assert_eq!(r.fixed, fixed);
                prop_assert_eq!(r.route.visits().take(fixed).collect::<Vec<_>>(), planned.clone(), "vehicle {} lost its fixed visits", i);
                // Fixed trips keep their depots.
                let mut left = fixed;
                for (k, trip) in route.trips.iter().enumerate() {
                    if left == 0 {
                        break;
                    }
                    prop_assert_eq!(r.route.trips[k].depot, trip.depot);
                    left = left.saturating_sub(trip.visits.len());
                }
            }
            None => prop_assert_eq!(fixed, 0, "vehicle {} with fixed visits vanished", i),
        }
    }
    // Every client is served once or listed as unassigned.
    let mut seen = vec![0; p.num_clients()];
    for r in &out.routes {
        for c in r.route.visits() {
            seen[c] += 1;
        }
    }
    for u in &out.unassigned {
        seen[u.client] += 1;
    }
    prop_assert!(seen.iter().all(|&k| k == 1), "clients served or listed other than once: {:?}", seen);
    // The reduced problem's solution keeps every rule, at the cost the search reports.
    let reduced = check(&out.reduced.problem, &out.reduced_solution);
    prop_assert!(reduced.is_feasible(), "reduced violations: {:?}", reduced.violations);
    prop_assert!(out.feasible);
    prop_assert_eq!(reduced.cost.total, out.cost, "search and checker disagree on the replan's cost");
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn new_orders_are_added_and_fixed_visits_stay(seed in 0u64..10_000, n in 4usize..20, extra in 1usize..4, dims in 1usize..3, breaks: bool) {
        let mut full = day(seed, n + extra, dims, breaks);
        // Urgent orders: any time today.
        for c in &mut full.clients[n..] {
            c.time_windows = vec![TimeWindow::new(0, 2_000)];
        }
        // The plan knows only the first n clients.
        let mut known = full.clone();
        known.clients.truncate(n);
        let planned = solve(&Problem::new(known).unwrap(), &env(seed, 30));
        prop_assert!(planned.feasible);
        let problem = Problem::new(full).unwrap();
        let mut g = Gen(seed);
        let progress = progress(&mut g, &planned.solution);
        let now = 100 + g.next(300) as i64;
        // Half the days also count announced stops shifted by more than 30.
        let shift_tolerance = (seed % 2 == 0).then_some(30);
        let input = ReplanInput { problem: &problem, plan: &planned.solution, progress: &progress, now, move_cost: 20, announced: &[], shift_tolerance };
        let out = assert_replan(&input, seed)?;
        // The new orders are served (there are spare vehicles and the days are long).
        for c in n..n + extra {
            prop_assert!(out.routes.iter().any(|r| r.route.visits().any(|v| v == c)), "new order {} not served", c);
        }
        // Vehicles not yet out leave no earlier than now (the reduced problem's shifts).
        for (r, route) in out.reduced_solution.routes.iter().enumerate() {
            if let Vehicle::New(_) = out.reduced.vehicle[route.vehicle_type] {
                let start = check(&out.reduced.problem, &out.reduced_solution).routes[r].start;
                prop_assert!(start >= now, "a new vehicle leaves at {} before now {}", start, now);
            }
        }
        // Without delays the whole day, fixed visits and new ones, keeps every rule (but for the
        // planned clients that starting late made unreachable, which are listed).
        let day_report = check(&problem, &out.solution());
        let listed = |c: usize| out.unassigned.iter().any(|u| u.client == c);
        let broken: Vec<_> = day_report.violations.iter().filter(|v| !matches!(v, solver::check::Violation::MissingClient { client } if listed(*client))).collect();
        prop_assert!(broken.is_empty(), "day violations: {:?}", broken);
    }

    #[test]
    fn a_cancelled_order_disappears_and_nothing_else_moves(seed in 0u64..10_000, n in 3usize..18, dims in 1usize..3) {
        let data = day(seed, n, dims, false);
        let planned = solve(&Problem::new(data.clone()).unwrap(), &env(seed, 30));
        prop_assert!(planned.feasible);
        let mut g = Gen(seed ^ 7);
        let progress0 = progress(&mut g, &planned.solution);
        // Cancel a client that is not fixed, if there is one.
        let fixed: Vec<usize> = planned.solution.routes.iter().zip(&progress0).flat_map(|(r, pr)| r.visits().take(pr.fixed).collect::<Vec<_>>()).collect();
        let Some(gone) = (0..n).find(|c| !fixed.contains(c)) else { return Ok(()) };
        let (now_day, plan) = cancel(&data, &planned.solution, gone);
        if now_day.clients.is_empty() {
            return Ok(());
        }
        let problem = Problem::new(now_day).unwrap();
        let input = ReplanInput { problem: &problem, plan: &plan, progress: &progress0, now: 0, move_cost: 1_000_000, announced: &[], shift_tolerance: None };
        let out = assert_replan(&input, seed)?;
        // Moving a stop costs more than any saving here: every stop stays on its vehicle.
        prop_assert!(out.moved.is_empty(), "moved {:?}", out.moved);
        let day_report = check(&problem, &out.solution());
        prop_assert!(day_report.is_feasible(), "day violations: {:?}, unassigned {:?}", day_report.violations, out.unassigned);
    }

    #[test]
    fn a_broken_down_vehicle_keeps_only_what_it_did(seed in 0u64..10_000, n in 3usize..18, dims in 1usize..3, breaks: bool) {
        let data = day(seed, n, dims, breaks);
        let planned = solve(&Problem::new(data.clone()).unwrap(), &env(seed, 30));
        prop_assert!(planned.feasible);
        let problem = Problem::new(data).unwrap();
        let mut g = Gen(seed ^ 11);
        let mut progress = progress(&mut g, &planned.solution);
        let broken = g.next(planned.solution.routes.len() as u64) as usize;
        progress[broken].unavailable_from = Some(0);
        let shift_tolerance = (seed % 2 == 1).then_some(30);
        let input = ReplanInput { problem: &problem, plan: &planned.solution, progress: &progress, now: 0, move_cost: 20, announced: &[], shift_tolerance };
        let out = assert_replan(&input, seed)?;
        let fixed = progress[broken].fixed;
        match out.routes.iter().find(|r| r.vehicle == Vehicle::Plan(broken)) {
            Some(r) => prop_assert_eq!(r.route.visits().count(), fixed, "the broken vehicle took new visits"),
            None => prop_assert_eq!(fixed, 0),
        }
        // Its other stops went to other vehicles (there are spare ones).
        prop_assert!(out.unassigned.is_empty(), "unassigned: {:?}", out.unassigned);
    }
}

#[test]
fn an_out_vehicle_carries_only_its_stock() {
    // One vehicle out with 2 cylinders left and no reload: a third order for it cannot be
    // added to its trip, and the reduced problem says why.
    let mut data = day(5, 6, 1, false);
    for c in &mut data.clients {
        c.delivery = vec![1];
        c.pickup = vec![0];
        c.time_windows = vec![TimeWindow::new(0, 2_000)];
    }
    data.vehicle_types[0].count = 1;
    data.vehicle_types[0].max_trips = 1;
    data.vehicle_types[0].reload_depots = vec![];
    let problem = Problem::new(data).unwrap();
    let plan = Solution { routes: vec![Route::single(0, 0, vec![0, 1, 2, 3])], unassigned: vec![] };
    let progress = [VehicleProgress { fixed: 2, ..VehicleProgress::default() }];
    let input = ReplanInput { problem: &problem, plan: &plan, progress: &progress, now: 0, move_cost: 1_000, announced: &[], shift_tolerance: None };
    let reduced = reduce(&input).unwrap();
    let out_type = &reduced.problem.vehicle_types[0];
    assert_eq!(out_type.on_board.as_ref().unwrap().stock, vec![2], "two deliveries left on board");
    // Clients 4 and 5 are new: the only vehicle has stock for its two planned stops and cannot
    // reload, so the new ones stay unassigned, and the planned ones are served.
    let out = replan(&input, &env(1, 20)).unwrap();
    let route = &out.routes[0].route;
    assert_eq!(route.visits().take(2).collect::<Vec<_>>(), vec![0, 1]);
    let served: Vec<usize> = route.visits().collect();
    assert!(served.contains(&2) && served.contains(&3), "planned stops kept: {served:?}");
    assert_eq!(served.len(), 4, "no new stop without stock: {served:?}");
    let left: Vec<usize> = out.unassigned.iter().map(|u| u.client).collect();
    assert_eq!(left, vec![4, 5]);
    // Delivering a third one on that trip is what the checker calls a stock violation.
    let mut over = out.reduced_solution.clone();
    let k4 = reduced.client.iter().position(|&c| c == 4).unwrap();
    over.routes[0].trips[0].visits.push(k4);
    over.unassigned.retain(|u| u.client != k4);
    let report = check(&reduced.problem, &over);
    assert!(report.violations.iter().any(|v| v.code() == "on_board_stock"), "{:?}", report.violations);
}

#[test]
fn inconsistent_requests_are_refused_not_panicked_on() {
    let problem = Problem::new(day(3, 5, 1, false)).unwrap();
    let plan = Solution { routes: vec![Route::single(0, 0, vec![0, 1, 2])], unassigned: vec![] };
    let ask = |plan: &Solution, progress: &[VehicleProgress]| {
        let input = ReplanInput { problem: &problem, plan, progress, now: 0, move_cost: 0, announced: &[], shift_tolerance: None };
        reduce(&input).err().map(|e| e.to_string())
    };
    let fixed = |k: usize| VehicleProgress { fixed: k, ..VehicleProgress::default() };
    assert!(ask(&plan, &[fixed(4)]).is_some_and(|e| e.contains("4 visits are fixed")));
    assert!(ask(&plan, &[fixed(1), fixed(0)]).is_some_and(|e| e.contains("no such route")));
    let twice = Solution { routes: vec![Route::single(0, 0, vec![0, 1]), Route::single(0, 0, vec![1])], unassigned: vec![] };
    assert!(ask(&twice, &[]).is_some_and(|e| e.contains("client 1 appears twice")));
    let unknown = Solution { routes: vec![Route::single(0, 0, vec![0, 9])], unassigned: vec![] };
    assert!(ask(&unknown, &[]).is_some_and(|e| e.contains("client 9")));
    let no_trip = Solution { routes: vec![Route { vehicle_type: 0, trips: vec![], breaks: vec![] }], unassigned: vec![] };
    assert!(ask(&no_trip, &[]).is_some_and(|e| e.contains("no trip")));
    let bad_type = Solution { routes: vec![Route::single(3, 0, vec![0])], unassigned: vec![] };
    assert!(ask(&bad_type, &[]).is_some_and(|e| e.contains("vehicle type 3")));
    assert!(ask(&plan, &[fixed(3)]).is_none(), "a route done to its end is fine");
}

/// A vehicle that has done every visit (its break planned on the way back to the depot) keeps
/// that break in the replanned day: found by the property test above (seed 8689).
#[test]
fn a_vehicle_done_with_its_visits_keeps_its_break_on_the_way_back() {
    let (seed, n, extra) = (8689u64, 14usize, 2usize);
    let mut full = day(seed, n + extra, 1, true);
    for c in &mut full.clients[n..] {
        c.time_windows = vec![TimeWindow::new(0, 2_000)];
    }
    let mut known = full.clone();
    known.clients.truncate(n);
    let planned = solve(&Problem::new(known).unwrap(), &env(seed, 30));
    let problem = Problem::new(full).unwrap();
    let mut g = Gen(seed);
    let progress = progress(&mut g, &planned.solution);
    let now = 100 + g.next(300) as i64;
    let input = ReplanInput { problem: &problem, plan: &planned.solution, progress: &progress, now, move_cost: 20, announced: &[], shift_tolerance: None };
    let out = replan(&input, &env(seed, 20)).expect("replan");
    assert!(out.routes.iter().any(|r| r.fixed > 0 && r.route.breaks.iter().any(|b| b.after == r.route.trips[b.trip].visits.len())), "{:?}", out.routes);
    let report = check(&problem, &out.solution());
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

/// A vehicle seen on the road (a GPS fix at a place of its own) goes on from there, when it was
/// seen, with what its trip still carries; a position that is not such a place is refused.
#[test]
fn a_vehicle_seen_on_the_road_goes_on_from_there() {
    let mut data = day(42, 6, 1, false);
    for c in &mut data.clients {
        c.time_windows = vec![TimeWindow::new(0, 2_000)];
    }
    // Location 7: where the truck is, between its first stop and the rest.
    data.locations.push(Location { x: 90.0, y: 90.0 });
    let m = euclidean_matrix(&data.locations, Rounding::Round).unwrap();
    data.profiles = vec![Profile { name: "car".into(), distance: m.clone(), duration: m.clone(), congestion: Default::default() }];
    let problem = Problem::new(data).unwrap();
    let plan = Solution { routes: vec![Route::single(0, 0, vec![0, 1, 2]), Route::single(0, 0, vec![3, 4])], unassigned: vec![] };
    let seen_at = 500;
    let progress = [VehicleProgress { fixed: 1, ready_at: Some(seen_at), position: Some(7), ..VehicleProgress::default() }];
    let input = ReplanInput { problem: &problem, plan: &plan, progress: &progress, now: 450, move_cost: 1_000, announced: &[], shift_tolerance: None };
    let reduced = reduce(&input).unwrap();
    let out_type = &reduced.problem.vehicle_types[0];
    let start = &reduced.problem.depots[out_type.start_depot];
    assert_eq!((start.location, start.time_window.early), (7, seen_at), "it leaves from where it was seen, when it was");
    assert_eq!(out_type.on_board.as_ref().unwrap().stock, vec![problem.clients[1].delivery[0] + problem.clients[2].delivery[0]]);

    let out = replan(&input, &env(42, 20)).unwrap();
    let first = &out.routes[0];
    assert_eq!((first.vehicle, first.fixed), (Vehicle::Plan(0), 1));
    assert_eq!(first.route.visits().next(), Some(0), "the fixed visit stays first");
    let report = check(&reduced.problem, &out.reduced_solution);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    let k = out.reduced_solution.routes.iter().position(|r| r.vehicle_type == 0).expect("the seen truck goes on");
    let next = reduced.client[out.reduced_solution.routes[k].trips[0].visits[0]];
    assert_eq!(report.routes[k].arrivals[0][0], seen_at + m.get(7, problem.clients[next].location), "it drives from the fix to its next stop");

    let ask = |progress: &[VehicleProgress]| reduce(&ReplanInput { progress, ..input.clone() }).err().map(|e| e.to_string());
    let at = |position: usize| VehicleProgress { fixed: 1, position: Some(position), ..VehicleProgress::default() };
    assert!(ask(&[at(1)]).is_some_and(|e| e.contains("a client's or a depot's location")));
    assert!(ask(&[at(0)]).is_some_and(|e| e.contains("a client's or a depot's location")));
    assert!(ask(&[at(99)]).is_some_and(|e| e.contains("not a location")));
    assert!(ask(&[at(7), at(7)]).is_some_and(|e| e.contains("another vehicle's")));
}

/// Shifting an announced client's service by more than the tolerance costs the move cost: an
/// urgent order that must come first is then given to a free vehicle rather than put before
/// the announced stops of a vehicle out on its round; without a tolerance it goes first there.
#[test]
fn shifting_announced_arrivals_costs_like_moving_them() {
    let locations = vec![Location { x: 0.0, y: 0.0 }, Location { x: 10.0, y: 0.0 }, Location { x: 20.0, y: 0.0 }, Location { x: 8.0, y: 2.0 }];
    let m = euclidean_matrix(&locations, Rounding::Round).unwrap();
    let client = |i: usize, late: i64| Client {
        name: format!("c{i}"),
        location: i + 1,
        delivery: vec![1],
        pickup: vec![0],
        service_duration: 10,
        time_windows: vec![TimeWindow::new(0, late)],
        release_time: 0,
        required: true,
        prize: 0,
        skills: Skills::NONE,
    };
    let mut data = day(7, 3, 1, false);
    data.locations = locations;
    data.profiles = vec![Profile { name: "car".into(), distance: m.clone(), duration: m, congestion: Default::default() }];
    // The urgent order (client 2) must be served by time 15: only first on a route.
    data.clients = vec![client(0, 1_000), client(1, 1_000), client(2, 15)];
    data.vehicle_types[0].count = 2;
    let problem = Problem::new(data).unwrap();
    let plan = Solution { routes: vec![Route::single(0, 0, vec![0, 1])], unassigned: vec![] };
    let progress = [VehicleProgress::default()];
    let ask = |shift_tolerance| {
        let input = ReplanInput { problem: &problem, plan: &plan, progress: &progress, now: 0, move_cost: 1_000, announced: &[], shift_tolerance };
        let out = replan(&input, &env(7, 50)).unwrap();
        assert!(out.feasible && out.unassigned.is_empty(), "{out:?}");
        let report = check(&out.reduced.problem, &out.reduced_solution);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        assert_eq!(report.cost.total, out.cost, "the search and the checker count the same shifts");
        out.routes.iter().find(|r| r.route.visits().any(|c| c == 2)).map(|r| r.vehicle).expect("the urgent order is served")
    };
    assert_eq!(ask(None), Vehicle::Plan(0), "free to shift, it goes first on the truck already out");
    assert_eq!(ask(Some(5)), Vehicle::New(0), "shifting two announced stops by 10 or more costs more than a second truck");
    // The checker counts a shift beyond the tolerance, and only on the announced vehicle type.
    let input = ReplanInput { problem: &problem, plan: &plan, progress: &progress, now: 0, move_cost: 1_000, announced: &[], shift_tolerance: Some(5) };
    let reduced = reduce(&input).unwrap();
    let k = |c: usize| reduced.client.iter().position(|&x| x == c).unwrap();
    let first = Solution { routes: vec![Route::single(0, 0, vec![k(2), k(0), k(1)])], unassigned: vec![] };
    let report = check(&reduced.problem, &first);
    assert_eq!(report.cost.move_cost, 2_000, "{:?}", report.cost);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    /// The latency budget never cuts the repair of the warm start: when every vehicle is late
    /// (ready only well into the day, nothing done yet), so the plan's routes break their
    /// windows, a replan given no time at all still returns a feasible plan that leaves out
    /// only what cannot fit.
    #[test]
    fn a_late_plan_is_repaired_whatever_the_time_budget(seed in 0u64..10_000, n in 4usize..20, dims in 1usize..3) {
        let problem = Problem::new(day(seed, n, dims, false)).unwrap();
        let planned = solve(&problem, &env(seed, 30));
        prop_assert!(planned.feasible);
        let late: Vec<VehicleProgress> = planned.solution.routes.iter().map(|_| VehicleProgress { ready_at: Some(250), ..VehicleProgress::default() }).collect();
        let input = ReplanInput { problem: &problem, plan: &planned.solution, progress: &late, now: 250, move_cost: 20, announced: &[], shift_tolerance: None };
        let no_time = Environment { seed, threads: 1, time_limit: Some(Wall::ZERO), max_iterations: None, ..Environment::default() };
        let a = replan(&input, &no_time).unwrap();
        prop_assert!(a.feasible);
        prop_assert_eq!(a.iterations, 0);
        // Only clients no vehicle leaving at 250 can reach in their window are left out.
        for u in &a.unassigned {
            let c = &problem.clients[u.client];
            let reach = 250 + problem.duration(0, 0, c.location);
            prop_assert!(c.time_windows.iter().all(|w| reach > w.late), "client {} left out though reachable at {}: {:?}", u.client, reach, u.reason);
        }
    }
}

/// [`day`] with its clients cut into required groups of one to three consecutive clients (one
/// customer's alternative addresses).
fn grouped_day(seed: u64, n: usize) -> ProblemData {
    let mut d = day(seed, n, 1, false);
    let mut c = 0;
    while c < n {
        let members: Vec<usize> = (c..(c + 1 + (seed as usize + c) % 3).min(n)).collect();
        for &m in &members {
            d.clients[m].required = false;
            d.clients[m].prize = 0;
        }
        c += members.len();
        d.groups.push(Group { clients: members, required: true });
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_group_served_before_the_replan_is_not_served_again(seed in 0u64..10_000, n in 3usize..18) {
        let data = grouped_day(seed, n);
        let problem = Problem::new(data).unwrap();
        let planned = solve(&problem, &env(seed, 30));
        prop_assert!(planned.feasible);
        let mut g = Gen(seed ^ 5);
        let progress = progress(&mut g, &planned.solution);
        let input = ReplanInput { problem: &problem, plan: &planned.solution, progress: &progress, now: 0, move_cost: 20, announced: &[], shift_tolerance: None };
        let out = assert_replan(&input, seed)?;
        let served: Vec<usize> = out.routes.iter().flat_map(|r| r.route.visits()).collect();
        for grp in &problem.groups {
            let k = grp.clients.iter().filter(|c| served.contains(c)).count();
            prop_assert_eq!(k, 1, "group {:?} served {} times in the replanned day", grp.clients, k);
        }
        for u in &out.unassigned {
            prop_assert_eq!(u.reason, UnassignedReason::GroupServed, "client {} left out for {:?}", u.client, u.reason);
        }
    }
}
