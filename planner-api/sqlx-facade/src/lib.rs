//! The sqlx 0.8 API that LuckyGas uses, re-exported under the paths of the `sqlx` facade crate
//! (`sqlx::query`, `sqlx::Row`, `sqlx::sqlite::…`, `sqlx::postgres::…`, `sqlx::migrate::…`), so
//! the workspace imports it as `sqlx = { package = "luckygas-sqlx", … }` and code reads the same.
//!
//! It exists to keep MySQL out of Cargo.lock: the `sqlx` facade's features reach its optional
//! MySQL driver through weak dependency features, which Cargo locks anyway
//! (rust-lang/cargo#10801), and that driver brings `rsa` (RUSTSEC-2023-0071). This crate depends
//! on sqlx-core and the SQLite (bundled) and PostgreSQL drivers only, with the tokio runtime,
//! migrations and chrono — the features the workspace asked of sqlx before. Only re-exports
//! live here: no behaviour of our own, and no query macros (we use none).
//!
//! The list mirrors the runtime part of `sqlx` 0.8.6's `lib.rs` for the features we enable, so
//! a trait or type that sqlx's documentation shows at `sqlx::X` is at the same path here.

pub use sqlx_core::acquire::Acquire;
pub use sqlx_core::arguments::{Arguments, IntoArguments};
pub use sqlx_core::column::{Column, ColumnIndex};
pub use sqlx_core::connection::{ConnectOptions, Connection};
pub use sqlx_core::database::{self, Database};
pub use sqlx_core::describe::Describe;
pub use sqlx_core::executor::{Execute, Executor};
pub use sqlx_core::from_row::FromRow;
pub use sqlx_core::pool::{self, Pool};
pub use sqlx_core::query::{query, query_with};
pub use sqlx_core::query_as::{query_as, query_as_with};
pub use sqlx_core::query_builder::{self, QueryBuilder};
pub use sqlx_core::query_scalar::{query_scalar, query_scalar_with};
pub use sqlx_core::raw_sql::{raw_sql, RawSql};
pub use sqlx_core::row::Row;
pub use sqlx_core::statement::Statement;
pub use sqlx_core::transaction::{Transaction, TransactionManager};
pub use sqlx_core::type_info::TypeInfo;
pub use sqlx_core::types::Type;
pub use sqlx_core::value::{Value, ValueRef};
pub use sqlx_core::Either;

pub use sqlx_core::error::{self, Error, Result};
pub use sqlx_core::migrate;

pub use sqlx_postgres::{self as postgres, PgConnection, PgExecutor, PgPool, PgTransaction, Postgres};
pub use sqlx_sqlite::{self as sqlite, Sqlite, SqliteConnection, SqliteExecutor, SqlitePool, SqliteTransaction};

/// Conversions between Rust and SQL types (`sqlx::types`); each driver's own mappings are in
/// [`postgres::types`] and [`sqlite::types`].
pub mod types {
    pub use sqlx_core::types::*;
}

/// Encoding values for the database (`sqlx::encode`).
pub mod encode {
    pub use sqlx_core::encode::{Encode, IsNull};
}
pub use self::encode::Encode;

/// Decoding values from the database (`sqlx::decode`).
pub mod decode {
    pub use sqlx_core::decode::Decode;
}
pub use self::decode::Decode;

/// The types behind the `query` family of functions (`sqlx::query::Query` and kin).
///
/// A module and a function may share the name `query`: they live in different namespaces, as in
/// the `sqlx` crate.
pub mod query {
    pub use sqlx_core::query::{Map, Query};
    pub use sqlx_core::query_as::QueryAs;
    pub use sqlx_core::query_scalar::QueryScalar;
}

/// The common traits in one import (`use sqlx::prelude::*`).
pub mod prelude {
    pub use super::{Acquire, ConnectOptions, Connection, Decode, Encode, Executor, FromRow, IntoArguments, Row, Statement, Type};
}
