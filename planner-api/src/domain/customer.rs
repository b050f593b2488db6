//! Customers: households, restaurants and factories that receive cylinders, with their delivery
//! time windows, usual cylinders, access restrictions and payment method.

use super::validation::{at_most, coordinates, optional_phone, required_text, FieldError, FieldProblem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Cylinder sizes in use, in kg of gas.
pub const CYLINDER_SIZES_KG: [u32; 7] = [2, 4, 10, 16, 18, 20, 50];
const CYLINDER_SIZE_NAMES: &[&str] = &["2", "4", "10", "16", "18", "20", "50"];
/// At most this many time windows per customer.
pub const MAX_TIME_WINDOWS: usize = 4;
/// At most this many cylinders of one size per usual delivery.
pub const MAX_CYLINDERS_PER_SIZE: u32 = 20;
/// At most this many allowed vehicle types per customer.
pub const MAX_ALLOWED_VEHICLE_TYPES: usize = 16;

/// A delivery time window as `HH:MM` texts, start before end, within one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
// Also the stored form of the `time_windows` column of customers, written from this type: unknown fields never occur there.
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    /// Earliest arrival, `HH:MM`.
    pub start: String,
    /// Latest arrival, `HH:MM`.
    pub end: String,
}

/// How many cylinders of one size a customer usually takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
// Also the stored form of the `usual_cylinders` and `cylinders` columns, written from this type: unknown fields never occur there.
#[serde(deny_unknown_fields)]
pub struct UsualCylinder {
    /// Cylinder size in kg of gas (one of [`CYLINDER_SIZES_KG`]).
    pub size_kg: u32,
    /// Number of cylinders.
    pub quantity: u32,
}

/// How the customer pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Cash collected by the driver at the door.
    Cash,
    /// Bank transfer (e.g. to a virtual account).
    Transfer,
    /// Monthly account (月結).
    Monthly,
}

impl PaymentMethod {
    const NAMES: &'static [&'static str] = &["cash", "transfer", "monthly"];

    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Transfer => "transfer",
            PaymentMethod::Monthly => "monthly",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cash" => Some(PaymentMethod::Cash),
            "transfer" => Some(PaymentMethod::Transfer),
            "monthly" => Some(PaymentMethod::Monthly),
            _ => None,
        }
    }
}

/// Something that limits which vehicle can reach the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessRestriction {
    /// The address is in a narrow lane (巷弄): only a heavy motorcycle gets there.
    NarrowLane,
    /// No place to stop a truck.
    NoParking,
    /// Cylinders must be carried up stairs (longer service).
    Stairs,
}

impl AccessRestriction {
    const NAMES: &'static [&'static str] = &["narrow_lane", "no_parking", "stairs"];

    fn parse(s: &str) -> Option<Self> {
        match s {
            "narrow_lane" => Some(AccessRestriction::NarrowLane),
            "no_parking" => Some(AccessRestriction::NoParking),
            "stairs" => Some(AccessRestriction::Stairs),
            _ => None,
        }
    }
}

/// A customer as sent by clients, before validation.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// Customer code, an upper-case letter and at least four digits (`C0001`).
    #[serde(default)]
    pub code: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Phone number (optional).
    #[serde(default)]
    pub phone: Option<String>,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// District, e.g. `信義區`.
    #[serde(default)]
    pub district: String,
    /// Latitude in degrees (WGS 84).
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude in degrees (WGS 84).
    #[serde(default)]
    pub lon: Option<f64>,
    /// Delivery time windows (none: any time).
    #[serde(default)]
    pub time_windows: Vec<TimeWindow>,
    /// Usual cylinders per delivery.
    #[serde(default)]
    pub usual_cylinders: Vec<UsualCylinder>,
    /// Access restrictions by stable name.
    #[serde(default)]
    pub access_restrictions: Vec<String>,
    /// Payment method by stable name (`cash`, `transfer`, `monthly`).
    #[serde(default)]
    pub payment_method: String,
    /// The only vehicle types that may serve this customer (ids of vehicle types: a loading dock
    /// only a small truck fits, a permit held for one class of vehicle); empty: any vehicle.
    #[serde(default)]
    pub allowed_vehicle_type_ids: Vec<i64>,
    /// Read-only (a customer as read may be sent back as it is): the service keeps it, and a new
    /// `lat`/`lon` clears it.
    #[serde(default)]
    pub position_approximate: Option<bool>,
}

