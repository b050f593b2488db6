//! Search arguments shared by the commands that run the solver (`solve`, `plan`).

use clap::Args;
use solver::search::{Environment, ProgressFn, SetPartitioning};
use std::time::Duration;

/// Limits, seed and threads of a search.
#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Wall-clock limit in seconds (default: 10 for solve, 5 for plan).
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Iteration limit per search run of a thread: a ruin-and-recreate walk (a thread runs one,
    /// two with --algorithm ruin-recreate on plain CVRP instances of up to 400 clients), or a
    /// genetic search (plain CVRP instances of up to 400 clients by default; one iteration is one
    /// educated solution). With a fixed seed and thread count the result is reproducible.
    #[arg(long)]
    pub max_iterations: Option<u64>,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Recombine the routes met during the search by set partitioning (HiGHS) at
    /// the end: on or off (measured not to help at the usual limits, so off by default).
    #[arg(long, default_value = "off")]
    pub set_partitioning: SetPartitioning,
}

impl SearchArgs {
    /// The time limit, or the command's default; an error when it is not a positive number.
    pub fn limit(&self, default_seconds: f64) -> anyhow::Result<Duration> {
        let seconds = self.time_limit.unwrap_or(default_seconds);
        if !(seconds > 0.0 && seconds.is_finite()) {
            anyhow::bail!("--time-limit must be a positive number of seconds");
        }
        Ok(Duration::from_secs_f64(seconds))
    }

    /// The search environment for these arguments.
    pub fn environment(&self, limit: Duration, progress: ProgressFn) -> Environment {
        Environment {
            seed: self.seed,
            threads: self.threads.max(1),
            time_limit: Some(limit),
            max_iterations: self.max_iterations,
            progress: Some(progress),
            set_partitioning: self.set_partitioning,
            ..Environment::default()
        }
    }
}
