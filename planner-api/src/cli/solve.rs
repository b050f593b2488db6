//! `luckygas solve`: read an instance, search, check the result with the independent checker,
//! print a summary (or one JSON object) and optionally write a `.sol` file.

use super::progress::SearchBar;
use super::search_args::SearchArgs;
use anyhow::Context;
use clap::Args;
use solver::check::check;
use solver::io::{self, Format, Rounding};
use solver::search::{self, Environment};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `luckygas solve`.
#[derive(Args, Debug)]
pub struct SolveArgs {
    /// Instance file (VRPLIB `.vrp` or Solomon `.txt`).
    instance: PathBuf,
    /// Input format.
    #[arg(long, default_value = "auto")]
    format: Format,
    /// Distance convention: auto picks the family's own.
    #[arg(long = "round", default_value = "auto")]
    rounding: Rounding,
    #[command(flatten)]
    search: SearchArgs,
    /// Write the solution in VRPLIB `.sol` format to this file.
    #[arg(long)]
    solution_out: Option<PathBuf>,
    /// Start from this VRPLIB `.sol` file (a warm start): every search run begins with its
    /// routes, and the clients it leaves out are added by regret insertion.
    #[arg(long, value_name = "FILE.sol")]
    initial_solution: Option<PathBuf>,
    /// Print one JSON object on stdout instead of the routes.
    #[arg(long)]
    json: bool,
    /// Search algorithm: auto (the capacitated genetic search on plain capacitated problems,
    /// ruin and recreate on the others), ruin-recreate, or hgs (the general engine's hybrid
    /// genetic search, experimental).
    #[arg(long, default_value = "auto")]
    algorithm: search::Algorithm,
}

/// Runs `luckygas solve`.
pub fn run(a: SolveArgs) -> anyhow::Result<ExitCode> {
    let instance = Arc::new(io::read_instance(&a.instance, a.format, a.rounding)?);
    let time_limit = a.search.limit(10.0)?;
    let fmt_instance = instance.clone();
    let (bar, report) = SearchBar::new(Some(time_limit), Arc::new(move |c| fmt_instance.format_cost(c)));
    let initial = match &a.initial_solution {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(Arc::new(io::sol::read(&text, path, &instance)?.solution))
        }
        None => None,
    };
    let env = Environment { algorithm: a.algorithm, initial, ..a.search.environment(time_limit, report) };
    let outcome = search::solve(&instance.problem, &env);
    bar.finish();
    let report = check(&instance.problem, &outcome.solution);
    let cost = report.cost.total;
    if let Some(path) = &a.solution_out {
        std::fs::write(path, io::sol::write(&instance, &outcome.solution, cost)).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let name = a.instance.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let p = &instance.problem;
    if a.json {
        let unassigned: Vec<_> = outcome
            .solution
            .unassigned
            .iter()
            .map(|u| serde_json::json!({"location": p.clients[u.client].location, "client": p.clients[u.client].name, "reason": u.reason}))
            .collect();
        let out = serde_json::json!({
            "instance": name,
            "cost": instance.format_cost(cost).parse::<f64>().unwrap_or(cost as f64),
            "feasible": report.is_feasible(),
            "routes": outcome.solution.routes.len(),
            "unassigned": unassigned,
            "elapsed_s": (outcome.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "iterations": outcome.iterations,
            "seed": a.search.seed,
            "threads": env.threads,
        });
        println!("{out}");
    } else {
        for (k, r) in outcome.solution.routes.iter().enumerate() {
            let stops: Vec<String> = r
                .trips
                .iter()
                .enumerate()
                .flat_map(|(t, trip)| {
                    let reload = (t > 0).then(|| format!("|{}|", p.depots[trip.depot].location));
                    reload.into_iter().chain(trip.visits.iter().map(|&c| p.clients[c].location.to_string()))
                })
                .collect();
            println!("Route #{}: {}", k + 1, stops.join(" "));
        }
        println!("Cost {}", instance.format_cost(cost));
        println!(
            "{} routes, {} unassigned, {}, {} iterations in {:.2} s (seed {}, {} threads)",
            outcome.solution.routes.len(),
            outcome.solution.unassigned.len(),
            if report.is_feasible() { "feasible" } else { "INFEASIBLE" },
            outcome.iterations,
            outcome.elapsed.as_secs_f64(),
            a.search.seed,
            env.threads
        );
        for v in &report.violations {
            eprintln!("violation: {v}");
        }
    }
    Ok(if report.is_feasible() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
