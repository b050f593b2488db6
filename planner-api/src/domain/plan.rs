//! Planning: a request to plan one delivery day from some depots ([`PlanRequestInput`], validated
//! into [`PlanRequest`]), the job that carries it out ([`PlanJob`], [`JobStatus`]), its progress
//! ([`ProgressPoint`]) and its result ([`PlanResult`]: routes per vehicle, unassigned orders).

use super::customer::minutes;
use super::order::parse_date;
use super::validation::{FieldError, FieldProblem};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Default search time of a plan, in seconds.
pub const DEFAULT_TIME_LIMIT_S: f64 = 10.0;
/// At most this many depots per plan.
pub const MAX_DEPOTS: usize = 50;

/// Options of a plan as sent by clients; every field has a default.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanOptionsInput {
    /// Search time in seconds.
    #[serde(default)]
    pub time_limit_s: Option<f64>,
    /// Cost in NT$ of using a vehicle for the day.
    #[serde(default)]
    pub fixed_cost_ntd: Option<f64>,
    /// Cost in NT$ per km driven.
    #[serde(default)]
    pub cost_per_km_ntd: Option<f64>,
    /// Cost in NT$ per hour on the road.
    #[serde(default)]
    pub cost_per_hour_ntd: Option<f64>,
    /// Cost in NT$ of leaving a normal order out.
    #[serde(default)]
    pub unserved_penalty_ntd: Option<f64>,
    /// Cost in NT$ of leaving an urgent order out.
    #[serde(default)]
    pub urgent_penalty_ntd: Option<f64>,
    /// Start of the vehicles' shift, `HH:MM`.
    #[serde(default)]
    pub shift_start: Option<String>,
    /// End of the vehicles' shift, `HH:MM`.
    #[serde(default)]
    pub shift_end: Option<String>,
    /// Most trips (depot reloads + 1) per vehicle.
    #[serde(default)]
    pub max_trips: Option<usize>,
    /// Seed of the search.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Most search iterations (per part of a day planned depot by depot), 1–1,000,000: with a
    /// seed, a plan that ends on this limit rather than on time is the same on every run.
    #[serde(default)]
    pub max_iterations: Option<u64>,
    /// A break every driver takes (lunch): `minutes` long, starting between `earliest` and
    /// `latest`, where the route is then (on the road or at a stop). None by default.
    #[serde(default)]
    pub driver_break: Option<DriverBreakInput>,
    /// Fair days: NT$ times the square of each route's hours, added to the plan's cost so that
    /// it evens out the drivers' days (a 6 h and a 2 h route cost 40 times it, two 4 h routes
    /// 32 times), 0–100,000. 0 by default: the days are as the other costs make them.
    #[serde(default)]
    pub fair_day_ntd_per_hour_squared: Option<f64>,
    /// Rush hours: bands of the day in which every road is driven at `speed_percent` % of its
    /// usual speed (1–99), in order of the day and not overlapping, at most 8. A leg is driven
    /// at the speed of each band it crosses. None by default: travel times hold all day.
    #[serde(default)]
    pub rush_hours: Option<Vec<RushHourInput>>,
}

/// A rush-hour band as sent by clients.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RushHourInput {
    /// Start, `HH:MM`.
    #[serde(default)]
    pub start: Option<String>,
    /// End, `HH:MM` (excluded).
    #[serde(default)]
    pub end: Option<String>,
    /// Speed in the band, in percent of the usual speed, 1–99.
    #[serde(default)]
    pub speed_percent: Option<u32>,
}

/// A validated rush-hour band.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RushHour {
    /// Start, `HH:MM`.
    pub start: String,
    /// End, `HH:MM`.
    pub end: String,
    /// Speed in percent of the usual one.
    pub speed_percent: u32,
}

/// Most rush-hour bands of a plan.
pub const MAX_RUSH_HOURS: usize = 8;

/// A driver break as sent by clients.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DriverBreakInput {
    /// Earliest start, `HH:MM`.
    #[serde(default)]
    pub earliest: Option<String>,
    /// Latest start, `HH:MM`.
    #[serde(default)]
    pub latest: Option<String>,
    /// Length in minutes, 1–240.
    #[serde(default)]
    pub minutes: Option<u32>,
}

/// A validated driver break.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DriverBreak {
    /// Earliest start, `HH:MM`.
    pub earliest: String,
    /// Latest start, `HH:MM`.
    pub latest: String,
    /// Length in minutes.
    pub minutes: u32,
}

