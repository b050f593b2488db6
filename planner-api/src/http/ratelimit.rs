//! Rate limits: requests per minute per client address (requests without a token) and per user
//! (signed in), in fixed one-minute windows. Over the limit a request is refused with 429
//! ([`ApiError::RateLimited`], with `Retry-After`); every counted response carries
//! `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds to the window's end).
//! `/healthz`, `/readyz` and `/metrics` are never limited. Refusals are counted in
//! `luckygas_rate_limited_total{scope}`.
//!
//! Where the counters live: on PostgreSQL in the database (table `rate_limit_windows`, one row per
//! key and window, bumped by one `INSERT … ON CONFLICT … DO UPDATE … RETURNING`), so that every
//! replica on the database sees the same counts; the recurring pruning job
//! ([`crate::jobs::prune`]) deletes the windows that have ended. On SQLite in this process: a SQLite file is served by one process, and a write per
//! request would queue behind the file's single writer. If the database does not answer, the
//! request is let through (a limit is no reason to fail a request the database may still serve).
//!
//! Two layers count, so that each request is counted once and the user is known
//! ([`super::app`] orders them): [`anonymous`], outside authentication, counts requests without
//! an `Authorization` header by address (public paths, and requests that will be refused 401 —
//! a flood of those is limited too); [`signed_in`], right after [`super::access::authorize`],
//! counts requests with a token by user (by address on public paths), and records the user id in
//! the request's log span. Requests with a token that authentication refuses are not counted:
//! they cost one signature check.
//!
//! An IPv6 client is counted by its /64 (one host usually has a whole /64 to pick addresses
//! from). A fixed window lets a client send up to twice its limit across a window boundary; the
//! limits are a guard against floods, not an exact quota. Settings:
//! `LUCKYGAS_RATE_LIMIT_ANONYMOUS_PER_MIN` (default 100) and `LUCKYGAS_RATE_LIMIT_USER_PER_MIN`
//! (default 1000); 0 turns a limit off.

use super::access::Caller;
use super::{ApiError, AppState};
use crate::store::Store;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Length of a window, in seconds.
pub const WINDOW_S: i64 = 60;

/// Paths never limited: probes and metrics.
pub const EXEMPT_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Most distinct keys counted in process per window; newcomers beyond share one counter, so a
/// flood from many addresses cannot grow memory without bound.
const LOCAL_KEYS: usize = 100_000;
const OVERFLOW_KEY: &str = "overflow";

/// Requests per minute allowed; 0 means no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client address, for requests without a token.
    pub anonymous_per_min: u32,
    /// Per signed-in user.
    pub user_per_min: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { anonymous_per_min: 100, user_per_min: 1000 }
    }
}

impl RateLimits {
    /// No limits (what [`super::AppState::new`] starts with; `luckygas serve` reads the
    /// environment).
    pub const OFF: RateLimits = RateLimits { anonymous_per_min: 0, user_per_min: 0 };

    /// Reads `LUCKYGAS_RATE_LIMIT_ANONYMOUS_PER_MIN` and `LUCKYGAS_RATE_LIMIT_USER_PER_MIN`.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<RateLimits, String> {
        let d = RateLimits::default();
        Ok(RateLimits {
            anonymous_per_min: super::server::number(get, "LUCKYGAS_RATE_LIMIT_ANONYMOUS_PER_MIN", d.anonymous_per_min)?,
            user_per_min: super::server::number(get, "LUCKYGAS_RATE_LIMIT_USER_PER_MIN", d.user_per_min)?,
        })
    }
}

/// Who a request is counted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A client address.
    Anonymous,
    /// A signed-in user.
    User,
}

impl Scope {
    /// The `scope` label of `luckygas_rate_limited_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Anonymous => "anonymous",
            Scope::User => "user",
        }
    }
}

/// Where a request stands in its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// The limit.
    pub limit: u32,
    /// Requests left in the window.
    pub remaining: u32,
    /// Seconds until the window ends (1 to [`WINDOW_S`]).
    pub reset_s: u64,
    /// Whether this request is over the limit.
    pub over: bool,
}

/// Where the counting layer leaves the request's [`Quota`] for the edge layer, which writes the
/// headers on the way out (also onto error answers the problem layer renders anew).
#[derive(Clone, Debug, Default)]
pub struct RateLimitSlot(Arc<OnceLock<Quota>>);

impl RateLimitSlot {
    /// Writes the rate-limit headers of the counted quota, if the request was counted.
    pub fn write_headers(&self, h: &mut HeaderMap) {
        let Some(q) = self.0.get() else { return };
        h.insert("ratelimit-limit", HeaderValue::from(q.limit));
        h.insert("ratelimit-remaining", HeaderValue::from(q.remaining));
        h.insert("ratelimit-reset", HeaderValue::from(q.reset_s));
        if q.over && !h.contains_key(header::RETRY_AFTER) {
            h.insert(header::RETRY_AFTER, HeaderValue::from(q.reset_s));
        }
    }
}

/// This process's side of the limits: the in-process counters (SQLite).
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    local: Mutex<LocalWindow>,
}

/// The in-process counters of one window.
#[derive(Debug, Default)]
struct LocalWindow {
    start: i64,
    hits: HashMap<String, u32>,
}

