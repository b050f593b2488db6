//! `/v1/vehicles`: list, read, create, replace and delete vehicles. A taken plate is a 409
//! conflict; an unknown `vehicle_type_id`, `depot_id` or `default_driver_id` is a validation
//! error naming the field.
//!
//! `/v1/vehicles/{id}/assignments` lists who drives the vehicle on which day;
//! `PUT /v1/vehicles/{id}/assignments/{date}` with `{"driver_id"}` assigns a driver for that day
//! (replacing the day's previous one; a driver already driving another vehicle that day is a
//! `409 conflict` on `driver_id`), `DELETE` removes the assignment so the usual driver drives.

use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, Created, ListResponse};
use crate::domain::order::parse_date;
use crate::domain::{Assignment, AssignmentInput, FieldError, FieldProblem, Vehicle, VehicleInput};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};

const RESOURCE: &str = "vehicle";

/// The vehicles router, mounted at `/v1/vehicles`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(read).put(replace).delete(remove))
        .route("/{id}/assignments", get(assignments))
        .route("/{id}/assignments/{date}", put(assign).delete(unassign))
}

/// The day of an assignment path, or a 422 naming `date`.
fn day(date: &str) -> Result<chrono::NaiveDate, ApiError> {
    parse_date(date).ok_or_else(|| ApiError::Validation(vec![FieldError::new("date", FieldProblem::Pattern { expected: "2026-03-02" })]))
}

/// Lists who drives the vehicle on which day.
#[utoipa::path(get, operation_id = "listVehicleAssignments", path = "/v1/vehicles/{id}/assignments", tag = "vehicles", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Assignment>),
        (status = 404, description = "No such vehicle", body = Problem, content_type = "application/problem+json")))]
pub async fn assignments(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Vec<Assignment>>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.list_assignments(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Assigns a driver to the vehicle for one day.
#[utoipa::path(put, operation_id = "assignVehicleDriver", path = "/v1/vehicles/{id}/assignments/{date}", tag = "vehicles", security(("bearer" = [])),
    params(("id" = i64, Path), ("date" = String, Path, description = "The day, YYYY-MM-DD")), request_body = AssignmentInput,
    responses((status = 200, body = Assignment),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such vehicle", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The driver drives another vehicle that day", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad date or unknown driver", body = Problem, content_type = "application/problem+json")))]
pub async fn assign(
    State(state): State<AppState>,
    Path((id, date)): Path<(String, String)>,
    ApiJson(input): ApiJson<AssignmentInput>,
) -> Result<Json<Assignment>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let date = day(&date)?;
    let driver_id = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.assign_driver(id, date, driver_id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Removes the vehicle's assignment of one day.
#[utoipa::path(delete, operation_id = "unassignVehicleDriver", path = "/v1/vehicles/{id}/assignments/{date}", tag = "vehicles", security(("bearer" = [])),
    params(("id" = i64, Path), ("date" = String, Path, description = "The day, YYYY-MM-DD")),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No such assignment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad date (`validation` on `date`)", body = Problem, content_type = "application/problem+json")))]
pub async fn unassign(State(state): State<AppState>, Path((id, date)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let date = day(&date)?;
    state.store.unassign_driver(id, date).await.map_err(ApiError::from_store("assignment"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists vehicles by id, a page at a time.
#[utoipa::path(get, operation_id = "listVehicles", path = "/v1/vehicles", tag = "vehicles", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = ListResponse<Vehicle>),
        (status = 422, description = "Bad limit or offset", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Vehicle>>, ApiError> {
    let page = state.store.list_vehicles(params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

/// Reads one record.
#[utoipa::path(get, operation_id = "getVehicle", path = "/v1/vehicles/{id}", tag = "vehicles", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vehicle),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Vehicle>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_vehicle(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Creates a record.
#[utoipa::path(post, operation_id = "createVehicle", path = "/v1/vehicles", tag = "vehicles", security(("bearer" = [])), request_body = VehicleInput,
    responses((status = 201, description = "Created", body = Vehicle, headers(("Location" = String, description = "The new vehicle: `/v1/vehicles/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The plate is taken (`conflict` on `plate`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<VehicleInput>) -> Result<Created<Vehicle>, ApiError> {
    let vehicle = input.validate().map_err(ApiError::Validation)?;
    let created = state.store.create_vehicle(&vehicle).await?;
    Ok(Created::at("/v1/vehicles", created.id, created))
}

/// Replaces every field of a record.
#[utoipa::path(put, operation_id = "replaceVehicle", path = "/v1/vehicles/{id}", tag = "vehicles", security(("bearer" = [])), params(("id" = i64, Path)), request_body = VehicleInput,
    responses((status = 200, body = Vehicle),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The plate is taken (`conflict` on `plate`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn replace(State(state): State<AppState>, Path(id): Path<String>, ApiJson(input): ApiJson<VehicleInput>) -> Result<Json<Vehicle>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let vehicle = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_vehicle(id, &vehicle).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Deletes a record.
#[utoipa::path(delete, operation_id = "deleteVehicle", path = "/v1/vehicles/{id}", tag = "vehicles", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still in use", body = Problem, content_type = "application/problem+json")))]
pub async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    state.store.delete_vehicle(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
