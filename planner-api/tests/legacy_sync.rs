//! The legacy sync against two real databases (issue 18): the service's (a SQLite file or a
//! PostgreSQL schema) and the old system's (a SQLite file, or a PostgreSQL database of its own on
//! the same server): the migration of a generated legacy dataset, the dual write under a steady
//! load of mixed writes, the legacy database unreachable for a while, the sync worker SIGKILLed
//! mid-batch, dead letters and their replay.

mod support;

use chrono::{NaiveDate, Utc};
use datasets::legacy::{generate_legacy, LegacyDataset, LegacyOptions};
use legacy::export::Record;
use legacy::schema::{CUST_MST, DLV_REC, ORD_HDR, SYNC_KEY, SYNC_USER};
use planner_api::domain::customer::UsualCylinder;
use planner_api::domain::{CustomerInput, NewOrder, OrderStatus, Priority, StatusChange};
use planner_api::store::Store;
use planner_api::sync::import::{self, Source};
use planner_api::sync::legacy_db::LegacyDb;
use planner_api::sync::worker::{self, Sync};
use sqlx::Connection;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{pg_url, Backend, Fresh};

static LEGACY_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The old system's database for a test: a SQLite file, or a PostgreSQL database of its own.
struct LegacyFixture {
    db: LegacyDb,
    url: String,
    pg_database: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl LegacyFixture {
    async fn new(backend: Backend) -> LegacyFixture {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("legacy.db").display());
                LegacyFixture { db: LegacyDb::open(&url).expect("open"), url, pg_database: None, _dir: Some(dir) }
            }
            Backend::Postgres => {
                let name = format!("legacy_{}_{}", std::process::id(), LEGACY_COUNTER.fetch_add(1, Ordering::Relaxed));
                let mut conn = sqlx::PgConnection::connect(&pg_url())
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {} ({e}); these tests need it", pg_url()));
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create the legacy database");
                conn.close().await.expect("close");
                let url = database_url(&pg_url(), &name);
                LegacyFixture { db: LegacyDb::open(&url).expect("open"), url, pg_database: Some(name), _dir: None }
            }
        }
    }

    /// Loads `dataset` (schema and rows, as the generator's script does).
    async fn load(&self, dataset: &LegacyDataset) {
        let script = dataset.sql(self.db.dialect()).expect("script");
        self.db.execute_script(&script).await.expect("load the legacy dataset");
    }

    async fn cleanup(self) {
        self.db.close().await;
        if let Some(name) = self.pg_database {
            let mut conn = sqlx::PgConnection::connect(&pg_url()).await.expect("connect");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.expect("drop the legacy database");
        }
    }
}

