//! Keyset pages of every collection (issue 16, point 3), against the real server on SQLite and
//! PostgreSQL: for each list under `/v1` and each of its filters, walking by key (`?after=`, then
//! each page's `next`) returns exactly the items of walking by offset, in the same order, with
//! `next` null on the last page and no `total` or `offset`; a bad cursor and `offset` with
//! `after` are 422 problems naming the parameter on every list; the keyset queries of the
//! filtered lists are index range scans in the list's order.

mod support;

use planner_api::domain::Role;
use planner_api::store::Store;
use serde_json::{json, Value};
use support::{customer, depot, fields, Backend, TestApp};

/// The order of a list.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Order {
    /// By id, ascending.
    Oldest,
    /// By id, descending.
    Newest,
}

/// A list and the filters to walk it with (`""`: none).
struct Collection {
    path: &'static str,
    order: Order,
    filters: Vec<String>,
}

/// Runs a statement on the test's database.
async fn exec(store: &Store, sql: &str) {
    match store {
        Store::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop).expect(sql),
        Store::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop).expect(sql),
    }
}

async fn created(app: &TestApp, path: &str, body: Value) -> i64 {
    let (status, _, body) = app.post(path, &body).await;
    assert!(status == 201 || status == 202, "POST {path}: {status} {body}");
    body["id"].as_i64().expect("id")
}

/// Every item of `path?filter` by offset pages of `limit`: each page counts (`total`, `offset`),
/// and names `next` exactly when more items follow.
async fn by_offset(app: &TestApp, path: &str, filter: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    loop {
        let (status, _, page) = app.get(&format!("{path}?{filter}&limit={limit}&offset={}", items.len())).await;
        assert_eq!(status, 200, "{path}?{filter}: {page}");
        let total = page["total"].as_u64().expect("an offset page counts") as usize;
        assert_eq!(page["offset"].as_u64(), Some(items.len() as u64), "{page}");
        let got = page["items"].as_array().expect("items").clone();
        assert!(got.len() <= limit);
        items.extend(got);
        let more = items.len() < total;
        assert_eq!(page["next"].is_string(), more, "{path}?{filter}: next on an offset page only while more follow: {page}");
        if !more {
            return items;
        }
    }
}

/// Every item of `path?filter` by keyset pages of `limit`, starting with an empty `after=`:
/// no page counts; the last one (only it) has `next: null`.
async fn by_key(app: &TestApp, path: &str, filter: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after = String::new();
    loop {
        let (status, _, page) = app.get(&format!("{path}?{filter}&limit={limit}&after={after}")).await;
        assert_eq!(status, 200, "{path}?{filter}&after={after}: {page}");
        assert!(page.get("total").is_none() && page.get("offset").is_none(), "a keyset page counts nothing: {page}");
        assert_eq!(page["limit"].as_u64(), Some(limit as u64));
        let got = page["items"].as_array().expect("items");
        assert!(got.len() <= limit);
        items.extend(got.iter().cloned());
        match &page["next"] {
            Value::String(next) => {
                assert_eq!(got.len(), limit, "only a full page has a next: {page}");
                after = next.clone();
            }
            Value::Null => return items,
            other => panic!("next is a cursor or null, not {other}"),
        }
    }
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|i| i["id"].as_i64().expect("id")).collect()
}

