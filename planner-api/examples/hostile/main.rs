//! Hostile load on loopback: replays each attack and each unlucky day of issue 16 ("Hardening")
//! against the real release `luckygas serve` binary and prints what the service did, with a
//! verdict per figure (`held` / `NOT held`) and the figure the issue measured before the fix.
//! It assumes nothing about how the service behaves: it measures.
//!
//! Each scenario starts its own server (a process, on a free `127.0.0.1` port, on a fresh SQLite
//! file or a fresh PostgreSQL database, admin from `LUCKYGAS_ADMIN_EMAIL`/`…_PASSWORD`), so
//! throttles, locks and kills of one scenario do not leak into the next:
//!
//! | scenario | what it does |
//! | --- | --- |
//! | `login-flood` | 200 concurrent wrong sign-ins; the server's peak and settled resident memory, statuses |
//! | `guessing` | wrong passwords against one account for `--guess-s`; guesses per minute checked (401) vs refused (429), the right password afterwards, log lines |
//! | `passwords` | an admin creates users with `aaaaaaaaaaaa` and twelve spaces |
//! | `edge` | security headers, a 6 KB `x-request-id`, CORS preflights, 150 anonymous and 1,100 signed-in requests in a burst |
//! | `big-day` | `--big-orders` orders across the demo's depots, planned; plan time, peak memory, storage, solver input size, order list latency |
//! | `costly` | two drivers with 100,000 skills, then `POST /v1/vroom` with 4,990 jobs; time, memory, `/healthz` p95 meanwhile |
//! | `faults` | a NUL character in a text field and in the login email; a SQLite write lock held 8 s by another connection |
//! | `slow-clients` | 300 connections with partial headers held, then SIGTERM; closes by the server and time to exit |
//! | `keys` | a 32 × `a` signing key; claims of a token; two concurrent refreshes; a deactivated user's token |
//! | `observability` | the metric families at `/metrics` and what request logs carry |
//!
//! The server's memory is sampled every 50 ms from `/proc/PID/status`; a server past `--rss-cap-mib`
//! is killed (the figure then reads "≥ cap"), so a flood cannot take a shared machine down.
//!
//! ```sh
//! cargo run --release -p planner-api --example hostile
//! cargo run --release -p planner-api --example hostile -- --only big-day --big-orders 10000
//! cargo run --release -p planner-api --example hostile -- --database postgres --json hostile.json
//! ```
//!
//! The example builds the `luckygas` binary of its own profile first (`cargo build -p
//! planner-api --bin luckygas`), or takes `--luckygas PATH`. It exits 0 whatever the verdicts:
//! it is a measurement, not a test.

mod attacks;
mod costs;
mod faults;
mod server;

use anyhow::{bail, Context};
use clap::Parser;
use server::{Backend, Harness};
use std::path::PathBuf;
use std::time::Instant;

/// The scenarios, in the order they run.
const SCENARIOS: &[&str] = &["login-flood", "guessing", "passwords", "edge", "big-day", "costly", "faults", "slow-clients", "keys", "observability"];

