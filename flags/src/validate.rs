//! A validated flag: [`FlagDefinition::validate`] checks every field of a definition and names
//! every bad one at once; the [`Flag`] it builds is read-only and knows its variants, times and
//! sets as typed values, ready to be evaluated many times a second.

use crate::definition::{FlagDefinition, RolloutDefinition, RuleDefinition, StepDefinition};
use crate::variant::{Kind, Variant};
use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// Longest key, in characters.
pub const MAX_KEY: usize = 64;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 500;
/// Most targeting rules of a flag.
pub const MAX_RULES: usize = 100;
/// Most roles, branches or customers one rule lists.
pub const MAX_RULE_ENTRIES: usize = 1000;
/// Most schedule steps of a flag.
pub const MAX_STEPS: usize = 100;
/// The whole population, in basis points.
pub const ALL_BASIS_POINTS: u16 = 10_000;

/// The names of every variant of every kind (what a variant may be called when the kind itself
/// is unknown).
const ALL_VARIANT_NAMES: &[&str] = &["off", "on", "legacy_only", "dual_write", "new_primary", "legacy_off"];

/// What is wrong with one field of a definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Missing or blank.
    Required,
    /// Not of the expected shape (`expected` is an example).
    Pattern {
        /// An example of a good value.
        expected: &'static str,
    },
    /// Longer than `max` characters.
    TooLong {
        /// The most characters.
        max: usize,
    },
    /// More than `max` entries.
    TooMany {
        /// The most entries.
        max: usize,
    },
    /// Not one of `allowed` (an unknown kind, or a variant the flag's kind does not have).
    NotAllowed {
        /// The accepted names.
        allowed: &'static [&'static str],
    },
    /// Outside `min..=max`.
    OutOfRange {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// The same schedule instant twice.
    Duplicate,
    /// A targeting rule with no condition (it would match everyone: that is the default's job).
    EmptyRule,
    /// A control character (other than tab and line breaks in the description).
    ControlCharacter,
}

impl Problem {
    /// The stable code (`required`, `not_allowed`, …), the same as the service's field codes.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Required => "required",
            Problem::Pattern { .. } => "pattern",
            Problem::TooLong { .. } => "too_long",
            Problem::TooMany { .. } => "too_many",
            Problem::NotAllowed { .. } => "not_allowed",
            Problem::OutOfRange { .. } => "out_of_range",
            Problem::Duplicate => "duplicate",
            Problem::EmptyRule => "empty_rule",
            Problem::ControlCharacter => "control_character",
        }
    }
}

/// One bad field: its JSON path (`rules[2].variant`) and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagError {
    /// JSON path of the field.
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl FlagError {
    fn new(field: impl Into<String>, problem: Problem) -> FlagError {
        FlagError { field: field.into(), problem }
    }
}

impl std::fmt::Display for FlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem.code())
    }
}

impl std::error::Error for FlagError {}

/// A targeting rule: every listed condition must hold (sets kept sorted, without repeats).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Roles, or empty for any.
    pub roles: Vec<String>,
    /// Branches (depot ids), or empty for any.
    pub branches: Vec<i64>,
    /// Customer ids, or empty for any.
    pub customers: Vec<i64>,
    /// What a matching subject gets.
    pub variant: Variant,
}

/// A percentage rollout: subjects whose bucket is below `basis_points` get `variant`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rollout {
    /// 0 to 10000.
    pub basis_points: u16,
    /// Their variant.
    pub variant: Variant,
}

/// A schedule step: from `at` on, the default is `default`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The instant (UTC).
    pub at: DateTime<Utc>,
    /// The default from then on.
    pub default: Variant,
}

/// A valid flag, built only by [`FlagDefinition::validate`]; read-only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    key: String,
    description: String,
    kind: Kind,
    enabled: bool,
    default: Variant,
    rules: Vec<Rule>,
    rollout: Option<Rollout>,
    /// Sorted by `at`, each instant once.
    schedule: Vec<Step>,
}

