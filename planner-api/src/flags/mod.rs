//! Feature flags in the service (issue 18, point 6): the definitions live in the database
//! (`feature_flags`, changed by admins through `/v1/flags`, every change in the audit log), and
//! every process keeps a [`FlagSet`], a snapshot in memory that handlers and workers evaluate
//! against without a database round trip ([`FlagSet::is_on`], [`FlagSet::stage`]).
//!
//! [`sync::FlagSync`] keeps the snapshot current: on PostgreSQL each change notifies
//! `luckygas_flags` in its transaction and every replica listens and reloads that flag (and
//! reloads everything after its listening connection comes back); on SQLite the writing process
//! updates its own snapshot at once and polls a change counter for other processes' changes.
//! Flags never written answer their [`builtin`] defaults. The rules of a flag and of its
//! evaluation are the `flags` crate's.

pub mod builtin;
pub mod sync;

use crate::auth::Principal;
use crate::domain::{FieldError, FieldProblem, Role};
use crate::store::flags::FlagRecord;
use crate::store::{Store, StoreError};
use ::flags::{evaluate, Context, Evaluation, Flag, FlagDefinition, Stage, Variant};
use builtin::Builtin;
use chrono::{DateTime, Utc};
use prometheus::{IntCounterVec, Opts, Registry};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A stored flag whose definition is valid, as the snapshot holds it.
#[derive(Clone, Debug)]
pub struct StoredFlag {
    /// The flag.
    pub flag: Flag,
    /// Its version (1 when first written).
    pub version: i64,
}

/// The metrics of flags: `luckygas_flag_evaluations_total{key, variant}` (every evaluation
/// through a [`FlagSet`]) and `luckygas_flag_reloads_total{scope}` (`one`: a flag reloaded after
/// a notification; `all`: the whole set, at start, after a reconnection or a poll that saw a
/// change).
#[derive(Clone, Debug)]
pub struct FlagMetrics {
    evaluations: IntCounterVec,
    reloads: IntCounterVec,
}

impl Default for FlagMetrics {
    fn default() -> Self {
        FlagMetrics::new()
    }
}

impl FlagMetrics {
    /// Fresh counters, registered nowhere yet.
    pub fn new() -> FlagMetrics {
        // Names and label sets are constants: creation cannot fail.
        let evaluations = IntCounterVec::new(Opts::new("luckygas_flag_evaluations_total", "Feature flag evaluations by flag and answer"), &["key", "variant"])
            .expect("valid counter");
        let reloads = IntCounterVec::new(Opts::new("luckygas_flag_reloads_total", "Feature flag reloads from the database, one flag or all"), &["scope"])
            .expect("valid counter");
        for scope in ["one", "all"] {
            reloads.with_label_values(&[scope]);
        }
        FlagMetrics { evaluations, reloads }
    }

    /// Registers the counters in `registry`.
    pub fn register(&self, registry: &Registry) {
        registry.register(Box::new(self.evaluations.clone())).expect("unique metric");
        registry.register(Box::new(self.reloads.clone())).expect("unique metric");
    }

    /// Counts a reload of `scope` (`one` or `all`).
    pub fn reloaded(&self, scope: &str) {
        self.reloads.with_label_values(&[scope]).inc();
    }
}

/// The flags of this process: the stored flags in a snapshot swapped whole on each change (an
/// evaluation clones an `Arc` under a read lock held for nanoseconds), the built-in ones beside.
/// Clones share the snapshot.
#[derive(Clone, Debug)]
pub struct FlagSet {
    stored: Arc<RwLock<Arc<HashMap<String, StoredFlag>>>>,
    builtin: Arc<HashMap<&'static str, Flag>>,
    metrics: FlagMetrics,
}

impl Default for FlagSet {
    fn default() -> Self {
        FlagSet::new(FlagMetrics::new())
    }
}

/// The answer of one flag, where its definition came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FlagAnswer {
    /// The flag.
    pub key: String,
    /// The version evaluated (0: the built-in default, never written).
    pub version: i64,
    /// The answer and why.
    #[serde(flatten)]
    pub evaluation: Evaluation,
}

impl FlagSet {
    /// Only the built-in flags, counting evaluations in `metrics`.
    pub fn new(metrics: FlagMetrics) -> FlagSet {
        let builtin = builtin::BUILTIN.iter().map(|b| (b.key, b.flag())).collect();
        FlagSet { stored: Arc::default(), builtin: Arc::new(builtin), metrics }
    }

    /// The metrics this set counts in.
    pub fn metrics(&self) -> &FlagMetrics {
        &self.metrics
    }

