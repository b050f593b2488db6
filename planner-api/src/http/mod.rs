//! The HTTP API: [`app`] builds the router (one router per resource under `/v1`, health checks
//! and metrics at the root) with request ids, tracing spans, CORS and security headers
//! ([`edge`]), latency metrics, rate limits ([`ratelimit`]), bearer-token authentication with a
//! role table ([`access`]), a body size limit and problem+json errors; [`server::run`] serves it
//! with header, body and idle timeouts, a connection limit and a drain deadline.

pub mod access;
pub mod audit;
pub mod auth;
pub mod customers;
pub mod depots;
pub mod drivers;
pub mod edge;
pub mod error;
pub mod extract;
pub mod flags;
pub mod health;
pub mod heavy;
pub mod idempotency;
pub mod invoices;
pub mod metrics;
pub mod openapi;
pub mod orders;
pub mod page;
pub mod payments;
pub mod plans;
pub mod precondition;
pub mod ratelimit;
pub mod replans;
pub mod server;
pub mod sync;
pub mod users;
pub mod vehicle_types;
pub mod vehicles;
pub mod vroom;
pub mod web;

use crate::auth::AuthConfig;
use crate::store::Store;
use crate::worker::Planner;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde::Serialize;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::ApiError;
pub use page::ListResponse;

/// Largest accepted request body, in bytes (1 MiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// State shared by all handlers.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The planning side: limits, and a bell to wake this process's workers.
    pub planner: Planner,
    /// Token keys and lifetimes.
    pub auth: Arc<AuthConfig>,
    /// Prometheus metrics (also fed by the planning workers).
    pub metrics: Arc<metrics::Metrics>,
    /// Worker probes and the health details cache.
    pub health: Arc<health::HealthState>,
    /// Signed-in users' emails by id, as written in records (emails never change).
    pub actors: Arc<std::sync::Mutex<std::collections::HashMap<i64, String>>>,
    /// Invoicing, when a seller is configured.
    pub invoicing: Option<crate::invoicing::Invoicing>,
    /// Payments: collections, bank statements, matching, reports.
    pub receivables: crate::receivables::Receivables,
    /// The sync with the old system, when a legacy database is configured.
    pub legacy_sync: Option<crate::sync::LegacySync>,
    /// Wakes this process's background workers after a job is queued.
    pub jobs_bell: Option<Arc<tokio::sync::Notify>>,
    /// CORS origins, security headers and the rate limits with their counters.
    pub edge: Arc<edge::Edge>,
    /// The bound on CPU-heavy request work (solves, replans, travel matrices).
    pub heavy: heavy::HeavyWork,
    /// Feature flags, evaluated locally (kept current by [`crate::flags::sync::FlagSync`]).
    pub flags: crate::flags::FlagSet,
}

impl AppState {
    /// State over `store` with the token settings `auth`, the default planner configuration
    /// (workers are started separately, see [`Planner::spawn`]), fresh metrics and no worker
    /// probes, and no rate limits or CORS origins (`luckygas serve` reads them with
    /// [`edge::EdgeConfig::from_lookup`]).
    pub fn new(store: Store, auth: AuthConfig) -> AppState {
        let receivables = crate::receivables::Receivables::new(store.clone(), crate::receivables::ReceivablesConfig::default());
        let metrics = Arc::new(metrics::Metrics::new());
        let flags = crate::flags::FlagSet::new(metrics.flags());
        AppState {
            store,
            planner: Planner::with_defaults(),
            auth: Arc::new(auth),
            metrics,
            health: Arc::default(),
            actors: Arc::default(),
            invoicing: None,
            receivables,
            legacy_sync: None,
            jobs_bell: None,
            edge: Arc::new(edge::Edge::new(edge::EdgeConfig { rate_limits: ratelimit::RateLimits::OFF, ..edge::EdgeConfig::default() })),
            heavy: heavy::HeavyWork::default(),
            flags,
        }
    }
}

/// A `201 Created` answer: the new resource as JSON, with `Location` naming its path.
#[derive(Debug)]
pub struct Created<T> {
    /// The new resource's path, e.g. `/v1/customers/42`.
    pub location: String,
    /// The new resource.
    pub body: T,
}

impl<T> Created<T> {
    /// Resource `id` of the collection at `collection` (e.g. `/v1/customers`).
    pub fn at(collection: &str, id: i64, body: T) -> Self {
        Created { location: format!("{collection}/{id}"), body }
    }
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, [(header::LOCATION, self.location)], Json(self.body)).into_response()
    }
}

/// Builds the whole application.
pub fn app(state: AppState) -> Router {
    let request_id = edge::request_id_header();
    let routes = Router::new()
        .merge(health::router())
        .merge(web::router())
        .route("/metrics", get(metrics::metrics))
        .route("/v1/openapi.json", get(openapi::openapi_json))
        .nest("/v1/auth", auth::router())
        .nest("/v1/users", users::router())
        .nest("/v1/health", health::details_router())
        .nest("/v1/depots", depots::router())
        .nest("/v1/customers", customers::router())
        .nest("/v1/vehicle-types", vehicle_types::router())
        .nest("/v1/vehicles", vehicles::router())
        .nest("/v1/drivers", drivers::router())
        .nest("/v1/orders", orders::router())
        .nest("/v1/plans", plans::router())
        .nest("/v1/plans", replans::router())
        .nest("/v1/vroom", vroom::router())
        .nest("/v1/audit", audit::router())
        .nest("/v1/invoices", invoices::router())
        .nest("/v1/number-blocks", invoices::blocks_router())
        .nest("/v1/prices", invoices::prices_router())
        .nest("/v1/invoice-preferences", invoices::preferences_router())
        .nest("/v1/payments", payments::router())
        .nest("/v1/deposits", payments::deposits_router())
        .nest("/v1/reconciliation", payments::reconciliation_router())
        .nest("/v1/flags", flags::router())
        .nest("/v1/sync", sync::router())
        .fallback(|| async { ApiError::NotFound { resource: "route" } })
        .with_state(state.clone());
    // Asked for a resource's current representation when a write names an `If-Match`.
    let current = routes.clone();
    let locks = precondition::Locks::default();
    routes
        .layer(middleware::from_fn_with_state((current, locks), precondition::conditional))
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::replay))
        .layer(middleware::from_fn_with_state(state.clone(), audit::record))
        // Layers run outside-in from the last one added: a request first loses an unsafe id and
        // gets a fresh one, then a tracing span carrying it and the client's address; the edge
        // answers CORS preflights (before authentication) and adds the CORS, security and
        // rate-limit headers to every response; every error response below (including the body
        // limit's own 413, the 401/403 of `access`, the 429 of the rate limits and the 408 of a
        // body that came too slowly) becomes a problem and is timed by route. Requests without a
        // token are counted against their address before authentication, those with one against
        // their user right after it. Layers of `Router::layer` run after routing, so the metrics
        // see the matched route template.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), ratelimit::signed_in))
        .layer(middleware::from_fn_with_state(state.clone(), access::authorize))
        .layer(middleware::from_fn_with_state(state.clone(), ratelimit::anonymous))
        .layer(middleware::from_fn(server::answer_body_timeouts))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(middleware::from_fn(error::problem_details))
        .layer(middleware::from_fn_with_state(state, edge::headers))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(edge::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    let client = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        request_id = %id,
                        client = client.map(tracing::field::display),
                        user_id = tracing::field::Empty,
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(middleware::map_request(edge::sanitize_request_id))
}