impl RateLimiter {
    /// Counters for `limits`.
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter { limits, local: Mutex::default() }
    }

    /// The limits applied.
    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Counts one request of `key` under `limit` at `now_s` (Unix seconds); `None` when the
    /// database could not count it.
    pub async fn hit(&self, store: &Store, key: &str, limit: u32, now_s: i64) -> Option<Quota> {
        let start = now_s - now_s.rem_euclid(WINDOW_S);
        let hits = match store {
            Store::Sqlite(_) => i64::from(self.hit_local(key, start)),
            Store::Postgres(_) => match store.hit_rate_window(key, start).await {
                Ok(hits) => hits,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot count the request against its rate limit; letting it through");
                    return None;
                }
            },
        };
        let remaining = u32::try_from((i64::from(limit) - hits).max(0)).unwrap_or(0);
        let reset_s = u64::try_from(start + WINDOW_S - now_s).unwrap_or(1);
        Some(Quota { limit, remaining, reset_s, over: hits > i64::from(limit) })
    }

    fn hit_local(&self, key: &str, start: i64) -> u32 {
        let mut w = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        if w.start != start {
            w.start = start;
            w.hits.clear();
        }
        let key = if w.hits.len() >= LOCAL_KEYS && !w.hits.contains_key(key) { OVERFLOW_KEY } else { key };
        let n = w.hits.entry(key.to_owned()).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }
}

/// The counter key of a client address: the address, or an IPv6 address's /64.
pub fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("a:{v4}"),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & (u128::MAX << 64);
            format!("a:{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

/// Counts `req` in `scope` and refuses it when over the limit.
fn limit(state: &AppState, req: &Request, scope: Scope, user_id: Option<i64>) -> impl std::future::Future<Output = Result<(), ApiError>> + Send + 'static {
    let limits = state.edge.limiter.limits();
    let (limit, key) = match (scope, user_id) {
        (Scope::User, Some(id)) => (limits.user_per_min, format!("u:{id}")),
        _ => {
            // Requests from a server without our accept loop (a test's `oneshot`) have no address.
            let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
            (limits.anonymous_per_min, ip.map_or_else(|| "a:unknown".to_owned(), address_key))
        }
    };
    // Taken before waiting: a request is not `Sync`, so no reference to it may cross an await.
    let slot = req.extensions().get::<RateLimitSlot>().cloned();
    let state = state.clone();
    async move {
        if limit == 0 {
            return Ok(());
        }
        count(&state, &key, limit, scope, slot).await
    }
}

/// Counts one request of `key` and refuses it when over `limit`.
async fn count(state: &AppState, key: &str, limit: u32, scope: Scope, slot: Option<RateLimitSlot>) -> Result<(), ApiError> {
    let Some(quota) = state.edge.limiter.hit(&state.store, key, limit, chrono::Utc::now().timestamp()).await else { return Ok(()) };
    if let Some(slot) = slot {
        let _ = slot.0.set(quota);
    }
    if quota.over {
        state.metrics.count_rate_limited(scope.as_str());
        tracing::info!(scope = scope.as_str(), limit, "rate limited");
        return Err(ApiError::RateLimited { retry_after_s: quota.reset_s });
    }
    Ok(())
}

fn exempt(req: &Request) -> bool {
    EXEMPT_PATHS.contains(&req.uri().path())
}

/// Middleware, outside authentication: counts requests without an `Authorization` header by
/// client address.
pub async fn anonymous(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, ApiError> {
    if !exempt(&req) && !req.headers().contains_key(header::AUTHORIZATION) {
        let check = limit(&state, &req, Scope::Anonymous, None);
        check.await?;
    }
    Ok(next.run(req).await)
}

/// Middleware, right after [`super::access::authorize`]: records the signed-in user in the
/// request's span and counts requests with an `Authorization` header by user (by address on the
/// public paths, where no user was checked).
pub async fn signed_in(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, ApiError> {
    let user_id = req.extensions().get::<Caller>().map(|c| c.principal.user_id);
    if let Some(id) = user_id {
        tracing::Span::current().record("user_id", id);
    }
    if !exempt(&req) && req.headers().contains_key(header::AUTHORIZATION) {
        let scope = if user_id.is_some() { Scope::User } else { Scope::Anonymous };
        let check = limit(&state, &req, scope, user_id);
        check.await?;
    }
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_ipv4_addresses_alone_and_ipv6_by_their_64() {
        assert_eq!(address_key("192.0.2.7".parse().expect("ip")), "a:192.0.2.7");
        assert_eq!(address_key("::ffff:192.0.2.7".parse().expect("ip")), "a:192.0.2.7");
        assert_eq!(address_key("2001:db8:1:2:aaaa::1".parse().expect("ip")), address_key("2001:db8:1:2:bbbb::9".parse().expect("ip")));
        assert_ne!(address_key("2001:db8:1:2::1".parse().expect("ip")), address_key("2001:db8:1:3::1".parse().expect("ip")));
    }

    #[tokio::test]
    async fn refuses_the_request_over_the_limit_until_the_window_ends() {
        let store = Store::Sqlite(sqlx::sqlite::SqlitePool::connect_lazy("sqlite::memory:").expect("lazy pool"));
        let limiter = RateLimiter::new(RateLimits { anonymous_per_min: 2, user_per_min: 5 });
        let t = 1_800_000_000 - 1_800_000_000 % WINDOW_S + 15;
        let first = limiter.hit(&store, "a:192.0.2.7", 2, t).await.expect("counted");
        assert_eq!((first.remaining, first.reset_s, first.over), (1, 45, false));
        assert!(!limiter.hit(&store, "a:192.0.2.7", 2, t).await.expect("counted").over);
        let third = limiter.hit(&store, "a:192.0.2.7", 2, t + 1).await.expect("counted");
        assert_eq!((third.remaining, third.reset_s, third.over), (0, 44, true));
        assert!(!limiter.hit(&store, "a:192.0.2.8", 2, t).await.expect("counted").over, "another address has its own count");
        let next = limiter.hit(&store, "a:192.0.2.7", 2, t + 45).await.expect("counted");
        assert_eq!((next.remaining, next.reset_s, next.over), (1, 60, false), "a new window starts afresh");
    }
}
