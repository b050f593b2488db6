//! Feature flags (issue 18), free of any database or network: what a flag is, how it is
//! checked, and how it is evaluated locally. The service stores the definitions, spreads their
//! changes to every replica and audits them (`planner-api`'s `flags` module); this crate decides.
//!
//! - [`variant`]: the two kinds of flag, `boolean` (`off`, `on`) and `stage`, a module's cut-over
//!   from the old system (`legacy_only` → `dual_write` → `new_primary` → `legacy_off`);
//! - [`definition`]: a flag as written (JSON), as operators send it and the service stores it;
//! - [`validate`]: [`FlagDefinition::validate`] names every bad field at once and builds a
//!   read-only [`Flag`];
//! - [`evaluate`]: [`evaluate()`] answers a variant and its [`Reason`] for a subject (role, branch,
//!   customer, user) at an instant: kill switch, targeting rules, percentage rollout on a stable
//!   hash, schedule, default.

pub mod definition;
pub mod evaluate;
pub mod validate;
pub mod variant;

pub use definition::{FlagDefinition, RolloutDefinition, RuleDefinition, StepDefinition};
pub use evaluate::{bucket, evaluate, Context, Evaluation, Reason};
pub use validate::{is_valid_key, parse_instant, Flag, FlagError, Problem, Rollout, Rule, Step};
pub use variant::{Kind, Stage, Variant};
