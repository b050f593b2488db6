//! SQL for users and refresh tokens. Passwords arrive here already hashed; refresh tokens arrive
//! as digests. Token times are Unix seconds.

use super::page::{fetch_page, Conditions, IdOrder};
use super::{with_pool, Page, PageRequest, Store, StoreError};
use crate::domain::{Role, User, UserUpdate};
use chrono::{DateTime, Utc};
use sqlx::Row;

const COLUMNS: &str = "id, email, role, driver_id, active, created_at, updated_at";

/// Reads a user (without the hash) from a row of either backend.
macro_rules! user_from_row {
    ($row:expr) => {{
        let row = $row;
        let role: String = row.try_get("role")?;
        Ok::<User, StoreError>(User {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            role: Role::parse(&role).ok_or_else(|| StoreError::Database(sqlx::Error::Decode(format!("unknown role {role:?}").into())))?,
            driver_id: row.try_get("driver_id")?,
            active: row.try_get("active")?,
            created_at: row.try_get::<DateTime<Utc>, _>("created_at")?,
            updated_at: row.try_get::<DateTime<Utc>, _>("updated_at")?,
        })
    }};
}

/// A user with the stored password hash, for signing in.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// The argon2 PHC string.
    pub password_hash: String,
}

/// A refresh token to store.
#[derive(Clone, Debug)]
pub struct NewRefreshToken<'a> {
    /// Whose token it is.
    pub user_id: i64,
    /// SHA-256 hex digest of the token.
    pub token_hash: &'a str,
    /// The chain of rotations it belongs to (all revoked together when a used token comes back).
    pub family: &'a str,
    /// When it was issued (Unix seconds).
    pub issued_at: i64,
    /// When it stops being accepted (Unix seconds).
    pub expires_at: i64,
}

/// What happened to a refresh token presented for rotation.
#[derive(Clone, Debug, PartialEq)]
pub enum Rotation {
    /// It was valid: it is now revoked and the new one is stored; here is its user.
    Rotated(User),
    /// It had been used (or revoked) before: every token of its family is now revoked.
    Reused,
    /// It expired.
    Expired,
    /// No such token, or its user is gone or inactive.
    Unknown,
}

