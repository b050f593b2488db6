//! The bank's statements over SFTP, against a real OpenSSH server on loopback and the real server
//! on SQLite and PostgreSQL:
//!
//! - a server showing another host key than the pinned one is refused (502 `upstream-failed`)
//!   before our key is offered, and nothing is read, stored or moved;
//! - a malformed file stops that file only, named with its line, whether fetched or uploaded;
//! - both layouts in both encodings (CSV in UTF-8, fixed width in Big5) arrive with every
//!   amount and Chinese payer name intact;
//! - the recurring `payments.fetch` job runs on the job runner and queues itself again;
//! - a fetching process killed with SIGKILL in the middle of 40 files loses and credits twice
//!   nothing: the survivor fetches the rest, and the totals, serials, allocations and the
//!   processed folder add up.
//!
//! The child process of the kill test is this test binary run again with
//! `LUCKYGAS_CHILD_FETCHER` set (see [`child_fetcher`]).

mod support;

use chrono::{Datelike, NaiveDate, Utc};
use einvoice::calendar::Period;
use einvoice::money::Ntd;
use einvoice::number::Track;
use luckygas_sftp::testing::TestSshd;
use luckygas_sftp::HostKey;
use payments::statement::{self, Deposit, Encoding, Format, Statement};
use payments::virtual_account::{self, Layout};
use planner_api::domain::invoice::{NewNumberBlock, NewPrice, PriceBasis};
use planner_api::domain::{
    CustomerInput, DepotInput, NewOrder, OrderStatus, PlanRequestInput, PlanResult, Priority, Role, StatusChange, UsualCylinder, VehicleInput, VehicleTypeInput,
};
use planner_api::jobs::{Background, Channels, Handlers};
use planner_api::receivables::fetch::{self, FetchConfig};
use planner_api::receivables::{kinds, Receivables, ReceivablesConfig};
use planner_api::store::plans::epoch_ms;
use planner_api::store::{JobEnd, Store};
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};
use support::{problem_type, Backend, Caller, TestApp};

/// Set in the child process of the kill test: `sqlite://<file>` or `postgres:<schema>`.
const CHILD_ENV: &str = "LUCKYGAS_CHILD_FETCHER";

fn today() -> NaiveDate {
    einvoice::calendar::today_taipei()
}

fn fetch_config(sshd: &TestSshd) -> FetchConfig {
    FetchConfig { sftp: sshd.config(), inbox: "outbound".into(), processed: "processed".into(), every: Duration::from_secs(900), max_file_bytes: 4 << 20 }
}

/// A deposit of today into `account`.
fn deposit(serial: &str, account: &str, amount: i64, payer: &str) -> Deposit {
    let paid_at = today().and_hms_opt(9, 30, 15).expect("a time");
    Deposit {
        serial: serial.into(),
        paid_at,
        value_date: paid_at.date(),
        account: account.into(),
        amount: Ntd(amount),
        payer_name: payer.into(),
        payer_bank: "0120012".into(),
        payer_account: "********1234".into(),
        memo: "瓦斯費".into(),
    }
}

fn statement_bytes(deposits: Vec<Deposit>, format: Format, encoding: Encoding) -> Vec<u8> {
    let s = Statement { bank_code: "013".into(), bank_name: "國泰世華商業銀行".into(), account: "001234567890".into(), date: today(), deposits };
    statement::write(format, &s, encoding).expect("a valid statement")
}

/// A valid virtual account of Cathay's layout (company code 9527) for customer number `n`.
fn account(n: u64) -> String {
    let layout = Layout::cathay_16("9527").expect("layout");
    let due = (today() + chrono::Days::new(20)).and_hms_opt(23, 0, 0).expect("a time");
    virtual_account::generate(&layout, n, due).expect("a valid number").to_string()
}

fn inbox(sshd: &TestSshd) -> std::path::PathBuf {
    sshd.root.join("outbound")
}

fn publish(sshd: &TestSshd, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(inbox(sshd)).expect("inbox");
    std::fs::write(inbox(sshd).join(name), bytes).expect("publish a statement");
}

/// The names of the files in `dir`, sorted (none when it does not exist).
fn names_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries.map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn int(v: &Value, field: &str) -> i64 {
    v[field].as_i64().unwrap_or_else(|| panic!("{field} in {v}"))
}

/// Every item of a list of at most 200 (the API's page limit).
async fn items(caller: &Caller<'_>, path: &str) -> Vec<Value> {
    let (status, _, list) = caller.get(&format!("{path}?limit=200")).await;
    assert_eq!(status, 200, "{path}: {list}");
    let items = list["items"].as_array().unwrap_or_else(|| panic!("{path}: {list}")).clone();
    assert!(items.len() < 200, "{path}: more than one page");
    items
}

/// The serials of the payments the API lists.
fn serials(payments: &[Value]) -> BTreeSet<String> {
    payments.iter().map(|p| p["serial"].as_str().unwrap_or_else(|| panic!("a deposit has its serial: {p}")).to_owned()).collect()
}