impl Flag {
    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }
    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }
    /// `false` when killed.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// The default before any schedule step.
    pub fn default(&self) -> Variant {
        self.default
    }
    /// The targeting rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
    /// The rollout, if any.
    pub fn rollout(&self) -> Option<Rollout> {
        self.rollout
    }
    /// The schedule, oldest step first.
    pub fn schedule(&self) -> &[Step] {
        &self.schedule
    }

    /// The same flag with the kill switch set (`enabled: false`) or released.
    pub fn with_enabled(&self, enabled: bool) -> Flag {
        Flag { enabled, ..self.clone() }
    }

    /// The flag as written, normalised: sets sorted, schedule in order, instants in UTC.
    /// Validating it gives the same flag back.
    pub fn definition(&self) -> FlagDefinition {
        FlagDefinition {
            key: self.key.clone(),
            description: self.description.clone(),
            kind: self.kind.as_str().to_owned(),
            enabled: self.enabled,
            default: self.default.as_str().to_owned(),
            rules: self
                .rules
                .iter()
                .map(|r| RuleDefinition {
                    roles: r.roles.clone(),
                    branches: r.branches.clone(),
                    customers: r.customers.clone(),
                    variant: r.variant.as_str().to_owned(),
                })
                .collect(),
            rollout: self.rollout.map(|r| RolloutDefinition { basis_points: i64::from(r.basis_points), variant: r.variant.as_str().to_owned() }),
            schedule: self
                .schedule
                .iter()
                .map(|s| StepDefinition { at: s.at.to_rfc3339_opts(SecondsFormat::AutoSi, true), default: s.default.as_str().to_owned() })
                .collect(),
        }
    }
}

/// Whether `key` is lower-case and dotted: two or more segments of `a-z`, `0-9` and `_`, each
/// starting with a letter (`legacy.customers`, `payments.bank_fetch`).
pub fn is_valid_key(key: &str) -> bool {
    let segment = |s: &str| s.starts_with(|c: char| c.is_ascii_lowercase()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    key.len() <= MAX_KEY && key.split('.').count() >= 2 && key.split('.').all(segment)
}

/// Taipei's offset (UTC+8 all year: Taiwan has kept no daylight saving time since 1979).
fn taipei() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Reads an instant: RFC 3339 with an offset (`2027-01-05T06:00:00+08:00`, `…Z`), or an ISO
/// date and time without one (`2027-01-05T06:00`, seconds optional), taken as Taipei time.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .and_then(|local| taipei().from_local_datetime(&local).single())
        .map(|at| at.with_timezone(&Utc))
}

/// Checks a variant's name against the flag's kind (against every kind's names when the kind
/// itself is bad, so that only names that are no variant at all are reported then).
fn variant(errors: &mut Vec<FlagError>, field: String, name: &str, kind: Option<Kind>) -> Variant {
    let found = match kind {
        Some(kind) => kind.variant(name.trim()),
        None => Variant::parse(name.trim()),
    };
    found.unwrap_or_else(|| {
        let problem =
            if name.trim().is_empty() { Problem::Required } else { Problem::NotAllowed { allowed: kind.map_or(ALL_VARIANT_NAMES, Kind::variant_names) } };
        errors.push(FlagError::new(field, problem));
        Variant::Off
    })
}

/// Checks a list of ids (each positive); returns them sorted without repeats.
fn ids(errors: &mut Vec<FlagError>, field: String, list: &[i64]) -> Vec<i64> {
    if list.len() > MAX_RULE_ENTRIES {
        errors.push(FlagError::new(field, Problem::TooMany { max: MAX_RULE_ENTRIES }));
        return Vec::new();
    }
    for (i, _) in list.iter().enumerate().filter(|(_, id)| **id <= 0) {
        errors.push(FlagError::new(format!("{field}[{i}]"), Problem::OutOfRange { min: 1, max: i64::MAX }));
    }
    let mut out: Vec<i64> = list.iter().copied().filter(|id| *id > 0).collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn rule(errors: &mut Vec<FlagError>, i: usize, r: &RuleDefinition, kind: Option<Kind>) -> Rule {
    let field = |name: &str| format!("rules[{i}].{name}");
    let roles = if r.roles.len() > MAX_RULE_ENTRIES {
        errors.push(FlagError::new(field("roles"), Problem::TooMany { max: MAX_RULE_ENTRIES }));
        Vec::new()
    } else {
        let mut roles = Vec::new();
        for (j, role) in r.roles.iter().enumerate() {
            let role = role.trim();
            if (1..=32).contains(&role.len()) && role.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                roles.push(role.to_owned());
            } else {
                errors.push(FlagError::new(format!("{}[{j}]", field("roles")), Problem::Pattern { expected: "dispatcher" }));
            }
        }
        roles.sort();
        roles.dedup();
        roles
    };
    let branches = ids(errors, field("branches"), &r.branches);
    let customers = ids(errors, field("customers"), &r.customers);
    if r.roles.is_empty() && r.branches.is_empty() && r.customers.is_empty() {
        errors.push(FlagError::new(format!("rules[{i}]"), Problem::EmptyRule));
    }
    let variant = variant(errors, field("variant"), &r.variant, kind);
    Rule { roles, branches, customers, variant }
}

