//! Replaying benchmark instances: the library analysts use to measure the solver.
//!
//! [`discover`] turns files and folders into a sorted list of instance files,
//! [`replay_instance`] reads one, solves it with [`solver::search::solve`], checks the result
//! with the independent checker and compares it with the best-known solution shipped beside it,
//! and [`summarise`] aggregates the rows per family. [`write_csv`] and [`write_json`] save rows
//! (and the summary) for later analysis; [`charts`] draws them as SVG (gap per instance, and the
//! convergence of each solve from its [`Row::trace`]).
//!
//! Costs are in each family's own units (the internal cost divided by
//! [`solver::io::Instance::cost_divisor`]), the units of its `.sol` files. The best-known cost of
//! an instance is its `.sol` (same stem, same folder) evaluated by the checker, never the file's
//! `Cost` line, which some families state scaled (see [`crate::manifest`]).
//!
//! Nothing here panics on bad input: an unreadable or malformed instance, a malformed best-known
//! solution, or a search that panics becomes a row with an `error`, never a dropped instance.

use serde::Serialize;
use solver::check::check;
use solver::io::{self, sol, Format, Instance, Rounding};
use solver::search::{self, Environment, Progress, ProgressFn, SetPartitioning};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub mod charts;

/// How each instance is solved.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayOptions {
    /// Wall-clock limit per solve. When both this and `max_iterations` are `None`, the solver's
    /// default limit applies, so that every solve ends.
    pub time_limit: Option<Duration>,
    /// Iteration limit per search thread; with no time limit, results are reproducible.
    pub max_iterations: Option<u64>,
    /// Search threads of each solve (instances are replayed one after the other).
    pub threads: usize,
    /// Seeds: each instance is solved once per seed.
    pub seeds: Vec<u64>,
    /// Distance convention; `Auto` uses each family's own.
    pub rounding: Rounding,
    /// Set partitioning over pooled routes.
    pub set_partitioning: SetPartitioning,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            time_limit: Some(Duration::from_secs(10)),
            max_iterations: None,
            threads: 1,
            seeds: vec![1],
            rounding: Rounding::Auto,
            set_partitioning: SetPartitioning::default(),
        }
    }
}

impl ReplayOptions {
    /// The search environment of one solve with `seed`.
    pub fn environment(&self, seed: u64) -> Environment {
        let default = Environment::default();
        let time_limit = match (self.time_limit, self.max_iterations) {
            (None, None) => default.time_limit,
            (limit, _) => limit,
        };
        Environment { seed, threads: self.threads.max(1), time_limit, max_iterations: self.max_iterations, set_partitioning: self.set_partitioning, ..default }
    }
}

/// The result of one solve of one instance with one seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Instance name (the file stem).
    pub instance: String,
    /// Family (VRPLIB `TYPE`, or `SOLOMON`); `unknown` when the file could not be read.
    pub family: String,
    /// The instance file.
    pub path: String,
    /// Number of clients (0 when the file could not be read).
    pub clients: usize,
    /// Seed of the solve.
    pub seed: u64,
    /// Cost of the solution according to the checker, in the family's units; NaN (`null` in
    /// JSON, empty in CSV) when there is no solution.
    pub cost: f64,
    /// Cost of the best-known solution, evaluated by the checker, in the family's units.
    pub bks: Option<f64>,
    /// `100 * (cost - bks) / bks`.
    pub gap_pct: Option<f64>,
    /// The checker's verdict on the solution.
    pub feasible: bool,
    /// Non-empty routes of the solution.
    pub routes: usize,
    /// Wall time of the solve, in seconds.
    pub elapsed_s: f64,
    /// Search iterations over all threads.
    pub iterations: u64,
    /// What went wrong, if anything (the instance or its best-known solution could not be read,
    /// or the search panicked).
    pub error: Option<String>,
    /// How the best feasible cost fell during the solve: a step function, in time order, each
    /// point cheaper than the one before, ending at (`elapsed_s`, `cost`) when the solution is
    /// feasible; at most [`MAX_TRACE_POINTS`] points. Empty when no feasible solution was found.
    /// In the JSON output, not in the CSV.
    pub trace: Vec<TracePoint>,
}

/// One point of a [`Row::trace`]: from `elapsed_s` on, the best feasible cost was `cost`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TracePoint {
    /// Seconds since the solve started.
    pub elapsed_s: f64,
    /// Best feasible cost so far, in the family's units (as [`Row::cost`]).
    pub cost: f64,
}

/// The most points a [`Row::trace`] keeps.
pub const MAX_TRACE_POINTS: usize = 200;

