//! The plan of a day as one history: a planning job's plan is version 1, and every change of the
//! day after it (dispatchers' events, an order's status changed through the orders API, a
//! restored version) is a new version made by [`replan`] or [`restore`]. Whatever serves a plan
//! (the job, its GeoJSON, a driver's routes, what a driver may report on) reads it through
//! [`latest_version`] or [`version`], so they all follow the newest version.
//!
//! The service takes the store and the planner and answers typed errors ([`PlanningError`]);
//! the HTTP handlers only parse, authorise and render. Its rooms: [`day`] (a day's orders and
//! fleet as the solver's problem, and the job's plan rendered), [`replan`] (the serialisable day
//! model with its own id maps, `LiveModel`, and replanning on it), [`Planner`] (what handlers and
//! workers share). The job loop that runs planning jobs is [`crate::worker`].

use crate::domain::replan::{clock_text, Event, EventBatch, EventsInput, Execution, PlanDiff, PlanVersion};
use crate::domain::{FieldError, FieldProblem, JobStatus, OrderStatus, PlanJob, PlanRequest, PlanResult};
use crate::planning::day::OrderStop;
use crate::planning::replan::{replan_version, Base, Candidate, LiveModel, VersionModel};
use crate::store::{NewVersion, OrderChange, Store, StoreError};
use chrono::{NaiveDate, Utc};
use solver::io::json::JsonProblem;

pub mod day;
pub mod parts;
mod planner;
pub mod replan;
pub mod sample;
pub mod solver_input;

pub use planner::{Planner, WorkerConfig, DEFAULT_MAX_ORDERS};
use std::collections::HashMap;
use std::sync::Arc;

/// Taiwan's offset from UTC (no daylight saving time).
const TAIPEI_OFFSET_S: i64 = 8 * 3600;

/// The date and time of day (seconds since midnight) in Taiwan now.
pub fn taipei_now() -> (NaiveDate, i64) {
    let local = Utc::now().naive_utc() + chrono::Duration::seconds(TAIPEI_OFFSET_S);
    (local.date(), i64::from(chrono::Timelike::num_seconds_from_midnight(&local.time())))
}

/// The time of day in Taiwan when `date` is today there.
pub fn now_on(date: NaiveDate) -> Option<i64> {
    let (today, now) = taipei_now();
    (today == date).then_some(now)
}

/// Why the planning service refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanningError {
    /// No such plan (or version, or order).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The job has no plan (yet).
    #[error("the plan is {status}")]
    NotReady {
        /// The job's status.
        status: &'static str,
    },
    /// The request's fields or events are invalid, each named.
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    /// The request was based on a version that is no longer the newest.
    #[error("version conflict, latest is {latest}")]
    VersionConflict {
        /// The newest version.
        latest: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not fail did.
    #[error("{0}")]
    Internal(String),
}

fn internal(e: impl std::fmt::Display) -> PlanningError {
    PlanningError::Internal(e.to_string())
}

/// A store error, with "not found" naming `resource`.
fn from_store(resource: &'static str) -> impl Fn(StoreError) -> PlanningError {
    move |e| match e {
        StoreError::NotFound => PlanningError::NotFound(resource),
        e => PlanningError::Store(e),
    }
}

/// The succeeded job's plan.
pub fn planned(job: &PlanJob) -> Result<&PlanResult, PlanningError> {
    match (job.status, job.result.as_ref()) {
        (JobStatus::Succeeded, Some(r)) => Ok(r),
        (status, _) => Err(PlanningError::NotReady { status: status.as_str() }),
    }
}

/// Version 1: the job's own plan.
pub fn first_version(job: &PlanJob, plan: &PlanResult) -> PlanVersion {
    PlanVersion {
        plan_id: job.id,
        version: 1,
        based_on: None,
        at: None,
        events: Vec::new(),
        execution: Execution::default(),
        diff: PlanDiff::default(),
        plan: plan.clone(),
        created_by: "planner".into(),
        created_at: job.finished_at.unwrap_or(job.updated_at),
    }
}

fn request_of(job: &PlanJob) -> PlanRequest {
    PlanRequest { date: job.date, depot_ids: job.depot_ids.clone(), options: job.options.clone() }
}

