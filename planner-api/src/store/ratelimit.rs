//! SQL of the shared rate-limit counters ([`crate::http::ratelimit`]): one row per key and
//! one-minute window, counted up in one statement so that replicas never lose a hit, and deleted
//! once the window has ended by the pruning job ([`crate::jobs::prune`]).

use super::{with_pool, Store, StoreError};

impl Store {
    /// Counts one request of `key` in the window starting at `window_start` (Unix seconds) and
    /// returns the window's count, this request included.
    pub async fn hit_rate_window(&self, key: &str, window_start: i64) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            let hits: i64 = sqlx::query_scalar(
                "INSERT INTO rate_limit_windows (key, window_start, hits) VALUES ($1, $2, 1) \
                 ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limit_windows.hits + 1 RETURNING hits",
            )
            .bind(key)
            .bind(window_start)
            .fetch_one(pool)
            .await?;
            Ok(hits)
        })
    }

    /// Deletes at most `batch` windows that started before `window_start` (ended ones; see
    /// [`crate::jobs::prune`]); returns how many.
    pub async fn prune_rate_windows(&self, window_start: i64, batch: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM rate_limit_windows WHERE (key, window_start) IN \
                   (SELECT key, window_start FROM rate_limit_windows WHERE window_start < $1 LIMIT $2)";
        with_pool!(self, pool => {
            Ok(sqlx::query(sql).bind(window_start).bind(batch).execute(pool).await?.rows_affected())
        })
    }
}
