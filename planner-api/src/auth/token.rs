//! Tokens. Access tokens are HS256 JWTs carrying the user id, role and driver id, the issuer and
//! the audience, valid for a short time; the bearer middleware checks them and then reads the
//! user's row (see `http::access`). Refresh tokens are 256-bit random strings, stored only as
//! SHA-256 digests, each usable once (see `Store::rotate_refresh_token`).
//!
//! The JWT codec is `luckygas_wire::jwt` (kept apart so that it is fuzzed: one algorithm, HS256;
//! other algorithms refused before any key is touched; the MAC compared in constant time; key
//! ids for rotations, the current key signs and a previous key still verifies until it is
//! removed). This module chooses the claims and reads the caller out of them.

use crate::domain::Role;
use luckygas_wire::jwt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use luckygas_wire::jwt::{key_id, TokenError, DEFAULT_AUDIENCE, DEFAULT_ISSUER};

/// The claims of an access token that name the caller (the issuer and audience are added and
/// checked by [`JwtKeys`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (JWT's `sub`).
    pub sub: String,
    /// The user's role when the token was issued (the middleware uses the stored role).
    pub role: Role,
    /// The driver record of a driver user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_id: Option<i64>,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

/// Who is making a request, from a verified access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user id.
    pub user_id: i64,
    /// The role.
    pub role: Role,
    /// The driver record of a driver user.
    pub driver_id: Option<i64>,
}

/// The keys that sign and check access tokens, and the issuer and audience they carry.
#[derive(Clone, Debug)]
pub struct JwtKeys(jwt::Keys);

impl JwtKeys {
    /// Keys from one secret, with the default issuer and audience and no previous key.
    /// (`AuthConfig` checks the secret's strength when it comes from the environment.)
    pub fn new(secret: &[u8]) -> JwtKeys {
        JwtKeys(jwt::Keys::new(secret))
    }

    /// These keys with `secret` as the previous key: it no longer signs but still verifies the
    /// tokens it signed, until it is removed (a rotation).
    pub fn with_previous(self, secret: &[u8]) -> JwtKeys {
        JwtKeys(self.0.with_previous(secret))
    }

    /// These keys writing and requiring another issuer and audience.
    pub fn with_issuer_and_audience(self, issuer: &str, audience: &str) -> JwtKeys {
        JwtKeys(self.0.with_issuer_and_audience(issuer, audience))
    }

    /// The id of the key that signs.
    pub fn key_id(&self) -> &str {
        self.0.key_id()
    }

    /// The id of the previous key, if one is still accepted.
    pub fn previous_key_id(&self) -> Option<&str> {
        self.0.previous_key_id()
    }

    /// Signs `claims` with the current key, adding the issuer and audience.
    pub fn sign(&self, claims: &Claims) -> String {
        self.0.sign(claims)
    }

    /// Checks a token (see `luckygas_wire::jwt::Keys::verify`) against the current time and
    /// returns who it names; a subject that is not a user id is [`TokenError::Invalid`].
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let claims: Claims = self.0.verify(token, chrono::Utc::now().timestamp())?;
        let user_id = claims.sub.parse::<i64>().map_err(|_| TokenError::Invalid)?;
        Ok(Principal { user_id, role: claims.role, driver_id: claims.driver_id })
    }
}

/// A new refresh token: what the client gets and the digest the store keeps.
pub fn new_refresh_token() -> (String, String) {
    let token = super::random_hex(32);
    let digest = refresh_digest(&token);
    (token, digest)
}

/// The SHA-256 hex digest under which a refresh token is stored. (A plain hash suffices: the
/// token is 256 random bits, not a guessable password.)
pub fn refresh_digest(token: &str) -> String {
    super::hex(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_from_now: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims { sub: "7".into(), role: Role::Driver, driver_id: Some(3), iat: now, exp: now + exp_from_now }
    }

    #[test]
    fn verifies_its_own_tokens_and_names_the_user() {
        let keys = JwtKeys::new(&[7u8; 32]);
        let p = keys.verify(&keys.sign(&claims(60)));
        assert_eq!(p, Ok(Principal { user_id: 7, role: Role::Driver, driver_id: Some(3) }));
    }

    #[test]
    fn tells_expired_tokens_and_other_keys_and_audiences_from_good_ones() {
        let keys = JwtKeys::new(&[7u8; 32]);
        assert_eq!(keys.verify(&keys.sign(&claims(-10))), Err(TokenError::Expired));
        assert_eq!(keys.verify(&JwtKeys::new(&[8u8; 32]).sign(&claims(60))), Err(TokenError::Invalid));
        let elsewhere = JwtKeys::new(&[7u8; 32]).with_issuer_and_audience(DEFAULT_ISSUER, "another-api");
        assert_eq!(keys.verify(&elsewhere.sign(&claims(60))), Err(TokenError::Invalid));
        let rotated = JwtKeys::new(&[9u8; 32]).with_previous(&[7u8; 32]);
        assert_eq!(rotated.previous_key_id(), Some(keys.key_id()));
        assert!(rotated.verify(&keys.sign(&claims(60))).is_ok());
    }

    #[test]
    fn refuses_a_subject_that_is_not_a_user_id_and_an_unknown_role() {
        let keys = JwtKeys::new(&[7u8; 32]);
        let not_an_id = Claims { sub: "admin".into(), ..claims(60) };
        assert_eq!(keys.verify(&keys.sign(&not_an_id)), Err(TokenError::Invalid));
        let exp = chrono::Utc::now().timestamp() + 60;
        let wire_keys = jwt::Keys::new(&[7u8; 32]);
        let unknown_role = wire_keys.sign(&serde_json::json!({ "sub": "7", "role": "owner", "iat": 0, "exp": exp }));
        assert_eq!(keys.verify(&unknown_role), Err(TokenError::Invalid));
    }

    #[test]
    fn stores_refresh_tokens_by_digest_only() {
        let (token, digest) = new_refresh_token();
        assert_eq!((token.len(), digest.len()), (64, 64));
        assert_eq!(refresh_digest(&token), digest);
        assert_ne!(token, digest);
    }
}