/// A plan's job (with its first plan).
pub async fn job(store: &Store, plan_id: i64) -> Result<PlanJob, PlanningError> {
    store.get_plan_job(plan_id).await.map_err(from_store("plan"))
}

/// Names each route's driver on the plan's day, as the assignments are now.
pub async fn with_drivers(store: &Store, date: NaiveDate, mut v: PlanVersion) -> Result<PlanVersion, PlanningError> {
    let drivers = store.drivers_on(date).await?;
    for r in &mut v.plan.routes {
        let d = drivers.get(&r.vehicle_id);
        r.driver_id = d.map(|d| d.0);
        r.driver_name = d.map(|d| d.1.clone());
    }
    Ok(v)
}

/// The newest version of a plan (the job's plan when it was never replanned).
pub async fn latest_version(store: &Store, job: &PlanJob) -> Result<PlanVersion, PlanningError> {
    let plan = planned(job)?;
    let v = match store.latest_plan_version(job.id).await? {
        Some((v, _)) => v,
        None => first_version(job, plan),
    };
    with_drivers(store, job.date, v).await
}

/// Version `n` of a plan, or the newest for `None`.
pub async fn version(store: &Store, job: &PlanJob, n: Option<i64>) -> Result<PlanVersion, PlanningError> {
    let Some(n) = n else { return latest_version(store, job).await };
    if job.status != JobStatus::Succeeded {
        return Err(PlanningError::NotReady { status: job.status.as_str() });
    }
    match store.plan_version(job.id, n).await {
        Ok(found) => with_drivers(store, job.date, found).await,
        Err(StoreError::NotFound) if n == 1 => with_drivers(store, job.date, first_version(job, planned(job)?)).await,
        Err(StoreError::NotFound) => Err(PlanningError::NotFound("plan version")),
        Err(e) => Err(e.into()),
    }
}

/// The model of `version`, from the cache, the stored versions, or (for the first version) the
/// job's day model: built whole, or split for a big day of several depots.
async fn model_of(store: &Store, planner: &Planner, job: &PlanJob, version: i64) -> Result<Arc<VersionModel>, PlanningError> {
    if let Some(c) = planner.models().get((job.id, version)) {
        return Ok(c);
    }
    let text = match store.plan_version_model(job.id, version).await? {
        Some(text) => text,
        // The job's own day model, kept when it finished.
        None => match store.plan_job_model(job.id).await.map_err(from_store("plan"))? {
            Some(text) => text,
            // A day none of whose orders any vehicle could serve never reached the solver (and
            // plans made before day models were kept cannot be replanned).
            None => {
                let problem =
                    FieldProblem::State {
                        code: "not_replannable", zh: "此排程沒有可重新排程的路線", en: "no vehicle could serve any order of this plan"
                    };
                return Err(PlanningError::Invalid(vec![FieldError::new("plan", problem)]));
            }
        },
    };
    let travel = planner.travel();
    let model = tokio::task::spawn_blocking(move || LiveModel::parse(&text).and_then(|m| VersionModel::of(m, travel.as_ref())))
        .await
        .map_err(internal)?
        .map_err(PlanningError::Internal)?;
    let model = Arc::new(model);
    planner.models().put((job.id, version), Arc::clone(&model));
    Ok(model)
}

/// The solver input of version `n` of a plan (the newest for `None`), without travel matrices
/// (see [`solver_input`] for the download that computes them): the newest model stored with a
/// version up to `n`, else the job's day model, else (a job from before day models were kept,
/// migration 0014) its stored input. `None` when the day never reached the solver.
pub async fn solver_doc(store: &Store, job: &PlanJob, n: Option<i64>) -> Result<Option<JsonProblem>, PlanningError> {
    planned(job)?;
    let n = match n {
        Some(n) => {
            version(store, job, Some(n)).await?;
            n
        }
        None => store.latest_plan_version_number(job.id).await?.max(1),
    };
    let (text, legacy) = match store.plan_version_model(job.id, n).await? {
        Some(text) => (Some(text), false),
        None => match store.plan_job_model(job.id).await.map_err(from_store("plan"))? {
            Some(text) => (Some(text), false),
            None => (store.plan_job_problem(job.id).await.map_err(from_store("plan"))?, true),
        },
    };
    let Some(text) = text else { return Ok(None) };
    // A big day's model is megabytes of JSON: parsed off the executor.
    let doc = tokio::task::spawn_blocking(move || {
        if legacy {
            serde_json::from_str::<JsonProblem>(&text).map_err(|e| format!("stored solver input: {e}"))
        } else {
            LiveModel::parse(&text).map(|m| m.doc)
        }
    })
    .await
    .map_err(internal)?
    .map_err(PlanningError::Internal)?;
    Ok(Some(doc))
}

