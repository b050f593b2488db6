//! Rush hours: how far a plan made with static travel times misses once the roads slow down, and
//! what planning with the rush hours saves.
//!
//! Generated Taipei days (the `datasets` generator: trucks and motorcycles from 08:00 to 18:00,
//! reloads, customer windows) are planned twice with a fixed seed and an iteration limit, so the
//! figures are the same on every machine: once with the generator's static durations (free flow
//! all day), once with rush hours on both profiles (`--rush`, default a morning peak 08:00-09:30
//! at 55 % of free-flow speed, lunch 12:00-13:00 at 80 % and an evening peak 17:00-19:00 at
//! 50 %: assumptions for the example, not measured Taipei speeds). Both plans are then timed by
//! the checker in the rush hours. Per day it prints how late the static plan's predicted arrival
//! times turn out (mean and largest miss, share of stops more than 15 minutes later than
//! predicted), the windows and shifts it then breaks, and the operating cost of both plans in the
//! rush hours.
//!
//!     cargo run --release -p benches --example rush_hours -- --days 3 --customers 100 \
//!         --iterations 1000 --rush "08:00-09:30@55,12:00-13:00@80,17:00-19:00@50"

use solver::check::check;
use solver::io::json::{build, cost_to_ntd, JsonProblem, JsonRushHour};
use solver::search::{solve, Environment};

struct Options {
    days: u64,
    customers: usize,
    iterations: u64,
    rush: Vec<JsonRushHour>,
}

/// `"HH:MM-HH:MM@PERCENT,..."` as rush-hour bands.
fn bands(value: &str) -> Result<Vec<JsonRushHour>, String> {
    value
        .split(',')
        .map(|band| {
            let (span, speed) = band.trim().split_once('@').ok_or_else(|| format!("{band}: expected HH:MM-HH:MM@PERCENT"))?;
            let (start, end) = span.split_once('-').ok_or_else(|| format!("{band}: expected HH:MM-HH:MM@PERCENT"))?;
            let speed_percent = speed.parse().map_err(|e| format!("{band}: {e}"))?;
            Ok(JsonRushHour { start: start.into(), end: end.into(), speed_percent })
        })
        .collect()
}

fn options() -> Result<Options, String> {
    let mut o = Options { days: 3, customers: 100, iterations: 1000, rush: bands("08:00-09:30@55,12:00-13:00@80,17:00-19:00@50")? };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--days" => o.days = value.parse().map_err(|e| bad(&e))?,
            "--customers" => o.customers = value.parse().map_err(|e| bad(&e))?,
            "--iterations" => o.iterations = value.parse().map_err(|e| bad(&e))?,
            "--rush" => o.rush = bands(&value)?,
            _ => return Err(format!("unknown flag {flag} (--days, --customers, --iterations, --rush)")),
        }
    }
    Ok(o)
}

fn env(iterations: u64) -> Environment {
    Environment { seed: 1, threads: 1, time_limit: None, max_iterations: Some(iterations), ..Environment::default() }
}

fn operating(c: &solver::check::CostBreakdown) -> f64 {
    cost_to_ntd(c.fixed_cost + c.distance_cost + c.duration_cost + c.overtime_cost)
}

/// When a vehicle that leaves at `start` starts serving each client of `route` (the checker's
/// `arrivals`): at the earliest in its first window still open (a late stop is served on arrival), reloading at each
/// trip's depot.
fn drive(p: &solver::model::Problem, route: &solver::solution::Route, start: i64) -> Vec<i64> {
    let t = route.vehicle_type;
    let mut time = start;
    let mut at = p.depots[p.vehicle_types[t].start_depot].location;
    let mut arrivals = Vec::new();
    for (k, trip) in route.trips.iter().enumerate() {
        if k > 0 {
            let depot = &p.depots[trip.depot];
            let ready = time + p.travel(t, at, depot.location, time) + depot.reload_duration;
            let release = trip.visits.iter().map(|&c| p.clients[c].release_time).max().unwrap_or(0);
            time = ready.max(depot.time_window.early).max(release);
            at = depot.location;
        }
        for &c in &trip.visits {
            let client = &p.clients[c];
            let arrival = time + p.travel(t, at, client.location, time);
            let service = client.time_windows.iter().find(|w| w.late >= arrival).map_or(arrival, |w| arrival.max(w.early));
            arrivals.push(service);
            time = service + client.service_duration;
            at = client.location;
        }
    }
    arrivals
}

