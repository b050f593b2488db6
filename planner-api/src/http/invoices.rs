//! Invoicing over HTTP (the accountant's desk):
//! - `/v1/invoices`: list (by period, status, customer, order), issue for delivered orders, read,
//!   void (F0501), cancel and re-issue (F0701 + F0401), allowances (G0401) and their voids
//!   (G0501), the printed proof (PDF or PNG), Turnkey messages and re-sending rejected ones, the
//!   month-end run, and the period report (JSON or CSV) for the 401 filing;
//! - `/v1/number-blocks`: register and list number blocks (字軌), close a period (E0402);
//! - `/v1/prices`: list and contract prices by cylinder size, effective from a date;
//! - `/v1/invoice-preferences/{customer_id}`: how a customer's invoices are issued.
//!
//! Issuing requests honour `Idempotency-Key` ([`super::idempotency`]).

use super::access::Caller;
use super::error::{ApiError, Problem};
use super::extract::{parse_id, ApiJson, ListParams};
use super::page::PageQuery;
use super::{AppState, Created, ListResponse};
use crate::domain::invoice::{
    parse_period, Allowance, Invoice, InvoiceSource, InvoiceStatus, MessageInfo, NumberBlock, NumberBlockInput, Preferences, PreferencesInput, Price,
    PriceInput,
};
use crate::domain::{FieldError, FieldProblem};
use crate::invoicing::{kinds, Invoicing, InvoicingError};
use crate::store::invoicing::{InvoiceFilter, ReportRow};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

const RESOURCE: &str = "invoice";

/// The largest allowance accepted, NT$ (far above any invoice of this business).
const MAX_ALLOWANCE: i64 = 1_000_000_000_000;

/// The invoices router, mounted at `/v1/invoices`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(issue))
        .route("/report", get(report))
        .route("/messages", get(messages))
        .route("/messages/{id}/resend", post(resend))
        .route("/monthly-runs", post(monthly_run))
        .route("/{id}", get(read))
        .route("/{id}/void", post(void))
        .route("/{id}/cancel", post(cancel))
        .route("/{id}/allowances", get(allowances).post(allow))
        .route("/{id}/allowances/{allowance_id}/void", post(void_allowance))
        .route("/{id}/proof", get(proof))
}

/// The number blocks router, mounted at `/v1/number-blocks`.
pub fn blocks_router() -> Router<AppState> {
    Router::new().route("/", get(list_blocks).post(create_block)).route("/periods/{period}/close", post(close_period))
}

/// The prices router, mounted at `/v1/prices`.
pub fn prices_router() -> Router<AppState> {
    Router::new().route("/", get(list_prices).post(create_price))
}

/// The invoice preferences router, mounted at `/v1/invoice-preferences`.
pub fn preferences_router() -> Router<AppState> {
    Router::new().route("/{id}", put(put_preferences).get(get_preferences))
}

/// Refuses callers whose grant covers only their own records (drivers): this read is about
/// every invoice.
fn every_invoice(caller: &Caller) -> Result<(), ApiError> {
    match caller.scope {
        super::access::Scope::All => Ok(()),
        super::access::Scope::Own => Err(ApiError::Forbidden),
    }
}

/// A driver may read an invoice only when every order it bills is a stop of their own routes.
async fn may_read(state: &AppState, caller: &Caller, invoice: &Invoice) -> Result<(), ApiError> {
    let Some(driver) = caller.own_driver_id() else { return Ok(()) };
    let orders: Vec<i64> = invoice.items.iter().filter_map(|i| i.order_id).collect();
    if orders.is_empty() {
        return Err(ApiError::Forbidden);
    }
    for order_id in orders {
        if !super::orders::on_own_route(state, order_id, driver).await? {
            return Err(ApiError::Forbidden);
        }
    }
    Ok(())
}

fn service(state: &AppState) -> Result<&Invoicing, ApiError> {
    state.invoicing.as_ref().ok_or(ApiError::NotReady { check: "invoicing", reason: "no seller configured (LUCKYGAS_SELLER_BAN)".into() })
}

