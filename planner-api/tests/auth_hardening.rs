//! Hardened sign-in and sessions, end to end on real servers over a fresh SQLite file and a fresh
//! PostgreSQL schema: throttling shared by two replicas, the password policy, signing-key
//! rotation with issuer and audience, and deactivated or demoted users losing access at once.

mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use planner_api::auth::token::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use planner_api::auth::{random_hex, AuthConfig, Claims, JwtKeys, KeySource};
use planner_api::domain::Role;
use serde_json::{json, Value};
use support::{depot, fields, problem_type, Backend, Fresh, TestApp};

async fn login_at(client: &reqwest::Client, base: &str, email: &str, password: &str) -> (u16, Option<u64>, Value) {
    let res = client.post(format!("{base}/v1/auth/login")).json(&json!({ "email": email, "password": password })).send().await.expect("login sent");
    let status = res.status().as_u16();
    let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, retry_after, res.json().await.unwrap_or(Value::Null))
}

fn metric(text: &str, series: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(series)).and_then(|v| v.trim().parse().ok())
}

async fn new_user(app: &TestApp, role: &str) -> (i64, String, String) {
    let email = format!("{role}-{}@luckygas.test", random_hex(4));
    let password = format!("{}-{}", random_hex(6), random_hex(6));
    let (status, _, user) = app.post("/v1/users", &json!({ "email": email, "password": password, "role": role })).await;
    assert_eq!(status, 201, "{user}");
    (user["id"].as_i64().expect("id"), email, password)
}

