//! The restore drill (issue 20, point 4), on SQLite and on PostgreSQL: `luckygas backup` taken
//! while orders are being written, `luckygas restore` into a fresh database; the restored
//! database holds every order committed before the backup started and each restored row is as it
//! was (digests of the rows up to the last restored id agree). A restore over a database refuses
//! without `--force`; a backup never overwrites one.
//!
//! Continuous archiving on PostgreSQL (the production set-up, done there by the CloudNativePG
//! operator): a server of the test's own archives its WAL; a base backup taken under write load,
//! the server lost, a fresh server restored from the base backup and the archive holds every
//! order committed up to the last archived WAL segment, each as it was. The RPO and RTO it
//! measures are printed (ops/README.md quotes them).

mod support;

use chrono::NaiveDate;
use planner_api::domain::customer::UsualCylinder;
use planner_api::domain::{CustomerInput, NewOrder, Priority};
use planner_api::store::Store;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use support::own_postgres::OwnPostgres;
use support::{order_digest as orders, Backend, OwnDatabase};

/// Runs the `luckygas` binary on database `url`.
async fn luckygas(url: &str, args: &[&str]) -> Output {
    let (url, args): (String, Vec<String>) = (url.to_owned(), args.iter().map(|a| (*a).to_owned()).collect());
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_luckygas")).args(&args).env("DATABASE_URL", &url).env("RUST_LOG", "warn").output().expect("run luckygas")
    })
    .await
    .expect("join")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn order(customer_id: i64, n: u32) -> NewOrder {
    NewOrder {
        customer_id,
        delivery_date: NaiveDate::from_ymd_opt(2026, 12, 8).expect("date"),
        cylinders: vec![UsualCylinder { size_kg: if n.is_multiple_of(3) { 50 } else { 20 }, quantity: 1 + n % 2 }],
        time_window: None,
        preference: None,
        priority: if n.is_multiple_of(5) { Priority::Urgent } else { Priority::Normal },
        note: Some(format!("第{n}筆")),
        alternative_addresses: Vec::new(),
    }
}

/// Twenty customers and 200 orders; the customers' ids.
async fn seed(store: &Store) -> Vec<i64> {
    let mut customers = Vec::new();
    for i in 0..20 {
        let input = CustomerInput {
            code: format!("C{:04}", 100 + i),
            name: format!("備份客戶{i}"),
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
        };
        customers.push(store.create_customer(&input.validate().expect("valid")).await.expect("customer").id);
    }
    for n in 0..200 {
        store.create_order(&order(customers[n as usize % customers.len()], n), "drill@test").await.expect("order");
    }
    customers
}

/// Writes orders for `customers` until `stop` is set; the task gives how many it wrote.
fn keep_writing(store: &Store, customers: &[i64], stop: &Arc<AtomicBool>) -> tokio::task::JoinHandle<u32> {
    let (store, stop, customers) = (store.clone(), Arc::clone(stop), customers.to_vec());
    tokio::spawn(async move {
        let mut n = 200u32;
        while !stop.load(Ordering::Acquire) {
            store.create_order(&order(customers[n as usize % customers.len()], n), "drill@test").await.expect("order under load");
            n += 1;
        }
        n - 200
    })
}

