//! Payments over HTTP (the accountant's desk; drivers report collections through their orders):
//! - `/v1/payments`: money received (bank deposits, cash at the door) with its allocations; the
//!   accountant's queue (`?status=unmatched`) and its decisions: match, split, refund, write off;
//!   virtual accounts; collections; cash hand-ins; the aging report; customers' monthly statements
//!   and accounts;
//! - `/v1/deposits`: bank deposits, statement files (upload, list) and the SFTP fetch on demand;
//! - `/v1/reconciliation`: the daily reconciliation (JSON or CSV);
//! - `PUT /v1/orders/{id}/collection` ([`put_collection`], routed with the orders): what a driver
//!   collected at a delivered stop.
//!
//! Writes honour `Idempotency-Key` ([`super::idempotency`]) and each decision's audit entry
//! carries what it was ([`super::audit::with_detail`]).

use super::access::Caller;
use super::audit::with_detail;
use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, ListResponse};
use crate::domain::payment::{
    CashHandin, Collection, CollectionInput, Payment, PaymentKind, PaymentStatus, StatementFile, VirtualAccountView, MAX_AMOUNT, MAX_PARTS,
};
use crate::domain::{FieldError, FieldProblem};
use crate::receivables::fetch::FetchReport;
use crate::receivables::reports::{self, AgingReport, CustomerStatement, Reconciliation};
use crate::receivables::{AssignError, ImportError, ImportReport};
use crate::store::payments::{CustomerAccount, PaymentFilter};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

const RESOURCE: &str = "payment";

/// The payments router, mounted at `/v1/payments`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/virtual-accounts", get(list_virtual_accounts).post(assign_virtual_account))
        .route("/collections", get(list_collections))
        .route("/handins", get(list_handins).post(record_handin))
        .route("/handins/{id}", get(read_handin))
        .route("/handins/{id}/resolve", post(resolve_handin))
        .route("/aging", get(aging))
        .route("/statements/{customer_id}", get(statement))
        .route("/accounts/{customer_id}", get(account))
        .route("/{id}", get(read))
        .route("/{id}/match", post(match_payment))
        .route("/{id}/split", post(split))
        .route("/{id}/refund", post(refund))
        .route("/{id}/write-off", post(write_off))
}

/// The deposits router, mounted at `/v1/deposits`.
pub fn deposits_router() -> Router<AppState> {
    Router::new()
        .route("/", get(list_deposits))
        .route("/statements", get(list_statements).post(upload_statement))
        .route("/statements/{id}", get(read_statement))
        .route("/fetch", post(fetch_now))
}

/// The reconciliation router, mounted at `/v1/reconciliation`.
pub fn reconciliation_router() -> Router<AppState> {
    Router::new().route("/", get(reconciliation))
}

fn day(params: &ListParams, name: &'static str) -> Result<Option<NaiveDate>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(d) => crate::domain::order::parse_date(d)
            .map(Some)
            .ok_or_else(|| ApiError::Validation(vec![FieldError::new(name, FieldProblem::Pattern { expected: "2026-12-04" })])),
    }
}

fn id_param(params: &ListParams, name: &'static str) -> Result<Option<i64>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|v| *v > 0)
            .map(Some)
            .ok_or_else(|| ApiError::Validation(vec![FieldError::new(name, FieldProblem::InvalidType(crate::domain::Expected::Integer))])),
    }
}

fn csv_wanted(params: &ListParams, formats: &'static [&'static str]) -> Result<&'static str, ApiError> {
    let asked = params.get("format").unwrap_or("json");
    formats
        .iter()
        .copied()
        .find(|f| *f == asked)
        .ok_or_else(|| ApiError::Validation(vec![FieldError::new("format", FieldProblem::NotAllowed { allowed: formats })]))
}

fn amount(field: &str, v: Option<i64>) -> Result<i64, FieldError> {
    match v {
        None => Err(FieldError::new(field, FieldProblem::Required)),
        Some(a) if (1..=MAX_AMOUNT).contains(&a) => Ok(a),
        #[allow(clippy::cast_precision_loss)]
        Some(_) => Err(FieldError::new(field, FieldProblem::OutOfRange { min: 1.0, max: MAX_AMOUNT as f64 })),
    }
}

fn reason_text(field: &str, v: &str) -> Result<String, FieldError> {
    let v = v.trim();
    if v.is_empty() {
        Err(FieldError::new(field, FieldProblem::Required))
    } else if v.chars().count() > 200 {
        Err(FieldError::new(field, FieldProblem::TooLong { max: 200 }))
    } else {
        Ok(v.to_owned())
    }
}

