//! `luckygas backup --to PATH` and `luckygas restore --from PATH`: a consistent copy of the
//! service's database taken while the service runs, and its restore into an empty database.
//!
//! - **SQLite** (the embedded default): `VACUUM INTO` writes a transactionally consistent copy
//!   of the live file (WAL mode: writers go on while it runs; the copy holds every transaction
//!   committed before it started), checked with `PRAGMA integrity_check`. A restore copies it to
//!   the database path (refused over an existing database unless `--force`, which keeps the old
//!   file beside it as `….before-restore`).
//! - **PostgreSQL**: `pg_dump --format=custom` (one snapshot, no lock that stops writers), and
//!   `pg_restore --exit-on-error` into an empty database (refused over one that has the service's
//!   tables unless `--force`, which drops them first). Continuous archiving (WAL, point-in-time
//!   recovery) is the PostgreSQL operator's job in production (ops/README.md).
//!
//! Both write to `PATH.partial` and rename it when complete, so a `PATH` that exists is a whole
//! backup; both end by opening the result as the service does (migrations applied if the backup
//! is older than the binary) and printing the row counts of the main tables.

use super::serve::{database_url, init_tracing, redacted, runtime};
use crate::store::Store;
use anyhow::{bail, Context};
use clap::Args;
use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::str::FromStr;
use std::time::Instant;

/// `luckygas backup`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["to", "to_dir"])))]
pub struct BackupArgs {
    /// Where to write the backup (a SQLite file, or a `pg_dump` custom-format archive); must not
    /// exist.
    #[arg(long)]
    to: Option<PathBuf>,
    /// Write the backup into this directory, named by the time it began
    /// (`luckygas-20261205T093000Z.db` for SQLite, `….pgdump` for PostgreSQL): for schedules
    /// (a Kubernetes CronJob runs the image, which has no shell to compute a name).
    #[arg(long, value_name = "DIR")]
    to_dir: Option<PathBuf>,
    /// With `--to-dir`: once the new backup is whole, delete all but the newest N backups of the
    /// directory (only files named as `--to-dir` names them).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    keep: Option<u32>,
}

/// The name `--to-dir` gives a backup begun at `at`: sortable by time.
fn dated_name(at: chrono::DateTime<chrono::Utc>, postgres: bool) -> String {
    format!("luckygas-{}.{}", at.format("%Y%m%dT%H%M%SZ"), if postgres { "pgdump" } else { "db" })
}

/// Whether `name` is one that [`dated_name`] gives.
fn is_dated_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("luckygas-") else { return false };
    let Some((stamp, ext)) = rest.split_once('.') else { return false };
    matches!(ext, "db" | "pgdump") && chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").is_ok()
}

/// Deletes all but the newest `keep` backups named by `--to-dir` in `dir`; returns what it deleted.
fn prune(dir: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let mut dated: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            is_dated_name(&name).then(|| (name.split_once('.').map(|(s, _)| s.to_owned()).unwrap_or_default(), e.path()))
        })
        .collect();
    dated.sort();
    let excess = dated.len().saturating_sub(keep);
    let mut deleted = Vec::new();
    for (_, path) in dated.into_iter().take(excess) {
        std::fs::remove_file(&path).with_context(|| format!("cannot delete the old backup {}", path.display()))?;
        deleted.push(path);
    }
    Ok(deleted)
}

/// Records the completed backup in the database it copied, for `/metrics`; a database that does
/// not take it (a read-only backup role, an older schema) only earns a warning.
async fn record(url: &str, record: &crate::store::BackupRecord) {
    let result = async {
        let store = Store::connect_unmigrated(url).await?;
        let done = store.record_backup(record).await;
        store.close().await;
        done
    }
    .await;
    match result {
        Ok(()) => {}
        Err(e) => eprintln!("warning: the backup is whole but could not be recorded in the database (its age on /metrics stays as it was): {e}"),
    }
}

/// `luckygas restore`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup to restore (made by `luckygas backup`).
    #[arg(long)]
    from: PathBuf,
    /// Restore over an existing database (SQLite: the old file is kept as `….before-restore`;
    /// PostgreSQL: the service's tables are dropped first).
    #[arg(long)]
    force: bool,
}

/// The tables whose row counts a backup and a restore report.
pub const COUNTED: &[&str] = &["customers", "orders", "plan_jobs", "invoices", "payments", "audit_log", "outbox"];

fn partial(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// The file of a `sqlite://` URL.
fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).context("not a sqlite URL")?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        bail!("an in-memory SQLite database has nothing to back up");
    }
    Ok(PathBuf::from(path))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

