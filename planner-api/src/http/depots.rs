//! `/v1/depots`: list, read, create, replace and delete depots.

use super::error::ApiError;
use super::extract::{parse_id, ApiJson, ListParams};
use super::{AppState, ListResponse};
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

async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Depot>>, ApiError> {
    let page = state.store.list_depots(params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Depot>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_depot(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<DepotInput>) -> Result<(StatusCode, Json<Depot>), ApiError> {
    let depot = input.validate().map_err(ApiError::Validation)?;
    Ok((StatusCode::CREATED, Json(state.store.create_depot(&depot).await?)))
}

async fn replace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DepotInput>,
) -> Result<Json<Depot>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let depot = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_depot(id, &depot).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    state.store.delete_depot(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
