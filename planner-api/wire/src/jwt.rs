//! JSON Web Tokens signed with HS256 (HMAC-SHA-256), and nothing else: the codec behind the
//! service's access tokens (`planner_api::auth::token` chooses the claims).
//!
//! The code is ours and small on purpose. A header naming any other algorithm (`none`,
//! `RS256`, …) is refused before any key is touched, and the MAC is compared in constant time.
//! Each key has a key id (`kid`, the first 8 bytes of the key's SHA-256 in hex, [`key_id`])
//! written into the header, so that during a key rotation a token is checked with the key that
//! signed it: the current key signs, a previous key still verifies until it is removed. The
//! issuer (`iss`) and audience (`aud`) are written and required, and `exp` is required and
//! checked against the time the caller passes in. The claims are read only after the signature
//! has been checked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The issuer written into and required of tokens unless configured otherwise.
pub const DEFAULT_ISSUER: &str = "luckygas";
/// The audience written into and required of tokens unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "luckygas-api";
/// Longest token accepted for checking, in bytes (ours are about 350): longer input is refused
/// before it is decoded.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// Why a token was refused.
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

/// The payload as signed: the caller's claims plus issuer and audience.
#[derive(Serialize)]
struct Signed<'a, C> {
    #[serde(flatten)]
    claims: &'a C,
    iss: &'a str,
    aud: &'a str,
}

/// The registered claims every token must carry, read beside the caller's claims.
#[derive(Deserialize)]
struct Registered {
    iss: String,
    aud: Audience,
    exp: i64,
}

/// `aud` is a string or a list of strings (RFC 7519 §4.1.3); we write a string.
#[derive(Deserialize)]
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
/// revealing it.
pub fn key_id(secret: &[u8]) -> String {
    crate::hex(&Sha256::digest(secret)[..8])
}

