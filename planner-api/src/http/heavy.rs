//! A bound on CPU-heavy request work (a VROOM solve today): it runs on the blocking pool, never
//! on the async executor that answers `/healthz` and `/readyz`, and at most
//! [`HeavyWork::limit`] such requests run at once. A request over the bound is not queued (a
//! queue of solves would only answer late): it gets `503 busy` with `Retry-After` at once.
//!
//! The bound is `LUCKYGAS_HEAVY_REQUESTS` (default: the number of CPUs the process may use).

use super::error::ApiError;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Permits for heavy request work, shared by every request of the process.
#[derive(Clone, Debug)]
pub struct HeavyWork {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl Default for HeavyWork {
    /// One heavy request per CPU the process may use.
    fn default() -> Self {
        HeavyWork::new(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
    }
}

impl HeavyWork {
    /// At most `limit` (at least 1) heavy requests at once.
    pub fn new(limit: usize) -> HeavyWork {
        let limit = limit.max(1);
        HeavyWork { permits: Arc::new(Semaphore::new(limit)), limit }
    }

    /// The bound from `LUCKYGAS_HEAVY_REQUESTS`, or the default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<HeavyWork, String> {
        match lookup("LUCKYGAS_HEAVY_REQUESTS") {
            None => Ok(HeavyWork::default()),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Ok(HeavyWork::new(n)),
                _ => Err(format!("LUCKYGAS_HEAVY_REQUESTS must be a whole number of at least 1, not {v:?}")),
            },
        }
    }

    /// How many heavy requests may run at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many more may start now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Runs `work` on the blocking pool under a permit, or answers [`ApiError::Busy`] at once
    /// when every permit is taken. The permit is held until `work` returns, even when the client
    /// has gone (the work should watch a cancel flag, as the solver does).
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let permit = Arc::clone(&self.permits).try_acquire_owned().map_err(|_| ApiError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal(format!("a heavy request's task failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_work_over_the_bound_at_once_and_frees_the_permit_after() {
        let heavy = HeavyWork::new(1);
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let heavy = heavy.clone();
            tokio::spawn(async move {
                heavy
                    .run(move || {
                        started_tx.send(()).expect("the test waits");
                        release_rx.recv().expect("released");
                        7
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().expect("the first runs")).await.expect("joined");
        assert_eq!(heavy.available(), 0);
        assert!(matches!(heavy.run(|| 8).await, Err(ApiError::Busy)));
        release_tx.send(()).expect("release");
        assert_eq!(first.await.expect("joined").ok(), Some(7));
        assert_eq!(heavy.run(|| 9).await.ok(), Some(9), "the permit came back");
    }

    #[test]
    fn reads_its_bound_from_the_environment() {
        assert_eq!(HeavyWork::from_lookup(|_| Some("3".into())).map(|h| h.limit()), Ok(3));
        assert!(HeavyWork::from_lookup(|_| Some("0".into())).is_err());
        assert!(HeavyWork::from_lookup(|_| None).is_ok_and(|h| h.limit() >= 1));
    }
}
