//! Replanning benches on a 300-stop, 20-vehicle day that is a third done: one urgent order
//! (without, and with the costs of moving or shifting announced stops), one cancellation, and a
//! vehicle breakdown whose remaining stops go to the others. Each replan
//! runs a fixed number of ruin-and-recreate iterations on one thread, so the time measures the
//! code, not the luck; the plan itself is made once, outside the measurement.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use benches::replan_day;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use solver::model::{Problem, ProblemData, TimeWindow};
use solver::replan::{replan, ReplanInput, VehicleProgress};
use solver::search::{solve, Environment};
use solver::solution::{Route, Solution, Trip};
use std::hint::black_box;
use std::time::Duration;

/// Iterations of a replan after one order changes (the service's default).
const SMALL_CHANGE_ITERATIONS: u64 = 10;
/// Iterations of a replan after a breakdown.
const BREAKDOWN_ITERATIONS: u64 = 100;

fn env(iterations: u64) -> Environment {
    Environment { seed: 1, threads: 1, time_limit: None, max_iterations: Some(iterations), ..Environment::default() }
}

/// The day (300 known clients plus one urgent order at the end), the plan of the 300, and the
/// progress a third into it.
struct Scenario {
    with_urgent: Problem,
    without_urgent: Problem,
    data: ProblemData,
    plan: Solution,
    progress: Vec<VehicleProgress>,
    now: i64,
}

fn scenario() -> Scenario {
    let mut data = replan_day(7, 301, 20);
    // The urgent order: any time today.
    let last = data.clients.len() - 1;
    data.clients[last].time_windows = vec![TimeWindow::new(0, 10 * 3600)];
    let mut known = data.clone();
    known.clients.truncate(last);
    let without_urgent = Problem::new(known).expect("valid day");
    let plan = solve(&without_urgent, &env(300)).solution;
    // Capacity binds: the 20 trucks are (nearly) all out.
    assert!(plan.routes.len() >= 18, "the bench day is planned on its 20-vehicle fleet, got {} routes", plan.routes.len());
    let progress: Vec<VehicleProgress> = plan.routes.iter().map(|r| VehicleProgress { fixed: r.visits().count() / 3, ..VehicleProgress::default() }).collect();
    let now = 3 * 3600;
    Scenario { with_urgent: Problem::new(data.clone()).expect("valid day"), without_urgent, data, plan, progress, now }
}

/// The plan and the day without client `gone` (a cancellation), in the day's new indices.
fn cancelled(s: &Scenario, gone: usize) -> (Problem, Solution) {
    let mut d = s.data.clone();
    d.clients.truncate(d.clients.len() - 1);
    d.clients.remove(gone);
    let map = |c: usize| if c > gone { c - 1 } else { c };
    let routes = s
        .plan
        .routes
        .iter()
        .map(|r| Route {
            trips: r.trips.iter().map(|t| Trip { depot: t.depot, visits: t.visits.iter().copied().filter(|&c| c != gone).map(map).collect() }).collect(),
            ..r.clone()
        })
        .collect();
    (Problem::new(d).expect("valid day"), Solution { routes, unassigned: vec![] })
}

fn replans(c: &mut Criterion) {
    let s = scenario();
    let mut group = c.benchmark_group("replan");

    group.bench_function("urgent_order_300_stops", |b| {
        let input =
            ReplanInput { problem: &s.with_urgent, plan: &s.plan, progress: &s.progress, now: s.now, move_cost: 0, announced: &[], shift_tolerance: None };
        b.iter(|| black_box(replan(&input, &env(SMALL_CHANGE_ITERATIONS)).expect("replan")))
    });

    // The same with the service's stability costs: moving an announced stop to another truck,
    // or its service by more than 30 minutes, costs as much as 3 km of driving. Routes with
    // announced stops are then judged by their exact schedule.
    group.bench_function("urgent_order_300_stops_move_and_shift_costs", |b| {
        let input = ReplanInput {
            problem: &s.with_urgent,
            plan: &s.plan,
            progress: &s.progress,
            now: s.now,
            move_cost: 3_000,
            announced: &[],
            shift_tolerance: Some(1_800),
        };
        b.iter(|| black_box(replan(&input, &env(SMALL_CHANGE_ITERATIONS)).expect("replan")))
    });

    // A client that is not fixed: the last stop of the first route.
    let gone = *s.plan.routes[0].trips.last().and_then(|t| t.visits.last()).expect("a stop");
    let (problem, plan) = cancelled(&s, gone);
    group.bench_function("cancellation_300_stops", |b| {
        let input = ReplanInput { problem: &problem, plan: &plan, progress: &s.progress, now: s.now, move_cost: 0, announced: &[], shift_tolerance: None };
        b.iter(|| black_box(replan(&input, &env(SMALL_CHANGE_ITERATIONS)).expect("replan")))
    });

    group.bench_function("breakdown_300_stops", |b| {
        let mut progress = s.progress.clone();
        progress[0].unavailable_from = Some(s.now);
        b.iter_batched(
            || progress.clone(),
            |progress| {
                let input = ReplanInput {
                    problem: &s.without_urgent,
                    plan: &s.plan,
                    progress: &progress,
                    now: s.now,
                    move_cost: 0,
                    announced: &[],
                    shift_tolerance: None,
                };
                black_box(replan(&input, &env(BREAKDOWN_ITERATIONS)).expect("replan"))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Set here rather than on the group, so that command-line options (`--sample-size`,
    // `--measurement-time`, `--warm-up-time`) still override them: benches/quick.sh shortens
    // them for CI.
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(10));
    targets = replans
}
criterion_main!(benches);