/// A plan request as sent by clients.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequestInput {
    /// The delivery day, `YYYY-MM-DD`.
    #[serde(default)]
    pub date: String,
    /// Depots whose active vehicles may be used.
    #[serde(default)]
    pub depot_ids: Vec<i64>,
    /// Search options and objective weights.
    #[serde(default)]
    pub options: PlanOptionsInput,
}

/// Validated options, with defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanOptions {
    /// Search time in seconds.
    pub time_limit_s: f64,
    /// NT$ per vehicle used.
    pub fixed_cost_ntd: f64,
    /// NT$ per km.
    pub cost_per_km_ntd: f64,
    /// NT$ per hour.
    pub cost_per_hour_ntd: f64,
    /// NT$ for each normal order left out.
    pub unserved_penalty_ntd: f64,
    /// NT$ for each urgent order left out.
    pub urgent_penalty_ntd: f64,
    /// Shift start, `HH:MM`.
    pub shift_start: String,
    /// Shift end, `HH:MM`.
    pub shift_end: String,
    /// Most trips per vehicle.
    pub max_trips: usize,
    /// Seed of the search.
    pub seed: u64,
    /// Most search iterations (per part of the day), if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_iterations: Option<u64>,
    /// Every driver's break, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_break: Option<DriverBreak>,
    /// Fair days: NT$ per squared hour of each route (0: off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fair_day_ntd_per_hour_squared: f64,
    /// Rush hours, in order of the day (none: travel times hold all day).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rush_hours: Vec<RushHour>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// A required clock time `HH:MM` (trimmed) with its minutes, or an error for `field`: missing,
/// or not like `example`.
fn required_clock(errors: &mut Vec<FieldError>, field: String, value: Option<String>, example: &'static str) -> Option<(String, u32)> {
    let Some(v) = value.map(|v| v.trim().to_owned()) else {
        errors.push(FieldError::new(field, FieldProblem::Required));
        return None;
    };
    let m = minutes(&v);
    if m.is_none() {
        errors.push(FieldError::new(field, FieldProblem::Pattern { expected: example }));
    }
    Some(v).zip(m)
}

/// Validates rush-hour bands: each with a start and an end `HH:MM`, the end after the start, a
/// speed of 1–99 %, each band after the previous one ends; at most [`MAX_RUSH_HOURS`].
fn rush_hours(errors: &mut Vec<FieldError>, given: Vec<RushHourInput>) -> Vec<RushHour> {
    if given.len() > MAX_RUSH_HOURS {
        errors.push(FieldError::new("options.rush_hours", FieldProblem::TooMany { max: MAX_RUSH_HOURS }));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(given.len());
    let mut previous_end: Option<u32> = None;
    for (k, band) in given.into_iter().enumerate() {
        let field = |name: &str| format!("options.rush_hours[{k}].{name}");
        let mut when = |name: &str, value: Option<String>| required_clock(errors, field(name), value, "07:30");
        let (start, end) = (when("start", band.start), when("end", band.end));
        let speed = match band.speed_percent {
            None => {
                errors.push(FieldError::new(field("speed_percent"), FieldProblem::Required));
                None
            }
            Some(s) if !(1..=99).contains(&s) => {
                errors.push(FieldError::new(field("speed_percent"), FieldProblem::OutOfRange { min: 1.0, max: 99.0 }));
                None
            }
            Some(s) => Some(s),
        };
        let (Some((start, sm)), Some((end, em)), Some(speed_percent)) = (start, end, speed) else { continue };
        if em <= sm {
            errors.push(FieldError::new(field("end"), FieldProblem::WindowOrder));
        } else if previous_end.is_some_and(|p| sm < p) {
            errors.push(FieldError::new(field("start"), FieldProblem::WindowOverlap));
        } else {
            previous_end = Some(em);
            out.push(RushHour { start, end, speed_percent });
        }
    }
    out
}

/// A validated plan request (the store checks that the depots exist).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanRequest {
    /// The delivery day.
    pub date: NaiveDate,
    /// Depots whose vehicles are used, each once.
    pub depot_ids: Vec<i64>,
    /// Options.
    pub options: PlanOptions,
}

fn number(errors: &mut Vec<FieldError>, field: &str, value: Option<f64>, default: f64, min: f64, max: f64) -> f64 {
    match value {
        None => default,
        Some(v) if v.is_finite() && (min..=max).contains(&v) => v,
        Some(_) => {
            errors.push(FieldError::new(format!("options.{field}"), FieldProblem::OutOfRange { min, max }));
            default
        }
    }
}

