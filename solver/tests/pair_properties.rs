//! Property tests of the search with pickup-and-delivery pairs: on random small instances
//! mixing pairs and ordinary clients (capacities, time windows, optional clients, skills,
//! trips), every solution the ruin-and-recreate and the genetic search return is accepted by the
//! independent checker at the search's cost, serves both or neither client of each pair, on one
//! route and one trip, pickup first, and never loads a vehicle over its capacity.

use proptest::prelude::*;
use solver::check::check;
use solver::io::rounding::{euclidean_matrix, Rounding};
use solver::model::*;
use solver::search::{solve, Algorithm, Environment};
use solver::Solution;
use std::time::Duration;

/// A random instance, feasible by construction: every pair alone on its route (start, pickup,
/// delivery, end) and every ordinary client alone meet their windows, capacity and skills, and
/// there are as many vehicles as pairs and clients.
fn instance(seed: u64, pairs: usize, singles: usize, windows: bool, reloads: bool) -> Problem {
    let mut x = seed ^ 0x9E37_79B9;
    let mut next = |m: u64| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) % m.max(1)
    };
    let n = 2 * pairs + singles;
    let mut locations = vec![Location { x: 50.0, y: 50.0 }];
    for _ in 0..n {
        locations.push(Location { x: next(100) as f64, y: next(100) as f64 });
    }
    let m = euclidean_matrix(&locations, Rounding::Round).unwrap();
    let horizon = 2_000;
    let capacity = 12;
    let mut clients: Vec<Client> = (0..n)
        .map(|i| {
            let single = i >= 2 * pairs;
            Client {
                name: format!("c{i}"),
                location: i + 1,
                delivery: vec![if single { 1 + next(4) as i64 } else { next(2) as i64 }],
                pickup: vec![if single { next(3) as i64 } else { 0 }],
                service_duration: next(10) as i64,
                time_windows: vec![TimeWindow::new(0, horizon)],
                release_time: 0,
                required: true,
                prize: 20 + next(200) as i64,
                skills: Skills::NONE,
            }
        })
        .collect();
    let mut pair_list = Vec::new();
    for k in 0..pairs {
        let (p, d) = (2 * k, 2 * k + 1);
        // A pair alone: out to the pickup (at most 71), service, on to the delivery (at most
        // 142), service: the delivery is reached by 260, its window opens at most 200 after
        // the pickup's.
        if windows {
            let e = next(300) as i64;
            clients[p].time_windows = vec![TimeWindow::new(e, e + 300 + next(200) as i64)];
            clients[d].time_windows = vec![TimeWindow::new(e + next(200) as i64, e + 800 + next(200) as i64)];
        }
        let optional = next(4) == 0;
        for c in [p, d] {
            clients[c].required = !optional;
        }
        if next(5) == 0 {
            clients[p].skills = Skills(1);
        }
        pair_list.push(Pair { pickup: p, delivery: d, amount: vec![1 + next(9) as i64] });
    }
    for c in &mut clients[2 * pairs..] {
        if windows {
            let e = next(500) as i64;
            c.time_windows = vec![TimeWindow::new(e, e + 200 + next(300) as i64)];
        }
        c.required = next(4) != 0;
    }
    let vehicles = n.max(1);
    let vt = |name: &str, count: usize, skills: Skills| VehicleType {
        name: name.into(),
        count,
        capacity: vec![capacity],
        start_depot: 0,
        end_depot: 0,
        shift: TimeWindow::new(0, horizon + 500),
        max_duration: UNLIMITED,
        max_distance: UNLIMITED,
        fixed_cost: 5,
        unit_distance_cost: 1,
        unit_duration_cost: (seed % 2) as i64,
        profile: 0,
        skills,
        reload_depots: if reloads { vec![0] } else { vec![] },
        max_trips: if reloads { 3 } else { 1 },
        breaks: Vec::new(),
        overtime_after: UNLIMITED,
        unit_overtime_cost: 0,
        balance: Default::default(),
        on_board: None,
    };
    let data = ProblemData {
        name: format!("pairs-{seed}"),
        locations,
        depots: vec![Depot { name: "depot".into(), location: 0, time_window: TimeWindow::new(0, horizon + 500), reload_duration: 3 }],
        clients,
        vehicle_types: vec![vt("van", vehicles / 2 + 1, Skills::NONE), vt("permit", vehicles, Skills(1))],
        profiles: vec![Profile { name: "car".into(), distance: m.clone(), duration: m, congestion: Default::default() }],
        dimensions: 1,
        skill_names: vec!["crane".into()],
        backhaul_precedence: false,
        stability: Default::default(),
        groups: Vec::new(),
        pairs: pair_list,
    };
    Problem::new(data).expect("random pair instance is valid")
}

