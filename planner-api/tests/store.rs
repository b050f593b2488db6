//! Tests of the store on real databases: a fresh SQLite file and a fresh PostgreSQL schema (each
//! test runs on both; the PostgreSQL runs fail loudly when the server is unreachable).

mod support;

use planner_api::domain::{CustomerInput, NewCustomer};
use planner_api::store::{CustomerFilter, PageRequest, StoreError};
use support::{customer, Backend, Fresh, TestApp};

fn new_customer(code: &str, district: &str) -> NewCustomer {
    let input: CustomerInput = serde_json::from_value(customer(code, district)).expect("fixture parses");
    input.validate().expect("fixture is valid")
}

const ALL: PageRequest = PageRequest { limit: 50, offset: 0 };

async fn migrations_are_idempotent_and_make_the_store_ready(backend: Backend) {
    let db = Fresh::new(backend, true).await;
    db.store.ready().await.expect("ready after open");
    db.store.migrate().await.expect("migrating again is a no-op");
    db.store.ready().await.expect("still ready");
    db.cleanup().await;
}

async fn is_not_ready_before_migrations_and_readyz_says_503(backend: Backend) {
    let db = Fresh::new(backend, false).await;
    assert!(matches!(db.store.ready().await, Err(StoreError::Migrate(_) | StoreError::NotMigrated(_))));
    let app = TestApp::on(db).await;
    let (status, ct, body) = app.get("/readyz").await;
    assert_eq!((status, ct.as_str()), (503, "application/problem+json"), "{body}");
    assert_eq!(body["type"], "https://luckygas.tw/problems/not-ready");
    assert_eq!(app.get("/healthz").await.0, 200, "liveness does not depend on the database");
    app.finish().await;
}

async fn keeps_customers_and_reports_duplicates_and_missing_rows(backend: Backend) {
    let db = Fresh::new(backend, true).await;
    let s = &db.store;
    let a = s.create_customer(&new_customer("C0001", "信義區")).await.expect("create");
    assert_eq!(s.get_customer(a.id).await.expect("read"), a);
    assert!(matches!(s.create_customer(&new_customer("C0001", "大安區")).await, Err(StoreError::Duplicate { field: "code" })));
    let b = s.create_customer(&new_customer("C0002", "大安區")).await.expect("create second");
    assert!(matches!(s.update_customer(b.id, &new_customer("C0001", "大安區")).await, Err(StoreError::Duplicate { .. })));

    let daan = CustomerFilter { district: Some("大安區".into()) };
    let page = s.list_customers(&daan, ALL).await.expect("list");
    assert_eq!((page.total, page.items.len()), (1, 1));
    assert_eq!(page.items[0].data.code, "C0002");
    let second = s.list_customers(&CustomerFilter::default(), PageRequest { limit: 1, offset: 1 }).await.expect("page 2");
    assert_eq!((second.total, second.items[0].id), (2, b.id));

    s.delete_customer(a.id).await.expect("delete");
    assert!(matches!(s.get_customer(a.id).await, Err(StoreError::NotFound)));
    assert!(matches!(s.delete_customer(a.id).await, Err(StoreError::NotFound)));
    assert!(matches!(s.update_customer(a.id, &new_customer("C0009", "信義區")).await, Err(StoreError::NotFound)));
    db.cleanup().await;
}

#[tokio::test]
async fn keeps_an_in_memory_sqlite_database_across_calls() {
    let store = planner_api::store::Store::open("sqlite::memory:").await.expect("open in memory");
    let (first, second) = (new_customer("C0001", "信義區"), new_customer("C0002", "信義區"));
    let (a, b) = tokio::join!(store.create_customer(&first), store.create_customer(&second));
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(store.list_customers(&CustomerFilter::default(), ALL).await.expect("list").total, 2);
    store.ready().await.expect("ready");
}

each_backend!(
    migrations_are_idempotent_and_make_the_store_ready,
    is_not_ready_before_migrations_and_readyz_says_503,
    keeps_customers_and_reports_duplicates_and_missing_rows,
);
