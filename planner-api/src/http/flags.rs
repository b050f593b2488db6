//! `/v1/flags`: feature flags. Admins write (`PUT /v1/flags/{key}` creates or replaces a
//! flag, honouring `If-Match` like every resource; `POST /v1/flags/{key}/kill` sets its kill
//! switch); admins, dispatchers and analysts read, and ask what a subject gets
//! (`GET /v1/flags/{key}/evaluate?role=&branch=&customer=&user=&at=`), answered from this
//! replica's snapshot, exactly as the code evaluates it. Each change's audit entry carries the
//! definitions before and after ([`super::audit::with_detail`]).

use super::access::Caller;
use super::audit::with_detail;
use super::error::{ApiError, Problem};
use super::extract::{ApiJson, ListParams};
use super::{AppState, ListResponse};
use crate::domain::{FieldError, FieldProblem, Role};
use crate::flags::{FlagAnswer, FlagView, FlagsError};
use ::flags::{Context, FlagDefinition};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

const RESOURCE: &str = "flag";

/// The flags router, mounted at `/v1/flags`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(list)).route("/{key}", get(read).put(replace)).route("/{key}/kill", post(kill)).route("/{key}/evaluate", get(evaluate))
}

impl From<FlagsError> for ApiError {
    fn from(e: FlagsError) -> Self {
        match e {
            FlagsError::Invalid(errors) => ApiError::Validation(errors),
            FlagsError::NotFound => ApiError::NotFound { resource: RESOURCE },
            FlagsError::Conflict => ApiError::PreconditionFailed { current: None },
            FlagsError::Store(e) => e.into(),
        }
    }
}

/// Lists every flag (stored, and built-in ones never written) by key, in one page.
#[utoipa::path(get, operation_id = "listFlags", path = "/v1/flags", tag = "flags", security(("bearer" = [])),
    responses((status = 200, description = "Every flag, in one page", body = ListResponse<FlagView>)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<ListResponse<FlagView>>, ApiError> {
    let items = crate::flags::list(&state.store).await?;
    let n = i64::try_from(items.len()).unwrap_or(i64::MAX);
    Ok(Json(ListResponse { items, total: Some(n), limit: n, offset: Some(0), next: None }))
}

/// Reads one flag as stored (or as built in, version 0).
#[utoipa::path(get, operation_id = "getFlag", path = "/v1/flags/{key}", tag = "flags", security(("bearer" = [])), params(("key" = String, Path)),
    responses((status = 200, body = FlagView),
        (status = 404, description = "No such flag", body = Problem, content_type = "application/problem+json")))]
pub async fn read(State(state): State<AppState>, Path(key): Path<String>) -> Result<Json<FlagView>, ApiError> {
    Ok(Json(crate::flags::get(&state.store, &key).await?))
}

/// Creates or replaces a flag (admins). The body's `key` may be left out; when given it must be
/// the path's. Every bad field is named at once. With `If-Match`, the write is refused (412)
/// when the flag changed since it was read.
#[utoipa::path(put, operation_id = "putFlag", path = "/v1/flags/{key}", tag = "flags", security(("bearer" = [])), params(("key" = String, Path)),
    request_body = FlagDefinition,
    responses((status = 200, description = "Replaced", body = FlagView), (status = 201, description = "Created", body = FlagView,
            headers(("Location" = String, description = "The flag: `/v1/flags/{key}`"))),
        (status = 400, description = "Malformed JSON (`malformed-json`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` does not match, or another admin changed it meanwhile (`precondition-failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB (`payload-too-large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON (`unsupported-media-type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named (`validation`): key, kind, variants, rules, basis points, schedule", body = Problem, content_type = "application/problem+json")))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(mut input): ApiJson<FlagDefinition>,
) -> Result<Response, ApiError> {
    if input.key.trim().is_empty() {
        input.key.clone_from(&key);
    } else if input.key.trim() != key {
        let problem = FieldProblem::State { code: "key_mismatch", zh: "必須與網址中的旗標名稱相同", en: "must be the key in the path" };
        return Err(ApiError::Validation(vec![FieldError::new("key", problem)]));
    }
    let actor = caller.actor(&state).await;
    let change = crate::flags::put(&state.store, &state.flags, &input, &actor).await?;
    let detail = change.audit_detail();
    let response = if change.created {
        super::Created { location: format!("/v1/flags/{key}"), body: change.after }.into_response()
    } else {
        Json(change.after).into_response()
    };
    Ok(with_detail(response, detail))
}

/// Sets a flag's kill switch (admins): it answers `off` (or `legacy_only`) on every replica
/// within seconds, whatever its rules say. Writing it again with `enabled: true` releases it.
#[utoipa::path(post, operation_id = "killFlag", path = "/v1/flags/{key}/kill", tag = "flags", security(("bearer" = [])), params(("key" = String, Path)),
    responses((status = 200, description = "Killed (or already killed)", body = FlagView),
        (status = 404, description = "No such flag", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` does not match, or another admin changed it meanwhile (`precondition-failed`)", body = Problem, content_type = "application/problem+json")))]
pub async fn kill(State(state): State<AppState>, caller: Caller, Path(key): Path<String>) -> Result<Response, ApiError> {
    let actor = caller.actor(&state).await;
    let change = crate::flags::kill(&state.store, &state.flags, &key, &actor).await?;
    let detail = change.audit_detail();
    Ok(with_detail(Json(change.after).into_response(), detail))
}

/// What a subject gets from a flag on this replica now (or at `at`): the variant and why.
#[utoipa::path(get, operation_id = "evaluateFlag", path = "/v1/flags/{key}/evaluate", tag = "flags", security(("bearer" = [])),
    params(("key" = String, Path),
        ("role" = Option<String>, Query, description = "The subject's role (`dispatcher`)"),
        ("branch" = Option<i64>, Query, description = "The branch (depot id)"),
        ("customer" = Option<i64>, Query, description = "The customer id (the rollout's subject when given)"),
        ("user" = Option<i64>, Query, description = "The user id (the rollout's subject without a customer)"),
        ("at" = Option<String>, Query, description = "The instant, Taipei time (`2027-01-05T06:00`) or with an offset; now when not given")),
    responses((status = 200, body = FlagAnswer),
        (status = 404, description = "No such flag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad role, id or instant, each named (`validation`)", body = Problem, content_type = "application/problem+json")))]
pub async fn evaluate(State(state): State<AppState>, Path(key): Path<String>, params: ListParams) -> Result<Json<FlagAnswer>, ApiError> {
    let mut errors = Vec::new();
    let role = params.get("role").and_then(|r| {
        let role = Role::parse(r);
        if role.is_none() {
            errors.push(FieldError::new("role", FieldProblem::NotAllowed { allowed: Role::NAMES }));
        }
        role
    });
    let mut id = |name: &'static str| {
        params.get(name).and_then(|v| {
            let id = v.parse::<i64>().ok().filter(|id| *id > 0);
            if id.is_none() {
                errors.push(FieldError::new(name, FieldProblem::Pattern { expected: "42" }));
            }
            id
        })
    };
    let (branch, customer, user) = (id("branch"), id("customer"), id("user"));
    let now = match params.get("at") {
        None => chrono::Utc::now(),
        Some(at) => ::flags::parse_instant(at).unwrap_or_else(|| {
            errors.push(FieldError::new("at", FieldProblem::Pattern { expected: "2027-01-05T06:00" }));
            chrono::Utc::now()
        }),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let ctx = Context { role: role.map(Role::as_str), branch, customer, user, now };
    state.flags.evaluate(&key, &ctx).map(Json).ok_or(ApiError::NotFound { resource: RESOURCE })
}
