//! Upgrades and rollback (issue 20, point 6). Migrations are expand-then-contract: the previous
//! release ([`PREVIOUS_RELEASE`]) keeps working against the new schema for one release, so a
//! rollback is a redeploy (ops/runbooks.md, "Rolling back a release").
//!
//! - The previous release's migrations are as it shipped them (their digest is recorded) and
//!   every migration after it only adds: no table or column dropped or renamed, no type changed,
//!   no column made NOT NULL without a default.
//! - On SQLite and on PostgreSQL: a database made by the previous release's migrations, written
//!   by the previous release, upgraded by this one (data kept, new tables written), then opened
//!   again with the previous release's migration list (it accepts the newer versions and changes
//!   nothing) and used with the previous release's queries, which read and write as before,
//!   beside the new release's rows; then this release opens it again.

mod support;

use chrono::NaiveDate;
use planner_api::domain::customer::UsualCylinder;
use planner_api::domain::{CustomerInput, NewOrder, OrderStatus, Priority, StatusChange};
use planner_api::store::migrations::{digest_upto, POSTGRES, PREVIOUS_RELEASE, SQLITE};
use planner_api::store::{BackupRecord, NewAuditEntry, OrderFilter, PageRequest, Store};
use support::{Backend, OwnDatabase};

#[test]
fn released_migrations_are_unchanged_and_later_ones_only_add() {
    let last = PREVIOUS_RELEASE.last_migration;
    assert_eq!(
        digest_upto(last),
        PREVIOUS_RELEASE.digest,
        "a migration of the previous release ({}) was edited: add a new migration instead",
        PREVIOUS_RELEASE.name
    );
    let versions = |list: &[(i64, &str, &str)]| list.iter().map(|m| m.0).collect::<Vec<_>>();
    assert_eq!(versions(SQLITE), versions(POSTGRES), "both backends have the same migrations");
    assert!(SQLITE.iter().any(|m| m.0 <= last), "the previous release's migrations are embedded");

    let mut checked = 0;
    for (version, _, sql) in SQLITE.iter().chain(POSTGRES).filter(|m| m.0 > last) {
        for statement in statements(sql) {
            if let Some(why) = contracting(&statement) {
                panic!(
                    "migration {version} is not expand-only ({why}): {statement}\nthe previous release still uses what it removes; contract in a later release"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 0 || SQLITE.iter().all(|m| m.0 <= last));

    // The rule itself tells expand from contract.
    for ok in [
        "CREATE TABLE backups (id INTEGER PRIMARY KEY, at TEXT NOT NULL)",
        "ALTER TABLE orders ADD COLUMN memo TEXT",
        "ALTER TABLE orders ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX orders_memo ON orders (memo)",
        "INSERT INTO settings (k, v) VALUES ('a', 'b')",
    ] {
        assert_eq!(contracting(ok), None, "{ok}");
    }
    for bad in [
        "DROP TABLE orders",
        "ALTER TABLE orders DROP COLUMN note",
        "ALTER TABLE orders RENAME COLUMN note TO memo",
        "ALTER TABLE orders RENAME TO orders_old",
        "ALTER TABLE orders ALTER COLUMN note TYPE INTEGER",
        "ALTER TABLE orders ALTER COLUMN note SET NOT NULL",
        "ALTER TABLE orders ADD COLUMN attempts INTEGER NOT NULL",
        "DROP INDEX orders_date_status",
    ] {
        assert!(contracting(bad).is_some(), "{bad}");
    }
}

/// The statements of a migration, comments left out, whitespace folded, upper-cased.
fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join(" ");
    without_comments.split(';').map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase()).filter(|s| !s.is_empty()).collect()
}

/// Why `statement` would break the previous release, if it would.
fn contracting(statement: &str) -> Option<&'static str> {
    let s = statement.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase();
    if s.starts_with("DROP TABLE") || s.starts_with("DROP VIEW") {
        return Some("drops a table");
    }
    if s.starts_with("DROP INDEX") {
        return Some("drops an index, which the previous release's ON CONFLICT or speed may rely on");
    }
    if s.contains(" DROP COLUMN ") {
        return Some("drops a column");
    }
    if s.contains(" RENAME ") {
        return Some("renames");
    }
    if s.contains(" ALTER COLUMN ") && (s.contains(" TYPE ") || s.contains("SET NOT NULL") || s.contains("SET DATA TYPE")) {
        return Some("changes a column's type or makes it NOT NULL");
    }
    if s.contains(" ADD COLUMN ") && s.contains("NOT NULL") && !s.contains(" DEFAULT ") {
        return Some("adds a NOT NULL column without a default, which the previous release's inserts do not fill");
    }
    None
}

/// The previous release's view of the database: its migration list, applied (idempotently).
async fn open_as_previous_release(url: &str) -> Store {
    let store = Store::connect_unmigrated(url).await.expect("connect");
    store.migrate_upto(PREVIOUS_RELEASE.last_migration).await.expect("the previous release's migrations run against the schema");
    store.ready_upto(PREVIOUS_RELEASE.last_migration).await.expect("the previous release is ready");
    store
}

