//! The one lease-based runner of the service: a pool of workers, each looping "claim one piece of
//! work, do it, else wait for a bell or a poll interval", with a liveness probe per worker and a
//! clean shutdown. What is claimed and how it is done is a [`Work`]: planning jobs
//! ([`crate::worker`]) and the background queue and outbox ([`super::Background`]) are two.
//!
//! A worker that cannot claim (the database is down) backs off exponentially, from its poll
//! interval up to [`MAX_BACKOFF`] (and never so long that its liveness probe would read it dead),
//! and logs the state changes — "cannot claim work" once when it starts failing, "claims work
//! again" once it recovers — rather than an error at every poll.

use crate::store::plans::epoch_ms;
use chrono::Utc;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Work a runner claims and does.
pub trait Work: Clone + Send + Sync + 'static {
    /// Claims and does one piece of work; `Ok(false)` when none was due. An `Err` is logged and
    /// the worker waits before trying again.
    fn run_one(&self, lane: &mut Lane) -> impl Future<Output = Result<bool, String>> + Send;
    /// Resolves when new work may be waiting (a bell rung by this process).
    fn woken(&self) -> impl Future<Output = ()> + Send;
    /// How long an idle worker waits before looking again when no bell rings.
    fn poll(&self) -> Duration;
}

/// One worker's identity and signals, lent to [`Work::run_one`].
#[derive(Debug)]
pub struct Lane {
    /// The lease owner name (`<process>-<name>-<i>`), unique per worker.
    pub owner: String,
    stop: watch::Receiver<bool>,
    pulse: Arc<Pulse>,
}

impl Lane {
    /// Shows a sign of life (the liveness probe reads it).
    pub fn beat(&self) {
        self.pulse.beat();
    }

    /// Whether the pool is shutting down.
    pub fn stopping(&self) -> bool {
        *self.stop.borrow() || self.stop.has_changed().is_err()
    }

    /// The shutdown signal, for a `select!` that also needs the lane.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.clone()
    }

    /// Resolves when the pool starts shutting down.
    pub async fn stopped(&mut self) {
        if self.stopping() {
            return;
        }
        let _ = self.stop.changed().await;
    }
}

/// Longest wait between two claims of a worker that cannot claim (the database is down).
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long a worker that failed to claim `failures` times in a row waits before trying again:
/// its poll interval, doubled at every failure, at most [`MAX_BACKOFF`] and at most half of
/// `stale_after` (so that its liveness probe still reads it alive while it waits).
pub fn backoff(poll: Duration, failures: u32, stale_after: Duration) -> Duration {
    let doubled = poll.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    doubled.min(MAX_BACKOFF).min(stale_after / 2).max(poll.min(stale_after / 2))
}

/// Starts `workers` workers doing `work`; probes are named `<name>-<i>`.
pub fn spawn<W: Work>(name: &'static str, work: W, workers: usize, stale_after: Duration) -> Pool {
    let (stop, stopped) = watch::channel(false);
    let process = uuid::Uuid::new_v4().simple().to_string();
    let mut handles = Vec::new();
    let mut pulses = Vec::new();
    for i in 0..workers {
        let pulse = Arc::new(Pulse::new());
        let lane = Lane { owner: format!("{process}-{name}-{i}"), stop: stopped.clone(), pulse: Arc::clone(&pulse) };
        handles.push(tokio::spawn(run(name, work.clone(), lane, stale_after)));
        pulses.push(pulse);
    }
    Pool { name, stop, handles, pulses, stale_after }
}

async fn run<W: Work>(name: &'static str, work: W, mut lane: Lane, stale_after: Duration) {
    tracing::debug!(owner = %lane.owner, "{name} worker started");
    let _running = Running(Arc::clone(&lane.pulse));
    // Claims failed in a row.
    let mut failures: u32 = 0;
    while !lane.stopping() {
        lane.beat();
        match work.run_one(&mut lane).await {
            Ok(claimed) => {
                if failures > 0 {
                    tracing::info!(owner = %lane.owner, failures, "{name} worker claims work again");
                    failures = 0;
                }
                if !claimed {
                    idle(&work, &mut lane).await;
                }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let wait = backoff(work.poll(), failures, stale_after);
                if failures == 1 {
                    tracing::error!(owner = %lane.owner, error = %e, "{name} worker cannot claim work; backing off until it can");
                } else {
                    tracing::debug!(owner = %lane.owner, error = %e, failures, wait_ms = wait.as_millis(), "{name} worker still cannot claim work");
                }
                // No bell here: while claims fail, a rung bell must not make the worker spin.
                tokio::select! {
                    () = tokio::time::sleep(wait) => {},
                    () = lane.stopped() => {},
                }
            }
        }
    }
    tracing::debug!(owner = %lane.owner, "{name} worker stopped");
}

