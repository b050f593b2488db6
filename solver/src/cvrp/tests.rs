use super::*;
use crate::engine::env::Environment;
use crate::engine::neighbours::Neighbours;
use crate::io::rounding::{euclidean_matrix, Rounding};
use crate::model::*;
use crate::test_support::tiny_problem_data;

/// A random plain CVRP: `n` clients in a 1000 × 1000 square, the depot in the middle, demands
/// 1-10, capacity `capacity`.
fn random_cvrp(n: usize, capacity: i64, seed: u64) -> ProblemData {
    let mut rng = Rng::new(seed);
    let mut data = tiny_problem_data();
    data.locations =
        std::iter::once(Location { x: 500.0, y: 500.0 }).chain((0..n).map(|_| Location { x: (rng.below(1000)) as f64, y: (rng.below(1000)) as f64 })).collect();
    let template = data.clients[0].clone();
    data.clients = (0..n)
        .map(|i| Client {
            name: format!("c{i}"),
            location: i + 1,
            delivery: vec![1 + rng.below(10) as i64],
            time_windows: vec![TimeWindow::ALWAYS],
            ..template.clone()
        })
        .collect();
    data.depots[0].time_window = TimeWindow::ALWAYS;
    data.vehicle_types[0].shift = TimeWindow::ALWAYS;
    data.vehicle_types[0].capacity = vec![capacity];
    data.vehicle_types[0].count = n;
    let m = euclidean_matrix(&data.locations, Rounding::Round).unwrap();
    data.profiles[0].distance = m.clone();
    data.profiles[0].duration = m;
    data
}

#[test]
fn takes_plain_capacitated_problems_only() {
    let plain = random_cvrp(30, 40, 1);
    assert!(applies(&Problem::new(plain.clone()).unwrap()));

    let mut windows = plain.clone();
    windows.clients[3].time_windows = vec![TimeWindow::new(1000, 5000)];
    assert!(!applies(&Problem::new(windows).unwrap()), "a binding time window");

    let mut two_types = plain.clone();
    let mut other = two_types.vehicle_types[0].clone();
    other.capacity = vec![60];
    two_types.vehicle_types.push(other);
    assert!(!applies(&Problem::new(two_types).unwrap()), "a mixed fleet");

    let mut fixed = plain.clone();
    fixed.vehicle_types[0].fixed_cost = 100;
    assert!(!applies(&Problem::new(fixed).unwrap()), "a fixed cost per route");

    let mut optional = plain.clone();
    optional.clients[0].required = false;
    optional.clients[0].prize = 50;
    assert!(!applies(&Problem::new(optional).unwrap()), "an optional client");

    let mut huge = plain.clone();
    huge.vehicle_types[0].capacity = vec![i64::MAX / 2];
    assert!(!applies(&Problem::new(huge).unwrap()), "a capacity whose sums could overflow");

    let mut limited = plain.clone();
    limited.vehicle_types[0].max_distance = 5000;
    assert!(!applies(&Problem::new(limited).unwrap()), "a distance limit");
}

#[test]
fn split_finds_the_cheapest_cut_of_the_giant_tour() {
    for seed in 1..=20 {
        let problem = Problem::new(random_cvrp(8, 14, seed)).unwrap();
        let data = Data::new(&problem, &Neighbours::new(&problem, GRANULAR), None);
        let mut rng = Rng::new(seed);
        let mut ind = Individual::new(&data);
        ind.random_giant(&mut rng);
        let penalty = 1.0 + rng.below(50) as f64;
        split::split(&data, penalty, &mut ind);
        // Every cut of the 8 clients: 2^7 ways, the fleet large enough for any.
        let n = data.n;
        let mut best = f64::INFINITY;
        for mask in 0u32..(1 << (n - 1)) {
            let mut routes = vec![Vec::new()];
            for (i, &c) in ind.giant.iter().enumerate() {
                routes.last_mut().unwrap().push(c);
                if i + 1 < n && mask & (1 << i) != 0 {
                    routes.push(Vec::new());
                }
            }
            if routes.len() > data.fleet {
                continue;
            }
            let mut cut = Individual::new(&data);
            cut.giant = ind.giant.clone();
            cut.routes = routes;
            cut.routes.resize(data.fleet, Vec::new());
            cut.evaluate(&data, penalty);
            // Split caps a route's load at 1.5 times the capacity unless it has one client.
            if cut.routes.iter().all(|r| r.len() <= 1 || r.iter().map(|&c| data.demand[c as usize]).sum::<i64>() <= data.capacity * 3 / 2) {
                best = best.min(cut.penalised);
            }
        }
        assert!((ind.penalised - best).abs() < 1e-6, "seed {seed}: split {} against the best cut {best}", ind.penalised);
        let mut seen: Vec<u32> = ind.routes.concat();
        seen.sort_unstable();
        assert_eq!(seen, (1..=n as u32).collect::<Vec<_>>());
    }
}

#[test]
fn split_respects_a_small_fleet() {
    let mut plain = random_cvrp(40, 30, 3);
    plain.vehicle_types[0].count = 5;
    let problem = Problem::new(plain).unwrap();
    let data = Data::new(&problem, &Neighbours::new(&problem, GRANULAR), None);
    let mut ind = Individual::new(&data);
    ind.random_giant(&mut Rng::new(9));
    split::split(&data, 10.0, &mut ind);
    assert_eq!(ind.routes.len(), 5);
    assert_eq!(ind.routes.iter().map(Vec::len).sum::<usize>(), 40);
}

