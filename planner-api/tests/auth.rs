//! End-to-end tests of sign-in, tokens, roles, health details, metrics and the OpenAPI document:
//! the real application on `127.0.0.1:0`, on a fresh SQLite file and a fresh PostgreSQL schema
//! (each test runs on both; the PostgreSQL runs fail loudly when the server is unreachable).

mod support;

use planner_api::auth::token::{new_refresh_token, refresh_digest};
use planner_api::auth::{Claims, JwtKeys};
use planner_api::domain::Role;
use planner_api::store::{NewRefreshToken, Rotation};
use serde_json::{json, Value};
use support::{depot, TestApp};

const PROBLEM: &str = "https://luckygas.tw/problems/";

fn problem_type(body: &Value) -> String {
    body["type"].as_str().unwrap_or_default().trim_start_matches(PROBLEM).to_owned()
}

/// A token signed with `secret` for user `sub` that expired `ago` seconds ago.
fn token_expired(secret: &str, sub: &str, ago: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    JwtKeys::new(secret.as_bytes()).sign(&Claims { sub: sub.into(), role: Role::Admin, driver_id: None, iat: now - 3600, exp: now - ago })
}

async fn signs_in_with_the_right_password_only(app: &TestApp) {
    let (status, tokens) = app.login(&app.admin_email.to_uppercase(), &app.admin_password).await;
    assert_eq!(status, 200, "emails compare case-insensitively: {tokens}");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().unwrap_or_default();
    assert_eq!(access.split('.').count(), 3, "a JWT");
    assert_eq!(tokens["refresh_token"].as_str().map(str::len), Some(64));
    assert_eq!(app.with_token(access).get("/v1/depots").await.0, 200);

    let (status, wrong) = app.login(&app.admin_email, "not the password at all").await;
    assert_eq!((status, problem_type(&wrong).as_str()), (401, "invalid-credentials"));
    let (status, unknown) = app.login("nobody@luckygas.test", &app.admin_password).await;
    assert_eq!(status, 401);
    assert_eq!(unknown["type"], wrong["type"], "unknown emails look like wrong passwords");
    assert_eq!(unknown["title"], "帳號或密碼錯誤");
    let (status, _, missing) = app.anonymous().post("/v1/auth/login", &json!({ "email": app.admin_email })).await;
    assert_eq!((status, missing["errors"][0]["field"].as_str()), (422, Some("password")));
}