async fn idle<W: Work>(work: &W, lane: &mut Lane) {
    let poll = work.poll();
    tokio::select! {
        () = work.woken() => {},
        () = tokio::time::sleep(poll) => {},
        () = lane.stopped() => {},
    }
}

/// A worker's signs of life: whether its loop still runs, and when it last showed progress
/// (epoch milliseconds). Written by the worker, read by its liveness probe.
#[derive(Debug)]
pub(crate) struct Pulse {
    running: AtomicBool,
    last_beat_ms: AtomicI64,
}

impl Pulse {
    pub(crate) fn new() -> Pulse {
        Pulse { running: AtomicBool::new(true), last_beat_ms: AtomicI64::new(epoch_ms(Utc::now())) }
    }

    fn beat(&self) {
        self.last_beat_ms.store(epoch_ms(Utc::now()), Ordering::Relaxed);
    }

    fn alive(&self, stale_after: Duration) -> bool {
        let stale_ms = i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX);
        self.running.load(Ordering::Relaxed) && epoch_ms(Utc::now()).saturating_sub(self.last_beat_ms.load(Ordering::Relaxed)) <= stale_ms
    }
}

/// Marks the worker's loop as ended when dropped, so a loop that returns or panics reads dead.
struct Running(Arc<Pulse>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Relaxed);
    }
}

/// Running workers; [`Pool::shutdown`] stops them.
#[derive(Debug)]
pub struct Pool {
    name: &'static str,
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
    pulses: Vec<Arc<Pulse>>,
    stale_after: Duration,
}

impl Pool {
    /// One liveness probe per worker, named `<name>-<i>`: alive while the worker's loop runs and
    /// it showed a sign of life within `stale_after`. Register them with
    /// [`crate::http::health::HealthState::register_worker`]; a pool of no workers has none.
    pub fn probes(&self) -> Vec<(String, crate::http::health::Probe)> {
        let stale_after = self.stale_after;
        self.pulses
            .iter()
            .enumerate()
            .map(|(i, pulse)| {
                let pulse = Arc::clone(pulse);
                let probe: crate::http::health::Probe = Arc::new(move || pulse.alive(stale_after));
                (format!("{}-{i}", self.name), probe)
            })
            .collect()
    }

    /// Stops claiming, lets running work end (planning gives its job back) and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            if let Err(e) = h.await {
                tracing::error!(error = %e, "a {} worker ended abnormally", self.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_from_the_poll_interval_doubling_up_to_a_cap() {
        let (poll, stale) = (Duration::from_millis(500), Duration::from_secs(120));
        let waits: Vec<u128> = (1..=9).map(|f| backoff(poll, f, stale).as_millis()).collect();
        assert_eq!(waits, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
        assert_eq!(backoff(poll, u32::MAX, stale), MAX_BACKOFF);
        assert_eq!(backoff(poll, 9, Duration::from_secs(5)), Duration::from_millis(2_500), "half the staleness limit");
    }

    #[test]
    fn a_worker_pulse_reads_dead_once_stale_or_once_its_loop_ended() {
        let pulse = Arc::new(Pulse::new());
        assert!(pulse.alive(Duration::from_secs(1)));
        pulse.last_beat_ms.store(epoch_ms(Utc::now()) - 5_000, Ordering::Relaxed);
        assert!(!pulse.alive(Duration::from_secs(1)), "no beat for 5 s");
        pulse.beat();
        assert!(pulse.alive(Duration::from_secs(1)));
        drop(Running(Arc::clone(&pulse)));
        assert!(!pulse.alive(Duration::from_secs(1)), "the loop ended");
    }
}
