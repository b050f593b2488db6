//! The backups `luckygas backup` completed (table `backups`, migration 0025): recorded in the
//! database that was copied, read by every replica's `/metrics` as the age of the newest one.

use super::{with_pool, Store, StoreError};
use chrono::{DateTime, Utc};

/// A completed backup, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupRecord {
    /// When the copy began: it holds every transaction committed before this.
    pub started_at: DateTime<Utc>,
    /// When the copy was whole and in place.
    pub finished_at: DateTime<Utc>,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Where it was written (a path on the machine or volume that ran the backup).
    pub location: String,
    /// Its size.
    pub size_bytes: i64,
}

impl Store {
    /// Records a completed backup.
    pub async fn record_backup(&self, b: &BackupRecord) -> Result<(), StoreError> {
        let sql = "INSERT INTO backups (started_at, finished_at, backend, location, size_bytes) VALUES ($1, $2, $3, $4, $5)";
        with_pool!(self, pool => {
            sqlx::query(sql).bind(b.started_at).bind(b.finished_at).bind(&b.backend).bind(&b.location).bind(b.size_bytes).execute(pool).await?;
        });
        Ok(())
    }

    /// When the newest recorded backup began (what a restore of it would hold up to), if any.
    pub async fn last_backup_started(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let sql = "SELECT started_at FROM backups ORDER BY finished_at DESC, id DESC LIMIT 1";
        let at: Option<DateTime<Utc>> = with_pool!(self, pool => sqlx::query_scalar(sql).fetch_optional(pool).await?);
        Ok(at)
    }
}
