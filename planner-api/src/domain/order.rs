//! Orders: cylinders a customer wants delivered on one day, with an optional time window or a
//! morning/afternoon preference, a priority, and a status that moves through a fixed lifecycle:
//!
//! ```text
//! received ──(planner)──▶ planned ──▶ dispatched ──▶ delivered
//!    │                       │             └───────▶ failed
//!    └──────▶ cancelled ◀────┘
//! ```
//!
//! `planned` is set only by a finished planning job; people move orders on from there (or cancel
//! them). Every change is recorded as an [`OrderEvent`] saying who changed what and when.

use super::customer::{cylinder_lines, minutes, TimeWindow, UsualCylinder};
use super::validation::{coordinates_at, required_text, FieldError, FieldProblem};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// At most this many cylinder lines per order (one per size).
pub const MAX_ORDER_LINES: usize = 7;
/// At most this many other addresses per order.
pub const MAX_ALTERNATIVE_ADDRESSES: usize = 3;

/// Another place where an order may be delivered instead of the customer's address (the shop
/// besides the home, the building's other entrance): the plan serves the order at exactly one of
/// them, whichever suits the routes best.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
// Also the stored form of the `alternative_addresses` column, written from this type.
#[serde(deny_unknown_fields)]
pub struct AlternativeAddress {
    /// Street address.
    pub address: String,
    /// District, e.g. `大安區`.
    pub district: String,
    /// Latitude in degrees (WGS 84).
    pub lat: f64,
    /// Longitude in degrees (WGS 84).
    pub lon: f64,
}

/// An alternative address as sent by clients, before validation.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlternativeAddressInput {
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// District.
    #[serde(default)]
    pub district: String,
    /// Latitude in degrees (WGS 84).
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude in degrees (WGS 84).
    #[serde(default)]
    pub lon: Option<f64>,
}

/// Where an order is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Taken, not yet in a plan.
    Received,
    /// On a route of a finished plan.
    Planned,
    /// Its vehicle has left.
    Dispatched,
    /// Delivered (full cylinders in, empties out).
    Delivered,
    /// The delivery was attempted and failed.
    Failed,
    /// Cancelled before dispatch.
    Cancelled,
}

impl OrderStatus {
    /// Every stable name, in lifecycle order.
    pub const NAMES: &'static [&'static str] = &["received", "planned", "dispatched", "delivered", "failed", "cancelled"];

    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Received => "received",
            OrderStatus::Planned => "planned",
            OrderStatus::Dispatched => "dispatched",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Failed => "failed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "received" => OrderStatus::Received,
            "planned" => OrderStatus::Planned,
            "dispatched" => OrderStatus::Dispatched,
            "delivered" => OrderStatus::Delivered,
            "failed" => OrderStatus::Failed,
            "cancelled" => OrderStatus::Cancelled,
            _ => return None,
        })
    }

    /// Whether a person may move an order from `self` to `to` through the API. `received →
    /// planned` is the planner's alone.
    pub fn can_become(self, to: OrderStatus) -> bool {
        use OrderStatus as S;
        matches!(
            (self, to),
            (S::Received, S::Cancelled)
                | (S::Planned, S::Dispatched)
                | (S::Planned, S::Cancelled)
                // A stop reported served or failed without a dispatch step first, as the plan's
                // `stop_done` and `stop_failed` events do.
                | (S::Planned, S::Delivered)
                | (S::Planned, S::Failed)
                | (S::Dispatched, S::Delivered)
                | (S::Dispatched, S::Failed)
        )
    }
}

/// When in the day the customer prefers the delivery, without a precise window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimePreference {
    /// 08:00–12:00.
    Morning,
    /// 13:00–18:00.
    Afternoon,
}

impl TimePreference {
    const NAMES: &'static [&'static str] = &["morning", "afternoon"];

    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TimePreference::Morning => "morning",
            TimePreference::Afternoon => "afternoon",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "morning" => Some(TimePreference::Morning),
            "afternoon" => Some(TimePreference::Afternoon),
            _ => None,
        }
    }

    /// The window the preference stands for.
    pub fn window(self) -> TimeWindow {
        let (start, end) = match self {
            TimePreference::Morning => ("08:00", "12:00"),
            TimePreference::Afternoon => ("13:00", "18:00"),
        };
        TimeWindow { start: start.into(), end: end.into() }
    }
}

