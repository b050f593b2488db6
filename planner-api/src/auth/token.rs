//! Tokens. Access tokens are HS256 JWTs carrying the user id, role and driver id, the issuer and
//! the audience, valid for a short time; the bearer middleware checks them and then reads the
//! user's row (see `http::access`). Refresh tokens are 256-bit random strings, stored only as
//! SHA-256 digests, each usable once (see `Store::rotate_refresh_token`).
//!
//! The JWT code is ours and small on purpose: one algorithm (HS256, HMAC-SHA-256) and nothing
//! else. A header naming any other algorithm (`none`, `RS256`, …) is refused before any key is
//! touched, and the MAC is compared in constant time. Each key has a key id (`kid`, the first
//! 8 bytes of the key's SHA-256 in hex) written into the header, so that during a key rotation
//! a token is checked with the key that signed it: the current key signs, a previous key still
//! verifies until it is removed.

use crate::domain::Role;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The issuer written into and required of access tokens unless configured otherwise.
pub const DEFAULT_ISSUER: &str = "luckygas";
/// The audience written into and required of access tokens unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "luckygas-api";
/// Longest token accepted for checking, in bytes (ours are about 350): longer input is refused
/// before it is decoded.
const MAX_TOKEN_BYTES: usize = 4096;

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

/// The payload as signed: the claims plus issuer and audience.
#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(flatten)]
    claims: Claims,
    iss: String,
    aud: Audience,
}

/// `aud` is a string or a list of strings (RFC 7519 §4.1.3); we write a string.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(list) => list.iter().any(|a| a == audience),
        }
    }
}

/// The JOSE header.
#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
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
    /// Bad signature, malformed, wrong algorithm, unknown key id, wrong issuer or audience, or
    /// claims that make no sense.
    #[error("invalid token")]
    Invalid,
}

/// One HMAC key and its id.
#[derive(Clone)]
struct Key {
    id: String,
    secret: Vec<u8>,
}

impl Key {
    fn new(secret: &[u8]) -> Key {
        Key { id: key_id(secret), secret: secret.to_vec() }
    }

    fn mac(&self, signing_input: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC accepts any key length");
        mac.update(signing_input);
        mac
    }
}

/// The id of a key: the first 8 bytes of its SHA-256, in hex. It names the key without
/// revealing it (the key itself has at least 256 bits; see `AuthConfig`).
pub fn key_id(secret: &[u8]) -> String {
    super::hex(&Sha256::digest(secret)[..8])
}

/// The keys that sign and check access tokens, and the issuer and audience they carry.
#[derive(Clone)]
pub struct JwtKeys {
    current: Key,
    previous: Option<Key>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("kid", &self.current.id)
            .field("previous_kid", &self.previous.as_ref().map(|k| &k.id))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys from one secret, with the default issuer and audience and no previous key.
    /// (`AuthConfig` checks the secret's strength when it comes from the environment.)
    pub fn new(secret: &[u8]) -> JwtKeys {
        JwtKeys { current: Key::new(secret), previous: None, issuer: DEFAULT_ISSUER.to_owned(), audience: DEFAULT_AUDIENCE.to_owned() }
    }

    /// These keys with `secret` as the previous key: it no longer signs but still verifies the
    /// tokens it signed, until it is removed (a rotation).
    pub fn with_previous(mut self, secret: &[u8]) -> JwtKeys {
        self.previous = Some(Key::new(secret));
        self
    }

    /// These keys writing and requiring another issuer and audience.
    pub fn with_issuer_and_audience(mut self, issuer: &str, audience: &str) -> JwtKeys {
        issuer.clone_into(&mut self.issuer);
        audience.clone_into(&mut self.audience);
        self
    }

    /// The id of the key that signs.
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// The id of the previous key, if one is still accepted.
    pub fn previous_key_id(&self) -> Option<&str> {
        self.previous.as_ref().map(|k| k.id.as_str())
    }