impl Row {
    /// A row for `path` and `seed` with no solution yet.
    fn empty(path: &Path, seed: u64) -> Row {
        Row {
            instance: instance_name(path),
            family: "unknown".to_string(),
            path: path.display().to_string(),
            clients: 0,
            seed,
            cost: f64::NAN,
            bks: None,
            gap_pct: None,
            feasible: false,
            routes: 0,
            elapsed_s: 0.0,
            iterations: 0,
            error: None,
            trace: Vec::new(),
        }
    }

    /// Whether the row counts against a replay: an error, or an infeasible solution.
    pub fn failed(&self) -> bool {
        self.error.is_some() || !self.feasible
    }
}

/// The name of the instance at `path`: its file stem.
pub fn instance_name(path: &Path) -> String {
    path.file_stem().map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into_owned())
}

/// The instance files named by `paths`, in order: a file is taken as it is; a folder is walked
/// recursively for `.vrp` files and Solomon `.txt` files (sorted by path), skipping README and
/// LICENSE files and symbolic links to folders.
///
/// Paths that cannot be read (a missing file, a folder that cannot be listed, a `.txt` file that
/// cannot be opened) are kept, so that replaying them reports the error.
pub fn discover(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found);
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(_) => {
            out.push(dir.to_path_buf());
            return;
        }
    };
    for entry in entries {
        let Ok(entry) = entry else {
            out.push(dir.to_path_buf());
            continue;
        };
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, out),
            Ok(t) if t.is_symlink() && path.is_dir() => {}
            _ if is_instance_file(&path) => out.push(path),
            _ => {}
        }
    }
}

/// Whether a file found in a folder is an instance: `.vrp`, or `.txt` in Solomon's format (or
/// unreadable, so that the error is reported), and not a README or LICENSE.
fn is_instance_file(path: &Path) -> bool {
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_ascii_uppercase()).unwrap_or_default();
    if stem.starts_with("README") || stem.starts_with("LICENSE") {
        return false;
    }
    let extension = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("vrp") => true,
        Some("txt") => match std::fs::read(path) {
            Ok(bytes) => io::detect_format(&String::from_utf8_lossy(&bytes)) == Format::Solomon,
            Err(_) => true,
        },
        _ => false,
    }
}

/// The cost of the best-known solution of `instance` (read from `path`), in internal units: the
/// `.sol` file beside it evaluated by the checker. `Ok(None)` when there is no such file; an error
/// when it cannot be read, does not fit the instance or is infeasible.
pub fn best_known_cost(path: &Path, instance: &Instance) -> Result<Option<i64>, String> {
    let sol_path = path.with_extension("sol");
    if !sol_path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read(&sol_path).map_err(|e| format!("{}: cannot read: {e}", sol_path.display()))?;
    let parsed = sol::read(&String::from_utf8_lossy(&text), &sol_path, instance).map_err(|e| e.to_string())?;
    let report = check(&instance.problem, &parsed.solution);
    match report.violations.first() {
        None => Ok(Some(report.cost.total)),
        Some(v) => Err(format!("{}: the best-known solution is infeasible: {v}", sol_path.display())),
    }
}

/// Reads the instance at `path`, solves it with `seed` under `options`, checks the solution and
/// compares it with the best-known solution. Never panics: failures are recorded in the row.
pub fn replay_instance(path: &Path, options: &ReplayOptions, seed: u64) -> Row {
    let mut row = Row::empty(path, seed);
    let instance = match io::read_instance(path, Format::Auto, options.rounding) {
        Ok(instance) => instance,
        Err(e) => {
            row.error = Some(e.to_string());
            return row;
        }
    };
    row.family = instance.family.clone();
    row.clients = instance.problem.num_clients();
    let divisor = instance.cost_divisor.max(1) as f64;
    let bks = best_known_cost(path, &instance);
    row.bks = bks.as_ref().ok().copied().flatten().map(|c| c as f64 / divisor);

    let recorded: Arc<Mutex<Vec<TracePoint>>> = Arc::default();
    let progress: ProgressFn = {
        let recorded = Arc::clone(&recorded);
        Arc::new(move |p: Progress| {
            if p.feasible {
                let point = TracePoint { elapsed_s: p.elapsed.as_secs_f64(), cost: p.best_cost as f64 / divisor };
                record(&mut recorded.lock().unwrap_or_else(PoisonError::into_inner), point);
            }
        })
    };
    let env = Environment { progress: Some(progress), ..options.environment(seed) };
    let started = Instant::now();
    let outcome = match catch_unwind(AssertUnwindSafe(|| search::solve(&instance.problem, &env))) {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            row.elapsed_s = started.elapsed().as_secs_f64();
            row.error = Some(format!("the search panicked: {message}"));
            return row;
        }
    };
    let report = check(&instance.problem, &outcome.solution);
    row.cost = report.cost.total as f64 / divisor;
    row.feasible = report.is_feasible();
    row.routes = outcome.solution.routes.iter().filter(|r| !r.is_empty()).count();
    row.elapsed_s = outcome.elapsed.as_secs_f64();
    row.iterations = outcome.iterations;
    row.gap_pct = row.bks.filter(|&b| b != 0.0).map(|b| 100.0 * (row.cost - b) / b);
    row.error = bks.err();
    let recorded = std::mem::take(&mut *recorded.lock().unwrap_or_else(PoisonError::into_inner));
    row.trace = finish_trace(recorded, row.feasible.then_some(TracePoint { elapsed_s: row.elapsed_s, cost: row.cost }));
    row
}

