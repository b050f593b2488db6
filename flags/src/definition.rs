//! A flag as written (JSON): what an operator sends and what is stored. Variants, kinds and
//! times are text here, so that [`FlagDefinition::validate`](crate::FlagDefinition::validate)
//! can name every bad one at once instead of stopping at the first the parser meets.
//!
//! ```json
//! { "key": "legacy.customers", "description": "Customers move off the old system",
//!   "kind": "stage", "enabled": true, "default": "dual_write",
//!   "rules": [{ "branches": [3], "variant": "new_primary" }],
//!   "rollout": { "basis_points": 2500, "variant": "new_primary" },
//!   "schedule": [{ "at": "2027-01-05T06:00:00+08:00", "default": "new_primary" }] }
//! ```

use serde::{Deserialize, Serialize};

/// A flag as written, before validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FlagDefinition {
    /// Lower-case dotted name: the module, then the feature (`legacy.customers`,
    /// `payments.bank_fetch`). Required (a request may leave it to its path).
    #[serde(default)]
    pub key: String,
    /// What the flag switches, for the people who flip it.
    #[serde(default)]
    pub description: String,
    /// `boolean` (variants `off`, `on`) or `stage` (`legacy_only`, `dual_write`,
    /// `new_primary`, `legacy_off`).
    pub kind: String,
    /// `false` is the kill switch: the flag answers `off` (or `legacy_only`) whatever its rules say.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The variant when no rule, rollout or schedule step says otherwise.
    pub default: String,
    /// Targeting rules, tried in order; the first that matches gives its variant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleDefinition>,
    /// A share of the subjects (by customer, else by user) that gets another variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutDefinition>,
    /// Changes of the default at given instants: at time t the latest step at or before t holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<StepDefinition>,
}

fn enabled_by_default() -> bool {
    true
}

/// A targeting rule as written: it matches a subject when every condition it lists holds (a role
/// among `roles`, a branch among `branches`, a customer among `customers`); an empty list is no
/// condition, and a rule needs at least one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleDefinition {
    /// Roles (`dispatcher`, `driver`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Branches, by depot id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<i64>,
    /// Customers, by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<i64>,
    /// The variant a matching subject gets.
    pub variant: String,
}

/// A percentage rollout as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RolloutDefinition {
    /// The share of subjects, in basis points (0 to 10000 = 100 %).
    pub basis_points: i64,
    /// The variant those subjects get.
    pub variant: String,
}

/// A schedule step as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StepDefinition {
    /// When: ISO 8601 in Taipei time (`2027-01-05T06:00`), or with an offset
    /// (`2027-01-05T06:00:00+08:00`, `2027-01-04T22:00:00Z`). Stored in UTC.
    pub at: String,
    /// The default from then on.
    pub default: String,
}
