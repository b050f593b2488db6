//! Tests of the generated days: feasible in principle, deterministic, and equal to the committed
//! example.

use crate::taipei::{generate, taipei_day, DayOptions, DIMENSIONS, NARROW_LANE};
use solver::io::json::{build, JsonProblem};

/// The committed example, `taipei_day(2026, 40)`.
const EXAMPLE: &str = include_str!("../examples/taipei-day.json");

/// Checks that `doc` builds and that, in every dimension, the fleet over all its trips carries at
/// least the day's deliveries and pickups.
fn assert_feasible_in_principle(doc: &JsonProblem) {
    let problem = build(doc).unwrap_or_else(|e| panic!("{}: {e}", doc.name));
    assert_eq!(problem.num_clients(), doc.clients.len());
    for (d, dim) in DIMENSIONS.iter().enumerate() {
        let capacity: i64 = problem.vehicle_types.iter().map(|v| v.capacity[d] * (v.count * v.max_trips) as i64).sum();
        let delivery: i64 = problem.clients.iter().map(|c| c.delivery[d]).sum();
        let pickup: i64 = problem.clients.iter().map(|c| c.pickup[d]).sum();
        assert!(capacity >= delivery.max(pickup), "{}: {dim} capacity {capacity} < demand {delivery}/{pickup}", doc.name);
    }
}

#[test]
fn builds_a_feasible_day_for_every_seed() {
    for seed in 1..=20 {
        let doc = taipei_day(seed, 40);
        assert_eq!(doc.clients.len(), 40);
        assert_feasible_in_principle(&doc);
    }
}

#[test]
fn builds_feasible_days_of_other_sizes_and_options() {
    for (seed, customers, depots) in [(1, 1, 1), (2, 5, 2), (3, 120, 1), (4, 300, 2)] {
        let options = DayOptions { depots, two_windows_share: 0.3, optional_share: 0.1, ..DayOptions::new(customers) };
        let doc = generate(seed, &options);
        assert_eq!(doc.depots.len(), depots);
        assert_feasible_in_principle(&doc);
        let two = doc.clients.iter().filter(|c| c.time_windows.len() == 2).count();
        assert!(customers < 100 || two > 0);
    }
}

#[test]
fn keeps_one_window_per_client_in_the_baseline_and_narrow_lanes_small() {
    let doc = taipei_day(5, 200);
    assert!(doc.clients.iter().all(|c| c.time_windows.len() == 1 && c.required));
    let narrow: Vec<_> = doc.clients.iter().filter(|c| c.skills.iter().any(|s| s == NARROW_LANE)).collect();
    assert!(!narrow.is_empty());
    assert!(narrow.iter().all(|c| c.delivery.get("cylinders_20kg") == Some(&1) && c.delivery.get("weight_kg") == Some(&40)));
    // Every exchange brings back as many empties as it delivers full cylinders.
    for c in &doc.clients {
        for dim in ["cylinders_small", "cylinders_20kg", "cylinders_50kg"] {
            assert_eq!(c.delivery.get(dim), c.pickup.get(dim), "{}", c.id);
        }
        assert_eq!(c.delivery["weight_kg"], 2 * c.pickup["weight_kg"], "{}", c.id);
    }
}

#[test]
fn is_deterministic_per_seed() {
    assert_eq!(taipei_day(11, 60), taipei_day(11, 60));
    assert_ne!(taipei_day(11, 60), taipei_day(12, 60));
    let ids: Vec<_> = taipei_day(11, 60).clients.iter().map(|c| c.id.clone()).collect();
    assert_eq!((ids[0].as_str(), ids[59].as_str()), ("C0001", "C0060"));
}

#[test]
fn committed_example_is_the_generated_day() {
    let generated = taipei_day(2026, 40).to_pretty_json();
    assert_eq!(
        EXAMPLE.trim_end(),
        generated,
        "regenerate with: cargo run -p datasets --bin generate -- taipei-day --seed 2026 --customers 40 --out datasets/examples/taipei-day.json"
    );
    let (doc, problem) = solver::io::json::parse(EXAMPLE).unwrap();
    assert_eq!(doc, taipei_day(2026, 40));
    assert_eq!(problem.num_clients(), 40);
}
