//! A bound on CPU-heavy request work: everything a request does that runs the solver or builds
//! travel matrices. That is a VROOM solve (`POST /v1/vroom`), a replan or its preview
//! (`POST /v1/plans/{id}/events`, `…/preview`), an undo (`…/versions/{v}/restore`, which may
//! build the version's matrices), an order's status change that replans its plan
//! (`POST /v1/orders/{id}/status` for an order on a plan), and the solver-input download with
//! matrices (`GET /v1/plans/{id}/problem`). The heavy parts run on the blocking pool, never on
//! the async executor that answers `/healthz` and `/readyz`, and at most [`HeavyWork::limit`]
//! such requests run at once. A request over the bound waits for a permit in a short, bounded
//! queue (a replan takes about a second, so a burst of dispatchers' replans is served one after
//! another instead of turned away): at most `LUCKYGAS_HEAVY_QUEUE` requests wait (default eight
//! per permit), each at most `LUCKYGAS_HEAVY_WAIT_MS` (default 10,000); beyond either it gets
//! `503 busy` with `Retry-After`. Waiting costs no thread: the health endpoints still answer.
//!
//! Planning jobs are not requests: they run in the planning workers, whose number
//! (`PLAN_WORKERS`) bounds them, each on `PLAN_SOLVER_THREADS` threads.
//!
//! The bound is `LUCKYGAS_HEAVY_REQUESTS` (default: the number of CPUs the process may use).

use super::error::ApiError;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default of `LUCKYGAS_HEAVY_WAIT_MS`: the longest a heavy request waits for a permit.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// Permits for heavy request work, shared by every request of the process.
#[derive(Clone, Debug)]
pub struct HeavyWork {
    permits: Arc<Semaphore>,
    limit: usize,
    /// Most requests waiting for a permit at once (0: none wait).
    queue: usize,
    /// Longest wait for a permit.
    wait: Duration,
    waiting: Arc<AtomicUsize>,
}

impl Default for HeavyWork {
    /// One heavy request per CPU the process may use, eight waiting per permit for at most
    /// [`DEFAULT_WAIT`].
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        HeavyWork::with_queue(cpus, 8 * cpus, DEFAULT_WAIT)
    }
}

impl HeavyWork {
    /// At most `limit` (at least 1) heavy requests at once; one more is refused at once.
    pub fn new(limit: usize) -> HeavyWork {
        HeavyWork::with_queue(limit, 0, Duration::ZERO)
    }

    /// At most `limit` (at least 1) heavy requests at once, and at most `queue` more waiting
    /// up to `wait` each for a permit.
    pub fn with_queue(limit: usize, queue: usize, wait: Duration) -> HeavyWork {
        let limit = limit.max(1);
        HeavyWork { permits: Arc::new(Semaphore::new(limit)), limit, queue, wait, waiting: Arc::new(AtomicUsize::new(0)) }
    }

    /// The bound from `LUCKYGAS_HEAVY_REQUESTS`, `LUCKYGAS_HEAVY_QUEUE` and
    /// `LUCKYGAS_HEAVY_WAIT_MS`, or the defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<HeavyWork, String> {
        let number = |name: &str, min: usize| -> Result<Option<usize>, String> {
            match lookup(name) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<usize>() {
                    Ok(n) if n >= min => Ok(Some(n)),
                    _ => Err(format!("{name} must be a whole number of at least {min}, not {v:?}")),
                },
            }
        };
        let d = HeavyWork::default();
        let limit = number("LUCKYGAS_HEAVY_REQUESTS", 1)?.unwrap_or(d.limit);
        let queue = number("LUCKYGAS_HEAVY_QUEUE", 0)?.unwrap_or(8 * limit);
        let wait = number("LUCKYGAS_HEAVY_WAIT_MS", 0)?.map_or(d.wait, |ms| Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)));
        Ok(HeavyWork::with_queue(limit, queue, wait))
    }

    /// A permit: at once when one is free, else after waiting in the queue (when it has room)
    /// for at most the configured wait; [`ApiError::Busy`] otherwise.
    pub async fn permit(&self) -> Result<HeavyPermit, ApiError> {
        if let Ok(permit) = self.try_permit() {
            return Ok(permit);
        }
        if self.queue == 0 || self.wait.is_zero() {
            return Err(ApiError::Busy);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::Busy);
        }
        let got = tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match got {
            Ok(Ok(p)) => Ok(HeavyPermit { _permit: p }),
            _ => Err(ApiError::Busy),
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

    /// A permit, or [`ApiError::Busy`] at once when every permit is taken. Held until dropped:
    /// move it into the work it bounds (e.g. a streamed answer's blocking writer).
    pub fn try_permit(&self) -> Result<HeavyPermit, ApiError> {
        Arc::clone(&self.permits).try_acquire_owned().map(|p| HeavyPermit { _permit: p }).map_err(|_| ApiError::Busy)
    }

    /// Runs `work` on the blocking pool under a permit (see [`HeavyWork::permit`]), or answers
    /// [`ApiError::Busy`]. The permit is held until `work` returns, even when the client
    /// has gone (the work should watch a cancel flag, as the solver does).
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal(format!("a heavy request's task failed: {e}")))
    }

    /// Runs `work`, a future that puts its own CPU-heavy parts on the blocking pool (as the
    /// replanning service does), on a task of its own under a permit, or answers
    /// [`ApiError::Busy`] at once when every permit is taken. The task holds the permit until
    /// `work` ends, even when the client has gone: dropping the request does not stop it (a
    /// replan then still stores the version it made), so a client that sends and hangs up
    /// cannot start more heavy work than the bound.
    pub async fn spawn<F>(&self, work: F) -> Result<F::Output, ApiError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let permit = self.permit().await?;
        tokio::spawn(async move {
            let _permit = permit;
            work.await
        })
        .await
        .map_err(|e| ApiError::Internal(format!("a heavy request's task failed: {e}")))
    }
}

