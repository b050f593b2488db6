//! The one `Idempotency-Key` mechanism of the API. A write carrying the header is remembered per
//! signed-in user and key with a hash of its method, path, query and body:
//! - the first request runs; a success (2xx) is stored and every retry with the same key and the
//!   same request gets it again, marked `Idempotent-Replayed: true`, without running twice;
//! - a failure (4xx, 5xx) frees the key, so a corrected or later retry runs;
//! - the same key with a different request is refused (`422 idempotency-key-reused`), and a
//!   retry while the first is still running waits its turn (`409 idempotency-in-flight`); a
//!   claim whose process died is taken over after [`STALE_AFTER`].
//!
//! Handlers whose effect must also be unique in the data (one invoice per delivered order)
//! enforce it in the database as well; the key makes the client's retry safe end to end.

use super::access::{action_of, Action, Caller};
use super::error::ApiError;
use super::{AppState, BODY_LIMIT};
use crate::store::idempotency::{Claim, StoredAnswer};
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::middleware::Next;
use sha2::{Digest, Sha256};

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// A claim without an answer this old belongs to a request that died.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(5);

/// Largest answer stored for replay (larger successes are answered but not stored).
const MAX_STORED: usize = 4 * 1024 * 1024;

fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Middleware: replays answered requests, runs first ones and remembers their success.
pub async fn replay(State(state): State<AppState>, req: Request, next: Next) -> Result<Response<Body>, ApiError> {
    if action_of(req.method()) == Action::Read {
        return Ok(next.run(req).await);
    }
    let Some(key) = req.headers().get(HEADER) else { return Ok(next.run(req).await) };
    let key = key.to_str().map_err(|_| ApiError::BadIdempotencyKey)?.trim().to_owned();
    if !valid_key(&key) {
        return Err(ApiError::BadIdempotencyKey);
    }
    let Some(user_id) = req.extensions().get::<Caller>().map(|c| c.principal.user_id) else { return Ok(next.run(req).await) };
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, BODY_LIMIT).await.map_err(|_| ApiError::PayloadTooLarge)?;
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(parts.uri.path_and_query().map_or("", |p| p.as_str()).as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let hash: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let now = chrono::Utc::now();
    match state.store.claim_idempotency_key(user_id, &key, &hash, now, now - STALE_AFTER).await? {
        Claim::Replay(answer) => {
            let mut res = Response::new(Body::from(answer.body));
            *res.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
            if let Some(ct) = answer.content_type.and_then(|v| HeaderValue::from_str(&v).ok()) {
                res.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            if let Some(location) = answer.location.and_then(|v| HeaderValue::from_str(&v).ok()) {
                res.headers_mut().insert(header::LOCATION, location);
            }
            res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(res);
        }
        Claim::InFlight => return Err(ApiError::IdempotencyInFlight),
        Claim::Mismatch => return Err(ApiError::IdempotencyKeyReused),
        Claim::Run => {}
    }
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if !res.status().is_success() {
        state.store.release_idempotency_key(user_id, &key).await?;
        return Ok(res);
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_STORED).await else {
        // Too large to remember: free the key rather than replay a truncated answer.
        state.store.release_idempotency_key(user_id, &key).await?;
        return Err(ApiError::Internal("an answer too large to store for Idempotency-Key replay".into()));
    };
    let header_text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let answer = StoredAnswer {
        status: parts.status.as_u16(),
        content_type: header_text(header::CONTENT_TYPE),
        location: header_text(header::LOCATION),
        body: bytes.to_vec(),
    };
    state.store.answer_idempotency_key(user_id, &key, &answer).await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_printable_ascii() {
        assert!(valid_key("order-7-deliver-1"));
        assert!(valid_key(&"k".repeat(255)));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(256)));
        assert!(!valid_key("with space"));
        assert!(!valid_key("發票"));
    }
}
