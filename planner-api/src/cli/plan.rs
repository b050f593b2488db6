//! `luckygas plan [DAY.json]`: plan a delivery day in the JSON problem format (by default the
//! Taipei example day shipped in `datasets/examples/`) and print each vehicle's stops with
//! arrival times and the load on board after each stop.

use super::progress::SearchBar;
use super::search_args::SearchArgs;
use anyhow::Context;
use clap::Args;
use solver::check::check;
use solver::io::json::{self, cost_to_ntd};
use solver::search;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The example day planned when no file is given.
pub const EXAMPLE_DAY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/examples/taipei-day.json");

/// Arguments of `luckygas plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// A day in the JSON problem format (default: the shipped Taipei example day).
    day: Option<PathBuf>,
    #[command(flatten)]
    search: SearchArgs,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
}

fn clock(seconds: i64) -> String {
    format!("{:02}:{:02}", seconds.div_euclid(3600), seconds.rem_euclid(3600) / 60)
}

/// Runs `luckygas plan`.
pub fn run(a: PlanArgs) -> anyhow::Result<ExitCode> {
    let path = a.day.clone().unwrap_or_else(|| PathBuf::from(EXAMPLE_DAY));
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let (doc, problem) = json::parse(&text).with_context(|| format!("{} is not a valid delivery day", path.display()))?;
    let limit = a.search.limit(5.0)?;
    let (bar, report) = SearchBar::new(Some(limit), Arc::new(|c| format!("NT$ {:.0}", cost_to_ntd(c))));
    let env = a.search.environment(limit, report);
    let outcome = search::solve(&problem, &env);
    bar.finish();
    let checked = check(&problem, &outcome.solution);
    let mut plan_routes = Vec::new();
    if !a.json {
        println!("{} ({}): {} customers, {} vehicles available", doc.name, doc.date, problem.num_clients(), problem.num_vehicles());
    }
    for (k, route) in outcome.solution.routes.iter().enumerate() {
        let vt = &problem.vehicle_types[route.vehicle_type];
        let rep = &checked.routes[k];
        let mut stops = Vec::new();
        for (t, trip) in route.trips.iter().enumerate() {
            let mut load: Vec<i64> = (0..problem.dimensions).map(|d| trip.visits.iter().map(|&c| problem.clients[c].delivery[d]).sum()).collect();
            for (i, &c) in trip.visits.iter().enumerate() {
                let cl = &problem.clients[c];
                for (d, l) in load.iter_mut().enumerate() {
                    *l += cl.pickup[d] - cl.delivery[d];
                }
                let jc = &doc.clients[c];
                let at = rep.arrivals.get(t).and_then(|v| v.get(i)).copied().unwrap_or(0);
                stops.push(serde_json::json!({
                    "customer": jc.id, "name": jc.name, "district": jc.district, "arrival": clock(at),
                    "load_after": doc.dimensions.iter().cloned().zip(load.iter().map(|&l| serde_json::Value::from(l))).collect::<serde_json::Map<String, serde_json::Value>>(),
                }));
            }
        }
        // Driver breaks: when each starts and how long it lasts.
        let breaks: Vec<serde_json::Value> = route
            .breaks
            .iter()
            .zip(&rep.breaks)
            .map(|(b, &start)| serde_json::json!({"start": clock(start), "minutes": vt.breaks[b.index].duration / 60}))
            .collect();
        if !a.json {
            println!(
                "\n{} #{}: leaves {} at {}, back at {}, {:.1} km, cost NT$ {:.0}",
                vt.name,
                k + 1,
                problem.depots[vt.start_depot].name,
                clock(rep.start),
                clock(rep.end),
                rep.distance as f64 / 1000.0,
                cost_to_ntd(solver::engine::segment::route_cost(vt, rep.distance, rep.duration))
            );
            for b in &breaks {
                println!("  {}  break of {} min", b["start"].as_str().unwrap_or(""), b["minutes"]);
            }
            for s in &stops {
                let loads: Vec<String> = s["load_after"].as_object().map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect()).unwrap_or_default();
                println!(
                    "  {}  {} {} ({})  on board after: {}",
                    s["arrival"].as_str().unwrap_or(""),
                    s["customer"].as_str().unwrap_or(""),
                    s["name"].as_str().unwrap_or(""),
                    s["district"].as_str().unwrap_or("-"),
                    loads.join(" ")
                );
            }
        }
        plan_routes.push(serde_json::json!({"vehicle_type": doc.vehicle_types[route.vehicle_type].id, "start": clock(rep.start), "end": clock(rep.end), "distance_m": rep.distance, "stops": stops, "breaks": breaks}));
    }
    let unassigned: Vec<_> =
        outcome.solution.unassigned.iter().map(|u| serde_json::json!({"customer": doc.clients[u.client].id, "reason": u.reason})).collect();
    if a.json {
        let out = serde_json::json!({
            "name": doc.name, "date": doc.date, "feasible": checked.is_feasible(),
            "cost_ntd": cost_to_ntd(checked.cost.total), "distance_km": checked.cost.distance as f64 / 1000.0,
            "routes": plan_routes, "unassigned": unassigned, "iterations": outcome.iterations, "elapsed_s": outcome.elapsed.as_secs_f64(),
        });
        println!("{out}");
    } else {
        println!(
            "\nTotal: {} routes, {:.1} km, cost NT$ {:.0}, {}; {} unassigned",
            outcome.solution.routes.len(),
            checked.cost.distance as f64 / 1000.0,
            cost_to_ntd(checked.cost.total),
            if checked.is_feasible() { "all constraints met" } else { "INFEASIBLE" },
            unassigned.len()
        );
        for u in &outcome.solution.unassigned {
            println!("  unassigned {}: {}", doc.clients[u.client].id, u.reason);
        }
        for v in &checked.violations {
            println!("  violation: {v}");
        }
    }
    Ok(if checked.is_feasible() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
