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
//! gives the job back to the queue without counting the attempt (a restart is no failure). A job claimed more than [`WorkerConfig::max_attempts`] times
//! fails instead of crashing workers forever.

pub use crate::planning::{Planner, WorkerConfig};

use crate::domain::{JobStatus, OrderStatus, ProgressPoint};
use crate::jobs::runner::{self, Lane};
use crate::planning::day::{Day, DayInputs, DayModel, DayOutcome, Fleet, OrderStop};
use crate::store::plans::epoch_ms;
use crate::store::{ClaimedJob, JobEnd, OrderFilter, PageRequest, Store, StoreError};
use chrono::Utc;
use solver::io::json::cost_to_ntd;
use solver::search::{self, Environment};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// At most this many progress points are kept per attempt (later improvements replace the last).
const MAX_PROGRESS_POINTS: usize = 500;

/// Starts the configured number of planning workers of `planner` on `store`.
pub fn spawn(planner: &Planner, store: &Store) -> WorkerPool {
    let work = Worker { store: store.clone(), planner: planner.clone() };
    runner::spawn("planner", work, planner.config().workers, planner.config().stale_after())
}

/// Running planning workers (the shared runner's pool).
pub type WorkerPool = runner::Pool;

/// Planning jobs, as work of the shared runner.
#[derive(Clone)]
struct Worker {
    store: Store,
    planner: Planner,
}

impl runner::Work for Worker {
    async fn run_one(&self, lane: &mut Lane) -> Result<bool, String> {
        match self.store.claim_plan_job(&lane.owner, Utc::now(), self.lease_until()).await {
            Ok(Some(job)) => {
                let id = job.id;
                if let Err(e) = self.run_job(job, lane).await {
                    tracing::error!(job = id, error = %e, "planning job could not be recorded");
                }
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(format!("cannot claim planning jobs: {e}")),
        }
    }

    fn woken(&self) -> impl std::future::Future<Output = ()> + Send {
        self.planner.woken()
    }

    fn poll(&self) -> Duration {
        self.config().poll
    }
}

/// How a solve ended, seen from the worker.
enum Ending {
    Done(DayOutcome),
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