/// Adds a progress report to `trace`, which stays a step function of the best cost: sorted by
/// time, each point cheaper than the one before. Reports come from several threads and may
/// arrive out of order: one that an earlier, cheaper point covers is dropped, and one that is
/// cheaper than later points replaces them.
fn record(trace: &mut Vec<TracePoint>, p: TracePoint) {
    if !(p.elapsed_s.is_finite() && p.cost.is_finite()) {
        return;
    }
    // Points up to `at` are no later than `p`.
    let at = trace.partition_point(|q| q.elapsed_s <= p.elapsed_s);
    if at > 0 && trace[at - 1].cost <= p.cost {
        return;
    }
    let covered = trace[at..].iter().take_while(|q| q.cost >= p.cost).count();
    trace.splice(at..at + covered, [p]);
}

/// The trace of a solve from the points `record`ed during it: ends with `last` (the checked
/// solution, when feasible) and is thinned to at most [`MAX_TRACE_POINTS`] points.
fn finish_trace(mut trace: Vec<TracePoint>, last: Option<TracePoint>) -> Vec<TracePoint> {
    if let Some(last) = last.filter(|p| p.elapsed_s.is_finite() && p.cost.is_finite()) {
        // The search's costs and the checker's agree on feasible solutions; should they not, the
        // trace still ends at the checked cost and never rises.
        while trace.last().is_some_and(|q| q.cost < last.cost) {
            trace.pop();
        }
        let end = trace.last().map_or(last.elapsed_s, |q| q.elapsed_s.max(last.elapsed_s));
        if trace.last().is_none_or(|q| q.cost > last.cost || q.elapsed_s < end) {
            trace.push(TracePoint { elapsed_s: end, cost: last.cost });
        }
    }
    thin(trace, MAX_TRACE_POINTS)
}

/// At most `max` (at least 3) points of a step function sorted by time: the first, then the
/// last point of each of `max - 1` equal slices of the time span (so the last point stays). The
/// points dropped lie between kept ones, which only raises the step function there: it stays
/// non-increasing.
fn thin(trace: Vec<TracePoint>, max: usize) -> Vec<TracePoint> {
    let max = max.max(3);
    let n = trace.len();
    if n <= max {
        return trace;
    }
    let (first, last) = (trace[0], trace[n - 1]);
    let span = last.elapsed_s - first.elapsed_s;
    if span.is_nan() || span <= 0.0 {
        return vec![first, last];
    }
    let slices = max - 1;
    let slice = |p: &TracePoint| (((p.elapsed_s - first.elapsed_s) / span * slices as f64) as usize).min(slices - 1);
    let mut out = vec![first];
    out.extend(trace.windows(2).skip(1).filter(|w| slice(&w[0]) != slice(&w[1])).map(|w| w[0]));
    out.push(last);
    out
}

/// Replays every instance with every seed of `options`, one solve after the other, calling
/// `on_row` after each.
pub fn replay_all(instances: &[PathBuf], options: &ReplayOptions, mut on_row: impl FnMut(&Row)) -> Vec<Row> {
    let mut rows = Vec::with_capacity(instances.len() * options.seeds.len());
    for path in instances {
        for &seed in &options.seeds {
            let row = replay_instance(path, options, seed);
            on_row(&row);
            rows.push(row);
        }
    }
    rows
}

