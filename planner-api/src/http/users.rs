//! `/v1/users`: admins create, list, read, change and delete users (the permission table gives
//! this resource to admins only). An admin cannot delete, demote or deactivate their own account;
//! since only admins change users, at least one admin therefore always remains.

use super::access::Caller;
use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, Created, ListResponse};
use crate::auth::session::{create_user, update_user};
use crate::domain::{Role, User, UserInput, UserUpdateInput};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

const RESOURCE: &str = "user";

/// The users router, mounted at `/v1/users`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(list).post(create)).route("/{id}", get(read).put(replace).delete(remove))
}

/// Lists users.
#[utoipa::path(get, operation_id = "listUsers", path = "/v1/users", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = ListResponse<User>),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit or offset", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<User>>, ApiError> {
    let page = state.store.list_users(params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

/// Reads one user.
#[utoipa::path(get, operation_id = "getUser", path = "/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = User),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<User>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_user(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Creates a user; a `driver` needs the `driver_id` of an existing driver.
#[utoipa::path(post, operation_id = "createUser", path = "/v1/users", tag = "users", security(("bearer" = [])), request_body = UserInput,
    responses((status = 201, description = "Created", body = User, headers(("Location" = String, description = "The new user: `/v1/users/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken (`conflict` on `email`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<UserInput>) -> Result<Created<User>, ApiError> {
    let user = input.validate().map_err(ApiError::Validation)?;
    let created = create_user(&state.store, user).await?;
    Ok(Created::at("/v1/users", created.id, created))
}

/// Changes a user's role, driver, active flag or password; their refresh tokens are revoked, so
/// the change holds at their next sign-in and at the latest when their access token expires.
#[utoipa::path(put, operation_id = "replaceUser", path = "/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)), request_body = UserUpdateInput,
    responses((status = 200, body = User),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`self-lockout`: demoting or deactivating oneself", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<UserUpdateInput>,
) -> Result<Json<User>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let update = input.validate().map_err(ApiError::Validation)?;
    if id == caller.principal.user_id && (update.role != Role::Admin || !update.active) {
        return Err(ApiError::SelfLockout);
    }
    Ok(Json(update_user(&state.store, id, update).await.map_err(super::auth::for_resource(RESOURCE))?))
}

/// Deletes a user and their refresh tokens (their access tokens run out within minutes).
#[utoipa::path(delete, operation_id = "deleteUser", path = "/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`self-lockout`: deleting oneself", body = Problem, content_type = "application/problem+json")))]
pub async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    if id == caller.principal.user_id {
        return Err(ApiError::SelfLockout);
    }
    state.store.delete_user(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
