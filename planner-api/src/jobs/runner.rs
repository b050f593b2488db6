//! The one lease-based runner of the service: a pool of workers, each looping "claim one piece of
//! work, do it, else wait for a bell or a poll interval", with a liveness probe per worker and a
//! clean shutdown. What is claimed and how it is done is a [`Work`]: planning jobs
//! ([`crate::worker`]) and the background queue and outbox ([`super::Background`]) are two.

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

/// Starts `workers` workers doing `work`; probes are named `<name>-<i>`.
pub fn spawn<W: Work>(name: &'static str, work: W, workers: usize, stale_after: Duration) -> Pool {
    let (stop, stopped) = watch::channel(false);
    let process = uuid::Uuid::new_v4().simple().to_string();
    let mut handles = Vec::new();
    let mut pulses = Vec::new();
    for i in 0..workers {
        let pulse = Arc::new(Pulse::new());
        let lane = Lane { owner: format!("{process}-{name}-{i}"), stop: stopped.clone(), pulse: Arc::clone(&pulse) };
        handles.push(tokio::spawn(run(name, work.clone(), lane)));
        pulses.push(pulse);
    }
    Pool { name, stop, handles, pulses, stale_after }
}

async fn run<W: Work>(name: &'static str, work: W, mut lane: Lane) {
    tracing::debug!(owner = %lane.owner, "{name} worker started");
    let _running = Running(Arc::clone(&lane.pulse));
    while !lane.stopping() {
        lane.beat();
        match work.run_one(&mut lane).await {
            Ok(true) => {}
            Ok(false) => idle(&work, &mut lane).await,
            Err(e) => {
                tracing::error!(error = %e, "{name} worker: cannot claim work");
                idle(&work, &mut lane).await;
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
