//! Fair days: what evening out the drivers' days costs, and how much it evens them.
//!
//! Generated Taipei days (the `datasets` generator: trucks and motorcycles, reloads, windows) are
//! planned with the fair-day weight (`fair_day_cost_per_hour_squared`, NT$ per squared hour of
//! each route) at each of the given values, with a fixed seed and an iteration limit, so the
//! figures are the same on every machine. For each day and weight it prints the operating cost
//! (fixed, distance and time costs, without the fairness term), the routes, the spread of the
//! route durations (longest minus shortest), their standard deviation, the longest route and
//! the latest return; then the mean change against weight 0 over the days.
//!
//!     cargo run --release -p benches --example fair_days -- --days 3 --customers 120 \
//!         --iterations 3000 --weights 0,10,30,100,300

use solver::check::check;
use solver::io::json::{build, cost_to_ntd, JsonProblem};
use solver::search::{solve, Environment};

struct Options {
    days: u64,
    customers: usize,
    iterations: u64,
    weights: Vec<f64>,
}

fn options() -> Result<Options, String> {
    let mut o = Options { days: 3, customers: 120, iterations: 3000, weights: vec![0.0, 10.0, 30.0, 100.0, 300.0] };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--days" => o.days = value.parse().map_err(|e| bad(&e))?,
            "--customers" => o.customers = value.parse().map_err(|e| bad(&e))?,
            "--iterations" => o.iterations = value.parse().map_err(|e| bad(&e))?,
            "--weights" => o.weights = value.split(',').map(|w| w.trim().parse::<f64>().map_err(|e| bad(&e))).collect::<Result<_, _>>()?,
            _ => return Err(format!("unknown flag {flag} (--days, --customers, --iterations, --weights)")),
        }
    }
    if o.weights.is_empty() || o.weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
        return Err("--weights: non-negative numbers, comma-separated".into());
    }
    Ok(o)
}

/// What one plan of one day gives.
struct Day {
    operating_ntd: f64,
    routes: usize,
    spread_h: f64,
    std_h: f64,
    longest_h: f64,
    latest_return_s: i64,
    unassigned: usize,
}

fn plan(doc: &JsonProblem, weight: f64, iterations: u64) -> Result<Day, String> {
    let mut doc = doc.clone();
    for vt in &mut doc.vehicle_types {
        vt.fair_day_cost_per_hour_squared = weight;
    }
    let problem = build(&doc).map_err(|e| e.to_string())?;
    let env = Environment { seed: 1, threads: 1, time_limit: None, max_iterations: Some(iterations), ..Environment::default() };
    let out = solve(&problem, &env);
    let report = check(&problem, &out.solution);
    if !report.is_feasible() {
        return Err(format!("infeasible plan: {:?}", report.violations.first()));
    }
    let durations: Vec<f64> = report.routes.iter().filter(|r| r.duration > 0).map(|r| r.duration as f64 / 3600.0).collect();
    let n = durations.len().max(1) as f64;
    let mean = durations.iter().sum::<f64>() / n;
    let longest = durations.iter().copied().fold(0.0, f64::max);
    let shortest = durations.iter().copied().fold(f64::INFINITY, f64::min);
    let c = &report.cost;
    Ok(Day {
        operating_ntd: cost_to_ntd(c.fixed_cost + c.distance_cost + c.duration_cost + c.overtime_cost),
        routes: durations.len(),
        spread_h: if durations.is_empty() { 0.0 } else { longest - shortest },
        std_h: (durations.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt(),
        longest_h: longest,
        latest_return_s: report.routes.iter().filter(|r| r.duration > 0).map(|r| r.end).max().unwrap_or(0),
        unassigned: out.solution.unassigned.len(),
    })
}

fn clock(s: i64) -> String {
    format!("{:02}:{:02}", s / 3600, s % 3600 / 60)
}

fn main() -> Result<(), String> {
    let o = options()?;
    println!("| day | weight NT$/h² | operating NT$ | routes | spread h | std h | longest h | latest return | out |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    // Per weight: the sums over days of (operating cost change %, spread change h, std change h).
    let mut change = vec![(0.0, 0.0, 0.0, 0i64); o.weights.len()];
    for seed in 1..=o.days {
        let doc = datasets::taipei_day(seed, o.customers);
        let days = o.weights.iter().map(|&w| plan(&doc, w, o.iterations)).collect::<Result<Vec<Day>, String>>()?;
        let base = &days[0];
        for ((&w, d), sums) in o.weights.iter().zip(&days).zip(change.iter_mut()) {
            println!(
                "| {seed} | {w} | {:.0} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
                d.operating_ntd,
                d.routes,
                d.spread_h,
                d.std_h,
                d.longest_h,
                clock(d.latest_return_s),
                d.unassigned
            );
            sums.0 += 100.0 * (d.operating_ntd - base.operating_ntd) / base.operating_ntd;
            sums.1 += d.spread_h - base.spread_h;
            sums.2 += d.std_h - base.std_h;
            sums.3 += d.latest_return_s - base.latest_return_s;
        }
    }
    let days = o.days.max(1) as f64;
    println!("\nMean over {} days of {} customers ({} iterations, seed 1), against weight {}:", o.days, o.customers, o.iterations, o.weights[0]);
    println!("| weight NT$/h² | operating cost | spread | std of durations | latest return |");
    println!("| --- | --- | --- | --- | --- |");
    for (k, &w) in o.weights.iter().enumerate() {
        let (cost, spread, std, latest) = change[k];
        println!("| {w} | {:+.2} % | {:+.2} h | {:+.2} h | {:+.0} min |", cost / days, spread / days, std / days, latest as f64 / days / 60.0);
    }
    Ok(())
}