impl PlanRequestInput {
    /// Validates every field; `max_time_limit_s` is the service's ceiling on search time.
    pub fn validate(self, max_time_limit_s: f64) -> Result<PlanRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let date = if self.date.trim().is_empty() {
            errors.push(FieldError::new("date", FieldProblem::Required));
            None
        } else {
            let d = parse_date(&self.date);
            if d.is_none() {
                errors.push(FieldError::new("date", FieldProblem::Pattern { expected: "2026-03-02" }));
            }
            d
        };
        let mut depot_ids = Vec::new();
        if self.depot_ids.is_empty() {
            errors.push(FieldError::new("depot_ids", FieldProblem::Required));
        } else if self.depot_ids.len() > MAX_DEPOTS {
            errors.push(FieldError::new("depot_ids", FieldProblem::TooMany { max: MAX_DEPOTS }));
        }
        // Ids of a list over the limit are not checked one by one (the duplicate check is
        // quadratic in the list's length, which stays small once bounded).
        let listed = if self.depot_ids.len() > MAX_DEPOTS { &[] } else { self.depot_ids.as_slice() };
        for (i, &id) in listed.iter().enumerate() {
            if id <= 0 {
                errors.push(FieldError::new(format!("depot_ids[{i}]"), FieldProblem::UnknownReference));
            } else if depot_ids.contains(&id) {
                errors.push(FieldError::new(format!("depot_ids[{i}]"), FieldProblem::Duplicate));
            } else {
                depot_ids.push(id);
            }
        }
        let o = self.options;
        let time_limit_s = number(&mut errors, "time_limit_s", o.time_limit_s, DEFAULT_TIME_LIMIT_S.min(max_time_limit_s), 0.1, max_time_limit_s);
        let fixed_cost_ntd = number(&mut errors, "fixed_cost_ntd", o.fixed_cost_ntd, 500.0, 0.0, 1_000_000.0);
        let cost_per_km_ntd = number(&mut errors, "cost_per_km_ntd", o.cost_per_km_ntd, 8.0, 0.0, 10_000.0);
        let cost_per_hour_ntd = number(&mut errors, "cost_per_hour_ntd", o.cost_per_hour_ntd, 250.0, 0.0, 100_000.0);
        let unserved_penalty_ntd = number(&mut errors, "unserved_penalty_ntd", o.unserved_penalty_ntd, 10_000.0, 0.0, 1_000_000.0);
        let urgent_penalty_ntd = number(&mut errors, "urgent_penalty_ntd", o.urgent_penalty_ntd, 100_000.0, 0.0, 1_000_000.0);
        let mut clock = |field: &str, value: Option<String>, default: &str| {
            let v = value.map(|v| v.trim().to_owned()).unwrap_or_else(|| default.to_owned());
            let m = minutes(&v);
            if m.is_none() {
                errors.push(FieldError::new(format!("options.{field}"), FieldProblem::Pattern { expected: "08:00" }));
            }
            (v, m)
        };
        let (shift_start, start) = clock("shift_start", o.shift_start, "08:00");
        let (shift_end, end) = clock("shift_end", o.shift_end, "18:00");
        if let (Some(s), Some(e)) = (start, end) {
            if s >= e {
                errors.push(FieldError::new("options.shift_end", FieldProblem::WindowOrder));
            }
        }
        let max_trips = o.max_trips.unwrap_or(3);
        if !(1..=10).contains(&max_trips) {
            errors.push(FieldError::new("options.max_trips", FieldProblem::OutOfRange { min: 1.0, max: 10.0 }));
        }
        if o.max_iterations.is_some_and(|n| !(1..=1_000_000).contains(&n)) {
            errors.push(FieldError::new("options.max_iterations", FieldProblem::OutOfRange { min: 1.0, max: 1_000_000.0 }));
        }
        let driver_break = o.driver_break.and_then(|b| {
            let mut when = |field: &str, value: Option<String>| required_clock(&mut errors, format!("options.driver_break.{field}"), value, "11:30");
            let (earliest, latest) = (when("earliest", b.earliest), when("latest", b.latest));
            let length = b.minutes.unwrap_or(30);
            if !(1..=240).contains(&length) {
                errors.push(FieldError::new("options.driver_break.minutes", FieldProblem::OutOfRange { min: 1.0, max: 240.0 }));
            }
            match (earliest, latest) {
                (Some((e, em)), Some((l, lm))) if em <= lm => Some(DriverBreak { earliest: e, latest: l, minutes: length }),
                (Some(_), Some(_)) => {
                    errors.push(FieldError::new("options.driver_break.latest", FieldProblem::WindowOrder));
                    None
                }
                _ => None,
            }
        });
        let rush_hours = rush_hours(&mut errors, o.rush_hours.unwrap_or_default());
        let options = PlanOptions {
            time_limit_s,
            fixed_cost_ntd,
            cost_per_km_ntd,
            cost_per_hour_ntd,
            unserved_penalty_ntd,
            urgent_penalty_ntd,
            shift_start,
            shift_end,
            max_trips,
            seed: o.seed.unwrap_or(1),
            max_iterations: o.max_iterations,
            driver_break,
            fair_day_ntd_per_hour_squared: number(&mut errors, "fair_day_ntd_per_hour_squared", o.fair_day_ntd_per_hour_squared, 0.0, 0.0, 100_000.0),
            rush_hours,
        };
        match date {
            Some(date) if errors.is_empty() => Ok(PlanRequest { date, depot_ids, options }),
            _ => Err(errors),
        }
    }
}

