//! `/v1/vehicle-types`: list, read, create, replace and delete vehicle types. A taken name is a
//! 409 conflict.

use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, Created, ListResponse};
use crate::domain::{VehicleType, VehicleTypeInput};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

const RESOURCE: &str = "vehicle type";

/// The vehicle types router, mounted at `/v1/vehicle-types`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(list).post(create)).route("/{id}", get(read).put(replace).delete(remove))
}

/// Lists vehicle-types by id, a page at a time.
#[utoipa::path(get, operation_id = "listVehicleTypes", path = "/v1/vehicle-types", tag = "vehicle-types", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = ListResponse<VehicleType>),
        (status = 422, description = "Bad limit or offset", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<VehicleType>>, ApiError> {
    let page = state.store.list_vehicle_types(params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

/// Reads one record.
#[utoipa::path(get, operation_id = "getVehicleType", path = "/v1/vehicle-types/{id}", tag = "vehicle-types", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = VehicleType),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<VehicleType>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_vehicle_type(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Creates a record.
#[utoipa::path(post, operation_id = "createVehicleType", path = "/v1/vehicle-types", tag = "vehicle-types", security(("bearer" = [])), request_body = VehicleTypeInput,
    responses((status = 201, description = "Created", body = VehicleType, headers(("Location" = String, description = "The new vehicle type: `/v1/vehicle-types/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken (`conflict` on `name`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<VehicleTypeInput>) -> Result<Created<VehicleType>, ApiError> {
    let vehicle_type = input.validate().map_err(ApiError::Validation)?;
    let created = state.store.create_vehicle_type(&vehicle_type).await?;
    Ok(Created::at("/v1/vehicle-types", created.id, created))
}

/// Replaces every field of a record.
#[utoipa::path(put, operation_id = "replaceVehicleType", path = "/v1/vehicle-types/{id}", tag = "vehicle-types", security(("bearer" = [])), params(("id" = i64, Path)), request_body = VehicleTypeInput,
    responses((status = 200, body = VehicleType),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken (`conflict` on `name`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn replace(State(state): State<AppState>, Path(id): Path<String>, ApiJson(input): ApiJson<VehicleTypeInput>) -> Result<Json<VehicleType>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let vehicle_type = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_vehicle_type(id, &vehicle_type).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Deletes a record.
#[utoipa::path(delete, operation_id = "deleteVehicleType", path = "/v1/vehicle-types/{id}", tag = "vehicle-types", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still in use", body = Problem, content_type = "application/problem+json")))]
pub async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    state.store.delete_vehicle_type(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
