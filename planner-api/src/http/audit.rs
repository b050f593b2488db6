//! The audit log: every write the server accepts (`POST`, `PUT`, `PATCH`, `DELETE` answered
//! with a success) is recorded by the [`record`] middleware with the signed-in user, the path,
//! its route and the request id; `GET /v1/audit` (admins) lists the entries, newest first.
//! Entries are only ever added.

use super::access::Caller;
use super::error::{ApiError, Problem};
use super::extract::ListParams;
use super::page::PageQuery;
use super::{AppState, ListResponse};
use crate::domain::{FieldError, FieldProblem};
use crate::store::{AuditEntry, AuditFilter, NewAuditEntry};
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};

/// The audit router, mounted at `/v1/audit`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(list))
}

/// What a write decided, for its audit entry: a handler puts it in its response's extensions.
#[derive(Clone, Debug)]
pub struct AuditDetail(pub serde_json::Value);

/// `response` with `detail` for the audit log.
pub fn with_detail(mut response: Response, detail: serde_json::Value) -> Response {
    response.extensions_mut().insert(AuditDetail(detail));
    response
}

/// Middleware (inside authentication, after routing): records each accepted write.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let caller = req.extensions().get::<Caller>().copied();
    let (Some(caller), true) = (caller, matches!(method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)) else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| path.clone(), |m| m.as_str().to_owned());
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let res = next.run(req).await;
    if res.status().is_success() {
        let actor = caller.actor(&state).await;
        let entry = NewAuditEntry {
            user_id: caller.principal.user_id,
            actor: &actor,
            method: method.as_str(),
            path: &path,
            route: &route,
            status: i32::from(res.status().as_u16()),
            request_id: request_id.as_deref(),
            detail: res.extensions().get::<AuditDetail>().map(|d| &d.0),
        };
        if let Err(e) = state.store.insert_audit(&entry).await {
            tracing::error!(error = %e, %path, "cannot write the audit log");
        }
    }
    res
}

/// Lists the audit log, newest first.
#[utoipa::path(get, operation_id = "listAuditEntries", path = "/v1/audit", tag = "audit", security(("bearer" = [])),
    params(PageQuery,
        ("user_id" = Option<i64>, Query, description = "Only this user's writes"),
        ("path" = Option<String>, Query, description = "Only writes to this path or under it (`/v1/orders/7`)")),
    responses((status = 200, body = ListResponse<AuditEntry>), (status = 422, description = "A bad filter, limit or offset", body = Problem, content_type = "application/problem+json")))]
pub async fn list(State(state): State<AppState>, params: ListParams) -> Result<Json<ListResponse<AuditEntry>>, ApiError> {
    let mut filter = AuditFilter::default();
    if let Some(u) = params.get("user_id") {
        filter.user_id = Some(
            u.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::Validation(vec![FieldError::new("user_id", FieldProblem::Pattern { expected: "42" })]))?,
        );
    }
    filter.path_prefix = params.get("path").map(|p| p.trim_end_matches('/').to_owned());
    let page = state.store.list_audit(&filter, params.page).await?;
    Ok(Json(ListResponse::new(page, params.page)))
}