fn main() -> Result<(), String> {
    let o = options()?;
    println!("| day | stops | mean arrival later than planned, min | largest, min | >15 min late | broken in rush, leaving earliest | static plan NT$ | rush-aware NT$ | saving | rush-aware out | search s static / rush-aware |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let (mut misses, mut stops, mut late15, mut saved) = (0.0, 0usize, 0usize, 0.0);
    for seed in 1..=o.days {
        let doc: JsonProblem = datasets::taipei_day(seed, o.customers);
        let mut rush_doc = doc.clone();
        for p in &mut rush_doc.profiles {
            p.rush_hours = o.rush.clone();
        }
        let (free, rush) = (build(&doc).map_err(|e| e.to_string())?, build(&rush_doc).map_err(|e| e.to_string())?);
        let clock = std::time::Instant::now();
        let static_plan = solve(&free, &env(o.iterations));
        let static_s = clock.elapsed().as_secs_f64();
        let predicted = check(&free, &static_plan.solution);
        if !predicted.is_feasible() {
            return Err(format!("day {seed}: static plan infeasible: {:?}", predicted.violations.first()));
        }
        // The static plan driven in the rush hours: each driver leaves when the plan says, and
        // the checker's timing of the same routes gives the windows and shifts they break and
        // the operating cost.
        let driven = check(&rush, &static_plan.solution);
        let mut miss = Vec::new();
        for (route, planned) in static_plan.solution.routes.iter().zip(&predicted.routes) {
            let arrivals = drive(&rush, route, planned.start);
            debug_assert_eq!(drive(&free, route, planned.start), planned.arrivals.concat(), "drive() times free flow like the checker");
            miss.extend(planned.arrivals.iter().flatten().zip(arrivals).map(|(&p, d)| (d - p) as f64 / 60.0));
        }
        let mean = miss.iter().sum::<f64>() / miss.len().max(1) as f64;
        let largest = miss.iter().copied().fold(0.0, f64::max);
        let over = miss.iter().filter(|&&m| m > 15.0).count();
        // Planned with the rush hours.
        let clock = std::time::Instant::now();
        let aware = solve(&rush, &env(o.iterations));
        let aware_s = clock.elapsed().as_secs_f64();
        let aware_report = check(&rush, &aware.solution);
        if !aware_report.is_feasible() {
            return Err(format!("day {seed}: rush-aware plan infeasible: {:?}", aware_report.violations.first()));
        }
        let (was, now) = (operating(&driven.cost), operating(&aware_report.cost));
        println!(
            "| {seed} | {} | {mean:.1} | {largest:.1} | {over} ({:.0} %) | {} | {was:.0} | {now:.0} | {:+.2} % | {} | {static_s:.1} / {aware_s:.1} |",
            miss.len(),
            100.0 * over as f64 / miss.len().max(1) as f64,
            driven.violations.len(),
            100.0 * (now - was) / was,
            aware.solution.unassigned.len()
        );
        misses += miss.iter().sum::<f64>();
        stops += miss.len();
        late15 += over;
        saved += 100.0 * (now - was) / was;
    }
    println!(
        "\nOver {} days of {} customers ({} iterations, seed 1): static arrivals missed by {:.1} min on average, {:.0} % of stops more than 15 min late; planning with the rush hours changed the operating cost by {:+.2} % on average.",
        o.days,
        o.customers,
        o.iterations,
        misses / stops.max(1) as f64,
        100.0 * late15 as f64 / stops.max(1) as f64,
        saved / o.days.max(1) as f64
    );
    Ok(())
}