/// Where a planning job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds its lease and searches.
    Running,
    /// Finished with a plan.
    Succeeded,
    /// Gave up (bad data, or too many attempts).
    Failed,
    /// Cancelled by a client.
    Cancelled,
}

impl JobStatus {
    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            _ => return None,
        })
    }

    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled)
    }
}

/// One progress report of a running search: the best cost found so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProgressPoint {
    /// Seconds since the search started.
    pub elapsed_s: f64,
    /// Iterations done by the reporting search thread.
    pub iterations: u64,
    /// Objective of the best solution, NT$ (including penalties for left-out orders).
    pub best_cost_ntd: f64,
    /// Whether that solution keeps every rule.
    pub feasible: bool,
}

/// Where a stop of a route stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopStatus {
    /// To be served; `arrival` is the planned time.
    #[default]
    Planned,
    /// Being served (the driver is there); `arrival` is when the driver got there, as reported.
    InProgress,
    /// Served; `arrival` is when, as reported.
    Done,
    /// Attempted in vain; `arrival` is when, as reported.
    Failed,
}

/// Cylinders of one size at a stop: full ones delivered, empty ones collected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CylinderMove {
    /// Size in kg of gas.
    pub size_kg: u32,
    /// Full cylinders delivered.
    pub deliver: u32,
    /// Empty cylinders collected.
    pub collect: u32,
}

/// Whole NT$: money in plans is shown in integer dollars; stored plans written with fractions
/// are read rounded.
pub mod ntd {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the integer.
    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(*v)
    }

    /// Reads an integer, or a number rounded to one.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(f64::deserialize(d)?.round() as i64)
    }
}

/// Serde's `skip_serializing_if` for an address index: the customer's own address (0) is not written.
pub(crate) fn is_first_address(n: &usize) -> bool {
    *n == 0
}

/// One stop of a route: what the driver needs to serve it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedStop {
    /// The order delivered.
    pub order_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// The customer's code.
    pub customer_code: String,
    /// The customer's name.
    pub name: String,
    /// Where the stop is: the customer's address, or the order's alternative address the plan
    /// chose (see `address_index`).
    #[serde(default)]
    pub address: String,
    /// Which of the order's addresses the stop is at: absent (0) for the customer's, `k` for the
    /// order's `alternative_addresses[k - 1]`.
    #[serde(default, skip_serializing_if = "is_first_address")]
    pub address_index: usize,
    /// The customer's phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Cylinders to deliver and collect, per size.
    #[serde(default)]
    pub cylinders: Vec<CylinderMove>,
    /// When the customer can be served (the order's window, else its preference's, else the
    /// customer's windows; empty: any time of the shift).
    #[serde(default)]
    pub time_windows: Vec<super::customer::TimeWindow>,
    /// The order's note for the driver.
    #[serde(default)]
    pub note: Option<String>,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Start of service, `HH:MM`.
    pub arrival: String,
    /// Planned, done or failed (replans keep executed stops where they were).
    #[serde(default)]
    pub status: StopStatus,
    /// Load on board after the stop, by dimension (`cylinders_20kg`, `weight_kg`, `gas_kg`, …).
    pub load_after: std::collections::BTreeMap<String, i64>,
    /// Seconds the vehicle waits there before `arrival` for the stop's window to open (planned
    /// stops; 0 for executed ones).
    #[serde(default)]
    pub waiting_s: i64,
}

