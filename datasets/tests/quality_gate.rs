//! The quality gate: a fixed panel of public instances (`quality/panel.json`) solved with fixed
//! seeds and a fixed iteration limit (no time limit, one search thread per solve), so the
//! figures are the same on every machine. It fails when the search gets worse than the recorded
//! baseline: the mean gap to the best-known solutions over the CVRP instances, or the mean
//! distance over the Solomon instances, beyond a small tolerance.
//!
//! It prints what it measured; when the search improves, copy the figures into `panel.json` (see
//! its `how_to_update`). Run it alone with
//! `cargo test -p datasets --test quality_gate -- --nocapture`.

use datasets::replay::{self, mean, ReplayOptions, Row};
use serde::Deserialize;
use solver::io::Rounding;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The panel file (unknown keys, such as the documentation ones, are ignored).
#[derive(Debug, Deserialize)]
struct Panel {
    seeds: Vec<u64>,
    max_iterations: u64,
    /// Iterations of the CVRP solves (the capacitated genetic search's), `max_iterations` when
    /// absent.
    cvrp_max_iterations: Option<u64>,
    threads: usize,
    /// CVRP instances, relative to the datasets root; each has a best-known `.sol` beside it.
    cvrp: Vec<String>,
    /// Solomon instances, relative to the datasets root.
    solomon: Vec<String>,
    baseline_mean_gap_pct: f64,
    baseline_mean_solomon_distance: f64,
    tolerance_gap_pct: f64,
    tolerance_solomon_distance: f64,
    /// Instances of the newer families, relative to the datasets root, each with a `.sol`.
    frontier: Vec<String>,
    frontier_max_iterations: u64,
    /// Mean gap per family (the reader's family name) over the frontier instances.
    frontier_baseline_mean_gap_pct: std::collections::BTreeMap<String, f64>,
    frontier_tolerance_gap_pct: f64,
    /// Generated Taipei days planned in rush hours (time-dependent travel).
    rush_hours: RushPanel,
}

/// Generated days with rush hours on both profiles: no public instance has time-dependent
/// travel, so the gate holds the mean total cost (the checker's, in NT$) of these days at a fixed
/// seed and iteration limit.
#[derive(Debug, Deserialize)]
struct RushPanel {
    /// Generator seeds (`datasets::taipei_day`), one day each.
    days: Vec<u64>,
    customers: usize,
    bands: Vec<solver::io::json::JsonRushHour>,
    max_iterations: u64,
    baseline_mean_cost_ntd: f64,
    tolerance_pct: f64,
}

const PANEL: &str = include_str!("../quality/panel.json");

fn datasets_root() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/datasets"));
    assert!(root.is_dir(), "the public datasets must be at {} (../shared/datasets from the project root)", root.display());
    root
}

/// Solves every (instance, seed) pair, on as many workers as there are cores (each solve uses
/// its own thread count and no time limit, so the results do not depend on the scheduling).
fn replay_panel(instances: &[PathBuf], options: &ReplayOptions) -> Vec<Row> {
    let jobs: Vec<(&Path, u64)> = instances.iter().flat_map(|p| options.seeds.iter().map(move |&s| (p.as_path(), s))).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = (cores / options.threads.max(1)).clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Row>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(path, seed)) = jobs.get(k) else { break };
                let row = replay::replay_instance(path, options, seed);
                results.lock().unwrap_or_else(|e| e.into_inner())[k] = Some(row);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.into_iter().zip(&jobs).map(|(row, (path, _))| row.unwrap_or_else(|| panic!("no result for {}", path.display()))).collect()
}

