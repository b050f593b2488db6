//! Persistence: one [`Store`] over a SQLite or a PostgreSQL pool, opened from a URL and migrated
//! on open. All SQL of the service lives under this module (one file per resource); handlers only
//! call typed methods.
//!
//! Both backends run the same SQL text: sqlx's SQLite driver accepts PostgreSQL's `$1` numbered
//! parameters, and both support `RETURNING`. The `with_pool!` macro expands a query once per
//! backend so each arm is type-checked against its own driver.

pub mod assignments;
pub mod audit;
pub mod backups;
pub mod customers;
pub mod depots;
pub mod drivers;
pub mod flags;
pub mod idempotency;
pub mod invoicing;
pub mod jobs;
pub mod legacy;
pub mod migrations;
pub mod orders;
pub mod page;
pub mod payments;
pub mod plans;
mod pool;
pub mod ratelimit;
pub mod users;
pub mod vehicle_types;
pub mod vehicles;
pub mod versions;

use sqlx::migrate::Migrate;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

pub use audit::{AuditEntry, AuditFilter, NewAuditEntry};
pub use backups::BackupRecord;
pub use customers::CustomerFilter;
pub use orders::OrderFilter;
pub use page::{Page, PageRequest, PageStart, DEFAULT_LIMIT, MAX_LIMIT};
pub use plans::{ClaimedJob, JobEnd, QueueDepth};
pub use pool::PoolStats;
pub use users::{Credentials, NewRefreshToken, Rotation};
pub use versions::{NewVersion, OrderChange};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names neither `sqlite:` nor `postgres:`/`postgresql:`.
    #[error("unsupported database URL (expected sqlite://… or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// No row has this id.
    #[error("not found")]
    NotFound,
    /// A unique column already holds this value.
    #[error("duplicate value for {field}")]
    Duplicate {
        /// The column (and JSON field) that must be unique.
        field: &'static str,
    },
    /// Ids in these fields name no existing row.
    #[error("unknown reference in {0:?}")]
    UnknownReference(Vec<&'static str>),
    /// The row is still referenced by others (e.g. a depot with vehicles) and cannot be deleted.
    #[error("still in use")]
    InUse,
    /// Fields of the request are invalid in the light of stored data (unknown depots, nothing
    /// to plan), each named.
    #[error("invalid: {0:?}")]
    Invalid(Vec<crate::domain::FieldError>),
    /// The order's lifecycle does not allow this move.
    #[error("an order cannot go from {from:?} to {to:?}")]
    InvalidTransition {
        /// Its status now.
        from: crate::domain::OrderStatus,
        /// The status asked for.
        to: crate::domain::OrderStatus,
    },
    /// The order is no longer `received`, or a planning job holds it, so it cannot be edited.
    #[error("the order cannot be changed while {0:?} or being planned")]
    OrderLocked(crate::domain::OrderStatus),
    /// The planning job has already finished.
    #[error("the planning job is already {0:?}")]
    AlreadyFinished(crate::domain::JobStatus),
    /// Another replan took the version number first.
    #[error("another replan made this plan version first")]
    VersionConflict,
    /// No open number block (字軌) of the period and branch has numbers left.
    #[error("no invoice numbers left for period {period} branch {branch:?}")]
    NoNumbers {
        /// The period (`2026-11`).
        period: String,
        /// The branch.
        branch: String,
    },
    /// The order is already billed by an invoice in force.
    #[error("order {order_id} is already billed by invoice {invoice_id}")]
    AlreadyInvoiced {
        /// The order.
        order_id: i64,
        /// The invoice billing it (0 when it was found at insert time).
        invoice_id: i64,
    },
    /// Applying or listing migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Embedded migrations are not all applied.
    #[error("migrations not applied: {0}")]
    NotMigrated(String),
    /// A JSON column could not be read back.
    #[error("corrupt JSON in column {column}: {source}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The database cannot answer now: it is down or restarting, the pool found no connection in
    /// time, or (SQLite) another connection held the write lock past the busy timeout. A retry
    /// later may work; the API answers 503 with `Retry-After`.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if unavailable(&e) {
            StoreError::Unavailable(e)
        } else {
            StoreError::Database(e)
        }
    }
}

impl StoreError {
    /// Whether the database could not answer (see [`StoreError::Unavailable`]); also true of a
    /// [`StoreError::Database`] built by hand around such an error.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => unavailable(e),
            _ => false,
        }
    }
}

/// Whether `e` says that the database could not answer now (as opposed to refusing the query):
/// no connection in time or a closed pool, a broken or refused connection, PostgreSQL shutting
/// down, starting up or out of connections (SQLSTATE classes 08 and 57P, 53300), SQLite busy or
/// locked (primary result codes 5 and 6, extended codes included).
pub(crate) fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
        // The connection broke while TLS was being negotiated (sslmode `prefer`, the default,
        // asks every new connection): sqlx reads what is left of it as a bad SSLRequest answer.
        sqlx::Error::Protocol(m) if m.contains("SSLRequest") => true,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // sqlx reports SQLite's extended result code; its low byte is the primary one.
                code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
            } else {
                code.starts_with("08") || code.starts_with("57P") || code == "53300"
            }
        }
        _ => false,
    }
}

