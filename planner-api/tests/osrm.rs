//! The OSRM client against a server that speaks OSRM's `table` protocol on loopback: numbers,
//! blocks within the server's table limit, timeout, refusals and the circuit breaker.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use planner_api::osrm::{BreakerState, Clock, Osrm, OsrmConfig, OsrmError};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OK: u8 = 0;
const HTTP_500: u8 = 1;
const HANG: u8 = 2;
const INVALID_QUERY: u8 = 3;
const NO_ROUTE_0_TO_1: u8 = 4;

#[derive(Clone)]
struct Shared {
    requests: Arc<AtomicUsize>,
    mode: Arc<AtomicU8>,
    max_locations: usize,
    largest_seen: Arc<AtomicUsize>,
}

/// The test server's road network: metres are 1000 × (|Δlat| + |Δlon|) in hundredths of a
/// degree, asymmetric by 7 m so that a transposed answer would show.
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    if a == b {
        return 0.0;
    }
    1000.0 * ((a.0 - b.0).abs() + (a.1 - b.1).abs()) * 100.0 + if a.0 < b.0 { 7.0 } else { 0.0 }
}

async fn table(State(s): State<Shared>, Path((_profile, coords)): Path<(String, String)>, Query(q): Query<HashMap<String, String>>) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    let mode = s.mode.load(Ordering::SeqCst);
    match mode {
        HTTP_500 => return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response(),
        HANG => std::future::pending::<()>().await,
        INVALID_QUERY => return (StatusCode::BAD_REQUEST, Json(json!({"code": "InvalidQuery", "message": "bad"}))).into_response(),
        _ => {}
    }
    let points: Vec<(f64, f64)> = coords
        .split(';')
        .map(|c| {
            let (lon, lat) = c.split_once(',').unwrap();
            (lat.parse().unwrap(), lon.parse().unwrap())
        })
        .collect();
    s.largest_seen.fetch_max(points.len(), Ordering::SeqCst);
    if points.len() > s.max_locations {
        return (StatusCode::BAD_REQUEST, Json(json!({"code": "TooBig", "message": "Too many table coordinates"}))).into_response();
    }
    let pick = |key: &str| -> Vec<usize> {
        match q.get(key) {
            Some(v) => v.split(';').map(|i| i.parse().unwrap()).collect(),
            None => (0..points.len()).collect(),
        }
    };
    let (sources, destinations) = (pick("sources"), pick("destinations"));
    let mut distances = vec![];
    let mut durations = vec![];
    for &a in &sources {
        let row: Vec<f64> = destinations.iter().map(|&b| metres(points[a], points[b])).collect();
        durations.push(row.iter().map(|m| json!(m / 10.0)).collect::<Vec<_>>());
        distances.push(row.iter().map(|m| json!(m)).collect::<Vec<_>>());
    }
    if mode == NO_ROUTE_0_TO_1 {
        durations[0][1] = serde_json::Value::Null;
        distances[0][1] = serde_json::Value::Null;
    }
    Json(json!({"code": "Ok", "durations": durations, "distances": distances})).into_response()
}