/// The keys that sign and check tokens, and the issuer and audience they carry.
#[derive(Clone)]
pub struct Keys {
    current: Key,
    previous: Option<Key>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("kid", &self.current.id)
            .field("previous_kid", &self.previous.as_ref().map(|k| &k.id))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Keys from one secret, with the default issuer and audience and no previous key. (The
    /// caller checks the secret's strength.)
    pub fn new(secret: &[u8]) -> Keys {
        Keys { current: Key::new(secret), previous: None, issuer: DEFAULT_ISSUER.to_owned(), audience: DEFAULT_AUDIENCE.to_owned() }
    }

    /// These keys with `secret` as the previous key: it no longer signs but still verifies the
    /// tokens it signed, until it is removed (a rotation).
    pub fn with_previous(mut self, secret: &[u8]) -> Keys {
        self.previous = Some(Key::new(secret));
        self
    }

    /// These keys writing and requiring another issuer and audience.
    pub fn with_issuer_and_audience(mut self, issuer: &str, audience: &str) -> Keys {
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

    /// Signs `claims` with the current key, adding the issuer and audience. `claims` must
    /// serialise to a JSON object with an integer `exp` (Unix seconds) and without `iss` or
    /// `aud`, or [`Keys::verify`] will refuse the token.
    ///
    /// # Panics
    /// When `claims` does not serialise to a JSON object (a struct of strings and numbers
    /// always does).
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        let header = Header { alg: "HS256".to_owned(), typ: Some("JWT".to_owned()), kid: Some(self.current.id.clone()) };
        let payload = Signed { claims, iss: &self.issuer, aud: &self.audience };
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("a JWT header serialises"));
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).expect("JWT claims serialise to an object"));
        let signing_input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.current.mac(signing_input.as_bytes()).finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Checks a token: the header's algorithm (HS256 only) and key id, the signature (constant
    /// time), then the issuer, the audience and the expiry against `now` (Unix seconds); returns
    /// the claims. A token whose `exp` is before `now` is [`TokenError::Expired`].
    pub fn verify<C: DeserializeOwned>(&self, token: &str, now: i64) -> Result<C, TokenError> {
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
        let registered: Registered = decode_json(payload_b64)?;
        if registered.iss != self.issuer || !registered.aud.contains(&self.audience) {
            return Err(TokenError::Invalid);
        }
        let claims: C = decode_json(payload_b64)?;
        if registered.exp < now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

fn decode_json<T: DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Invalid)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Claims {
        sub: String,
        exp: i64,
    }

    fn claims(exp_from_now: i64) -> Claims {
        Claims { sub: "7".into(), exp: NOW + exp_from_now }
    }

    fn b64(json: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    fn verify(keys: &Keys, token: &str) -> Result<Claims, TokenError> {
        keys.verify(token, NOW)
    }

    #[test]
    fn verifies_its_own_tokens_until_they_expire() {
        let keys = Keys::new(&[7u8; 32]);
        assert_eq!(verify(&keys, &keys.sign(&claims(60))), Ok(claims(60)));
        assert_eq!(verify(&keys, &keys.sign(&claims(0))), Ok(claims(0)), "valid through its last second");
        assert_eq!(verify(&keys, &keys.sign(&claims(-1))), Err(TokenError::Expired));
    }

    #[test]
    fn writes_the_algorithm_type_key_id_issuer_and_audience() {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdefXY");
        let token = keys.sign(&claims(60));
        let parts: Vec<&str> = token.split('.').collect();
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header, serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": keys.key_id() }));
        assert_eq!(keys.key_id().len(), 16);
        let payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(payload, serde_json::json!({ "sub": "7", "exp": NOW + 60, "iss": DEFAULT_ISSUER, "aud": DEFAULT_AUDIENCE }));
    }

    #[test]
    fn tells_expired_tokens_from_forged_and_garbled_ones() {
        let keys = Keys::new(&[7u8; 32]);
        let forged = Keys::new(&[8u8; 32]).sign(&claims(60));
        assert_eq!(verify(&keys, &forged), Err(TokenError::Invalid));
        // The forger's key id is unknown; with our key id written in, the MAC still fails.
        let (_, rest) = forged.split_once('.').expect("three parts");
        let with_our_kid = format!("{}.{rest}", b64(&serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": keys.key_id() })));
        assert_eq!(verify(&keys, &with_our_kid), Err(TokenError::Invalid));
        for garbage in ["not.a.token", "", "a.b", "a.b.c.d", "....", "x".repeat(10_000).as_str()] {
            assert_eq!(verify(&keys, garbage), Err(TokenError::Invalid), "{garbage:.20}");
        }
    }

    #[test]
    fn refuses_other_algorithms_and_unsigned_tokens() {
        let keys = Keys::new(&[7u8; 32]);
        let good = keys.sign(&claims(60));
        let mut parts = good.split('.');
        let (_, payload, signature) = (parts.next(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        for alg in ["none", "None", "HS512", "RS256", "ES256", "hs256"] {
            let header = b64(&serde_json::json!({ "alg": alg, "typ": "JWT", "kid": keys.key_id() }));
            assert_eq!(verify(&keys, &format!("{header}.{payload}.{signature}")), Err(TokenError::Invalid), "{alg}");
            assert_eq!(verify(&keys, &format!("{header}.{payload}.")), Err(TokenError::Invalid), "{alg} unsigned");
        }
        let no_kid = b64(&serde_json::json!({ "alg": "HS256", "typ": "JWT" }));
        assert_eq!(verify(&keys, &format!("{no_kid}.{payload}.{signature}")), Err(TokenError::Invalid), "a key id is required");
    }

    #[test]
    fn checks_issuer_and_audience_and_requires_an_expiry() {
        let keys = Keys::new(&[7u8; 32]);
        let other_issuer = Keys::new(&[7u8; 32]).with_issuer_and_audience("someone-else", DEFAULT_AUDIENCE);
        let other_audience = Keys::new(&[7u8; 32]).with_issuer_and_audience(DEFAULT_ISSUER, "another-api");
        assert_eq!(verify(&keys, &other_issuer.sign(&claims(60))), Err(TokenError::Invalid));
        assert_eq!(verify(&keys, &other_audience.sign(&claims(60))), Err(TokenError::Invalid));
        assert!(verify(&other_audience, &other_audience.sign(&claims(60))).is_ok());
        let no_exp = keys.sign(&serde_json::json!({ "sub": "7" }));
        assert_eq!(keys.verify::<serde_json::Value>(&no_exp, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn verifies_with_the_previous_key_during_a_rotation_only() {
        let (old, new) = ([1u8; 32], [2u8; 32]);
        let before = Keys::new(&old);
        let token = before.sign(&claims(60));
        let during = Keys::new(&new).with_previous(&old);
        assert!(verify(&during, &token).is_ok(), "a session signed with the old key survives the rotation");
        assert_eq!(verify(&during, &during.sign(&claims(60))), Ok(claims(60)));
        assert_eq!(during.previous_key_id(), Some(before.key_id()));
        let after = Keys::new(&new);
        assert_eq!(verify(&after, &token), Err(TokenError::Invalid), "once the old key is removed its tokens stop working");
        assert!(verify(&after, &during.sign(&claims(60))).is_ok(), "the new key's tokens keep working");
    }
}