/// `url` with its database replaced by `name`.
fn database_url(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn dataset(customers: usize, days: u32) -> LegacyDataset {
    let mut options = LegacyOptions::new(customers, days);
    options.start = NaiveDate::from_ymd_opt(2026, 9, 1).expect("date");
    generate_legacy(11, &options).expect("generate")
}

async fn count(store: &Store, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match store {
        Store::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await.expect("count"),
        Store::Postgres(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await.expect("count"),
    }
}

/// Applies the queue until only changes backing off or dead are left.
async fn drain(sync: &Sync, store: &Store) -> worker::BatchReport {
    let mut total = worker::BatchReport::default();
    loop {
        let r = sync.batch(store).await.expect("batch");
        total.add(r);
        if r.read == 0 || r.applied + r.skipped == 0 {
            return total;
        }
    }
}

async fn migration_of_a_generated_dataset(backend: Backend) {
    let fresh = Fresh::new(backend, true).await;
    let store = &fresh.store;
    let legacy = LegacyFixture::new(backend).await;
    let data = dataset(240, 45);
    legacy.load(&data).await;

    // The dry run reports and writes nothing.
    let dry = import::run(store, &Source::Database(&legacy.db), false).await.expect("dry run");
    assert!(!dry.applied);
    assert_eq!(count(store, "customers").await, 0);
    assert_eq!(dry.customers.read, data.customers.len());
    assert_eq!(dry.orders.read, data.orders.len());
    assert_eq!(dry.deliveries.read, data.deliveries.len());
    // Every planted bad row is rejected with the reader's code.
    for planted in data.dirt.bad_customers.iter().chain(&data.dirt.bad_orders).chain(&data.dirt.bad_deliveries) {
        assert!(dry.rejects_by_code.contains_key(planted.code), "{planted:?} not rejected: {:?}", dry.rejects_by_code);
    }
    if !data.dirt.orphan_orders.is_empty() {
        assert!(dry.rejects_by_code.get("import.orphan").copied().unwrap_or(0) >= data.dirt.orphan_orders.len(), "{:?}", dry.rejects_by_code);
    }
    // Every re-entered duplicate is merged into its original (or with it, into a lower number).
    for (original, copy) in &data.dirt.duplicates {
        let merged = dry.merges.iter().any(|m| m.merged.contains(copy) && (m.survivor == *original || m.merged.contains(original)));
        assert!(merged, "duplicate {copy} of {original} not merged");
    }
    assert!(dry.approximate_positions > 0 && dry.approximate_positions <= data.dirt.missing_coordinates, "{dry:?}");
    assert_eq!(dry.customers.new + dry.customers.rejected + dry.duplicates_merged, dry.customers.read, "{dry:?}");
    assert!(dry.orders.new > data.orders.len() / 2);
    let text = dry.render();
    assert!(text.starts_with("Dry run") && text.contains("rejects by reason"), "{text}");

    // The import writes what the dry run said, linked to the old numbers.
    let done = import::run(store, &Source::Database(&legacy.db), true).await.expect("import");
    assert_eq!((done.customers.new, done.orders.new), (dry.customers.new, dry.orders.new));
    assert_eq!(count(store, "customers").await as usize, done.customers.new);
    assert_eq!(count(store, "orders").await as usize, done.orders.new);
    let approximate: i64 = match store {
        Store::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE position_approximate").fetch_one(pool).await.expect("count"),
        Store::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE position_approximate").fetch_one(pool).await.expect("count"),
    };
    assert_eq!(approximate as usize, done.approximate_positions);
    // A merged duplicate's number leads to its survivor.
    if let Some(m) = done.merges.first() {
        let survivor = store.linked_id("customer", &m.survivor).await.expect("link").expect("survivor linked");
        assert_eq!(store.linked_id("customer", &m.merged[0]).await.expect("link"), Some(survivor));
    }
    // Delivered orders carry the delivery's report time.
    let delivered = store
        .list_orders(
            &planner_api::store::OrderFilter { status: Some(OrderStatus::Delivered), ..Default::default() },
            planner_api::store::PageRequest::offset(10, 0),
        )
        .await
        .expect("list");
    assert!(!delivered.items.is_empty());

    // A second run changes nothing.
    let outbox_before = count(store, "outbox").await;
    let again = import::run(store, &Source::Database(&legacy.db), true).await.expect("second import");
    assert_eq!((again.customers.new, again.customers.updated, again.orders.new, again.orders.updated), (0, 0, 0, 0), "{again:?}");
    assert_eq!(again.customers.unchanged, done.customers.new);
    assert_eq!(again.orders.unchanged, done.orders.new);
    assert_eq!(count(store, "customers").await as usize, done.customers.new);
    assert_eq!(count(store, "outbox").await, outbox_before);

    // A customer changed here since is kept by a later import, and reported so.
    let id = store.linked_id("customer", &done.merges.first().map_or_else(|| "C0001".to_owned(), |m| m.survivor.clone())).await.expect("link").expect("linked");
    let mut c = store.get_customer(id).await.expect("customer").data;
    c.name = "改過的名字".into();
    store.update_customer(id, &c).await.expect("update");
    let kept = import::run(store, &Source::Database(&legacy.db), true).await.expect("third import");
    assert_eq!((kept.customers.kept, kept.customers.updated), (1, 0), "{kept:?}");
    assert_eq!(store.get_customer(id).await.expect("customer").data.name, "改過的名字");

    legacy.cleanup().await;
    fresh.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_of_a_generated_dataset_sqlite() {
    migration_of_a_generated_dataset(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_of_a_generated_dataset_postgres() {
    migration_of_a_generated_dataset(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exports_import_as_the_database_does() {
    let data = dataset(120, 20);
    let dir = tempfile::tempdir().expect("dir");
    data.write_to(dir.path()).expect("write exports");
    let from_files = Fresh::new(Backend::Sqlite, true).await;
    let files = import::run(&from_files.store, &Source::Exports(dir.path()), true).await.expect("import exports");
    let from_db = Fresh::new(Backend::Sqlite, true).await;
    let legacy = LegacyFixture::new(Backend::Sqlite).await;
    legacy.load(&data).await;
    let db = import::run(&from_db.store, &Source::Database(&legacy.db), true).await.expect("import database");
    assert_eq!(files.customers, db.customers);
    assert_eq!(files.orders, db.orders);
    assert_eq!(files.rejects_by_code, db.rejects_by_code);
    assert_eq!(files.merges, db.merges);
    legacy.cleanup().await;
    from_files.cleanup().await;
    from_db.cleanup().await;
}

fn customer_input(code: &str, name: &str) -> CustomerInput {
    CustomerInput {
        code: code.into(),
        name: name.into(),
        phone: Some("0912-000-111".into()),
        address: "信義路五段7號".into(),
        district: "信義區".into(),
        lat: Some(25.0336),
        lon: Some(121.5648),
        time_windows: vec![],
        usual_cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 }],
        access_restrictions: vec![],
        payment_method: "cash".into(),
        allowed_vehicle_type_ids: Vec::new(),
        position_approximate: None,
    }
}

fn order_for(customer_id: i64, day: NaiveDate, n: u32) -> NewOrder {
    NewOrder {
        customer_id,
        delivery_date: day,
        cylinders: vec![UsualCylinder { size_kg: if n.is_multiple_of(3) { 50 } else { 20 }, quantity: 1 + n % 2 }],
        time_window: None,
        preference: None,
        priority: if n.is_multiple_of(5) { Priority::Urgent } else { Priority::Normal },
        note: Some(format!("第{n}筆")),
        alternative_addresses: Vec::new(),
    }
}

/// Checks that the old tables hold every customer and order of the service as the sync writes
/// them, each once.
async fn assert_in_step(store: &Store, legacy: &LegacyDb) {
    let customers = store.list_customers(&Default::default(), planner_api::store::PageRequest::offset(1000, 0)).await.expect("customers");
    for c in &customers.items {
        let rows = legacy.fetch_records::<legacy::Customer>("CUST_NO = $1", std::slice::from_ref(&c.data.code)).await.expect("fetch");
        let Some(Ok(row)) = rows.into_iter().next() else { panic!("{} missing in CUST_MST", c.data.code) };
        assert_eq!((row.name.as_str(), row.area.as_str()), (c.data.name.as_str(), c.data.district.as_str()), "{}", c.data.code);
    }
    let links = store.legacy_links("order").await.expect("links");
    let numbers: HashSet<&String> = links.iter().map(|(no, _)| no).collect();
    assert_eq!(numbers.len(), links.len(), "an order number linked twice");
    let orders = count(store, "orders").await;
    assert_eq!(links.len() as i64, orders, "every order linked to one ORD_NO");
    let ours = legacy.fetch(&ORD_HDR, "UPD_USER = $1", &[SYNC_USER.to_owned()]).await.expect("fetch");
    assert_eq!(ours.len() as i64, orders, "every order written once in ORD_HDR");
    for (no, id) in &links {
        let order = store.get_order(*id).await.expect("order");
        let rows = legacy.fetch_records::<legacy::Order>("ORD_NO = $1", std::slice::from_ref(no)).await.expect("fetch");
        let Some(Ok(row)) = rows.into_iter().next() else { panic!("{no} missing in ORD_HDR") };
        assert_eq!(row.delivery_date, order.data.delivery_date, "{no}");
        assert_eq!(row.urgent, order.data.priority == Priority::Urgent, "{no}");
        let delivered = order.status == OrderStatus::Delivered;
        assert_eq!(row.status == legacy::codes::OrderStatus::Delivered, delivered, "{no}");
        let dlv = legacy.fetch(&DLV_REC, "ORD_NO = $1", std::slice::from_ref(no)).await.expect("fetch");
        assert_eq!(dlv.len(), usize::from(delivered || order.status == OrderStatus::Failed), "{no}: {dlv:?}");
    }
}

async fn dual_write_under_steady_load(backend: Backend) {
    let fresh = Fresh::new(backend, true).await;
    let store = fresh.store.clone();
    let legacy = LegacyFixture::new(backend).await;
    let sync = Arc::new(Sync::new(legacy.db.clone()));
    store.set_legacy_sync(true).await.expect("on");
    sync.prepare_legacy().await.expect("prepare");

    // The worker runs as the service runs it while writes go on.
    let stop = Arc::new(AtomicBool::new(false));
    let runner = {
        let (sync, store, stop) = (Arc::clone(&sync), store.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            while !stop.load(Ordering::Acquire) {
                if let planner_api::jobs::Outcome::Every(wait) = sync.run(&store).await {
                    tokio::time::sleep(wait.min(Duration::from_millis(50))).await;
                }
            }
        })
    };
    let day = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    let mut customers = Vec::new();
    let mut orders = Vec::new();
    let mut interval = tokio::time::interval(Duration::from_millis(20));
    for n in 0..200u32 {
        interval.tick().await;
        match n % 5 {
            0 => {
                let c = customer_input(&format!("C{:04}", 9000 + n / 5), &format!("測試客戶{n}")).validate().expect("valid");
                customers.push(store.create_customer(&c).await.expect("create customer"));
            }
            1 => {
                let c = &customers[customers.len() - 1];
                let mut data = c.data.clone();
                data.name = format!("{}改", data.name);
                store.update_customer(c.id, &data).await.expect("update customer");
            }
            2 | 3 => {
                let c = &customers[(n as usize / 5) % customers.len()];
                orders.push(store.create_order(&order_for(c.id, day, n), "dispatcher@test").await.expect("create order"));
            }
            _ => {
                let o = &orders[orders.len() - 1];
                let mut data = o.data.clone();
                data.cylinders[0].quantity += 1;
                store.update_order(o.id, &data).await.expect("update order");
            }
        }
    }
    // Writes never waited for the old side; now let the worker catch up.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while store.legacy_depth(Utc::now()).await.expect("depth").pending > 0 {
        assert!(std::time::Instant::now() < deadline, "the queue did not drain");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Release);
    runner.await.expect("runner");
    let depth = store.legacy_depth(Utc::now()).await.expect("depth");
    assert_eq!((depth.pending, depth.dead), (0, 0));
    // Every change applied exactly once: one SYNC_KEY per outbox row.
    assert_eq!(legacy.db.count(&SYNC_KEY).await.expect("count"), depth.applied);
    assert_in_step(&store, &legacy.db).await;
    legacy.cleanup().await;
    fresh.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dual_write_under_steady_load_sqlite() {
    dual_write_under_steady_load(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dual_write_under_steady_load_postgres() {
    dual_write_under_steady_load(Backend::Postgres).await;
}

/// A TCP relay to PostgreSQL that can be cut: the legacy database as the network sees it.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    generation: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Relay {
    async fn start(target: std::net::SocketAddr) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let (tx, _) = tokio::sync::watch::channel(0u64);
        let generation = Arc::new(tx);
        let (up2, generation2) = (Arc::clone(&up), Arc::clone(&generation));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::Acquire) {
                    drop(client);
                    continue;
                }
                let mut cut = generation2.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Relay { port, up, generation }
    }

    /// Cuts every connection and refuses new ones.
    fn down(&self) {
        self.up.store(false, Ordering::Release);
        self.generation.send_modify(|g| *g += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::Release);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_legacy_database_loses_nothing_and_applies_nothing_twice() {
    let fresh = Fresh::new(Backend::Postgres, true).await;
    let store = fresh.store.clone();
    let legacy = LegacyFixture::new(Backend::Postgres).await;
    legacy.db.ensure_schema().await.expect("schema");
    let target: std::net::SocketAddr = "127.0.0.1:5432".parse().expect("addr");
    let relay = Relay::start(target).await;
    let relayed_url = legacy.url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", relay.port), 1);
    assert_ne!(relayed_url, legacy.url, "the test database is expected at 127.0.0.1:5432");
    let sync = Sync::new(LegacyDb::open(&relayed_url).expect("open"));
    store.set_legacy_sync(true).await.expect("on");

    let day = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    let c = store.create_customer(&customer_input("C0100", "停電前").validate().expect("valid")).await.expect("create");
    let first = drain(&sync, &store).await;
    assert_eq!(first.applied, 1);

    relay.down();
    // Writes keep succeeding while the old database is away; the queue grows.
    let mut orders = Vec::new();
    for n in 0..40 {
        orders.push(store.create_order(&order_for(c.id, day, n), "dispatcher@test").await.expect("order while legacy is down"));
    }
    let mut unreachable = 0;
    for _ in 0..3 {
        match sync.run(&store).await {
            planner_api::jobs::Outcome::Every(_) => unreachable += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(unreachable, 3);
    assert!(sync.breaker_open(), "three failures in a row open the breaker");
    let depth = store.legacy_depth(Utc::now()).await.expect("depth");
    assert_eq!((depth.pending, depth.dead), (40, 0), "nothing charged an attempt for an unreachable database");

    relay.restore();
    // The breaker lets a probe through after its cool-down; the queue then drains.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while store.legacy_depth(Utc::now()).await.expect("depth").pending > 0 {
        assert!(std::time::Instant::now() < deadline, "the queue did not drain after the database came back");
        if let planner_api::jobs::Outcome::Every(wait) = sync.run(&store).await {
            tokio::time::sleep(wait.min(Duration::from_millis(200))).await;
        }
    }
    assert!(!sync.breaker_open());
    let depth = store.legacy_depth(Utc::now()).await.expect("depth");
    assert_eq!(legacy.db.count(&SYNC_KEY).await.expect("count"), depth.applied);
    assert_in_step(&store, &legacy.db).await;
    let numbers = legacy.db.fetch(&ORD_HDR, "", &[]).await.expect("orders");
    assert_eq!(numbers.len(), orders.len(), "each order written once");
    sync.legacy.close().await;
    legacy.cleanup().await;
    fresh.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_worker_killed_mid_batch_applies_each_change_once() {
    let fresh = Fresh::new(Backend::Sqlite, true).await;
    let store = fresh.store.clone();
    let legacy = LegacyFixture::new(Backend::Sqlite).await;
    legacy.db.ensure_schema().await.expect("schema");
    store.set_legacy_sync(true).await.expect("on");
    let day = chrono::Utc::now().date_naive() + chrono::Days::new(2);
    let mut ids = Vec::new();
    for k in 0..30 {
        ids.push(
            store.create_customer(&customer_input(&format!("C{:04}", 2000 + k), &format!("客戶{k}")).validate().expect("valid")).await.expect("create").id,
        );
    }
    for n in 0..3000u32 {
        store.create_order(&order_for(ids[n as usize % ids.len()], day, n), "dispatcher@test").await.expect("order");
    }
    let total = store.legacy_depth(Utc::now()).await.expect("depth").pending;
    let db_url = match &fresh.store {
        Store::Sqlite(_) => fresh.sqlite_url().expect("sqlite"),
        Store::Postgres(_) => unreachable!(),
    };
    let exe = env!("CARGO_BIN_EXE_luckygas");
    let mut child = std::process::Command::new(exe)
        .args(["legacy", "sync", "--legacy-url", &legacy.url])
        .env("DATABASE_URL", &db_url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start luckygas legacy sync");
    // Killed once the old side has part of the backlog.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let applied = legacy.db.count(&SYNC_KEY).await.unwrap_or(0);
        if applied > 0 && applied < total {
            break;
        }
        assert!(applied < total, "the worker finished before it could be killed; make the backlog larger");
        assert!(std::time::Instant::now() < deadline, "the worker applied nothing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let left = store.legacy_depth(Utc::now()).await.expect("depth").pending;
    assert!(left > 0, "killed mid-backlog");
    // Another worker finishes the job.
    let status = std::process::Command::new(exe).args(["legacy", "sync", "--legacy-url", &legacy.url]).env("DATABASE_URL", &db_url).status().expect("run");
    assert!(status.success());
    let depth = store.legacy_depth(Utc::now()).await.expect("depth");
    assert_eq!((depth.pending, depth.dead), (0, 0));
    assert_eq!(legacy.db.count(&SYNC_KEY).await.expect("count"), total, "one key per change: none applied twice, none lost");
    assert_in_step(&store, &legacy.db).await;
    legacy.cleanup().await;
    fresh.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_keeps_failing_becomes_a_dead_letter_and_is_replayed() {
    let fresh = Fresh::new(Backend::Sqlite, true).await;
    let store = fresh.store.clone();
    let legacy = LegacyFixture::new(Backend::Sqlite).await;
    let mut sync = Sync::new(legacy.db.clone());
    sync.backoff = Duration::ZERO;
    store.set_legacy_sync(true).await.expect("on");
    // A name the old CUST_NM (40 Big5 bytes) cannot hold.
    let long = "很".repeat(25);
    let c = store.create_customer(&customer_input("C0300", &long).validate().expect("valid")).await.expect("create");
    let other = store.create_customer(&customer_input("C0301", "好名字").validate().expect("valid")).await.expect("create");
    for _ in 0..worker::MAX_ATTEMPTS {
        sync.batch(&store).await.expect("batch");
    }
    let dead = store.legacy_dead_letters(10).await.expect("dead letters");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].entity, format!("customer:{}", c.id));
    assert!(dead[0].last_error.as_deref().unwrap_or("").contains("CUST_NM"), "{dead:?}");
    // The other customer went through.
    assert!(legacy.db.fetch(&CUST_MST, "CUST_NO = $1", &["C0301".to_owned()]).await.expect("fetch").len() == 1, "{}", other.id);
    // A later change of the same customer waits behind its dead letter (order per entity) …
    let mut data = store.get_customer(c.id).await.expect("get").data;
    data.name = "短名".into();
    store.update_customer(c.id, &data).await.expect("fix the name");
    let r = sync.batch(&store).await.expect("batch");
    assert_eq!(r.read, 0, "the fix must not overtake the dead letter");
    // … and the replay applies both, in order.
    assert_eq!(store.replay_dead_letters(None).await.expect("replay"), 1);
    let r = drain(&sync, &store).await;
    assert_eq!((r.applied, r.failed), (2, 0));
    let row = legacy.db.fetch_records::<legacy::Customer>("CUST_NO = $1", &["C0300".to_owned()]).await.expect("fetch");
    assert_eq!(row[0].as_ref().map(|c| c.name.clone()).ok(), Some("短名".to_owned()));
    assert!(store.legacy_dead_letters(10).await.expect("dead").is_empty());
    legacy.cleanup().await;
    fresh.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_writes_its_delivery_record_with_the_cash_taken() {
    let fresh = Fresh::new(Backend::Sqlite, true).await;
    let store = fresh.store.clone();
    let legacy = LegacyFixture::new(Backend::Sqlite).await;
    let sync = Sync::new(legacy.db.clone());
    store.set_legacy_sync(true).await.expect("on");
    let c = store.create_customer(&customer_input("C0400", "送達測試").validate().expect("valid")).await.expect("create");
    let day = chrono::Utc::now().date_naive();
    let o = store.create_order(&order_for(c.id, day, 1), "dispatcher@test").await.expect("order");
    drain(&sync, &store).await;
    // A received order can only be cancelled by a person; the planner plans it first.
    sqlx_exec(&store, &format!("UPDATE orders SET status = 'planned' WHERE id = {}", o.id)).await;
    store
        .change_order_status(o.id, &StatusChange { status: OrderStatus::Delivered, changed_by: "driver@test".into(), at_s: None, note: None })
        .await
        .expect("delivered");
    drain(&sync, &store).await;
    let no = store.legacy_no("order", o.id).await.expect("link").expect("linked");
    let dlv = legacy.db.fetch_records::<legacy::Delivery>("ORD_NO = $1", std::slice::from_ref(&no)).await.expect("fetch");
    let Some(Ok(d)) = dlv.into_iter().next() else { panic!("no DLV_REC for {no}") };
    assert_eq!((d.customer.as_str(), d.result, d.delivered.of(20)), ("C0400", legacy::codes::DeliveryResult::Delivered, 2));
    assert_eq!(d.updated.user, SYNC_USER);
    assert!(d.number.ends_with("5001") || d.number[7..].parse::<u32>().unwrap_or(0) > 5000, "{}", d.number);
    assert_eq!(
        legacy.db.fetch_records::<legacy::Order>("ORD_NO = $1", &[no]).await.expect("fetch")[0].as_ref().expect("row").status,
        legacy::codes::OrderStatus::Delivered
    );
    legacy.cleanup().await;
    fresh.cleanup().await;
}

async fn sqlx_exec(store: &Store, sql: &str) {
    match store {
        Store::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()).expect("exec"),
        Store::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()).expect("exec"),
    }
}

#[test]
fn record_key_columns_are_what_the_worker_reads() {
    // The worker reads SYNC_KEY rows as (key, table, record): the schema's first three columns.
    let names: Vec<&str> = SYNC_KEY.column_names().collect();
    assert_eq!(&names[..3], ["SYNC_KEY", "TBL_NM", "REC_NO"]);
    assert_eq!(<legacy::Customer as Record>::TABLE.name, "CUST_MST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_cut_over_to_legacy_off_is_no_longer_written_for_its_targets() {
    let fresh = Fresh::new(Backend::Sqlite, true).await;
    let store = fresh.store.clone();
    let legacy = LegacyFixture::new(Backend::Sqlite).await;
    let sync = Sync::new(legacy.db.clone());
    let flags = planner_api::flags::FlagSet::default();
    sync.attach_flags(flags.clone());
    store.set_legacy_sync(true).await.expect("on");
    let a = store.create_customer(&customer_input("C0500", "還在舊系統").validate().expect("valid")).await.expect("create");
    let b = store.create_customer(&customer_input("C0501", "已切換").validate().expect("valid")).await.expect("create");
    // legacy.customers: dual write by default, legacy_off for customer b.
    let definition: flags::FlagDefinition = serde_json::from_value(serde_json::json!({
        "key": "legacy.customers", "kind": "stage", "default": "dual_write",
        "rules": [{ "customers": [b.id], "variant": "legacy_off" }]
    }))
    .expect("definition");
    flags.apply(&planner_api::store::flags::FlagRecord { definition, version: 1, updated_at: Utc::now(), updated_by: "admin@test".into() });
    let r = drain(&sync, &store).await;
    assert_eq!((r.applied, r.skipped), (1, 1), "{r:?}");
    let present = |code: &'static str| {
        let db = legacy.db.clone();
        async move { db.fetch(&CUST_MST, "CUST_NO = $1", &[code.to_owned()]).await.expect("fetch").len() }
    };
    assert_eq!((present("C0500").await, present("C0501").await), (1, 0));
    assert_eq!(store.legacy_depth(Utc::now()).await.expect("depth").pending, 0, "a skipped change is closed, not left waiting");
    let _ = a;
    legacy.cleanup().await;
    fresh.cleanup().await;
}

/// A stamp of the old program's clerk `seconds` from now (Taipei): `UPD_DT`, `UPD_TM`.
fn clerk_stamp(seconds: i64) -> (String, String) {
    let at = (Utc::now() + chrono::Duration::seconds(seconds)).with_timezone(&einvoice::calendar::taipei());
    (einvoice::calendar::format_roc(at.date_naive(), einvoice::calendar::RocStyle::Compact).expect("roc"), at.format("%H%M%S").to_string())
}

/// Runs `sql` in the old database "as the old program does".
async fn old_program(legacy: &LegacyDb, sql: &str) {
    legacy.execute_script(sql).await.expect("the old program's change");
}

async fn old_customer(legacy: &LegacyDb, code: &str) -> legacy::Customer {
    let rows = legacy.fetch_records::<legacy::Customer>("CUST_NO = $1", &[code.to_owned()]).await.expect("fetch");
    rows.into_iter().next().expect("row").expect("valid row")
}

async fn conflicting_edits_are_resolved_by_the_stated_rules(backend: Backend) {
    let fresh = Fresh::new(backend, true).await;
    let store = fresh.store.clone();
    let legacy = LegacyFixture::new(backend).await;
    let sync = Sync::new(legacy.db.clone());
    let flags = planner_api::flags::FlagSet::default();
    sync.attach_flags(flags.clone());
    store.set_legacy_sync(true).await.expect("on");
    let c = store.create_customer(&customer_input("C0600", "王記小吃").validate().expect("valid")).await.expect("create");
    let day = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    let cancelled = store.create_order(&order_for(c.id, day, 1), "dispatcher@test").await.expect("order");
    let delivered = store.create_order(&order_for(c.id, day, 2), "dispatcher@test").await.expect("order");
    drain(&sync, &store).await;
    // The pick-up starts after the latest change (the service's own writes).
    assert_eq!(sync.pickup(&store).await.expect("first round").read, 0);

    // Both sides change the customer: the name on both, the phone here, the address and the
    // memo in the old program.
    let mut here = store.get_customer(c.id).await.expect("customer").data;
    here.name = "王記小吃店".into();
    here.phone = Some("0922333444".into());
    store.update_customer(c.id, &here).await.expect("update here");
    let (date, time) = clerk_stamp(60);
    old_program(
        &legacy.db,
        &format!(
            "UPDATE CUST_MST SET CUST_NM = '王記麵店', ADDR = '信義路五段8號', MEMO = '後門進', UPD_DT = '{date}', UPD_TM = '{time}', UPD_USER = 'CLERK01' WHERE CUST_NO = 'C0600';"
        ),
    )
    .await;
    // The worker does not write over the clerk's change before the pick-up has merged it.
    let held = drain(&sync, &store).await;
    assert!(held.deferred >= 1 && held.written == 0, "{held:?}");
    assert_eq!(old_customer(&legacy.db, "C0600").await.name, "王記麵店");

    let picked = sync.pickup(&store).await.expect("pick-up");
    assert_eq!((picked.read, picked.updated, picked.conflicts, picked.written_back), (1, 1, 1, 1), "{picked:?}");
    // dual_write: the old program is the system of record, its name wins; the one-sided
    // changes of both are kept.
    let merged = store.get_customer(c.id).await.expect("customer").data;
    assert_eq!((merged.name.as_str(), merged.address.as_str(), merged.phone.as_deref()), ("王記麵店", "信義路5段8號", Some("0922333444")));
    let conflicts = store.legacy_conflicts(Some("C0600"), 10).await.expect("conflicts");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let k = &conflicts[0];
    assert_eq!(
        (k.field.as_str(), k.base_value.as_deref(), k.legacy_value.as_str(), k.new_value.as_str()),
        ("CUST_NM", Some("王記小吃"), "王記麵店", "王記小吃店")
    );
    assert_eq!((k.winner.as_str(), k.legacy_user.as_str()), ("legacy", "CLERK01"));
    assert!(k.rule.contains("legacy.customers"), "{}", k.rule);
    // The merge goes back to the old side once, with the service's stamp; the old program's
    // own field stays.
    let back = drain(&sync, &store).await;
    assert!(back.written >= 1, "{back:?}");
    let old = old_customer(&legacy.db, "C0600").await;
    assert_eq!((old.name.as_str(), old.tel1.as_str(), old.memo.as_str(), old.updated.user.as_str()), ("王記麵店", "0922333444", "後門進", SYNC_USER));
    // No echo: nothing more moves either way.
    assert_eq!(sync.pickup(&store).await.expect("pick-up").read, 0);
    assert_eq!(drain(&sync, &store).await.written, 0);
    assert_eq!(sync.pickup(&store).await.expect("pick-up").read, 0);

    // new_primary: the service is the system of record, its name wins.
    let definition: flags::FlagDefinition =
        serde_json::from_value(serde_json::json!({ "key": "legacy.customers", "kind": "stage", "default": "new_primary" })).expect("definition");
    flags.apply(&planner_api::store::flags::FlagRecord { definition, version: 1, updated_at: Utc::now(), updated_by: "admin@test".into() });
    let mut here = store.get_customer(c.id).await.expect("customer").data;
    here.name = "王記新店".into();
    store.update_customer(c.id, &here).await.expect("update here");
    let (date, time) = clerk_stamp(120);
    old_program(
        &legacy.db,
        &format!("UPDATE CUST_MST SET CUST_NM = '王記老店', UPD_DT = '{date}', UPD_TM = '{time}', UPD_USER = 'CLERK02' WHERE CUST_NO = 'C0600';"),
    )
    .await;
    let picked = sync.pickup(&store).await.expect("pick-up");
    assert_eq!((picked.conflicts, picked.updated), (1, 0), "{picked:?}");
    assert_eq!(store.get_customer(c.id).await.expect("customer").data.name, "王記新店");
    drain(&sync, &store).await;
    assert_eq!(old_customer(&legacy.db, "C0600").await.name, "王記新店");
    let latest = &store.legacy_conflicts(Some("C0600"), 1).await.expect("conflicts")[0];
    assert_eq!((latest.winner.as_str(), latest.legacy_value.as_str()), ("new", "王記老店"));

    // The old program cancels one order and records a delivery of the other; it also takes a
    // new customer and a phone order for it.
    let cancel_no = store.legacy_no("order", cancelled.id).await.expect("link").expect("linked");
    let deliver_no = store.legacy_no("order", delivered.id).await.expect("link").expect("linked");
    let (date, time) = clerk_stamp(180);
    let roc_day = einvoice::calendar::format_roc(day, einvoice::calendar::RocStyle::Compact).expect("roc");
    old_program(
        &legacy.db,
        &format!(
            "UPDATE ORD_HDR SET STATUS = 'X', UPD_DT = '{date}', UPD_TM = '{time}', UPD_USER = 'CLERK01' WHERE ORD_NO = '{cancel_no}';
             INSERT INTO DLV_REC (DLV_NO, ORD_NO, CUST_NO, DLV_DT, DLV_TM, DRV_NO, RESULT, DLV_04, DLV_10, DLV_16, DLV_20, DLV_50, COLL_AMT, UPD_DT, UPD_TM, UPD_USER)
                 VALUES ('{roc_day}0007', '{deliver_no}', 'C0600', '{roc_day}', '0930', 'D003', '1', 0, 0, 0, 1, 0, 800, '{date}', '{time}', 'CLERK01');
             INSERT INTO CUST_MST (CUST_NO, CUST_NM, CUST_TYP, TEL1, TEL2, CITY, AREA, ADDR, LAT, LON, SCHED, SCHED_DAY, USU_04, USU_10, USU_16, USU_20, USU_50,
                 TIME_PREF, PAY_TYPE, MEMO, STOP_FG, CRT_DT, UPD_DT, UPD_TM, UPD_USER)
                 VALUES ('C0777', '舊系統新客', '1', '02-2723-0000', '', '台北市', '信義區', '松仁路100號', NULL, NULL, 'N', 0, 0, 0, 0, 1, 0,
                 'A', '1', '', 'N', '{date}', '{date}', '{time}', 'CLERK01');
             INSERT INTO ORD_HDR (ORD_NO, ORD_DT, CUST_NO, DLV_DT, TIME_PREF, ORD_SRC, URGENT, STATUS, TOT_AMT, MEMO, UPD_DT, UPD_TM, UPD_USER)
                 VALUES ('{roc_day}0008', '{date}', 'C0777', '{roc_day}', 'A', 'T', 'Y', 'O', 800, '電話訂', '{date}', '{time}', 'CLERK01');
             INSERT INTO ORD_DTL (ORD_NO, SEQ, CYL_KG, QTY, PRICE, AMT) VALUES ('{roc_day}0008', 1, 20, 1, 800, 800);"
        ),
    )
    .await;
    let picked = sync.pickup(&store).await.expect("pick-up");
    assert_eq!((picked.read, picked.created, picked.rejected), (4, 2, 0), "{picked:?}");
    assert_eq!(store.get_order(cancelled.id).await.expect("order").status, OrderStatus::Cancelled);
    assert_eq!(store.get_order(delivered.id).await.expect("order").status, OrderStatus::Delivered);
    let history = store.order_history(cancelled.id).await.expect("history");
    assert_eq!(history.last().map(|e| e.changed_by.as_str()), Some("legacy:CLERK01"));
    let newcomer = store.customers_by_codes(&["C0777".to_owned()]).await.expect("customers");
    assert_eq!(newcomer.len(), 1);
    assert!(newcomer[0].position_approximate, "placed at its district's centroid");
    let phone_order = store.linked_id("order", &format!("{roc_day}0008")).await.expect("link").expect("linked");
    let phone_order = store.get_order(phone_order).await.expect("order");
    assert_eq!((phone_order.data.customer_id, phone_order.data.priority, phone_order.status), (newcomer[0].id, Priority::Urgent, OrderStatus::Received));
    // The old program's delivery record stands as it typed it.
    drain(&sync, &store).await;
    let dlv = legacy.db.fetch_records::<legacy::Delivery>("ORD_NO = $1", std::slice::from_ref(&deliver_no)).await.expect("fetch");
    assert_eq!(dlv.len(), 1);
    assert_eq!(dlv[0].as_ref().expect("row").driver, "D003");
    assert_eq!(sync.pickup(&store).await.expect("pick-up").read, 0, "no echo");
    legacy.cleanup().await;
    fresh.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_edits_are_resolved_by_the_stated_rules_sqlite() {
    conflicting_edits_are_resolved_by_the_stated_rules(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_edits_are_resolved_by_the_stated_rules_postgres() {
    conflicting_edits_are_resolved_by_the_stated_rules(Backend::Postgres).await;
}

async fn reconciliation_finds_planted_drift_and_repairs_it(backend: Backend) {
    use planner_api::sync::reconcile::{Direction, DriftKind};
    let fresh = Fresh::new(backend, true).await;
    let store = fresh.store.clone();
    let legacy = LegacyFixture::new(backend).await;
    let data = dataset(60, 10);
    legacy.load(&data).await;
    import::run(&store, &Source::Database(&legacy.db), true).await.expect("import");
    let sync = Sync::new(legacy.db.clone());
    store.set_legacy_sync(true).await.expect("on");
    let (from, to) = (NaiveDate::from_ymd_opt(2026, 9, 1).expect("date"), NaiveDate::from_ymd_opt(2026, 9, 20).expect("date"));

    // What the import could not take (rejected records) and what it read its own way (an open
    // order with a delivery record) is the drift both sides start with.
    let baseline = sync.reconcile(&store, from, to, None).await.expect("reconcile");
    assert!(baseline.drift.iter().any(|d| d.kind == DriftKind::MissingHere), "{}", baseline.render());
    assert!(baseline.buckets.iter().any(|b| b.entity == "order" && b.legacy_count > 0 && b.legacy_digest == b.here_digest), "{}", baseline.render());

    // Planted: an old record changed behind the sync's back (with the service's stamp, so the
    // pick-up does not take it), an order deleted from the old side, a change here while the
    // queueing was off.
    let links = store.legacy_links("customer").await.expect("links");
    let (edited_no, _) = links.iter().find(|(no, id)| store_has_link(&links, no, *id)).expect("a customer").clone();
    let (drifted_no, drifted_id) = links.iter().rev().find(|(no, id)| *no != edited_no && store_has_link(&links, no, *id)).expect("another customer").clone();
    old_program(&legacy.db, &format!("UPDATE CUST_MST SET CUST_NM = '被改掉的名字', UPD_USER = '{SYNC_USER}' WHERE CUST_NO = '{edited_no}';")).await;
    let orders = store.legacy_links("order").await.expect("links");
    let (deleted_no, deleted_id) = orders.first().expect("an order").clone();
    old_program(&legacy.db, &format!("DELETE FROM ORD_DTL WHERE ORD_NO = '{deleted_no}'; DELETE FROM ORD_HDR WHERE ORD_NO = '{deleted_no}';")).await;
    store.set_legacy_sync(false).await.expect("off");
    let mut c = store.get_customer(drifted_id).await.expect("customer").data;
    c.phone = Some("0933111222".into());
    store.update_customer(drifted_id, &c).await.expect("update");
    store.set_legacy_sync(true).await.expect("on");

    let found = sync.reconcile(&store, from, to, None).await.expect("reconcile");
    let planted: Vec<_> = found.drift.iter().filter(|d| !baseline.drift.contains(d)).collect();
    assert_eq!(planted.len(), 3, "{}", found.render());
    let edited = planted.iter().find(|d| d.legacy_no == edited_no).expect("the edited customer found");
    assert_eq!((edited.kind, edited.fields.len(), edited.fields[0].field.as_str()), (DriftKind::Differs, 1, "CUST_NM"));
    let drifted = planted.iter().find(|d| d.legacy_no == drifted_no).expect("the customer changed here found");
    assert_eq!((drifted.kind, drifted.fields[0].field.as_str(), drifted.fields[0].new.as_str()), (DriftKind::Differs, "TEL", "0933111222"));
    let deleted = planted.iter().find(|d| d.legacy_no == deleted_no).expect("the deleted order found");
    assert_eq!((deleted.kind, deleted.id), (DriftKind::MissingInLegacy, Some(deleted_id)));
    assert!(found.buckets.iter().any(|b| b.drift > 0 && b.legacy_digest != b.here_digest));
    assert_eq!(store.legacy_depth(Utc::now()).await.expect("depth").drift, found.drift.len() as i64);

    // Repaired towards the old side: the service's records written there.
    let repair = sync.reconcile(&store, from, to, Some(Direction::ToLegacy)).await.expect("repair");
    assert!(repair.repaired >= 3 && planted.iter().all(|p| repair.drift.iter().any(|d| d.legacy_no == p.legacy_no && d.repaired)), "{}", repair.render());
    drain(&sync, &store).await;
    let after = sync.reconcile(&store, from, to, None).await.expect("reconcile");
    // Only what exists on the old side alone is left (a repair to the old side deletes nothing).
    assert!(after.drift.iter().all(|d| d.kind == DriftKind::MissingHere), "{}", after.render());
    assert!(!after.drift.iter().any(|d| planted.iter().any(|p| p.legacy_no == d.legacy_no)), "{}", after.render());
    assert_eq!(old_customer(&legacy.db, &drifted_no).await.tel1, "0933111222");

    // Repaired from the old side: the old record taken here.
    old_program(&legacy.db, &format!("UPDATE CUST_MST SET CUST_NM = '舊系統為準', UPD_USER = '{SYNC_USER}' WHERE CUST_NO = '{edited_no}';")).await;
    let repair = sync.reconcile(&store, from, to, Some(Direction::FromLegacy)).await.expect("repair");
    assert!(repair.drift.iter().any(|d| d.legacy_no == edited_no && d.repaired), "{}", repair.render());
    let id = store.linked_id("customer", &edited_no).await.expect("link").expect("linked");
    assert_eq!(store.get_customer(id).await.expect("customer").data.name, "舊系統為準");
    drain(&sync, &store).await;
    let last = sync.reconcile(&store, from, to, None).await.expect("reconcile");
    assert!(!last.drift.iter().any(|d| d.legacy_no == edited_no), "{}", last.render());
    legacy.cleanup().await;
    fresh.cleanup().await;
}

/// Whether `no` is a survivor's own link (not a merged duplicate's).
fn store_has_link(links: &[(String, i64)], no: &str, id: i64) -> bool {
    links.iter().filter(|(_, i)| *i == id).count() == 1 && no.starts_with('C')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_finds_planted_drift_and_repairs_it_sqlite() {
    reconciliation_finds_planted_drift_and_repairs_it(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_finds_planted_drift_and_repairs_it_postgres() {
    reconciliation_finds_planted_drift_and_repairs_it(Backend::Postgres).await;
}
