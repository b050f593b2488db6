//! `/v1/drivers`: list, read, create, replace and delete drivers.

use super::error::ApiError;
use super::extract::{parse_id, ApiJson, ListParams};
use super::{AppState, ListResponse};
use crate::domain::{Driver, DriverInput};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

const RESOURCE: &str = "driver";

/// The drivers router, mounted at `/v1/drivers`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(list).post(create)).route("/{id}", get(read).put(replace).delete(remove))
}

async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Driver>>, ApiError> {
    let page = state.store.list_drivers(params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Driver>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_driver(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<DriverInput>) -> Result<(StatusCode, Json<Driver>), ApiError> {
    let driver = input.validate().map_err(ApiError::Validation)?;
    Ok((StatusCode::CREATED, Json(state.store.create_driver(&driver).await?)))
}

async fn replace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DriverInput>,
) -> Result<Json<Driver>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let driver = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_driver(id, &driver).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    state.store.delete_driver(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
