//! An accountant's day of payments, end to end against the real server on SQLite and PostgreSQL,
//! with the bank's statement fetched from a real OpenSSH SFTP server on loopback: a planned day is
//! delivered with what each stop paid (cash, a promised transfer, monthly accounts) and the
//! cylinders lent and returned; deliveries are invoiced and the cash pays its invoices; monthly
//! customers get virtual accounts and pay into them; the statement is fetched, imported, matched
//! and moved to the processed folder (a second fetch credits nothing); the accountant matches one
//! queued deposit to an invoice and leaves another unmatched; drivers hand in their cash (one
//! short, flagged with the stops, then resolved); the day's reconciliation and the aging report
//! add up to the NT$; a customer's statement closes at what they owe. Every decision is in the
//! audit log with what it was.

mod support;

use chrono::{Datelike, NaiveDate};
use einvoice::money::Ntd;
use luckygas_sftp::testing::TestSshd;
use payments::statement::{self, Deposit, Encoding, Format, Statement};
use payments::virtual_account::{self, Layout};
use planner_api::domain::Role;
use planner_api::receivables::fetch::FetchConfig;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use support::{seed_day, wait_for_plan, Backend, TestApp};

fn today() -> NaiveDate {
    einvoice::calendar::today_taipei()
}

fn fetch_config(sshd: &TestSshd) -> FetchConfig {
    FetchConfig { sftp: sshd.config(), inbox: "outbound".into(), processed: "processed".into(), every: Duration::from_secs(900), max_file_bytes: 1 << 20 }
}

fn deposit(serial: &str, account: &str, amount: i64, hour: u32) -> Deposit {
    let paid_at = today().and_hms_opt(hour, 15, 0).expect("a time");
    Deposit {
        serial: serial.into(),
        paid_at,
        value_date: paid_at.date(),
        account: account.into(),
        amount: Ntd(amount),
        payer_name: "王小明".into(),
        payer_bank: "0120012".into(),
        payer_account: "********1234".into(),
        memo: "瓦斯費".into(),
    }
}

fn statement_file(deposits: Vec<Deposit>, format: Format, encoding: Encoding) -> Vec<u8> {
    let s = Statement { bank_code: "013".into(), bank_name: "國泰世華商業銀行".into(), account: "001234567890".into(), date: today(), deposits };
    statement::write(format, &s, encoding).expect("a valid statement")
}

fn int(v: &Value, field: &str) -> i64 {
    v[field].as_i64().unwrap_or_else(|| panic!("{field} in {v}"))
}