    async fn run_job(&self, job: ClaimedJob, lane: &mut Lane) -> Result<(), StoreError> {
        tracing::info!(job = job.id, attempt = job.attempts, owner = %lane.owner, "planning job claimed");
        if job.cancel_requested {
            // Asked to cancel while its previous worker held it: no need to start again.
            self.store.finish_plan_job(job.id, &lane.owner, &JobEnd::Cancelled, &[]).await?;
            return Ok(());
        }
        if job.attempts > self.config().max_attempts {
            let why = format!("gave up after {} attempts: the worker stopped each time", job.attempts - 1);
            self.store.finish_plan_job(job.id, &lane.owner, &JobEnd::Failed(why), &[]).await?;
            return Ok(());
        }
        let inputs = match self.load(&job).await {
            Ok(inputs) => inputs,
            Err(e) => {
                self.store.finish_plan_job(job.id, &lane.owner, &JobEnd::Failed(e), &[]).await?;
                return Ok(());
            }
        };
        let travel = self.planner.travel();
        // Building matrices is CPU work too: off the executor.
        let model = match tokio::task::spawn_blocking(move || DayModel::build(inputs, travel.as_ref())).await {
            Ok(Ok(Day::Solvable(model))) => Arc::new(*model),
            Ok(Ok(Day::Unservable(result))) => {
                let end = JobEnd::Succeeded { result: Box::new(result), problem: None, model: None, planned: vec![] };
                self.store.finish_plan_job(job.id, &lane.owner, &end, &[]).await?;
                return Ok(());
            }
            Ok(Err(e)) => {
                self.store.finish_plan_job(job.id, &lane.owner, &JobEnd::Failed(e), &[]).await?;
                return Ok(());
            }
            Err(e) => {
                let why = format!("building the day stopped unexpectedly: {e}");
                self.store.finish_plan_job(job.id, &lane.owner, &JobEnd::Failed(why), &[]).await?;
                return Ok(());
            }
        };
        let progress: Arc<Mutex<Vec<ProgressPoint>>> = Arc::new(Mutex::new(Vec::new()));
        let solve_started = std::time::Instant::now();
        let ending = self.solve(&job, Arc::clone(&model), Arc::clone(&progress), lane).await;
        if let (Some(m), Ending::Done(outcome)) = (self.planner.metrics(), &ending) {
            m.add_solver_iterations(outcome.iterations);
        }
        let points = progress.lock().map(|p| p.clone()).unwrap_or_default();
        let end = match ending {
            Ending::Done(outcome) => {
                let result = model.render(&outcome);
                let planned = result.routes.iter().flat_map(|r| r.trips.iter().flat_map(|t| t.stops.iter().map(|s| s.order_id))).collect();
                // The day model holds the solver input without travel matrices: downloads
                // compute them again, so nothing stored grows with the square of the orders.
                let live = model.live_model().to_stored_json().map_err(|e| StoreError::Corrupt { column: "model", source: e })?;
                JobEnd::Succeeded { result: Box::new(result), problem: None, model: Some(live), planned }
            }
            Ending::Cancelled => JobEnd::Cancelled,
            Ending::Crashed(why) => JobEnd::Failed(why),
            Ending::LostLease => {
                tracing::warn!(job = job.id, "lease lost to another worker; result dropped");
                return Ok(());
            }
            Ending::ShuttingDown => {
                self.store.requeue_plan_job(job.id, &lane.owner).await?;
                tracing::info!(job = job.id, "planning job given back to the queue");
                return Ok(());
            }
        };
        let status = match &end {
            JobEnd::Succeeded { .. } => JobStatus::Succeeded,
            JobEnd::Cancelled => JobStatus::Cancelled,
            JobEnd::Failed(_) => JobStatus::Failed,
        };
        if self.store.finish_plan_job(job.id, &lane.owner, &end, &points).await? {
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
        let orders = self.store.list_orders(&filter, PageRequest::offset(1_000_000, 0)).await.map_err(err)?.items;
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
        let vehicles = self.store.list_vehicles(PageRequest::offset(1_000_000, 0)).await.map_err(err)?.items;
        let mut fleet = Vec::new();
        for vehicle in vehicles.into_iter().filter(|v| v.data.active && job.request.depot_ids.contains(&v.data.depot_id)) {
            let vehicle_type = self.store.get_vehicle_type(vehicle.data.vehicle_type_id).await.map_err(err)?;
            fleet.push(Fleet { vehicle, vehicle_type });
        }
        if fleet.is_empty() {
            return Err("none of the plan's depots has an active vehicle any more".to_owned());
        }
        Ok(DayInputs { request: job.request.clone(), orders: stops, depots, fleet, part_max_orders: self.config().part_max_orders })
    }

    /// Runs the solver on a blocking thread while renewing the lease and watching for cancel
    /// requests and shutdown.
    async fn solve(&self, job: &ClaimedJob, model: Arc<DayModel>, progress: Arc<Mutex<Vec<ProgressPoint>>>, lane: &mut Lane) -> Ending {
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
        let mut handle = tokio::task::spawn_blocking(move || model.solve(&env));
        let mut tick = tokio::time::interval(self.config().heartbeat());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut why_stopped: Option<Ending> = None;
        let mut stop = lane.stop_signal();
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
                    lane.beat();
                    let points = progress.lock().map(|p| p.clone()).unwrap_or_default();
                    match self.store.renew_plan_lease(job.id, &lane.owner, self.lease_until(), &points).await {
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
                _ = stop.changed(), if why_stopped.is_none() => {
                    why_stopped = Some(Ending::ShuttingDown);
                    cancel.store(true, Ordering::Relaxed);
                }
            }
        }
    }
}
