//! Property tests of the constraints that segments only bound and the search times exactly:
//! driver breaks, clients with several time windows, overtime and rush hours (time-dependent
//! travel). On random instances every
//! solution the solver returns is accepted by the independent checker at the search's cost, and
//! breaking one of these rules in a returned solution is reported by the checker with its code.

use proptest::prelude::*;
use solver::check::{check, Violation};
use solver::io::rounding::{euclidean_matrix, Rounding};
use solver::model::*;
use solver::search::{solve, Environment};
use std::time::Duration;

/// A random instance, feasible by construction (every client alone on its own route keeps its
/// first window, and there are as many vehicles as clients), where vehicles of the first type
/// take a break of 20 to 60 starting between 150 and 300 (every route out past 300 needs it),
/// some clients have a second window, routes longer than 250 pay overtime, and with `rush` roads
/// are slower in two random bands of the day (windows then open after the slowed reach).
fn instance(seed: u64, n: usize, two_windows: bool, overtime: bool, rush: bool) -> Problem {
    let mut x = seed;
    let mut next = |m: u64| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) % m.max(1)
    };
    let mut locations = vec![Location { x: 50.0, y: 50.0 }];
    for _ in 0..n {
        locations.push(Location { x: next(100) as f64, y: next(100) as f64 });
    }
    let m = euclidean_matrix(&locations, Rounding::Round).unwrap();
    let congestion = if rush {
        let first = next(200) as i64;
        let first_end = first + 50 + next(200) as i64;
        let second = first_end + 50 + next(300) as i64;
        Congestion::new(vec![
            SpeedBand { from: first, to: first_end, speed_percent: 20 + next(70) as u32 },
            SpeedBand { from: second, to: second + 50 + next(300) as i64, speed_percent: 20 + next(70) as u32 },
        ])
        .expect("valid bands")
    } else {
        Congestion::default()
    };
    let clients = (0..n)
        .map(|i| {
            let reach = congestion.arrival(0, m.get(0, i + 1));
            let e = reach + next(200) as i64;
            let l = e + 20 + next(100) as i64;
            let mut time_windows = vec![TimeWindow::new(e, l)];
            if two_windows && next(2) == 0 {
                let e2 = l + 50 + next(200) as i64;
                time_windows.push(TimeWindow::new(e2, e2 + 20 + next(100) as i64));
            }
            Client {
                name: format!("c{i}"),
                location: i + 1,
                delivery: vec![1 + next(5) as i64],
                pickup: vec![0],
                service_duration: next(15) as i64,
                time_windows,
                release_time: 0,
                required: next(6) != 0,
                prize: 10 + next(100) as i64,
                skills: Skills::NONE,
            }
        })
        .collect();
    let vt = |name: &str, breaks: Vec<Break>| VehicleType {
        name: name.into(),
        count: n,
        capacity: vec![15],
        start_depot: 0,
        end_depot: 0,
        shift: TimeWindow::new(0, 1500),
        max_duration: UNLIMITED,
        max_distance: UNLIMITED,
        fixed_cost: 5,
        unit_distance_cost: 1,
        unit_duration_cost: (seed % 2) as i64,
        profile: 0,
        skills: Skills::NONE,
        reload_depots: vec![],
        max_trips: 1,
        breaks,
        overtime_after: if overtime { 250 } else { UNLIMITED },
        unit_overtime_cost: if overtime { 2 } else { 0 },
        balance: Default::default(),
        on_board: None,
    };
    let lunch = Break { window: TimeWindow::new(150, 300), duration: 20 + next(40) as i64 };
    let data = ProblemData {
        name: format!("breaks-{seed}"),
        locations,
        depots: vec![Depot { name: "depot".into(), location: 0, time_window: TimeWindow::new(0, 1500), reload_duration: 0 }],
        clients,
        vehicle_types: vec![vt("with lunch", vec![lunch]), vt("without", vec![])],
        profiles: vec![Profile { name: "car".into(), distance: m.clone(), duration: m, congestion }],
        dimensions: 1,
        skill_names: vec![],
        backhaul_precedence: false,
        stability: Default::default(),
        groups: Vec::new(),
        pairs: Vec::new(),
    };
    Problem::new(data).expect("random instance is valid")
}