/// A validated customer, ready to be stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewCustomer {
    /// Unique customer code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Street address.
    pub address: String,
    /// District.
    pub district: String,
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Time windows, sorted by start, not overlapping.
    pub time_windows: Vec<TimeWindow>,
    /// Usual cylinders, one entry per size.
    pub usual_cylinders: Vec<UsualCylinder>,
    /// Access restrictions, each at most once.
    pub access_restrictions: Vec<AccessRestriction>,
    /// Payment method.
    pub payment_method: PaymentMethod,
    /// The only vehicle types that may serve this customer, ascending; empty: any vehicle. A plan
    /// leaves the customer's orders out (`no_compatible_vehicle`) when none of its vehicles is
    /// of one of these types (and, for a narrow lane, a heavy motorcycle).
    #[serde(default)]
    pub allowed_vehicle_type_ids: Vec<i64>,
}

/// A stored customer.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Customer {
    /// Identifier assigned by the store.
    pub id: i64,
    /// The customer's fields.
    #[serde(flatten)]
    pub data: NewCustomer,
    /// Whether `lat`/`lon` is only the centroid of the district (a customer imported from the old
    /// system without coordinates): routes to it are approximate until someone sets the position.
    pub position_approximate: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Parses `HH:MM` (00:00–23:59, or 24:00 as the end of the day) into minutes after midnight.
pub(crate) fn minutes(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (0..=23, 0..=59) | (24, 0) => Some(h * 60 + m),
        _ => None,
    }
}

fn valid_code(code: &str) -> bool {
    let mut chars = code.chars();
    matches!(chars.next(), Some('A'..='Z')) && code.len() >= 5 && chars.all(|c| c.is_ascii_digit())
}

impl CustomerInput {
    /// Validates every field; returns all failing fields at once.
    pub fn validate(self) -> Result<NewCustomer, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = self.code.trim().to_owned();
        if code.is_empty() {
            errors.push(FieldError::new("code", FieldProblem::Required));
        } else if code.len() > 16 {
            errors.push(FieldError::new("code", FieldProblem::TooLong { max: 16 }));
        } else if !valid_code(&code) {
            errors.push(FieldError::new("code", FieldProblem::Pattern { expected: "C0001" }));
        }
        let name = required_text(&mut errors, "name", &self.name, 100);
        let phone = optional_phone(&mut errors, self.phone);
        let address = required_text(&mut errors, "address", &self.address, 200);
        let district = required_text(&mut errors, "district", &self.district, 20);
        let (lat, lon) = coordinates(&mut errors, self.lat, self.lon);
        let time_windows = time_windows(&mut errors, self.time_windows);
        let usual_cylinders = usual_cylinders(&mut errors, self.usual_cylinders);
        let mut access_restrictions = Vec::new();
        // Each restriction once: a longer list cannot be right, and is not checked entry by entry.
        let listed = if at_most(&mut errors, "access_restrictions", &self.access_restrictions, AccessRestriction::NAMES.len()) {
            self.access_restrictions.as_slice()
        } else {
            &[]
        };
        for (i, name) in listed.iter().enumerate() {
            let field = format!("access_restrictions[{i}]");
            match AccessRestriction::parse(name.trim()) {
                None => errors.push(FieldError::new(field, FieldProblem::NotAllowed { allowed: AccessRestriction::NAMES })),
                Some(r) if access_restrictions.contains(&r) => errors.push(FieldError::new(field, FieldProblem::Duplicate)),
                Some(r) => access_restrictions.push(r),
            }
        }
        let payment_method = PaymentMethod::parse(self.payment_method.trim());
        if payment_method.is_none() {
            let problem =
                if self.payment_method.trim().is_empty() { FieldProblem::Required } else { FieldProblem::NotAllowed { allowed: PaymentMethod::NAMES } };
            errors.push(FieldError::new("payment_method", problem));
        }
        let allowed_vehicle_type_ids = allowed_vehicle_types(&mut errors, self.allowed_vehicle_type_ids);
        match payment_method {
            Some(payment_method) if errors.is_empty() => Ok(NewCustomer {
                code,
                name,
                phone,
                address,
                district,
                lat,
                lon,
                time_windows,
                usual_cylinders,
                access_restrictions,
                payment_method,
                allowed_vehicle_type_ids,
            }),
            _ => Err(errors),
        }
    }
}