impl FlagDefinition {
    /// Checks every field and builds the flag, or names every bad field: the key's shape, the
    /// kind, each variant against the kind, each rule (a condition at least, positive ids, role
    /// names), the rollout's basis points (0 to 10000), each schedule step's instant (readable,
    /// not twice), and the limits on lengths and counts.
    pub fn validate(&self) -> Result<Flag, Vec<FlagError>> {
        let mut errors = Vec::new();
        let key = self.key.trim();
        if key.is_empty() {
            errors.push(FlagError::new("key", Problem::Required));
        } else if key.chars().count() > MAX_KEY {
            errors.push(FlagError::new("key", Problem::TooLong { max: MAX_KEY }));
        } else if !is_valid_key(key) {
            errors.push(FlagError::new("key", Problem::Pattern { expected: "legacy.customers" }));
        }
        let description = self.description.trim();
        if description.chars().count() > MAX_DESCRIPTION {
            errors.push(FlagError::new("description", Problem::TooLong { max: MAX_DESCRIPTION }));
        } else if description.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
            errors.push(FlagError::new("description", Problem::ControlCharacter));
        }
        let kind = Kind::parse(self.kind.trim());
        if kind.is_none() {
            let problem = if self.kind.trim().is_empty() { Problem::Required } else { Problem::NotAllowed { allowed: Kind::NAMES } };
            errors.push(FlagError::new("kind", problem));
        }
        let default = variant(&mut errors, "default".into(), &self.default, kind);
        let rules = if self.rules.len() > MAX_RULES {
            errors.push(FlagError::new("rules", Problem::TooMany { max: MAX_RULES }));
            Vec::new()
        } else {
            self.rules.iter().enumerate().map(|(i, r)| rule(&mut errors, i, r, kind)).collect()
        };
        let rollout = self.rollout.as_ref().map(|r| {
            let max = i64::from(ALL_BASIS_POINTS);
            if !(0..=max).contains(&r.basis_points) {
                errors.push(FlagError::new("rollout.basis_points", Problem::OutOfRange { min: 0, max }));
            }
            let basis_points = u16::try_from(r.basis_points.clamp(0, max)).unwrap_or(ALL_BASIS_POINTS);
            Rollout { basis_points, variant: variant(&mut errors, "rollout.variant".into(), &r.variant, kind) }
        });
        let mut schedule = Vec::new();
        if self.schedule.len() > MAX_STEPS {
            errors.push(FlagError::new("schedule", Problem::TooMany { max: MAX_STEPS }));
        } else {
            for (i, s) in self.schedule.iter().enumerate() {
                let default = variant(&mut errors, format!("schedule[{i}].default"), &s.default, kind);
                match parse_instant(&s.at) {
                    None if s.at.trim().is_empty() => errors.push(FlagError::new(format!("schedule[{i}].at"), Problem::Required)),
                    None => errors.push(FlagError::new(format!("schedule[{i}].at"), Problem::Pattern { expected: "2027-01-05T06:00" })),
                    Some(at) if schedule.iter().any(|s: &Step| s.at == at) => {
                        errors.push(FlagError::new(format!("schedule[{i}].at"), Problem::Duplicate));
                    }
                    Some(at) => schedule.push(Step { at, default }),
                }
            }
            schedule.sort_by_key(|s| s.at);
        }
        match kind {
            Some(kind) if errors.is_empty() => {
                Ok(Flag { key: key.to_owned(), description: description.to_owned(), kind, enabled: self.enabled, default, rules, rollout, schedule })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition() -> FlagDefinition {
        FlagDefinition {
            key: "legacy.customers".into(),
            description: "Customers move off the old system".into(),
            kind: "stage".into(),
            enabled: true,
            default: "dual_write".into(),
            rules: vec![RuleDefinition { branches: vec![3, 1, 3], variant: "new_primary".into(), ..RuleDefinition::default() }],
            rollout: Some(RolloutDefinition { basis_points: 2500, variant: "new_primary".into() }),
            schedule: vec![
                StepDefinition { at: "2027-02-01T06:00".into(), default: "legacy_off".into() },
                StepDefinition { at: "2027-01-05T06:00:00+08:00".into(), default: "new_primary".into() },
            ],
        }
    }

    fn fields(errors: &[FlagError]) -> Vec<(&str, &str)> {
        errors.iter().map(|e| (e.field.as_str(), e.problem.code())).collect()
    }

    #[test]
    fn builds_a_normalised_flag_that_round_trips() {
        let flag = definition().validate().expect("valid");
        assert_eq!(flag.rules()[0].branches, [1, 3], "sorted, each once");
        let steps: Vec<String> = flag.schedule().iter().map(|s| s.at.to_rfc3339()).collect();
        assert_eq!(steps, ["2027-01-04T22:00:00+00:00", "2027-01-31T22:00:00+00:00"], "in order, Taipei times in UTC");
        let written = flag.definition();
        assert_eq!(written.schedule[0].at, "2027-01-04T22:00:00Z");
        assert_eq!(written.validate().as_ref(), Ok(&flag));
        let json = serde_json::to_string(&written).expect("serialises");
        let back: FlagDefinition = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, written);
    }

    #[test]
    fn names_every_bad_field_at_once() {
        let mut d = definition();
        d.key = "Legacy Customers".into();
        d.default = "on".into();
        d.rules.push(RuleDefinition { customers: vec![0], roles: vec!["Dispatcher".into()], variant: "sideways".into(), ..RuleDefinition::default() });
        d.rules.push(RuleDefinition { variant: "legacy_off".into(), ..RuleDefinition::default() });
        d.rollout = Some(RolloutDefinition { basis_points: 10_001, variant: "dual_write".into() });
        d.schedule.push(StepDefinition { at: "2027-01-04T22:00:00Z".into(), default: "legacy_off".into() });
        d.schedule.push(StepDefinition { at: "next tuesday".into(), default: "legacy_off".into() });
        let errors = d.validate().expect_err("invalid");
        assert_eq!(
            fields(&errors),
            [
                ("key", "pattern"),
                ("default", "not_allowed"),
                ("rules[1].roles[0]", "pattern"),
                ("rules[1].customers[0]", "out_of_range"),
                ("rules[1].variant", "not_allowed"),
                ("rules[2]", "empty_rule"),
                ("rollout.basis_points", "out_of_range"),
                ("schedule[2].at", "duplicate"),
                ("schedule[3].at", "pattern"),
            ]
        );
        assert_eq!(errors[1].problem, Problem::NotAllowed { allowed: &["legacy_only", "dual_write", "new_primary", "legacy_off"] });
    }

    #[test]
    fn checks_variants_by_name_alone_when_the_kind_is_unknown() {
        let mut d = definition();
        d.kind = "percentage".into();
        d.default = "maybe".into();
        let errors = d.validate().expect_err("invalid");
        assert_eq!(fields(&errors), [("kind", "not_allowed"), ("default", "not_allowed")], "the stage variants elsewhere are names of some kind");
        d.kind = String::new();
        d.default = String::new();
        assert_eq!(fields(&d.validate().expect_err("invalid")), [("kind", "required"), ("default", "required")]);
    }

    #[test]
    fn accepts_lower_case_dotted_keys_only() {
        for good in ["legacy.customers", "payments.bank_fetch", "a.b.c2"] {
            assert!(is_valid_key(good), "{good}");
        }
        for bad in ["legacy", "legacy.", ".customers", "Legacy.customers", "legacy.2nd", "legacy-customers.x", "a..b", "a.b c"] {
            assert!(!is_valid_key(bad), "{bad}");
        }
        let long = format!("a.{}", "b".repeat(MAX_KEY));
        let mut d = definition();
        d.key = long;
        assert_eq!(fields(&d.validate().expect_err("too long")), [("key", "too_long")]);
    }

    #[test]
    fn reads_instants_in_taipei_time_unless_an_offset_is_given() {
        let utc = |s: &str| parse_instant(s).map(|t| t.to_rfc3339());
        assert_eq!(utc("2027-01-05T06:00").as_deref(), Some("2027-01-04T22:00:00+00:00"));
        assert_eq!(utc("2027-01-05T06:00:30").as_deref(), Some("2027-01-04T22:00:30+00:00"));
        assert_eq!(utc("2027-01-05T06:00:00Z").as_deref(), Some("2027-01-05T06:00:00+00:00"));
        assert_eq!(utc("2027-01-05T06:00:00+09:00").as_deref(), Some("2027-01-04T21:00:00+00:00"));
        assert_eq!(utc("2027-01-05"), None);
        assert_eq!(utc("2027-13-05T06:00"), None);
    }

    #[test]
    fn refuses_more_rules_or_steps_than_the_limits_without_checking_each() {
        let mut d = definition();
        d.rules = vec![RuleDefinition::default(); MAX_RULES + 1];
        d.schedule = vec![StepDefinition { at: "x".into(), default: "y".into() }; MAX_STEPS + 1];
        assert_eq!(fields(&d.validate().expect_err("too many")), [("rules", "too_many"), ("schedule", "too_many")]);
    }

    #[test]
    fn kill_switch_copy_keeps_everything_else() {
        let flag = definition().validate().expect("valid");
        let killed = flag.with_enabled(false);
        assert!(!killed.enabled());
        assert_eq!(killed.with_enabled(true), flag);
    }
}
