//! SQL of the one `Idempotency-Key` mechanism: per user and key, a hash of the request and,
//! once answered, the answer to replay.

use super::{with_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A stored answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Location`.
    pub location: Option<String>,
    /// Body.
    pub body: Vec<u8>,
}

/// What a request with a key may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// First use of the key (or a takeover of one whose request died): run the request.
    Run,
    /// Answered before: replay this.
    Replay(StoredAnswer),
    /// The first request with this key is still running.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

impl Store {
    /// Claims `key` of `user_id` for a request hashing to `hash`. A claim older than
    /// `stale_before` that never got an answer (its process died) is taken over.
    pub async fn claim_idempotency_key(
        &self,
        user_id: i64,
        key: &str,
        hash: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        with_pool!(self, pool => {
            let inserted = sqlx::query("INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, key) DO NOTHING")
                .bind(user_id).bind(key).bind(hash).bind(now).execute(pool).await?.rows_affected();
            if inserted == 1 {
                return Ok(Claim::Run);
            }
            let Some(r) = sqlx::query("SELECT request_hash, status, content_type, location, body, created_at FROM idempotency_keys WHERE user_id = $1 AND key = $2")
                .bind(user_id).bind(key).fetch_optional(pool).await? else {
                // Released between the insert and the read: the caller may retry.
                return Ok(Claim::InFlight);
            };
            let stored_hash: String = r.try_get("request_hash")?;
            if stored_hash != hash {
                return Ok(Claim::Mismatch);
            }
            let status: Option<i32> = r.try_get("status")?;
            match status {
                Some(status) => Ok(Claim::Replay(StoredAnswer {
                    status: u16::try_from(status).unwrap_or(200),
                    content_type: r.try_get("content_type")?,
                    location: r.try_get("location")?,
                    body: r.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
                })),
                None => {
                    let created: DateTime<Utc> = r.try_get("created_at")?;
                    if created >= stale_before {
                        return Ok(Claim::InFlight);
                    }
                    let taken = sqlx::query("UPDATE idempotency_keys SET created_at = $1 WHERE user_id = $2 AND key = $3 AND status IS NULL AND created_at = $4")
                        .bind(now).bind(user_id).bind(key).bind(created).execute(pool).await?.rows_affected();
                    Ok(if taken == 1 { Claim::Run } else { Claim::InFlight })
                }
            }
        })
    }

    /// Stores the answer of a claimed key.
    pub async fn answer_idempotency_key(&self, user_id: i64, key: &str, answer: &StoredAnswer) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE idempotency_keys SET status = $1, content_type = $2, location = $3, body = $4 WHERE user_id = $5 AND key = $6")
                .bind(i32::from(answer.status)).bind(&answer.content_type).bind(&answer.location).bind(&answer.body[..]).bind(user_id).bind(key)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// Frees a claimed key whose request failed: a retry runs again.
    pub async fn release_idempotency_key(&self, user_id: i64, key: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL").bind(user_id).bind(key).execute(pool).await?;
        });
        Ok(())
    }
}
