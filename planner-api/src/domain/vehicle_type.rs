//! Vehicle types: a kind of vehicle (small truck, heavy motorcycle) with its cylinder slots per
//! size, load limits and the skills its driver needs. Legal limits (a heavy motorcycle carries at
//! most 60 kg of gas and 80 kg in total; above 50 kg of gas a truck driver needs a hazardous-goods
//! permit) are data entered here, not hard-coded rules.

use super::customer::CYLINDER_SIZES_KG;
use super::validation::{at_most, required_text, skills, FieldError, FieldProblem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

const CYLINDER_SIZE_NAMES: &[&str] = &["2", "4", "10", "16", "18", "20", "50"];
/// Largest load we accept, in kg (a small truck carries a few tonnes).
pub const MAX_LOAD_KG: u32 = 20_000;

/// The kind of vehicle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VehicleKind {
    /// A small truck.
    Truck,
    /// A heavy motorcycle, the only vehicle that reaches narrow lanes.
    HeavyMotorcycle,
}

impl VehicleKind {
    const NAMES: &'static [&'static str] = &["truck", "heavy_motorcycle"];

    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            VehicleKind::Truck => "truck",
            VehicleKind::HeavyMotorcycle => "heavy_motorcycle",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "truck" => Some(VehicleKind::Truck),
            "heavy_motorcycle" => Some(VehicleKind::HeavyMotorcycle),
            _ => None,
        }
    }
}

/// How many cylinders of one size fit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
// Also the stored form of the `cylinder_slots` column, written from this type: unknown fields never occur there.
#[serde(deny_unknown_fields)]
pub struct CylinderSlots {
    /// Cylinder size in kg of gas.
    pub size_kg: u32,
    /// Number of slots.
    pub count: u32,
}

/// A vehicle type as sent by clients, before validation.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VehicleTypeInput {
    /// Unique name, e.g. `3.5 噸貨車`.
    #[serde(default)]
    pub name: String,
    /// `truck` or `heavy_motorcycle`.
    #[serde(default)]
    pub kind: String,
    /// Slots per cylinder size.
    #[serde(default)]
    pub cylinder_slots: Vec<CylinderSlots>,
    /// Largest total load (gas and cylinders), kg.
    #[serde(default)]
    pub max_load_kg: Option<u32>,
    /// Largest amount of gas on board, kg.
    #[serde(default)]
    pub max_gas_kg: Option<u32>,
    /// Skills the driver needs, e.g. `hazmat_permit`.
    #[serde(default)]
    pub required_skills: Vec<String>,
}

/// A validated vehicle type, ready to be stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewVehicleType {
    /// Unique name.
    pub name: String,
    /// Kind of vehicle.
    pub kind: VehicleKind,
    /// Slots per cylinder size, each size once.
    pub cylinder_slots: Vec<CylinderSlots>,
    /// Largest total load, kg.
    pub max_load_kg: u32,
    /// Largest amount of gas, kg (at most `max_load_kg`).
    pub max_gas_kg: u32,
    /// Skills the driver needs, each once.
    pub required_skills: Vec<String>,
}

/// A stored vehicle type.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VehicleType {
    /// Identifier assigned by the store.
    pub id: i64,
    /// The vehicle type's fields.
    #[serde(flatten)]
    pub data: NewVehicleType,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

fn kilograms(errors: &mut Vec<FieldError>, field: &str, value: Option<u32>) -> u32 {
    match value {
        None => errors.push(FieldError::new(field, FieldProblem::Required)),
        Some(v) if !(1..=MAX_LOAD_KG).contains(&v) => {
            errors.push(FieldError::new(field, FieldProblem::OutOfRange { min: 1.0, max: f64::from(MAX_LOAD_KG) }));
        }
        Some(_) => {}
    }
    value.unwrap_or(0)
}

impl VehicleTypeInput {
    /// Validates every field; returns all failing fields at once.
    pub fn validate(self) -> Result<NewVehicleType, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = required_text(&mut errors, "name", &self.name, 100);
        let kind = VehicleKind::parse(self.kind.trim());
        if kind.is_none() {
            let problem = if self.kind.trim().is_empty() { FieldProblem::Required } else { FieldProblem::NotAllowed { allowed: VehicleKind::NAMES } };
            errors.push(FieldError::new("kind", problem));
        }
        if self.cylinder_slots.is_empty() {
            errors.push(FieldError::new("cylinder_slots", FieldProblem::Required));
        }
        // One slot line per size: a longer list is refused as a whole, its lines unchecked.
        let slots = if at_most(&mut errors, "cylinder_slots", &self.cylinder_slots, CYLINDER_SIZES_KG.len()) { self.cylinder_slots.as_slice() } else { &[] };
        let mut seen = Vec::new();
        for (i, s) in slots.iter().enumerate() {
            if !CYLINDER_SIZES_KG.contains(&s.size_kg) {
                errors.push(FieldError::new(format!("cylinder_slots[{i}].size_kg"), FieldProblem::NotAllowed { allowed: CYLINDER_SIZE_NAMES }));
            } else if seen.contains(&s.size_kg) {
                errors.push(FieldError::new(format!("cylinder_slots[{i}].size_kg"), FieldProblem::Duplicate));
            }
            seen.push(s.size_kg);
            if !(1..=1000).contains(&s.count) {
                errors.push(FieldError::new(format!("cylinder_slots[{i}].count"), FieldProblem::OutOfRange { min: 1.0, max: 1000.0 }));
            }
        }
        let max_load_kg = kilograms(&mut errors, "max_load_kg", self.max_load_kg);
        let max_gas_kg = kilograms(&mut errors, "max_gas_kg", self.max_gas_kg);
        if max_load_kg > 0 && max_gas_kg > max_load_kg {
            let problem = FieldProblem::OutOfRange { min: 1.0, max: f64::from(max_load_kg) };
            errors.push(FieldError::new("max_gas_kg", problem));
        }
        let required_skills = skills(&mut errors, "required_skills", &self.required_skills);
        match kind {
            Some(kind) if errors.is_empty() => Ok(NewVehicleType { name, kind, cylinder_slots: self.cylinder_slots, max_load_kg, max_gas_kg, required_skills }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn motorcycle() -> VehicleTypeInput {
        VehicleTypeInput {
            name: "重型機車".into(),
            kind: "heavy_motorcycle".into(),
            cylinder_slots: vec![CylinderSlots { size_kg: 20, count: 2 }],
            max_load_kg: Some(80),
            max_gas_kg: Some(60),
            required_skills: vec![],
        }
    }

    fn fields(input: VehicleTypeInput) -> Vec<String> {
        input.validate().err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn accepts_a_heavy_motorcycle_with_legal_limits() {
        assert_eq!(motorcycle().validate().map(|v| v.kind), Ok(VehicleKind::HeavyMotorcycle));
    }

    #[test]
    fn rejects_more_gas_than_load_and_bad_slots_and_skills() {
        let bad = VehicleTypeInput {
            kind: "bicycle".into(),
            cylinder_slots: vec![CylinderSlots { size_kg: 20, count: 2 }, CylinderSlots { size_kg: 20, count: 0 }],
            max_gas_kg: Some(100),
            required_skills: vec!["Hazmat".into()],
            ..motorcycle()
        };
        assert_eq!(fields(bad), ["kind", "cylinder_slots[1].size_kg", "cylinder_slots[1].count", "max_gas_kg", "required_skills[0]"]);
        assert_eq!(fields(VehicleTypeInput { cylinder_slots: vec![], max_load_kg: None, ..motorcycle() }), ["cylinder_slots", "max_load_kg"]);
    }
}
