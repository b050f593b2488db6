//! Replanning a plan while its vehicles are out: what dispatchers send
//! (`POST /v1/plans/{id}/events`: [`EventsInput`], validated in shape into [`EventBatch`]), what
//! the execution of the day looks like so far ([`Execution`]), and what a replan produces: a new
//! [`PlanVersion`] with its [`PlanDiff`] against the version it was based on.
//!
//! Times of day are `HH:MM` (or `HH:MM:SS`) on the plan's day, kept as seconds since midnight.
//! Checks that need the plan (is the order on a route, is the stop already done, does the time
//! go back before what was executed) are made by the replan itself, see
//! [`crate::planning::replan`].

use super::plan::PlanResult;
use super::validation::{FieldError, FieldProblem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many events in one request.
pub const MAX_EVENTS: usize = 200;
/// Default cost of moving an announced stop to another vehicle, NT$.
pub const DEFAULT_MOVE_COST_NTD: f64 = 300.0;
/// Minutes an announced stop's arrival may move, on its vehicle, before it costs the move cost.
pub const DEFAULT_SHIFT_TOLERANCE_MINUTES: f64 = 30.0;
/// Default latency budget of a replan's search after orders or stops change, milliseconds: the
/// new orders are inserted (regret insertion) whatever the budget, then the search improves the
/// plan until the budget or its iterations are spent.
pub const DEFAULT_REPLAN_TIME_MS: u64 = 15;
/// Default latency budget of a replan's search after a vehicle becomes unavailable,
/// milliseconds.
pub const BREAKDOWN_REPLAN_TIME_MS: u64 = 150;
/// Default search iterations of a replan after orders or stops change.
pub const SMALL_CHANGE_ITERATIONS: u64 = 10;
/// Default search iterations of a replan after a vehicle becomes unavailable: its stops go
/// to the others.
pub const BREAKDOWN_ITERATIONS: u64 = 100;
/// Longest search time a replan may ask for, milliseconds.
pub const MAX_REPLAN_TIME_MS: u64 = 5_000;

/// One event as sent by clients; `type` says which.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// `order_added`, `order_cancelled`, `vehicle_unavailable`, `vehicle_delayed`,
    /// `vehicle_position`, `stop_arrived`, `stop_done` or `stop_failed`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The order (`order_added`, `order_cancelled`, `stop_arrived`, `stop_done`, `stop_failed`).
    #[serde(default)]
    pub order_id: Option<i64>,
    /// The vehicle (`vehicle_unavailable`, `vehicle_delayed`, `vehicle_position`).
    #[serde(default)]
    pub vehicle_id: Option<i64>,
    /// When it happened, `HH:MM` (`stop_arrived`, `stop_done`, `stop_failed`,
    /// `vehicle_position`: default the request's `at`), or from when the vehicle is unavailable (`vehicle_unavailable`: default
    /// the request's `at`, a breakdown).
    #[serde(default)]
    pub at: Option<String>,
    /// Where the vehicle is, latitude in degrees (`vehicle_position`, a GPS fix).
    #[serde(default)]
    pub lat: Option<f64>,
    /// Where the vehicle is, longitude in degrees (`vehicle_position`).
    #[serde(default)]
    pub lon: Option<f64>,
    /// Minutes the vehicle is held up from the request's `at` (`vehicle_delayed`).
    #[serde(default)]
    pub minutes: Option<f64>,
    /// Free text kept with the event (`stop_failed`: why).
    #[serde(default)]
    pub note: Option<String>,
}

