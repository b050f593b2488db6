//! ETags and `If-Match`: every JSON resource a `GET` answers carries an `ETag` (a digest of the
//! representation), and a write sent with `If-Match` is refused with `412 precondition-failed`
//! when the resource is no longer what the client read, so two people editing the same record
//! cannot silently overwrite each other.
//!
//! The resource a write is checked against is the one at its path (`PUT`, `PATCH`, `DELETE`),
//! or, for a `POST` to an action under a record (`POST /v1/orders/{id}/status`), the record
//! (`/v1/orders/{id}`). Its current ETag is computed by asking the application for it, as the
//! caller, and the check and the write of one resource are serialised in this process, so of two
//! writes based on the same ETag exactly one succeeds. (Replicas do not share that lock; plans
//! have their own guard, `base_version`.)

use super::error::ApiError;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// Largest representation given an ETag (larger ones, such as big plans, still get one: this
/// bounds what is read back into memory, the limit of the request body times a hundred).
const MAX_BODY: usize = 100 * super::BODY_LIMIT;

/// The strong ETag of a representation.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `If-Match` value matches `current` (`*` matches any existing resource).
fn matches(if_match: &str, current: Option<&str>) -> bool {
    let Some(current) = current else { return false };
    if_match.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == current)
}

/// The path of the resource a write of `method` to `path` changes.
fn resource_path(method: &Method, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match *method {
        Method::PUT | Method::PATCH | Method::DELETE => Some(path.to_owned()),
        // `/v1/orders/7/status`: ["", "v1", "orders", "7", "status"].
        Method::POST if segments.len() >= 5 => Some(segments[..segments.len() - 1].join("/")),
        _ => None,
    }
}

/// Locks of the resources being checked and written, by path.
#[derive(Clone, Debug, Default)]
pub struct Locks(Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl Locks {
    fn of(&self, path: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget locks nobody holds, so the map stays as small as the writes in flight.
        map.retain(|_, l| Arc::strong_count(l) > 1);
        Arc::clone(map.entry(path.to_owned()).or_default())
    }
}

/// A `GET` of `path` as the caller of `like` (its extensions, token and language).
fn read_like(like: &Request, path: &str) -> Result<Request, ApiError> {
    let mut req = Request::builder().method(Method::GET).uri(path).body(Body::empty()).map_err(|e| ApiError::Internal(e.to_string()))?;
    // Only who is asking: the routing of the write left its own path parameters there.
    if let Some(caller) = like.extensions().get::<super::access::Caller>() {
        req.extensions_mut().insert(*caller);
    }
    for name in [header::AUTHORIZATION, header::ACCEPT_LANGUAGE] {
        if let Some(v) = like.headers().get(&name) {
            req.headers_mut().insert(name, v.clone());
        }
    }
    Ok(req)
}

/// The ETag of what `app` answers to `req`; `None` when it does not answer 200 with JSON.
async fn current_etag(app: &Router, req: Request) -> Result<Option<String>, ApiError> {
    let res = app.clone().oneshot(req).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    if res.status() != StatusCode::OK || !is_json(&res) {
        return Ok(None);
    }
    let body = to_bytes(res.into_body(), MAX_BODY).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some(etag_of(&body)))
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("application/geo+json"))
}

/// Adds an `ETag` to a 200 JSON answer (and answers `304` to a matching `If-None-Match`).
async fn tagged(res: Response, if_none_match: Option<String>) -> Response {
    if !matches!(res.status(), StatusCode::OK | StatusCode::CREATED) || !is_json(&res) {
        return res;
    }
    // A streamed answer (no exact size: e.g. a big day's solver input) goes out as it is made,
    // untagged, rather than being gathered in memory to hash.
    if axum::body::HttpBody::size_hint(res.body()).exact().is_none() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return ApiError::Internal(e.to_string()).into_response(),
    };
    let etag = etag_of(&body);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, v);
    }
    if parts.status == StatusCode::OK && if_none_match.is_some_and(|inm| matches(&inm, Some(&etag))) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(body))
}

/// Middleware (inside authentication): ETags on answers, `If-Match` on writes. `app` is the
/// application without this layer, asked for a resource's current representation.
pub async fn conditional(State((app, locks)): State<(Router, Locks)>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let is_stream = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/event-stream"));
    if method == Method::GET || method == Method::HEAD {
        let res = next.run(req).await;
        return if is_stream { res } else { tagged(res, if_none_match).await };
    }
    let if_match = req.headers().get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let target = resource_path(&method, req.uri().path());
    let (Some(if_match), Some(target)) = (if_match, target) else {
        let res = next.run(req).await;
        return tagged(res, None).await;
    };
    let lock = locks.of(&target);
    let _held = lock.lock().await;
    let read = match read_like(&req, &target) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let current = match current_etag(&app, read).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if !matches(&if_match, current.as_deref()) {
        return ApiError::PreconditionFailed { current }.into_response();
    }
    let res = next.run(req).await;
    tagged(res, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_writes_against_their_record() {
        assert_eq!(resource_path(&Method::PUT, "/v1/orders/7").as_deref(), Some("/v1/orders/7"));
        assert_eq!(resource_path(&Method::POST, "/v1/orders/7/status").as_deref(), Some("/v1/orders/7"));
        assert_eq!(resource_path(&Method::POST, "/v1/orders"), None, "a new record has no version yet");
    }

    #[test]
    fn matches_strong_weak_and_any() {
        let tag = etag_of(b"{\"id\":1}");
        assert!(matches(&tag, Some(&tag)));
        assert!(matches(&format!("W/{tag}"), Some(&tag)));
        assert!(matches(&format!("\"x\", {tag}"), Some(&tag)));
        assert!(matches("*", Some(&tag)));
        assert!(!matches("*", None), "nothing to match");
        assert!(!matches(&etag_of(b"{\"id\":2}"), Some(&tag)));
    }
}