/// Whether a replan is kept or only shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Store the new version and change the orders' statuses.
    Commit,
    /// Compute the new version and its diff; store nothing.
    Preview,
}

/// A succeeded job, without its first plan once the plan has stored versions (a succeeded job
/// never changes, so once read it is cached), and the number of the newest stored version (0
/// when never replanned).
async fn job_head(store: &Store, planner: &Planner, plan_id: i64) -> Result<(Arc<PlanJob>, i64), PlanningError> {
    let stored = store.latest_plan_version_number(plan_id).await?;
    let job = match planner.models().job(plan_id) {
        Some(job) if stored > 0 => job,
        _ => {
            let job = if stored == 0 { store.get_plan_job(plan_id).await } else { store.get_plan_job_head(plan_id).await };
            let job = Arc::new(job.map_err(from_store("plan"))?);
            if stored > 0 && job.status == JobStatus::Succeeded {
                planner.models().put_job(Arc::clone(&job));
            }
            job
        }
    };
    if job.status != JobStatus::Succeeded {
        return Err(PlanningError::NotReady { status: job.status.as_str() });
    }
    Ok((job, stored))
}

/// The base of a replan: the newest version with its time, from the cache or the store.
async fn newest(store: &Store, planner: &Planner, job: &PlanJob, latest_no: i64) -> Result<Arc<(PlanVersion, Option<i64>)>, PlanningError> {
    Ok(match planner.models().version((job.id, latest_no)) {
        Some(cached) => cached,
        // A replan stored in between is caught when this one is written.
        None => match store.latest_plan_version(job.id).await? {
            Some(found) => Arc::new(found),
            None => Arc::new((first_version(job, planned(job)?), None)),
        },
    })
}

/// A version made: stored (and announced) unless it is a preview.
pub type Made = Arc<(PlanVersion, Option<i64>)>;

/// Replans plan `plan_id` from `input` (events based on a version), as `who`: checks the
/// events, searches, and (in [`Mode::Commit`]) stores the new version and the order changes
/// in one transaction.
pub async fn replan(store: &Store, planner: &Planner, plan_id: i64, input: EventsInput, who: &str, mode: Mode) -> Result<Made, PlanningError> {
    let (job, stored) = job_head(store, planner, plan_id).await?;
    let batch = input.validate(now_on(job.date)).map_err(PlanningError::Invalid)?;
    replan_batch(store, planner, &job, stored, batch, who, mode).await
}