#[test]
fn the_search_is_no_worse_than_the_recorded_baseline() {
    let panel: Panel = serde_json::from_str(PANEL).expect("quality/panel.json is valid");
    assert!(!panel.cvrp.is_empty() && !panel.solomon.is_empty() && !panel.seeds.is_empty(), "{panel:?}");
    let root = datasets_root();
    let resolve = |relative: &String| {
        let path = root.join(relative);
        assert!(path.is_file(), "panel instance missing: {}", path.display());
        path
    };
    let cvrp: Vec<PathBuf> = panel.cvrp.iter().map(resolve).collect();
    let solomon: Vec<PathBuf> = panel.solomon.iter().map(resolve).collect();
    let options = ReplayOptions {
        time_limit: None,
        max_iterations: Some(panel.max_iterations),
        threads: panel.threads,
        seeds: panel.seeds.clone(),
        rounding: Rounding::Auto,
        ..ReplayOptions::default()
    };

    let started = Instant::now();
    let cvrp_options = ReplayOptions { max_iterations: Some(panel.cvrp_max_iterations.unwrap_or(panel.max_iterations)), ..options.clone() };
    let mut rows = replay_panel(&cvrp, &cvrp_options);
    rows.extend(replay_panel(&solomon, &options));
    let seconds = started.elapsed().as_secs_f64();

    println!("{:<12} {:>4} {:>10} {:>10} {:>8} {:>8} {:>10}", "instance", "seed", "cost", "bks", "gap %", "time s", "iterations");
    for r in &rows {
        let bks = r.bks.map_or_else(|| "-".to_string(), |b| b.to_string());
        let gap = r.gap_pct.map_or_else(|| "-".to_string(), |g| format!("{g:.3}"));
        println!("{:<12} {:>4} {:>10} {:>10} {:>8} {:>8.2} {:>10}", r.instance, r.seed, r.cost, bks, gap, r.elapsed_s, r.iterations);
    }
    let failed: Vec<String> = rows.iter().filter(|r| r.failed()).map(|r| format!("{} seed {}: {:?}", r.instance, r.seed, r.error)).collect();
    assert!(failed.is_empty(), "failed or infeasible solves:\n{}", failed.join("\n"));

    let solves = cvrp.len() * options.seeds.len();
    let (cvrp_rows, solomon_rows) = rows.split_at(solves);
    let gaps: Vec<f64> = cvrp_rows.iter().map(|r| r.gap_pct.unwrap_or_else(|| panic!("{}: no best-known solution", r.path))).collect();
    let distances: Vec<f64> = solomon_rows.iter().map(|r| r.cost).collect();
    let (mean_gap, mean_distance) = (mean(&gaps).unwrap_or(f64::NAN), mean(&distances).unwrap_or(f64::NAN));
    println!(
        "measured: mean_gap_pct {mean_gap:.4} (baseline {:.4}), mean_solomon_distance {mean_distance:.4} (baseline {:.4}); \
         {} solves in {seconds:.1} s",
        panel.baseline_mean_gap_pct,
        panel.baseline_mean_solomon_distance,
        rows.len()
    );

    let update = "if the search changed on purpose, update quality/panel.json as its how_to_update says";
    assert!(
        mean_gap <= panel.baseline_mean_gap_pct + panel.tolerance_gap_pct,
        "CVRP mean gap {mean_gap:.4} % is worse than the baseline {:.4} % + {}; {update}",
        panel.baseline_mean_gap_pct,
        panel.tolerance_gap_pct
    );
    assert!(
        mean_distance <= panel.baseline_mean_solomon_distance + panel.tolerance_solomon_distance,
        "Solomon mean distance {mean_distance:.4} is worse than the baseline {:.4} + {}; {update}",
        panel.baseline_mean_solomon_distance,
        panel.tolerance_solomon_distance
    );
    if mean_gap < panel.baseline_mean_gap_pct - panel.tolerance_gap_pct
        || mean_distance < panel.baseline_mean_solomon_distance - panel.tolerance_solomon_distance
    {
        println!("better than the baseline: record the measured figures in quality/panel.json");
    }
}

