//! `/v1/vehicle-types`: list, read, create, replace and delete vehicle types. A taken name is a
//! 409 conflict.

use super::error::ApiError;
use super::extract::{parse_id, ApiJson, ListParams};
use super::{AppState, ListResponse};
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

async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<VehicleType>>, ApiError> {
    let page = state.store.list_vehicle_types(params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<VehicleType>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_vehicle_type(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<VehicleTypeInput>) -> Result<(StatusCode, Json<VehicleType>), ApiError> {
    let vehicle_type = input.validate().map_err(ApiError::Validation)?;
    Ok((StatusCode::CREATED, Json(state.store.create_vehicle_type(&vehicle_type).await?)))
}

async fn replace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VehicleTypeInput>,
) -> Result<Json<VehicleType>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let vehicle_type = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_vehicle_type(id, &vehicle_type).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    state.store.delete_vehicle_type(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