    fn snapshot(&self) -> Arc<HashMap<String, StoredFlag>> {
        Arc::clone(&self.stored.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// The flag `key` as this process knows it, with its version (0: built-in, never written).
    pub fn get(&self, key: &str) -> Option<(Flag, i64)> {
        match self.snapshot().get(key) {
            Some(s) => Some((s.flag.clone(), s.version)),
            None => self.builtin.get(key).map(|f| (f.clone(), 0)),
        }
    }

    /// Evaluates `key` for `ctx`; `None` for a flag that is neither stored nor built in.
    pub fn evaluate(&self, key: &str, ctx: &Context<'_>) -> Option<FlagAnswer> {
        let snapshot = self.snapshot();
        let (flag, version) = match snapshot.get(key) {
            Some(s) => (&s.flag, s.version),
            None => (self.builtin.get(key)?, 0),
        };
        let evaluation = evaluate(flag, ctx);
        self.metrics.evaluations.with_label_values(&[key, evaluation.variant.as_str()]).inc();
        Some(FlagAnswer { key: key.to_owned(), version, evaluation })
    }

    /// The variant of `key` for `ctx`; the kill variant of neither kind (`off`) for an unknown
    /// key, which is logged: code should only ask about built-in flags.
    pub fn variant(&self, key: &str, ctx: &Context<'_>) -> Variant {
        self.evaluate(key, ctx).map(|a| a.evaluation.variant).unwrap_or_else(|| {
            tracing::warn!(key, "evaluated a flag that is neither stored nor built in");
            Variant::Off
        })
    }

    /// Whether the boolean flag `key` is on for `ctx` (for a stage flag: past `legacy_only`).
    pub fn is_on(&self, key: &str, ctx: &Context<'_>) -> bool {
        self.variant(key, ctx).is_on()
    }

    /// The cut-over stage of the stage flag `key` for `ctx`. A boolean flag reads as
    /// `legacy_only` when off and `legacy_off` when on; an unknown one as `legacy_only`.
    pub fn stage(&self, key: &str, ctx: &Context<'_>) -> Stage {
        let variant = self.variant(key, ctx);
        variant.stage().unwrap_or(if variant.is_on() { Stage::LegacyOff } else { Stage::LegacyOnly })
    }

    /// Takes in a stored flag unless the snapshot has a newer version of it already (a reload
    /// that read the row before a local write must not undo it). A definition that no longer
    /// validates (written by another release) is logged and left out: its built-in default, if
    /// any, answers instead.
    pub fn apply(&self, record: &FlagRecord) {
        self.apply_all(std::slice::from_ref(record), false);
    }

    /// Takes in every stored flag, read whole from the database (`complete`), or some of them.
    pub fn apply_all(&self, records: &[FlagRecord], complete: bool) {
        let mut guard = self.stored.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next: HashMap<String, StoredFlag> = if complete { HashMap::new() } else { (**guard).clone() };
        for record in records {
            let flag = match record.definition.validate() {
                Ok(flag) => flag,
                Err(errors) => {
                    tracing::error!(key = %record.definition.key, ?errors, "a stored flag is invalid; it answers its built-in default");
                    continue;
                }
            };
            next.insert(record.definition.key.clone(), StoredFlag { flag, version: record.version });
        }
        // Versions only grow: keep whatever the snapshot had that is newer than what was read.
        for (key, old) in guard.iter() {
            if next.get(key).is_none_or(|new| new.version < old.version) {
                next.insert(key.clone(), old.clone());
            }
        }
        *guard = Arc::new(next);
    }
}

/// The context of a signed-in caller now: their role and user id (branch and customer are the
/// caller's to add).
pub fn context_of(principal: &Principal) -> Context<'static> {
    Context::at(Utc::now()).role(principal.role.as_str()).user(principal.user_id)
}

/// A flag as the API shows it: its definition (stored, or built in), its version and who last
/// changed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FlagView {
    /// The definition.
    #[serde(flatten)]
    pub definition: FlagDefinition,
    /// 0 for a built-in flag never written; then 1, 2, … at each change.
    pub version: i64,
    /// When it last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// Who changed it last.
    pub updated_by: Option<String>,
    /// Whether the code declares it (it then answers its built-in default until written).
    pub builtin: bool,
}

impl FlagView {
    fn stored(r: FlagRecord) -> FlagView {
        let builtin = Builtin::of(&r.definition.key).is_some();
        FlagView { definition: r.definition, version: r.version, updated_at: Some(r.updated_at), updated_by: Some(r.updated_by), builtin }
    }

