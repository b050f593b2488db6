//! `luckygas legacy …`: the old system. The service's database is `DATABASE_URL` (as for
//! `serve`); the old one is `--legacy-url` or `LUCKYGAS_LEGACY_DATABASE_URL`.
//!
//! - `init`: prepares the old database (our `SYNC_KEY` table; the old tables when it is empty)
//!   and turns on the queueing of changes for it;
//! - `import`: the dry run (default) or, with `--apply`, the import, from `--exports DIR` or from
//!   the old database;
//! - `status`: the sync queue (pending, oldest, dead letters, applied);
//! - `dead-letters`, `replay [--id N]`: changes given up, and another round for them;
//! - `sync`: applies the queue now until it is empty (what the service's worker does);
//! - `pickup`: takes the changes made in the old program now (what the service's `legacy.pickup`
//!   job does), `conflicts`: the fields changed on both sides and how each was decided;
//! - `reconcile [--from D] [--to D] [--repair to-legacy|from-legacy]`: compares both sides
//!   (customers; orders per delivery day) and reports drift, or repairs it;
//! - `off`: stops queueing changes (the old system is retired).

use super::serve::{database_url, init_tracing, redacted, runtime};
use crate::store::Store;
use crate::sync::import::{self, Source};
use crate::sync::legacy_db::LegacyDb;
use crate::sync::{worker, LegacySync};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// `luckygas legacy`.
#[derive(Args, Debug)]
pub struct LegacyArgs {
    #[command(subcommand)]
    command: LegacyCommand,
    /// The old database (default: `LUCKYGAS_LEGACY_DATABASE_URL`).
    #[arg(long, global = true)]
    legacy_url: Option<String>,
}