impl From<InvoicingError> for ApiError {
    fn from(e: InvoicingError) -> Self {
        match e {
            InvoicingError::NotFound(resource) => ApiError::NotFound { resource },
            InvoicingError::Invalid(errors) => ApiError::Validation(errors),
            InvoicingError::NoNumbers { period, branch } => ApiError::NoInvoiceNumbers { period, branch },
            InvoicingError::AlreadyInvoiced { order_id, invoice_id } => ApiError::AlreadyInvoiced { order_id, invoice_id },
            InvoicingError::Store(e) => e.into(),
        }
    }
}

/// Lists invoices, newest first.
#[utoipa::path(get, operation_id = "listInvoices", path = "/v1/invoices", tag = "invoices", security(("bearer" = [])),
    params(PageQuery, ("period" = Option<String>, Query, description = "`2026-11` or `11512`"),
        ("status" = Option<String>, Query, description = "`issued` or `voided`"), ("customer_id" = Option<i64>, Query), ("order_id" = Option<i64>, Query)),
    responses((status = 200, body = ListResponse<Invoice>),
        (status = 403, description = "A driver asking for more than the invoice of one of their own stops (`?order_id=`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad filter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, caller: Caller, params: ListParams) -> Result<Json<ListResponse<Invoice>>, ApiError> {
    let mut errors = Vec::new();
    let period =
        params.get("period").map(|p| parse_period(p).map(|p| p.key()).ok_or_else(|| FieldError::new("period", FieldProblem::Pattern { expected: "2026-11" })));
    let period = match period {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            errors.push(e);
            None
        }
        None => None,
    };
    let status = match params.get("status") {
        None => None,
        Some(s) => InvoiceStatus::parse(s).or_else(|| {
            errors.push(FieldError::new("status", FieldProblem::NotAllowed { allowed: &["issued", "voided"] }));
            None
        }),
    };
    let mut id = |name: &'static str| match params.get(name).map(str::parse::<i64>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            errors.push(FieldError::new(name, FieldProblem::InvalidType(crate::domain::Expected::Integer)));
            None
        }
    };
    let customer_id = id("customer_id");
    let order_id = id("order_id");
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some(driver) = caller.own_driver_id() {
        // A driver asks for the invoice of one of their own stops.
        let Some(order_id) = order_id else { return Err(ApiError::Forbidden) };
        if !super::orders::on_own_route(&state, order_id, driver).await? {
            return Err(ApiError::Forbidden);
        }
    }
    let filter = InvoiceFilter { period, status, customer_id, order_id };
    Ok(Json(ListResponse::new(state.store.list_invoices(&filter, params.page).await?, params.page)))
}

/// What `POST /v1/invoices` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueInput {
    /// Delivered orders of one customer, not billed yet (an invoice voided frees its orders).
    #[serde(default)]
    pub order_ids: Vec<i64>,
}

/// Issues one invoice for delivered orders (deliveries are invoiced by themselves; this is for
/// orders whose invoice was voided or could not be issued).
#[utoipa::path(post, operation_id = "issueInvoice", path = "/v1/invoices", tag = "invoices", security(("bearer" = [])), request_body = IssueInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer")),
    responses((status = 201, body = Invoice, headers(("Location" = String, description = "`/v1/invoices/{id}`"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An order is already billed (`already-invoiced`), no numbers left (`no-invoice-numbers`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not delivered, no price, several customers (`validation`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Invoicing is not configured", body = Problem, content_type = "application/problem+json")))]
pub async fn issue(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<IssueInput>) -> Result<Created<Invoice>, ApiError> {
    let service = service(&state)?;
    let actor = caller.actor(&state).await;
    let invoice = service.issue(&input.order_ids, InvoiceSource::Manual, None, &actor).await?;
    Ok(Created::at("/v1/invoices", invoice.id, state.store.get_invoice(invoice.id).await?))
}

/// Reads one invoice with its items, orders and Turnkey messages.
#[utoipa::path(get, operation_id = "getInvoice", path = "/v1/invoices/{id}", tag = "invoices", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Invoice), (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Invoice>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let invoice = state.store.get_invoice(id).await.map_err(ApiError::from_store(RESOURCE))?;
    may_read(&state, &caller, &invoice).await?;
    Ok(Json(invoice))
}

/// A reason for a void or cancel.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInput {
    /// Why (1–20 characters, printed on the message).
    #[serde(default)]
    pub reason: String,
}

fn reason(text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::Validation(vec![FieldError::new("reason", FieldProblem::Required)]));
    }
    if text.chars().count() > 20 {
        return Err(ApiError::Validation(vec![FieldError::new("reason", FieldProblem::TooLong { max: 20 })]));
    }
    Ok(text.to_owned())
}

/// Voids an invoice of the current period (F0501, 作廢); its orders may be invoiced again.
#[utoipa::path(post, operation_id = "voidInvoice", path = "/v1/invoices/{id}/void", tag = "invoices", security(("bearer" = [])), params(("id" = i64, Path)), request_body = VoidInput,
    responses((status = 200, body = Invoice),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Already voided, of an earlier period, or with allowances", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Invoicing is not configured", body = Problem, content_type = "application/problem+json")))]