    /// Signs `claims` with the current key, adding the issuer and audience.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header { alg: "HS256".to_owned(), typ: Some("JWT".to_owned()), kid: Some(self.current.id.clone()) };
        let payload = Payload { claims: claims.clone(), iss: self.issuer.clone(), aud: Audience::One(self.audience.clone()) };
        // Plain structs of strings and numbers always serialise.
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("a JWT header serialises"));
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).expect("JWT claims serialise"));
        let signing_input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.current.mac(signing_input.as_bytes()).finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Checks a token: the header's algorithm (HS256 only) and key id, the signature (constant
    /// time), then the issuer, audience and expiry; returns who it names.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Invalid);
        };
        let header: Header = decode_json(header_b64)?;
        if header.alg != "HS256" || header.typ.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("JWT")) {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let key = std::iter::once(&self.current).chain(self.previous.as_ref()).find(|k| k.id == kid).ok_or(TokenError::Invalid)?;
        let signature = URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| TokenError::Invalid)?;
        let signing_input_len = header_b64.len() + 1 + payload_b64.len();
        key.mac(&token.as_bytes()[..signing_input_len]).verify_slice(&signature).map_err(|_| TokenError::Invalid)?;
        // Only signed payloads are read.
        let payload: Payload = decode_json(payload_b64)?;
        if payload.iss != self.issuer || !payload.aud.contains(&self.audience) {
            return Err(TokenError::Invalid);
        }
        let claims = payload.claims;
        if claims.exp < chrono::Utc::now().timestamp() {
            return Err(TokenError::Expired);
        }
        let user_id = claims.sub.parse::<i64>().map_err(|_| TokenError::Invalid)?;
        Ok(Principal { user_id, role: claims.role, driver_id: claims.driver_id })
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Invalid)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Invalid)
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

    fn b64(json: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    #[test]
    fn verifies_its_own_tokens_and_names_the_user() {
        let keys = JwtKeys::new(&[7u8; 32]);
        let p = keys.verify(&keys.sign(&claims(60)));
        assert_eq!(p, Ok(Principal { user_id: 7, role: Role::Driver, driver_id: Some(3) }));
    }

    #[test]
    fn writes_the_algorithm_type_key_id_issuer_and_audience() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdefXY");
        let token = keys.sign(&claims(60));
        let parts: Vec<&str> = token.split('.').collect();
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header, serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": keys.key_id() }));
        assert_eq!(keys.key_id().len(), 16);
        let payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!((payload["iss"].as_str(), payload["aud"].as_str(), payload["sub"].as_str()), (Some(DEFAULT_ISSUER), Some(DEFAULT_AUDIENCE), Some("7")));
    }

    #[test]
    fn tells_expired_tokens_from_forged_and_garbled_ones() {
        let keys = JwtKeys::new(&[7u8; 32]);
        assert_eq!(keys.verify(&keys.sign(&claims(-10))), Err(TokenError::Expired));
        let forged = JwtKeys::new(&[8u8; 32]).sign(&claims(60));
        assert_eq!(keys.verify(&forged), Err(TokenError::Invalid));
        // The forger's key id is unknown; with our key id written in, the MAC still fails.
        let (_, rest) = forged.split_once('.').expect("three parts");
        let with_our_kid = format!("{}.{rest}", b64(&serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": keys.key_id() })));
        assert_eq!(keys.verify(&with_our_kid), Err(TokenError::Invalid));
        for garbage in ["not.a.token", "", "a.b", "a.b.c.d", "....", "x".repeat(10_000).as_str()] {
            assert_eq!(keys.verify(garbage), Err(TokenError::Invalid), "{garbage:.20}");
        }
    }

    #[test]
    fn refuses_other_algorithms_and_unsigned_tokens() {
        let keys = JwtKeys::new(&[7u8; 32]);
        let good = keys.sign(&claims(60));
        let mut parts = good.split('.');
        let (_, payload, signature) = (parts.next(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        for alg in ["none", "None", "HS512", "RS256", "ES256", "hs256"] {
            let header = b64(&serde_json::json!({ "alg": alg, "typ": "JWT", "kid": keys.key_id() }));
            assert_eq!(keys.verify(&format!("{header}.{payload}.{signature}")), Err(TokenError::Invalid), "{alg}");
            assert_eq!(keys.verify(&format!("{header}.{payload}.")), Err(TokenError::Invalid), "{alg} unsigned");
        }
        let no_kid = b64(&serde_json::json!({ "alg": "HS256", "typ": "JWT" }));
        assert_eq!(keys.verify(&format!("{no_kid}.{payload}.{signature}")), Err(TokenError::Invalid), "a key id is required");
    }

    #[test]
    fn checks_issuer_and_audience() {
        let keys = JwtKeys::new(&[7u8; 32]);
        let other_issuer = JwtKeys::new(&[7u8; 32]).with_issuer_and_audience("someone-else", DEFAULT_AUDIENCE);
        let other_audience = JwtKeys::new(&[7u8; 32]).with_issuer_and_audience(DEFAULT_ISSUER, "another-api");
        assert_eq!(keys.verify(&other_issuer.sign(&claims(60))), Err(TokenError::Invalid));
        assert_eq!(keys.verify(&other_audience.sign(&claims(60))), Err(TokenError::Invalid));
        assert!(other_audience.verify(&other_audience.sign(&claims(60))).is_ok());
    }

    #[test]
    fn verifies_with_the_previous_key_during_a_rotation_only() {
        let (old, new) = ([1u8; 32], [2u8; 32]);
        let before = JwtKeys::new(&old);
        let token = before.sign(&claims(60));
        let during = JwtKeys::new(&new).with_previous(&old);
        assert!(during.verify(&token).is_ok(), "a session signed with the old key survives the rotation");
        assert_eq!(during.verify(&during.sign(&claims(60))).map(|p| p.user_id), Ok(7));
        assert_eq!(during.previous_key_id(), Some(before.key_id()));
        let after = JwtKeys::new(&new);
        assert_eq!(after.verify(&token), Err(TokenError::Invalid), "once the old key is removed its tokens stop working");
        assert!(after.verify(&during.sign(&claims(60))).is_ok(), "the new key's tokens keep working");
    }

    #[test]
    fn stores_refresh_tokens_by_digest_only() {
        let (token, digest) = new_refresh_token();
        assert_eq!((token.len(), digest.len()), (64, 64));
        assert_eq!(refresh_digest(&token), digest);
        assert_ne!(token, digest);
    }
}