async fn a_day_of_payments(app: &TestApp, sshd: &TestSshd) {
    let invoicing = app.invoicing.as_ref().expect("invoicing");
    let accountant = app.as_role(Role::Accountant).await;
    let dispatcher = app.as_role(Role::Dispatcher).await;
    let date = today();
    let first = date.with_day(1).expect("first of the month").to_string();
    let period = einvoice::calendar::Period::of(date).expect("a period").key();
    for (kg, price, deposit) in [(20, 1050, 1500), (50, 2600, 3000)] {
        let (status, _, p) =
            accountant.post("/v1/prices", &json!({ "cylinder_kg": kg, "unit_price": price, "deposit": deposit, "effective_from": first })).await;
        assert_eq!(status, 201, "{p}");
    }
    let (status, _, b) = accountant.post("/v1/number-blocks", &json!({ "period": period, "track": "PM", "first": "00000000", "last": "00000099" })).await;
    assert_eq!(status, 201, "{b}");

    // The day: 8 stops, drivers on every vehicle; customers 4 and 5 are monthly accounts.
    let day = seed_day(&app.client, &app.base, 8, &date.to_string(), 1).await;
    let customers = day.customer_ids.clone();
    let mut drivers = Vec::new();
    for (k, vehicle) in day.vehicle_ids.iter().enumerate() {
        let (status, _, d) = app.post("/v1/drivers", &json!({ "name": format!("司機{k}"), "skills": ["hazmat_permit"] })).await;
        assert_eq!(status, 201, "{d}");
        let driver = int(&d, "id");
        let (status, _, a) = app.put(&format!("/v1/vehicles/{vehicle}/assignments/{date}"), &json!({ "driver_id": driver })).await;
        assert_eq!(status, 200, "{a}");
        drivers.push(driver);
    }
    for &c in &customers[4..6] {
        let (_, _, mut customer) = app.get(&format!("/v1/customers/{c}")).await;
        let body = customer.as_object_mut().expect("customer");
        body.retain(|k, _| !matches!(k.as_str(), "id" | "created_at" | "updated_at"));
        body.insert("payment_method".into(), json!("monthly"));
        let (status, _, updated) = app.put(&format!("/v1/customers/{c}"), &Value::Object(body.clone())).await;
        assert_eq!((status, updated["payment_method"].as_str()), (200, Some("monthly")), "{updated}");
    }
    let (status, _, job) = app.post("/v1/plans", &json!({ "date": date.to_string(), "depot_ids": [day.depot_id], "options": { "time_limit_s": 1 } })).await;
    assert_eq!(status, 202, "{job}");
    let job = wait_for_plan(&app.client, &app.base, int(&job, "id"), Duration::from_secs(90)).await;
    assert_eq!(job["status"], "succeeded", "{job}");

    // What each stop costs (the orders' cylinders at the list prices).
    let mut cost: HashMap<i64, i64> = HashMap::new();
    for &order in &day.order_ids {
        let (_, _, o) = app.get(&format!("/v1/orders/{order}")).await;
        let total = o["cylinders"].as_array().expect("cylinders").iter().map(|c| int(c, "quantity") * if c["size_kg"] == 20 { 1050 } else { 2600 }).sum();
        cost.insert(order, total);
    }
    let o = &day.order_ids;
    // A driver reports only their own stops: a driver of no route is refused.
    let stranger = app.as_role(Role::Driver).await;
    let (status, _, p) = stranger.put(&format!("/v1/orders/{}/collection", o[0]), &json!({ "method": "cash", "cash": 100 })).await;
    assert_eq!(status, 403, "{p}");
    // A collection of an order not delivered yet, or a bad one, changes nothing.
    let (status, _, p) = app.put(&format!("/v1/orders/{}/collection", o[0]), &json!({ "method": "cash", "cash": 100 })).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (422, Some("not_delivered")), "{p}");
    let (status, _, p) = app
        .post(
            &format!("/v1/orders/{}/status", o[0]),
            &json!({ "status": "delivered", "collection": { "method": "cash", "cash": 100, "cylinders": [{ "kg": 20, "lent": 1 }] } }),
        )
        .await;
    assert_eq!((status, p["errors"][0]["field"].as_str(), p["errors"][0]["code"].as_str()), (422, Some("collection.cash"), Some("cash_below_deposits")), "{p}");
    let (_, _, still) = app.get(&format!("/v1/orders/{}", o[0])).await;
    assert_ne!(still["status"], "delivered", "a refused collection leaves the order as it was: {still}");

    // Deliveries with their collections.
    let reports = [
        (o[0], json!({ "method": "cash", "cash": cost[&o[0]], "cylinders": [{ "kg": 20, "lent": 1, "returned": 1 }] })),
        (o[1], json!({ "method": "cash", "cash": cost[&o[1]] + 1500, "cylinders": [{ "kg": 20, "lent": 1 }] })),
        (o[2], json!({ "method": "cash", "cash": cost[&o[2]] - 100 })),
        (o[3], json!({ "method": "transfer" })),
        (o[4], json!({ "method": "monthly", "cylinders": [{ "kg": 20, "returned": 1 }] })),
        (o[5], json!({ "method": "monthly" })),
    ];
    // Each delivery names its time of the morning: a delivery reported "now" replans the rest of
    // the day from now, and after noon the morning stops would drop out of the routes.
    for (k, (order, collection)) in reports.iter().enumerate() {
        let at = format!("{:02}:{:02}", 8 + (30 + 15 * k) / 60, (30 + 15 * k) % 60);
        let (status, _, body) = app.post(&format!("/v1/orders/{order}/status"), &json!({ "status": "delivered", "at": at, "collection": collection })).await;
        assert_eq!(status, 200, "{body}");
    }
    // Reporting the same again is no change; a different report is refused.
    let (status, _, same) = app.put(&format!("/v1/orders/{}/collection", o[2]), &reports[2].1).await;
    assert_eq!((status, int(&same, "cash")), (200, cost[&o[2]] - 100), "{same}");
    let (status, _, p) = app.put(&format!("/v1/orders/{}/collection", o[2]), &json!({ "method": "cash", "cash": 1 })).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (422, Some("already_collected")), "{p}");
    let (_, _, c1) = app.get(&format!("/v1/orders/{}/collection", o[1])).await;
    assert_eq!((int(&c1, "deposit_change"), int(&c1, "for_invoice")), (1500, cost[&o[1]]), "{c1}");
    assert!(c1["driver_id"].as_i64().is_some_and(|d| drivers.contains(&d)), "the route's driver: {c1}");

    // Invoices: one per cash delivery at once, the monthly customers' at the month-end run.
    invoicing.drain().await;
    let report = invoicing.service.monthly_run(&date.format("%Y-%m").to_string()).await.expect("monthly run");
    assert_eq!(report.issued.len(), 2, "{report:?}");
    let (_, _, list) = accountant.get(&format!("/v1/invoices?period={period}&limit=200")).await;
    let invoices: Vec<Value> = list["items"].as_array().expect("items").clone();
    assert_eq!(invoices.len(), 6, "{list}");
    let invoice_of = |order: i64| invoices.iter().find(|i| i["order_ids"].as_array().is_some_and(|a| a.contains(&json!(order)))).cloned().expect("billed");
    // Cash paid its stop's invoice: in full, or in part (balance 100 visible).
    for (order, paid) in [(o[0], cost[&o[0]]), (o[1], cost[&o[1]]), (o[2], cost[&o[2]] - 100), (o[3], 0)] {
        let inv = invoice_of(order);
        assert_eq!((int(&inv, "paid_amount"), int(&inv, "balance")), (paid, int(&inv, "total_amount") - paid), "order {order}: {inv}");
    }
    let monthly4 = invoice_of(o[4]);
    let monthly5 = invoice_of(o[5]);

    // Virtual accounts for the monthly customers; bad ones refused.
    let due = format!("{}T23:00", (date + chrono::Days::new(20)));
    let mut va = HashMap::new();
    for &c in &customers[4..6] {
        let (status, _, a) = accountant.post("/v1/payments/virtual-accounts", &json!({ "customer_id": c, "due": due })).await;
        assert_eq!(status, 201, "{a}");
        assert_eq!(a["number"].as_str().map(str::len), Some(16), "{a}");
        va.insert(c, a["number"].as_str().expect("number").to_owned());
    }
    let (status, _, p) = accountant.post("/v1/payments/virtual-accounts", &json!({ "customer_id": customers[0], "due": due })).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (422, Some("not_monthly")), "{p}");
    let mut typo = va[&customers[4]].clone().into_bytes();
    typo[15] = if typo[15] == b'9' { b'0' } else { typo[15] + 1 };
    let (status, _, p) =
        accountant.post("/v1/payments/virtual-accounts", &json!({ "customer_id": customers[4], "number": String::from_utf8(typo).expect("digits") })).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (422, Some("virtual_account.check_digit")), "{p}");
    let (status, _, p) = accountant.post("/v1/payments/virtual-accounts", &json!({ "customer_id": customers[5], "number": va[&customers[4]] })).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (422, Some("taken")), "{p}");

    // The bank's statement: an exact payment, an over-payment, two deposits into accounts no one owns.
    let layout = Layout::cathay_16("9527").expect("layout");
    let due_at = chrono::NaiveDateTime::parse_from_str(&due, "%Y-%m-%dT%H:%M").expect("due");
    let stranger_a = virtual_account::generate(&layout, 99_998, due_at).expect("a valid number").to_string();
    let stranger_b = virtual_account::generate(&layout, 99_997, due_at).expect("a valid number").to_string();
    let deposits = vec![
        deposit("TX00000000000001", &va[&customers[4]], int(&monthly4, "balance"), 9),
        deposit("TX00000000000002", &va[&customers[5]], int(&monthly5, "balance") + 200, 10),
        deposit("TX00000000000003", &stranger_a, 500, 11),
        deposit("TX00000000000004", &stranger_b, 777, 12),
    ];
    let received: i64 = deposits.iter().map(|d| d.amount.0).sum();
    let inbox = sshd.root.join("outbound");
    std::fs::create_dir_all(&inbox).expect("inbox");
    std::fs::write(inbox.join(format!("VA{}.txt", date.format("%Y%m%d"))), statement_file(deposits, Format::FixedWidth, Encoding::Big5)).expect("publish");
    let (status, _, fetched) = accountant.post("/v1/deposits/fetch", &json!({})).await;
    assert_eq!(status, 200, "{fetched}");
    let imported = &fetched["imported"][0];
    assert_eq!((imported["imported"].as_bool(), fetched["failed"].as_array().map(Vec::len)), (Some(true), Some(0)), "{fetched}");
    assert_eq!((int(imported, "matched"), int(imported, "credits"), int(imported, "unmatched")), (2, 1, 2), "{fetched}");
    assert!(sshd.root.join("processed").join(format!("VA{}.txt", date.format("%Y%m%d"))).is_file(), "moved to processed after the commit");
    assert_eq!(std::fs::read_dir(&inbox).expect("inbox").count(), 0, "the inbox is empty");
    // The same file published again credits nothing.
    std::fs::copy(sshd.root.join("processed").join(format!("VA{}.txt", date.format("%Y%m%d"))), inbox.join("again.txt")).expect("re-publish");
    let (status, _, again) = accountant.post("/v1/deposits/fetch", &json!({})).await;
    assert_eq!((status, again["imported"][0]["imported"].as_bool()), (200, Some(false)), "{again}");
    let (_, _, m4) = accountant.get(&format!("/v1/invoices/{}", int(&monthly4, "id"))).await;
    assert_eq!((int(&m4, "balance"), int(&m4, "paid_amount")), (0, int(&monthly4, "total_amount")), "an exact payment settles it: {m4}");
    let (_, _, acct5) = accountant.get(&format!("/v1/payments/accounts/{}", customers[5])).await;
    assert_eq!((int(&acct5, "owed"), int(&acct5, "credit")), (0, 200), "over-payment kept as credit: {acct5}");
    let (_, _, acct1) = accountant.get(&format!("/v1/payments/accounts/{}", customers[1])).await;
    assert_eq!((int(&acct1, "deposits_held"), acct1["cylinders_held"].clone()), (1500, json!([[20, 1]])), "{acct1}");

    // The queue: two deposits; the accountant matches one to the transfer-promised invoice.
    let (status, _, queue) = accountant.get("/v1/payments?status=unmatched").await;
    assert_eq!(status, 200, "{queue}");
    let queued: Vec<&Value> = queue["items"].as_array().expect("items").iter().collect();
    assert_eq!(queued.len(), 2, "{queue}");
    assert!(queued.iter().all(|p| p["reason"] == "unknown_account"), "{queue}");
    let five_hundred = queued.iter().find(|p| p["amount"] == 500).expect("the 500");
    let inv3 = invoice_of(o[3]);
    let too_much = json!({ "allocations": [{ "invoice_id": int(&inv3, "id"), "amount": 501 }] });
    let (status, _, p) = accountant.post(&format!("/v1/payments/{}/match", int(five_hundred, "id")), &too_much).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (422, Some("over_allocated")), "{p}");
    let (status, _, p) = dispatcher.post(&format!("/v1/payments/{}/match", int(five_hundred, "id")), &json!({ "customer_id": customers[3] })).await;
    assert_eq!(status, 403, "only accountants decide: {p}");
    let body = json!({ "allocations": [{ "invoice_id": int(&inv3, "id"), "amount": 500 }] });
    let (status, _, matched) = accountant.post(&format!("/v1/payments/{}/match", int(five_hundred, "id")), &body).await;
    assert_eq!((status, matched["status"].as_str(), matched["customer_id"].as_i64()), (200, Some("settled"), Some(customers[3])), "{matched}");
    let (_, _, i3) = accountant.get(&format!("/v1/invoices/{}", int(&inv3, "id"))).await;
    assert_eq!(int(&i3, "balance"), int(&inv3, "total_amount") - 500, "a partial payment, visible: {i3}");
    let (_, _, audit) = app.get(&format!("/v1/audit?path=/v1/payments/{}", int(five_hundred, "id"))).await;
    let entry = &audit["items"][0];
    assert_eq!((entry["detail"]["decision"].as_str(), entry["detail"]["allocations"][0]["amount"].as_i64()), (Some("match"), Some(500)), "{audit}");

    // Hand-ins: each driver's cash against their stops; one short by 100.
    let mut handed = 0;
    let mut flagged = None;
    for (k, &driver) in drivers.iter().enumerate() {
        let (_, _, stops) = accountant.get(&format!("/v1/payments/collections?date={date}&driver_id={driver}")).await;
        let expected: i64 = stops.as_array().expect("collections").iter().map(|c| int(c, "cash")).sum();
        let short = if k == 0 && expected > 0 { 100 } else { 0 };
        let (status, _, h) =
            accountant.post("/v1/payments/handins", &json!({ "driver_id": driver, "date": date.to_string(), "amount": expected - short })).await;
        assert_eq!(status, 201, "{h}");
        assert_eq!((int(&h, "expected"), int(&h, "difference")), (expected, -short), "{h}");
        handed += expected - short;
        if short > 0 {
            assert_eq!(h["status"], "flagged", "{h}");
            assert!(!h["stops"].as_array().expect("stops").is_empty(), "the stops come with the difference: {h}");
            flagged = Some(int(&h, "id"));
        }
    }
    let flagged = flagged.expect("one short hand-in (the first driver has cash stops)");
    let (status, _, r) = accountant.post(&format!("/v1/payments/handins/{flagged}/resolve"), &json!({ "resolution": "司機補繳 100 元" })).await;
    assert_eq!((status, r["status"].as_str()), (200, Some("resolved")), "{r}");

    // The day's reconciliation adds up.
    let (status, _, rec) = accountant.get(&format!("/v1/reconciliation?date={date}")).await;
    assert_eq!(status, 200, "{rec}");
    let total_cash: i64 = reports.iter().map(|(_, c)| c["cash"].as_i64().unwrap_or(0)).sum();
    assert_eq!((int(&rec, "cash_collected"), int(&rec, "cash_for_deposits"), int(&rec, "cash_handed_in")), (total_cash, 1500, handed), "{rec}");
    assert_eq!((int(&rec, "deposits_received"), int(&rec, "deposit_count")), (received, 4), "{rec}");
    assert_eq!(int(&rec, "deposits_allocated"), int(&monthly4, "balance") + int(&monthly5, "balance") + 500, "{rec}");
    assert_eq!((int(&rec, "deposits_credit"), int(&rec, "deposits_unmatched"), int(&rec, "unmatched_total")), (200, 777, 777), "{rec}");
    assert_eq!(rec["balanced"], true, "{rec}");
    let invoiced: i64 = invoices.iter().map(|i| int(i, "total_amount")).sum();
    let paid_by_cash = cost[&o[0]] + cost[&o[1]] + cost[&o[2]] - 100;
    let paid = paid_by_cash + int(&rec, "deposits_allocated");
    assert_eq!((int(&rec, "invoices_issued"), int(&rec, "invoiced"), int(&rec, "invoiced_paid")), (6, invoiced, paid), "{rec}");
    assert_eq!(rec["differences"].as_array().map(Vec::len), Some(1), "{rec}");

    // Aging: everything owed is today's, and it is what the reconciliation leaves open.
    let (_, _, aging) = accountant.get(&format!("/v1/payments/aging?as_of={date}")).await;
    assert_eq!((int(&aging, "total"), int(&aging, "days_0_30"), int(&aging, "over_90")), (invoiced - paid, invoiced - paid, 0), "{aging}");
    assert_eq!(int(&aging, "credits"), 200, "{aging}");
    let rows: i64 = aging["customers"].as_array().expect("customers").iter().map(|c| int(c, "total")).sum();
    assert_eq!(rows, int(&aging, "total"), "customers add up to the total");
    let (status, _, csv) = accountant.get(&format!("/v1/payments/aging?as_of={date}&format=csv")).await;
    assert_eq!(status, 200, "{csv}");

    // A monthly customer's statement: invoiced, paid, closing at zero; CSV and a printable page.
    let month = date.format("%Y-%m").to_string();
    let (status, _, st) = accountant.get(&format!("/v1/payments/statements/{}?month={month}", customers[4])).await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(
        (int(&st, "opening"), int(&st, "charged"), int(&st, "paid"), int(&st, "closing")),
        (0, int(&monthly4, "total_amount"), int(&monthly4, "total_amount"), 0),
        "{st}"
    );
    let (status, ct, html) = accountant.get(&format!("/v1/payments/statements/{}?month={month}&format=html", customers[4])).await;
    assert!(status == 200 && ct.starts_with("text/html") && html.as_str().is_some_and(|h| h.contains("客戶對帳單")), "{status} {ct} {html}");
    let (status, _, csv) = accountant.get(&format!("/v1/payments/statements/{}?month={month}&format=csv", customers[4])).await;
    assert!(status == 200 && csv.as_str().is_some_and(|c| c.lines().count() >= 4), "{csv}");

    // Voiding a paid invoice gives the money back as credit: no balance below zero anywhere.
    let (status, _, v) = accountant.post(&format!("/v1/invoices/{}/void", int(&monthly4, "id")), &json!({ "reason": "重開" })).await;
    assert_eq!(status, 200, "{v}");
    let (_, _, acct4) = accountant.get(&format!("/v1/payments/accounts/{}", customers[4])).await;
    assert_eq!(int(&acct4, "credit"), int(&monthly4, "total_amount"), "{acct4}");
    let (_, _, rec2) = accountant.get(&format!("/v1/reconciliation?date={date}")).await;
    assert_eq!(rec2["balanced"], true, "{rec2}");
    assert_eq!(int(&rec2, "deposits_credit"), 200 + int(&monthly4, "total_amount"), "{rec2}");

    // A write-off under an Idempotency-Key happens once, however often the client retries.
    let (_, _, queue) = accountant.get("/v1/payments?status=unmatched").await;
    let left = queue["items"][0].clone();
    assert_eq!(int(&left, "amount"), 777, "{queue}");
    let token = accountant.token.clone().expect("the accountant's token");
    let write_off = || {
        app.anon
            .post(app.url(&format!("/v1/payments/{}/write-off", int(&left, "id"))))
            .bearer_auth(&token)
            .header("Idempotency-Key", "write-off-777")
            .json(&json!({ "amount": 77, "reason": "手續費差額" }))
    };
    let first = write_off().send().await.expect("write off");
    assert_eq!(first.status().as_u16(), 200);
    let replay = write_off().send().await.expect("replay");
    assert_eq!(replay.status().as_u16(), 200);
    assert_eq!(replay.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    let (_, _, after) = accountant.get(&format!("/v1/payments/{}", int(&left, "id"))).await;
    assert_eq!((int(&after, "written_off"), int(&after, "unapplied"), after["adjustments"].as_array().map(Vec::len)), (77, 700, Some(1)), "{after}");
    let (status, _, p) = accountant.post(&format!("/v1/payments/{}/refund", int(&left, "id")), &json!({ "amount": 701, "reason": "退款" })).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (422, Some("over_allocated")), "never more than is left: {p}");

    // A driver signed in reports the collection of a stop of their own route with its delivery.
    // The routes as they stand now: every delivery replanned the day, and a stop may have moved.
    let (_, _, now) = app.get(&format!("/v1/plans/{}", int(&job, "id"))).await;
    let routes = now["result"]["routes"].as_array().expect("routes");
    let (order, vehicle) = o[6..]
        .iter()
        .find_map(|order| {
            routes
                .iter()
                .find(|r| {
                    r["trips"].as_array().is_some_and(|t| t.iter().any(|t| t["stops"].as_array().is_some_and(|s| s.iter().any(|s| s["order_id"] == *order))))
                })
                .map(|r| (*order, int(r, "vehicle_id")))
        })
        .expect("order 6 or 7 is on a route");
    let driver = drivers[day.vehicle_ids.iter().position(|v| *v == vehicle).expect("a seeded vehicle")];
    let email = format!("driver-{driver}@luckygas.test");
    let (status, _, user) =
        app.post("/v1/users", &json!({ "email": email, "password": "a-long-driver-password", "role": "driver", "driver_id": driver })).await;
    assert_eq!(status, 201, "{user}");
    let (status, tokens) = app.login(&email, "a-long-driver-password").await;
    assert_eq!(status, 200, "{tokens}");
    let own = app.with_token(tokens["access_token"].as_str().expect("token"));
    for step in ["dispatched", "delivered"] {
        let body = if step == "delivered" {
            json!({ "status": step, "at": "10:30", "collection": { "method": "transfer", "note": "客戶說明天轉帳" } })
        } else {
            json!({ "status": step })
        };
        let (status, _, r) = own.post(&format!("/v1/orders/{order}/status"), &body).await;
        assert_eq!(status, 200, "{step}: {r}");
    }
    // Sending the same report again (a retry from the phone) answers it as stored.
    let (status, _, c) = own.put(&format!("/v1/orders/{order}/collection"), &json!({ "method": "transfer", "note": "客戶說明天轉帳" })).await;
    assert_eq!((status, c["method"].as_str(), c["driver_id"].as_i64()), (200, Some("transfer"), Some(driver)), "{c}");
    let (status, _, p) = own.get("/v1/payments?status=unmatched").await;
    assert_eq!(status, 403, "drivers do not read the accountant's queue: {p}");

    // The gauges operators watch.
    let metrics = app.anon.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    for line in
        ["luckygas_payments_unmatched 1", "luckygas_payments_unmatched_ntd 700", "luckygas_payments_handins_flagged 0", "luckygas_bank_fetch_latest_failed 0"]
    {
        assert!(metrics.lines().any(|l| l == line), "{line} in the metrics");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_payments_on_sqlite() {
    let sshd = TestSshd::start().expect("start sshd (Debian package openssh-server)");
    let app = TestApp::start_payments(Backend::Sqlite, Some(fetch_config(&sshd))).await;
    a_day_of_payments(&app, &sshd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_payments_on_postgres() {
    let sshd = TestSshd::start().expect("start sshd (Debian package openssh-server)");
    let app = TestApp::start_payments(Backend::Postgres, Some(fetch_config(&sshd))).await;
    a_day_of_payments(&app, &sshd).await;
}
