//! Time and peak memory of importing a month: parsing a statement of 50,000 deposits (the
//! fixed-width layout in Big5, about 7.6 MB) and matching it against 20,000 open invoices of
//! 10,000 customers. Run in release:
//!
//! ```sh
//! cargo run --release -p payments --example import_month [-- DEPOSITS INVOICES]
//! ```
//!
//! Peak memory is the process's VmHWM (Linux): reset through /proc/self/clear_refs after the
//! data is prepared, so that it counts the import (the file's bytes, which it needs, included).

use payments::matching::match_deposits;
use payments::statement::{parse, write, Encoding, Format};
use std::collections::HashSet;
use std::time::Instant;

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let deposits = args.first().copied().unwrap_or(50_000);
    let invoices = args.get(1).copied().unwrap_or(20_000);
    let month = payments::sample::month(2026, invoices, deposits);
    let book = month.book();
    let bytes = write(Format::FixedWidth, &month.statement, Encoding::Big5)?;
    let prepared = vm_hwm_kib();
    drop(month.statement);
    // Resets VmHWM to the current resident size (Linux 4.0+); ignored where unsupported.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();

    let start = Instant::now();
    let statement = parse(Format::FixedWidth, "deposits-20261210.txt", &bytes)?;
    let parsed = start.elapsed();
    let outcome = match_deposits(&book, &statement.deposits, &HashSet::new());
    let total = start.elapsed();

    println!("deposits {deposits}, open invoices {invoices}, file {} bytes (fixed width, Big5)", bytes.len());
    println!("parse {:.1} ms, match {:.1} ms, total {:.1} ms", parsed.as_secs_f64() * 1e3, (total - parsed).as_secs_f64() * 1e3, total.as_secs_f64() * 1e3);
    println!(
        "allocations {}, credits {}, unmatched {}, duplicates {}",
        outcome.allocations.len(),
        outcome.credits.len(),
        outcome.unmatched.len(),
        outcome.duplicates.len()
    );
    match (prepared, vm_hwm_kib()) {
        (Some(before), Some(peak)) if reset => {
            println!("peak memory (VmHWM) during the import {:.1} MiB; {:.1} MiB when the data was prepared", peak as f64 / 1024.0, before as f64 / 1024.0)
        }
        (_, Some(peak)) => println!("peak memory (VmHWM) of the whole run {:.1} MiB (could not reset it)", peak as f64 / 1024.0),
        _ => println!("peak memory: /proc/self/status not available"),
    }
    Ok(())
}