async fn rotates_refresh_tokens_and_refuses_a_reused_one(app: &TestApp) {
    let (_, first) = app.login(&app.admin_email, &app.admin_password).await;
    let refresh = |token: &Value| {
        let body = json!({ "refresh_token": token.as_str().unwrap_or_default() });
        async move { app.anonymous().post("/v1/auth/refresh", &body).await }
    };
    let (status, _, second) = refresh(&first["refresh_token"]).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"], "a new refresh token");
    assert_eq!(app.with_token(second["access_token"].as_str().unwrap_or_default()).get("/v1/users").await.0, 200);

    // Presented again within the grace window (a second tab): a working pair in the same family.
    let (status, _, again) = refresh(&first["refresh_token"]).await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(again["refresh_token"], second["refresh_token"]);
    assert_eq!(app.with_token(again["access_token"].as_str().unwrap_or_default()).get("/v1/users").await.0, 200);

    // A token rotated two minutes ago (past the 30 s grace window), as the store records it:
    // presenting it again is reuse, and revokes the tokens rotated from the same sign-in too.
    let (_, stolen) = app.login(&app.admin_email, &app.admin_password).await;
    let (successor, successor_digest) = new_refresh_token();
    let now = chrono::Utc::now().timestamp();
    let stolen_digest = refresh_digest(stolen["refresh_token"].as_str().unwrap_or_default());
    let rotation = app.store().rotate_refresh_token(&stolen_digest, &successor_digest, now - 120, now + 3600, 30).await.expect("rotate");
    assert!(matches!(rotation, Rotation::Rotated(_)), "{rotation:?}");
    let (status, _, reused) = refresh(&stolen["refresh_token"]).await;
    assert_eq!((status, problem_type(&reused).as_str()), (401, "token-reused"));
    let (status, _, after) = refresh(&json!(successor)).await;
    assert_eq!(status, 401, "reuse revokes the tokens rotated from the same sign-in too: {after}");

    let (status, _, unknown) = refresh(&json!("0".repeat(64))).await;
    assert_eq!((status, problem_type(&unknown).as_str()), (401, "invalid-token"));

    // A refresh token whose time is over, stored as the service would have stored it.
    let admin_id = app.store().find_credentials(&app.admin_email).await.expect("store").expect("admin").user.id;
    let (stale, digest) = new_refresh_token();
    let now = chrono::Utc::now().timestamp();
    let old = NewRefreshToken { user_id: admin_id, token_hash: &digest, family: "stale", issued_at: now - 7200, expires_at: now - 60 };
    app.store().insert_refresh_token(&old).await.expect("store an expired refresh token");
    let (status, _, expired) = refresh(&json!(stale)).await;
    assert_eq!((status, problem_type(&expired).as_str()), (401, "token-expired"));

    // Two tabs refreshing one token at the same moment: both get a working pair, in one family.
    let (_, racer) = app.login(&app.admin_email, &app.admin_password).await;
    let ((a, _, tab_a), (b, _, tab_b)) = tokio::join!(refresh(&racer["refresh_token"]), refresh(&racer["refresh_token"]));
    assert_eq!((a, b), (200, 200), "{tab_a} {tab_b}");
    assert_ne!(tab_a["refresh_token"], tab_b["refresh_token"]);
    for tab in [&tab_a, &tab_b] {
        assert_eq!(app.with_token(tab["access_token"].as_str().unwrap_or_default()).get("/v1/users").await.0, 200);
    }
    let (status, _, tab_a2) = refresh(&tab_a["refresh_token"]).await;
    assert_eq!(status, 200, "tab A's refresh token works: {tab_a2}");
    let body = json!({ "refresh_token": tab_b["refresh_token"] });
    assert_eq!(app.anonymous().post("/v1/auth/logout", &body).await.0, 204);
    assert_eq!(refresh(&tab_a2["refresh_token"]).await.0, 401, "signing out one tab ends the family: both came from one sign-in");

    let (_, other) = app.login(&app.admin_email, &app.admin_password).await;
    let body = json!({ "refresh_token": other["refresh_token"] });
    assert_eq!(app.anonymous().post("/v1/auth/logout", &body).await.0, 204);
    assert_eq!(refresh(&other["refresh_token"]).await.0, 401, "signed out");
    let (_, _, admin_refresh) = refresh(&app.admin_tokens["refresh_token"]).await;
    assert!(admin_refresh["access_token"].is_string(), "other sign-ins are untouched: {admin_refresh}");
}

async fn tells_missing_expired_and_invalid_tokens_apart(app: &TestApp) {
    let (status, ct, missing) = app.anonymous().get("/v1/customers").await;
    assert_eq!((status, ct.as_str(), problem_type(&missing).as_str()), (401, "application/problem+json", "unauthenticated"));
    assert_eq!(missing["title"], "需要登入");
    let res = app.anon.get(app.url("/v1/customers")).send().await.expect("request");
    assert_eq!(res.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));

    let admin_id = app.store().find_credentials(&app.admin_email).await.expect("store").expect("admin").user.id.to_string();
    let expired = token_expired(&app.jwt_secret, &admin_id, 60);
    let req = app.anon.get(app.url("/v1/customers")).header("Accept-Language", "en");
    let (status, _, body) = app.with_token(&expired).send(req).await;
    assert_eq!((status, problem_type(&body).as_str(), body["title"].as_str()), (401, "token-expired", Some("Token expired")));

    let forged = token_expired(&"x".repeat(40), &admin_id, -600);
    for token in [forged.as_str(), "garbage", "a.b.c"] {
        let (status, _, body) = app.with_token(token).get("/v1/customers").await;
        assert_eq!((status, problem_type(&body).as_str()), (401, "invalid-token"), "{token}");
    }
    let (status, _, body) = app.send(app.anon.get(app.url("/v1/customers")).header("Authorization", "Basic YTpi")).await;
    assert_eq!((status, problem_type(&body).as_str()), (401, "invalid-token"));
    let live = token_expired(&app.jwt_secret, &admin_id, -600);
    assert_eq!(app.with_token(&live).get("/v1/customers").await.0, 200, "the same token, not yet expired, works");
}