/// Fills every collection with a few items (through the API where a write exists; invoices and
/// Turnkey messages, which only the invoicing of deliveries makes, as rows), and returns the
/// collections with their filters.
async fn seed(app: &TestApp) -> Vec<Collection> {
    for k in 0..3 {
        let user = json!({ "email": format!("analyst{k}@luckygas.test"), "password": "correct-horse-battery", "role": "analyst" });
        created(app, "/v1/users", user).await;
    }
    // One write by someone else than the admin, for the audit log's `user_id` filter.
    let dispatcher = app.as_role(Role::Dispatcher).await;
    assert_eq!(dispatcher.post("/v1/depots", &depot("調度站")).await.0, 201);
    let mut depots = Vec::new();
    for k in 0..5 {
        depots.push(created(app, "/v1/depots", depot(&format!("站{k}"))).await);
    }
    let mut customers = Vec::new();
    for k in 0..7 {
        let district = if k % 3 == 0 { "信義區" } else { "大安區" };
        customers.push(created(app, "/v1/customers", customer(&format!("P{k:04}"), district)).await);
    }
    let mut types = Vec::new();
    for k in 0..5 {
        let t = json!({ "name": format!("機車{k}"), "kind": "heavy_motorcycle", "cylinder_slots": [{ "size_kg": 20, "count": 2 }], "max_load_kg": 80, "max_gas_kg": 60 });
        types.push(created(app, "/v1/vehicle-types", t).await);
    }
    for (k, vehicle_type) in types.iter().enumerate() {
        let v = json!({ "plate": format!("MAB-{:04}", 1000 + k), "vehicle_type_id": vehicle_type, "depot_id": depots[0] });
        created(app, "/v1/vehicles", v).await;
    }
    for k in 0..5 {
        created(app, "/v1/drivers", json!({ "name": format!("司機{k}"), "skills": [] })).await;
    }
    let days = ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"];
    let mut orders = Vec::new();
    for k in 0..14 {
        let order = json!({
            "customer_id": customers[k % 4], "delivery_date": days[k % 4], "cylinders": [{ "size_kg": 20, "quantity": 1 }],
            "priority": if k % 3 == 0 { "urgent" } else { "normal" }
        });
        orders.push(created(app, "/v1/orders", order).await);
    }
    for id in [orders[1], orders[6]] {
        let (status, _, body) = app.post(&format!("/v1/orders/{id}/status"), &json!({ "status": "cancelled" })).await;
        assert_eq!(status, 200, "{body}");
    }
    // No worker runs: the jobs stay queued unless cancelled.
    let mut plans = Vec::new();
    for day in days {
        plans.push(created(app, "/v1/plans", json!({ "date": day, "depot_ids": [depots[0]], "options": { "time_limit_s": 1 } })).await);
    }
    for id in [plans[0], plans[2]] {
        assert_eq!(app.delete(&format!("/v1/plans/{id}")).await.0, 200);
    }

    let store = app.store();
    exec(
        store,
        "INSERT INTO number_blocks (period, branch, track, first_no, last_no, next_no, created_by, created_at) \
                 VALUES ('2026-11', 'main', 'AB', 0, 49, 10, 'test', '2026-11-01T00:00:00+00:00')",
    )
    .await;
    for k in 0..9 {
        let (period, status) = (if k % 2 == 0 { "2026-11" } else { "2027-01" }, if k % 4 == 3 { "voided" } else { "issued" });
        exec(
            store,
            &format!(
                "INSERT INTO invoices (number, period, branch, block_id, customer_id, source, buyer_ban, buyer_name, b2b, print_mark, random_code, \
                 issued_at, sales_amount, free_tax_sales_amount, zero_tax_sales_amount, tax_type, tax_amount, total_amount, allowed_amount, status, created_by) \
                 VALUES ('AB{k:08}', '{period}', 'main', (SELECT MIN(id) FROM number_blocks), {}, 'delivery', '0000000000', '王小明', FALSE, 'N', '1234', \
                 '2026-11-0{}T10:00:00+00:00', 1000, 0, 0, 1, 50, 1050, 0, '{status}', 'test')",
                customers[k % 2],
                k + 1
            ),
        )
        .await;
    }
    // An order billed by an invoice, another named on one's lines.
    exec(store, &format!("INSERT INTO invoice_orders (order_id, invoice_id) VALUES ({}, (SELECT MIN(id) FROM invoices))", orders[0])).await;
    exec(
        store,
        &format!(
            "INSERT INTO invoice_items (invoice_id, seq, order_id, description, quantity_milli, unit, unit_price, tax_type, amount) \
             SELECT id, 1, {}, '20kg 瓦斯', 1000, '桶', 1000, 1, 1000 FROM invoices WHERE number IN ('AB00000003', 'AB00000005')",
            orders[2]
        ),
    )
    .await;
    for k in 0..7 {
        let status = if k % 3 == 0 { "accepted" } else { "pending" };
        exec(
            store,
            &format!(
                "INSERT INTO einvoice_messages (message_type, reference, file_name, status, created_at, deadline_at) \
                 VALUES ('F0401', 'AB{k:08}', 'F0401-{k}.xml', '{status}', '2026-11-05T10:00:00+00:00', '2026-11-07T10:00:00+00:00')"
            ),
        )
        .await;
    }

    let admin = app.get("/v1/users?limit=1").await.2["items"][0]["id"].as_i64().expect("the admin");
    let f = |filters: &[&str]| filters.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        Collection { path: "/v1/users", order: Order::Oldest, filters: f(&[""]) },
        Collection { path: "/v1/depots", order: Order::Oldest, filters: f(&[""]) },
        Collection { path: "/v1/customers", order: Order::Oldest, filters: f(&["", "district=信義區", "district=大安區", "q=p0001", "q=0000"]) },
        Collection { path: "/v1/vehicle-types", order: Order::Oldest, filters: f(&[""]) },
        Collection { path: "/v1/vehicles", order: Order::Oldest, filters: f(&[""]) },
        Collection { path: "/v1/drivers", order: Order::Oldest, filters: f(&[""]) },
        Collection {
            path: "/v1/orders",
            order: Order::Oldest,
            filters: vec![
                String::new(),
                "date=2026-03-03".into(),
                "date=2026-03-02&priority=urgent".into(),
                "status=cancelled".into(),
                format!("customer_id={}", customers[1]),
                format!("plan_id={}", plans[1]),
            ],
        },
        Collection { path: "/v1/plans", order: Order::Newest, filters: f(&["", "status=queued", "status=cancelled"]) },
        Collection {
            path: "/v1/audit",
            order: Order::Newest,
            filters: vec![String::new(), format!("user_id={admin}"), "path=/v1/customers".into(), format!("path=/v1/orders/{}", orders[1])],
        },
        Collection {
            path: "/v1/invoices",
            order: Order::Newest,
            filters: vec![
                String::new(),
                "period=2026-11".into(),
                "period=2027-01&status=voided".into(),
                "status=issued".into(),
                format!("customer_id={}", customers[1]),
                format!("order_id={}", orders[0]),
                format!("order_id={}", orders[2]),
            ],
        },
        Collection { path: "/v1/invoices/messages", order: Order::Newest, filters: f(&["", "status=pending"]) },
    ]
}

