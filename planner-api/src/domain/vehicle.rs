//! Vehicles: one truck or motorcycle, by licence plate, of a vehicle type, based at a depot,
//! usually driven by one driver (`default_driver_id`; a day's assignment overrides it, see
//! [`super::assignment`]).

use super::validation::{FieldError, FieldProblem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A vehicle as sent by clients, before validation.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VehicleInput {
    /// Licence plate, e.g. `ABC-1234`.
    #[serde(default)]
    pub plate: String,
    /// Id of its vehicle type.
    #[serde(default)]
    pub vehicle_type_id: Option<i64>,
    /// Id of its depot.
    #[serde(default)]
    pub depot_id: Option<i64>,
    /// Whether the vehicle can be planned (default `true`).
    #[serde(default)]
    pub active: Option<bool>,
    /// Id of the driver who usually drives it (optional).
    #[serde(default)]
    pub default_driver_id: Option<i64>,
}

/// A validated vehicle, ready to be stored (the store checks that the ids exist).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NewVehicle {
    /// Licence plate, upper case.
    pub plate: String,
    /// Id of its vehicle type.
    pub vehicle_type_id: i64,
    /// Id of its depot.
    pub depot_id: i64,
    /// Whether the vehicle can be planned.
    pub active: bool,
    /// Id of the driver who usually drives it.
    pub default_driver_id: Option<i64>,
}

/// A stored vehicle.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Vehicle {
    /// Identifier assigned by the store.
    pub id: i64,
    /// The vehicle's fields.
    #[serde(flatten)]
    pub data: NewVehicle,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Taiwanese plates: two groups of 2–4 letters or digits joined by `-` (`ABC-1234`, `123-ABC`).
fn valid_plate(plate: &str) -> bool {
    let mut parts = plate.split('-');
    let group = |p: Option<&str>| p.is_some_and(|p| (2..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    group(parts.next()) && group(parts.next()) && parts.next().is_none()
}

fn reference(errors: &mut Vec<FieldError>, field: &str, id: Option<i64>) -> i64 {
    match id {
        None => errors.push(FieldError::new(field, FieldProblem::Required)),
        Some(id) if id <= 0 => errors.push(FieldError::new(field, FieldProblem::UnknownReference)),
        Some(_) => {}
    }
    id.unwrap_or(0)
}

impl VehicleInput {
    /// Validates every field; returns all failing fields at once.
    pub fn validate(self) -> Result<NewVehicle, Vec<FieldError>> {
        let mut errors = Vec::new();
        let plate = self.plate.trim().to_ascii_uppercase();
        if plate.is_empty() {
            errors.push(FieldError::new("plate", FieldProblem::Required));
        } else if !valid_plate(&plate) {
            errors.push(FieldError::new("plate", FieldProblem::Pattern { expected: "ABC-1234" }));
        }
        let vehicle_type_id = reference(&mut errors, "vehicle_type_id", self.vehicle_type_id);
        let depot_id = reference(&mut errors, "depot_id", self.depot_id);
        let default_driver_id = self.default_driver_id.map(|id| reference(&mut errors, "default_driver_id", Some(id)));
        if errors.is_empty() {
            Ok(NewVehicle { plate, vehicle_type_id, depot_id, active: self.active.unwrap_or(true), default_driver_id })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_cases_plates_and_rejects_odd_ones() {
        let v = VehicleInput { plate: " abc-1234 ".into(), vehicle_type_id: Some(1), depot_id: Some(2), active: None, default_driver_id: None };
        assert_eq!(v.validate().map(|v| (v.plate, v.active)), Ok(("ABC-1234".to_owned(), true)));
        for plate in ["ABC1234", "A-1234", "ABC-12345", "ABC-12-34"] {
            assert!(!valid_plate(plate), "{plate}");
        }
    }

    #[test]
    fn wants_both_references() {
        let v = VehicleInput { plate: "ABC-1234".into(), vehicle_type_id: None, depot_id: Some(0), active: None, default_driver_id: Some(-1) };
        let fields: Vec<String> = v.validate().err().unwrap_or_default().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["vehicle_type_id", "depot_id", "default_driver_id"]);
    }
}