/// The local search's constant-time evaluations are checked against the exact cost of every
/// move it applies (a debug assertion in `commit`); here it runs on many random starts, with
/// low and high penalties so that moves between overloaded routes are made too, and must end
/// with every client once and a cost no higher than it started with.
#[test]
fn local_search_claims_hold_and_it_never_makes_a_solution_worse() {
    for seed in 1..=30u64 {
        let n = 20 + (seed as usize * 7) % 60;
        let problem = Problem::new(random_cvrp(n, 25 + (seed as i64 % 4) * 10, seed)).unwrap();
        let data = Data::new(&problem, &Neighbours::new(&problem, GRANULAR), None);
        let mut rng = Rng::new(seed);
        let mut ls = LocalSearch::new(&data);
        for penalty in [0.5, 5.0, 200.0] {
            let mut ind = Individual::new(&data);
            ind.random_giant(&mut rng);
            split::split(&data, penalty, &mut ind);
            let before = ind.penalised;
            ls.run(&mut ind, penalty, &mut rng, &|| false);
            assert!(ind.penalised <= before + 1e-6, "seed {seed}: {before} became {}", ind.penalised);
            let mut seen: Vec<u32> = ind.routes.concat();
            seen.sort_unstable();
            assert_eq!(seen, (1..=n as u32).collect::<Vec<_>>(), "seed {seed}");
            assert_eq!(ind.giant.len(), n);
            // A local optimum: a second run finds nothing.
            let after = ind.penalised;
            ls.run(&mut ind, penalty, &mut rng, &|| false);
            assert!((ind.penalised - after).abs() < 1e-6, "seed {seed}: a second pass improved {after} to {}", ind.penalised);
        }
    }
}

#[test]
fn broken_pairs_distance_is_zero_for_the_same_routes_and_one_for_disjoint_ones() {
    let problem = Problem::new(random_cvrp(6, 100, 1)).unwrap();
    let data = Data::new(&problem, &Neighbours::new(&problem, GRANULAR), None);
    let mut a = Individual::new(&data);
    a.set_routes(&data, &[vec![1, 2, 3], vec![4, 5, 6]]);
    let mut b = Individual::new(&data);
    b.set_routes(&data, &[vec![4, 5, 6], vec![3, 2, 1]]);
    assert_eq!(a.broken_pairs(&b), 0.0, "same routes, one reversed");
    let mut c = Individual::new(&data);
    c.set_routes(&data, &[vec![1, 4], vec![2, 5], vec![3, 6]]);
    assert!(a.broken_pairs(&c) > 0.5);
}

#[test]
fn a_run_is_reproducible_and_the_checker_agrees_with_its_cost() {
    let problem = Problem::new(random_cvrp(80, 40, 5)).unwrap();
    assert!(applies(&problem));
    let env = Environment { time_limit: None, max_iterations: Some(400), ..Environment::default() };
    let a = run(&problem, &Neighbours::new(&problem, GRANULAR), &env, 11, &|_| {});
    let b = run(&problem, &Neighbours::new(&problem, GRANULAR), &env, 11, &|_| {});
    assert!(a.feasible);
    assert_eq!((a.cost, &a.routes), (b.cost, &b.routes));
    assert_eq!(a.iterations, 400);
    let solution = crate::engine::state::solution_from_routes(&problem, &a.routes);
    let report = crate::check::check(&problem, &solution);
    assert!(report.is_feasible(), "{:?}", report.violations);
    assert_eq!(report.cost.total, a.cost);
    // Better than a nearest-neighbour-free baseline: each client alone on a route.
    let alone: i64 = (0..80).map(|c| 2 * problem.distance(0, 0, c + 1)).sum();
    assert!(a.cost < alone / 2, "{} against {alone}", a.cost);
}

#[test]
fn a_spent_budget_still_routes_every_client() {
    let problem = Problem::new(random_cvrp(60, 40, 2)).unwrap();
    let env = Environment { time_limit: Some(std::time::Duration::ZERO), ..Environment::default() };
    let r = run(&problem, &Neighbours::new(&problem, GRANULAR), &env, 1, &|_| {});
    assert_eq!(r.iterations, 1);
    // The one solution is repaired with higher penalties when it broke the capacity.
    assert!(r.feasible);
    let mut routed: Vec<u32> = r.routes.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    routed.sort_unstable();
    assert_eq!(routed, (0..60).collect::<Vec<u32>>());
}

#[test]
fn a_warm_start_is_the_first_individual() {
    let problem = Problem::new(random_cvrp(50, 40, 8)).unwrap();
    let env = Environment { time_limit: None, max_iterations: Some(300), ..Environment::default() };
    let first = run(&problem, &Neighbours::new(&problem, GRANULAR), &env, 3, &|_| {});
    let solution = crate::engine::state::solution_from_routes(&problem, &first.routes);
    let warm = Environment { max_iterations: Some(1), initial: Some(std::sync::Arc::new(solution)), ..env };
    let again = run(&problem, &Neighbours::new(&problem, GRANULAR), &warm, 4, &|_| {});
    assert!(again.feasible);
    assert!(again.cost <= first.cost, "{} from a start of {}", again.cost, first.cost);
}