pub async fn void(State(state): State<AppState>, Path(id): Path<String>, ApiJson(input): ApiJson<VoidInput>) -> Result<Json<Invoice>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let reason = reason(&input.reason)?;
    let service = service(&state)?;
    Ok(Json(service.void(id, &reason).await?))
}

/// What `POST /v1/invoices/{id}/cancel` takes: why, and the corrected B2C delivery.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// Why (1–20 characters).
    #[serde(default)]
    pub reason: String,
    /// `print`, `carrier` or `donate`.
    #[serde(default)]
    pub delivery: Option<String>,
    /// With `carrier`: `3J0002` or `CQ0001`.
    #[serde(default)]
    pub carrier_type: Option<String>,
    /// With `carrier`: its id.
    #[serde(default)]
    pub carrier_id: Option<String>,
    /// With `donate`: 3–7 digits.
    #[serde(default)]
    pub donation_code: Option<String>,
}

/// Cancels a B2C invoice of this period (F0701, 註銷) and issues it again under its number
/// with a corrected carrier or donation (F0401).
#[utoipa::path(post, operation_id = "cancelInvoice", path = "/v1/invoices/{id}/cancel", tag = "invoices", security(("bearer" = [])), params(("id" = i64, Path)), request_body = CancelInput,
    responses((status = 200, body = Invoice),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid carrier or donation code; a B2B, voided or earlier invoice", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Invoicing is not configured", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(State(state): State<AppState>, Path(id): Path<String>, ApiJson(input): ApiJson<CancelInput>) -> Result<Json<Invoice>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let mut errors = Vec::new();
    let why = reason(&input.reason).map_err(|e| {
        errors.extend(match e {
            ApiError::Validation(v) => v,
            _ => vec![],
        })
    });
    let delivery = crate::domain::invoice::b2c_delivery(
        input.delivery.as_deref(),
        input.carrier_type.as_deref(),
        input.carrier_id.as_deref(),
        input.donation_code.as_deref(),
        &mut errors,
    );
    let Ok(why) = why else { return Err(ApiError::Validation(errors)) };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let service = service(&state)?;
    Ok(Json(service.cancel(id, &why, &delivery).await?))
}

/// An allowance to issue.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowanceInput {
    /// NT$, tax included (split into amount and tax as the invoice's buyer requires).
    #[serde(default)]
    pub amount: Option<i64>,
    /// Why (e.g. `殘氣退款`), 1–200 characters.
    #[serde(default)]
    pub reason: String,
}