/// A request to replan, as sent by clients.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsInput {
    /// The plan version the dispatcher saw; the replan is refused (`409 version-conflict`) when
    /// another one has been made since.
    #[serde(default)]
    pub base_version: Option<i64>,
    /// The time of the replan on the plan's day, `HH:MM`: no vehicle leaves before it.
    #[serde(default)]
    pub at: Option<String>,
    /// What happened, applied in order.
    #[serde(default)]
    pub events: Vec<EventInput>,
    /// Cost in NT$ of moving an announced stop to another vehicle, or of moving its arrival by
    /// more than `shift_tolerance_minutes` (default 300).
    #[serde(default)]
    pub move_cost_ntd: Option<f64>,
    /// Minutes an announced stop's arrival may move at no cost (default 30, at most 720).
    #[serde(default)]
    pub shift_tolerance_minutes: Option<f64>,
    /// Latency budget of the search in milliseconds (default 15, or 150 when a vehicle becomes
    /// unavailable; at most 5000).
    #[serde(default)]
    pub time_limit_ms: Option<u64>,
    /// Search iterations (default 10, or 100 when a vehicle becomes unavailable; at most
    /// 100000); the search stops at whichever of the two limits comes first.
    #[serde(default)]
    pub max_iterations: Option<u64>,
}

/// An undo: restore a version's routes as the newest version.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreInput {
    /// The newest version, as the dispatcher saw it (`409 version-conflict` otherwise).
    #[serde(default)]
    pub base_version: Option<i64>,
}

impl RestoreInput {
    /// The base version.
    pub fn validate(self) -> Result<i64, Vec<FieldError>> {
        match self.base_version {
            Some(v) if v >= 1 => Ok(v),
            Some(_) => Err(vec![FieldError::new("base_version", FieldProblem::OutOfRange { min: 1.0, max: 9.0e15 })]),
            None => Err(vec![FieldError::new("base_version", FieldProblem::Required)]),
        }
    }
}

