//! Migrations embedded in the binary, one list per backend, applied with sqlx's migrator (which
//! records them in `_sqlx_migrations`). The SQL files live in `planner-api/migrations/<backend>/`.
//!
//! We embed them with `include_str!` and a small [`MigrationSource`] instead of `sqlx::migrate!`
//! so the crate needs no sqlx proc-macros (which would compile sqlx and SQLite a second time for
//! the host and cost minutes on a 2-core machine).

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

/// One embedded migration: version, description and SQL.
type Embedded = (i64, &'static str, &'static str);

/// SQLite migrations, in version order.
pub const SQLITE: &[Embedded] = &[
    (1, "depots customers", include_str!("../../migrations/sqlite/0001_depots_customers.sql")),
    (2, "vehicle types", include_str!("../../migrations/sqlite/0002_vehicle_types.sql")),
    (3, "drivers", include_str!("../../migrations/sqlite/0003_drivers.sql")),
    (4, "vehicles", include_str!("../../migrations/sqlite/0004_vehicles.sql")),
    (5, "orders plans", include_str!("../../migrations/sqlite/0005_orders_plans.sql")),
    (10, "users", include_str!("../../migrations/sqlite/0010_users.sql")),
    (11, "driver assignments", include_str!("../../migrations/sqlite/0011_driver_assignments.sql")),
    (12, "plan versions", include_str!("../../migrations/sqlite/0012_plan_versions.sql")),
    (13, "audit log", include_str!("../../migrations/sqlite/0013_audit_log.sql")),
    (14, "plan job model", include_str!("../../migrations/sqlite/0014_plan_job_model.sql")),
    (15, "jobs outbox idempotency", include_str!("../../migrations/sqlite/0015_jobs_outbox_idempotency.sql")),
    (16, "invoicing", include_str!("../../migrations/sqlite/0016_invoicing.sql")),
    (17, "login throttle", include_str!("../../migrations/sqlite/0017_login_throttle.sql")),
    (18, "rate limits", include_str!("../../migrations/sqlite/0018_rate_limits.sql")),
    (19, "big days", include_str!("../../migrations/sqlite/0019_big_days.sql")),
    (20, "keyset pages", include_str!("../../migrations/sqlite/0020_keyset_pages.sql")),
    (21, "payments", include_str!("../../migrations/sqlite/0021_payments.sql")),
    (22, "legacy sync", include_str!("../../migrations/sqlite/0022_legacy_sync.sql")),
    (23, "feature flags", include_str!("../../migrations/sqlite/0023_feature_flags.sql")),
    (24, "legacy pick-up", include_str!("../../migrations/sqlite/0024_legacy_pickup.sql")),
    (25, "backups", include_str!("../../migrations/sqlite/0025_backups.sql")),
    (26, "customer vehicle types", include_str!("../../migrations/sqlite/0026_customer_vehicle_types.sql")),
    (27, "order alternative addresses", include_str!("../../migrations/sqlite/0027_order_alternative_addresses.sql")),
];

/// PostgreSQL migrations, in version order.
pub const POSTGRES: &[Embedded] = &[
    (1, "depots customers", include_str!("../../migrations/postgres/0001_depots_customers.sql")),
    (2, "vehicle types", include_str!("../../migrations/postgres/0002_vehicle_types.sql")),
    (3, "drivers", include_str!("../../migrations/postgres/0003_drivers.sql")),
    (4, "vehicles", include_str!("../../migrations/postgres/0004_vehicles.sql")),
    (5, "orders plans", include_str!("../../migrations/postgres/0005_orders_plans.sql")),
    (10, "users", include_str!("../../migrations/postgres/0010_users.sql")),
    (11, "driver assignments", include_str!("../../migrations/postgres/0011_driver_assignments.sql")),
    (12, "plan versions", include_str!("../../migrations/postgres/0012_plan_versions.sql")),
    (13, "audit log", include_str!("../../migrations/postgres/0013_audit_log.sql")),
    (14, "plan job model", include_str!("../../migrations/postgres/0014_plan_job_model.sql")),
    (15, "jobs outbox idempotency", include_str!("../../migrations/postgres/0015_jobs_outbox_idempotency.sql")),
    (16, "invoicing", include_str!("../../migrations/postgres/0016_invoicing.sql")),
    (17, "login throttle", include_str!("../../migrations/postgres/0017_login_throttle.sql")),
    (18, "rate limits", include_str!("../../migrations/postgres/0018_rate_limits.sql")),
    (19, "big days", include_str!("../../migrations/postgres/0019_big_days.sql")),
    (20, "keyset pages", include_str!("../../migrations/postgres/0020_keyset_pages.sql")),
    (21, "payments", include_str!("../../migrations/postgres/0021_payments.sql")),
    (22, "legacy sync", include_str!("../../migrations/postgres/0022_legacy_sync.sql")),
    (23, "feature flags", include_str!("../../migrations/postgres/0023_feature_flags.sql")),
    (24, "legacy pick-up", include_str!("../../migrations/postgres/0024_legacy_pickup.sql")),
    (25, "backups", include_str!("../../migrations/postgres/0025_backups.sql")),
    (26, "customer vehicle types", include_str!("../../migrations/postgres/0026_customer_vehicle_types.sql")),
    (27, "order alternative addresses", include_str!("../../migrations/postgres/0027_order_alternative_addresses.sql")),
];

/// The release before this one, as far as the schema goes: its newest migration, and a digest of
/// its migrations' SQL (both backends). Migrations up to it are never edited again (the digest is
/// checked by `tests/upgrade.rs`), and every later one is expand-only (it adds tables, columns
/// that are nullable or have a default, indexes) so that this release can be rolled back to that
/// one without restoring the database (ops/runbooks.md, "Rolling back a release"). Cutting a
/// release moves this to its newest migration.
pub const PREVIOUS_RELEASE: Release =
    Release { name: "2026-12-05 (main at 823d9ac)", last_migration: 24, digest: "889c6d2b050eb9ff902ba42fad6b7f7134fcefe7d719065d6667fd206d95a01d" };

/// A release's schema (see [`PREVIOUS_RELEASE`]).
#[derive(Clone, Copy, Debug)]
pub struct Release {
    /// Which release.
    pub name: &'static str,
    /// Its newest migration's version.
    pub last_migration: i64,
    /// SHA-256 of its migrations (SQLite's then PostgreSQL's, each as `version\tSQL\n`), hex.
    pub digest: &'static str,
}

/// The digest [`Release::digest`] records, of the migrations up to `last`.
pub fn digest_upto(last: i64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for list in [SQLITE, POSTGRES] {
        for (version, _, sql) in list.iter().filter(|m| m.0 <= last) {
            h.update(format!("{version}\t{sql}\n").as_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A list of embedded migrations as a sqlx migration source.
#[derive(Debug)]
struct EmbeddedSource(&'static [Embedded]);

impl MigrationSource<'static> for EmbeddedSource {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send>> {
        let migrations = self
            .0
            .iter()
            .map(|&(version, description, sql)| Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false))
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// Builds the migrator for one backend's list.
pub async fn migrator(list: &'static [Embedded]) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(EmbeddedSource(list)).await
}