/// An invoice's allowances.
#[utoipa::path(get, operation_id = "listAllowances", path = "/v1/invoices/{id}/allowances", tag = "invoices", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Allowance>), (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json")))]
pub async fn allowances(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Vec<Allowance>>, ApiError> {
    every_invoice(&caller)?;
    let id = parse_id(&id, RESOURCE)?;
    state.store.get_invoice(id).await.map_err(ApiError::from_store(RESOURCE))?;
    Ok(Json(state.store.list_allowances(id).await?))
}

/// Issues an allowance (G0401) on an invoice in force, never above what is left of it.
#[utoipa::path(post, operation_id = "issueAllowance", path = "/v1/invoices/{id}/allowances", tag = "invoices", security(("bearer" = [])), params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer")), request_body = AllowanceInput,
    responses((status = 201, body = Allowance, headers(("Location" = String, description = "`/v1/invoices/{id}/allowances/{allowance_id}`"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Above what is left, voided invoice, bad amount", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Invoicing is not configured", body = Problem, content_type = "application/problem+json")))]
pub async fn allow(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AllowanceInput>,
) -> Result<Created<Allowance>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let mut errors = Vec::new();
    let amount = match input.amount {
        Some(a) if (1..=MAX_ALLOWANCE).contains(&a) => a,
        Some(_) => {
            errors.push(FieldError::new("amount", FieldProblem::OutOfRange { min: 1.0, max: MAX_ALLOWANCE as f64 }));
            0
        }
        None => {
            errors.push(FieldError::new("amount", FieldProblem::Required));
            0
        }
    };
    let why = input.reason.trim();
    if why.is_empty() {
        errors.push(FieldError::new("reason", FieldProblem::Required));
    } else if why.chars().count() > 200 {
        errors.push(FieldError::new("reason", FieldProblem::TooLong { max: 200 }));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let service = service(&state)?;
    let actor = caller.actor(&state).await;
    let allowance = service.allowance(id, amount, why, &actor).await?;
    Ok(Created { location: format!("/v1/invoices/{id}/allowances/{}", allowance.id), body: allowance })
}

/// Voids an allowance (G0501); its amount may be allowed again.
#[utoipa::path(post, operation_id = "voidAllowance", path = "/v1/invoices/{id}/allowances/{allowance_id}/void", tag = "invoices", security(("bearer" = [])),
    params(("id" = i64, Path), ("allowance_id" = i64, Path)),
    responses((status = 200, body = Allowance),
        (status = 404, description = "No such allowance", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Already voided", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Invoicing is not configured", body = Problem, content_type = "application/problem+json")))]
pub async fn void_allowance(State(state): State<AppState>, Path((id, allowance_id)): Path<(String, String)>) -> Result<Json<Allowance>, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let allowance_id = parse_id(&allowance_id, "allowance")?;
    let service = service(&state)?;
    let a = state.store.get_allowance(allowance_id).await.map_err(ApiError::from_store("allowance"))?;
    if a.invoice_id != id {
        return Err(ApiError::NotFound { resource: "allowance" });
    }
    Ok(Json(service.void_allowance(allowance_id).await?))
}

/// The printed proof (電子發票證明聯) of a printed B2C invoice: `?format=pdf` (default) or `png`.
#[utoipa::path(get, operation_id = "getInvoiceProof", path = "/v1/invoices/{id}/proof", tag = "invoices", security(("bearer" = [])),
    params(("id" = i64, Path), ("format" = Option<String>, Query, description = "`pdf` or `png`")),
    responses((status = 200, description = "The proof", content_type = "application/pdf"),
        (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a printed invoice, or no QR key configured", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Invoicing is not configured", body = Problem, content_type = "application/problem+json")))]