/// What each role may do on a sample of routes: `R` = allowed (the exact success status is
/// checked), `-` = 403. Written from the roles' job descriptions, not from the code's table.
async fn applies_the_permission_matrix_to_every_role(app: &TestApp) {
    let (_, _, d) = app.post("/v1/depots", &depot("板橋站")).await;
    let depot_id = d["id"].as_i64().expect("depot id");
    // Writes send an empty object: an allowed role gets past the permission check to validation (422).
    let routes: [(&str, String, u16); 9] = [
        ("GET", "/v1/depots".into(), 200),
        ("POST", "/v1/depots".into(), 422),
        ("GET", "/v1/customers".into(), 200),
        ("POST", "/v1/customers".into(), 422),
        ("PUT", format!("/v1/depots/{depot_id}"), 422),
        ("GET", "/v1/vehicles".into(), 200),
        ("GET", "/v1/users".into(), 200),
        ("POST", "/v1/users".into(), 422),
        ("GET", "/v1/health/details".into(), 200),
    ];
    let matrix: [(Role, &str); 5] = [
        (Role::Admin, "RRRRRRRRR"),
        (Role::Dispatcher, "RRRRRR--R"),
        (Role::Driver, "--------R"),
        (Role::Analyst, "R-R--R--R"),
        (Role::Accountant, "--R-----R"),
    ];
    for (role, row) in matrix {
        let caller = app.as_role(role).await;
        for ((method, path, ok), allowed) in routes.iter().zip(row.chars()) {
            let (status, _, body) = match *method {
                "GET" => caller.get(path).await,
                "POST" => caller.post(path, &json!({})).await,
                _ => caller.put(path, &json!({})).await,
            };
            if allowed == 'R' {
                assert_eq!(status, *ok, "{role:?} {method} {path}: {body}");
            } else {
                assert_eq!((status, problem_type(&body).as_str()), (403, "forbidden"), "{role:?} {method} {path}");
            }
        }
    }
    assert_eq!(app.get("/v1/depots").await.2["total"], 1, "no write got through");
}

async fn shows_a_driver_only_their_own_driver_record(app: &TestApp) {
    let (_, _, other) = app.post("/v1/drivers", &json!({ "name": "林小華", "skills": [] })).await;
    let driver = app.as_role(Role::Driver).await;
    let own = driver.user["driver_id"].as_i64().expect("driver id");
    let (status, _, me) = driver.get(&format!("/v1/drivers/{own}")).await;
    assert_eq!((status, me["id"].as_i64()), (200, Some(own)));
    let (status, _, body) = driver.get(&format!("/v1/drivers/{}", other["id"])).await;
    assert_eq!((status, problem_type(&body).as_str()), (403, "forbidden"));
    let (status, _, list) = driver.get("/v1/drivers").await;
    assert_eq!((status, list["total"].as_i64(), list["items"][0]["id"].as_i64()), (200, Some(1), Some(own)));
    assert_eq!(app.get("/v1/drivers").await.2["total"], 2, "the admin sees both");
    let (status, _, body) = app.delete(&format!("/v1/drivers/{own}")).await;
    assert_eq!((status, problem_type(&body).as_str()), (409, "in-use"), "a driver with a user account stays");
    assert_eq!(driver.put(&format!("/v1/drivers/{own}"), &json!({ "name": "x" })).await.0, 403, "drivers do not edit themselves");
}