/// One event, checked in shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A received order of the plan's day joins the plan (an urgent "out of gas" call).
    OrderAdded {
        /// The order.
        order_id: i64,
    },
    /// The customer cancelled; the stop leaves its route.
    OrderCancelled {
        /// The order.
        order_id: i64,
    },
    /// The vehicle cannot be used from `from_s` on: it must be back at its depot by then, or,
    /// when that time has come (a breakdown), it takes no more stops.
    VehicleUnavailable {
        /// The vehicle.
        vehicle_id: i64,
        /// From when (`HH:MM[:SS]` in JSON, seconds since midnight here).
        #[serde(rename = "from", alias = "from_s", with = "clock")]
        #[schema(value_type = String, example = "10:30")]
        from_s: i64,
    },
    /// The vehicle cannot go on before `until_s` (traffic, a flat tyre).
    VehicleDelayed {
        /// The vehicle.
        vehicle_id: i64,
        /// Until when (`HH:MM[:SS]` in JSON, seconds since midnight here).
        #[serde(rename = "until", alias = "until_s", with = "clock")]
        #[schema(value_type = String, example = "10:50")]
        until_s: i64,
    },
    /// The vehicle was at (`lat`, `lon`) at `at_s` (a GPS fix): it goes on from there to
    /// whatever the replan gives it next.
    VehiclePosition {
        /// The vehicle.
        vehicle_id: i64,
        /// Latitude in degrees.
        lat: f64,
        /// Longitude in degrees.
        lon: f64,
        /// When (`HH:MM[:SS]` in JSON, seconds since midnight here).
        #[serde(rename = "at", alias = "at_s", with = "clock")]
        #[schema(value_type = String, example = "09:50")]
        at_s: i64,
    },
    /// The driver got to the stop at `at_s` and is serving it: the stop stays where it is, first
    /// after what the vehicle executed, until it is reported done or failed.
    StopArrived {
        /// The order.
        order_id: i64,
        /// When (`HH:MM[:SS]` in JSON, seconds since midnight here).
        #[serde(rename = "at", alias = "at_s", with = "clock")]
        #[schema(value_type = String, example = "09:50")]
        at_s: i64,
    },
    /// The stop was served at `at_s`.
    StopDone {
        /// The order.
        order_id: i64,
        /// When (`HH:MM[:SS]` in JSON, seconds since midnight here).
        #[serde(rename = "at", alias = "at_s", with = "clock")]
        #[schema(value_type = String, example = "09:50")]
        at_s: i64,
    },
    /// The stop was attempted at `at_s` and failed; the order is not served today.
    StopFailed {
        /// The order.
        order_id: i64,
        /// When (`HH:MM[:SS]` in JSON, seconds since midnight here).
        #[serde(rename = "at", alias = "at_s", with = "clock")]
        #[schema(value_type = String, example = "09:50")]
        at_s: i64,
        /// Why, as reported.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

impl Event {
    /// The order the event names, if any.
    pub fn order_id(&self) -> Option<i64> {
        match *self {
            Event::OrderAdded { order_id } | Event::OrderCancelled { order_id } => Some(order_id),
            Event::StopArrived { order_id, .. } | Event::StopDone { order_id, .. } | Event::StopFailed { order_id, .. } => Some(order_id),
            Event::VehicleUnavailable { .. } | Event::VehicleDelayed { .. } | Event::VehiclePosition { .. } => None,
        }
    }
}

/// A replan request checked in shape.
#[derive(Clone, Debug, PartialEq)]
pub struct EventBatch {
    /// The version it is based on.
    pub base_version: i64,
    /// The time of the replan, seconds since midnight.
    pub at_s: i64,
    /// The events, in order.
    pub events: Vec<Event>,
    /// Cost of moving an announced stop, NT$.
    pub move_cost_ntd: f64,
    /// How far an announced stop's arrival may move at no cost, seconds.
    pub shift_tolerance_s: i64,
    /// Ceiling on the search time.
    pub time_limit_ms: u64,
    /// Search iterations.
    pub max_iterations: u64,
}

/// Seconds since midnight of `HH:MM` or `HH:MM:SS` (up to `24:00`).
pub fn clock_seconds(s: &str) -> Option<i64> {
    let s = s.trim();
    let (hm, sec) = match s.len() {
        5 => (s, 0),
        8 if s.as_bytes()[5] == b':' => {
            let sec = &s[6..];
            if !sec.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let sec: i64 = sec.parse().ok()?;
            if sec > 59 {
                return None;
            }
            (&s[..5], sec)
        }
        _ => return None,
    };
    let minutes = i64::from(super::customer::minutes(hm)?);
    if minutes == 24 * 60 && sec > 0 {
        return None;
    }
    Some(minutes * 60 + sec)
}

/// `HH:MM` of seconds since midnight.
pub fn clock_text(seconds: i64) -> String {
    format!("{:02}:{:02}", seconds.div_euclid(3600), seconds.rem_euclid(3600) / 60)
}

/// `HH:MM`, or `HH:MM:SS` when the seconds are not zero: a reported time without loss.
pub fn clock_text_exact(seconds: i64) -> String {
    match seconds.rem_euclid(60) {
        0 => clock_text(seconds),
        s => format!("{}:{s:02}", clock_text(seconds)),
    }
}

/// Serde of a time of day kept as seconds since midnight: written `HH:MM[:SS]`, the one form
/// of times in requests and answers; read from that form or (rows stored before) a number of
/// seconds.
pub mod clock {
    use serde::de::{Error, Unexpected};
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Seconds(i64),
        Text(String),
    }

    fn seconds<E: Error>(v: Stored) -> Result<i64, E> {
        match v {
            Stored::Seconds(s) => Ok(s),
            Stored::Text(t) => super::clock_seconds(&t).ok_or_else(|| E::invalid_value(Unexpected::Str(&t), &"a time of day HH:MM or HH:MM:SS")),
        }
    }

    /// Writes `HH:MM[:SS]`.
    pub fn serialize<S: Serializer>(s: &i64, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(&super::clock_text_exact(*s))
    }

    /// Reads `HH:MM[:SS]` or seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<i64, D::Error> {
        seconds(Stored::deserialize(de)?)
    }

    /// The same for an optional time.
    pub mod option {
        use super::Stored;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes `HH:MM[:SS]` or `null`.
        pub fn serialize<S: Serializer>(s: &Option<i64>, ser: S) -> Result<S::Ok, S::Error> {
            match s {
                Some(s) => super::serialize(s, ser),
                None => ser.serialize_none(),
            }
        }

        /// Reads `HH:MM[:SS]`, seconds or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
            Option::<Stored>::deserialize(de)?.map(super::seconds).transpose()
        }
    }
}

