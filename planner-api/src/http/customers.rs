//! `/v1/customers`: list (paginated, `?district=` filter), read, create, replace and delete
//! customers. A taken customer code is a 409 conflict.

use super::error::ApiError;
use super::extract::{parse_id, ApiJson, ListParams};
use super::{AppState, ListResponse};
use crate::domain::{Customer, CustomerInput};
use crate::store::CustomerFilter;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

const RESOURCE: &str = "customer";

/// The customers router, mounted at `/v1/customers`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(list).post(create)).route("/{id}", get(read).put(replace).delete(remove))
}

async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Customer>>, ApiError> {
    let filter = CustomerFilter { district: params.district };
    let page = state.store.list_customers(&filter, params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Customer>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_customer(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn create(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<CustomerInput>,
) -> Result<(StatusCode, Json<Customer>), ApiError> {
    let customer = input.validate().map_err(ApiError::Validation)?;
    Ok((StatusCode::CREATED, Json(state.store.create_customer(&customer).await?)))
}

async fn replace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CustomerInput>,
) -> Result<Json<Customer>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let customer = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_customer(id, &customer).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    state.store.delete_customer(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