fn file_download(content_type: &'static str, name: String, body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))], body)
        .into_response()
}

// ----- payments ------------------------------------------------------------------------------

/// Lists payments, newest first.
#[utoipa::path(get, operation_id = "listPayments", path = "/v1/payments", tag = "payments", security(("bearer" = [])),
    params(PageQuery, ("status" = Option<String>, Query, description = "`unmatched` (the accountant's queue), `credit` or `settled`"),
        ("customer_id" = Option<i64>, Query), ("kind" = Option<String>, Query, description = "`deposit` or `cash`"),
        ("received_on" = Option<String>, Query, description = "YYYY-MM-DD"), ("statement_id" = Option<i64>, Query)),
    responses((status = 200, body = ListResponse<Payment>), (status = 422, description = "Bad filter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Payment>>, ApiError> {
    let mut filter = PaymentFilter { customer_id: id_param(&params, "customer_id")?, received_on: day(&params, "received_on")?, ..PaymentFilter::default() };
    filter.statement_id = id_param(&params, "statement_id")?;
    if let Some(s) = params.get("status") {
        filter.status = Some(
            PaymentStatus::parse(s)
                .ok_or_else(|| ApiError::Validation(vec![FieldError::new("status", FieldProblem::NotAllowed { allowed: PaymentStatus::NAMES })]))?,
        );
    }
    if let Some(k) = params.get("kind") {
        filter.kind = Some(
            PaymentKind::parse(k)
                .ok_or_else(|| ApiError::Validation(vec![FieldError::new("kind", FieldProblem::NotAllowed { allowed: &["deposit", "cash"] })]))?,
        );
    }
    Ok(Json(ListResponse::new(state.store.list_payments(&filter, params.page).await?, params.page)))
}

/// Reads one payment with its allocations and adjustments.
#[utoipa::path(get, operation_id = "getPayment", path = "/v1/payments/{id}", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Payment), (status = 404, description = "No such payment", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Payment>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    Ok(Json(state.store.get_payment(id).await.map_err(ApiError::from_store(RESOURCE))?))
}

/// Money of a payment for one invoice.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    /// The invoice.
    #[serde(default)]
    pub invoice_id: Option<i64>,
    /// NT$.
    #[serde(default)]
    pub amount: Option<i64>,
}

/// What `POST /v1/payments/{id}/match` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchInput {
    /// Whose the payment is (required when no customer is known yet and no invoice is named).
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// Invoices to apply it to, with amounts (partial payments allowed); none: the money stays
    /// as the customer's credit.
    #[serde(default)]
    pub allocations: Vec<AllocationInput>,
}

/// Matches a payment of the queue (or a credit): to a customer, to invoices, or both.
#[utoipa::path(post, operation_id = "matchPayment", path = "/v1/payments/{id}/match", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer")), request_body = MatchInput,
    responses((status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 200, body = Payment), (status = 404, description = "No such payment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than the payment has left or the invoice owes (`over_allocated`), another customer's invoice, unknown ids", body = Problem, content_type = "application/problem+json")))]
pub async fn match_payment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MatchInput>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let mut errors = Vec::new();
    if input.allocations.len() > MAX_PARTS {
        errors.push(FieldError::new("allocations", FieldProblem::TooMany { max: MAX_PARTS }));
    }
    let mut parts = Vec::new();
    for (i, a) in input.allocations.iter().enumerate().take(MAX_PARTS) {
        let invoice = match a.invoice_id {
            Some(v) if v > 0 => Some(v),
            Some(_) => {
                errors.push(FieldError::new(format!("allocations[{i}].invoice_id"), FieldProblem::UnknownReference));
                None
            }
            None => {
                errors.push(FieldError::new(format!("allocations[{i}].invoice_id"), FieldProblem::Required));
                None
            }
        };
        match (invoice, amount(&format!("allocations[{i}].amount"), a.amount)) {
            (Some(invoice), Ok(amount)) => parts.push((invoice, amount)),
            (_, Err(e)) => errors.push(e),
            _ => {}
        }
    }
    if input.customer_id.is_some_and(|c| c <= 0) {
        errors.push(FieldError::new("customer_id", FieldProblem::UnknownReference));
    }
    if input.customer_id.is_none() && parts.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("allocations", FieldProblem::Required));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let actor = caller.actor(&state).await;
    let before = state.store.get_payment(id).await.map_err(ApiError::from_store(RESOURCE))?;
    let customer = match (input.customer_id, before.customer_id, parts.first()) {
        (Some(c), _, _) => Some(c),
        (None, Some(c), _) => Some(c),
        (None, None, Some((invoice, _))) => Some(state.store.get_invoice(*invoice).await.map_err(ApiError::from_store("invoice"))?.customer_id),
        (None, None, None) => None,
    };
    let payment = state.store.match_payment(id, customer, &parts, &actor).await.map_err(ApiError::from_store(RESOURCE))?;
    let detail = json!({"decision": "match", "payment_id": id, "customer_id": customer, "allocations": parts.iter().map(|(i, a)| json!({"invoice_id": i, "amount": a})).collect::<Vec<_>>()});
    Ok(with_detail(Json(payment).into_response(), detail))
}

