//! What every response carries and every request is checked for at the edge of the service,
//! before any route: CORS from an allow-list, security headers, the rate-limit headers of
//! [`super::ratelimit`], and request ids that are safe to echo and log.
//!
//! - **CORS**: `LUCKYGAS_CORS_ORIGINS` lists exact origins (`https://console.luckygas.tw`),
//!   comma-separated; none by default. A preflight (`OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method`) is answered here with 204, before authentication; it gets
//!   the `Access-Control-Allow-*` headers only when its origin is listed, so a browser refuses the
//!   others. Answers to listed origins carry `Access-Control-Allow-Origin` and expose the headers
//!   a client needs (`Location`, `ETag`, `Retry-After`, the rate-limit headers, the request id).
//!   Tokens travel in `Authorization`, never in cookies, so credentials are not allowed.
//! - **Security headers** on every response: `X-Content-Type-Options: nosniff`,
//!   `X-Frame-Options: DENY` and `Content-Security-Policy: default-src 'none'; frame-ancestors
//!   'none'` (the API serves no pages), `Referrer-Policy: no-referrer`, `Cache-Control: no-store`
//!   on JSON and problem answers (unless a handler chose otherwise), and
//!   `Strict-Transport-Security: max-age=N` only when `LUCKYGAS_HSTS_MAX_AGE_SECS` is set (the
//!   service itself speaks plain HTTP behind a TLS proxy; HSTS is that deployment's decision).
//! - **Request ids**: an incoming `x-request-id` is kept only when it is 1 to
//!   [`REQUEST_ID_MAX`] characters of `A-Z a-z 0-9 - _ . :`; otherwise it is removed and the
//!   request gets a fresh UUID like one that sent none.

use super::ratelimit::{RateLimitSlot, RateLimiter, RateLimits};
use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Longest request id kept.
pub const REQUEST_ID_MAX: usize = luckygas_wire::request_id::MAX_LEN;
/// Whether a request id is worth keeping (`luckygas_wire::request_id`, fuzzed there).
pub use luckygas_wire::request_id::is_valid as valid_request_id;

/// The request-id header.
pub const REQUEST_ID: &str = "x-request-id";

/// Methods a listed origin may use.
const ALLOW_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";
/// Request headers a listed origin may send.
const ALLOW_HEADERS: &str = "authorization, content-type, accept, accept-language, if-match, if-none-match, idempotency-key, x-request-id";
/// Response headers a listed origin's scripts may read.
const EXPOSE_HEADERS: &str = "location, etag, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, x-request-id";
/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// Settings of the edge, read once by [`EdgeConfig::from_lookup`]; the default is what an
/// empty environment gives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdgeConfig {
    /// `LUCKYGAS_CORS_ORIGINS`: origins allowed to call the API from a browser.
    pub cors_origins: Vec<HeaderValue>,
    /// `LUCKYGAS_HSTS_MAX_AGE_SECS`: `Strict-Transport-Security` max-age, if sent at all.
    pub hsts_max_age_s: Option<u64>,
    /// Requests per minute per client address and per user.
    pub rate_limits: RateLimits,
}

impl EdgeConfig {
    /// Reads the settings through `get`; unset ones take their defaults (no CORS origin, no
    /// HSTS, the rate limits of [`RateLimits::default`]).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<EdgeConfig, String> {
        let cors_origins = match get("LUCKYGAS_CORS_ORIGINS") {
            None => Vec::new(),
            Some(list) => list.split(',').map(str::trim).filter(|o| !o.is_empty()).map(origin).collect::<Result<_, _>>()?,
        };
        let hsts_max_age_s = match get("LUCKYGAS_HSTS_MAX_AGE_SECS").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => Some(v.trim().parse().map_err(|_| format!("LUCKYGAS_HSTS_MAX_AGE_SECS must be a whole number, not {v:?}"))?),
        };
        Ok(EdgeConfig { cors_origins, hsts_max_age_s, rate_limits: RateLimits::from_lookup(&get)? })
    }
}

