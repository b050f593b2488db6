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
use planner_api::domain::order::AlternativeAddress;
use planner_api::domain::{CustomerInput, NewOrder, Priority};
use planner_api::store::migrations::{digest_upto, POSTGRES, PREVIOUS_RELEASE, SQLITE};
use planner_api::store::{BackupRecord, NewAuditEntry, Store};
use sqlx::Row;
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

/// The previous release's SQL for what [`previous_release_work`] does with customers and orders,
/// as it shipped (main at 4168185): this release's store writes columns that release's schema
/// does not have, so its queries cannot stand in for the old ones here.
mod previous_sql {
    pub const CUSTOMER_INSERT: &str = "INSERT INTO customers (code, name, phone, address, district, lat, lon, time_windows, usual_cylinders, \
        access_restrictions, payment_method, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id";
    pub const CUSTOMER_READ: &str = "SELECT id, code, name, phone, address, district, lat, lon, time_windows, usual_cylinders, \
        access_restrictions, payment_method, position_approximate, created_at, updated_at FROM customers WHERE id = $1";
    pub const ORDER_INSERT: &str = "INSERT INTO orders (customer_id, delivery_date, cylinders, time_window_start, time_window_end, preference, priority, \
        status, note, plan_id, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8, NULL, $9, $9) RETURNING id";
    pub const ORDER_CREATED: &str = "INSERT INTO order_events (order_id, from_status, to_status, changed_by, note, plan_id, at) \
        VALUES ($1, NULL, 'received', $2, NULL, NULL, $3)";
    pub const ORDER_STATUS: &str = "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4 RETURNING id, customer_id, \
        delivery_date, cylinders, time_window_start, time_window_end, preference, priority, status, note, plan_id, created_at, updated_at";
    pub const ORDER_EVENT: &str = "INSERT INTO order_events (order_id, from_status, to_status, changed_by, note, plan_id, at) \
        VALUES ($1, $2, $3, $4, $5, NULL, $6)";
    pub const ORDERS_OF_CUSTOMER: &str = "SELECT id, customer_id, delivery_date, cylinders, time_window_start, time_window_end, preference, \
        priority, status, note, plan_id, created_at, updated_at FROM orders WHERE customer_id = $1 ORDER BY id LIMIT 50";
}

/// Runs `$body` with `$pool` bound to the store's pool, whichever the backend.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

/// What the previous release does with the database, with its own SQL for customers and orders:
/// a customer, orders, a status change, the customer's orders, an audit entry, the planning
/// queue. Returns the ids it wrote.
async fn previous_release_work(store: &Store, tag: &str) -> (i64, Vec<i64>) {
    use previous_sql::*;
    let now = chrono::Utc::now();
    let name = format!("升級客戶{tag}");
    let customer: i64 = on_pool!(store, pool => sqlx::query_scalar(CUSTOMER_INSERT)
        .bind(code(tag)).bind(&name).bind("02-2345-6789").bind("松山區八德路四段1號").bind("松山區").bind(25.05).bind(121.57)
        .bind("[]").bind(r#"[{"size_kg":20,"quantity":2}]"#).bind("[]").bind("cash").bind(now)
        .fetch_one(pool).await.expect("create a customer"));
    let day = NaiveDate::from_ymd_opt(2026, 12, 9).expect("date");
    let mut orders = Vec::new();
    for n in 0..3u32 {
        let cylinders = format!(r#"[{{"size_kg":20,"quantity":{}}}]"#, 1 + n);
        let priority = if n == 0 { "urgent" } else { "normal" };
        let id: i64 = on_pool!(store, pool => {
            let mut tx = pool.begin().await.expect("begin");
            let id: i64 = sqlx::query_scalar(ORDER_INSERT)
                .bind(customer).bind(day).bind(&cylinders).bind(None::<String>).bind(None::<String>).bind(None::<String>)
                .bind(priority).bind(format!("{tag} {n}")).bind(now)
                .fetch_one(&mut *tx).await.expect("create an order");
            sqlx::query(ORDER_CREATED).bind(id).bind("upgrade@test").bind(now).execute(&mut *tx).await.expect("its event");
            tx.commit().await.expect("commit");
            id
        });
        orders.push(id);
    }
    on_pool!(store, pool => {
        let mut tx = pool.begin().await.expect("begin");
        let changed = sqlx::query(ORDER_STATUS).bind("cancelled").bind(now).bind(orders[2]).bind("received").fetch_optional(&mut *tx).await.expect("cancel");
        assert!(changed.is_some(), "cancel an order");
        sqlx::query(ORDER_EVENT).bind(orders[2]).bind("received").bind("cancelled").bind("upgrade@test").bind("客戶取消").bind(now)
            .execute(&mut *tx).await.expect("its event");
        tx.commit().await.expect("commit");
    });
    let statuses: Vec<String> = on_pool!(store, pool => sqlx::query(ORDERS_OF_CUSTOMER).bind(customer).fetch_all(pool).await.expect("list orders")
        .iter().map(|r| r.try_get::<String, _>("status").expect("status")).collect());
    assert_eq!(statuses, ["received", "received", "cancelled"]);
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
    let read: String =
        on_pool!(store, pool => sqlx::query(CUSTOMER_READ).bind(customer).fetch_one(pool).await.expect("read back").try_get("name").expect("name"));
    assert_eq!(read, name);
    (customer, orders)
}

/// What this release does with the same database: a customer and an order through the store,
/// with the columns the previous release does not know.
async fn this_release_work(store: &Store) -> (i64, i64) {
    let input = CustomerInput {
        code: "C9004".into(),
        name: "新版客戶".into(),
        phone: None,
        address: "松山區八德路四段2號".into(),
        district: "松山區".into(),
        lat: Some(25.05),
        lon: Some(121.57),
        time_windows: vec![],
        usual_cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 }],
        access_restrictions: vec![],
        payment_method: "cash".into(),
        allowed_vehicle_type_ids: Vec::new(),
        position_approximate: None,
    };
    let customer = store.create_customer(&input.validate().expect("valid")).await.expect("create a customer").id;
    let order = NewOrder {
        customer_id: customer,
        delivery_date: NaiveDate::from_ymd_opt(2026, 12, 9).expect("date"),
        cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 }],
        time_window: None,
        preference: None,
        priority: Priority::Normal,
        note: None,
        alternative_addresses: vec![AlternativeAddress {
            address: "松山區八德路四段3號".into(), district: "松山區".into(), lat: 25.051, lon: 121.571
        }],
    };
    let order = store.create_order(&order, "upgrade@test").await.expect("create an order").id;
    (customer, order)
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
    let (c_new, o_new) = this_release_work(&new).await;
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
    assert_eq!(new.get_order(o2[0]).await.expect("rolled-back order").data.alternative_addresses, [], "the previous release's rows read with defaults");
    assert_eq!(new.get_customer(c_new).await.expect("this release's customer").data.allowed_vehicle_type_ids, Vec::<i64>::new());
    assert_eq!(new.get_order(o_new).await.expect("this release's order").data.alternative_addresses.len(), 1, "kept through the rollback");
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
