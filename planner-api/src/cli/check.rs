//! `luckygas check INSTANCE SOLUTION.sol`: recompute a solution's cost with the independent
//! checker and list every violated constraint; exits 1 on a violation.

use clap::Args;
use solver::check::check;
use solver::io::{self, Format, Rounding};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `luckygas check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Instance file.
    instance: PathBuf,
    /// Solution file in VRPLIB `.sol` format.
    solution: PathBuf,
    /// Input format of the instance.
    #[arg(long, default_value = "auto")]
    format: Format,
    /// Distance convention.
    #[arg(long = "round", default_value = "auto")]
    rounding: Rounding,
    /// Print one JSON object (cost breakdown and violations).
    #[arg(long)]
    json: bool,
}

/// Runs `luckygas check`.
pub fn run(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let instance = io::read_instance(&a.instance, a.format, a.rounding)?;
    let bytes = std::fs::read(&a.solution).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", a.solution.display()))?;
    let sol = io::sol::read(&String::from_utf8_lossy(&bytes), &a.solution, &instance)?;
    let report = check(&instance.problem, &sol.solution);
    let cost = instance.format_cost(report.cost.total);
    if a.json {
        let out = serde_json::json!({
            "instance": a.instance.file_stem().map(|s| s.to_string_lossy().into_owned()),
            "feasible": report.is_feasible(),
            "cost": cost.parse::<f64>().unwrap_or(report.cost.total as f64),
            "stated_cost": sol.stated_cost,
            "breakdown": report.cost,
            "violations": report.violations.iter().map(|v| serde_json::json!({"code": v.code(), "message": v.to_string()})).collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        println!("Cost {cost}");
        if let Some(stated) = sol.stated_cost {
            println!("Stated cost {stated}");
        }
        if report.is_feasible() {
            println!("feasible: no violation");
        } else {
            println!("INFEASIBLE: {} violations", report.violations.len());
            for v in &report.violations {
                println!("  [{}] {v}", v.code());
            }
        }
    }
    Ok(if report.is_feasible() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