/// The customer code of each round of [`previous_release_work`].
fn code(tag: &str) -> &'static str {
    match tag {
        "before" => "C9001",
        "new" => "C9002",
        _ => "C9003",
    }
}

/// What the previous release does with the database: a customer, orders, a status change, the
/// day's list, an audit entry, the planning queue. Returns the ids it wrote.
async fn previous_release_work(store: &Store, tag: &str) -> (i64, Vec<i64>) {
    let input = CustomerInput {
        code: code(tag).to_owned(),
        name: format!("升級客戶{tag}"),
        phone: Some("02-2345-6789".into()),
        address: "松山區八德路四段1號".into(),
        district: "松山區".into(),
        lat: Some(25.05),
        lon: Some(121.57),
        time_windows: vec![],
        usual_cylinders: vec![UsualCylinder { size_kg: 20, quantity: 2 }],
        access_restrictions: vec![],
        payment_method: "cash".into(),
        position_approximate: None,
    };
    let customer = store.create_customer(&input.validate().expect("valid")).await.expect("create a customer").id;
    let day = NaiveDate::from_ymd_opt(2026, 12, 9).expect("date");
    let mut orders = Vec::new();
    for n in 0..3u32 {
        let order = NewOrder {
            customer_id: customer,
            delivery_date: day,
            cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 + n }],
            time_window: None,
            preference: None,
            priority: if n == 0 { Priority::Urgent } else { Priority::Normal },
            note: Some(format!("{tag} {n}")),
        };
        orders.push(store.create_order(&order, "upgrade@test").await.expect("create an order").id);
    }
    let change = StatusChange { status: OrderStatus::Cancelled, changed_by: "upgrade@test".into(), at_s: None, note: Some("客戶取消".into()) };
    store.change_order_status(orders[2], &change).await.expect("cancel an order");
    let filter = OrderFilter { customer_id: Some(customer), ..OrderFilter::default() };
    let listed = store.list_orders(&filter, PageRequest::offset(50, 0)).await.expect("list orders");
    assert_eq!(listed.items.len(), 3);
    assert_eq!(listed.items.iter().filter(|o| o.status == OrderStatus::Cancelled).count(), 1);
    let detail = serde_json::json!({ "tag": tag });
    let entry = NewAuditEntry {
        user_id: 1,
        actor: "upgrade@test",
        method: "POST",
        path: "/v1/orders",
        route: "/v1/orders",
        status: 201,
        request_id: None,
        detail: Some(&detail),
    };
    store.insert_audit(&entry).await.expect("audit");
    store.plan_queue_depth(chrono::Utc::now()).await.expect("queue depth");
    assert_eq!(store.get_customer(customer).await.expect("read back").data.name, format!("升級客戶{tag}"));
    (customer, orders)
}

async fn upgrade_and_roll_back(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = OwnDatabase::new(backend, dir.path(), "upgrade").await;
    let url = db.url.clone();

    // The previous release made the database and used it.
    let old = open_as_previous_release(&url).await;
    let (c1, o1) = previous_release_work(&old, "before").await;
    assert_eq!(old.migrations_newer_than(PREVIOUS_RELEASE.last_migration).await.expect("newer"), Vec::<i64>::new());
    old.close().await;

    // This release upgrades it: the old rows are there, the new tables take rows.
    let new = Store::open(&url).await.expect("the new release opens and migrates");
    new.ready().await.expect("ready");
    assert_eq!(new.get_customer(c1).await.expect("old customer").data.code, code("before"));
    assert_eq!(new.get_order(o1[0]).await.expect("old order").data.priority, Priority::Urgent);
    let backup = BackupRecord {
        started_at: chrono::Utc::now(),
        finished_at: chrono::Utc::now(),
        backend: new.backend().to_owned(),
        location: "/backup/luckygas-20261205T010000Z.db".into(),
        size_bytes: 4096,
    };
    new.record_backup(&backup).await.expect("the new table");
    previous_release_work(&new, "new").await;
    new.close().await;

    // Rolled back: the previous release accepts the newer migrations and works on their schema.
    let old = open_as_previous_release(&url).await;
    let newer = old.migrations_newer_than(PREVIOUS_RELEASE.last_migration).await.expect("newer");
    let expected: Vec<i64> = SQLITE.iter().map(|m| m.0).filter(|v| *v > PREVIOUS_RELEASE.last_migration).collect();
    assert_eq!(newer, expected, "the previous release sees the newer release's migrations as newer");
    let (c2, o2) = previous_release_work(&old, "after").await;
    assert!(c2 > c1 && o2[0] > o1[2]);
    old.close().await;

    // And forward again: nothing to migrate, everything there, the new release's rows untouched.
    let new = Store::open(&url).await.expect("the new release opens again");
    new.ready().await.expect("ready");
    assert!(new.last_backup_started().await.expect("backups").is_some(), "the new release's rows survive the rollback");
    assert_eq!(new.get_customer(c2).await.expect("rolled-back customer").data.code, code("after"));
    new.close().await;

    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_release_runs_against_the_new_schema_on_sqlite() {
    upgrade_and_roll_back(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_release_runs_against_the_new_schema_on_postgres() {
    upgrade_and_roll_back(Backend::Postgres).await;
}
