//! The job loop: a pool of workers that claim planning jobs from the store's queue, hold a
//! lease while the solver runs on a blocking thread, report progress, honour cancellation, and
//! write the plan. What a job plans (the day model, its rendering, replanning) lives in
//! [`crate::planning`]; this module only runs jobs.
//!
//! Each worker loops: claim a job (queued, or running with an expired lease: its worker died),
//! load the day, build the solver's problem ([`crate::planning::day`]), run `solver::search::solve` in
//! `spawn_blocking`, and meanwhile renew the lease and store progress every
//! [`WorkerConfig::heartbeat`]. A cancel request seen at renewal sets the solver's cancel flag; a
//! lost lease (another worker took over) stops the solver and drops its result; shutting down
//! gives the job back to the queue. A job claimed more than [`WorkerConfig::max_attempts`] times
//! fails instead of crashing workers forever.

pub use crate::planning::{Planner, WorkerConfig};

use crate::domain::{JobStatus, OrderStatus, ProgressPoint};
use crate::planning::day::{Day, DayInputs, DayModel, Fleet, OrderStop};
use crate::store::plans::epoch_ms;
use crate::store::{ClaimedJob, JobEnd, OrderFilter, PageRequest, Store, StoreError};
use chrono::Utc;
use solver::io::json::cost_to_ntd;
use solver::search::{self, Environment};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// At most this many progress points are kept per attempt (later improvements replace the last).
const MAX_PROGRESS_POINTS: usize = 500;

/// Starts the configured number of workers of `planner` on `store`.
pub fn spawn(planner: &Planner, store: &Store) -> WorkerPool {
    let (stop, stopped) = watch::channel(false);
    let process = uuid::Uuid::new_v4().simple().to_string();
    let mut handles = Vec::new();
    let mut pulses = Vec::new();
    for i in 0..planner.config().workers {
        let pulse = Arc::new(Pulse::new());
        let worker =
            Worker { store: store.clone(), planner: planner.clone(), owner: format!("{process}-{i}"), stop: stopped.clone(), pulse: Arc::clone(&pulse) };
        handles.push(tokio::spawn(worker.run()));
        pulses.push(pulse);
    }
    WorkerPool { stop, handles, pulses, stale_after: planner.config().stale_after() }
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
        self.planner.config()
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
        let wake = self.planner.woken();
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
        let travel = self.planner.travel();
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
        if let (Some(m), Ending::Done(outcome)) = (self.planner.metrics(), &ending) {
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
            if let Some(m) = self.planner.metrics() {
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
