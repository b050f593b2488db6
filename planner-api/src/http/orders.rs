//! `/v1/orders`: list (paginated by offset, or by key with `?after=<cursor>` for big days;
//! `?date=`, `status=`, `customer_id=`, `priority=`, `plan_id=` filters), read, create, replace (only while `received` and held by no plan), change the status (`POST /v1/orders/{id}/status`) and read the history
//! (`GET /v1/orders/{id}/history`). Orders are never deleted: they are cancelled.
//!
//! Drivers (grant [`Scope::Own`] on writes) may only report on their own stops: move an order that
//! is a stop of a route they drive (by the plan holding it and the vehicles they drive that day)
//! to `dispatched`, `delivered` or `failed`, or say they got there (`POST /v1/orders/{id}/arrival`:
//! the stop is being served); anything else is `403`.

use super::access::{Caller, Scope};
use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, Created, ListResponse};
use crate::domain::order::parse_date;
use crate::domain::{FieldError, FieldProblem, Order, OrderEvent, OrderInput, OrderStatus, Priority, StatusChangeInput};
use crate::planning;
use crate::store::OrderFilter;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};

const RESOURCE: &str = "order";

/// The orders router, mounted at `/v1/orders`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(read).put(replace))
        .route("/{id}/status", post(change_status))
        .route("/{id}/arrival", post(arrival))
        .route("/{id}/collection", axum::routing::get(super::payments::get_collection).put(super::payments::put_collection))
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