fn env(seed: u64, iterations: u64) -> Environment {
    Environment { seed, max_iterations: Some(iterations), time_limit: Some(Duration::from_secs(30)), ..Environment::default() }
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, rng_seed: proptest::test_runner::RngSeed::Fixed(0x4252_4B53), ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(40))]

    #[test]
    fn checker_accepts_every_solution_with_breaks_windows_overtime_and_rush_hours(seed in 0u64..10_000, n in 1usize..22,
                                                                       two_windows: bool, overtime: bool, rush: bool) {
        let p = instance(seed, n, two_windows, overtime, rush);
        let out = solve(&p, &env(seed, 40));
        let report = check(&p, &out.solution);
        prop_assert!(report.is_feasible(), "violations: {:?}", report.violations);
        prop_assert!(out.feasible);
        prop_assert_eq!(report.cost.total, out.cost, "search and checker disagree on the cost");
        for u in &out.solution.unassigned {
            prop_assert!(!p.clients[u.client].required, "required client {} left out", u.client);
        }
    }

    #[test]
    fn rush_hours_never_bring_a_stop_or_a_return_earlier(seed in 0u64..10_000, n in 2usize..22) {
        // The same solution timed in rush hours and in free flow: every service starts no earlier
        // and every route takes no less time (the free-flow bound the search prunes with).
        let p = instance(seed, n, false, false, true);
        let out = solve(&p, &env(seed, 20));
        let mut free = p.data().clone();
        free.profiles[0].congestion = Congestion::default();
        let free = Problem::new(free).expect("valid");
        let (slow, fast) = (check(&p, &out.solution), check(&free, &out.solution));
        prop_assert!(slow.is_feasible(), "violations: {:?}", slow.violations);
        for (a, b) in slow.routes.iter().zip(&fast.routes) {
            prop_assert!(a.end >= b.end, "back at {} in rush hours, {} in free flow", a.end, b.end);
            prop_assert!(a.duration >= b.duration, "{} in rush hours, {} in free flow", a.duration, b.duration);
        }
    }

    #[test]
    fn dropping_a_needed_break_is_reported_as_missing(seed in 0u64..10_000, n in 8usize..22) {
        let p = instance(seed, n, false, false, false);
        let out = solve(&p, &env(seed, 20));
        let mut broken = out.solution.clone();
        let Some(r) = broken.routes.iter().position(|r| !r.breaks.is_empty()) else { return Ok(()) };
        broken.routes[r].breaks.clear();
        prop_assert_eq!(check(&p, &broken).violations, vec![Violation::MissingBreak { route: r, index: 0 }]);
    }
}

proptest! {
    // Timing alone is cheap: many more cases.
    #![proptest_config(config(400))]

    #[test]
    fn the_search_and_the_checker_time_any_route_alike_in_rush_hours(seed in 0u64..10_000, n in 1usize..22, order in proptest::collection::vec(0usize..1000, 22),
                                                                     two_windows: bool, by_window: bool) {
        // Any order (or the windows' order) of any clients on the type without breaks: both call a route late or on
        // time alike, and on time the search's exact schedule (its latest departure by a
        // backward pass) and the checker's (by bisection) give the same departure, return and
        // service starts. (Late, they differ by design: the search sets the clock back to the
        // latest time, the checker reports the real arrival.)
        let p = instance(seed, n, two_windows, false, true);
        let mut visits: Vec<usize> = (0..n).collect();
        visits.sort_by_key(|&c| order[c]);
        visits.truncate(1 + order[21] % n);
        if by_window {
            // In order of the windows' openings, which is more often on time.
            visits.sort_by_key(|&c| p.clients[c].early());
        }
        let route = solver::Route::single(1, 0, visits.clone());
        let report = check(&p, &solver::Solution { routes: vec![route], unassigned: Vec::new() });
        let ours: Vec<u32> = visits.iter().map(|&c| c as u32).collect();
        let timing = solver::engine::schedule::simulate(&p, 1, &ours, &[]);
        let starts = solver::engine::schedule::service_starts(&p, 1, &ours, &[]);
        // Only the time rules count (the clients left off are missing, a load may be too big).
        let on_time = report.violations.iter().all(|v| matches!(v, Violation::MissingClient { .. } | Violation::Capacity { .. }));
        prop_assert_eq!(timing.time_warp == 0, on_time, "violations {:?}, time warp {}", report.violations, timing.time_warp);
        if on_time {
            let r = &report.routes[0];
            prop_assert_eq!((timing.start, timing.end, timing.duration), (r.start, r.end, r.duration));
            prop_assert_eq!(&starts, &r.arrivals[0]);
        }
    }
}

/// Routes that need the break take it, inside its window, and routes that do not need it skip it.
#[test]
fn every_route_out_at_the_latest_break_start_takes_the_break_in_its_window() {
    // Only the vehicles with a lunch break: given the choice, the search uses those without.
    let mut data = instance(11, 21, true, true, false).data().clone();
    data.vehicle_types.truncate(1);
    let p = Problem::new(data).unwrap();
    let out = solve(&p, &env(11, 200));
    let report = check(&p, &out.solution);
    assert!(report.is_feasible(), "{:?}", report.violations);
    let lunch = p.vehicle_types[0].breaks[0];
    let mut taken = 0;
    for (route, rep) in out.solution.routes.iter().zip(&report.routes) {
        let needs = route.vehicle_type == 0 && rep.start <= lunch.window.late && rep.end > lunch.window.late;
        assert_eq!(route.breaks.len(), needs as usize, "{route:?} {rep:?}");
        for &start in &rep.breaks {
            assert!(lunch.window.early <= start && start <= lunch.window.late, "break at {start}");
            taken += 1;
        }
    }
    assert!(taken > 0, "no route took the break: {:?}", report.routes);
}