/// Walking every collection by key gives exactly what walking it by offset gives, filtered or
/// not, in the list's order; offset and keyset pages agree with one big page.
async fn every_collection_pages_by_key_as_by_offset(backend: Backend) {
    let app = TestApp::serve_only(backend).await;
    let collections = seed(&app).await;
    for c in &collections {
        let mut everything = 0;
        for filter in &c.filters {
            let (status, _, whole) = app.get(&format!("{}?{filter}&limit=200", c.path)).await;
            assert_eq!(status, 200, "{}?{filter}: {whole}", c.path);
            let whole = whole["items"].as_array().expect("items").clone();
            assert!(!whole.is_empty(), "{}?{filter} matches something", c.path);
            if filter.is_empty() {
                everything = whole.len();
                assert!(everything >= 4, "{} has pages to walk: {everything}", c.path);
            } else {
                assert!(whole.len() < everything, "{}?{filter} filters: {} of {everything}", c.path, whole.len());
            }
            let wanted = ids(&whole);
            let mut sorted = wanted.clone();
            sorted.sort_unstable();
            if c.order == Order::Newest {
                sorted.reverse();
            }
            assert_eq!(wanted, sorted, "{}?{filter} is in its documented order", c.path);
            for limit in [1, 2, 3] {
                let offset = by_offset(&app, c.path, filter, limit).await;
                let key = by_key(&app, c.path, filter, limit).await;
                assert_eq!(ids(&offset), wanted, "{}?{filter} by offset, pages of {limit}", c.path);
                assert_eq!(key, offset, "{}?{filter} by key equals by offset, pages of {limit}", c.path);
            }
        }
        // An offset page's `next` goes on by key.
        let (_, _, first) = app.get(&format!("{}?limit=2", c.path)).await;
        let next = first["next"].as_str().expect("more than one page");
        let (_, _, second) = app.get(&format!("{}?limit=2&after={next}", c.path)).await;
        let (_, _, by_offset) = app.get(&format!("{}?limit=2&offset=2", c.path)).await;
        assert_eq!(second["items"], by_offset["items"], "{}", c.path);
    }
    app.finish().await;
}