/// How urgent an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// A planned or ordinary delivery.
    Normal,
    /// The customer is out of gas: leaving it out of a plan costs far more.
    Urgent,
}

impl Priority {
    const NAMES: &'static [&'static str] = &["normal", "urgent"];

    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Urgent => "urgent",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "normal" => Some(Priority::Normal),
            "urgent" => Some(Priority::Urgent),
            _ => None,
        }
    }
}

/// An order as sent by clients, before validation.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// Id of the customer.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// Delivery day, `YYYY-MM-DD`.
    #[serde(default)]
    pub delivery_date: String,
    /// Cylinders to deliver (the empties of the same sizes are collected).
    #[serde(default)]
    pub cylinders: Vec<UsualCylinder>,
    /// A precise window (optional; not together with `preference`).
    #[serde(default)]
    pub time_window: Option<TimeWindow>,
    /// `morning` or `afternoon` (optional).
    #[serde(default)]
    pub preference: Option<String>,
    /// `normal` (default) or `urgent`.
    #[serde(default)]
    pub priority: Option<String>,
    /// Free text for the driver.
    #[serde(default)]
    pub note: Option<String>,
    /// Other places where the order may be delivered instead of the customer's address (at
    /// most [`MAX_ALTERNATIVE_ADDRESSES`]); the plan picks one.
    #[serde(default)]
    pub alternative_addresses: Vec<AlternativeAddressInput>,
}

/// A validated order, ready to be stored (the store checks that the customer exists).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NewOrder {
    /// Id of the customer.
    pub customer_id: i64,
    /// Delivery day.
    pub delivery_date: NaiveDate,
    /// Cylinders to deliver, one line per size.
    pub cylinders: Vec<UsualCylinder>,
    /// A precise window.
    pub time_window: Option<TimeWindow>,
    /// A coarse preference.
    pub preference: Option<TimePreference>,
    /// Priority.
    pub priority: Priority,
    /// Free text.
    pub note: Option<String>,
    /// Other places where it may be delivered instead of the customer's address.
    pub alternative_addresses: Vec<AlternativeAddress>,
}

/// A stored order.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Order {
    /// Identifier assigned by the store.
    pub id: i64,
    /// The order's fields.
    #[serde(flatten)]
    pub data: NewOrder,
    /// Where it is in its lifecycle.
    pub status: OrderStatus,
    /// The planning job that reserved or planned it, if any.
    pub plan_id: Option<i64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// One change of an order's status.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderEvent {
    /// Status before (`null` for the creation).
    pub from_status: Option<OrderStatus>,
    /// Status after.
    pub to_status: OrderStatus,
    /// Who made the change (a person's name, `planner` for planning jobs).
    pub changed_by: String,
    /// Why, if given.
    pub note: Option<String>,
    /// The planning job concerned, if any.
    pub plan_id: Option<i64>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A status change as sent by clients: `{"status": "delivered", "at": "09:50"}`. Who made it
/// is the signed-in user, recorded by the server.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeInput {
    /// The new status.
    #[serde(default)]
    pub status: String,
    /// When it happened on the delivery day, `HH:MM` or `HH:MM:SS` (`delivered`, `failed`,
    /// `cancelled` of an order in a plan: default now when the day is today).
    #[serde(default)]
    pub at: Option<String>,
    /// Why (optional).
    #[serde(default)]
    pub note: Option<String>,
    /// With `delivered`: what was collected at the stop (payments; recorded as
    /// `PUT /v1/orders/{id}/collection` would).
    #[serde(default)]
    pub collection: Option<super::payment::CollectionInput>,
}

/// A validated status change.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusChange {
    /// The new status.
    pub status: OrderStatus,
    /// Who makes the change: the signed-in user.
    pub changed_by: String,
    /// When on the delivery day, seconds since midnight, if given.
    pub at_s: Option<i64>,
    /// Why.
    pub note: Option<String>,
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    (s.len() == 10).then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()).flatten()
}

fn optional_text(errors: &mut Vec<FieldError>, field: &str, value: Option<String>, max: usize) -> Option<String> {
    let v = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if v.as_ref().is_some_and(|v| v.chars().count() > max) {
        errors.push(FieldError::new(field, FieldProblem::TooLong { max }));
    }
    v
}

