//! An accountant's period, end to end against the real server on SQLite and PostgreSQL: prices,
//! number blocks and buyers' preferences are set; a day is planned and its stops delivered; each
//! delivery issues exactly one invoice with the right amounts; the MIG XML in Turnkey's outbound
//! folder is read back independently of the writer; a Turnkey result file marks the messages
//! accepted or rejected; a rejected one is re-sent; a void, a re-issue under an Idempotency-Key,
//! an allowance and its void follow; the printed proof is served; the period report adds up.

mod support;

use chrono::Datelike;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;
use support::{seed_day, wait_for_plan, Backend, TestApp};

const NS: &str = "urn:GEINV:eInvoiceMessage:F0401:4.1";

fn today() -> chrono::NaiveDate {
    einvoice::calendar::today_taipei()
}

/// Every XML file under `dir`, by file name.
fn xml_files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries {
        let e = e.expect("dir entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".xml") && !name.starts_with('.') {
            out.insert(name, std::fs::read_to_string(e.path()).expect("read XML"));
        }
    }
    out
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name).unwrap_or_else(|| panic!("<{name}> in <{}>", node.tag_name().name()))
}

fn text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
    child(node, name).text().unwrap_or("")
}

fn int(node: roxmltree::Node<'_, '_>, name: &str) -> i64 {
    text(node, name).parse().unwrap_or_else(|_| panic!("<{name}> is an integer"))
}

/// An F0401 as read back: number → (buyer id, sales, tax, total, item amounts, donate mark,
/// carrier id, NPOBAN, print mark).
#[derive(Debug)]
struct F0401 {
    buyer: String,
    sales: i64,
    free: i64,
    zero: i64,
    tax: i64,
    total: i64,
    items: Vec<i64>,
    donate: String,
    carrier: Option<String>,
    npoban: Option<String>,
    print: String,
}

fn read_f0401(xml: &str) -> (String, F0401) {
    let doc = roxmltree::Document::parse(xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "Invoice");
    assert_eq!(root.tag_name().namespace(), Some(NS), "the F0401 namespace");
    let main = child(root, "Main");
    let amount = child(root, "Amount");
    let items = child(root, "Details").children().filter(|c| c.is_element()).map(|item| int(item, "Amount")).collect();
    let opt = |name: &str| main.children().find(|c| c.tag_name().name() == name).and_then(|c| c.text()).map(str::to_owned);
    let invoice = F0401 {
        buyer: text(child(main, "Buyer"), "Identifier").to_owned(),
        sales: int(amount, "SalesAmount"),
        free: int(amount, "FreeTaxSalesAmount"),
        zero: int(amount, "ZeroTaxSalesAmount"),
        tax: int(amount, "TaxAmount"),
        total: int(amount, "TotalAmount"),
        items,
        donate: text(main, "DonateMark").to_owned(),
        carrier: opt("CarrierId1"),
        npoban: opt("NPOBAN"),
        print: text(main, "PrintMark").to_owned(),
    };
    (text(main, "InvoiceNumber").to_owned(), invoice)
}

