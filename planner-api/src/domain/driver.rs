//! Drivers: who drives, how to reach them, and their skills (e.g. `hazmat_permit`, needed for
//! trucks carrying more than 50 kg of gas), matched against vehicle types' required skills.

use super::validation::{optional_phone, required_text, skills, FieldError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A driver as sent by clients, before validation.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DriverInput {
    /// Full name.
    #[serde(default)]
    pub name: String,
    /// Phone number (optional).
    #[serde(default)]
    pub phone: Option<String>,
    /// Skills by name, each once, at most 64.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Whether the driver can be planned (default `true`).
    #[serde(default)]
    pub active: Option<bool>,
}

/// A validated driver, ready to be stored.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NewDriver {
    /// Full name.
    pub name: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Skills, each once.
    pub skills: Vec<String>,
    /// Whether the driver can be planned.
    pub active: bool,
}

/// A stored driver.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Driver {
    /// Identifier assigned by the store.
    pub id: i64,
    /// The driver's fields.
    #[serde(flatten)]
    pub data: NewDriver,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl DriverInput {
    /// Validates every field; returns all failing fields at once.
    pub fn validate(self) -> Result<NewDriver, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = required_text(&mut errors, "name", &self.name, 100);
        let phone = optional_phone(&mut errors, self.phone);
        let skills = skills(&mut errors, "skills", &self.skills);
        if errors.is_empty() {
            Ok(NewDriver { name, phone, skills, active: self.active.unwrap_or(true) })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_active_unless_told_otherwise() {
        let d = DriverInput { name: "陳大文".into(), phone: None, skills: vec!["hazmat_permit".into()], active: None };
        assert_eq!(d.validate().map(|d| d.active), Ok(true));
    }

    #[test]
    fn refuses_a_hundred_thousand_skills_as_one_error() {
        let skills = (0..100_000).map(|i| format!("s{i}")).collect();
        let d = DriverInput { name: "陳大文".into(), phone: None, skills, active: None };
        let errors = d.validate().err().unwrap_or_default();
        assert_eq!(errors.iter().map(|e| (e.field.as_str(), e.code())).collect::<Vec<_>>(), [("skills", "too_many")]);
    }

    #[test]
    fn rejects_bad_phone_and_repeated_skills() {
        let d = DriverInput { name: "陳大文".into(), phone: Some("call me".into()), skills: vec!["a".into(), "a".into()], active: Some(false) };
        let fields: Vec<String> = d.validate().err().unwrap_or_default().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["phone", "skills[1]"]);
    }
}