impl OrderInput {
    /// Validates every field; returns the order, or all failing fields.
    pub fn validate(self) -> Result<NewOrder, Vec<FieldError>> {
        let mut errors = Vec::new();
        let customer_id = match self.customer_id {
            None => {
                errors.push(FieldError::new("customer_id", FieldProblem::Required));
                0
            }
            Some(id) if id <= 0 => {
                errors.push(FieldError::new("customer_id", FieldProblem::UnknownReference));
                0
            }
            Some(id) => id,
        };
        let delivery_date = if self.delivery_date.trim().is_empty() {
            errors.push(FieldError::new("delivery_date", FieldProblem::Required));
            None
        } else {
            let d = parse_date(&self.delivery_date);
            if d.is_none() {
                errors.push(FieldError::new("delivery_date", FieldProblem::Pattern { expected: "2026-03-02" }));
            }
            d
        };
        if self.cylinders.is_empty() {
            errors.push(FieldError::new("cylinders", FieldProblem::Required));
        }
        let cylinders = cylinder_lines(&mut errors, "cylinders", self.cylinders, MAX_ORDER_LINES);
        let time_window = self.time_window.map(|w| {
            let (s, e) = (minutes(w.start.trim()), minutes(w.end.trim()));
            for (part, v) in [("start", s), ("end", e)] {
                if v.is_none() {
                    errors.push(FieldError::new(format!("time_window.{part}"), FieldProblem::Pattern { expected: "08:30" }));
                }
            }
            if let (Some(s), Some(e)) = (s, e) {
                if s >= e {
                    errors.push(FieldError::new("time_window", FieldProblem::WindowOrder));
                }
            }
            TimeWindow { start: w.start.trim().to_owned(), end: w.end.trim().to_owned() }
        });
        let preference = self.preference.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).and_then(|p| {
            let parsed = TimePreference::parse(&p);
            if parsed.is_none() {
                errors.push(FieldError::new("preference", FieldProblem::NotAllowed { allowed: TimePreference::NAMES }));
            } else if time_window.is_some() {
                errors.push(FieldError::new("preference", FieldProblem::NotAllowed { allowed: &["null (time_window is given)"] }));
            }
            parsed
        });
        let priority = match self.priority.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => Priority::Normal,
            Some(p) => Priority::parse(p).unwrap_or_else(|| {
                errors.push(FieldError::new("priority", FieldProblem::NotAllowed { allowed: Priority::NAMES }));
                Priority::Normal
            }),
        };
        let note = optional_text(&mut errors, "note", self.note, 500);
        let alternative_addresses = alternative_addresses(&mut errors, self.alternative_addresses);
        match delivery_date {
            Some(delivery_date) if errors.is_empty() => {
                Ok(NewOrder { customer_id, delivery_date, cylinders, time_window, preference, priority, note, alternative_addresses })
            }
            _ => Err(errors),
        }
    }
}

/// Checks alternative addresses: at most [`MAX_ALTERNATIVE_ADDRESSES`] (a longer list is refused
/// as a whole), each with an address, a district and a position in Taiwan.
fn alternative_addresses(errors: &mut Vec<FieldError>, list: Vec<AlternativeAddressInput>) -> Vec<AlternativeAddress> {
    if list.len() > MAX_ALTERNATIVE_ADDRESSES {
        errors.push(FieldError::new("alternative_addresses", FieldProblem::TooMany { max: MAX_ALTERNATIVE_ADDRESSES }));
        return Vec::new();
    }
    list.into_iter()
        .enumerate()
        .map(|(i, a)| {
            let at = |f: &str| format!("alternative_addresses[{i}].{f}");
            let address = required_text(errors, &at("address"), &a.address, 200);
            let district = required_text(errors, &at("district"), &a.district, 20);
            let (lat, lon) = coordinates_at(errors, &format!("alternative_addresses[{i}]."), a.lat, a.lon);
            AlternativeAddress { address, district, lat, lon }
        })
        .collect()
}

