//! The planning side of the service that handlers and workers share: the workers' settings
//! ([`WorkerConfig`]), the travel source, the bell that wakes idle workers, the shutdown signal,
//! the cache of compiled plan versions and the ring of new versions ([`Planner`]). The worker
//! pool that runs jobs is [`crate::worker`].

use crate::travel::{GreatCircle, TravelConfig, TravelMatrix};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How the workers run.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerConfig {
    /// Worker loops in this process (each runs one job at a time).
    pub workers: usize,
    /// How long a claimed job stays leased without renewal.
    pub lease: Duration,
    /// How often an idle worker looks for work (it is also woken when a job is created here).
    pub poll: Duration,
    /// Claims after which a job fails.
    pub max_attempts: i64,
    /// Solver threads per job.
    pub solver_threads: usize,
    /// Longest search time a request may ask for, seconds.
    pub max_time_limit_s: f64,
    /// Most orders one plan may hold: a day with more is refused before a job is queued.
    pub max_orders: usize,
    /// Most orders one part of a big day may hold (`PLAN_PART_MAX_ORDERS`): a depot with more
    /// is cut into sectors (see [`super::parts`]); the search's memory follows this.
    pub part_max_orders: usize,
}

/// Default of [`WorkerConfig::max_orders`] (`PLAN_MAX_ORDERS`): a day of 10,000 orders across
/// several depots plans within the memory and time the README states.
pub const DEFAULT_MAX_ORDERS: usize = 10_000;

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            workers: 2,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(500),
            max_attempts: 3,
            solver_threads: 1,
            max_time_limit_s: 300.0,
            max_orders: DEFAULT_MAX_ORDERS,
            part_max_orders: super::parts::PART_MAX_ORDERS,
        }
    }
}

impl WorkerConfig {
    /// Reads `PLAN_WORKERS`, `PLAN_LEASE_SECONDS`, `PLAN_POLL_MS`, `PLAN_MAX_ATTEMPTS`,
    /// `PLAN_SOLVER_THREADS`, `PLAN_MAX_TIME_LIMIT_S`, `PLAN_MAX_ORDERS` and `PLAN_PART_MAX_ORDERS` through `lookup`, defaults for the
    /// unset ones; a bad value is an error naming the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<WorkerConfig, String> {
        let mut c = WorkerConfig::default();
        let get = |name: &str, min: f64, max: f64| -> Result<Option<f64>, String> {
            match lookup(name) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() && (min..=max).contains(&x) => Ok(Some(x)),
                    _ => Err(format!("{name} = {v:?}: expected a number between {min} and {max}")),
                },
            }
        };
        // The bounds keep every value small, so the conversions below are exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        {
            if let Some(v) = get("PLAN_WORKERS", 0.0, 64.0)? {
                c.workers = v as usize;
            }
            if let Some(v) = get("PLAN_LEASE_SECONDS", 1.0, 3600.0)? {
                c.lease = Duration::from_secs_f64(v);
            }
            if let Some(v) = get("PLAN_POLL_MS", 10.0, 60_000.0)? {
                c.poll = Duration::from_millis(v as u64);
            }
            if let Some(v) = get("PLAN_MAX_ATTEMPTS", 1.0, 100.0)? {
                c.max_attempts = v as i64;
            }
            if let Some(v) = get("PLAN_SOLVER_THREADS", 1.0, 256.0)? {
                c.solver_threads = v as usize;
            }
            if let Some(v) = get("PLAN_MAX_ORDERS", 1.0, 1_000_000.0)? {
                c.max_orders = v as usize;
            }
            if let Some(v) = get("PLAN_PART_MAX_ORDERS", 50.0, 100_000.0)? {
                c.part_max_orders = v as usize;
            }
        }
        if let Some(v) = get("PLAN_MAX_TIME_LIMIT_S", 0.1, 86_400.0)? {
            c.max_time_limit_s = v;
        }
        Ok(c)
    }

    /// Reads the configuration from the environment (see [`WorkerConfig::from_lookup`]).
    pub fn from_env() -> Result<WorkerConfig, String> {
        WorkerConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// How often a running job renews its lease and stores progress: a third of the lease, at
    /// most every half second so progress streams smoothly.
    pub fn heartbeat(&self) -> Duration {
        (self.lease / 3).min(Duration::from_millis(500))
    }

    /// How long a worker may show no sign of life before its liveness probe says dead: its
    /// lease plus two polls. An idle worker beats at every poll and a busy one at every
    /// heartbeat, so only a worker stuck for as long as a lease (after which its job would be
    /// taken over anyway) goes stale.
    pub fn stale_after(&self) -> Duration {
        self.lease + self.poll * 2
    }
}

