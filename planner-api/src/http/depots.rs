//! `/v1/depots`: list, read, create, replace and delete depots.

use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, Created, ListResponse};
use crate::domain::{Depot, DepotInput};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

const RESOURCE: &str = "depot";

/// The depots router, mounted at `/v1/depots`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(list).post(create)).route("/{id}", get(read).put(replace).delete(remove))
}

/// Lists depots by id, a page at a time.
#[utoipa::path(get, operation_id = "listDepots", path = "/v1/depots", tag = "depots", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = ListResponse<Depot>),
        (status = 422, description = "Bad limit or offset", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Depot>>, ApiError> {
    let page = state.store.list_depots(params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

/// Reads one record.
#[utoipa::path(get, operation_id = "getDepot", path = "/v1/depots/{id}", tag = "depots", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Depot),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Depot>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_depot(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Creates a record.
#[utoipa::path(post, operation_id = "createDepot", path = "/v1/depots", tag = "depots", security(("bearer" = [])), request_body = DepotInput,
    responses((status = 201, description = "Created", body = Depot, headers(("Location" = String, description = "The new depot: `/v1/depots/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<DepotInput>) -> Result<Created<Depot>, ApiError> {
    let depot = input.validate().map_err(ApiError::Validation)?;
    let created = state.store.create_depot(&depot).await?;
    Ok(Created::at("/v1/depots", created.id, created))
}

/// Replaces every field of a record.
#[utoipa::path(put, operation_id = "replaceDepot", path = "/v1/depots/{id}", tag = "depots", security(("bearer" = [])), params(("id" = i64, Path)), request_body = DepotInput,
    responses((status = 200, body = Depot),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn replace(State(state): State<AppState>, Path(id): Path<String>, ApiJson(input): ApiJson<DepotInput>) -> Result<Json<Depot>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let depot = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_depot(id, &depot).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Deletes a record.
#[utoipa::path(delete, operation_id = "deleteDepot", path = "/v1/depots/{id}", tag = "depots", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still in use", body = Problem, content_type = "application/problem+json")))]
pub async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    state.store.delete_depot(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