/// [`replan`] of a validated batch.
async fn replan_batch(store: &Store, planner: &Planner, job: &PlanJob, stored: i64, batch: EventBatch, who: &str, mode: Mode) -> Result<Made, PlanningError> {
    let plan_id = job.id;
    let latest_no = stored.max(1);
    if batch.base_version != latest_no {
        return Err(PlanningError::VersionConflict { latest: latest_no });
    }
    let base = newest(store, planner, job, latest_no).await?;
    let model = model_of(store, planner, job, latest_no).await?;
    let mut candidates = HashMap::new();
    for e in &batch.events {
        if let Event::OrderAdded { order_id } = e {
            match store.get_order(*order_id).await {
                Ok(order) => {
                    let customer = store.get_customer(order.data.customer_id).await?;
                    let held_by = order.plan_id;
                    candidates.insert(*order_id, Candidate { stop: OrderStop { order, customer }, held_by });
                }
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let request = request_of(job);
    let travel = planner.travel();
    let base_model = Arc::clone(&model);
    let shared = Arc::clone(&base);
    let made = tokio::task::spawn_blocking(move || {
        let (plan, execution, at_s) = (&shared.0.plan, &shared.0.execution, shared.1);
        let made = match &*base_model {
            VersionModel::Built(compiled) => {
                let base = Base { version: latest_no, compiled, plan, execution, at_s, request: &request };
                replan_version(plan_id, &base, &batch, &candidates, travel.as_ref()).map(|made| {
                    made.map(|mut r| {
                        let model = r.model.take().map(|c| Arc::new(VersionModel::Built(c)));
                        (r, model)
                    })
                })
            }
            VersionModel::Split(whole) => {
                // Only the parts the events touch are built.
                let base = parts::DayBase { version: latest_no, plan, execution, at_s, request: &request };
                parts::replan_parts(plan_id, whole, &base, &batch, &candidates, travel.as_ref())
                    .map(|made| made.map(|(r, model)| (r, model.map(|m| Arc::new(VersionModel::Split(Box::new(m)))))))
            }
        };
        made.map(|m| m.map(|r| (r, batch)))
    })
    .await
    .map_err(internal)?;
    let ((made, new_model), batch) = made.map_err(PlanningError::Internal)?.map_err(PlanningError::Invalid)?;

    let next = latest_no + 1;
    let version = PlanVersion {
        plan_id,
        version: next,
        based_on: Some(latest_no),
        at: Some(clock_text(batch.at_s)),
        events: batch.events.clone(),
        execution: made.execution,
        diff: made.diff,
        plan: made.plan,
        created_by: who.to_owned(),
        // Microseconds: what PostgreSQL keeps, so the answer equals what is read back.
        created_at: chrono::SubsecRound::trunc_subsecs(Utc::now(), 6),
    };
    let made_version = Arc::new((version, Some(batch.at_s)));
    if mode == Mode::Preview {
        return Ok(made_version);
    }
    // The first version is stored with the first replan.
    let first = if stored == 0 {
        let model = model.live().to_stored_json().map_err(internal)?;
        Some(NewVersion { version: &base.0, at_s: None, model: Some(model) })
    } else {
        None
    };
    let model_text = new_model.as_ref().map(|m| m.live().to_stored_json()).transpose().map_err(internal)?;
    let row = NewVersion { version: &made_version.0, at_s: Some(batch.at_s), model: model_text };
    store_version(store, plan_id, first.as_ref(), &row, &made.changes).await?;
    planner.models().put((plan_id, next), new_model.unwrap_or(model));
    planner.models().put_version((plan_id, next), Arc::clone(&made_version));
    planner.version_made(plan_id, next);
    Ok(made_version)
}

async fn store_version(
    store: &Store,
    plan_id: i64,
    first: Option<&NewVersion<'_>>,
    row: &NewVersion<'_>,
    changes: &[(Option<usize>, OrderChange)],
) -> Result<(), PlanningError> {
    match store.insert_plan_version(first, row, changes).await {
        Ok(()) => Ok(()),
        Err(StoreError::VersionConflict) => Err(PlanningError::VersionConflict { latest: store.latest_plan_version_number(plan_id).await?.max(1) }),
        Err(StoreError::Invalid(errors)) => Err(PlanningError::Invalid(errors)),
        Err(e) => Err(e.into()),
    }
}

/// Stops `(vehicle, order, failed, in progress)`, cancelled orders, `(vehicle, unavailable from)`.
type Irreversible = (Vec<(i64, i64, bool, bool)>, Vec<i64>, Vec<(i64, i64)>);

/// What of a day's execution can never be undone: the stops served, attempted or being
/// served, the orders cancelled and the vehicles out of service.
fn irreversible(e: &Execution) -> Irreversible {
    let mut stops: Vec<(i64, i64, bool, bool)> =
        e.vehicles.iter().flat_map(|(v, x)| x.executed.iter().map(move |s| (*v, s.order_id, s.failed, s.in_progress))).collect();
    stops.sort_unstable();
    let mut cancelled = e.cancelled.clone();
    cancelled.sort_unstable();
    let unavailable = e.vehicles.iter().filter_map(|(v, x)| x.unavailable_from_s.map(|u| (*v, u))).collect();
    (stops, cancelled, unavailable)
}

/// Undo: a new version with version `n`'s routes and model, based on the newest version
/// `base_version`. Refused when stops were served, attempted or cancelled, or a vehicle went
/// out of service, since version `n`: what happened cannot be undone. Orders go back to what
/// version `n` made of them (on a route: `planned`; off every route: `received`).
pub async fn restore(store: &Store, planner: &Planner, plan_id: i64, n: i64, base_version: i64, who: &str) -> Result<Made, PlanningError> {
    let (job, stored) = job_head(store, planner, plan_id).await?;
    let latest_no = stored.max(1);
    if base_version != latest_no {
        return Err(PlanningError::VersionConflict { latest: latest_no });
    }
    if n >= latest_no {
        let problem = FieldProblem::State {
            code: "not_older", zh: "只能還原比最新版本更早的版本", en: "only a version older than the newest can be restored"
        };
        return Err(PlanningError::Invalid(vec![FieldError::new("version", problem)]));
    }
    // Once replanned, version 1 is stored like the others: the job's head is enough.
    let job_with_plan = &*job;
    let target = version(store, job_with_plan, Some(n)).await?;
    let base = newest(store, planner, &job, latest_no).await?;
    if irreversible(&target.execution) != irreversible(&base.0.execution) {
        let problem = FieldProblem::State {
            code: "executed_since",
            zh: "此版本之後已有配送完成、失敗、取消或車輛停駛，無法還原",
            en: "stops were served, attempted or cancelled, or a vehicle went out of service, since this version",
        };
        return Err(PlanningError::Invalid(vec![FieldError::new("version", problem)]));
    }
    let model = model_of(store, planner, job_with_plan, n).await?;
    let before = crate::planning::replan::stops_of(&base.0.plan);
    let after = crate::planning::replan::stops_of(&target.plan);
    let diff = crate::planning::replan::diff(&before, &after, &target.plan, &[]);
    let mut changes = Vec::new();
    crate::planning::replan::route_changes(&before, &after, &mut changes);
    let next = latest_no + 1;
    let at_s = base.1;
    let version = PlanVersion {
        plan_id,
        version: next,
        based_on: Some(latest_no),
        at: at_s.map(clock_text),
        events: Vec::new(),
        // Its irreversible part is the newest version's (checked above); delays and positions
        // are undone with the routes.
        execution: target.execution,
        diff,
        plan: target.plan,
        created_by: who.to_owned(),
        created_at: chrono::SubsecRound::trunc_subsecs(Utc::now(), 6),
    };
    let made_version = Arc::new((version, at_s));
    // Never replanned (`stored` 0) means version 1 is the newest, and nothing older exists.
    let row = NewVersion { version: &made_version.0, at_s, model: Some(model.live().to_stored_json().map_err(internal)?) };
    store_version(store, plan_id, None, &row, &changes).await?;
    planner.models().put((plan_id, next), model);
    planner.models().put_version((plan_id, next), Arc::clone(&made_version));
    planner.version_made(plan_id, next);
    Ok(made_version)
}

/// An order's status change through the orders API, made an event on the plan that holds the
/// order when that plan has routes: `delivered` is a `stop_done`, `failed` a `stop_failed`,
/// `cancelled` an `order_cancelled`, at `at_s` (default: now when the plan's day is today;
/// for a cancellation on a day still to come, the plan's last time or its shift start). Other
/// changes, and orders in no plan with routes, are plain status changes (`Ok(None)`).
/// Another replan made meanwhile is not a conflict for the caller: the event is based on the
/// newest version again.
pub async fn order_status_event(
    store: &Store,
    planner: &Planner,
    order_id: i64,
    status: OrderStatus,
    at_s: Option<i64>,
    note: Option<String>,
    who: &str,
) -> Result<Option<Made>, PlanningError> {
    let order = store.get_order(order_id).await.map_err(from_store("order"))?;
    let Some(plan_id) = order.plan_id else { return Ok(None) };
    if !matches!(status, OrderStatus::Delivered | OrderStatus::Failed | OrderStatus::Cancelled) {
        return Ok(None);
    }
    if !order.status.can_become(status) {
        return Err(PlanningError::Store(StoreError::InvalidTransition { from: order.status, to: status }));
    }
    stop_report(store, planner, plan_id, order_id, Some(status), at_s, note, who).await
}

/// A driver got to an order's stop (`POST /v1/orders/{id}/arrival`): a `stop_arrived` event on
/// the plan that routes it, at `at_s` (default now when the plan's day is today). The stop is
/// then served, in progress, until it is reported delivered or failed.
pub async fn stop_arrived(store: &Store, planner: &Planner, order_id: i64, at_s: Option<i64>, who: &str) -> Result<Made, PlanningError> {
    let order = store.get_order(order_id).await.map_err(from_store("order"))?;
    let not_routed = || {
        let problem = FieldProblem::State { code: "not_routed", zh: "訂單不在任何排程的路線上", en: "the order is on no route of a plan" };
        PlanningError::Invalid(vec![FieldError::new("order_id", problem)])
    };
    let Some(plan_id) = order.plan_id else { return Err(not_routed()) };
    match stop_report(store, planner, plan_id, order_id, None, at_s, None, who).await? {
        Some(made) => Ok(made),
        None => Err(not_routed()),
    }
}

/// A report on a stop made an event on its plan: `status` delivered, failed or cancelled, or
/// `None` for an arrival.
#[allow(clippy::too_many_arguments)]
async fn stop_report(
    store: &Store,
    planner: &Planner,
    plan_id: i64,
    order_id: i64,
    status: Option<OrderStatus>,
    at_s: Option<i64>,
    note: Option<String>,
    who: &str,
) -> Result<Option<Made>, PlanningError> {
    for _ in 0..3 {
        let (job, stored) = match job_head(store, planner, plan_id).await {
            Ok(x) => x,
            // A job still searching holds the order as `received`: a plain change.
            Err(PlanningError::NotReady { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let latest_no = stored.max(1);
        let base = newest(store, planner, &job, latest_no).await?;
        let on_route = base.0.plan.routes.iter().flat_map(|r| r.trips.iter().flat_map(|t| t.stops.iter())).any(|s| s.order_id == order_id);
        let in_model = model_of(store, planner, &job, latest_no).await?.has_client(order_id);
        let event = match status {
            None | Some(OrderStatus::Delivered | OrderStatus::Failed) if !on_route => {
                let problem =
                    FieldProblem::State { code: "not_routed", zh: "訂單不在此排程的任何路線上", en: "the order is on no route of its plan" };
                return Err(PlanningError::Invalid(vec![FieldError::new(if status.is_none() { "order_id" } else { "status" }, problem)]));
            }
            None => "stop_arrived",
            Some(OrderStatus::Delivered) => "stop_done",
            Some(OrderStatus::Failed) => "stop_failed",
            // An order no vehicle could serve never joined the model: a plain change.
            _ if !in_model => return Ok(None),
            _ => "order_cancelled",
        };
        let today = now_on(job.date);
        let base_at = base.1;
        let (today_date, _) = taipei_now();
        let at = match (at_s, today) {
            (Some(t), _) => t.max(base_at.unwrap_or(0)),
            (None, Some(now)) => now.max(base_at.unwrap_or(0)),
            (None, None) if event == "order_cancelled" && job.date > today_date => {
                base_at.unwrap_or_else(|| crate::domain::customer::minutes(&job.options.shift_start).map_or(0, |m| i64::from(m) * 60))
            }
            (None, None) => return Err(PlanningError::Invalid(vec![FieldError::new("at", FieldProblem::Required)])),
        };
        let stop_at = at_s.map(clock_text);
        let input = EventsInput {
            base_version: Some(latest_no),
            at: Some(clock_text(at)),
            events: vec![crate::domain::replan::EventInput {
                kind: event.into(),
                order_id: Some(order_id),
                at: if event == "order_cancelled" { None } else { stop_at },
                note: note.clone(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let batch = input.validate(today).map_err(PlanningError::Invalid)?;
        match replan_batch(store, planner, &job, stored, batch, who, Mode::Commit).await {
            Err(PlanningError::VersionConflict { .. }) => continue,
            Err(PlanningError::Invalid(errors)) => {
                // Named by the status change's own fields.
                let errors = errors
                    .into_iter()
                    .map(|mut e| {
                        e.field = if e.field.ends_with(".at") || e.field == "at" {
                            "at".into()
                        } else if status.is_none() {
                            "order_id".into()
                        } else {
                            "status".into()
                        };
                        e
                    })
                    .collect();
                return Err(PlanningError::Invalid(errors));
            }
            other => return other.map(Some),
        }
    }
    Err(PlanningError::VersionConflict { latest: store.latest_plan_version_number(plan_id).await?.max(1) })
}
