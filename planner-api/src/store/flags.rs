//! SQL of feature flags: one row per written flag (migration 0023), changed only by
//! [`Store::write_flag`], which checks the version the writer read and, on PostgreSQL, tells
//! every listening replica in the same transaction (`pg_notify('luckygas_flags', key)`).

use super::{with_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use flags::FlagDefinition;
use sqlx::Row;

/// The PostgreSQL channel that carries the key of each changed flag.
pub const FLAGS_CHANNEL: &str = "luckygas_flags";

/// A stored flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagRecord {
    /// The definition as stored (normalised).
    pub definition: FlagDefinition,
    /// 1 when first written, one more at each change.
    pub version: i64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Who changed it last (their email).
    pub updated_by: String,
}

const COLUMNS: &str = "key, definition, version, updated_at, updated_by";

/// Reads a flag from a row of either backend.
macro_rules! flag_from_row {
    ($row:expr) => {{
        let row = $row;
        let text: String = row.try_get("definition")?;
        let definition = serde_json::from_str::<FlagDefinition>(&text).map_err(|source| StoreError::Corrupt { column: "feature_flags.definition", source })?;
        Ok::<FlagRecord, StoreError>(FlagRecord {
            definition,
            version: row.try_get("version")?,
            updated_at: row.try_get::<DateTime<Utc>, _>("updated_at")?,
            updated_by: row.try_get("updated_by")?,
        })
    }};
}

impl Store {
    /// Every stored flag, by key.
    pub async fn list_flags(&self) -> Result<Vec<FlagRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM feature_flags ORDER BY key");
        with_pool!(self, pool => {
            let rows = sqlx::query(&sql).fetch_all(pool).await?;
            rows.iter().map(|r| flag_from_row!(r)).collect()
        })
    }

    /// The stored flag `key`, if it was ever written.
    pub async fn get_flag(&self, key: &str) -> Result<Option<FlagRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM feature_flags WHERE key = $1");
        with_pool!(self, pool => {
            match sqlx::query(&sql).bind(key).fetch_optional(pool).await? {
                Some(row) => Ok(Some(flag_from_row!(&row)?)),
                None => Ok(None),
            }
        })
    }

    /// Writes `definition` over the flag of its key, which must be at `base_version` (0: never
    /// written), as `actor`; gives [`StoreError::VersionConflict`] when another writer changed
    /// it first. On PostgreSQL the same transaction notifies [`FLAGS_CHANNEL`] with the key, so
    /// listeners hear of the change exactly when it commits.
    pub async fn write_flag(&self, definition: &FlagDefinition, base_version: i64, actor: &str) -> Result<FlagRecord, StoreError> {
        let text = serde_json::to_string(definition).map_err(|source| StoreError::Corrupt { column: "feature_flags.definition", source })?;
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
        let sql = if base_version == 0 {
            format!(
                "INSERT INTO feature_flags (key, definition, version, updated_at, updated_by) VALUES ($1, $2, 1, $3, $4) \
                 ON CONFLICT (key) DO NOTHING RETURNING {COLUMNS}"
            )
        } else {
            format!(
                "UPDATE feature_flags SET definition = $2, version = version + 1, updated_at = $3, updated_by = $4 \
                 WHERE key = $1 AND version = $5 RETURNING {COLUMNS}"
            )
        };
        let notify = matches!(self, Store::Postgres(_));
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut query = sqlx::query(&sql).bind(&definition.key).bind(&text).bind(now).bind(actor);
            if base_version != 0 {
                query = query.bind(base_version);
            }
            let row = query.fetch_optional(&mut *tx).await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Err(StoreError::VersionConflict);
            };
            let record = flag_from_row!(&row)?;
            if notify {
                sqlx::query("SELECT pg_notify($1, $2)").bind(FLAGS_CHANNEL).bind(&definition.key).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(record)
        })
    }

    /// A value that changes at every flag change: the number of stored flags and the sum of
    /// their versions (each change adds one to a version or a row; rows are never deleted). A
    /// process that cannot listen (SQLite) polls it to learn of other processes' changes.
    pub async fn flags_signature(&self) -> Result<(i64, i64), StoreError> {
        let sql = "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(version), 0) AS BIGINT) AS total FROM feature_flags";
        with_pool!(self, pool => {
            let row = sqlx::query(sql).fetch_one(pool).await?;
            Ok((row.try_get::<i64, _>("n")?, row.try_get::<i64, _>("total")?))
        })
    }
}