/// Hostile load against `luckygas serve` on loopback.
#[derive(Parser, Debug)]
pub struct Args {
    /// Run only these scenarios (repeat or separate by commas); all when absent.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The database of the servers.
    #[arg(long, value_enum, default_value = "sqlite")]
    database: Backend,
    /// A PostgreSQL server (any database of it): fresh `luckygas_hostile_…` databases are
    /// created there and dropped. Default: `DATABASE_URL_PG`, else the local test server.
    #[arg(long)]
    pg_url: Option<String>,
    /// Write the rows as JSON to this file too.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The `luckygas` binary; default: built with the example's profile, beside its folder.
    #[arg(long)]
    luckygas: Option<PathBuf>,
    /// `KEY=VALUE` added to every server's environment (repeatable), e.g. a rate-limit setting.
    #[arg(long = "server-env", value_parser = parse_pair)]
    server_env: Vec<(String, String)>,
    /// A server whose resident memory passes this is killed, MiB.
    #[arg(long, default_value_t = 3072)]
    rss_cap_mib: u64,
    /// Concurrent wrong sign-ins of the flood.
    #[arg(long, default_value_t = 200)]
    flood: usize,
    /// Seconds to wait after the flood before reading the memory again.
    #[arg(long, default_value_t = 15)]
    flood_settle_s: u64,
    /// Seconds of password guessing.
    #[arg(long, default_value_t = 20)]
    guess_s: u64,
    /// Concurrent guessers.
    #[arg(long, default_value_t = 8)]
    guessers: usize,
    /// Orders of the big day (the issue's full figure is 10,000).
    #[arg(long, default_value_t = 3000)]
    big_orders: usize,
    /// Search time asked for the big day's plan, seconds.
    #[arg(long, default_value_t = 5.0)]
    big_time_limit_s: f64,
    /// Longest wait for the big day's plan to finish, seconds (then it is cancelled).
    #[arg(long, default_value_t = 300)]
    big_deadline_s: u64,
    /// Keep the temporary folder of the servers' logs and SQLite files, and print its path.
    #[arg(long)]
    keep: bool,
    /// Longest wait for one costly request (`costly`), seconds; then it is given up.
    #[arg(long, default_value_t = 60)]
    heavy_timeout_s: u64,
    /// An origin the servers are configured to allow (via `--server-env`), checked by `edge`.
    #[arg(long)]
    cors_origin: Option<String>,
    /// Half-open connections of `slow-clients`.
    #[arg(long, default_value_t = 300)]
    slow_connections: usize,
    /// Seconds the half-open connections are held before SIGTERM.
    #[arg(long, default_value_t = 35)]
    slow_hold_s: u64,
    /// Longest wait for the process to exit after SIGTERM, seconds (then it is killed).
    #[arg(long, default_value_t = 60)]
    drain_wait_s: u64,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

/// Whether a figure shows the point of the issue holding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It holds.
    Held,
    /// It does not.
    NotHeld,
    /// A figure without a verdict of its own.
    Info,
    /// Not measured (another backend, or the scenario failed).
    Skipped,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Held => "held",
            Verdict::NotHeld => "NOT held",
            Verdict::Info => "-",
            Verdict::Skipped => "skipped",
        }
    }

    /// `Held` when `ok`, else `NotHeld`.
    pub fn of(ok: bool) -> Verdict {
        if ok {
            Verdict::Held
        } else {
            Verdict::NotHeld
        }
    }
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Row {
    /// The scenario.
    pub scenario: &'static str,
    /// What was measured.
    pub figure: String,
    /// The measurement.
    pub value: String,
    /// What the issue measured before the fix.
    pub before: &'static str,
    /// The verdict.
    pub verdict: Verdict,
}

/// Rows of one scenario, printed as they come.
pub struct Rows {
    scenario: &'static str,
    rows: Vec<Row>,
}

impl Rows {
    /// Rows of `scenario`.
    pub fn new(scenario: &'static str) -> Rows {
        Rows { scenario, rows: Vec::new() }
    }

    /// Adds and prints a row.
    pub fn add(&mut self, figure: impl Into<String>, value: impl Into<String>, before: &'static str, verdict: Verdict) {
        let row = Row { scenario: self.scenario, figure: figure.into(), value: value.into(), before, verdict };
        println!("  {:<44} {:<52} [{}]", row.figure, row.value, row.verdict.label());
        self.rows.push(row);
    }
}