fn time_windows(errors: &mut Vec<FieldError>, windows: Vec<TimeWindow>) -> Vec<TimeWindow> {
    if windows.len() > MAX_TIME_WINDOWS {
        errors.push(FieldError::new("time_windows", FieldProblem::TooMany { max: MAX_TIME_WINDOWS }));
        return windows;
    }
    let mut parsed = Vec::new();
    for (i, w) in windows.iter().enumerate() {
        let start = minutes(w.start.trim());
        let end = minutes(w.end.trim());
        for (part, v) in [("start", start), ("end", end)] {
            if v.is_none() {
                errors.push(FieldError::new(format!("time_windows[{i}].{part}"), FieldProblem::Pattern { expected: "08:30" }));
            }
        }
        if let (Some(s), Some(e)) = (start, end) {
            if s >= e {
                errors.push(FieldError::new(format!("time_windows[{i}]"), FieldProblem::WindowOrder));
            } else {
                parsed.push((s, e, i));
            }
        }
    }
    parsed.sort_unstable();
    for pair in parsed.windows(2) {
        if pair[1].0 < pair[0].1 {
            errors.push(FieldError::new(format!("time_windows[{}]", pair[1].2), FieldProblem::WindowOverlap));
        }
    }
    parsed.iter().map(|&(_, _, i)| TimeWindow { start: windows[i].start.trim().to_owned(), end: windows[i].end.trim().to_owned() }).collect()
}

/// Vehicle type ids: at most [`MAX_ALLOWED_VEHICLE_TYPES`], positive, each once; sorted. Whether
/// they name vehicle types is the store's to check.
fn allowed_vehicle_types(errors: &mut Vec<FieldError>, ids: Vec<i64>) -> Vec<i64> {
    if !at_most(errors, "allowed_vehicle_type_ids", &ids, MAX_ALLOWED_VEHICLE_TYPES) {
        return ids;
    }
    let mut seen = Vec::with_capacity(ids.len());
    for (i, &id) in ids.iter().enumerate() {
        let field = format!("allowed_vehicle_type_ids[{i}]");
        if id < 1 {
            errors.push(FieldError::new(field, FieldProblem::UnknownReference));
        } else if seen.contains(&id) {
            errors.push(FieldError::new(field, FieldProblem::Duplicate));
        } else {
            seen.push(id);
        }
    }
    seen.sort_unstable();
    seen
}

fn usual_cylinders(errors: &mut Vec<FieldError>, cylinders: Vec<UsualCylinder>) -> Vec<UsualCylinder> {
    cylinder_lines(errors, "usual_cylinders", cylinders, CYLINDER_SIZES_KG.len())
}

