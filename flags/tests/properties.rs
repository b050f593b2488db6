//! Properties of evaluation over random flags and subjects: buckets are stable and spread,
//! raising a rollout only adds subjects, the kill switch beats everything, and a schedule's
//! answer depends on its steps, not on the order they were written in.

use chrono::{DateTime, Duration, TimeZone, Utc};
use flags::{bucket, evaluate, Context, FlagDefinition, Reason, RolloutDefinition, RuleDefinition, StepDefinition, Variant};
use proptest::prelude::*;

fn base(kind: &str, default: &str) -> FlagDefinition {
    FlagDefinition {
        key: "legacy.orders".into(),
        description: String::new(),
        kind: kind.into(),
        enabled: true,
        default: default.into(),
        rules: Vec::new(),
        rollout: None,
        schedule: Vec::new(),
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().expect("a time")
}

const STAGES: [&str; 4] = ["legacy_only", "dual_write", "new_primary", "legacy_off"];

/// A subject: role, branch, customer, user (each maybe absent).
fn subject() -> impl Strategy<Value = (Option<usize>, Option<i64>, Option<i64>, Option<i64>)> {
    (proptest::option::of(0..3usize), proptest::option::of(1..5i64), proptest::option::of(1..50i64), proptest::option::of(1..50i64))
}

const ROLES: [&str; 3] = ["dispatcher", "driver", "analyst"];

fn context((role, branch, customer, user): (Option<usize>, Option<i64>, Option<i64>, Option<i64>), now: DateTime<Utc>) -> Context<'static> {
    Context { role: role.map(|r| ROLES[r]), branch, customer, user, now }
}

/// A random stage flag: rules over the same small universes as [`subject`], a rollout and a
/// schedule of up to five steps within a year of [`start`].
fn any_flag() -> impl Strategy<Value = FlagDefinition> {
    let rule = (proptest::collection::vec(0..3usize, 0..2), proptest::collection::vec(1..5i64, 0..2), proptest::collection::vec(1..50i64, 0..3), 0..4usize);
    let rules = proptest::collection::vec(rule, 0..4);
    let rollout = proptest::option::of((0..=10_000i64, 0..4usize));
    let steps = proptest::collection::btree_map(0..365i64, 0..4usize, 0..5);
    (rules, rollout, steps, 0..4usize, any::<bool>()).prop_map(|(rules, rollout, steps, default, enabled)| {
        let mut d = base("stage", STAGES[default]);
        d.enabled = enabled;
        d.rules = rules
            .into_iter()
            .filter(|(roles, branches, customers, _)| !(roles.is_empty() && branches.is_empty() && customers.is_empty()))
            .map(|(roles, branches, customers, v)| RuleDefinition {
                roles: roles.into_iter().map(|r| ROLES[r].to_owned()).collect(),
                branches,
                customers,
                variant: STAGES[v].into(),
            })
            .collect();
        d.rollout = rollout.map(|(basis_points, v)| RolloutDefinition { basis_points, variant: STAGES[v].into() });
        d.schedule = steps.into_iter().map(|(day, v)| StepDefinition { at: (start() + Duration::days(day)).to_rfc3339(), default: STAGES[v].into() }).collect();
        d
    })
}

proptest! {
    #[test]
    fn buckets_are_stable_and_below_ten_thousand(key in "[a-z]{1,8}\\.[a-z_]{1,8}", subject in "(customer|user):[0-9]{1,9}") {
        let b = bucket(&key, &subject);
        prop_assert!(b < 10_000);
        prop_assert_eq!(b, bucket(&key, &subject));
    }

    #[test]
    fn raising_the_rollout_only_adds_subjects(low in 0..=10_000i64, raise in 0..=10_000i64, customer in 1..1_000_000i64) {
        let high = (low + raise).min(10_000);
        let mut d = base("boolean", "off");
        let at = |bp: i64, d: &mut FlagDefinition| {
            d.rollout = Some(RolloutDefinition { basis_points: bp, variant: "on".into() });
            evaluate(&d.validate().expect("valid"), &Context::at(start()).customer(customer)).variant
        };
        let before = at(low, &mut d);
        let after = at(high, &mut d);
        prop_assert!(before == Variant::Off || after == Variant::On, "in at {} bp, out at {} bp", low, high);
    }

    #[test]
    fn the_kill_switch_beats_everything(d in any_flag(), who in subject(), day in 0..400i64) {
        let flag = d.validate().expect("valid").with_enabled(false);
        let e = evaluate(&flag, &context(who, start() + Duration::days(day)));
        prop_assert_eq!((e.variant, e.reason), (Variant::LegacyOnly, Reason::Killed));
    }

    #[test]
    fn a_schedule_answers_the_same_in_any_written_order(d in any_flag(), who in subject(), day in -1..400i64, seed in any::<u64>()) {
        let flag = d.validate().expect("valid");
        let mut shuffled = d.clone();
        // A deterministic shuffle of the steps (rotation and reversal by the seed).
        let n = shuffled.schedule.len().max(1);
        shuffled.schedule.rotate_left(usize::try_from(seed % n as u64).unwrap_or(0));
        if seed % 2 == 1 {
            shuffled.schedule.reverse();
        }
        let other = shuffled.validate().expect("valid");
        let now = start() + Duration::days(day) + Duration::hours(1);
        prop_assert_eq!(evaluate(&flag, &context(who, now)), evaluate(&other, &context(who, now)));
        // And the answer is the latest step at or before now (when nothing earlier decides).
        let e = evaluate(&flag, &context(who, now));
        if e.reason == Reason::Schedule || e.reason == Reason::Default {
            let latest = flag.schedule().iter().filter(|s| s.at <= now).max_by_key(|s| s.at);
            prop_assert_eq!(e.variant, latest.map_or(flag.default(), |s| s.default));
            prop_assert_eq!(e.reason == Reason::Schedule, latest.is_some());
        }
    }

    #[test]
    fn evaluation_is_deterministic_and_the_variant_belongs_to_the_kind(d in any_flag(), who in subject(), day in 0..400i64) {
        let flag = d.validate().expect("valid");
        let ctx = context(who, start() + Duration::days(day));
        let e = evaluate(&flag, &ctx);
        prop_assert_eq!(e, evaluate(&flag, &ctx));
        prop_assert!(e.variant.stage().is_some());
        prop_assert_eq!(flag.definition().validate().expect("round trip"), flag);
    }
}