/// Starts the server on a thread of its own (the client under test is blocking).
fn server(max_locations: usize) -> (String, Shared) {
    let shared = Shared { requests: Arc::default(), mode: Arc::default(), max_locations, largest_seen: Arc::default() };
    let app = Router::new().route("/table/v1/{profile}/{coords}", get(table)).with_state(shared.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (format!("http://{addr}"), shared)
}

fn points(n: usize) -> Vec<(f64, f64)> {
    (0..n).map(|k| (25.0 + 0.003 * k as f64, 121.5 + 0.002 * ((k * 7) % 11) as f64)).collect()
}

fn expect_table(osrm: &Osrm, pts: &[(f64, f64)]) {
    let t = osrm.table("driving", pts).unwrap();
    for a in 0..pts.len() {
        for b in 0..pts.len() {
            // The client sends six decimals; the server's numbers are computed from those.
            let r = |p: (f64, f64)| ((p.0 * 1e6).round() / 1e6, (p.1 * 1e6).round() / 1e6);
            let m = metres(r(pts[a]), r(pts[b]));
            assert_eq!(t.distance_m[a][b], m.round() as i64, "distance {a}->{b}");
            assert_eq!(t.duration_s[a][b], (m / 10.0).round() as i64, "duration {a}->{b}");
        }
    }
}

#[test]
fn a_small_table_is_one_request_with_the_servers_numbers() {
    let (url, s) = server(100);
    let osrm = Osrm::new(OsrmConfig::new(url)).unwrap();
    expect_table(&osrm, &points(6));
    assert_eq!(s.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn a_large_table_is_asked_in_blocks_within_the_servers_limit() {
    let (url, s) = server(10);
    let mut config = OsrmConfig::new(url);
    config.max_table_size = 10;
    let osrm = Osrm::new(config).unwrap();
    expect_table(&osrm, &points(23));
    // Blocks of 5 sources by 5 destinations: 5 × 5 requests, none over the limit.
    assert_eq!(s.requests.load(Ordering::SeqCst), 25);
    assert!(s.largest_seen.load(Ordering::SeqCst) <= 10);
}

#[test]
fn a_silent_server_times_out() {
    let (url, s) = server(100);
    s.mode.store(HANG, Ordering::SeqCst);
    let mut config = OsrmConfig::new(url);
    config.timeout = Duration::from_millis(200);
    let osrm = Osrm::new(config).unwrap();
    assert_eq!(osrm.table("driving", &points(3)), Err(OsrmError::Timeout));
}

#[test]
fn refusals_and_missing_roads_are_errors_that_name_them() {
    let (url, s) = server(100);
    let osrm = Osrm::new(OsrmConfig::new(url)).unwrap();
    s.mode.store(INVALID_QUERY, Ordering::SeqCst);
    assert!(matches!(osrm.table("driving", &points(3)), Err(OsrmError::Refused { code, .. }) if code == "InvalidQuery"));
    s.mode.store(NO_ROUTE_0_TO_1, Ordering::SeqCst);
    assert_eq!(osrm.table("driving", &points(3)), Err(OsrmError::Unroutable { from: 0, to: 1 }));
    assert!(matches!(osrm.table("driv ing", &points(3)), Err(OsrmError::Config(_))));
    assert!(matches!(osrm.table("driving", &[(95.0, 0.0)]), Err(OsrmError::Config(_))));
}

#[test]
fn the_breaker_opens_after_repeated_failures_and_closes_after_a_good_trial() {
    let (url, s) = server(100);
    s.mode.store(HTTP_500, Ordering::SeqCst);
    let now = Arc::new(Mutex::new(Instant::now()));
    let clock: Clock = {
        let now = now.clone();
        Arc::new(move || *now.lock().unwrap())
    };
    let mut config = OsrmConfig::new(url);
    config.failure_threshold = 2;
    config.cooldown = Duration::from_secs(60);
    let osrm = Osrm::with_clock(config, clock).unwrap();

    assert_eq!(osrm.table("driving", &points(3)), Err(OsrmError::Status(500)));
    assert_eq!(osrm.breaker_state(), BreakerState::Closed { failures: 1 });
    assert_eq!(osrm.table("driving", &points(3)), Err(OsrmError::Status(500)));
    assert_eq!(osrm.breaker_state(), BreakerState::Open);
    // Open: the server is not asked.
    assert!(matches!(osrm.table("driving", &points(3)), Err(OsrmError::CircuitOpen { .. })));
    assert_eq!(s.requests.load(Ordering::SeqCst), 2);

    // After the cooldown one trial goes through; it fails, and the breaker opens again.
    *now.lock().unwrap() += Duration::from_secs(61);
    assert_eq!(osrm.breaker_state(), BreakerState::HalfOpen);
    assert_eq!(osrm.table("driving", &points(3)), Err(OsrmError::Status(500)));
    assert_eq!(osrm.breaker_state(), BreakerState::Open);
    assert_eq!(s.requests.load(Ordering::SeqCst), 3);

    // The server recovers: the next trial succeeds and closes the breaker.
    s.mode.store(OK, Ordering::SeqCst);
    *now.lock().unwrap() += Duration::from_secs(61);
    expect_table(&osrm, &points(3));
    assert_eq!(osrm.breaker_state(), BreakerState::Closed { failures: 0 });
}

#[test]
fn plans_use_osrm_and_fall_back_to_the_estimate_saying_why() {
    use planner_api::osrm::{OsrmMatrix, OsrmProfiles};
    use planner_api::travel::{GreatCircle, RoutingProfile, TravelConfig, TravelMatrix};
    let (url, s) = server(100);
    let profiles = OsrmProfiles::from_lookup(|_| None);
    let matrix = OsrmMatrix::new(Osrm::new(OsrmConfig::new(url)).unwrap(), profiles, GreatCircle::new(TravelConfig::default()));
    let pts = points(4);
    assert_eq!(matrix.breaker_open(), Some(false), "what /metrics reports");
    assert_eq!(GreatCircle::new(TravelConfig::default()).breaker_open(), None);

    let m = matrix.matrices(RoutingProfile::Truck, &pts).unwrap();
    assert_eq!(m.source.provider, "osrm");
    assert_eq!(m.source.fallback_reason, None);
    assert_eq!(m.distance_m, matrix.client().table("driving", &pts).unwrap().distance_m);

    s.mode.store(HTTP_500, Ordering::SeqCst);
    let m = matrix.matrices(RoutingProfile::Motorcycle, &pts).unwrap();
    let estimate = GreatCircle::new(TravelConfig::default()).matrices(RoutingProfile::Motorcycle, &pts).unwrap();
    assert_eq!(m.source.provider, "great-circle");
    assert_eq!(m.source.profile, "motorcycle");
    assert!(m.source.fallback_reason.as_deref().is_some_and(|r| r.contains("500")), "{:?}", m.source);
    assert_eq!((m.distance_m, m.duration_s), (estimate.distance_m, estimate.duration_s));
    // Three failures in a row (the default threshold) open the breaker: /metrics says so.
    for _ in 0..2 {
        matrix.matrices(RoutingProfile::Truck, &pts).unwrap();
    }
    assert_eq!(matrix.breaker_open(), Some(true));
}
