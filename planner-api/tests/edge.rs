//! The edge of the service over real HTTP on loopback: rate limits per address and per user (on
//! PostgreSQL across two replicas sharing the counters), CORS preflights from listed and other
//! origins, security headers, request ids that are replaced when hostile, and the accept loop's
//! connection limit, timeouts (headers, idle, a body that trickles in) and their metrics.

mod support;

use planner_api::domain::Role;
use planner_api::http::edge::EdgeConfig;
use planner_api::http::metrics::ConnectionMetrics;
use planner_api::http::ratelimit::RateLimits;
use planner_api::http::server::{self, ServerConfig};
use serde_json::Value;
use std::time::Duration;
use support::{Backend, Fresh, TestApp};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

const CONSOLE: &str = "https://console.luckygas.tw";

/// Waits, polling the clock, until at least 30 s of the current one-minute window are left, so
/// that a test's requests all fall into one window.
async fn fresh_window() {
    let deadline = std::time::Instant::now() + Duration::from_secs(61);
    while chrono::Utc::now().timestamp().rem_euclid(60) >= 30 {
        assert!(std::time::Instant::now() < deadline, "the clock did not move");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

fn remaining(res: &reqwest::Response) -> i64 {
    header(res, "ratelimit-remaining").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no RateLimit-Remaining: {:?}", res.headers()))
}

/// Sends requests to `bases` in turn until one is refused; checks that every answer before it
/// counted one request less, whichever server answered, and that the refusal is a 429 problem
/// with `Retry-After` and the rate-limit headers. Returns the server that refused.
async fn exhaust(bases: &[String], send: impl Fn(&str) -> reqwest::RequestBuilder, limit: i64) -> String {
    let mut last: Option<i64> = None;
    for i in 0..=limit + 1 {
        let base = &bases[usize::try_from(i).expect("small") % bases.len()];
        let res = send(base).send().await.expect("request");
        if res.status().as_u16() == 429 {
            assert_eq!(last, Some(0), "refused only once the limit is used up");
            assert_eq!(header(&res, "ratelimit-limit"), Some(limit.to_string().as_str()));
            assert_eq!(remaining(&res), 0);
            let retry: u64 = header(&res, "retry-after").and_then(|v| v.parse().ok()).expect("Retry-After in seconds");
            assert!((1..=60).contains(&retry), "{retry}");
            assert_eq!(header(&res, "content-type"), Some("application/problem+json"));
            let body: Value = res.json().await.expect("problem");
            assert_eq!(body["type"], "https://luckygas.tw/problems/rate-limited", "{body}");
            assert_eq!(body["status"], 429);
            return base.clone();
        }
        assert_ne!(res.status().as_u16(), 500);
        let left = remaining(&res);
        if let Some(before) = last {
            assert_eq!(left, before - 1, "each request counts once, on whichever server");
        }
        assert_eq!(header(&res, "ratelimit-limit"), Some(limit.to_string().as_str()));
        last = Some(left);
    }
    panic!("no request was refused after {} requests", limit + 2);
}

fn limited(anonymous: u32, user: u32) -> EdgeConfig {
    EdgeConfig { rate_limits: RateLimits { anonymous_per_min: anonymous, user_per_min: user }, ..EdgeConfig::default() }
}

/// On one server or, with `replica`, two on one database: a user over their limit is refused
/// on every server while another user is not; requests without a token are limited by address,
/// also those that authentication refuses; probes and metrics are never limited; refusals are
/// counted in the metrics.
async fn rate_limits_hold(backend: Backend, replica: bool) {
    let app = TestApp::start_with_edge(backend, limited(12, 8)).await;
    let other = app.as_role(Role::Dispatcher).await;
    let second = if replica { Some(app.replica().await) } else { None };
    let mut bases = vec![app.base.clone()];
    bases.extend(second.as_ref().map(|r| r.base.clone()));
    fresh_window().await;

    let refused_by = exhaust(&bases, |base| app.client.get(format!("{base}/v1/depots")), 8).await;
    let again = app.client.get(format!("{}/v1/customers", bases[0])).send().await.expect("request");
    assert_eq!(again.status().as_u16(), 429, "the user stays refused on every server");
    let token = other.token.clone().expect("token");
    for base in &bases {
        let res = app.anon.get(format!("{base}/v1/depots")).bearer_auth(&token).send().await.expect("request");
        assert_eq!(res.status().as_u16(), 200, "another user has a limit of their own");
    }

    // Without a token, counted by address: the 401s of protected paths too.
    exhaust(&bases, |base| app.anon.get(format!("{base}/v1/depots")), 12).await;
    let login = app.anon.post(format!("{}/v1/auth/login", bases[bases.len() - 1])).json(&serde_json::json!({"email": "a@b.tw", "password": "x"}));
    assert_eq!(login.send().await.expect("request").status().as_u16(), 429, "signing in is an anonymous request");
    for base in &bases {
        for path in ["/healthz", "/readyz", "/metrics"] {
            let res = app.anon.get(format!("{base}{path}")).send().await.expect("request");
            assert_eq!(res.status().as_u16(), 200, "{path} is never limited");
            assert!(res.headers().get("ratelimit-limit").is_none());
        }
    }
    let metrics = app.anon.get(format!("{refused_by}/metrics")).send().await.expect("metrics").text().await.expect("text");
    let user_refusals: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("luckygas_rate_limited_total{scope=\"user\"} "))
        .and_then(|v| v.parse().ok())
        .expect("the rate-limited counter");
    assert!(user_refusals >= 1, "{metrics}");
    if let Some(r) = second {
        r.finish().await;
    }
    app.finish().await;
}

#[tokio::test]
async fn rate_limits_hold_per_user_and_per_address_on_sqlite() {
    rate_limits_hold(Backend::Sqlite, false).await;
}

#[tokio::test]
async fn rate_limits_hold_across_two_replicas_on_postgres() {
    rate_limits_hold(Backend::Postgres, true).await;
}

#[tokio::test]
async fn zero_turns_a_limit_off() {
    let app = TestApp::start_with_edge(Backend::Sqlite, limited(0, 0)).await;
    for _ in 0..5 {
        let res = app.client.get(app.url("/v1/depots")).send().await.expect("request");
        assert_eq!(res.status().as_u16(), 200);
        assert!(res.headers().get("ratelimit-limit").is_none());
    }
    app.finish().await;
}

#[tokio::test]
async fn a_preflight_from_a_listed_origin_is_allowed_before_authentication_and_others_are_not() {
    let edge = EdgeConfig { cors_origins: vec![CONSOLE.parse().expect("origin")], hsts_max_age_s: Some(31_536_000), ..limited(0, 0) };
    let app = TestApp::start_with_edge(Backend::Sqlite, edge).await;
    let preflight = |origin: &str| {
        app.anon
            .request(reqwest::Method::OPTIONS, app.url("/v1/depots"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
    };
    let res = preflight(CONSOLE).send().await.expect("preflight");
    assert_eq!(res.status().as_u16(), 204, "no token needed for a preflight");
    assert_eq!(header(&res, "access-control-allow-origin"), Some(CONSOLE));
    assert!(header(&res, "access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    let allowed = header(&res, "access-control-allow-headers").expect("allowed headers");
    assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");
    let res = preflight("https://evil.example").send().await.expect("preflight");
    assert!(res.headers().get("access-control-allow-origin").is_none(), "an unlisted origin is not allowed");
    assert!(res.headers().get("access-control-allow-methods").is_none());

    let res = app.client.get(app.url("/v1/depots")).header("origin", CONSOLE).send().await.expect("GET");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(CONSOLE));
    assert!(header(&res, "access-control-expose-headers").is_some_and(|h| h.contains("retry-after") && h.contains("location")));
    assert!(res.headers().get_all("vary").iter().any(|v| v.to_str().is_ok_and(|v| v.contains("origin"))));
    let res = app.client.get(app.url("/v1/depots")).header("origin", "https://evil.example").send().await.expect("GET");
    assert!(res.headers().get("access-control-allow-origin").is_none());

    // Security headers on every kind of answer, HSTS as configured.
    for (path, client) in
        [("/v1/depots", &app.client), ("/v1/nowhere", &app.client), ("/v1/depots", &app.anon), ("/healthz", &app.anon), ("/metrics", &app.anon)]
    {
        let res = client.get(app.url(path)).send().await.expect("GET");
        let h = |n: &str| header(&res, n).map(str::to_owned);
        assert_eq!(h("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(h("x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert!(h("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")), "{path}");
        assert_eq!(h("referrer-policy").as_deref(), Some("no-referrer"), "{path}");
        assert_eq!(h("strict-transport-security").as_deref(), Some("max-age=31536000"), "{path}");
        let json = h("content-type").is_some_and(|t| t.contains("json"));
        assert_eq!(json, h("cache-control").as_deref() == Some("no-store"), "{path}: no-store on JSON answers");
    }
    app.finish().await;
}

#[tokio::test]
async fn hostile_request_ids_are_replaced_and_good_ones_kept() {
    let app = TestApp::start(Backend::Sqlite).await;
    let id_of = |res: &reqwest::Response| header(res, "x-request-id").expect("a request id").to_owned();
    for hostile in ["x".repeat(6 * 1024), "<script>alert(1)</script>".to_owned(), "a b".to_owned(), String::new()] {
        let res = app.anon.get(app.url("/healthz")).header("x-request-id", hostile.as_str()).send().await.expect("GET");
        let id = id_of(&res);
        assert_ne!(id, hostile);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a fresh UUID, not {id:?}");
    }
    let res = app.anon.get(app.url("/healthz")).header("x-request-id", "lb-7f3a.42:x_y").send().await.expect("GET");
    assert_eq!(id_of(&res), "lb-7f3a.42:x_y");
    let res = app.anon.get(app.url("/healthz")).send().await.expect("GET");
    assert!(uuid::Uuid::parse_str(&id_of(&res)).is_ok());
    // No security headers are lost on the default edge, and HSTS stays off unless configured.
    assert!(res.headers().get("strict-transport-security").is_none());
    assert_eq!(header(&res, "x-content-type-options"), Some("nosniff"));
    app.finish().await;
}

/// Reads from `stream` until the server closes it (or resets it); fails after `within`.
async fn closed_within(stream: &mut (impl AsyncRead + Unpin), within: Duration) -> Vec<u8> {
    let mut seen = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read_all).await.expect("the server closes the connection");
    seen
}

#[tokio::test]
async fn at_the_connection_limit_new_connections_wait_for_a_free_slot() {
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = ServerConfig { max_connections: 1, ..ServerConfig::default() };
    let metrics = ConnectionMetrics::default();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server::run(listener, router, config, metrics.clone(), async {
        let _ = stopped.await;
    }));
    let request = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
    let mut first = tokio::net::TcpStream::connect(addr).await.expect("connect");
    first.write_all(request).await.expect("write");
    let mut buf = [0u8; 1024];
    let n = first.read(&mut buf).await.expect("answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    let counts = metrics.counts();
    assert_eq!((counts.open, counts.max, counts.accepted, counts.limit_reached), (1, 1, 1, 1), "the first connection took the only slot");

    // The first connection stays open (keep-alive): the second waits in the backlog.
    let mut second = tokio::net::TcpStream::connect(addr).await.expect("the kernel queues the connection");
    second.write_all(request).await.expect("write");
    let early = tokio::time::timeout(Duration::from_millis(300), second.read(&mut buf)).await;
    assert!(early.is_err(), "not served while the only slot is taken");
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(10), second.read(&mut buf)).await.expect("served once the slot frees").expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));

    assert_eq!((metrics.counts().accepted, metrics.counts().limit_reached), (2, 2));

    // Shutdown closes the idle keep-alive connection at once and returns.
    let _ = stop.send(());
    closed_within(&mut second, Duration::from_secs(10)).await;
    tokio::time::timeout(Duration::from_secs(10), served).await.expect("the loop returns").expect("no panic");
    assert_eq!(metrics.counts().open, 0);
}

#[tokio::test]
async fn slow_headers_and_idle_connections_are_cut_off() {
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = ServerConfig { header_read_timeout: Duration::from_secs(1), idle_timeout: Duration::from_secs(2), ..ServerConfig::default() };
    let metrics = ConnectionMetrics::default();
    tokio::spawn(server::run(listener, router, config, metrics.clone(), std::future::pending()));

    // Half a request head, never finished: closed without an answer.
    let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nx-slow: ").await.expect("write");
    let answer = closed_within(&mut slow, Duration::from_secs(15)).await;
    assert!(answer.is_empty() || !answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    // Counted before the socket closes.
    assert_eq!((metrics.counts().header_read_timeouts, metrics.counts().open), (1, 0));

    // A connection that said nothing at all is cut the same way.
    let mut silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    closed_within(&mut silent, Duration::from_secs(15)).await;
    assert_eq!(metrics.counts().header_read_timeouts, 2);

    // A served keep-alive connection is closed once idle.
    let mut idle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.expect("write");
    let answer = closed_within(&mut idle, Duration::from_secs(15)).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "answered before being closed: {}", String::from_utf8_lossy(&answer));
    let counts = metrics.counts();
    assert_eq!((counts.idle_closes, counts.header_read_timeouts, counts.open, counts.accepted, counts.limit_reached), (1, 2, 0, 3, 0));
}

/// The real application on a fresh SQLite file, served by the accept loop with `config`.
async fn serve_app(config: ServerConfig) -> (std::net::SocketAddr, std::sync::Arc<planner_api::http::metrics::Metrics>, Fresh) {
    let db = Fresh::new(Backend::Sqlite, true).await;
    let auth = planner_api::auth::AuthConfig::with_secret(planner_api::auth::random_hex(32).as_bytes(), planner_api::auth::KeySource::Env);
    let state = planner_api::http::AppState::new(db.store.clone(), auth);
    let metrics = state.metrics.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(server::run(listener, planner_api::http::app(state), config, metrics.connections(), std::future::pending()));
    (addr, metrics, db)
}

/// The value of the series named exactly `series` (with its labels) in a `/metrics` text.
fn series(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_at_the_body_deadline_with_a_408() {
    let config = ServerConfig { body_timeout: Duration::from_secs(1), ..ServerConfig::default() };
    let (addr, metrics, _db) = serve_app(config).await;
    let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = "POST /v1/auth/login HTTP/1.1\r\nhost: x\r\naccept-language: en\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{";
    slow.write_all(head.as_bytes()).await.expect("write");
    let started = std::time::Instant::now();
    let (mut from_server, mut to_server) = slow.split();
    // A byte every 200 ms: the 200-byte body would take 40 s. Each byte comes long before any
    // per-read timeout would fire; the body as a whole never comes in time.
    let dribble = async {
        let mut every = tokio::time::interval(Duration::from_millis(200));
        loop {
            every.tick().await;
            if to_server.write_all(b" ").await.is_err() {
                // The server has closed the connection; the reader sees the rest.
                std::future::pending::<()>().await;
            }
        }
    };
    let answer = tokio::select! {
        answer = closed_within(&mut from_server, Duration::from_secs(20)) => answer,
        () = dribble => unreachable!("the dribble never ends by itself"),
    };
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("\r\ncontent-type: application/problem+json"), "{head}");
    assert!(head.contains("\r\nconnection: close"), "{head}");
    assert!(head.contains("\r\nx-request-id: "), "the edge's headers are there too: {head}");
    let problem: Value = serde_json::from_str(body).expect("a problem");
    assert_eq!((problem["type"].as_str(), problem["status"].as_u64()), (Some("https://luckygas.tw/problems/request-timeout"), Some(408)), "{problem}");
    assert_eq!(problem["detail"], "the request body did not arrive within 1 seconds; the connection is closed", "{problem}");
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(10), "cut at the deadline, not by the dribble's end: {took:?}");
    assert_eq!(metrics.connections().counts().body_timeouts, 1);

    // Counted in the metrics, with the 408 timed under its route.
    let text = reqwest::get(format!("http://{addr}/metrics")).await.expect("metrics").text().await.expect("text");
    assert_eq!(series(&text, "luckygas_http_body_timeouts_total"), Some(1.0), "{text}");
    assert_eq!(series(&text, "luckygas_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/auth/login\",status=\"408\"}"), Some(1.0), "{text}");
    assert!(series(&text, "luckygas_http_connections_open").is_some_and(|open| open >= 1.0), "the scrape's own connection: {text}");
    assert_eq!(series(&text, "luckygas_http_connections_max"), Some(1024.0));

    // A body that arrives in time is served as usual on the same server.
    let res = reqwest::Client::new()
        .post(format!("http://{addr}/v1/auth/login"))
        .json(&serde_json::json!({ "email": "nobody@luckygas.test", "password": "not the password" }))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 401);
}
