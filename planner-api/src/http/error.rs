//! The one API error type, rendered as RFC 7807 `application/problem+json` with a stable `type`
//! URI, in Traditional Chinese by default and in English for `Accept-Language: en…`.
//!
//! Handlers return [`ApiError`]; its `IntoResponse` renders in Traditional Chinese and keeps the
//! error in the response's extensions. The [`problem_details`] middleware, which knows the
//! request, renders it again in the client's language with the request path as `instance`, and
//! turns axum's own bare error responses (unknown route, wrong method, oversize body) into
//! problems too, so every error a client sees has the same shape.

use crate::domain::{FieldError, Lang};
use crate::store::StoreError;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Base of the `type` URIs of our problems.
pub const PROBLEM_BASE: &str = "https://luckygas.tw/problems/";

/// Seconds a client is told to wait (`Retry-After`) before retrying after a 503 that a retry can
/// mend: the database unavailable or not ready, or the heavy-work bound reached.
pub const RETRY_AFTER_S: u64 = 5;

/// The shape of every error body, as the OpenAPI document describes it (responses are built by
/// [`ApiError::problem`]).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://luckygas.tw/problems/<kind>`, stable across languages.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary in the client's language.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, in the client's language.
    pub detail: String,
    /// The request path.
    pub instance: Option<String>,
    /// The failing fields of `validation` and `conflict` problems.
    pub errors: Option<Vec<crate::domain::validation::FieldErrorView>>,
    /// The failing readiness check of `not-ready` problems: `database`, `migrations` or
    /// `workers`.
    pub check: Option<String>,
    /// VROOM's status code, on problems of `POST /v1/vroom` only: `2` for input errors, `1` for
    /// internal ones.
    pub code: Option<u8>,
    /// VROOM's error message, on problems of `POST /v1/vroom` only.
    pub error: Option<String>,
}

