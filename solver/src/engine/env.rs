//! What a search run gets and gives: the [`Environment`] that decides when and how it runs
//! (randomness, deadlines, iteration limits, cancellation, which metaheuristic), the
//! [`Progress`] it reports and the [`RunResult`] it returns.
//!
//! Same seed + same thread count + iteration limit = same result.

use crate::solution::Solution;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Progress of a run, reported when the best solution improves.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Iterations done by the reporting run.
    pub iterations: u64,
    /// Objective of its best solution.
    pub best_cost: i64,
    /// Whether that solution is feasible.
    pub feasible: bool,
    /// Time since the run started.
    pub elapsed: Duration,
}

/// A callback receiving progress reports (from any worker thread).
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Which metaheuristic drives the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// The capacitated genetic search (`crate::cvrp`) on plain capacitated problems, ruin and
    /// recreate on everything else.
    #[default]
    Auto,
    /// Hybrid genetic search on the general engine (`crate::hgs`).
    Hgs,
    /// Ruin and recreate with threshold acceptance (`crate::ruin_recreate`), whatever the
    /// problem.
    RuinRecreate,
}

impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Algorithm::Auto),
            "hgs" => Ok(Algorithm::Hgs),
            "ruin-recreate" => Ok(Algorithm::RuinRecreate),
            _ => Err(format!("unknown algorithm '{s}' (expected auto, hgs or ruin-recreate)")),
        }
    }
}

/// Whether the ruin-and-recreate search ends with a set-partitioning step over the routes it
/// met (`crate::partition`).
///
/// Off by default: measured with paired seeds on CVRP X instances of 100-400 clients (10 s, 2
/// threads, 6 seeds) and on 1000-client VRPTW (30 s, 2 threads, 4 seeds), it did not improve the
/// results: the step seldom finds a cheaper recombination within its share of the time, and the
/// walks lose that share (and the cost of collecting routes), about 6 % of their iterations.
/// Running it periodically as well was worse. It never makes an iteration-limited run worse (the
/// walks are the same, the step only replaces the best solution by a cheaper one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SetPartitioning {
    /// Run it (when the build has a MIP backend, the solver's `microlp` or `highs` feature).
    On,
    /// Do not.
    #[default]
    Off,
}

impl std::str::FromStr for SetPartitioning {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "on" => Ok(SetPartitioning::On),
            "off" => Ok(SetPartitioning::Off),
            _ => Err(format!("unknown set-partitioning mode '{s}' (expected on or off)")),
        }
    }
}

/// Everything that decides when and how a search runs.
#[derive(Clone)]
pub struct Environment {
    /// Seed of the whole search; each thread derives its own from it.
    pub seed: u64,
    /// Worker threads (independent runs; the best result is kept).
    pub threads: usize,
    /// Wall-clock limit.
    pub time_limit: Option<Duration>,
    /// Iterations per ruin-and-recreate walk (a thread runs one or two, see `search`), or per
    /// genetic run (one iteration: one educated individual).
    pub max_iterations: Option<u64>,
    /// Set to stop the search early.
    pub cancel: Arc<AtomicBool>,
    /// Receives progress.
    pub progress: Option<ProgressFn>,
    /// Granular neighbourhood size.
    pub neighbours: usize,
    /// The metaheuristic.
    pub algorithm: Algorithm,
    /// A final set-partitioning step over the routes met (ruin and recreate only).
    pub set_partitioning: SetPartitioning,
    /// When the time limit started counting; `search::solve` sets it on entry, so neighbour lists and
    /// construction count against the limit too.
    pub started: Instant,
    /// A solution to start from (a warm start) instead of building one: every run starts from
    /// it, with the clients it leaves out added by regret insertion.
    pub initial: Option<Arc<Solution>>,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            seed: 1,
            threads: 1,
            time_limit: Some(Duration::from_secs(10)),
            max_iterations: None,
            cancel: Arc::new(AtomicBool::new(false)),
            progress: None,
            neighbours: 40,
            algorithm: Algorithm::default(),
            set_partitioning: SetPartitioning::default(),
            started: Instant::now(),
            initial: None,
        }
    }
}

impl Environment {
    /// Whether the search must stop (cancelled, or out of time).
    pub fn must_stop(&self) -> bool {
        self.cancelled() || self.time_limit.is_some_and(|t| self.started.elapsed() >= t)
    }

    /// Whether the search was cancelled (whatever its time limit).
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// How far a run is through its budget, in `[0, 1]`.
    pub fn progress(&self, iterations: u64) -> f64 {
        let by_time = self.time_limit.map_or(0.0, |t| self.started.elapsed().as_secs_f64() / t.as_secs_f64().max(1e-9));
        let by_iter = self.max_iterations.map_or(0.0, |m| iterations as f64 / m.max(1) as f64);
        by_time.max(by_iter).clamp(0.0, 1.0)
    }
}

/// The outcome of one run.
pub struct RunResult {
    /// Best routes found (vehicle type, visits), feasible if `feasible`.
    pub routes: Vec<(usize, Vec<u32>)>,
    /// Their objective value.
    pub cost: i64,
    /// Whether they are feasible.
    pub feasible: bool,
    /// Ruin-and-recreate iterations done.
    pub iterations: u64,
}
