//! Evaluating a flag for one subject at one instant, locally and without I/O:
//!
//! 1. a killed flag (`enabled: false`) answers its kind's kill variant (`off`, `legacy_only`),
//!    whatever else it says;
//! 2. the first targeting rule that matches gives its variant;
//! 3. a subject inside the rollout gets the rollout's variant;
//! 4. otherwise the default: the latest schedule step at or before the instant, or the flag's
//!    own default before the first step.
//!
//! The rollout buckets a subject by SHA-256 of the flag's key and the subject's key (its
//! customer, else its user), so a subject keeps its bucket across processes, restarts and
//! releases (Rust's `DefaultHasher` promises none of that), buckets of different flags are
//! independent, and raising the percentage only ever adds subjects.

use crate::validate::{Flag, ALL_BASIS_POINTS};
use crate::variant::Variant;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Who is asking, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context<'a> {
    /// The signed-in user's role (`dispatcher`), if any.
    pub role: Option<&'a str>,
    /// The branch (depot id) the work belongs to, if any.
    pub branch: Option<i64>,
    /// The customer the work is for, if any.
    pub customer: Option<i64>,
    /// The signed-in user's id, if any.
    pub user: Option<i64>,
    /// The instant of the evaluation (schedules are read against it).
    pub now: DateTime<Utc>,
}

impl<'a> Context<'a> {
    /// A context with no subject at `now`.
    pub fn at(now: DateTime<Utc>) -> Context<'a> {
        Context { role: None, branch: None, customer: None, user: None, now }
    }

    /// With the role.
    pub fn role(self, role: &'a str) -> Context<'a> {
        Context { role: Some(role), ..self }
    }

    /// With the branch.
    pub fn branch(self, branch: i64) -> Context<'a> {
        Context { branch: Some(branch), ..self }
    }

    /// With the customer.
    pub fn customer(self, customer: i64) -> Context<'a> {
        Context { customer: Some(customer), ..self }
    }

    /// With the user.
    pub fn user(self, user: i64) -> Context<'a> {
        Context { user: Some(user), ..self }
    }

    /// The key the rollout buckets this subject by: `customer:ID`, else `user:ID`; none without
    /// either (such a subject is outside every rollout).
    pub fn subject_key(&self) -> Option<String> {
        match (self.customer, self.user) {
            (Some(c), _) => Some(format!("customer:{c}")),
            (None, Some(u)) => Some(format!("user:{u}")),
            (None, None) => None,
        }
    }
}

/// Why a flag answered what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// The kill switch is on.
    Killed,
    /// Targeting rule number `rule` (from 0) matched.
    Rule {
        /// Its index in `rules`.
        rule: usize,
    },
    /// The subject is inside the rollout.
    Rollout,
    /// A schedule step set the default.
    Schedule,
    /// The flag's own default.
    Default,
}

/// What a flag answered, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evaluation {
    /// The answer.
    pub variant: Variant,
    /// Why.
    #[serde(flatten)]
    pub reason: Reason,
}

/// The bucket of `subject` for the flag `key`, 0 to 9999: the first 8 bytes of
/// SHA-256(`key` NUL `subject`) as a big-endian integer, modulo 10000.
pub fn bucket(key: &str, subject: &str) -> u16 {
    let digest = Sha256::new().chain_update(key.as_bytes()).chain_update([0]).chain_update(subject.as_bytes()).finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // The remainder is below 10000: it fits.
    u16::try_from(u64::from_be_bytes(first) % u64::from(ALL_BASIS_POINTS)).unwrap_or(0)
}

/// Whether `rule` matches `ctx`: each condition it lists holds.
fn matches(rule: &crate::validate::Rule, ctx: &Context<'_>) -> bool {
    let role = rule.roles.is_empty() || ctx.role.is_some_and(|r| rule.roles.binary_search_by(|x| x.as_str().cmp(r)).is_ok());
    let branch = rule.branches.is_empty() || ctx.branch.is_some_and(|b| rule.branches.binary_search(&b).is_ok());
    let customer = rule.customers.is_empty() || ctx.customer.is_some_and(|c| rule.customers.binary_search(&c).is_ok());
    role && branch && customer
}