impl Store {
    /// Stores a new user; a taken email gives [`StoreError::Duplicate`], an unknown driver id
    /// [`StoreError::UnknownReference`].
    pub async fn create_user(&self, email: &str, password_hash: &str, role: Role, driver_id: Option<i64>) -> Result<User, StoreError> {
        let now = Utc::now();
        let sql = format!(
            "INSERT INTO users (email, password_hash, role, driver_id, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, TRUE, $5, $5) RETURNING {COLUMNS}"
        );
        with_pool!(self, pool => {
            let result = sqlx::query(&sql).bind(email).bind(password_hash).bind(role.as_str()).bind(driver_id).bind(now).fetch_one(pool).await;
            match result {
                Ok(row) => user_from_row!(&row),
                Err(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => Err(StoreError::UnknownReference(vec!["driver_id"])),
                Err(e) => Err(super::unique("email")(e)),
            }
        })
    }

    /// Lists users by id, a page at a time (by offset or by key).
    pub async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StoreError> {
        let query = page.query(COLUMNS, "users", Conditions::default(), IdOrder::Ascending);
        let (items, total) = with_pool!(self, pool => fetch_page!(pool, query, |r| user_from_row!(r)));
        Ok(query.page(items, total, |u| u.id))
    }

    /// Reads one user.
    pub async fn get_user(&self, id: i64) -> Result<User, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.ok_or(StoreError::NotFound)?;
            user_from_row!(&row)
        })
    }

    /// Finds a user and their password hash by (lower-case) email.
    pub async fn find_credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError> {
        let sql = format!("SELECT {COLUMNS}, password_hash FROM users WHERE email = $1");
        with_pool!(self, pool => {
            match sqlx::query(&sql).bind(email).fetch_optional(pool).await? {
                Some(row) => Ok(Some(Credentials { password_hash: row.try_get("password_hash")?, user: user_from_row!(&row)? })),
                None => Ok(None),
            }
        })
    }

    /// Changes a user's role, driver, active flag and, when `password_hash` is given, password;
    /// revokes all their refresh tokens in the same transaction, so that the change takes hold
    /// at the latest when their current access token expires.
    pub async fn update_user(&self, id: i64, u: &UserUpdate, password_hash: Option<&str>) -> Result<User, StoreError> {
        let now = Utc::now();
        let sql = format!(
            "UPDATE users SET role = $1, driver_id = $2, active = $3, password_hash = COALESCE($4, password_hash), updated_at = $5 \
             WHERE id = $6 RETURNING {COLUMNS}"
        );
        let revoke = "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL";
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let result = sqlx::query(&sql)
                .bind(u.role.as_str()).bind(u.driver_id).bind(u.active).bind(password_hash).bind(now).bind(id)
                .fetch_optional(&mut *tx).await;
            let user = match result {
                Ok(Some(row)) => user_from_row!(&row)?,
                Ok(None) => return Err(StoreError::NotFound),
                Err(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => return Err(StoreError::UnknownReference(vec!["driver_id"])),
                Err(e) => return Err(e.into()),
            };
            sqlx::query(revoke).bind(now.timestamp()).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(user)
        })
    }

    /// Deletes a user and, with them, their refresh tokens.
    pub async fn delete_user(&self, id: i64) -> Result<(), StoreError> {
        let affected = with_pool!(self, pool => sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
        if affected == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Stores a refresh token.
    pub async fn insert_refresh_token(&self, t: &NewRefreshToken<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO refresh_tokens (user_id, token_hash, family, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
        with_pool!(self, pool => {
            sqlx::query(sql).bind(t.user_id).bind(t.token_hash).bind(t.family).bind(t.issued_at).bind(t.expires_at).execute(pool).await?;
        });
        Ok(())
    }

    /// Rotates a refresh token: in one transaction, revokes the token with digest `old_hash` if
    /// it is live and its user active, and stores `new` in the same family (its `user_id` and
    /// `family` are taken from the old token). The revoking `UPDATE … WHERE revoked_at IS NULL`
    /// is what makes a token single-use even under concurrent requests: only one of them
    /// changes the row.
    ///
    /// A token rotated at most `grace_secs` ago whose family is still live (not signed out,
    /// not revoked) may be traded once more: two tabs refreshing at the same moment each get a
    /// working pair in the same family. Any other revoked token, or a rotated one presented
    /// after the grace window, revokes its whole family (someone else holds a copy).
    pub async fn rotate_refresh_token(&self, old_hash: &str, new_hash: &str, now: i64, new_expires_at: i64, grace_secs: i64) -> Result<Rotation, StoreError> {
        let revoke = "UPDATE refresh_tokens SET revoked_at = $1, rotated_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL AND expires_at > $1 \
                      RETURNING user_id, family";
        let user_sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1 AND active");
        let insert = "INSERT INTO refresh_tokens (user_id, token_hash, family, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
        let status = "SELECT user_id, family, revoked_at, rotated_at FROM refresh_tokens WHERE token_hash = $1";
        let family_live = "SELECT COUNT(*) FROM refresh_tokens WHERE family = $1 AND revoked_at IS NULL AND expires_at > $2";
        let revoke_family = "UPDATE refresh_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL";
        // SQLite: take the write lock up front. A deferred transaction would read a snapshot
        // first and fail with SQLITE_BUSY when a concurrent rotation commits in between.
        let begin = match self {
            Store::Sqlite(_) => "BEGIN IMMEDIATE",
            Store::Postgres(_) => "BEGIN",
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            let (user_id, family) = match sqlx::query(revoke).bind(now).bind(old_hash).fetch_optional(&mut *tx).await? {
                Some(row) => (row.try_get::<i64, _>("user_id")?, row.try_get::<String, _>("family")?),
                None => {
                    let Some(row) = sqlx::query(status).bind(old_hash).fetch_optional(&mut *tx).await? else {
                        tx.commit().await?;
                        return Ok(Rotation::Unknown);
                    };
                    let (revoked_at, rotated_at): (Option<i64>, Option<i64>) = (row.try_get("revoked_at")?, row.try_get("rotated_at")?);
                    let (user_id, family): (i64, String) = (row.try_get("user_id")?, row.try_get("family")?);
                    let Some(revoked_at) = revoked_at else {
                        tx.commit().await?;
                        return Ok(Rotation::Expired);
                    };
                    // Rotated (not revoked otherwise) within the grace window, and the family
                    // still has its live successor: a concurrent refresh.
                    let in_grace = rotated_at == Some(revoked_at) && now - revoked_at <= grace_secs;
                    let live: i64 = if in_grace { sqlx::query_scalar(family_live).bind(&family).bind(now).fetch_one(&mut *tx).await? } else { 0 };
                    if live == 0 {
                        sqlx::query(revoke_family).bind(now).bind(&family).execute(&mut *tx).await?;
                        tx.commit().await?;
                        return Ok(Rotation::Reused);
                    }
                    (user_id, family)
                }
            };
            let Some(user_row) = sqlx::query(&user_sql).bind(user_id).fetch_optional(&mut *tx).await? else {
                tx.commit().await?;
                return Ok(Rotation::Unknown);
            };
            let user = user_from_row!(&user_row)?;
            sqlx::query(insert).bind(user_id).bind(new_hash).bind(&family).bind(now).bind(new_expires_at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Rotation::Rotated(user))
        })
    }

    /// The latest lock, if any, on the sign-ins of `account` (an email) or from `address`:
    /// which of the two (`account` or `address`) and until when (Unix seconds).
    pub async fn login_lock(&self, account: &str, address: &str, now: i64) -> Result<Option<(&'static str, i64)>, StoreError> {
        let sql = "SELECT scope, locked_until FROM login_throttle \
                   WHERE ((scope = 'account' AND subject = $1) OR (scope = 'address' AND subject = $2)) AND locked_until > $3 \
                   ORDER BY locked_until DESC LIMIT 1";
        with_pool!(self, pool => {
            let row = sqlx::query(sql).bind(account).bind(address).bind(now).fetch_optional(pool).await?;
            match row {
                Some(row) => {
                    let scope: String = row.try_get("scope")?;
                    let scope = if scope == "account" { "account" } else { "address" };
                    Ok(Some((scope, row.try_get("locked_until")?)))
                }
                None => Ok(None),
            }
        })
    }

    /// Counts a failed sign-in of `subject` in `scope` (`account`: an email, `address`: a
    /// client address), forgetting earlier failures when neither a failure nor a lock came after
    /// `forgotten_before`, and locks it for `lock_after(failures)` seconds (0: no lock); returns
    /// the failures counted in a row and the lock's end (Unix seconds, `0` when none). Each
    /// statement is atomic, so concurrent failures on any replica all count, and a lock only
    /// ever grows.
    pub async fn record_login_failure(
        &self,
        scope: &'static str,
        subject: &str,
        now: i64,
        forgotten_before: i64,
        lock_after: impl Fn(u32) -> i64,
    ) -> Result<(u32, i64), StoreError> {
        let count = "INSERT INTO login_throttle (scope, subject, failures, last_failure_at, locked_until) VALUES ($1, $2, 1, $3, 0) \
                     ON CONFLICT (scope, subject) DO UPDATE SET \
                     failures = CASE WHEN login_throttle.last_failure_at < $4 AND login_throttle.locked_until < $4 THEN 1 \
                                     ELSE login_throttle.failures + 1 END, \
                     last_failure_at = $3 \
                     RETURNING failures, locked_until";
        let lock = "UPDATE login_throttle SET locked_until = $1 WHERE scope = $2 AND subject = $3 AND locked_until < $1 RETURNING locked_until";
        with_pool!(self, pool => {
            let row = sqlx::query(count).bind(scope).bind(subject).bind(now).bind(forgotten_before).fetch_one(pool).await?;
            let failures = u32::try_from(row.try_get::<i64, _>("failures")?).unwrap_or(u32::MAX);
            let mut locked_until: i64 = row.try_get("locked_until")?;
            let lock_for = lock_after(failures);
            if lock_for > 0 {
                let until = now.saturating_add(lock_for);
                let updated = sqlx::query_scalar::<_, i64>(lock).bind(until).bind(scope).bind(subject).fetch_optional(pool).await?;
                locked_until = locked_until.max(updated.unwrap_or(until));
            }
            Ok((failures, locked_until))
        })
    }

    /// Forgets the failed sign-ins of `account` (after a successful one).
    pub async fn clear_login_failures(&self, account: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM login_throttle WHERE scope = 'account' AND subject = $1").bind(account).execute(pool).await?;
        });
        Ok(())
    }

    /// Deletes at most `batch` sign-in throttle rows of `scope` (`account` or `address`) that
    /// are spent: no failure and no lock since `forgotten_before`, so the next failure would
    /// count from 1 anyway and no lock is running (see [`Store::record_login_failure`]);
    /// returns how many.
    pub async fn prune_login_throttle(&self, scope: &'static str, forgotten_before: i64, batch: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM login_throttle WHERE (scope, subject) IN \
                   (SELECT scope, subject FROM login_throttle WHERE scope = $1 AND last_failure_at < $2 AND locked_until < $2 LIMIT $3)";
        with_pool!(self, pool => {
            Ok(sqlx::query(sql).bind(scope).bind(forgotten_before).bind(batch).execute(pool).await?.rows_affected())
        })
    }

    /// Revokes every live refresh token of the family the token with digest `token_hash`
    /// belongs to (sign-out); unknown tokens are ignored.
    pub async fn revoke_refresh_family(&self, token_hash: &str, now: i64) -> Result<(), StoreError> {
        let sql = "UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND family = \
                   (SELECT family FROM refresh_tokens WHERE token_hash = $2)";
        with_pool!(self, pool => {
            sqlx::query(sql).bind(now).bind(token_hash).execute(pool).await?;
        });
        Ok(())
    }
}
