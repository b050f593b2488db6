//! The parsers of outside input that the LuckyGas service runs before any handler, kept apart
//! from the server so that they can be fuzzed cheaply (`fuzz/`, which builds this crate and not
//! axum, sqlx or SQLite) and read in one place. `planner-api` uses them as its only
//! implementation:
//!
//! - [`jwt`]: our HS256 JSON Web Tokens (one algorithm, key ids for rotation, issuer and
//!   audience), used by `planner_api::auth::token`;
//! - [`forwarded`]: address blocks of trusted proxies and the client address of
//!   `X-Forwarded-For`, used by `planner_api::http::server`;
//! - [`request_id`]: which incoming `x-request-id` values are kept, used by
//!   `planner_api::http::edge`;
//! - [`password_policy`]: what a new password must be, used by `planner_api::domain::user`.

pub mod forwarded;
pub mod jwt;
pub mod password_policy;
pub mod request_id;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_lower_case_hex_two_digits_a_byte() {
        assert_eq!(super::hex(&[0, 9, 10, 255]), "00090aff");
        assert_eq!(super::hex(&[]), "");
    }
}