/// A driver break on a route: where (on the way after `after` stops of trip `trip`, on the road
/// or at the next stop) and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedBreak {
    /// The trip (0 for the first).
    pub trip: usize,
    /// Stops of that trip served before it.
    pub after: usize,
    /// Start, `HH:MM`.
    pub start: String,
    /// End, `HH:MM`.
    pub end: String,
}

/// One trip: leave a depot loaded, serve stops, come back. A trip after the first is a reload
/// visit: the vehicle is back at `depot_id` and leaves again with `loaded`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedTrip {
    /// The depot the trip leaves from.
    pub depot_id: i64,
    /// When it leaves the depot at the latest to reach its first stop in time, `HH:MM`.
    #[serde(default)]
    pub depart: Option<String>,
    /// What is loaded at the depot for this trip, by dimension (as `load_after`).
    #[serde(default)]
    pub loaded: std::collections::BTreeMap<String, i64>,
    /// Stops in order.
    pub stops: Vec<PlannedStop>,
}

/// The route of one vehicle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedRoute {
    /// The vehicle.
    pub vehicle_id: i64,
    /// Its plate.
    pub plate: String,
    /// Its home depot.
    pub depot_id: i64,
    /// Who drives it on the plan's day (assigned for the day, else its usual driver), as known
    /// when the plan is read.
    #[serde(default)]
    pub driver_id: Option<i64>,
    /// That driver's name.
    #[serde(default)]
    pub driver_name: Option<String>,
    /// Departure, `HH:MM`.
    pub start: String,
    /// Return, `HH:MM`.
    pub end: String,
    /// Distance driven, metres.
    pub distance_m: i64,
    /// Duration from departure to return, seconds.
    pub duration_s: i64,
    /// Operating cost of the route (fixed + distance + time), whole NT$.
    #[serde(with = "ntd")]
    #[schema(value_type = i64)]
    pub cost_ntd: i64,
    /// Trips in order.
    pub trips: Vec<PlannedTrip>,
    /// The driver's breaks, in order (with `options.driver_break`).
    #[serde(default)]
    pub breaks: Vec<PlannedBreak>,
}

/// An order left out of every route, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnassignedOrder {
    /// The order.
    pub order_id: i64,
    /// A stable reason code (`capacity`, `time_window_unreachable`, `no_compatible_vehicle`, …).
    pub reason: String,
}

/// A depot of the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedDepot {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// What a finished planning job produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanResult {
    /// The depots the routes start from.
    pub depots: Vec<PlannedDepot>,
    /// Routes, one per vehicle used.
    pub routes: Vec<PlannedRoute>,
    /// Orders in no route.
    pub unassigned: Vec<UnassignedOrder>,
    /// Total distance, metres.
    pub distance_m: i64,
    /// Total route duration, seconds.
    pub duration_s: i64,
    /// Operating cost of the routes, whole NT$.
    #[serde(with = "ntd")]
    #[schema(value_type = i64)]
    pub cost_ntd: i64,
    /// Penalties of the orders left out (what the search weighs against serving them), whole NT$.
    #[serde(default)]
    pub penalty_ntd: i64,
    /// Whether the plan keeps every rule (checked by the solver's independent checker).
    pub feasible: bool,
    /// Search iterations over all threads.
    pub iterations: u64,
    /// Search time, seconds.
    pub elapsed_s: f64,
    /// Where the travel distances and durations came from, per routing profile; a fallback from
    /// OSRM to the embedded estimate says why.
    #[serde(default)]
    pub travel: Vec<crate::travel::TravelSource>,
}

/// A driver's share of a plan (`GET /v1/plans/{id}/routes/mine`): the routes of the vehicles
/// they drive on the plan's day.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DriverRoutes {
    /// The plan.
    pub plan_id: i64,
    /// Its day.
    pub date: NaiveDate,
    /// The caller's driver record (`null` for a user who is no driver).
    pub driver_id: Option<i64>,
    /// The vehicles they drive that day (assigned, else usually driven).
    pub vehicle_ids: Vec<i64>,
    /// The plan's depots.
    pub depots: Vec<PlannedDepot>,
    /// The routes of those vehicles in the plan (none when their vehicles were not used).
    pub routes: Vec<PlannedRoute>,
}

