//! SQL of the audit log: rows are inserted, listed newest first, never changed or deleted.

use super::page::{fetch_page, Bound, Conditions, IdOrder};
use super::{with_pool, Page, PageRequest, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

/// One write the server accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Identifier, increasing.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The signed-in user.
    pub user_id: i64,
    /// Their email at the time.
    pub actor: String,
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The path written (`/v1/orders/7/status`).
    pub path: String,
    /// Its route (`/v1/orders/{id}/status`).
    pub route: String,
    /// The answer's status.
    pub status: i32,
    /// The request's `x-request-id`, to find it in the logs.
    pub request_id: Option<String>,
    /// What the decision was, where the handler says (an accountant's match: the payment, the
    /// invoices and amounts), as JSON.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

/// A row to insert.
#[derive(Clone, Debug)]
pub struct NewAuditEntry<'a> {
    /// The signed-in user.
    pub user_id: i64,
    /// Their email.
    pub actor: &'a str,
    /// The method.
    pub method: &'a str,
    /// The path.
    pub path: &'a str,
    /// The route.
    pub route: &'a str,
    /// The answer's status.
    pub status: i32,
    /// The request id.
    pub request_id: Option<&'a str>,
    /// What the decision was (JSON).
    pub detail: Option<&'a serde_json::Value>,
}

/// Which entries a list returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this user's.
    pub user_id: Option<i64>,
    /// Only writes to paths starting with this (`/v1/orders/7`).
    pub path_prefix: Option<String>,
}

const COLUMNS: &str = "id, at, user_id, actor, method, path, route, status, request_id, detail";

impl Store {
    /// Appends an entry.
    pub async fn insert_audit(&self, e: &NewAuditEntry<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO audit_log (at, user_id, actor, method, path, route, status, request_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
        with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(now).bind(e.user_id).bind(e.actor).bind(e.method).bind(e.path).bind(e.route).bind(e.status).bind(e.request_id)
                .bind(e.detail.map(|d| d.to_string())).execute(pool).await?;
        });
        Ok(())
    }

    /// Entries newest first, filtered, a page at a time (by offset or by key). A user's keyset
    /// pages scan `audit_log_user` on `(user_id, id)`; a path's are found through
    /// `audit_log_path_id` (migration 0020) and sorted: as many rows as that record's writes.
    pub async fn list_audit(&self, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditEntry>, StoreError> {
        let mut conditions = Conditions::default();
        if let Some(user_id) = filter.user_id {
            conditions.eq("user_id", Bound::Int(user_id));
        }
        if let Some(prefix) = &filter.path_prefix {
            // The path itself or one under it: `prefix/` <= path < `prefix0` ('0' follows '/'),
            // compared byte by byte on both backends (PostgreSQL's "C" collation, as its index
            // is built; SQLite's default), so an index serves it where `LIKE` could not.
            let path = match self {
                Store::Sqlite(_) => "path",
                Store::Postgres(_) => "path COLLATE \"C\"",
            };
            let exact = conditions.param(Bound::Text(prefix.into()));
            let low = conditions.param(Bound::Text(format!("{prefix}/").into()));
            let high = conditions.param(Bound::Text(format!("{prefix}0").into()));
            conditions.term(format!("({path} = {exact} OR ({path} >= {low} AND {path} < {high}))"));
        }
        let query = page.query(COLUMNS, "audit_log", conditions, IdOrder::Descending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| {
            Ok::<_, sqlx::Error>(AuditEntry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                user_id: r.try_get("user_id")?,
                actor: r.try_get("actor")?,
                method: r.try_get("method")?,
                path: r.try_get("path")?,
                route: r.try_get("route")?,
                status: r.try_get("status")?,
                request_id: r.try_get("request_id")?,
                detail: r.try_get::<Option<String>, _>("detail")?.and_then(|d| serde_json::from_str(&d).ok()),
            })
        }));
        Ok(query.page(items, total, |e| e.id))
    }
}