async fn an_accountants_period(app: &TestApp) {
    let invoicing = app.invoicing.as_ref().expect("invoicing");
    let accountant = app.as_role(planner_api::domain::Role::Accountant).await;
    let dispatcher = app.as_role(planner_api::domain::Role::Dispatcher).await;
    let date = today();
    let first = date.with_day(1).expect("first of the month").to_string();
    let period = einvoice::calendar::Period::of(date).expect("a period").key();

    // Prices and a number block, as the accountant sets them; bad ones are refused.
    for (kg, price) in [(20, 1050), (50, 2600)] {
        let (status, _, p) = accountant.post("/v1/prices", &json!({ "cylinder_kg": kg, "unit_price": price, "deposit": 1500, "effective_from": first })).await;
        assert_eq!(status, 201, "{p}");
    }
    let (status, _, p) = accountant.post("/v1/prices", &json!({ "cylinder_kg": 20, "unit_price": -5, "effective_from": first })).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("unit_price")), "{p}");
    let (status, _, p) = dispatcher.post("/v1/prices", &json!({ "cylinder_kg": 20, "unit_price": 900, "effective_from": first })).await;
    assert_eq!(status, 403, "dispatchers read prices, accountants set them: {p}");
    let (status, _, b) = accountant.post("/v1/number-blocks", &json!({ "period": period, "track": "AB", "first": "00000000", "last": "00000049" })).await;
    assert_eq!(status, 201, "{b}");
    let (status, _, b2) = accountant.post("/v1/number-blocks", &json!({ "period": period, "track": "AB", "first": "00000050", "last": "00000099" })).await;
    assert_eq!(status, 201, "{b2}");
    let (status, _, bad) = accountant.post("/v1/number-blocks", &json!({ "period": period, "track": "AB", "first": "00000000", "last": "00000049" })).await;
    assert_eq!((status, bad["errors"][0]["code"].as_str()), (422, Some("block_overlap")), "{bad}");
    let (status, _, bad) = accountant.post("/v1/number-blocks", &json!({ "period": period, "track": "ab1", "first": "1", "last": "00000049" })).await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["errors"].as_array().map(Vec::len), Some(2), "track and first named: {bad}");

    // A planned and partly delivered day.
    let day = seed_day(&app.client, &app.base, 8, &date.to_string(), 1).await;
    let customers = &day.customer_ids;
    // Buyers' preferences: a business, a mobile barcode, a donation; the rest printed.
    let prefs = [
        (customers[0], json!({ "buyer_ban": "04595257", "buyer_name": "好吃小館有限公司" })),
        (customers[1], json!({ "delivery": "carrier", "carrier_type": "3J0002", "carrier_id": "/ABC+123" })),
        (customers[2], json!({ "delivery": "donate", "donation_code": "168001" })),
    ];
    for (id, body) in &prefs {
        let (status, _, p) = accountant.put(&format!("/v1/invoice-preferences/{id}"), body).await;
        assert_eq!(status, 200, "{p}");
    }
    for (body, field, code) in [
        (json!({ "buyer_ban": "12345678" }), "buyer_ban", "invalid_ban"),
        (json!({ "delivery": "carrier", "carrier_type": "3J0002", "carrier_id": "ABC" }), "carrier_id", "invalid_mobile_barcode"),
        (json!({ "delivery": "donate", "donation_code": "12" }), "donation_code", "invalid_donation_code"),
        (json!({ "delivery": "donate", "donation_code": "168", "carrier_id": "/ABC+123" }), "carrier_id", "carrier_or_donation"),
    ] {
        let (status, _, p) = accountant.put(&format!("/v1/invoice-preferences/{}", customers[3]), &body).await;
        assert_eq!(status, 422, "{body}: {p}");
        assert!(p["errors"].as_array().expect("errors").iter().any(|e| e["field"] == field && e["code"] == code), "{body}: {p}");
    }
    let (status, _, job) = app.post("/v1/plans", &json!({ "date": date.to_string(), "depot_ids": [day.depot_id], "options": { "time_limit_s": 1 } })).await;
    assert_eq!(status, 202, "{job}");
    let plan_id = job["id"].as_i64().expect("plan id");
    let job = wait_for_plan(&app.client, &app.base, plan_id, Duration::from_secs(90)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let delivered: Vec<i64> = day.order_ids[..6].to_vec();
    let mut expected_totals = HashMap::new();
    // Each delivery names its time of the morning: a delivery reported "now" replans the rest of
    // the day from now, and after noon the morning stops would drop out of the routes.
    for (k, &order_id) in delivered.iter().enumerate() {
        let at = format!("{:02}:{:02}", 8 + (30 + 15 * k) / 60, (30 + 15 * k) % 60);
        let (status, _, o) = app.post(&format!("/v1/orders/{order_id}/status"), &json!({ "status": "delivered", "at": at })).await;
        assert_eq!(status, 200, "{o}");
        let total: i64 = o["cylinders"]
            .as_array()
            .expect("cylinders")
            .iter()
            .map(|c| c["quantity"].as_i64().expect("quantity") * if c["size_kg"] == 20 { 1050 } else { 2600 })
            .sum();
        expected_totals.insert(order_id, (o["customer_id"].as_i64().expect("customer"), total));
    }
    // The delivery jobs run (twice over: a second drain finds nothing more to do).
    invoicing.drain().await;
    invoicing.drain().await;
    assert_eq!(app.store().count_tasks(planner_api::invoicing::kinds::ISSUE, "done").await.expect("count"), 6);

    let (status, _, list) = dispatcher.get(&format!("/v1/invoices?period={period}&limit=200")).await;
    assert_eq!(status, 200, "dispatchers see whether deliveries are billed: {list}");
    let invoices = list["items"].as_array().expect("items").clone();
    assert_eq!(invoices.len(), 6, "one invoice per delivered stop: {list}");
    let mut numbers: Vec<String> = invoices.iter().map(|i| i["number"].as_str().expect("number").to_owned()).collect();
    numbers.sort();
    assert_eq!(numbers, (0..6).map(|n| format!("AB{n:08}")).collect::<Vec<_>>(), "numbers taken in order, none skipped");
    let by_order: HashMap<i64, &Value> = invoices.iter().map(|i| (i["order_ids"][0].as_i64().expect("order"), i)).collect();
    for (order_id, (customer_id, total)) in &expected_totals {
        let invoice = by_order.get(order_id).unwrap_or_else(|| panic!("order {order_id} billed"));
        assert_eq!(invoice["order_ids"].as_array().map(Vec::len), Some(1));
        assert_eq!(invoice["total_amount"], *total, "{invoice}");
        let items: i64 = invoice["items"].as_array().expect("items").iter().map(|i| i["amount"].as_i64().expect("amount")).sum();
        if *customer_id == customers[0] {
            // B2B: the tax-inclusive total T splits as round(T / 1.05) + the rest.
            let sales = (*total * 100 + 52) / 105;
            assert_eq!(
                (invoice["b2b"].clone(), invoice["sales_amount"].clone(), invoice["tax_amount"].clone()),
                (json!(true), json!(sales), json!(total - sales))
            );
            assert_eq!(items, sales, "B2B items add up to the sales amount");
            assert_eq!(invoice["buyer_ban"], "04595257");
        } else {
            assert_eq!((invoice["b2b"].clone(), invoice["sales_amount"].clone(), invoice["tax_amount"].clone()), (json!(false), json!(total), json!(0)));
            assert_eq!(items, *total, "B2C items add up to the total");
            assert_eq!(invoice["buyer_ban"], "0000000000");
        }
    }
    // Replays do not issue twice: the delivery job is keyed by the order, and issuing again is refused.
    let again = invoicing.service.issue_for_delivery(delivered[0]).await;
    assert!(matches!(again, Err(planner_api::invoicing::InvoicingError::AlreadyInvoiced { .. })), "{again:?}");

    // The XML Turnkey picks up, read back without the writer.
    let src = invoicing.turnkey.path().join("UpCast/B2SSTORAGE/F0401/SRC");
    let files = xml_files(&src);
    assert_eq!(files.len(), 6, "{:?}", files.keys());
    let read: HashMap<String, F0401> = files.values().map(|x| read_f0401(x)).collect();
    for invoice in &invoices {
        let number = invoice["number"].as_str().expect("number");
        let x = read.get(number).unwrap_or_else(|| panic!("{number} written"));
        assert_eq!(x.total, invoice["total_amount"].as_i64().expect("total"));
        assert_eq!(x.sales + x.free + x.zero + x.tax, x.total, "totals add up");
        assert_eq!(x.items.iter().sum::<i64>(), x.sales + x.free + x.zero, "items add up");
        assert_eq!(x.buyer, invoice["buyer_ban"].as_str().expect("buyer"));
        let customer = invoice["customer_id"].as_i64().expect("customer");
        if customer == customers[1] {
            assert_eq!((x.carrier.as_deref(), x.print.as_str(), x.donate.as_str()), (Some("/ABC+123"), "N", "0"));
        } else if customer == customers[2] {
            assert_eq!((x.npoban.as_deref(), x.print.as_str(), x.donate.as_str(), x.carrier.as_deref()), (Some("168001"), "N", "1", None));
        } else {
            assert_eq!((x.print.as_str(), x.donate.as_str()), ("Y", "0"));
        }
    }

    // Turnkey's results: all accepted but one, rejected with its code.
    let rejected = numbers[5].clone();
    let mut result = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ProcessResult>\n  <MessageType>F0401</MessageType>\n");
    for n in &numbers {
        if *n == rejected {
            result.push_str(&format!("  <Result><ResultCode>1</ResultCode><InvoiceNumber>{n}</InvoiceNumber><ErrorCode>3002</ErrorCode><ErrorMessage>買方資料錯誤</ErrorMessage></Result>\n"));
        } else {
            result.push_str(&format!("  <Result><ResultCode>0</ResultCode><InvoiceNumber>{n}</InvoiceNumber></Result>\n"));
        }
    }
    result.push_str("</ProcessResult>\n");
    let unpack = invoicing.turnkey.path().join("Unpack/ProcessResult");
    std::fs::create_dir_all(&unpack).expect("Unpack");
    std::fs::write(unpack.join("result-1.xml"), &result).expect("write result");
    std::fs::write(unpack.join("broken.xml"), "<ProcessResult><Result>").expect("write a broken result");
    let recorded = invoicing.service.scan_turnkey().await.expect("scan");
    assert_eq!(recorded, 6);
    assert!(!unpack.join("result-1.xml").exists(), "a read result file is moved aside");
    assert!(invoicing.turnkey.path().join("Unpack/.unreadable/ProcessResult/broken.xml").exists(), "a broken one is set apart, not lost");
    let (_, _, msgs) = accountant.get("/v1/invoices/messages?status=rejected").await;
    let msgs = msgs["items"].as_array().expect("items").clone();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!((msgs[0]["reference"].as_str(), msgs[0]["error_code"].as_str()), (Some(rejected.as_str()), Some("3002")));
    let (_, _, accepted) = accountant.get("/v1/invoices/messages?status=accepted").await;
    assert_eq!(accepted["total"], 5);
    // Corrected and re-sent: a new file, the rejected message superseded.
    let (status, _, resent) = accountant.post(&format!("/v1/invoices/messages/{}/resend", msgs[0]["id"]), &json!({})).await;
    assert_eq!((status, resent["status"].as_str()), (200, Some("pending")), "{resent}");
    invoicing.drain().await;
    assert_eq!(xml_files(&src).len(), 7, "the re-sent F0401 is a new file");
    let (status, _, again) = accountant.post(&format!("/v1/invoices/messages/{}/resend", msgs[0]["id"]), &json!({})).await;
    assert_eq!(status, 422, "a superseded message is not re-sent twice: {again}");

    // A void of this period's printed invoice frees its order; a re-issue with an
    // Idempotency-Key is answered once and replayed.
    let printed = invoices
        .iter()
        .find(|i| i["customer_id"].as_i64() == Some(customers[4]) || (i["print_mark"] == "Y" && i["b2b"] == false))
        .expect("a printed B2C invoice");
    let printed_id = printed["id"].as_i64().expect("id");
    let printed_order = printed["order_ids"][0].as_i64().expect("order");
    let (status, _, v) = dispatcher.post(&format!("/v1/invoices/{printed_id}/void"), &json!({ "reason": "開錯" })).await;
    assert_eq!(status, 403, "{v}");
    let (status, _, v) = accountant.post(&format!("/v1/invoices/{printed_id}/void"), &json!({ "reason": "" })).await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("reason")), "{v}");
    let (status, _, v) = accountant.post(&format!("/v1/invoices/{printed_id}/void"), &json!({ "reason": "品項開錯" })).await;
    assert_eq!((status, v["status"].as_str(), v["order_ids"].as_array().map(Vec::len)), (200, Some("voided"), Some(0)), "{v}");
    let (status, _, v) = accountant.post(&format!("/v1/invoices/{printed_id}/void"), &json!({ "reason": "品項開錯" })).await;
    assert_eq!(status, 422, "voided once: {v}");
    let key = format!("reissue-{printed_order}");
    let token = accountant.token.clone().expect("the accountant's token");
    let reissue = |body: Value| app.anon.post(app.url("/v1/invoices")).bearer_auth(&token).header("Idempotency-Key", &key).json(&body);
    let first_res = reissue(json!({ "order_ids": [printed_order] })).send().await.expect("reissue");
    assert_eq!(first_res.status().as_u16(), 201);
    let location = first_res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let first_body: Value = first_res.json().await.expect("JSON");
    let replay = reissue(json!({ "order_ids": [printed_order] })).send().await.expect("replay");
    assert_eq!(replay.status().as_u16(), 201);
    assert_eq!(replay.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(replay.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned), location);
    let replay_body: Value = replay.json().await.expect("JSON");
    assert_eq!(replay_body["number"], first_body["number"], "the same invoice, not a second one");
    let reused = reissue(json!({ "order_ids": [delivered[1]] })).send().await.expect("reused key");
    assert_eq!(reused.status().as_u16(), 422);
    let (status, _, dup) = accountant.post("/v1/invoices", &json!({ "order_ids": [printed_order] })).await;
    assert_eq!((status, dup["type"].as_str().map(|t| t.ends_with("already-invoiced"))), (409, Some(true)), "{dup}");
    let (status, _, not_delivered) = accountant.post("/v1/invoices", &json!({ "order_ids": [day.order_ids[7]] })).await;
    assert_eq!((status, not_delivered["errors"][0]["code"].as_str()), (422, Some("not_delivered")), "{not_delivered}");
    assert_eq!(first_body["number"], "AB00000006", "the next number, after the six");
    assert!(xml_files(&invoicing.turnkey.path().join("UpCast/B2SSTORAGE/F0501/SRC")).is_empty(), "written by the outbox, not yet");
    invoicing.drain().await;
    assert_eq!(xml_files(&invoicing.turnkey.path().join("UpCast/B2SSTORAGE/F0501/SRC")).len(), 1, "the void's F0501");

    // The printed proof of a printed invoice; none for one on a carrier.
    let reissued_id = first_body["id"].as_i64().expect("id");
    let proof = app.anon.get(app.url(&format!("/v1/invoices/{reissued_id}/proof?format=png"))).bearer_auth(&token).send().await.expect("proof");
    assert_eq!(proof.status().as_u16(), 200);
    assert_eq!(proof.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("image/png"));
    assert!(proof.bytes().await.expect("bytes").starts_with(b"\x89PNG\r\n\x1a\n"));
    let pdf = app.client.get(app.url(&format!("/v1/invoices/{reissued_id}/proof"))).send().await.expect("proof");
    assert!(pdf.bytes().await.expect("bytes").starts_with(b"%PDF-"));
    let carrier_invoice = invoices.iter().find(|i| i["customer_id"].as_i64() == Some(customers[1])).expect("the carrier customer's invoice");
    let (status, _, p) = accountant.get(&format!("/v1/invoices/{}/proof", carrier_invoice["id"])).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (422, Some("not_printed")), "{p}");

    // A driver reads, and prints the proof of, the invoices of their own stops only.
    let (_, _, plan) = app.get(&format!("/v1/plans/{plan_id}")).await;
    let vehicle_of: HashMap<i64, i64> = plan["result"]["routes"]
        .as_array()
        .or_else(|| plan["routes"].as_array())
        .expect("routes")
        .iter()
        .flat_map(|r| {
            let v = r["vehicle_id"].as_i64().expect("vehicle");
            r["trips"]
                .as_array()
                .expect("trips")
                .iter()
                .flat_map(move |t| t["stops"].as_array().expect("stops").iter().map(move |st| (st["order_id"].as_i64().expect("order"), v)))
        })
        .collect();
    let printed_order = first_body["order_ids"][0].as_i64().expect("order");
    let own_vehicle = vehicle_of[&printed_order];
    let driver = app.as_role(planner_api::domain::Role::Driver).await;
    let (status, _, a) = app.put(&format!("/v1/vehicles/{own_vehicle}/assignments/{date}"), &json!({ "driver_id": driver.user["driver_id"] })).await;
    assert_eq!(status, 200, "{a}");
    let (status, _, mine) = driver.get(&format!("/v1/invoices?order_id={printed_order}&status=issued")).await;
    assert_eq!((status, mine["total"].as_i64()), (200, Some(1)), "{mine}");
    let (status, _, one) = driver.get(&format!("/v1/invoices/{reissued_id}")).await;
    assert_eq!((status, one["number"].clone()), (200, first_body["number"].clone()), "{one}");
    let driver_token = driver.token.clone().expect("driver token");
    let proof = app.anon.get(app.url(&format!("/v1/invoices/{reissued_id}/proof?format=png"))).bearer_auth(&driver_token).send().await.expect("proof");
    assert_eq!(proof.status().as_u16(), 200, "the driver prints the proof at the door");
    let other = invoices.iter().find(|i| vehicle_of[&i["order_ids"][0].as_i64().unwrap_or(printed_order)] != own_vehicle);
    if let Some(other) = other {
        let (status, _, p) = driver.get(&format!("/v1/invoices/{}", other["id"])).await;
        assert_eq!(status, 403, "another vehicle's stop: {p}");
    }
    for path in ["/v1/invoices".to_owned(), format!("/v1/invoices/report?period={period}"), "/v1/invoices/messages".to_owned()] {
        let (status, _, p) = driver.get(&path).await;
        assert_eq!(status, 403, "{path}: {p}");
    }
    let (status, _, p) = driver.post(&format!("/v1/invoices/{reissued_id}/void"), &json!({ "reason": "x" })).await;
    assert_eq!(status, 403, "{p}");

    // Cancelled (註銷, F0701) and issued again under its number, now donated.
    let carrier_id = carrier_invoice["id"].as_i64().expect("id");
    let (status, _, bad) =
        accountant.post(&format!("/v1/invoices/{carrier_id}/cancel"), &json!({ "reason": "改捐贈", "delivery": "donate", "donation_code": "x" })).await;
    assert_eq!((status, bad["errors"][0]["code"].as_str()), (422, Some("invalid_donation_code")), "{bad}");
    let (status, _, c) =
        accountant.post(&format!("/v1/invoices/{carrier_id}/cancel"), &json!({ "reason": "改捐贈", "delivery": "donate", "donation_code": "8585" })).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (c["number"].clone(), c["npoban"].clone(), c["carrier_id"].clone(), c["status"].clone()),
        (carrier_invoice["number"].clone(), json!("8585"), Value::Null, json!("issued"))
    );
    invoicing.drain().await;
    assert_eq!(xml_files(&invoicing.turnkey.path().join("UpCast/B2SSTORAGE/F0701/SRC")).len(), 1);
    let reissued: Vec<F0401> = xml_files(&src).values().map(|x| read_f0401(x)).filter(|(n, _)| *n == carrier_invoice["number"]).map(|(_, x)| x).collect();
    assert_eq!(reissued.len(), 2, "the first issue and the re-issue under the same number");
    assert!(reissued.iter().any(|x| x.npoban.as_deref() == Some("8585") && x.donate == "1" && x.carrier.is_none()));
    let b2b_invoice = invoices.iter().find(|i| i["b2b"] == true).expect("a B2B invoice");
    let (status, _, refused) =
        accountant.post(&format!("/v1/invoices/{}/cancel", b2b_invoice["id"]), &json!({ "reason": "改載具", "delivery": "print" })).await;
    assert_eq!((status, refused["errors"][0]["code"].as_str()), (422, Some("not_cancellable")), "{refused}");

    // Bad input loses nothing: too many orders, mistyped fields.
    let many: Vec<i64> = (1..=10_000).collect();
    let (status, _, p) = accountant.post("/v1/invoices", &json!({ "order_ids": many })).await;
    assert_eq!((status, p["errors"][0]["code"].as_str()), (422, Some("too_many")), "{p}");
    let (status, _, p) = accountant.post("/v1/invoices", &json!({ "order_ids": "all" })).await;
    assert_eq!(status, 422, "{p}");

    // An allowance on the B2B invoice, one too many, and its void.
    let b2b = invoices.iter().find(|i| i["b2b"] == true).expect("a B2B invoice");
    let b2b_id = b2b["id"].as_i64().expect("id");
    let b2b_total = b2b["total_amount"].as_i64().expect("total");
    let (status, _, a) = accountant.post(&format!("/v1/invoices/{b2b_id}/allowances"), &json!({ "amount": 105, "reason": "殘氣退款" })).await;
    assert_eq!((status, a["amount"].as_i64(), a["tax_amount"].as_i64()), (201, Some(100), Some(5)), "{a}");
    let (status, _, over) = accountant.post(&format!("/v1/invoices/{b2b_id}/allowances"), &json!({ "amount": b2b_total, "reason": "全部退" })).await;
    assert_eq!((status, over["errors"][0]["code"].as_str()), (422, Some("allowance_exceeds_invoice")), "{over}");
    let (status, _, a2) = accountant.post(&format!("/v1/invoices/{b2b_id}/allowances"), &json!({ "amount": 210, "reason": "價差" })).await;
    assert_eq!(status, 201, "{a2}");
    let (status, _, voided) = accountant.post(&format!("/v1/invoices/{b2b_id}/allowances/{}/void", a2["id"]), &json!({})).await;
    assert_eq!((status, voided["status"].as_str()), (200, Some("voided")), "{voided}");
    let (status, _, v) = accountant.post(&format!("/v1/invoices/{b2b_id}/void"), &json!({ "reason": "作廢" })).await;
    assert_eq!((status, v["errors"][0]["code"].as_str()), (422, Some("has_allowances")), "{v}");
    invoicing.drain().await;
    assert_eq!(xml_files(&invoicing.turnkey.path().join("UpCast/B2SSTORAGE/G0401/SRC")).len(), 2);
    assert_eq!(xml_files(&invoicing.turnkey.path().join("UpCast/B2SSTORAGE/G0501/SRC")).len(), 1);

    // The period report adds up to the invoices and the allowance in force.
    let (status, _, all) = accountant.get(&format!("/v1/invoices?period={period}&limit=200")).await;
    assert_eq!(status, 200);
    let all = all["items"].as_array().expect("items").clone();
    let in_force: Vec<&Value> = all.iter().filter(|i| i["status"] == "issued").collect();
    let (status, _, report) = accountant.get(&format!("/v1/invoices/report?period={period}")).await;
    assert_eq!(status, 200, "{report}");
    let rows = report["rows"].as_array().expect("rows");
    let sum = |kind: &str, field: &str| rows.iter().filter(|r| r["kind"] == kind).map(|r| r[field].as_i64().expect("amount")).sum::<i64>();
    let count = |kind: &str| rows.iter().filter(|r| r["kind"] == kind).map(|r| r["count"].as_i64().expect("count")).sum::<i64>();
    assert_eq!(count("sales"), in_force.len() as i64);
    assert_eq!(sum("sales", "total_amount"), in_force.iter().map(|i| i["total_amount"].as_i64().expect("total")).sum::<i64>());
    assert_eq!(sum("sales", "tax_amount"), in_force.iter().map(|i| i["tax_amount"].as_i64().expect("tax")).sum::<i64>());
    assert_eq!((count("voided"), count("allowances")), (1, 1));
    assert_eq!((sum("allowances", "sales_amount"), sum("allowances", "tax_amount")), (100, 5));
    assert_eq!(report["net_tax_amount"], sum("sales", "tax_amount") - 5);
    let csv = app.client.get(app.url(&format!("/v1/invoices/report?period={period}&format=csv"))).send().await.expect("csv");
    assert_eq!(csv.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/csv; charset=utf-8"));
    let csv = csv.text().await.expect("text");
    assert!(csv.starts_with("period,kind,tax_type,buyer,count,"), "{csv}");
    assert_eq!(csv.lines().count(), rows.len() + 2, "header, rows, net: {csv}");

    // The last period closed: its unused numbers are reported (E0402); this one cannot be closed yet.
    let last = einvoice::calendar::Period::of(date).expect("period").prev().expect("a previous period").key();
    let (status, _, b) = accountant.post("/v1/number-blocks", &json!({ "period": last, "track": "AC", "first": "00000100", "last": "00000149" })).await;
    assert_eq!(status, 201, "{b}");
    let (status, _, closed) = accountant.post(&format!("/v1/number-blocks/periods/{last}/close"), &json!({})).await;
    assert_eq!((status, closed["blank"].clone()), (200, json!([["AC", "00000100", "00000149"]])), "{closed}");
    let (status, _, open) = accountant.post(&format!("/v1/number-blocks/periods/{period}/close"), &json!({})).await;
    assert_eq!((status, open["errors"][0]["code"].as_str()), (422, Some("period_open")), "{open}");
    invoicing.drain().await;
    let e0402 = xml_files(&invoicing.turnkey.path().join("UpCast/B2PMESSAGE/E0402/SRC"));
    assert_eq!(e0402.len(), 1, "{:?}", e0402.keys());
    let doc = e0402.values().next().expect("E0402");
    assert!(doc.contains("urn:GEINV:eInvoiceMessage:E0402:4.1") && doc.contains("00000100") && doc.contains("00000149"), "{doc}");

    // Numbers run out: a clear error, nothing issued, and the block listing says so.
    let (_, _, blocks) = accountant.get(&format!("/v1/number-blocks?period={period}")).await;
    let used: i64 = blocks.as_array().expect("blocks").iter().map(|b| b["used"].as_i64().expect("used")).sum();
    assert_eq!(used, 7, "{blocks}");
    let (_, _, p) = accountant.get("/v1/number-blocks?period=garbage").await;
    assert_eq!(p["errors"][0]["field"], "period", "{p}");
    let metrics = app.anon.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    let remaining = format!("luckygas_invoice_numbers_remaining{{branch=\"\",period=\"{period}\"}} 93");
    assert!(metrics.contains(&remaining), "{remaining} in:\n{metrics}");
    assert!(metrics.contains("luckygas_einvoice_messages_rejected 0"), "the rejected message was re-sent");
    assert!(metrics.contains("luckygas_outbox_pending 0"), "every file delivered");
}

#[tokio::test]
async fn an_accountants_period_on_sqlite() {
    let app = TestApp::start_invoicing(Backend::Sqlite).await;
    an_accountants_period(&app).await;
    app.finish().await;
}

#[tokio::test]
async fn an_accountants_period_on_postgres() {
    let app = TestApp::start_invoicing(Backend::Postgres).await;
    an_accountants_period(&app).await;
    app.finish().await;
}

#[tokio::test]
async fn without_a_seller_invoicing_answers_503_and_deliveries_keep_their_jobs() {
    let app = TestApp::start(Backend::Sqlite).await;
    let (status, _, p) = app.post("/v1/invoices", &json!({ "order_ids": [1] })).await;
    assert_eq!(status, 503, "{p}");
    assert!(p["type"].as_str().is_some_and(|t| t.ends_with("not-ready")), "{p}");
    app.finish().await;
}
