//! Travel matrix benches: the embedded great-circle estimate of `planner-api` (haversine times a
//! detour factor, cached per H3 cell pair) over 1,000 customers of a generated Taipei and New
//! Taipei delivery day, both on an empty cache (a first plan of the area) and on a cache that
//! already holds every pair (planning the same area again).

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use planner_api::travel::{GreatCircle, RoutingProfile, TravelConfig, TravelMatrix};
use std::time::Duration;

/// Customers in the matrix.
const POINTS: usize = 1_000;

/// `(lat, lon)` of the customers of the generated day for `seed`: districts weighted by
/// households, jittered around their built-up centres.
fn taipei_points(seed: u64, n: usize) -> Vec<(f64, f64)> {
    datasets::taipei_day(seed, n).clients.iter().map(|c| (c.lat, c.lon)).collect()
}

fn great_circle_matrix(c: &mut Criterion) {
    let points = taipei_points(2026, POINTS);
    let mut group = c.benchmark_group("travel");
    group.bench_function("great_circle_1000_points_cold", |b| {
        b.iter_batched(
            || GreatCircle::new(TravelConfig::default()),
            // The source is handed back so that freeing its million-entry cache is not timed.
            |source| {
                let matrices = source.matrices(RoutingProfile::Truck, &points);
                (source, matrices)
            },
            BatchSize::PerIteration,
        )
    });
    let warm = GreatCircle::new(TravelConfig::default());
    warm.matrices(RoutingProfile::Truck, &points).expect("Taipei points are valid coordinates");
    let cached = warm.cached();
    group.bench_function("great_circle_1000_points_warm", |b| b.iter(|| warm.matrices(RoutingProfile::Truck, &points)));
    group.finish();
    // Every call after the first was a cache hit: nothing was added.
    assert_eq!(warm.cached(), cached, "the warm bench missed the cache");
}

criterion_group! {
    name = benches;
    // Defaults that command-line options (`--sample-size`, `--measurement-time`,
    // `--warm-up-time`) override; benches/quick.sh shortens them for CI.
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(10));
    targets = great_circle_matrix
}
criterion_main!(benches);
