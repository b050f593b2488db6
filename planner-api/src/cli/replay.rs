//! `luckygas replay`: solve many benchmark instances (files or folders) with one or more seeds,
//! compare each result with the instance's best-known solution, and print one row per solve and
//! a per-family summary; optionally save the rows as CSV and JSON (with each solve's convergence
//! trace), and draw them as two SVG charts (`--svg PREFIX`: `PREFIX-gap.svg`, the gap of each
//! instance, and `PREFIX-convergence.svg`, the gap of each solve over time).
//!
//! The work is done by [`datasets::replay`] (the charts by [`datasets::replay::charts`]); this
//! module only parses arguments, draws a progress bar over all solves on stderr (when it is a
//! terminal) and formats the tables.

use anyhow::Context;
use clap::Args;
use datasets::replay::{self, charts, FamilySummary, ReplayOptions, Row};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use solver::io::Rounding;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `luckygas replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Instance files, or folders walked for `.vrp` and Solomon `.txt` files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Wall-clock limit per solve, in seconds (10 when neither this nor --max-iterations is
    /// given).
    #[arg(long)]
    time_limit: Option<f64>,
    /// Iteration limit per search thread (alone, it makes the replay reproducible).
    #[arg(long)]
    max_iterations: Option<u64>,
    /// Search threads of each solve; instances are solved one after the other.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Recombine the routes met during each search by set partitioning (HiGHS) at
    /// the end: on or off (measured not to help at the usual limits, so off by default).
    #[arg(long, default_value = "off")]
    set_partitioning: solver::search::SetPartitioning,
    /// Seeds, comma-separated: each instance is solved once per seed.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    seeds: Vec<u64>,
    /// Distance convention: auto picks each family's own.
    #[arg(long = "round", default_value = "auto")]
    rounding: Rounding,
    /// Write every row to this CSV file.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Write the rows (with each solve's convergence trace) and the summary to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw two SVG charts: PREFIX-gap.svg (mean gap to the best known per instance, a dot per
    /// seed) and PREFIX-convergence.svg (gap of each solve over time), e.g. `out/run` writes
    /// out/run-gap.svg and out/run-convergence.svg.
    #[arg(long, value_name = "PREFIX")]
    svg: Option<PathBuf>,
}

/// Runs `luckygas replay`: exit status 1 when a solve failed or a solution is infeasible.
pub fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let time_limit = match a.time_limit {
        Some(t) if t > 0.0 && t.is_finite() => Some(Duration::from_secs_f64(t)),
        Some(_) => anyhow::bail!("--time-limit must be a positive number of seconds"),
        None if a.max_iterations.is_none() => Some(Duration::from_secs(10)),
        None => None,
    };
    if a.seeds.is_empty() {
        anyhow::bail!("--seeds needs at least one seed");
    }
    let options = ReplayOptions {
        time_limit,
        max_iterations: a.max_iterations,
        threads: a.threads.max(1),
        seeds: a.seeds,
        rounding: a.rounding,
        set_partitioning: a.set_partitioning,
    };
    let instances = replay::discover(&a.paths);
    if instances.is_empty() {
        anyhow::bail!("no instance (.vrp or Solomon .txt file) found in {}", a.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    // Open the outputs first, so that a wrong path fails now rather than after the last solve.
    let csv = a.csv.as_deref().map(create).transpose()?;
    let json = a.json.as_deref().map(create).transpose()?;
    let svg = match &a.svg {
        Some(prefix) => Some((create(&with_suffix(prefix, "-gap.svg"))?, create(&with_suffix(prefix, "-convergence.svg"))?)),
        None => None,
    };

    let names: Vec<String> = instances.iter().map(|p| replay::instance_name(p)).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).max("instance".len());
    let bar = progress_bar((instances.len() * options.seeds.len()) as u64);
    println!("{}", row_header(width));
    let mut rows = Vec::with_capacity(instances.len() * options.seeds.len());
    for (path, name) in instances.iter().zip(&names) {
        for &seed in &options.seeds {
            bar.set_message(format!("{name} (seed {seed})"));
            let row = replay::replay_instance(path, &options, seed);
            bar.suspend(|| println!("{}", format_row(&row, width)));
            bar.inc(1);
            rows.push(row);
        }
    }
    bar.finish_and_clear();

    let summary = replay::summarise(&rows);
    println!();
    print_summary(&summary);
    if let Some((path, file)) = &csv {
        replay::write_csv(&rows, BufWriter::new(file)).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some((path, file)) = &json {
        replay::write_json(&rows, &summary, BufWriter::new(file)).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(((gap_path, gap_file), (convergence_path, convergence_file))) = &svg {
        let title = chart_title(&options);
        write_svg(gap_path, gap_file, &charts::gap_chart(&rows, &format!("Gap to the best known: {title}")))?;
        write_svg(convergence_path, convergence_file, &charts::convergence_chart(&rows, &format!("Convergence: {title}")))?;
    }
    let failed = rows.iter().filter(|r| r.failed()).count();
    if failed > 0 {
        eprintln!("{failed} of {} solves failed or are infeasible", rows.len());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn create(path: &Path) -> anyhow::Result<(PathBuf, File)> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok((path.to_path_buf(), file))
}

/// `prefix` with `suffix` appended to its file name (`out/run` and `-gap.svg`: `out/run-gap.svg`).
fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(prefix.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

fn write_svg(path: &Path, file: &File, svg: &str) -> anyhow::Result<()> {
    let mut out = BufWriter::new(file);
    out.write_all(svg.as_bytes()).and_then(|()| out.flush()).with_context(|| format!("cannot write {}", path.display()))
}

/// The options of the replay, for the charts' titles: the limit, the seeds and the threads.
fn chart_title(options: &ReplayOptions) -> String {
    let limit = match (options.time_limit, options.max_iterations) {
        (Some(t), Some(n)) => format!("{} s or {n} iterations per run per solve", t.as_secs_f64()),
        (Some(t), None) => format!("{} s per solve", t.as_secs_f64()),
        (None, Some(n)) => format!("{n} iterations per run per solve"),
        (None, None) => "default limit".to_string(),
    };
    let seeds = options.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let threads = if options.threads == 1 { "1 thread".to_string() } else { format!("{} threads", options.threads) };
    format!("{limit}, seed{} {seeds}, {threads}", if options.seeds.len() == 1 { "" } else { "s" })
}

/// A bar over all solves whose message names the one running (hidden unless stderr is a
/// terminal), in the style of the `solve` bar.
fn progress_bar(solves: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(solves.max(1)), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn row_header(width: usize) -> String {
    format!("{:<width$}  {:>6}  {:>12}  {:>12}  {:>8}  {:>8}  {:>9}  {:>10}", "instance", "seed", "cost", "bks", "gap %", "feasible", "time", "iterations")
}

/// One aligned line for a solve; a failed solve shows its error after the columns it has.
fn format_row(r: &Row, width: usize) -> String {
    let cost = if r.cost.is_finite() { r.cost.to_string() } else { "-".to_string() };
    let bks = r.bks.map_or_else(|| "-".to_string(), |b| b.to_string());
    let gap = r.gap_pct.map_or_else(|| "-".to_string(), |g| format!("{g:.3}"));
    let feasible = if r.feasible { "yes" } else { "NO" };
    let time = format!("{:.2} s", r.elapsed_s);
    let mut line = format!("{:<width$}  {:>6}  {:>12}  {:>12}  {:>8}  {:>8}  {:>9}  {:>10}", r.instance, r.seed, cost, bks, gap, feasible, time, r.iterations);
    if let Some(e) = &r.error {
        line.push_str("  error: ");
        line.push_str(e);
    }
    line
}

fn print_summary(summary: &[FamilySummary]) {
    let width = summary.iter().map(|s| s.family.len()).max().unwrap_or(0).max("family".len());
    println!(
        "{:<width$}  {:>9}  {:>8}  {:>10}  {:>10}  {:>10}  {:>11}  {:>12}  {:>9}",
        "family", "instances", "solves", "feasible", "mean gap %", "best gap %", "worst gap %", "mean cost", "mean time"
    );
    let gap = |g: Option<f64>| g.map_or_else(|| "-".to_string(), |g| format!("{g:.3}"));
    for s in summary {
        println!(
            "{:<width$}  {:>9}  {:>8}  {:>10}  {:>10}  {:>10}  {:>11}  {:>12}  {:>9}",
            s.family,
            s.instances,
            s.runs,
            format!("{}/{}", s.feasible, s.runs),
            gap(s.mean_gap),
            gap(s.best_gap),
            gap(s.worst_gap),
            s.mean_cost.map_or_else(|| "-".to_string(), |c| format!("{c:.2}")),
            s.mean_elapsed_s.map_or_else(|| "-".to_string(), |t| format!("{t:.2} s")),
        );
    }
}
