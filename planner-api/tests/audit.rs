//! Who did what: the audit log (`GET /v1/audit`, admins) and optimistic concurrency (`ETag` on
//! every JSON resource, `If-Match` on writes, `412` when stale), on the real server over HTTP, on
//! SQLite and PostgreSQL.

mod support;

use planner_api::domain::Role;
use serde_json::{json, Value};
use support::{customer, problem_type, TestApp};

async fn etag(app: &TestApp, path: &str) -> String {
    let res = app.client.get(app.url(path)).send().await.expect("GET");
    assert_eq!(res.status().as_u16(), 200);
    res.headers().get("etag").and_then(|v| v.to_str().ok()).expect("an ETag").to_owned()
}

async fn stale_writes_are_refused_and_fresh_ones_go_through(app: &TestApp) {
    let (status, _, c) = app.post("/v1/customers", &customer("C01234", "信義區")).await;
    assert_eq!(status, 201, "{c}");
    let path = format!("/v1/customers/{}", c["id"]);
    let first = etag(app, &path).await;
    assert_eq!(etag(app, &path).await, first, "the same representation has the same ETag");

    // Unchanged: 304 to If-None-Match.
    let res = app.client.get(app.url(&path)).header("If-None-Match", &first).send().await.expect("GET");
    assert_eq!(res.status().as_u16(), 304);

    // One dispatcher renames the customer with If-Match: it goes through and the ETag changes.
    let mut renamed = customer("C01234", "信義區");
    renamed["name"] = json!("王大明");
    let put = app.client.put(app.url(&path)).header("If-Match", &first).json(&renamed);
    let (status, _, body) = app.send(put).await;
    assert_eq!(status, 200, "{body}");
    let second = etag(app, &path).await;
    assert_ne!(second, first);

    // A second dispatcher, who read it before, is refused and changes nothing.
    let other = app.as_role(Role::Dispatcher).await;
    let mut theirs = customer("C01234", "信義區");
    theirs["name"] = json!("王小華");
    let put = app.anon.put(app.url(&path)).header("If-Match", &first).json(&theirs);
    let (status, _, body) = other.send(put).await;
    assert_eq!((status, problem_type(&body), body["current_etag"].as_str()), (412, "precondition-failed", Some(second.as_str())), "{body}");
    let delete = app.anon.delete(app.url(&path)).header("If-Match", &first);
    assert_eq!(other.send(delete).await.0, 412);
    assert_eq!(app.get(&path).await.2["name"], "王大明");
    // With the current ETag (or `*`), it goes through.
    let put = app.anon.put(app.url(&path)).header("If-Match", &second).json(&theirs);
    assert_eq!(other.send(put).await.0, 200);
    let put = app.anon.put(app.url(&path)).header("If-Match", "*").json(&renamed);
    assert_eq!(other.send(put).await.0, 200);
    // Without If-Match a write is not conditional.
    assert_eq!(app.put(&path, &theirs).await.0, 200);
}

async fn every_accepted_write_is_in_the_audit_log_with_its_user(app: &TestApp) {
    let dispatcher = app.as_role(Role::Dispatcher).await;
    let email = dispatcher.user["email"].as_str().expect("email").to_owned();
    let user_id = dispatcher.user["id"].as_i64().expect("id");
    let (status, _, c) = dispatcher.post("/v1/customers", &customer("C05678", "大安區")).await;
    assert_eq!(status, 201, "{c}");
    let path = format!("/v1/customers/{}", c["id"]);
    assert_eq!(dispatcher.put(&path, &customer("C05678", "松山區")).await.0, 200);
    // Refused writes are not recorded.
    assert_eq!(dispatcher.post("/v1/customers", &json!({ "code": "bad" })).await.0, 422);
    assert_eq!(dispatcher.delete("/v1/users/1").await.0, 403);

    let (status, _, log) = app.get(&format!("/v1/audit?user_id={user_id}")).await;
    assert_eq!(status, 200, "{log}");
    let entries: Vec<(String, String, String, i64)> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e: &Value| {
            (
                e["method"].as_str().unwrap_or("").to_owned(),
                e["path"].as_str().unwrap_or("").to_owned(),
                e["actor"].as_str().unwrap_or("").to_owned(),
                e["status"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(entries, vec![("PUT".into(), path.clone(), email.clone(), 200), ("POST".into(), "/v1/customers".into(), email.clone(), 201)], "newest first");
    let (_, _, under) = app.get(&format!("/v1/audit?path={path}")).await;
    assert_eq!(under["total"], 1, "{under}");
    assert_eq!(under["items"][0]["route"], "/v1/customers/{id}");

    // Only admins read it.
    assert_eq!(dispatcher.get("/v1/audit").await.0, 403);
    let (status, _, body) = app.get("/v1/audit?user_id=x").await;
    assert_eq!((status, problem_type(&body)), (422, "validation"));
}

both_backends!(stale_writes_are_refused_and_fresh_ones_go_through, every_accepted_write_is_in_the_audit_log_with_its_user);
