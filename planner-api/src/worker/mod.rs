//! Planning jobs off the async executor: a pool of workers that claim jobs from the store's
//! queue, hold a lease while the solver runs on a blocking thread, report progress, honour
//! cancellation, and write the plan.
//!
//! Each worker loops: claim a job (queued, or running with an expired lease: its worker died),
//! load the day, build the solver's problem ([`day`]), run `solver::search::solve` in
//! `spawn_blocking`, and meanwhile renew the lease and store progress every
//! [`WorkerConfig::heartbeat`]. A cancel request seen at renewal sets the solver's cancel flag; a
//! lost lease (another worker took over) stops the solver and drops its result; shutting down
//! gives the job back to the queue. A job claimed more than [`WorkerConfig::max_attempts`] times
//! fails instead of crashing workers forever.

pub mod day;
pub mod replan;

use crate::domain::{JobStatus, OrderStatus, ProgressPoint};
use crate::store::plans::epoch_ms;
use crate::store::{ClaimedJob, JobEnd, OrderFilter, PageRequest, Store, StoreError};
use crate::travel::{GreatCircle, TravelConfig, TravelMatrix};
use chrono::Utc;
use day::{Day, DayInputs, DayModel, Fleet, OrderStop};
use solver::io::json::cost_to_ntd;
use solver::search::{self, Environment};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// At most this many progress points are kept per attempt (later improvements replace the last).
const MAX_PROGRESS_POINTS: usize = 500;

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
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            workers: 2,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(500),
            max_attempts: 3,
            solver_threads: 1,
            max_time_limit_s: 300.0,
        }
    }
}

impl WorkerConfig {
    /// Reads `PLAN_WORKERS`, `PLAN_LEASE_SECONDS`, `PLAN_POLL_MS`, `PLAN_MAX_ATTEMPTS`,
    /// `PLAN_SOLVER_THREADS` and `PLAN_MAX_TIME_LIMIT_S` through `lookup`, defaults for the
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
    models: replan::ModelCache,
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
                models: replan::ModelCache::default(),
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
    pub fn models(&self) -> &replan::ModelCache {
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

    /// Starts the configured number of workers on `store`.
    pub fn spawn(&self, store: &Store) -> WorkerPool {
        let (stop, stopped) = watch::channel(false);
        let process = uuid::Uuid::new_v4().simple().to_string();
        let mut handles = Vec::new();
        let mut pulses = Vec::new();
        for i in 0..self.inner.config.workers {
            let pulse = Arc::new(Pulse::new());
            let worker =
                Worker { store: store.clone(), planner: self.clone(), owner: format!("{process}-{i}"), stop: stopped.clone(), pulse: Arc::clone(&pulse) };
            handles.push(tokio::spawn(worker.run()));
            pulses.push(pulse);
        }
        WorkerPool { stop, handles, pulses, stale_after: self.inner.config.stale_after() }
    }
}

/// A worker's signs of life: whether its loop still runs, and when it last showed progress
/// (epoch milliseconds). Written by the worker, read by its liveness probe.
#[derive(Debug)]
struct Pulse {
    running: AtomicBool,
    last_beat_ms: AtomicI64,
}

impl Pulse {
    fn new() -> Pulse {
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

/// Running workers; [`WorkerPool::shutdown`] stops them.
#[derive(Debug)]
pub struct WorkerPool {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
    pulses: Vec<Arc<Pulse>>,
    stale_after: Duration,
}

impl WorkerPool {
    /// One liveness probe per worker, named `planner-<i>`: alive while the worker's loop runs and
    /// it showed a sign of life within [`WorkerConfig::stale_after`]. Register them with
    /// [`crate::http::health::HealthState::register_worker`]; a pool of no workers (a serve-only
    /// replica) has none.
    pub fn probes(&self) -> Vec<(String, crate::http::health::Probe)> {
        let stale_after = self.stale_after;
        self.pulses
            .iter()
            .enumerate()
            .map(|(i, pulse)| {
                let pulse = Arc::clone(pulse);
                let probe: crate::http::health::Probe = Arc::new(move || pulse.alive(stale_after));
                (format!("planner-{i}"), probe)
            })
            .collect()
    }

    /// Stops claiming, gives running jobs back to the queue and waits for the workers.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            if let Err(e) = h.await {
                tracing::error!(error = %e, "a planning worker ended abnormally");
            }
        }
    }
}

struct Worker {
    store: Store,
    planner: Planner,
    owner: String,
    stop: watch::Receiver<bool>,
    pulse: Arc<Pulse>,
}

/// How a solve ended, seen from the worker.
enum Ending {
    Done(search::Outcome),
    Cancelled,
    LostLease,
    ShuttingDown,
    Crashed(String),
}

impl Worker {
    fn config(&self) -> &WorkerConfig {
        &self.planner.inner.config
    }

