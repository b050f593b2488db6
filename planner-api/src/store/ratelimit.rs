//! SQL of the shared rate-limit counters ([`crate::http::ratelimit`]): one row per key and
//! one-minute window, counted up in one statement so that replicas never lose a hit.

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

    /// Deletes the windows that started before `window_start`; returns how many.
    pub async fn expire_rate_windows(&self, window_start: i64) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query("DELETE FROM rate_limit_windows WHERE window_start < $1").bind(window_start).execute(pool).await?.rows_affected())
        })
    }
}
