//! `/v1/auth`: sign in, refresh, sign out. Public paths: the credentials are in the body.

use super::error::{ApiError, Problem};
use super::extract::ApiJson;
use super::AppState;
use crate::auth::{self, AuthError, TokenPair};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

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
            AuthError::InvalidCredentials => ApiError::InvalidCredentials,
            AuthError::InvalidToken => ApiError::InvalidToken,
            AuthError::Expired => ApiError::TokenExpired,
            AuthError::Reused => ApiError::TokenReused,
            AuthError::InvalidAdmin(errors) => ApiError::Validation(errors),
            AuthError::Store(e) => e.into(),
        }
    }
}

/// Signs in with email and password.
#[utoipa::path(post, operation_id = "login", path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong email or password (`invalid-credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn login(State(state): State<AppState>, ApiJson(body): ApiJson<LoginRequest>) -> Result<Json<TokenPair>, ApiError> {
    Ok(Json(auth::login(&state.store, &state.auth, &body.email, &body.password).await?))
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
