//! SQL of the audit log: rows are inserted, listed newest first, never changed or deleted.

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
}

/// Which entries a list returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this user's.
    pub user_id: Option<i64>,
    /// Only writes to paths starting with this (`/v1/orders/7`).
    pub path_prefix: Option<String>,
}

const COLUMNS: &str = "id, at, user_id, actor, method, path, route, status, request_id";
const FILTER: &str = "($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR path = $2 OR path LIKE $3)";

impl Store {
    /// Appends an entry.
    pub async fn insert_audit(&self, e: &NewAuditEntry<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO audit_log (at, user_id, actor, method, path, route, status, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
        with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(now).bind(e.user_id).bind(e.actor).bind(e.method).bind(e.path).bind(e.route).bind(e.status).bind(e.request_id)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// Entries newest first, filtered, a page at a time.
    pub async fn list_audit(&self, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditEntry>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE {FILTER} ORDER BY id DESC LIMIT $4 OFFSET $5");
        let count = format!("SELECT COUNT(*) FROM audit_log WHERE {FILTER}");
        let prefix = filter.path_prefix.as_deref();
        // `LIKE` wildcards in the prefix are taken literally by escaping them.
        let like = prefix.map(|p| format!("{}/%", p.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
        let like_sql = sql.replace("LIKE $3", "LIKE $3 ESCAPE '\\'");
        let count_sql = count.replace("LIKE $3", "LIKE $3 ESCAPE '\\'");
        let (items, total) = with_pool!(self, pool => {
            let rows = sqlx::query(&like_sql).bind(filter.user_id).bind(prefix).bind(&like).bind(page.limit).bind(page.offset).fetch_all(pool).await?;
            let total: i64 = sqlx::query_scalar(&count_sql).bind(filter.user_id).bind(prefix).bind(&like).fetch_one(pool).await?;
            let items = rows
                .iter()
                .map(|r| {
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
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            (items, total)
        });
        Ok(Page { items, total })
    }
}
