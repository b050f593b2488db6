//! Solves one instance and prints `instance cost feasible iterations` on one line: a small
//! harness for measuring the search (e.g. 1 against 2 threads) without the command line crate.
//!
//! `cargo run --release -p solver --example solve_quiet -- INSTANCE SECONDS THREADS [SEED]`

use solver::check::check;
use solver::io::{read_instance, Format, Rounding};
use solver::search::{solve, Environment};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: solve_quiet INSTANCE SECONDS THREADS [SEED]");
        std::process::exit(2);
    }
    let instance = match read_instance(args[1].as_ref(), Format::Auto, Rounding::Auto) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let seconds: f64 = args[2].parse().unwrap_or(5.0);
    let threads: usize = args[3].parse().unwrap_or(1);
    let seed: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    let env = Environment { seed, threads, time_limit: Some(Duration::from_secs_f64(seconds)), ..Environment::default() };
    let out = solve(&instance.problem, &env);
    let report = check(&instance.problem, &out.solution);
    println!("{} {} {} {}", instance.problem.name, instance.format_cost(report.cost.total), report.is_feasible(), out.iterations);
}
