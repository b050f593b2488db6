//! The connection pool's own health, for the metrics: a cheap "does the database answer" check
//! and the pool's counts, read without a query.

use super::{with_pool, Store, StoreError};

/// The pool's connections at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open now, idle or lent out.
    pub size: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// Open connections lent out to queries.
    pub in_use: u32,
    /// The most connections the pool may open.
    pub max: u32,
}

impl Store {
    /// Runs `SELECT 1`: the database answers (the pool's acquire timeout bounds the wait).
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The pool's counts now; no query, no wait.
    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle, max) = with_pool!(self, pool => (pool.size(), pool.num_idle(), pool.options().get_max_connections()));
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
        PoolStats { size, idle, in_use: size - idle, max }
    }
}
