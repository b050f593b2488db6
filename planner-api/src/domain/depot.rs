//! Depots: where vehicles load full cylinders and bring the empties back.

use super::validation::{coordinates, required_text, FieldError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A depot as sent by clients, before validation.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepotInput {
    /// Display name, e.g. `信義站`.
    #[serde(default)]
    pub name: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// Latitude in degrees (WGS 84).
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude in degrees (WGS 84).
    #[serde(default)]
    pub lon: Option<f64>,
}

/// A validated depot, ready to be stored.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NewDepot {
    /// Display name.
    pub name: String,
    /// Street address.
    pub address: String,
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// A stored depot.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Depot {
    /// Identifier assigned by the store.
    pub id: i64,
    /// The depot's fields.
    #[serde(flatten)]
    pub data: NewDepot,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl DepotInput {
    /// Validates every field; returns all failing fields at once.
    pub fn validate(self) -> Result<NewDepot, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = required_text(&mut errors, "name", &self.name, 100);
        let address = required_text(&mut errors, "address", &self.address, 200);
        let (lat, lon) = coordinates(&mut errors, self.lat, self.lon);
        if errors.is_empty() {
            Ok(NewDepot { name, address, lat, lon })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_taipei_depot_and_trims_text() {
        let d = DepotInput { name: " 信義站 ".into(), address: "台北市信義區松仁路 1 號".into(), lat: Some(25.03), lon: Some(121.57) };
        assert_eq!(d.validate().map(|d| d.name), Ok("信義站".to_owned()));
    }

    #[test]
    fn rejects_blank_name_and_names_the_field() {
        let d = DepotInput { name: "  ".into(), address: "x".into(), lat: Some(25.0), lon: Some(121.5) };
        let errors = d.validate().err().unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "name");
    }
}
