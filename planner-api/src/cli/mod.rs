//! Command-line interface: argument definitions and dispatch to one module per command.

mod backup;
mod check;
mod legacy;
mod plan;
mod progress;
mod replay;
mod search_args;
mod serve;
mod solve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// LuckyGas route planner.
#[derive(Parser, Debug)]
#[command(name = "luckygas", version, about = "LuckyGas route planner: plans LPG cylinder deliveries and solves VRP benchmarks")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Solve a benchmark instance (VRPLIB or Solomon) and print or write the solution.
    Solve(solve::SolveArgs),
    /// Check a solution file against an instance with the independent checker.
    Check(check::CheckArgs),
    /// Plan a delivery day described in the JSON problem format and print the routes.
    Plan(plan::PlanArgs),
    /// Solve many benchmark instances (files or folders) with several seeds and compare each
    /// result with the best-known solution; print per-instance rows and a per-family summary
    /// (rows as CSV and JSON, charts of the gaps and of convergence as SVG on request).
    Replay(replay::ReplayArgs),
    /// Run the HTTP service (database from `DATABASE_URL`, default `sqlite://luckygas.db`);
    /// migrations are applied on start.
    Serve(serve::ServeArgs),
    /// Apply the database migrations (database from `DATABASE_URL`) and exit.
    Migrate(serve::MigrateArgs),
    /// The old system: import its data, keep it in step (dual write), inspect the sync queue.
    Legacy(legacy::LegacyArgs),
    /// Write a consistent copy of the database (`DATABASE_URL`) while the service runs: SQLite's
    /// `VACUUM INTO`, or `pg_dump`'s custom format.
    Backup(backup::BackupArgs),
    /// Restore a backup into the database (`DATABASE_URL`), empty unless `--force`.
    Restore(backup::RestoreArgs),
}

/// Runs the command line; the exit code is non-zero on errors and on infeasible checks.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Solve(a) => solve::run(a),
        Command::Check(a) => check::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Replay(a) => replay::run(a),
        Command::Serve(a) => serve::serve(a),
        Command::Migrate(a) => serve::migrate(a),
        Command::Legacy(a) => legacy::run(a),
        Command::Backup(a) => backup::backup(a),
        Command::Restore(a) => backup::restore(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
