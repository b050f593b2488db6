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
    /// Stop queueing changes for the old system.
    Off,
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
                    "queueing: {}\npending: {}\noldest pending: {} s\ndead letters: {}\napplied: {}",
                    if on { "on" } else { "off" },
                    depth.pending,
                    depth.oldest_s,
                    depth.dead,
                    depth.applied
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
                let mut total = worker::BatchReport::default();
                loop {
                    let r = sync.worker.batch(&store).await.context("sync batch failed")?;
                    total.read += r.read;
                    total.applied += r.applied;
                    total.failed += r.failed;
                    total.written += r.written;
                    // Only changes backing off or dead are left once a batch applies nothing.
                    if r.read == 0 || r.applied + r.skipped == 0 {
                        break;
                    }
                }
                println!("applied {} change(s), {} entities written, {} failed attempt(s)", total.applied, total.written, total.failed);
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