/// Where the `luckygas` binary is: `--luckygas`, else the one beside this example's folder
/// (`target/PROFILE/examples/hostile` → `target/PROFILE/luckygas`), built first when the example
/// runs under cargo so that it is the binary of the current sources.
fn luckygas(args: &Args) -> anyhow::Result<PathBuf> {
    if let Some(path) = &args.luckygas {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe()?;
    let profile_dir = exe.parent().and_then(|examples| examples.parent()).context("the example runs from target/PROFILE/examples")?;
    let target_dir = profile_dir.parent().context("target/PROFILE has a parent")?;
    let binary = profile_dir.join("luckygas");
    if let Ok(cargo) = std::env::var("CARGO") {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let mut build = std::process::Command::new(cargo);
        build.args(["build", "--bin", "luckygas", "--manifest-path", manifest, "--target-dir"]).arg(target_dir);
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        println!("building luckygas ({})", profile_dir.display());
        if !build.status().context("cannot run cargo build")?.success() {
            bail!("cargo build of luckygas failed");
        }
    }
    if !binary.exists() {
        bail!("no luckygas binary at {}: build it (cargo build --release -p planner-api --bin luckygas) or pass --luckygas", binary.display());
    }
    Ok(binary)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    for name in &args.only {
        if !SCENARIOS.contains(&name.as_str()) {
            bail!("unknown scenario {name:?}; the scenarios are {}", SCENARIOS.join(", "));
        }
    }
    let harness = Harness {
        luckygas: luckygas(&args)?,
        backend: args.database,
        pg_url: args.pg_url.clone().or_else(|| std::env::var("DATABASE_URL_PG").ok()).unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
        server_env: args.server_env.clone(),
        rss_cap_kib: args.rss_cap_mib * 1024,
        work: tempfile::tempdir()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    println!("luckygas: {}, database: {:?}, {cores} cores, memory cap {} MiB", harness.luckygas.display(), args.database, args.rss_cap_mib);
    let mut rows = Vec::new();
    for &name in SCENARIOS {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        println!("\n== {name}");
        let mut out = Rows::new(name);
        let clock = Instant::now();
        let result = runtime.block_on(run(name, &args, &harness, &mut out));
        if let Err(e) = result {
            println!("  the scenario stopped: {e:#}");
            out.add("scenario", format!("stopped: {e}"), "", Verdict::Skipped);
        }
        println!("  ({:.0} s)", clock.elapsed().as_secs_f64());
        rows.extend(out.rows);
    }
    print_table(&rows, started.elapsed().as_secs_f64());
    if args.keep {
        println!("servers' logs and SQLite files kept in {}", harness.work.keep().display());
    }
    if let Some(path) = &args.json {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| serde_json::json!({ "scenario": r.scenario, "figure": r.figure, "value": r.value, "before": r.before, "verdict": r.verdict.label() }))
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&serde_json::json!({ "database": format!("{:?}", args.database), "rows": json }))?)?;
        println!("rows written to {}", path.display());
    }
    Ok(())
}

async fn run(name: &str, args: &Args, harness: &Harness, out: &mut Rows) -> anyhow::Result<()> {
    match name {
        "login-flood" => attacks::login_flood(args, harness, out).await,
        "guessing" => attacks::guessing(args, harness, out).await,
        "passwords" => attacks::passwords(harness, out).await,
        "edge" => attacks::edge(args, harness, out).await,
        "big-day" => costs::big_day(args, harness, out).await,
        "costly" => costs::costly(args, harness, out).await,
        "faults" => faults::faults(harness, out).await,
        "slow-clients" => faults::slow_clients(args, harness, out).await,
        "keys" => attacks::keys(harness, out).await,
        "observability" => faults::observability(harness, out).await,
        _ => bail!("unknown scenario {name}"),
    }
}

fn print_table(rows: &[Row], seconds: f64) {
    println!("\n{:<14} {:<44} {:<52} {:<40} verdict", "scenario", "figure", "measured", "before (issue 16)");
    for r in rows {
        println!("{:<14} {:<44} {:<52} {:<40} {}", r.scenario, r.figure, r.value, r.before, r.verdict.label());
    }
    let held = rows.iter().filter(|r| r.verdict == Verdict::Held).count();
    let not_held = rows.iter().filter(|r| r.verdict == Verdict::NotHeld).count();
    println!("\n{held} held, {not_held} not held, in {seconds:.0} s");
}
