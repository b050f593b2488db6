//! `bench-summary`: p50, p95 and max per bench from criterion's saved samples, and with
//! `--check` whether each p95 holds its budget in `benches/budgets.toml`.
//!
//! ```text
//! cargo run --release -p benches --bin bench-summary -- [--criterion-dir DIR] [--budgets FILE] [--check]
//! ```
//!
//! Exit status: 0 when every budget holds (or without `--check`), 1 when a p95 is over its
//! budget, a budgeted bench has no samples or a bench has no budget, 2 when a file is missing or
//! malformed.

use benches::summary::{read_criterion_dir, render, summarise, Budgets};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Summarise criterion's last run and check it against the p95 budgets.
#[derive(Parser)]
#[command(about = "p50/p95 per bench from criterion's samples, checked against budgets")]
struct Cli {
    /// Criterion's output folder [default: $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion,
    /// else target/criterion of the workspace].
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
    /// p95 budgets (a `[p95_ms]` table of "group/function" = milliseconds).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/budgets.toml"))]
    budgets: PathBuf,
    /// Check every bench against its budget; exit 1 if one fails.
    #[arg(long)]
    check: bool,
}

/// Where criterion writes, by the same rules as criterion 0.5 (without its `cargo metadata` call).
fn default_criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        PathBuf::from(home)
    } else if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        PathBuf::from(target).join("criterion")
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/criterion"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let criterion_dir = cli.criterion_dir.unwrap_or_else(default_criterion_dir);
    if !criterion_dir.is_dir() {
        eprintln!("bench-summary: no criterion results in {} (run the benches first: cargo bench -p benches)", criterion_dir.display());
        return ExitCode::from(2);
    }
    let run = || -> Result<bool, benches::summary::SummaryError> {
        let benches = read_criterion_dir(&criterion_dir)?;
        let budgets = if cli.check { Some(Budgets::read(&cli.budgets)?) } else { None };
        let rows = summarise(&benches, budgets.as_ref());
        println!("criterion samples from {}", criterion_dir.display());
        print!("{}", render(&rows));
        let failed = rows.iter().filter(|r| r.verdict.fails()).count();
        if cli.check {
            if failed == 0 {
                println!("every p95 is within its budget ({})", cli.budgets.display());
            } else {
                println!("{failed} bench(es) failed the check against {}", cli.budgets.display());
            }
        }
        Ok(failed == 0)
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench-summary: {e}");
            ExitCode::from(2)
        }
    }
}