async fn lets_admins_manage_users(app: &TestApp) {
    let body = json!({ "email": "Dispatch@LuckyGas.test", "password": "a long enough password", "role": "dispatcher" });
    let (status, _, user) = app.post("/v1/users", &body).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!((user["email"].as_str(), user["role"].as_str(), user["active"].as_bool()), (Some("dispatch@luckygas.test"), Some("dispatcher"), Some(true)));
    assert!(user.get("password_hash").is_none() && user.get("password").is_none(), "{user}");
    let (status, _, dup) = app.post("/v1/users", &body).await;
    assert_eq!((status, dup["errors"][0]["field"].as_str()), (409, Some("email")));
    let (status, _, bad) = app.post("/v1/users", &json!({ "email": "d@luckygas.test", "password": "short", "role": "driver" })).await;
    let fields: Vec<&str> = bad["errors"].as_array().map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect()).unwrap_or_default();
    assert_eq!((status, fields), (422, vec!["password", "driver_id"]));
    let ghost = json!({ "email": "d@luckygas.test", "password": "a long enough password", "role": "driver", "driver_id": 424242 });
    let (status, _, bad) = app.post("/v1/users", &ghost).await;
    assert_eq!((status, bad["errors"][0]["field"].as_str(), bad["errors"][0]["code"].as_str()), (422, Some("driver_id"), Some("unknown_reference")));

    let (status, tokens) = app.login("dispatch@luckygas.test", "a long enough password").await;
    assert_eq!(status, 200);
    let (_, _, list) = app.get("/v1/users").await;
    assert_eq!(list["total"], 2);
    let id = user["id"].as_i64().expect("id");
    assert_eq!(app.get(&format!("/v1/users/{id}")).await.2, user);

    // Demoted to analyst with a new password: the old password and refresh token stop working.
    let change = json!({ "role": "analyst", "password": "another long password" });
    let (status, _, changed) = app.put(&format!("/v1/users/{id}"), &change).await;
    assert_eq!((status, changed["role"].as_str()), (200, Some("analyst")), "{changed}");
    assert_eq!(app.login("dispatch@luckygas.test", "a long enough password").await.0, 401);
    let (status, _, _) = app.anonymous().post("/v1/auth/refresh", &json!({ "refresh_token": tokens["refresh_token"] })).await;
    assert_eq!(status, 401, "a change revokes refresh tokens");
    let (status, tokens) = app.login("dispatch@luckygas.test", "another long password").await;
    assert_eq!(status, 200);
    let analyst = app.with_token(tokens["access_token"].as_str().unwrap_or_default());
    assert_eq!(analyst.post("/v1/depots", &depot("x")).await.0, 403, "the new role holds from the next sign-in");
    let (status, _, _) = app.put(&format!("/v1/users/{id}"), &json!({ "role": "analyst", "active": false })).await;
    assert_eq!(status, 200);
    assert_eq!(app.login("dispatch@luckygas.test", "another long password").await.0, 401, "inactive users cannot sign in");
    assert_eq!(app.delete(&format!("/v1/users/{id}")).await.0, 204);
    assert_eq!(app.login("dispatch@luckygas.test", "a long enough password").await.0, 401, "deleted users cannot sign in");
    let (status, _, _) = app.anonymous().post("/v1/auth/refresh", &json!({ "refresh_token": tokens["refresh_token"] })).await;
    assert_eq!(status, 401, "nor refresh");
    assert_eq!(app.get(&format!("/v1/users/{id}")).await.0, 404);

    let me = app.store().find_credentials(&app.admin_email).await.expect("store").expect("admin").user.id;
    for (status, _, body) in [
        app.delete(&format!("/v1/users/{me}")).await,
        app.put(&format!("/v1/users/{me}"), &json!({ "role": "analyst" })).await,
        app.put(&format!("/v1/users/{me}"), &json!({ "role": "admin", "active": false })).await,
    ] {
        assert_eq!((status, problem_type(&body).as_str()), (409, "self-lockout"), "an admin cannot lock themselves out");
    }
    let (status, _, body) = app.put(&format!("/v1/users/{me}"), &json!({ "role": "admin", "password": "a new admin password" })).await;
    assert_eq!((status, body["role"].as_str()), (200, Some("admin")), "changing one's own password is fine");
}