/// One part of a split.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitPart {
    /// The customer this part is for.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// NT$.
    #[serde(default)]
    pub amount: Option<i64>,
}

/// What `POST /v1/payments/{id}/split` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitInput {
    /// The parts: each becomes a payment of its customer, applied to their oldest invoices.
    #[serde(default)]
    pub parts: Vec<SplitPart>,
}

/// Splits a payment between customers (one transfer paying for several accounts).
#[utoipa::path(post, operation_id = "splitPayment", path = "/v1/payments/{id}/split", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer")), request_body = SplitInput,
    responses((status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 200, description = "The new payments", body = Vec<Payment>), (status = 404, description = "No such payment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The parts add up to more than the payment has left (`over_allocated`), unknown customers", body = Problem, content_type = "application/problem+json")))]
pub async fn split(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, ApiJson(input): ApiJson<SplitInput>) -> Result<Response, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let mut errors = Vec::new();
    if input.parts.is_empty() {
        errors.push(FieldError::new("parts", FieldProblem::Required));
    }
    if input.parts.len() > MAX_PARTS {
        errors.push(FieldError::new("parts", FieldProblem::TooMany { max: MAX_PARTS }));
    }
    let mut parts = Vec::new();
    for (i, p) in input.parts.iter().enumerate().take(MAX_PARTS) {
        let customer = match p.customer_id {
            Some(c) if c > 0 => Some(c),
            _ => {
                errors.push(FieldError::new(format!("parts[{i}].customer_id"), FieldProblem::Required));
                None
            }
        };
        match (customer, amount(&format!("parts[{i}].amount"), p.amount)) {
            (Some(c), Ok(a)) => parts.push((c, a)),
            (_, Err(e)) => errors.push(e),
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let actor = caller.actor(&state).await;
    let children = state.store.split_payment(id, &parts, &actor).await.map_err(ApiError::from_store(RESOURCE))?;
    let detail = json!({"decision": "split", "payment_id": id, "parts": children.iter().map(|c| json!({"payment_id": c.id, "customer_id": c.customer_id, "amount": c.amount})).collect::<Vec<_>>()});
    Ok(with_detail(Json(children).into_response(), detail))
}

/// What a refund or a write-off takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustInput {
    /// NT$, at most what the payment has left.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Why (1–200 characters).
    #[serde(default)]
    pub reason: String,
}

async fn adjust(state: &AppState, caller: &Caller, id: &str, input: AdjustInput, kind: &'static str) -> Result<Response, ApiError> {
    let id = parse_id(id, RESOURCE)?;
    let mut errors = Vec::new();
    let amount = amount("amount", input.amount).map_err(|e| errors.push(e)).ok();
    let reason = reason_text("reason", &input.reason).map_err(|e| errors.push(e)).ok();
    let (Some(amount), Some(reason)) = (amount, reason) else { return Err(ApiError::Validation(errors)) };
    let actor = caller.actor(state).await;
    let payment = state.store.adjust_payment(id, kind, amount, &reason, &actor).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(with_detail(Json(payment).into_response(), json!({"decision": kind, "payment_id": id, "amount": amount, "reason": reason})))
}

/// Refunds money left on a payment (returned to the payer).
#[utoipa::path(post, operation_id = "refundPayment", path = "/v1/payments/{id}/refund", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer")), request_body = AdjustInput,
    responses((status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 200, body = Payment), (status = 404, description = "No such payment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than the payment has left (`over_allocated`), no reason", body = Problem, content_type = "application/problem+json")))]
pub async fn refund(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, ApiJson(input): ApiJson<AdjustInput>) -> Result<Response, ApiError> {
    adjust(&state, &caller, &id, input, "refund").await
}