pub async fn proof(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, params: ListParams) -> Result<Response, ApiError> {
    let id = parse_id(&id, RESOURCE)?;
    let png = match params.get("format") {
        None | Some("pdf") => false,
        Some("png") => true,
        Some(_) => return Err(ApiError::Validation(vec![FieldError::new("format", FieldProblem::NotAllowed { allowed: &["pdf", "png"] })])),
    };
    let service = service(&state)?;
    let invoice = state.store.get_invoice(id).await.map_err(ApiError::from_store(RESOURCE))?;
    may_read(&state, &caller, &invoice).await?;
    let bytes = service.proof(&invoice, png)?;
    let (kind, ext) = if png { ("image/png", "png") } else { ("application/pdf", "pdf") };
    let disposition = format!("inline; filename=\"{}.{ext}\"", invoice.number);
    Ok(([(header::CONTENT_TYPE, kind.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

/// Turnkey messages, newest first (`?status=pending|accepted|rejected|superseded`).
#[utoipa::path(get, operation_id = "listInvoiceMessages", path = "/v1/invoices/messages", tag = "invoices", security(("bearer" = [])),
    params(PageQuery, ("status" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<MessageInfo>), (status = 422, description = "Bad filter", body = Problem, content_type = "application/problem+json")))]
pub async fn messages(State(state): State<AppState>, caller: Caller, params: ListParams) -> Result<Json<ListResponse<MessageInfo>>, ApiError> {
    every_invoice(&caller)?;
    const STATUSES: &[&str] = &["pending", "accepted", "rejected", "superseded"];
    let status = params.get("status");
    if let Some(s) = status {
        if !STATUSES.contains(&s) {
            return Err(ApiError::Validation(vec![FieldError::new("status", FieldProblem::NotAllowed { allowed: STATUSES })]));
        }
    }
    Ok(Json(ListResponse::new(state.store.list_messages(status, params.page).await?, params.page)))
}

/// Re-sends a message Turnkey rejected, rendered again from the invoice as it is now.
#[utoipa::path(post, operation_id = "resendInvoiceMessage", path = "/v1/invoices/messages/{id}/resend", tag = "invoices", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = MessageInfo),
        (status = 404, description = "No such message", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not rejected", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Invoicing is not configured", body = Problem, content_type = "application/problem+json")))]
pub async fn resend(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<MessageInfo>, ApiError> {
    let id = parse_id(&id, "message")?;
    Ok(Json(service(&state)?.resend(id).await?))
}

/// A month-end run to start.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonthlyRunInput {
    /// The month to bill (`2026-11`).
    #[serde(default)]
    pub month: String,
}

/// A started month-end run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonthlyRunStarted {
    /// The month.
    pub month: String,
    /// Whether a run was queued (false: one for this month is queued already).
    pub queued: bool,
}

/// Starts the month-end run: one consolidated invoice per monthly-account customer for the
/// month's delivered, unbilled orders (repeatable; customers billed already are skipped).
#[utoipa::path(post, operation_id = "startMonthlyRun", path = "/v1/invoices/monthly-runs", tag = "invoices", security(("bearer" = [])), request_body = MonthlyRunInput,
    responses((status = 202, body = MonthlyRunStarted),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad month", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Invoicing is not configured", body = Problem, content_type = "application/problem+json")))]
pub async fn monthly_run(State(state): State<AppState>, ApiJson(input): ApiJson<MonthlyRunInput>) -> Result<(StatusCode, Json<MonthlyRunStarted>), ApiError> {
    service(&state)?;
    let month = input.month.trim();
    if chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err() || month.len() != 7 {
        return Err(ApiError::Validation(vec![FieldError::new("month", FieldProblem::Pattern { expected: "2026-11" })]));
    }
    // One queued run per month at a time: the key names the month and the run's start.
    let payload = serde_json::json!({ "month": month }).to_string();
    let key = format!("{}:{month}:{}", kinds::MONTHLY, chrono::Utc::now().timestamp_millis());
    let queued = state.store.enqueue_job(kinds::MONTHLY, Some(&key), &payload, chrono::Utc::now()).await?;
    if let Some(bell) = &state.jobs_bell {
        bell.notify_waiters();
    }
    Ok((StatusCode::ACCEPTED, Json(MonthlyRunStarted { month: month.to_owned(), queued })))
}

/// The period report: what the 401 filing needs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PeriodReport {
    /// The period (`2026-11`).
    pub period: String,
    /// Its ROC code (`11512`).
    pub roc_code: String,
    /// Rows per kind (sales, voided, allowances), tax type and buyer kind.
    pub rows: Vec<ReportRow>,
    /// Taxable sales in force minus allowances in force, NT$ (tax-exclusive for B2B, inclusive for B2C).
    pub net_sales_amount: i64,
    /// Tax of sales in force minus tax of allowances in force.
    pub net_tax_amount: i64,
}