/// Checks cylinder lines at `field`: at most `max` lines (a longer list is refused as a whole,
/// its lines unchecked), known sizes, each once, 1–[`MAX_CYLINDERS_PER_SIZE`] each.
pub(crate) fn cylinder_lines(errors: &mut Vec<FieldError>, field: &str, cylinders: Vec<UsualCylinder>, max: usize) -> Vec<UsualCylinder> {
    if !at_most(errors, field, &cylinders, max) {
        return cylinders;
    }
    let mut seen = Vec::with_capacity(max);
    for (i, c) in cylinders.iter().enumerate() {
        if !CYLINDER_SIZES_KG.contains(&c.size_kg) {
            errors.push(FieldError::new(format!("{field}[{i}].size_kg"), FieldProblem::NotAllowed { allowed: CYLINDER_SIZE_NAMES }));
        } else if seen.contains(&c.size_kg) {
            errors.push(FieldError::new(format!("{field}[{i}].size_kg"), FieldProblem::Duplicate));
        }
        seen.push(c.size_kg);
        if !(1..=MAX_CYLINDERS_PER_SIZE).contains(&c.quantity) {
            let range = FieldProblem::OutOfRange { min: 1.0, max: f64::from(MAX_CYLINDERS_PER_SIZE) };
            errors.push(FieldError::new(format!("{field}[{i}].quantity"), range));
        }
    }
    cylinders
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CustomerInput {
        CustomerInput {
            code: "C0001".into(),
            name: "王小明".into(),
            phone: Some("02-2345-6789".into()),
            address: "台北市信義區松仁路 100 巷 5 號".into(),
            district: "信義區".into(),
            lat: Some(25.033),
            lon: Some(121.565),
            time_windows: vec![TimeWindow { start: "13:00".into(), end: "17:00".into() }, TimeWindow { start: "08:00".into(), end: "12:00".into() }],
            usual_cylinders: vec![UsualCylinder { size_kg: 20, quantity: 2 }],
            access_restrictions: vec!["narrow_lane".into()],
            payment_method: "cash".into(),
            allowed_vehicle_type_ids: vec![9, 2],
            position_approximate: None,
        }
    }

    fn fields(input: CustomerInput) -> Vec<String> {
        input.validate().err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn accepts_a_household_and_sorts_its_windows_and_vehicle_types() {
        let c = input().validate().ok();
        assert_eq!(c.as_ref().map(|c| c.time_windows[0].start.clone()), Some("08:00".to_owned()));
        assert_eq!(c.map(|c| c.allowed_vehicle_type_ids), Some(vec![2, 9]));
    }

    #[test]
    fn rejects_repeated_and_impossible_vehicle_types_and_too_many() {
        assert_eq!(
            fields(CustomerInput { allowed_vehicle_type_ids: vec![3, 0, 3, -1], ..input() }),
            ["allowed_vehicle_type_ids[1]", "allowed_vehicle_type_ids[2]", "allowed_vehicle_type_ids[3]"]
        );
        let many = (1..=MAX_ALLOWED_VEHICLE_TYPES as i64 + 1).collect();
        assert_eq!(fields(CustomerInput { allowed_vehicle_type_ids: many, ..input() }), ["allowed_vehicle_type_ids"]);
    }

    #[test]
    fn rejects_codes_without_letter_and_four_digits() {
        for code in ["c0001", "C001", "CC0001", "C00O1"] {
            assert_eq!(fields(CustomerInput { code: code.into(), ..input() }), ["code"], "{code}");
        }
    }

    #[test]
    fn rejects_bad_times_reversed_and_overlapping_windows() {
        let w = |s: &str, e: &str| TimeWindow { start: s.into(), end: e.into() };
        let bad = CustomerInput { time_windows: vec![w("8:00", "12:00"), w("14:00", "13:00"), w("09:00", "11:00"), w("10:00", "12:00")], ..input() };
        assert_eq!(fields(bad), ["time_windows[0].start", "time_windows[1]", "time_windows[3]"]);
        assert_eq!(minutes("24:00"), Some(1440));
        assert_eq!(minutes("24:01"), None);
    }

    #[test]
    fn rejects_unknown_cylinder_sizes_payment_and_restrictions() {
        let bad = CustomerInput {
            usual_cylinders: vec![UsualCylinder { size_kg: 12, quantity: 0 }],
            access_restrictions: vec!["helipad".into()],
            payment_method: "bitcoin".into(),
            ..input()
        };
        assert_eq!(fields(bad), ["usual_cylinders[0].size_kg", "usual_cylinders[0].quantity", "access_restrictions[0]", "payment_method"]);
    }
}