async fn keeps_probes_public_and_health_details_private(app: &TestApp) {
    assert_eq!(app.anonymous().get("/healthz").await.0, 200);
    assert_eq!(app.anonymous().get("/readyz").await.0, 200);
    let (status, _, body) = app.anonymous().get("/v1/health/details").await;
    assert_eq!((status, problem_type(&body).as_str()), (401, "unauthenticated"));
    let (status, _, details) = app.get("/v1/health/details").await;
    assert_eq!(status, 200, "{details}");
    assert_eq!((details["status"].as_str(), details["database"]["status"].as_str()), (Some("ok"), Some("ok")));
    assert_eq!(details["database"]["backend"], app.store().backend());
    assert_eq!(details["workers"], json!([{ "name": "planner-0", "alive": true }]), "the test server's one worker heartbeats");
    let (_, _, again) = app.get("/v1/health/details").await;
    assert!(again["checked_at"].is_string());
}

async fn exposes_latency_histograms_by_route_and_status(app: &TestApp) {
    let (_, _, d) = app.post("/v1/depots", &depot("板橋站")).await;
    assert_eq!(app.get(&format!("/v1/depots/{}", d["id"])).await.0, 200);
    assert_eq!(app.get("/v1/depots/999999").await.0, 404);
    assert_eq!(app.anonymous().get("/v1/depots").await.0, 401);
    let res = app.anon.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("text/plain")));
    let text = res.text().await.expect("body");
    let count = |labels: &str| {
        let prefix = format!("luckygas_http_request_duration_seconds_count{{{labels}}} ");
        text.lines().find_map(|l| l.strip_prefix(prefix.as_str())).and_then(|v| v.trim().parse::<u64>().ok())
    };
    assert_eq!(count(r#"method="GET",route="/v1/depots/{id}",status="200""#), Some(1), "{text}");
    assert_eq!(count(r#"method="GET",route="/v1/depots/{id}",status="404""#), Some(1), "{text}");
    assert_eq!(count(r#"method="POST",route="/v1/depots",status="201""#), Some(1), "{text}");
    assert_eq!(count(r#"method="GET",route="/v1/depots",status="401""#), Some(1), "{text}");
    assert!(text.contains(r#"luckygas_http_request_duration_seconds_bucket{method="GET",route="/v1/depots/{id}",status="200",le="+Inf"} 1"#));
    assert!(text.contains("luckygas_planning_queue_depth 0") && text.contains("luckygas_solver_iterations_total 0"));
}

async fn serves_an_openapi_document_listing_every_path(app: &TestApp) {
    let (status, _, doc) = app.anonymous().get("/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{doc}");
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/users",
        "/v1/users/{id}",
        "/v1/depots",
        "/v1/depots/{id}",
        "/v1/customers",
        "/v1/customers/{id}",
        "/v1/vehicle-types",
        "/v1/vehicles/{id}",
        "/v1/drivers",
        "/healthz",
        "/readyz",
        "/v1/health/details",
    ] {
        assert!(paths.contains_key(path), "{path} is described");
    }
    assert!(doc["paths"]["/v1/depots"]["post"]["requestBody"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

both_backends!(
    signs_in_with_the_right_password_only,
    rotates_refresh_tokens_and_refuses_a_reused_one,
    tells_missing_expired_and_invalid_tokens_apart,
    applies_the_permission_matrix_to_every_role,
    shows_a_driver_only_their_own_driver_record,
    lets_admins_manage_users,
    keeps_probes_public_and_health_details_private,
    exposes_latency_histograms_by_route_and_status,
    serves_an_openapi_document_listing_every_path,
);