/// Writes off money left on a payment (unidentifiable, too small to return).
#[utoipa::path(post, operation_id = "writeOffPayment", path = "/v1/payments/{id}/write-off", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer")), request_body = AdjustInput,
    responses((status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 200, body = Payment), (status = 404, description = "No such payment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "More than the payment has left (`over_allocated`), no reason", body = Problem, content_type = "application/problem+json")))]
pub async fn write_off(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AdjustInput>,
) -> Result<Response, ApiError> {
    adjust(&state, &caller, &id, input, "write_off").await
}

// ----- virtual accounts ----------------------------------------------------------------------

/// Lists virtual accounts (of one customer with `?customer_id=`).
#[utoipa::path(get, operation_id = "listVirtualAccounts", path = "/v1/payments/virtual-accounts", tag = "payments", security(("bearer" = [])),
    params(("customer_id" = Option<i64>, Query)), responses((status = 200, body = Vec<VirtualAccountView>)))]
pub async fn list_virtual_accounts(State(state): State<AppState>, params: ListParams) -> Result<Json<Vec<VirtualAccountView>>, ApiError> {
    Ok(Json(state.store.list_virtual_accounts(id_param(&params, "customer_id")?).await?))
}

/// What `POST /v1/payments/virtual-accounts` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VirtualAccountInput {
    /// A monthly-account customer.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// The number as the bank issued it (validated); none: a new one is built.
    #[serde(default)]
    pub number: Option<String>,
    /// The due date and hour a new number carries (layouts with a due date), Taipei `2026-12-10T23:00`.
    #[serde(default)]
    pub due: Option<String>,
}

/// Gives a monthly-account customer a virtual account number.
#[utoipa::path(post, operation_id = "assignVirtualAccount", path = "/v1/payments/virtual-accounts", tag = "payments", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer")), request_body = VirtualAccountInput,
    responses((status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 201, body = VirtualAccountView, headers(("Location" = String, description = "`/v1/payments/virtual-accounts?customer_id={customer_id}`"))),
        (status = 422, description = "A number the layout refuses (length, check digit: codes of `payments::virtual_account`), taken, not a monthly customer", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No layout configured", body = Problem, content_type = "application/problem+json")))]
pub async fn assign_virtual_account(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<VirtualAccountInput>) -> Result<Response, ApiError> {
    let Some(customer_id) = input.customer_id.filter(|c| *c > 0) else {
        return Err(ApiError::Validation(vec![FieldError::new("customer_id", FieldProblem::Required)]));
    };
    let due = match input.due.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(
            chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%dT%H:%M")
                .map_err(|_| ApiError::Validation(vec![FieldError::new("due", FieldProblem::Pattern { expected: "2026-12-10T23:00" })]))?,
        ),
    };
    let number = input.number.as_deref().map(payments::virtual_account::normalize).filter(|n| !n.is_empty());
    let actor = caller.actor(&state).await;
    let account = state.receivables.assign_virtual_account(customer_id, number.as_deref(), due, &actor).await.map_err(|e| match e {
        AssignError::NoLayout => {
            ApiError::NotReady { check: "payments", reason: "no virtual-account layout (LUCKYGAS_VA_COMPANY_CODE or LUCKYGAS_VA_LAYOUT_FILE)".into() }
        }
        AssignError::Invalid(errors) => ApiError::Validation(errors),
        AssignError::Store(e) => e.into(),
    })?;
    let location = format!("/v1/payments/virtual-accounts?customer_id={customer_id}");
    let detail = json!({"decision": "virtual_account", "customer_id": customer_id, "number": account.number});
    Ok(with_detail((StatusCode::CREATED, [(header::LOCATION, location)], Json(account)).into_response(), detail))
}

// ----- collections and hand-ins --------------------------------------------------------------

/// Lists a day's collections at the door (of one driver with `?driver_id=`).
#[utoipa::path(get, operation_id = "listCollections", path = "/v1/payments/collections", tag = "payments", security(("bearer" = [])),
    params(("date" = String, Query, description = "Delivery day, YYYY-MM-DD"), ("driver_id" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Collection>), (status = 422, description = "No or a bad date", body = Problem, content_type = "application/problem+json")))]
pub async fn list_collections(State(state): State<AppState>, params: ListParams) -> Result<Json<Vec<Collection>>, ApiError> {
    let date = day(&params, "date")?.ok_or_else(|| ApiError::Validation(vec![FieldError::new("date", FieldProblem::Required)]))?;
    Ok(Json(state.store.list_collections(date, id_param(&params, "driver_id")?).await?))
}