/// A connection pool to one of the supported databases.
#[derive(Clone, Debug)]
pub enum Store {
    /// A SQLite database file.
    Sqlite(SqlitePool),
    /// A PostgreSQL database.
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool; the body is expanded once per backend.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite($pool) => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// How long a request waits for a database connection before failing (sqlx's default of 30 s
/// would make `/readyz` hang while the database is down).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Opens the database at `url` and applies pending migrations. SQLite files are created when
    /// missing (`sqlite://luckygas.db`; `sqlite::memory:` keeps everything in memory);
    /// PostgreSQL URLs look like `postgres://user@host/db`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::connect_unmigrated(url).await?.migrated().await
    }

    /// Opens the database at `url` as [`Store::open`] does but applies no migration (for tools
    /// such as `luckygas backup`, which must not change the schema of the database they copy).
    pub async fn connect_unmigrated(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            // WAL with synchronous=NORMAL: a commit is durable across a crash of the process
            // and never corrupts the file; only a power loss may lose the last commits. FULL
            // would fsync at every commit, which under concurrent order taking serialises
            // writers behind the disk (see the load benchmark in the README).
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true);
            // Every connection to `sqlite::memory:` opens its own empty database: keep exactly one,
            // forever, so the data lives as long as the store.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool = if in_memory {
                SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
            } else {
                SqlitePoolOptions::new().max_connections(4)
            };
            let pool = pool.acquire_timeout(ACQUIRE_TIMEOUT).connect_with(options).await?;
            Ok(Store::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new().max_connections(8).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(PgConnectOptions::from_str(url)?).await?;
            Ok(Store::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// Opens a PostgreSQL database from explicit options (e.g. with a `search_path`) and applies
    /// pending migrations.
    pub async fn open_postgres(options: PgConnectOptions) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new().max_connections(8).acquire_timeout(ACQUIRE_TIMEOUT).connect_with(options).await?;
        Store::Postgres(pool).migrated().await
    }

    async fn migrated(self) -> Result<Store, StoreError> {
        self.migrate().await?;
        Ok(self)
    }

    /// The name of the backend (`sqlite` or `postgres`).
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    fn embedded(&self) -> &'static [(i64, &'static str, &'static str)] {
        match self {
            Store::Sqlite(_) => migrations::SQLITE,
            Store::Postgres(_) => migrations::POSTGRES,
        }
    }

    /// Applies pending embedded migrations (idempotent). Migrations that the database has and
    /// this binary does not know were applied by a newer release: they are expand-only for one
    /// release (ops/runbooks.md, "Rolling back a release"), so this, the previous release, runs
    /// against their schema; it says so once and goes on.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = migrations::migrator(self.embedded()).await?;
        migrator.set_ignore_missing(true);
        with_pool!(self, pool => migrator.run(pool).await)?;
        let newer = self.newer_migrations().await?;
        if !newer.is_empty() {
            tracing::warn!(versions = ?newer, "the database has migrations of a newer release: running against its expanded schema (a rollback?)");
        }
        Ok(())
    }

    /// Applies the embedded migrations up to version `last` only, as the release whose newest
    /// migration that is would (upgrade and rollback tests; see
    /// [`migrations::PREVIOUS_RELEASE`]).
    pub async fn migrate_upto(&self, last: i64) -> Result<(), StoreError> {
        let list = self.embedded();
        let n = list.iter().take_while(|m| m.0 <= last).count();
        let mut migrator = migrations::migrator(&list[..n]).await?;
        migrator.set_ignore_missing(true);
        with_pool!(self, pool => migrator.run(pool).await)?;
        Ok(())
    }

    /// Versions applied to the database that this binary does not embed (a newer release's).
    pub async fn newer_migrations(&self) -> Result<Vec<i64>, StoreError> {
        self.migrations_newer_than(self.embedded().last().map_or(0, |m| m.0)).await
    }

    /// Versions applied to the database after `last` (what a release whose newest migration is
    /// `last` does not know).
    pub async fn migrations_newer_than(&self, last: i64) -> Result<Vec<i64>, StoreError> {
        let applied = with_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            conn.list_applied_migrations().await?
        });
        Ok(applied.iter().map(|a| a.version).filter(|v| *v > last).collect())
    }

    /// Checks that the database answers and that every embedded migration is applied.
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.ready_upto(i64::MAX).await
    }

    /// [`Store::ready`] as the release whose newest migration is `last` would check it.
    pub async fn ready_upto(&self, last: i64) -> Result<(), StoreError> {
        self.ping().await?;
        let (applied, dirty) = with_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            (conn.list_applied_migrations().await?, conn.dirty_version().await?)
        });
        if let Some(version) = dirty {
            return Err(StoreError::NotMigrated(format!("migration {version} failed half-way")));
        }
        let missing: Vec<String> =
            self.embedded().iter().filter(|(v, _, _)| *v <= last && !applied.iter().any(|a| a.version == *v)).map(|(v, _, _)| v.to_string()).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StoreError::NotMigrated(missing.join(", ")))
        }
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}

/// Maps a unique-constraint violation to [`StoreError::Duplicate`] for `field`.
fn unique(field: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate { field },
        _ => e.into(),
    }
}

/// Maps a foreign-key violation on delete to [`StoreError::InUse`].
fn in_use(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::InUse,
        _ => e.into(),
    }
}
