//! The old system's database, as the service reaches it: a second PostgreSQL database in
//! production (and tests), a SQLite file for the embedded default, with the old schema
//! ([`legacy::schema`]). Rows are read as the text of each column (`CAST(… AS TEXT)`, which also
//! drops PostgreSQL's `CHAR(n)` padding) and parsed by [`legacy::export::Record`], the same
//! conversion that reads the old program's exports; they are written back column by column with
//! each column's type.
//!
//! The pool fails fast (a short acquire timeout): an unreachable legacy database must slow
//! nothing down, the sync worker's circuit breaker ([`super::worker`]) waits it out.

use legacy::export::{FieldError, Record};
use legacy::schema::{ColumnType, Dialect, Table, SYNC_KEY, TABLES};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;

/// How long a legacy query waits for a connection before the attempt counts as a failure.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A pool of the legacy database.
#[derive(Clone, Debug)]
pub enum LegacyDb {
    /// The embedded default: a SQLite file.
    Sqlite(SqlitePool),
    /// A PostgreSQL database of its own.
    Postgres(PgPool),
}

/// Expands `$body` once per backend with `$pool` bound to the pool.
macro_rules! with_legacy {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::sync::legacy_db::LegacyDb::Sqlite($pool) => $body,
            $crate::sync::legacy_db::LegacyDb::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_legacy;

/// Errors of the legacy database.
#[derive(Debug, thiserror::Error)]
pub enum LegacyDbError {
    /// The URL names neither SQLite nor PostgreSQL.
    #[error("unsupported legacy database URL (expected sqlite://… or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// The database cannot be reached now (connection refused, timed out, closed): the sync
    /// worker's breaker counts these, and no change is charged an attempt for them.
    #[error("legacy database unreachable: {0}")]
    Unreachable(sqlx::Error),
    /// Any other database error (a constraint, a type): the change that caused it is charged an
    /// attempt.
    #[error("legacy database error: {0}")]
    Database(sqlx::Error),
    /// A value cannot be written into its column.
    #[error("{table}.{column}: {problem}")]
    Value {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl From<sqlx::Error> for LegacyDbError {
    fn from(e: sqlx::Error) -> Self {
        if is_unreachable(&e) {
            LegacyDbError::Unreachable(e)
        } else {
            LegacyDbError::Database(e)
        }
    }
}

impl LegacyDbError {
    /// Whether the database could not be reached (rather than refusing a change).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, LegacyDbError::Unreachable(_))
    }
}

/// Whether `e` says the database is not there, rather than that a statement failed: what the
/// service's own store counts as unavailable ([`crate::store::unavailable`]: connection lost,
/// pool timed out, PostgreSQL shutting down or refusing connections, SQLite busy or locked), and a
/// SQLite file that cannot be opened (a legacy file on a share that is away).
fn is_unreachable(e: &sqlx::Error) -> bool {
    crate::store::unavailable(e)
        || matches!(e, sqlx::Error::Database(db) if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
            && db.code().and_then(|c| c.parse::<i64>().ok()).is_some_and(|c| c & 0xff == 14))
}

/// One row as the text of each column (empty for NULL), in the table's column order.
pub type TextRow = Vec<String>;

impl LegacyDb {
    /// Opens the legacy database at `url` (a SQLite file is created when missing). Connecting
    /// is lazy: an unreachable PostgreSQL fails at the first query, not here.
    pub fn open(url: &str) -> Result<LegacyDb, LegacyDbError> {
        if url.starts_with("sqlite:") {
            let options =
                SqliteConnectOptions::from_str(url)?.create_if_missing(true).journal_mode(SqliteJournalMode::Wal).busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new().max_connections(4).acquire_timeout(ACQUIRE_TIMEOUT).connect_lazy_with(options);
            Ok(LegacyDb::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new().max_connections(4).acquire_timeout(ACQUIRE_TIMEOUT).connect_lazy_with(options);
            Ok(LegacyDb::Postgres(pool))
        } else {
            Err(LegacyDbError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// The SQL dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            LegacyDb::Sqlite(_) => Dialect::Sqlite,
            LegacyDb::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        with_legacy!(self, pool => pool.close().await)
    }

    /// Whether the old tables exist.
    pub async fn has_schema(&self) -> Result<bool, LegacyDbError> {
        let sql = match self {
            LegacyDb::Sqlite(_) => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'CUST_MST'",
            LegacyDb::Postgres(_) => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('cust_mst', 'CUST_MST')"
            }
        };
        let n: i64 = with_legacy!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await?);
        Ok(n > 0)
    }

    /// Creates the old schema if the database has none (a new embedded installation, a test),
    /// and in any case our `SYNC_KEY` table, which an existing old database lacks. Returns
    /// whether the old tables were created.
    pub async fn ensure_schema(&self) -> Result<bool, LegacyDbError> {
        let created = if self.has_schema().await? {
            false
        } else {
            let ddl = legacy::schema::ddl(self.dialect());
            with_legacy!(self, pool => sqlx::raw_sql(&ddl).execute(pool).await.map(|_| ())?);
            true
        };
        let sync_key = sync_key_ddl(self.dialect());
        with_legacy!(self, pool => sqlx::raw_sql(&sync_key).execute(pool).await.map(|_| ())?);
        Ok(created)
    }

    /// Rows of `table` in primary-key order, as text; `filter` is SQL after `WHERE` (or empty)
    /// with `$1…` bound to `args` as text. Compare a `CHAR(n)` key with `CAST($1 AS CHAR(n))`:
    /// PostgreSQL compares `CHAR` with text as text, which no index of the column serves.
    pub async fn fetch(&self, table: &'static Table, filter: &str, args: &[String]) -> Result<Vec<TextRow>, LegacyDbError> {
        self.fetch_sql(table, &select_sql(table, filter), args).await
    }

    /// Up to `limit` rows of `table` matching `filter`, in the order of `order_by` (SQL after
    /// `ORDER BY`), as text.
    pub async fn fetch_page(&self, table: &'static Table, filter: &str, args: &[String], order_by: &str, limit: i64) -> Result<Vec<TextRow>, LegacyDbError> {
        self.fetch_sql(table, &format!("{} LIMIT {limit}", select_sql_ordered(table, filter, order_by)), args).await
    }

    /// The rows of `sql` (a select of `table`'s columns as text) with `args` bound in order.
    async fn fetch_sql(&self, table: &'static Table, sql: &str, args: &[String]) -> Result<Vec<TextRow>, LegacyDbError> {
        let rows = with_legacy!(self, pool => {
            let mut query = sqlx::query(sql);
            for a in args {
                query = query.bind(a);
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(|r| text_row(table, |i| r.try_get::<Option<String>, _>(i))).collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// Every row of `T`'s table, parsed; a row that does not parse is returned with its key
    /// text and the problem.
    pub async fn fetch_records<T: Record>(&self, filter: &str, args: &[String]) -> Result<Vec<Result<T, (String, FieldError)>>, LegacyDbError> {
        let rows = self.fetch(T::TABLE, filter, args).await?;
        Ok(rows.into_iter().map(|r| T::from_fields(&r).map_err(|e| (r.first().cloned().unwrap_or_default(), e))).collect())
    }

    /// Runs a SQL script (several statements; a loading script of the old data, a test's
    /// changes made "in the old program").
    pub async fn execute_script(&self, sql: &str) -> Result<(), LegacyDbError> {
        with_legacy!(self, pool => sqlx::raw_sql(sql).execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// The number of rows of `table`.
    pub async fn count(&self, table: &'static Table) -> Result<i64, LegacyDbError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name);
        Ok(with_legacy!(self, pool => sqlx::query_scalar(&sql).fetch_one(pool).await?))
    }
}

/// `CREATE TABLE IF NOT EXISTS SYNC_KEY …`.
fn sync_key_ddl(dialect: Dialect) -> String {
    let columns: Vec<String> = SYNC_KEY.columns.iter().map(|c| format!("{} {} NOT NULL DEFAULT ''", c.name, c.ty.sql(dialect))).collect();
    format!("CREATE TABLE IF NOT EXISTS SYNC_KEY ({}, PRIMARY KEY ({}));", columns.join(", "), SYNC_KEY.primary_key.join(", "))
}

/// `SELECT CAST(col AS TEXT) … FROM table [WHERE filter] ORDER BY key`.
fn select_sql(table: &Table, filter: &str) -> String {
    select_sql_ordered(table, filter, &table.primary_key.join(", "))
}

/// `SELECT CAST(col AS TEXT) … FROM table [WHERE filter] ORDER BY order_by`.
fn select_sql_ordered(table: &Table, filter: &str, order_by: &str) -> String {
    let columns: Vec<String> = table.columns.iter().map(|c| format!("CAST({0} AS TEXT) AS {0}", c.name)).collect();
    let filter = if filter.is_empty() { String::new() } else { format!(" WHERE {filter}") };
    format!("SELECT {} FROM {}{filter} ORDER BY {order_by}", columns.join(", "), table.name)
}

/// A row's text, trimmed of `CHAR` padding, NULL as empty.
fn text_row(table: &Table, get: impl Fn(usize) -> Result<Option<String>, sqlx::Error>) -> Result<TextRow, sqlx::Error> {
    (0..table.columns.len()).map(|i| Ok(get(i)?.map(|s| s.trim_end().to_owned()).unwrap_or_default())).collect()
}

/// One bound value of a row written to the legacy side.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A text column.
    Text(String),
    /// An integer column.
    Int(i64),
    /// A coordinate, or NULL.
    Real(Option<f64>),
}

/// The values of `fields` (a record's text, in `table`'s column order) typed for binding.
pub fn values(table: &'static Table, fields: &[String]) -> Result<Vec<Value>, LegacyDbError> {
    if fields.len() != table.columns.len() {
        return Err(LegacyDbError::Value { table: table.name, column: "*", problem: format!("{} fields for {} columns", fields.len(), table.columns.len()) });
    }
    table
        .columns
        .iter()
        .zip(fields)
        .map(|(c, f)| {
            let bad = |problem: String| LegacyDbError::Value { table: table.name, column: c.name, problem };
            Ok(match c.ty {
                ColumnType::Char(n) | ColumnType::VarChar(n) => {
                    let width = legacy::big5::len(f).map_err(|ch| bad(format!("{ch:?} has no Big5 form")))?;
                    if width > n {
                        return Err(bad(format!("{width} Big5 bytes in a column of {n}: {f}")));
                    }
                    Value::Text(f.clone())
                }
                ColumnType::SmallInt | ColumnType::Integer => Value::Int(f.parse().map_err(|_| bad(format!("not an integer: {f}")))?),
                ColumnType::Coordinate if f.is_empty() => Value::Real(None),
                ColumnType::Coordinate => Value::Real(Some(f.parse().map_err(|_| bad(format!("not a coordinate: {f}")))?)),
            })
        })
        .collect()
}

/// `INSERT INTO table (…) VALUES (…) ON CONFLICT (key) DO UPDATE SET …` (both dialects).
pub fn upsert_sql(table: &Table) -> String {
    let names: Vec<&str> = table.column_names().collect();
    let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let updates: Vec<String> = names.iter().filter(|n| !table.primary_key.contains(n)).map(|n| format!("{n} = excluded.{n}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        table.name,
        names.join(", "),
        params.join(", "),
        table.primary_key.join(", "),
        updates.join(", ")
    )
}

/// [`upsert_sql`], but an existing row is updated only while its "last changed" stamp is the one
/// bound after the values (`UPD_DT`, `UPD_TM`, `UPD_USER`): no row is affected when the old
/// program changed it since it was read.
pub fn upsert_if_sql(table: &Table) -> String {
    let n = table.columns.len();
    let t = table.name;
    format!(
        "{} WHERE RTRIM(CAST({t}.UPD_DT AS TEXT)) = ${} AND RTRIM(CAST({t}.UPD_TM AS TEXT)) = ${} AND RTRIM(CAST({t}.UPD_USER AS TEXT)) = ${}",
        upsert_sql(table),
        n + 1,
        n + 2,
        n + 3
    )
}

/// Binds `values` to `query` in order (either backend's query type).
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for v in $values {
            q = match v {
                $crate::sync::legacy_db::Value::Text(s) => q.bind(s.clone()),
                $crate::sync::legacy_db::Value::Int(n) => q.bind(*n),
                $crate::sync::legacy_db::Value::Real(r) => q.bind(*r),
            };
        }
        q
    }};
}
pub(crate) use bind_values;

/// Every table of the old schema (for counts and reports).
pub fn tables() -> impl Iterator<Item = &'static Table> {
    TABLES.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use legacy::schema::{CUST_MST, ORD_DTL};

    #[test]
    fn upsert_updates_every_column_but_the_key() {
        let sql = upsert_sql(&ORD_DTL);
        assert!(
            sql.starts_with("INSERT INTO ORD_DTL (ORD_NO, SEQ, CYL_KG, QTY, PRICE, AMT) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ORD_NO, SEQ)"),
            "{sql}"
        );
        assert!(sql.ends_with("DO UPDATE SET CYL_KG = excluded.CYL_KG, QTY = excluded.QTY, PRICE = excluded.PRICE, AMT = excluded.AMT"), "{sql}");
    }

    #[test]
    fn values_are_checked_against_the_old_widths() {
        let mut fields: Vec<String> = CUST_MST.columns.iter().map(|_| String::new()).collect();
        for (i, c) in CUST_MST.columns.iter().enumerate() {
            if matches!(c.ty, ColumnType::SmallInt | ColumnType::Integer) {
                fields[i] = "0".into();
            }
        }
        fields[1] = "王".repeat(20);
        assert!(values(&CUST_MST, &fields).is_ok());
        fields[1] = "王".repeat(21);
        let e = values(&CUST_MST, &fields).unwrap_err().to_string();
        assert!(e.contains("CUST_NM") && e.contains("42 Big5 bytes"), "{e}");
        fields[1] = "🙂".into();
        assert!(values(&CUST_MST, &fields).unwrap_err().to_string().contains("no Big5 form"));
    }
}
