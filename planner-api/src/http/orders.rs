//! `/v1/orders`: list (paginated; `?date=`, `status=`, `customer_id=`, `priority=`, `plan_id=`
//! filters), read, create, replace (only while `received` and held by no plan), change the status (`POST /v1/orders/{id}/status`) and read the history
//! (`GET /v1/orders/{id}/history`). Orders are never deleted: they are cancelled.

use super::error::ApiError;
use super::extract::{parse_id, ApiJson, ListParams};
use super::{AppState, ListResponse};
use crate::domain::order::parse_date;
use crate::domain::{FieldError, FieldProblem, Order, OrderEvent, OrderInput, OrderStatus, Priority, StatusChangeInput};
use crate::store::OrderFilter;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

const RESOURCE: &str = "order";

/// The orders router, mounted at `/v1/orders`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(read).put(replace))
        .route("/{id}/status", post(change_status))
        .route("/{id}/history", get(history))
}

/// Parses the list filters, naming every bad one.
fn filter(params: &ListParams) -> Result<OrderFilter, ApiError> {
    let mut errors = Vec::new();
    let mut f = OrderFilter::default();
    if let Some(d) = params.get("date") {
        f.date = parse_date(d);
        if f.date.is_none() {
            errors.push(FieldError::new("date", FieldProblem::Pattern { expected: "2026-03-02" }));
        }
    }
    if let Some(s) = params.get("status") {
        f.status = OrderStatus::parse(s);
        if f.status.is_none() {
            errors.push(FieldError::new("status", FieldProblem::NotAllowed { allowed: OrderStatus::NAMES }));
        }
    }
    if let Some(p) = params.get("priority") {
        f.priority = Priority::parse(p);
        if f.priority.is_none() {
            errors.push(FieldError::new("priority", FieldProblem::NotAllowed { allowed: &["normal", "urgent"] }));
        }
    }
    for (name, slot) in [("customer_id", &mut f.customer_id), ("plan_id", &mut f.plan_id)] {
        if let Some(v) = params.get(name) {
            *slot = v.parse::<i64>().ok().filter(|id| *id > 0);
            if slot.is_none() {
                errors.push(FieldError::new(name, FieldProblem::Pattern { expected: "42" }));
            }
        }
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(ApiError::Validation(errors))
    }
}

async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Order>>, ApiError> {
    let filter = filter(&params)?;
    let page = state.store.list_orders(&filter, params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Order>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_order(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<OrderInput>) -> Result<(StatusCode, Json<Order>), ApiError> {
    let (order, created_by) = input.validate().map_err(ApiError::Validation)?;
    Ok((StatusCode::CREATED, Json(state.store.create_order(&order, &created_by).await?)))
}

async fn replace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OrderInput>,
) -> Result<Json<Order>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let (order, _) = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_order(id, &order).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn change_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<StatusChangeInput>,
) -> Result<Json<Order>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let change = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.change_order_status(id, &change).await.map_err(ApiError::from_store(RESOURCE))?))
}

async fn history(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Vec<OrderEvent>>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.order_history(id).await.map_err(ApiError::from_store(RESOURCE))?))
}