    fn builtin(b: &Builtin) -> FlagView {
        FlagView { definition: b.definition(), version: 0, updated_at: None, updated_by: None, builtin: true }
    }
}

/// Why a flag could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FlagsError {
    /// Fields of the definition are invalid, each named.
    #[error("invalid flag: {0:?}")]
    Invalid(Vec<FieldError>),
    /// No flag has this key (stored or built in).
    #[error("no such flag")]
    NotFound,
    /// Another writer changed the flag since it was read.
    #[error("the flag changed meanwhile")]
    Conflict,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change made: the flag before (its built-in definition, version 0, when it was never
/// written; none for a new flag the code does not declare) and after.
#[derive(Clone, Debug)]
pub struct Change {
    /// Before.
    pub before: Option<FlagView>,
    /// After.
    pub after: FlagView,
    /// Whether the flag was written for the first time.
    pub created: bool,
}

impl Change {
    /// The audit log's detail of the change: the definitions before and after, and the versions.
    pub fn audit_detail(&self) -> serde_json::Value {
        serde_json::json!({
            "key": self.after.definition.key,
            "before": self.before.as_ref().map(|b| &b.definition),
            "before_version": self.before.as_ref().map_or(0, |b| b.version),
            "after": self.after.definition,
            "after_version": self.after.version,
        })
    }
}

/// The field errors of the flags crate in the service's terms.
fn field_errors(errors: Vec<::flags::FlagError>) -> Vec<FieldError> {
    use ::flags::Problem as P;
    errors
        .into_iter()
        .map(|e| {
            let problem = match e.problem {
                P::Required => FieldProblem::Required,
                P::Pattern { expected } => FieldProblem::Pattern { expected },
                P::TooLong { max } => FieldProblem::TooLong { max },
                P::TooMany { max } => FieldProblem::TooMany { max },
                P::NotAllowed { allowed } => FieldProblem::NotAllowed { allowed },
                // Bounds are basis points and ids: shown as numbers.
                #[allow(clippy::cast_precision_loss)]
                P::OutOfRange { min, max } => FieldProblem::OutOfRange { min: min as f64, max: max as f64 },
                P::Duplicate => FieldProblem::Duplicate,
                P::EmptyRule => FieldProblem::State {
                    code: "empty_rule",
                    zh: "規則至少要有一個條件（角色、分站或客戶）",
                    en: "a rule needs at least one condition (roles, branches or customers)",
                },
                P::ControlCharacter => FieldProblem::ControlCharacter,
            };
            FieldError::new(e.field, problem)
        })
        .collect()
}

/// Checks `definition` as a flag of the service: the crate's rules, plus role names the service
/// knows and, for a built-in flag, its declared kind.
pub fn validate(definition: &FlagDefinition) -> Result<Flag, Vec<FieldError>> {
    let checked = definition.validate();
    let mut errors = match &checked {
        Ok(_) => Vec::new(),
        Err(e) => field_errors(e.clone()),
    };
    for (i, rule) in definition.rules.iter().enumerate() {
        for (j, role) in rule.roles.iter().enumerate() {
            let field = format!("rules[{i}].roles[{j}]");
            if Role::parse(role.trim()).is_none() && !errors.iter().any(|e| e.field == field) {
                errors.push(FieldError::new(field, FieldProblem::NotAllowed { allowed: Role::NAMES }));
            }
        }
    }
    if let Some(b) = Builtin::of(definition.key.trim()) {
        if definition.kind.trim() != b.kind.as_str() && !errors.iter().any(|e| e.field == "kind") {
            let problem =
                FieldProblem::State {
                    code: "builtin_kind", zh: "內建旗標的種類不可變更", en: "is not the kind the code declares for this built-in flag"
                };
            errors.push(FieldError::new("kind", problem));
        }
    }
    match checked {
        Ok(flag) if errors.is_empty() => Ok(flag),
        _ => Err(errors),
    }
}

/// Every flag: the stored ones and the built-in ones never written, by key.
pub async fn list(store: &Store) -> Result<Vec<FlagView>, FlagsError> {
    let mut views: Vec<FlagView> = store.list_flags().await?.into_iter().map(FlagView::stored).collect();
    let unwritten: Vec<FlagView> = builtin::BUILTIN.iter().filter(|b| !views.iter().any(|v| v.definition.key == b.key)).map(FlagView::builtin).collect();
    views.extend(unwritten);
    views.sort_by(|a, b| a.definition.key.cmp(&b.definition.key));
    Ok(views)
}

/// The flag `key` as stored, else as built in.
pub async fn get(store: &Store, key: &str) -> Result<FlagView, FlagsError> {
    match store.get_flag(key).await? {
        Some(r) => Ok(FlagView::stored(r)),
        None => Builtin::of(key).map(FlagView::builtin).ok_or(FlagsError::NotFound),
    }
}

/// Writes `definition` (validated; normalised before it is stored) as `actor`, over the version
/// read now, and takes it into `set` at once.
pub async fn put(store: &Store, set: &FlagSet, definition: &FlagDefinition, actor: &str) -> Result<Change, FlagsError> {
    let flag = validate(definition).map_err(FlagsError::Invalid)?;
    let before = match get(store, flag.key()).await {
        Ok(view) => Some(view),
        Err(FlagsError::NotFound) => None,
        Err(e) => return Err(e),
    };
    write(store, set, before, &flag.definition(), actor).await
}

/// Sets the kill switch of `key` as `actor`: it answers `off` (or `legacy_only`) everywhere
/// within seconds. Works on any stored definition, valid or not. A flag already killed is
/// left as it is (no new version).
pub async fn kill(store: &Store, set: &FlagSet, key: &str, actor: &str) -> Result<Change, FlagsError> {
    let before = get(store, key).await?;
    if !before.definition.enabled {
        return Ok(Change { before: Some(before.clone()), after: before, created: false });
    }
    let definition = FlagDefinition { enabled: false, ..before.definition.clone() };
    write(store, set, Some(before), &definition, actor).await
}

async fn write(store: &Store, set: &FlagSet, before: Option<FlagView>, definition: &FlagDefinition, actor: &str) -> Result<Change, FlagsError> {
    let base = before.as_ref().map_or(0, |b| b.version);
    let record = store.write_flag(definition, base, actor).await.map_err(|e| match e {
        StoreError::VersionConflict => FlagsError::Conflict,
        other => other.into(),
    })?;
    set.apply(&record);
    Ok(Change { before, after: FlagView::stored(record), created: base == 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::flags::RuleDefinition;

    fn record(key: &str, default: &str, version: i64) -> FlagRecord {
        let definition = FlagDefinition { default: default.into(), ..Builtin::of(key).expect("built in").definition() };
        FlagRecord { definition, version, updated_at: Utc::now(), updated_by: "admin@luckygas.test".into() }
    }

    #[test]
    fn answers_built_in_defaults_until_a_flag_is_stored_and_never_goes_back_a_version() {
        let set = FlagSet::default();
        let ctx = Context::at(Utc::now());
        assert_eq!(set.stage("legacy.orders", &ctx), Stage::DualWrite);
        assert!(set.is_on("payments.bank_fetch", &ctx));
        assert!(!set.is_on("no.such_flag", &ctx) && set.stage("no.such_flag", &ctx) == Stage::LegacyOnly);
        set.apply(&record("legacy.orders", "new_primary", 2));
        assert_eq!(set.stage("legacy.orders", &ctx), Stage::NewPrimary);
        set.apply_all(&[record("legacy.orders", "legacy_only", 1)], true);
        assert_eq!(set.evaluate("legacy.orders", &ctx).map(|a| a.version), Some(2), "an older read does not undo a newer write");
        set.apply(&record("legacy.orders", "legacy_off", 3));
        assert_eq!(set.stage("legacy.orders", &ctx), Stage::LegacyOff);
        assert_eq!(set.stage("payments.bank_fetch", &ctx), Stage::LegacyOff, "a boolean on reads as the last stage");
    }

    #[test]
    fn counts_evaluations_by_flag_and_answer() {
        let set = FlagSet::default();
        let ctx = Context::at(Utc::now());
        for _ in 0..3 {
            set.is_on("payments.bank_fetch", &ctx);
        }
        assert_eq!(set.metrics.evaluations.with_label_values(&["payments.bank_fetch", "on"]).get(), 3);
    }

    #[test]
    fn refuses_unknown_roles_and_a_new_kind_for_a_built_in_flag() {
        let mut d = Builtin::of("legacy.customers").expect("built in").definition();
        d.kind = "boolean".into();
        d.default = "on".into();
        d.rules = vec![RuleDefinition { roles: vec!["janitor".into(), "Driver".into()], variant: "off".into(), ..RuleDefinition::default() }];
        let errors = validate(&d).expect_err("invalid");
        let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code())).collect();
        assert_eq!(fields, [("rules[0].roles[1]", "pattern"), ("rules[0].roles[0]", "not_allowed"), ("kind", "builtin_kind")]);
    }
}
