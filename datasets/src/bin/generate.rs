//! `generate`: writes generated delivery days as JSON problems.
//!
//! ```text
//! cargo run -p datasets --bin generate -- taipei-day --seed 7 --customers 40 --out day.json
//! cargo run -p datasets --bin generate -- taipei-day --customers 80 --two-windows-share 0.4 --lunch-breaks --overtime
//! ```

use anyhow::{ensure, Context};
use clap::{Parser, Subcommand};
use datasets::{generate, DayOptions};
use std::path::PathBuf;

/// Generators of datasets.
#[derive(Parser)]
#[command(about = "Generate LuckyGas datasets")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A realistic LPG delivery day in Taipei and New Taipei (JSON problem format).
    TaipeiDay {
        /// Seed: the same seed and options give the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of customers.
        #[arg(long, default_value_t = 40)]
        customers: usize,
        /// Number of depots: 1 (Taipei) or 2 (Taipei and New Taipei).
        #[arg(long, default_value_t = 2)]
        depots: usize,
        /// Delivery day, YYYY-MM-DD.
        #[arg(long, default_value = "2026-03-02")]
        date: String,
        /// Share of customers with two time windows.
        #[arg(long, default_value_t = 0.0)]
        two_windows_share: f64,
        /// Share of households in narrow lanes (motorcycles only).
        #[arg(long, default_value_t = 0.12)]
        narrow_lane_share: f64,
        /// Share of optional customers (planned refills with a prize).
        #[arg(long, default_value_t = 0.0)]
        optional_share: f64,
        /// Drivers take a 45-minute lunch break starting between 11:30 and 13:30.
        #[arg(long)]
        lunch_breaks: bool,
        /// Routes over 8 hours pay overtime.
        #[arg(long)]
        overtime: bool,
        /// Output file; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::TaipeiDay { seed, customers, depots, date, two_windows_share, narrow_lane_share, optional_share, lunch_breaks, overtime, out } => {
            ensure!((1..=2).contains(&depots), "--depots must be 1 or 2");
            for (name, share) in [("two-windows-share", two_windows_share), ("narrow-lane-share", narrow_lane_share), ("optional-share", optional_share)] {
                ensure!((0.0..=1.0).contains(&share), "--{name} must be between 0 and 1");
            }
            let options = DayOptions { customers, depots, date, two_windows_share, narrow_lane_share, optional_share, lunch_breaks, overtime };
            let doc = generate(seed, &options);
            solver::io::json::build(&doc).context("the generated day does not build")?;
            let text = doc.to_pretty_json() + "\n";
            match out {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}