/// Everything that can go wrong in a request.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    /// One or more fields are invalid (422).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The body is not well-formed JSON (400).
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The body is not declared as JSON (415).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A query parameter could not be parsed (400).
    #[error("bad query: {0}")]
    BadQuery(String),
    /// The request could not be parsed otherwise (400).
    #[error("bad request")]
    BadRequest,
    /// The resource does not exist (404).
    #[error("{resource} not found")]
    NotFound {
        /// What was looked up (`customer`, `depot`, or `route` for unknown paths).
        resource: &'static str,
    },
    /// The method is not allowed on this path (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A unique field already holds this value (409).
    #[error("duplicate {field}")]
    Conflict {
        /// The field that must be unique.
        field: &'static str,
    },
    /// The resource is still referenced and cannot be deleted (409).
    #[error("{resource} in use")]
    InUse {
        /// What was to be deleted.
        resource: &'static str,
    },
    /// The order's lifecycle does not allow this status change (409).
    #[error("invalid transition from {from} to {to}")]
    InvalidTransition {
        /// The order's status now.
        from: &'static str,
        /// The status asked for.
        to: &'static str,
    },
    /// The order is past `received` or held by a planning job, so its fields cannot change (409).
    #[error("order locked while {status}")]
    OrderLocked {
        /// The order's status.
        status: &'static str,
    },
    /// The planning job has already finished and cannot be cancelled (409).
    #[error("plan already {status}")]
    PlanFinished {
        /// Its final status.
        status: &'static str,
    },
    /// The planning job has no plan yet, or never will (409).
    #[error("plan not available while {status}")]
    PlanNotReady {
        /// Its status.
        status: &'static str,
    },
    /// The plan has a newer version than the one the replan was based on (409): another
    /// dispatcher replanned first. `latest` is the version to reload.
    #[error("plan version conflict (latest {latest})")]
    VersionConflict {
        /// The newest version now.
        latest: i64,
    },
    /// The body is larger than the limit (413).
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body did not arrive in full within the body-read deadline (408); see
    /// [`super::server::ServerConfig::body_timeout`].
    #[error("request body timed out")]
    BodyTimeout {
        /// The deadline, in seconds from the end of the headers.
        after_s: u64,
    },
    /// `If-Match` names another version of the resource than the current one (412): someone
    /// changed it since the client read it. `current` is the resource's ETag now, if it exists.
    #[error("precondition failed")]
    PreconditionFailed {
        /// The current ETag.
        current: Option<String>,
    },
    /// No access token was sent (401).
    #[error("unauthenticated")]
    Unauthenticated,
    /// The access token has expired (401); the client should refresh it.
    #[error("token expired")]
    TokenExpired,
    /// The access token or refresh token is malformed, forged or unknown (401).
    #[error("invalid token")]
    InvalidToken,
    /// A refresh token was used a second time (401); its whole family is revoked.
    #[error("refresh token reused")]
    TokenReused,
    /// Wrong email or password, or an inactive user (401).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed sign-ins of this account or from this address (429, with
    /// `Retry-After`): no password was checked.
    #[error("sign-in throttled")]
    LoginThrottled {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
    /// Too many sign-ins are being checked at once (503, with `Retry-After`): the password
    /// hashing queue is full or the wait for it timed out.
    #[error("password hashing saturated")]
    HashingBusy {
        /// Seconds after which to try again.
        retry_after: u64,
    },
    /// An admin tried to delete, demote or deactivate their own account (409): refused so that
    /// at least one admin always remains.
    #[error("self lockout")]
    SelfLockout,
    /// The caller's role may not do this (403).
    #[error("forbidden")]
    Forbidden,
    /// The service cannot serve: a readiness check failed (503). `check` names it
    /// (`database`, `migrations` or `workers`) in the problem; `reason` is only logged.
    #[error("not ready ({check}): {reason}")]
    NotReady {
        /// The failing check.
        check: &'static str,
        /// What failed, for the log.
        reason: String,
    },
    /// A service outside ours failed (502): the bank's SFTP server could not be reached,
    /// refused our key, or showed a host key other than the pinned one. `detail` says which.
    #[error("upstream {service} failed: {detail}")]
    Upstream {
        /// The outside service (`bank_sftp`).
        service: &'static str,
        /// What happened, for the operator.
        detail: String,
    },
    /// No number block of the period has numbers left (409): register the next block.
    #[error("no invoice numbers left")]
    NoInvoiceNumbers {
        /// The period (`2026-11`).
        period: String,
        /// The branch.
        branch: String,
    },
    /// The order is already billed by an invoice in force (409).
    #[error("already invoiced")]
    AlreadyInvoiced {
        /// The order.
        order_id: i64,
        /// The invoice.
        invoice_id: i64,
    },
    /// The module is still run in the old program (its cut-over flag is at `legacy_only`): the
    /// change is made there and reaches the service by the pick-up (409).
    #[error("module at legacy_only")]
    LegacyOnly {
        /// The cut-over flag (`legacy.customers`).
        flag: &'static str,
    },
    /// The `Idempotency-Key` header is empty, too long or not printable ASCII (400).
    #[error("bad idempotency key")]
    BadIdempotencyKey,
    /// The `Idempotency-Key` was used before for another request (422).
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// The first request with this `Idempotency-Key` is still running (409).
    #[error("idempotent request in flight")]
    IdempotencyInFlight,
    /// Too many requests from this address or user in the current minute (429); retry after
    /// `retry_after_s` seconds (sent as `Retry-After`).
    #[error("rate limited")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after_s: u64,
    },
    /// The database cannot answer now (503 with `Retry-After`): down, restarting, out of
    /// connections or (SQLite) write-locked by another connection. The detail is logged only.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Heavy requests of this kind already take every permit (503 with `Retry-After`): see
    /// [`super::heavy::HeavyWork`].
    #[error("too busy")]
    Busy,
    /// An unexpected failure (500); the detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
    /// An error of `POST /v1/vroom`: the wrapped error's problem with VROOM's `code` (`1` for an
    /// internal error, `2` for an input error) and `error` message added, so that VROOM clients
    /// reading `code` still understand it.
    #[error("{0}")]
    Vroom(Box<ApiError>),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Vroom(inner) => inner.status(),
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MalformedJson(_) | ApiError::BadQuery(_) | ApiError::BadRequest | ApiError::BadIdempotencyKey => StatusCode::BAD_REQUEST,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Unauthenticated | ApiError::TokenExpired | ApiError::InvalidToken | ApiError::TokenReused | ApiError::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. }
            | ApiError::InUse { .. }
            | ApiError::InvalidTransition { .. }
            | ApiError::OrderLocked { .. }
            | ApiError::PlanFinished { .. }
            | ApiError::PlanNotReady { .. }
            | ApiError::VersionConflict { .. }
            | ApiError::SelfLockout
            | ApiError::NoInvoiceNumbers { .. }
            | ApiError::AlreadyInvoiced { .. }
            | ApiError::LegacyOnly { .. }
            | ApiError::IdempotencyInFlight => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::NotReady { .. } | ApiError::HashingBusy { .. } | ApiError::Unavailable(_) | ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::LoginThrottled { .. } | ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Upstream { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// The stable last segment of the `type` URI.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Vroom(inner) => inner.kind(),
            ApiError::Validation(_) => "validation",
            ApiError::MalformedJson(_) => "malformed-json",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::BadQuery(_) => "bad-query",
            ApiError::BadRequest => "bad-request",
            ApiError::NotFound { .. } => "not-found",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::TokenExpired => "token-expired",
            ApiError::InvalidToken => "invalid-token",
            ApiError::TokenReused => "token-reused",
            ApiError::InvalidCredentials => "invalid-credentials",
            ApiError::LoginThrottled { .. } => "login-throttled",
            ApiError::HashingBusy { .. } => "busy",
            ApiError::Forbidden => "forbidden",
            ApiError::SelfLockout => "self-lockout",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Conflict { .. } => "conflict",
            ApiError::InUse { .. } => "in-use",
            ApiError::InvalidTransition { .. } => "invalid-transition",
            ApiError::OrderLocked { .. } => "order-locked",
            ApiError::PlanFinished { .. } => "plan-finished",
            ApiError::PlanNotReady { .. } => "plan-not-ready",
            ApiError::VersionConflict { .. } => "version-conflict",
            ApiError::PayloadTooLarge => "payload-too-large",
            ApiError::BodyTimeout { .. } => "request-timeout",
            ApiError::PreconditionFailed { .. } => "precondition-failed",
            ApiError::NotReady { .. } => "not-ready",
            ApiError::NoInvoiceNumbers { .. } => "no-invoice-numbers",
            ApiError::AlreadyInvoiced { .. } => "already-invoiced",
            ApiError::LegacyOnly { .. } => "legacy-only",
            ApiError::BadIdempotencyKey => "bad-idempotency-key",
            ApiError::IdempotencyKeyReused => "idempotency-key-reused",
            ApiError::IdempotencyInFlight => "idempotency-in-flight",
            ApiError::RateLimited { .. } => "rate-limited",
            ApiError::Unavailable(_) => "database-unavailable",
            ApiError::Busy => "busy",
            ApiError::Internal(_) => "internal",
            ApiError::Upstream { .. } => "upstream-failed",
        }
    }

    fn title(&self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            ApiError::Vroom(inner) => return inner.title(lang),
            ApiError::Validation(_) => ("資料驗證失敗", "Validation failed"),
            ApiError::MalformedJson(_) => ("JSON 格式錯誤", "Malformed JSON"),
            ApiError::UnsupportedMediaType => ("不支援的內容類型", "Unsupported media type"),
            ApiError::BadQuery(_) => ("查詢參數錯誤", "Bad query parameters"),
            ApiError::BadRequest => ("請求錯誤", "Bad request"),
            ApiError::NotFound { .. } => ("找不到資源", "Not found"),
            ApiError::Unauthenticated => ("需要登入", "Authentication required"),
            ApiError::TokenExpired => ("存取權杖已過期", "Token expired"),
            ApiError::InvalidToken => ("權杖無效", "Invalid token"),
            ApiError::TokenReused => ("更新權杖已被使用", "Refresh token reused"),
            ApiError::InvalidCredentials => ("帳號或密碼錯誤", "Invalid credentials"),
            ApiError::LoginThrottled { .. } => ("登入失敗次數過多", "Too many failed sign-ins"),
            ApiError::HashingBusy { .. } => ("伺服器忙碌中", "Server busy"),
            ApiError::Forbidden => ("權限不足", "Forbidden"),
            ApiError::SelfLockout => ("不能鎖住自己", "Self lockout"),
            ApiError::MethodNotAllowed => ("不允許的方法", "Method not allowed"),
            ApiError::Conflict { .. } => ("資料衝突", "Conflict"),
            ApiError::InUse { .. } => ("資料使用中", "Still in use"),
            ApiError::InvalidTransition { .. } => ("不允許的狀態變更", "Invalid status transition"),
            ApiError::OrderLocked { .. } => ("訂單無法修改", "Order locked"),
            ApiError::PlanFinished { .. } => ("排程已結束", "Plan already finished"),
            ApiError::PlanNotReady { .. } => ("排程結果尚未產生", "Plan not available"),
            ApiError::VersionConflict { .. } => ("排程版本衝突", "Plan version conflict"),
            ApiError::PayloadTooLarge => ("請求內容過大", "Payload too large"),
            ApiError::BodyTimeout { .. } => ("請求內容傳送逾時", "Request timeout"),
            ApiError::PreconditionFailed { .. } => ("資料已被變更", "Precondition failed"),
            ApiError::NotReady { .. } => ("服務尚未就緒", "Service not ready"),
            ApiError::NoInvoiceNumbers { .. } => ("發票字軌號碼已用完", "No invoice numbers left"),
            ApiError::Upstream { .. } => ("外部服務失敗", "Upstream service failed"),
            ApiError::AlreadyInvoiced { .. } => ("訂單已開立發票", "Already invoiced"),
            ApiError::LegacyOnly { .. } => ("此功能仍在舊系統作業", "Still run in the old system"),
            ApiError::BadIdempotencyKey => ("Idempotency-Key 格式錯誤", "Bad Idempotency-Key"),
            ApiError::IdempotencyKeyReused => ("Idempotency-Key 已用於其他請求", "Idempotency-Key reused"),
            ApiError::IdempotencyInFlight => ("相同的請求仍在處理中", "Request in flight"),
            ApiError::RateLimited { .. } => ("請求過於頻繁", "Too many requests"),
            ApiError::Unavailable(_) => ("資料庫暫時無法使用", "Database unavailable"),
            ApiError::Busy => ("服務忙碌中", "Service busy"),
            ApiError::Internal(_) => ("伺服器內部錯誤", "Internal server error"),
        };
        match lang {
            Lang::ZhTw => zh,
            Lang::En => en,
        }
    }

    fn detail(&self, lang: Lang) -> String {
        match (self, lang) {
            (ApiError::Vroom(inner), _) => inner.detail(lang),
            (ApiError::Validation(e), Lang::ZhTw) => format!("有 {} 個欄位不正確", e.len()),
            (ApiError::Validation(e), Lang::En) => format!("{} field(s) are invalid", e.len()),
            (ApiError::MalformedJson(d), Lang::ZhTw) => format!("請求內容不是正確的 JSON：{d}"),
            (ApiError::MalformedJson(d), Lang::En) => format!("the request body is not valid JSON: {d}"),
            (ApiError::UnsupportedMediaType, Lang::ZhTw) => "請求內容必須是 application/json".into(),
            (ApiError::UnsupportedMediaType, Lang::En) => "the request body must be application/json".into(),
            (ApiError::BadQuery(d), Lang::ZhTw) => format!("查詢參數無法解析：{d}"),
            (ApiError::BadQuery(d), Lang::En) => format!("the query parameters cannot be parsed: {d}"),
            (ApiError::BadRequest, Lang::ZhTw) => "無法解析此請求".into(),
            (ApiError::BadRequest, Lang::En) => "the request cannot be parsed".into(),
            (ApiError::NotFound { resource }, Lang::ZhTw) => format!("找不到指定的{}", zh_resource(resource)),
            (ApiError::NotFound { resource }, Lang::En) => format!("no such {resource}"),
            (ApiError::Unauthenticated, Lang::ZhTw) => "請在 Authorization 標頭以 Bearer 傳送存取權杖".into(),
            (ApiError::Unauthenticated, Lang::En) => "send an access token as `Authorization: Bearer …`".into(),
            (ApiError::TokenExpired, Lang::ZhTw) => "存取權杖已過期，請以更新權杖重新取得".into(),
            (ApiError::TokenExpired, Lang::En) => "the access token has expired; use the refresh token to get a new one".into(),
            (ApiError::InvalidToken, Lang::ZhTw) => "權杖格式錯誤、簽章不符或已失效".into(),
            (ApiError::InvalidToken, Lang::En) => "the token is malformed, not signed by this service, or no longer valid".into(),
            (ApiError::TokenReused, Lang::ZhTw) => "此更新權杖已使用過，相關權杖已全部撤銷，請重新登入".into(),
            (ApiError::TokenReused, Lang::En) => "this refresh token was already used; its tokens are all revoked, sign in again".into(),
            (ApiError::InvalidCredentials, Lang::ZhTw) => "電子郵件或密碼不正確".into(),
            (ApiError::InvalidCredentials, Lang::En) => "the email or password is wrong".into(),
            (ApiError::SelfLockout, Lang::ZhTw) => "管理員不能刪除、降級或停用自己的帳號，請由另一位管理員操作".into(),
            (ApiError::SelfLockout, Lang::En) => "admins cannot delete, demote or deactivate their own account; ask another admin".into(),
            (ApiError::Forbidden, Lang::ZhTw) => "您的角色不能執行此操作".into(),
            (ApiError::Forbidden, Lang::En) => "your role may not do this".into(),
            (ApiError::MethodNotAllowed, Lang::ZhTw) => "此路徑不支援這個 HTTP 方法".into(),
            (ApiError::MethodNotAllowed, Lang::En) => "this path does not support the HTTP method".into(),
            (ApiError::Conflict { field }, Lang::ZhTw) => format!("欄位 {field} 的值已被使用"),
            (ApiError::Conflict { field }, Lang::En) => format!("the value of {field} is already taken"),
            (ApiError::InUse { resource }, Lang::ZhTw) => format!("此{}仍被其他資料使用，無法刪除", zh_resource(resource)),
            (ApiError::InUse { resource }, Lang::En) => format!("this {resource} is still in use and cannot be deleted"),
            (ApiError::InvalidTransition { from, to }, Lang::ZhTw) => {
                format!("訂單狀態不能從「{}」變更為「{}」", zh_status(from), zh_status(to))
            }
            (ApiError::InvalidTransition { from, to }, Lang::En) => format!("an order cannot go from {from} to {to}"),
            (ApiError::OrderLocked { status }, Lang::ZhTw) => {
                format!("訂單目前為「{}」或正在排程中，只有尚未排程的訂單可以修改", zh_status(status))
            }
            (ApiError::OrderLocked { status }, Lang::En) => {
                format!("the order is {status} or being planned; only received orders that no plan holds can be changed")
            }
            (ApiError::PlanFinished { status }, Lang::ZhTw) => format!("此排程已是「{}」，無法取消", zh_status(status)),
            (ApiError::PlanFinished { status }, Lang::En) => format!("this plan is already {status} and cannot be cancelled"),
            (ApiError::PlanNotReady { status }, Lang::ZhTw) => format!("此排程目前為「{}」，沒有路線結果", zh_status(status)),
            (ApiError::PlanNotReady { status }, Lang::En) => format!("this plan is {status} and has no routes"),
            (ApiError::VersionConflict { latest }, Lang::ZhTw) => format!("已有其他調度員更新此排程（目前為第 {latest} 版），請重新載入後再送出"),
            (ApiError::VersionConflict { latest }, Lang::En) => {
                format!("another dispatcher replanned first (the plan is at version {latest}); reload it and send the events again")
            }
            (ApiError::PayloadTooLarge, Lang::ZhTw) => format!("請求內容不可超過 {} 位元組", super::BODY_LIMIT),
            (ApiError::PayloadTooLarge, Lang::En) => format!("the request body must be at most {} bytes", super::BODY_LIMIT),
            (ApiError::BodyTimeout { after_s }, Lang::ZhTw) => format!("請求內容未在 {after_s} 秒內傳送完畢，連線已關閉"),
            (ApiError::BodyTimeout { after_s }, Lang::En) => format!("the request body did not arrive within {after_s} seconds; the connection is closed"),
            (ApiError::PreconditionFailed { .. }, Lang::ZhTw) => "此資料在您讀取後已被他人變更（If-Match 不符），請重新載入後再修改".into(),
            (ApiError::PreconditionFailed { .. }, Lang::En) => {
                "the resource changed since you read it (If-Match does not match its ETag); reload it and try again".into()
            }
            (ApiError::Upstream { service, detail }, Lang::ZhTw) => format!("外部服務 {service} 失敗：{detail}"),
            (ApiError::Upstream { service, detail }, Lang::En) => format!("the outside service {service} failed: {detail}"),
            (ApiError::NoInvoiceNumbers { period, branch }, Lang::ZhTw) => format!("期別 {period}（分支「{branch}」）的字軌號碼已用完，請先登錄下一本字軌"),
            (ApiError::NoInvoiceNumbers { period, branch }, Lang::En) => {
                format!("no invoice numbers are left for period {period} (branch {branch:?}); register the next number block")
            }
            (ApiError::AlreadyInvoiced { order_id, invoice_id }, Lang::ZhTw) => format!("訂單 {order_id} 已由發票 {invoice_id} 開立"),
            (ApiError::AlreadyInvoiced { order_id, invoice_id }, Lang::En) => format!("order {order_id} is already billed by invoice {invoice_id}"),
            (ApiError::LegacyOnly { flag }, Lang::ZhTw) => format!("{flag} 設為 legacy_only：請在舊系統修改，變更會自動同步過來"),
            (ApiError::LegacyOnly { flag }, Lang::En) => {
                format!("{flag} is at legacy_only: make the change in the old program, it reaches the service by the sync")
            }
            (ApiError::BadIdempotencyKey, Lang::ZhTw) => "Idempotency-Key 必須是 1 至 255 個可列印的 ASCII 字元".into(),
            (ApiError::BadIdempotencyKey, Lang::En) => "the Idempotency-Key must be 1 to 255 printable ASCII characters".into(),
            (ApiError::IdempotencyKeyReused, Lang::ZhTw) => "此 Idempotency-Key 已用於內容不同的請求，請換一個新的".into(),
            (ApiError::IdempotencyKeyReused, Lang::En) => "this Idempotency-Key was used for a different request; use a new key".into(),
            (ApiError::IdempotencyInFlight, Lang::ZhTw) => "使用相同 Idempotency-Key 的請求仍在處理中，請稍後重試".into(),
            (ApiError::IdempotencyInFlight, Lang::En) => "the first request with this Idempotency-Key is still being processed; retry shortly".into(),
            (ApiError::RateLimited { retry_after_s }, Lang::ZhTw) => format!("一分鐘內的請求次數已達上限，請於 {retry_after_s} 秒後再試"),
            (ApiError::RateLimited { retry_after_s }, Lang::En) => format!("too many requests this minute; try again in {retry_after_s} s"),
            (ApiError::NotReady { check: "invoicing", .. }, Lang::ZhTw) => "尚未設定發票開立資料（LUCKYGAS_SELLER_BAN 等）".into(),
            (ApiError::NotReady { check: "invoicing", .. }, Lang::En) => "invoicing is not configured (LUCKYGAS_SELLER_BAN and friends)".into(),
            (ApiError::NotReady { check: "workers", .. }, Lang::ZhTw) => "排程工作程序都已停止回應".into(),
            (ApiError::NotReady { check: "workers", .. }, Lang::En) => "no planning worker of this process is alive".into(),
            (ApiError::NotReady { check: "payments", .. }, Lang::ZhTw) => "尚未設定虛擬帳號格式（LUCKYGAS_VA_COMPANY_CODE 或 LUCKYGAS_VA_LAYOUT_FILE）".into(),
            (ApiError::NotReady { check: "payments", .. }, Lang::En) => {
                "no virtual-account layout is configured (LUCKYGAS_VA_COMPANY_CODE or LUCKYGAS_VA_LAYOUT_FILE)".into()
            }
            (ApiError::NotReady { check: "bank_sftp", .. }, Lang::ZhTw) => "尚未設定銀行 SFTP 伺服器（LUCKYGAS_BANK_SFTP_HOST 等）".into(),
            (ApiError::NotReady { check: "bank_sftp", .. }, Lang::En) => "no bank SFTP server is configured (LUCKYGAS_BANK_SFTP_HOST and friends)".into(),
            (ApiError::NotReady { check: "migrations", .. }, Lang::ZhTw) => "資料庫尚未完成遷移".into(),
            (ApiError::NotReady { check: "migrations", .. }, Lang::En) => "the database migrations are not all applied".into(),
            (ApiError::NotReady { .. }, Lang::ZhTw) => "資料庫無法連線".into(),
            (ApiError::NotReady { .. }, Lang::En) => "the database is unreachable".into(),
            (ApiError::LoginThrottled { retry_after }, Lang::ZhTw) => format!("此帳號或來源的登入失敗次數過多，請於 {retry_after} 秒後再試"),
            (ApiError::LoginThrottled { retry_after }, Lang::En) => {
                format!("too many failed sign-ins for this account or from this address; try again in {retry_after} seconds")
            }
            (ApiError::HashingBusy { retry_after }, Lang::ZhTw) => format!("目前同時登入的請求過多，請於 {retry_after} 秒後再試"),
            (ApiError::HashingBusy { retry_after }, Lang::En) => format!("too many sign-ins are being checked right now; try again in {retry_after} seconds"),
            (ApiError::Unavailable(_), Lang::ZhTw) => format!("資料庫暫時無法回應，請於 {RETRY_AFTER_S} 秒後重試"),
            (ApiError::Unavailable(_), Lang::En) => {
                format!("the database cannot answer right now; retry in {RETRY_AFTER_S} seconds")
            }
            (ApiError::Busy, Lang::ZhTw) => format!("同類的大型計算正在進行，已達上限，請於 {RETRY_AFTER_S} 秒後重試"),
            (ApiError::Busy, Lang::En) => {
                format!("as many heavy requests of this kind as the service runs at once are running; retry in {RETRY_AFTER_S} seconds")
            }
            (ApiError::Internal(_), Lang::ZhTw) => "發生未預期的錯誤，請稍後再試".into(),
            (ApiError::Internal(_), Lang::En) => "an unexpected error occurred, please try again later".into(),
        }
    }

    /// The problem document in `lang`.
    pub fn problem(&self, lang: Lang, instance: Option<&str>) -> Value {
        if let ApiError::Vroom(inner) = self {
            let mut body = inner.problem(lang, instance);
            body["code"] = json!(if matches!(**inner, ApiError::Internal(_) | ApiError::Busy | ApiError::Unavailable(_)) { 1 } else { 2 });
            body["error"] = json!(match &**inner {
                ApiError::Validation(errors) if !errors.is_empty() => format!("{}: {}", errors[0].field, errors[0].message(lang)),
                other => other.detail(lang),
            });
            return body;
        }
        let mut body = json!({
            "type": format!("{PROBLEM_BASE}{}", self.kind()),
            "title": self.title(lang),
            "status": self.status().as_u16(),
            "detail": self.detail(lang),
        });
        if let Some(instance) = instance {
            body["instance"] = json!(instance);
        }
        if let ApiError::Validation(errors) = self {
            body["errors"] = json!(errors.iter().map(|e| e.view(lang)).collect::<Vec<_>>());
        }
        if let ApiError::VersionConflict { latest } = self {
            body["latest_version"] = json!(latest);
        }
        if let ApiError::PreconditionFailed { current: Some(etag) } = self {
            body["current_etag"] = json!(etag);
        }
        if let ApiError::NotReady { check, .. } = self {
            body["check"] = json!(check);
        }
        if let Some(seconds) = self.retry_after() {
            body["retry_after"] = json!(seconds);
        }
        if let ApiError::Conflict { field } = self {
            body["errors"] = json!([{ "field": field, "code": "duplicate", "message": match lang {
                Lang::ZhTw => "值已被使用",
                Lang::En => "is already taken",
            } }]);
        }
        body
    }

    /// Seconds the client should wait before trying again (`Retry-After`), if any: a passing
    /// 503 (database unavailable, heavy work or hashing at capacity) or a 429.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Vroom(inner) => inner.retry_after(),
            ApiError::LoginThrottled { retry_after } | ApiError::HashingBusy { retry_after } => Some(*retry_after),
            ApiError::RateLimited { retry_after_s } => Some(*retry_after_s),
            ApiError::Unavailable(_) | ApiError::Busy | ApiError::NotReady { check: "database", .. } => Some(RETRY_AFTER_S),
            _ => None,
        }
    }

    /// The response in `lang`.
    pub fn render(&self, lang: Lang, instance: Option<&str>) -> Response {
        let mut res = (self.status(), self.problem(lang, instance).to_string()).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after() {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status() == StatusCode::UNAUTHORIZED {
            let challenge = match self {
                ApiError::TokenExpired | ApiError::InvalidToken => "Bearer error=\"invalid_token\"",
                _ => "Bearer",
            };
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        res
    }
}

/// Order and plan statuses in Traditional Chinese.
fn zh_status(status: &str) -> &'static str {
    match status {
        "received" => "已接單",
        "planned" => "已排程",
        "dispatched" => "已出車",
        "delivered" => "已送達",
        "failed" => "配送失敗",
        "cancelled" => "已取消",
        "queued" => "排隊中",
        "running" => "計算中",
        "succeeded" => "已完成",
        _ => "未知",
    }
}