async fn restore_drill(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = OwnDatabase::new(backend, dir.path(), "src").await;
    let store = Store::open(&src.url).await.expect("open the source");
    let customers = seed(&store).await;

    // Orders keep coming while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = keep_writing(&store, &customers, &stop);
    let (before, _, _) = orders(&store, None).await;
    assert_eq!(store.last_backup_started().await.expect("last backup"), None);
    let asked = chrono::Utc::now();
    let path = dir.path().join("luckygas.backup");
    let path_text = path.to_str().expect("utf-8");
    let out = luckygas(&src.url, &["backup", "--to", path_text]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("backup of"), "{}", text(&out));
    stop.store(true, Ordering::Release);
    let during = writer.await.expect("writer");
    let (after, _, _) = orders(&store, None).await;
    assert!(during > 0, "no order was written during the backup");
    // Recorded in the source, for /metrics' luckygas_backup_age_seconds.
    let recorded = store.last_backup_started().await.expect("last backup").expect("the backup is recorded");
    assert!(recorded >= asked - chrono::Duration::seconds(1) && recorded <= chrono::Utc::now(), "{recorded} vs {asked}");

    // Restored into a fresh database.
    let dst = OwnDatabase::new(backend, dir.path(), "dst").await;
    let out = luckygas(&dst.url, &["restore", "--from", path_text]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("restored") && text(&out).contains("orders"), "{}", text(&out));
    let restored = Store::open(&dst.url).await.expect("open the restored database");
    let (upto, count, digest) = orders(&restored, None).await;
    assert!(upto >= before, "orders committed before the backup started are missing: restored up to {upto}, {before} before");
    assert!(upto <= after, "{upto} > {after}");
    let (_, src_count, src_digest) = orders(&store, Some(upto)).await;
    assert_eq!((count, digest), (src_count, src_digest), "the restored orders differ from the source's");
    assert_eq!(restored.customers_by_codes(&["C0100".to_owned(), "C0119".to_owned()]).await.expect("customers").len(), 2, "customers restored");
    restored.close().await;

    // A restore over a database needs --force; a backup never overwrites one.
    let out = luckygas(&dst.url, &["restore", "--from", path_text]).await;
    assert!(!out.status.success(), "{}", text(&out));
    let out = luckygas(&dst.url, &["restore", "--from", path_text, "--force"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = luckygas(&src.url, &["backup", "--to", path_text]).await;
    assert!(!out.status.success() && text(&out).contains("never overwrites"), "{}", text(&out));

    store.close().await;
    src.remove().await;
    dst.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_committed_order_on_sqlite() {
    restore_drill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_committed_order_on_postgres() {
    restore_drill(Backend::Postgres).await;
}

/// `--to-dir` names the backup by when it began and `--keep` prunes the oldest of those names,
/// leaving other files alone: what the Kubernetes CronJob runs (the image has no shell).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_are_named_by_time_and_pruned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = OwnDatabase::new(Backend::Sqlite, dir.path(), "sched").await;
    Store::open(&src.url).await.expect("open").close().await;
    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups).expect("mkdir");
    for old in ["luckygas-20261201T010000Z.db", "luckygas-20261202T010000Z.db", "luckygas-20261203T010000Z.db"] {
        std::fs::write(backups.join(old), b"an older backup").expect("write");
    }
    std::fs::write(backups.join("notes.txt"), b"not a backup").expect("write");
    let out = luckygas(&src.url, &["backup", "--to-dir", backups.to_str().expect("utf-8"), "--keep", "2"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let mut names: Vec<String> = std::fs::read_dir(&backups).expect("ls").map(|e| e.expect("entry").file_name().into_string().expect("utf-8")).collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[0], "luckygas-20261203T010000Z.db", "{names:?}");
    assert!(names[1].starts_with("luckygas-20") && names[1].ends_with("Z.db") && names[1] > names[0], "{names:?}");
    assert_eq!(names[2], "notes.txt");
    let written = backups.join(&names[1]);
    let copy = Store::open(&format!("sqlite://{}", written.display())).await.expect("the new backup opens");
    copy.close().await;
    assert!(text(&out).contains("deleted the old backup"), "{}", text(&out));
    // --keep needs --to-dir; one of --to and --to-dir is needed.
    let stray = dir.path().join("x.db");
    let out = luckygas(&src.url, &["backup", "--to", stray.to_str().expect("utf-8"), "--keep", "2"]).await;
    assert!(!out.status.success() && text(&out).contains("--to-dir"), "{}", text(&out));
    assert!(!stray.exists());
    let out = luckygas(&src.url, &["backup"]).await;
    assert!(!out.status.success(), "{}", text(&out));
}

/// `pg_stat_archiver`'s last archived segment and failure count.
async fn archiver(store: &Store) -> (Option<String>, i64) {
    let Store::Postgres(pool) = store else { unreachable!("PostgreSQL") };
    sqlx::query_as("SELECT last_archived_wal, failed_count FROM pg_stat_archiver").fetch_one(pool).await.expect("pg_stat_archiver")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_archiving_restores_every_change_up_to_the_last_archived_segment() {
    let pg = OwnPostgres::init();
    let archive = pg.dir().join("archive");
    std::fs::create_dir_all(&archive).expect("mkdir archive");
    pg.give(&archive);
    pg.configure(&format!(
        "wal_level = replica\narchive_mode = on\narchive_command = 'test ! -f {a}/%f && cp %p {a}/%f'\narchive_timeout = 60",
        a = archive.display()
    ));
    pg.up();
    let store = Store::open(&pg.url()).await.expect("open");
    let customers = seed(&store).await;

    // Orders keep coming while the base backup is taken and after it.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = keep_writing(&store, &customers, &stop);
    let base = pg.dir().join("base");
    let out = {
        let mut c = pg.tool("pg_basebackup");
        c.args(["-h", "127.0.0.1", "-p", &pg.port.to_string(), "-U", "postgres", "-X", "none", "-c", "fast", "-D"]).arg(&base);
        tokio::task::spawn_blocking(move || c.output().expect("run pg_basebackup")).await.expect("join")
    };
    assert!(out.status.success(), "pg_basebackup: {}", String::from_utf8_lossy(&out.stderr));
    // A little more under load, then the writes stop and the current segment is archived, as
    // archive_timeout would do within a minute.
    let (after_base, _, _) = orders(&store, None).await;
    while orders(&store, None).await.0 < after_base + 50 {
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::Release);
    let during = writer.await.expect("writer");
    assert!(during >= 50, "{during}");
    let (archived_upto, archived_count, archived_digest) = orders(&store, None).await;
    let Store::Postgres(pool) = &store else { unreachable!() };
    let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())").fetch_one(pool).await.expect("switch wal");
    let asked = std::time::Instant::now();
    loop {
        let (last, failed) = archiver(&store).await;
        assert_eq!(failed, 0, "archiving failed: {}", pg.log());
        if last.is_some_and(|l| l >= segment) {
            break;
        }
        assert!(asked.elapsed() < std::time::Duration::from_secs(60), "segment {segment} not archived within a minute: {}", pg.log());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Written after the last archived segment: what a loss of the server now loses (RPO).
    for n in 0..5 {
        store.create_order(&order(customers[0], 10_000 + n), "drill@test").await.expect("order after the archive");
    }
    store.close().await;
    pg.down();

    // A fresh server from the base backup and the archive.
    let restore_started = std::time::Instant::now();
    let restored_pg = OwnPostgres::empty();
    let copy = std::process::Command::new("cp").arg("-a").arg(&base).arg(restored_pg.data()).status().expect("cp");
    assert!(copy.success());
    restored_pg.give_tree(&restored_pg.data());
    std::fs::write(restored_pg.data().join("recovery.signal"), "").expect("recovery.signal");
    restored_pg.give(&restored_pg.data().join("recovery.signal"));
    restored_pg.configure(&format!("archive_mode = off\nrestore_command = 'cp {}/%f %p'\nrecovery_target_action = 'promote'", archive.display()));
    restored_pg.up();
    let restored = loop {
        let s = Store::connect_unmigrated(&restored_pg.url()).await.expect("connect to the restored server");
        let Store::Postgres(pool) = &s else { unreachable!() };
        let recovering: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()").fetch_one(pool).await.expect("pg_is_in_recovery");
        if !recovering {
            break s;
        }
        s.close().await;
        assert!(restore_started.elapsed() < std::time::Duration::from_secs(120), "still recovering: {}", restored_pg.log());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    restored.ready().await.expect("the restored database is the service's, migrated");
    let rto = restore_started.elapsed();
    let (upto, count, digest) = orders(&restored, None).await;
    assert_eq!((upto, count, digest), (archived_upto, archived_count, archived_digest), "the restore holds exactly what was archived");
    restored.close().await;
    eprintln!(
        "continuous archiving drill: {count} orders restored (base backup + {} archived WAL files) in {:.1} s (RTO, this machine); \
         5 orders written after the last archived segment were lost (RPO: at most archive_timeout = 60 s of writes)",
        std::fs::read_dir(&archive).map(|d| d.count()).unwrap_or(0),
        rto.as_secs_f64()
    );
}