fn env(seed: u64, iterations: u64, algorithm: Algorithm) -> Environment {
    Environment { seed, max_iterations: Some(iterations), time_limit: Some(Duration::from_secs(30)), algorithm, ..Environment::default() }
}

/// Asserts what a solution of `p` must keep for its pairs and capacities.
fn assert_pairs_kept(p: &Problem, s: &Solution) -> Result<(), TestCaseError> {
    // at[c]: (route, trip, position) of client c.
    let mut at = vec![None; p.num_clients()];
    for (r, route) in s.routes.iter().enumerate() {
        for (k, trip) in route.trips.iter().enumerate() {
            for (i, &c) in trip.visits.iter().enumerate() {
                at[c] = Some((r, k, i));
            }
        }
    }
    for pair in &p.pairs {
        match (at[pair.pickup], at[pair.delivery]) {
            (None, None) => {
                let listed = |c: usize| s.unassigned.iter().any(|u| u.client == c);
                prop_assert!(listed(pair.pickup) && listed(pair.delivery), "pair {pair:?} left out but not listed");
            }
            (Some(a), Some(b)) => {
                prop_assert_eq!((a.0, a.1), (b.0, b.1), "pair {:?} split", pair);
                prop_assert!(a.2 < b.2, "pair {:?} delivered before its pickup", pair);
            }
            _ => prop_assert!(false, "pair {:?} served in part", pair),
        }
    }
    let report = check(p, s);
    for (route, figures) in s.routes.iter().zip(&report.routes) {
        let capacity = &p.vehicle_types[route.vehicle_type].capacity;
        for trip in &figures.max_loads {
            prop_assert!(trip.iter().zip(capacity).all(|(l, q)| l <= q), "load {:?} over {:?}", trip, capacity);
        }
    }
    Ok(())
}

/// `cases` random cases from a fixed seed, so CI is reproducible (the searches are
/// deterministic for a seed and iteration limit).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5041_4952), ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(40))]

    #[test]
    fn checker_accepts_every_solution_with_pairs(seed in 0u64..10_000, pairs in 1usize..8, singles in 0usize..8,
                                                 windows: bool, reloads: bool, hgs: bool) {
        let p = instance(seed, pairs, singles, windows, reloads);
        let algorithm = if hgs { Algorithm::Hgs } else { Algorithm::RuinRecreate };
        let out = solve(&p, &env(seed, 40, algorithm));
        let report = check(&p, &out.solution);
        prop_assert!(report.is_feasible(), "violations: {:?}", report.violations);
        prop_assert!(out.feasible);
        prop_assert_eq!(report.cost.total, out.cost, "search and checker disagree on the cost");
        for u in &out.solution.unassigned {
            prop_assert!(!p.clients[u.client].required, "required client {} left out", u.client);
        }
        assert_pairs_kept(&p, &out.solution)?;
    }
}

#[test]
fn serves_a_pair_whose_amount_fills_the_vehicle_with_nothing_else_on_board_between() {
    // Pickup 0 and delivery 1 carry 12 (the whole capacity); clients 2 and 3 deliver 4 each.
    // One vehicle: the pair must not overlap the deliveries, so they come before the pickup
    // or after the delivery.
    let mut d = instance(11, 1, 2, false, false).data().clone();
    d.pairs[0].amount = vec![12];
    for c in &mut d.clients {
        c.required = true;
        c.skills = Skills::NONE;
    }
    d.clients[0].delivery = vec![0];
    d.clients[1].delivery = vec![0];
    d.clients[2].delivery = vec![4];
    d.clients[3].delivery = vec![4];
    d.clients[2].pickup = vec![0];
    d.clients[3].pickup = vec![0];
    d.vehicle_types.truncate(1);
    d.vehicle_types[0].count = 1;
    let p = Problem::new(d).unwrap();
    let out = solve(&p, &env(3, 60, Algorithm::RuinRecreate));
    let report = check(&p, &out.solution);
    assert!(report.is_feasible(), "violations: {:?}", report.violations);
    let visits: Vec<usize> = out.solution.routes[0].visits().collect();
    let (i, j) = (visits.iter().position(|&c| c == 0).unwrap(), visits.iter().position(|&c| c == 1).unwrap());
    assert!(i < j && visits[i..j].iter().all(|&c| c < 2), "nothing else on board with the pair: {visits:?}");
    assert_eq!(report.routes[0].max_loads[0], vec![12]);
}

#[test]
fn same_seed_and_iterations_give_the_same_solution_with_pairs() {
    let p = instance(42, 6, 6, true, false);
    let a = solve(&p, &env(7, 50, Algorithm::RuinRecreate));
    let b = solve(&p, &env(7, 50, Algorithm::RuinRecreate));
    assert_eq!(a.solution, b.solution);
    assert_eq!(a.cost, b.cost);
}