fn zh_resource(resource: &str) -> &'static str {
    match resource {
        "customer" => "客戶",
        "depot" => "站點",
        "vehicle type" => "車種",
        "driver" => "司機",
        "vehicle" => "車輛",
        "record" => "資料",
        "order" => "訂單",
        "plan" => "排程",
        "solver input" => "求解資料",
        "user" => "使用者",
        "assignment" => "派車紀錄",
        "invoice" => "發票",
        "allowance" => "折讓",
        "message" => "發票訊息",
        "invoice preferences" => "發票設定",
        "flag" => "功能旗標",
        _ => "路徑",
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate { field } => ApiError::Conflict { field },
            StoreError::UnknownReference(fields) => {
                ApiError::Validation(fields.into_iter().map(|f| FieldError::new(f, crate::domain::FieldProblem::UnknownReference)).collect())
            }
            StoreError::InUse => ApiError::InUse { resource: "record" },
            StoreError::Invalid(errors) => ApiError::Validation(errors),
            StoreError::InvalidTransition { from, to } => ApiError::InvalidTransition { from: from.as_str(), to: to.as_str() },
            StoreError::OrderLocked(status) => ApiError::OrderLocked { status: status.as_str() },
            StoreError::AlreadyFinished(status) => ApiError::PlanFinished { status: status.as_str() },
            // Callers map NotFound to their resource; this is the fallback.
            StoreError::NotFound => ApiError::NotFound { resource: "route" },
            StoreError::NoNumbers { period, branch } => ApiError::NoInvoiceNumbers { period, branch },
            StoreError::AlreadyInvoiced { order_id, invoice_id } => ApiError::AlreadyInvoiced { order_id, invoice_id },
            other if other.is_unavailable() => ApiError::Unavailable(other.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::planning::PlanningError> for ApiError {
    fn from(e: crate::planning::PlanningError) -> Self {
        use crate::planning::PlanningError as P;
        match e {
            P::NotFound(resource) => ApiError::NotFound { resource },
            P::NotReady { status } => ApiError::PlanNotReady { status },
            P::Invalid(errors) => ApiError::Validation(errors),
            P::VersionConflict { latest } => ApiError::VersionConflict { latest },
            P::Store(e) => e.into(),
            P::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl ApiError {
    /// Maps a store error for `resource`, so a missing row reads as "no such customer".
    pub fn from_store(resource: &'static str) -> impl Fn(StoreError) -> ApiError {
        move |e| match e {
            StoreError::NotFound => ApiError::NotFound { resource },
            StoreError::InUse => ApiError::InUse { resource },
            other => other.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let logged = match &self {
            ApiError::Vroom(inner) => inner,
            other => other,
        };
        if let ApiError::Internal(detail) | ApiError::NotReady { reason: detail, .. } = logged {
            tracing::error!(error = %detail, kind = self.kind(), "request failed");
        }
        if let ApiError::Unavailable(detail) = logged {
            tracing::warn!(error = %detail, "request failed: database unavailable");
        }
        let mut res = self.render(Lang::ZhTw, None);
        res.extensions_mut().insert(self);
        res
    }
}

/// Middleware: renders every error response as a problem in the client's language with the
/// request path as `instance`.
pub async fn problem_details(req: Request, next: Next) -> Response {
    let lang = Lang::from_accept_language(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let instance = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    let error = match res.extensions_mut().remove::<ApiError>() {
        Some(e) => e,
        None if res.status().is_client_error() || res.status().is_server_error() => match res.status() {
            StatusCode::NOT_FOUND => ApiError::NotFound { resource: "route" },
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::BAD_REQUEST => ApiError::BadRequest,
            StatusCode::UNAUTHORIZED => ApiError::Unauthenticated,
            StatusCode::FORBIDDEN => ApiError::Forbidden,
            _ => ApiError::Internal(format!("unexpected status {}", res.status())),
        },
        None => return res,
    };
    let mut problem = error.render(lang, Some(&instance));
    if let Some(allow) = res.headers().get(header::ALLOW) {
        problem.headers_mut().insert(header::ALLOW, allow.clone());
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldProblem;

    #[test]
    fn renders_validation_problems_with_named_fields_in_both_languages() {
        let e = ApiError::Validation(vec![FieldError::new("lat", FieldProblem::Required)]);
        let zh = e.problem(Lang::ZhTw, Some("/v1/depots"));
        assert_eq!(zh["type"], "https://luckygas.tw/problems/validation");
        assert_eq!((zh["status"].as_u64(), zh["instance"].as_str()), (Some(422), Some("/v1/depots")));
        assert_eq!(zh["errors"][0]["field"], "lat");
        assert_eq!(zh["errors"][0]["message"], "此欄位為必填");
        let en = e.problem(Lang::En, None);
        assert_eq!(en["errors"][0]["message"], "this field is required");
        assert!(en.get("instance").is_none());
    }

    #[test]
    fn hides_internal_details_from_clients() {
        let e = ApiError::from(StoreError::UnsupportedUrl("secret://x".into()));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.problem(Lang::En, None).to_string().contains("secret"));
    }

    #[test]
    fn gives_missing_expired_and_invalid_tokens_distinct_types_and_a_bearer_challenge() {
        let kinds: Vec<&str> = [ApiError::Unauthenticated, ApiError::TokenExpired, ApiError::InvalidToken].iter().map(ApiError::kind).collect();
        assert_eq!(kinds, ["unauthenticated", "token-expired", "invalid-token"]);
        let res = ApiError::TokenExpired.render(Lang::En, None);
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().get(header::WWW_AUTHENTICATE).is_some_and(|v| v.as_bytes().starts_with(b"Bearer")));
        assert_eq!(ApiError::Forbidden.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn adds_vroom_codes_to_the_problems_of_the_vroom_endpoint() {
        let field = FieldError::new("jobs[1].location_index", FieldProblem::Required);
        let e = ApiError::Vroom(Box::new(ApiError::Validation(vec![field])));
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = e.problem(Lang::En, Some("/v1/vroom"));
        assert_eq!((body["code"].as_u64(), body["type"].as_str()), (Some(2), Some("https://luckygas.tw/problems/validation")));
        assert_eq!(body["error"], "jobs[1].location_index: this field is required");
        assert_eq!(body["errors"][0]["field"], "jobs[1].location_index");
        let e = ApiError::Vroom(Box::new(ApiError::Internal("secret".into())));
        let body = e.problem(Lang::ZhTw, None);
        assert_eq!((body["code"].as_u64(), body["status"].as_u64()), (Some(1), Some(500)));
        assert!(!body.to_string().contains("secret"));
    }

    #[test]
    fn tells_throttled_and_busy_sign_ins_when_to_retry_in_both_languages() {
        let throttled = ApiError::LoginThrottled { retry_after: 120 };
        let res = throttled.render(Lang::En, Some("/v1/auth/login"));
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("120"));
        let body = throttled.problem(Lang::ZhTw, None);
        assert_eq!((body["type"].as_str(), body["retry_after"].as_u64()), (Some("https://luckygas.tw/problems/login-throttled"), Some(120)));
        assert!(body["detail"].as_str().is_some_and(|d| d.contains("120 秒")), "{body}");
        let busy = ApiError::HashingBusy { retry_after: 5 };
        let res = busy.render(Lang::ZhTw, None);
        assert_eq!((res.status(), res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok())), (StatusCode::SERVICE_UNAVAILABLE, Some("5")));
        assert_eq!(busy.problem(Lang::En, None)["title"], "Server busy");
        assert_eq!(ApiError::Forbidden.retry_after(), None);
    }

    #[test]
    fn tells_a_slow_client_that_its_body_timed_out_in_both_languages() {
        let e = ApiError::BodyTimeout { after_s: 30 };
        assert_eq!((e.status(), e.kind(), e.retry_after()), (StatusCode::REQUEST_TIMEOUT, "request-timeout", None));
        assert_eq!(e.problem(Lang::ZhTw, None)["detail"], "請求內容未在 30 秒內傳送完畢，連線已關閉");
        assert_eq!(e.problem(Lang::En, None)["title"], "Request timeout");
    }

    #[test]
    fn tells_rate_limited_clients_when_to_retry_in_both_languages() {
        let e = ApiError::RateLimited { retry_after_s: 17 };
        let res = e.render(Lang::ZhTw, None);
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("17"));
        assert_eq!(e.problem(Lang::En, None)["type"], "https://luckygas.tw/problems/rate-limited");
        assert!(e.problem(Lang::ZhTw, None)["detail"].as_str().is_some_and(|d| d.contains("17 秒")));
    }

    #[test]
    fn a_busy_or_absent_database_is_a_503_to_retry_later_in_both_languages() {
        for e in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed, sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into())] {
            let store = StoreError::from(e);
            assert!(matches!(store, StoreError::Unavailable(_)), "{store:?}");
            let api = ApiError::from(store);
            let res = api.render(Lang::En, Some("/v1/depots"));
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("5"));
            let zh = api.problem(Lang::ZhTw, None);
            assert_eq!(zh["type"], "https://luckygas.tw/problems/database-unavailable");
            assert!(zh["detail"].as_str().is_some_and(|d| d.contains("資料庫")), "{zh}");
            assert!(!api.problem(Lang::En, None).to_string().contains("pool"), "no raw error text");
        }
        let by_hand = StoreError::Database(sqlx::Error::PoolTimedOut);
        assert_eq!(ApiError::from(by_hand).status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(ApiError::from(StoreError::from(sqlx::Error::RowNotFound)).status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(ApiError::Internal("x".into()).render(Lang::En, None).headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn maps_store_conflicts_and_missing_rows() {
        assert_eq!(ApiError::from(StoreError::Duplicate { field: "code" }).status(), StatusCode::CONFLICT);
        assert_eq!(ApiError::from_store("customer")(StoreError::NotFound).status(), StatusCode::NOT_FOUND);
    }
}