#[test]
fn the_newer_families_are_no_worse_than_their_recorded_baselines() {
    let panel: Panel = serde_json::from_str(PANEL).expect("quality/panel.json is valid");
    let root = datasets_root();
    let paths: Vec<PathBuf> = panel
        .frontier
        .iter()
        .map(|relative| {
            let path = root.join(relative);
            assert!(path.is_file(), "panel instance missing: {}", path.display());
            path
        })
        .collect();
    let options = ReplayOptions {
        time_limit: None,
        max_iterations: Some(panel.frontier_max_iterations),
        threads: panel.threads,
        seeds: panel.seeds.clone(),
        rounding: Rounding::Auto,
        ..ReplayOptions::default()
    };
    let rows = replay_panel(&paths, &options);
    let failed: Vec<String> = rows.iter().filter(|r| r.failed()).map(|r| format!("{} seed {}: {:?}", r.instance, r.seed, r.error)).collect();
    assert!(failed.is_empty(), "failed or infeasible solves:\n{}", failed.join("\n"));
    let mut by_family: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for r in &rows {
        let gap = r.gap_pct.unwrap_or_else(|| panic!("{}: no best-known solution", r.path));
        println!("{:<24} {:>4} {:>12} {:>8.3} {:>8.2} s {:>10}", r.instance, r.seed, r.cost, gap, r.elapsed_s, r.iterations);
        by_family.entry(r.family.clone()).or_default().push(gap);
    }
    assert_eq!(
        by_family.keys().collect::<Vec<_>>(),
        panel.frontier_baseline_mean_gap_pct.keys().collect::<Vec<_>>(),
        "every family of the frontier panel needs a baseline, and every baseline instances"
    );
    let mut worse = Vec::new();
    for (family, gaps) in &by_family {
        let gap = mean(gaps).unwrap_or(f64::NAN);
        let baseline = panel.frontier_baseline_mean_gap_pct[family];
        println!("frontier: {family} mean_gap_pct {gap:.4} (baseline {baseline:.4})");
        if gap > baseline + panel.frontier_tolerance_gap_pct {
            worse.push(format!("{family}: mean gap {gap:.4} % is worse than the baseline {baseline:.4} % + {}", panel.frontier_tolerance_gap_pct));
        }
    }
    assert!(worse.is_empty(), "{}; if the search changed on purpose, update quality/panel.json as its how_to_update says", worse.join("; "));
}

#[test]
fn rush_hour_days_are_no_worse_than_their_recorded_baseline() {
    use solver::search::{solve, Environment};
    let panel: Panel = serde_json::from_str(PANEL).expect("quality/panel.json is valid");
    let r = &panel.rush_hours;
    assert!(!r.days.is_empty() && !r.bands.is_empty(), "{r:?}");
    let costs: Vec<f64> = r
        .days
        .iter()
        .map(|&day| {
            let mut doc = datasets::taipei_day(day, r.customers);
            for p in &mut doc.profiles {
                p.rush_hours = r.bands.clone();
            }
            let problem = solver::io::json::build(&doc).expect("the generated day builds");
            let started = Instant::now();
            let env = Environment { seed: 1, threads: 1, time_limit: None, max_iterations: Some(r.max_iterations), ..Environment::default() };
            let out = solve(&problem, &env);
            let report = solver::check::check(&problem, &out.solution);
            assert!(report.is_feasible(), "day {day}: the plan breaks {:?}", report.violations);
            assert_eq!(report.cost.total, out.cost, "day {day}: the search and the checker disagree on the cost in rush hours");
            let cost = solver::io::json::cost_to_ntd(report.cost.total);
            println!(
                "rush day {day}: {} routes, {} left out, NT$ {cost:.0}, {:.1} s",
                report.routes.len(),
                out.solution.unassigned.len(),
                started.elapsed().as_secs_f64()
            );
            cost
        })
        .collect();
    let measured = mean(&costs).unwrap_or(f64::NAN);
    println!("rush_hours: mean_cost_ntd {measured:.2} (baseline {:.2})", r.baseline_mean_cost_ntd);
    let limit = r.baseline_mean_cost_ntd * (1.0 + r.tolerance_pct / 100.0);
    assert!(
        measured <= limit,
        "rush-hour days: mean cost NT$ {measured:.2} is worse than the baseline {:.2} + {} %; if the search changed on purpose, update quality/panel.json",
        r.baseline_mean_cost_ntd,
        r.tolerance_pct
    );
}