/// A driver's day (`GET /v1/plans/mine`): their routes in the newest plan of the day that gives
/// them any, or none yet.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DriverDay {
    /// The day.
    pub date: NaiveDate,
    /// The caller's driver record (`null` for a user who is no driver).
    pub driver_id: Option<i64>,
    /// The plan their routes come from (`null` when no plan of the day has routes for them).
    pub plan_id: Option<i64>,
    /// That plan's newest version (`null` with no plan).
    pub version: Option<i64>,
    /// The vehicles they drive that day (assigned, else usually driven).
    pub vehicle_ids: Vec<i64>,
    /// The plan's depots.
    pub depots: Vec<PlannedDepot>,
    /// Their routes, stops in order (each with its status: planned, in progress, done, failed).
    pub routes: Vec<PlannedRoute>,
}

/// A planning job as shown to clients.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlanJob {
    /// Identifier.
    pub id: i64,
    /// The delivery day.
    pub date: NaiveDate,
    /// The validated request.
    pub depot_ids: Vec<i64>,
    /// Options used.
    pub options: PlanOptions,
    /// Where the job is.
    pub status: JobStatus,
    /// Whether a client asked to cancel it.
    pub cancel_requested: bool,
    /// How many times a worker claimed it (more than 1 after a worker died).
    pub attempts: i64,
    /// The orders it reserved when it was created.
    pub order_ids: Vec<i64>,
    /// Progress reports of the current attempt.
    pub progress: Vec<ProgressPoint>,
    /// The plan, once succeeded: its newest version (or the one asked for with `?version=`).
    pub result: Option<PlanResult>,
    /// The version `result` is (1: the job's own plan; replans make the next ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When a worker first claimed it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final status.
    pub finished_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PlanRequestInput {
        PlanRequestInput { date: "2026-03-02".into(), depot_ids: vec![1, 2], options: PlanOptionsInput::default() }
    }

    #[test]
    fn fills_in_default_options_within_the_service_ceiling() {
        let r = input().validate(5.0).expect("valid");
        assert_eq!((r.options.time_limit_s, r.options.max_trips, r.options.shift_start.as_str()), (5.0, 3, "08:00"));
        assert_eq!(r.options.fair_day_ntd_per_hour_squared, 0.0, "fair days are off unless asked for");
        assert!(r.options.rush_hours.is_empty(), "no rush hours unless asked for");
    }

    #[test]
    fn takes_rush_hours_in_order_and_names_each_bad_band() {
        let band = |start: &str, end: &str, speed: Option<u32>| RushHourInput { start: Some(start.into()), end: Some(end.into()), speed_percent: speed };
        let mut ok = input();
        ok.options.rush_hours = Some(vec![band(" 07:30", "09:00", Some(55)), band("17:00", "19:00", Some(40))]);
        let r = ok.validate(5.0).expect("valid");
        assert_eq!(
            r.options.rush_hours,
            vec![
                RushHour { start: "07:30".into(), end: "09:00".into(), speed_percent: 55 },
                RushHour { start: "17:00".into(), end: "19:00".into(), speed_percent: 40 }
            ]
        );
        let mut bad = input();
        bad.options.rush_hours = Some(vec![
            band("09:00", "07:00", Some(50)),
            band("07:00", "09:00", Some(100)),
            band("07:00", "08:00", None),
            band("7 am", "09:00", Some(50)),
            band("08:00", "10:00", Some(50)),
            band("09:30", "11:00", Some(50)),
        ]);
        let fields: Vec<String> = bad.validate(60.0).err().unwrap_or_default().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "options.rush_hours[0].end",
                "options.rush_hours[1].speed_percent",
                "options.rush_hours[2].speed_percent",
                "options.rush_hours[3].start",
                "options.rush_hours[5].start"
            ]
        );
        let mut bad = input();
        bad.options.rush_hours = Some(vec![band("07:00", "08:00", Some(50)); MAX_RUSH_HOURS + 1]);
        let fields: Vec<String> = bad.validate(60.0).err().unwrap_or_default().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["options.rush_hours"]);
    }

    #[test]
    fn names_every_bad_field() {
        let mut bad = PlanRequestInput { date: "3/2".into(), depot_ids: vec![1, 1, -3], ..input() };
        bad.options.time_limit_s = Some(1e9);
        bad.options.shift_start = Some("19:00".into());
        bad.options.cost_per_km_ntd = Some(f64::NAN);
        bad.options.fair_day_ntd_per_hour_squared = Some(-1.0);
        let fields: Vec<String> = bad.validate(60.0).err().unwrap_or_default().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "date",
                "depot_ids[1]",
                "depot_ids[2]",
                "options.time_limit_s",
                "options.cost_per_km_ntd",
                "options.shift_end",
                "options.fair_day_ntd_per_hour_squared"
            ]
        );
    }
}
