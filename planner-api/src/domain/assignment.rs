//! Who drives which vehicle on a day: an assignment of a driver to a vehicle for one date, which
//! overrides the vehicle's usual driver (`default_driver_id`). A driver drives at most one
//! vehicle a day. A plan's routes are per vehicle; the driver of a route is the vehicle's driver
//! on the plan's day, which is how a driver finds their own route.

use super::validation::{FieldError, FieldProblem};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// An assignment as sent by clients (`PUT /v1/vehicles/{id}/assignments/{date}`).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentInput {
    /// The driver who drives the vehicle that day.
    #[serde(default)]
    pub driver_id: Option<i64>,
}

/// A stored assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    /// The vehicle.
    pub vehicle_id: i64,
    /// The day.
    pub date: NaiveDate,
    /// Its driver that day.
    pub driver_id: i64,
    /// When it was made (or last changed).
    pub created_at: DateTime<Utc>,
}

impl AssignmentInput {
    /// Validates the driver id (the store checks that it exists).
    pub fn validate(self) -> Result<i64, Vec<FieldError>> {
        match self.driver_id {
            None => Err(vec![FieldError::new("driver_id", FieldProblem::Required)]),
            Some(id) if id <= 0 => Err(vec![FieldError::new("driver_id", FieldProblem::UnknownReference)]),
            Some(id) => Ok(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wants_a_positive_driver_id() {
        assert_eq!(AssignmentInput { driver_id: Some(3) }.validate(), Ok(3));
        let field = |input: AssignmentInput| input.validate().err().map(|e| (e[0].field.clone(), e.len()));
        assert_eq!(field(AssignmentInput { driver_id: None }), Some(("driver_id".to_owned(), 1)));
        assert_eq!(field(AssignmentInput { driver_id: Some(0) }), Some(("driver_id".to_owned(), 1)));
    }
}