/// The period report as JSON, or as CSV with `?format=csv`.
#[utoipa::path(get, operation_id = "getPeriodReport", path = "/v1/invoices/report", tag = "invoices", security(("bearer" = [])),
    params(("period" = String, Query, description = "`2026-11` or `11512`"), ("format" = Option<String>, Query, description = "`json` (default) or `csv`")),
    responses((status = 200, body = PeriodReport), (status = 422, description = "Bad period or format", body = Problem, content_type = "application/problem+json")))]
pub async fn report(State(state): State<AppState>, caller: Caller, params: ListParams) -> Result<Response, ApiError> {
    every_invoice(&caller)?;
    let period = params
        .get("period")
        .and_then(parse_period)
        .ok_or_else(|| ApiError::Validation(vec![FieldError::new("period", FieldProblem::Pattern { expected: "2026-11" })]))?;
    let csv = match params.get("format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::Validation(vec![FieldError::new("format", FieldProblem::NotAllowed { allowed: &["json", "csv"] })])),
    };
    let rows = state.store.period_report(&period.key()).await?;
    let net = |f: fn(&ReportRow) -> i64| -> i64 {
        rows.iter().filter(|r| r.kind == "sales").map(f).sum::<i64>() - rows.iter().filter(|r| r.kind == "allowances").map(f).sum::<i64>()
    };
    let report = PeriodReport {
        period: period.key(),
        roc_code: period.roc_code(),
        net_sales_amount: net(|r| r.sales_amount),
        net_tax_amount: net(|r| r.tax_amount),
        rows,
    };
    if !csv {
        return Ok(Json(report).into_response());
    }
    let mut out = String::from("period,kind,tax_type,buyer,count,sales_amount,free_tax_sales_amount,zero_tax_sales_amount,tax_amount,total_amount\n");
    for r in &report.rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            report.period,
            r.kind,
            r.tax_type,
            if r.b2b { "B2B" } else { "B2C" },
            r.count,
            r.sales_amount,
            r.free_tax_sales_amount,
            r.zero_tax_sales_amount,
            r.tax_amount,
            r.total_amount
        ));
    }
    out.push_str(&format!("{},net,,,,{},,,{},\n", report.period, report.net_sales_amount, report.net_tax_amount));
    let disposition = format!("attachment; filename=\"invoices-{}.csv\"", period.roc_code());
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], out).into_response())
}

/// Lists number blocks (`?period=2026-11`), in the order their numbers are used.
#[utoipa::path(get, operation_id = "listNumberBlocks", path = "/v1/number-blocks", tag = "invoices", security(("bearer" = [])),
    params(("period" = Option<String>, Query)),
    responses((status = 200, body = Vec<NumberBlock>), (status = 422, description = "Bad period", body = Problem, content_type = "application/problem+json")))]
pub async fn list_blocks(State(state): State<AppState>, params: ListParams) -> Result<Json<Vec<NumberBlock>>, ApiError> {
    let period = match params.get("period") {
        None => None,
        Some(p) => {
            Some(parse_period(p).ok_or_else(|| ApiError::Validation(vec![FieldError::new("period", FieldProblem::Pattern { expected: "2026-11" })]))?.key())
        }
    };
    Ok(Json(state.store.list_number_blocks(period.as_deref()).await?))
}

