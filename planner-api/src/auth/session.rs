//! The flows: sign in with email and password, trade a refresh token for a new pair, sign out,
//! and create the first admin from the environment.

use super::config::{AdminBootstrap, AuthConfig};
use super::{password, token};
use crate::domain::{user, FieldError, Role, User};
use crate::store::{NewRefreshToken, Rotation, Store, StoreError};
use chrono::Utc;
use serde::Serialize;

/// What a successful sign-in or refresh returns.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// The JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Single-use token for `POST /v1/auth/refresh`.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Always `Bearer`.
    pub token_type: String,
}

/// Why a flow failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown email, wrong password or inactive user (not told apart, on purpose).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The refresh token is unknown.
    #[error("invalid refresh token")]
    InvalidToken,
    /// The refresh token expired.
    #[error("refresh token expired")]
    Expired,
    /// The refresh token was used before; its whole family is now revoked.
    #[error("refresh token reused")]
    Reused,
    /// The first admin's settings are invalid.
    #[error("invalid admin settings: {}", describe(.0))]
    InvalidAdmin(Vec<FieldError>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `email: pattern, password: too_short` (English messages, for the log).
fn describe(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("{} {}", e.field, e.message(crate::domain::Lang::En))).collect::<Vec<_>>().join("; ")
}

fn seconds(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)
}

/// Runs CPU-heavy hashing off the async executor.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("password hashing does not panic")
}

/// Issues an access token for `user` and stores a new refresh token in `family`.
async fn issue(store: &Store, config: &AuthConfig, user: &User, family: &str) -> Result<TokenPair, AuthError> {
    let now = Utc::now().timestamp();
    let (refresh, digest) = token::new_refresh_token();
    let t = NewRefreshToken { user_id: user.id, token_hash: &digest, family, issued_at: now, expires_at: now + seconds(config.refresh_ttl) };
    store.insert_refresh_token(&t).await?;
    Ok(pair(config, user, now, refresh))
}

fn pair(config: &AuthConfig, user: &User, now: i64, refresh_token: String) -> TokenPair {
    let claims = token::Claims { sub: user.id.to_string(), role: user.role, driver_id: user.driver_id, iat: now, exp: now + seconds(config.access_ttl) };
    TokenPair { access_token: config.keys.sign(&claims), refresh_token, expires_in: config.access_ttl.as_secs(), token_type: "Bearer".to_owned() }
}

/// Signs in: checks the password and returns a new token pair starting a new refresh family.
pub async fn login(store: &Store, config: &AuthConfig, email: &str, password: &str) -> Result<TokenPair, AuthError> {
    let email = email.trim().to_lowercase();
    let credentials = store.find_credentials(&email).await?;
    let pw = password.to_owned();
    let (user, ok) = match credentials {
        Some(c) => {
            let hash = c.password_hash;
            (Some(c.user), blocking(move || password::verify(&pw, &hash)).await)
        }
        None => (None, blocking(move || password::verify_against_nothing(&pw)).await),
    };
    match user {
        Some(user) if ok && user.active => issue(store, config, &user, &super::random_hex(16)).await,
        _ => Err(AuthError::InvalidCredentials),
    }
}

/// Trades a refresh token for a new pair; the old token is revoked. Presenting a revoked token
/// again revokes its family (someone else may hold a copy).
pub async fn refresh(store: &Store, config: &AuthConfig, refresh_token: &str) -> Result<TokenPair, AuthError> {
    let now = Utc::now().timestamp();
    let old = token::refresh_digest(refresh_token.trim());
    let (new, new_digest) = token::new_refresh_token();
    match store.rotate_refresh_token(&old, &new_digest, now, now + seconds(config.refresh_ttl)).await? {
        Rotation::Rotated(user) => Ok(pair(config, &user, now, new)),
        Rotation::Reused => {
            tracing::warn!("a used refresh token was presented again; its family is revoked");
            Err(AuthError::Reused)
        }
        Rotation::Expired => Err(AuthError::Expired),
        Rotation::Unknown => Err(AuthError::InvalidToken),
    }
}

/// Signs out: revokes the refresh token's family. Unknown tokens are ignored.
pub async fn logout(store: &Store, refresh_token: &str) -> Result<(), AuthError> {
    store.revoke_refresh_family(&token::refresh_digest(refresh_token.trim()), Utc::now().timestamp()).await?;
    Ok(())
}

/// Creates the admin from the environment unless a user with that email exists (an existing
/// user is left as it is: the environment does not reset passwords). Returns the new admin.
pub async fn bootstrap_admin(store: &Store, admin: &AdminBootstrap) -> Result<Option<User>, AuthError> {
    let mut errors = Vec::new();
    let email = user::normalize_email(&mut errors, &admin.email);
    user::check_password(&mut errors, &admin.password);
    if !errors.is_empty() {
        return Err(AuthError::InvalidAdmin(errors));
    }
    if store.find_credentials(&email).await?.is_some() {
        return Ok(None);
    }
    let pw = admin.password.clone();
    let hash = blocking(move || password::hash(&pw)).await;
    match store.create_user(&email, &hash, Role::Admin, None).await {
        Ok(user) => Ok(Some(user)),
        // Another replica created it at the same moment.
        Err(StoreError::Duplicate { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Changes a user, hashing a new password (off the executor) if there is one.
pub async fn update_user(store: &Store, id: i64, update: crate::domain::UserUpdate) -> Result<User, StoreError> {
    let hash = match update.password.clone() {
        Some(pw) => Some(blocking(move || password::hash(&pw)).await),
        None => None,
    };
    store.update_user(id, &update, hash.as_deref()).await
}

/// Hashes a new user's password (off the executor) and stores the user.
pub async fn create_user(store: &Store, new: crate::domain::NewUser) -> Result<User, StoreError> {
    let pw = new.password;
    let hash = blocking(move || password::hash(&pw)).await;
    store.create_user(&new.email, &hash, new.role, new.driver_id).await
}