const KINDS: &[&str] =
    &["order_added", "order_cancelled", "vehicle_unavailable", "vehicle_delayed", "vehicle_position", "stop_arrived", "stop_done", "stop_failed"];

impl EventsInput {
    /// Checks the shape of every field; `now_s` is the time used when `at` is absent (the
    /// current time of day where the plan's day is today), `None` when it must be given.
    pub fn validate(self, now_s: Option<i64>) -> Result<EventBatch, Vec<FieldError>> {
        let mut errors = Vec::new();
        let base_version = match self.base_version {
            Some(v) if v >= 1 => v,
            Some(_) => {
                errors.push(FieldError::new("base_version", FieldProblem::OutOfRange { min: 1.0, max: 9.0e15 }));
                0
            }
            None => {
                errors.push(FieldError::new("base_version", FieldProblem::Required));
                0
            }
        };
        let time = |errors: &mut Vec<FieldError>, field: String, value: &Option<String>| -> Option<i64> {
            let v = value.as_deref()?;
            let t = clock_seconds(v);
            if t.is_none() {
                errors.push(FieldError::new(field, FieldProblem::Pattern { expected: "10:30" }));
            }
            t
        };
        let at_s = match (time(&mut errors, "at".into(), &self.at), self.at.is_some()) {
            (Some(t), _) => Some(t),
            (None, true) => None,
            (None, false) => {
                if now_s.is_none() {
                    errors.push(FieldError::new("at", FieldProblem::Required));
                }
                now_s
            }
        };
        if self.events.is_empty() {
            errors.push(FieldError::new("events", FieldProblem::Required));
        } else if self.events.len() > MAX_EVENTS {
            errors.push(FieldError::new("events", FieldProblem::TooMany { max: MAX_EVENTS }));
        }
        // Events of a batch over the limit are not checked one by one.
        let listed = if self.events.len() > MAX_EVENTS { &[] } else { self.events.as_slice() };
        let mut events = Vec::new();
        for (i, e) in listed.iter().enumerate() {
            let field = |name: &str| format!("events[{i}].{name}");
            let order = |errors: &mut Vec<FieldError>| match e.order_id {
                Some(id) if id > 0 => Some(id),
                Some(_) => {
                    errors.push(FieldError::new(field("order_id"), FieldProblem::UnknownReference));
                    None
                }
                None => {
                    errors.push(FieldError::new(field("order_id"), FieldProblem::Required));
                    None
                }
            };
            let vehicle = |errors: &mut Vec<FieldError>| match e.vehicle_id {
                Some(id) if id > 0 => Some(id),
                Some(_) => {
                    errors.push(FieldError::new(field("vehicle_id"), FieldProblem::UnknownReference));
                    None
                }
                None => {
                    errors.push(FieldError::new(field("vehicle_id"), FieldProblem::Required));
                    None
                }
            };
            let when = time(&mut errors, field("at"), &e.at);
            let bad_when = e.at.is_some() && when.is_none();
            let event = match e.kind.trim() {
                "order_added" => order(&mut errors).map(|order_id| Event::OrderAdded { order_id }),
                "order_cancelled" => order(&mut errors).map(|order_id| Event::OrderCancelled { order_id }),
                "stop_arrived" => order(&mut errors).and_then(|order_id| Some(Event::StopArrived { order_id, at_s: when.or(at_s)? })),
                "stop_done" => order(&mut errors).and_then(|order_id| Some(Event::StopDone { order_id, at_s: when.or(at_s)? })),
                "stop_failed" => order(&mut errors).and_then(|order_id| {
                    let note = e.note.as_ref().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
                    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
                        errors.push(FieldError::new(field("note"), FieldProblem::TooLong { max: 500 }));
                    }
                    Some(Event::StopFailed { order_id, at_s: when.or(at_s)?, note })
                }),
                "vehicle_unavailable" => vehicle(&mut errors).and_then(|vehicle_id| Some(Event::VehicleUnavailable { vehicle_id, from_s: when.or(at_s)? })),
                "vehicle_position" => {
                    let coordinate = |errors: &mut Vec<FieldError>, name: &str, value: Option<f64>, limit: f64| match value {
                        Some(x) if x.is_finite() && (-limit..=limit).contains(&x) => Some(x),
                        Some(_) => {
                            errors.push(FieldError::new(field(name), FieldProblem::OutOfRange { min: -limit, max: limit }));
                            None
                        }
                        None => {
                            errors.push(FieldError::new(field(name), FieldProblem::Required));
                            None
                        }
                    };
                    let lat = coordinate(&mut errors, "lat", e.lat, 90.0);
                    let lon = coordinate(&mut errors, "lon", e.lon, 180.0);
                    let v = vehicle(&mut errors);
                    match (v, lat, lon, when.or(at_s)) {
                        (Some(vehicle_id), Some(lat), Some(lon), Some(at_s)) => Some(Event::VehiclePosition { vehicle_id, lat, lon, at_s }),
                        _ => None,
                    }
                }
                "vehicle_delayed" => {
                    let minutes = match e.minutes {
                        Some(m) if m.is_finite() && (0.0..=720.0).contains(&m) => Some(m),
                        Some(_) => {
                            errors.push(FieldError::new(field("minutes"), FieldProblem::OutOfRange { min: 0.0, max: 720.0 }));
                            None
                        }
                        None => {
                            errors.push(FieldError::new(field("minutes"), FieldProblem::Required));
                            None
                        }
                    };
                    let v = vehicle(&mut errors);
                    match (v, minutes, at_s) {
                        (Some(vehicle_id), Some(m), Some(at)) => Some(Event::VehicleDelayed { vehicle_id, until_s: at + (m * 60.0).round() as i64 }),
                        _ => None,
                    }
                }
                "" => {
                    errors.push(FieldError::new(field("type"), FieldProblem::Required));
                    None
                }
                _ => {
                    errors.push(FieldError::new(field("type"), FieldProblem::NotAllowed { allowed: KINDS }));
                    None
                }
            };
            if !bad_when {
                events.extend(event);
            }
        }
        // An order named by two events of one request is ambiguous.
        let mut seen = std::collections::HashSet::new();
        for (i, e) in listed.iter().enumerate() {
            if let Some(id) = e.order_id.filter(|id| *id > 0) {
                if !seen.insert(id) {
                    errors.push(FieldError::new(format!("events[{i}].order_id"), FieldProblem::Duplicate));
                }
            }
        }
        let move_cost_ntd = match self.move_cost_ntd {
            None => DEFAULT_MOVE_COST_NTD,
            Some(v) if v.is_finite() && (0.0..=1_000_000.0).contains(&v) => v,
            Some(_) => {
                errors.push(FieldError::new("move_cost_ntd", FieldProblem::OutOfRange { min: 0.0, max: 1_000_000.0 }));
                DEFAULT_MOVE_COST_NTD
            }
        };
        let shift_tolerance_s = match self.shift_tolerance_minutes {
            None => (DEFAULT_SHIFT_TOLERANCE_MINUTES * 60.0) as i64,
            Some(m) if m.is_finite() && (0.0..=720.0).contains(&m) => (m * 60.0).round() as i64,
            Some(_) => {
                errors.push(FieldError::new("shift_tolerance_minutes", FieldProblem::OutOfRange { min: 0.0, max: 720.0 }));
                0
            }
        };
        let breakdown = events.iter().any(|e| matches!(e, Event::VehicleUnavailable { .. }));
        let time_limit_ms = match self.time_limit_ms {
            None if breakdown => BREAKDOWN_REPLAN_TIME_MS,
            None => DEFAULT_REPLAN_TIME_MS,
            Some(v) if (1..=MAX_REPLAN_TIME_MS).contains(&v) => v,
            Some(_) => {
                errors.push(FieldError::new("time_limit_ms", FieldProblem::OutOfRange { min: 1.0, max: MAX_REPLAN_TIME_MS as f64 }));
                DEFAULT_REPLAN_TIME_MS
            }
        };
        let max_iterations = match self.max_iterations {
            None if breakdown => BREAKDOWN_ITERATIONS,
            None => SMALL_CHANGE_ITERATIONS,
            Some(v) if (1..=100_000).contains(&v) => v,
            Some(_) => {
                errors.push(FieldError::new("max_iterations", FieldProblem::OutOfRange { min: 1.0, max: 100_000.0 }));
                SMALL_CHANGE_ITERATIONS
            }
        };
        match at_s {
            Some(at_s) if errors.is_empty() => Ok(EventBatch { base_version, at_s, events, move_cost_ntd, shift_tolerance_s, time_limit_ms, max_iterations }),
            _ => Err(errors),
        }
    }
}

