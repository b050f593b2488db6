//! `/v1/drivers`: list, read, create, replace and delete drivers. A driver user (scope
//! [`Scope::Own`](super::access::Scope::Own)) lists and reads only their own driver record.

use super::access::Caller;
use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, Created, ListResponse};
use crate::domain::{Driver, DriverInput};
use crate::store::{Page, PageStart, StoreError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

const RESOURCE: &str = "driver";

/// The drivers router, mounted at `/v1/drivers`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(list).post(create)).route("/{id}", get(read).put(replace).delete(remove))
}

/// Lists drivers by id, a page at a time.
#[utoipa::path(get, operation_id = "listDrivers", path = "/v1/drivers", tag = "drivers", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = ListResponse<Driver>),
        (status = 422, description = "Bad limit or offset", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, caller: Caller, params: ListParams) -> Result<Json<ListResponse<Driver>>, ApiError> {
    let page = match caller.own_driver_id() {
        None => state.store.list_drivers(params.page).await?,
        Some(own) => {
            let driver = match state.store.get_driver(own).await {
                Ok(d) => Some(d),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            };
            // Their one record is on the first page, by offset or by key.
            let first = match params.page.start {
                PageStart::Offset(offset) => offset == 0,
                PageStart::After(key) => key.is_none_or(|k| k < own),
            };
            let total = params.page.offset_value().map(|_| i64::from(driver.is_some()));
            Page { items: driver.filter(|_| first).into_iter().collect(), total, next: None }
        }
    };
    Ok(Json(ListResponse::new(page, params.page)))
}

/// Reads one record.
#[utoipa::path(get, operation_id = "getDriver", path = "/v1/drivers/{id}", tag = "drivers", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Driver),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Driver>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    if !caller.may_touch_driver(id) {
        return Err(ApiError::Forbidden);
    }
    Ok(Json(state.store.get_driver(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Creates a record.
#[utoipa::path(post, operation_id = "createDriver", path = "/v1/drivers", tag = "drivers", security(("bearer" = [])), request_body = DriverInput,
    responses((status = 201, description = "Created", body = Driver, headers(("Location" = String, description = "The new driver: `/v1/drivers/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<DriverInput>) -> Result<Created<Driver>, ApiError> {
    let driver = input.validate().map_err(ApiError::Validation)?;
    let created = state.store.create_driver(&driver).await?;
    Ok(Created::at("/v1/drivers", created.id, created))
}

/// Replaces every field of a record.
#[utoipa::path(put, operation_id = "replaceDriver", path = "/v1/drivers/{id}", tag = "drivers", security(("bearer" = [])), params(("id" = i64, Path)), request_body = DriverInput,
    responses((status = 200, body = Driver),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn replace(State(state): State<AppState>, Path(id): Path<String>, ApiJson(input): ApiJson<DriverInput>) -> Result<Json<Driver>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let driver = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_driver(id, &driver).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Deletes a record.
#[utoipa::path(delete, operation_id = "deleteDriver", path = "/v1/drivers/{id}", tag = "drivers", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still in use", body = Problem, content_type = "application/problem+json")))]
pub async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    state.store.delete_driver(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
