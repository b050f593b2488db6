//! `/v1/vehicles`: list, read, create, replace and delete vehicles. A taken plate is a 409
//! conflict; an unknown `vehicle_type_id` or `depot_id` is a validation error naming the field.

use super::error::ApiError;
use super::extract::{parse_id, ApiJson, ListParams};
use super::{AppState, ListResponse};
use crate::domain::{Vehicle, VehicleInput};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

const RESOURCE: &str = "vehicle";

/// The vehicles router, mounted at `/v1/vehicles`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(list).post(create)).route("/{id}", get(read).put(replace).delete(remove))
}

async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Vehicle>>, ApiError> {
    let page = state.store.list_vehicles(params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Vehicle>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_vehicle(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<VehicleInput>) -> Result<(StatusCode, Json<Vehicle>), ApiError> {
    let vehicle = input.validate().map_err(ApiError::Validation)?;
    Ok((StatusCode::CREATED, Json(state.store.create_vehicle(&vehicle).await?)))
}

async fn replace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VehicleInput>,
) -> Result<Json<Vehicle>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let vehicle = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_vehicle(id, &vehicle).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    state.store.delete_vehicle(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