/// One of [`HeavyWork`]'s permits; given back when dropped.
#[derive(Debug)]
pub struct HeavyPermit {
    _permit: OwnedSemaphorePermit,
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

    #[tokio::test]
    async fn waits_in_a_bounded_queue_for_a_permit() {
        let heavy = HeavyWork::with_queue(1, 1, Duration::from_secs(60));
        let held = heavy.try_permit().expect("the only permit");
        let waiter = {
            let heavy = heavy.clone();
            tokio::spawn(async move { heavy.permit().await.map(|_| ()) })
        };
        // The waiter is queued once the counter says so (no sleeping: yield until it is).
        while heavy.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(heavy.permit().await, Err(ApiError::Busy)), "the queue of one is full: refused at once");
        drop(held);
        assert!(waiter.await.expect("joined").is_ok(), "the waiter got the freed permit");
        assert_eq!(heavy.waiting.load(Ordering::SeqCst), 0);

        // A wait that ends without a permit is busy too.
        let short = HeavyWork::with_queue(1, 4, Duration::from_millis(20));
        let _held = short.try_permit().expect("permit");
        assert!(matches!(short.permit().await, Err(ApiError::Busy)));
        assert_eq!(short.waiting.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn reads_the_queue_settings() {
        let env = |pairs: &'static [(&'static str, &'static str)]| move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned());
        let h = HeavyWork::from_lookup(env(&[("LUCKYGAS_HEAVY_REQUESTS", "3")])).expect("valid");
        assert_eq!((h.limit, h.queue, h.wait), (3, 24, DEFAULT_WAIT));
        let h =
            HeavyWork::from_lookup(env(&[("LUCKYGAS_HEAVY_REQUESTS", "2"), ("LUCKYGAS_HEAVY_QUEUE", "0"), ("LUCKYGAS_HEAVY_WAIT_MS", "250")])).expect("valid");
        assert_eq!((h.limit, h.queue, h.wait), (2, 0, Duration::from_millis(250)));
        assert!(HeavyWork::from_lookup(env(&[("LUCKYGAS_HEAVY_QUEUE", "-1")])).is_err());
        assert!(HeavyWork::from_lookup(env(&[("LUCKYGAS_HEAVY_REQUESTS", "0")])).is_err());
    }

    #[tokio::test]
    async fn a_spawned_future_keeps_its_permit_after_its_caller_is_dropped() {
        let heavy = HeavyWork::new(1);
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let caller = {
            let heavy = heavy.clone();
            tokio::spawn(async move {
                heavy
                    .spawn(async move {
                        let _ = release_rx.await;
                        let _ = done_tx.send(());
                    })
                    .await
            })
        };
        // The caller is gone (a client that hung up); the work goes on and keeps the permit.
        while heavy.available() != 0 {
            tokio::task::yield_now().await;
        }
        caller.abort();
        assert!(caller.await.is_err_and(|e| e.is_cancelled()));
        assert!(matches!(heavy.try_permit(), Err(ApiError::Busy)), "the abandoned work still holds its permit");
        release_tx.send(()).expect("the work waits");
        done_rx.await.expect("the work finished");
        // The permit is given back when the task ends, just after it said it was done.
        let permit = loop {
            match heavy.try_permit() {
                Ok(p) => break p,
                Err(_) => tokio::task::yield_now().await,
            }
        };
        drop(permit);
        assert_eq!(heavy.available(), 1);
    }

    #[test]
    fn reads_its_bound_from_the_environment() {
        assert_eq!(HeavyWork::from_lookup(|_| Some("3".into())).map(|h| h.limit()), Ok(3));
        assert!(HeavyWork::from_lookup(|_| Some("0".into())).is_err());
        assert!(HeavyWork::from_lookup(|_| None).is_ok_and(|h| h.limit() >= 1));
    }
}