/// Aggregates of the rows of one family (or of all rows, family [`ALL`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FamilySummary {
    /// Family name, or [`ALL`].
    pub family: String,
    /// Distinct instances (paths).
    pub instances: usize,
    /// Solves (instances times seeds).
    pub runs: usize,
    /// Solves whose solution the checker accepts, with no error.
    pub feasible: usize,
    /// Mean gap to the best-known, in percent, over the feasible solves with a best-known.
    pub mean_gap: Option<f64>,
    /// Smallest of those gaps.
    pub best_gap: Option<f64>,
    /// Largest of those gaps.
    pub worst_gap: Option<f64>,
    /// Mean cost over the solves that produced a solution, in the family's units (`None` in the
    /// [`ALL`] row when it covers several families, whose units differ).
    pub mean_cost: Option<f64>,
    /// Mean wall time over the solves that produced a solution, in seconds.
    pub mean_elapsed_s: Option<f64>,
}

/// The family name of the summary over all rows.
pub const ALL: &str = "ALL";

/// One summary per family (sorted by name), then one over all rows (family [`ALL`]). Empty when
/// there are no rows.
pub fn summarise(rows: &[Row]) -> Vec<FamilySummary> {
    if rows.is_empty() {
        return Vec::new();
    }
    let mut by_family: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in rows {
        by_family.entry(row.family.as_str()).or_default().push(row);
    }
    let mut out: Vec<FamilySummary> = by_family.into_iter().map(|(family, rows)| summary_of(family, &rows)).collect();
    let mixed_units = out.len() > 1;
    let mut all = summary_of(ALL, &rows.iter().collect::<Vec<_>>());
    if mixed_units {
        all.mean_cost = None;
    }
    out.push(all);
    out
}

fn summary_of(family: &str, rows: &[&Row]) -> FamilySummary {
    let solved: Vec<&Row> = rows.iter().copied().filter(|r| r.cost.is_finite()).collect();
    let feasible: Vec<&Row> = rows.iter().copied().filter(|r| !r.failed()).collect();
    let gaps: Vec<f64> = feasible.iter().filter_map(|r| r.gap_pct).collect();
    FamilySummary {
        family: family.to_string(),
        instances: rows.iter().map(|r| r.path.as_str()).collect::<BTreeSet<_>>().len(),
        runs: rows.len(),
        feasible: feasible.len(),
        mean_gap: mean(&gaps),
        best_gap: gaps.iter().copied().reduce(f64::min),
        worst_gap: gaps.iter().copied().reduce(f64::max),
        mean_cost: mean(&solved.iter().map(|r| r.cost).collect::<Vec<_>>()),
        mean_elapsed_s: mean(&solved.iter().map(|r| r.elapsed_s).collect::<Vec<_>>()),
    }
}

/// The mean of `values`, `None` when empty.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 13] =
    ["instance", "family", "path", "clients", "seed", "cost", "bks", "gap_pct", "feasible", "routes", "elapsed_s", "iterations", "error"];

/// Writes `rows` as CSV (RFC 4180: a header line, fields quoted when they hold a comma, a quote
/// or a line break). Missing numbers are empty fields; gaps have 4 decimals, times 3.
pub fn write_csv(rows: &[Row], mut out: impl Write) -> std::io::Result<()> {
    writeln!(out, "{}", CSV_HEADER.join(","))?;
    for r in rows {
        let number = |v: Option<f64>, decimals: Option<usize>| match (v.filter(|v| v.is_finite()), decimals) {
            (None, _) => String::new(),
            (Some(v), Some(d)) => format!("{v:.d$}"),
            (Some(v), None) => v.to_string(),
        };
        let fields = [
            csv_field(&r.instance),
            csv_field(&r.family),
            csv_field(&r.path),
            r.clients.to_string(),
            r.seed.to_string(),
            number(Some(r.cost), None),
            number(r.bks, None),
            number(r.gap_pct, Some(4)),
            r.feasible.to_string(),
            r.routes.to_string(),
            number(Some(r.elapsed_s), Some(3)),
            r.iterations.to_string(),
            csv_field(r.error.as_deref().unwrap_or("")),
        ];
        writeln!(out, "{}", fields.join(","))?;
    }
    out.flush()
}

/// `s` as one CSV field: quoted (with quotes doubled) when it holds a comma, a quote or a line
/// break, or starts or ends with a space.
pub fn csv_field(s: &str) -> String {
    let needs_quotes = s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ');
    if needs_quotes {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `{"rows": [...], "summary": [...]}` as pretty-printed JSON (NaN costs as `null`).
pub fn write_json(rows: &[Row], summary: &[FamilySummary], mut out: impl Write) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct Document<'a> {
        rows: &'a [Row],
        summary: &'a [FamilySummary],
    }
    serde_json::to_writer_pretty(&mut out, &Document { rows, summary })?;
    writeln!(out)?;
    out.flush()
}

#[cfg(test)]
mod tests;