/// Registers a number block (字軌) of a period.
#[utoipa::path(post, operation_id = "createNumberBlock", path = "/v1/number-blocks", tag = "invoices", security(("bearer" = [])), request_body = NumberBlockInput,
    responses((status = 201, body = NumberBlock, headers(("Location" = String, description = "`/v1/number-blocks/{id}`"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or overlapping block", body = Problem, content_type = "application/problem+json")))]
pub async fn create_block(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<NumberBlockInput>) -> Result<Created<NumberBlock>, ApiError> {
    let block = input.validate().map_err(ApiError::Validation)?;
    let actor = caller.actor(&state).await;
    let created = state.store.create_number_block(&block, &actor).await?;
    Ok(Created::at("/v1/number-blocks", created.id, created))
}

/// What closing a period reported.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClosedPeriod {
    /// The period.
    pub period: String,
    /// Unused ranges reported by E0402: `[track, first, last]`.
    pub blank: Vec<(String, String, String)>,
}

/// Closes an ended period: its blocks take no more numbers and their unused numbers are
/// reported to the platform (E0402).
#[utoipa::path(post, operation_id = "closeInvoicePeriod", path = "/v1/number-blocks/periods/{period}/close", tag = "invoices", security(("bearer" = [])),
    params(("period" = String, Path, description = "`2026-11` or `11512`")),
    responses((status = 200, body = ClosedPeriod),
        (status = 422, description = "Bad period, or not ended yet", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Invoicing is not configured", body = Problem, content_type = "application/problem+json")))]
pub async fn close_period(State(state): State<AppState>, Path(period): Path<String>) -> Result<Json<ClosedPeriod>, ApiError> {
    let period = parse_period(&period).ok_or_else(|| ApiError::Validation(vec![FieldError::new("period", FieldProblem::Pattern { expected: "2026-11" })]))?;
    let ranges = service(&state)?.close_period(&period).await?;
    let blank = ranges.into_iter().map(|r| (r.track, format!("{:08}", r.first), format!("{:08}", r.last))).collect();
    Ok(Json(ClosedPeriod { period: period.key(), blank }))
}

/// List prices (no `customer_id`) or a customer's contract prices, newest first per size.
#[utoipa::path(get, operation_id = "listPrices", path = "/v1/prices", tag = "invoices", security(("bearer" = [])),
    params(("customer_id" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Price>), (status = 422, description = "Bad customer id", body = Problem, content_type = "application/problem+json")))]
pub async fn list_prices(State(state): State<AppState>, params: ListParams) -> Result<Json<Vec<Price>>, ApiError> {
    let customer_id = match params.get("customer_id").map(str::parse::<i64>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return Err(ApiError::Validation(vec![FieldError::new("customer_id", FieldProblem::InvalidType(crate::domain::Expected::Integer))])),
    };
    Ok(Json(state.store.list_prices(customer_id).await?))
}

/// Sets a price from a date (list price, or a customer's contract price).
#[utoipa::path(post, operation_id = "createPrice", path = "/v1/prices", tag = "invoices", security(("bearer" = [])), request_body = PriceInput,
    responses((status = 201, body = Price, headers(("Location" = String, description = "`/v1/prices/{id}`"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A price of that size already starts that day", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json")))]
pub async fn create_price(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<PriceInput>) -> Result<Created<Price>, ApiError> {
    let price = input.validate().map_err(ApiError::Validation)?;
    let actor = caller.actor(&state).await;
    let created = state.store.create_price(&price, &actor).await?;
    Ok(Created::at("/v1/prices", created.id, created))
}

/// Sets how a customer's invoices are issued (B2B with a 統一編號, or B2C printed, on a carrier,
/// or donated).
#[utoipa::path(put, operation_id = "putInvoicePreferences", path = "/v1/invoice-preferences/{id}", tag = "invoices", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The customer")), request_body = PreferencesInput,
    responses((status = 200, body = Preferences),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid 統一編號, carrier or donation code", body = Problem, content_type = "application/problem+json")))]
pub async fn put_preferences(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PreferencesInput>,
) -> Result<Json<Preferences>, ApiError> {
    let id = parse_id(&id, "customer")?;
    let buyer = input.validate().map_err(ApiError::Validation)?;
    state.store.get_customer(id).await.map_err(ApiError::from_store("customer"))?;
    let actor = caller.actor(&state).await;
    Ok(Json(state.store.put_preferences(id, &buyer, &actor).await.map_err(ApiError::from_store("customer"))?))
}

/// A customer's invoice preferences (B2C printed when never set).
#[utoipa::path(get, operation_id = "getInvoicePreferences", path = "/v1/invoice-preferences/{id}", tag = "invoices", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The customer")),
    responses((status = 200, body = Preferences), (status = 404, description = "No such customer, or none set", body = Problem, content_type = "application/problem+json")))]
pub async fn get_preferences(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Preferences>, ApiError> {
    let id = parse_id(&id, "customer")?;
    state.store.get_preferences(id).await?.map(Json).ok_or(ApiError::NotFound { resource: "invoice preferences" })
}