/// A cursor no page wrote, and `offset` with `after`, are 422 problems naming the parameter, on
/// every list, in both languages.
async fn every_collection_refuses_bad_cursors_and_offset_with_after(backend: Backend) {
    let app = TestApp::serve_only(backend).await;
    for path in [
        "/v1/users",
        "/v1/depots",
        "/v1/customers",
        "/v1/vehicle-types",
        "/v1/vehicles",
        "/v1/drivers",
        "/v1/orders",
        "/v1/plans",
        "/v1/audit",
        "/v1/invoices",
        "/v1/invoices/messages",
    ] {
        for bad in ["42", "k1.zz", "k1.-5", "k2.1a"] {
            let (status, _, body) = app.get(&format!("{path}?after={bad}")).await;
            assert_eq!((status, fields(&body)), (422, vec![("after".to_owned(), "pattern".to_owned())]), "{path}?after={bad}: {body}");
        }
        let (status, _, body) = app.get(&format!("{path}?after=&offset=0")).await;
        assert_eq!((status, fields(&body)), (422, vec![("offset".to_owned(), "offset_with_after".to_owned())]), "{path}: {body}");
        let (status, _, body) = app.get(&format!("{path}?after=k1.1&limit=0")).await;
        assert_eq!((status, fields(&body)), (422, vec![("limit".to_owned(), "out_of_range".to_owned())]), "{path}: {body}");
        let (status, _, body) = app.get(&format!("{path}?after=")).await;
        assert_eq!((status, body["next"].clone(), body.get("total")), (200, Value::Null, None), "{path}: an empty list's one page: {body}");
    }
    let (_, _, en) = app.send(app.client.get(app.url("/v1/plans?after=&offset=5")).header("Accept-Language", "en")).await;
    assert_eq!(en["errors"][0]["message"], "cannot be used with after", "{en}");
    let (_, _, zh) = app.get("/v1/plans?after=&offset=5").await;
    assert_eq!(zh["errors"][0]["message"], "不可同時使用 offset 與 after", "{zh}");
    app.finish().await;
}

/// The keyset queries of the filtered lists (as `store::page` writes them) are range scans of an
/// index in the list's order, with no sort, on both backends.
async fn keyset_pages_of_every_filter_scan_an_index_in_order(backend: Backend) {
    let db = support::Fresh::new(backend, true).await;
    let cases = [
        ("users WHERE id > 5 ORDER BY id ASC", "PRIMARY KEY"),
        ("customers WHERE district = '信義區' AND id > 5 ORDER BY id ASC", "customers_district_id"),
        ("plan_jobs WHERE status = 'queued' AND id < 100 ORDER BY id DESC", "plan_jobs_claim"),
        ("audit_log WHERE user_id = 1 AND id < 100 ORDER BY id DESC", "audit_log_user"),
        ("invoices WHERE period = '2026-11' AND id < 100 ORDER BY id DESC", "invoices_period_id"),
        ("invoices WHERE period = '2026-11' AND status = 'issued' AND id < 100 ORDER BY id DESC", "invoices_period_status_id"),
        ("invoices WHERE status = 'voided' AND id < 100 ORDER BY id DESC", "invoices_status_id"),
        ("invoices WHERE customer_id = 3 AND id < 100 ORDER BY id DESC", "invoices_customer"),
        ("einvoice_messages WHERE status = 'pending' AND id < 100 ORDER BY id DESC", "einvoice_messages_status_id"),
    ];
    for (query, index) in cases {
        let query = format!("SELECT * FROM {query} LIMIT 51");
        let plan = support::query_plan(&db.store, &query).await;
        // SQLite names the index of the filters; PostgreSQL, without statistics on an empty
        // table, may pick another one: what matters is an index scan in the list's order.
        let indexed = match backend {
            Backend::Sqlite => plan.contains(index),
            Backend::Postgres => plan.contains("Index Scan") || plan.contains("Index Only Scan"),
        };
        assert!(indexed, "{query}: {plan}");
        assert!(!plan.contains("TEMP B-TREE") && !plan.contains("Sort"), "{query} needs no sort: {plan}");
    }
    db.cleanup().await;
}

each_backend!(
    every_collection_pages_by_key_as_by_offset,
    every_collection_refuses_bad_cursors_and_offset_with_after,
    keyset_pages_of_every_filter_scan_an_index_in_order
);