impl StatusChangeInput {
    /// Validates the change's fields (not yet whether the transition is allowed); `changed_by`
    /// is the signed-in user.
    pub fn validate(self, changed_by: String) -> Result<StatusChange, Vec<FieldError>> {
        let mut errors = Vec::new();
        let status = OrderStatus::parse(self.status.trim());
        if status.is_none() {
            let problem = if self.status.trim().is_empty() { FieldProblem::Required } else { FieldProblem::NotAllowed { allowed: OrderStatus::NAMES } };
            errors.push(FieldError::new("status", problem));
        }
        let at_s = self.at.as_deref().and_then(|t| {
            let s = super::replan::clock_seconds(t);
            if s.is_none() {
                errors.push(FieldError::new("at", FieldProblem::Pattern { expected: "09:50" }));
            }
            s
        });
        let note = optional_text(&mut errors, "note", self.note, 500);
        match status {
            Some(status) if errors.is_empty() => Ok(StatusChange { status, changed_by, at_s, note }),
            _ => Err(errors),
        }
    }
}

impl NewOrder {
    /// The window the planner must respect: the precise one, else the preference's, else none
    /// (the customer's own windows apply then).
    pub fn window(&self) -> Option<TimeWindow> {
        self.time_window.clone().or_else(|| self.preference.map(TimePreference::window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> OrderInput {
        OrderInput {
            customer_id: Some(1),
            delivery_date: "2026-03-02".into(),
            cylinders: vec![UsualCylinder { size_kg: 20, quantity: 2 }],
            time_window: None,
            preference: Some("morning".into()),
            priority: None,
            note: None,
            alternative_addresses: vec![],
        }
    }

    fn fields(input: OrderInput) -> Vec<String> {
        input.validate().err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn accepts_an_order_with_a_preference_and_defaults_to_normal_priority() {
        let order = input().validate().expect("valid");
        assert_eq!(order.priority, Priority::Normal);
        assert_eq!(order.window().map(|w| w.start), Some("08:00".to_owned()));
    }

    #[test]
    fn rejects_bad_dates_empty_lines_and_a_window_with_a_preference() {
        let bad = OrderInput {
            delivery_date: "2026-02-30".into(),
            cylinders: vec![],
            time_window: Some(TimeWindow { start: "12:00".into(), end: "09:00".into() }),
            priority: Some("asap".into()),
            ..input()
        };
        assert_eq!(fields(bad), ["delivery_date", "cylinders", "time_window", "preference", "priority"]);
        assert_eq!(fields(OrderInput { customer_id: None, ..input() }), ["customer_id"]);
    }

    #[test]
    fn takes_up_to_three_alternative_addresses_each_placed_in_taiwan() {
        let place =
            |lat: Option<f64>| AlternativeAddressInput { address: "大安路一段 1 號".into(), district: "大安區".into(), lat, lon: Some(121.54) };
        let order = OrderInput { alternative_addresses: vec![place(Some(25.03))], ..input() }.validate().expect("valid");
        assert_eq!(order.alternative_addresses, [AlternativeAddress { address: "大安路一段 1 號".into(), district: "大安區".into(), lat: 25.03, lon: 121.54 }]);
        let no_street = AlternativeAddressInput { address: " ".into(), ..place(Some(25.03)) };
        let bad = OrderInput { alternative_addresses: vec![place(Some(25.03)), place(None), no_street, place(Some(40.0))], ..input() };
        assert_eq!(fields(bad), ["alternative_addresses"]);
        let no_street = AlternativeAddressInput { address: " ".into(), ..place(Some(25.03)) };
        let bad = OrderInput { alternative_addresses: vec![place(Some(40.0)), place(None), no_street], ..input() };
        assert_eq!(fields(bad), ["alternative_addresses[0].lat", "alternative_addresses[1].lat", "alternative_addresses[2].address"]);
    }

    #[test]
    fn allows_only_the_lifecycle_moves_people_make() {
        use OrderStatus as S;
        assert!(S::Planned.can_become(S::Dispatched));
        assert!(S::Dispatched.can_become(S::Failed));
        assert!(S::Planned.can_become(S::Delivered), "as a stop_done event does");
        assert!(!S::Received.can_become(S::Delivered), "only a planned order is delivered");
        assert!(S::Received.can_become(S::Cancelled));
        assert!(!S::Received.can_become(S::Planned), "only the planner plans");
        assert!(!S::Delivered.can_become(S::Cancelled));
        assert!(!S::Cancelled.can_become(S::Received));
        assert!(!S::Dispatched.can_become(S::Cancelled));
    }
}
