//! Authentication without HTTP: argon2 password hashes under a process-wide bound
//! ([`password`]), signed JWT access tokens and opaque rotating refresh tokens ([`token`]),
//! sign-in throttling ([`throttle`]), the settings read from the environment ([`config`]), and
//! the sign-in, refresh and first-admin flows over the store ([`session`]).

pub mod config;
pub mod password;
pub mod session;
pub mod throttle;
pub mod token;

pub use config::{AdminBootstrap, AuthConfig, ConfigError, KeySource};
pub use session::{bootstrap_admin, login, logout, refresh, AuthError, LoginFailure, TokenPair};
pub use token::{Claims, JwtKeys, Principal, TokenError};

/// `n` random bytes from the operating system as lower-case hex (`2n` characters).
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // The OS random source failing is not something a server can work around.
    getrandom::getrandom(&mut bytes).expect("the operating system's random source works");
    hex(&bytes)
}

pub use luckygas_wire::hex;

#[cfg(test)]
mod tests {
    #[test]
    fn random_hex_has_the_asked_length_and_differs_between_calls() {
        let (a, b) = (super::random_hex(16), super::random_hex(16));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