#[derive(Subcommand, Debug)]
enum LegacyCommand {
    /// Prepare the old database and queue every later change for it.
    Init,
    /// Report what an import would do (dry run), or import with --apply.
    Import(ImportArgs),
    /// Show the sync queue.
    Status,
    /// List the changes given up after repeated failure.
    DeadLetters {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Give dead letters another round of attempts (all, or one).
    Replay {
        /// Only this outbox row.
        #[arg(long)]
        id: Option<i64>,
    },
    /// Apply the queued changes now, until none is left.
    Sync,
    /// Take the changes made in the old program now, until none is left.
    Pickup,
    /// List the conflicts decided (fields changed on both sides), newest first.
    Conflicts {
        /// Only those of this legacy number (`C0042`, `11512040001`).
        #[arg(long)]
        record: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Compare both sides and report drift; repair it with --repair.
    Reconcile(ReconcileArgs),
    /// Stop queueing changes for the old system.
    Off,
}

#[derive(Args, Debug)]
struct ReconcileArgs {
    /// The first delivery day of the orders compared (default: a week ago).
    #[arg(long)]
    from: Option<chrono::NaiveDate>,
    /// The last (default: a week from today).
    #[arg(long)]
    to: Option<chrono::NaiveDate>,
    /// Repair the drift: `to-legacy` (the service is right) or `from-legacy` (the old records
    /// are). Without it, a report only.
    #[arg(long, value_enum)]
    repair: Option<crate::sync::reconcile::Direction>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// A folder with the old program's exports (customers.csv, orders.csv, order_lines.csv,
    /// deliveries.csv); without it, the old database is read.
    #[arg(long)]
    exports: Option<PathBuf>,
    /// Write (without it: a dry run that writes nothing).
    #[arg(long)]
    apply: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Applies the queued changes until only changes backing off or dead are left.
async fn drain(sync: &LegacySync, store: &Store) -> anyhow::Result<worker::BatchReport> {
    let mut total = worker::BatchReport::default();
    loop {
        let r = sync.worker.batch(store).await.context("sync batch failed")?;
        total.add(r);
        if r.read == 0 || r.applied + r.skipped == 0 {
            return Ok(total);
        }
    }
}

fn legacy_db(url: Option<String>) -> anyhow::Result<LegacyDb> {
    let url = url
        .or_else(|| std::env::var(crate::sync::URL_VAR).ok())
        .filter(|u| !u.trim().is_empty())
        .with_context(|| format!("no legacy database: give --legacy-url or set {}", crate::sync::URL_VAR))?;
    LegacyDb::open(url.trim()).with_context(|| format!("cannot open the legacy database {}", redacted(&url)))
}

/// Runs `luckygas legacy …`.
pub fn run(a: LegacyArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    let url = database_url();
    runtime()?.block_on(async {
        let store = Store::open(&url).await.with_context(|| format!("cannot open {}", redacted(&url)))?;
        let code = match a.command {
            LegacyCommand::Init => {
                let legacy = legacy_db(a.legacy_url)?;
                let created = legacy.ensure_schema().await.context("cannot prepare the legacy database")?;
                store.set_legacy_sync(true).await?;
                println!(
                    "legacy database ready ({}); changes are now queued for it",
                    if created { "old tables created" } else { "old tables found, SYNC_KEY added" }
                );
                ExitCode::SUCCESS
            }
            LegacyCommand::Import(i) => {
                let legacy = match &i.exports {
                    Some(_) => None,
                    None => Some(legacy_db(a.legacy_url)?),
                };
                let source = match (&i.exports, &legacy) {
                    (Some(dir), _) => Source::Exports(dir),
                    (None, Some(db)) => Source::Database(db),
                    (None, None) => anyhow::bail!("nothing to import from"),
                };
                let report = import::run(&store, &source, i.apply).await?;
                if i.json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print!("{}", report.render());
                }
                ExitCode::SUCCESS
            }
            LegacyCommand::Status => {
                let depth = store.legacy_depth(chrono::Utc::now()).await?;
                let on = store.legacy_sync_enabled().await?;
                println!(
                    "queueing: {}\npending: {}\noldest pending: {} s\ndead letters: {}\napplied: {}\nconflicts decided: {}\ndrift at the latest reconciliation: {}",
                    if on { "on" } else { "off" },
                    depth.pending,
                    depth.oldest_s,
                    depth.dead,
                    depth.applied,
                    depth.conflicts,
                    if depth.drift < 0 { "none run yet".to_owned() } else { depth.drift.to_string() }
                );
                ExitCode::SUCCESS
            }
            LegacyCommand::DeadLetters { limit } => {
                let letters = store.legacy_dead_letters(limit).await?;
                for d in &letters {
                    println!("{}\t{}\t{} attempts\t{}\t{}", d.id, d.entity, d.attempts, d.dead_at.to_rfc3339(), d.last_error.as_deref().unwrap_or(""));
                }
                println!("{} dead letter(s)", letters.len());
                ExitCode::SUCCESS
            }
            LegacyCommand::Replay { id } => {
                let n = store.replay_dead_letters(id).await?;
                println!("{n} dead letter(s) queued again");
                ExitCode::SUCCESS
            }
            LegacyCommand::Sync => {
                let sync = LegacySync::new(store.clone(), legacy_db(a.legacy_url)?);
                let total = drain(&sync, &store).await?;
                println!("applied {} change(s), {} entities written, {} failed attempt(s)", total.applied, total.written, total.failed);
                ExitCode::SUCCESS
            }
            LegacyCommand::Pickup => {
                let sync = LegacySync::new(store.clone(), legacy_db(a.legacy_url)?);
                let mut total = crate::sync::pickup::PickupReport::default();
                loop {
                    let r = sync.worker.pickup(&store).await.context("pick-up failed")?;
                    if r.read == 0 {
                        break;
                    }
                    total.add(r);
                }
                println!(
                    "picked up {} record(s) changed in the old program: {} created, {} updated, {} unchanged, {} conflict(s) decided, {} to write back, {} not taken",
                    total.read, total.created, total.updated, total.unchanged, total.conflicts, total.written_back, total.rejected
                );
                ExitCode::SUCCESS
            }
            LegacyCommand::Conflicts { record, limit } => {
                let conflicts = store.legacy_conflicts(record.as_deref(), limit).await?;
                for c in &conflicts {
                    println!(
                        "{}\t{}\t{} {}\t{}\tbase {:?}\told {:?} ({} {})\tnew {:?}\t→ {} ({})",
                        c.id,
                        c.at.to_rfc3339(),
                        c.entity,
                        c.legacy_no,
                        c.field,
                        c.base_value.as_deref().unwrap_or(""),
                        c.legacy_value,
                        c.legacy_user,
                        c.legacy_stamp,
                        c.new_value,
                        c.winner,
                        c.rule
                    );
                }
                println!("{} conflict(s)", conflicts.len());
                ExitCode::SUCCESS
            }
            LegacyCommand::Reconcile(r) => {
                let sync = LegacySync::new(store.clone(), legacy_db(a.legacy_url)?);
                let today = crate::sync::project::taipei_day(chrono::Utc::now());
                let from = r.from.unwrap_or(today - chrono::Duration::days(crate::sync::reconcile::NIGHTLY_DAYS));
                let to = r.to.unwrap_or(today + chrono::Duration::days(crate::sync::reconcile::NIGHTLY_DAYS));
                anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
                let report = sync.worker.reconcile(&store, from, to, r.repair).await.context("reconciliation failed")?;
                if r.repair == Some(crate::sync::reconcile::Direction::ToLegacy) {
                    // The repair queued the entities: write them now.
                    drain(&sync, &store).await?;
                }
                if r.json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print!("{}", report.render());
                }
                ExitCode::SUCCESS
            }
            LegacyCommand::Off => {
                store.set_legacy_sync(false).await?;
                println!("changes are no longer queued for the old system");
                ExitCode::SUCCESS
            }
        };
        store.close().await;
        Ok(code)
    })
}