/// The edge's settings and the rate limiter that applies them.
#[derive(Debug)]
pub struct Edge {
    /// The settings.
    pub config: EdgeConfig,
    /// The counters of [`EdgeConfig::rate_limits`].
    pub limiter: RateLimiter,
}

impl Edge {
    /// The edge of one process with `config`.
    pub fn new(config: EdgeConfig) -> Edge {
        Edge { limiter: RateLimiter::new(config.rate_limits), config }
    }
}

/// Checks one origin of `LUCKYGAS_CORS_ORIGINS`: `scheme://host[:port]`, nothing more.
fn origin(o: &str) -> Result<HeaderValue, String> {
    let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
    let valid = rest.is_some_and(|r| !r.is_empty() && !r.contains('/') && r.bytes().all(|b| b.is_ascii_graphic()));
    match HeaderValue::from_str(o) {
        Ok(v) if valid => Ok(v),
        _ => Err(format!("LUCKYGAS_CORS_ORIGINS: {o:?} is not an origin like https://console.example.tw")),
    }
}

/// Request mapper: drops an `x-request-id` that is too long or unsafe (the layer after it then
/// gives the request a fresh one).
pub async fn sanitize_request_id(mut req: Request) -> Request {
    let headers = req.headers_mut();
    let bad = headers.get_all(REQUEST_ID).iter().count() > 1 || headers.get(REQUEST_ID).is_some_and(|v| !valid_request_id(v.as_bytes()));
    if bad {
        headers.remove(REQUEST_ID);
    }
    req
}

/// Middleware: answers CORS preflights, and adds the CORS, security and rate-limit headers to
/// every response (see the module docs).
pub async fn headers(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let config = &state.edge.config;
    let allowed = req.headers().get(header::ORIGIN).filter(|o| config.cors_origins.contains(o)).cloned();
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ORIGIN) && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = if preflight {
        let mut res = StatusCode::NO_CONTENT.into_response();
        if allowed.is_some() {
            let h = res.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE));
        }
        res
    } else {
        let slot = RateLimitSlot::default();
        req.extensions_mut().insert(slot.clone());
        let mut res = next.run(req).await;
        slot.write_headers(res.headers_mut());
        if allowed.is_some() {
            res.headers_mut().insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
        }
        res
    };
    let h = res.headers_mut();
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    if !config.cors_origins.is_empty() {
        // The answer depends on the origin: caches must keep them apart.
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
    security_headers(h, config);
    res
}

/// The headers every response carries.
fn security_headers(h: &mut HeaderMap, config: &EdgeConfig) {
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The API's answers allow nothing; the console's pages set their own (crate::http::web::CSP).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    }
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let json = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("application/problem+json"));
    if json && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(age) = config.hsts_max_age_s {
        if let Ok(v) = HeaderValue::from_str(&format!("max-age={age}")) {
            h.insert(header::STRICT_TRANSPORT_SECURITY, v);
        }
    }
}

/// The name of the request-id header, for the layers that set and echo it.
pub fn request_id_header() -> HeaderName {
    HeaderName::from_static(REQUEST_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exact_origins_and_refuses_paths_and_wildcards() {
        let get = |vars: &'static str| move |k: &str| (k == "LUCKYGAS_CORS_ORIGINS").then(|| vars.to_owned());
        let c = EdgeConfig::from_lookup(get("https://console.luckygas.tw, http://localhost:5173")).expect("valid");
        assert_eq!(c.cors_origins, ["https://console.luckygas.tw", "http://localhost:5173"]);
        assert!(EdgeConfig::from_lookup(get("*")).is_err());
        assert!(EdgeConfig::from_lookup(get("https://a.tw/path")).is_err());
        assert_eq!(EdgeConfig::from_lookup(|_| None).expect("defaults"), EdgeConfig::default());
    }
}