    fn lease_until(&self) -> i64 {
        let lease = i64::try_from(self.config().lease.as_millis()).unwrap_or(i64::MAX / 2);
        epoch_ms(Utc::now()).saturating_add(lease)
    }

    async fn run(mut self) {
        tracing::debug!(owner = %self.owner, "planning worker started");
        let _running = Running(Arc::clone(&self.pulse));
        // A dropped pool (its sender gone) stops the workers too, instead of waking them forever.
        while !*self.stop.borrow() && self.stop.has_changed().is_ok() {
            self.pulse.beat();
            match self.store.claim_plan_job(&self.owner, Utc::now(), self.lease_until()).await {
                Ok(Some(job)) => {
                    let id = job.id;
                    if let Err(e) = self.run_job(job).await {
                        tracing::error!(job = id, error = %e, "planning job could not be recorded");
                    }
                }
                Ok(None) => self.idle().await,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim planning jobs");
                    self.idle().await;
                }
            }
        }
        tracing::debug!(owner = %self.owner, "planning worker stopped");
    }

    async fn idle(&mut self) {
        let poll = self.config().poll;
        let wake = self.planner.inner.wake.notified();
        tokio::select! {
            () = wake => {},
            () = tokio::time::sleep(poll) => {},
            _ = self.stop.changed() => {},
        }
    }

    async fn run_job(&mut self, job: ClaimedJob) -> Result<(), StoreError> {
        tracing::info!(job = job.id, attempt = job.attempts, owner = %self.owner, "planning job claimed");
        if job.cancel_requested {
            // Asked to cancel while its previous worker held it: no need to start again.
            self.store.finish_plan_job(job.id, &self.owner, &JobEnd::Cancelled, &[]).await?;
            return Ok(());
        }
        if job.attempts > self.config().max_attempts {
            let why = format!("gave up after {} attempts: the worker stopped each time", job.attempts - 1);
            self.store.finish_plan_job(job.id, &self.owner, &JobEnd::Failed(why), &[]).await?;
            return Ok(());
        }
        let inputs = match self.load(&job).await {
            Ok(inputs) => inputs,
            Err(e) => {
                self.store.finish_plan_job(job.id, &self.owner, &JobEnd::Failed(e), &[]).await?;
                return Ok(());
            }
        };
        let travel = Arc::clone(&self.planner.inner.travel);
        // Building matrices is CPU work too: off the executor.
        let model = match tokio::task::spawn_blocking(move || DayModel::build(inputs, travel.as_ref())).await {
            Ok(Ok(Day::Solvable(model))) => Arc::new(*model),
            Ok(Ok(Day::Unservable(result))) => {
                let end = JobEnd::Succeeded { result: Box::new(result), problem: None, model: None, planned: vec![] };
                self.store.finish_plan_job(job.id, &self.owner, &end, &[]).await?;
                return Ok(());
            }
            Ok(Err(e)) => {
                self.store.finish_plan_job(job.id, &self.owner, &JobEnd::Failed(e), &[]).await?;
                return Ok(());
            }
            Err(e) => {
                let why = format!("building the day stopped unexpectedly: {e}");
                self.store.finish_plan_job(job.id, &self.owner, &JobEnd::Failed(why), &[]).await?;
                return Ok(());
            }
        };
        let progress: Arc<Mutex<Vec<ProgressPoint>>> = Arc::new(Mutex::new(Vec::new()));
        let solve_started = std::time::Instant::now();
        let ending = self.solve(&job, Arc::clone(&model), Arc::clone(&progress)).await;
        if let (Some(m), Ending::Done(outcome)) = (self.planner.inner.metrics.get(), &ending) {
            m.add_solver_iterations(outcome.iterations);
        }
        let points = progress.lock().map(|p| p.clone()).unwrap_or_default();
        let end = match ending {
            Ending::Done(outcome) => {
                let result = model.render(&outcome);
                let planned = result.routes.iter().flat_map(|r| r.trips.iter().flat_map(|t| t.stops.iter().map(|s| s.order_id))).collect();
                let live = model.live_model(&job.request).to_stored_json().map_err(|e| StoreError::Corrupt { column: "model", source: e })?;
                JobEnd::Succeeded { result: Box::new(result), problem: Some(model.doc.to_pretty_json()), model: Some(live), planned }
            }
            Ending::Cancelled => JobEnd::Cancelled,
            Ending::Crashed(why) => JobEnd::Failed(why),
            Ending::LostLease => {
                tracing::warn!(job = job.id, "lease lost to another worker; result dropped");
                return Ok(());
            }
            Ending::ShuttingDown => {
                self.store.requeue_plan_job(job.id, &self.owner).await?;
                tracing::info!(job = job.id, "planning job given back to the queue");
                return Ok(());
            }
        };
        let status = match &end {
            JobEnd::Succeeded { .. } => JobStatus::Succeeded,
            JobEnd::Cancelled => JobStatus::Cancelled,
            JobEnd::Failed(_) => JobStatus::Failed,
        };
        if self.store.finish_plan_job(job.id, &self.owner, &end, &points).await? {
            tracing::info!(job = job.id, status = status.as_str(), "planning job finished");
            if let Some(m) = self.planner.inner.metrics.get() {
                m.observe_job(status.as_str(), solve_started.elapsed().as_secs_f64());
            }
        } else {
            tracing::warn!(job = job.id, "lease lost before the result was written; result dropped");
        }
        Ok(())
    }

    /// Reads the job's orders (still received), their customers, the depots and the fleet.
    async fn load(&self, job: &ClaimedJob) -> Result<DayInputs, String> {
        let err = |e: StoreError| format!("cannot read the day: {e}");
        let filter = OrderFilter { plan_id: Some(job.id), status: Some(OrderStatus::Received), ..OrderFilter::default() };
        let orders = self.store.list_orders(&filter, PageRequest { limit: 1_000_000, offset: 0 }).await.map_err(err)?.items;
        let mut stops = Vec::with_capacity(orders.len());
        for order in orders {
            let customer = self.store.get_customer(order.data.customer_id).await.map_err(err)?;
            stops.push(OrderStop { order, customer });
        }
        if stops.is_empty() {
            return Err("every order of this plan was cancelled".to_owned());
        }
        let mut depots = Vec::new();
        for &id in &job.request.depot_ids {
            depots.push(self.store.get_depot(id).await.map_err(err)?);
        }
        let vehicles = self.store.list_vehicles(PageRequest { limit: 1_000_000, offset: 0 }).await.map_err(err)?.items;
        let mut fleet = Vec::new();
        for vehicle in vehicles.into_iter().filter(|v| v.data.active && job.request.depot_ids.contains(&v.data.depot_id)) {
            let vehicle_type = self.store.get_vehicle_type(vehicle.data.vehicle_type_id).await.map_err(err)?;
            fleet.push(Fleet { vehicle, vehicle_type });
        }
        if fleet.is_empty() {
            return Err("none of the plan's depots has an active vehicle any more".to_owned());
        }
        Ok(DayInputs { request: job.request.clone(), orders: stops, depots, fleet })
    }

    /// Runs the solver on a blocking thread while renewing the lease and watching for cancel
    /// requests and shutdown.
    async fn solve(&mut self, job: &ClaimedJob, model: Arc<DayModel>, progress: Arc<Mutex<Vec<ProgressPoint>>>) -> Ending {
        let cancel = Arc::new(AtomicBool::new(false));
        let sink = Arc::clone(&progress);
        let env = Environment {
            seed: job.request.options.seed,
            threads: self.config().solver_threads,
            time_limit: Some(Duration::from_secs_f64(job.request.options.time_limit_s)),
            cancel: Arc::clone(&cancel),
            progress: Some(Arc::new(move |p: search::Progress| {
                let point = ProgressPoint {
                    elapsed_s: p.elapsed.as_secs_f64(),
                    iterations: p.iterations,
                    best_cost_ntd: cost_to_ntd(p.best_cost),
                    feasible: p.feasible,
                };
                if let Ok(mut points) = sink.lock() {
                    if points.len() >= MAX_PROGRESS_POINTS {
                        points.pop();
                    }
                    points.push(point);
                }
            })),
            ..Environment::default()
        };
        let mut handle = tokio::task::spawn_blocking(move || search::solve(&model.problem, &env));
        let mut tick = tokio::time::interval(self.config().heartbeat());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut why_stopped: Option<Ending> = None;
        loop {
            tokio::select! {
                joined = &mut handle => {
                    return match (why_stopped, joined) {
                        (Some(ending), _) => ending,
                        (None, Ok(outcome)) => Ending::Done(outcome),
                        (None, Err(e)) => Ending::Crashed(format!("the solver stopped unexpectedly: {e}")),
                    };
                }
                _ = tick.tick() => {
                    self.pulse.beat();
                    let points = progress.lock().map(|p| p.clone()).unwrap_or_default();
                    match self.store.renew_plan_lease(job.id, &self.owner, self.lease_until(), &points).await {
                        Ok(Some(false)) => {}
                        Ok(Some(true)) => {
                            why_stopped.get_or_insert(Ending::Cancelled);
                            cancel.store(true, Ordering::Relaxed);
                        }
                        Ok(None) => {
                            why_stopped = Some(Ending::LostLease);
                            cancel.store(true, Ordering::Relaxed);
                        }
                        // Keep searching: the next renewal may work, and if the lease expires
                        // meanwhile the next one reports it lost.
                        Err(e) => tracing::warn!(job = job.id, error = %e, "cannot renew the lease"),
                    }
                }
                _ = self.stop.changed(), if why_stopped.is_none() => {
                    why_stopped = Some(Ending::ShuttingDown);
                    cancel.store(true, Ordering::Relaxed);
                }
            }
        }
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