/// Reads what was collected at a delivered stop.
#[utoipa::path(get, operation_id = "getCollection", path = "/v1/orders/{id}/collection", tag = "orders", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Collection), (status = 404, description = "No such order, or nothing reported", body = Problem, content_type = "application/problem+json")))]
pub async fn get_collection(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Collection>, ApiError> {
    let id = parse_id(&id, "order")?;
    if let Some(driver) = caller.own_driver_id() {
        if !super::orders::on_own_route(&state, id, driver).await? {
            return Err(ApiError::Forbidden);
        }
    }
    state.store.collection_of_order(id).await?.map(Json).ok_or(ApiError::NotFound { resource: "collection" })
}

/// Reports what was collected at a delivered stop: how it is paid, the cash taken, cylinders
/// lent and returned. Drivers report only their own stops; the same report again is no change.
#[utoipa::path(put, operation_id = "putCollection", path = "/v1/orders/{id}/collection", tag = "orders", security(("bearer" = [])), params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer")), request_body = CollectionInput,
    responses((status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 200, description = "Reported before, the same", body = Collection), (status = 201, description = "Recorded", body = Collection, headers(("Location" = String, description = "`/v1/orders/{id}/collection`"))),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not delivered, bad fields, no deposit price, already reported otherwise (`already_collected`)", body = Problem, content_type = "application/problem+json")))]
pub async fn put_collection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CollectionInput>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "order")?;
    if let Some(driver) = caller.own_driver_id() {
        if !super::orders::on_own_route(&state, id, driver).await? {
            return Err(ApiError::Forbidden);
        }
    }
    let actor = caller.actor(&state).await;
    let (collection, new) = state.receivables.record_collection(id, input, caller.own_driver_id(), &actor).await.map_err(ApiError::from_store("order"))?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    let detail = json!({"decision": "collection", "order_id": id, "method": collection.method.as_str(), "cash": collection.cash, "deposit_change": collection.deposit_change});
    Ok(with_detail((status, [(header::LOCATION, format!("/v1/orders/{id}/collection"))], Json(collection)).into_response(), detail))
}

/// Lists cash hand-ins, newest first.
#[utoipa::path(get, operation_id = "listHandins", path = "/v1/payments/handins", tag = "payments", security(("bearer" = [])),
    params(PageQuery, ("date" = Option<String>, Query, description = "Delivery day"), ("status" = Option<String>, Query, description = "`balanced`, `flagged` or `resolved`")),
    responses((status = 200, body = ListResponse<CashHandin>), (status = 422, description = "Bad filter", body = Problem, content_type = "application/problem+json")))]
pub async fn list_handins(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<CashHandin>>, ApiError> {
    let status = match params.get("status") {
        None => None,
        Some(s @ ("balanced" | "flagged" | "resolved")) => Some(s),
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError::new("status", FieldProblem::NotAllowed { allowed: &["balanced", "flagged", "resolved"] })]))
        }
    };
    Ok(Json(ListResponse::new(state.store.list_handins(day(&params, "date")?, status, params.page).await?, params.page)))
}

/// What `POST /v1/payments/handins` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandinInput {
    /// The driver.
    #[serde(default)]
    pub driver_id: Option<i64>,
    /// The delivery day, YYYY-MM-DD.
    #[serde(default)]
    pub date: String,
    /// Cash handed in, NT$.
    #[serde(default)]
    pub amount: Option<i64>,
    /// A note.
    #[serde(default)]
    pub note: Option<String>,
}

/// Records the cash a driver handed in for a day; a difference from the route's collections is
/// flagged to the accountant with the stops.
#[utoipa::path(post, operation_id = "recordHandin", path = "/v1/payments/handins", tag = "payments", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer")), request_body = HandinInput,
    responses((status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 201, body = CashHandin, headers(("Location" = String, description = "`/v1/payments/handins/{id}`"))), (status = 409, description = "The driver's day is recorded already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad fields, unknown driver", body = Problem, content_type = "application/problem+json")))]