/// Five failures of one account, spread over two replicas on one database, lock it on both:
/// even the right password gets 429 with `Retry-After`, and unknown emails lock the same way.
async fn locks_an_account_across_two_replicas(backend: Backend) {
    let app = TestApp::start(backend).await;
    let replica = app.replica().await;
    let client = reqwest::Client::new();
    let (_, email, password) = new_user(&app, "dispatcher").await;
    for (i, base) in [&app.base, &app.base, &app.base, &replica.base, &replica.base].into_iter().enumerate() {
        let (status, _, body) = login_at(&client, base, &email, &format!("wrong guess number {i}")).await;
        assert_eq!((status, problem_type(&body)), (401, "invalid-credentials"), "guess {i}");
    }
    for base in [&app.base, &replica.base] {
        let (status, retry_after, body) = login_at(&client, base, &email, &password).await;
        assert_eq!((status, problem_type(&body)), (429, "login-throttled"), "{body}");
        assert!(retry_after.is_some_and(|s| (1..=60).contains(&s)), "Retry-After {retry_after:?}");
        assert_eq!(body["retry_after"].as_u64(), retry_after);
    }
    let res = client.post(app.url("/v1/auth/login")).header("Accept-Language", "en").json(&json!({ "email": email, "password": password })).send().await;
    let body: Value = res.expect("sent").json().await.expect("problem");
    assert_eq!(body["title"], "Too many failed sign-ins");

    // Unknown emails lock like known ones: a lock says nothing about which emails exist.
    for _ in 0..5 {
        assert_eq!(login_at(&client, &replica.base, "nobody@luckygas.test", "not a password at all").await.0, 401);
    }
    assert_eq!(login_at(&client, &app.base, "nobody@luckygas.test", "not a password at all").await.0, 429);

    // Other accounts from the same address are not locked (7 failures are under the address's 50).
    assert_eq!(app.login(&app.admin_email, &app.admin_password).await.0, 200);

    let text = app.anonymous().get("/metrics").await.2;
    let text = text.as_str().unwrap_or_default();
    assert_eq!(metric(text, r#"luckygas_login_failures_total{reason="wrong_password"} "#), Some(3), "{text}");
    assert_eq!(metric(text, r#"luckygas_login_failures_total{reason="unknown_email"} "#), Some(0), "counted on the replica");
    assert_eq!(metric(text, r#"luckygas_login_throttled_total{scope="account"} "#), Some(3), "{text}");
    replica.finish().await;
    app.finish().await;
}

/// Repeated guesses at one account: only the first five are checked; a success clears the
/// account's count, so a user who mistypes four times is not locked out.
async fn lets_five_guesses_through_and_clears_the_count_on_success(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, email, password) = new_user(&app, "analyst").await;
    for _ in 0..4 {
        assert_eq!(app.login(&email, "mistyped password!").await.0, 401);
    }
    assert_eq!(app.login(&email, &password).await.0, 200, "the fifth attempt is the right one");
    let mut statuses = Vec::new();
    for i in 0..30 {
        statuses.push(app.login(&email, &format!("guess {i} at a password")).await.0);
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!((checked, statuses.iter().filter(|s| **s == 429).count()), (5, 25), "{statuses:?}");
    assert!(statuses[..5].iter().all(|s| *s == 401) && statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    app.finish().await;
}

/// Many accounts guessed from one address: the address locks at its own limit.
async fn locks_an_address_guessing_many_accounts(backend: Backend) {
    let secret = random_hex(32);
    let mut auth = AuthConfig::with_secret(secret.as_bytes(), KeySource::Env);
    auth.throttle.address.max_failures = 4;
    let app = TestApp::on_with(Fresh::new(backend, true).await, secret, auth).await;
    for i in 0..4 {
        assert_eq!(app.login(&format!("user{i}@luckygas.test"), "a wrong password here").await.0, 401);
    }
    let (status, retry_after, body) = login_at(&app.anon, &app.base, "user9@luckygas.test", "a wrong password here").await;
    assert_eq!((status, problem_type(&body)), (429, "login-throttled"));
    assert!(retry_after.is_some_and(|s| s >= 1));
    let text = app.anonymous().get("/metrics").await.2;
    assert_eq!(metric(text.as_str().unwrap_or_default(), r#"luckygas_login_throttled_total{scope="address"} "#), Some(1));
    app.finish().await;
}

/// The store's counting: the limit locks, each later failure doubles the lock, quiet time
/// forgets (times are simulated Unix seconds).
async fn doubles_the_lock_and_forgets_after_the_window(backend: Backend) {
    let db = Fresh::new(backend, true).await;
    let store = &db.store;
    let limit = planner_api::auth::throttle::ThrottlePolicy::default().account;
    let t = 1_900_000_000;
    let fail = |now: i64| {
        let lock = move |n: u32| i64::try_from(limit.lock_after(n).as_secs()).unwrap_or(0);
        async move { store.record_login_failure("account", "x@luckygas.test", now, now - 900, lock).await.expect("count") }
    };
    for n in 1..=4 {
        assert_eq!(fail(t + i64::from(n)).await, (n, 0));
    }
    assert_eq!(fail(t + 5).await, (5, t + 5 + 60));
    assert_eq!(store.login_lock("x@luckygas.test", "10.0.0.1", t + 6).await.expect("lock"), Some(("account", t + 65)));
    assert_eq!(store.login_lock("x@luckygas.test", "10.0.0.1", t + 65).await.expect("lock"), None, "the lock ends");
    assert_eq!(fail(t + 70).await, (6, t + 70 + 120), "the next failure doubles it");
    assert_eq!(fail(t + 200).await, (7, t + 200 + 240));
    // 15 minutes after the last lock ended, failures are forgotten.
    assert_eq!(fail(t + 440 + 901).await, (1, t + 440), "counting starts over; the old lock is kept but past");
    store.clear_login_failures("x@luckygas.test").await.expect("clear");
    assert_eq!(fail(t + 2000).await, (1, 0));
    db.cleanup().await;
}

/// Trivial passwords are refused on create, update and for the first admin, with per-field
/// messages in both languages; a hash stored before the policy still signs in.
async fn refuses_trivial_passwords(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = &app;
    let create = |password: String| {
        let body = json!({ "email": "wang@luckygas.test", "password": password, "role": "analyst" });
        let req = a.anon.post(a.url("/v1/users")).header("Accept-Language", "en").json(&body);
        async move { a.with_token(a.admin_tokens["access_token"].as_str().unwrap_or_default()).send(req).await }
    };
    for (password, code) in [
        (" ".repeat(12), "blank"),
        ("aaaaaaaaaaaa".to_owned(), "too_few_distinct"),
        ("Password1234".to_owned(), "too_common"),
        ("wang@luckygas.test".to_owned(), "contains_email"),
        (String::new(), "required"),
    ] {
        let (status, _, body) = create(password.clone()).await;
        assert_eq!((status, fields(&body)), (422, vec![("password".to_owned(), code.to_owned())]), "{password:?}: {body}");
        assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.is_ascii() && !m.is_empty()), "English on request: {body}");
    }
    let (status, _, zh) = app.post("/v1/users", &json!({ "email": "wang@luckygas.test", "password": "aaaaaaaaaaaa", "role": "analyst" })).await;
    assert_eq!((status, zh["errors"][0]["message"].as_str()), (422, Some("密碼至少要有 5 種不同的字元")));

    let (id, email, _) = new_user(&app, "analyst").await;
    let (status, _, body) = app.put(&format!("/v1/users/{id}"), &json!({ "role": "analyst", "password": email.to_uppercase() })).await;
    assert_eq!((status, fields(&body)), (422, vec![("password".to_owned(), "contains_email".to_owned())]), "{body}");
    let (status, _, body) = app.put(&format!("/v1/users/{id}"), &json!({ "role": "analyst", "password": "1q2w3e4r5t6y" })).await;
    assert_eq!((status, fields(&body)), (422, vec![("password".to_owned(), "too_common".to_owned())]), "{body}");
    let (status, _, body) = app.put("/v1/users/424242", &json!({ "role": "analyst", "password": "a fine new password" })).await;
    assert_eq!((status, problem_type(&body)), (404, "not-found"), "{body}");

    let weak_admin = planner_api::auth::AdminBootstrap { email: "boss@luckygas.test".into(), password: "            ".into() };
    let refused = planner_api::auth::bootstrap_admin(app.store(), &weak_admin).await;
    assert!(matches!(refused, Err(planner_api::auth::AuthError::InvalidAdmin(_))), "{refused:?}");

    // A user whose password was set before the policy (stored as any argon2 hash) signs in.
    let old_hash = planner_api::auth::password::limiter().hash("aaaaaaaaaaaa").await.expect("hash");
    app.store().create_user("old@luckygas.test", &old_hash, Role::Analyst, None).await.expect("store an old user");
    assert_eq!(app.login("old@luckygas.test", "aaaaaaaaaaaa").await.0, 200);
    app.finish().await;
}

/// Claims of user `sub` valid for ten minutes.
fn claims(sub: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims { sub: sub.to_string(), role: Role::Admin, driver_id: None, iat: now, exp: now + 600 }
}

/// A key rotation keeps sessions: while the old key is the previous key its tokens work; once it
/// is removed they stop. Wrong issuers, audiences and algorithms are refused.
async fn keeps_sessions_through_a_key_rotation(backend: Backend) {
    let (old, new) = (random_hex(32), random_hex(32));
    let mut auth = AuthConfig::with_secret(new.as_bytes(), KeySource::Env);
    auth.keys = auth.keys.with_previous(old.as_bytes());
    let app = TestApp::on_with(Fresh::new(backend, true).await, new.clone(), auth).await;
    let admin = app.store().find_credentials(&app.admin_email).await.expect("store").expect("admin").user.id;
    let old_token = JwtKeys::new(old.as_bytes()).sign(&claims(admin));
    assert_eq!(app.with_token(&old_token).get("/v1/depots").await.0, 200, "a session signed before the rotation");
    assert_eq!(app.get("/v1/depots").await.0, 200, "a session signed with the new key");

    // The old key removed (a replica started with the new key only).
    let replica = app.replica().await;
    let a = &app;
    let get = |token: String| {
        let req = a.anon.get(format!("{}/v1/depots", replica.base)).bearer_auth(token);
        async move { a.send(req).await }
    };
    let (status, _, body) = get(old_token.clone()).await;
    assert_eq!((status, problem_type(&body)), (401, "invalid-token"));
    assert_eq!(get(app.admin_tokens["access_token"].as_str().unwrap_or_default().to_owned()).await.0, 200);

    let keys = JwtKeys::new(new.as_bytes());
    for (issuer, audience) in [("someone-else", DEFAULT_AUDIENCE), (DEFAULT_ISSUER, "another-api")] {
        let token = keys.clone().with_issuer_and_audience(issuer, audience).sign(&claims(admin));
        let (status, _, body) = app.with_token(&token).get("/v1/depots").await;
        assert_eq!((status, problem_type(&body)), (401, "invalid-token"), "{issuer} {audience}");
    }
    let good = keys.sign(&claims(admin));
    let mut parts = good.split('.');
    let (_, payload, signature) = (parts.next(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    for alg in ["none", "HS384", "RS256"] {
        let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "JWT", "kid": keys.key_id() }).to_string());
        for token in [format!("{header}.{payload}."), format!("{header}.{payload}.{signature}")] {
            let (status, _, body) = app.with_token(&token).get("/v1/depots").await;
            assert_eq!((status, problem_type(&body)), (401, "invalid-token"), "alg {alg}");
        }
    }
    assert_eq!(app.with_token(&good).get("/v1/depots").await.0, 200, "the same payload, properly signed");
    replica.finish().await;
    app.finish().await;
}

/// A deactivated user's unexpired access token stops at once, on every replica; a demoted
/// user loses the old role's rights at once; deactivation ends their refresh tokens.
async fn ends_access_of_deactivated_and_demoted_users_at_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let replica = app.replica().await;
    let (id, email, password) = new_user(&app, "dispatcher").await;
    let (status, tokens) = app.login(&email, &password).await;
    assert_eq!(status, 200);
    let user = app.with_token(tokens["access_token"].as_str().unwrap_or_default());
    assert_eq!(user.post("/v1/depots", &depot("板橋站")).await.0, 201);

    let (status, _, _) = app.put(&format!("/v1/users/{id}"), &json!({ "role": "analyst" })).await;
    assert_eq!(status, 200);
    let (status, _, body) = user.post("/v1/depots", &depot("三重站")).await;
    assert_eq!((status, problem_type(&body)), (403, "forbidden"), "the token still says dispatcher; the user is an analyst now");
    assert_eq!(user.get("/v1/depots").await.0, 200, "analysts read");

    let (status, _, _) = app.put(&format!("/v1/users/{id}"), &json!({ "role": "analyst", "active": false })).await;
    assert_eq!(status, 200);
    let (status, _, body) = user.get("/v1/depots").await;
    assert_eq!((status, problem_type(&body)), (401, "invalid-token"), "deactivated: the unexpired token stops at once");
    let on_replica = app.anon.get(format!("{}/v1/depots", replica.base)).bearer_auth(tokens["access_token"].as_str().unwrap_or_default());
    assert_eq!(app.send(on_replica).await.0, 401, "on the other replica too");
    let (status, _, _) = app.anonymous().post("/v1/auth/refresh", &json!({ "refresh_token": tokens["refresh_token"] })).await;
    assert_eq!(status, 401, "deactivation revoked the refresh tokens");

    let (status, _, _) = app.put(&format!("/v1/users/{id}"), &json!({ "role": "dispatcher", "active": true })).await;
    assert_eq!(status, 200);
    assert_eq!(user.post("/v1/depots", &depot("三重站")).await.0, 201, "reactivated and promoted: the same token works again");
    assert_eq!(app.delete(&format!("/v1/users/{id}")).await.0, 204);
    assert_eq!(user.get("/v1/depots").await.0, 401, "deleted");
    replica.finish().await;
    app.finish().await;
}

each_backend!(
    locks_an_account_across_two_replicas,
    lets_five_guesses_through_and_clears_the_count_on_success,
    locks_an_address_guessing_many_accounts,
    doubles_the_lock_and_forgets_after_the_window,
    refuses_trivial_passwords,
    keeps_sessions_through_a_key_rotation,
    ends_access_of_deactivated_and_demoted_users_at_once,
);