/// Evaluates `flag` for `ctx` (see the module's documentation for the order).
pub fn evaluate(flag: &Flag, ctx: &Context<'_>) -> Evaluation {
    if !flag.enabled() {
        return Evaluation { variant: flag.kind().kill_variant(), reason: Reason::Killed };
    }
    if let Some((i, rule)) = flag.rules().iter().enumerate().find(|(_, r)| matches(r, ctx)) {
        return Evaluation { variant: rule.variant, reason: Reason::Rule { rule: i } };
    }
    if let (Some(rollout), Some(subject)) = (flag.rollout(), ctx.subject_key()) {
        if bucket(flag.key(), &subject) < rollout.basis_points {
            return Evaluation { variant: rollout.variant, reason: Reason::Rollout };
        }
    }
    // The schedule is sorted: the last step at or before now.
    let steps = flag.schedule();
    match steps.partition_point(|s| s.at <= ctx.now) {
        0 => Evaluation { variant: flag.default(), reason: Reason::Default },
        n => Evaluation { variant: steps[n - 1].default, reason: Reason::Schedule },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{FlagDefinition, RolloutDefinition, RuleDefinition, StepDefinition};
    use chrono::TimeZone;

    fn flag(edit: impl FnOnce(&mut FlagDefinition)) -> Flag {
        let mut d = FlagDefinition {
            key: "payments.bank_fetch".into(),
            description: String::new(),
            kind: "boolean".into(),
            enabled: true,
            default: "off".into(),
            rules: Vec::new(),
            rollout: None,
            schedule: Vec::new(),
        };
        edit(&mut d);
        d.validate().expect("valid")
    }

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 5, 4, 0, 0).single().expect("a time")
    }

    #[test]
    fn first_matching_rule_wins_and_every_listed_condition_must_hold() {
        let f = flag(|d| {
            d.rules = vec![
                RuleDefinition { roles: vec!["driver".into()], branches: vec![3], variant: "on".into(), ..RuleDefinition::default() },
                RuleDefinition { customers: vec![42], variant: "on".into(), ..RuleDefinition::default() },
                RuleDefinition { roles: vec!["driver".into()], variant: "off".into(), ..RuleDefinition::default() },
            ];
        });
        let at = Context::at(noon());
        assert_eq!(evaluate(&f, &at.role("driver").branch(3)).reason, Reason::Rule { rule: 0 });
        assert_eq!(evaluate(&f, &at.role("driver").branch(4)).reason, Reason::Rule { rule: 2 }, "branch 4 misses rule 0");
        assert_eq!(evaluate(&f, &at.role("driver").customer(42)).reason, Reason::Rule { rule: 1 });
        assert_eq!(evaluate(&f, &at.branch(3)), Evaluation { variant: Variant::Off, reason: Reason::Default }, "no role, no match");
    }

    #[test]
    fn rollout_takes_the_subjects_below_its_share_by_customer_else_user() {
        let f = flag(|d| d.rollout = Some(RolloutDefinition { basis_points: 5000, variant: "on".into() }));
        let at = Context::at(noon());
        let inside = (1..1000).filter(|c| evaluate(&f, &at.customer(*c)).reason == Reason::Rollout).count();
        assert!((400..600).contains(&inside), "about half of 999 customers: {inside}");
        assert_eq!(evaluate(&f, &at).reason, Reason::Default, "no subject, no rollout");
        let c = 7;
        let by_customer = evaluate(&f, &at.customer(c).user(1)).variant;
        assert_eq!(evaluate(&f, &at.customer(c).user(2)).variant, by_customer, "the customer decides, not the user");
        assert_eq!(at.user(9).subject_key().as_deref(), Some("user:9"));
    }

    #[test]
    fn buckets_are_fixed_values_of_sha_256() {
        // Pinned: a change here would move subjects in and out of every running rollout.
        assert_eq!(bucket("payments.bank_fetch", "customer:1"), bucket("payments.bank_fetch", "customer:1"));
        let pinned = [bucket("legacy.customers", "customer:1"), bucket("legacy.customers", "user:1"), bucket("legacy.orders", "customer:1")];
        assert_eq!(pinned, PINNED);
    }

    /// The buckets of `buckets_are_fixed_values_of_sha_256`, computed once (and checked with
    /// Python's `hashlib`: `int.from_bytes(sha256(b"legacy.customers\0customer:1").digest()[:8], "big") % 10000`).
    const PINNED: [u16; 3] = [6989, 2891, 6478];

    #[test]
    fn schedule_sets_the_default_from_each_step_on() {
        let f = flag(|d| {
            d.schedule = vec![
                StepDefinition { at: "2027-01-05T12:00".into(), default: "on".into() },
                StepDefinition { at: "2027-01-06T12:00".into(), default: "off".into() },
            ];
        });
        let at = |s: &str| Context::at(crate::validate::parse_instant(s).expect("instant"));
        assert_eq!(evaluate(&f, &at("2027-01-05T11:59:59")), Evaluation { variant: Variant::Off, reason: Reason::Default });
        assert_eq!(evaluate(&f, &at("2027-01-05T12:00")), Evaluation { variant: Variant::On, reason: Reason::Schedule });
        assert_eq!(evaluate(&f, &at("2027-01-06T12:00")), Evaluation { variant: Variant::Off, reason: Reason::Schedule });
    }

    #[test]
    fn a_killed_flag_answers_its_kill_variant_whatever_it_says() {
        let f = flag(|d| {
            d.enabled = false;
            d.default = "on".into();
            d.rules = vec![RuleDefinition { customers: vec![1], variant: "on".into(), ..RuleDefinition::default() }];
        });
        assert_eq!(evaluate(&f, &Context::at(noon()).customer(1)), Evaluation { variant: Variant::Off, reason: Reason::Killed });
        let json = serde_json::to_value(evaluate(&f, &Context::at(noon()))).expect("serialises");
        assert_eq!(json, serde_json::json!({ "variant": "off", "reason": "killed" }));
        let rule = serde_json::to_value(Evaluation { variant: Variant::On, reason: Reason::Rule { rule: 2 } }).expect("serialises");
        assert_eq!(rule, serde_json::json!({ "variant": "on", "reason": "rule", "rule": 2 }));
    }
}
