//! `/v1/customers`: list (paginated, `?district=` filter), read, create, replace and delete
//! customers. A taken customer code is a 409 conflict.

use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, Created, ListResponse};
use crate::domain::{Customer, CustomerInput, FieldError, FieldProblem};
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

/// Lists customers by id, a page at a time.
#[utoipa::path(get, operation_id = "listCustomers", path = "/v1/customers", tag = "customers", security(("bearer" = [])),
    params(PageQuery, ("district" = Option<String>, Query, description = "Only customers in this district"),
        ("q" = Option<String>, Query, description = "Only customers whose name, code or address contains this (case-insensitive), or whose phone contains its digits; at most 100 characters")),
    responses((status = 200, body = ListResponse<Customer>),
        (status = 422, description = "Bad limit or offset", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Customer>>, ApiError> {
    let search = params.get("q").map(str::to_owned);
    if search.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::Validation(vec![FieldError::new("q", FieldProblem::TooLong { max: 100 })]));
    }
    let filter = CustomerFilter { district: params.district.clone(), search };
    let page = state.store.list_customers(&filter, params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}

/// Reads one record.
#[utoipa::path(get, operation_id = "getCustomer", path = "/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Customer),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Customer>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_customer(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Creates a record.
#[utoipa::path(post, operation_id = "createCustomer", path = "/v1/customers", tag = "customers", security(("bearer" = [])), request_body = CustomerInput,
    responses((status = 201, description = "Created", body = Customer, headers(("Location" = String, description = "The new customer: `/v1/customers/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is taken (`conflict` on `code`), or customers are still run in the old program (`legacy-only`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<CustomerInput>) -> Result<Created<Customer>, ApiError> {
    super::sync::writable(&state, "legacy.customers", None)?;
    let customer = input.validate().map_err(ApiError::Validation)?;
    let created = state.store.create_customer(&customer).await?;
    Ok(Created::at("/v1/customers", created.id, created))
}

/// Replaces every field of a record.
#[utoipa::path(put, operation_id = "replaceCustomer", path = "/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = i64, Path)), request_body = CustomerInput,
    responses((status = 200, body = Customer),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is taken (`conflict` on `code`), or customers are still run in the old program (`legacy-only`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn replace(State(state): State<AppState>, Path(id): Path<String>, ApiJson(input): ApiJson<CustomerInput>) -> Result<Json<Customer>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    super::sync::writable(&state, "legacy.customers", Some(id))?;
    let customer = input.validate().map_err(ApiError::Validation)?;
    Ok(Json(state.store.update_customer(id, &customer).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Deletes a record.
#[utoipa::path(delete, operation_id = "deleteCustomer", path = "/v1/customers/{id}", tag = "customers", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still in use", body = Problem, content_type = "application/problem+json")))]
pub async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    super::sync::writable(&state, "legacy.customers", Some(id))?;
    state.store.delete_customer(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(StatusCode::NO_CONTENT)
}
