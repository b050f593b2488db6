//! Keeping a process's [`FlagSet`] current with the database.
//!
//! - PostgreSQL: a connection of the pool LISTENs on `luckygas_flags`; each change's
//!   transaction notifies it with the flag's key (see [`Store::write_flag`]) and the flag is
//!   reloaded. When the connection is lost (a restart, a failover, `pg_terminate_backend`),
//!   sqlx's listener connects again and LISTENs before it says so; then every flag is reloaded,
//!   since notifications sent meanwhile are gone. LISTEN first, reload second: no change falls in
//!   between.
//! - SQLite (one process as a rule): the writer takes its change in at once; every
//!   [`SyncConfig::poll`] the process compares the store's change counter
//!   ([`Store::flags_signature`]) and reloads everything when it moved, which covers other
//!   processes on the same file.
//!
//! Failures are logged and retried every [`SyncConfig::retry`]; meanwhile the snapshot keeps
//! answering what it last knew. The task ends when the store's pool is closed or on
//! [`FlagSync::shutdown`].

use super::FlagSet;
use crate::store::flags::FLAGS_CHANNEL;
use crate::store::{Store, StoreError};
use sqlx::postgres::PgListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often to look for changes where nothing tells of them, and to retry after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncConfig {
    /// SQLite: the poll of the change counter (default 10 s; `LUCKYGAS_FLAGS_POLL_S`).
    pub poll: Duration,
    /// Both: the wait before trying again after a failed reload or listener (default 1 s).
    pub retry: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig { poll: Duration::from_secs(10), retry: Duration::from_secs(1) }
    }
}

impl SyncConfig {
    /// Reads `LUCKYGAS_FLAGS_POLL_S` (whole seconds, 1 to 3600) through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<SyncConfig, String> {
        let mut config = SyncConfig::default();
        if let Some(raw) = lookup("LUCKYGAS_FLAGS_POLL_S").filter(|v| !v.trim().is_empty()) {
            let seconds = raw.trim().parse::<u64>().ok().filter(|s| (1..=3600).contains(s));
            config.poll = Duration::from_secs(seconds.ok_or_else(|| format!("LUCKYGAS_FLAGS_POLL_S must be whole seconds from 1 to 3600, not {raw:?}"))?);
        }
        Ok(config)
    }
}

/// The task that keeps a [`FlagSet`] current.
#[derive(Debug)]
pub struct FlagSync {
    task: tokio::task::JoinHandle<()>,
    listener_pid: Arc<AtomicU32>,
}

/// Reloads every flag into `set`.
async fn reload_all(store: &Store, set: &FlagSet) -> Result<(), StoreError> {
    let records = store.list_flags().await?;
    set.apply_all(&records, true);
    set.metrics().reloaded("all");
    Ok(())
}

/// The backend process id of the listener's connection (connecting and listening again first
/// if the connection was lost).
async fn backend_pid(listener: &mut PgListener) -> Result<u32, sqlx::Error> {
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *listener).await?;
    Ok(u32::try_from(pid).unwrap_or(0))
}

impl FlagSync {
    /// Loads every flag into `set`, then starts keeping it current (listening on PostgreSQL,
    /// polling on SQLite). Fails only when the first load or the first LISTEN fails.
    pub async fn start(store: Store, set: FlagSet, config: SyncConfig) -> Result<FlagSync, StoreError> {
        let listener_pid = Arc::new(AtomicU32::new(0));
        let task = match &store {
            Store::Postgres(pool) => {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen(FLAGS_CHANNEL).await?;
                listener_pid.store(backend_pid(&mut listener).await?, Ordering::Relaxed);
                reload_all(&store, &set).await?;
                tokio::spawn(listen(listener, store, set, config, Arc::clone(&listener_pid)))
            }
            Store::Sqlite(_) => {
                let signature = store.flags_signature().await?;
                reload_all(&store, &set).await?;
                tokio::spawn(poll(store, set, config, signature))
            }
        };
        Ok(FlagSync { task, listener_pid })
    }

    /// The PostgreSQL backend process id of the listening connection now (`None` on SQLite or
    /// while reconnecting): what an operator (or a test) terminates to see the reconnection.
    pub fn listener_pid(&self) -> Option<u32> {
        Some(self.listener_pid.load(Ordering::Relaxed)).filter(|pid| *pid != 0)
    }

    /// Stops keeping the set current.
    pub async fn shutdown(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// PostgreSQL: reloads each notified flag; after a lost connection or a failure, connects and
/// listens again, then reloads everything.
async fn listen(mut listener: PgListener, store: Store, set: FlagSet, config: SyncConfig, pid: Arc<AtomicU32>) {
    let mut resync = false;
    loop {
        if resync {
            pid.store(0, Ordering::Relaxed);
            // Through the listener: it reconnects and LISTENs again before answering.
            let again = match backend_pid(&mut listener).await {
                Ok(p) => reload_all(&store, &set).await.map(|()| p).map_err(|e| e.to_string()),
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => Err(e.to_string()),
            };
            match again {
                Ok(p) => {
                    pid.store(p, Ordering::Relaxed);
                    tracing::info!(pid = p, "feature flags: listening again, every flag reloaded");
                    resync = false;
                }
                Err(error) => {
                    tracing::warn!(%error, "feature flags: cannot listen or reload yet; retrying");
                    tokio::time::sleep(config.retry).await;
                    continue;
                }
            }
        }
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                let key = notification.payload();
                // The channel is database-wide: a key of another schema on the same database
                // reads as no row here, which changes nothing.
                match store.get_flag(key).await {
                    Ok(Some(record)) => {
                        set.apply(&record);
                        set.metrics().reloaded("one");
                    }
                    Ok(None) => {}
                    Err(error) => {
                        tracing::warn!(%error, key, "feature flags: cannot reload a changed flag; reloading all");
                        resync = true;
                    }
                }
            }
            // The connection was lost; sqlx has connected and listens again (or will, below).
            Ok(None) => {
                tracing::warn!("feature flags: the listening connection was lost; reloading every flag");
                resync = true;
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "feature flags: listening failed; retrying");
                tokio::time::sleep(config.retry).await;
                resync = true;
            }
        }
    }
}

/// SQLite: reloads everything whenever the change counter moved since the last look.
async fn poll(store: Store, set: FlagSet, config: SyncConfig, mut seen: (i64, i64)) {
    loop {
        tokio::time::sleep(config.poll).await;
        match store.flags_signature().await {
            Ok(now) if now == seen => {}
            Ok(now) => match reload_all(&store, &set).await {
                Ok(()) => seen = now,
                Err(error) => tracing::warn!(%error, "feature flags: cannot reload; retrying at the next poll"),
            },
            Err(StoreError::Unavailable(sqlx::Error::PoolClosed)) => return,
            Err(error) => tracing::warn!(%error, "feature flags: cannot read the change counter; retrying at the next poll"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_poll_interval_from_the_environment() {
        let env = |v: &'static str| move |k: &str| (k == "LUCKYGAS_FLAGS_POLL_S").then(|| v.to_owned());
        assert_eq!(SyncConfig::from_lookup(|_| None), Ok(SyncConfig::default()));
        assert_eq!(SyncConfig::from_lookup(env("3")).map(|c| c.poll), Ok(Duration::from_secs(3)));
        assert!(SyncConfig::from_lookup(env("0")).is_err() && SyncConfig::from_lookup(env("soon")).is_err());
    }
}