pub async fn record_handin(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<HandinInput>) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let driver = input.driver_id.filter(|d| *d > 0);
    if driver.is_none() {
        errors.push(FieldError::new("driver_id", FieldProblem::Required));
    }
    let date = crate::domain::order::parse_date(&input.date);
    if date.is_none() {
        errors.push(FieldError::new("date", FieldProblem::Pattern { expected: "2026-12-04" }));
    }
    #[allow(clippy::cast_precision_loss)]
    let cash = match input.amount {
        Some(a) if (0..=MAX_AMOUNT).contains(&a) => Some(a),
        Some(_) => {
            errors.push(FieldError::new("amount", FieldProblem::OutOfRange { min: 0.0, max: MAX_AMOUNT as f64 }));
            None
        }
        None => {
            errors.push(FieldError::new("amount", FieldProblem::Required));
            None
        }
    };
    let note = input.note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        errors.push(FieldError::new("note", FieldProblem::TooLong { max: 500 }));
    }
    let (Some(driver), Some(date), Some(cash), true) = (driver, date, cash, errors.is_empty()) else { return Err(ApiError::Validation(errors)) };
    let actor = caller.actor(&state).await;
    let h = state.store.record_handin(driver, date, cash, note.as_deref(), &actor).await?;
    let detail = json!({"decision": "handin", "driver_id": driver, "date": date, "amount": cash, "expected": h.expected, "difference": h.difference});
    Ok(with_detail((StatusCode::CREATED, [(header::LOCATION, format!("/v1/payments/handins/{}", h.id))], Json(h)).into_response(), detail))
}

/// Reads one hand-in with the day's stops.
#[utoipa::path(get, operation_id = "getHandin", path = "/v1/payments/handins/{id}", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = CashHandin), (status = 404, description = "No such hand-in", body = Problem, content_type = "application/problem+json")))]
pub async fn read_handin(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<CashHandin>, ApiError> {
    let id = parse_id(&id, "handin")?;
    Ok(Json(state.store.get_handin(id).await.map_err(ApiError::from_store("handin"))?))
}

/// What resolving a hand-in takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    /// How the difference was settled (1–200 characters).
    #[serde(default)]
    pub resolution: String,
}

/// Resolves a flagged hand-in.
#[utoipa::path(post, operation_id = "resolveHandin", path = "/v1/payments/handins/{id}/resolve", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ResolveInput,
    responses((status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 200, body = CashHandin), (status = 404, description = "No such hand-in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not flagged (`not_flagged`), no resolution", body = Problem, content_type = "application/problem+json")))]
pub async fn resolve_handin(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ResolveInput>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "handin")?;
    let resolution = reason_text("resolution", &input.resolution).map_err(|e| ApiError::Validation(vec![e]))?;
    let actor = caller.actor(&state).await;
    let h = state.store.resolve_handin(id, &resolution, &actor).await.map_err(ApiError::from_store("handin"))?;
    Ok(with_detail(Json(h).into_response(), json!({"decision": "resolve_handin", "handin_id": id, "resolution": resolution})))
}

// ----- reports -------------------------------------------------------------------------------

