//! Tokens. Access tokens are HS256 JWTs carrying the user id, role and driver id, valid for a
//! short time and checked without the database. Refresh tokens are 256-bit random strings, stored
//! only as SHA-256 digests, each usable once (see `Store::rotate_refresh_token`).

use crate::domain::Role;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (JWT's `sub`).
    pub sub: String,
    /// The user's role when the token was issued.
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

/// Why an access token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token was valid but its time is over.
    #[error("token expired")]
    Expired,
    /// Bad signature, malformed, wrong algorithm, or claims that make no sense.
    #[error("invalid token")]
    Invalid,
}

/// The HMAC key that signs and checks access tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

impl JwtKeys {
    /// Keys from a secret (at least 32 bytes; [`super::AuthConfig`] checks that).
    pub fn new(secret: &[u8]) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        // Tokens are issued and checked by the same clock; no grace period.
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtKeys { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    /// Signs `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks a token's signature and expiry and returns who it names.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
        let claims = data.claims;
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
    fn tells_expired_tokens_from_forged_and_garbled_ones() {
        let keys = JwtKeys::new(&[7u8; 32]);
        assert_eq!(keys.verify(&keys.sign(&claims(-10))), Err(TokenError::Expired));
        let forged = JwtKeys::new(&[8u8; 32]).sign(&claims(60));
        assert_eq!(keys.verify(&forged), Err(TokenError::Invalid));
        assert_eq!(keys.verify("not.a.token"), Err(TokenError::Invalid));
    }

    #[test]
    fn stores_refresh_tokens_by_digest_only() {
        let (token, digest) = new_refresh_token();
        assert_eq!((token.len(), digest.len()), (64, 64));
        assert_eq!(refresh_digest(&token), digest);
        assert_ne!(token, digest);
    }
}
