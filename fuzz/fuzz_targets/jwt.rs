//! The HS256 JWT codec (`luckygas_wire::jwt`), the access tokens' checker.
//!
//! Raw input (first byte even): any text is refused or, if it ever verifies, it is exactly the
//! token our key would sign for the claims it carries (so nothing but our own signatures gets
//! through), and a stranger's key never verifies it.
//! Signed input (first byte odd): claims built from the input are signed; the token verifies to
//! the same claims (or is `Expired`, by the fixed clock), a stranger's key or another audience
//! refuses it, a rotation still accepts it, and every edit of the token's text made from the rest
//! of the input (byte changes, cuts, insertions) is refused as `Invalid`: no malleable encoding,
//! no second token for the same signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luckygas_wire::jwt::{Keys, TokenError, DEFAULT_ISSUER, MAX_TOKEN_BYTES};
use serde::{Deserialize, Serialize};

/// The clock of every check.
const NOW: i64 = 1_800_000_000;
const OURS: &[u8] = b"the current fuzzing key, 32 bytes";
const STRANGER: &[u8] = b"somebody else's key, also 32 byte";

/// Claims shaped like the service's (`planner_api::auth::token::Claims`).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    driver_id: Option<i64>,
    iat: i64,
    exp: i64,
}

/// Reads the input front to back; zeros once it runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(std::array::from_fn(|_| self.byte()))
    }

    fn text(&mut self) -> String {
        let n = usize::from(self.byte() % 24).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }
}

fuzz_target!(|data: &[u8]| {
    let ours = Keys::new(OURS);
    let stranger = Keys::new(STRANGER);
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        let token = String::from_utf8_lossy(rest);
        let verified = ours.verify::<Claims>(&token, NOW);
        if token.len() > MAX_TOKEN_BYTES {
            assert_eq!(verified, Err(TokenError::Invalid));
        }
        if let Ok(claims) = &verified {
            assert_eq!(ours.sign(claims), token, "only our own signature of these claims verifies");
        }
        assert!(stranger.verify::<Claims>(&token, NOW).is_err() || verified.is_err(), "one token, two keys");
        return;
    }

    let mut input = Bytes(rest);
    let driver_id = (input.byte() % 2 == 1).then(|| input.i64());
    let exp = NOW + i64::from(input.byte() as i8);
    let claims = Claims { sub: input.text(), role: input.text(), driver_id, iat: input.i64(), exp };
    let token = ours.sign(&claims);
    let expected = if claims.exp < NOW { Err(TokenError::Expired) } else { Ok(&claims) };
    assert_eq!(ours.verify::<Claims>(&token, NOW).as_ref().map_err(|e| *e), expected);
    assert_eq!(stranger.verify::<Claims>(&token, NOW), Err(TokenError::Invalid));
    let elsewhere = Keys::new(OURS).with_issuer_and_audience(DEFAULT_ISSUER, "another-api");
    assert_eq!(elsewhere.verify::<Claims>(&token, NOW), Err(TokenError::Invalid));
    let rotated = Keys::new(STRANGER).with_previous(OURS);
    assert_eq!(rotated.verify::<Claims>(&token, NOW).as_ref().map_err(|e| *e), expected);

    // Edits: (kind, position, byte) triples from the rest of the input.
    let mut edited = token.clone().into_bytes();
    for _ in 0..usize::from(input.byte() % 4) + 1 {
        let (kind, at, b) = (input.byte() % 3, usize::from(input.byte()) << 8 | usize::from(input.byte()), input.byte());
        let at = at % (edited.len() + 1);
        match kind {
            0 if at < edited.len() => edited[at] = b,
            1 if at < edited.len() => {
                edited.remove(at);
            }
            _ => edited.insert(at, b),
        }
    }
    let edited = String::from_utf8_lossy(&edited);
    if edited != token {
        assert_eq!(ours.verify::<Claims>(&edited, NOW), Err(TokenError::Invalid), "an edited token: {edited}");
        assert_eq!(ours.verify::<serde_json::Value>(&edited, NOW), Err(TokenError::Invalid), "an edited token: {edited}");
    }
});
