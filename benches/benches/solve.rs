//! Solve benches: full solves of three 100-client Solomon instances for a fixed iteration count
//! (deterministic work, so the time measures the code, not the luck).

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use benches::load;
use criterion::{criterion_group, criterion_main, Criterion};
use solver::search::{solve, Environment};
use std::time::Duration;

fn solomon_fixed_iterations(c: &mut Criterion) {
    let mut group = c.benchmark_group("solve");
    for name in ["C101", "R101", "RC201"] {
        let instance = load(&format!("solomon/{name}.txt"));
        let env = Environment { seed: 1, max_iterations: Some(200), time_limit: None, ..Environment::default() };
        group.bench_function(format!("solomon_{name}_200_iterations"), |b| b.iter(|| solve(&instance.problem, &env)));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Set here rather than on the group, so that command-line options (`--sample-size`,
    // `--measurement-time`, `--warm-up-time`) still override them: benches/quick.sh shortens
    // them for CI.
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(20));
    targets = solomon_fixed_iterations
}
criterion_main!(benches);