/// A stop that was executed, or is being served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExecutedStop {
    /// The order.
    pub order_id: i64,
    /// When it was served or attempted (when the driver got there, for one reported arrived
    /// first), `HH:MM[:SS]` in JSON.
    #[serde(rename = "at", alias = "at_s", with = "clock")]
    #[schema(value_type = String, example = "09:50")]
    pub at_s: i64,
    /// Whether the attempt failed.
    pub failed: bool,
    /// Whether it is being served: the driver got there and has not reported it done or
    /// failed yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_progress: bool,
}

/// What one vehicle has done so far and what holds it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VehicleExecution {
    /// Stops served or attempted, in the order they were.
    #[serde(default)]
    pub executed: Vec<ExecutedStop>,
    /// It cannot go on before this time (a delay), `HH:MM[:SS]` in JSON.
    #[serde(default, rename = "held_until", alias = "held_until_s", with = "clock::option")]
    #[schema(value_type = Option<String>, example = "10:50")]
    pub held_until_s: Option<i64>,
    /// It is unavailable from this time on, `HH:MM[:SS]` in JSON.
    #[serde(default, rename = "unavailable_from", alias = "unavailable_from_s", with = "clock::option")]
    #[schema(value_type = Option<String>, example = "13:00")]
    pub unavailable_from_s: Option<i64>,
    /// Where it was last seen, when that was after its last executed stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

