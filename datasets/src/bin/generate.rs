//! `generate`: writes generated delivery days as JSON problems.
//!
//! ```text
//! cargo run -p datasets --bin generate -- taipei-day --seed 7 --customers 40 --out day.json
//! cargo run -p datasets --bin generate -- taipei-day --customers 80 --two-windows-share 0.4 --lunch-breaks --overtime
//! cargo run --release -p datasets --bin generate -- legacy --customers 3000 --days 365 --seed 7 --out legacy-data
//! ```

use anyhow::{ensure, Context};
use clap::{Parser, Subcommand};
use datasets::legacy::{generate_legacy, LegacyOptions};
use datasets::{generate, DayOptions};
use std::path::PathBuf;
use std::time::Instant;

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
    /// The distributor's old system: Big5 CSV exports (customers, orders, order lines,
    /// deliveries) and SQL scripts loading the old database (SQLite, PostgreSQL), with the dirt
    /// real data has (see legacy/README.md).
    Legacy {
        /// Seed: the same seed and options give the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Customers entered before the first day (3% more are re-entered duplicates).
        #[arg(long, default_value_t = 3000)]
        customers: usize,
        /// Days of orders and deliveries.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// The first day, YYYY-MM-DD.
        #[arg(long, default_value = "2025-12-01")]
        start: chrono::NaiveDate,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
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
        Command::Legacy { seed, customers, days, start, out } => {
            let began = Instant::now();
            let data = generate_legacy(seed, &LegacyOptions { customers, days, start })?;
            let written = data.write_to(&out)?;
            let d = &data.dirt;
            eprintln!(
                "{} customers ({} re-entered, {} by phone; {} without coordinates, {} without a usable phone), {} orders, {} order lines, {} deliveries",
                data.customers.len(),
                d.duplicates.len(),
                d.duplicates_by_phone,
                d.missing_coordinates,
                d.junk_phones,
                data.orders.len(),
                data.order_lines.len(),
                data.deliveries.len()
            );
            eprintln!(
                "bad rows: {} customers, {} orders, {} order lines, {} deliveries; {} orders of missing customers",
                d.bad_customers.len(),
                d.bad_orders.len(),
                d.bad_order_lines.len(),
                d.bad_deliveries.len(),
                d.orphan_orders.len()
            );
            for path in written {
                eprintln!("wrote {}", path.display());
            }
            eprintln!("in {:.2} s", began.elapsed().as_secs_f64());
        }
    }
    Ok(())
}