/// Polls until sshd's log holds `needle` or `deadline` passes.
fn wait_for_log(sshd: &TestSshd, needle: &str, deadline: Duration) -> bool {
    let started = Instant::now();
    loop {
        if sshd.log_text().contains(needle) {
            return true;
        }
        if started.elapsed() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ----- 1. the pinned host key ----------------------------------------------------------------

async fn a_server_with_another_host_key_is_refused(backend: Backend) {
    let sshd = TestSshd::start().expect("start sshd (Debian package openssh-server)");
    let mut config = fetch_config(&sshd);
    config.sftp.host_key = HostKey::parse(&sshd.other_host_key_line().expect("another host key")).expect("a host key line");
    let app = TestApp::start_payments(backend, Some(config)).await;
    let accountant = app.as_role(Role::Accountant).await;
    let name = format!("VA{}.txt", today().format("%Y%m%d"));
    publish(&sshd, &name, &statement_bytes(vec![deposit("HK00000000000001", &account(99_990), 1_380, "王小明")], Format::FixedWidth, Encoding::Big5));

    let (status, content_type, p) = accountant.post("/v1/deposits/fetch", &json!({})).await;
    assert_eq!((status, problem_type(&p)), (502, "upstream-failed"), "{p}");
    assert!(content_type.starts_with("application/problem+json"), "{content_type}");
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("pinned host key")), "the problem says why: {p}");
    assert_eq!(names_in(&inbox(&sshd)), vec![name.clone()], "the file stays in the inbox");
    assert!(names_in(&sshd.root.join("processed")).is_empty(), "nothing is moved");
    assert!(items(&accountant, "/v1/deposits/statements").await.is_empty(), "no statement file is stored");
    assert!(items(&accountant, "/v1/payments").await.is_empty(), "no payment is stored");
    let log = sshd.log_text();
    assert!(!log.contains("Accepted publickey"), "our key is never offered to a server we do not trust; sshd's log:\n{log}");

    // The control: with the server's own key pinned the same file comes in, and sshd logs the
    // accepted key (so the log would have shown it above).
    let receivables = &app.invoicing.as_ref().expect("payments").receivables;
    let report = fetch::fetch(receivables, &fetch_config(&sshd)).await.expect("fetch with the pinned key");
    assert_eq!((report.imported.len(), report.failed.len()), (1, 0), "{report:?}");
    assert!(wait_for_log(&sshd, "Accepted publickey", Duration::from_secs(10)), "sshd logs an accepted key:\n{}", sshd.log_text());
    assert_eq!(names_in(&sshd.root.join("processed")), vec![name]);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_another_host_key_is_refused_on_sqlite() {
    a_server_with_another_host_key_is_refused(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_another_host_key_is_refused_on_postgres() {
    a_server_with_another_host_key_is_refused(Backend::Postgres).await;
}

// ----- 2. a malformed file -------------------------------------------------------------------

/// A fixed-width statement of three deposits whose second detail (line 3) has letters in its
/// amount; and the deposits it would have held.
fn malformed_statement(prefix: &str) -> (Vec<u8>, Vec<Deposit>) {
    let deposits: Vec<Deposit> = (1..=3).map(|k| deposit(&format!("{prefix}{k:014}"), &account(99_980 + k), 1_000 + k as i64, "陳大文")).collect();
    let good = statement_bytes(deposits.clone(), Format::FixedWidth, Encoding::Utf8);
    let mut lines: Vec<Vec<u8>> = good.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    // Columns 39–51 (bytes 38..51) are the amount: `00000000010020` → `0000000ABCD00`. The line
    // is ASCII up to there, so bytes and Big5 columns agree.
    let line = &mut lines[2];
    assert_eq!(&line[38..51], b"0000000100200", "line 3 is the second detail");
    line[45..49].copy_from_slice(b"ABCD");
    (lines.join(&b'\n'), deposits)
}

async fn a_malformed_file_stops_that_file_only(backend: Backend) {
    let sshd = TestSshd::start().expect("start sshd (Debian package openssh-server)");
    let app = TestApp::start_payments(backend, Some(fetch_config(&sshd))).await;
    let accountant = app.as_role(Role::Accountant).await;
    let good: Vec<Deposit> = (1..=4).map(|k| deposit(&format!("OK{k:014}"), &account(99_970 + k), 500 * k as i64, "林美玲")).collect();
    publish(&sshd, "a_good.txt", &statement_bytes(good.clone(), Format::FixedWidth, Encoding::Big5));
    let (bad, bad_deposits) = malformed_statement("BD");
    publish(&sshd, "b_bad.txt", &bad);

    let (status, _, report) = accountant.post("/v1/deposits/fetch", &json!({})).await;
    assert_eq!(status, 200, "{report}");
    let imported = report["imported"].as_array().expect("imported");
    assert_eq!(imported.len(), 1, "{report}");
    assert_eq!((imported[0]["file"]["file_name"].as_str(), imported[0]["imported"].as_bool()), (Some("a_good.txt"), Some(true)), "{report}");
    let failed = &report["failed"];
    assert_eq!(failed.as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(failed[0]["file"], "b_bad.txt", "{report}");
    assert_eq!(failed[0]["code"], "statement.format", "a stable code: {report}");
    let error = failed[0]["error"].as_str().expect("error");
    assert!(error.starts_with("b_bad.txt line 3, column 39 (amount): \"0000000ABCD00\" is not"), "the file, line, column and field: {error}");
    assert_eq!(names_in(&inbox(&sshd)), vec!["b_bad.txt".to_owned()], "the bad file stays in the inbox");
    assert_eq!(names_in(&sshd.root.join("processed")), vec!["a_good.txt".to_owned()], "the good one is moved");
    let payments = items(&accountant, "/v1/payments").await;
    let expected: BTreeSet<String> = good.iter().map(|d| d.serial.clone()).collect();
    assert_eq!(serials(&payments), expected, "the good file's deposits, none of the bad one's (not even its valid line 2)");
    let amounts: i64 = payments.iter().map(|p| int(p, "amount")).sum();
    assert_eq!(amounts, 500 + 1_000 + 1_500 + 2_000);

    // A second fetch: the bad file is refused again, nothing more is stored.
    let (status, _, again) = accountant.post("/v1/deposits/fetch", &json!({})).await;
    assert_eq!((status, again["imported"].as_array().map(Vec::len), again["failed"][0]["file"].as_str()), (200, Some(0), Some("b_bad.txt")), "{again}");

    // The same bytes uploaded: 422 naming the line, nothing stored.
    let upload = app.anon.post(app.url("/v1/deposits/statements?file_name=bad.txt")).header("content-type", "application/octet-stream").body(bad.clone());
    let (status, _, p) = accountant.send(upload).await;
    assert_eq!(status, 422, "{p}");
    assert_eq!((p["errors"][0]["field"].as_str(), p["errors"][0]["code"].as_str()), (Some("file"), Some("statement.format")), "{p}");
    assert!(
        p["errors"][0]["message"].as_str().is_some_and(|d| d.contains("bad.txt line 3, column 39 (amount): \"0000000ABCD00\" is not")),
        "the file, line, column and field: {p}"
    );
    let statements = items(&accountant, "/v1/deposits/statements").await;
    assert_eq!(statements.len(), 1, "only the good file is stored: {statements:?}");
    let after = items(&accountant, "/v1/payments").await;
    assert_eq!(serials(&after), expected, "the upload stored nothing");
    assert!(bad_deposits.iter().all(|d| !serials(&after).contains(&d.serial)));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_file_stops_that_file_only_on_sqlite() {
    a_malformed_file_stops_that_file_only(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_file_stops_that_file_only_on_postgres() {
    a_malformed_file_stops_that_file_only(Backend::Postgres).await;
}

// ----- 3. both layouts, both encodings -------------------------------------------------------

async fn both_layouts_in_both_encodings_arrive_intact(backend: Backend) {
    let sshd = TestSshd::start().expect("start sshd (Debian package openssh-server)");
    let app = TestApp::start_payments(backend, Some(fetch_config(&sshd))).await;
    let accountant = app.as_role(Role::Accountant).await;
    let payers = ["王小明", "陳美玲", "林志豪", "張淑芬", "黃建國", "吳佩珊"];
    let csv: Vec<Deposit> =
        payers.iter().enumerate().map(|(k, p)| deposit(&format!("CSV{k:013}"), &account(99_900 + k as u64), 1_000 + 111 * k as i64, p)).collect();
    let fixed: Vec<Deposit> = payers
        .iter()
        .rev()
        .enumerate()
        .map(|(k, p)| deposit(&format!("FIX{k:013}"), &account(99_950 + k as u64), 2_000 + 7 * k as i64, &format!("{p}瓦斯行")))
        .collect();
    let csv_bytes = statement_bytes(csv.clone(), Format::Csv, Encoding::Utf8);
    let fixed_bytes = statement_bytes(fixed.clone(), Format::FixedWidth, Encoding::Big5);
    assert!(std::str::from_utf8(&fixed_bytes).is_err(), "the fixed-width file really is Big5");
    publish(&sshd, "x.csv", &csv_bytes);
    publish(&sshd, "y.txt", &fixed_bytes);

    let (status, _, report) = accountant.post("/v1/deposits/fetch", &json!({})).await;
    assert_eq!(status, 200, "{report}");
    let names: Vec<&str> = report["imported"].as_array().expect("imported").iter().filter_map(|r| r["file"]["file_name"].as_str()).collect();
    assert_eq!((names, report["failed"].as_array().map(Vec::len)), (vec!["x.csv", "y.txt"], Some(0)), "{report}");
    assert_eq!(names_in(&sshd.root.join("processed")), vec!["x.csv".to_owned(), "y.txt".to_owned()]);
    assert!(names_in(&inbox(&sshd)).is_empty());

    let statements = items(&accountant, "/v1/deposits/statements").await;
    let by_name: HashMap<&str, &Value> = statements.iter().map(|s| (s["file_name"].as_str().expect("file_name"), s)).collect();
    let x = by_name["x.csv"];
    let y = by_name["y.txt"];
    assert_eq!((x["format"].as_str(), x["encoding"].as_str(), x["source"].as_str()), (Some("csv"), Some("utf-8"), Some("sftp")), "{x}");
    assert_eq!((y["format"].as_str(), y["encoding"].as_str(), y["source"].as_str()), (Some("fixed"), Some("big5"), Some("sftp")), "{y}");
    for (s, deposits) in [(x, &csv), (y, &fixed)] {
        let total: i64 = deposits.iter().map(|d| d.amount.0).sum();
        assert_eq!((int(s, "deposits"), int(s, "new_deposits"), int(s, "total")), (deposits.len() as i64, deposits.len() as i64, total), "{s}");
    }

    let payments = items(&accountant, "/v1/payments").await;
    assert_eq!(payments.len(), csv.len() + fixed.len(), "one payment per deposit");
    let by_serial: HashMap<&str, &Value> = payments.iter().map(|p| (p["serial"].as_str().expect("serial"), p)).collect();
    for (d, statement) in csv.iter().map(|d| (d, x)).chain(fixed.iter().map(|d| (d, y))) {
        let p = by_serial.get(d.serial.as_str()).unwrap_or_else(|| panic!("deposit {} is a payment", d.serial));
        assert_eq!(
            (p["kind"].as_str(), int(p, "amount"), p["payer_name"].as_str(), p["account"].as_str(), p["memo"].as_str()),
            (Some("deposit"), d.amount.0, Some(d.payer_name.as_str()), Some(d.account.as_str()), Some("瓦斯費")),
            "{p}"
        );
        assert_eq!(p["statement_id"], statement["id"], "{p}");
    }
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_layouts_in_both_encodings_arrive_intact_on_sqlite() {
    both_layouts_in_both_encodings_arrive_intact(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_layouts_in_both_encodings_arrive_intact_on_postgres() {
    both_layouts_in_both_encodings_arrive_intact(Backend::Postgres).await;
}

// ----- 4. the scheduled fetch ----------------------------------------------------------------

/// `(status, run_at_ms)` of every `payments.fetch` job.
async fn fetch_jobs(store: &Store) -> Vec<(String, i64)> {
    let sql = "SELECT status, run_at_ms FROM jobs WHERE kind = 'payments.fetch' ORDER BY id";
    match store {
        Store::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.expect("jobs"),
        Store::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.expect("jobs"),
    }
}

async fn the_scheduled_fetch_runs_on_the_job_runner(backend: Backend) {
    let sshd = TestSshd::start().expect("start sshd (Debian package openssh-server)");
    let app = TestApp::start_payments(backend, Some(fetch_config(&sshd))).await;
    let store = app.store();
    let queued = fetch_jobs(store).await;
    assert_eq!(queued.len(), 1, "starting with SFTP configured queues the recurring fetch once: {queued:?}");
    assert_eq!(queued[0].0, "queued");
    assert!(queued[0].1 <= epoch_ms(Utc::now()), "due at once: {queued:?}");
    // Scheduling again (another replica starting) queues nothing more.
    app.invoicing.as_ref().expect("payments").receivables.schedule().await.expect("schedule again");
    assert_eq!(fetch_jobs(store).await.len(), 1);

    let name = format!("VA{}.csv", today().format("%Y%m%d"));
    let deposits = vec![deposit("JOB0000000000001", &account(99_801), 2_100, "周杰倫"), deposit("JOB0000000000002", &account(99_802), 880, "蔡依林")];
    publish(&sshd, &name, &statement_bytes(deposits, Format::Csv, Encoding::Utf8));

    // A runner with only the payments handlers: exactly one run of `payments.fetch`.
    let mut handlers = Handlers::default();
    app.invoicing.as_ref().expect("payments").receivables.register(&mut handlers);
    let runner = Background::new(store.clone(), handlers, Channels::default());
    let before = epoch_ms(Utc::now());
    assert!(runner.run_task("test-runner").await.expect("run"), "the due fetch job runs");
    assert_eq!(names_in(&sshd.root.join("processed")), vec![name.clone()], "imported and moved");
    assert!(names_in(&inbox(&sshd)).is_empty());
    let accountant = app.as_role(Role::Accountant).await;
    let statements = items(&accountant, "/v1/deposits/statements").await;
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert_eq!(
        (statements[0]["file_name"].as_str(), statements[0]["source"].as_str(), int(&statements[0], "total")),
        (Some(name.as_str()), Some("sftp"), 2_980)
    );
    assert_eq!(items(&accountant, "/v1/payments").await.len(), 2);

    // Queued again, due one interval (900 s) later, and not due now.
    let after = fetch_jobs(store).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].0, "queued", "{after:?}");
    assert!((before + 899_000..=epoch_ms(Utc::now()) + 900_000).contains(&after[0].1), "due in 15 minutes: {after:?} (ran at {before})");
    assert_eq!(store.count_tasks(kinds::FETCH, "queued").await.expect("count"), 1);
    assert_eq!(store.count_tasks(kinds::FETCH, "failed").await.expect("count"), 0);
    assert!(!runner.run_task("test-runner").await.expect("run"), "nothing is due until then");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_fetch_runs_on_the_job_runner_on_sqlite() {
    the_scheduled_fetch_runs_on_the_job_runner(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_fetch_runs_on_the_job_runner_on_postgres() {
    the_scheduled_fetch_runs_on_the_job_runner(Backend::Postgres).await;
}

// ----- 5. a fetcher killed mid-import --------------------------------------------------------

/// Files published for the kill test, deposits per file, and files fetched before the kill.
const FILES: usize = 40;
const PER_FILE: usize = 300;
const KILL_AFTER: usize = 10;
/// Monthly customers with open invoices and virtual accounts.
const CUSTOMERS: usize = 20;

/// The child of [`a_fetcher_killed_mid_import_loses_and_duplicates_nothing`]: does nothing
/// unless `LUCKYGAS_CHILD_FETCHER` names the database; then fetches with the SFTP settings of
/// `LUCKYGAS_BANK_SFTP_*` and the layout of `LUCKYGAS_VA_COMPANY_CODE`, as `luckygas serve`
/// reads them, until the inbox is empty or it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_fetcher() {
    let Ok(database) = std::env::var(CHILD_ENV) else { return };
    let store = match database.strip_prefix("postgres:") {
        Some(schema) => {
            let options = PgConnectOptions::from_str(&support::pg_url()).expect("DATABASE_URL_PG parses").options([("search_path", schema)]);
            Store::open_postgres(options).await.expect("child connects to PostgreSQL")
        }
        None => Store::open(&database).await.expect("child opens SQLite"),
    };
    let config = ReceivablesConfig::from_env().expect("the child's settings");
    let sftp = config.sftp.clone().expect("SFTP settings");
    let receivables = Receivables::new(store, config);
    for round in 0..FILES {
        let report = fetch::fetch(&receivables, &sftp).await.expect("child fetch");
        assert!(report.failed.is_empty(), "child: {:?}", report.failed);
        for r in &report.imported {
            println!("imported {} {}", r.file.file_name, r.imported);
        }
        if report.imported.is_empty() {
            println!("child: done after {round} rounds");
            return;
        }
    }
}

/// Runs a read-only query on either backend and maps its rows.
macro_rules! query_rows {
    ($store:expr, $sql:expr, |$r:ident| $map:expr) => {{
        use sqlx::Row as _;
        match $store {
            Store::Postgres(pool) => sqlx::query($sql).fetch_all(pool).await.expect("query").iter().map(|$r| $map).collect::<Vec<_>>(),
            Store::Sqlite(pool) => sqlx::query($sql).fetch_all(pool).await.expect("query").iter().map(|$r| $map).collect::<Vec<_>>(),
        }
    }};
}

/// How the child finds the database: the SQLite file (from the database itself) or the schema.
async fn child_database(store: &Store) -> String {
    match store {
        Store::Sqlite(pool) => {
            let file: String = sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'").fetch_one(pool).await.expect("database file");
            assert!(!file.is_empty(), "a SQLite file, not an in-memory database");
            format!("sqlite://{file}")
        }
        Store::Postgres(pool) => {
            let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(pool).await.expect("schema");
            format!("postgres:{schema}")
        }
    }
}

/// Plans every received order of `date` (`expected`) with a planning job that is claimed and
/// finished with all of them routed: they become `planned`, as after a real search.
async fn plan(store: &Store, date: NaiveDate, expected: &[i64]) {
    let depot: DepotInput = serde_json::from_value(support::depot("汐止站")).expect("depot");
    let depot = store.create_depot(&depot.validate().expect("valid depot")).await.expect("create depot");
    let vt: VehicleTypeInput = serde_json::from_value(json!({
        "name": "小貨車", "kind": "truck", "cylinder_slots": [{ "size_kg": 20, "count": 30 }], "max_load_kg": 1500, "max_gas_kg": 600
    }))
    .expect("type");
    let vt = store.create_vehicle_type(&vt.validate().expect("valid type")).await.expect("create type");
    let v: VehicleInput = serde_json::from_value(json!({ "plate": "KIL-0001", "vehicle_type_id": vt.id, "depot_id": depot.id })).expect("vehicle");
    store.create_vehicle(&v.validate().expect("valid vehicle")).await.expect("create vehicle");
    let r: PlanRequestInput = serde_json::from_value(json!({ "date": date.to_string(), "depot_ids": [depot.id] })).expect("request");
    let job = store.create_plan_job(&r.validate(60.0).expect("valid request"), planner_api::planning::DEFAULT_MAX_ORDERS).await.expect("queue plan job");
    assert_eq!(job.order_ids, expected, "the plan job holds exactly the orders made for it");
    let now = Utc::now();
    let claimed = store.claim_plan_job("test-planner", now, epoch_ms(now) + 60_000).await.expect("claim").expect("the plan job");
    let result: PlanResult = serde_json::from_value(json!({
        "depots": [], "routes": [], "unassigned": [], "distance_m": 0, "duration_s": 0, "cost_ntd": 0, "feasible": true, "iterations": 0, "elapsed_s": 0.0
    }))
    .expect("plan result");
    let end = JobEnd::Succeeded { result: Box::new(result), problem: None, model: None, planned: job.order_ids.clone() };
    assert!(store.finish_plan_job(claimed.id, "test-planner", &end, &[]).await.expect("finish plan job"));
}

/// Whether another process holds a write transaction open on the test database: on PostgreSQL,
/// a lock taken by inserting into the test schema's `payments` (held until the transaction
/// ends); on SQLite, the database's write lock (`BEGIN IMMEDIATE` on a connection that does not
/// wait fails while another connection writes; when it succeeds it is rolled back at once).
enum WriterProbe {
    Postgres(sqlx::PgPool, String),
    Sqlite(sqlx::SqliteConnection),
}

impl WriterProbe {
    async fn new(store: &Store) -> WriterProbe {
        match store {
            Store::Postgres(pool) => {
                let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(pool).await.expect("schema");
                WriterProbe::Postgres(pool.clone(), schema)
            }
            Store::Sqlite(pool) => {
                use sqlx::Connection as _;
                let file: String =
                    sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'").fetch_one(pool).await.expect("database file");
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file).busy_timeout(Duration::ZERO);
                WriterProbe::Sqlite(sqlx::SqliteConnection::connect_with(&options).await.expect("probe connection"))
            }
        }
    }

    async fn writing(&mut self) -> bool {
        match self {
            WriterProbe::Postgres(pool, schema) => {
                let locks: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relname = 'payments' AND l.mode = 'RowExclusiveLock' AND l.granted AND l.pid <> pg_backend_pid()",
                )
                .bind(schema.as_str())
                .fetch_one(&*pool)
                .await
                .expect("pg_locks");
                locks > 0
            }
            WriterProbe::Sqlite(conn) => match sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
                Ok(_) => {
                    sqlx::query("ROLLBACK").execute(&mut *conn).await.expect("rollback the probe");
                    false
                }
                Err(sqlx::Error::Database(e)) if e.message().contains("locked") => true,
                Err(e) => panic!("probing SQLite's write lock: {e}"),
            },
        }
    }

    async fn close(self) {
        if let WriterProbe::Sqlite(conn) = self {
            use sqlx::Connection as _;
            conn.close().await.expect("close the probe");
        }
    }
}

/// [`CUSTOMERS`] monthly-account customers, each with two delivered orders of today billed by the
/// month-end run and a virtual account. Returns `(customer, account)` pairs and the invoices'
/// total owed.
async fn monthly_customers_with_invoices(app: &TestApp) -> (Vec<(i64, String)>, i64) {
    let store = app.store();
    let payments = app.invoicing.as_ref().expect("payments");
    let date = today();
    let from = date.with_day(1).expect("first of the month") - chrono::Months::new(1);
    for (kg, price) in [(16, 880), (20, 1_050)] {
        let p = NewPrice { customer_id: None, cylinder_kg: kg, basis: PriceBasis::Cylinder, unit_price: price, deposit: 1_500, effective_from: from };
        store.create_price(&p, "test").await.expect("list price");
    }
    let period = Period::of(date).expect("today has a period");
    let b = NewNumberBlock { period, branch: String::new(), track: Track::parse("KM").expect("track"), first: 0, last: 99 };
    store.create_number_block(&b, "test").await.expect("number block");
    let mut customers = Vec::new();
    let mut orders = Vec::new();
    for i in 0..CUSTOMERS {
        let mut c = support::customer(&format!("M{i:04}"), "信義區");
        c["payment_method"] = json!("monthly");
        c["access_restrictions"] = json!([]);
        let c: CustomerInput = serde_json::from_value(c).expect("customer fixture");
        let id = store.create_customer(&c.validate().expect("valid customer")).await.expect("create customer").id;
        customers.push(id);
        for k in 0..2u32 {
            let o = NewOrder {
                customer_id: id,
                delivery_date: date,
                cylinders: vec![UsualCylinder { size_kg: 20, quantity: 1 + (i as u32 + k) % 3 }, UsualCylinder { size_kg: 16, quantity: 1 }],
                time_window: None,
                preference: None,
                priority: Priority::Normal,
                note: None,
                alternative_addresses: Vec::new(),
            };
            orders.push(store.create_order(&o, "test").await.expect("create order").id);
        }
    }
    orders.sort_unstable();
    plan(store, date, &orders).await;
    for &id in &orders {
        let change = StatusChange { status: OrderStatus::Delivered, changed_by: "driver@luckygas.test".into(), at_s: None, note: None };
        assert_eq!(store.change_order_status(id, &change).await.expect("deliver").status, OrderStatus::Delivered);
    }
    let run = payments.service.monthly_run(&date.format("%Y-%m").to_string()).await.expect("the month-end run");
    assert_eq!((run.issued.len(), run.failed.len()), (CUSTOMERS, 0), "{run:?}");
    let owed: i64 = store.open_invoices(None).await.expect("open invoices").iter().map(|i| i.balance).sum();
    let due = (date + chrono::Days::new(20)).and_hms_opt(23, 0, 0).expect("a time");
    let mut accounts = Vec::new();
    for id in customers {
        let va = payments.receivables.assign_virtual_account(id, None, Some(due), "test").await.expect("a virtual account");
        accounts.push((id, va.number));
    }
    (accounts, owed)
}

/// The published files: `FILES` fixed-width Big5 statements of `PER_FILE` deposits, serials
/// unique across files; one deposit in 60 pays into a monthly customer's account (100 to 960
/// NT$: partial payments, exact ones and, once the invoices are paid, credit), the rest into 50
/// accounts nobody owns. Returns each file's name and deposits.
fn kill_test_files(owned: &[(i64, String)]) -> Vec<(String, Vec<Deposit>)> {
    let strangers: Vec<String> = (0..50).map(|k| account(90_000 + k)).collect();
    (0..FILES)
        .map(|f| {
            let deposits = (0..PER_FILE)
                .map(|k| {
                    let serial = format!("K{f:03}{k:06}");
                    if k % 60 == 7 {
                        let (_, account) = &owned[(f * 7 + k / 60) % owned.len()];
                        deposit(&serial, account, 100 + ((f * 37 + k * 11) % 87) as i64 * 10, "汐止瓦斯行")
                    } else {
                        deposit(&serial, &strangers[(f + k) % strangers.len()], 1 + ((f * 131 + k * 17) % 4_999) as i64, "無名氏")
                    }
                })
                .collect();
            (format!("VA{f:03}.txt"), deposits)
        })
        .collect()
}

async fn a_fetcher_killed_mid_import_loses_and_duplicates_nothing(backend: Backend) {
    let sshd = TestSshd::start().expect("start sshd (Debian package openssh-server)");
    let config = fetch_config(&sshd);
    let mut app = TestApp::start_payments(backend, Some(config.clone())).await;
    // This test plans by hand: no planning worker may take its job.
    app.stop_workers().await;
    let started = Instant::now();
    let (owned, owed) = monthly_customers_with_invoices(&app).await;
    let files = kill_test_files(&owned);
    let published: BTreeMap<String, i64> = files.iter().flat_map(|(_, ds)| ds.iter().map(|d| (d.serial.clone(), d.amount.0))).collect();
    assert_eq!(published.len(), FILES * PER_FILE, "serials are unique across files");
    let total: i64 = published.values().sum();
    let to_customers: i64 = files.iter().flat_map(|(_, ds)| ds).filter(|d| owned.iter().any(|(_, a)| *a == d.account)).map(|d| d.amount.0).sum();
    assert!(to_customers > owed / 2 && to_customers < owed * 2, "customers pay about what they owe ({to_customers} of {owed}): some invoices settle, some not");
    for (name, deposits) in &files {
        publish(&sshd, name, &statement_bytes(deposits.clone(), Format::FixedWidth, Encoding::Big5));
    }
    eprintln!(
        "setup on {backend:?}: {FILES} files of {PER_FILE} deposits, NT$ {total}, invoices owing NT$ {owed}, in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The child: this test binary again, in child mode, on the same database and SFTP server.
    let output = tempfile::NamedTempFile::new().expect("child output file");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = std::process::Command::new(exe)
        .args(["--exact", "child_fetcher", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, child_database(app.store()).await)
        .env("DATABASE_URL_PG", support::pg_url())
        .env("LUCKYGAS_VA_COMPANY_CODE", "9527")
        .env("LUCKYGAS_BANK_SFTP_HOST", &config.sftp.host)
        .env("LUCKYGAS_BANK_SFTP_PORT", config.sftp.port.to_string())
        .env("LUCKYGAS_BANK_SFTP_USER", &config.sftp.user)
        .env("LUCKYGAS_BANK_SFTP_KEY_FILE", &config.sftp.identity_file)
        .env("LUCKYGAS_BANK_SFTP_HOST_KEY", &sshd.host_key_line)
        .env("LUCKYGAS_BANK_SFTP_INBOX", &config.inbox)
        .env("LUCKYGAS_BANK_SFTP_PROCESSED", &config.processed)
        .stdout(output.reopen().expect("output file"))
        .stderr(output.reopen().expect("output file"))
        .spawn()
        .expect("start the child fetcher");
    let child_output = || std::fs::read_to_string(output.path()).unwrap_or_default();
    // Watch the processed folder (where a file lands only after its import committed) until the
    // child has fetched KILL_AFTER files, then wait for it to hold the next file's import
    // transaction open and kill it with SIGKILL there.
    let processed = sshd.root.join("processed");
    let mut probe = WriterProbe::new(app.store()).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut probes = 0u32;
    loop {
        if names_in(&processed).len() >= KILL_AFTER {
            probes += 1;
            if probe.writing().await {
                child.kill().expect("SIGKILL the child");
                break;
            }
        }
        if let Some(status) = child.try_wait().expect("child state") {
            panic!("the child ended ({status}) before it was killed ({probes} probes):\n{}", child_output());
        }
        assert!(Instant::now() < deadline, "the child fetched only {} files in 300 s:\n{}", names_in(&processed).len(), child_output());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    probe.close().await;
    let status = child.wait().expect("reap the child");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "the child died of SIGKILL: {status:?}\n{}", child_output());

    // What the dead child left: whole files only, each committed file moved or still in the inbox.
    let store = app.store();
    let committed = query_rows!(store, "SELECT file_name, new_deposits FROM statement_files ORDER BY file_name", |r| (
        r.get::<String, _>("file_name"),
        r.get::<i32, _>("new_deposits")
    ));
    let moved = names_in(&processed);
    assert!(committed.iter().all(|(_, n)| *n as usize == PER_FILE), "every committed file has all its deposits: {committed:?}");
    assert!((KILL_AFTER..FILES).contains(&committed.len()), "the child committed {} files ({} moved)", committed.len(), moved.len());
    assert!(
        moved.len() <= committed.len() && committed.len() <= moved.len() + 1,
        "at most the last committed file is not moved yet: {committed:?} vs {moved:?}"
    );
    let paid_in = query_rows!(store, "SELECT COUNT(*) AS n FROM payments", |r| r.get::<i64, _>("n"))[0];
    assert_eq!(paid_in as usize, committed.len() * PER_FILE, "no half file is stored");
    assert!(moved.iter().all(|m| committed.iter().any(|(c, _)| c == m)), "only committed files are moved: {moved:?} vs {committed:?}");
    let state = if committed.len() > moved.len() { "between a commit and its move" } else { "with an import transaction open" };
    eprintln!("child killed {state}: {} files committed, {} moved, {probes} probes, {:.1} s", committed.len(), moved.len(), started.elapsed().as_secs_f64());

    // The survivor fetches until the inbox is empty.
    let receivables = &app.invoicing.as_ref().expect("payments").receivables;
    let (mut imported_now, mut found_imported) = (0, 0);
    for _ in 0..5 {
        if names_in(&inbox(&sshd)).is_empty() {
            break;
        }
        let report = fetch::fetch(receivables, &config).await.expect("the survivor's fetch");
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        imported_now += report.imported.iter().filter(|r| r.imported).count();
        found_imported += report.imported.iter().filter(|r| !r.imported).count();
    }
    assert!(names_in(&inbox(&sshd)).is_empty(), "the inbox is empty");
    assert_eq!(imported_now, FILES - committed.len(), "the survivor imports what the child did not commit");
    assert_eq!(found_imported, committed.len() - moved.len(), "a file committed but not moved is found imported and only moved");

    // Totals: every deposit once, every file once.
    let payments = query_rows!(store, "SELECT serial, amount, allocated, unapplied, customer_id FROM payments WHERE kind = 'deposit'", |r| (
        r.get::<String, _>("serial"),
        r.get::<i64, _>("amount"),
        r.get::<i64, _>("allocated"),
        r.get::<i64, _>("unapplied"),
        r.get::<Option<i64>, _>("customer_id")
    ));
    assert_eq!(payments.len(), FILES * PER_FILE, "one payment per published deposit");
    let stored: BTreeMap<String, i64> = payments.iter().map(|(s, a, ..)| (s.clone(), *a)).collect();
    assert_eq!(stored.len(), payments.len(), "no serial twice");
    assert!(stored == published, "each published deposit is stored with its amount");
    assert_eq!(payments.iter().map(|p| p.1).sum::<i64>(), total, "the money adds up");
    let file_names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names_in(&processed), file_names, "every file in the processed folder exactly once (none under a digest)");
    let statements = query_rows!(store, "SELECT file_name FROM statement_files ORDER BY file_name", |r| r.get::<String, _>("file_name"));
    assert_eq!(statements, file_names, "one statement file per published file");

    // Allocations: every invoice's paid amount is its allocations and at most its total; every
    // payment's allocated money is its allocations.
    let invoices = query_rows!(
        store,
        "SELECT i.id, i.total_amount - i.allowed_amount AS total, i.paid_amount, CAST(COALESCE((SELECT SUM(a.amount) FROM allocations a WHERE a.invoice_id = i.id), 0) AS BIGINT) AS allocated FROM invoices i",
        |r| (r.get::<i64, _>("id"), r.get::<i64, _>("total"), r.get::<i64, _>("paid_amount"), r.get::<i64, _>("allocated"))
    );
    assert_eq!(invoices.len(), CUSTOMERS);
    for (id, total, paid, allocated) in &invoices {
        assert_eq!(paid, allocated, "invoice {id}: paid is the sum of its allocations");
        assert!(paid <= total, "invoice {id}: paid {paid} of {total}");
    }
    let by_payment = query_rows!(
        store,
        "SELECT p.serial, p.allocated, CAST(COALESCE((SELECT SUM(a.amount) FROM allocations a WHERE a.payment_id = p.id), 0) AS BIGINT) AS sum FROM payments p",
        |r| (r.get::<String, _>("serial"), r.get::<i64, _>("allocated"), r.get::<i64, _>("sum"))
    );
    for (serial, allocated, sum) in &by_payment {
        assert_eq!(allocated, sum, "payment {serial}: allocated is the sum of its allocations");
    }
    let paid: i64 = invoices.iter().map(|i| i.2).sum();
    let allocated: i64 = payments.iter().map(|p| p.2).sum();
    let credit: i64 = payments.iter().filter(|p| p.4.is_some()).map(|p| p.3).sum();
    assert_eq!(paid, allocated, "what invoices were paid is what payments gave");
    assert!(paid > 0 && paid <= owed, "money moved to invoices: {paid} of {owed}");
    let settled = invoices.iter().filter(|i| i.2 == i.1).count();
    eprintln!(
        "after the survivor: {} payments, NT$ {total}; NT$ {paid} allocated to {CUSTOMERS} invoices ({settled} settled), NT$ {credit} customers' credit; {:.1} s",
        payments.len(),
        started.elapsed().as_secs_f64()
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetcher_killed_mid_import_loses_and_duplicates_nothing_on_sqlite() {
    a_fetcher_killed_mid_import_loses_and_duplicates_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetcher_killed_mid_import_loses_and_duplicates_nothing_on_postgres() {
    a_fetcher_killed_mid_import_loses_and_duplicates_nothing(Backend::Postgres).await;
}