/// Where a vehicle was seen (a GPS fix).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Position {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// When, `HH:MM[:SS]` in JSON.
    #[serde(rename = "at", alias = "at_s", with = "clock")]
    #[schema(value_type = String, example = "09:59")]
    pub at_s: i64,
}

impl VehicleExecution {
    /// The time of its last executed stop.
    pub fn last_executed_s(&self) -> Option<i64> {
        self.executed.last().map(|e| e.at_s)
    }
}

/// How the day has gone so far, as the events of every version told.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Execution {
    /// Per vehicle id.
    #[serde(default)]
    pub vehicles: BTreeMap<i64, VehicleExecution>,
    /// Orders cancelled by events.
    #[serde(default)]
    pub cancelled: Vec<i64>,
}

impl Execution {
    /// The executed record of an order, with its vehicle.
    pub fn executed(&self, order_id: i64) -> Option<(i64, &ExecutedStop)> {
        self.vehicles.iter().find_map(|(&v, x)| x.executed.iter().find(|e| e.order_id == order_id).map(|e| (v, e)))
    }
}

/// A stop now on another vehicle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MovedStop {
    /// The order.
    pub order_id: i64,
    /// The vehicle it was announced on.
    pub from_vehicle_id: i64,
    /// The vehicle that serves it now.
    pub to_vehicle_id: i64,
    /// Its arrival before, `HH:MM`.
    pub from_arrival: String,
    /// Its arrival now, `HH:MM`.
    pub to_arrival: String,
}