/// Runs `program` with `args`; its stderr in the error when it fails.
fn run_tool(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program} (PostgreSQL's client tools, Debian's postgresql-client, must be on PATH)"))?;
    if !out.status.success() {
        bail!("{program} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Row counts of [`COUNTED`] in `store`.
pub async fn counts(store: &Store) -> anyhow::Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for table in COUNTED {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = match store {
            Store::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await?,
            Store::Postgres(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await?,
        };
        out.push((*table, n));
    }
    Ok(out)
}

fn print_counts(counts: &[(&str, i64)]) {
    let parts: Vec<String> = counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
    println!("rows: {}", parts.join(", "));
}

/// Runs `luckygas backup`.
pub fn backup(a: BackupArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    let url = database_url();
    let began = chrono::Utc::now();
    if a.keep.is_some() && a.to_dir.is_none() {
        bail!("--keep prunes the backups of --to-dir: give --to-dir DIR with it");
    }
    let to = match (&a.to, &a.to_dir) {
        (Some(to), _) => to.clone(),
        (None, Some(dir)) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            dir.join(dated_name(began, is_postgres(&url)))
        }
        (None, None) => bail!("give --to PATH or --to-dir DIR"),
    };
    if to.exists() {
        bail!("{} exists: a backup never overwrites one", to.display());
    }
    let tmp = partial(&to);
    let _ = std::fs::remove_file(&tmp);
    let started = Instant::now();
    runtime()?.block_on(async {
        if is_postgres(&url) {
            let file = tmp.to_str().context("the backup path is not UTF-8")?;
            run_tool("pg_dump", &["--format=custom", "--no-owner", "--no-privileges", "--file", file, "--dbname", &url])?;
        } else {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?.read_only(true);
            let source = sqlite_path(&url)?;
            if !source.exists() {
                bail!("{} does not exist", source.display());
            }
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await.with_context(|| format!("cannot open {}", redacted(&url)))?;
            let target = tmp.to_str().context("the backup path is not UTF-8")?;
            sqlx::query("VACUUM INTO $1").bind(target).execute(&mut conn).await.context("VACUUM INTO failed")?;
            conn.close().await?;
            check_sqlite(&tmp).await?;
        }
        std::fs::rename(&tmp, &to).with_context(|| format!("cannot move the backup to {}", to.display()))?;
        let size = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
        println!("backup of {} written to {} ({:.1} MiB) in {:.1} s", redacted(&url), to.display(), size as f64 / 1048576.0, started.elapsed().as_secs_f64());
        let location = std::fs::canonicalize(&to).unwrap_or_else(|_| to.clone()).display().to_string();
        let backend = if is_postgres(&url) { "postgres" } else { "sqlite" };
        let size_bytes = i64::try_from(size).unwrap_or(i64::MAX);
        record(&url, &crate::store::BackupRecord { started_at: began, finished_at: chrono::Utc::now(), backend: backend.to_owned(), location, size_bytes })
            .await;
        if let (Some(dir), Some(keep)) = (&a.to_dir, a.keep) {
            for old in prune(dir, keep as usize)? {
                println!("deleted the old backup {}", old.display());
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `PRAGMA integrity_check` of the SQLite file at `path`.
async fn check_sqlite(path: &Path) -> anyhow::Result<()> {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await.with_context(|| format!("cannot open {}", path.display()))?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await?;
    conn.close().await?;
    if verdict != "ok" {
        bail!("{} fails its integrity check: {verdict}", path.display());
    }
    Ok(())
}

/// Whether the PostgreSQL database at `url` has the service's tables.
async fn postgres_has_tables(url: &str) -> anyhow::Result<bool> {
    let mut conn = sqlx::PgConnection::connect(url).await.with_context(|| format!("cannot connect to {}", redacted(url)))?;
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('_sqlx_migrations', 'customers', 'orders')",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(n > 0)
}

/// Runs `luckygas restore`.
pub fn restore(a: RestoreArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    let url = database_url();
    if !a.from.exists() {
        bail!("{} does not exist", a.from.display());
    }
    let started = Instant::now();
    runtime()?.block_on(async {
        if is_postgres(&url) {
            let clean = postgres_has_tables(&url).await?;
            if clean && !a.force {
                bail!("{} already has the service's tables: restore into an empty database, or give --force to drop them", redacted(&url));
            }
            let file = a.from.to_str().context("the backup path is not UTF-8")?;
            let mut args = vec!["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname", &url];
            if clean {
                args.extend(["--clean", "--if-exists"]);
            }
            args.push(file);
            run_tool("pg_restore", &args)?;
        } else {
            check_sqlite(&a.from).await?;
            let target = sqlite_path(&url)?;
            if target.exists() && std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0) > 0 {
                if !a.force {
                    bail!("{} exists: restore into a new file, or give --force (the old file is kept as .before-restore)", target.display());
                }
                let mut aside = target.as_os_str().to_owned();
                aside.push(".before-restore");
                std::fs::rename(&target, PathBuf::from(aside)).context("cannot move the old database aside")?;
                for suffix in ["-wal", "-shm"] {
                    let mut side = target.as_os_str().to_owned();
                    side.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(side));
                }
            }
            let tmp = partial(&target);
            std::fs::copy(&a.from, &tmp).with_context(|| format!("cannot copy {} to {}", a.from.display(), tmp.display()))?;
            std::fs::rename(&tmp, &target).context("cannot move the restored database into place")?;
        }
        let store = Store::open(&url).await.with_context(|| format!("the restored database does not open: {}", redacted(&url)))?;
        let counts = counts(&store).await?;
        store.close().await;
        println!("restored {} into {} in {:.1} s", a.from.display(), redacted(&url), started.elapsed().as_secs_f64());
        print_counts(&counts);
        Ok(ExitCode::SUCCESS)
    })
}