/// Receivables aging per customer (JSON or CSV).
#[utoipa::path(get, operation_id = "getAging", path = "/v1/payments/aging", tag = "payments", security(("bearer" = [])),
    params(("as_of" = Option<String>, Query, description = "YYYY-MM-DD (default today, Taipei)"), ("format" = Option<String>, Query, description = "`json` or `csv`")),
    responses((status = 200, body = AgingReport), (status = 422, description = "Bad parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn aging(State(state): State<AppState>, params: ListParams) -> Result<Response, ApiError> {
    let as_of = day(&params, "as_of")?.unwrap_or_else(einvoice::calendar::today_taipei);
    let format = csv_wanted(&params, &["json", "csv"])?;
    let report = reports::aging(&state.store, as_of).await?;
    Ok(match format {
        "csv" => file_download("text/csv; charset=utf-8", format!("aging-{as_of}.csv"), reports::aging_csv(&report)),
        _ => Json(report).into_response(),
    })
}

/// A customer's monthly statement: JSON, CSV or a printable page (`html`).
#[utoipa::path(get, operation_id = "getCustomerStatement", path = "/v1/payments/statements/{customer_id}", tag = "payments", security(("bearer" = [])),
    params(("customer_id" = i64, Path), ("month" = String, Query, description = "`2026-11`"), ("format" = Option<String>, Query, description = "`json`, `csv` or `html`")),
    responses((status = 200, body = CustomerStatement), (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn statement(State(state): State<AppState>, Path(customer_id): Path<String>, params: ListParams) -> Result<Response, ApiError> {
    let customer_id = parse_id(&customer_id, "customer")?;
    let first = params
        .get("month")
        .and_then(reports::parse_month)
        .ok_or_else(|| ApiError::Validation(vec![FieldError::new("month", FieldProblem::Pattern { expected: "2026-11" })]))?;
    let format = csv_wanted(&params, &["json", "csv", "html"])?;
    let s = reports::customer_statement(&state.store, customer_id, first).await.map_err(ApiError::from_store("customer"))?;
    let seller = state.invoicing.as_ref().map(|i| i.config().seller.name.clone());
    Ok(match format {
        "csv" => file_download("text/csv; charset=utf-8", format!("statement-{customer_id}-{}.csv", s.month), reports::statement_csv(&s)),
        "html" => (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], reports::statement_html(&s, seller.as_deref())).into_response(),
        _ => Json(s).into_response(),
    })
}

/// A customer's money at a glance: owed, credit, cylinder deposits held, virtual accounts.
#[utoipa::path(get, operation_id = "getCustomerAccount", path = "/v1/payments/accounts/{customer_id}", tag = "payments", security(("bearer" = [])),
    params(("customer_id" = i64, Path)),
    responses((status = 200, body = CustomerAccount), (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json")))]
pub async fn account(State(state): State<AppState>, Path(customer_id): Path<String>) -> Result<Json<CustomerAccount>, ApiError> {
    let customer_id = parse_id(&customer_id, "customer")?;
    Ok(Json(state.store.customer_account(customer_id).await.map_err(ApiError::from_store("customer"))?))
}

/// The daily reconciliation: invoices issued, cash collected and handed in, deposits received,
/// unmatched items (JSON or CSV).
#[utoipa::path(get, operation_id = "getReconciliation", path = "/v1/reconciliation", tag = "payments", security(("bearer" = [])),
    params(("date" = Option<String>, Query, description = "YYYY-MM-DD (default today, Taipei)"), ("format" = Option<String>, Query, description = "`json` or `csv`")),
    responses((status = 200, body = Reconciliation), (status = 422, description = "Bad parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn reconciliation(State(state): State<AppState>, params: ListParams) -> Result<Response, ApiError> {
    let date = day(&params, "date")?.unwrap_or_else(einvoice::calendar::today_taipei);
    let format = csv_wanted(&params, &["json", "csv"])?;
    let r = reports::reconciliation(&state.store, date).await?;
    Ok(match format {
        "csv" => file_download("text/csv; charset=utf-8", format!("reconciliation-{date}.csv"), reports::reconciliation_csv(&r)),
        _ => Json(r).into_response(),
    })
}

// ----- deposits and statements ---------------------------------------------------------------

/// Lists bank deposits, newest first.
#[utoipa::path(get, operation_id = "listDeposits", path = "/v1/deposits", tag = "payments", security(("bearer" = [])),
    params(PageQuery, ("status" = Option<String>, Query, description = "`unmatched`, `credit` or `settled`"), ("received_on" = Option<String>, Query),
        ("statement_id" = Option<i64>, Query), ("customer_id" = Option<i64>, Query)),
    responses((status = 200, body = ListResponse<Payment>), (status = 422, description = "Bad filter", body = Problem, content_type = "application/problem+json")))]
pub async fn list_deposits(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<Payment>>, ApiError> {
    let mut filter = PaymentFilter {
        kind: Some(PaymentKind::Deposit),
        customer_id: id_param(&params, "customer_id")?,
        received_on: day(&params, "received_on")?,
        statement_id: id_param(&params, "statement_id")?,
        status: None,
    };
    if let Some(s) = params.get("status") {
        filter.status = Some(
            PaymentStatus::parse(s)
                .ok_or_else(|| ApiError::Validation(vec![FieldError::new("status", FieldProblem::NotAllowed { allowed: PaymentStatus::NAMES })]))?,
        );
    }
    Ok(Json(ListResponse::new(state.store.list_payments(&filter, params.page).await?, params.page)))
}

/// Lists imported statement files, newest first.
#[utoipa::path(get, operation_id = "listStatementFiles", path = "/v1/deposits/statements", tag = "payments", security(("bearer" = [])),
    params(PageQuery, ("date" = Option<String>, Query, description = "The statement's day")),
    responses((status = 422, description = "A bad filter, limit, offset or cursor", body = Problem, content_type = "application/problem+json"), (status = 200, body = ListResponse<StatementFile>)))]
pub async fn list_statements(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<StatementFile>>, ApiError> {
    Ok(Json(ListResponse::new(state.store.list_statement_files(day(&params, "date")?, params.page).await?, params.page)))
}

/// Reads one statement file's record.
#[utoipa::path(get, operation_id = "getStatementFile", path = "/v1/deposits/statements/{id}", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = StatementFile), (status = 404, description = "No such file", body = Problem, content_type = "application/problem+json")))]
pub async fn read_statement(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<StatementFile>, ApiError> {
    let id = parse_id(&id, "statement")?;
    Ok(Json(state.store.get_statement_file(id).await.map_err(ApiError::from_store("statement"))?))
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Malformed(e) => ApiError::Validation(vec![FieldError::new(
                "file",
                FieldProblem::Input { code: e.problem.code(), zh: "對帳檔格式錯誤，整個檔案未入帳", detail: e.to_string() },
            )]),
            ImportError::NoLayout => ApiError::NotReady { check: "payments", reason: e.to_string() },
            ImportError::Conflict => ApiError::Unavailable(e.to_string()),
            ImportError::Store(e) => e.into(),
        }
    }
}

/// Uploads a bank statement file (the body, as the bank delivered it; `?file_name=`, whose
/// extension picks the layout: `.csv` CSV, else fixed width) and imports it. The same bytes
/// again credit nothing (200).
#[utoipa::path(post, operation_id = "uploadStatement", path = "/v1/deposits/statements", tag = "payments", security(("bearer" = [])),
    params(("file_name" = String, Query), ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file, up to 1 MiB (larger ones come by SFTP)"),
    responses((status = 415, description = "The body is declared as JSON or a form, not as the file (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "A malformed query string (`bad-query`)", body = Problem, content_type = "application/problem+json"),
        (status = 201, description = "Imported", body = ImportReport, headers(("Location" = String, description = "`/v1/deposits/statements/{id}`"))), (status = 200, description = "Imported before: nothing credited", body = ImportReport),
        (status = 422, description = "Not a statement: the file, line and field (nothing applied)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No layout configured", body = Problem, content_type = "application/problem+json")))]
pub async fn upload_statement(
    State(state): State<AppState>,
    caller: Caller,
    params: ListParams,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // The file as the bank delivered it (octet-stream, text, CSV); a JSON or form body is a client
    // sending something else.
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if declared.contains("json") || declared.starts_with("application/x-www-form-urlencoded") || declared.starts_with("multipart/") {
        return Err(ApiError::UnsupportedMediaType);
    }
    let name = params.get("file_name").map(str::to_owned).ok_or_else(|| ApiError::Validation(vec![FieldError::new("file_name", FieldProblem::Required)]))?;
    if name.len() > 200 || name.contains(['/', '\\']) {
        return Err(ApiError::Validation(vec![FieldError::new("file_name", FieldProblem::Pattern { expected: "deposits-20261204.txt" })]));
    }
    let actor = caller.actor(&state).await;
    let report = state.receivables.import(&name, &body, "upload", &actor).await?;
    let status = if report.imported { StatusCode::CREATED } else { StatusCode::OK };
    let detail = json!({"decision": "import", "statement_id": report.file.id, "file": name, "imported": report.imported, "allocated": report.allocated});
    Ok(with_detail((status, [(header::LOCATION, format!("/v1/deposits/statements/{}", report.file.id))], Json(report)).into_response(), detail))
}

/// Fetches the bank's statement files over SFTP now, imports them and moves them to the
/// processed folder; answers what happened to each.
#[utoipa::path(post, operation_id = "fetchStatements", path = "/v1/deposits/fetch", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = FetchReport),
        (status = 502, description = "The bank's server cannot be reached, refused our key, or showed another host key than the pinned one (`upstream-failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No SFTP server configured", body = Problem, content_type = "application/problem+json")))]
pub async fn fetch_now(State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some(config) = state.receivables.config().sftp.clone() else {
        return Err(ApiError::NotReady { check: "bank_sftp", reason: "no bank SFTP server configured (LUCKYGAS_BANK_SFTP_HOST)".into() });
    };
    let report = crate::receivables::fetch::fetch(&state.receivables, &config).await.map_err(|e| match e {
        crate::receivables::fetch::FetchError::Store(e) => e.into(),
        e => ApiError::Upstream { service: "bank_sftp", detail: e.to_string() },
    })?;
    let detail = json!({"decision": "fetch", "imported": report.imported.iter().map(|r| r.file.file_name.clone()).collect::<Vec<_>>(),
        "failed": report.failed.iter().map(|f| f.file.clone()).collect::<Vec<_>>()});
    Ok(with_detail(Json(report).into_response(), detail))
}