/// Lists orders by id, filtered, a page at a time: by offset (`?offset=`, with the total), or
/// by key (`?after=<cursor>`; `?after=` alone starts at the first order), which reads only the
/// page's rows through an index and counts nothing, so a big day lists in constant time per page
/// and holds up no one. Each page names the `next` cursor.
#[utoipa::path(get, operation_id = "listOrders", path = "/v1/orders", tag = "orders", security(("bearer" = [])),
    params(PageQuery, ("date" = Option<String>, Query, description = "Delivery day, YYYY-MM-DD"), ("status" = Option<OrderStatus>, Query),
        ("customer_id" = Option<i64>, Query), ("priority" = Option<Priority>, Query), ("plan_id" = Option<i64>, Query, description = "Orders reserved or planned by this job")),
    responses((status = 200, body = ListResponse<Order>),
        (status = 422, description = "A bad filter, limit, offset or cursor, each named", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Order>>, ApiError> {
    let filter = filter(&params)?;
    Ok(Json(ListResponse::new(state.store.list_orders(&filter, params.page).await?, params.page)))
}

/// Reads one order.
#[utoipa::path(get, operation_id = "getOrder", path = "/v1/orders/{id}", tag = "orders", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Order),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Order>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_order(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Refuses callers whose grant covers only their own stops.
fn all_orders(caller: &Caller) -> Result<(), ApiError> {
    match caller.scope {
        Scope::All => Ok(()),
        Scope::Own => Err(ApiError::Forbidden),
    }
}

/// Whether order `id` is a stop of a route that `driver` drives: the newest version of its plan
/// has it on the route of a vehicle the driver drives on the plan's day.
pub(crate) async fn on_own_route(state: &AppState, id: i64, driver: i64) -> Result<bool, ApiError> {
    let order = state.store.get_order(id).await.map_err(ApiError::from_store(RESOURCE))?;
    let Some(plan_id) = order.plan_id else { return Ok(false) };
    let job = planning::job(&state.store, plan_id).await?;
    if job.status != crate::domain::JobStatus::Succeeded {
        return Ok(false);
    }
    let plan = planning::latest_version(&state.store, &job).await?.plan;
    let route = plan.routes.iter().find(|r| r.trips.iter().any(|t| t.stops.iter().any(|s| s.order_id == id)));
    let Some(route) = route else { return Ok(false) };
    Ok(state.store.vehicles_driven_by(driver, job.date).await?.contains(&route.vehicle_id))
}

/// Takes an order (status `received`).
#[utoipa::path(post, operation_id = "createOrder", path = "/v1/orders", tag = "orders", security(("bearer" = [])), request_body = OrderInput,
    responses((status = 201, description = "Created", body = Order, headers(("Location" = String, description = "The new order: `/v1/orders/{id}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Orders are still run in the old program (`legacy-only`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, or an unknown customer, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<OrderInput>) -> Result<Created<Order>, ApiError> {
    all_orders(&caller)?;
    let order = input.validate().map_err(ApiError::Validation)?;
    super::sync::writable(&state, "legacy.orders", Some(order.customer_id))?;
    let created_by = caller.actor(&state).await;
    let created = state.store.create_order(&order, &created_by).await?;
    Ok(Created::at("/v1/orders", created.id, created))
}

/// Replaces every field of an order that is still `received` and held by no plan.
#[utoipa::path(put, operation_id = "replaceOrder", path = "/v1/orders/{id}", tag = "orders", security(("bearer" = [])), params(("id" = i64, Path)), request_body = OrderInput,
    responses((status = 200, body = Order),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Past `received` or held by a planning job (`order-locked`), or orders are still run in the old program (`legacy-only`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OrderInput>,
) -> Result<Json<Order>, ApiError> {
    all_orders(&caller)?;
    let id = parse_id(&id, RESOURCE)?;
    let order = input.validate().map_err(ApiError::Validation)?;
    super::sync::writable(&state, "legacy.orders", Some(order.customer_id))?;
    Ok(Json(state.store.update_order(id, &order).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Moves an order along its lifecycle; drivers only report on their own stops.
#[utoipa::path(post, operation_id = "changeOrderStatus", path = "/v1/orders/{id}/status", tag = "orders", security(("bearer" = [])), params(("id" = i64, Path)), request_body = StatusChangeInput,
    responses((status = 200, body = Order),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A move the lifecycle forbids (`invalid-transition`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, unknown or mistyped fields, each named (`validation`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The change replans the order's plan and as many heavy requests as the service runs at once are running (`busy`); retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json")))]
pub async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut input): ApiJson<StatusChangeInput>,
) -> Result<Json<Order>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let collection = input.collection.take();
    let change = input.validate(caller.actor(&state).await).map_err(ApiError::Validation)?;
    if let Some(driver) = caller.own_driver_id() {
        let reportable = matches!(change.status, OrderStatus::Dispatched | OrderStatus::Delivered | OrderStatus::Failed);
        if !reportable || !on_own_route(&state, id, driver).await? {
            return Err(ApiError::Forbidden);
        }
    }
    // A collection comes with a delivery and is checked in full before the order changes.
    let collection = match collection {
        None => None,
        Some(_) if change.status != OrderStatus::Delivered => {
            return Err(ApiError::Validation(vec![crate::domain::payment::state_error(
                "collection",
                "only_when_delivered",
                "只有回報送達時可以回報收款",
                "a collection is reported only with delivered",
            )]))
        }
        Some(c) => Some(
            state
                .receivables
                .prepare_collection(id, c, caller.own_driver_id(), &change.changed_by, "collection")
                .await
                .map_err(ApiError::from_store(RESOURCE))?,
        ),
    };
    // An order on a plan with routes changes through the plan: the stop is done, failed or
    // cancelled in a new version, and the order's status with it. That replans (runs the
    // solver), so it takes a heavy-work permit; other changes do not.
    let replans = matches!(change.status, OrderStatus::Delivered | OrderStatus::Failed | OrderStatus::Cancelled)
        && state.store.get_order(id).await.map_err(ApiError::from_store(RESOURCE))?.plan_id.is_some();
    let event = if replans {
        let (store, planner) = (state.store.clone(), state.planner.clone());
        let (status, at_s, note, who) = (change.status, change.at_s, change.note.clone(), change.changed_by.clone());
        state.heavy.spawn(async move { planning::order_status_event(&store, &planner, id, status, at_s, note, &who).await }).await??
    } else {
        None
    };
    let order = if event.is_some() {
        state.store.get_order(id).await.map_err(ApiError::from_store(RESOURCE))?
    } else {
        state.store.change_order_status(id, &change).await.map_err(ApiError::from_store(RESOURCE))?
    };
    if let Some(c) = collection {
        // Checked above; what can still fail here (the database) leaves the order delivered
        // and the collection to be sent again with `PUT /v1/orders/{id}/collection`.
        state.receivables.store_collection(&c).await.map_err(ApiError::from_store(RESOURCE))?;
    }
    Ok(Json(order))
}

/// A driver's (or dispatcher's) word that the vehicle got to an order's stop.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrivalInput {
    /// When on the delivery day, `HH:MM` or `HH:MM:SS` (default now, when the day is today).
    #[serde(default)]
    pub at: Option<String>,
}

/// The driver got to the stop: its plan gets a version with the stop being served (a
/// `stop_arrived` event) until it is reported delivered or failed. Drivers only on their own
/// stops. Send it with an `Idempotency-Key` (the phone's id of the action) so a retry after a
/// lost answer is not a second arrival.
#[utoipa::path(post, operation_id = "reportArrival", path = "/v1/orders/{id}/arrival", tag = "orders", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ArrivalInput,
    responses((status = 200, description = "Recorded; the order as it stands", body = Order),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a stop of the caller's routes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad time, an order on no route, a stop already served, or another stop of the vehicle still being served (`validation`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "As many heavy requests as the service runs at once are running (`busy`); retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json")))]
pub async fn arrival(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ArrivalInput>,
) -> Result<Json<Order>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let at_s = match input.at.as_deref() {
        None => None,
        Some(t) => Some(
            crate::domain::replan::clock_seconds(t)
                .ok_or_else(|| ApiError::Validation(vec![FieldError::new("at", FieldProblem::Pattern { expected: "09:50" })]))?,
        ),
    };
    if let Some(driver) = caller.own_driver_id() {
        if !on_own_route(&state, id, driver).await? {
            return Err(ApiError::Forbidden);
        }
    }
    let who = caller.actor(&state).await;
    let (store, planner) = (state.store.clone(), state.planner.clone());
    state.heavy.spawn(async move { planning::stop_arrived(&store, &planner, id, at_s, &who).await }).await??;
    Ok(Json(state.store.get_order(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Every status change of an order, oldest first.
#[utoipa::path(get, operation_id = "getOrderHistory", path = "/v1/orders/{id}/history", tag = "orders", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<OrderEvent>),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json")))]
pub async fn history(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Vec<OrderEvent>>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.order_history(id).await.map_err(ApiError::from_store(RESOURCE))?))
}
