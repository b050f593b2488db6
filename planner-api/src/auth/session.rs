//! The flows: sign in with email and password, trade a refresh token for a new pair, sign out,
//! and create the first admin from the environment.

use super::config::{AdminBootstrap, AuthConfig};
use super::password::{self, Busy};
use super::throttle::Scope;
use super::token;
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

/// Why a sign-in was refused, for the log and the metrics (clients see one answer for all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    /// No user has this email.
    UnknownEmail,
    /// The password is wrong.
    WrongPassword,
    /// The user is deactivated.
    Inactive,
}

impl LoginFailure {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginFailure::UnknownEmail => "unknown_email",
            LoginFailure::WrongPassword => "wrong_password",
            LoginFailure::Inactive => "inactive",
        }
    }
}

/// Why a flow failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown email, wrong password or inactive user (not told apart to clients, on purpose).
    #[error("invalid credentials ({})", .0.as_str())]
    InvalidCredentials(LoginFailure),
    /// Too many failed sign-ins of this account or from this address: no password was checked.
    #[error("sign-in throttled ({scope}) for {retry_after} s")]
    Throttled {
        /// `account` or `address`.
        scope: &'static str,
        /// Seconds until the lock ends.
        retry_after: u64,
    },
    /// Password hashing is saturated (too many sign-ins at once).
    #[error(transparent)]
    Busy(#[from] Busy),
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
    /// A user's fields are invalid in the light of stored data (a new password containing
    /// the user's email).
    #[error("invalid: {}", describe(.0))]
    Invalid(Vec<FieldError>),
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

/// Refuses the attempt when the account or the address is locked.
async fn unless_locked(store: &Store, email: &str, address: &str) -> Result<(), AuthError> {
    let now = Utc::now().timestamp();
    match store.login_lock(email, address, now).await? {
        Some((scope, until)) => Err(AuthError::Throttled { scope, retry_after: u64::try_from(until - now).unwrap_or(1).max(1) }),
        None => Ok(()),
    }
}

/// Counts a failed sign-in against the account and the address (see [`super::throttle`]).
async fn count_failure(store: &Store, config: &AuthConfig, email: &str, address: &str) -> Result<(), AuthError> {
    let now = Utc::now().timestamp();
    for (scope, subject, limit) in [(Scope::Account, email, config.throttle.account), (Scope::Address, address, config.throttle.address)] {
        let forgotten_before = now - seconds(limit.window);
        store.record_login_failure(scope.as_str(), subject, now, forgotten_before, |n| seconds(limit.lock_after(n))).await?;
    }
    Ok(())
}

/// Signs in from client `address`: unless the email or the address is locked by earlier
/// failures, waits for a hashing slot, checks the password and returns a new token pair
/// starting a new refresh family. A failure is counted against both; a success clears the
/// account's count.
pub async fn login(store: &Store, config: &AuthConfig, email: &str, password: &str, address: &str) -> Result<TokenPair, AuthError> {
    let email = email.trim().to_lowercase();
    // Cheap refusal first: a locked attempt neither queues nor hashes.
    unless_locked(store, &email, address).await?;
    let credentials = store.find_credentials(&email).await?;
    let slot = password::limiter().slot().await?;
    // Attempts queued together: failures counted while this one waited may have locked it.
    unless_locked(store, &email, address).await?;
    let (user, ok) = match credentials {
        Some(c) => {
            let ok = slot.verify(password, &c.password_hash).await;
            (Some(c.user), ok)
        }
        None => (None, slot.verify_against_nothing(password).await),
    };
    let failure = match &user {
        Some(user) if ok && user.active => None,
        Some(user) if ok && !user.active => Some(LoginFailure::Inactive),
        Some(_) => Some(LoginFailure::WrongPassword),
        None => Some(LoginFailure::UnknownEmail),
    };
    match (failure, user) {
        (None, Some(user)) => {
            store.clear_login_failures(&email).await?;
            issue(store, config, &user, &super::random_hex(16)).await
        }
        (failure, _) => {
            count_failure(store, config, &email, address).await?;
            Err(AuthError::InvalidCredentials(failure.unwrap_or(LoginFailure::UnknownEmail)))
        }
    }
}

/// Trades a refresh token for a new pair; the old token is revoked. Presenting a revoked token
/// again revokes its family (someone else may hold a copy), unless it was rotated within the
/// grace window and its family is live (two tabs refreshing at once).
pub async fn refresh(store: &Store, config: &AuthConfig, refresh_token: &str) -> Result<TokenPair, AuthError> {
    let now = Utc::now().timestamp();
    let old = token::refresh_digest(refresh_token.trim());
    let (new, new_digest) = token::new_refresh_token();
    match store.rotate_refresh_token(&old, &new_digest, now, now + seconds(config.refresh_ttl), seconds(config.refresh_grace)).await? {
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
/// user is left as it is: the environment does not reset passwords). The password must pass
/// the password policy. Returns the new admin.
pub async fn bootstrap_admin(store: &Store, admin: &AdminBootstrap) -> Result<Option<User>, AuthError> {
    let mut errors = Vec::new();
    let email = user::normalize_email(&mut errors, &admin.email);
    user::check_password(&mut errors, &admin.password, Some(&email));
    if !errors.is_empty() {
        return Err(AuthError::InvalidAdmin(errors));
    }
    if store.find_credentials(&email).await?.is_some() {
        return Ok(None);
    }
    let hash = password::limiter().hash(&admin.password).await?;
    match store.create_user(&email, &hash, Role::Admin, None).await {
        Ok(user) => Ok(Some(user)),
        // Another replica created it at the same moment.
        Err(StoreError::Duplicate { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Changes a user, checking a new password against their email and hashing it (under the
/// hashing bound). The store revokes the user's refresh tokens in the same transaction, so a
/// deactivated or demoted user's sessions end (their access tokens stop at the next request:
/// the bearer middleware reads the user's row).
pub async fn update_user(store: &Store, id: i64, update: crate::domain::UserUpdate) -> Result<User, AuthError> {
    let hash = match &update.password {
        Some(pw) => {
            let current = store.get_user(id).await?;
            let mut errors = Vec::new();
            user::check_password(&mut errors, pw, Some(&current.email));
            if !errors.is_empty() {
                return Err(AuthError::Invalid(errors));
            }
            Some(password::limiter().hash(pw).await?)
        }
        None => None,
    };
    Ok(store.update_user(id, &update, hash.as_deref()).await?)
}

/// Hashes a new user's password (under the hashing bound) and stores the user.
pub async fn create_user(store: &Store, new: crate::domain::NewUser) -> Result<User, AuthError> {
    let hash = password::limiter().hash(&new.password).await?;
    Ok(store.create_user(&new.email, &hash, new.role, new.driver_id).await?)
}
