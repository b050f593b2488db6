//! `/v1/auth`: sign in, refresh, sign out. Public paths: the credentials are in the body.
//!
//! Every refused sign-in is logged (a warning with the email and the client address, never the
//! password) and counted (`luckygas_login_failures_total`, `luckygas_login_throttled_total`).
//! The client address is the connection's peer as `ConnectInfo` gives it (which a trusted proxy
//! layer may have rewritten); without one it is `unknown`.

use super::error::{ApiError, Problem};
use super::extract::ApiJson;
use super::AppState;
use crate::auth::{self, AuthError, TokenPair};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;

/// The client's address (its IP, without the port), or `unknown` when the server was not
/// started with connection info.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        Ok(ClientAddr(addr))
    }
}

/// The body of `POST /v1/auth/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Email (case-insensitive).
    pub email: String,
    /// Password.
    pub password: String,
}

/// The body of `POST /v1/auth/refresh` and `POST /v1/auth/logout`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token of the last pair.
    pub refresh_token: String,
}

/// The auth router, mounted at `/v1/auth`.
pub fn router() -> Router<AppState> {
    Router::new().route("/login", post(login)).route("/refresh", post(refresh)).route("/logout", post(logout))
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials(_) => ApiError::InvalidCredentials,
            AuthError::Throttled { retry_after, .. } => ApiError::LoginThrottled { retry_after },
            AuthError::Busy(busy) => ApiError::HashingBusy { retry_after: busy.retry_after.as_secs().max(1) },
            AuthError::Invalid(errors) => ApiError::Validation(errors),
            AuthError::InvalidToken => ApiError::InvalidToken,
            AuthError::Expired => ApiError::TokenExpired,
            AuthError::Reused => ApiError::TokenReused,
            AuthError::InvalidAdmin(errors) => ApiError::Validation(errors),
            AuthError::Store(e) => e.into(),
        }
    }
}

/// Maps an auth flow's error for `resource`, so a missing row reads as "no such user".
pub fn for_resource(resource: &'static str) -> impl Fn(AuthError) -> ApiError {
    move |e| match e {
        AuthError::Store(e) => ApiError::from_store(resource)(e),
        other => other.into(),
    }
}

/// Signs in with email and password.
#[utoipa::path(post, operation_id = "login", path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong email or password (`invalid-credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins of this account or from this address (`login-throttled`); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many sign-ins being checked at once (`busy`); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json")))]
pub async fn login(State(state): State<AppState>, ClientAddr(client): ClientAddr, ApiJson(body): ApiJson<LoginRequest>) -> Result<Json<TokenPair>, ApiError> {
    let result = auth::login(&state.store, &state.auth, &body.email, &body.password, &client).await;
    let email = body.email.trim().to_lowercase();
    match &result {
        Err(AuthError::InvalidCredentials(reason)) => {
            tracing::warn!(email = %email, client = %client, reason = reason.as_str(), "sign-in refused");
            state.metrics.login_failed(reason.as_str());
        }
        Err(AuthError::Throttled { scope, retry_after }) => {
            tracing::warn!(email = %email, client = %client, locked = *scope, retry_after = *retry_after, "sign-in throttled");
            state.metrics.login_throttled(scope);
        }
        Err(AuthError::Busy(_)) => {
            tracing::warn!(email = %email, client = %client, "sign-in refused: password hashing saturated");
            state.metrics.login_failed("busy");
        }
        _ => {}
    }
    Ok(Json(result?))
}

/// Trades a refresh token for a new pair; the old refresh token stops working.
#[utoipa::path(post, operation_id = "refreshTokens", path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown (`invalid-token`), expired (`token-expired`) or already used (`token-reused`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn refresh(State(state): State<AppState>, ApiJson(body): ApiJson<RefreshRequest>) -> Result<Json<TokenPair>, ApiError> {
    Ok(Json(auth::refresh(&state.store, &state.auth, &body.refresh_token).await?))
}

/// Signs out: revokes the refresh token and every token rotated from the same sign-in.
#[utoipa::path(post, operation_id = "logout", path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Signed out"),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn logout(State(state): State<AppState>, ApiJson(body): ApiJson<RefreshRequest>) -> Result<StatusCode, ApiError> {
    auth::logout(&state.store, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}