/// A stop whose arrival time changed on the same vehicle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetimedStop {
    /// The order.
    pub order_id: i64,
    /// Its vehicle.
    pub vehicle_id: i64,
    /// Arrival before, `HH:MM`.
    pub from_arrival: String,
    /// Arrival now, `HH:MM`.
    pub to_arrival: String,
}

/// A stop that joined a route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AddedStop {
    /// The order.
    pub order_id: i64,
    /// Its vehicle.
    pub vehicle_id: i64,
    /// Its arrival, `HH:MM`.
    pub arrival: String,
}

/// A stop that left every route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RemovedStop {
    /// The order.
    pub order_id: i64,
    /// The vehicle it was on.
    pub vehicle_id: i64,
    /// `cancelled`, or the reason it is now unassigned.
    pub reason: String,
}

/// What changed between two versions of a plan, for the stops not yet executed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanDiff {
    /// Stops on another vehicle now.
    pub moved: Vec<MovedStop>,
    /// Stops on the same vehicle with another arrival time (to the minute).
    pub retimed: Vec<RetimedStop>,
    /// Stops newly on a route.
    pub added: Vec<AddedStop>,
    /// Stops no longer on any route.
    pub removed: Vec<RemovedStop>,
}

/// One version of a plan: the first is the plan the job made; each replan adds one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanVersion {
    /// The plan (job) id.
    pub plan_id: i64,
    /// 1, 2, …
    pub version: i64,
    /// The version it was made from (`null` for the first).
    pub based_on: Option<i64>,
    /// The time of day it was made for, `HH:MM` (`null` for the first).
    pub at: Option<String>,
    /// The events that made it.
    pub events: Vec<Event>,
    /// What the day's execution looked like when it was made.
    pub execution: Execution,
    /// Changes against `based_on`.
    pub diff: PlanDiff,
    /// The routes.
    pub plan: PlanResult,
    /// Who made it (`planner` for the first).
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A version in a list: everything but the routes.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlanVersionSummary {
    /// 1, 2, …
    pub version: i64,
    /// The version it was made from.
    pub based_on: Option<i64>,
    /// Its time of day.
    pub at: Option<String>,
    /// The events that made it.
    pub events: Vec<Event>,
    /// How many stops moved to another vehicle.
    pub moved: usize,
    /// How many stops changed arrival time on their vehicle.
    pub retimed: usize,
    /// Orders left out.
    pub unassigned: usize,
    /// Operating cost of the routes, whole NT$.
    pub cost_ntd: i64,
    /// Penalties of the orders left out, whole NT$.
    pub penalty_ntd: i64,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl PlanVersion {
    /// The version without its routes.
    pub fn summary(&self) -> PlanVersionSummary {
        PlanVersionSummary {
            version: self.version,
            based_on: self.based_on,
            at: self.at.clone(),
            events: self.events.clone(),
            moved: self.diff.moved.len(),
            retimed: self.diff.retimed.len(),
            unassigned: self.plan.unassigned.len(),
            cost_ntd: self.plan.cost_ntd,
            penalty_ntd: self.plan.penalty_ntd,
            created_by: self.created_by.clone(),
            created_at: self.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: serde_json::Value) -> EventsInput {
        serde_json::from_value(v).expect("input")
    }

    #[test]
    fn reads_every_kind_of_event_with_times_defaulting_to_the_request() {
        let b = input(json!({
            "base_version": 2, "at": "10:30",
            "events": [
                {"type": "order_added", "order_id": 5},
                {"type": "order_cancelled", "order_id": 6},
                {"type": "vehicle_unavailable", "vehicle_id": 1},
                {"type": "vehicle_delayed", "vehicle_id": 2, "minutes": 15},
                {"type": "stop_done", "order_id": 7, "at": "10:05:30"},
                {"type": "stop_failed", "order_id": 8, "note": " 不在家 "},
                {"type": "stop_arrived", "order_id": 9},
                {"type": "vehicle_position", "vehicle_id": 4, "lat": 25.04, "lon": 121.55, "at": "10:20"}
            ]
        }))
        .validate(None)
        .expect("valid");
        assert_eq!(b.at_s, 37_800);
        assert_eq!(b.events[2], Event::VehicleUnavailable { vehicle_id: 1, from_s: 37_800 });
        assert_eq!(b.events[3], Event::VehicleDelayed { vehicle_id: 2, until_s: 37_800 + 900 });
        assert_eq!(b.events[4], Event::StopDone { order_id: 7, at_s: 36_330 });
        assert_eq!(b.events[5], Event::StopFailed { order_id: 8, at_s: 37_800, note: Some("不在家".into()) });
        assert_eq!(b.events[6], Event::StopArrived { order_id: 9, at_s: 37_800 });
        assert_eq!(b.events[7], Event::VehiclePosition { vehicle_id: 4, lat: 25.04, lon: 121.55, at_s: 37_200 });
        assert_eq!((b.move_cost_ntd, b.time_limit_ms, b.max_iterations), (DEFAULT_MOVE_COST_NTD, BREAKDOWN_REPLAN_TIME_MS, BREAKDOWN_ITERATIONS));
        assert_eq!(b.shift_tolerance_s, (DEFAULT_SHIFT_TOLERANCE_MINUTES * 60.0) as i64);
    }

    #[test]
    fn names_every_bad_field() {
        let e = input(json!({
            "at": "25:00", "time_limit_ms": 0, "shift_tolerance_minutes": 721,
            "events": [
                {"type": "teleport"},
                {"type": "stop_done"},
                {"type": "vehicle_delayed", "vehicle_id": 3, "minutes": -1},
                {"type": "order_added", "order_id": 9},
                {"type": "order_cancelled", "order_id": 9}
            ]
        }))
        .validate(Some(36_000))
        .unwrap_err();
        let fields: Vec<(&str, &str)> = e.iter().map(|e| (e.field.as_str(), e.code())).collect();
        assert_eq!(
            fields,
            [
                ("base_version", "required"),
                ("at", "pattern"),
                ("events[0].type", "not_allowed"),
                ("events[1].order_id", "required"),
                ("events[2].minutes", "out_of_range"),
                ("events[4].order_id", "duplicate"),
                ("shift_tolerance_minutes", "out_of_range"),
                ("time_limit_ms", "out_of_range"),
            ]
        );
    }

    #[test]
    fn needs_a_time_when_the_day_is_not_today() {
        let e = input(json!({"base_version": 1, "events": [{"type": "order_added", "order_id": 1}]})).validate(None).unwrap_err();
        assert_eq!((e[0].field.as_str(), e[0].code()), ("at", "required"));
        let b = input(json!({"base_version": 1, "events": [{"type": "order_added", "order_id": 1}]})).validate(Some(600)).expect("valid");
        assert_eq!(b.at_s, 600);
    }

    #[test]
    fn clock_texts_round_trip() {
        assert_eq!(clock_seconds("08:05"), Some(29_100));
        assert_eq!(clock_seconds("24:00"), Some(86_400));
        assert_eq!(clock_seconds("24:00:01"), None);
        assert_eq!(clock_seconds("8:05"), None);
        assert_eq!(clock_seconds("08:05:60"), None);
        assert_eq!(clock_text(29_100), "08:05");
    }
}