/// The planning side of the service, shared by handlers (to wake workers and know the limits)
/// and by the workers.
#[derive(Clone, Debug)]
pub struct Planner {
    inner: Arc<PlannerInner>,
}

#[derive(Debug)]
struct PlannerInner {
    config: WorkerConfig,
    travel: Arc<dyn TravelMatrix>,
    wake: Notify,
    /// Set when the process shuts down, so long-lived responses (event streams) end.
    stopping: watch::Sender<bool>,
    /// Where job durations and solver iterations are counted, once attached.
    metrics: std::sync::OnceLock<Arc<crate::http::metrics::Metrics>>,
    /// Compiled models of recently replanned plan versions.
    models: super::replan::ModelCache,
    /// Rings with `(plan, version)` when this process stores a new plan version.
    versions: tokio::sync::broadcast::Sender<(i64, i64)>,
}

impl Planner {
    /// A planner with `config` and a travel matrix source.
    pub fn new(config: WorkerConfig, travel: Arc<dyn TravelMatrix>) -> Planner {
        Planner {
            inner: Arc::new(PlannerInner {
                config,
                travel,
                wake: Notify::new(),
                stopping: watch::Sender::new(false),
                metrics: std::sync::OnceLock::new(),
                models: super::replan::ModelCache::default(),
                versions: tokio::sync::broadcast::channel(256).0,
            }),
        }
    }

    /// A planner with the default configuration and the embedded great-circle matrix.
    pub fn with_defaults() -> Planner {
        Planner::new(WorkerConfig::default(), Arc::new(GreatCircle::new(TravelConfig::default())))
    }

    /// Counts this planner's finished jobs (duration by outcome) and solver iterations in
    /// `metrics`, the service's registry.
    pub fn attach_metrics(&self, metrics: Arc<crate::http::metrics::Metrics>) {
        // A second attachment is ignored: one process has one registry.
        let _ = self.inner.metrics.set(metrics);
    }

    /// The limits and settings of the workers.
    pub fn config(&self) -> &WorkerConfig {
        &self.inner.config
    }

    /// The travel matrix source plans use (OSRM with the embedded estimate as fallback, or the
    /// estimate alone).
    pub fn travel(&self) -> Arc<dyn TravelMatrix> {
        Arc::clone(&self.inner.travel)
    }

    /// Compiled models of recent plan versions.
    pub fn models(&self) -> &super::replan::ModelCache {
        &self.inner.models
    }

    /// Tells this process's live plan streams that `plan` has a new `version`.
    pub fn version_made(&self, plan: i64, version: i64) {
        // No subscriber is fine: nobody follows the plan here.
        let _ = self.inner.versions.send((plan, version));
    }

    /// Subscribes to new plan versions stored by this process.
    pub fn subscribe_versions(&self) -> tokio::sync::broadcast::Receiver<(i64, i64)> {
        self.inner.versions.subscribe()
    }

    /// Wakes idle workers of this process (a job was just queued).
    pub fn wake(&self) {
        self.inner.wake.notify_waiters();
    }

    /// Marks the process as shutting down: event streams end so the server can stop.
    pub fn stop(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Resolves once [`Planner::stop`] was called.
    pub async fn stopped(&self) {
        let mut rx = self.inner.stopping.subscribe();
        // An error means the sender is gone, which cannot happen while `self` holds it.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// Resolves when [`Planner::wake`] is called (idle workers wait on it).
    pub(crate) fn woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.wake.notified()
    }

    /// The metrics registry attached, if any.
    pub(crate) fn metrics(&self) -> Option<&Arc<crate::http::metrics::Metrics>> {
        self.inner.metrics.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_worker_settings_and_names_a_bad_one() {
        let env = |k: &str| match k {
            "PLAN_WORKERS" => Some("4".to_owned()),
            "PLAN_LEASE_SECONDS" => Some("2".to_owned()),
            _ => None,
        };
        let c = WorkerConfig::from_lookup(env).expect("valid");
        assert_eq!((c.workers, c.lease, c.heartbeat()), (4, Duration::from_secs(2), Duration::from_millis(500)));
        let bad = |k: &str| (k == "PLAN_LEASE_SECONDS").then(|| "soon".to_owned());
        assert!(WorkerConfig::from_lookup(bad).unwrap_err().contains("PLAN_LEASE_SECONDS"));
        assert_eq!(c.max_orders, DEFAULT_MAX_ORDERS);
        let cap = |k: &str| (k == "PLAN_MAX_ORDERS").then(|| "2500".to_owned());
        assert_eq!(WorkerConfig::from_lookup(cap).map(|c| c.max_orders), Ok(2500));
        let bad = |k: &str| (k == "PLAN_MAX_ORDERS").then(|| "0".to_owned());
        assert!(WorkerConfig::from_lookup(bad).unwrap_err().contains("PLAN_MAX_ORDERS"));
    }
}
